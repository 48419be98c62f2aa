//! The checks profiles are made of: each a pure function of the observed output and the
//! profile's [`Limits`], answering the issues it found or why it had nothing to look at.

pub(crate) mod breaks;
pub(crate) mod epg;
pub(crate) mod media;
pub(crate) mod segments;

use onair_domain::Ticks;

use crate::observed::Observed;
use crate::report::WhereSeen;

/// One rule broken once, before the profile names the rule.
pub(crate) struct Issue {
    pub where_seen: WhereSeen,
    pub message: String,
    pub fix: String,
}

impl Issue {
    pub fn new(where_seen: WhereSeen, message: impl Into<String>, fix: impl Into<String>) -> Issue {
        Issue {
            where_seen,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// The issues found, or why the check had nothing to look at.
pub(crate) type Verdict = Result<Vec<Issue>, String>;

pub(crate) type Check = fn(&Observed<'_>, &Limits) -> Verdict;

/// A variant the ladder must have: its height and its BANDWIDTH range in kbit/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LadderStep {
    pub height: u32,
    pub min_kbps: u64,
    pub max_kbps: Option<u64>,
}

/// The figures a profile's rules are held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Every segment this long; `None`: as long as most segments.
    pub segment_duration: Option<Ticks>,
    /// How far a segment may be from that and still be the same.
    pub duration_tolerance: Ticks,
    pub min_window_segments: Option<usize>,
    pub min_version: u32,
    /// `level_idc`, e.g. 31 for 3.1.
    pub min_h264_level: Option<u8>,
    /// Frames per second allowed (within 0.01).
    pub frame_rates: &'static [f64],
    /// AAC-LC, this many channels at this rate, about this bitrate.
    pub audio_channels: u32,
    pub audio_sample_rate: u32,
    pub audio_bitrate: Option<u32>,
    pub ladder: &'static [LadderStep],
    /// Every step must be there (Wurl); else at least one, and each there within range (Pluto).
    pub ladder_all_required: bool,
    /// A break's shortest and longest, in seconds.
    pub break_seconds: (i64, i64),
    pub min_break_segments: usize,
    pub ad_minutes_per_hour: i64,
    /// Integrated loudness target (LUFS), tolerance (LU), highest true peak (dBTP), and what
    /// the target is called.
    pub loudness: (f64, f64, f64, &'static str),
    pub epg_horizon_days: i64,
    pub programme_length: (Ticks, Ticks),
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            segment_duration: None,
            duration_tolerance: Ticks::from_millis(100),
            min_window_segments: None,
            min_version: 3,
            min_h264_level: None,
            frame_rates: &[],
            audio_channels: 2,
            audio_sample_rate: 48_000,
            audio_bitrate: None,
            ladder: &[],
            ladder_all_required: false,
            break_seconds: (30, 300),
            min_break_segments: 4,
            ad_minutes_per_hour: 8,
            loudness: (-23.0, 1.0, -1.0, "EBU R128"),
            epg_horizon_days: 14,
            programme_length: (Ticks::from_secs(3 * 60), Ticks::from_secs(6 * 3600)),
        }
    }
}

pub(crate) fn no_playlists() -> String {
    "no media playlist was observed".to_owned()
}
