//! The segments a live manifest lists at an instant, with what every writer needs: the run and
//! asset each comes from, when its run started, and the ad break it is in or follows.
//!
//! This is the one place a *per-session* variant differs from the channel: a [`BreakFill`]
//! chooses what airs in each break occurrence. The channel's own manifests pass
//! [`ChannelBreaks`] (the runs as planned); a session (SSAI) passes its own fill and gets its
//! manifests from the same writers, with no fork of the renderers.
//!
//! A fill keeps the channel's numbering: it has as many runs as the break, and each run as many
//! segments as the planned one it replaces. So media and discontinuity sequences, and the
//! dates of everything outside the break, are the channel's; inside the break, starts follow
//! the fill's own durations by prefix sums from the break's start. A fill that does not fit is
//! ignored (the planned runs air), so a session never gets a playlist that contradicts itself.

use std::collections::HashMap;

use onair_domain::{Asset, AssetId, BreakAiring, Run, SegmentAt, Ticks, Timestamp};

use crate::ChannelPlayout;

/// What a session airs in an ad break instead of the planned runs.
#[derive(Debug, Clone, Copy)]
pub struct Fill<'a> {
    /// Laid end to end from the break's start: one per planned run, with as many segments.
    pub runs: &'a [Run],
    /// The assets the runs play, with the channel's renditions.
    pub assets: &'a HashMap<AssetId, Asset>,
}

/// Chooses what airs in each occurrence of an ad break.
pub trait BreakFill {
    /// The runs that air in `airing` instead of the planned ones, or `None` for the planned ones.
    fn fill(&self, airing: &BreakAiring) -> Option<Fill<'_>>;
}

/// The channel's own breaks: the runs as planned.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelBreaks;

impl BreakFill for ChannelBreaks {
    fn fill(&self, _airing: &BreakAiring) -> Option<Fill<'_>> {
        None
    }
}

/// One listed segment as it airs.
#[derive(Debug, Clone, Copy)]
pub struct Aired<'a> {
    /// Numbering from the channel's timeline; `start`, `duration` and `segment_index` as aired
    /// (the fill's, in a filled break). `run_index` names the planned run.
    pub at: SegmentAt,
    pub run: &'a Run,
    pub asset: &'a Asset,
    /// When the run occurrence this segment belongs to started: a DASH Period's start.
    pub run_start: Timestamp,
    /// The ad break this segment is part of.
    pub in_break: Option<BreakAiring>,
    /// The ad break that ended just before this segment (it starts a run): a cue-in goes here.
    pub after_break: Option<BreakAiring>,
}

impl Aired<'_> {
    pub fn end(&self) -> Timestamp {
        self.at.start + self.at.duration
    }

    /// The offset of this segment's start in its asset's media time: what fMP4 `tfdt` and DASH
    /// `SegmentTimeline@t` say (the media crate's fragments start at zero).
    pub fn media_time(&self) -> Ticks {
        self.run.track.start(self.at.segment_index)
    }

    /// Whether this segment is the first of its break.
    pub fn starts_break(&self) -> bool {
        self.in_break
            .is_some_and(|airing| airing.first_media_sequence == self.at.media_sequence)
    }
}

/// The live window at `now` and the numbering of its first segment (of the next one to be
/// listed when the window is still empty). `None` only for a timeline that has no segment at
/// its origin, which [`ChannelPlayout::new`] rules out.
pub(crate) fn live_window<'a>(
    playout: &'a ChannelPlayout,
    now: Timestamp,
    fill: &'a dyn BreakFill,
) -> Option<(SegmentAt, Vec<Aired<'a>>)> {
    let timeline = playout.timeline();
    let window = timeline.live_window(now, playout.channel().window_segments as usize);
    let numbering = window
        .first()
        .copied()
        .or_else(|| timeline.segment_at(timeline.origin()))?;
    let mut aired = Vec::with_capacity(window.len());
    for at in window {
        aired.push(airing_of(playout, at, fill)?);
    }
    Some((numbering, aired))
}

fn airing_of<'a>(
    playout: &'a ChannelPlayout,
    at: SegmentAt,
    fill: &'a dyn BreakFill,
) -> Option<Aired<'a>> {
    let timeline = playout.timeline();
    let in_break = timeline.break_of(&at);
    let after_break = timeline.break_ending_before(&at);
    if let Some(airing) = in_break
        && let Some(fill) = fill.fill(&airing)
        && let Some(filled) = filled(playout, at, &airing, fill)
    {
        return Some(Aired {
            in_break,
            after_break,
            ..filled
        });
    }
    let run = timeline.run(at.run_index);
    Some(Aired {
        at,
        run,
        asset: playout.assets().get(&run.asset_id)?,
        run_start: timeline.run_start(&at),
        in_break,
        after_break,
    })
}

/// `at`, a segment of the planned break `airing`, as `fill` airs it; `None` when the fill does
/// not fit the break.
fn filled<'a>(
    playout: &ChannelPlayout,
    at: SegmentAt,
    airing: &BreakAiring,
    fill: Fill<'a>,
) -> Option<Aired<'a>> {
    let timeline = playout.timeline();
    if fill.runs.len() != airing.n_runs as usize {
        return None;
    }
    let position = (at.discontinuity_sequence - airing.first_discontinuity_sequence) as usize;
    let first_run_index = at.run_index.checked_sub(position)?;
    let mut run_start = airing.start;
    for (j, replacement) in fill.runs.iter().enumerate() {
        let planned = timeline.run(first_run_index + j);
        if replacement.n_segments != planned.n_segments
            || replacement.first_segment + replacement.n_segments > replacement.track.len()
        {
            return None;
        }
        if j < position {
            run_start = run_start + replacement.duration();
        }
    }
    let planned = timeline.run(at.run_index);
    let run = &fill.runs[position];
    let segment_index = run.first_segment + (at.segment_index - planned.first_segment);
    let start = run_start + (run.track.start(segment_index) - run.track.start(run.first_segment));
    Some(Aired {
        at: SegmentAt {
            start,
            duration: run.track.duration(segment_index),
            segment_index,
            ..at
        },
        run,
        asset: fill.assets.get(&run.asset_id)?,
        run_start,
        in_break: None,
        after_break: None,
    })
}
