//! `sogs-client`: parse the command line, run it, exit with its code.

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let code = sogs_client::cli::run(
        args,
        &env,
        &mut std::io::stdin(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await;
    std::process::exit(code);
}
