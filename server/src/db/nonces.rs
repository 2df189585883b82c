//! Request nonces, remembered in the database so a replay is refused after a restart or on
//! another server instance.

use super::{on_pool, Db, DbResult};

impl Db {
    /// Records a nonce; returns false if it was already used (and is not yet expired).
    pub async fn use_nonce(&self, nonce: &[u8; 16], expiry: f64) -> DbResult<bool> {
        const Q: &str =
            "INSERT INTO nonces (nonce, expiry) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING";
        let done = on_pool!(self, p => sqlx::query(Q).bind(&nonce[..]).bind(expiry).execute(p).await?.rows_affected());
        Ok(done == 1)
    }

    pub async fn prune_nonces(&self, now: f64) -> DbResult<u64> {
        const Q: &str = "DELETE FROM nonces WHERE expiry < $1";
        let done = on_pool!(self, p => sqlx::query(Q).bind(now).execute(p).await?.rows_affected());
        Ok(done)
    }
}
