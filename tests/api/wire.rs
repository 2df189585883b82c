//! Wire-compatibility audit: exact values the Session apps and independent clients rely on
//! (PROTOCOL.md §§4–12, CLIENT.md §§0–7), each on SQLite and PostgreSQL.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_client::client::Transport;
use sogs_client::encoding::b64_encode;
use sogs_client::onion::EncType;
use sogs_tests::{Backend, TestApp, TestUser, START_TIME};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn tokens(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["token"].as_str().unwrap().to_owned())
        .collect()
}

async fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let (code, out, err) = app.cli(args).await;
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

async fn upload(u: &TestUser, room: &str, body: &[u8]) -> i64 {
    let r = u
        .client
        .request(
            "POST",
            &format!("/room/{room}/file"),
            Some((body, "application/octet-stream")),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let v: Value = r.json().unwrap();
    assert_eq!(keys(&v), ["id"]);
    v["id"].as_i64().unwrap()
}

/// CLIENT.md §7.8: desktop always polls `pollInfo/0`, so a room's `info_updates` must never
/// be 0 or a fresh room's details (e.g. global moderators) never reach it.
#[rstest]
#[tokio::test]
async fn fresh_room_info_updates_is_never_zero(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    // A global moderator appointed before the room exists must still reach desktop.
    let gm = app.user(9);
    cli_ok(
        &app,
        &["moderator", "add", &gm.id(), "--global", "--visible"],
    )
    .await;
    let room = app.room("fresh").await;
    let alice = app.user(1);
    let (s, info) = alice.get_json(&format!("/room/{room}")).await;
    assert_eq!(s, 200);
    assert_eq!(info["info_updates"], json!(1));
    let (_, poll) = alice.get_json(&format!("/room/{room}/pollInfo/0")).await;
    assert_eq!(poll["details"]["token"], json!("fresh"));
    assert_eq!(poll["details"]["moderators"], json!([gm.id()]));
    let (_, poll) = alice.get_json(&format!("/room/{room}/pollInfo/1")).await;
    assert!(poll.get("details").is_none(), "{poll}");
    let out = cli_ok(&app, &["room", "list", "--json"]).await;
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["info_updates"], json!(1));
    app.shutdown().await;
}

/// `GET /rooms` is sorted by token whatever the database collation (case-insensitively, as
/// pysogs' `COLLATE NOCASE`/citext token column sorts), and every token the API returns is
/// the stored one, whatever case the request used.
#[rstest]
#[tokio::test]
async fn rooms_sorted_by_token_and_returned_in_stored_case(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    for t in ["Zeta", "alpha", "a_b", "a-b", "Beta", "a1"] {
        app.room(t).await;
    }
    let expected = ["a-b", "a1", "a_b", "alpha", "Beta", "Zeta"];
    let (s, rooms) = app.user(1).get_json("/rooms").await;
    assert_eq!(s, 200);
    assert_eq!(tokens(&rooms), expected);
    let anon: Value = app.anon().get("/rooms").await.unwrap().json().unwrap();
    assert_eq!(tokens(&anon), expected);
    let out = cli_ok(&app, &["room", "list"]).await;
    assert!(out.starts_with("TOKEN\tPERMISSIONS\tNAME"), "{out}");
    let listed: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(listed, expected);

    // Any case in the request, the stored case in the answer.
    let alice = app.user(1);
    let (s, info) = alice.get_json("/room/ZETA").await;
    assert_eq!((s, info["token"].clone()), (200, json!("Zeta")));
    let (_, poll) = alice.get_json("/room/zEtA/pollInfo/0").await;
    assert_eq!(poll["token"], json!("Zeta"));
    assert_eq!(poll["details"]["token"], json!("Zeta"));
    let posted = alice.post_ok("ZETA", "hi").await;
    let (_, since) = alice.get_json("/room/zeta/messages/since/0").await;
    assert_eq!(since[0]["id"], posted["id"]);
    // File paths: upload through one case, download through another.
    let f = upload(&alice, "zeta", b"bytes").await;
    let r = alice
        .client
        .get(&format!("/room/ZeTa/file/{f}"))
        .await
        .unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"bytes"[..]));
    // Rooms-or-global bodies and the answers that name rooms.
    app.make_mod(5, "zeta", true).await;
    let admin = app.user(5);
    let r = admin
        .client
        .post_json(
            &format!("/user/{}/moderator", app.user(6).id()),
            &json!({"rooms": ["ZETA"], "global": false, "visible": true, "moderator": true}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(keys(&r.json::<Value>().unwrap()["info_updates"]), ["Zeta"]);
    let r = alice
        .client
        .delete(&format!("/rooms/all/{}", alice.id()))
        .await
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["rooms"]["Zeta"], json!(1));
    assert_eq!(v["total"], json!(1));
    // The CLI resolves any case and prints the stored token.
    let url = cli_ok(&app, &["url", "ZETA"]).await;
    assert!(url.contains("/Zeta?public_key="), "{url}");
    cli_ok(&app, &["room", "update", "zeta", "--name", "Z"]).await;
    let (_, info) = alice.get_json("/room/Zeta").await;
    assert_eq!(info["name"], json!("Z"));
    let out = cli_ok(&app, &["moderator", "list", "--room", "ZETA"]).await;
    assert!(out.contains("\tZeta\t"), "{out}");
    app.shutdown().await;
}

