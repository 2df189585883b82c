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

#[rstest]
#[tokio::test]
async fn users_roles_and_blinding_migration(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let db = db(&app).await;
    let room = db
        .create_room("r", "R", None, ALL, 1.0)
        .await
        .unwrap()
        .unwrap();
    // a 05 user appointed before connecting, migrated when its blinded id first appears
    let old = db
        .ensure_user(&format!("05{}", "11".repeat(32)), 5.0, false, None)
        .await
        .unwrap();
    db.set_room_role(room.id, old.id, true, true, false)
        .await
        .unwrap();
    db.set_global_role(old.id, true, false, true).await.unwrap();
    let abs = format!("15{}", "22".repeat(32));
    db.add_needs_blinding(&abs, old.id).await.unwrap();
    let new_id = format!("15{}", "22".repeat(31) + "a2");
    let new = db
        .ensure_user(&new_id, 9.0, true, Some(&abs))
        .await
        .unwrap();
    assert!(new.moderator && !new.admin && new.visible_mod);
    assert_eq!(new.created, 5.0);
    assert_eq!(new.appointed_as, Some(format!("05{}", "11".repeat(32))));
    let ovr = db.override_row(room.id, new.id).await.unwrap().unwrap();
    assert!(ovr.moderator && ovr.admin && !ovr.visible_mod);
    assert!(db.override_row(room.id, old.id).await.unwrap().is_none());
    let old_now = db.user_by_id(old.id).await.unwrap().unwrap();
    assert!(!old_now.moderator);
    // touching an existing user updates last_active only
    let again = db
        .ensure_user(&new_id, 12.0, true, Some(&abs))
        .await
        .unwrap();
    assert_eq!((again.id, again.last_active), (new.id, 12.0));
    // moderator list merges room and global roles
    let mods = db.room_moderators(room.id).await.unwrap();
    assert_eq!(mods.len(), 1);
    assert_eq!(mods[0].session_id, new_id);
    assert_eq!(
        db.room_appointments(room.id).await.unwrap(),
        vec![(
            new_id.clone(),
            true,
            false,
            Some(format!("05{}", "11".repeat(32)))
        )]
    );
    assert_eq!(db.global_moderators().await.unwrap().len(), 1);
    // info_updates: 1 for a new room, then one per role change (room: appointment; global:
    // every room), and the migration changed both lists (room and global role): 2 more
    let info = db.room_by_id(room.id).await.unwrap().unwrap().info_updates;
    assert_eq!(info, 5);
    // removing the last role deletes the empty override row
    db.set_room_role(room.id, new.id, false, false, true)
        .await
        .unwrap();
    assert!(db.override_row(room.id, new.id).await.unwrap().is_none());
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn message_sequence_and_history(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    use sogs_server::db::messages::{NewMessage, Viewer};
    let app = TestApp::spawn(be).await;
    let db = db(&app).await;
    let room = db
        .create_room("m", "M", None, ALL, 1.0)
        .await
        .unwrap()
        .unwrap();
    let u = db
        .ensure_user(&format!("15{}", "33".repeat(32)), 1.0, false, None)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..3u8 {
        let m = db
            .insert_message(&NewMessage {
                room: room.id,
                author: u.id,
                data: &[i, 0x80],
                signature: &[i; 64],
                whisper_to: None,
                whisper_mods: false,
                filtered: false,
                now: 10.0 + f64::from(i),
            })
            .await
            .unwrap();
        assert_eq!(m.seqno, i64::from(i) + 1);
        ids.push(m.id);
    }
    let first = db.message_by_id(ids[0]).await.unwrap().unwrap();
    assert!(db
        .edit_message(&first, &[9, 9], &[1; 64], 20.0)
        .await
        .unwrap());
    assert!(!db
        .edit_message(
            &db.message_by_id(ids[0]).await.unwrap().unwrap(),
            &[9, 9],
            &[2; 64],
            21.0
        )
        .await
        .unwrap());
    let edited = db.message_by_id(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (edited.seqno, edited.seqno_data, edited.edited),
        (4, 4, Some(20.0))
    );
    assert_eq!(edited.signature, Some(vec![2; 64]));
    assert_eq!(
        db.delete_messages(&[ids[1], ids[1]], 30.0).await.unwrap(),
        1
    );
    let gone = db.message_by_id(ids[1]).await.unwrap().unwrap();
    assert!(gone.is_deleted() && gone.signature.is_none());
    assert_eq!(gone.seqno, 5);
    let viewer = Viewer::default();
    let since: Vec<i64> = db
        .messages_since(room.id, 2, false, viewer, 100)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(since, vec![ids[2], ids[0], ids[1]]);
    let recent: Vec<i64> = db
        .messages_recent(room.id, None, viewer, 100)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(recent, vec![ids[2], ids[0]]);
    assert_eq!(
        db.live_message_ids_by(room.id, u.id).await.unwrap(),
        vec![ids[0], ids[2]]
    );
    assert!(db.reactors_of(&ids).await.unwrap().is_empty());
    // history: one edit + one deletion, pruned by age
    assert_eq!(db.prune_history(25.0).await.unwrap(), 1);
    assert_eq!(db.prune_history(31.0).await.unwrap(), 1);
    assert_eq!(
        db.room_by_id(room.id)
            .await
            .unwrap()
            .unwrap()
            .message_sequence,
        5
    );
    // activity counts
    db.touch_room_user(room.id, u.id, 100.0).await.unwrap();
    db.refresh_active_users(50.0, 0.0).await.unwrap();
    assert_eq!(
        db.room_by_id(room.id).await.unwrap().unwrap().active_users,
        1
    );
    db.refresh_active_users(150.0, 120.0).await.unwrap();
    assert_eq!(
        db.room_by_id(room.id).await.unwrap().unwrap().active_users,
        0
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn room_update_counts_changes(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    use sogs_server::db::rooms::{RoomUpdate, RoomUpdateError};
    let app = TestApp::spawn(be).await;
    let db = db(&app).await;
    let room = db
        .create_room("u", "U", Some("d"), ALL, 1.0)
        .await
        .unwrap()
        .unwrap();
    let upd = RoomUpdate {
        name: Some("U".into()),
        description: Some(None),
        default_upload: Some(false),
        ..Default::default()
    };
    // a new room starts at 1; the description change adds 1, the same name and defaults nothing
    assert_eq!(db.update_room(room.id, &upd, 2.0).await.unwrap(), Ok(2));
    let r = db.room_by_id(room.id).await.unwrap().unwrap();
    assert_eq!(
        (r.description, r.default_upload, r.default_read),
        (None, false, true)
    );
    let img = RoomUpdate {
        image: Some(42),
        ..Default::default()
    };
    assert_eq!(
        db.update_room(room.id, &img, 2.0).await.unwrap(),
        Err(RoomUpdateError::ImageNotInRoom)
    );
    let rooms = db.rooms().await.unwrap();
    assert_eq!(rooms.len(), 1);
    app.shutdown().await;
}
