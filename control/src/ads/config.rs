//! A channel's ad settings: where its ads come from (a VAST or VMAP ad tag template), how they
//! are decided (ahead of each break, within a time budget), how a session is capped, and what
//! fills what ads do not. Stored as one JSON document per version, check-and-set on the
//! version, every version kept and restorable, as the grid is.

use serde::{Deserialize, Serialize};

use onair_domain::{AssetId, OutputFormat};

use crate::Control;
use crate::refusal::{Problem, Refusal};
use crate::schedule::channel;

/// The ad server's answer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TagKind {
    #[default]
    Vast,
    /// A VMAP whose n-th linear break serves the n-th break of the channel's hour.
    Vmap,
}

/// How ads reach the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Insertion {
    /// Stitched into the session's playlists (HLS-TS, HLS-fMP4, DASH).
    #[default]
    Stitched,
    /// HLS Interstitials: a session's HLS multivariant playlists point at the channel's shared
    /// interstitial playlists, which declare each break (`CLASS="com.apple.hls.interstitial"`)
    /// with the session's asset list (`X-ASSET-LIST`); its DASH stays stitched.
    Interstitials,
}

/// At most `max` airings of one creative per session within `per_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub max: u32,
    pub per_seconds: u32,
}

/// One version of a channel's ad settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AdConfig {
    /// Off: sessions get the channel's breaks as planned.
    pub enabled: bool,
    /// The ad tag, an http(s) URL template (or `{origin}/…`: this server): IAB macros (`[CACHEBUSTING]`, `[DEVICEIP]`, …) and
    /// session values (`{session.id}`, `{channel}`, `{break.duration}`, `{param.NAME}`).
    pub tag: String,
    pub kind: TagKind,
    pub insertion: Insertion,
    /// A session's ads for a break are decided within this many seconds before it, spread
    /// over the window so the ad server sees no thundering herd.
    pub lead_seconds: u32,
    /// A decision made later than this many seconds before its break is not used: every
    /// replica must know it before the break enters a playlist.
    pub freeze_seconds: u32,
    /// The whole decision (every wrapper) within this budget.
    pub timeout_ms: u32,
    pub max_wrappers: u8,
    /// A larger ad response is refused, not read.
    pub max_response_kib: u32,
    pub max_ads_per_break: u32,
    pub frequency_cap: Option<FrequencyCap>,
    /// What fills a break's remainder; `None`: the channel's slate.
    #[schema(value_type = Option<i64>)]
    pub slate: Option<AssetId>,
    /// Ad server, wrapper and media URLs may resolve to private addresses (a lab ad server).
    pub allow_private: bool,
    /// A session nobody fetched anything of for this long is forgotten.
    pub session_idle_seconds: u32,
    /// The player fires the beacons itself, from the session's tracking JSON; the server
    /// then fires none (it would count twice).
    pub client_side_beacons: bool,
}

impl Default for AdConfig {
    fn default() -> AdConfig {
        AdConfig {
            enabled: true,
            tag: String::new(),
            kind: TagKind::Vast,
            insertion: Insertion::Stitched,
            lead_seconds: 60,
            freeze_seconds: 8,
            timeout_ms: 3000,
            max_wrappers: 5,
            max_response_kib: 2048,
            max_ads_per_break: 8,
            frequency_cap: None,
            slate: None,
            allow_private: false,
            session_idle_seconds: 300,
            client_side_beacons: false,
        }
    }
}