/// §10.2: `moderators`/`admins` sorted, hidden lists only for moderators and only when
/// non-empty, `default_*` only for moderators; role flags in room info and pollInfo.
#[rstest]
#[tokio::test]
async fn moderator_lists_and_caller_role_flags(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("mods").await;
    let other = app.room("other").await;
    // Several visible moderators and admins, appointed in an order unrelated to their ids.
    let seeds = [40u8, 11, 27, 3, 18, 33];
    for s in &seeds[..3] {
        app.make_mod(*s, &room, false).await;
    }
    for s in &seeds[3..] {
        app.make_mod(*s, &room, true).await;
    }
    let id = |s: u8| app.user(s).id();
    let mut mods: Vec<String> = seeds[..3].iter().map(|s| id(*s)).collect();
    let mut admins: Vec<String> = seeds[3..].iter().map(|s| id(*s)).collect();
    // A visible global moderator joins the moderator list of every room.
    let gmod = app.user(50);
    cli_ok(
        &app,
        &["moderator", "add", &gmod.id(), "--global", "--visible"],
    )
    .await;
    mods.push(gmod.id());
    mods.sort();
    admins.sort();
    let gadmin = app.user(51);
    cli_ok(
        &app,
        &["moderator", "add", &gadmin.id(), "--global", "--admin"],
    )
    .await;

    let alice = app.user(1);
    let (_, info) = alice.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["moderators"], json!(mods));
    assert_eq!(info["admins"], json!(admins));
    for k in [
        "hidden_moderators",
        "hidden_admins",
        "moderator",
        "admin",
        "global_moderator",
        "global_admin",
        "default_read",
        "default_accessible",
        "default_write",
        "default_upload",
    ] {
        assert!(info.get(k).is_none(), "{k} in {info}");
    }
    let (_, poll) = alice.get_json(&format!("/room/{room}/pollInfo/0")).await;
    assert_eq!(
        keys(&poll),
        [
            "active_users",
            "details",
            "read",
            "token",
            "upload",
            "write"
        ]
    );

    // Room moderator: flags + defaults; the hidden global admin is listed to them only.
    let m = app.user(seeds[0]);
    let (_, info) = m.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["moderator"], json!(true));
    assert!(info.get("admin").is_none() && info.get("global_moderator").is_none());
    assert_eq!(info["hidden_admins"], json!([gadmin.id()]));
    assert!(info.get("hidden_moderators").is_none(), "{info}");
    for k in [
        "default_read",
        "default_accessible",
        "default_write",
        "default_upload",
    ] {
        assert_eq!(info[k], json!(true), "{k}");
    }
    let (_, poll) = m.get_json(&format!("/room/{room}/pollInfo/0")).await;
    assert_eq!(
        (poll["moderator"].clone(), poll["default_write"].clone()),
        (json!(true), json!(true))
    );
    assert!(poll.get("admin").is_none());

    // Room admin: moderator and admin, no global flags.
    let (_, poll) = app
        .user(seeds[3])
        .get_json(&format!("/room/{room}/pollInfo/0"))
        .await;
    assert_eq!(
        (poll["moderator"].clone(), poll["admin"].clone()),
        (json!(true), json!(true))
    );
    assert!(poll.get("global_moderator").is_none() && poll.get("global_admin").is_none());

    // Global moderator and global admin, in a room where they hold no room role.
    let (_, poll) = gmod.get_json(&format!("/room/{other}/pollInfo/0")).await;
    assert_eq!(poll["moderator"], json!(true));
    assert_eq!(poll["global_moderator"], json!(true));
    assert!(poll.get("admin").is_none() && poll.get("global_admin").is_none());
    assert_eq!(poll["default_read"], json!(true));
    let (_, poll) = gadmin.get_json(&format!("/room/{other}/pollInfo/0")).await;
    for k in ["moderator", "admin", "global_moderator", "global_admin"] {
        assert_eq!(poll[k], json!(true), "{k}");
    }
    assert_eq!(poll["details"]["admin"], json!(true));
    assert_eq!(poll["details"]["global_admin"], json!(true));
    assert_eq!(poll["details"]["moderators"], json!([gmod.id()]));
    assert_eq!(poll["details"]["hidden_admins"], json!([gadmin.id()]));
    app.shutdown().await;
}

