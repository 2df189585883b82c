//! The `sogs` admin command line: each command, its output and exit codes.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_tests::{Backend, TestApp};

#[rstest]
#[tokio::test]
async fn key_url_and_rooms(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let (code, out, err) = app.cli(&["key"]).await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, format!("{}\n", app.state.keys.public_hex()));
    // the key file: 32 raw bytes, readable by the owner only
    let key_path = app.config.data_dir.join("key_x25519");
    let meta = std::fs::metadata(&key_path).unwrap();
    assert_eq!(meta.len(), 32);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let (code, out, _) = app
        .cli(&[
            "room",
            "add",
            "Lobby",
            "--name",
            "The Lobby",
            "--description",
            "hi",
            "--permissions",
            "ra",
        ])
        .await;
    assert_eq!(code, 0);
    let url = format!(
        "{}/Lobby?public_key={}",
        app.base_url,
        app.state.keys.public_hex()
    );
    assert!(out.contains(&url), "{out}");
    // duplicate (case-insensitively) → runtime failure, one line on stderr
    let (code, _, err) = app.cli(&["room", "add", "lobby", "--name", "x"]).await;
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    // bad usage → 2
    assert_eq!(
        app.cli(&["room", "add", "bad token!", "--name", "x"])
            .await
            .0,
        1
    );
    assert_eq!(app.cli(&["room", "add", "x"]).await.0, 2);
    assert_eq!(
        app.cli(&["room", "add", "x", "--name", "n", "--permissions", "rz"])
            .await
            .0,
        1
    );
    assert_eq!(app.cli(&["frobnicate"]).await.0, 2);

    let (code, out, _) = app.cli(&["url", "lobby"]).await;
    assert_eq!((code, out), (0, format!("{url}\n")));
    assert_eq!(app.cli(&["url", "missing"]).await.0, 1);
    app.room("second").await;
    let (_, out, _) = app.cli(&["url"]).await;
    assert_eq!(out.lines().count(), 2);

    let (code, out, _) = app.cli(&["room", "list", "--json"]).await;
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["token"], json!("Lobby"));
    assert_eq!(list[0]["permissions"], json!("ra"));
    assert_eq!(list[1]["token"], json!("second"));
    let (_, out, _) = app.cli(&["room", "list"]).await;
    assert_eq!(out.lines().next().unwrap(), "Lobby\tra\tThe Lobby");

    // the server sees CLI changes at once: read-only room refuses posts
    let alice = app.user(1);
    assert_eq!(alice.post("lobby", "x").await.status, 403);
    let (_, info) = alice.get_json("/room/lobby").await;
    assert_eq!(info["description"], json!("hi"));

    assert_eq!(app.cli(&["room", "delete", "second"]).await.0, 0);
    assert_eq!(app.cli(&["room", "delete", "second"]).await.0, 1);
    assert_eq!(alice.get_json("/room/second").await.0, 404);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn moderators_by_session_id_map_to_blinded(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("mods").await;
    let (alice, bob, carol) = (app.user(1), app.user(2), app.user(3));
    // alice has never connected: her 05 id is recorded and migrates on first request
    let (code, _, err) = app
        .cli(&[
            "moderator",
            "add",
            &alice.session_id(),
            "--room",
            &room,
            "--admin",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    // bob connected already: his 05 id maps to his existing blinded user
    bob.get_json("/capabilities").await;
    let (code, out, _) = app
        .cli(&[
            "moderator",
            "add",
            &bob.session_id(),
            "--room",
            &room,
            "--hidden",
        ])
        .await;
    assert_eq!(code, 0);
    assert!(out.contains(&bob.id()), "{out}");
    // carol by blinded id, globally (hidden by default)
    assert_eq!(
        app.cli(&["moderator", "add", &carol.id(), "--global"])
            .await
            .0,
        0
    );

    let (_, info) = alice.get_json(&format!("/room/{room}")).await;
    assert_eq!(
        info["admin"],
        json!(true),
        "05 appointment reached the blinded user"
    );
    assert_eq!(info["admins"], json!([alice.id()]));
    assert_eq!(info["moderators"], json!([]));
    let mut hidden = vec![bob.id(), carol.id()];
    hidden.sort();
    assert_eq!(info["hidden_moderators"], json!(hidden));
    let (_, seen_by_user) = app.user(4).get_json(&format!("/room/{room}")).await;
    assert!(seen_by_user.get("hidden_moderators").is_none());

    let (_, out, _) = app
        .cli(&["moderator", "list", "--room", &room, "--json"])
        .await;
    let list: Value = serde_json::from_str(&out).unwrap();
    let entries: Vec<(String, Value, bool, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["session_id"].as_str().unwrap().to_owned(),
                e["room"].clone(),
                e["admin"].as_bool().unwrap(),
                e["visible"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(entries.contains(&(carol.id(), Value::Null, false, false)));
    assert!(entries.contains(&(alice.id(), json!(room), true, true)));
    assert!(entries.contains(&(bob.id(), json!(room), false, false)));

    assert_eq!(
        app.cli(&["moderator", "remove", &alice.id(), "--room", &room])
            .await
            .0,
        0
    );
    let (_, info) = alice.get_json(&format!("/room/{room}")).await;
    assert!(info.get("admin").is_none());
    assert_eq!(info["admins"], json!([]));
    // usage errors
    assert_eq!(app.cli(&["moderator", "add", &bob.id()]).await.0, 2);
    assert_eq!(
        app.cli(&["moderator", "add", &bob.id(), "--room", &room, "--global"])
            .await
            .0,
        2
    );
    assert_eq!(app.cli(&["moderator", "add", "zz", "--global"]).await.0, 1);
    assert_eq!(
        app.cli(&["moderator", "add", &bob.id(), "--room", "nosuch"])
            .await
            .0,
        1
    );
    app.shutdown().await;
}
