//! What a check looks at: playlists taken at instants, and optionally segment probes, loudness
//! measures and an EPG. Gathered by the caller (the control plane renders playlists in process;
//! a prober measures media); nothing here reads a file or a socket.

use onair_domain::{Ticks, Timestamp};
use serde::Serialize;

/// Everything observed of one output (a channel's, or a partner's view of it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observation {
    /// What was observed, for the report: `channel demo`, `partner acme, channel demo`.
    pub subject: String,
    /// Every playlist of the output at each instant, in the order they were taken.
    pub snapshots: Vec<Snapshot>,
    /// Segments measured with a media prober; none when nobody probed.
    pub probes: Vec<SegmentProbe>,
    /// Loudness measured on aired audio; none when nobody measured.
    pub loudness: Vec<LoudnessMeasure>,
    /// The EPG the partner reads; `None` when not observed.
    pub epg: Option<EpgObservation>,
}

/// The playlists of an output at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub taken_at: Timestamp,
    /// The multivariant playlist, when there is one.
    pub multivariant: Option<PlaylistText>,
    /// The media playlists, each named by its URI as the multivariant playlist lists it (e.g.
    /// `360p/ts.m3u8`), so variants and their playlists meet.
    pub media: Vec<PlaylistText>,
}

/// A playlist's text and where it is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaylistText {
    pub uri: String,
    pub text: String,
}

/// One segment of one rendition, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentProbe {
    /// The media playlist that lists it (`360p/ts.m3u8`).
    pub playlist: String,
    /// Its URI as that playlist lists it.
    pub segment: String,
    pub video: Option<VideoProbe>,
    pub audio: Option<AudioProbe>,
    /// The duration measured on the media (the longest of its streams).
    pub duration: Option<Ticks>,
    /// What it carries of SCTE-35 as served, for an MPEG-TS segment ([`crate::ts::scte35_in`]);
    /// `None` when not looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scte35: Option<TsScte35>,
}

/// The SCTE-35 an MPEG-TS segment carries in the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TsScte35 {
    /// The PIDs its PMT declares with stream_type 0x86.
    pub pids: Vec<u16>,
    /// The `splice_command_type` of each `splice_info_section` on them, in order (5:
    /// splice_insert, 6: time_signal).
    pub commands: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoProbe {
    /// `h264`, `h265`, …
    pub codec: String,
    /// `baseline`, `constrained-baseline`, `main`, `high`, … when the prober says.
    pub profile: Option<String>,
    /// `3.1`, … when the prober says.
    pub level: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Frames per second as a fraction (`30000/1001`).
    pub frame_rate: (u32, u32),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudioProbe {
    /// `aac`, `mp3`, `ac3`, …
    pub codec: String,
    /// `lc`, `he-aac`, … when the prober says.
    pub profile: Option<String>,
    pub channels: u32,
    pub sample_rate: u32,
    /// Bits per second, nominal or measured, when known.
    pub bitrate: Option<u32>,
}

/// The loudness of a stretch of aired audio (EBU R128 / ITU-R BS.1770).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoudnessMeasure {
    /// What was measured: `asset 4 "Nature" 360p, 0–30 s`.
    pub what: String,
    pub span: Ticks,
    /// Integrated loudness, LUFS.
    pub integrated_lufs: f64,
    /// True peak, dBTP.
    pub true_peak_dbtp: f64,
}

/// An EPG as read, for the window asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpgObservation {
    /// The feed it came from: `xmltv`, `wurl-json`, `roku-json`.
    pub format: String,
    /// The window asked: `[from, from + horizon)`.
    pub from: Timestamp,
    pub horizon: Ticks,
    pub programmes: Vec<EpgEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpgEntry {
    pub start: Timestamp,
    pub end: Timestamp,
    pub title: String,
}
