//! Direct messages: send, inbox/outbox, since + 304, delete, expiry, encryption between two
//! identities, refused senders, rate limit, members-only rooms.

use crate::files::{sql, user_id};
use rstest::rstest;
use serde_json::{json, Value};
use sogs_client::encoding::b64_encode;
use sogs_client::ids::SessionId;
use sogs_tests::{Backend, TestApp, TestUser, START_TIME};

/// Makes the server know a user (any authenticated request does).
async fn register(u: &TestUser) {
    let r = u.client.get("/capabilities").await.unwrap();
    assert_eq!(r.status, 200);
}

async fn send_raw(from: &TestUser, to: &str, body: Value) -> (u16, Value) {
    let r = from
        .client
        .post_json(&format!("/inbox/{to}"), &body)
        .await
        .unwrap();
    (r.status, r.json().unwrap_or(Value::Null))
}

fn sid(u: &TestUser) -> SessionId {
    SessionId::parse(&u.id()).unwrap()
}

#[rstest]
#[tokio::test]
async fn send_read_since_delete(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let alice = app.user(1);
    let bob = app.user(2);
    register(&bob).await;

    let (status, sent) = send_raw(
        &alice,
        &bob.id(),
        json!({"message": b64_encode(b"\x00opaque"), "timestamp": 1, "signature": "x"}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let id1 = sent["id"].as_i64().unwrap();
    assert_eq!(
        sent,
        json!({
            "id": id1, "posted_at": START_TIME, "expires_at": START_TIME + 15.0 * 86400.0,
            "sender": alice.id(), "recipient": bob.id(),
        })
    );
    // Uppercase hex in the path names the same user.
    app.clock.advance(1.0);
    let (status, sent2) = send_raw(
        &alice,
        &bob.id().to_uppercase(),
        json!({"message": b64_encode(b"second")}),
    )
    .await;
    assert_eq!(status, 201, "{sent2}");
    let id2 = sent2["id"].as_i64().unwrap();
    assert!(id2 > id1);

    // Refusals: unknown recipient, unblinded path, bad bodies.
    let carol = app.user(3);
    assert_eq!(
        send_raw(&alice, &carol.id(), json!({"message": "AA=="}))
            .await
            .0,
        404
    );
    let unblinded = carol.session_id();
    assert_eq!(
        send_raw(&alice, &unblinded, json!({"message": "AA=="}))
            .await
            .0,
        404
    );
    assert_eq!(send_raw(&alice, &bob.id(), json!({})).await.0, 400);
    assert_eq!(
        send_raw(&alice, &bob.id(), json!({"message": "not base64!"}))
            .await
            .0,
        400
    );
    assert_eq!(
        send_raw(&alice, &bob.id(), json!({"message": 5})).await.0,
        400
    );
    assert_eq!(
        send_raw(&alice, &bob.id(), json!({"message": ""})).await.0,
        400
    );
    let r = app
        .anon()
        .post_json(&format!("/inbox/{}", bob.id()), &json!({"message": "AA=="}))
        .await
        .unwrap();
    assert_eq!(r.status, 401);

    // Bob's inbox: oldest first, with bodies; limit.
    let (status, inbox) = bob.get_json("/inbox").await;
    assert_eq!(status, 200);
    assert_eq!(inbox.as_array().unwrap().len(), 2);
    assert_eq!(inbox[0]["id"], id1);
    assert_eq!(inbox[0]["message"], b64_encode(b"\x00opaque"));
    assert_eq!(inbox[0]["sender"], alice.id());
    assert_eq!(inbox[0]["recipient"], bob.id());
    assert_eq!(inbox[1]["message"], b64_encode(b"second"));
    assert_eq!(inbox[1]["posted_at"], START_TIME + 1.0);
    let (_, limited) = bob.get_json("/inbox?limit=1").await;
    assert_eq!(limited.as_array().unwrap().len(), 1);
    assert_eq!(limited[0]["id"], id1);
    let (_, later) = bob.get_json(&format!("/inbox/since/{id1}")).await;
    assert_eq!(later.as_array().unwrap().len(), 1);
    assert_eq!(later[0]["id"], id2);
    // Nothing new → 304 with an empty body, directly and in a batch.
    let r = bob
        .client
        .get(&format!("/inbox/since/{id2}"))
        .await
        .unwrap();
    assert_eq!((r.status, r.body.len()), (304, 0));
    let r = bob
        .client
        .post_json(
            "/batch",
            &json!([{"method": "GET", "path": format!("/inbox/since/{id2}")},
                    {"method": "GET", "path": format!("/outbox/since/0")}]),
        )
        .await
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v[0]["code"], 304);
    assert_eq!(v[0]["body"], "");
    assert_eq!(v[1]["code"], 304);
    // Alice's outbox holds what she sent; Alice's inbox is empty.
    let (_, outbox) = alice.get_json("/outbox").await;
    let ids: Vec<i64> = outbox
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id1, id2]);
    assert_eq!(alice.get_json("/inbox").await, (200, json!([])));
    let (_, since) = alice.get_json("/outbox/since/0").await;
    assert_eq!(since.as_array().unwrap().len(), 2);
    let r = alice
        .client
        .get(&format!("/outbox/since/{id2}"))
        .await
        .unwrap();
    assert_eq!(r.status, 304);

    // Delete the inbox.
    let r = bob.client.delete("/inbox").await.unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"deleted": 2}));
    assert_eq!(bob.get_json("/inbox").await, (200, json!([])));
    assert_eq!(bob.client.clear_inbox().await.unwrap(), 0);
    // The outbox shows the same rows, so the sender's copies are gone too (as in pysogs).
    assert_eq!(
        alice.get_json("/outbox").await.1.as_array().unwrap().len(),
        0
    );

    // Expiry after 15 days (the cleanup task deletes them).
    alice
        .client
        .send_dm_data(&sid(&bob), b"later")
        .await
        .unwrap();
    app.clock.advance(15.0 * 86400.0 - 5.0);
    assert_eq!(bob.client.inbox(None, None).await.unwrap().len(), 1);
    assert_eq!(
        sogs_server::cleanup::run_once(&app.state)
            .await
            .unwrap()
            .dms,
        0
    );
    app.clock.advance(10.0);
    assert_eq!(bob.client.inbox(None, None).await.unwrap().len(), 0);
    assert_eq!(
        sogs_server::cleanup::run_once(&app.state)
            .await
            .unwrap()
            .dms,
        1
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn encryption_round_trip_between_identities(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let pk = app.server_pk();
    let alice = app.user(1);
    let bob = app.user(2);
    register(&bob).await;
    let sent = alice
        .client
        .send_dm_text(
            &alice.identity,
            &sid(&bob),
            "hello bob 👋",
            1_750_000_000_000,
        )
        .await
        .unwrap();
    assert_eq!(sent.message, None);

    let inbox = bob.client.inbox(None, None).await.unwrap();
    assert_eq!(inbox.len(), 1);
    let got = inbox[0].decrypt(&bob.identity, &pk).unwrap();
    assert_eq!(got.sender_session_id, alice.identity.session_id());
    assert_eq!(got.decode().unwrap().text.as_deref(), Some("hello bob 👋"));
    // The stored blob is the ciphertext, not the text.
    let raw = sogs_client::encoding::b64_decode(inbox[0].message.as_deref().unwrap()).unwrap();
    assert_eq!(raw[0], 0);
    assert!(!String::from_utf8_lossy(&raw).contains("hello bob"));
    // Someone else cannot read it.
    let carol = app.user(3);
    assert!(inbox[0].decrypt(&carol.identity, &pk).is_err());

    // Alice reads her own outbox copy; Bob replies and Alice reads it.
    let outbox = alice.client.outbox(None, None).await.unwrap();
    let mine = outbox[0].decrypt(&alice.identity, &pk).unwrap();
    assert_eq!(mine.plaintext, got.plaintext);
    bob.client
        .send_dm(&bob.identity, &sid(&alice), b"raw reply bytes")
        .await
        .unwrap();
    let inbox = alice.client.inbox(Some(0), None).await.unwrap();
    let reply = inbox[0].decrypt(&alice.identity, &pk).unwrap();
    assert_eq!(reply.plaintext, b"raw reply bytes");
    assert_eq!(reply.sender_session_id, bob.identity.session_id());
    assert!(alice
        .client
        .inbox(Some(inbox[0].id), None)
        .await
        .unwrap()
        .is_empty());
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn banned_senders_and_recipients(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let bob = app.user(2);
    let carol = app.user(3);
    register(&alice).await;
    register(&bob).await;
    register(&carol).await;
    let body = json!({"message": "AAEC"});
    assert_eq!(send_raw(&alice, &bob.id(), body.clone()).await.0, 201);

    // Banned in one room → may not DM anyone.
    let r = app.state.db.room_by_token(&room).await.unwrap().unwrap();
    let alice_id = user_id(&app, &alice).await;
    app.state
        .db
        .set_room_ban_flag(r.id, alice_id, true)
        .await
        .unwrap();
    assert_eq!(send_raw(&alice, &bob.id(), body.clone()).await.0, 403);
    assert_eq!(send_raw(&alice, &carol.id(), body.clone()).await.0, 403);
    // Reading her own inbox still works; unbanning restores sending.
    assert_eq!(alice.get_json("/inbox").await.0, 200);
    app.state
        .db
        .set_room_ban_flag(r.id, alice_id, false)
        .await
        .unwrap();
    assert_eq!(send_raw(&alice, &bob.id(), body.clone()).await.0, 201);

    // Globally banned sender: refused at authentication; globally banned recipient: 404.
    sql(
        &app,
        "UPDATE users SET banned = TRUE WHERE session_id = $1",
        &carol.id(),
    )
    .await;
    assert_eq!(send_raw(&carol, &bob.id(), body.clone()).await.0, 403);
    assert_eq!(send_raw(&alice, &carol.id(), body.clone()).await.0, 404);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn dm_rate_limit(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn_with(be, |c| c.dm_rate_limit = Some((3, 60))).await;
    let alice = app.user(1);
    let bob = app.user(2);
    let carol = app.user(3);
    register(&bob).await;
    register(&carol).await;
    let body = json!({"message": "AAEC"});
    for to in [&bob, &carol, &bob] {
        assert_eq!(send_raw(&alice, &to.id(), body.clone()).await.0, 201);
    }
    let r = alice
        .client
        .post_json(&format!("/inbox/{}", carol.id()), &body)
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    let wait: u64 = r.headers["retry-after"].parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // Other senders are not affected; time restores the quota.
    assert_eq!(send_raw(&bob, &carol.id(), body.clone()).await.0, 201);
    app.clock.advance(20.0);
    assert_eq!(send_raw(&alice, &carol.id(), body.clone()).await.0, 201);
    assert_eq!(send_raw(&alice, &carol.id(), body.clone()).await.0, 429);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn members_only_rooms_refuse_outsiders(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.room("open").await;
    let alice = app.user(1);
    let bob = app.user(2);
    // Bob is a member of both rooms (he polled them).
    for t in [&room, "open"] {
        assert_eq!(
            bob.get_json(&format!("/room/{t}/messages/recent")).await.0,
            200
        );
    }
    let body = json!({"message": "AAEC"});
    assert_eq!(send_raw(&alice, &bob.id(), body.clone()).await.0, 201);
    let (code, out, err) = app
        .cli(&["room", "update", "lobby", "--dm-members-only", "true"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "updated room lobby: dm-members-only=true");
    assert_eq!(send_raw(&alice, &bob.id(), body.clone()).await.0, 403);
    // Being a member of another room is not enough; joining this one is.
    assert_eq!(alice.get_json("/room/open/messages/recent").await.0, 200);
    assert_eq!(send_raw(&alice, &bob.id(), body.clone()).await.0, 403);
    assert_eq!(
        alice
            .get_json(&format!("/room/{room}/messages/recent"))
            .await
            .0,
        200
    );
    assert_eq!(send_raw(&alice, &bob.id(), body.clone()).await.0, 201);
    // Moderators of the room may always write; switching it off lets everyone write.
    let carol = app.user(3);
    register(&carol).await;
    assert_eq!(send_raw(&carol, &bob.id(), body.clone()).await.0, 403);
    app.make_mod(3, &room, false).await;
    assert_eq!(send_raw(&carol, &bob.id(), body.clone()).await.0, 201);
    let dave = app.user(4);
    register(&dave).await;
    let (code, _, err) = app
        .cli(&["room", "update", "lobby", "--dm-members-only", "false"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(send_raw(&dave, &bob.id(), body.clone()).await.0, 201);
    app.shutdown().await;
}
