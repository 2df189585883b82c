//! The server's long-term X25519 key: 32 raw bytes in `<data dir>/key_x25519`, as pysogs
//! stores it, created on first start with mode 0600 and never logged.

use anyhow::{bail, Context};
use std::path::Path;
use x25519_dalek::{PublicKey, StaticSecret};

#[derive(Clone)]
pub struct ServerKeys {
    secret: StaticSecret,
    public: [u8; 32],
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

impl ServerKeys {
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    pub fn generate() -> Self {
        Self::from_secret_bytes(rand::random())
    }

    /// Reads the key file, or creates it (mode 0600) if it does not exist yet.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                    bail!(
                        "key file {} must hold exactly 32 raw bytes, found {}",
                        path.display(),
                        bytes.len()
                    );
                };
                Ok(Self::from_secret_bytes(arr))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate();
                write_private(path, &keys.secret.to_bytes())
                    .with_context(|| format!("creating key file {}", path.display()))?;
                tracing::info!(path = %path.display(), "generated a new server key");
                Ok(keys)
            }
            Err(e) => Err(e).with_context(|| format!("reading key file {}", path.display())),
        }
    }

    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.public)
    }

    pub fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