impl AdConfig {
    /// Every problem, each named by its field.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(message) = url_problem(&self.tag) {
            problems.push(Problem::of_field("tag", message));
        }
        if self.freeze_seconds < 2 {
            problems.push(Problem::of_field(
                "freeze_seconds",
                "must be at least 2 s: replicas need the time to see a decision",
            ));
        }
        if self.lead_seconds < self.freeze_seconds + 5 {
            problems.push(Problem::of_field(
                "lead_seconds",
                format!(
                    "must leave at least 5 s before freeze_seconds ({}) to decide in",
                    self.freeze_seconds
                ),
            ));
        }
        if self.lead_seconds > 3600 {
            problems.push(Problem::of_field("lead_seconds", "at most 3600"));
        }
        if !(100..=30_000).contains(&self.timeout_ms) {
            problems.push(Problem::of_field("timeout_ms", "between 100 and 30000"));
        }
        if u64::from(self.timeout_ms) / 1000 + 1
            > u64::from(self.lead_seconds - self.freeze_seconds.min(self.lead_seconds))
        {
            problems.push(Problem::of_field(
                "timeout_ms",
                "must fit between lead_seconds and freeze_seconds",
            ));
        }
        if !(1..=10).contains(&self.max_wrappers) {
            problems.push(Problem::of_field("max_wrappers", "between 1 and 10"));
        }
        if !(1..=65_536).contains(&self.max_response_kib) {
            problems.push(Problem::of_field("max_response_kib", "between 1 and 65536"));
        }
        if !(1..=50).contains(&self.max_ads_per_break) {
            problems.push(Problem::of_field("max_ads_per_break", "between 1 and 50"));
        }
        if let Some(cap) = self.frequency_cap
            && (cap.max == 0 || cap.per_seconds == 0)
        {
            problems.push(Problem::of_field(
                "frequency_cap",
                "max and per_seconds must both be above 0",
            ));
        }
        if !(30..=86_400).contains(&self.session_idle_seconds) {
            problems.push(Problem::of_field(
                "session_idle_seconds",
                "between 30 and 86400",
            ));
        }
        problems
    }
}

/// Stands for this server's own URL (`http://host:port`) in an ad tag or a creative's URL:
/// what a built-in ad server (the demo's) is reached by, whatever port the server listens on.
pub const ORIGIN: &str = "{origin}";

/// Why `tag` is not an http(s) URL with a host (or `{origin}/…`), or `None`.
pub(crate) fn url_problem(tag: &str) -> Option<String> {
    if tag.is_empty() {
        return Some("an ad tag URL is needed".into());
    }
    if let Some(path) = tag.strip_prefix(ORIGIN) {
        return (!path.starts_with('/'))
            .then(|| format!("{ORIGIN} is followed by a path: {ORIGIN}/…"));
    }
    let Some(rest) = tag
        .strip_prefix("http://")
        .or_else(|| tag.strip_prefix("https://"))
    else {
        return Some(format!("{tag:?} is not an http(s) URL"));
    };
    if tag.chars().any(char::is_whitespace) {
        return Some("a URL has no spaces: percent-encode them".into());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Some(format!("{tag:?} names no host"));
    }
    None
}

/// One stored version of a channel's ad settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AdConfigVersion {
    pub version: i64,
    pub author: String,
    /// RFC 3339.
    pub created_at: String,
    pub config: AdConfig,
}

impl Control {
    /// The channel's current ad settings, `None` when it never had any.
    pub async fn ad_config(&self, slug: &str) -> Result<Option<AdConfigVersion>, Refusal> {
        let channel = channel(&self.store, slug).await?;
        match self.store.ad_config(channel.id).await? {
            Some(stored) => Ok(Some(version_of(stored)?)),
            None => Ok(None),
        }
    }

    /// Every version, newest first.
    pub async fn ad_config_versions(&self, slug: &str) -> Result<Vec<AdConfigVersion>, Refusal> {
        let channel = channel(&self.store, slug).await?;
        self.store
            .ad_config_versions(channel.id)
            .await?
            .into_iter()
            .map(version_of)
            .collect()
    }

