//! Partners: the platforms (Samsung TV Plus, Pluto TV, Roku, Wurl…) that pull channels at
//! their own URLs, `/p/{partner}/{slug}/…`, each with the channels it carries, the outputs it
//! may pull, its EPG format, its ad mode and its signing keys ([`signing`]).
//!
//! Settings are checked here, every problem named by its field, before the store keeps them as
//! one JSON object, one version up, with the author. The origin reads a partner through
//! [`Control::partner_access`].

pub mod signing;

use std::time::Duration;

use onair_domain::{Channel, OutputFormat, Packaging, Timestamp};
use onair_playout::{CueDialect, MediaPlaylistOptions};
use onair_store::{PartnerKeyRow, PartnerRow, PartnerWrite};
use serde::{Deserialize, Serialize};

use crate::ads::config::url_problem;
use crate::{Control, Problem, Refusal};

/// How long the key before a rotation stays valid, unless a partner says otherwise.
pub const DEFAULT_KEY_OVERLAP_HOURS: u32 = 24;

/// The longest overlap a partner may ask for: 30 days.
pub const MAX_KEY_OVERLAP_HOURS: u32 = 30 * 24;

/// The longest a signed URL may be made for by [`Control::signed_partner_prefix`]: a year.
pub const MAX_SIGNED_URL_HOURS: u32 = 366 * 24;

/// The EPG feed a partner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EpgFormat {
    Xmltv,
    WurlJson,
    RokuJson,
}

impl EpgFormat {
    fn parse(text: &str) -> Option<EpgFormat> {
        match text {
            "xmltv" => Some(EpgFormat::Xmltv),
            "wurl-json" => Some(EpgFormat::WurlJson),
            "roku-json" => Some(EpgFormat::RokuJson),
            _ => None,
        }
    }
}

/// The SCTE-35 tags a clean feed's playlists carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// `EXT-X-DATERANGE` only.
    Daterange,
    /// `EXT-X-CUE-OUT`/`CONT`/`IN` with `EXT-OATCLS-SCTE35` only.
    CueOut,
    /// Both, as the channel's own playlists.
    Both,
}

impl Dialect {
    fn parse(text: &str) -> Option<Dialect> {
        match text {
            "daterange" => Some(Dialect::Daterange),
            "cue-out" => Some(Dialect::CueOut),
            "both" => Some(Dialect::Both),
            _ => None,
        }
    }

    pub fn playlist_dialect(self) -> CueDialect {
        match self {
            Dialect::Daterange => CueDialect::DateRange,
            Dialect::CueOut => CueDialect::CueOut,
            Dialect::Both => CueDialect::Both,
        }
    }
}

/// Who inserts the ads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum AdMode {
    /// The partner's own SSAI: SCTE-35 markers in `dialect`.
    Clean { dialect: Dialect },
    /// onair's SSAI with the partner's ad tag (IAB macros as in a channel's ad tag).
    Stitched { tag: String },
}

/// A partner's checked settings, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSettings {
    /// The slugs of the channels it carries.
    pub channels: Vec<String>,
    /// What it may pull, each published by every channel it carries.
    pub outputs: Vec<OutputFormat>,
    pub epg: EpgFormat,
    pub ads: AdMode,
    /// Its URLs need a token (`/p/{partner}/t/{token}/{slug}/…`).
    pub signed: bool,
    /// How long a key stays valid after the rotation that replaces it.
    pub key_overlap_hours: u32,
}

impl PartnerSettings {
    pub fn carries(&self, slug: &str) -> bool {
        self.channels.iter().any(|carried| carried == slug)
    }

    pub fn allows(&self, output: OutputFormat) -> bool {
        self.outputs.contains(&output)
    }

    /// The tags its playlists mark breaks with: its dialect for a clean feed; both for a
    /// stitched one (its sessions' playlists keep them only for the breaks onair left unfilled).
    pub fn playlist_dialect(&self) -> CueDialect {
        match self.ads {
            AdMode::Clean { dialect } => dialect.playlist_dialect(),
            AdMode::Stitched { .. } => CueDialect::Both,
        }
    }

