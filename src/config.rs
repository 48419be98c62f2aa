//! Configuration: one TOML file plus `ONAIR_*` environment overrides. Unknown keys are refused,
//! secrets never reach the logs, and the annotated example (`onair config example`) is tested to
//! be equal to the built-in defaults.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Deserializer};

/// The annotated example configuration; every value in it is the default.
pub const EXAMPLE: &str = include_str!("../onair.example.toml");

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub playout: PlayoutConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Where the origin, the API and the pages listen. Port 0 picks a free port.
    pub addr: SocketAddr,
}

#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Holds the SQLite database and, unless `media_dir` says otherwise, the media.
    pub data_dir: PathBuf,
    /// Where segments are written and served from. Default: `<data_dir>/media`.
    pub media_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Default: `sqlite://<data_dir>/onair.db`.
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlayoutConfig {
    /// How often the origin looks for schedule changes.
    #[serde(deserialize_with = "duration_text")]
    pub refresh_interval: Duration,
    /// Run the server on a virtual clock, e.g. to preview tomorrow's grid.
    pub virtual_clock: Option<VirtualClockConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualClockConfig {
    /// The instant the clock shows at startup (RFC 3339).
    pub start: chrono::DateTime<chrono::Utc>,
    /// How many virtual seconds pass per real second.
    #[serde(default = "one")]
    pub speed: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `onair=debug,sqlx=warn`. `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            data_dir: PathBuf::from("./onair-data"),
            media_dir: None,
            database_url: None,
        }
    }
}

impl Default for PlayoutConfig {
    fn default() -> PlayoutConfig {
        PlayoutConfig {
            refresh_interval: Duration::from_secs(2),
            virtual_clock: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            filter: "info".into(),
        }
    }
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("data_dir", &self.data_dir)
            .field("media_dir", &self.media_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .finish()
    }
}

impl StorageConfig {
    pub fn media_dir(&self) -> PathBuf {
        self.media_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("media"))
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("onair.db").display()),
        }
    }
}

/// Hides the password of `scheme://user:password@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl Config {
    /// Reads `path` (or the defaults when `None`), then applies the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                Config::parse(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        toml::from_str(text).map_err(|error| anyhow::anyhow!("{}", one_line(&error)))
    }

    /// `ONAIR_HTTP_ADDR`, `ONAIR_DATA_DIR`, `ONAIR_MEDIA_DIR`, `ONAIR_DATABASE_URL`, `ONAIR_LOG`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(addr) = var("ONAIR_HTTP_ADDR") {
            self.http.addr = addr.parse().with_context(|| {
                format!("ONAIR_HTTP_ADDR={addr:?} is not an address like 127.0.0.1:8080")
            })?;
        }
        if let Some(dir) = var("ONAIR_DATA_DIR") {
            self.storage.data_dir = PathBuf::from(dir);
        }
        if let Some(dir) = var("ONAIR_MEDIA_DIR") {
            self.storage.media_dir = Some(PathBuf::from(dir));
        }
        if let Some(url) = var("ONAIR_DATABASE_URL") {
            self.storage.database_url = Some(url);
        }
        if let Some(filter) = var("ONAIR_LOG") {
            self.log.filter = filter;
        }
        if self.playout.refresh_interval.is_zero() {
            bail!("playout.refresh_interval must be more than zero");
        }
        Ok(())
    }
}

/// toml's errors span several lines with a caret; we want one.
fn one_line(error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => format!("{message} (at byte {})", span.start),
        None => message,
    }
}

/// `"500ms"`, `"2s"`, `"5m"`, `"1h"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like \"2s\""))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(format!(
            "{text:?} is not a duration like \"2s\" (units: ms, s, m, h)"
        )),
    }
}

fn duration_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_equals_the_defaults() {
        assert_eq!(Config::parse(EXAMPLE).unwrap(), Config::default());
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let error = Config::parse("[http]\nadress = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `adress`"), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = Config::parse("[http]\naddr = \"127.0.0.1:1\"\n").unwrap();
        config
            .apply_env(|name| match name {
                "ONAIR_HTTP_ADDR" => Some("127.0.0.1:9999".into()),
                "ONAIR_DATA_DIR" => Some("/tmp/x".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.http.addr.port(), 9999);
        assert_eq!(config.storage.database_url(), "sqlite:///tmp/x/onair.db");
        assert_eq!(config.storage.media_dir(), PathBuf::from("/tmp/x/media"));
    }

    #[test]
    fn a_bad_address_in_the_environment_is_a_clear_error() {
        let error = Config::default()
            .apply_env(|n| (n == "ONAIR_HTTP_ADDR").then(|| "nope".into()))
            .unwrap_err();
        assert!(
            error.to_string().contains("ONAIR_HTTP_ADDR=\"nope\""),
            "{error}"
        );
    }

    #[test]
    fn database_passwords_are_redacted_in_debug_output() {
        let mut config = Config::default();
        config.storage.database_url = Some("postgres://onair:s3cret@db/onair".into());
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("postgres://onair:***@db/onair"), "{debug}");
    }

    #[test]
    fn durations_read_as_text() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("6s"), Ok(Duration::from_secs(6)));
        assert!(parse_duration("6 parsecs").is_err());
    }
}