/// §6: unknown keys in a sub-request are ignored (pysogs only reads the keys it knows);
/// 304 answers carry `body: ""`; header names are lower case and `content-length` is gone.
#[rstest]
#[tokio::test]
async fn batch_sub_responses(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let f = upload(&alice, &room, b"\x00\x01file").await;
    let body = json!([
        {"method": "GET", "path": "/capabilities", "headers": {}, "comment": "extra"},
        {"method": "GET", "path": "/inbox/since/0"},
        {"method": "GET", "path": "/outbox/since/5"},
        {"method": "GET", "path": format!("/room/{room}/file/{f}")},
        {"method": "GET", "path": "/inbox"},
    ]);
    let r = alice.client.post_json("/batch", &body).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/json");
    let out: Value = r.json().unwrap();
    assert_eq!(
        out[0],
        json!({"code": 200, "headers": {"content-type": "application/json"},
               "body": {"capabilities": ["blind", "reactions", "sogs"]}})
    );
    for i in [1, 2] {
        assert_eq!(out[i]["code"], json!(304), "{}", out[i]);
        assert_eq!(out[i]["body"], json!(""));
        assert!(out[i]["headers"].get("content-length").is_none());
    }
    assert_eq!(out[3]["code"], json!(200));
    assert_eq!(out[3]["body"], json!(b64_encode(b"\x00\x01file")));
    let h = &out[3]["headers"];
    assert_eq!(h["content-type"], json!("application/octet-stream"));
    assert_eq!(h["content-disposition"], json!("attachment"));
    assert!(h.get("date").is_some() && h.get("expires").is_some(), "{h}");
    assert!(h.get("content-length").is_none());
    for k in keys(h) {
        assert_eq!(k, k.to_ascii_lowercase());
    }
    assert_eq!(
        out[4],
        json!({"code": 200, "headers": {"content-type": "application/json"}, "body": []})
    );
    // Direct 304: empty body.
    let r = alice.client.get("/inbox/since/0").await.unwrap();
    assert_eq!((r.status, r.body.len()), (304, 0));
    app.shutdown().await;
}

