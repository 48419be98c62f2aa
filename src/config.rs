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
    pub transcode: TranscodeConfig,
    pub as_run: AsRunConfig,
    pub live: LiveConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Where the origin, the API and the pages listen. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// The bootstrap token: a request with `Authorization: Bearer <token>` acts as an admin on
    /// every channel. For scripts before the first user exists; users' own tokens
    /// (`onair user token`) carry their roles and replace it.
    pub api_token: Option<Secret>,
    /// Marks the session cookie `Secure` on every answer. It is anyway on answers to requests
    /// that came through a TLS-terminating proxy (`X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// Reverse proxies in front of onair: for a request from one of them, the client is the
    /// nearest other address in `X-Forwarded-For` (what the login rate limit counts by).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`; unset, it is public.
    pub metrics_token: Option<Secret>,
}

/// A secret: compared and used, never printed.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// The transcode farm: its workers, the job queue's leases and the inputs it accepts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscodeConfig {
    /// Jobs `onair worker` runs at once (each encode already uses every core it can).
    pub concurrency: usize,
    /// How long a claimed job stays a worker's without a heartbeat.
    #[serde(deserialize_with = "duration_text")]
    pub lease: Duration,
    /// How often a worker reports progress and renews its lease; shorter than `lease`.
    #[serde(deserialize_with = "duration_text")]
    pub heartbeat: Duration,
    /// Attempts per job, counting retries after a crash or a transient error.
    pub max_attempts: u32,
    /// `POST /api/assets {"path": …}` takes files from this folder, and nowhere else.
    pub import_dir: Option<PathBuf>,
    /// The largest upload or download accepted, e.g. "4GiB", "500MB" or a number of bytes.
    #[serde(deserialize_with = "size_text")]
    pub max_upload_size: u64,
    /// Download from private, loopback and link-local addresses (refused by default).
    pub allow_private_urls: bool,
    /// Inputs with a larger picture are refused.
    pub max_width: u32,
    pub max_height: u32,
    /// `onair serve` runs one worker too.
    pub embedded_worker: bool,
    /// The ladder of a job that names none.
    pub default_ladder: String,
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
    /// The safety margin of the lock horizon: schedule and grid edits may change only what airs
    /// after now + the playout window + this margin.
    #[serde(deserialize_with = "duration_text")]
    pub lock_margin: Duration,
    /// Run the server on a virtual clock, e.g. to preview tomorrow's grid.
    pub virtual_clock: Option<VirtualClockConfig>,
}

impl PlayoutConfig {
    /// The lock margin in ticks.
    pub fn lock_margin_ticks(&self) -> onair_domain::Ticks {
        onair_domain::Ticks::from_millis(
            i64::try_from(self.lock_margin.as_millis()).unwrap_or(i64::MAX),
        )
    }
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

/// The as-run log: what each channel aired, recorded by `onair serve`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AsRunConfig {
    /// Record what airs. Several servers on one database may all record: entries do not double.
    pub enabled: bool,
    /// How often what aired is recorded, in the server clock's time (a virtual clock running
    /// faster records more often in real time, never less than every 50 ms).
    #[serde(deserialize_with = "duration_text")]
    pub interval: Duration,
    /// After a restart, what aired while the server was down is recorded from the plans
    /// (marked recovered), this far back at most.
    #[serde(deserialize_with = "duration_text")]
    pub max_recovery: Duration,
}

/// Live ingest: the listeners publishers send to, and how their slots are decided.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// `onair serve` listens for publishers.
    pub enabled: bool,
    /// The RTMP listener (`rtmp://HOST:PORT/live/KEY`); "" for none.
    #[serde(deserialize_with = "optional_addr")]
    pub rtmp_addr: Option<SocketAddr>,
    /// The SRT listener (streamid `publish:KEY`); "" for none.
    #[serde(deserialize_with = "optional_addr")]
    pub srt_addr: Option<SocketAddr>,
    /// A publisher that sends nothing this long is lost: its slots air the fallback.
    #[serde(deserialize_with = "duration_text")]
    pub stall_timeout: Duration,
    /// Normalise the live audio's loudness to the ladder's target: a gain rider on EBU R128
    /// measurements, without look-ahead, so it adds no latency.
    pub loudness: bool,
    /// A live segment recorded later than this after its slot ends airs the fallback instead.
    #[serde(deserialize_with = "duration_text")]
    pub grace: Duration,
}

impl Default for LiveConfig {
    fn default() -> LiveConfig {
        LiveConfig {
            enabled: true,
            rtmp_addr: Some(SocketAddr::from(([0, 0, 0, 0], 1935))),
            srt_addr: Some(SocketAddr::from(([0, 0, 0, 0], 9000))),
            stall_timeout: Duration::from_secs(3),
            loudness: true,
            grace: Duration::from_millis(1000),
        }
    }
}

