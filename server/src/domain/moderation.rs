//! Moderation request bodies and response shapes (PROTOCOL.md §8.2, §8.6, §11), without HTTP
//! or SQL: the rooms-or-global selection, role changes, permission overrides and futures.

use crate::db::users::OverrideRow;
use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

pub type JsonObject = Map<String, Value>;

/// Where a ban, unban or role change applies (PROTOCOL.md §8.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// Room tokens as given (not yet checked).
    Rooms(Vec<String>),
    /// `["*"]`: every room where the caller holds the needed role.
    AllMyRooms,
}

impl Scope {
    /// Parses `rooms` / `global`: exactly one of a non-empty room list and `global: true`.
    pub fn parse(body: &JsonObject) -> ApiResult<Self> {
        let global = match body.get("global") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::bad_request("'global' must be a boolean")),
        };
        let rooms: Vec<String> = match body.get("rooms") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| ApiError::bad_request("'rooms' must be a list of room tokens"))?,
            Some(_) => return Err(ApiError::bad_request("'rooms' must be a list")),
        };
        match (global, rooms.is_empty()) {
            (true, false) => Err(ApiError::bad_request(
                "Give either 'rooms' or 'global', not both",
            )),
            (false, true) => Err(ApiError::bad_request(
                "Give a non-empty 'rooms' list or 'global': true",
            )),
            (true, true) => Ok(Self::Global),
            (false, false) if rooms.iter().any(|r| r == "*") => {
                if rooms.len() == 1 {
                    Ok(Self::AllMyRooms)
                } else {
                    Err(ApiError::bad_request(
                        "'*' cannot be combined with other rooms",
                    ))
                }
            }
            (false, false) => Ok(Self::Rooms(rooms)),
        }
    }
}

/// `timeout` of a ban: seconds (integer or fractional); absent, null or 0 = permanent.
pub fn parse_timeout(body: &JsonObject) -> ApiResult<Option<f64>> {
    match body.get("timeout") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let secs = n
                .as_f64()
                .filter(|s| s.is_finite())
                .ok_or_else(|| ApiError::bad_request("'timeout' must be a number"))?;
            Ok((secs != 0.0).then_some(secs))
        }
        Some(_) => Err(ApiError::bad_request("'timeout' must be a number")),
    }
}

/// An optional boolean field: absent or null = `None`; anything but a boolean → 400.
pub fn opt_bool(body: &JsonObject, key: &str) -> ApiResult<Option<bool>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!("'{key}' must be a boolean"))),
    }
}

/// A `POST /user/{sid}/moderator` request (the table of PROTOCOL.md §8.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleChange {
    pub moderator: Option<bool>,
    pub admin: Option<bool>,
    pub visible: Option<bool>,
}

impl RoleChange {
    pub fn parse(body: &JsonObject) -> ApiResult<Self> {
        let change = Self {
            moderator: opt_bool(body, "moderator")?,
            admin: opt_bool(body, "admin")?,
            visible: opt_bool(body, "visible")?,
        };
        match (change.admin, change.moderator) {
            (None, None) => Err(ApiError::bad_request("Give 'moderator' and/or 'admin'")),
            (Some(true), Some(false)) => Err(ApiError::bad_request(
                "'admin': true requires 'moderator' to be true or null",
            )),
            _ => Ok(change),
        }
    }

    /// The (moderator, admin) flags after the change, from the current ones.
    pub fn apply(&self, moderator: bool, admin: bool) -> (bool, bool) {
        match (self.admin, self.moderator) {
            (Some(true), _) => (true, true),
            (None, Some(true)) => (true, admin),
            (None | Some(false), Some(false)) => (false, false),
            (Some(false), None) => (moderator || admin, false),
            (Some(false), Some(true)) => (true, false),
            (None, None) => (moderator || admin, admin),
        }
    }

    /// Visibility of an appointment: as given, else listed for room roles, hidden for global.
    pub fn visible_or(&self, default: bool) -> bool {
        self.visible.unwrap_or(default)
    }
}

/// A change of one permission flag: `None` leaves it, `Some(None)` clears the override.
pub type FlagChange = Option<Option<bool>>;

