//! X-SOGS-* authentication: vectors, every error path and its exact status and text.

use rstest::rstest;
use serde_json::Value;
use sogs_client::signing::Signer;
use sogs_tests::{Backend, TestApp};

const VECTORS: &str = include_str!("../../../shared/spec/vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

/// A server holding the vectors' private key, its clock at the vectors' timestamp.
async fn vector_server(be: Backend, require_blind: bool) -> TestApp {
    let v = vectors();
    let priv_hex = v["computed_identity"]["server_priv"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = TestApp::spawn_with(be, move |c| {
        std::fs::create_dir_all(&c.data_dir).unwrap();
        std::fs::write(
            c.data_dir.join("key_x25519"),
            hex::decode(priv_hex).unwrap(),
        )
        .unwrap();
        c.require_blind_keys = require_blind;
    })
    .await;
    app.clock.advance(1_700_000_000.0 - app.clock.now());
    app
}

async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{}", app.base_url, path),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_empty() {
        req = req.body(body.to_owned());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[rstest]
#[tokio::test]
async fn request_signature_vectors_verify(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    let v = vectors();
    let app = vector_server(be, false).await;
    assert_eq!(
        app.state.keys.public_hex(),
        v["request_signatures_computed"]["server_pub"]
            .as_str()
            .unwrap()
    );
    app.room("test-room").await;
    for case in v["request_signatures_computed"]["cases"]
        .as_array()
        .unwrap()
    {
        let h = &case["headers"];
        let headers: Vec<(&str, &str)> = [
            "X-SOGS-Pubkey",
            "X-SOGS-Nonce",
            "X-SOGS-Timestamp",
            "X-SOGS-Signature",
        ]
        .iter()
        .map(|k| (*k, h[*k].as_str().unwrap()))
        .collect();
        let (method, path) = (
            case["method"].as_str().unwrap(),
            case["request_path"].as_str().unwrap(),
        );
        let body = case["body_utf8"].as_str().unwrap();
        let (status, text) = raw(&app, method, path, &headers, body).await;
        // Authentication passed: whatever the endpoint says next, it is not an auth error.
        assert!(
            !text.contains("Invalid authentication"),
            "{path}: {status} {text}"
        );
        match path {
            "/capabilities?required=sogs" => assert_eq!(status, 200, "{text}"),
            // zero signature inside the message body: refused by the handler, after auth
            "/room/test-room/message" => {
                assert_eq!(status, 400);
                assert_eq!(text, "message signature verification failed");
            }
            _ => assert_ne!(status, 401),
        }
        // The same headers again: the nonce is spent.
        let (status, text) = raw(&app, method, path, &headers, body).await;
        assert_eq!(status, 425, "{text}");
        assert_eq!(
            text,
            "Invalid authentication: X-SOGS-Nonce cannot be reused"
        );
        // Every case uses the same nonce: let it expire (48 h), prune it, and come back.
        app.clock.advance(49.0 * 3600.0);
        let pruned = sogs_server::cleanup::run_once(&app.state).await.unwrap();
        assert_eq!(pruned.nonces, 1);
        app.clock.advance(-49.0 * 3600.0);
    }
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn auth_error_paths(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let v = vectors();
    let app = vector_server(be, true).await;
    let case = &v["request_signatures_computed"]["cases"][1];
    let h = |k: &str| case["headers"][k].as_str().unwrap().to_owned();
    let (pk, nonce, ts, sig) = (
        h("X-SOGS-Pubkey"),
        h("X-SOGS-Nonce"),
        h("X-SOGS-Timestamp"),
        h("X-SOGS-Signature"),
    );
    let path = "/capabilities?required=sogs";
    let tampered = format!(
        "{}{}{}",
        &sig[..10],
        if &sig[10..11] == "A" { "B" } else { "A" },
        &sig[11..]
    );
    let with = |pk: &str, nonce: &str, ts: &str, sig: &str| {
        vec![
            ("X-SOGS-Pubkey", pk.to_owned()),
            ("X-SOGS-Nonce", nonce.to_owned()),
            ("X-SOGS-Timestamp", ts.to_owned()),
            ("X-SOGS-Signature", sig.to_owned()),
        ]
    };
    type Case<'a> = (Vec<(&'a str, String)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            with(&pk, &nonce, &ts, &sig)[..2].to_vec(),
            400,
            "Invalid authentication headers: missing 2/4 required X-SOGS-* headers",
        ),
        (
            with("15abc", &nonce, &ts, &sig),
            400,
            "Invalid authentication: X-SOGS-Pubkey is not a valid 66-hex digit id",
        ),
        (
            with(&format!("05{}", &pk[2..]), &nonce, &ts, &sig),
            400,
            "Invalid authentication: X-SOGS-Pubkey must be 00- or 15- prefixed",
        ),
        (
            with(&format!("15{}", "00".repeat(32)), &nonce, &ts, &sig),
            400,
            "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey",
        ),
        (
            with(
                v["computed_identity"]["unblinded_auth_pubkey_header"]
                    .as_str()
                    .unwrap(),
                &nonce,
                &ts,
                &sig,
            ),
            400,
            "Invalid authentication: this server requires the use of blinded ids",
        ),
        (
            with(&pk, "short", &ts, &sig),
            400,
            "Invalid authentication: X-SOGS-Nonce must be 16 bytes (encoded as base64 or hex)",
        ),
        (
            with(&pk, &nonce, &ts, "!!notbase64!!"),
            400,
            "Invalid authentication: X-SOGS-Signature is not base64[88]",
        ),
        (
            with(&pk, &nonce, "12.5", &sig),
            400,
            "Invalid authentication: X-SOGS-Timestamp is not a valid timestamp",
        ),
        (
            with(&pk, &nonce, "1699913599", &sig),
            425,
            "Invalid authentication: X-SOGS-Timestamp is too far from current time",
        ),
        (
            with(&pk, &nonce, &ts, &tampered),
            401,
            "Invalid authentication: X-SOGS-Signature verification failed",
        ),
    ];
    for (headers, status, text) in cases {
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let got = raw(&app, "GET", path, &hs, "").await;
        assert_eq!(got, (status, text.to_owned()), "headers {headers:?}");
    }
    // Nothing above spent the nonce: the genuine request still works, exactly once.
    let hs = with(&pk, &nonce, &ts, &sig);
    let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(raw(&app, "GET", path, &hs, "").await.0, 200);
    assert_eq!(raw(&app, "GET", path, &hs, "").await.0, 425);
    // The 24 h window is inclusive.
    app.clock.advance(86_400.0);
    let anon = raw(&app, "GET", "/capabilities", &[], "").await;
    assert_eq!(anon.0, 200);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn nonce_replay_survives_restart(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn(be).await;
    let alice = app.user(1);
    let headers = alice
        .client
        .auth_headers("GET", "/capabilities", b"")
        .unwrap();
    let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(raw(&app, "GET", "/capabilities", &hs, "").await.0, 200);
    // A second server instance on the same database refuses the replay.
    let mut config = app.config.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let second = sogs_server::build(config, app.clock.clone(), 1)
        .await
        .unwrap();
    let base = format!("http://{}", second.addr);
    tokio::spawn(second.server);
    let client = reqwest::Client::new();
    let mut req = client.get(format!("{base}/capabilities"));
    for (k, v) in &headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 425);
    app.shutdown().await;
}

