//! Moderation: roles, bans (timed and permanent, room and global), permission overrides and
//! futures, delete-all, pins, whispers, rate limits, content filters, probation and the
//! moderation log — through the API and the admin CLI.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_client::client::SogsClient;
use sogs_client::message::OutgoingMessage;
use sogs_server::db::Db;
use sogs_tests::{ids, Backend, TestApp, TestUser};

async fn send(u: &TestUser, method: &str, path: &str, body: Option<Value>) -> (u16, Value, String) {
    let r = match (method, body) {
        ("POST", Some(b)) => u.client.post_json(path, &b).await.unwrap(),
        ("PUT", Some(b)) => u.client.put_json(path, &b).await.unwrap(),
        ("DELETE", None) => u.client.delete(path).await.unwrap(),
        ("GET", None) => u.client.get(path).await.unwrap(),
        other => panic!("unsupported {other:?}"),
    };
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v, r.text())
}

async fn post(u: &TestUser, path: &str, body: Value) -> (u16, Value) {
    let (s, v, _) = send(u, "POST", path, Some(body)).await;
    (s, v)
}

async fn delete(u: &TestUser, path: &str) -> (u16, Value) {
    let (s, v, _) = send(u, "DELETE", path, None).await;
    (s, v)
}

async fn cleanup(app: &TestApp) -> sogs_server::cleanup::CleanupReport {
    sogs_server::cleanup::run_once(&app.state).await.unwrap()
}

async fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let (code, out, err) = app.cli(args).await;
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// The moderation log through the CLI (`--json`), newest first.
async fn modlog(app: &TestApp, room: Option<&str>) -> Vec<Value> {
    let mut args = vec!["modlog", "--json", "--limit", "1000"];
    if let Some(r) = room {
        args.extend(["--room", r]);
    }
    let out = cli_ok(app, &args).await;
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn has_log(log: &[Value], actor: &str, action: &str, room: Option<&str>, target: &str) -> bool {
    log.iter().any(|r| {
        r["actor"] == json!(actor)
            && r["action"] == json!(action)
            && r["room"] == json!(room)
            && r["target"] == json!(target)
    })
}

async fn make_global(app: &TestApp, seed: u8, admin: bool) {
    let id = app.user(seed).id();
    let mut args = vec!["moderator", "add", &id, "--global"];
    if admin {
        args.push("--admin");
    }
    cli_ok(app, &args).await;
}

/// Runs SQL directly against the test database (for rows another branch's routes create).
async fn exec(app: &TestApp, sql: &str) {
    match &app.state.db {
        Db::Postgres(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
        Db::Sqlite(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
    }
}

async fn scalar_f64(app: &TestApp, sql: &str) -> Option<f64> {
    match &app.state.db {
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

#[rstest]
#[tokio::test]
async fn room_ban_blocks_reading_and_posting_until_unbanned(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, false).await;
    let (modr, bob) = (app.user(1), app.user(2));
    bob.post_ok(&room, "hi").await;

    let (s, v) = post(
        &modr,
        &format!("/user/{}/ban", bob.id()),
        json!({"rooms": [room], "global": false}),
    )
    .await;
    assert_eq!((s, v), (200, json!({})));
    assert_eq!(bob.get_json(&format!("/room/{room}")).await.0, 404);
    assert_eq!(
        bob.get_json(&format!("/room/{room}/messages/recent"))
            .await
            .0,
        403
    );
    assert_eq!(
        bob.get_json(&format!("/room/{room}/pollInfo/0")).await.0,
        403
    );
    assert_eq!(bob.post(&room, "still here?").await.status, 403);
    let (s, rooms) = bob.get_json("/rooms").await;
    assert_eq!((s, rooms), (200, json!([])));
    // the moderator sees the ban in the override list
    let (_, perms) = modr.get_json(&format!("/room/{room}/permissions")).await;
    assert_eq!(
        perms,
        json!({ bob.id(): {"banned": true}, modr.id(): {"moderator": true} })
    );

    let (s, _) = post(
        &modr,
        &format!("/user/{}/unban", bob.id()),
        json!({"rooms": [room]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(bob.get_json(&format!("/room/{room}")).await.0, 200);
    bob.post_ok(&room, "back").await;
    let (_, perms) = modr.get_json(&format!("/room/{room}/permissions")).await;
    assert_eq!(perms, json!({ modr.id(): {"moderator": true} }));

    // a 05 Session ID of someone who never connected: the ban waits for their blinded id
    let dave = app.user(7);
    let (s, _) = post(
        &modr,
        &format!("/user/{}/ban", dave.session_id()),
        json!({"rooms": [room]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(dave.get_json(&format!("/room/{room}")).await.0, 404);
    assert_eq!(dave.post(&room, "hi").await.status, 403);
    let (_, perms) = modr
        .get_json(&format!("/room/{room}/permissions/{}", dave.id()))
        .await;
    assert_eq!(perms, json!({"banned": true}));

    let log = modlog(&app, Some(&room)).await;
    assert!(has_log(&log, &modr.id(), "ban", Some(&room), &bob.id()));
    assert!(has_log(&log, &modr.id(), "unban", Some(&room), &bob.id()));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn ban_rules_self_global_mods_and_room_mods(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, false).await;
    app.make_mod(2, &room, false).await;
    app.make_mod(3, &room, true).await;
    make_global(&app, 4, false).await;
    let (mod1, mod2, admin, gmod) = (app.user(1), app.user(2), app.user(3), app.user(4));
    let body = json!({"rooms": [room]});

    // nobody bans themselves; a moderator cannot ban a moderator; global mods are unbannable
    assert_eq!(
        post(&mod1, &format!("/user/{}/ban", mod1.id()), body.clone())
            .await
            .0,
        403
    );
    assert_eq!(
        post(&mod1, &format!("/user/{}/ban", mod2.id()), body.clone())
            .await
            .0,
        403
    );
    assert_eq!(
        post(&admin, &format!("/user/{}/ban", gmod.id()), body.clone())
            .await
            .0,
        403
    );
    assert_eq!(
        post(
            &gmod,
            &format!("/user/{}/ban", gmod.id()),
            json!({"global": true})
        )
        .await
        .0,
        403
    );

    // an admin's ban strips the room moderator role and bumps info_updates
    let (_, before) = admin.get_json(&format!("/room/{room}")).await;
    assert!(before["moderators"]
        .as_array()
        .unwrap()
        .contains(&json!(mod2.id())));
    let (s, _) = post(&admin, &format!("/user/{}/ban", mod2.id()), body.clone()).await;
    assert_eq!(s, 200);
    let (_, after) = admin.get_json(&format!("/room/{room}")).await;
    assert!(!after["moderators"]
        .as_array()
        .unwrap()
        .contains(&json!(mod2.id())));
    assert_eq!(
        after["info_updates"].as_i64().unwrap(),
        before["info_updates"].as_i64().unwrap() + 1
    );
    assert_eq!(mod2.get_json(&format!("/room/{room}")).await.0, 404);
    let (_, p) = admin
        .get_json(&format!("/room/{room}/permissions/{}", mod2.id()))
        .await;
    assert_eq!(p, json!({"banned": true}));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn moderator_of_room_a_cannot_act_in_room_b(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let (a, b) = (app.room("a").await, app.room("b").await);
    app.make_mod(1, &a, false).await;
    let (moda, bob) = (app.user(1), app.user(2));
    let in_b = bob.post_ok(&b, "in b").await;
    let in_a = bob.post_ok(&a, "in a").await;
    let ban = format!("/user/{}/ban", bob.id());

    assert_eq!(post(&moda, &ban, json!({"rooms": [b]})).await.0, 403);
    // all listed rooms must allow it: nothing happens in A either
    assert_eq!(post(&moda, &ban, json!({"rooms": [a, b]})).await.0, 403);
    assert_eq!(bob.get_json(&format!("/room/{a}")).await.0, 200);
    assert_eq!(post(&moda, &ban, json!({"global": true})).await.0, 403);
    assert_eq!(post(&moda, &ban, json!({"rooms": ["nope"]})).await.0, 403);
    assert_eq!(post(&moda, &ban, json!({"rooms": [a, "A"]})).await.0, 403);
    assert_eq!(
        moda.get_json(&format!("/room/{b}/permissions")).await.0,
        403
    );
    assert_eq!(
        moda.get_json(&format!("/room/{b}/futurePermissions"))
            .await
            .0,
        403
    );
    assert_eq!(
        post(
            &moda,
            &format!("/room/{b}/permissions/{}", bob.id()),
            json!({"write": false})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        delete(&moda, &format!("/room/{b}/message/{}", in_b["id"]))
            .await
            .0,
        403
    );
    assert_eq!(
        delete(&moda, &format!("/room/{b}/all/{}", bob.id()))
            .await
            .0,
        403
    );
    let (s, _) = post(&moda, &format!("/room/{b}/message"), {
        let mut p = moda.post_body("psst");
        p["whisper_mods"] = json!(true);
        p
    })
    .await;
    assert_eq!(s, 403);

    // "*" means every room where the caller is a moderator: only A
    assert_eq!(post(&moda, &ban, json!({"rooms": ["*"]})).await.0, 200);
    assert_eq!(bob.get_json(&format!("/room/{a}")).await.0, 404);
    assert_eq!(bob.get_json(&format!("/room/{b}")).await.0, 200);
    // and in A the moderator can do all of it
    assert_eq!(
        delete(&moda, &format!("/room/{a}/message/{}", in_a["id"]))
            .await
            .0,
        200
    );
    // a plain user has no room for "*"
    assert_eq!(
        post(
            &bob,
            &format!("/user/{}/ban", moda.id()),
            json!({"rooms": ["*"]})
        )
        .await
        .0,
        403
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn rooms_or_global_body_errors(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, true).await;
    let (admin, bob) = (app.user(1), app.user(2));
    let ban = format!("/user/{}/ban", bob.id());
    for bad in [
        json!({}),
        json!({"rooms": []}),
        json!({"rooms": [room], "global": true}),
        json!({"rooms": ["*", room]}),
        json!({"rooms": room}),
        json!({"rooms": [room], "timeout": "soon"}),
    ] {
        assert_eq!(post(&admin, &ban, bad.clone()).await.0, 400, "{bad}");
    }
    let modr = format!("/user/{}/moderator", bob.id());
    assert_eq!(post(&admin, &modr, json!({"rooms": [room]})).await.0, 400);
    assert_eq!(
        post(
            &admin,
            &modr,
            json!({"rooms": [room], "admin": true, "moderator": false})
        )
        .await
        .0,
        400
    );
    // anonymous → 401; a 00 or malformed id does not match the route
    let anon = app.anon();
    let r = anon
        .post_json(&ban, &json!({"rooms": [room]}))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        post(&admin, "/user/15abcd/ban", json!({"rooms": [room]}))
            .await
            .0,
        404
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn timed_ban_lifts_itself_and_reban_replaces_the_schedule(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, false).await;
    let (modr, bob, carol) = (app.user(1), app.user(2), app.user(3));
    let t0 = app.clock.now();

    let (s, _) = post(
        &modr,
        &format!("/user/{}/ban", bob.id()),
        json!({"rooms": [room], "timeout": 60}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, fut) = modr
        .get_json(&format!("/room/{room}/futurePermissions"))
        .await;
    assert_eq!(
        fut,
        json!([{"session_id": bob.id(), "at": t0 + 60.0, "banned": false}])
    );
    let (_, fut) = modr
        .get_json(&format!("/room/{room}/futurePermissions/{}", bob.id()))
        .await;
    assert_eq!(fut, json!([{"at": t0 + 60.0, "banned": false}]));
    assert_eq!(bob.post(&room, "x").await.status, 403);

    app.clock.advance(30.0);
    cleanup(&app).await;
    assert_eq!(bob.post(&room, "x").await.status, 403, "not yet");
    app.clock.advance(31.0);
    let report = cleanup(&app).await;
    assert_eq!(report.ban_changes, 1);
    bob.post_ok(&room, "free again").await;
    assert!(has_log(
        &modlog(&app, Some(&room)).await,
        "system",
        "unban",
        Some(&room),
        &bob.id()
    ));

    // a timed ban followed by a permanent one: the scheduled unban is cancelled
    post(
        &modr,
        &format!("/user/{}/ban", carol.id()),
        json!({"rooms": [room], "timeout": 10.5}),
    )
    .await;
    post(
        &modr,
        &format!("/user/{}/ban", carol.id()),
        json!({"rooms": [room]}),
    )
    .await;
    let (_, fut) = modr
        .get_json(&format!("/room/{room}/futurePermissions"))
        .await;
    assert_eq!(fut, json!([]));
    app.clock.advance(100.0);
    cleanup(&app).await;
    assert_eq!(carol.post(&room, "x").await.status, 403);

    // global timed ban: every authenticated request is refused until it lifts
    make_global(&app, 5, false).await;
    let gmod = app.user(5);
    let (s, _) = post(
        &gmod,
        &format!("/user/{}/ban", bob.id()),
        json!({"global": true, "timeout": 20}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, text) = send(&bob, "GET", "/capabilities", None).await;
    assert_eq!((s, text.as_str()), (403, "Banned"));
    app.clock.advance(21.0);
    cleanup(&app).await;
    assert_eq!(bob.get_json("/capabilities").await.0, 200);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn global_ban_and_unban(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, true).await;
    make_global(&app, 2, false).await;
    let (room_admin, gmod, bob) = (app.user(1), app.user(2), app.user(3));
    bob.post_ok(&room, "hi").await;
    let ban = format!("/user/{}/ban", bob.id());
    assert_eq!(
        post(&room_admin, &ban, json!({"global": true})).await.0,
        403
    );
    assert_eq!(post(&gmod, &ban, json!({"global": true})).await.0, 200);
    assert_eq!(
        bob.get_json(&format!("/room/{room}/messages/recent"))
            .await
            .0,
        403
    );
    assert_eq!(bob.post(&room, "x").await.status, 403);
    // anonymous reading still works; the ban is about the user
    let r = app
        .anon()
        .get(&format!("/room/{room}/messages/recent"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let (code, out, _) = app.cli(&["ban", "list", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!([{"session_id": bob.id(), "room": null, "until": null}])
    );
    assert_eq!(
        post(
            &gmod,
            &format!("/user/{}/unban", bob.id()),
            json!({"global": true})
        )
        .await
        .0,
        200
    );
    bob.post_ok(&room, "back").await;
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn appointments_and_hidden_moderator_listing(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let (a, b) = (app.room("a").await, app.room("b").await);
    app.make_mod(1, &a, true).await;
    let (admin, vis, hid, bob) = (app.user(1), app.user(2), app.user(3), app.user(4));
    let info0 = admin.get_json(&format!("/room/{a}")).await.1["info_updates"]
        .as_i64()
        .unwrap();

    let (s, v) = post(
        &admin,
        &format!("/user/{}/moderator", vis.id()),
        json!({"rooms": [a], "global": false, "moderator": true}),
    )
    .await;
    assert_eq!(
        (s, v),
        (200, json!({"info_updates": {a.clone(): info0 + 1}}))
    );
    let (s, _) = post(
        &admin,
        &format!("/user/{}/moderator", hid.id()),
        json!({"rooms": [a], "moderator": true, "visible": false}),
    )
    .await;
    assert_eq!(s, 200);

    // an ordinary user sees the visible moderator only
    let (_, info) = bob.get_json(&format!("/room/{a}")).await;
    assert_eq!(info["moderators"], json!([vis.id()]));
    assert_eq!(info["admins"], json!([admin.id()]));
    assert!(info.get("hidden_moderators").is_none());
    let r = app.anon().get(&format!("/room/{a}")).await.unwrap();
    let anon_info: Value = r.json().unwrap();
    assert!(anon_info.get("hidden_moderators").is_none());
    // a moderator sees the hidden one too
    let (_, info) = vis.get_json(&format!("/room/{a}")).await;
    assert_eq!(info["hidden_moderators"], json!([hid.id()]));
    assert_eq!(info["moderator"], json!(true));
    let (_, p) = admin
        .get_json(&format!("/room/{a}/permissions/{}", hid.id()))
        .await;
    assert_eq!(p, json!({"moderator": true, "hidden": true}));

    // a room admin of A cannot appoint in B or globally; a moderator cannot appoint at all
    assert_eq!(
        post(
            &admin,
            &format!("/user/{}/moderator", bob.id()),
            json!({"rooms": [b], "moderator": true})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(
            &admin,
            &format!("/user/{}/moderator", bob.id()),
            json!({"global": true, "moderator": true})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(
            &vis,
            &format!("/user/{}/moderator", bob.id()),
            json!({"rooms": [a], "moderator": true})
        )
        .await
        .0,
        403
    );

    // promote to admin, demote to moderator, remove
    let url = format!("/user/{}/moderator", vis.id());
    post(&admin, &url, json!({"rooms": [a], "admin": true})).await;
    let mut both = vec![admin.id(), vis.id()];
    both.sort();
    assert_eq!(
        bob.get_json(&format!("/room/{a}")).await.1["admins"],
        json!(both)
    );
    post(&admin, &url, json!({"rooms": [a], "admin": false})).await;
    let (_, p) = admin
        .get_json(&format!("/room/{a}/permissions/{}", vis.id()))
        .await;
    assert_eq!(p, json!({"moderator": true}));
    post(&admin, &url, json!({"rooms": [a], "moderator": false})).await;
    assert_eq!(
        bob.get_json(&format!("/room/{a}")).await.1["moderators"],
        json!([])
    );

    // a global admin appoints a global moderator: hidden by default, listed to mods of every room
    make_global(&app, 5, true).await;
    let gadmin = app.user(5);
    let (s, v) = post(
        &gadmin,
        &format!("/user/{}/moderator", bob.id()),
        json!({"global": true, "moderator": true}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["info_updates"].as_object().unwrap().len(), 2);
    let (_, info) = bob.get_json(&format!("/room/{b}")).await;
    assert_eq!(info["global_moderator"], json!(true));
    assert!(info["hidden_moderators"]
        .as_array()
        .unwrap()
        .contains(&json!(bob.id())));
    let (_, info) = vis.get_json(&format!("/room/{b}")).await;
    assert!(!info["moderators"]
        .as_array()
        .unwrap()
        .contains(&json!(bob.id())));
    let log = modlog(&app, None).await;
    assert!(has_log(&log, &gadmin.id(), "role", None, &bob.id()));
    assert!(has_log(&log, &admin.id(), "role", Some(&a), &hid.id()));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn permission_overrides(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, false).await;
    let (modr, bob) = (app.user(1), app.user(2));
    let url = format!("/room/{room}/permissions/{}", bob.id());

    let (s, v) = post(&modr, &url, json!({"write": false, "upload": false})).await;
    assert_eq!((s, v), (200, json!({"write": false, "upload": false})));
    assert_eq!(bob.post(&room, "x").await.status, 403);
    let (_, info) = bob.get_json(&format!("/room/{room}")).await;
    assert_eq!(
        (info["read"].clone(), info["write"].clone()),
        (json!(true), json!(false))
    );
    let (_, all) = modr.get_json(&format!("/room/{room}/permissions")).await;
    assert_eq!(
        all,
        json!({ bob.id(): {"write": false, "upload": false}, modr.id(): {"moderator": true} })
    );
    let (_, one) = modr.get_json(&url).await;
    assert_eq!(one, json!({"write": false, "upload": false}));

    let (s, v) = post(
        &modr,
        &url,
        json!({"default_write": true, "default_upload": true}),
    )
    .await;
    assert_eq!((s, v), (200, json!({})));
    bob.post_ok(&room, "can post").await;

    let (s, v) = post(&modr, &url, json!({"read": false, "accessible": false})).await;
    assert_eq!((s, v), (200, json!({"read": false, "accessible": false})));
    assert_eq!(bob.get_json(&format!("/room/{room}")).await.0, 404);
    post(&modr, &url, json!({"accessible": true})).await;
    assert_eq!(bob.get_json(&format!("/room/{room}")).await.0, 200);
    assert_eq!(
        bob.get_json(&format!("/room/{room}/messages/recent"))
            .await
            .0,
        403
    );

    for bad in [
        json!({}),
        json!({"read": true, "default_read": true}),
        json!({"write": "no"}),
        json!({"default_read": false}),
    ] {
        assert_eq!(post(&modr, &url, bad.clone()).await.0, 400, "{bad}");
    }
    assert_eq!(post(&bob, &url, json!({"read": true})).await.0, 403);
    assert_eq!(
        app.anon()
            .get(&format!("/room/{room}/permissions"))
            .await
            .unwrap()
            .status,
        401
    );
    // no row → {}; a 05 id does not match while blinding is required
    let (_, none) = modr
        .get_json(&format!("/room/{room}/permissions/{}", app.user(9).id()))
        .await;
    assert_eq!(none, json!({}));
    let (s, _) = modr
        .get_json(&format!("/room/{room}/permissions/{}", bob.session_id()))
        .await;
    assert_eq!(s, 404);
    assert!(has_log(
        &modlog(&app, Some(&room)).await,
        &modr.id(),
        "permission",
        Some(&room),
        &bob.id()
    ));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn future_permissions_apply_and_unschedule(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, false).await;
    let (modr, bob) = (app.user(1), app.user(2));
    let t0 = app.clock.now();
    let perm = format!("/room/{room}/permissions/{}", bob.id());
    let fut = format!("/room/{room}/futurePermissions/{}", bob.id());

    // the /sequence Desktop sends: restrict now, restore in 100 s
    let seq = json!([
        {"method": "POST", "path": perm, "json": {"write": false}},
        {"method": "POST", "path": fut, "json": {"write": true, "in": 100}},
    ]);
    let r = modr.client.post_json("/sequence", &seq).await.unwrap();
    let subs: Value = r.json().unwrap();
    assert_eq!(subs[0]["code"], json!(200));
    assert_eq!(subs[1]["code"], json!(200));
    assert_eq!(subs[1]["body"], json!([{"at": t0 + 100.0, "write": true}]));
    let (s, v) = post(
        &modr,
        &fut,
        json!({"upload": false, "read": true, "in": 50.5}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!([{"at": t0 + 50.5, "read": true, "upload": false}, {"at": t0 + 100.0, "write": true}])
    );
    let (_, all) = modr
        .get_json(&format!("/room/{room}/futurePermissions"))
        .await;
    assert_eq!(
        all[1],
        json!({"session_id": bob.id(), "at": t0 + 100.0, "write": true})
    );
    for bad in [
        json!({"write": true}),
        json!({"write": true, "in": 0}),
        json!({"in": 5}),
        json!({"write": true, "in": "x"}),
    ] {
        assert_eq!(post(&modr, &fut, bad.clone()).await.0, 400, "{bad}");
    }
    assert_eq!(
        post(&bob, &fut, json!({"write": true, "in": 5})).await.0,
        403
    );

    assert_eq!(bob.post(&room, "x").await.status, 403);
    app.clock.advance(60.0);
    let r = cleanup(&app).await;
    assert_eq!(r.permission_changes, 1);
    // read=true equals the room default → no override; upload=false is stored
    let (_, p) = modr.get_json(&perm).await;
    assert_eq!(p, json!({"write": false, "upload": false}));
    app.clock.advance(41.0);
    cleanup(&app).await;
    let (_, p) = modr.get_json(&perm).await;
    assert_eq!(p, json!({"upload": false}));
    bob.post_ok(&room, "writing again").await;
    assert_eq!(modr.get_json(&fut).await.1, json!([]));

    // setting a flag cancels its schedule unless unschedule is false
    post(
        &modr,
        &fut,
        json!({"write": false, "upload": true, "in": 10}),
    )
    .await;
    post(&modr, &perm, json!({"write": true, "unschedule": false})).await;
    assert_eq!(modr.get_json(&fut).await.1.as_array().unwrap().len(), 1);
    post(&modr, &perm, json!({"write": true})).await;
    assert_eq!(
        modr.get_json(&fut).await.1,
        json!([{"at": app.clock.now() + 10.0, "upload": true}])
    );
    post(&modr, &perm, json!({"default_upload": true})).await;
    assert_eq!(modr.get_json(&fut).await.1, json!([]));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn delete_all_of_a_users_messages(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let (a, b) = (app.room("a").await, app.room("b").await);
    app.make_mod(1, &a, false).await;
    app.make_mod(3, &a, true).await;
    let (moda, bob, admin, carol) = (app.user(1), app.user(2), app.user(3), app.user(4));
    for t in ["1", "2", "3"] {
        bob.post_ok(&a, t).await;
    }
    bob.post_ok(&b, "b1").await;
    let carol_msg = carol.post_ok(&a, "carol").await;
    admin.post_ok(&a, "admin words").await;

    assert_eq!(
        app.anon()
            .delete(&format!("/room/{a}/all/{}", bob.id()))
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        delete(&carol, &format!("/room/{a}/all/{}", bob.id()))
            .await
            .0,
        403
    );
    assert_eq!(
        delete(&moda, &format!("/room/{a}/all/{}", app.user(9).id()))
            .await
            .0,
        404
    );
    assert_eq!(
        delete(&moda, &format!("/room/{a}/all/{}", admin.id()))
            .await
            .0,
        403
    );
    let (s, v) = delete(&moda, &format!("/room/{a}/all/{}", bob.id())).await;
    assert_eq!((s, v), (200, json!({})));
    let (_, recent) = carol.get_json(&format!("/room/{a}/messages/recent")).await;
    assert_eq!(recent.as_array().unwrap().len(), 2);
    assert!(!recent
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["session_id"] == json!(bob.id())));
    // tombstones reach pollers that saw the messages
    let (_, since) = carol.get_json(&format!("/room/{a}/messages/since/5")).await;
    assert_eq!(
        since
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["deleted"] == json!(true))
            .count(),
        3
    );
    assert_eq!(
        delete(&moda, &format!("/room/{a}/all/{}", bob.id()))
            .await
            .0,
        404
    );
    assert_eq!(
        bob.get_json(&format!("/room/{b}/messages/recent"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // users may delete their own
    assert_eq!(
        delete(&carol, &format!("/room/{a}/all/{}", carol.id()))
            .await
            .0,
        200
    );
    assert_eq!(
        carol
            .get_json(&format!("/room/{a}/message/{}", carol_msg["id"]))
            .await
            .0,
        404
    );
    assert!(has_log(
        &modlog(&app, Some(&a)).await,
        &moda.id(),
        "delete",
        Some(&a),
        &bob.id()
    ));

    // everywhere: a global admin deletes in every room; a user in every room they can see
    bob.post_ok(&a, "again").await;
    make_global(&app, 5, true).await;
    let (s, v) = delete(&app.user(5), &format!("/rooms/all/{}", bob.id())).await;
    assert_eq!(
        (s, v),
        (
            200,
            json!({"total": 2, "rooms": {a.clone(): 1, b.clone(): 1}})
        )
    );
    let (s, v) = delete(&bob, &format!("/rooms/all/{}", bob.id())).await;
    assert_eq!(
        (s, v),
        (
            200,
            json!({"total": 0, "rooms": {a.clone(): 0, b.clone(): 0}})
        )
    );
    // a room moderator elsewhere gets only their rooms
    bob.post_ok(&b, "b2").await;
    let (_, v) = delete(&moda, &format!("/rooms/all/{}", bob.id())).await;
    assert_eq!(v, json!({"total": 0, "rooms": {a.clone(): 0}}));
    assert_eq!(
        delete(&moda, &format!("/rooms/all/{}", app.user(9).id()))
            .await
            .0,
        404
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn pins_and_info_updates(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, true).await;
    app.make_mod(2, &room, false).await;
    let (admin, modr, bob) = (app.user(1), app.user(2), app.user(3));
    let m1 = bob.post_ok(&room, "one").await["id"].as_i64().unwrap();
    let m2 = bob.post_ok(&room, "two").await["id"].as_i64().unwrap();
    let info = |v: &Value| v["info_updates"].as_i64().unwrap();
    let i0 = info(&bob.get_json(&format!("/room/{room}")).await.1);

    // an attachment of m1 (the upload route lives on another branch: insert the row)
    let t0 = app.clock.now();
    exec(&app, &format!("INSERT INTO files (room, uploader, message, size, uploaded, expiry, path) SELECT room, author, id, 10, {t0}, {}, 'x' FROM messages WHERE id = {m1}", t0 + 100.0)).await;

    assert_eq!(
        post(&modr, &format!("/room/{room}/pin/{m1}"), json!({}))
            .await
            .0,
        403
    );
    let r = app
        .anon()
        .post_json(&format!("/room/{room}/pin/{m1}"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let (s, v) = post(&admin, &format!("/room/{room}/pin/{m1}"), json!({})).await;
    assert_eq!((s, v), (200, json!({"info_updates": i0 + 1})));
    assert_eq!(
        scalar_f64(
            &app,
            &format!("SELECT expiry FROM files WHERE message = {m1}")
        )
        .await,
        None
    );
    app.clock.advance(1.0);
    post(&admin, &format!("/room/{room}/pin/{m2}"), json!({})).await;
    let (_, ri) = bob.get_json(&format!("/room/{room}")).await;
    assert_eq!(ids(&ri["pinned_messages"]), vec![m1, m2]);
    assert_eq!(ri["pinned_messages"][0]["pinned_by"], json!(admin.id()));
    assert_eq!(ri["pinned_messages"][0]["pinned_at"], json!(t0));
    // re-pinning moves it to the end and counts as a change
    app.clock.advance(1.0);
    let (_, v) = post(&admin, &format!("/room/{room}/pin/{m1}"), json!({})).await;
    assert_eq!(info(&v), i0 + 3);
    let (_, poll) = bob
        .get_json(&format!("/room/{room}/pollInfo/{}", i0 + 2))
        .await;
    assert_eq!(ids(&poll["details"]["pinned_messages"]), vec![m2, m1]);

    // not pinnable: whispers, deleted, unknown
    let whisper = {
        let mut p = admin.post_body("secret");
        p["whisper_mods"] = json!(true);
        post(&admin, &format!("/room/{room}/message"), p).await.1["id"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        post(&admin, &format!("/room/{room}/pin/{whisper}"), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        post(&admin, &format!("/room/{room}/pin/99999"), json!({}))
            .await
            .0,
        404
    );

    // unpin: attachments get uploaded + 15 days; an unpinned id is not an error
    let (s, v) = post(&admin, &format!("/room/{room}/unpin/{m1}"), json!({})).await;
    assert_eq!(
        (s, v),
        (200, json!({"unpinned": true, "info_updates": i0 + 4}))
    );
    assert_eq!(
        scalar_f64(
            &app,
            &format!("SELECT expiry FROM files WHERE message = {m1}")
        )
        .await,
        Some(t0 + 15.0 * 86400.0)
    );
    let (_, v) = post(&admin, &format!("/room/{room}/unpin/{m1}"), json!({})).await;
    assert_eq!(v, json!({"unpinned": false, "info_updates": i0 + 4}));
    assert_eq!(
        post(&modr, &format!("/room/{room}/unpin/all"), json!({}))
            .await
            .0,
        403
    );

    // deleting a pinned message unpins it (and bumps info_updates)
    delete(&bob, &format!("/room/{room}/message/{m2}")).await;
    let (_, ri) = bob.get_json(&format!("/room/{room}")).await;
    assert!(ri.get("pinned_messages").is_none());
    assert_eq!(info(&ri), i0 + 5);
    assert_eq!(
        post(&admin, &format!("/room/{room}/pin/{m2}"), json!({}))
            .await
            .0,
        404
    );

    let m3 = bob.post_ok(&room, "three").await["id"].as_i64().unwrap();
    post(&admin, &format!("/room/{room}/pin/{m1}"), json!({})).await;
    post(&admin, &format!("/room/{room}/pin/{m3}"), json!({})).await;
    let (s, v) = post(&admin, &format!("/room/{room}/unpin/all"), json!({})).await;
    assert_eq!(
        (s, v),
        (200, json!({"unpinned": 2, "info_updates": i0 + 9}))
    );
    let log = modlog(&app, Some(&room)).await;
    assert!(has_log(&log, &admin.id(), "pin", Some(&room), &bob.id()));
    assert!(log
        .iter()
        .any(|r| r["action"] == json!("unpin") && r["actor"] == json!(admin.id())));
    app.shutdown().await;
}

/// The message ids a client sees, checked to agree across `recent`, `since/0` and
/// `message/{id}` (newest first).
async fn visible_ids(c: &SogsClient, room: &str, candidates: &[i64]) -> Vec<i64> {
    let get = |path: String| async move {
        serde_json::from_slice::<Value>(&c.get(&path).await.unwrap().body).unwrap()
    };
    let recent = ids(&get(format!("/room/{room}/messages/recent")).await);
    let mut since = ids(&get(format!("/room/{room}/messages/since/0")).await);
    since.reverse();
    assert_eq!(recent, since, "recent vs since");
    let mut single = Vec::new();
    for id in candidates {
        if c.get(&format!("/room/{room}/message/{id}"))
            .await
            .unwrap()
            .status
            == 200
        {
            single.push(*id);
        }
    }
    assert_eq!(recent, single, "recent vs message/{{id}}");
    recent
}

#[rstest]
#[tokio::test]
async fn whispers_are_invisible_to_others(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, false).await;
    app.make_mod(2, &room, false).await;
    let (mod1, mod2, bob, carol) = (app.user(1), app.user(2), app.user(3), app.user(4));
    let public = bob.post_ok(&room, "public").await["id"].as_i64().unwrap();
    let whisper = |text: &str, to: Option<String>, mods: bool| {
        let mut p = mod1.post_body(text);
        if let Some(to) = to {
            p["whisper_to"] = json!(to);
        }
        if mods {
            p["whisper_mods"] = json!(true);
        }
        p
    };
    let (s, to_bob) = post(
        &mod1,
        &format!("/room/{room}/message"),
        whisper("to bob", Some(bob.id()), false),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        (
            to_bob["whisper"].clone(),
            to_bob["whisper_to"].clone(),
            to_bob["whisper_mods"].clone()
        ),
        (json!(true), json!(bob.id()), json!(false))
    );
    let to_bob = to_bob["id"].as_i64().unwrap();
    let (_, to_mods) = post(
        &mod1,
        &format!("/room/{room}/message"),
        whisper("mods only", None, true),
    )
    .await;
    let to_mods = to_mods["id"].as_i64().unwrap();
    // only moderators may whisper
    let mut p = bob.post_body("psst");
    p["whisper_to"] = json!(carol.id());
    assert_eq!(post(&bob, &format!("/room/{room}/message"), p).await.0, 403);

    let candidates = [to_mods, to_bob, public];
    assert_eq!(
        visible_ids(&carol.client, &room, &candidates).await,
        vec![public]
    );
    assert_eq!(
        visible_ids(&bob.client, &room, &candidates).await,
        vec![to_bob, public]
    );
    assert_eq!(
        visible_ids(&mod2.client, &room, &candidates).await,
        vec![to_mods, public]
    );
    assert_eq!(
        visible_ids(&mod1.client, &room, &candidates).await,
        vec![to_mods, to_bob, public]
    );
    assert_eq!(
        visible_ids(&app.anon(), &room, &candidates).await,
        vec![public]
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn room_rate_limit_from_the_cli(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let bob = app.user(2);
    let out = cli_ok(&app, &["room", "update", &room, "--rate-limit", "2/10"]).await;
    assert_eq!(out, "updated room lobby: rate-limit=2/10\n");
    bob.post_ok(&room, "1").await;
    bob.post_ok(&room, "2").await;
    let r = bob.post(&room, "3").await;
    assert_eq!((r.status, r.text().as_str()), (429, "Rate limited"));
    let wait: u64 = r.headers["retry-after"].parse().unwrap();
    assert!((1..=5).contains(&wait), "{wait}");
    app.clock.advance(10.0);
    bob.post_ok(&room, "3").await;

    cli_ok(&app, &["room", "update", &room, "--rate-limit", "off"]).await;
    for i in 0..8 {
        bob.post_ok(&room, &format!("unlimited {i}")).await;
    }
    cli_ok(&app, &["room", "update", &room, "--rate-limit", "default"]).await;
    app.clock.advance(100.0);
    for i in 0..5 {
        bob.post_ok(&room, &format!("default {i}")).await;
    }
    assert_eq!(bob.post(&room, "sixth").await.status, 429);
    // admins are exempt
    app.make_mod(1, &room, true).await;
    for i in 0..7 {
        app.user(1).post_ok(&room, &format!("admin {i}")).await;
    }
    for bad in ["3", "0/5", "x/y", "2/0", "2/-1"] {
        let (code, _, err) = app
            .cli(&["room", "update", &room, "--rate-limit", bad])
            .await;
        assert_eq!(code, 2, "{bad}: {err}");
    }
    app.shutdown().await;
}

/// A post with a chosen display name, as the apps encode it.
fn post_with_name(u: &TestUser, text: &str, name: &str) -> Value {
    let msg = OutgoingMessage {
        text: text.to_owned(),
        display_name: Some(name.to_owned()),
        timestamp_ms: 1_750_000_000_000,
        ..Default::default()
    };
    serde_json::to_value(msg.post_body(&u.identity.blinded15(u.client.server_pubkey()))).unwrap()
}

#[rstest]
#[tokio::test]
async fn word_filter_rejects_and_catches_lookalikes(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    cli_ok(&app, &["room", "update", &room, "--rate-limit", "off"]).await;
    cli_ok(
        &app,
        &[
            "room",
            "filter",
            &room,
            "--add-word",
            "spam",
            "--add-word",
            "scam*",
            "--mode",
            "reject",
        ],
    )
    .await;
    let bob = app.user(2);
    let before = bob.get_json(&format!("/room/{room}")).await.1["message_sequence"].clone();
    for text in [
        "this is spam",
        "ѕрам",     // Cyrillic look-alikes
        "ｓｐａｍ", // fullwidth
        "𝐬𝐩𝐚𝐦",     // mathematical bold
        "s p a m",
        "sp\u{200B}am", // zero-width space
        "5P@M",         // leetspeak
        "scammers",
    ] {
        let r = bob.post(&room, text).await;
        assert_eq!(
            (r.status, r.text()),
            (429, "filtration rejected message (profanity)".to_owned()),
            "{text}"
        );
    }
    // the display name is checked too
    let r = bob
        .client
        .post_json(
            &format!("/room/{room}/message"),
            &post_with_name(&bob, "hello", "Ѕpam King"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    // rejected posts leave no trace
    assert_eq!(
        bob.get_json(&format!("/room/{room}")).await.1["message_sequence"],
        before
    );
    bob.post_ok(&room, "spammy is fine, and so is spa m").await;
    // moderators are exempt unless filter-mods is on
    app.make_mod(1, &room, false).await;
    app.user(1).post_ok(&room, "spam").await;
    cli_ok(&app, &["room", "filter", &room, "--filter-mods", "y"]).await;
    assert_eq!(app.user(1).post(&room, "spam").await.status, 429);
    // edits are filtered as well
    let mine = bob.post_ok(&room, "clean").await;
    let r = bob
        .client
        .put_json(
            &format!("/room/{room}/message/{}", mine["id"]),
            &bob.post_body("now spam"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn silent_filter_and_alphabet_filter(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    cli_ok(
        &app,
        &[
            "room",
            "filter",
            &room,
            "--add-word",
            "spam",
            "--mode",
            "silent",
        ],
    )
    .await;
    let (bob, carol) = (app.user(2), app.user(3));
    let first = bob.post_ok(&room, "hello").await;
    let hidden = bob.post_ok(&room, "buy ѕpam").await;
    assert_eq!(hidden["filtered"], json!(true));
    assert_eq!(hidden["seqno"], json!(2));
    let next = bob.post_ok(&room, "hello again").await;
    assert_eq!(
        next["seqno"],
        json!(3),
        "the filtered post leaves a seqno gap"
    );
    assert!(next.get("filtered").is_none() && first.get("filtered").is_none());
    for u in [&bob, &carol] {
        let (_, recent) = u.get_json(&format!("/room/{room}/messages/recent")).await;
        assert_eq!(
            ids(&recent),
            vec![next["id"].as_i64().unwrap(), first["id"].as_i64().unwrap()]
        );
        let (_, since) = u.get_json(&format!("/room/{room}/messages/since/0")).await;
        assert_eq!(since.as_array().unwrap().len(), 2);
        assert_eq!(
            u.get_json(&format!("/room/{room}/message/{}", hidden["id"]))
                .await
                .0,
            404
        );
    }
    // a silently filtered edit changes nothing and still answers 200
    let r = bob
        .client
        .put_json(
            &format!("/room/{room}/message/{}", first["id"]),
            &bob.post_body("spam"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let (_, m) = carol
        .get_json(&format!("/room/{room}/message/{}", first["id"]))
        .await;
    assert_eq!(m["data"], first["data"]);

    cli_ok(
        &app,
        &[
            "room",
            "filter",
            &room,
            "--alphabet",
            "cyrillic",
            "--mode",
            "reject",
        ],
    )
    .await;
    app.clock.advance(60.0);
    let r = bob.post(&room, "привет").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, "filtration rejected message (alphabet)")
    );
    bob.post_ok(&room, "hello").await;
    cli_ok(&app, &["room", "filter", &room, "--alphabet", "none"]).await;
    bob.post_ok(&room, "привет").await;
    let out = cli_ok(&app, &["room", "filter", &room]).await;
    assert_eq!(out, "room: lobby\nwords: spam\nalphabets: (none)\nmode: reject\nfilter moderators: n\nprobation: off\n");
    let (code, _, err) = app
        .cli(&["room", "filter", &room, "--alphabet", "klingon"])
        .await;
    assert_eq!(code, 2, "{err}");
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn probation_blocks_links_for_new_users(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    cli_ok(&app, &["room", "filter", &room, "--probation", "600"]).await;
    app.make_mod(1, &room, false).await;
    let (modr, bob) = (app.user(1), app.user(2));
    let r = bob.post(&room, "check out https://scam.example").await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("cannot post links"), "{}", r.text());
    assert_eq!(
        bob.post(&room, "free coins at example.com").await.status,
        403
    );
    bob.post_ok(&room, "hello, no links").await;
    modr.post_ok(&room, "mods may: https://getsession.org")
        .await;

    // the upload side (used by the files branch): blocked now, allowed after probation
    let row = app.state.db.room_by_token(&room).await.unwrap().unwrap();
    let user = app
        .state
        .db
        .user_by_session_id(&bob.id())
        .await
        .unwrap()
        .unwrap();
    let perms = sogs_server::domain::perms::Permissions::compute(&row, Some(&user), None);
    let first = app.state.db.first_post_at(row.id, user.id).await.unwrap();
    assert_eq!(first, Some(app.clock.now()));
    assert!(sogs_server::domain::filter::probation_blocks_upload(
        &row,
        &perms,
        first,
        app.clock.now()
    ));
    assert!(!sogs_server::domain::filter::probation_blocks_upload(
        &row,
        &perms,
        first,
        app.clock.now() + 600.0
    ));

    let upload = |who: &sogs_tests::TestUser| {
        let c = who.client.clone();
        let path = format!("/room/{room}/file");
        async move {
            c.request(
                "POST",
                &path,
                Some((b"bytes", "application/octet-stream")),
                &[],
            )
            .await
            .unwrap()
        }
    };
    let r = upload(&bob).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(upload(&modr).await.status, 201);

    app.clock.advance(599.0);
    assert_eq!(bob.post(&room, "https://x.io").await.status, 403);
    assert_eq!(upload(&bob).await.status, 403);
    app.clock.advance(1.0);
    bob.post_ok(&room, "now I may: https://x.io").await;
    assert_eq!(upload(&bob).await.status, 201);
    cli_ok(&app, &["room", "filter", &room, "--probation", "off"]).await;
    app.user(3)
        .post_ok(&room, "first post with www.example.org")
        .await;
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn cli_ban_unban_list_and_permission(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let (a, b) = (app.room("a").await, app.room("b").await);
    let (bob, carol) = (app.user(2), app.user(3));
    bob.post_ok(&a, "hello").await;

    // a 05 Session ID maps to the blinded id the person uses
    let out = cli_ok(
        &app,
        &[
            "ban",
            &bob.session_id(),
            &carol.id(),
            "--room",
            &a,
            "--room",
            &b,
        ],
    )
    .await;
    assert_eq!(
        out,
        format!(
            "banned {} from a, b (permanent)\nbanned {} from a, b (permanent)\n",
            bob.id(),
            carol.id()
        )
    );
    assert_eq!(bob.post(&a, "x").await.status, 403);
    assert_eq!(bob.post(&b, "x").await.status, 403);
    let out = cli_ok(&app, &["ban", "list", "--room", &b]).await;
    let mut banned = [bob.id(), carol.id()];
    banned.sort();
    assert_eq!(
        out,
        format!(
            "SESSION ID\tROOM\tUNTIL\n{}\tb\tpermanent\n{}\tb\tpermanent\n",
            banned[0], banned[1]
        )
    );
    let out = cli_ok(&app, &["unban", &bob.id(), "--room", &a]).await;
    assert_eq!(out, format!("unbanned {} from a\n", bob.id()));
    // unbanning someone who is not banned says so and writes no log row
    let logged = modlog(&app, None).await.len();
    let out = cli_ok(&app, &["unban", &bob.id(), "--room", &a]).await;
    assert_eq!(out, format!("{} was not banned from a\n", bob.id()));
    assert_eq!(modlog(&app, None).await.len(), logged);
    bob.post_ok(&a, "back in a").await;
    assert_eq!(bob.post(&b, "x").await.status, 403);
    let list: Value =
        serde_json::from_str(&cli_ok(&app, &["ban", "list", "--json"]).await).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);

    // a timed ban from the CLI lifts itself (the CLI uses the system clock)
    let dave = app.user(4);
    cli_ok(&app, &["ban", &dave.id(), "--global", "--duration", "30"]).await;
    let list: Value =
        serde_json::from_str(&cli_ok(&app, &["ban", "list", "--json"]).await).unwrap();
    let until = list[0]["until"].as_f64().unwrap();
    assert_eq!(list[0]["room"], json!(null));
    assert_eq!(dave.get_json("/capabilities").await.0, 403);
    app.clock.advance(until - app.clock.now() + 1.0);
    cleanup(&app).await;
    assert_eq!(dave.get_json("/capabilities").await.0, 200);

    // global moderators cannot be banned
    make_global(&app, 5, false).await;
    let (code, _, err) = app.cli(&["ban", &app.user(5).id(), "--global"]).await;
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );

    // permission set, with a timed restriction that restores itself
    let out = cli_ok(
        &app,
        &[
            "permission",
            "set",
            &carol.id(),
            "--room",
            &a,
            "--write",
            "n",
            "--upload",
            "default",
            "--duration",
            "60",
        ],
    )
    .await;
    assert!(out.contains("write=false upload=default for 60 s"), "{out}");
    assert!(out.ends_with("; now banned, write denied\n"), "{out}");
    // timed restrictions can be listed
    let list: Value =
        serde_json::from_str(&cli_ok(&app, &["permission", "list", "--room", &a, "--json"]).await)
            .unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["session_id"] == json!(carol.id()))
        .unwrap();
    assert_eq!(entry["write"], json!(false));
    assert_eq!(entry["banned"], json!(true));
    assert_eq!(entry["scheduled"][0]["write"], json!(true));
    let text = cli_ok(&app, &["permission", "list", "--room", &a]).await;
    assert!(text.starts_with("SESSION ID\tREAD\tWRITE"), "{text}");
    assert!(
        text.contains(&format!(
            "{}\t-\tn\t-\t-\tyes\twrite=true upload=true at ",
            carol.id()
        )),
        "{text}"
    );
    cli_ok(&app, &["unban", &carol.id(), "--room", &a]).await;
    assert_eq!(carol.post(&a, "x").await.status, 403);
    app.make_mod(1, &a, false).await;
    let (_, fut) = app
        .user(1)
        .get_json(&format!("/room/{a}/futurePermissions/{}", carol.id()))
        .await;
    assert_eq!(fut.as_array().unwrap().len(), 1);
    assert_eq!(fut[0]["write"], json!(true));
    let at = fut[0]["at"].as_f64().unwrap();
    app.clock.advance(at - app.clock.now() + 1.0);
    cleanup(&app).await;
    app.clock.advance(20.0);
    carol.post_ok(&a, "restored").await;
    let (_, p) = app
        .user(1)
        .get_json(&format!("/room/{a}/permissions/{}", carol.id()))
        .await;
    assert_eq!(p, json!({}));

    // usage errors exit 2 with one line
    for args in [
        vec!["ban", "--room", "a"],
        vec!["ban", "05ab"],
        vec!["unban", "x"],
        vec!["permission", "set", "x", "--room", "a"],
        vec!["permission", "set", "x", "--room", "a", "--read", "maybe"],
        vec![
            "permission",
            "set",
            "x",
            "--room",
            "a",
            "--accessible",
            "n",
            "--duration",
            "5",
        ],
        vec!["modlog", "--limit", "0"],
    ] {
        let (code, _, err) = app.cli(&args).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    let (code, _, err) = app.cli(&["ban", &bob.id(), "--room", "nope"]).await;
    assert_eq!((code, err.trim()), (1, "error: no room `nope`"));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn cli_room_update_and_modlog(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let bob = app.user(2);
    let out = cli_ok(
        &app,
        &[
            "room",
            "update",
            &room,
            "--name",
            "The Lobby",
            "--description",
            "Say hi",
            "--permissions",
            "ra",
        ],
    )
    .await;
    assert_eq!(out, "updated room lobby: name, description, permissions\n");
    let (_, info) = bob.get_json(&format!("/room/{room}")).await;
    assert_eq!(
        (
            info["name"].clone(),
            info["description"].clone(),
            info["write"].clone()
        ),
        (json!("The Lobby"), json!("Say hi"), json!(false))
    );
    assert_eq!(bob.post(&room, "x").await.status, 403);
    cli_ok(
        &app,
        &[
            "room",
            "update",
            &room,
            "--description",
            "",
            "--permissions",
            "rwua",
        ],
    )
    .await;
    let (_, info) = bob.get_json(&format!("/room/{room}")).await;
    assert!(info.get("description").is_none());
    let (code, _, _) = app.cli(&["room", "update", &room]).await;
    assert_eq!(code, 2);
    let (code, _, _) = app
        .cli(&["room", "update", &room, "--permissions", "rwx"])
        .await;
    assert_eq!(code, 2);
    let (code, _, err) = app.cli(&["room", "update", "nope", "--name", "x"]).await;
    assert_eq!((code, err.trim()), (1, "error: no room `nope`"));

    // actions from the API and the CLI, with actor, target, room and time
    app.make_mod(1, &room, true).await;
    let admin = app.user(1);
    let msg = bob.post_ok(&room, "hello").await;
    post(
        &admin,
        &format!("/room/{room}/pin/{}", msg["id"]),
        json!({}),
    )
    .await;
    delete(&admin, &format!("/room/{room}/message/{}", msg["id"])).await;
    post(
        &admin,
        &format!("/user/{}/ban", bob.id()),
        json!({"rooms": [room]}),
    )
    .await;
    cli_ok(&app, &["unban", &bob.id(), "--room", &room]).await;
    let log = modlog(&app, Some("LOBBY")).await;
    let actions: Vec<&str> = log.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "unban",
            "ban",
            "delete",
            "pin",
            "role",
            "room_update",
            "room_update",
            "room_create"
        ]
    );
    assert_eq!(log[0]["actor"], json!("cli"));
    assert_eq!(log[1]["actor"], json!(admin.id()));
    assert_eq!(log[2]["target"], json!(bob.id()));
    assert_eq!(log[2]["detail"], json!(format!("message {}", msg["id"])));
    assert_eq!(log[4]["actor"], json!("cli"));
    assert_eq!(log[1]["at"].as_f64().unwrap(), app.clock.now());
    let (code, _, err) = app.cli(&["modlog", "--room", "other"]).await;
    assert_eq!((code, err.trim()), (1, "error: no room `other`"));
    let out = cli_ok(&app, &["modlog", "--limit", "1"]).await;
    assert_eq!(out.lines().count(), 2, "a header and one entry: {out}");
    assert!(out.starts_with("TIME\tACTOR\tACTION\tROOM"), "{out}");
    assert!(out.contains("\tcli\tunban\tlobby\t"), "{out}");
    app.shutdown().await;
}
