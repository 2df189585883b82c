//! Reactions: add/remove, seqno bumps and reaction-only `since` rows, moderator clears,
//! reactors, path encodings, limits.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_tests::{Backend, TestApp, TestUser};

async fn put_reaction(u: &TestUser, room: &str, id: i64, r: &str) -> (u16, Value) {
    let path = format!("/room/{room}/reaction/{id}/{}", enc(r));
    let resp = u.client.request("PUT", &path, None, &[]).await.unwrap();
    (resp.status, resp.json().unwrap_or(Value::Null))
}

fn enc(r: &str) -> String {
    sogs_client::files_api::encode_path_segment(r)
}

async fn since(u: &TestUser, room: &str, s: i64, q: &str) -> Value {
    let (status, v) = u
        .get_json(&format!("/room/{room}/messages/since/{s}{q}"))
        .await;
    assert_eq!(status, 200);
    v
}

#[rstest]
#[tokio::test]
async fn reactions_bump_seqno_and_show_in_since(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let bob = app.user(2);
    let m1 = alice.post_ok(&room, "one").await["id"].as_i64().unwrap();
    let m2 = alice.post_ok(&room, "two").await["id"].as_i64().unwrap();

    // PUT with no body (desktop) and with `{}` (Android).
    assert_eq!(
        put_reaction(&bob, &room, m1, "👍").await,
        (200, json!({"added": true, "seqno": 3}))
    );
    app.clock.advance(1.0);
    let r = alice
        .client
        .put_json(
            &format!("/room/{room}/reaction/{m1}/{}", enc("👍")),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"added": true, "seqno": 4})
    );
    assert_eq!(
        put_reaction(&bob, &room, m1, "👍").await,
        (200, json!({"added": false, "seqno": 4}))
    );
    let added = alice.client.react(&room, m1, "❤️").await.unwrap();
    assert_eq!((added.added, added.seqno), (true, 5));

    // Reaction-only rows with t=r; nothing without it.
    let v = since(&alice, &room, 2, "?t=r").await;
    assert_eq!(
        v,
        json!([{
            "id": m1, "seqno": 5,
            "reactions": {
                "👍": {"index": 0, "count": 2, "reactors": [bob.id(), alice.id()], "you": true},
                "❤️": {"index": 1, "count": 1, "reactors": [alice.id()], "you": true},
            }
        }])
    );
    assert_eq!(since(&alice, &room, 2, "").await, json!([]));
    // reactors=0 drops the lists, and bob does not see `you` on ❤️.
    let v = since(&bob, &room, 2, "?t=r&reactors=0").await;
    assert_eq!(
        v[0]["reactions"],
        json!({"👍": {"index": 0, "count": 2, "you": true}, "❤️": {"index": 1, "count": 1}})
    );
    // Full objects carry reactions too; room counter moved with every change.
    let (_, msg) = bob.get_json(&format!("/room/{room}/message/{m1}")).await;
    assert_eq!(msg["seqno"], 5);
    assert_eq!(msg["reactions"]["👍"]["count"], 2);
    let (_, info) = bob.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["message_sequence"], 5);

    // Removal: own reaction only; a second removal is a no-op.
    let removed = bob.client.unreact(&room, m1, "👍").await.unwrap();
    assert_eq!((removed.removed, removed.seqno), (true, 6));
    let removed = bob.client.unreact(&room, m1, "👍").await.unwrap();
    assert_eq!((removed.removed, removed.seqno), (false, 6));
    // The last user leaving removes the reaction; coming back puts it at the end.
    alice.client.unreact(&room, m1, "❤️").await.unwrap();
    bob.client.react(&room, m1, "😂").await.unwrap();
    let back = bob.client.react(&room, m1, "❤️").await.unwrap();
    assert_eq!(back.seqno, 9);
    let v = since(&bob, &room, 5, "?t=r").await;
    assert_eq!(
        v,
        json!([{
            "id": m1, "seqno": 9,
            "reactions": {
                "👍": {"index": 0, "count": 1, "reactors": [alice.id()]},
                "😂": {"index": 1, "count": 1, "reactors": [bob.id()], "you": true},
                "❤️": {"index": 2, "count": 1, "reactors": [bob.id()], "you": true},
            }
        }])
    );

    // Moderator clears: one seqno per removed user reaction.
    let r = bob
        .client
        .delete(&format!("/room/{room}/reactions/{m1}/{}", enc("👍")))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    app.make_mod(3, &room, false).await;
    let carol = app.user(3);
    carol.client.react(&room, m1, "😂").await.unwrap(); // seqno 10
    let c = carol
        .client
        .clear_reactions(&room, m1, Some("😂"))
        .await
        .unwrap();
    assert_eq!((c.removed, c.seqno), (2, 12));
    let c = carol
        .client
        .clear_reactions(&room, m1, Some("🙈"))
        .await
        .unwrap();
    assert_eq!((c.removed, c.seqno), (0, 12));
    let c = carol.client.clear_reactions(&room, m1, None).await.unwrap();
    assert_eq!((c.removed, c.seqno), (2, 14));
    let (_, msg) = bob.get_json(&format!("/room/{room}/message/{m1}")).await;
    assert_eq!(msg["reactions"], json!({}));
    // A poller that saw seqno 9 gets the emptied reactions as a reaction-only row.
    assert_eq!(
        since(&bob, &room, 9, "?t=r").await,
        json!([{"id": m1, "seqno": 14, "reactions": {}}])
    );

    // Deleting a reacted message: +1 for the deletion, +1 per reaction removed.
    bob.client.react(&room, m2, "👍").await.unwrap(); // 15
    alice.client.react(&room, m2, "👍").await.unwrap(); // 16
    let r = alice
        .client
        .delete(&format!("/room/{room}/message/{m2}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let (_, info) = bob.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["message_sequence"], 19);
    assert_eq!(put_reaction(&bob, &room, m2, "👍").await.0, 404);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn reactors_oldest_first_with_limit(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let users: Vec<TestUser> = (1..=4).map(|s| app.user(s)).collect();
    let m = users[0].post_ok(&room, "react to me").await["id"]
        .as_i64()
        .unwrap();
    let mut expected = Vec::new();
    for u in users.iter().rev() {
        app.clock.advance(1.5);
        u.client.react(&room, m, "🍍").await.unwrap();
        expected.push(json!([u.id(), app.clock.now()]));
    }
    let list = users[0]
        .client
        .reactors(&room, m, "🍍", None)
        .await
        .unwrap();
    assert_eq!(json!(list), json!(expected));
    let list = users[0]
        .client
        .reactors(&room, m, "🍍", Some(2))
        .await
        .unwrap();
    assert_eq!(json!(list), json!(expected[..2]));
    for q in ["?limit=0", "?limit=-3"] {
        let (s, v) = users[0]
            .get_json(&format!("/room/{room}/reactors/{m}/{}{q}", enc("🍍")))
            .await;
        assert_eq!((s, v), (200, json!(expected)));
    }
    // Anonymous readers may list; unknown reactions give an empty list; bad input 400/404.
    let r = app
        .anon()
        .get(&format!("/room/{room}/reactors/{m}/{}?limit=1", enc("🍍")))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!(expected[..1]));
    let (s, v) = users[0]
        .get_json(&format!("/room/{room}/reactors/{m}/x"))
        .await;
    assert_eq!((s, v), (200, json!([])));
    let (s, _) = users[0]
        .get_json(&format!("/room/{room}/reactors/{m}/x?limit=z"))
        .await;
    assert_eq!(s, 400);
    let (s, _) = users[0]
        .get_json(&format!("/room/{room}/reactors/999/x"))
        .await;
    assert_eq!(s, 404);
    // `?reactors=N` in message objects lists the first N, oldest first.
    let (_, msg) = users[0]
        .get_json(&format!("/room/{room}/message/{m}?reactors=3"))
        .await;
    let ids: Vec<Value> = expected[..3].iter().map(|p| p[0].clone()).collect();
    assert_eq!(msg["reactions"]["🍍"]["reactors"], json!(ids));
    assert_eq!(msg["reactions"]["🍍"]["count"], 4);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn reaction_paths_and_limits(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.room("other").await;
    let alice = app.user(1);
    let m = alice.post_ok(&room, "hi").await["id"].as_i64().unwrap();

    // A 4-code-point emoji, percent-encoded.
    let flag = "🏳️‍🌈";
    assert_eq!(flag.chars().count(), 4);
    assert!(alice.client.react(&room, m, flag).await.unwrap().added);
    // Raw UTF-8 in a sub-request path (as in batch and onion requests). Over plain HTTP the
    // request line must be percent-encoded: actix refuses raw non-ASCII bytes with 400.
    let r = alice
        .client
        .post_json(
            "/batch",
            &json!([{"method": "PUT", "path": format!("/room/{room}/reaction/{m}/🥝"), "json": {}}]),
        )
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().unwrap()[0]["body"]["added"], true);
    // A reaction may contain '/', and is 1–12 code points.
    assert!(alice.client.react(&room, m, "a/b").await.unwrap().added);
    let twelve = "abcdefghijkl";
    assert_eq!(put_reaction(&alice, &room, m, twelve).await.0, 200);
    assert_eq!(put_reaction(&alice, &room, m, "abcdefghijklm").await.0, 400);
    assert_eq!(put_reaction(&alice, &room, m, "").await.0, 400);
    let (_, msg) = alice.get_json(&format!("/room/{room}/message/{m}")).await;
    let keys: Vec<&String> = msg["reactions"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4);
    for k in [flag, "🥝", "a/b", twelve] {
        assert_eq!(msg["reactions"][k]["count"], 1, "{k}");
    }
    assert_eq!(msg["reactions"]["a/b"]["index"], 2);

    // Not reactable: unknown, other room, deleted, whisper → 404. Anonymous → 401.
    assert_eq!(put_reaction(&alice, &room, 9999, "x").await.0, 404);
    assert_eq!(put_reaction(&alice, "other", m, "x").await.0, 404);
    app.make_mod(2, &room, false).await;
    let moderator = app.user(2);
    let mut body = moderator.post_body("psst");
    body["whisper_mods"] = json!(true);
    let r = moderator
        .client
        .post_json(&format!("/room/{room}/message"), &body)
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let whisper = r.json::<Value>().unwrap()["id"].as_i64().unwrap();
    assert_eq!(put_reaction(&moderator, &room, whisper, "x").await.0, 404);
    let gone = alice.post_ok(&room, "bye").await["id"].as_i64().unwrap();
    alice
        .client
        .delete(&format!("/room/{room}/message/{gone}"))
        .await
        .unwrap();
    assert_eq!(put_reaction(&alice, &room, gone, "x").await.0, 404);
    let r = app
        .anon()
        .request("PUT", &format!("/room/{room}/reaction/{m}/x"), None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, 401);

    // Distinct reactions per message are capped; existing kinds can still be added to.
    let m2 = alice.post_ok(&room, "popular").await["id"]
        .as_i64()
        .unwrap();
    for i in 0..64 {
        assert_eq!(
            put_reaction(&alice, &room, m2, &format!("r{i}")).await.0,
            200
        );
    }
    let (status, _) = put_reaction(&alice, &room, m2, "r64").await;
    assert_eq!(status, 400);
    assert_eq!(
        put_reaction(&moderator, &room, m2, "r5").await,
        (200, json!({"added": true, "seqno": 74}))
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn reactions_need_read(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let (code, _, err) = app
        .cli(&["room", "add", "closed", "--name", "C", "--permissions", "a"])
        .await;
    assert_eq!(code, 0, "{err}");
    app.make_mod(1, "closed", false).await;
    let m = app.user(1).post_ok("closed", "mods only").await["id"]
        .as_i64()
        .unwrap();
    let bob = app.user(2);
    assert_eq!(put_reaction(&bob, "closed", m, "x").await.0, 403);
    let (s, _) = bob.get_json(&format!("/room/closed/reactors/{m}/x")).await;
    assert_eq!(s, 403);
    app.shutdown().await;
}
