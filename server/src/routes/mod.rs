//! The only route table. Every request — direct HTTP, a `/batch` or `/sequence` sub-request,
//! or a decrypted onion request — is matched here and answered by one handler.

use crate::auth;
use crate::db::moderation::ModLogEntry;
use crate::db::rooms::RoomRow;
use crate::db::users::UserRow;
use crate::domain::perms::Permissions;
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, Method, Request, Response};
use crate::limits::Action;
use crate::state::AppState;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;

pub mod dm;
pub mod files;
pub mod general;
pub mod messages;
pub mod onion;
pub mod reactions;
pub mod rooms;
pub mod users;

/// Every endpoint, with its path parameters already parsed.
#[derive(Debug, PartialEq)]
pub enum Route<'a> {
    Capabilities,
    Batch,
    Sequence,
    OpenApi,
    Docs,
    /// `GET /healthz`: whether this instance and its database answer.
    Health,
    Rooms,
    Room(&'a str),
    UpdateRoom(&'a str),
    PollInfo(&'a str, i64),
    MessagesRecent(&'a str),
    MessagesSince(&'a str, i64),
    MessagesBefore(&'a str, i64),
    GetMessage(&'a str, i64),
    PostMessage(&'a str),
    EditMessage(&'a str, i64),
    DeleteMessage(&'a str, i64),
    Pin(&'a str, i64),
    Unpin(&'a str, i64),
    UnpinAll(&'a str),
    RoomPermissions(&'a str),
    UserPermissions(&'a str, &'a str),
    SetUserPermissions(&'a str, &'a str),
    RoomFuturePermissions(&'a str),
    UserFuturePermissions(&'a str, &'a str),
    AddFuturePermission(&'a str, &'a str),
    DeleteAllInRoom(&'a str, &'a str),
    DeleteAllEverywhere(&'a str),
    BanUser(&'a str),
    UnbanUser(&'a str),
    SetModerator(&'a str),
    UploadFile(&'a str),
    /// `/file/{id}` and `/file/{id}/{anything}`.
    GetFile(&'a str, i64),
    /// The reaction is the rest of the path (may contain `/`), not yet validated.
    React(&'a str, i64, &'a str),
    Unreact(&'a str, i64, &'a str),
    ClearReactions(&'a str, i64, Option<&'a str>),
    Reactors(&'a str, i64, &'a str),
    Inbox,
    InboxSince(i64),
    Outbox,
    OutboxSince(i64),
    SendDm(&'a str),
    ClearInbox,
    OnionV4,
    OnionV3,
}

/// `{id}`-style parameters: non-negative decimal integers; anything else does not match.
fn int(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// An id parameter: 66 hex digits (either case) starting with one of `prefixes`.
fn id_param<'a>(s: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    let ok = s.len() == 66
        && s.bytes().all(|b| b.is_ascii_hexdigit())
        && prefixes.contains(&s.get(..2)?);
    ok.then_some(s)
}

/// A user id parameter: a 05, 15 or 25 id.
fn sid(s: &str) -> Option<&str> {
    id_param(s, &["05", "15", "25"])
}

/// A DM recipient: a blinded (15 or 25) id.
fn blinded_id(s: &str) -> Option<&str> {
    id_param(s, &["15", "25"])
}

fn token(s: &str) -> Option<&str> {
    crate::domain::token::RoomToken::is_valid(s).then_some(s)
}

impl<'a> Route<'a> {
    pub fn parse(method: Method, path: &'a str) -> Option<Self> {
        use Method::*;
        let rest = path.strip_prefix('/')?;
        // Routes whose last parameter is the rest of the path.
        let head: Vec<&str> = rest.splitn(5, '/').collect();
        match (method, head.as_slice()) {
            (Put, ["room", t, "reaction", n, r]) => {
                return Some(Self::React(token(t)?, int(n)?, r))
            }
            (Delete, ["room", t, "reaction", n, r]) => {
                return Some(Self::Unreact(token(t)?, int(n)?, r))
            }
            (Delete, ["room", t, "reactions", n, r]) => {
                return Some(Self::ClearReactions(token(t)?, int(n)?, Some(r)))
            }
            (Get, ["room", t, "reactors", n, r]) => {
                return Some(Self::Reactors(token(t)?, int(n)?, r))
            }
            (Get, ["room", t, "file", n, _]) => return Some(Self::GetFile(token(t)?, int(n)?)),
            _ => {}
        }
        let segs: Vec<&str> = rest.split('/').collect();
        Some(match (method, segs.as_slice()) {
            (Get, ["capabilities"]) => Self::Capabilities,
            (Post, ["batch"]) => Self::Batch,
            (Post, ["sequence"]) => Self::Sequence,
            (Get, ["openapi.json"]) => Self::OpenApi,
            (Get, ["docs"]) => Self::Docs,
            (Get, ["healthz"]) => Self::Health,
            (Get, ["rooms"]) => Self::Rooms,
            (Get, ["room", t]) => Self::Room(token(t)?),
            (Put, ["room", t]) => Self::UpdateRoom(token(t)?),
            (Get, ["room", t, "pollInfo", n]) => Self::PollInfo(token(t)?, int(n)?),
            (Get, ["room", t, "messages", "recent"]) => Self::MessagesRecent(token(t)?),
            (Get, ["room", t, "messages", "since", n]) => Self::MessagesSince(token(t)?, int(n)?),
            (Get, ["room", t, "messages", "before", n]) => Self::MessagesBefore(token(t)?, int(n)?),
            (Get, ["room", t, "message", n]) => Self::GetMessage(token(t)?, int(n)?),
            (Post, ["room", t, "message"]) => Self::PostMessage(token(t)?),
            (Put, ["room", t, "message", n]) => Self::EditMessage(token(t)?, int(n)?),
            (Delete, ["room", t, "message", n]) => Self::DeleteMessage(token(t)?, int(n)?),
            (Post, ["room", t, "pin", n]) => Self::Pin(token(t)?, int(n)?),
            (Post, ["room", t, "unpin", "all"]) => Self::UnpinAll(token(t)?),
            (Post, ["room", t, "unpin", n]) => Self::Unpin(token(t)?, int(n)?),
            (Get, ["room", t, "permissions"]) => Self::RoomPermissions(token(t)?),
            (Get, ["room", t, "permissions", u]) => Self::UserPermissions(token(t)?, sid(u)?),
            (Post, ["room", t, "permissions", u]) => Self::SetUserPermissions(token(t)?, sid(u)?),
            (Get, ["room", t, "futurePermissions"]) => Self::RoomFuturePermissions(token(t)?),
            (Get, ["room", t, "futurePermissions", u]) => {
                Self::UserFuturePermissions(token(t)?, sid(u)?)
            }
            (Post, ["room", t, "futurePermissions", u]) => {
                Self::AddFuturePermission(token(t)?, sid(u)?)
            }
            (Delete, ["room", t, "all", u]) => Self::DeleteAllInRoom(token(t)?, sid(u)?),
            (Delete, ["rooms", "all", u]) => Self::DeleteAllEverywhere(sid(u)?),
            (Post, ["user", u, "ban"]) => Self::BanUser(sid(u)?),
            (Post, ["user", u, "unban"]) => Self::UnbanUser(sid(u)?),
            (Post, ["user", u, "moderator"]) => Self::SetModerator(sid(u)?),
            (Post, ["room", t, "file"]) => Self::UploadFile(token(t)?),
            (Get, ["room", t, "file", n]) => Self::GetFile(token(t)?, int(n)?),
            (Delete, ["room", t, "reactions", n]) => Self::ClearReactions(token(t)?, int(n)?, None),
            (Get, ["inbox"]) => Self::Inbox,
            (Get, ["inbox", "since", n]) => Self::InboxSince(int(n)?),
            (Get, ["outbox"]) => Self::Outbox,
            (Get, ["outbox", "since", n]) => Self::OutboxSince(int(n)?),
            (Post, ["inbox", id]) => Self::SendDm(blinded_id(id)?),
            (Delete, ["inbox"]) => Self::ClearInbox,
            (Post, ["oxen", "v4", "lsrpc"]) => Self::OnionV4,
            (Post, ["oxen" | "loki", "v3", "lsrpc"]) => Self::OnionV3,
            _ => return None,
        })
    }
}

/// The largest body a request to `path` may carry (uploads have their own limit).
pub fn body_limit(config: &crate::config::Config, method: Method, path: &str) -> u64 {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        (Method::Post, ["room", _, "file"]) => config.upload_max_bytes,
        (Method::Post, ["oxen" | "loki", _, "lsrpc"]) => ONION_BODY_LIMIT,
        _ => config.max_request_bytes as u64,
    }
}

/// Whether a large body for `path` is spooled to a temporary file. Only file uploads are:
/// every other body is parsed (JSON, onion layers) and stays in memory, within its limit.
pub fn spools_body(method: Method, path: &str) -> bool {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        (method, segs.as_slice()),
        (Method::Post, ["room", _, "file"])
    )
}

/// Onion bodies: libsession's 10 MiB limit plus a little room, so a slightly larger body still
/// reaches the onion parser and gets its plain 400.
pub const ONION_BODY_LIMIT: u64 = sogs_client::onion::MAX_ONION_BODY as u64 + 64 * 1024;

/// The error for a body over [`body_limit`]: 413, except onion endpoints, which answer every
/// undecryptable request with a plain 400 (PROTOCOL.md §5.2).
pub fn too_large(method: Method, path: &str, limit: u64) -> ApiError {
    match Route::parse(method, path) {
        Some(Route::OnionV4 | Route::OnionV3) => {
            ApiError::bad_request("Invalid onion request: onion request body too large")
        }
        _ => ApiError::PayloadTooLarge { limit },
    }
}

/// Where the caller's identity comes from.
#[derive(Clone, Debug)]
pub enum AuthMode {
    /// Verify the request's own X-SOGS-* headers.
    Headers,
    /// A batch sub-request: use the outer request's caller, ignore inner headers.
    Inherited(Option<auth::Caller>),
}

/// Answers one request. Never fails: errors become their responses here.
pub fn dispatch(st: &AppState, req: Request, auth: AuthMode) -> BoxFuture<'_, Response> {
    Box::pin(async move {
        match handle(st, req, auth).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        }
    })
}

async fn handle(st: &AppState, req: Request, auth: AuthMode) -> ApiResult<Response> {
    let caller = match auth {
        AuthMode::Headers => auth::authenticate(st, &req).await?,
        AuthMode::Inherited(caller) => caller,
    };
    let (user, signing_key) = caller.map(|c| (c.user, c.signing_key)).unzip();
    let path = req.path.clone();
    let route = Route::parse(req.method, &path).ok_or(ApiError::NotFound)?;
    let ctx = Ctx {
        st,
        req,
        user,
        signing_key,
    };
    use Route::*;
    match route {
        Capabilities => general::capabilities(&ctx).await,
        Batch => general::batch(&ctx, false).await,
        Sequence => general::batch(&ctx, true).await,
        OpenApi => general::openapi_json(),
        Docs => general::docs(),
        Health => general::health(&ctx).await,
        Rooms => rooms::list_rooms(&ctx).await,
        Room(t) => rooms::get_room(&ctx, t).await,
        UpdateRoom(t) => rooms::update_room(&ctx, t).await,
        PollInfo(t, n) => rooms::poll_info(&ctx, t, n).await,
        MessagesRecent(t) => messages::recent(&ctx, t).await,
        MessagesSince(t, n) => messages::since(&ctx, t, n).await,
        MessagesBefore(t, n) => messages::before(&ctx, t, n).await,
        GetMessage(t, n) => messages::get_message(&ctx, t, n).await,
        PostMessage(t) => messages::post_message(&ctx, t).await,
        EditMessage(t, n) => messages::edit_message(&ctx, t, n).await,
        DeleteMessage(t, n) => messages::delete_message(&ctx, t, n).await,
        Pin(t, n) => messages::pin(&ctx, t, n).await,
        Unpin(t, n) => messages::unpin(&ctx, t, n).await,
        UnpinAll(t) => messages::unpin_all(&ctx, t).await,
        RoomPermissions(t) => rooms::room_permissions(&ctx, t).await,
        UserPermissions(t, u) => rooms::user_permissions(&ctx, t, u).await,
        SetUserPermissions(t, u) => rooms::set_user_permissions(&ctx, t, u).await,
        RoomFuturePermissions(t) => rooms::room_future_permissions(&ctx, t).await,
        UserFuturePermissions(t, u) => rooms::user_future_permissions(&ctx, t, u).await,
        AddFuturePermission(t, u) => rooms::add_future_permission(&ctx, t, u).await,
        DeleteAllInRoom(t, u) => rooms::delete_all_in_room(&ctx, t, u).await,
        DeleteAllEverywhere(u) => rooms::delete_all_everywhere(&ctx, u).await,
        BanUser(u) => users::ban_user(&ctx, u).await,
        UnbanUser(u) => users::unban_user(&ctx, u).await,
        SetModerator(u) => users::set_moderator(&ctx, u).await,
        UploadFile(t) => files::upload(&ctx, t).await,
        GetFile(t, n) => files::download(&ctx, t, n).await,
        React(t, n, r) => reactions::add(&ctx, t, n, r).await,
        Unreact(t, n, r) => reactions::remove(&ctx, t, n, r).await,
        ClearReactions(t, n, r) => reactions::clear(&ctx, t, n, r).await,
        Reactors(t, n, r) => reactions::reactors(&ctx, t, n, r).await,
        Inbox => dm::inbox(&ctx).await,
        InboxSince(n) => dm::inbox_since(&ctx, n).await,
        Outbox => dm::outbox(&ctx).await,
        OutboxSince(n) => dm::outbox_since(&ctx, n).await,
        SendDm(id) => dm::send(&ctx, id).await,
        ClearInbox => dm::clear_inbox(&ctx).await,
        OnionV4 => onion::lsrpc_v4(&ctx).await,
        OnionV3 => onion::lsrpc_v3(&ctx).await,
    }
}

/// What a handler gets: the state, the request and the authenticated caller.
pub struct Ctx<'a> {
    pub st: &'a AppState,
    pub req: Request,
    pub user: Option<UserRow>,
    /// The Ed25519 key the request was signed with (set exactly when `user` is).
    pub signing_key: Option<[u8; 32]>,
}

/// A room permission a handler requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Room visible (read or accessible); otherwise 404, like a missing room.
    Accessible,
    Read,
    Write,
    Upload,
    Moderator,
    Admin,
}

impl<'a> Ctx<'a> {
    /// The caller, for sub-requests that run as the same caller.
    pub fn caller(&self) -> Option<auth::Caller> {
        Some(auth::Caller {
            user: self.user.clone()?,
            signing_key: self.signing_key?,
        })
    }

    pub fn require_user(&self) -> ApiResult<&UserRow> {
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized("X-SOGS-* request authentication required"))
    }

    /// The caller's blinded user; DM retrieval requires one.
    pub fn require_blinded(&self) -> ApiResult<&UserRow> {
        let user = self.require_user()?;
        if user.session_id.starts_with("15") || user.session_id.starts_with("25") {
            Ok(user)
        } else {
            Err(ApiError::unauthorized(
                "This endpoint requires blinded pubkeys be used",
            ))
        }
    }

    pub fn viewer_id(&self) -> Option<i64> {
        self.user.as_ref().map(|u| u.id)
    }

    /// The caller's effective permissions in a room.
    pub async fn perms(&self, room: &RoomRow) -> ApiResult<Permissions> {
        self.perms_of(room, self.user.as_ref()).await
    }

    /// Anyone's effective permissions in a room (`None` = anonymous).
    pub async fn perms_of(&self, room: &RoomRow, user: Option<&UserRow>) -> ApiResult<Permissions> {
        let ovr = match user {
            Some(u) => self.st.db.override_row(room.id, u.id).await?,
            None => None,
        };
        Ok(Permissions::compute(room, user, ovr.as_ref()))
    }

    /// The room with this token (case-insensitively), before any permission check; 404 if
    /// there is none.
    pub async fn find_room(&self, token: &str) -> ApiResult<RoomRow> {
        self.st
            .db
            .room_by_token(token)
            .await?
            .ok_or(ApiError::NotFound)
    }

    /// Looks up a room (case-insensitively) and checks the caller may do `need` in it.
    pub async fn room(&self, token: &str, need: Need) -> ApiResult<(RoomRow, Permissions)> {
        let room = self.find_room(token).await?;
        let perms = self.perms(&room).await?;
        let denied = |what: &str| {
            Err(ApiError::forbidden(format!(
                "This endpoint requires room message '{what}' permission"
            )))
        };
        match need {
            Need::Accessible if !perms.can_see_room() => return Err(ApiError::NotFound),
            Need::Read if !perms.read => return denied("read"),
            Need::Write if !perms.write => return denied("write"),
            Need::Upload if !perms.upload => return denied("upload"),
            Need::Moderator | Need::Admin => {
                self.require_user()?;
                let (ok, what) = match need {
                    Need::Admin => (perms.admin, "admin"),
                    _ => (perms.moderator, "moderator"),
                };
                if !ok {
                    return Err(ApiError::forbidden(format!(
                        "This endpoint requires {what} room permissions"
                    )));
                }
            }
            _ => {}
        }
        Ok((room, perms))
    }

    /// Parses the body as JSON (whatever the declared content type).
    pub fn json<T: DeserializeOwned>(&self) -> ApiResult<T> {
        let Body::Memory(bytes) = &self.req.body else {
            return Err(ApiError::PayloadTooLarge {
                limit: self.st.config.max_request_bytes as u64,
            });
        };
        serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
    }

    /// An integer query parameter; present but not an integer → 400.
    pub fn int_query(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.req.query_param(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!("Invalid query parameter '{name}': not an integer"))
            }),
        }
    }

    /// `?limit=` of a message or DM listing: 1–256, default 100.
    pub fn list_limit(&self) -> ApiResult<i64> {
        const DEFAULT: i64 = 100;
        const MAX: i64 = 256;
        Ok(self.int_query("limit")?.unwrap_or(DEFAULT).clamp(1, MAX))
    }

    /// Takes one unit of `action` for `user` under a quota of `count` per `per_secs`; 429
    /// with `Retry-After` once it is used up.
    pub fn rate_limit(
        &self,
        action: Action,
        user: i64,
        count: u32,
        per_secs: f64,
    ) -> ApiResult<()> {
        self.st
            .limiters
            .check(action, user, count, per_secs)
            .map_err(|retry_after_secs| ApiError::RateLimited {
                retry_after_secs,
                reason: "Rate limited".into(),
            })
    }

    /// Writes a moderation log row with the caller as actor (and an info event).
    pub async fn log_moderation(
        &self,
        action: &str,
        room: Option<&str>,
        target: Option<&str>,
        detail: Option<String>,
    ) -> ApiResult<()> {
        let actor = self
            .user
            .as_ref()
            .map_or("anonymous", |u| u.session_id.as_str());
        let entry = ModLogEntry {
            actor,
            action,
            room,
            target,
            detail,
        };
        self.st.db.log_moderation(self.st.now(), &entry).await?;
        tracing::info!(action, room, target, "moderation");
        Ok(())
    }

    /// Records room activity for an authenticated caller.
    pub async fn touch_room(&self, room: &RoomRow) -> ApiResult<()> {
        if let Some(u) = &self.user {
            self.st
                .db
                .touch_room_user(room.id, u.id, self.st.now())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table_parses_parameters() {
        assert_eq!(
            Route::parse(Method::Get, "/room/abc/messages/since/12"),
            Some(Route::MessagesSince("abc", 12))
        );
        assert_eq!(Route::parse(Method::Get, "/room/abc/message/-1"), None);
        assert_eq!(Route::parse(Method::Get, "/room/abc/message/1x"), None);
        assert_eq!(Route::parse(Method::Get, "/room/a b/message/1"), None);
        assert_eq!(Route::parse(Method::Post, "/rooms"), None);
        assert_eq!(Route::parse(Method::Get, "rooms"), None);
        assert_eq!(
            Route::parse(
                Method::Get,
                "/room/x/messages/since/99999999999999999999999"
            ),
            None
        );
    }

    #[test]
    fn moderation_routes_parse() {
        let id = format!("15{}", "ab".repeat(32));
        assert_eq!(
            Route::parse(Method::Post, "/room/r/unpin/all"),
            Some(Route::UnpinAll("r"))
        );
        assert_eq!(
            Route::parse(Method::Post, "/room/r/unpin/7"),
            Some(Route::Unpin("r", 7))
        );
        assert_eq!(
            Route::parse(Method::Post, &format!("/user/{id}/ban")),
            Some(Route::BanUser(&id))
        );
        let upper = id.to_uppercase();
        assert_eq!(
            Route::parse(Method::Delete, &format!("/rooms/all/{upper}")),
            Some(Route::DeleteAllEverywhere(&upper))
        );
        assert_eq!(Route::parse(Method::Post, "/user/15ab/ban"), None);
        let ff = format!("ff{}", "ab".repeat(32));
        assert_eq!(Route::parse(Method::Post, &format!("/user/{ff}/ban")), None);
        assert_eq!(Route::parse(Method::Get, "/room/r/permissions/xyz"), None);
    }

    #[test]
    fn rest_of_path_parameters() {
        assert_eq!(
            Route::parse(Method::Put, "/room/r/reaction/5/🍍"),
            Some(Route::React("r", 5, "🍍"))
        );
        assert_eq!(
            Route::parse(Method::Delete, "/room/r/reaction/5/a/b"),
            Some(Route::Unreact("r", 5, "a/b"))
        );
        assert_eq!(
            Route::parse(Method::Put, "/room/r/reaction/5/"),
            Some(Route::React("r", 5, ""))
        );
        assert_eq!(Route::parse(Method::Put, "/room/r/reaction/5"), None);
        assert_eq!(
            Route::parse(Method::Delete, "/room/r/reactions/5"),
            Some(Route::ClearReactions("r", 5, None))
        );
        assert_eq!(
            Route::parse(Method::Delete, "/room/r/reactions/5/x"),
            Some(Route::ClearReactions("r", 5, Some("x")))
        );
        assert_eq!(
            Route::parse(Method::Get, "/room/r/reactors/5/x/y"),
            Some(Route::Reactors("r", 5, "x/y"))
        );
        assert_eq!(
            Route::parse(Method::Get, "/room/r/file/9/any/name.txt"),
            Some(Route::GetFile("r", 9))
        );
        assert_eq!(
            Route::parse(Method::Get, "/room/r/file/9"),
            Some(Route::GetFile("r", 9))
        );
        assert_eq!(Route::parse(Method::Get, "/room/r/file/x/a"), None);
        let b = format!("15{}", "ab".repeat(32));
        assert_eq!(
            Route::parse(Method::Post, &format!("/inbox/{b}")),
            Some(Route::SendDm(b.as_str()))
        );
        let unblinded = format!("05{}", "ab".repeat(32));
        assert_eq!(
            Route::parse(Method::Post, &format!("/inbox/{unblinded}")),
            None
        );
        assert_eq!(
            Route::parse(Method::Get, "/inbox/since/3"),
            Some(Route::InboxSince(3))
        );
        assert_eq!(
            Route::parse(Method::Delete, "/inbox"),
            Some(Route::ClearInbox)
        );
    }
}
