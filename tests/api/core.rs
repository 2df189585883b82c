//! Rooms, messages, polling, auth and batch.

use rstest::rstest;
use serde_json::json;
use sogs_tests::{message_text, Backend, TestApp};

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
    let (status, recent) = alice
        .get_json(&format!("/room/{room}/messages/recent"))
        .await;
    assert_eq!(status, 200);
    let recent = recent.as_array().unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0]["data"], posted["data"]);
    assert_eq!(message_text(&recent[0]), "hello world");
    app.shutdown().await;
}