/// `POST /room/{token}/permissions/{sid}` (PROTOCOL.md §8.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PermissionChange {
    pub read: FlagChange,
    pub accessible: FlagChange,
    pub write: FlagChange,
    pub upload: FlagChange,
    /// Cancel scheduled changes of the flags this request names (read, write, upload).
    pub unschedule: bool,
}

impl PermissionChange {
    pub fn parse(body: &JsonObject) -> ApiResult<Self> {
        let flag = |name: &str| -> ApiResult<FlagChange> {
            let value = opt_bool(body, name)?;
            let to_default = opt_bool(body, &format!("default_{name}"))? == Some(true);
            match (value, to_default) {
                (Some(_), true) => Err(ApiError::bad_request(format!(
                    "'{name}' and 'default_{name}' cannot both be given"
                ))),
                (Some(v), false) => Ok(Some(Some(v))),
                (None, true) => Ok(Some(None)),
                (None, false) => Ok(None),
            }
        };
        let change = Self {
            read: flag("read")?,
            accessible: flag("accessible")?,
            write: flag("write")?,
            upload: flag("upload")?,
            unschedule: opt_bool(body, "unschedule")? != Some(false),
        };
        if change.is_empty() {
            return Err(ApiError::bad_request("No permission changes given"));
        }
        Ok(change)
    }

    pub fn is_empty(&self) -> bool {
        [self.read, self.accessible, self.write, self.upload]
            .iter()
            .all(Option::is_none)
    }

    /// Which scheduled flags (read, write, upload) to cancel.
    pub fn unschedule_flags(&self) -> [bool; 3] {
        let named = |f: FlagChange| self.unschedule && f.is_some();
        [named(self.read), named(self.write), named(self.upload)]
    }

