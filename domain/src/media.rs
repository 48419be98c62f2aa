//! Assets: media normalised to a ladder, as renditions of segments.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ladder::{Ladder, LadderId, Rung};
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

/// How segments are packaged, and which tracks they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Packaging {
    /// MPEG-TS segments (`.ts`): the rung's video and its audio, muxed.
    Ts,
    /// A CMAF video track: one init segment plus `.m4s` fragments holding the rung's video only.
    /// It plays beside the [`Packaging::CmafAudio`] rendition of the rung's [`AudioTrack`].
    ///
    /// Assets published before audio and video were packaged apart (before migration 0005)
    /// have muxed `Cmaf` renditions and no `CmafAudio` ones: [`Asset::missing_audio_tracks`]
    /// tells them apart, and they must be encoded again for CMAF outputs.
    Cmaf,
    /// A CMAF audio track: one init segment plus `.m4s` fragments holding AAC only, one per
    /// [`AudioTrack`] of the ladder. Its [`Rendition::rung`] is the track's name (`audio-96k`),
    /// its width and height are zero, and its segments have the video's boundaries (each
    /// fragment cut at the AAC frame nearest to the video's).
    CmafAudio,
}

impl Packaging {
    pub fn as_str(self) -> &'static str {
        match self {
            Packaging::Ts => "ts",
            Packaging::Cmaf => "cmaf",
            Packaging::CmafAudio => "cmaf-audio",
        }
    }

    pub fn parse(text: &str) -> Option<Packaging> {
        match text {
            "ts" => Some(Packaging::Ts),
            "cmaf" => Some(Packaging::Cmaf),
            "cmaf-audio" => Some(Packaging::CmafAudio),
            _ => None,
        }
    }

    /// The file extension of a media segment.
    pub fn segment_extension(self) -> &'static str {
        match self {
            Packaging::Ts => "ts",
            Packaging::Cmaf | Packaging::CmafAudio => "m4s",
        }
    }

    /// Whether segments come after an init segment (CMAF, video or audio).
    pub fn has_init_segment(self) -> bool {
        matches!(self, Packaging::Cmaf | Packaging::CmafAudio)
    }
}

/// The RFC 6381 codec string of the ladders' audio: AAC-LC.
pub const AAC_LC_CODEC: &str = "mp4a.40.2";

/// One audio-only CMAF rendition of a ladder: every rung whose audio bitrate is `bitrate` plays
/// it beside its video track, so each distinct bitrate is encoded and packaged once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AudioTrack {
    /// `audio-96k` (or `audio-96500` for a bitrate that is not whole kilobits): URL-safe, the
    /// [`Rendition::rung`] of its renditions.
    pub name: String,
    /// Bits per second.
    pub bitrate: u32,
}

impl AudioTrack {
    /// The audio track a rung plays.
    pub fn of_rung(rung: &Rung) -> AudioTrack {
        let bitrate = rung.audio_bitrate;
        let name = if bitrate.is_multiple_of(1000) {
            format!("audio-{}k", bitrate / 1000)
        } else {
            format!("audio-{bitrate}")
        };
        AudioTrack { name, bitrate }
    }

    /// The ladder's audio tracks: one per distinct audio bitrate, in the order of the rungs
    /// that first use them (so the top rung's comes first).
    pub fn of_ladder(ladder: &Ladder) -> Vec<AudioTrack> {
        let mut tracks: Vec<AudioTrack> = Vec::new();
        for rung in &ladder.rungs {
            let track = AudioTrack::of_rung(rung);
            if !tracks.contains(&track) {
                tracks.push(track);
            }
        }
        tracks
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

/// One rung of an asset in one packaging, or (with [`Packaging::CmafAudio`]) one audio track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    /// The rung's name, or the [`AudioTrack`]'s for [`Packaging::CmafAudio`].
    pub rung: String,
    pub packaging: Packaging,
    /// The tracks it holds: `avc1.64001e,mp4a.40.2` (TS), `avc1.64001e` (CMAF video),
    /// `mp4a.40.2` (CMAF audio).
    pub codecs: String,
    /// Zero for an audio track.
    pub width: u32,
    /// Zero for an audio track.
    pub height: u32,
    pub peak_bandwidth: u32,
    pub average_bandwidth: u32,
    /// CMAF only: the init segment, relative to the media root.
    pub init_path: Option<String>,
    /// Shared: a rendition's segments never change once published, so every copy of the asset
    /// (each channel airing it, each plan) holds one list.
    pub segments: Arc<[SegmentInfo]>,
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

    /// The audio tracks of `ladder` this asset has no CMAF audio rendition of. All of them for
    /// an asset packaged before audio and video were split; none for one encoded since.
    pub fn missing_audio_tracks(&self, ladder: &Ladder) -> Vec<AudioTrack> {
        AudioTrack::of_ladder(ladder)
            .into_iter()
            .filter(|track| self.rendition(&track.name, Packaging::CmafAudio).is_none())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_audio_bitrate_of_a_ladder_is_one_audio_track_named_after_it() {
        let names = |ladder: &Ladder| -> Vec<(String, u32)> {
            AudioTrack::of_ladder(ladder)
                .into_iter()
                .map(|track| (track.name, track.bitrate))
                .collect()
        };
        assert_eq!(
            names(&Ladder::fast_default()),
            [
                ("audio-128k".to_owned(), 128_000),
                ("audio-96k".to_owned(), 96_000),
                ("audio-64k".to_owned(), 64_000)
            ]
        );
        let mut odd = Ladder::demo();
        odd.rungs[1].audio_bitrate = 96_500;
        assert_eq!(
            names(&odd),
            [
                ("audio-96k".to_owned(), 96_000),
                ("audio-96500".to_owned(), 96_500)
            ]
        );
    }

    #[test]
    fn packagings_round_trip_through_their_names() {
        for packaging in [Packaging::Ts, Packaging::Cmaf, Packaging::CmafAudio] {
            assert_eq!(Packaging::parse(packaging.as_str()), Some(packaging));
        }
        assert_eq!(Packaging::parse("mp4"), None);
    }
}
