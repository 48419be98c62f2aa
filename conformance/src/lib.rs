//! Partner conformance checks as code: what a FAST partner (Pluto TV, Wurl, Roku) or plain HLS
//! asks of a channel, run on what was observed of its output. Pure: no IO, no clock, no
//! GStreamer; the caller gathers an [`Observation`] (playlists at instants, optional segment
//! probes, loudness measures and EPG) and [`check`] answers a [`Report`].
//!
//! - [`observation`]: the input.
//! - [`hls`]: our own line parser for the tags the rules read (cue tags exactly, in order).
//! - [`observed`]: the playlists laid out by media sequence number, with the breaks.
//! - `rules`: the checks, each a function of the observed output and a profile's [`Limits`].
//! - [`profile`]: each profile's rules with stable ids (`pluto.segment-duration-constant`).
//! - [`ts`]: our own reader of the SCTE-35 an MPEG-TS segment carries.
//! - [`report`]: findings (rule, severity, where seen, message, fix) and skipped rules.
//!
//! A rule with nothing to look at (no break in the window, no probe, no EPG) is listed as
//! skipped with the reason; it never silently passes.

pub mod hls;
pub mod observation;
pub mod observed;
pub mod profile;
pub mod report;
mod rules;
pub mod ts;

pub use observation::{
    AudioProbe, EpgEntry, EpgObservation, LoudnessMeasure, Observation, PlaylistText, SegmentProbe,
    Snapshot, TsScte35, VideoProbe,
};
pub use profile::{FINDINGS_PER_RULE, Profile, ProfileName, Rule, check, profile};
pub use report::{Finding, ObservedSummary, Report, Severity, Skipped, WhereSeen};
pub use rules::{LadderStep, Limits};

#[cfg(test)]
mod tests;
