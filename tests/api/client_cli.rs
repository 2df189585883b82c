//! The `sogs-client` command line, run in-process against the real server.

use rstest::rstest;
use serde_json::Value;
use sogs_client::client::TimeSource;
use sogs_tests::{Backend, TestApp};
use std::sync::Arc;

/// One user's CLI: its own home folder, timestamps from the server's test clock.
struct Cli {
    home: tempfile::TempDir,
    time: Option<TimeSource>,
}

impl Cli {
    fn new(app: Option<&TestApp>) -> Self {
        let time = app.map(|app| {
            let clock = app.clock.clone();
            let t: TimeSource = Arc::new(move || clock.now() as i64);
            t
        });
        Self {
            home: tempfile::tempdir().unwrap(),
            time,
        }
    }

    async fn run_in(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut argv = vec!["sogs-client".to_owned()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let env = vec![(
            "SOGS_CLIENT_HOME".to_owned(),
            self.home.path().display().to_string(),
        )];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = sogs_client::cli::run_with(
            argv,
            &env,
            &mut stdin.as_bytes(),
            &mut out,
            &mut err,
            self.time.clone(),
        )
        .await;
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_in(args, "").await
    }

    /// Runs a command that must succeed; returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args).await;
        assert_eq!(code, 0, "{args:?} failed: {err}");
        out
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a).await).unwrap()
    }

    async fn session_id(&self) -> String {
        self.json(&["id", "show"]).await["session_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

const VECTOR_PHRASE: &str =
    "sewage railway names rift wagtail duties rowboat until seismic radar custom gimmick until";
const VECTOR_SESSION_ID: &str =
    "0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a";

#[tokio::test]
async fn identity_commands() {
    let cli = Cli::new(None);
    // Nothing yet.
    let (code, _, err) = cli.run(&["id", "show"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("no identity"), "{err}");

    let out = cli.ok(&["id", "new", "--name", "Alice"]).await;
    let lines: Vec<&str> = out.lines().collect();
    let sid = lines[0].strip_prefix("Session ID: ").unwrap();
    assert_eq!(sid.len(), 66);
    assert!(sid.starts_with("05"));
    let phrase = lines[1].strip_prefix("Recovery password: ").unwrap();
    assert_eq!(phrase.split(' ').count(), 13);
    let file = cli.home.path().join("identity.json");
    assert!(out.contains(&file.display().to_string()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwritten.
    let (code, _, err) = cli.run(&["id", "new"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");

    let show = cli.ok(&["id", "show"]).await;
    assert!(show.contains(&format!("Session ID: {sid}")));
    assert!(show.contains("Display name: Alice"));
    assert!(!show.contains(phrase), "id show must not print the phrase");
    let j = cli.json(&["id", "show"]).await;
    assert_eq!(j["session_id"], sid);
    assert_eq!(j["display_name"], "Alice");

    // The phrase restores the same account elsewhere (with messy whitespace and case).
    let other = Cli::new(None);
    let messy = format!("  {}\n", phrase.to_uppercase().replace(' ', "  \n"));
    let (code, out, err) = other.run_in(&["id", "restore"], &messy).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("Restored Session ID: {sid}")),
        "{out}"
    );
    assert_eq!(other.session_id().await, sid);

    // The apps' worked example.
    let v = Cli::new(None);
    let (code, out, _) = v
        .run_in(&["--json", "id", "restore", "--name", "Vec"], VECTOR_PHRASE)
        .await;
    assert_eq!(code, 0);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["session_id"], VECTOR_SESSION_ID);
    assert_eq!(j["display_name"], "Vec");

    // Bad phrases are usage errors with a precise message, and write nothing.
    let bad = Cli::new(None);
    let twelve: Vec<&str> = VECTOR_PHRASE.split(' ').take(12).collect();
    let (code, _, err) = bad.run_in(&["id", "restore"], &twelve.join(" ")).await;
    assert_eq!(code, 2);
    assert!(err.contains("13th"), "{err}");
    let (code, _, err) = bad
        .run_in(
            &["id", "restore"],
            &VECTOR_PHRASE.replace("rowboat", "xylophone"),
        )
        .await;
    assert_eq!(code, 2);
    assert!(err.contains("xylophone"), "{err}");
    let (code, _, err) = bad
        .run_in(
            &["id", "restore"],
            &VECTOR_PHRASE.replace("gimmick until", "gimmick radar"),
        )
        .await;
    assert_eq!(code, 2);
    assert!(err.to_lowercase().contains("checksum"), "{err}");
    let (code, _, _) = bad.run_in(&["id", "restore"], "").await;
    assert_eq!(code, 2);
    assert!(!bad.home.path().join("identity.json").exists());
    // Invalid display name.
    let (code, _, _) = bad.run(&["id", "new", "--name", "   "]).await;
    assert_eq!(code, 2);
    // Unknown command / missing argument: clap usage errors.
    assert_eq!(bad.run(&["frobnicate"]).await.0, 2);
    assert_eq!(bad.run(&["join"]).await.0, 2);
}

#[rstest]
#[tokio::test]
async fn join_post_read_react_tail(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("Lobby").await;
    let (_, url, _) = app.cli(&["url", "Lobby"]).await;
    let url = url.trim().to_owned();
    let alice = Cli::new(Some(&app));
    let bob = Cli::new(Some(&app));
    alice.ok(&["id", "new", "--name", "Alice"]).await;
    bob.ok(&["id", "new", "--name", "Bob"]).await;

    // Join (with the room in another case: the server's spelling wins).
    let out = alice
        .ok(&["join", &url.replace("/Lobby?", "/LOBBY?")])
        .await;
    assert!(
        out.starts_with(&format!(
            "Joined \"Room Lobby\" (Lobby) on {}",
            app.base_url
        )),
        "{out}"
    );
    assert!(out.contains("(blinded)"));
    let j = bob.json(&["join", &url]).await;
    assert_eq!(j["token"], "Lobby");
    assert_eq!(j["join_url"], url);
    assert_eq!(
        j["capabilities"],
        serde_json::json!(["blind", "reactions", "sogs"])
    );
    let bob_blinded = j["my_id"].as_str().unwrap().to_owned();
    assert!(bob_blinded.starts_with("15"));
    // Joining twice keeps one room.
    alice.ok(&["join", &url]).await;
    let rooms = alice.ok(&["rooms"]).await;
    assert_eq!(rooms.lines().count(), 1);
    assert!(
        rooms.starts_with(&format!("Lobby  \"Room Lobby\"  {url}")),
        "{rooms}"
    );
    let rooms = alice.json(&["rooms"]).await;
    assert_eq!(rooms[0]["token"], "Lobby");
    assert_eq!(rooms[0]["server"], app.base_url);
    // The blinded id shows up in `id show`.
    let show = alice.json(&["id", "show"]).await;
    assert!(show["blinded_ids"][&app.base_url]
        .as_str()
        .unwrap()
        .starts_with("15"));

    // Bad URLs are usage errors with a useful message.
    let (code, _, err) = alice
        .run(&["join", &format!("{}/r/Lobby/", app.base_url)])
        .await;
    assert_eq!(code, 2);
    assert!(err.contains("web page"), "{err}");
    let (code, _, _) = alice
        .run(&["join", "http://localhost/x?public_key=00"])
        .await;
    assert_eq!(code, 2);
    // A room that does not exist: the server says 404.
    let (code, _, err) = alice
        .run(&["join", &url.replace("/Lobby?", "/nope?")])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("404"), "{err}");

    // Post and read.
    let out = alice.ok(&["post", "lobby", "hello from the cli"]).await;
    assert_eq!(out, "Posted message 1 to Lobby\n");
    app.clock.advance(60.0);
    let j = alice.json(&["post", "Lobby", "-- second --"]).await;
    assert_eq!(j["id"], 2);
    assert_eq!(j["text"], "-- second --");
    assert_eq!(j["display_name"], "Alice");
    let read = bob.ok(&["read", "Lobby"]).await;
    let lines: Vec<&str> = read.lines().collect();
    assert_eq!(lines.len(), 2, "{read}");
    assert!(
        lines[0].starts_with("#1 2025-06-15 15:06:40 Alice (15"),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with("): hello from the cli"), "{}", lines[0]);
    assert!(lines[1].starts_with("#2 2025-06-15 15:07:40 Alice"));
    let j = bob.json(&["read", "Lobby", "--limit", "1"]).await;
    assert_eq!(j.as_array().unwrap().len(), 1);
    assert_eq!(j[0]["id"], 2);
    assert!(j[0]["author"].as_str().unwrap().starts_with("15"));

    // Unknown rooms and missing identities.
    let (code, _, err) = bob.run(&["read", "nowhere"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("not joined"), "{err}");
    let nobody = Cli::new(Some(&app));
    let (code, _, err) = nobody.run(&["join", &url]).await;
    assert_eq!(code, 1);
    assert!(err.contains("no identity"), "{err}");

    // Tail: the first poll shows recent messages, later polls only what is new.
    let out = bob.ok(&["tail", "Lobby", "--polls", "1"]).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["Following Lobby (Ctrl-C to stop)", lines[0], lines[1],]
    );
    let out = bob.ok(&["tail", "Lobby", "--polls", "1"]).await;
    assert_eq!(out, "Following Lobby (Ctrl-C to stop)\n");
    app.clock.advance(60.0);
    alice.ok(&["post", "Lobby", "third"]).await;
    let out = bob
        .ok(&["--json", "tail", "Lobby", "--polls", "2", "--interval", "0"])
        .await;
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{out}");
    assert_eq!(events[0]["event"], "new_message");
    assert_eq!(events[0]["text"], "third");
    assert_eq!(events[0]["room"], "Lobby");
    let rooms = bob.json(&["rooms"]).await;
    assert_eq!(rooms[0]["seqno"], 3);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn react_dm_inbox_and_files(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let (_, url, _) = app.cli(&["url", "lobby"]).await;
    let url = url.trim().to_owned();
    let alice = Cli::new(Some(&app));
    let bob = Cli::new(Some(&app));
    alice.ok(&["id", "new", "--name", "Alice"]).await;
    bob.ok(&["id", "new", "--name", "Bob"]).await;
    alice.ok(&["join", &url]).await;
    bob.ok(&["join", &url]).await;
    alice.ok(&["post", "lobby", "react to me"]).await;

    // Reactions.
    assert_eq!(
        bob.ok(&["react", "lobby", "1", "👍"]).await,
        "Reacted 👍 to message 1\n"
    );
    assert_eq!(
        bob.ok(&["react", "lobby", "1", "👍"]).await,
        "You had already reacted 👍 to message 1\n"
    );
    alice.ok(&["react", "lobby", "1", "👍"]).await;
    let read = bob.ok(&["read", "lobby"]).await;
    assert!(
        read.trim_end().ends_with("react to me  [👍 2 (you)]"),
        "{read}"
    );
    let j = bob.json(&["react", "lobby", "1", "👍", "--remove"]).await;
    assert_eq!(j["changed"], true);
    assert_eq!(j["removed"], true);
    let out = bob.ok(&["tail", "lobby", "--polls", "1"]).await;
    assert!(out.contains("react to me  [👍 1]"), "{out}");
    let (code, _, _) = bob
        .run(&["react", "lobby", "1", "not an emoji at all"])
        .await;
    assert_eq!(code, 2);

    // DMs: to a Session ID and to a blinded id.
    let bob_sid = bob.session_id().await;
    let out = alice.ok(&["dm", &bob_sid, "psst, bob"]).await;
    assert!(out.starts_with("Sent DM 1 to 15"), "{out}");
    let inbox = bob.ok(&["inbox"]).await;
    let alice_sid = alice.session_id().await;
    assert_eq!(
        inbox,
        format!("#1 2025-06-15 15:06:40 from Alice ({alice_sid}): psst, bob\n")
    );
    let alice_blinded = alice.json(&["id", "show"]).await["blinded_ids"][&app.base_url]
        .as_str()
        .unwrap()
        .to_owned();
    let j = bob.json(&["dm", &alice_blinded, "hi alice"]).await;
    assert_eq!(j["recipient"], alice_blinded);
    let j = alice.json(&["inbox", "--sent"]).await;
    let rows = j.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["text"], "psst, bob");
    assert_eq!(rows[0]["outgoing"], true);
    assert_eq!(rows[1]["text"], "hi alice");
    assert_eq!(rows[1]["outgoing"], false);
    assert_eq!(rows[1]["sender_session_id"], bob_sid);
    assert_eq!(rows[1]["server"], app.base_url);
    // Tail shows DMs too.
    let out = alice.ok(&["tail", "lobby", "--polls", "1"]).await;
    assert!(
        out.contains(&format!(
            "DM #2 2025-06-15 15:06:40 from Bob ({bob_sid}): hi alice"
        )),
        "{out}"
    );
    // Not an id.
    let (code, _, err) = alice.run(&["dm", "bob", "x"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("not a Session ID"), "{err}");

    // Files.
    let path = alice.home.path().join("report 1.txt");
    std::fs::write(&path, b"file body").unwrap();
    let out = alice
        .ok(&[
            "post",
            "lobby",
            "with a file",
            "--file",
            path.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out, "Posted message 2 to lobby\n");
    let read = bob.ok(&["read", "lobby"]).await;
    assert!(
        read.contains("    attachment: report 1.txt (9 bytes, text/plain) file "),
        "{read}"
    );
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn onion_option(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    app.room("lobby").await;
    let (_, url, _) = app.cli(&["url", "lobby"]).await;
    let url = url.trim().to_owned();
    let relays = sogs_tests::start_relays(3).await;
    let nodes: Vec<_> = relays.iter().map(|r| r.node.clone()).collect();
    let alice = Cli::new(Some(&app));
    alice.ok(&["id", "new", "--name", "Alice"]).await;
    let node_file = alice.home.path().join("nodes.json");
    std::fs::write(&node_file, serde_json::to_string(&nodes).unwrap()).unwrap();
    let nf = node_file.to_str().unwrap();

    let out = alice.ok(&["--onion", nf, "join", &url]).await;
    assert!(out.starts_with("Joined \"Room lobby\" (lobby)"), "{out}");
    let out = alice
        .ok(&["post", "lobby", "through 3 relays", "--onion", nf])
        .await;
    assert_eq!(out, "Posted message 1 to lobby\n");
    let out = alice
        .ok(&["--onion", nf, "--hops", "2", "read", "lobby"])
        .await;
    assert!(out.contains("Alice (15"), "{out}");
    assert!(out.trim_end().ends_with("through 3 relays"), "{out}");

    // Node-list problems are reported before anything is sent.
    let (code, _, err) = alice.run(&["--onion", nf, "--hops", "4", "rooms"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("needs at least 4"), "{err}");
    let bad = alice.home.path().join("bad.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let (code, _, err) = alice
        .run(&["--onion", bad.to_str().unwrap(), "rooms"])
        .await;
    assert_eq!(code, 2);
    assert!(err.contains("invalid node list"), "{err}");
    let (code, _, _) = alice
        .run(&["--onion", "/nonexistent/nodes.json", "rooms"])
        .await;
    assert_eq!(code, 1);
    let (code, _, _) = alice.run(&["--hops", "2", "rooms"]).await;
    assert_eq!(code, 2, "--hops needs --onion");
    // A dead path is a runtime failure with a clear message.
    for r in &relays {
        r.stop().await;
    }
    let (code, _, err) = alice.run(&["--onion", nf, "read", "lobby"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("onion request failed"), "{err}");
    app.shutdown().await;
}

/// The newcomer's rough edges in the client CLI: a message reacted to before the first poll,
/// downloads, the recovery password, and errors that say what to do.
#[rstest]
#[tokio::test]
async fn tail_download_phrase_and_errors(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn_with(be, |c| c.upload_max_bytes = 1000).await;
    app.room("lobby").await;
    let (_, url, _) = app.cli(&["url", "lobby"]).await;
    let url = url.trim().to_owned();
    let alice = Cli::new(Some(&app));
    let bob = Cli::new(Some(&app));
    alice.ok(&["id", "new", "--name", "Alice"]).await;
    bob.run_in(&["id", "restore", "--name", "Bob"], VECTOR_PHRASE)
        .await;
    alice.ok(&["join", &url]).await;
    bob.ok(&["join", &url]).await;

    // #1, #2, #3, then a reaction on #1: its seqno is now the highest, its id the lowest.
    for text in ["one", "two", "three"] {
        alice.ok(&["post", "lobby", text]).await;
    }
    alice.ok(&["react", "lobby", "1", "👍"]).await;
    let out = bob.ok(&["tail", "lobby", "--polls", "1"]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1].starts_with("#2 ") && lines[1].ends_with(": two"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("#3 ") && lines[2].ends_with(": three"),
        "{out}"
    );
    assert!(
        lines[3].starts_with("#1 ") && lines[3].ends_with(": one  [👍 1]"),
        "{out}"
    );
    // Seen now: another reaction is a reaction change, not a new message.
    alice.ok(&["react", "lobby", "1", "🎉"]).await;
    let out = bob.ok(&["tail", "lobby", "--polls", "1"]).await;
    assert!(out.ends_with("\n#1 reactions: 👍 1, 🎉 1\n"), "{out}");

    // Downloads: the command is shown next to the attachment, and never overwrites.
    let src = alice.home.path().join("notes.txt");
    std::fs::write(&src, b"attached bytes").unwrap();
    alice
        .ok(&["post", "lobby", "file", "--file", src.to_str().unwrap()])
        .await;
    let read = bob.ok(&["read", "lobby"]).await;
    let line = read
        .lines()
        .find(|l| l.contains("attachment: notes.txt"))
        .unwrap_or_else(|| panic!("{read}"));
    let file_id: String = line
        .rsplit("download lobby ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    assert!(file_id.parse::<i64>().is_ok(), "{line}");
    let dest = tempfile::tempdir().unwrap();
    let dir = dest.path().to_str().unwrap();
    let out = bob.ok(&["download", "lobby", &file_id, "-o", dir]).await;
    let saved = dest.path().join("notes.txt");
    assert_eq!(
        out,
        format!("Saved file {file_id} (14 bytes) to {}\n", saved.display())
    );
    assert_eq!(std::fs::read(&saved).unwrap(), b"attached bytes");
    std::fs::write(&saved, b"mine").unwrap();
    let (code, _, err) = bob.run(&["download", "lobby", &file_id, "-o", dir]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&saved).unwrap(), b"mine");
    bob.ok(&["download", "lobby", &file_id, "-o", dir, "--force"])
        .await;
    assert_eq!(std::fs::read(&saved).unwrap(), b"attached bytes");
    let named = dest.path().join("copy.bin");
    let j = bob
        .json(&["download", "lobby", &file_id, "-o", named.to_str().unwrap()])
        .await;
    assert_eq!(j["bytes"], 14);
    assert_eq!(j["filename"], "notes.txt");
    assert_eq!(std::fs::read(&named).unwrap(), b"attached bytes");
    let (code, _, err) = bob.run(&["download", "lobby", "999999", "-o", dir]).await;
    assert_eq!(code, 1);
    assert!(err.contains("404"), "{err}");

    // Uploads over the limit: the error says the limit.
    let big = alice.home.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 2000]).unwrap();
    let (code, _, err) = alice
        .run(&["post", "lobby", "big", "--file", big.to_str().unwrap()])
        .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("413") && err.contains("limit is 1000 bytes"),
        "{err}"
    );

    // The recovery password, again, only when asked for.
    let show = bob.ok(&["id", "show"]).await;
    assert!(!show.contains(VECTOR_PHRASE), "{show}");
    let show = bob.ok(&["id", "show", "--phrase"]).await;
    assert!(
        show.contains(&format!("Recovery password: {VECTOR_PHRASE}\n")),
        "{show}"
    );
    assert!(show.contains("keep it secret"), "{show}");
    let j = bob.json(&["id", "show", "--phrase"]).await;
    assert_eq!(j["recovery_password"], VECTOR_PHRASE);
    assert_eq!(j["session_id"], VECTOR_SESSION_ID);
    assert!(bob
        .json(&["id", "show"])
        .await
        .get("recovery_password")
        .is_none());
    let fresh = Cli::new(None);
    fresh.ok(&["id", "new"]).await;
    let show = fresh.ok(&["id", "show"]).await;
    assert!(show.contains("No blinded ids yet"), "{show}");

    // A join URL with the wrong server key: say so.
    let wrong = Cli::new(Some(&app));
    wrong.ok(&["id", "new"]).await;
    let key = url.rsplit("public_key=").next().unwrap().to_owned();
    let bad_key = format!(
        "{}{}",
        if key.starts_with('a') { "b" } else { "a" },
        &key[1..]
    );
    let (code, _, err) = wrong.run(&["join", &url.replace(&key, &bad_key)]).await;
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("server key in the join URL"), "{err}");
    // With --json the error is JSON too.
    let (code, out, err) = wrong
        .run(&["--json", "join", &url.replace(&key, &bad_key)])
        .await;
    assert_eq!((code, out.as_str()), (1, ""));
    let e: Value = serde_json::from_str(&err).unwrap();
    assert_eq!(e["exit_code"], 1);
    assert!(e["error"].as_str().unwrap().contains("server key"), "{e}");
    let (code, _, err) = wrong.run(&["--json", "read"]).await;
    assert_eq!(code, 2);
    let e: Value = serde_json::from_str(&err).unwrap();
    assert_eq!(e["exit_code"], 2);
    assert!(e["error"].as_str().unwrap().contains("<ROOM>"), "{e}");

    // A closed port: "connection refused", and how often it was tried.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = url.replace(
        app.base_url.trim_start_matches("http://"),
        &format!("127.0.0.1:{closed}"),
    );
    let (code, _, err) = wrong.run(&["join", &dead]).await;
    assert_eq!(code, 1);
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains("tried 3 times"), "{err}");
    app.shutdown().await;
}