    /// Stores `config` as the next version, if `expected_version` is the current one (`None`:
    /// there is none yet). Every problem is reported at once; nothing is stored then.
    pub async fn put_ad_config(
        &self,
        slug: &str,
        expected_version: Option<i64>,
        config: &AdConfig,
        author: &str,
    ) -> Result<AdConfigVersion, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let mut problems = config.problems();
        if let Some(slate) = config.slate {
            match self.store.asset(slate).await? {
                None => problems.push(Problem::of_field(
                    "slate",
                    format!("asset {slate} does not exist"),
                )),
                Some(asset) if asset.ladder_id != channel.ladder_id => {
                    problems.push(Problem::of_field(
                        "slate",
                        format!("asset {slate} is not encoded to the channel's ladder"),
                    ))
                }
                Some(_) => {}
            }
        }
        if config.insertion == Insertion::Interstitials
            && !channel
                .outputs
                .iter()
                .any(|output| matches!(output, OutputFormat::HlsTs | OutputFormat::HlsFmp4))
        {
            problems.push(Problem::of_field(
                "insertion",
                format!("interstitials are HLS: {slug} publishes neither hls-ts nor hls-fmp4"),
            ));
        }
        if !problems.is_empty() {
            return Err(Refusal::Invalid(problems));
        }
        let document = serde_json::to_string(config)
            .map_err(|error| Refusal::Internal(format!("cannot write the ad settings: {error}")))?;
        let now = self.clock.now();
        self.store
            .put_ad_config(channel.id, expected_version, &document, author, now)
            .await?;
        self.ad_config(slug)
            .await?
            .ok_or_else(|| Refusal::Internal("the ad settings just stored are gone".into()))
    }

    /// Stores version `version` again as the newest.
    pub async fn restore_ad_config(
        &self,
        slug: &str,
        expected_version: Option<i64>,
        version: i64,
        author: &str,
    ) -> Result<AdConfigVersion, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let stored = self
            .store
            .ad_config_version(channel.id, version)
            .await?
            .ok_or_else(|| {
                Refusal::NotFound(format!(
                    "{slug} has no version {version} of its ad settings"
                ))
            })?;
        let old = version_of(stored)?;
        self.put_ad_config(slug, expected_version, &old.config, author)
            .await
    }
}

/// A stored document as a version; a document this build cannot read is internal.
pub(crate) fn version_of(stored: onair_store::StoredAdConfig) -> Result<AdConfigVersion, Refusal> {
    let config = parse_document(&stored.document)?;
    Ok(AdConfigVersion {
        version: stored.version,
        author: stored.author,
        created_at: stored.created_at.to_rfc3339_millis(),
        config,
    })
}

pub(crate) fn parse_document(document: &str) -> Result<AdConfig, Refusal> {
    serde_json::from_str(document)
        .map_err(|error| Refusal::Internal(format!("stored ad settings are unreadable: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tag: &str) -> AdConfig {
        AdConfig {
            tag: tag.into(),
            ..AdConfig::default()
        }
    }

    #[test]
    fn a_config_with_an_http_tag_and_the_defaults_has_no_problem() {
        assert_eq!(
            config("https://ads.example.com/vast?cb=[CACHEBUSTING]").problems(),
            []
        );
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let bad = AdConfig {
            lead_seconds: 5,
            max_ads_per_break: 0,
            frequency_cap: Some(FrequencyCap {
                max: 0,
                per_seconds: 60,
            }),
            ..config("ftp://ads.example.com")
        };
        let fields: Vec<_> = bad
            .problems()
            .into_iter()
            .filter_map(|problem| problem.field)
            .collect();
        assert_eq!(
            fields,
            [
                "tag",
                "lead_seconds",
                "timeout_ms",
                "max_ads_per_break",
                "frequency_cap"
            ]
        );
    }

    #[test]
    fn a_tag_without_a_host_or_with_spaces_is_refused() {
        assert!(url_problem("http:///vast").is_some());
        assert!(url_problem("http://ads.example.com/a b").is_some());
        assert!(url_problem("").is_some());
    }

    #[test]
    fn insertion_is_stitched_or_interstitials_and_nothing_else() {
        let read = |insertion: &str| {
            serde_json::from_str::<AdConfig>(&format!(
                r#"{{"tag":"http://a","insertion":"{insertion}"}}"#
            ))
            .map(|config| config.insertion)
        };
        assert_eq!(read("stitched").unwrap(), Insertion::Stitched);
        assert_eq!(read("interstitials").unwrap(), Insertion::Interstitials);
        assert!(read("client_side").is_err());
    }

    #[test]
    fn unknown_fields_are_refused_when_read() {
        assert!(serde_json::from_str::<AdConfig>(r#"{"tag":"http://a","colour":1}"#).is_err());
    }
}
