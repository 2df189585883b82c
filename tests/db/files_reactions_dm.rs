//! Direct calls into the files, reactions and inbox `Db` methods, on SQLite and PostgreSQL.

use rstest::rstest;
use sogs_server::db::files::NewFile;
use sogs_server::db::inbox::Mailbox;
use sogs_server::db::messages::NewMessage;
use sogs_server::db::reactions::{ReactionChange, ReactionError};
use sogs_server::db::rooms::RoomDefaults;
use sogs_server::db::Db;
use sogs_tests::{Backend, TestApp};

const ALL: RoomDefaults = RoomDefaults {
    read: true,
    accessible: true,
    write: true,
    upload: true,
};

async fn setup(db: &Db) -> (i64, i64, i64) {
    let room = db
        .create_room("r", "R", None, ALL, 1.0)
        .await
        .unwrap()
        .unwrap()
        .id;
    let a = db
        .ensure_user(&format!("15{}", "aa".repeat(32)), 1.0, false, None)
        .await
        .unwrap()
        .id;
    let b = db
        .ensure_user(&format!("15{}", "bb".repeat(32)), 1.0, false, None)
        .await
        .unwrap()
        .id;
    (room, a, b)
}

async fn post(db: &Db, room: i64, author: i64) -> i64 {
    db.insert_message(&NewMessage {
        room,
        author,
        data: b"d",
        signature: &[0; 64],
        whisper_to: None,
        whisper_mods: false,
        filtered: false,
        now: 10.0,
    })
    .await
    .unwrap()
    .id
}

#[rstest]
#[tokio::test]
async fn file_rows_attach_and_expire(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let db = &app.state.db;
    let (room, a, b) = setup(db).await;
    let new = |uploader, filename| NewFile {
        room,
        uploader: Some(uploader),
        size: 3,
        uploaded: 100.0,
        expiry: Some(3700.0),
        filename,
    };
    let f1 = db
        .insert_file(&new(a, Some("x y")), |id| format!("r/{id}_x_y"))
        .await
        .unwrap();
    assert_eq!(f1.path, format!("r/{}_x_y", f1.id));
    assert_eq!(f1.filename.as_deref(), Some("x y"));
    let f2 = db
        .insert_file(&new(b, None), |id| format!("r/{id}"))
        .await
        .unwrap();
    let msg = post(db, room, a).await;
    // Only a's own file attaches.
    let n = db
        .attach_files(room, a, msg, &[f1.id, f2.id], 200.0, Some(9999.0))
        .await
        .unwrap();
    assert_eq!(n, 1);
    let got = db.file_by_id(f1.id).await.unwrap().unwrap();
    assert_eq!((got.message, got.expiry), (Some(msg), Some(9999.0)));
    // Attaching again does nothing (already attached).
    assert_eq!(
        db.attach_files(room, a, msg, &[f1.id], 200.0, None)
            .await
            .unwrap(),
        0
    );
    assert!(db.live_file(room, f2.id, 3699.0).await.unwrap().is_some());
    assert!(db.live_file(room, f2.id, 3700.0).await.unwrap().is_none());
    assert!(db.live_file(room + 1, f1.id, 0.0).await.unwrap().is_none());
    assert_eq!(
        db.take_expired_files(5000.0, 10).await.unwrap(),
        vec![f2.path.clone()]
    );
    assert!(db.take_expired_files(5000.0, 10).await.unwrap().is_empty());
    db.delete_file_row(f1.id).await.unwrap();
    assert!(db.file_by_id(f1.id).await.unwrap().is_none());
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn reaction_rows(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let db = &app.state.db;
    let (room, a, b) = setup(db).await;
    let msg = post(db, room, a).await; // seqno 1
    let ok = |changed, seqno| Ok(ReactionChange { changed, seqno });
    assert_eq!(
        db.add_reaction(room, msg, a, "x", 5.0, 2).await.unwrap(),
        ok(1, 2)
    );
    assert_eq!(
        db.add_reaction(room, msg, a, "x", 6.0, 2).await.unwrap(),
        ok(0, 2)
    );
    assert_eq!(
        db.add_reaction(room, msg, b, "x", 4.0, 2).await.unwrap(),
        ok(1, 3)
    );
    assert_eq!(
        db.add_reaction(room, msg, b, "y", 7.0, 2).await.unwrap(),
        ok(1, 4)
    );
    assert_eq!(
        db.add_reaction(room, msg, b, "z", 7.0, 2).await.unwrap(),
        Err(ReactionError::TooManyReactions)
    );
    assert_eq!(
        db.add_reaction(room, 999, b, "z", 7.0, 2).await.unwrap(),
        Err(ReactionError::NotFound)
    );
    let list = db.reaction_reactors(msg, "x", None).await.unwrap();
    let ids: Vec<f64> = list.iter().map(|(_, at)| *at).collect();
    assert_eq!(ids, vec![4.0, 5.0]);
    assert_eq!(
        db.reaction_reactors(msg, "x", Some(1)).await.unwrap().len(),
        1
    );
    assert_eq!(
        db.remove_reactions(room, msg, Some(a), Some("y"))
            .await
            .unwrap(),
        ok(0, 4)
    );
    assert_eq!(
        db.remove_reactions(room, msg, None, None).await.unwrap(),
        ok(3, 7)
    );
    assert!(db.reactors_of(&[msg]).await.unwrap().is_empty());
    let r = db.room_by_token("r").await.unwrap().unwrap();
    assert_eq!(r.message_sequence, 7);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn inbox_rows(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let db = &app.state.db;
    let (room, a, b) = setup(db).await;
    let d1 = db.insert_dm(a, b, b"one", 10.0, 100.0).await.unwrap();
    let d2 = db.insert_dm(a, b, b"two", 20.0, 200.0).await.unwrap();
    assert_eq!(d1.sender, format!("15{}", "aa".repeat(32)));
    assert_eq!(d1.recipient, format!("15{}", "bb".repeat(32)));
    let inbox = db.dms(b, Mailbox::Inbox, 0, 10, 50.0).await.unwrap();
    assert_eq!(
        inbox.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![d1.id, d2.id]
    );
    assert_eq!(inbox[1].body, b"two");
    assert_eq!(
        db.dms(b, Mailbox::Inbox, d1.id, 10, 50.0)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        db.dms(a, Mailbox::Outbox, 0, 1, 50.0).await.unwrap().len(),
        1
    );
    assert!(db
        .dms(a, Mailbox::Inbox, 0, 10, 50.0)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        db.dms(b, Mailbox::Inbox, 0, 10, 150.0).await.unwrap().len(),
        1
    );
    assert_eq!(db.prune_dms(150.0).await.unwrap(), 1);
    assert_eq!(db.delete_inbox(b).await.unwrap(), 1);

    assert!(!db.banned_in_any_room(a).await.unwrap());
    db.set_room_ban_flag(room, a, true).await.unwrap();
    assert!(db.banned_in_any_room(a).await.unwrap());
    db.set_room_ban_flag(room, a, false).await.unwrap();
    assert!(!db.banned_in_any_room(a).await.unwrap());
    assert!(db.override_row(room, a).await.unwrap().is_none());

    db.touch_room_user(room, b, 1.0).await.unwrap();
    assert!(!db.dm_refused_by_room(a, b).await.unwrap());
    db.set_dm_members_only(room, true).await.unwrap();
    assert!(db.dm_refused_by_room(a, b).await.unwrap());
    db.touch_room_user(room, a, 1.0).await.unwrap();
    assert!(!db.dm_refused_by_room(a, b).await.unwrap());
    app.shutdown().await;
}
