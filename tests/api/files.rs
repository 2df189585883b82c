//! Uploads, downloads, attachments, expiry + cleanup, room images.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_server::db::Db;
use sogs_tests::{Backend, TestApp, TestUser};
use std::path::PathBuf;

/// Runs one SQL statement with one text argument on the app's database (test setup only).
pub async fn sql(app: &TestApp, q: &str, arg: &str) {
    let done = match &app.state.db {
        Db::Postgres(p) => sqlx::query(q)
            .bind(arg)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        Db::Sqlite(p) => sqlx::query(q)
            .bind(arg)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert!(done > 0, "{q} changed nothing");
}

pub async fn user_id(app: &TestApp, u: &TestUser) -> i64 {
    app.state
        .db
        .user_by_session_id(&u.id())
        .await
        .unwrap()
        .expect("user exists")
        .id
}

/// Every file under the uploads folder (relative paths, sorted).
fn stored_files(app: &TestApp) -> Vec<String> {
    fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let base = app.config.uploads_dir();
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}

fn upload_path(app: &TestApp, rel: &str) -> PathBuf {
    app.config.uploads_dir().join(rel)
}

/// Raw upload with explicit headers.
async fn upload_raw(
    u: &TestUser,
    room: &str,
    body: &[u8],
    disposition: Option<&str>,
) -> sogs_client::client::ApiResponse {
    let headers: Vec<(&str, &str)> = disposition
        .map(|d| vec![("Content-Disposition", d)])
        .unwrap_or_default();
    u.client
        .request(
            "POST",
            &format!("/room/{room}/file"),
            Some((body, "application/octet-stream")),
            &headers,
        )
        .await
        .unwrap()
}

fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 256) as u8).collect()
}