/// §5.3/§8.5: through a v4 onion request the reply meta is `{"code", "headers"}` with
/// lower-case names, no `content-length`, and the exact content types the apps match; file
/// downloads keep their headers.
#[rstest]
#[tokio::test]
async fn onion_reply_meta_and_file_headers(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let disposition = sogs_client::disposition::content_disposition(Some("a b.txt"));
    let r = alice
        .client
        .request(
            "POST",
            &format!("/room/{room}/file"),
            Some((b"onion file", "application/octet-stream")),
            &[("Content-Disposition", disposition.as_str())],
        )
        .await
        .unwrap();
    let f = r.json::<Value>().unwrap()["id"].as_i64().unwrap();
    for enc in [EncType::AesGcm, EncType::XChaCha20] {
        let direct = alice
            .client
            .get(&format!("/room/{room}/file/{f}"))
            .await
            .unwrap();
        let c = app
            .user(1)
            .client
            .with_transport(Transport::OnionDirect { enc });
        let r = c.get(&format!("/room/{room}/file/{f}")).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"onion file");
        for k in r.headers.keys() {
            assert_eq!(*k, k.to_ascii_lowercase());
        }
        assert!(!r.headers.contains_key("content-length"));
        assert_eq!(r.headers["content-type"], "application/octet-stream");
        assert_eq!(
            r.headers["content-disposition"],
            "attachment; filename*=UTF-8''a%20b.txt"
        );
        for h in ["content-disposition", "date", "expires", "cache-control"] {
            assert_eq!(r.headers[h], direct.headers[h], "{h}");
        }
        let r = c.get("/capabilities").await.unwrap();
        assert_eq!(r.headers["content-type"], "application/json");
        let r = c.get(&format!("/room/{room}/message/99")).await.unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
        let r = c.get("/inbox/since/0").await.unwrap();
        assert_eq!((r.status, r.body.len()), (304, 0));
        assert!(r.headers.contains_key("content-type"));
        // 429 keeps its Retry-After, lower-cased.
        let p = app
            .user(2)
            .client
            .with_transport(Transport::OnionDirect { enc });
        let mut last = None;
        for i in 0..6 {
            let body = app.user(2).post_body(&format!("flood {i}"));
            last = Some(
                p.post_json(&format!("/room/{room}/message"), &body)
                    .await
                    .unwrap(),
            );
        }
        let last = last.unwrap();
        assert_eq!(last.status, 429);
        assert!(
            last.headers.contains_key("retry-after"),
            "{:?}",
            last.headers
        );
        app.clock.advance(20.0);
    }
    app.shutdown().await;
}

