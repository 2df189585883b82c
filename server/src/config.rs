//! Configuration: an optional TOML file, every key overridable by a `SOGS_*` environment
//! variable, validated once at start-up into typed fields.

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What the file may contain; every key optional. Unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    base_url: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    require_blind_keys: Option<toml::Value>,
    max_request_bytes: Option<toml::Value>,
    upload_max_bytes: Option<toml::Value>,
    upload_expiry_days: Option<toml::Value>,
    dm_expiry_days: Option<toml::Value>,
    dm_rate_limit: Option<String>,
    http_rate_limit: Option<toml::Value>,
    max_batch_requests: Option<toml::Value>,
    log: Option<String>,
}

/// Every setting, with its environment variable and meaning; the README table is this list.
pub const KEYS: &[(&str, &str, &str)] = &[
    ("listen", "127.0.0.1:8080", "address and port to listen on"),
    (
        "base_url",
        "http://<listen>",
        "public URL printed in join links",
    ),
    (
        "data_dir",
        "./sogs-data",
        "key file, SQLite database and uploads",
    ),
    (
        "database_url",
        "sqlite://<data_dir>/sogs.db",
        "`postgres://…` selects PostgreSQL",
    ),
    (
        "require_blind_keys",
        "true",
        "refuse unblinded (00) ids; advertise `blind`",
    ),
    (
        "max_request_bytes",
        "11534336",
        "largest accepted non-upload request body",
    ),
    (
        "upload_max_bytes",
        "10000000",
        "largest accepted file upload (413 above)",
    ),
    (
        "upload_expiry_days",
        "15",
        "lifetime of attached uploads; 0 = never expire",
    ),
    ("dm_expiry_days", "15", "lifetime of direct messages"),
    (
        "dm_rate_limit",
        "20/60",
        "direct messages per sender: COUNT/SECONDS, or `off`",
    ),
    (
        "http_rate_limit",
        "0",
        "requests per second per client IP at the HTTP edge; 0 = off",
    ),
    (
        "max_batch_requests",
        "256",
        "most sub-requests in one /batch or /sequence (400 above)",
    ),
    ("log", "info", "tracing filter, e.g. `sogs_server=debug`"),
];

/// Default [`Config::max_batch_requests`]. The apps' poll batch is 1 + 2 per joined room on
/// the server + 2 DM requests: 256 covers 126 rooms on one server, which no community has.
pub const DEFAULT_MAX_BATCH_REQUESTS: usize = 256;

#[derive(Clone, Debug)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(Redacted),
}

/// A string that never shows itself in `Debug` output (a database URL can carry a password).
#[derive(Clone)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub base_url: String,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub require_blind_keys: bool,
    pub max_request_bytes: usize,
    pub upload_max_bytes: u64,
    pub upload_expiry_secs: Option<f64>,
    pub dm_expiry_secs: f64,
    /// (count, per seconds) for direct messages per sender; None = unlimited.
    pub dm_rate_limit: Option<(u32, u64)>,
    pub http_rate_limit: u32,
    /// Most sub-requests in one `/batch` or `/sequence`.
    pub max_batch_requests: usize,
    pub log: String,
    /// The configuration file that was read, if any (for "where I looked" messages).
    pub config_file: Option<PathBuf>,
}