#[rstest]
#[tokio::test]
async fn upload_download_round_trip(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.room("other").await;
    let alice = app.user(1);

    // Small body (kept in memory) with a unicode filename in RFC 5987 form.
    let small = binary(5000);
    let r = upload_raw(
        &alice,
        &room,
        &small,
        Some("attachment; filename*=UTF-8''my%20%F0%9F%8E%82%2Ffile.bin"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v: Value = r.json().unwrap();
    let id = v["id"].as_i64().expect("numeric id");
    assert_eq!(v, json!({ "id": id }));

    let r = alice
        .client
        .get(&format!("/room/{room}/file/{id}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, small);
    assert_eq!(r.headers["content-type"], "application/octet-stream");
    assert_eq!(r.headers["content-length"], "5000");
    assert_eq!(
        r.headers["content-disposition"],
        "attachment; filename*=UTF-8''my%20%F0%9F%8E%82%EF%BF%BDfile.bin"
    );
    assert_eq!(r.headers["date"], "Sun, 15 Jun 2025 15:06:40 GMT");
    assert_eq!(r.headers["expires"], "Sun, 15 Jun 2025 16:06:40 GMT");
    assert_eq!(
        r.headers["cache-control"],
        "public, max-age=3600, immutable"
    );

    // The typed helper, a trailing name, and anonymous readers.
    let d = alice.client.download_file(&room, id).await.unwrap();
    assert_eq!(d.bytes, small);
    assert_eq!(d.filename.as_deref(), Some("my 🎂\u{FFFD}file.bin"));
    let r = app
        .anon()
        .get(&format!("/room/{room}/file/{id}/whatever.jpg"))
        .await
        .unwrap();
    assert_eq!((r.status, r.body.len()), (200, 5000));

    // A large body (spooled to disk while streaming) with a plain filename, via the helper.
    let big = binary(700_000);
    let id2 = alice
        .client
        .upload_file(&room, &big, Some("big one.dat"))
        .await
        .unwrap();
    assert!(id2 > id);
    let d = alice.client.download_file(&room, id2).await.unwrap();
    assert_eq!(d.bytes.len(), big.len());
    assert!(d.bytes == big);
    assert_eq!(d.filename.as_deref(), Some("big one.dat"));

    // `filename="…"` form, and no name at all.
    let r = upload_raw(
        &alice,
        &room,
        b"x",
        Some("attachment; filename=\"plain.txt\""),
    )
    .await;
    let id3 = r.json::<Value>().unwrap()["id"].as_i64().unwrap();
    let r = upload_raw(&alice, &room, b"y", None).await;
    let id4 = r.json::<Value>().unwrap()["id"].as_i64().unwrap();
    let r = alice
        .client
        .get(&format!("/room/{room}/file/{id3}"))
        .await
        .unwrap();
    assert_eq!(
        r.headers["content-disposition"],
        "attachment; filename*=UTF-8''plain.txt"
    );
    let r = alice
        .client
        .get(&format!("/room/{room}/file/{id4}"))
        .await
        .unwrap();
    assert_eq!(r.headers["content-disposition"], "attachment");

    // Stored under uploads/<token>/<id>_<sanitised name>, no temporary files left behind.
    assert_eq!(
        stored_files(&app),
        vec![
            format!("lobby/{id}_my_file.bin"),
            format!("lobby/{id2}_big_one.dat"),
            format!("lobby/{id3}_plain.txt"),
            format!("lobby/{id4}_(unnamed)"),
        ]
    );
    assert!(std::fs::read_dir(app.config.data_dir.join("tmp"))
        .map(|d| d.count() == 0)
        .unwrap_or(true));

    // Other room, unknown id → 404.
    let r = alice
        .client
        .get(&format!("/room/other/file/{id}"))
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let r = alice
        .client
        .get(&format!("/room/{room}/file/999999"))
        .await
        .unwrap();
    assert_eq!(r.status, 404);

    // Through a batch the body comes back as base64.
    let (status, v) = batch(
        &alice,
        json!([{"method": "GET", "path": format!("/room/{room}/file/{id3}")}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v[0]["code"], 200);
    assert_eq!(v[0]["body"], "eA==");
    assert_eq!(
        v[0]["headers"]["content-disposition"],
        "attachment; filename*=UTF-8''plain.txt"
    );
    app.shutdown().await;
}

async fn batch(u: &TestUser, body: Value) -> (u16, Value) {
    let r = u.client.post_json("/batch", &body).await.unwrap();
    (r.status, r.json().unwrap_or(Value::Null))
}

/// Uploads with `Transfer-Encoding: chunked` (no Content-Length) over a plain socket, so the
/// server can only find out the size while streaming. Returns the status.
async fn chunked_upload(app: &TestApp, u: &TestUser, room: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let path = format!("/room/{room}/file");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n",
        app.addr
    );
    for (k, v) in u.client.auth_headers("POST", &path, body).unwrap() {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before the whole body is sent; write errors are fine.
    for chunk in body.chunks(16 * 1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if s.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[rstest]
#[tokio::test]
async fn oversize_upload_is_413(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn_with(be, |c| c.upload_max_bytes = 100_000).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    // Refused on Content-Length…
    let r = upload_raw(&alice, &room, &binary(100_001), None).await;
    assert_eq!(r.status, 413, "{}", r.text());
    let r = upload_raw(&alice, &room, &binary(100_000), None).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // …and while streaming a chunked body.
    assert_eq!(
        chunked_upload(&app, &alice, &room, &binary(400_000)).await,
        413
    );
    assert_eq!(
        chunked_upload(&app, &alice, &room, &binary(90_000)).await,
        201
    );
    // A batch sub-request is held to the same limit.
    let b64 = sogs_client::encoding::b64_encode(&binary(100_001));
    let (status, v) = batch(
        &alice,
        json!([{"method": "POST", "path": format!("/room/{room}/file"), "b64": b64}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v[0]["code"], 413);
    assert_eq!(stored_files(&app).len(), 2);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn upload_needs_write_and_upload(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let (code, _, err) = app
        .cli(&[
            "room",
            "add",
            "noup",
            "--name",
            "No uploads",
            "--permissions",
            "rwa",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = app
        .cli(&[
            "room",
            "add",
            "ro",
            "--name",
            "Read only",
            "--permissions",
            "rua",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    let open = app.room("open").await;
    let alice = app.user(1);
    let r = upload_raw(&alice, "noup", b"data", None).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = upload_raw(&alice, "ro", b"data", None).await;
    assert_eq!(r.status, 403, "{}", r.text());
    // Anonymous → 401; empty body → 400.
    let r = app
        .anon()
        .request(
            "POST",
            &format!("/room/{open}/file"),
            Some((b"data", "application/octet-stream")),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    let r = upload_raw(&alice, &open, b"", None).await;
    assert_eq!(r.status, 400);
    // A moderator may upload where others may not.
    app.make_mod(2, "noup", false).await;
    let r = upload_raw(&app.user(2), "noup", b"data", None).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(stored_files(&app).len(), 1);
    app.shutdown().await;
}

/// Posts `text` with `files` attached; returns the message id.
async fn post_with_files(u: &TestUser, room: &str, text: &str, files: Value) -> i64 {
    let mut body = u.post_body(text);
    body["files"] = files;
    let r = u
        .client
        .post_json(&format!("/room/{room}/message"), &body)
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    r.json::<Value>().unwrap()["id"].as_i64().unwrap()
}

async fn status_of(u: &TestUser, room: &str, id: i64) -> u16 {
    u.client
        .get(&format!("/room/{room}/file/{id}"))
        .await
        .unwrap()
        .status
}

#[rstest]
#[tokio::test]
async fn expiry_attachments_and_cleanup(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.room("other").await;
    let alice = app.user(1);
    let bob = app.user(2);
    let up = |u: &TestUser, room: &'static str, name: &'static str| {
        let c = u.client.clone();
        async move { c.upload_file(room, b"bytes", Some(name)).await.unwrap() }
    };
    let lonely = up(&alice, "lobby", "lonely").await;
    let attached = up(&alice, "lobby", "attached").await;
    let by_edit = up(&alice, "lobby", "edit").await;
    let bobs = up(&bob, "lobby", "bobs").await;
    let elsewhere = up(&alice, "other", "elsewhere").await;
    let stale = up(&alice, "lobby", "stale").await;

    // Attach on post: ids as strings or numbers; other users' files and other rooms' files
    // are silently ignored.
    app.clock.advance(1800.0);
    let late = up(&alice, "lobby", "late").await;
    let msg = post_with_files(
        &alice,
        &room,
        "with files",
        json!([attached.to_string(), bobs, elsewhere, late]),
    )
    .await;
    // Attach on edit.
    let mut edit = alice.post_body("edited");
    edit["files"] = json!([by_edit]);
    let r = alice
        .client
        .put_json(&format!("/room/{room}/message/{msg}"), &edit)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // An attached file reports its new expiry: now + 15 days.
    let r = alice
        .client
        .get(&format!("/room/{room}/file/{attached}"))
        .await
        .unwrap();
    assert_eq!(r.headers["expires"], "Mon, 30 Jun 2025 15:36:40 GMT");
    // Files uploaded more than an hour ago cannot be attached.
    app.clock.advance(1801.0);
    let msg2 = post_with_files(&alice, &room, "too late", json!([stale])).await;
    assert!(msg2 > msg);

    // Past the hour: the unattached uploads are gone for downloads, bytes still on disk…
    for id in [lonely, bobs, stale] {
        assert_eq!(status_of(&alice, &room, id).await, 404, "file {id}");
    }
    assert_eq!(status_of(&alice, "other", elsewhere).await, 404);
    for id in [attached, by_edit, late] {
        assert_eq!(status_of(&alice, &room, id).await, 200, "file {id}");
    }
    assert_eq!(stored_files(&app).len(), 7);
    // …until the cleanup deletes rows and bytes.
    let report = sogs_server::cleanup::run_once(&app.state).await.unwrap();
    assert_eq!(report.files, 4);
    assert_eq!(
        stored_files(&app),
        vec![
            format!("lobby/{attached}_attached"),
            format!("lobby/{by_edit}_edit"),
            format!("lobby/{late}_late"),
        ]
    );
    assert!(app.state.db.file_by_id(lonely).await.unwrap().is_none());

    // Deleting the message releases its files at once.
    let r = alice
        .client
        .delete(&format!("/room/{room}/message/{msg}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(status_of(&alice, &room, attached).await, 404);
    let report = sogs_server::cleanup::run_once(&app.state).await.unwrap();
    assert_eq!(report.files, 3);
    assert!(stored_files(&app).is_empty());
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn attached_files_expire_after_upload_expiry(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let f = alice.client.upload_file(&room, b"1", None).await.unwrap();
    let pinned = alice.client.upload_file(&room, b"2", None).await.unwrap();
    post_with_files(&alice, &room, "a", json!([f])).await;
    let pinned_msg = post_with_files(&alice, &room, "b", json!([pinned])).await;
    // Pin the second message (the pin routes belong to moderation; the row is what counts).
    let author = user_id(&app, &alice).await;
    sql(
        &app,
        &format!("INSERT INTO pinned_messages (room, message, pinned_by, pinned_at) SELECT room, id, {author}, 1 FROM messages WHERE id = CAST($1 AS BIGINT)"),
        &pinned_msg.to_string(),
    )
    .await;
    app.clock.advance(15.0 * 86400.0 - 10.0);
    assert_eq!(status_of(&alice, &room, f).await, 200);
    app.clock.advance(20.0);
    assert_eq!(status_of(&alice, &room, f).await, 404);
    assert_eq!(status_of(&alice, &room, pinned).await, 200);
    let report = sogs_server::cleanup::run_once(&app.state).await.unwrap();
    assert_eq!(report.files, 1);
    assert_eq!(
        stored_files(&app),
        vec![format!("lobby/{pinned}_(unnamed)")]
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn upload_expiry_zero_means_never(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn_with(be, |c| c.upload_expiry_secs = None).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let f = alice.client.upload_file(&room, b"1", None).await.unwrap();
    let g = alice.client.upload_file(&room, b"2", None).await.unwrap();
    post_with_files(&alice, &room, "a", json!([f])).await;
    app.clock.advance(400.0 * 86400.0);
    let r = alice
        .client
        .get(&format!("/room/{room}/file/{f}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(!r.headers.contains_key("expires"));
    assert_eq!(
        r.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(status_of(&alice, &room, g).await, 404);
    assert_eq!(
        sogs_server::cleanup::run_once(&app.state)
            .await
            .unwrap()
            .files,
        1
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn room_image_survives_expiry(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    app.make_mod(1, &room, true).await;
    let admin = app.user(1);
    let img = admin
        .client
        .upload_file(&room, b"\x89PNG fake", Some("logo.png"))
        .await
        .unwrap();
    let r = admin
        .client
        .put_json(&format!("/room/{room}"), &json!({ "image": img }))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, info) = admin.get_json(&format!("/room/{room}")).await;
    assert_eq!(info["image_id"], json!(img));
    app.clock.advance(30.0 * 86400.0);
    sogs_server::cleanup::run_once(&app.state).await.unwrap();
    let d = app
        .anon()
        .get(&format!("/room/{room}/file/{img}"))
        .await
        .unwrap();
    assert_eq!((d.status, d.body.as_slice()), (200, &b"\x89PNG fake"[..]));
    assert!(!d.headers.contains_key("expires"));

    // The operator sets a new image from a file; the old one expires and is cleaned up.
    let path = app.dir.path().join("new logo 🎨.png");
    // a text file is refused as a room image; a real PNG header is accepted
    std::fs::write(&path, b"new image bytes").unwrap();
    let (code, _, err) = app
        .cli(&["room", "update", "lobby", "--image", path.to_str().unwrap()])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("not a PNG, JPEG, GIF or WebP image"), "{err}");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR new image bytes").unwrap();
    let (code, out, err) = app
        .cli(&["room", "update", "lobby", "--image", path.to_str().unwrap()])
        .await;
    assert_eq!(code, 0, "{err}");
    let (_, info) = admin.get_json(&format!("/room/{room}")).await;
    let new_img = info["image_id"].as_i64().unwrap();
    assert_ne!(new_img, img);
    assert_eq!(
        out.trim(),
        format!("updated room lobby: image=file {new_img}")
    );
    let d = admin.client.download_file(&room, new_img).await.unwrap();
    assert_eq!(d.bytes, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR new image bytes");
    assert_eq!(d.filename.as_deref(), Some("new logo 🎨.png"));
    assert_eq!(status_of(&admin, &room, img).await, 404);
    app.clock.advance(30.0 * 86400.0);
    assert_eq!(
        sogs_server::cleanup::run_once(&app.state)
            .await
            .unwrap()
            .files,
        1
    );
    assert_eq!(
        stored_files(&app),
        vec![format!("lobby/{new_img}_new_logo_.png")]
    );
    assert_eq!(status_of(&admin, &room, new_img).await, 200);
    assert!(upload_path(&app, &format!("lobby/{new_img}_new_logo_.png")).exists());

    // Bad uses of the command.
    let (code, _, err) = app.cli(&["room", "update", "lobby"]).await;
    assert_eq!(code, 2, "nothing to change is a usage error");
    assert!(err.contains("nothing to change"), "{err}");
    let (code, _, err) = app
        .cli(&["room", "update", "nope", "--image", path.to_str().unwrap()])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("no room `nope`"), "{err}");
    let (code, _, err) = app
        .cli(&["room", "update", "lobby", "--image", "/does/not/exist"])
        .await;
    assert_eq!(code, 1, "{err}");
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn downloads_need_read(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let (code, _, err) = app
        .cli(&["room", "add", "secret", "--name", "S", "--permissions", "a"])
        .await;
    assert_eq!(code, 0, "{err}");
    app.make_mod(1, "secret", false).await;
    let m = app.user(1);
    let id = m
        .client
        .upload_file("secret", b"hidden", None)
        .await
        .unwrap();
    let r = m
        .client
        .get(&format!("/room/secret/file/{id}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["cache-control"],
        "private, max-age=3600, immutable"
    );
    let r = app
        .user(2)
        .client
        .get(&format!("/room/secret/file/{id}"))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn cleanup_sweeps_stale_temp_files(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let tmp = app.config.data_dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let stale = tmp.join(".upload-crashed");
    let fresh = tmp.join(".upload-in-flight");
    std::fs::write(&stale, b"partial").unwrap();
    std::fs::write(&fresh, b"partial").unwrap();
    let seven_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(seven_hours_ago)
        .unwrap();
    let report = sogs_server::cleanup::run_once(&app.state).await.unwrap();
    assert_eq!(report.temp_files, 1);
    assert!(!stale.exists());
    assert!(fresh.exists());
    app.shutdown().await;
}
