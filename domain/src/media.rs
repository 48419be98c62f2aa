//! Assets: media normalised to a ladder, as renditions of segments.

use serde::{Deserialize, Serialize};

use crate::ladder::LadderId;
use crate::time::Ticks;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetId(pub i64);

impl std::fmt::Display for AssetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetState {
    /// Being transcoded: not schedulable.
    Processing,
    /// Every rung and packaging complete and verified: schedulable.
    Ready,
    /// Transcoding failed; the reason is on the job.
    Failed,
}

impl AssetState {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetState::Processing => "processing",
            AssetState::Ready => "ready",
            AssetState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<AssetState> {
        match text {
            "processing" => Some(AssetState::Processing),
            "ready" => Some(AssetState::Ready),
            "failed" => Some(AssetState::Failed),
            _ => None,
        }
    }
}

/// How segments are packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Packaging {
    /// MPEG-TS segments (`.ts`).
    Ts,
    /// CMAF: one init segment plus `.m4s` fragments.
    Cmaf,
}

impl Packaging {
    pub fn as_str(self) -> &'static str {
        match self {
            Packaging::Ts => "ts",
            Packaging::Cmaf => "cmaf",
        }
    }

    pub fn parse(text: &str) -> Option<Packaging> {
        match text {
            "ts" => Some(Packaging::Ts),
            "cmaf" => Some(Packaging::Cmaf),
            _ => None,
        }
    }

    /// The file extension of a media segment.
    pub fn segment_extension(self) -> &'static str {
        match self {
            Packaging::Ts => "ts",
            Packaging::Cmaf => "m4s",
        }
    }
}

/// One segment of one rendition. Boundaries are identical across the renditions of an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub index: u32,
    /// Exact, from the media timestamps.
    pub duration: Ticks,
    pub size_bytes: u64,
    /// Relative to the media root, e.g. `assets/7/360p/ts/00000.ts`.
    pub path: String,
}

/// One rung of an asset in one packaging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    pub rung: String,
    pub packaging: Packaging,
    /// E.g. `avc1.64001e,mp4a.40.2`.
    pub codecs: String,
    pub width: u32,
    pub height: u32,
    pub peak_bandwidth: u32,
    pub average_bandwidth: u32,
    /// CMAF only: the init segment, relative to the media root.
    pub init_path: Option<String>,
    pub segments: Vec<SegmentInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub title: String,
    /// Where it came from: a path or URL.
    pub source: String,
    pub ladder_id: LadderId,
    pub state: AssetState,
    /// Exact: the sum of the segment durations.
    pub duration: Ticks,
    pub renditions: Vec<Rendition>,
}

impl Asset {
    /// Segment durations, the same in every rendition of a ready asset.
    pub fn segment_durations(&self) -> Vec<Ticks> {
        self.renditions
            .first()
            .map(|rendition| {
                rendition
                    .segments
                    .iter()
                    .map(|segment| segment.duration)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn rendition(&self, rung: &str, packaging: Packaging) -> Option<&Rendition> {
        self.renditions
            .iter()
            .find(|r| r.rung == rung && r.packaging == packaging)
    }
}