impl Config {
    /// Defaults for a data folder, as if neither a file nor the environment said anything.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
        Self {
            listen,
            base_url: format!("http://{listen}"),
            database: DatabaseUrl::Sqlite(data_dir.join("sogs.db")),
            data_dir,
            require_blind_keys: true,
            max_request_bytes: 11 * 1024 * 1024,
            upload_max_bytes: 10_000_000,
            upload_expiry_secs: Some(15.0 * 86400.0),
            dm_expiry_secs: 15.0 * 86400.0,
            dm_rate_limit: Some((20, 60)),
            http_rate_limit: 0,
            max_batch_requests: DEFAULT_MAX_BATCH_REQUESTS,
            log: "info".into(),
            config_file: None,
        }
    }

    /// Loads `file` (or `sogs.toml` if it exists and no file was named), then applies the
    /// `SOGS_*` variables of `env`, then validates.
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> anyhow::Result<Self> {
        let config_file = match file {
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from("sogs.toml")).filter(|p| p.exists()),
        };
        let raw = match &config_file {
            Some(path) => read_file(path)?,
            None => RawConfig::default(),
        };
        let mut values: Vec<(&str, Option<String>)> = vec![
            ("listen", raw.listen),
            ("base_url", raw.base_url),
            ("data_dir", raw.data_dir),
            ("database_url", raw.database_url),
            ("require_blind_keys", raw.require_blind_keys.map(scalar)),
            ("max_request_bytes", raw.max_request_bytes.map(scalar)),
            ("upload_max_bytes", raw.upload_max_bytes.map(scalar)),
            ("upload_expiry_days", raw.upload_expiry_days.map(scalar)),
            ("dm_expiry_days", raw.dm_expiry_days.map(scalar)),
            ("dm_rate_limit", raw.dm_rate_limit),
            ("http_rate_limit", raw.http_rate_limit.map(scalar)),
            ("max_batch_requests", raw.max_batch_requests.map(scalar)),
            ("log", raw.log),
        ];
        for (key, value) in values.iter_mut() {
            let var = format!("SOGS_{}", key.to_ascii_uppercase());
            if let Some((_, v)) = env.iter().find(|(k, _)| *k == var) {
                *value = Some(v.clone());
            }
        }
        let get = |key: &str| -> Option<&str> {
            values
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.as_deref())
        };

        let data_dir = PathBuf::from(get("data_dir").unwrap_or("./sogs-data"));
        let mut cfg = Self::for_data_dir(data_dir.clone());
        cfg.config_file = config_file;
        if let Some(v) = get("listen") {
            cfg.listen = v
                .parse()
                .map_err(|_| anyhow!("listen: `{v}` is not an address like 127.0.0.1:8080"))?;
        }
        cfg.base_url = match get("base_url") {
            Some(v) => parse_base_url(v)?,
            None => format!("http://{}", cfg.listen),
        };
        if let Some(v) = get("database_url") {
            cfg.database = parse_database_url(v)?;
        }
        if let Some(v) = get("require_blind_keys") {
            cfg.require_blind_keys = parse_bool("require_blind_keys", v)?;
        }
        if let Some(v) = get("max_request_bytes") {
            cfg.max_request_bytes = parse_num("max_request_bytes", v)?;
        }
        if let Some(v) = get("upload_max_bytes") {
            cfg.upload_max_bytes = parse_num("upload_max_bytes", v)?;
        }
        if let Some(v) = get("upload_expiry_days") {
            let days: f64 = parse_num("upload_expiry_days", v)?;
            if !days.is_finite() || days < 0.0 {
                bail!("upload_expiry_days: `{v}` must be 0 (never expire) or more");
            }
            cfg.upload_expiry_secs = (days > 0.0).then_some(days * 86400.0);
        }
        if let Some(v) = get("dm_expiry_days") {
            let days: f64 = parse_num("dm_expiry_days", v)?;
            if !days.is_finite() || days <= 0.0 {
                bail!("dm_expiry_days: must be greater than 0");
            }
            cfg.dm_expiry_secs = days * 86400.0;
        }
        if let Some(v) = get("dm_rate_limit") {
            cfg.dm_rate_limit = parse_rate("dm_rate_limit", v)?;
        }
        if let Some(v) = get("max_batch_requests") {
            cfg.max_batch_requests = parse_num("max_batch_requests", v)?;
            if cfg.max_batch_requests == 0 {
                bail!("max_batch_requests: must be at least 1");
            }
        }
        if let Some(v) = get("http_rate_limit") {
            cfg.http_rate_limit = parse_num("http_rate_limit", v)?;
        }
        if let Some(v) = get("log") {
            tracing_subscriber::EnvFilter::try_new(v).map_err(|e| {
                anyhow!(
                    "log: `{v}` is not a tracing filter ({e}); e.g. `info` or `sogs_server=debug`"
                )
            })?;
            cfg.log = v.to_owned();
        }
        Ok(cfg)
    }

    pub fn key_path(&self) -> PathBuf {
        self.data_dir.join("key_x25519")
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }
}

fn read_file(path: &Path) -> anyhow::Result<RawConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" (line {line}, column {column})")
            })
            .unwrap_or_default();
        let message = e.message().trim().replace('\n', "; ");
        anyhow!("config file {}{at}: {message}", path.display())
    })
}

fn scalar(v: toml::Value) -> String {
    match v {
        toml::Value::String(s) => s,
        other => other.to_string(),
    }
}

