//! Direct calls into `Db`, on SQLite and PostgreSQL.

use rstest::rstest;
use sogs_server::db::rooms::RoomDefaults;
use sogs_server::db::Db;
use sogs_tests::{Backend, TestApp};

const ALL: RoomDefaults = RoomDefaults {
    read: true,
    accessible: true,
    write: true,
    upload: true,
};

async fn db(app: &TestApp) -> &Db {
    &app.state.db
}

#[rstest]
#[tokio::test]
async fn rooms_are_case_insensitive_and_unique(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let db = db(&app).await;
    let r = db
        .create_room("Lobby", "L", None, ALL, 1.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.token, "Lobby");
    assert!(db
        .create_room("lobby", "x", None, ALL, 1.0)
        .await
        .unwrap()
        .is_none());
    assert_eq!(db.room_by_token("LOBBY").await.unwrap().unwrap().id, r.id);
    assert!(db.delete_room(r.id).await.unwrap());
    assert!(db.room_by_token("lobby").await.unwrap().is_none());
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn nonces_are_single_use_until_pruned(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let db = db(&app).await;
    let n = [7u8; 16];
    assert!(db.use_nonce(&n, 100.0).await.unwrap());
    assert!(!db.use_nonce(&n, 100.0).await.unwrap());
    assert_eq!(db.prune_nonces(50.0).await.unwrap(), 0);
    assert_eq!(db.prune_nonces(101.0).await.unwrap(), 1);
    assert!(db.use_nonce(&n, 200.0).await.unwrap());
    app.shutdown().await;
}
