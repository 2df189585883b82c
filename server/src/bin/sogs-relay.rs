//! `sogs-relay`: a minimal onion-request relay (service-node `/onion_req/v2` hop protocol over
//! plain HTTP) for testing onion routing locally. See `sogs_server::relay`.

use clap::Parser;
use sogs_server::relay::{self, NodeDirectory, RelayConfig, RelayKeys};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A minimal Session service-node relay for onion requests, for local testing.
///
/// On start it prints its node-list entry (`{"address","x25519","ed25519"}`) as one JSON
/// line; collect those lines into a JSON array to make the nodes file that relays and
/// clients read.
#[derive(Parser, Debug)]
#[command(name = "sogs-relay", version)]
struct Args {
    /// Address and port to listen on.
    #[arg(long, env = "SOGS_RELAY_LISTEN", default_value = "127.0.0.1:8601")]
    listen: SocketAddr,
    /// File holding this relay's 32-byte Ed25519 seed (created if missing).
    #[arg(long, env = "SOGS_RELAY_KEY", default_value = "sogs-relay.key")]
    key_file: PathBuf,
    /// JSON node list of the other relays (re-read when a destination is unknown).
    #[arg(long, env = "SOGS_RELAY_NODES")]
    nodes: Option<PathBuf>,
    /// Seconds to wait for the next hop or the server.
    #[arg(long, env = "SOGS_RELAY_TIMEOUT", default_value_t = 25)]
    timeout: u64,
    /// The address to advertise in the printed node entry (default: http://<listen>).
    #[arg(long)]
    advertise: Option<String>,
    /// Print this relay's node-list entry and exit without listening.
    #[arg(long)]
    print_node: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SOGS_RELAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sogs-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let keys = RelayKeys::load_or_create(&args.key_file)?;
    let advertise = args.advertise.clone();
    if args.print_node {
        let address = advertise.unwrap_or_else(|| format!("http://{}", args.listen));
        println!("{}", serde_json::to_string(&keys.node(&address))?);
        return Ok(());
    }
    let nodes = match &args.nodes {
        Some(path) => NodeDirectory::from_file(path)?,
        None => NodeDirectory::default(),
    };
    let config = RelayConfig {
        listen: args.listen,
        keys,
        nodes,
        timeout: Duration::from_secs(args.timeout),
        workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    actix_web::rt::System::new().block_on(relay::run(config, advertise))
}