/// §9.3/§9.5: a deleted whisper's tombstone keeps its whisper fields and follows the whisper
/// visibility rules; a tombstone has exactly the documented keys.
#[rstest]
#[tokio::test]
async fn whisper_tombstones(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, false).await;
    let (modu, bob, carol) = (app.user(1), app.user(2), app.user(3));
    let mut body = modu.post_body("psst bob");
    body["whisper_to"] = json!(bob.id());
    body["whisper_mods"] = json!(true);
    let r = modu
        .client
        .post_json(&format!("/room/{room}/message"), &body)
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let w: Value = r.json().unwrap();
    assert_eq!(
        keys(&w),
        [
            "data",
            "id",
            "posted",
            "reactions",
            "seqno",
            "session_id",
            "signature",
            "whisper",
            "whisper_mods",
            "whisper_to"
        ]
    );
    let id = w["id"].as_i64().unwrap();
    let plain = carol.post_ok(&room, "public").await["id"].as_i64().unwrap();
    app.clock.advance(5.0);
    for del in [id, plain] {
        let who = if del == id { &modu } else { &carol };
        let r = who
            .client
            .delete(&format!("/room/{room}/message/{del}"))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
    let tomb = json!({
        "id": id, "session_id": modu.id(), "posted": START_TIME, "edited": START_TIME + 5.0,
        "seqno": 3, "data": null, "deleted": true, "whisper": true, "whisper_mods": true,
        "whisper_to": bob.id(),
    });
    let plain_tomb = json!({
        "id": plain, "session_id": carol.id(), "posted": START_TIME, "edited": START_TIME + 5.0,
        "seqno": 4, "data": null, "deleted": true,
    });
    for (who, expect) in [
        (&bob, json!([tomb, plain_tomb])),
        (&modu, json!([tomb, plain_tomb])),
        (&carol, json!([plain_tomb])),
    ] {
        let (_, v) = who
            .get_json(&format!("/room/{room}/messages/since/2?t=r"))
            .await;
        assert_eq!(v, expect);
    }
    let v: Value = app
        .anon()
        .get(&format!("/room/{room}/messages/since/2"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v, json!([plain_tomb]));
    app.shutdown().await;
}

/// §10.3: every `info_updates` case, and the ones that must not move it.
#[rstest]
#[tokio::test]
async fn info_updates_rules(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("info").await;
    let other = app.room("other").await;
    app.make_mod(1, &room, true).await;
    let admin = app.user(1);
    let info = |t: String| {
        let c = app.anon();
        async move {
            let v: Value = c.get(&format!("/room/{t}")).await.unwrap().json().unwrap();
            v["info_updates"].as_i64().unwrap()
        }
    };
    let mut n = info(room.clone()).await;
    let mut o = info(other.clone()).await;
    let check = |got: i64, want: i64, what: &str| assert_eq!(got, want, "{what}");

    // Not counted: defaults, posts, edits, reactions, unpinned deletions.
    let r = admin
        .client
        .put_json(&format!("/room/{room}"), &json!({"default_upload": false}))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"info_updates": n}));
    let m1 = admin.post_ok(&room, "one").await["id"].as_i64().unwrap();
    let m2 = admin.post_ok(&room, "two").await["id"].as_i64().unwrap();
    let r = admin
        .client
        .put_json(
            &format!("/room/{room}/message/{m1}"),
            &admin.post_body("one!"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    admin.client.react(&room, m1, "👍").await.unwrap();
    let r = admin
        .client
        .delete(&format!("/room/{room}/message/{m2}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    check(
        info(room.clone()).await,
        n,
        "defaults/posts/edits/reactions/deletes",
    );

    // Room appointments: add, visibility only, admin flag, removal.
    let bob = app.user(2);
    let set = |body: Value| {
        let c = admin.client.clone();
        let path = format!("/user/{}/moderator", bob.id());
        async move {
            let r = c.post_json(&path, &body).await.unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            r.json::<Value>().unwrap()["info_updates"].clone()
        }
    };
    for (body, what) in [
        (json!({"rooms": [&room], "moderator": true}), "appoint"),
        (
            json!({"rooms": [&room], "moderator": true, "visible": false}),
            "hide",
        ),
        (json!({"rooms": [&room], "admin": true}), "promote"),
        (json!({"rooms": [&room], "moderator": false}), "remove"),
    ] {
        n += 1;
        assert_eq!(set(body).await, json!({ room.clone(): n }), "{what}");
    }
    assert_eq!(
        set(json!({"rooms": [&room], "moderator": false})).await,
        json!({ room.clone(): n }),
        "no change"
    );
    check(info(other.clone()).await, o, "other room untouched");

    // Global roles: every room, including a visibility-only change.
    let carol = app.user(3);
    for args in [
        vec!["moderator", "add", &carol.id(), "--global"],
        vec!["moderator", "add", &carol.id(), "--global", "--visible"],
        vec!["moderator", "remove", &carol.id(), "--global"],
    ] {
        cli_ok(&app, &args).await;
        n += 1;
        o += 1;
        check(info(room.clone()).await, n, &format!("{args:?}"));
        check(info(other.clone()).await, o, &format!("{args:?}"));
    }

    // Banning a room moderator strips the role: +1.
    app.make_mod(4, &room, false).await;
    n += 1;
    let r = admin
        .client
        .post_json(
            &format!("/user/{}/ban", app.user(4).id()),
            &json!({"rooms": [&room]}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    n += 1;
    check(info(room.clone()).await, n, "ban of a moderator");

    // Pins: pin, re-pin, unpin, unpin/all per message, deleting a pinned message. They do not
    // touch message_sequence (only the deletion does).
    let p1 = admin.post_ok(&room, "p1").await["id"].as_i64().unwrap();
    let p2 = admin.post_ok(&room, "p2").await["id"].as_i64().unwrap();
    let p3 = admin.post_ok(&room, "p3").await["id"].as_i64().unwrap();
    let seq = |t: String| {
        let c = app.anon();
        async move {
            let v: Value = c.get(&format!("/room/{t}")).await.unwrap().json().unwrap();
            v["message_sequence"].as_i64().unwrap()
        }
    };
    let seq0 = seq(room.clone()).await;
    for (p, what) in [(p1, "pin"), (p2, "pin 2"), (p3, "pin 3"), (p1, "re-pin")] {
        app.clock.advance(1.0);
        let r = admin
            .client
            .post_json(&format!("/room/{room}/pin/{p}"), &json!({}))
            .await
            .unwrap();
        n += 1;
        assert_eq!(
            r.json::<Value>().unwrap(),
            json!({"info_updates": n}),
            "{what}"
        );
    }
    // pinned_messages: oldest pin first, so the re-pinned p1 is last; pinned_at is a float.
    let v: Value = app
        .anon()
        .get(&format!("/room/{room}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    let pins = v["pinned_messages"].as_array().unwrap();
    let order: Vec<i64> = pins.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(order, [p2, p3, p1]);
    assert_eq!(
        pins[2],
        json!({"id": p1, "pinned_at": START_TIME + 4.0, "pinned_by": admin.id()})
    );
    let r = admin
        .client
        .post_json(&format!("/room/{room}/unpin/{p2}"), &json!({}))
        .await
        .unwrap();
    n += 1;
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"unpinned": true, "info_updates": n})
    );
    let r = admin
        .client
        .post_json(&format!("/room/{room}/unpin/{p2}"), &json!({}))
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"unpinned": false, "info_updates": n})
    );
    let r = admin
        .client
        .delete(&format!("/room/{room}/message/{p3}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    n += 1;
    check(info(room.clone()).await, n, "deleting a pinned message");
    check(
        seq(room.clone()).await,
        seq0 + 1,
        "pins leave message_sequence alone",
    );
    let r = admin
        .client
        .post_json(&format!("/room/{room}/unpin/all"), &json!({}))
        .await
        .unwrap();
    n += 1;
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"unpinned": 1, "info_updates": n})
    );
    let v: Value = app
        .anon()
        .get(&format!("/room/{room}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert!(v.get("pinned_messages").is_none(), "{v}");

    // Pin/unpin need an admin: 403 also for anonymous callers and moderators.
    app.make_mod(6, &room, false).await;
    n += 1;
    for c in [app.anon(), app.user(6).client.clone()] {
        for path in [
            format!("/room/{room}/pin/{p1}"),
            format!("/room/{room}/unpin/all"),
        ] {
            let r = c.post_json(&path, &json!({})).await.unwrap();
            assert_eq!(r.status, 403, "{path}");
        }
    }
    check(info(room.clone()).await, n, "refused pins");
    check(info(other.clone()).await, o, "other room");
    app.shutdown().await;
}

/// Status codes of creation and of the room image rule, and the exact shapes returned.
#[rstest]
#[tokio::test]
async fn creation_statuses_and_shapes(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let other = app.room("other").await;
    let alice = app.user(1);
    let bob = app.user(2);
    bob.client.get("/capabilities").await.unwrap();
    let m = alice.post_ok(&room, "hello").await;
    assert_eq!(
        keys(&m),
        [
            "data",
            "id",
            "posted",
            "reactions",
            "seqno",
            "session_id",
            "signature"
        ]
    );
    assert!(m["posted"].is_f64() && m["id"].is_i64() && m["seqno"].is_i64());
    let r = alice
        .client
        .post_json(&format!("/inbox/{}", bob.id()), &json!({"message": "AAEC"}))
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let dm: Value = r.json().unwrap();
    assert_eq!(
        keys(&dm),
        ["expires_at", "id", "posted_at", "recipient", "sender"]
    );
    assert!(dm["posted_at"].is_f64() && dm["expires_at"].is_f64());
    let (_, inbox) = bob.get_json("/inbox").await;
    assert_eq!(
        keys(&inbox[0]),
        [
            "expires_at",
            "id",
            "message",
            "posted_at",
            "recipient",
            "sender"
        ]
    );
    // The room image must be an upload of this room: 406 otherwise.
    app.make_mod(3, &room, true).await;
    let admin = app.user(3);
    let elsewhere = upload(&alice, &other, b"img").await;
    let here = upload(&alice, &room, b"img").await;
    let put = |body: Value| {
        let c = admin.client.clone();
        let path = format!("/room/{room}");
        async move { c.put_json(&path, &body).await.unwrap() }
    };
    assert_eq!(put(json!({"image": elsewhere})).await.status, 406);
    let r = put(json!({"image": here})).await;
    assert_eq!(r.status, 200);
    let v: Value = alice.get_json(&format!("/room/{room}")).await.1;
    assert_eq!(v["image_id"], json!(here));
    assert!(v["created"].is_f64() && v["active_users"].is_i64());
    assert_eq!(v["active_users_cutoff"], json!(604800));
    app.shutdown().await;
}

/// §3.6/§10.3: a moderator appointed by Session ID is not listed (listing the 05 id would
/// reveal it) until the person first connects; then their blinded id appears, so `info_updates`
/// moves and a client polling with its last counter (Android) gets the new details.
#[rstest]
#[tokio::test]
async fn migrating_a_05_moderator_bumps_info_updates(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let other = app.room("other").await;
    let (alice, gm, watcher) = (app.user(1), app.user(2), app.user(3));
    cli_ok(
        &app,
        &["moderator", "add", &alice.session_id(), "--room", &room],
    )
    .await;
    cli_ok(
        &app,
        &[
            "moderator",
            "add",
            &gm.session_id(),
            "--global",
            "--visible",
        ],
    )
    .await;
    let (_, before) = watcher.get_json(&format!("/room/{room}")).await;
    assert_eq!(before["moderators"], json!([]), "no 05 id is ever listed");
    assert!(!before.to_string().contains(&alice.session_id()[2..]));
    let n = before["info_updates"].as_i64().unwrap();
    let (_, o) = watcher.get_json(&format!("/room/{other}")).await;
    let o = o["info_updates"].as_i64().unwrap();

    alice.client.get("/capabilities").await.unwrap();
    let (_, poll) = watcher
        .get_json(&format!("/room/{room}/pollInfo/{n}"))
        .await;
    assert_eq!(poll["details"]["info_updates"], json!(n + 1));
    assert_eq!(poll["details"]["moderators"], json!([alice.id()]));
    let (_, poll) = watcher
        .get_json(&format!("/room/{other}/pollInfo/{o}"))
        .await;
    assert!(
        poll.get("details").is_none(),
        "room-level move only touches its room"
    );

    gm.client.get("/capabilities").await.unwrap();
    for (t, want) in [(&room, n + 2), (&other, o + 1)] {
        let (_, info) = watcher.get_json(&format!("/room/{t}")).await;
        assert_eq!(info["info_updates"], json!(want), "{t}");
    }
    let (_, info) = watcher.get_json(&format!("/room/{other}")).await;
    assert_eq!(info["moderators"], json!([gm.id()]));
    app.shutdown().await;
}

/// §8.6 rooms-or-global selection (what is 400 and what is 403) and §8.2 override objects.
#[rstest]
#[tokio::test]
async fn rooms_or_global_selection_and_override_objects(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("Lobby").await;
    let other = app.room("other").await;
    app.make_mod(1, &room, true).await;
    app.make_mod(2, &room, false).await;
    let (admin, modu, bob) = (app.user(1), app.user(2), app.user(3));
    let send = |u: &TestUser, path: String, body: Value| {
        let c = u.client.clone();
        async move {
            let r = c.post_json(&path, &body).await.unwrap();
            (r.status, r.json::<Value>().unwrap_or(Value::Null))
        }
    };
    let ban = format!("/user/{}/ban", bob.id());
    let unban = format!("/user/{}/unban", bob.id());
    // 403: a token that does not exist, a room without the role, a token listed twice (in
    // any case), `["*"]` without any such room, `global` without the global role.
    for (u, body) in [
        (&modu, json!({"rooms": ["nope"]})),
        (&modu, json!({"rooms": ["lobby", &other]})),
        (&modu, json!({"rooms": ["lobby", "LOBBY"]})),
        (&bob, json!({"rooms": ["*"]})),
        (&modu, json!({"global": true})),
        (&modu, json!({"rooms": [], "global": true})),
    ] {
        assert_eq!(send(u, ban.clone(), body.clone()).await.0, 403, "{body}");
    }
    // Valid forms: what desktop sends, `global: null`, `["*"]`.
    for body in [
        json!({"rooms": ["LOBBY"], "global": false}),
        json!({"rooms": ["lobby"], "global": null, "timeout": null}),
        json!({"rooms": ["*"]}),
    ] {
        assert_eq!(
            send(&modu, ban.clone(), body.clone()).await,
            (200, json!({})),
            "{body}"
        );
    }
    // Override objects.
    let (s, perms) = modu.get_json("/room/lobby/permissions").await;
    assert_eq!(s, 200);
    assert_eq!(
        perms,
        json!({
            admin.id(): {"admin": true},
            modu.id(): {"moderator": true},
            bob.id(): {"banned": true},
        })
    );
    let (_, one) = modu
        .get_json(&format!("/room/{room}/permissions/{}", bob.id()))
        .await;
    assert_eq!(one, json!({"banned": true}));
    assert_eq!(
        send(&modu, unban.clone(), json!({"rooms": ["*"]})).await,
        (200, json!({}))
    );
    let r = send(
        &admin,
        format!("/user/{}/moderator", modu.id()),
        json!({"rooms": ["lobby"], "global": false, "visible": false, "admin": true}),
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(keys(&r.1["info_updates"]), ["Lobby"]);
    let r = send(
        &admin,
        format!("/room/lobby/permissions/{}", bob.id()),
        json!({"read": false, "accessible": true, "default_write": true}),
    )
    .await;
    assert_eq!(r, (200, json!({"read": false, "accessible": true})));
    let (_, perms) = admin.get_json("/room/LOBBY/permissions").await;
    assert_eq!(
        perms,
        json!({
            admin.id(): {"admin": true},
            modu.id(): {"admin": true, "hidden": true},
            bob.id(): {"read": false, "accessible": true},
        })
    );
    let (_, none) = admin
        .get_json(&format!("/room/lobby/permissions/{}", app.user(9).id()))
        .await;
    assert_eq!(none, json!({}));
    // Moderator endpoints: 401 anonymous, 403 with the exact text otherwise.
    let r = app.anon().get("/room/lobby/permissions").await.unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (401, "X-SOGS-* request authentication required")
    );
    let r = bob
        .client
        .get("/room/lobby/futurePermissions")
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (403, "This endpoint requires moderator room permissions")
    );
    let r = modu.client.delete("/room/lobby/reactions/1").await.unwrap();
    assert_eq!(r.status, 404, "moderators pass; no such message");
    let r = bob
        .client
        .put_json("/room/lobby", &json!({"name": "x"}))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (403, "This endpoint requires admin room permissions")
    );
    app.shutdown().await;
}

