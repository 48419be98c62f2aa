//! A channel: what operators plan and partners pull.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ladder::LadderId;
use crate::media::AssetId;
use crate::time::Ticks;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub i64);

/// The channel's name in URLs: 1 to 63 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChannelSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid channel slug {0:?}: use 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'"
)]
pub struct InvalidSlug(pub String);

impl ChannelSlug {
    pub fn parse(text: &str) -> Result<ChannelSlug, InvalidSlug> {
        let valid_chars = text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if text.is_empty()
            || text.len() > 63
            || !valid_chars
            || text.starts_with('-')
            || text.ends_with('-')
        {
            return Err(InvalidSlug(text.to_owned()));
        }
        Ok(ChannelSlug(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ChannelSlug {
    type Error = InvalidSlug;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        ChannelSlug::parse(&text)
    }
}

impl From<ChannelSlug> for String {
    fn from(slug: ChannelSlug) -> String {
        slug.0
    }
}

impl fmt::Display for ChannelSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One way a channel is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// HLS with MPEG-TS segments: what most FAST partners ingest.
    HlsTs,
    /// HLS with CMAF (fMP4) segments.
    HlsFmp4,
    /// MPEG-DASH over the same CMAF segments.
    Dash,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::HlsTs => "hls-ts",
            OutputFormat::HlsFmp4 => "hls-fmp4",
            OutputFormat::Dash => "dash",
        }
    }

    pub fn parse(text: &str) -> Option<OutputFormat> {
        match text {
            "hls-ts" => Some(OutputFormat::HlsTs),
            "hls-fmp4" => Some(OutputFormat::HlsFmp4),
            "dash" => Some(OutputFormat::Dash),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub slug: ChannelSlug,
    pub name: String,
    /// The zone the grid is planned in.
    pub time_zone: chrono_tz::Tz,
    pub ladder_id: LadderId,
    pub outputs: Vec<OutputFormat>,
    /// How many segments a live playlist lists.
    pub window_segments: u32,
    /// When set, the grid that starts at the first schedule item repeats with this period, forever.
    pub grid_repeat: Option<Ticks>,
    /// A stopped channel answers 404.
    pub on_air: bool,
    /// The asset looped when nothing else can air, encoded to the channel's ladder; `None`: the
    /// slate generated for the channel, found by its source key.
    #[serde(default)]
    pub slate: Option<AssetId>,
    /// Short assets, encoded to the channel's ladder, that fill gaps before the slate does, in
    /// order.
    #[serde(default)]
    pub filler: Vec<AssetId>,
    /// Retired: off air for good, kept with its schedule and as-run log. Whoever airs channels
    /// leaves retired ones out.
    #[serde(default)]
    pub retired: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_url_safe_names_and_refuse_the_rest() {
        assert!(ChannelSlug::parse("demo").is_ok());
        assert!(ChannelSlug::parse("news-24").is_ok());
        for bad in ["", "Demo", "-x", "x-", "a/b", "a b", &"x".repeat(64)] {
            assert!(
                ChannelSlug::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