    /// How its media playlists in `packaging` are rendered: in its dialect, and in MPEG-TS
    /// with a break's first segment and the first after it carrying the cue, as the channel's.
    pub fn media_playlist_options(&self, packaging: Packaging) -> MediaPlaylistOptions {
        MediaPlaylistOptions {
            packaging,
            cues_in_segments: packaging == Packaging::Ts,
            dialect: self.playlist_dialect(),
            ..MediaPlaylistOptions::default()
        }
    }
}

/// A partner as an API call or the CLI gives it: every field but `name` optional, with the
/// defaults of [`check_input`]. An update replaces every field (a missing one takes its default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerInput {
    /// Lowercase letters, digits and `-`: the `{partner}` of its URLs. Needed to create one; on
    /// an update, the partner's own name or nothing.
    #[serde(default)]
    pub name: Option<String>,
    /// What people call it; the name when missing.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The slugs of the channels it carries (at least one).
    #[serde(default)]
    pub channels: Vec<String>,
    /// `hls-ts`, `hls-fmp4`, `dash`: each published by every channel it carries. Default
    /// `["hls-ts"]`.
    #[serde(default)]
    pub outputs: Option<Vec<String>>,
    /// `xmltv` (default), `wurl-json` or `roku-json`.
    #[serde(default)]
    pub epg: Option<String>,
    /// `clean` (default) or `stitched`.
    #[serde(default)]
    pub ad_mode: Option<String>,
    /// Clean only: `daterange`, `cue-out` or `both` (default).
    #[serde(default)]
    pub cue_dialect: Option<String>,
    /// Stitched only, and needed there: the partner's ad tag, an http(s) URL template.
    #[serde(default)]
    pub ad_tag: Option<String>,
    /// Whether its URLs need a token. Default false.
    #[serde(default)]
    pub signed: Option<bool>,
    /// Hours a key stays valid after the rotation that replaces it: 1 to 720, default 24.
    #[serde(default)]
    pub key_overlap_hours: Option<u32>,
}

/// A partner as the API and the CLI show it: its keys without their secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PartnerView {
    pub name: String,
    pub display_name: String,
    pub channels: Vec<String>,
    /// `hls-ts`, `hls-fmp4` or `dash`.
    #[schema(value_type = Vec<String>)]
    pub outputs: Vec<OutputFormat>,
    pub epg: EpgFormat,
    /// `clean` or `stitched`.
    pub ad_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cue_dialect: Option<Dialect>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_tag: Option<String>,
    pub signed: bool,
    pub key_overlap_hours: u32,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    pub keys: Vec<PartnerKeyView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PartnerKeyView {
    pub id: i64,
    pub created_at: String,
    /// When it stops being accepted; none for the newest key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A partner with its newest key's secret: what a create and a key rotation answer, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PartnerWithKey {
    #[serde(flatten)]
    pub partner: PartnerView,
    /// The newest key, to hand to the partner (or to sign its URLs with).
    pub key: String,
}

/// What the origin needs of a partner to serve it.
#[derive(Debug, Clone)]
pub struct PartnerAccess {
    /// `partners.id`: what a stitched partner's ad sessions name.
    pub id: i64,
    pub name: String,
    pub settings: PartnerSettings,
    pub keys: Vec<PartnerKeyRow>,
}

/// A signed prefix and when it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SignedPrefix {
    /// `/p/{partner}/t/{token}/{slug}/`: append `master.m3u8`, `manifest.mpd`, …
    pub prefix: String,
    pub expires_at: String,
}

/// Lowercase letters, digits and `-`, 1 to 64, starting with a letter or digit.
pub fn check_partner_name(name: &str) -> Result<(), Problem> {
    let good = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if good {
        Ok(())
    } else {
        Err(Problem::of_field(
            "name",
            format!("{name:?}: 1 to 64 lowercase letters, digits or '-', not starting with '-'"),
        ))
    }
}

