//! `sogs`: parse the command line, run it, exit with its code.

use std::io::IsTerminal;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let input: Option<&mut dyn std::io::BufRead> = if std::io::stdin().is_terminal() {
        Some(&mut lock)
    } else {
        None
    };
    let io = sogs_server::cli::Io {
        out: &mut std::io::stdout(),
        err: &mut std::io::stderr(),
        input,
    };
    let code = sogs_server::cli::run_with(args, &env, io).await;
    std::process::exit(code);
}
