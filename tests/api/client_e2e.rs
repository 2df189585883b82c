//! The client library against the real server: joining by URL, posting, reading, editing,
//! deleting, reacting, files, blinded DMs, and a `Poller` that sees every event in order.

use rstest::rstest;
use sogs_client::client::Transport;
use sogs_client::community::{Community, CommunityError};
use sogs_client::ids::SessionId;
use sogs_client::onion_client::OnionNode;
use sogs_client::poller::{Event, Poller};
use sogs_client::types::RoomMessage;
use sogs_client::url::CommunityUrl;
use sogs_tests::{Backend, TestApp};

/// The join URL the server's CLI prints for a room: `http://127.0.0.1:PORT/{token}?public_key=…`.
async fn join_url(app: &TestApp, token: &str) -> String {
    let (code, out, err) = app.cli(&["url", token]).await;
    assert_eq!(code, 0, "{err}");
    out.trim().to_owned()
}

/// Identity `seed` named `name`, joined to the room of `url` with the test clock.
async fn member(app: &TestApp, seed: u8, name: &str, url: &str) -> Community {
    let identity = TestApp::identity(seed).with_display_name(name).unwrap();
    let url = CommunityUrl::parse(url).unwrap();
    let mut c = Community::with_client(app.anon(), identity);
    c.join(&url).await.unwrap();
    c
}

fn new_message(events: &[Event]) -> &RoomMessage {
    match events {
        [Event::NewMessage(m)] => m,
        other => panic!("expected one NewMessage, got {other:?}"),
    }
}

#[rstest]
#[tokio::test]
async fn join_post_read_edit_delete(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("Lobby").await;
    let url = join_url(&app, "Lobby").await;
    assert!(url.starts_with(&format!("{}/Lobby?public_key=", app.base_url)));
    // Join with the token in another case: the server's spelling replaces it.
    let lower = url.replace("/Lobby?", "/lobby?");
    let alice = member(&app, 1, "Alice", &lower).await;
    let bob = member(&app, 2, "Bob", &url).await;
    let state = alice.state();
    assert_eq!(state.capabilities, vec!["blind", "reactions", "sogs"]);
    assert!(alice.blind());
    assert_eq!(state.rooms.len(), 1);
    assert_eq!(state.rooms[0].token, "Lobby");
    assert_eq!(state.rooms[0].info.name, "Room Lobby");
    assert!(state.rooms[0].info.write);
    assert_eq!(state.rooms[0].seqno, None);
    assert_eq!(alice.my_id().to_string(), app.user(1).id());

    let posted = alice.post("lobby", "hello world").await.unwrap();
    assert_eq!(posted.text(), "hello world");
    assert_eq!(posted.display_name(), Some("Alice"));
    assert_eq!(posted.author, alice.my_id());
    assert_eq!(posted.room, "Lobby");
    assert_eq!(posted.seqno, 1);
    assert_eq!(posted.posted_ms, 1_750_000_000_000);

    app.clock.advance(2.0);
    let reply = bob.reply("Lobby", &posted, "hi alice").await.unwrap();
    let quote = reply.content.quote.as_ref().unwrap();
    assert_eq!(quote.id, posted.posted_ms);
    assert_eq!(quote.author, alice.my_id().to_string());
    // Quoting ourselves names our Session ID, as the apps do.
    assert_eq!(
        alice.quote_of(&posted).author,
        alice.identity().session_id().to_string()
    );
    let read = bob.recent("Lobby", 10).await.unwrap();
    assert!(read.dropped.is_empty());
    let texts: Vec<&str> = read.messages.iter().map(|m| m.text()).collect();
    assert_eq!(texts, vec!["hello world", "hi alice"]);
    assert_eq!(read.messages[0].author, alice.my_id());
    assert_eq!(read.messages[1].author, bob.my_id());
    assert_eq!(read.messages[1].content.quote.as_ref(), Some(quote));
    assert_eq!(bob.recent("Lobby", 1).await.unwrap().messages.len(), 1);

    app.clock.advance(2.0);
    alice
        .edit("Lobby", posted.id, "hello world (edited)")
        .await
        .unwrap();
    let one = bob.message("Lobby", posted.id).await.unwrap();
    assert_eq!(one.text(), "hello world (edited)");
    assert_eq!(one.edited_ms, Some(1_750_000_004_000));
    assert_eq!(one.posted_ms, 1_750_000_000_000);
    // Only the author may edit; only the author (or a moderator) may delete.
    let err = bob.edit("Lobby", posted.id, "nope").await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    let err = bob.delete("Lobby", posted.id).await.unwrap_err();
    assert_eq!(err.status(), Some(403));

    alice.delete("Lobby", posted.id).await.unwrap();
    let texts: Vec<String> = bob
        .recent("Lobby", 10)
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.text().to_owned())
        .collect();
    assert_eq!(texts, vec!["hi alice"]);
    assert_eq!(
        bob.message("Lobby", posted.id).await.unwrap_err().status(),
        Some(404)
    );
    // Unknown room names are refused locally.
    assert!(matches!(
        bob.post("nope", "x").await,
        Err(CommunityError::UnknownRoom(_))
    ));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn join_errors(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let url = join_url(&app, "lobby").await;
    // A room that does not exist: 404 from GET /room/{token}.
    let missing = CommunityUrl::parse(&url.replace("/lobby?", "/nothere?")).unwrap();
    let mut c = Community::with_client(app.anon(), TestApp::identity(1));
    let err = c.join(&missing).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(c.state().rooms.is_empty());
    // The wrong server key: the blinded signature is over another key, so auth fails.
    let wrong_key = format!("{}/lobby?public_key={}", app.base_url, "11".repeat(32));
    let wrong = CommunityUrl::parse(&wrong_key).unwrap();
    let clock = app.clock.clone();
    let client = sogs_client::client::SogsClient::new(&app.base_url, [0x11; 32])
        .with_time_source(std::sync::Arc::new(move || clock.now() as i64));
    let mut c = Community::with_client(client, TestApp::identity(1));
    let err = c.join(&wrong).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    // A URL for another server is refused before any request.
    let mut c = Community::with_client(app.anon(), TestApp::identity(1));
    let other = CommunityUrl::parse(
        "http://example.org/lobby?public_key=a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238",
    )
    .unwrap();
    assert!(matches!(
        c.join(&other).await,
        Err(CommunityError::WrongServer { .. })
    ));
    app.shutdown().await;
}

