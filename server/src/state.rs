//! Application state: values built once by `build` and shared by every request.

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::files::FileStore;
use crate::keys::ServerKeys;
use crate::limits::Limiters;
use std::sync::Arc;

pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub keys: ServerKeys,
    pub clock: Clock,
    pub limiters: Limiters,
    /// Uploaded files on disk.
    pub files: FileStore,
}

impl AppState {
    pub fn now(&self) -> f64 {
        self.clock.now()
    }
}