#[rstest]
#[tokio::test]
async fn unblinded_and_25_ids(#[values(Backend::Sqlite, Backend::Postgres)] be: Backend) {
    let app = TestApp::spawn_with(be, |c| c.require_blind_keys = false).await;
    let (_, caps) = app.user(1).get_json("/capabilities").await;
    assert_eq!(
        caps["capabilities"],
        serde_json::json!(["reactions", "sogs"])
    );
    let id = TestApp::identity(3);
    let signer = Signer::Unblinded(id.signing_key().clone());
    let client = app.anon().with_signer(signer);
    let room = app.room("plain").await;
    let r = client.get(&format!("/room/{room}")).await.unwrap();
    assert_eq!(r.status, 200);
    // A 25-blinded key authenticates too (forward compatibility).
    let k25 = sogs_client::blinding::BlindedKeyPair::blind25(id.ed25519_seed(), &app.server_pk());
    let c25 = app.anon().with_signer(Signer::Blinded(k25));
    assert_eq!(c25.get("/capabilities").await.unwrap().status, 200);
    app.shutdown().await;
}

/// A message is verified against the key the request was signed with: `00` keys (whose `05`
/// id does not carry the key's sign bit), `15` and `25` keys, each with both sign bits, post
/// and edit directly, in `/batch` and through an onion request.
#[rstest]
#[tokio::test]
async fn message_signatures_by_every_key_kind_and_sign_bit(
    #[values(Backend::Sqlite, Backend::Postgres)] be: Backend,
) {
    use sogs_client::blinding::BlindedKeyPair;
    use sogs_client::client::Transport;
    use sogs_client::message::OutgoingMessage;
    use sogs_client::onion::EncType;

    let app = TestApp::spawn_with(be, |c| c.require_blind_keys = false).await;
    let room = app.room("plain").await;
    let server_pk = app.server_pk();
    let sign_bit = |k: &[u8; 32]| k[31] >> 7;
    // (label, signer, sign bit of the signing key); first seed found for each combination.
    let mut signers: Vec<(String, Signer, u8)> = Vec::new();
    for kind in ["00", "15", "25"] {
        for bit in [0u8, 1] {
            let signer = (1..=255u8)
                .map(|seed| {
                    let id = TestApp::identity(seed);
                    match kind {
                        "00" => Signer::Unblinded(id.signing_key().clone()),
                        "15" => {
                            Signer::Blinded(BlindedKeyPair::blind15(id.ed25519_seed(), &server_pk))
                        }
                        _ => {
                            Signer::Blinded(BlindedKeyPair::blind25(id.ed25519_seed(), &server_pk))
                        }
                    }
                })
                .find(|s| sign_bit(s.pubkey_id().key()) == bit)
                .unwrap();
            signers.push((format!("{kind} bit {bit}"), signer, bit));
        }
    }
    let body = |signer: &Signer, text: &str| {
        let data = OutgoingMessage {
            text: text.to_owned(),
            timestamp_ms: 1_750_000_000_000,
            ..Default::default()
        }
        .encode();
        let sig = signer.sign(&data);
        serde_json::json!({
            "data": sogs_client::encoding::b64_encode(&data),
            "signature": sogs_client::encoding::b64_encode(&sig),
        })
    };
    for (label, signer, bit) in &signers {
        assert_eq!(sign_bit(signer.pubkey_id().key()), *bit);
        let direct = app.anon().with_signer(signer.clone());
        let onion = app
            .anon()
            .with_signer(signer.clone())
            .with_transport(Transport::OnionDirect {
                enc: EncType::default(),
            });
        for (how, client) in [("direct", &direct), ("onion", &onion)] {
            let text = format!("{label} {how}");
            let r = client
                .post_json(&format!("/room/{room}/message"), &body(signer, &text))
                .await
                .unwrap();
            assert_eq!(r.status, 201, "{text}: {}", r.text());
            let id = r.json::<Value>().unwrap()["id"].as_i64().unwrap();
            let r = client
                .put_json(
                    &format!("/room/{room}/message/{id}"),
                    &body(signer, &format!("{text} edited")),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{text} edit: {}", r.text());
            let last_edit = body(signer, &format!("{text} batch edit"));
            let batch = serde_json::json!([
                {"method": "POST", "path": format!("/room/{room}/message"),
                 "json": body(signer, &format!("{text} batch"))},
                {"method": "PUT", "path": format!("/room/{room}/message/{id}"),
                 "json": last_edit},
            ]);
            let r = client.post_json("/batch", &batch).await.unwrap();
            assert_eq!(r.status, 200);
            let answers: Value = r.json().unwrap();
            assert_eq!(answers[0]["code"], 201, "{text} batch: {answers}");
            assert_eq!(answers[1]["code"], 200, "{text} batch edit: {answers}");
            // Stored as sent: the edited data is what reads back.
            let (_, msg) = app
                .user(1)
                .get_json(&format!("/room/{room}/message/{id}"))
                .await;
            assert_eq!(msg["data"], last_edit["data"], "{text}");
            assert_eq!(msg["signature"], last_edit["signature"], "{text}");
        }
        // A signature by another key is still refused.
        let (_, other, _) =
            &signers[(signers.iter().position(|s| &s.0 == label).unwrap() + 1) % signers.len()];
        let r = direct
            .post_json(&format!("/room/{room}/message"), &body(other, "forged"))
            .await
            .unwrap();
        assert_eq!(r.status, 400, "{label}: {}", r.text());
        assert_eq!(r.text(), "message signature verification failed");
    }
    app.shutdown().await;
}