fn parse_bool(key: &str, v: &str) -> anyhow::Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{key}: `{v}` is not true or false"),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> anyhow::Result<T> {
    v.trim()
        .parse()
        .map_err(|_| anyhow!("{key}: `{v}` is not a valid number"))
}

/// `COUNT/SECONDS` or `off`.
pub fn parse_rate(key: &str, v: &str) -> anyhow::Result<Option<(u32, u64)>> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (n, secs) = v
        .split_once('/')
        .ok_or_else(|| anyhow!("{key}: `{v}` is not COUNT/SECONDS or off"))?;
    let n: u32 = parse_num(key, n)?;
    let secs: u64 = parse_num(key, secs)?;
    if n == 0 || secs == 0 {
        bail!("{key}: count and seconds must both be greater than 0");
    }
    Ok(Some((n, secs)))
}

fn parse_base_url(v: &str) -> anyhow::Result<String> {
    let trimmed = v.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or_else(|| anyhow!("base_url: `{v}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains('/') || rest.contains('?') {
        bail!("base_url: `{v}` must be scheme://host[:port] with no path");
    }
    Ok(trimmed.to_owned())
}

fn parse_database_url(v: &str) -> anyhow::Result<DatabaseUrl> {
    if let Some(path) = v.strip_prefix("sqlite://") {
        if path.is_empty() {
            bail!("database_url: sqlite:// needs a file path");
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        return Ok(DatabaseUrl::Postgres(Redacted(v.to_owned())));
    }
    bail!("database_url: must start with sqlite:// or postgres://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_data_dir() {
        let cfg = Config::load_from(None, &env(&[("SOGS_DATA_DIR", "/tmp/x")])).unwrap();
        assert_eq!(cfg.base_url, "http://127.0.0.1:8080");
        match cfg.database {
            DatabaseUrl::Sqlite(p) => assert_eq!(p, PathBuf::from("/tmp/x/sogs.db")),
            DatabaseUrl::Postgres(_) => panic!("expected sqlite"),
        }
        assert!(cfg.require_blind_keys);
    }

    #[test]
    fn env_overrides_and_errors_name_the_key() {
        let cfg = Config::load_from(
            None,
            &env(&[
                ("SOGS_LISTEN", "0.0.0.0:9000"),
                ("SOGS_DATABASE_URL", "postgres://u@h/db"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.listen.port(), 9000);
        assert_eq!(cfg.base_url, "http://0.0.0.0:9000");
        assert!(matches!(cfg.database, DatabaseUrl::Postgres(_)));
        let err = Config::load_from(None, &env(&[("SOGS_LISTEN", "nope")])).unwrap_err();
        assert!(err.to_string().starts_with("listen:"), "{err}");
        let err = Config::load_from(None, &env(&[("SOGS_UPLOAD_MAX_BYTES", "x")])).unwrap_err();
        assert!(err.to_string().starts_with("upload_max_bytes:"), "{err}");
    }

    #[test]
    fn bad_values_and_syntax_errors_say_where() {
        for (var, value, key) in [
            ("SOGS_UPLOAD_EXPIRY_DAYS", "-1", "upload_expiry_days:"),
            ("SOGS_DM_EXPIRY_DAYS", "NaN", "dm_expiry_days:"),
            ("SOGS_LOG", "sogs_server=loud", "log:"),
        ] {
            let err = Config::load_from(None, &env(&[(var, value)])).unwrap_err();
            assert!(err.to_string().starts_with(key), "{var}: {err}");
        }
        let cfg = Config::load_from(None, &env(&[("SOGS_UPLOAD_EXPIRY_DAYS", "0")])).unwrap();
        assert_eq!(cfg.upload_expiry_secs, None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nbase_url = http://x\n").unwrap();
        let err = Config::load_from(Some(&path), &[]).unwrap_err().to_string();
        assert!(err.contains("(line 2, column 12)"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlisen = 3\n").unwrap();
        let err = Config::load_from(Some(&path), &[]).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        std::fs::write(
            &path,
            "upload_max_bytes = 5\nbase_url = \"https://x.org/\"\n",
        )
        .unwrap();
        let cfg = Config::load_from(Some(&path), &[]).unwrap();
        assert_eq!(cfg.upload_max_bytes, 5);
        assert_eq!(cfg.base_url, "https://x.org");
    }
}
