//! `sogs-client`: everything a program needs to take part in a Session Community (SOGS v3):
//! identities and recovery phrases, community URLs, blinded ids and signatures, request
//! signing, message encoding, onion-request encryption and, with the `http` feature, an
//! HTTP client, a poller and the `sogs-client` command line.
//!
//! The crypto and wire-format modules here are the single implementation used by the server
//! too (`sogs-server` depends on this crate with `default-features = false`).
//!
//! For bots and clients, start at [`community::Community`] (join a room by URL, post, edit,
//! delete, react, files, blinded DMs) and [`poller::Poller`] (the apps' poll batch, turned
//! into typed [`poller::Event`]s); [`types`] has the typed API objects and decoded messages.
//! The `sogs-client` binary is [`cli`].

pub mod blinding;
pub mod disposition;
pub mod dm;
pub mod encoding;
pub mod identity;
pub mod ids;
pub mod message;
pub mod mnemonic;
pub mod onion;
pub mod onion_client;
pub mod signing;
pub mod types;
pub mod url;

#[cfg(feature = "http")]
pub mod cli;
#[cfg(feature = "args")]
pub mod cli_args;
#[cfg(feature = "http")]
pub mod client;
#[cfg(feature = "http")]
pub mod community;
#[cfg(feature = "http")]
pub mod dm_api;
#[cfg(feature = "http")]
pub mod files_api;
#[cfg(feature = "http")]
pub mod poller;
