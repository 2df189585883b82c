//! Onion requests: the server's `/oxen/v4/lsrpc` (and v3) against the spec vectors, round
//! trips through local `sogs-relay`s, batch inside an onion request, malformed input, and
//! relays failing mid-path.

use rstest::rstest;
use serde_json::{json, Value};
use sogs_client::client::{ClientError, SogsClient, Transport};
use sogs_client::encoding::b64_decode;
use sogs_client::onion::{
    build_onion_body, build_v4_request, encode_v4, seal, EncType, ReplyKey, V4Request, V4Response,
};
use sogs_client::onion_client::{destination_for, send_via_path, OnionNode};
use sogs_tests::{message_text, start_relays, start_relays_with, Backend, TestApp};
use std::collections::BTreeMap;
use std::time::Duration;
use zeroize::Zeroizing;

const ENCS: [EncType; 2] = [EncType::AesGcm, EncType::XChaCha20];

fn vectors() -> Value {
    let path = format!(
        "{}/../../shared/spec/vectors.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn key32(v: &Value) -> [u8; 32] {
    hx(v).try_into().unwrap()
}

/// POSTs raw bytes to a path of the server.
async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", app.base_url))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

/// POSTs a v4 onion body, checks the outer 200 and decrypts the inner reply.
async fn v4(app: &TestApp, body: Vec<u8>, key: &ReplyKey) -> V4Response {
    let (status, ct, reply) = post_raw(app, "/oxen/v4/lsrpc", body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(ct, "application/octet-stream");
    key.decrypt_v4_response(&reply).unwrap()
}

fn onion_client(app: &TestApp, seed: u8, transport: Transport) -> SogsClient {
    app.user(seed).client.with_transport(transport)
}

async fn recent(app: &TestApp, room: &str) -> Vec<Value> {
    let r = app
        .anon()
        .get(&format!("/room/{room}/messages/recent"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    r.json().unwrap()
}

#[rstest]
#[tokio::test]
async fn server_answers_spec_vectors(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let v = vectors();
    let g = &v["onion_v4_roundtrip_computed"];
    let app = TestApp::spawn_with_key(be, key32(&g["server_priv"])).await;
    assert_eq!(app.server_pk().to_vec(), hx(&g["server_pub"]));
    for (name, enc) in [
        ("aes_gcm", EncType::AesGcm),
        ("xchacha20", EncType::XChaCha20),
    ] {
        let case = &g[name];
        let key = ReplyKey::new(enc, Zeroizing::new(key32(&case["key"])));
        let (status, ct, reply) = post_raw(&app, "/oxen/v4/lsrpc", hx(&case["request_body"])).await;
        assert_eq!((status, ct.as_str()), (200, "application/octet-stream"));
        let expected = case["response_plaintext_utf8"].as_str().unwrap();
        assert_eq!(reply.len(), enc.nonce_len() + expected.len() + 16);
        // The exact reply plaintext of the vector (only the nonce differs).
        let plain = key.decrypt(&reply).unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            case["response_plaintext_utf8"].as_str().unwrap(),
            "{name}"
        );
        // And the vector's own reply decrypts with the same key: same layout.
        let theirs = key
            .decrypt_v4_response(&hx(&case["response_body"]))
            .unwrap();
        assert_eq!(theirs.status, 200);
    }

    // libsession's request blobs (same server key) decrypt, but "Hello world" is not a v4
    // payload: an encrypted 400 with pysogs' text and exact content type.
    let b = &v["onion_request_blobs_libsession"];
    assert_eq!(b["server_priv"], g["server_priv"]);
    for (name, enc) in [
        ("aes_gcm_blob", EncType::AesGcm),
        ("xchacha20_blob", EncType::XChaCha20),
    ] {
        let eph = x25519_dalek::StaticSecret::from(key32(&b["client_ephemeral_priv"]));
        let key = sogs_client::onion::client_key(enc, &eph, &app.server_pk()).unwrap();
        let key = ReplyKey::new(enc, key);
        let r = v4(&app, hx(&b[name]), &key).await;
        assert_eq!(r.status, 400, "{name}");
        assert_eq!(r.content_type(), Some("text/plain; charset=utf-8"));
        assert_eq!(r.body, b"Invalid v4 onion request");
    }
    app.shutdown().await;
}

/// A v3 onion request body (JSON plaintext) and its key.
fn v3_body(app: &TestApp, enc: EncType, plaintext: &Value) -> (Vec<u8>, ReplyKey) {
    let layer = seal(enc, &app.server_pk(), plaintext.to_string().as_bytes()).unwrap();
    let mut json = json!({"ephemeral_key": hex::encode(layer.ephemeral_pub)});
    if enc == EncType::XChaCha20 {
        json["enc_type"] = json!("xchacha20");
    }
    (
        build_onion_body(&layer.ciphertext, &json).unwrap(),
        layer.reply_key,
    )
}

#[rstest]
#[tokio::test]
async fn v3_onion_requests(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    for path in ["/oxen/v3/lsrpc", "/loki/v3/lsrpc"] {
        for enc in ENCS {
            let (body, key) = v3_body(
                &app,
                enc,
                &json!({"endpoint": "/capabilities", "method": "GET", "headers": {}}),
            );
            let (status, _, reply) = post_raw(&app, path, body).await;
            assert_eq!(status, 200);
            let plain = key
                .decrypt(&b64_decode(std::str::from_utf8(&reply).unwrap()).unwrap())
                .unwrap();
            let caps: Value = serde_json::from_slice(&plain).unwrap();
            assert_eq!(
                caps,
                json!({"capabilities": ["blind", "reactions", "sogs"]})
            );

            // Non-2xx → {"status_code": N}; an unparseable plaintext → 400.
            for (plaintext, code) in [
                (json!({"endpoint": "/room/nope", "method": "GET"}), 404),
                (
                    json!({"endpoint": format!("/room/{room}"), "method": "GET", "body": "x"}),
                    400,
                ),
                (json!(["not", "an", "object"]), 400),
            ] {
                let (body, key) = v3_body(&app, enc, &plaintext);
                let (status, _, reply) = post_raw(&app, path, body).await;
                assert_eq!(status, 200);
                let plain = key
                    .decrypt(&b64_decode(std::str::from_utf8(&reply).unwrap()).unwrap())
                    .unwrap();
                let v: Value = serde_json::from_slice(&plain).unwrap();
                assert_eq!(v, json!({"status_code": code}), "{plaintext}");
            }
        }
    }
    // A signed v3 POST: the body string is the JSON body, the content type forced to JSON.
    let alice = app.user(1);
    let post = alice.post_body("via v3").to_string();
    let target = format!("/room/{room}/message");
    let headers: BTreeMap<String, String> = alice
        .client
        .auth_headers("POST", &target, post.as_bytes())
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let (body, key) = v3_body(
        &app,
        EncType::XChaCha20,
        &json!({"endpoint": target, "method": "POST", "headers": headers, "body": post}),
    );
    let (status, _, reply) = post_raw(&app, "/oxen/v3/lsrpc", body).await;
    assert_eq!(status, 200);
    let plain = key
        .decrypt(&b64_decode(std::str::from_utf8(&reply).unwrap()).unwrap())
        .unwrap();
    let msg: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(msg["session_id"], json!(alice.id()));
    let msgs = recent(&app, &room).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(message_text(&msgs[0]), "via v3");
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn onion_direct_get_post_and_errors(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    for (i, enc) in ENCS.into_iter().enumerate() {
        let alice = app.user(1);
        let client = onion_client(&app, 1, Transport::OnionDirect { enc });
        let text = format!("direct onion {i}");
        let r = client
            .post_json(&format!("/room/{room}/message"), &alice.post_body(&text))
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
        assert!(!r.headers.contains_key("content-length"));
        let posted: Value = r.json().unwrap();
        assert_eq!(posted["session_id"], json!(alice.id()));

        let r = client
            .get(&format!("/room/{room}/messages/recent?limit=1"))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let msgs: Vec<Value> = r.json().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(message_text(&msgs[0]), text);

        // Errors come back inside, with their real status and text.
        let r = client.get("/room/does-not-exist").await.unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "text/plain; charset=utf-8"
        );
        let anon = app.anon().with_transport(Transport::OnionDirect { enc });
        let r = anon.get("/room/lobby/message/%FF").await.unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.text(), "Invalid percent-encoding in path");
    }
    // Raw UTF-8 in the endpoint reaches the route table as is (a 404 for an unknown room,
    // not a parse error).
    let client = onion_client(
        &app,
        2,
        Transport::OnionDirect {
            enc: EncType::AesGcm,
        },
    );
    let r = client.get("/room/café").await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(recent(&app, &room).await.len(), 2);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn batch_and_sequence_inside_onion(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let client = onion_client(
        &app,
        1,
        Transport::OnionDirect {
            enc: EncType::XChaCha20,
        },
    );
    let batch = json!([
        {"method": "GET", "path": "/capabilities"},
        {"method": "POST", "path": format!("/room/{room}/message"), "json": alice.post_body("in a batch")},
        {"method": "GET", "path": format!("/room/{room}/messages/recent")},
        {"method": "GET", "path": "/room/nope"},
    ]);
    let r = client.post_json("/batch", &batch).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let subs: Vec<Value> = r.json().unwrap();
    let codes: Vec<u64> = subs.iter().map(|s| s["code"].as_u64().unwrap()).collect();
    assert_eq!(codes, vec![200, 201, 200, 404]);
    assert_eq!(
        subs[0]["body"]["capabilities"],
        json!(["blind", "reactions", "sogs"])
    );
    assert_eq!(subs[1]["body"]["session_id"], json!(alice.id()));
    assert_eq!(message_text(&subs[2]["body"][0]), "in a batch");

    let seq = json!([
        {"method": "GET", "path": "/room/nope"},
        {"method": "POST", "path": format!("/room/{room}/message"), "json": alice.post_body("never")},
    ]);
    let r = client.post_json("/sequence", &seq).await.unwrap();
    let subs: Vec<Value> = r.json().unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["code"], json!(404));

    // A nested onion request inside the batch is refused (inner 400), as is one directly.
    let (inner_body, _) = build_v4_request(
        EncType::AesGcm,
        &app.server_pk(),
        "GET",
        "/capabilities",
        &BTreeMap::new(),
        None,
    )
    .unwrap();
    let b64 = sogs_client::encoding::b64_encode(&inner_body);
    let r = client
        .post_json(
            "/batch",
            &json!([{"method": "POST", "path": "/oxen/v4/lsrpc", "b64": b64}]),
        )
        .await
        .unwrap();
    let subs: Vec<Value> = r.json().unwrap();
    assert_eq!(subs[0]["code"], json!(400));
    let r = client
        .request(
            "POST",
            "/oxen/v4/lsrpc",
            Some((&inner_body, "application/octet-stream")),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), "Nested onion requests are not allowed");

    let msgs = recent(&app, &room).await;
    assert_eq!(msgs.len(), 1);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn onion_path_through_three_relays(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let relays = start_relays(3).await;
    let nodes: Vec<OnionNode> = relays.iter().map(|r| r.node.clone()).collect();
    let alice = app.user(1);
    for (i, enc) in ENCS.into_iter().enumerate() {
        let client = onion_client(
            &app,
            1,
            Transport::OnionPath {
                nodes: nodes.clone(),
                hops: 3,
                enc,
            },
        );
        let text = format!("through the onion {i}");
        let r = client
            .post_json(&format!("/room/{room}/message"), &alice.post_body(&text))
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        let r = client
            .get(&format!("/room/{room}/messages/recent"))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let msgs: Vec<Value> = r.json().unwrap();
        assert_eq!(message_text(&msgs[0]), text);
        assert_eq!(msgs[0]["session_id"], json!(alice.id()));
        // Errors travel back through the path too.
        let r = client.get("/room/nope").await.unwrap();
        assert_eq!(r.status, 404);
    }
    // The posts are really stored: a direct read sees both.
    let msgs = recent(&app, &room).await;
    let texts: Vec<String> = msgs.iter().map(message_text).collect();
    assert_eq!(texts, vec!["through the onion 1", "through the onion 0"]);

    // Shorter and default paths work too; too many hops for the list is a clear error.
    for hops in [1, 2] {
        let client = onion_client(
            &app,
            2,
            Transport::OnionPath {
                nodes: nodes.clone(),
                hops,
                enc: EncType::AesGcm,
            },
        );
        assert_eq!(client.get("/capabilities").await.unwrap().status, 200);
    }
    let client = onion_client(&app, 2, Transport::onion_path(nodes.clone()));
    assert_eq!(client.get("/capabilities").await.unwrap().status, 200);
    let client = onion_client(
        &app,
        2,
        Transport::OnionPath {
            nodes: nodes.clone(),
            hops: 4,
            enc: EncType::AesGcm,
        },
    );
    let err = client.get("/capabilities").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Onion(m) if m.contains("4 distinct nodes")),
        "{err}"
    );
    for r in &relays {
        r.stop().await;
    }
    app.shutdown().await;
}

