//! The moderation `Db` methods, called directly on both engines.

use rstest::rstest;
use sogs_server::db::moderation::ModLogEntry;
use sogs_server::db::rooms::RoomDefaults;
use sogs_server::domain::moderation::PermissionChange;
use sogs_tests::{Backend, TestApp};

const ALL: RoomDefaults = RoomDefaults {
    read: true,
    accessible: true,
    write: true,
    upload: true,
};

#[rstest]
#[tokio::test]
async fn bans_overrides_futures_and_log(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let db = &app.state.db;
    let room = db
        .create_room("r", "R", None, ALL, 1.0)
        .await
        .unwrap()
        .unwrap();
    let u = db
        .ensure_user(&format!("15{}", "11".repeat(32)), 1.0, false, None)
        .await
        .unwrap();
    let sid = u.session_id.clone();

    // a room moderator who gets banned loses the role (and info_updates moves)
    db.set_room_role(room.id, u.id, true, false, true)
        .await
        .unwrap();
    let info = db.room_by_id(room.id).await.unwrap().unwrap().info_updates;
    assert!(db.ban_in_room(room.id, u.id, Some(100.0)).await.unwrap());
    let o = db.override_row(room.id, u.id).await.unwrap().unwrap();
    assert!(o.banned && !o.moderator && !o.admin);
    assert_eq!(
        db.room_by_id(room.id).await.unwrap().unwrap().info_updates,
        info + 1
    );
    let bans = db.bans(None).await.unwrap();
    assert_eq!(bans.len(), 1);
    assert_eq!(
        (bans[0].room.as_deref(), bans[0].until),
        (Some("r"), Some(100.0))
    );
    assert_eq!(
        db.room_ban_futures(room.id, Some(u.id))
            .await
            .unwrap()
            .len(),
        1
    );
    // re-ban without timeout: permanent, schedule gone
    assert!(!db.ban_in_room(room.id, u.id, None).await.unwrap());
    assert!(db.room_ban_futures(room.id, None).await.unwrap().is_empty());
    assert!(db.unban_in_room(room.id, u.id).await.unwrap());
    assert!(db.override_row(room.id, u.id).await.unwrap().is_none());
    assert!(!db.unban_in_room(room.id, u.id).await.unwrap());

    // global
    assert!(db.ban_global(u.id, Some(50.0)).await.unwrap());
    assert_eq!(db.bans(Some(room.id)).await.unwrap()[0].until, Some(50.0));
    let applied = db.apply_due_futures(49.0).await.unwrap();
    assert!(applied.bans.is_empty());
    let applied = db.apply_due_futures(50.0).await.unwrap();
    assert_eq!(applied.bans, vec![(None, sid.clone(), false)]);
    assert!(!db.user_by_id(u.id).await.unwrap().unwrap().banned);
    assert!(db.ban_global(u.id, None).await.unwrap());
    assert!(db.unban_global(u.id).await.unwrap());
    db.set_global_role(u.id, true, false, false).await.unwrap();
    assert!(
        !db.ban_global(u.id, None).await.unwrap(),
        "global moderators cannot be banned"
    );
    db.set_global_role(u.id, false, false, false).await.unwrap();

    // overrides and futures
    let change = PermissionChange {
        write: Some(Some(false)),
        read: Some(None),
        unschedule: true,
        ..PermissionChange::default()
    };
    let o = db
        .set_permissions(room.id, u.id, &change)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((o.perm_write, o.perm_read), (Some(false), None));
    assert_eq!(db.room_overrides(room.id).await.unwrap()[0].session_id, sid);
    db.add_permission_future(room.id, u.id, 10.0, [Some(true), Some(true), None])
        .await
        .unwrap();
    db.add_permission_future(room.id, u.id, 5.0, [None, None, Some(false)])
        .await
        .unwrap();
    let f = db.permission_futures(room.id, None).await.unwrap();
    assert_eq!(f.iter().map(|f| f.at).collect::<Vec<_>>(), vec![5.0, 10.0]);
    let applied = db.apply_due_futures(20.0).await.unwrap();
    assert_eq!(applied.permissions.len(), 2);
    let o = db.override_row(room.id, u.id).await.unwrap().unwrap();
    assert_eq!(
        (o.perm_read, o.perm_write, o.perm_upload),
        (None, None, Some(false))
    );
    assert!(db
        .permission_futures(room.id, Some(u.id))
        .await
        .unwrap()
        .is_empty());

    // room settings and first post
    db.set_room_rate_limit(room.id, Some((3, 7.5)))
        .await
        .unwrap();
    db.set_room_filters(room.id, Some("{\"words\":[\"x\"]}"))
        .await
        .unwrap();
    let r = db.room_by_id(room.id).await.unwrap().unwrap();
    assert_eq!(
        (r.rate_limit_posts, r.rate_limit_interval),
        (Some(3), Some(7.5))
    );
    assert_eq!(r.filters.as_deref(), Some("{\"words\":[\"x\"]}"));
    db.set_room_rate_limit(room.id, None).await.unwrap();
    db.set_room_filters(room.id, None).await.unwrap();
    assert_eq!(db.room_by_id(room.id).await.unwrap().unwrap().filters, None);
    assert_eq!(db.first_post_at(room.id, u.id).await.unwrap(), None);

    // log
    for (i, action) in ["ban", "unban"].iter().enumerate() {
        let e = ModLogEntry {
            actor: "cli",
            action,
            room: Some("r"),
            target: Some(&sid),
            detail: None,
        };
        db.log_moderation(i as f64, &e).await.unwrap();
    }
    let log = db.moderation_log(Some("R"), 10).await.unwrap();
    assert_eq!(
        log.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        ["unban", "ban"]
    );
    assert_eq!(db.moderation_log(None, 1).await.unwrap().len(), 1);
    assert!(db
        .moderation_log(Some("other"), 10)
        .await
        .unwrap()
        .is_empty());
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn pins_and_delete_all(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let db = &app.state.db;
    let room = db
        .create_room("r", "R", None, ALL, 1.0)
        .await
        .unwrap()
        .unwrap();
    let u = db
        .ensure_user(&format!("15{}", "22".repeat(32)), 1.0, false, None)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for t in [2.0, 3.0] {
        let m = sogs_server::db::messages::NewMessage {
            room: room.id,
            author: u.id,
            data: b"data",
            signature: &[0u8; 64],
            whisper_to: None,
            whisper_mods: false,
            filtered: false,
            now: t,
        };
        ids.push(db.insert_message(&m).await.unwrap().id);
    }
    assert_eq!(db.first_post_at(room.id, u.id).await.unwrap(), Some(2.0));
    let i1 = db.pin_message(room.id, ids[0], u.id, 5.0).await.unwrap();
    let i2 = db.pin_message(room.id, ids[1], u.id, 6.0).await.unwrap();
    assert_eq!(i2, i1 + 1);
    assert_eq!(db.pinned_messages(room.id).await.unwrap().len(), 2);
    assert_eq!(
        db.unpin(room.id, Some(9999), Some(10.0)).await.unwrap(),
        (0, i2)
    );
    assert_eq!(
        db.unpin(room.id, Some(ids[0]), Some(10.0)).await.unwrap(),
        (1, i2 + 1)
    );
    assert_eq!(db.unpin(room.id, None, None).await.unwrap(), (1, i2 + 2));
    assert_eq!(db.delete_all_by(room.id, u.id, 7.0).await.unwrap(), 2);
    assert_eq!(db.delete_all_by(room.id, u.id, 8.0).await.unwrap(), 0);
    app.shutdown().await;
}