/// An address, or "" for none.
fn optional_addr<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!("{text:?} is not an address like 0.0.0.0:1935"))
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `onair=debug,sqlx=warn`. `RUST_LOG` wins when set.
    pub filter: String,
    /// `text` (for people) or `json` (one JSON object per line, for log collectors).
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_token: None,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            metrics_token: None,
        }
    }
}

impl Default for TranscodeConfig {
    fn default() -> TranscodeConfig {
        TranscodeConfig {
            concurrency: 1,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            max_attempts: 3,
            import_dir: None,
            max_upload_size: 4 << 30,
            allow_private_urls: false,
            max_width: 4096,
            max_height: 2304,
            embedded_worker: true,
            default_ladder: "fast".into(),
        }
    }
}

impl TranscodeConfig {
    /// What the farm needs to know, with the folders resolved against `storage`.
    pub fn farm_settings(&self, storage: &StorageConfig) -> onair_transcode::FarmSettings {
        onair_transcode::FarmSettings {
            media_root: storage.media_dir(),
            incoming_dir: storage.data_dir.join("incoming"),
            import_dir: self.import_dir.clone(),
            max_upload_size: self.max_upload_size,
            allow_private_urls: self.allow_private_urls,
            max_width: self.max_width,
            max_height: self.max_height,
            max_attempts: self.max_attempts,
            lease: self.lease,
            heartbeat: self.heartbeat,
            default_ladder: self.default_ladder.clone(),
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
            lock_margin: Duration::from_secs(120),
            virtual_clock: None,
        }
    }
}

impl Default for AsRunConfig {
    fn default() -> AsRunConfig {
        AsRunConfig {
            enabled: true,
            interval: Duration::from_secs(60),
            max_recovery: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            filter: "info".into(),
            format: LogFormat::Text,
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

    /// `ONAIR_HTTP_ADDR`, `ONAIR_API_TOKEN`, `ONAIR_DATA_DIR`, `ONAIR_MEDIA_DIR`,
    /// `ONAIR_DATABASE_URL`, `ONAIR_LOG`, `ONAIR_LOG_FORMAT`, `ONAIR_RTMP_ADDR`,
    /// `ONAIR_SRT_ADDR`; then checks what
    /// the types cannot.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(addr) = var("ONAIR_HTTP_ADDR") {
            self.http.addr = addr.parse().with_context(|| {
                format!("ONAIR_HTTP_ADDR={addr:?} is not an address like 127.0.0.1:8080")
            })?;
        }
        if let Some(token) = var("ONAIR_API_TOKEN") {
            self.http.api_token = Some(Secret(token));
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
        if let Some(format) = var("ONAIR_LOG_FORMAT") {
            self.log.format = match format.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => bail!("ONAIR_LOG_FORMAT={format:?} is neither text nor json"),
            };
        }
        for (name, slot) in [
            ("ONAIR_RTMP_ADDR", &mut self.live.rtmp_addr),
            ("ONAIR_SRT_ADDR", &mut self.live.srt_addr),
        ] {
            if let Some(addr) = var(name) {
                *slot = if addr.trim().is_empty() {
                    None
                } else {
                    Some(addr.parse().with_context(|| {
                        format!(
                            "{name}={addr:?} is not an address like 127.0.0.1:1935 (or empty: none)"
                        )
                    })?)
                };
            }
        }
        if self.playout.refresh_interval.is_zero() {
            bail!("playout.refresh_interval must be more than zero");
        }
        if self.as_run.interval.is_zero() {
            bail!("as_run.interval must be more than zero");
        }
        if let Some(clock) = &self.playout.virtual_clock
            && !(clock.speed.is_finite() && clock.speed >= 0.0)
        {
            // Zero is a frozen clock: a fixed instant, for previews and tests.
            bail!(
                "playout.virtual_clock.speed must be zero (frozen) or a positive number, not {}",
                clock.speed
            );
        }
        self.check_transcode()
    }