/// A v4 request through an explicit path (guard first).
async fn via(app: &TestApp, path: &[OnionNode]) -> Result<u16, ClientError> {
    let req = V4Request {
        method: "GET".into(),
        endpoint: "/capabilities".into(),
        headers: BTreeMap::new(),
        body: None,
    };
    send_via_path(
        &reqwest::Client::new(),
        path,
        &app.base_url,
        &app.server_pk(),
        EncType::XChaCha20,
        &req,
        Duration::from_secs(20),
    )
    .await
    .map(|r| r.status)
}

#[rstest]
#[tokio::test]
async fn relay_down_mid_path_is_a_clear_error(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    // A "node" that accepts connections and never answers, to exercise the relay timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_node = {
        let keys = sogs_server::relay::RelayKeys::generate();
        keys.node(&format!("http://{}", silent.local_addr().unwrap()))
    };
    let relays = start_relays_with(3, Duration::from_secs(1), vec![silent_node.clone()]).await;
    let nodes: Vec<OnionNode> = relays.iter().map(|r| r.node.clone()).collect();
    assert_eq!(via(&app, &nodes).await.unwrap(), 200);

    let started = std::time::Instant::now();
    // The middle relay goes down: the guard reports it by its key and address.
    relays[1].stop().await;
    let err = via(&app, &nodes).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ClientError::Onion(_)), "{msg}");
    assert!(msg.contains("Next node unreachable"), "{msg}");
    assert!(msg.contains(&hex::encode(nodes[1].ed25519)), "{msg}");
    assert!(msg.contains(&nodes[0].address), "{msg}");

    // The guard itself down.
    let err = via(&app, &[nodes[1].clone(), nodes[0].clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Onion(m) if m.contains("unreachable") && m.contains(&nodes[1].address)),
        "{err}"
    );
    // A node the relay does not know.
    let stranger = sogs_server::relay::RelayKeys::generate().node("http://127.0.0.1:9");
    let err = via(&app, &[nodes[0].clone(), stranger.clone()])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "Next node not found: {}",
            hex::encode(stranger.ed25519)
        )),
        "{err}"
    );
    // A next hop that never answers: 504 from the relay after its timeout, no hang.
    let err = via(&app, &[nodes[0].clone(), silent_node])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    // The remaining relays still carry requests.
    let client = onion_client(
        &app,
        1,
        Transport::OnionPath {
            nodes: vec![nodes[0].clone(), nodes[2].clone()],
            hops: 2,
            enc: EncType::AesGcm,
        },
    );
    assert_eq!(client.get("/capabilities").await.unwrap().status, 200);
    assert!(started.elapsed() < Duration::from_secs(15));
    drop(silent);
    for r in &relays {
        r.stop().await;
    }
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn malformed_onion_requests_get_400(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let app = TestApp::spawn(be).await;
    let room = app.room("lobby").await;
    let alice = app.user(1);
    let target = format!("/room/{room}/message");
    let post = serde_json::to_vec(&alice.post_body("must not be stored")).unwrap();
    let mut headers: BTreeMap<String, String> = alice
        .client
        .auth_headers("POST", &target, &post)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    headers.insert("Content-Type".into(), "application/json".into());
    let (good, _) = build_v4_request(
        EncType::AesGcm,
        &app.server_pk(),
        "POST",
        &target,
        &headers,
        Some(&post),
    )
    .unwrap();
    let n = u32::from_le_bytes(good[..4].try_into().unwrap()) as usize;
    let ct = good[4..4 + n].to_vec();
    let tail: Value = serde_json::from_slice(&good[4 + n..]).unwrap();
    let with_json = |json: &Value| build_onion_body(&ct, json).unwrap();
    let other_server = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([5u8; 32]));
    let (wrong_key, _) = build_v4_request(
        EncType::XChaCha20,
        other_server.as_bytes(),
        "POST",
        &target,
        &headers,
        Some(&post),
    )
    .unwrap();

    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("3 bytes", vec![1, 0, 0]),
        ("length past the end", {
            let mut b = good.clone();
            b[..4].copy_from_slice(&(good.len() as u32).to_le_bytes());
            b
        }),
        ("truncated", good[..4 + n / 2].to_vec()),
        ("no json", good[..4 + n].to_vec()),
        (
            "bad json",
            [&good[..4 + n], b"{\"ephemeral_key\":"].concat(),
        ),
        ("json array", [&good[..4 + n], b"[1,2]"].concat()),
        (
            "no ephemeral key",
            with_json(&json!({"enc_type": "aes-gcm"})),
        ),
        (
            "short ephemeral key",
            with_json(&json!({"ephemeral_key": "abcd"})),
        ),
        (
            "zero ephemeral key",
            with_json(&json!({"ephemeral_key": hex::encode([0u8; 32])})),
        ),
        ("unknown enc_type", {
            let mut j = tail.clone();
            j["enc_type"] = json!("rot13");
            with_json(&j)
        }),
        ("numeric enc_type", {
            let mut j = tail.clone();
            j["enc_type"] = json!(1);
            with_json(&j)
        }),
        ("other cipher", {
            let mut j = tail.clone();
            j["enc_type"] = json!("xchacha20");
            with_json(&j)
        }),
        ("wrong server key", wrong_key),
        ("nested garbage", build_onion_body(&good, &tail).unwrap()),
        (
            "random bytes",
            (0..500u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("oversize", {
            let mut b = good.clone();
            b.resize(sogs_client::onion::MAX_ONION_BODY + 1, b' ');
            b
        }),
    ];
    cases.push(("over the edge limit", {
        let mut b = good.clone();
        b.resize(sogs_server::routes::ONION_BODY_LIMIT as usize + 1, b' ');
        b
    }));
    for bit in [0, 8 * 12 + 3, 8 * (n - 1) + 7] {
        let mut b = good.clone();
        b[4 + bit / 8] ^= 1 << (bit % 8);
        cases.push(("flipped ciphertext bit", b));
    }
    for path in ["/oxen/v4/lsrpc", "/oxen/v3/lsrpc", "/loki/v3/lsrpc"] {
        for (name, body) in &cases {
            let (status, ct, reply) = post_raw(&app, path, body.clone()).await;
            assert_eq!(
                status,
                400,
                "{path} {name}: {}",
                String::from_utf8_lossy(&reply)
            );
            assert_eq!(ct, "text/plain; charset=utf-8", "{path} {name}");
            assert!(
                String::from_utf8_lossy(&reply).starts_with("Invalid onion request"),
                "{path} {name}"
            );
        }
    }

    // Decryptable but not a v4 request: an encrypted 400 with pysogs' text.
    for enc in ENCS {
        let meta = |m: Value| encode_v4(m.to_string().as_bytes(), None);
        for plaintext in [
            b"".to_vec(),
            b"garbage".to_vec(),
            b"l2:{}1:a1:be".to_vec(),
            b"d4:spam4:eggse".to_vec(),
            b"l5:helloe".to_vec(),
            meta(json!({})),
            meta(json!({"method": "GET", "endpoint": 1})),
            meta(json!({"method": "GET", "endpoint": "no-slash"})),
            meta(json!({"method": "GET", "endpoint": "/capabilities", "headers": []})),
            meta(json!({"method": "GET", "endpoint": "/capabilities", "headers": {"a": 1}})),
            meta(json!({"method": "BREW", "endpoint": "/capabilities"})),
        ] {
            let layer = seal(enc, &app.server_pk(), &plaintext).unwrap();
            let body = build_onion_body(
                &layer.ciphertext,
                &json!({"ephemeral_key": hex::encode(layer.ephemeral_pub), "enc_type": enc.as_str()}),
            )
            .unwrap();
            let r = v4(&app, body, &layer.reply_key).await;
            assert_eq!(r.status, 400, "{plaintext:?}");
            assert_eq!(r.content_type(), Some("text/plain; charset=utf-8"));
            assert_eq!(r.body, b"Invalid v4 onion request");
        }
    }

    // A decryptable request with a bad signature: the inner auth answers 401.
    let mut forged = headers.clone();
    forged.insert(
        "X-SOGS-Signature".into(),
        sogs_client::encoding::b64_encode(&[1u8; 64]),
    );
    let (body, key) = build_v4_request(
        EncType::AesGcm,
        &app.server_pk(),
        "POST",
        &target,
        &forged,
        Some(&post),
    )
    .unwrap();
    let r = v4(&app, body, &key).await;
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));

    assert!(
        recent(&app, &room).await.is_empty(),
        "nothing may be stored"
    );

    // The untouched request still works afterwards (and its nonce was not burnt).
    let (body, key) = build_v4_request(
        EncType::AesGcm,
        &app.server_pk(),
        "POST",
        &target,
        &headers,
        Some(&post),
    )
    .unwrap();
    let r = v4(&app, body, &key).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(recent(&app, &room).await.len(), 1);
    app.shutdown().await;
}

#[test]
fn destination_of_a_test_server() {
    let d = destination_for("http://127.0.0.1:4321", [3; 32]).unwrap();
    assert_eq!(
        (
            d.host.as_str(),
            d.port,
            d.protocol.as_str(),
            d.target.as_str()
        ),
        ("127.0.0.1", 4321, "http", "/oxen/v4/lsrpc")
    );
}
