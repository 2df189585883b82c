//! Measures how much the server's memory grows while it receives (and serves) large uploads.
//!
//! Starts the real server in this process (SQLite in a temporary folder), then uploads files of
//! 1, 10 and 50 MB over a plain socket with a streamed, generated body (the client side holds
//! only 64 KiB at a time), and downloads the 10 MB one. Before each transfer the peak RSS
//! (`VmHWM`) is reset to the current RSS via `/proc/self/clear_refs`; afterwards the peak minus
//! the RSS before is printed, plus a control line for a 10 MB buffer held in memory, which
//! shows what a non-streaming server would cost. Linux only.
//!
//! `cargo run --release -p sogs-server --example upload_memory`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sogs_client::identity::Identity;
use sogs_client::signing::{BodyHasher, Signer};
use sogs_server::db::rooms::RoomDefaults;
use sogs_server::{Clock, Config};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHUNK: usize = 64 * 1024;

/// `VmRSS` and `VmHWM` in KiB.
fn mem() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak to the current RSS (Linux ≥ 4.0); false if not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Deterministic body bytes, generated chunk by chunk.
fn fill(chunk: &mut [u8], offset: usize) {
    for (i, b) in chunk.iter_mut().enumerate() {
        let n = offset + i;
        *b = (n.wrapping_mul(31) ^ (n >> 11)) as u8;
    }
}

fn body_chunks(len: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..len).step_by(CHUNK).map(move |off| {
        let mut c = vec![0u8; CHUNK.min(len - off)];
        fill(&mut c, off);
        c
    })
}

async fn upload(addr: SocketAddr, signer: &Signer, server_pk: &[u8; 32], len: usize) -> String {
    let mut hasher = BodyHasher::new();
    for c in body_chunks(len) {
        hasher.update(&c);
    }
    let hash = hasher.finalize().expect("non-empty body");
    let path = "/room/bench/file";
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let nonce: [u8; 16] = rand::random();
    let msg = sogs_client::signing::signed_message(
        server_pk,
        &nonce,
        &ts.to_string(),
        "POST",
        path,
        Some(&hash),
    );
    let pubkey = signer.pubkey_id().to_string();
    let sig = sogs_client::encoding::b64_encode(&signer.sign(&msg));
    let nonce = sogs_client::encoding::b64_encode(&nonce);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {len}\r\nContent-Disposition: attachment; filename=\"bench.bin\"\r\n\
         X-SOGS-Pubkey: {pubkey}\r\nX-SOGS-Timestamp: {ts}\r\nX-SOGS-Nonce: {nonce}\r\nX-SOGS-Signature: {sig}\r\n\r\n"
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    for c in body_chunks(len) {
        s.write_all(&c).await.unwrap();
    }
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    assert!(text.starts_with("HTTP/1.1 201"), "upload failed: {text}");
    text.rsplit("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Downloads a file anonymously, counting the bytes without keeping them.
async fn download(addr: SocketAddr, id: i64) -> usize {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req =
        format!("GET /room/bench/file/{id} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_data_dir(dir.path());
    config.listen = "127.0.0.1:0".parse()?;
    config.upload_max_bytes = 60_000_000;
    let built = sogs_server::build(config, Clock::System, 1).await?;
    let addr = built.addr;
    let state = built.state.clone();
    let handle = built.server.handle();
    tokio::spawn(built.server);
    let all = RoomDefaults {
        read: true,
        accessible: true,
        write: true,
        upload: true,
    };
    state
        .db
        .create_room("bench", "Bench", None, all, Clock::System.now())
        .await?;
    let server_pk = *state.keys.public();
    let signer = Signer::Blinded(Identity::from_seed(&[7; 16]).blinded15(&server_pk));

    // Warm up: connections, threads, first spool file.
    for _ in 0..3 {
        upload(addr, &signer, &server_pk, 1_000_000).await;
    }
    let can_reset = reset_peak();
    println!("peak reset via /proc/self/clear_refs: {can_reset}");
    println!(
        "{:>12} {:>14} {:>14} {:>12} {:>8}",
        "transfer", "RSS before", "peak", "peak delta", "secs"
    );
    let mut ten_mb_id = 0;
    for len in [1_000_000usize, 10_000_000, 50_000_000] {
        reset_peak();
        let (rss0, _) = mem();
        let t = Instant::now();
        let body = upload(addr, &signer, &server_pk, len).await;
        let (_, hwm) = mem();
        let id: i64 = serde_json::from_str::<serde_json::Value>(&body)?["id"]
            .as_i64()
            .unwrap_or(0);
        if len == 10_000_000 {
            ten_mb_id = id;
        }
        println!(
            "{:>9} MB up {:>10} KiB {:>10} KiB {:>8} KiB {:>8.2}",
            len / 1_000_000,
            rss0,
            hwm,
            hwm.saturating_sub(rss0),
            t.elapsed().as_secs_f64()
        );
    }
    reset_peak();
    let (rss0, _) = mem();
    let t = Instant::now();
    let got = download(addr, ten_mb_id).await;
    let (_, hwm) = mem();
    println!(
        "{:>6} MB down {:>10} KiB {:>10} KiB {:>8} KiB {:>8.2}",
        10,
        rss0,
        hwm,
        hwm.saturating_sub(rss0),
        t.elapsed().as_secs_f64()
    );
    assert!(got > 10_000_000, "download was {got} bytes");

    // Calibration: the same measurement around a 10 MB buffer held in memory.
    reset_peak();
    let (rss0, _) = mem();
    let held = std::hint::black_box(vec![1u8; 10_000_000]);
    let (_, hwm) = mem();
    drop(held);
    println!(
        "{:>12} {:>10} KiB {:>10} KiB {:>8} KiB",
        "control 10MB",
        rss0,
        hwm,
        hwm.saturating_sub(rss0)
    );
    handle.stop(true).await;
    Ok(())
}
