//! Database layer tests: every `Db` method on both engines, each test in a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod files_reactions_dm;
mod layer;
mod moderation;