/// The display name and settings `input` asks for, checked against `channels` (the stored
/// ones): every problem with its field, or nothing.
pub fn check_input(
    name: &str,
    input: &PartnerInput,
    channels: &[Channel],
) -> Result<(String, PartnerSettings), Vec<Problem>> {
    let mut problems = Vec::new();
    let display_name = input
        .display_name
        .clone()
        .unwrap_or_else(|| name.to_owned());
    if display_name.trim().is_empty() || display_name.len() > 200 {
        problems.push(Problem::of_field(
            "display_name",
            "1 to 200 characters, not only spaces",
        ));
    }

    if input.channels.is_empty() {
        problems.push(Problem::of_field(
            "channels",
            "a partner carries at least one channel",
        ));
    }
    let mut carried: Vec<String> = Vec::new();
    for slug in &input.channels {
        match channels
            .iter()
            .find(|channel| channel.slug.as_str() == slug)
        {
            _ if carried.contains(slug) => problems.push(Problem::of_field(
                "channels",
                format!("channel {slug} is listed twice"),
            )),
            Some(channel) if channel.retired => problems.push(Problem::of_field(
                "channels",
                format!("channel {slug} is retired"),
            )),
            Some(_) => carried.push(slug.clone()),
            None => problems.push(Problem::of_field(
                "channels",
                format!("there is no channel {slug}"),
            )),
        }
    }

    let mut outputs = Vec::new();
    let asked = input
        .outputs
        .clone()
        .unwrap_or_else(|| vec![OutputFormat::HlsTs.as_str().to_owned()]);
    if asked.is_empty() {
        problems.push(Problem::of_field(
            "outputs",
            "a partner is allowed at least one output: hls-ts, hls-fmp4 or dash",
        ));
    }
    for text in &asked {
        let Some(output) = OutputFormat::parse(text) else {
            problems.push(Problem::of_field(
                "outputs",
                format!("{text:?} is not an output: hls-ts, hls-fmp4 or dash"),
            ));
            continue;
        };
        if outputs.contains(&output) {
            problems.push(Problem::of_field(
                "outputs",
                format!("{text} is listed twice"),
            ));
            continue;
        }
        for slug in &carried {
            let channel = channels
                .iter()
                .find(|channel| channel.slug.as_str() == slug)
                .expect("carried channels exist");
            if !channel.outputs.contains(&output) {
                problems.push(Problem::of_field(
                    "outputs",
                    format!("channel {slug} is not published as {text}"),
                ));
            }
        }
        outputs.push(output);
    }

    let epg_text = input.epg.as_deref().unwrap_or("xmltv");
    let epg = EpgFormat::parse(epg_text).unwrap_or_else(|| {
        problems.push(Problem::of_field(
            "epg",
            format!("{epg_text:?} is not an EPG format: xmltv, wurl-json or roku-json"),
        ));
        EpgFormat::Xmltv
    });

    let ads = match input.ad_mode.as_deref().unwrap_or("clean") {
        "clean" => {
            if input.ad_tag.is_some() {
                problems.push(Problem::of_field(
                    "ad_tag",
                    "a clean feed has no ad tag: the partner inserts its own ads (ad_mode stitched takes one)",
                ));
            }
            let text = input.cue_dialect.as_deref().unwrap_or("both");
            let dialect = Dialect::parse(text).unwrap_or_else(|| {
                problems.push(Problem::of_field(
                    "cue_dialect",
                    format!("{text:?} is not a cue dialect: daterange, cue-out or both"),
                ));
                Dialect::Both
            });
            AdMode::Clean { dialect }
        }
        "stitched" => {
            if input.cue_dialect.is_some() {
                problems.push(Problem::of_field(
                    "cue_dialect",
                    "a stitched feed has no cue dialect: onair inserts the ads (ad_mode clean takes one)",
                ));
            }
            let tag = input.ad_tag.clone().unwrap_or_default();
            if let Some(message) = url_problem(&tag) {
                problems.push(Problem::of_field("ad_tag", message));
            }
            AdMode::Stitched { tag }
        }
        other => {
            problems.push(Problem::of_field(
                "ad_mode",
                format!("{other:?} is not an ad mode: clean or stitched"),
            ));
            AdMode::Clean {
                dialect: Dialect::Both,
            }
        }
    };

    let key_overlap_hours = input.key_overlap_hours.unwrap_or(DEFAULT_KEY_OVERLAP_HOURS);
    if !(1..=MAX_KEY_OVERLAP_HOURS).contains(&key_overlap_hours) {
        problems.push(Problem::of_field(
            "key_overlap_hours",
            format!("{key_overlap_hours}: 1 to {MAX_KEY_OVERLAP_HOURS} hours"),
        ));
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((
        display_name,
        PartnerSettings {
            channels: carried,
            outputs,
            epg,
            ads,
            signed: input.signed.unwrap_or(false),
            key_overlap_hours,
        },
    ))
}

/// A new signing key: 256 random bits as 64 hex digits.
fn new_key() -> Result<String, Refusal> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|error| Refusal::Internal(format!("no randomness for a signing key: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn settings_of(row: &PartnerRow) -> Result<PartnerSettings, Refusal> {
    serde_json::from_str(&row.settings).map_err(|error| {
        Refusal::Internal(format!(
            "partner {}'s stored settings do not read back: {error}",
            row.name
        ))
    })
}

fn view(row: &PartnerRow) -> Result<PartnerView, Refusal> {
    let settings = settings_of(row)?;
    let (ad_mode, cue_dialect, ad_tag) = match &settings.ads {
        AdMode::Clean { dialect } => ("clean", Some(*dialect), None),
        AdMode::Stitched { tag } => ("stitched", None, Some(tag.clone())),
    };
    Ok(PartnerView {
        name: row.name.clone(),
        display_name: row.display_name.clone(),
        channels: settings.channels,
        outputs: settings.outputs,
        epg: settings.epg,
        ad_mode,
        cue_dialect,
        ad_tag,
        signed: settings.signed,
        key_overlap_hours: settings.key_overlap_hours,
        version: row.version,
        created_at: row.created_at.to_rfc3339_millis(),
        updated_at: row.updated_at.to_rfc3339_millis(),
        updated_by: row.updated_by.clone(),
        keys: row
            .keys
            .iter()
            .map(|key| PartnerKeyView {
                id: key.key_id,
                created_at: key.created_at.to_rfc3339_millis(),
                expires_at: key.expires_at.map(|at| at.to_rfc3339_millis()),
            })
            .collect(),
    })
}

fn with_newest_key(row: &PartnerRow) -> Result<PartnerWithKey, Refusal> {
    let key = row
        .keys
        .iter()
        .find(|key| key.expires_at.is_none())
        .map(|key| key.secret.clone())
        .ok_or_else(|| Refusal::Internal(format!("partner {} has no current key", row.name)))?;
    Ok(PartnerWithKey {
        partner: view(row)?,
        key,
    })
}

fn not_found(name: &str) -> Refusal {
    Refusal::NotFound(format!("there is no partner {name}"))
}

impl Control {
    /// Every partner, by name.
    pub async fn partners(&self) -> Result<Vec<PartnerView>, Refusal> {
        self.store.partners().await?.iter().map(view).collect()
    }

    pub async fn partner(&self, name: &str) -> Result<PartnerView, Refusal> {
        let row = self.store.partner_by_name(name).await?;
        view(&row.ok_or_else(|| not_found(name))?)
    }

    /// A new partner with its first key, which the answer carries.
    pub async fn create_partner(
        &self,
        input: &PartnerInput,
        author: &str,
    ) -> Result<PartnerWithKey, Refusal> {
        let Some(name) = input.name.as_deref() else {
            return Err(Refusal::invalid_field("name", "a partner needs a name"));
        };
        let mut problems = Vec::new();
        if let Err(problem) = check_partner_name(name) {
            problems.push(problem);
        }
        let channels = self.store.channels().await?;
        let checked = check_input(name, input, &channels);
        let (display_name, settings) = match checked {
            Ok(checked) if problems.is_empty() => checked,
            Ok(_) => return Err(Refusal::Invalid(problems)),
            Err(more) => {
                problems.extend(more);
                return Err(Refusal::Invalid(problems));
            }
        };
        let settings = serde_json::to_string(&settings)
            .map_err(|error| Refusal::Internal(error.to_string()))?;
        let write = PartnerWrite {
            display_name: &display_name,
            settings: &settings,
            author,
            at: self.clock.now(),
        };
        let row = self.store.create_partner(name, &write, &new_key()?).await?;
        tracing::info!(partner = name, author, "partner created");
        with_newest_key(&row)
    }

    /// Replaces the partner's settings, if it is still at `expected_version` (when named).
    pub async fn update_partner(
        &self,
        name: &str,
        input: &PartnerInput,
        expected_version: Option<i64>,
        author: &str,
    ) -> Result<PartnerView, Refusal> {
        if let Some(other) = input.name.as_deref()
            && other != name
        {
            return Err(Refusal::invalid_field(
                "name",
                format!("a partner is not renamed: {other:?} is not {name:?}"),
            ));
        }
        if self.store.partner_by_name(name).await?.is_none() {
            return Err(not_found(name));
        }
        let channels = self.store.channels().await?;
        let (display_name, settings) =
            check_input(name, input, &channels).map_err(Refusal::Invalid)?;
        let settings = serde_json::to_string(&settings)
            .map_err(|error| Refusal::Internal(error.to_string()))?;
        let write = PartnerWrite {
            display_name: &display_name,
            settings: &settings,
            author,
            at: self.clock.now(),
        };
        let row = self
            .store
            .update_partner(name, expected_version, &write)
            .await?;
        tracing::info!(
            partner = name,
            author,
            version = row.version,
            "partner updated"
        );
        view(&row)
    }

    pub async fn delete_partner(&self, name: &str) -> Result<(), Refusal> {
        if self.store.delete_partner(name).await? {
            tracing::info!(partner = name, "partner deleted");
            Ok(())
        } else {
            Err(not_found(name))
        }
    }

    /// A new key, which the answer carries; the one it replaces stays valid for the partner's
    /// overlap (`key_overlap_hours`), and keys past theirs are dropped.
    pub async fn rotate_partner_key(&self, name: &str) -> Result<PartnerWithKey, Refusal> {
        let row = self
            .store
            .partner_by_name(name)
            .await?
            .ok_or_else(|| not_found(name))?;
        let settings = settings_of(&row)?;
        let now = self.clock.now();
        let overlap = Duration::from_secs(u64::from(settings.key_overlap_hours) * 3600);
        let overlap_end =
            Timestamp::from_unix_millis(now.unix_millis() + overlap.as_millis() as i64);
        let row = self
            .store
            .rotate_partner_key(name, &new_key()?, now, overlap_end)
            .await?;
        tracing::info!(partner = name, "partner key rotated");
        with_newest_key(&row)
    }

    /// What the origin needs to serve the partner, or `None` when there is none.
    pub async fn partner_access(&self, name: &str) -> Result<Option<PartnerAccess>, Refusal> {
        let Some(row) = self.store.partner_by_name(name).await? else {
            return Ok(None);
        };
        Ok(Some(PartnerAccess {
            id: row.id,
            settings: settings_of(&row)?,
            name: row.name,
            keys: row.keys,
        }))
    }

    /// A prefix of the partner's URLs for `slug`, signed with its newest key, valid `hours`.
    pub async fn signed_partner_prefix(
        &self,
        name: &str,
        slug: &str,
        hours: u32,
    ) -> Result<SignedPrefix, Refusal> {
        if !(1..=MAX_SIGNED_URL_HOURS).contains(&hours) {
            return Err(Refusal::invalid_field(
                "hours",
                format!("{hours}: 1 to {MAX_SIGNED_URL_HOURS}"),
            ));
        }
        let row = self
            .store
            .partner_by_name(name)
            .await?
            .ok_or_else(|| not_found(name))?;
        let settings = settings_of(&row)?;
        if !settings.carries(slug) {
            return Err(Refusal::invalid_field(
                "channel",
                format!("partner {name} does not carry channel {slug}"),
            ));
        }
        let key = row
            .keys
            .iter()
            .find(|key| key.expires_at.is_none())
            .ok_or_else(|| Refusal::Internal(format!("partner {name} has no current key")))?;
        let expiry = self.clock.now().unix_millis() / 1000 + i64::from(hours) * 3600;
        Ok(SignedPrefix {
            prefix: signing::signed_prefix(&key.secret, name, slug, expiry),
            expires_at: Timestamp::from_unix_secs(expiry).to_rfc3339_millis(),
        })
    }
}

#[cfg(test)]
mod tests;