    /// A short description for the moderation log, e.g. `read=false write=default`.
    pub fn describe(&self) -> String {
        [
            ("read", self.read),
            ("accessible", self.accessible),
            ("write", self.write),
            ("upload", self.upload),
        ]
        .iter()
        .filter_map(|(name, f)| {
            f.map(|v| match v {
                Some(b) => format!("{name}={b}"),
                None => format!("{name}=default"),
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// `POST /room/{token}/futurePermissions/{sid}`: flags to set and when.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FutureChange {
    pub read: Option<bool>,
    pub write: Option<bool>,
    pub upload: Option<bool>,
    pub in_secs: f64,
}

impl FutureChange {
    pub fn parse(body: &JsonObject) -> ApiResult<Self> {
        let read = opt_bool(body, "read")?;
        let write = opt_bool(body, "write")?;
        let upload = opt_bool(body, "upload")?;
        if read.is_none() && write.is_none() && upload.is_none() {
            return Err(ApiError::bad_request(
                "Give at least one of 'read', 'write', 'upload'",
            ));
        }
        let in_secs = body
            .get("in")
            .and_then(Value::as_f64)
            .filter(|s| *s > 0.0 && *s < 1e9)
            .ok_or_else(|| {
                ApiError::bad_request("'in' must be a number of seconds, 0 < in < 1000000000")
            })?;
        Ok(Self {
            read,
            write,
            upload,
            in_secs,
        })
    }
}

/// The flags a scheduled change sets, for the moderation log: e.g. `read=true upload=false`.
pub fn describe_flags(read: Option<bool>, write: Option<bool>, upload: Option<bool>) -> String {
    [("read", read), ("write", write), ("upload", upload)]
        .iter()
        .filter_map(|(name, v)| v.map(|b| format!("{name}={b}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The override object of `GET /room/{token}/permissions` (pysogs `addExtraPermInfo`).
pub fn override_object(o: &OverrideRow) -> JsonObject {
    let mut out = JsonObject::new();
    if o.banned {
        out.insert("banned".into(), Value::Bool(true));
    }
    for (key, v) in [
        ("read", o.perm_read),
        ("accessible", o.perm_accessible),
        ("write", o.perm_write),
        ("upload", o.perm_upload),
    ] {
        if let Some(b) = v {
            out.insert(key.into(), Value::Bool(b));
        }
    }
    if o.moderator || o.admin {
        let key = if o.admin { "admin" } else { "moderator" };
        out.insert(key.into(), Value::Bool(true));
        if !o.visible_mod {
            out.insert("hidden".into(), Value::Bool(true));
        }
    }
    out
}

/// One scheduled change as listed by `GET /room/{token}/futurePermissions`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct FutureEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banned: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn scope_rules() {
        let p = |v: Value| Scope::parse(&obj(v));
        assert_eq!(p(json!({"global": true})).unwrap(), Scope::Global);
        assert_eq!(
            p(json!({"rooms": ["a"], "global": false})).unwrap(),
            Scope::Rooms(vec!["a".into()])
        );
        assert_eq!(p(json!({"rooms": ["*"]})).unwrap(), Scope::AllMyRooms);
        for bad in [
            json!({}),
            json!({"rooms": []}),
            json!({"rooms": ["a"], "global": true}),
            json!({"rooms": ["*", "a"]}),
            json!({"rooms": "a"}),
            json!({"rooms": [1]}),
            json!({"global": "yes"}),
        ] {
            assert_eq!(p(bad.clone()).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn role_table() {
        let rc = |admin: Option<bool>, moderator: Option<bool>| RoleChange {
            moderator,
            admin,
            visible: None,
        };
        // (admin, moderator) request → flags from a plain user, a moderator, an admin
        let cases = [
            (rc(Some(true), None), [(true, true); 3]),
            (rc(Some(true), Some(true)), [(true, true); 3]),
            (
                rc(None, Some(true)),
                [(true, false), (true, false), (true, true)],
            ),
            (rc(None, Some(false)), [(false, false); 3]),
            (rc(Some(false), Some(false)), [(false, false); 3]),
            (
                rc(Some(false), None),
                [(false, false), (true, false), (true, false)],
            ),
            (rc(Some(false), Some(true)), [(true, false); 3]),
        ];
        for (change, expect) in cases {
            let got = [
                change.apply(false, false),
                change.apply(true, false),
                change.apply(true, true),
            ];
            assert_eq!(got, expect, "{change:?}");
        }
        let parse = |v: Value| RoleChange::parse(&obj(v));
        assert!(parse(json!({"admin": true, "moderator": false})).is_err());
        assert!(parse(json!({"visible": true})).is_err());
        assert!(parse(json!({"admin": 1})).is_err());
    }

    #[test]
    fn permission_change_rules() {
        let p = |v: Value| PermissionChange::parse(&obj(v));
        let c = p(json!({"read": false, "default_write": true})).unwrap();
        assert_eq!(c.read, Some(Some(false)));
        assert_eq!(c.write, Some(None));
        assert_eq!(c.unschedule_flags(), [true, true, false]);
        let c = p(json!({"upload": true, "unschedule": false})).unwrap();
        assert_eq!(c.unschedule_flags(), [false, false, false]);
        assert!(p(json!({})).is_err());
        assert!(p(json!({"default_read": false})).is_err());
        assert!(p(json!({"read": true, "default_read": true})).is_err());
        assert!(p(json!({"read": "yes"})).is_err());
    }

    #[test]
    fn override_objects() {
        let row = |f: fn(&mut OverrideRow)| {
            let mut o = OverrideRow {
                visible_mod: true,
                ..OverrideRow::default()
            };
            f(&mut o);
            Value::Object(override_object(&o))
        };
        assert_eq!(
            row(|o| {
                o.perm_read = Some(true);
                o.perm_write = Some(false)
            }),
            json!({"read": true, "write": false})
        );
        assert_eq!(row(|o| o.moderator = true), json!({"moderator": true}));
        assert_eq!(
            row(|o| {
                o.moderator = true;
                o.admin = true;
                o.visible_mod = false
            }),
            json!({"admin": true, "hidden": true})
        );
        assert_eq!(row(|o| o.banned = true), json!({"banned": true}));
        assert_eq!(row(|_| {}), json!({}));
    }

    #[test]
    fn future_body() {
        let p = |v: Value| FutureChange::parse(&obj(v));
        assert_eq!(p(json!({"write": true, "in": 60})).unwrap().in_secs, 60.0);
        assert!(p(json!({"write": true})).is_err());
        assert!(p(json!({"write": true, "in": 0})).is_err());
        assert!(p(json!({"write": true, "in": 1e9})).is_err());
        assert!(p(json!({"in": 5})).is_err());
    }
}