    fn check_transcode(&self) -> anyhow::Result<()> {
        let transcode = &self.transcode;
        if self
            .http
            .api_token
            .as_ref()
            .is_some_and(|token| token.0.trim().is_empty())
        {
            bail!("http.api_token is empty: set a token or remove the key");
        }
        if transcode.concurrency == 0 {
            bail!("transcode.concurrency must be at least 1");
        }
        if transcode.max_attempts == 0 {
            bail!("transcode.max_attempts must be at least 1");
        }
        if transcode.heartbeat.is_zero() || transcode.heartbeat >= transcode.lease {
            bail!(
                "transcode.heartbeat ({:?}) must be more than zero and shorter than transcode.lease ({:?})",
                transcode.heartbeat,
                transcode.lease
            );
        }
        if transcode.max_upload_size == 0 {
            bail!("transcode.max_upload_size must be more than zero");
        }
        if transcode.max_width == 0 || transcode.max_height == 0 {
            bail!("transcode.max_width and transcode.max_height must be more than zero");
        }
        if transcode.default_ladder.trim().is_empty() {
            bail!("transcode.default_ladder must name a ladder");
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

/// `"4GiB"`, `"500MB"`, `"64KiB"`, `"1000"` (bytes); binary and decimal units.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like \"4GiB\""))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => {
            return Err(format!(
                "{text:?} is not a size like \"4GiB\" (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

fn size_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(deserializer)? {
        Size::Bytes(bytes) => Ok(bytes),
        Size::Text(text) => parse_size(&text).map_err(serde::de::Error::custom),
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
    fn the_log_format_is_text_or_json_and_the_environment_wins() {
        let mut config = Config::parse("[log]\nformat = \"json\"\n").unwrap();
        assert_eq!(config.log.format, LogFormat::Json);
        config
            .apply_env(|n| (n == "ONAIR_LOG_FORMAT").then(|| "text".into()))
            .unwrap();
        assert_eq!(config.log.format, LogFormat::Text);
        assert!(Config::parse("[log]\nformat = \"xml\"\n").is_err());
        let error = Config::default()
            .apply_env(|n| (n == "ONAIR_LOG_FORMAT").then(|| "xml".into()))
            .unwrap_err();
        assert!(
            error.to_string().contains("ONAIR_LOG_FORMAT=\"xml\""),
            "{error}"
        );
    }

    #[test]
    fn a_metrics_token_is_redacted_in_debug_output() {
        let config = Config::parse("[http]\nmetrics_token = \"scr4pe\"\n").unwrap();
        assert_eq!(
            config.http.metrics_token.as_ref().unwrap().expose(),
            "scr4pe"
        );
        assert!(!format!("{config:?}").contains("scr4pe"));
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
    fn sizes_read_as_text_or_bytes() {
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("99999999999TiB").is_err());
        let config = Config::parse("[transcode]\nmax_upload_size = 1000\n").unwrap();
        assert_eq!(config.transcode.max_upload_size, 1000);
        let config = Config::parse("[transcode]\nmax_upload_size = \"2KiB\"\n").unwrap();
        assert_eq!(config.transcode.max_upload_size, 2048);
    }

    #[test]
    fn the_api_token_is_redacted_in_debug_output() {
        let mut config = Config::default();
        config
            .apply_env(|name| (name == "ONAIR_API_TOKEN").then(|| "t0ps3cret".into()))
            .unwrap();
        assert_eq!(
            config.http.api_token.as_ref().unwrap().expose(),
            "t0ps3cret"
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("t0ps3cret"), "{debug}");
        assert!(debug.contains("api_token: Some(\"***\")"), "{debug}");
    }

    #[test]
    fn a_heartbeat_no_shorter_than_the_lease_is_refused() {
        let mut config =
            Config::parse("[transcode]\nlease = \"5s\"\nheartbeat = \"5s\"\n").unwrap();
        let error = config.apply_env(|_| None).unwrap_err().to_string();
        assert!(error.contains("transcode.heartbeat"), "{error}");
        let mut config = Config::parse("[transcode]\nconcurrency = 0\n").unwrap();
        assert!(config.apply_env(|_| None).is_err());
    }

    #[test]
    fn the_as_run_log_can_be_turned_off_and_its_interval_must_be_positive() {
        let config = Config::parse("[as_run]\nenabled = false\ninterval = \"1s\"\n").unwrap();
        assert!(!config.as_run.enabled);
        assert_eq!(config.as_run.interval, Duration::from_secs(1));
        let mut zero = Config::parse("[as_run]\ninterval = \"0s\"\n").unwrap();
        let error = zero.apply_env(|_| None).unwrap_err().to_string();
        assert!(error.contains("as_run.interval"), "{error}");
    }

    #[test]
    fn a_virtual_clock_may_be_frozen_but_never_run_backwards() {
        let clock = |speed: &str| {
            Config::parse(&format!(
                "[playout]\nvirtual_clock = {{ start = \"2026-10-22T00:00:00Z\", speed = {speed} }}\n"
            ))
            .unwrap()
            .apply_env(|_| None)
        };
        assert!(clock("0.0").is_ok(), "zero is a frozen clock");
        let error = clock("-1.0").unwrap_err().to_string();
        assert!(error.contains("playout.virtual_clock.speed"), "{error}");
    }

    #[test]
    fn durations_read_as_text() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("6s"), Ok(Duration::from_secs(6)));
        assert!(parse_duration("6 parsecs").is_err());
    }
}
