//! Rooms, messages, polling and sequence numbers, batch, and bad input.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_tests::{ids, message_text, Backend, TestApp};

#[rstest]
#[tokio::test]
async fn post_and_read_back(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let posted = alice.post_ok(&room, "hello world").await;
    assert_eq!(posted["session_id"], json!(alice.id()));
    assert_eq!(posted["seqno"], json!(1));
    assert_eq!(posted["reactions"], json!({}));
    assert_eq!(posted["posted"].as_f64().unwrap(), sogs_tests::START_TIME);
    let (status, recent) = alice
        .get_json(&format!("/room/{room}/messages/recent"))
        .await;
    assert_eq!(status, 200);
    let recent = recent.as_array().unwrap();
    assert_eq!(recent.len(), 1);
    // byte-identical data and signature, and it verifies and decodes as the apps do
    assert_eq!(recent[0]["data"], posted["data"]);
    assert_eq!(recent[0]["signature"], posted["signature"]);
    assert_eq!(message_text(&recent[0]), "hello world");
    // anonymous readers see it too; room tokens are case-insensitive
    let anon = app.anon().get("/room/LOBBY/message/1").await.unwrap();
    assert_eq!(anon.status, 200);
    let one: Value = anon.json().unwrap();
    assert_eq!(one["id"], posted["id"]);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn seqno_rules_follow_pysogs_example(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("seq").await;
    let alice = app.user(1);
    for i in 1..=10 {
        app.clock.advance(4.0); // stay under the 5 posts / 16 s limit
        let m = alice.post_ok(&room, &format!("m{i}")).await;
        assert_eq!((m["id"].as_i64(), m["seqno"].as_i64()), (Some(i), Some(i)));
    }
    for id in [2, 4, 5, 8, 9] {
        let r = alice
            .client
            .delete(&format!("/room/{room}/message/{id}"))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json::<Value>().unwrap(), json!({}));
    }
    let since = |s: i64| {
        let c = alice.client.clone();
        let room = room.clone();
        async move {
            let r = c
                .get(&format!("/room/{room}/messages/since/{s}"))
                .await
                .unwrap();
            assert_eq!(r.status, 200);
            r.json::<Value>().unwrap()
        }
    };
    assert_eq!(ids(&since(1).await), vec![3, 6, 7, 10]);
    let s2 = since(2).await;
    assert_eq!(ids(&s2), vec![3, 6, 7, 10, 2]);
    let tomb = &s2[4];
    assert_eq!(tomb["deleted"], json!(true));
    assert_eq!(tomb["data"], Value::Null);
    assert_eq!(tomb["seqno"], json!(11));
    assert!(tomb.get("signature").is_none() && tomb.get("reactions").is_none());
    assert!(tomb["edited"].as_f64().is_some());
    assert_eq!(ids(&since(10).await), vec![2, 4, 5, 8, 9]);
    assert_eq!(ids(&since(13).await), vec![8, 9]);
    assert_eq!(since(15).await, json!([]));
    // deleted messages are gone from recent, before and message/{id}
    let (_, recent) = alice
        .get_json(&format!("/room/{room}/messages/recent"))
        .await;
    assert_eq!(ids(&recent), vec![10, 7, 6, 3, 1]);
    let (_, before) = alice
        .get_json(&format!("/room/{room}/messages/before/7?limit=2"))
        .await;
    assert_eq!(ids(&before), vec![6, 3]);
    let (status, _) = alice.get_json(&format!("/room/{room}/message/2")).await;
    assert_eq!(status, 404);
    // limits are clamped, not rejected
    let (_, lim) = alice
        .get_json(&format!("/room/{room}/messages/since/0?limit=2"))
        .await;
    assert_eq!(ids(&lim), vec![1, 3]);
    let (s, huge) = alice
        .get_json(&format!("/room/{room}/messages/recent?limit=99999999999"))
        .await;
    assert_eq!((s, ids(&huge).len()), (200, 5));
    let (s, _) = alice
        .get_json(&format!("/room/{room}/messages/recent?limit=0"))
        .await;
    assert_eq!(s, 200);
    let (s, _) = alice
        .get_json(&format!("/room/{room}/messages/recent?limit=abc"))
        .await;
    assert_eq!(s, 400);
    let (_, info) = alice.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["message_sequence"], json!(15));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn edits_and_deletes(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("edits").await;
    let (alice, bob) = (app.user(1), app.user(2));
    let m = alice.post_ok(&room, "first").await;
    let id = m["id"].as_i64().unwrap();
    let path = format!("/room/{room}/message/{id}");
    // only the author may edit, not even an admin
    app.make_mod(3, &room, true).await;
    let admin = app.user(3);
    for other in [&bob, &admin] {
        let r = other
            .client
            .put_json(&path, &other.post_body("hijack"))
            .await
            .unwrap();
        assert_eq!(r.status, 403);
    }
    // a body signed by someone else is refused
    let r = alice
        .client
        .put_json(&path, &bob.post_body("x"))
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let r = alice
        .client
        .put_json(&path, &alice.post_body("second"))
        .await
        .unwrap();
    assert_eq!((r.status, r.json::<Value>().unwrap()), (200, json!({})));
    let (_, since) = alice
        .get_json(&format!("/room/{room}/messages/since/1"))
        .await;
    assert_eq!(since[0]["seqno"], json!(2));
    assert!(since[0]["edited"].as_f64().is_some());
    assert_eq!(message_text(&since[0]), "second");
    // editing to identical bytes changes nothing
    let body = since[0].clone();
    let same = json!({"data": body["data"], "signature": body["signature"]});
    assert_eq!(
        alice.client.put_json(&path, &same).await.unwrap().status,
        200
    );
    let (_, info) = alice.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["message_sequence"], json!(2));
    // bob may not delete alice's message; the admin may; then it is gone
    assert_eq!(bob.client.delete(&path).await.unwrap().status, 403);
    assert_eq!(admin.client.delete(&path).await.unwrap().status, 200);
    assert_eq!(alice.client.delete(&path).await.unwrap().status, 404);
    assert_eq!(
        alice
            .client
            .put_json(&path, &alice.post_body("z"))
            .await
            .unwrap()
            .status,
        404
    );
    // anonymous writes are refused
    let anon = app.anon();
    assert_eq!(
        anon.post_json(&format!("/room/{room}/message"), &alice.post_body("a"))
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(anon.delete(&path).await.unwrap().status, 401);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn room_info_capabilities_and_poll(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("info").await;
    app.make_mod(5, &room, false).await;
    let (alice, modu) = (app.user(1), app.user(5));
    let (s, caps) = alice.get_json("/capabilities").await;
    assert_eq!(
        (s, caps),
        (200, json!({"capabilities": ["blind", "reactions", "sogs"]}))
    );
    let r = alice
        .client
        .get("/capabilities?required=sogs,magic,blind,zz")
        .await
        .unwrap();
    assert_eq!(r.status, 412);
    assert_eq!(
        r.json::<Value>().unwrap()["missing"],
        json!(["magic", "zz"])
    );

    let (s, info) = alice.get_json(&format!("/room/{room}")).await;
    assert_eq!(s, 200);
    assert_eq!(info["token"], json!("info"));
    assert_eq!(info["name"], json!("Room info"));
    assert_eq!(info["moderators"], json!([modu.id()]));
    assert_eq!(info["admins"], json!([]));
    assert_eq!(
        (
            info["read"].clone(),
            info["write"].clone(),
            info["upload"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert!(info.get("moderator").is_none() && info.get("default_read").is_none());
    // 1 for a new room (never 0, CLIENT.md §7.8) + 1 for the moderator appointment
    assert_eq!(info["info_updates"], json!(2));
    assert_eq!(info["active_users_cutoff"], json!(604800));
    let (_, mine) = modu.get_json(&format!("/room/{room}")).await;
    assert_eq!(mine["moderator"], json!(true));
    assert_eq!(mine["default_write"], json!(true));
    assert!(mine.get("admin").is_none());

    let (s, poll) = alice.get_json(&format!("/room/{room}/pollInfo/0")).await;
    assert_eq!(s, 200);
    assert_eq!(poll["token"], json!("info"));
    assert_eq!(poll["details"]["name"], json!("Room info"));
    let (_, poll) = alice.get_json(&format!("/room/{room}/pollInfo/2")).await;
    assert!(poll.get("details").is_none());
    // activity is counted by the cleanup job
    sogs_server::cleanup::run_once(&app.state).await.unwrap();
    let (_, poll) = alice.get_json(&format!("/room/{room}/pollInfo/2")).await;
    assert_eq!(poll["active_users"], json!(1));

    // rooms list and unknown rooms
    let (s, rooms) = app.user(9).get_json("/rooms").await;
    assert_eq!(s, 200);
    assert_eq!(rooms.as_array().unwrap().len(), 1);
    assert_eq!(alice.get_json("/room/nope").await.0, 404);
    assert_eq!(alice.get_json("/room/nope/messages/recent").await.0, 404);
    assert_eq!(alice.get_json("/room/bad%20token").await.0, 404);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn room_update_and_hidden_rooms(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("upd").await;
    app.make_mod(5, &room, true).await;
    let (alice, admin) = (app.user(1), app.user(5));
    let path = format!("/room/{room}");
    assert_eq!(
        alice
            .client
            .put_json(&path, &json!({"name": "x"}))
            .await
            .unwrap()
            .status,
        403
    );
    assert_eq!(
        app.anon()
            .put_json(&path, &json!({"name": "x"}))
            .await
            .unwrap()
            .status,
        401
    );
    let r = admin
        .client
        .put_json(
            &path,
            &json!({"name": "New\u{1}name", "description": "line1\nline2\u{2}"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.json::<Value>().unwrap()),
        (200, json!({"info_updates": 4}))
    );
    let (_, info) = alice.get_json(&path).await;
    assert_eq!(info["name"], json!("Newname"));
    assert_eq!(info["description"], json!("line1\nline2"));
    // same values, defaults: no bump
    let r = admin
        .client
        .put_json(&path, &json!({"name": "Newname", "default_write": false}))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"info_updates": 4}));
    let (_, info) = alice.get_json(&path).await;
    assert_eq!(info["write"], json!(false));
    assert_eq!(alice.post(&room, "nope").await.status, 403);
    for bad in [
        json!({}),
        json!({"name": null}),
        json!({"name": 5}),
        json!({"image": "x"}),
        json!({"default_read": "yes"}),
        json!([1]),
    ] {
        assert_eq!(
            admin.client.put_json(&path, &bad).await.unwrap().status,
            400,
            "{bad}"
        );
    }
    assert_eq!(
        admin
            .client
            .put_json(&path, &json!({"image": 12345}))
            .await
            .unwrap()
            .status,
        406
    );
    // description "" removes it
    admin
        .client
        .put_json(&path, &json!({"description": ""}))
        .await
        .unwrap();
    let (_, info) = alice.get_json(&path).await;
    assert!(info.get("description").is_none());
    // a room with neither read nor accessible is hidden: 404 and not listed
    admin
        .client
        .put_json(
            &path,
            &json!({"default_read": false, "default_accessible": false}),
        )
        .await
        .unwrap();
    assert_eq!(alice.get_json(&path).await.0, 404);
    assert_eq!(alice.get_json("/rooms").await.1, json!([]));
    assert_eq!(
        alice
            .get_json(&format!("/room/{room}/messages/recent"))
            .await
            .0,
        403
    );
    assert_eq!(admin.get_json(&path).await.0, 200);
    // accessible but not readable: metadata yes, messages no
    admin
        .client
        .put_json(&path, &json!({"default_accessible": true}))
        .await
        .unwrap();
    assert_eq!(alice.get_json(&path).await.0, 200);
    assert_eq!(
        alice.get_json(&format!("/room/{room}/pollInfo/0")).await.0,
        403
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn batch_and_sequence(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("batch").await;
    let alice = app.user(1);
    let body = json!([
        {"method": "GET", "path": "/capabilities"},
        {"method": "POST", "path": format!("/room/{room}/message"), "json": alice.post_body("via batch")},
        {"method": "GET", "path": format!("/room/{room}/pollInfo/0")},
        {"method": "GET", "path": format!("/room/{room}/messages/since/0?t=r&reactors=5")},
        {"method": "GET", "path": "/room/missing/messages/recent"},
        {"method": "GET", "path": "/openapi.json"},
    ]);
    let r = alice.client.post_json("/batch", &body).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let out: Value = r.json().unwrap();
    let codes: Vec<i64> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![200, 201, 200, 200, 404, 200]);
    assert_eq!(
        out[0]["headers"],
        json!({"content-type": "application/json"})
    );
    assert_eq!(out[1]["body"]["session_id"], json!(alice.id()));
    assert_eq!(message_text(&out[3]["body"][0]), "via batch");
    assert_eq!(
        out[4]["headers"]["content-type"],
        json!("text/plain; charset=utf-8")
    );
    assert_eq!(
        out[4]["body"],
        json!(sogs_client::encoding::b64_encode(b"Not found"))
    );
    // sequence stops at the first failure
    let seq = json!([
        {"method": "GET", "path": "/capabilities"},
        {"method": "DELETE", "path": format!("/room/{room}/message/999")},
        {"method": "GET", "path": "/capabilities"},
    ]);
    let out: Value = alice
        .client
        .post_json("/sequence", &seq)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(out.as_array().unwrap().len(), 2);
    assert_eq!(out[1]["code"], json!(404));
    // invalid elements fail the whole request before anything runs
    for bad in [
        json!({"method": "GET", "path": "/capabilities"}),
        json!([{"method": "PATCH", "path": "/capabilities"}]),
        json!([{"method": "GET", "path": "capabilities"}]),
        json!([{"method": "GET", "path": "/capabilities", "json": {}}]),
        json!([{"method": "POST", "path": format!("/room/{room}/message")}]),
        json!([{"method": "POST", "path": format!("/room/{room}/message"), "json": alice.post_body("x")}, {"method": "POST", "path": "/x", "b64": "!!!"}]),
        json!([{"method": "GET", "path": "/capabilities", "headers": {"a": 1}}]),
        json!([{"method": "POST", "path": "/batch", "json": [{"method": "GET", "path": "/capabilities"}]}]),
        json!([{"method": "POST", "path": "/sequence", "json": []}]),
    ] {
        let r = alice.client.post_json("/batch", &bad).await.unwrap();
        assert_eq!(r.status, 400, "{bad}");
    }
    let (_, recent) = alice
        .get_json(&format!("/room/{room}/messages/recent"))
        .await;
    assert_eq!(
        recent.as_array().unwrap().len(),
        1,
        "a failed batch stored nothing"
    );
    // b64 and bytes bodies
    let post = alice.post_body("b64 body");
    let raw = serde_json::to_vec(&post).unwrap();
    let body = json!([{"method": "POST", "path": format!("/room/{room}/message"), "b64": sogs_client::encoding::b64_encode(&raw)},
                      {"method": "POST", "path": format!("/room/{room}/message"), "bytes": String::from_utf8(serde_json::to_vec(&alice.post_body("bytes body")).unwrap()).unwrap()}]);
    let out: Value = alice
        .client
        .post_json("/batch", &body)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (out[0]["code"].clone(), out[1]["code"].clone()),
        (json!(201), json!(201))
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn bad_input_gets_clean_4xx(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn_with(be, |c| c.max_request_bytes = 64 * 1024).await;
    let room = app.room("bad").await;
    let alice = app.user(1);
    let post = format!("/room/{room}/message");
    let send = |body: Vec<u8>| {
        let c = alice.client.clone();
        let post = post.clone();
        async move {
            c.request("POST", &post, Some((&body, "application/json")), &[])
                .await
                .unwrap()
        }
    };
    let good = alice.post_body("ok");
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"{not json".to_vec(), 400),
        (b"[]".to_vec(), 400),
        (br#"{"data": 5, "signature": "x"}"#.to_vec(), 400),
        (serde_json::to_vec(&json!({"data": "%%%", "signature": good["signature"]})).unwrap(), 400),
        (serde_json::to_vec(&json!({"data": good["data"], "signature": "AAAA"})).unwrap(), 400),
        (serde_json::to_vec(&json!({"data": good["data"]})).unwrap(), 400),
        (serde_json::to_vec(&json!({"data": good["data"], "signature": good["signature"], "whisper_mods": true})).unwrap(), 403),
        (serde_json::to_vec(&json!({"data": good["data"], "signature": good["signature"], "files": [{"x": 1}]})).unwrap(), 400),
        (vec![b' '; 70 * 1024], 413),
    ];
    for (body, status) in cases {
        let r = send(body.clone()).await;
        assert_eq!(
            r.status,
            status,
            "{} -> {}",
            String::from_utf8_lossy(&body[..body.len().min(80)]),
            r.text()
        );
    }
    // malformed paths and methods
    let anon = app.anon();
    assert_eq!(anon.get("/room/bad/message/abc").await.unwrap().status, 404);
    assert_eq!(
        anon.get("/room/bad/messages/since/-4")
            .await
            .unwrap()
            .status,
        404
    );
    assert_eq!(anon.get("/nothing/here").await.unwrap().status, 404);
    assert_eq!(anon.get("/room/%FF%FE").await.unwrap().status, 400);
    assert_eq!(
        anon.request("PATCH", "/rooms", None, &[])
            .await
            .unwrap()
            .status,
        400
    );
    // nothing was stored by any of it
    let (_, recent) = alice
        .get_json(&format!("/room/{room}/messages/recent"))
        .await;
    assert_eq!(recent, json!([]));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn post_rate_limit(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("flood").await;
    let alice = app.user(1);
    for i in 0..5 {
        alice.post_ok(&room, &format!("{i}")).await;
    }
    let r = alice.post(&room, "too many").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), "Rate limited");
    let wait: u64 = r.headers["retry-after"].parse().unwrap();
    assert!((1..=16).contains(&wait));
    app.clock.advance(16.0);
    alice.post_ok(&room, "again").await;
    // admins are exempt
    app.make_mod(7, &room, true).await;
    let admin = app.user(7);
    for i in 0..8 {
        admin.post_ok(&room, &format!("a{i}")).await;
    }
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn large_json_bodies_are_parsed(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("big").await;
    let alice = app.user(1);
    // 300 KB of message data: bigger than the upload spool threshold, well within the limit
    let data = sogs_client::message::pad(&vec![7u8; 300_000]);
    let keys = alice.identity.blinded15(&app.server_pk());
    let signed = sogs_client::message::sign_for_post(&data, &keys);
    let body = json!({"data": signed.data, "signature": signed.signature});
    let batch = json!([{"method": "POST", "path": format!("/room/{room}/message"), "json": body}]);
    let r = alice.client.post_json("/batch", &batch).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let out: Value = r.json().unwrap();
    assert_eq!(out[0]["code"], json!(201));
    let (_, recent) = alice
        .get_json(&format!("/room/{room}/messages/recent"))
        .await;
    assert_eq!(recent[0]["data"], body["data"]);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn text_postgres_cannot_store_is_refused_or_ignored(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("nul").await;
    app.make_mod(5, &room, true).await;
    let admin = app.user(5);
    // unknown keys of PUT /room are ignored (and not written to the moderation log)
    let r = admin
        .client
        .put_json(
            &format!("/room/{room}"),
            &json!({"name": "Renamed", "x\u{0}y": 1}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, info) = admin.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["name"], json!("Renamed"));
    // a reaction containing NUL is a clean 400
    let id = admin.post_ok(&room, "react to me").await["id"]
        .as_i64()
        .unwrap();
    let r = admin
        .client
        .request(
            "PUT",
            &format!("/room/{room}/reaction/{id}/a%00b"),
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    let r = admin
        .client
        .request("PUT", &format!("/room/{room}/reaction/{id}/ok"), None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    app.shutdown().await;
}

/// A `/batch` or `/sequence` over `max_batch_requests` is refused before any of it runs,
/// directly and inside an onion request; at the bound it runs.
#[rstest]
#[tokio::test]
async fn batch_size_is_bounded(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    use sogs_client::client::Transport;
    use sogs_client::onion::EncType;
    let app = TestApp::spawn_with(be, |c| c.max_batch_requests = 3).await;
    let room = app.room("lobby").await;
    let user = app.user(1);
    let post = |text: &str| {
        json!({"method": "POST", "path": format!("/room/{room}/message"),
               "json": user.post_body(text)})
    };
    let onion = app.user(1).client.with_transport(Transport::OnionDirect {
        enc: EncType::default(),
    });
    for path in ["/batch", "/sequence"] {
        for client in [&user.client, &onion] {
            let four = json!([post("a"), post("b"), post("c"), post("d")]);
            let r = client.post_json(path, &four).await.unwrap();
            assert_eq!(r.status, 400, "{path}");
            assert_eq!(
                r.text(),
                "Too many sub-requests: 4 (at most 3 per request)",
                "{path}"
            );
        }
    }
    // Nothing of the refused batches was posted.
    let (_, recent) = user
        .get_json(&format!("/room/{room}/messages/recent"))
        .await;
    assert_eq!(recent.as_array().unwrap().len(), 0);
    let three = json!([post("x"), post("y"), post("z")]);
    let r = user.client.post_json("/batch", &three).await.unwrap();
    assert_eq!(r.status, 200);
    let answers: Value = r.json().unwrap();
    let codes: Vec<i64> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![201, 201, 201]);
    app.shutdown().await;
}

/// `GET /healthz`: 200 naming the engine while the database answers, a clean 503 once it
/// does not.
#[rstest]
#[tokio::test]
async fn health_follows_the_database(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let r = app.anon().get("/healthz").await.unwrap();
    assert_eq!(r.status, 200);
    let engine = match be {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"status": "ok", "database": engine})
    );
    app.state.db.close().await;
    let r = app.anon().get("/healthz").await.unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "Service unavailable");
    app.shutdown().await;
}
