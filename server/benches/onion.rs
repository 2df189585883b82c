//! Onion-request benchmark: the per-request crypto cost on the server (X25519 + key
//! derivation + AEAD decryption of a small request, and the reply encryption), and onion
//! requests per second through a real server on loopback (SQLite), for both ciphers, next to
//! direct HTTP for comparison.
//!
//! `cargo bench -p sogs-server --bench onion` (criterion). The throughput groups report
//! `elem/s` = requests per second; each iteration is a burst of `BURST` requests with
//! `CONCURRENCY` in flight from one client process on the same machine, so client and server
//! share the CPU.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::stream::{self, StreamExt};
use sogs_client::onion::{build_v4_request, peel_layer, server_key, EncType, ReplyKey, V4Response};
use sogs_server::config::Config;
use sogs_server::Clock;
use std::collections::BTreeMap;
use std::time::Duration;
use x25519_dalek::StaticSecret;

const ENCS: [EncType; 2] = [EncType::AesGcm, EncType::XChaCha20];
const BURST: usize = 256;
const CONCURRENCY: usize = 16;

fn request(enc: EncType, server_pub: &[u8; 32], endpoint: &str) -> (Vec<u8>, ReplyKey) {
    build_v4_request(enc, server_pub, "GET", endpoint, &BTreeMap::new(), None).unwrap()
}

fn crypto(c: &mut Criterion) {
    let secret = StaticSecret::from([0x42; 32]);
    let server_pub = x25519_dalek::PublicKey::from(&secret).to_bytes();
    let mut g = c.benchmark_group("onion_crypto");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for enc in ENCS {
        let (body, _) = request(enc, &server_pub, "/room/bench/messages/recent");
        let eph: [u8; 32] = x25519_dalek::PublicKey::from(&StaticSecret::from([7; 32])).to_bytes();
        g.bench_function(BenchmarkId::new("x25519_key_only", enc.as_str()), |b| {
            b.iter(|| server_key(enc, &secret, &eph).unwrap())
        });
        g.bench_function(BenchmarkId::new("x25519_and_decrypt", enc.as_str()), |b| {
            b.iter(|| peel_layer(&secret, &body).unwrap())
        });
        g.bench_function(
            BenchmarkId::new("x25519_and_decrypt_spawn_blocking", enc.as_str()),
            |b| {
                b.iter(|| {
                    let body = bytes::Bytes::from(body.clone());
                    rt.block_on(sogs_server::onion::peel(secret.clone(), body))
                        .unwrap()
                })
            },
        );
        let key = peel_layer(&secret, &body).unwrap().reply_key;
        let reply = V4Response {
            status: 200,
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            body: br#"{"capabilities":["blind","reactions","sogs"]}"#.to_vec(),
        };
        g.bench_function(BenchmarkId::new("encrypt_reply", enc.as_str()), |b| {
            b.iter(|| key.encrypt_v4_response(&reply).unwrap())
        });
    }
    g.finish();
}

struct Server {
    base: String,
    pk: [u8; 32],
    handle: sogs_server::ServerHandle,
    _dir: tempfile::TempDir,
}

async fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let built = sogs_server::build(config.clone(), Clock::System, 2)
        .await
        .unwrap();
    let env = vec![("SOGS_DATA_DIR".to_owned(), dir.path().display().to_string())];
    let argv = ["sogs", "room", "add", "bench", "--name", "Bench"]
        .map(str::to_owned)
        .to_vec();
    let code = sogs_server::cli::run(argv, &env, &mut Vec::new(), &mut Vec::new()).await;
    assert_eq!(code, 0);
    let handle = built.server.handle();
    tokio::spawn(built.server);
    Server {
        base: format!("http://{}", built.addr),
        pk: *built.state.keys.public(),
        handle,
        _dir: dir,
    }
}

/// Sends `BURST` copies of `body` (unauthenticated GETs may be replayed) with `CONCURRENCY`
/// in flight; every reply must be a 200.
async fn burst(http: &reqwest::Client, url: &str, body: Option<&[u8]>) {
    stream::iter(0..BURST)
        .map(|_| async move {
            let req = match body {
                Some(b) => http.post(url).body(b.to_vec()),
                None => http.get(url),
            };
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.bytes().await.unwrap();
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
}

fn throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(start_server());
    let http = reqwest::Client::new();
    let onion_url = format!("{}/oxen/v4/lsrpc", server.base);
    let mut g = c.benchmark_group("onion_rps");
    g.throughput(Throughput::Elements(BURST as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for endpoint in ["/capabilities", "/room/bench/messages/recent"] {
        let name = endpoint.trim_start_matches('/').replace('/', "_");
        for enc in ENCS {
            let (body, key) = request(enc, &server.pk, endpoint);
            // Check once that the reply is what we think it is.
            let reply = rt.block_on(async {
                let r = http
                    .post(&onion_url)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                r.bytes().await.unwrap()
            });
            assert_eq!(key.decrypt_v4_response(&reply).unwrap().status, 200);
            g.bench_function(
                BenchmarkId::new(format!("onion_{}", enc.as_str()), &name),
                |b| b.iter(|| rt.block_on(burst(&http, &onion_url, Some(&body)))),
            );
        }
        let direct = format!("{}{endpoint}", server.base);
        g.bench_function(BenchmarkId::new("direct", &name), |b| {
            b.iter(|| rt.block_on(burst(&http, &direct, None)))
        });
    }
    g.finish();
    rt.block_on(server.handle.stop(false));
}

criterion_group!(benches, crypto, throughput);
criterion_main!(benches);