/// CLIENT.md §7.9: what the apps send that a server must accept.
#[rstest]
#[tokio::test]
async fn lenient_inputs_the_apps_send(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let json_ct = [("Content-Type", "application/json"), ("Room", "lobby")];
    // GET and DELETE with `Content-Type: application/json` and no body (desktop), plus
    // Android's `Room` header.
    let r = alice
        .client
        .request("GET", "/room/lobby/messages/recent", None, &json_ct)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let r = alice
        .client
        .request("GET", "/capabilities", None, &json_ct)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    // A post as desktop builds it: `timestamp` extra, `files` as decimal strings.
    let f = upload(&alice, &room, b"attachment").await;
    let mut body = alice.post_body("with file");
    body["files"] = json!([f.to_string()]);
    let r = alice
        .client
        .post_json(&format!("/room/{room}/message"), &body)
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let id = r.json::<Value>().unwrap()["id"].as_i64().unwrap();
    // Reaction PUT with no body (desktop) and `{}` (Android), raw UTF-8 over onion.
    let r = alice
        .client
        .request(
            "PUT",
            &format!("/room/{room}/reaction/{id}/%F0%9F%91%8D"),
            None,
            &json_ct,
        )
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"added": true, "seqno": 2})
    );
    let bob = app.user(2).client.with_transport(Transport::OnionDirect {
        enc: EncType::AesGcm,
    });
    let r = bob
        .put_json(&format!("/room/{room}/reaction/{id}/👍"), &json!({}))
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"added": true, "seqno": 3})
    );
    // Inbox POST with the extra fields desktop sends.
    let carol = app.user(3);
    carol.client.get("/capabilities").await.unwrap();
    let r = alice
        .client
        .post_json(
            &format!("/inbox/{}", carol.id()),
            &json!({"message": "AAEC", "timestamp": 1_750_000_000_000u64, "signature": "eA=="}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    // DELETE with the JSON content type and no body.
    let r = alice
        .client
        .request(
            "DELETE",
            &format!("/room/{room}/message/{id}"),
            None,
            &json_ct,
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.json::<Value>().unwrap()), (200, json!({})));
    let r = carol
        .client
        .request("DELETE", "/inbox", None, &json_ct)
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"deleted": 1}));
    app.shutdown().await;
}