/// Posts, edits, reactions, room-info changes, DMs and deletions, each seen by Bob's poller
/// as exactly one event of the right kind, in order.
#[rstest]
#[tokio::test]
async fn poller_observes_every_event_in_order(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    app.room("Lobby").await;
    let url = join_url(&app, "Lobby").await;
    let alice = member(&app, 1, "Alice", &url).await;
    let bob = member(&app, 2, "Bob", &url).await;
    let bob_session = bob.identity().session_id();
    let alice_id = alice.my_id();
    let bob_id = bob.my_id();
    let mut poller = Poller::new(bob);

    // Empty room: nothing, and the cursor stays unset (next poll asks for `recent` again).
    assert_eq!(poller.poll_now().await.unwrap(), vec![]);
    assert_eq!(poller.community().state().rooms[0].seqno, None);

    // 1. New message.
    let posted = alice.post("Lobby", "hello bob").await.unwrap();
    let events = poller.poll_now().await.unwrap();
    let m = new_message(&events);
    assert_eq!(m.id, posted.id);
    assert_eq!(m.text(), "hello bob");
    assert_eq!(m.display_name(), Some("Alice"));
    assert_eq!(m.author, alice_id);
    assert_eq!(m.edited_ms, None);
    assert_eq!(poller.community().state().rooms[0].seqno, Some(1));

    // 2. Edit.
    app.clock.advance(1.0);
    alice
        .edit("Lobby", posted.id, "hello bob (edited)")
        .await
        .unwrap();
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::Edit(m)] => {
            assert_eq!(m.id, posted.id);
            assert_eq!(m.text(), "hello bob (edited)");
            assert_eq!(m.edited_ms, Some(1_750_000_001_000));
        }
        other => panic!("expected Edit, got {other:?}"),
    }
    assert_eq!(poller.community().state().rooms[0].seqno, Some(2));

    // 3. Reactions: Bob's own and Alice's arrive as one reaction-only update.
    let r = poller
        .community()
        .react("Lobby", posted.id, "👍")
        .await
        .unwrap();
    assert!(r.changed);
    assert_eq!(r.seqno, 3);
    let again = poller
        .community()
        .react("Lobby", posted.id, "👍")
        .await
        .unwrap();
    assert!(!again.changed);
    alice.react("Lobby", posted.id, "🎂").await.unwrap();
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::ReactionChange {
            id,
            seqno,
            reactions,
            ..
        }] => {
            assert_eq!(*id, posted.id);
            assert_eq!(*seqno, 4);
            assert_eq!(reactions.len(), 2);
            assert_eq!(reactions["👍"].count, 1);
            assert!(reactions["👍"].you);
            assert_eq!(reactions["👍"].reactors, vec![bob_id.to_string()]);
            assert_eq!(reactions["👍"].index, 0);
            assert_eq!(reactions["🎂"].count, 1);
            assert!(!reactions["🎂"].you);
            assert_eq!(reactions["🎂"].index, 1);
        }
        other => panic!("expected ReactionChange, got {other:?}"),
    }
    let r = poller
        .community()
        .unreact("Lobby", posted.id, "👍")
        .await
        .unwrap();
    assert!(r.changed);
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::ReactionChange { reactions, .. }] => {
            assert!(reactions.get("👍").is_none_or(|r| r.count == 0));
            assert_eq!(reactions["🎂"].count, 1);
        }
        other => panic!("expected ReactionChange, got {other:?}"),
    }

    // 4. Room info change (a moderator appointment bumps info_updates).
    let before = poller.community().state().rooms[0].info.info_updates;
    app.make_mod(3, "Lobby", false).await;
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::RoomInfoChanged {
            room,
            previous_info_updates,
            info,
        }] => {
            assert_eq!(room, "Lobby");
            assert_eq!(*previous_info_updates, before);
            assert!(info.info_updates > before);
            assert_eq!(info.moderators, vec![app.user(3).id()]);
        }
        other => panic!("expected RoomInfoChanged, got {other:?}"),
    }
    assert_eq!(
        poller.community().state().rooms[0].info.moderators,
        vec![app.user(3).id()]
    );

    // 5. A DM from Alice to Bob's Session ID (05): sent to the blinded id the server knows.
    let sent = alice.send_dm(&bob_session, "psst").await.unwrap();
    assert_eq!(sent.recipient, bob_id);
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::DirectMessage(dm)] => {
            assert!(!dm.outgoing);
            assert_eq!(dm.id, sent.id);
            assert_eq!(dm.text(), "psst");
            assert_eq!(dm.sender, alice_id);
            assert_eq!(dm.recipient, bob_id);
            assert_eq!(dm.sender_session_id, alice.identity().session_id());
            assert_eq!(dm.content.display_name.as_deref(), Some("Alice"));
        }
        other => panic!("expected DirectMessage, got {other:?}"),
    }
    // Bob answers to Alice's blinded id; his poller sees it in the outbox.
    let reply = poller
        .community()
        .send_dm(&alice_id, "hi alice")
        .await
        .unwrap();
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::DirectMessage(dm)] => {
            assert!(dm.outgoing);
            assert_eq!(dm.id, reply.id);
            assert_eq!(dm.text(), "hi alice");
            assert_eq!(dm.recipient, alice_id);
            assert_eq!(dm.sender_session_id, bob_session);
        }
        other => panic!("expected outgoing DirectMessage, got {other:?}"),
    }

    // 6. Deletion.
    alice.delete("Lobby", posted.id).await.unwrap();
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::Deletion { room, id, .. }] => {
            assert_eq!(room, "Lobby");
            assert_eq!(*id, posted.id);
        }
        other => panic!("expected Deletion, got {other:?}"),
    }

    // Nothing further, and the saved state resumes without repeating anything.
    assert_eq!(poller.poll_now().await.unwrap(), vec![]);
    let saved = serde_json::to_string(poller.community().state()).unwrap();
    let restored = Community::from_state(
        serde_json::from_str(&saved).unwrap(),
        TestApp::identity(2).with_display_name("Bob").unwrap(),
        Some(app.anon()),
    )
    .unwrap();
    let mut poller = Poller::new(restored);
    assert_eq!(poller.poll_now().await.unwrap(), vec![]);
    app.clock.advance(1.0);
    alice.post("Lobby", "after restart").await.unwrap();
    let events = poller.poll_now().await.unwrap();
    assert_eq!(new_message(&events).text(), "after restart");
    assert!(poller.dropped().is_empty());
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn dms_both_ways_inbox_outbox(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let url = join_url(&app, "lobby").await;
    let alice = member(&app, 1, "Alice", &url).await;
    let bob = member(&app, 2, "Bob", &url).await;
    // By Session ID and by blinded id.
    let a1 = alice
        .send_dm(&bob.identity().session_id(), "one")
        .await
        .unwrap();
    let a2 = alice.send_dm(&bob.my_id(), "two").await.unwrap();
    assert_eq!(a1.recipient, bob.my_id());
    assert!(a2.id > a1.id);
    bob.send_dm(&alice.identity().session_id(), "three")
        .await
        .unwrap();

    let inbox = bob.inbox(100).await.unwrap();
    assert!(inbox.dropped.is_empty());
    let texts: Vec<&str> = inbox.messages.iter().map(|m| m.text()).collect();
    assert_eq!(texts, vec!["one", "two"]);
    assert!(inbox
        .messages
        .iter()
        .all(|m| m.sender_session_id == alice.identity().session_id() && !m.outgoing));
    let outbox = alice.outbox(100).await.unwrap();
    let texts: Vec<&str> = outbox.messages.iter().map(|m| m.text()).collect();
    assert_eq!(texts, vec!["one", "two"]);
    assert!(outbox.messages.iter().all(|m| m.outgoing));
    let alice_in = alice.inbox(100).await.unwrap();
    assert_eq!(alice_in.messages.len(), 1);
    assert_eq!(alice_in.messages[0].text(), "three");
    assert_eq!(
        alice_in.messages[0].sender_session_id,
        bob.identity().session_id()
    );

    // Someone who never used this server cannot be reached by Session ID.
    let stranger = TestApp::identity(9).session_id();
    let err = alice.send_dm(&stranger, "hello?").await.unwrap_err();
    assert!(matches!(err, CommunityError::RecipientUnknown(_)), "{err}");
    // A 00 id is not a DM target.
    let unblinded = SessionId::parse(&format!("00{}", "ab".repeat(32))).unwrap();
    assert!(matches!(
        alice.send_dm(&unblinded, "x").await,
        Err(CommunityError::Invalid(_))
    ));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn file_attachments_round_trip(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let url = join_url(&app, "lobby").await;
    let alice = member(&app, 1, "Alice", &url).await;
    let bob = member(&app, 2, "Bob", &url).await;
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let posted = alice
        .post_with_file("lobby", "see attached", bytes.clone(), "notes 🎂.bin")
        .await
        .unwrap();
    assert_eq!(posted.content.attachments.len(), 1);
    let read = bob.recent("lobby", 5).await.unwrap();
    let m = &read.messages[0];
    assert_eq!(m.text(), "see attached");
    let att = &m.content.attachments[0];
    assert_eq!(att.size, Some(5000));
    assert_eq!(att.file_name.as_deref(), Some("notes 🎂.bin"));
    let id = att.download_id().unwrap();
    assert_eq!(
        att.url.as_deref(),
        Some(format!("{}/room/lobby/file/{id}", app.base_url).as_str())
    );
    let got = bob.download_attachment("lobby", att).await.unwrap();
    assert_eq!(got.bytes, bytes);
    assert_eq!(got.filename.as_deref(), Some("notes 🎂.bin"));
    // A plain upload without a name.
    let fid = bob.upload("lobby", b"raw".to_vec(), None).await.unwrap();
    let d = alice.download("lobby", fid).await.unwrap();
    assert_eq!(d.bytes, b"raw");
    app.shutdown().await;
}

/// Rows the apps would not show are dropped and counted, not delivered.
#[rstest]
#[tokio::test]
async fn implausible_messages_are_dropped_and_counted(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let url = join_url(&app, "lobby").await;
    let alice = member(&app, 1, "Alice", &url).await;
    let bob = member(&app, 2, "Bob", &url).await;
    let mut poller = Poller::new(bob);
    assert_eq!(poller.poll_now().await.unwrap(), vec![]);
    // Validly signed, but its sigTimestamp is 7 hours before the server time.
    let mut msg = alice.compose("from the past");
    msg.timestamp_ms -= 7 * 3600 * 1000;
    // The library refuses to send it...
    assert!(matches!(
        alice.post_message("lobby", &msg).await,
        Err(CommunityError::Invalid(_))
    ));
    // ...so post it with the raw client.
    let raw = app.user(1);
    let body = msg.post_body(&raw.identity.blinded15(&app.server_pk()));
    let r = raw
        .client
        .post_json("/room/lobby/message", &body)
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    alice.post("lobby", "fine").await.unwrap();
    let events = poller.poll_now().await.unwrap();
    assert_eq!(new_message(&events).text(), "fine");
    assert_eq!(poller.dropped().len(), 1);
    assert!(poller.dropped()[0].reason.contains("6 h"));
    assert_eq!(poller.community().state().rooms[0].dropped, 1);
    // The cursor still moved past both rows.
    assert_eq!(poller.community().state().rooms[0].seqno, Some(2));
    let read = poller.community().recent("lobby", 10).await.unwrap();
    assert_eq!(read.messages.len(), 1);
    assert_eq!(read.dropped.len(), 1);
    app.shutdown().await;
}

/// On a server that does not require blinding, the client signs with its real key (`00`
/// header, `05` author id), posts verify with desktop's XEd25519 scheme, and the poll batch
/// has no inbox/outbox.
#[rstest]
#[tokio::test]
async fn unblinded_server(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn_with(be, |c| c.require_blind_keys = false).await;
    app.room("lobby").await;
    let url = join_url(&app, "lobby").await;
    let alice = member(&app, 1, "Alice", &url).await;
    let bob = member(&app, 2, "Bob", &url).await;
    assert!(!alice.blind());
    assert_eq!(alice.state().capabilities, vec!["reactions", "sogs"]);
    assert_eq!(alice.my_id(), alice.identity().session_id());
    let paths: Vec<String> = alice.batch_body().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        vec![
            "/capabilities",
            "/room/lobby/pollInfo/0",
            "/room/lobby/messages/recent?reactors=5"
        ]
    );
    let mut poller = Poller::new(bob);
    let posted = alice.post("lobby", "unblinded hello").await.unwrap();
    assert_eq!(
        posted.author.to_string(),
        alice.identity().session_id().to_string()
    );
    let events = poller.poll_now().await.unwrap();
    let m = new_message(&events);
    assert_eq!(m.text(), "unblinded hello");
    assert_eq!(m.author, alice.identity().session_id());
    assert!(matches!(
        alice.send_dm(&m.author, "x").await,
        Err(CommunityError::NoDms)
    ));
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn next_event_waits_for_the_next_poll(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    app.room("a").await;
    app.room("b").await;
    let url_a = join_url(&app, "a").await;
    let url_b = join_url(&app, "b").await;
    let alice = member(&app, 1, "Alice", &url_a).await;
    let mut bob = member(&app, 2, "Bob", &url_a).await;
    bob.join(&CommunityUrl::parse(&url_b).unwrap())
        .await
        .unwrap();
    let mut alice = alice;
    alice
        .join(&CommunityUrl::parse(&url_b).unwrap())
        .await
        .unwrap();
    alice.post("b", "in b").await.unwrap();
    alice.post("a", "in a").await.unwrap();
    let mut poller = Poller::new(bob).with_interval(std::time::Duration::from_millis(50));
    // Rooms come in join order within one poll.
    let first = poller.next_event().await.unwrap();
    let second = poller.next_event().await.unwrap();
    assert_eq!(first.room(), Some("a"));
    assert_eq!(second.room(), Some("b"));
    let waiter = tokio::spawn(async move {
        let e = poller.next_event().await.unwrap();
        (e, poller)
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.clock.advance(1.0);
    alice.post("a", "later").await.unwrap();
    let (e, _poller) = tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    match e {
        Event::NewMessage(m) => assert_eq!(m.text(), "later"),
        other => panic!("{other:?}"),
    }
    app.shutdown().await;
}

/// The same operations with every request of one user carried through three onion relays.
#[rstest]
#[tokio::test]
async fn onion_routed_community(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("Lobby").await;
    let url = join_url(&app, "Lobby").await;
    let relays = sogs_tests::start_relays(3).await;
    let nodes: Vec<OnionNode> = relays.iter().map(|r| r.node.clone()).collect();
    let identity = TestApp::identity(1).with_display_name("Alice").unwrap();
    let mut alice = Community::with_client(
        app.anon().with_transport(Transport::onion_path(nodes)),
        identity,
    );
    let joined = alice
        .join(&CommunityUrl::parse(&url.replace("/Lobby?", "/lobby?")).unwrap())
        .await
        .unwrap();
    assert_eq!(joined.token, "Lobby");
    assert!(alice.blind());
    let bob = member(&app, 2, "Bob", &url).await;

    let posted = alice.post("Lobby", "over onions").await.unwrap();
    assert_eq!(posted.author, alice.my_id());
    let read = bob.recent("Lobby", 5).await.unwrap();
    assert_eq!(read.messages[0].text(), "over onions");
    bob.react("Lobby", posted.id, "🧅").await.unwrap();
    bob.send_dm(&alice.identity().session_id(), "got it")
        .await
        .unwrap();
    let fid = alice
        .upload("Lobby", vec![7u8; 3000], Some("o.bin"))
        .await
        .unwrap();
    assert_eq!(
        bob.download("Lobby", fid).await.unwrap().bytes,
        vec![7u8; 3000]
    );

    let mut poller = Poller::new(alice);
    let events = poller.poll_now().await.unwrap();
    // First poll: `recent` (the message, with Bob's reaction), then the inbox DM.
    match events.as_slice() {
        [Event::NewMessage(m), Event::DirectMessage(dm)] => {
            assert_eq!(m.text(), "over onions");
            assert_eq!(m.reactions["🧅"].count, 1);
            assert_eq!(dm.text(), "got it");
            assert_eq!(dm.sender_session_id, bob.identity().session_id());
        }
        other => panic!("{other:?}"),
    }
    let nothing = poller
        .community()
        .unreact("Lobby", posted.id, "🧅")
        .await
        .unwrap();
    assert!(!nothing.changed);
    poller
        .community()
        .react("Lobby", posted.id, "🧅")
        .await
        .unwrap();
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::ReactionChange { reactions, .. }] => {
            assert_eq!(reactions["🧅"].count, 2);
            assert!(reactions["🧅"].you);
        }
        other => panic!("{other:?}"),
    }
    for r in &relays {
        r.stop().await;
    }
    app.shutdown().await;
}

/// `skip_history` starts the cursor at the present: old posts, edits of old posts and
/// reactions come as edits/reaction changes, new posts as new messages.
#[rstest]
#[tokio::test]
async fn skip_history_starts_at_now(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let url = join_url(&app, "lobby").await;
    let alice = member(&app, 1, "Alice", &url).await;
    let mut bob = member(&app, 2, "Bob", &url).await;
    let old = alice.post("lobby", "old").await.unwrap();
    alice.post("lobby", "older news").await.unwrap();
    bob.skip_history("lobby").await.unwrap();
    assert_eq!(bob.state().rooms[0].seqno, Some(2));
    assert_eq!(bob.state().rooms[0].max_message_id, 2);
    let mut poller = Poller::new(bob);
    assert_eq!(poller.poll_now().await.unwrap(), vec![]);
    app.clock.advance(1.0);
    alice.edit("lobby", old.id, "old, edited").await.unwrap();
    alice.post("lobby", "new").await.unwrap();
    let events = poller.poll_now().await.unwrap();
    match events.as_slice() {
        [Event::Edit(e), Event::NewMessage(n)] => {
            assert_eq!(e.text(), "old, edited");
            assert_eq!(n.text(), "new");
        }
        other => panic!("{other:?}"),
    }
    app.shutdown().await;
}

/// A message the client has never shown is new, whatever its id or seqno order: one reacted
/// to before the first poll, and one older than the first window that comes back later.
#[rstest]
#[tokio::test]
async fn poller_shows_messages_it_never_showed(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let url = join_url(&app, "lobby").await;
    let alice = member(&app, 1, "Alice", &url).await;
    let bob = member(&app, 2, "Bob", &url).await;
    let carol = member(&app, 3, "Carol", &url).await;
    let mut posted = Vec::new();
    for text in ["one", "two", "three"] {
        posted.push(alice.post("lobby", text).await.unwrap().id);
    }
    alice.react("lobby", posted[0], "👍").await.unwrap();
    let mut poller = Poller::new(bob);
    let events = poller.poll_now().await.unwrap();
    let shown: Vec<(i64, String, usize)> = events
        .iter()
        .map(|e| match e {
            Event::NewMessage(m) => (m.id, m.text().to_owned(), m.reactions.len()),
            other => panic!("expected only new messages, got {other:?}"),
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (posted[1], "two".to_owned(), 0),
            (posted[2], "three".to_owned(), 0),
            (posted[0], "one".to_owned(), 1),
        ]
    );
    // Shown once: a second reaction is a reaction change.
    alice.react("lobby", posted[0], "🎉").await.unwrap();
    match poller.poll_now().await.unwrap().as_slice() {
        [Event::ReactionChange { id, reactions, .. }] => {
            assert_eq!(*id, posted[0]);
            assert_eq!(reactions.len(), 2);
        }
        other => panic!("{other:?}"),
    }

    // Carol's first window held only #3 (as if the room had more history than `recent`
    // returns): #1 and #2 were never shown to her.
    let mut state = carol.state().clone();
    let cursor = poller.community().state().rooms[0].seqno;
    state.rooms[0].seqno = cursor;
    state.rooms[0].max_message_id = posted[2];
    state.rooms[0].min_message_id = posted[2];
    let carol = Community::from_state(state, TestApp::identity(3), Some(app.anon())).unwrap();
    let mut carols = Poller::new(carol);
    assert_eq!(carols.poll_now().await.unwrap(), vec![]);
    app.clock.advance(1.0);
    alice.edit("lobby", posted[1], "two, edited").await.unwrap();
    alice
        .edit("lobby", posted[2], "three, edited")
        .await
        .unwrap();
    match carols.poll_now().await.unwrap().as_slice() {
        [Event::NewMessage(two), Event::Edit(three)] => {
            assert_eq!((two.id, two.text()), (posted[1], "two, edited"));
            assert_eq!((three.id, three.text()), (posted[2], "three, edited"));
        }
        other => panic!("{other:?}"),
    }
    // #2 is shown now; #1 still is not.
    app.clock.advance(1.0);
    alice.edit("lobby", posted[1], "two, again").await.unwrap();
    alice.unreact("lobby", posted[0], "🎉").await.unwrap();
    match carols.poll_now().await.unwrap().as_slice() {
        [Event::Edit(two), Event::NewMessage(one)] => {
            assert_eq!(two.text(), "two, again");
            assert_eq!((one.id, one.text()), (posted[0], "one"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        carols.community().state().rooms[0].shown_below,
        [posted[0], posted[1]].into_iter().collect()
    );
    app.shutdown().await;
}
