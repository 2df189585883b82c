//! The real `sogs` binary: the first start creates the key and database, serves HTTP, and
//! stops cleanly on SIGTERM; the admin commands work beside it. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Connection;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sogs");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh PostgreSQL database (fails loudly when PostgreSQL is not reachable).
async fn fresh_postgres() -> (String, String) {
    let admin = std::env::var("SOGS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin}: {e}"));
    let name = format!("sogs_bin_{}_{}", std::process::id(), rand::random::<u32>());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    (format!("{base}/{name}"), name)
}

async fn drop_postgres(name: &str) {
    let admin = std::env::var("SOGS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

fn sogs(dir: &std::path::Path, db: Option<&str>, port: u16, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("SOGS_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("SOGS_DATABASE_URL")
        .env_remove("SOGS_DATA_DIR");
    if let Some(url) = db {
        cmd.env("SOGS_DATABASE_URL", url);
    }
    cmd
}

async fn serve_and_stop(db: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = sogs(dir.path(), db, port, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // wait (bounded) until it answers
    let url = format!("http://127.0.0.1:{port}/capabilities");
    let client = reqwest::Client::new();
    let start = Instant::now();
    let caps = loop {
        if let Ok(r) = client.get(&url).send().await {
            break r.text().await.unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(caps, r#"{"capabilities":["blind","reactions","sogs"]}"#);
    // first start: key and data folder, default location ./sogs-data
    let key = std::fs::read(dir.path().join("sogs-data/key_x25519")).unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(
        dir.path().join("sogs-data/sogs.db").exists(),
        db.is_none(),
        "SQLite file only on the default backend"
    );

    // admin commands beside the running server
    let out = sogs(
        dir.path(),
        db,
        port,
        &["room", "add", "lobby", "--name", "Lobby"],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = sogs(dir.path(), db, port, &["key"]).output().unwrap();
    let pubkey = String::from_utf8(out.stdout).unwrap();
    assert_eq!(pubkey.trim().len(), 64);
    let out = sogs(dir.path(), db, port, &["url", "lobby"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("http://127.0.0.1:{port}/lobby?public_key={}", pubkey)
    );
    let rooms: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/rooms"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rooms[0]["token"], "lobby");
    // bad usage exits 2 with clap's whole message on stderr (what is missing, the usage line)
    let out = sogs(dir.path(), db, port, &["room", "add"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: the following required arguments"),
        "{err}"
    );
    assert!(
        err.contains("<TOKEN>") && err.contains("Usage: sogs room add"),
        "{err}"
    );
    // no terminal on stdin: a room delete without --yes is refused and the room stays
    let out = sogs(dir.path(), db, port, &["room", "delete", "lobby"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));

    // SIGTERM stops it cleanly
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn binary_serves_on_sqlite() {
    serve_and_stop(None).await;
}

#[tokio::test]
async fn binary_serves_on_postgres() {
    let (url, name) = fresh_postgres().await;
    serve_and_stop(Some(&url)).await;
    drop_postgres(&name).await;
}

#[test]
fn bad_config_is_a_startup_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("key")
        .current_dir(dir.path())
        .env("SOGS_UPLOAD_MAX_BYTES", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("upload_max_bytes"), "{err}");
}
