//! End-to-end API tests: the real server over HTTP, driven by `sogs-client`, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cli;
mod client_cli;
mod client_e2e;
mod core;
mod dm;
mod files;
mod moderation;
mod onion;
mod reactions;
mod repo;
mod wire;
