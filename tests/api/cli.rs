//! The `sogs` admin command line: each command, its output and exit codes.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_tests::{Backend, TestApp};

async fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let (code, out, err) = app.cli(args).await;
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

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
    // bad usage → 2, with clap's whole message (what was wrong, usage line)
    let (code, _, err) = app.cli(&["room", "add", "bad token!", "--name", "x"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("'bad token!'") && err.contains("1-64 of A-Z"),
        "{err}"
    );
    assert!(err.contains("--help"), "{err}");
    assert_eq!(app.cli(&["room", "add", "x"]).await.0, 2);
    assert_eq!(
        app.cli(&["room", "add", "x", "--name", "n", "--permissions", "rz"])
            .await
            .0,
        2
    );
    // an empty permission string is refused; `none` says it on purpose
    assert_eq!(
        app.cli(&["room", "add", "x", "--name", "n", "--permissions", ""])
            .await
            .0,
        2
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
    assert_eq!(
        list[1]["rate_limit"],
        json!({"posts": 5, "seconds": 16.0, "default": true})
    );
    cli_ok(&app, &["room", "update", "second", "--rate-limit", "3/60"]).await;
    // Periods that no clock can hold are usage errors, and change nothing.
    for bad in [
        "1/1e300",
        "1/18446744073709551615",
        "1/inf",
        "1/NaN",
        "1/-5",
    ] {
        let (code, _, err) = app
            .cli(&["room", "update", "second", "--rate-limit", bad])
            .await;
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("--rate-limit"), "{bad}: {err}");
    }
    let (_, out, _) = app.cli(&["room", "list"]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "TOKEN\tPERMISSIONS\tNAME\tDESCRIPTION\tIMAGE\tRATE LIMIT\tACTIVE USERS"
    );
    assert_eq!(lines[1], "Lobby\tra\tThe Lobby\thi\t-\t5/16 (default)\t0");
    assert_eq!(lines[2], "second\trwua\tRoom second\t-\t-\t3/60\t0");

    // the join-URL warning: loopback addresses cannot be reached from a phone
    let (_, _, err) = app.cli(&["url", "lobby"]).await;
    assert!(
        err.starts_with("warning: join links use http://127.0.0.1:"),
        "{err}"
    );

    // the server sees CLI changes at once: read-only room refuses posts
    let alice = app.user(1);
    assert_eq!(alice.post("lobby", "x").await.status, 403);
    let (_, info) = alice.get_json("/room/lobby").await;
    assert_eq!(info["description"], json!("hi"));

    // destructive: without a terminal to ask on, --yes is required
    let (code, _, err) = app.cli(&["room", "delete", "second"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("add --yes"), "{err}");
    assert_eq!(alice.get_json("/room/second").await.0, 200);
    assert_eq!(app.cli(&["room", "delete", "second", "--yes"]).await.0, 0);
    assert_eq!(app.cli(&["room", "delete", "second", "--yes"]).await.0, 1);
    let (_, out, _) = app.cli(&["modlog", "--room", "second", "--json"]).await;
    let log: Value = serde_json::from_str(&out).unwrap();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["room_delete", "room_update", "room_create"]);
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
    // the privacy rule: nobody sees her Session ID, not even before she connects
    let anon: Value = app
        .anon()
        .get(&format!("/room/{room}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(anon["admins"], json!([]));
    assert!(!anon.to_string().contains(&alice.session_id()[2..]));
    let out = cli_ok(&app, &["moderator", "list", "--room", &room]).await;
    assert!(out.starts_with("SESSION ID\tROOM\tROLE"), "{out}");
    assert!(
        out.contains(&format!(
            "{}\t{room}\tadmin\tvisible\tnot connected yet",
            alice.session_id()
        )),
        "{out}"
    );
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
    // after her first request: listed by blinded id, with the 05 id the operator typed
    let alice_entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["session_id"] == json!(alice.id()))
        .unwrap();
    assert_eq!(alice_entry["appointed_as"], json!(alice.session_id()));
    assert_eq!(alice_entry["pending"], json!(false));
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
    // removing someone who is not a moderator says so and logs nothing
    let before = app.cli(&["modlog", "--json"]).await.1;
    let out = cli_ok(&app, &["moderator", "remove", &alice.id(), "--room", &room]).await;
    assert_eq!(
        out,
        format!("{} was not a moderator of {room}\n", alice.id())
    );
    assert_eq!(app.cli(&["modlog", "--json"]).await.1, before);
    // `--room` takes one value, so the ids may come after it (the order pysogs users type)
    let out = cli_ok(&app, &["moderator", "add", "--room", &room, &alice.id()]).await;
    assert_eq!(out, format!("{} is now moderator of {room}\n", alice.id()));
    // usage errors: clap's whole message
    let (code, _, err) = app.cli(&["moderator", "add", &bob.id()]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("--room <TOKEN>") && err.contains("Usage:"),
        "{err}"
    );
    assert_eq!(
        app.cli(&["moderator", "add", &bob.id(), "--room", &room, "--global"])
            .await
            .0,
        2
    );
    assert_eq!(app.cli(&["moderator", "add", "zz", "--global"]).await.0, 2);
    assert_eq!(
        app.cli(&["moderator", "add", &bob.id(), "--room", "nosuch"])
            .await
            .0,
        1
    );
    app.shutdown().await;
}

/// Runs the CLI with exactly this environment (no test harness defaults).
async fn cli_env(env: &[(&str, String)], args: &[&str]) -> (i32, String, String) {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut argv = vec!["sogs".to_owned()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = sogs_server::cli::run(argv, &env, &mut out, &mut err).await;
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// An admin command pointed at the wrong place never creates a second server: no folder,
/// key or database appears, and the error says where it looked and how to point it.
#[rstest]
#[tokio::test]
async fn admin_commands_never_create_a_server(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let empty = tempfile::tempdir().unwrap();
    let nowhere = empty.path().join("sogs-data");
    for args in [
        &["room", "add", "lobby2", "--name", "Lobby 2"][..],
        &["room", "list"],
        &["key"],
        &["url"],
    ] {
        let (code, out, err) =
            cli_env(&[("SOGS_DATA_DIR", nowhere.display().to_string())], args).await;
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}");
        assert!(err.contains("no server data folder at"), "{err}");
        assert!(
            err.contains("SOGS_DATA_DIR") && err.contains("--config"),
            "{err}"
        );
        assert!(!nowhere.exists(), "{args:?} created {}", nowhere.display());
    }
    // the real data folder without its engine setting: refused, never a fresh SQLite file
    let data = app.config.data_dir.display().to_string();
    let (code, _, err) = cli_env(&[("SOGS_DATA_DIR", data.clone())], &["room", "list"]).await;
    match be {
        Backend::Postgres => {
            assert_eq!(code, 1, "{err}");
            assert!(err.contains("runs on PostgreSQL"), "{err}");
            assert!(!app.config.data_dir.join("sogs.db").exists());
        }
        Backend::Sqlite => {
            assert_eq!(code, 0, "the SQLite server's own folder opens: {err}");
            let url = "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
            let (code, _, err) = cli_env(
                &[("SOGS_DATA_DIR", data), ("SOGS_DATABASE_URL", url)],
                &["room", "list"],
            )
            .await;
            assert_eq!(code, 1);
            assert!(err.contains("runs on SQLite"), "{err}");
        }
    }
    // `init` is the explicit way to make one
    let (code, out, err) = cli_env(
        &[("SOGS_DATA_DIR", nowhere.display().to_string())],
        &["init"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("server ready in "), "{out}");
    let (code, out, _) = cli_env(
        &[("SOGS_DATA_DIR", nowhere.display().to_string())],
        &["room", "list"],
    )
    .await;
    assert_eq!((code, out.lines().count()), (0, 1));
    app.shutdown().await;
}
