//! What a newcomer relies on in the repository itself: the licence, docker-compose, the
//! install check and the protocol notes the code cites.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn licence_file_matches_every_crate() {
    let licence = read("LICENSE");
    assert!(licence.contains("GNU GENERAL PUBLIC LICENSE"));
    assert!(licence.contains("Version 3, 29 June 2007"));
    assert!(licence.contains("END OF TERMS AND CONDITIONS"));
    assert!(read("Cargo.toml").contains("\nlicense = \"GPL-3.0-or-later\"\n"));
    for krate in ["server", "client-lib", "tests"] {
        let manifest = read(&format!("{krate}/Cargo.toml"));
        assert!(
            manifest.contains("\nlicense.workspace = true\n"),
            "{krate}/Cargo.toml does not take the workspace licence"
        );
    }
}

/// Each service block of docker-compose.yml: (name, its lines).
fn compose_services(text: &str) -> Vec<(String, Vec<String>)> {
    let mut services = Vec::new();
    let mut in_services = false;
    for line in text.lines() {
        if line.starts_with("services:") {
            in_services = true;
            continue;
        }
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_services = false;
        }
        if !in_services {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') {
                services.push((name.to_owned(), Vec::new()));
                continue;
            }
        }
        if let Some((_, lines)) = services.last_mut() {
            lines.push(line.trim().to_owned());
        }
    }
    services
}

#[test]
fn docker_compose_restarts_and_takes_the_public_url_from_the_environment() {
    let services = compose_services(&read("docker-compose.yml"));
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["db", "sogs"]);
    for (name, lines) in &services {
        assert!(
            lines.iter().any(|l| l == "restart: unless-stopped"),
            "service {name} has no restart policy"
        );
    }
    let sogs = &services[1].1;
    assert!(
        sogs.iter()
            .any(|l| l.starts_with("SOGS_BASE_URL: ${SOGS_BASE_URL")),
        "SOGS_BASE_URL is not taken from the environment: {sogs:?}"
    );
    assert!(read("README.md").contains("SOGS_BASE_URL"));
}

#[test]
fn ci_runs_the_install_check() {
    let run = read(".ci/run");
    let lines: Vec<&str> = run.lines().map(str::trim).collect();
    assert!(lines.contains(&"cargo test --workspace"));
    assert!(lines.contains(&".ci/install-check"));
    let check = read(".ci/install-check");
    assert!(check.contains("cargo install --quiet --locked --debug --path server"));
    assert!(check.contains("cargo install --quiet --locked --debug --path client-lib"));
    let readme = read("README.md");
    assert!(readme.contains("cargo install --locked --path server"));
    assert!(readme.contains("cargo install --locked --path client-lib"));
}

/// The container's healthcheck command, run against the real server (its port swapped in):
/// succeeds while the database answers, fails once it does not.
#[rstest::rstest]
#[tokio::test]
async fn docker_healthcheck_command_works(
    #[values(sogs_tests::Backend::Sqlite, sogs_tests::Backend::Postgres)] be: sogs_tests::Backend,
) {
    let compose = read("docker-compose.yml");
    let services = compose_services(&compose);
    let line = services[1]
        .1
        .iter()
        .find_map(|l| l.strip_prefix("test: "))
        .expect("sogs has a healthcheck");
    let argv: Vec<String> = serde_json::from_str(line).unwrap();
    assert_eq!(argv[..3], ["CMD", "bash", "-c"]);
    let app = sogs_tests::TestApp::spawn(be).await;
    let script = argv[3].replace("/8080", &format!("/{}", app.addr.port()));
    assert_ne!(script, argv[3]);
    let run = |script: String| async move {
        tokio::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .status()
            .await
            .unwrap()
            .success()
    };
    assert!(
        run(script.clone()).await,
        "healthcheck failed on a healthy server"
    );
    app.state.db.close().await;
    assert!(
        !run(script).await,
        "healthcheck passed with the database closed"
    );
    app.shutdown().await;
}

/// Every `PROTOCOL.md`/`CLIENT.md`/`IDENTITY.md`/`DATA-MODEL.md §N` the code cites is a
/// section of the notes in `docs/`.
#[test]
fn every_cited_protocol_section_is_in_docs() {
    let out = std::process::Command::new("bash")
        .arg(repo().join("docs/check-citations.sh"))
        .current_dir(repo())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("citations resolve"), "{text}");
}
