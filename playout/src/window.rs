//! The segments a live manifest lists at an instant, with what every writer needs: the run and
//! asset each comes from, when its run started, and the ad break it is in or follows.
//!
//! This is the one place a *per-session* variant differs from the channel: a [`BreakFill`]
//! chooses what airs in each break occurrence. The channel's own manifests pass
//! [`ChannelBreaks`] (the runs as planned); a session (SSAI) passes its own fill and gets its
//! manifests from the same writers, with no fork of the renderers.
//!
//! A fill keeps the channel's media sequence: its runs (ads, then slate) have as many segments
//! in all as the break, so every segment outside the break has the channel's number, and inside
//! it the n-th segment of the fill is the n-th of the break. Starts inside the break follow the
//! fill's own durations by prefix sums from the break's start; outside it they are the
//! channel's. A fill may have more or fewer runs than the planned break, and each run is a
//! discontinuity: so a session's discontinuity sequence is the channel's shifted by what its
//! earlier fills added ([`BreakFill::discontinuity_shift`]), the same in every playlist of the
//! session and never going back. A fill that does not fit ([`Fill::fits`]) is ignored (the
//! planned runs air), so a session never gets a playlist that contradicts itself.

use std::collections::HashMap;

use onair_domain::{Asset, AssetId, BreakAiring, Run, SegmentAt, Ticks, Timestamp};

use crate::ChannelPlayout;
use crate::live::{LiveAirings, SlotAiring};

/// What a session airs in an ad break instead of the planned runs.
#[derive(Debug, Clone, Copy)]
pub struct Fill<'a> {
    /// Laid end to end from the break's start, with as many segments in all as the break.
    pub runs: &'a [Run],
    /// The assets the runs play, with the channel's renditions.
    pub assets: &'a HashMap<AssetId, Asset>,
    /// Per run, the URL prefix its segments are fetched through instead of the shared
    /// `/media/` (a session's beacon URL: the origin records the fetch and redirects to the
    /// shared segment), or `None`. Empty: every run is fetched from `/media/`.
    pub tracking: &'a [Option<String>],
}

impl Fill<'_> {
    /// Whether this fill can replace `airing`: as many segments in all, every run non-empty and
    /// within its track, every asset present, and a tracking entry per run (or none at all).
    pub fn fits(&self, airing: &BreakAiring) -> bool {
        let total: u64 = self.runs.iter().map(|run| u64::from(run.n_segments)).sum();
        total == airing.n_segments
            && (self.tracking.is_empty() || self.tracking.len() == self.runs.len())
            && self.runs.iter().all(|run| {
                run.n_segments > 0
                    && run.first_segment + run.n_segments <= run.track.len()
                    && self.assets.contains_key(&run.asset_id)
            })
    }

    /// Discontinuities this fill adds against the planned break: its runs less the break's.
    pub fn added_discontinuities(&self, airing: &BreakAiring) -> i64 {
        self.runs.len() as i64 - i64::from(airing.n_runs)
    }
}

/// Chooses what airs in each occurrence of an ad break.
pub trait BreakFill {
    /// The runs that air in `airing` instead of the planned ones, or `None` for the planned ones.
    fn fill(&self, airing: &BreakAiring) -> Option<Fill<'_>>;

    /// What the fills of breaks that ended before segment `media_sequence` added to the
    /// discontinuity sequence ([`Fill::added_discontinuities`], summed). A fill counted here
    /// must be one [`BreakFill::fill`] returns and that fits.
    fn discontinuity_shift(&self, media_sequence: u64) -> i64 {
        let _ = media_sequence;
        0
    }
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
    /// Numbering from the channel's timeline (the discontinuity sequence shifted by the
    /// session's earlier fills); `start`, `duration` and `segment_index` as aired (the fill's,
    /// in a filled break). `run_index` names the planned run.
    pub at: SegmentAt,
    pub run: &'a Run,
    pub asset: &'a Asset,
    /// When the run occurrence this segment belongs to started, as aired: a DASH Period's
    /// start. A live item's or take's run that starts inside a planned run (fallback slots, the
    /// schedule joining in progress after a take) starts at its own first segment.
    pub run_start: Timestamp,
    /// The ad break this segment is part of.
    pub in_break: Option<BreakAiring>,
    /// The ad break that ended just before this segment (it starts a run): a cue-in goes here.
    pub after_break: Option<BreakAiring>,
    /// Whether `in_break` airs the session's fill rather than the planned runs.
    pub break_filled: bool,
    /// Whether `after_break` aired the session's fill.
    pub after_break_filled: bool,
    /// The URL prefix this segment is fetched through instead of `/media/` (see
    /// [`Fill::tracking`]).
    pub tracking: Option<&'a str>,
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
/// listed when the window is still empty), both with the session's discontinuity shift. With
/// `live`, the channel's live items air what it decided, and the window stops before the first
/// slot it has not decided yet. `None` only for a timeline that has no segment at its origin,
/// which [`ChannelPlayout::new`] rules out.
pub(crate) fn live_window<'a>(
    playout: &'a ChannelPlayout,
    now: Timestamp,
    fill: &'a dyn BreakFill,
    live: Option<&'a LiveAirings>,
) -> Option<(SegmentAt, Vec<Aired<'a>>)> {
    let timeline = playout.timeline();
    // The live edge is the channel's live delay behind the clock (see `LiveHandle`).
    let now = now - playout.live().delay();
    let window = timeline.live_window(now, playout.channel().window_segments as usize);
    let mut aired = Vec::with_capacity(window.len());
    for at in window.iter().copied() {
        let slot = live.map(|live| live.airing(at.media_sequence));
        if matches!(slot, Some(SlotAiring::Undecided)) {
            break;
        }
        aired.push(airing_of(playout, at, fill, live, slot)?);
    }
    let numbering = match aired.first() {
        Some(first) => first.at,
        None => {
            // The segment listed next: the window's first (an undecided live slot), or the
            // origin's.
            let next = match window.first() {
                Some(at) => *at,
                None => timeline.segment_at(timeline.origin())?,
            };
            let mut next = shifted(next, fill);
            if let Some(live) = live {
                let shift = live.shift(next.media_sequence);
                next.discontinuity_sequence =
                    next.discontinuity_sequence.saturating_add_signed(shift);
            }
            next
        }
    };
    Some((numbering, aired))
}

/// `at` with the session's discontinuity shift applied.
fn shifted(mut at: SegmentAt, fill: &dyn BreakFill) -> SegmentAt {
    let shift = fill.discontinuity_shift(at.media_sequence);
    at.discontinuity_sequence = at.discontinuity_sequence.saturating_add_signed(shift);
    at
}

/// The first segment of the aired run that the planned segment `media_sequence` is in, as far
/// as the live items and takes say: the first slot of an item's run, or, after an item, the
/// segment after it (a take returns inside a planned run, which joins in progress). `None` before
/// every item. The aired run starts there unless its planned run starts later.
fn aired_run_first(live: &LiveAirings, media_sequence: u64) -> Option<u64> {
    let index = live
        .items
        .partition_point(|item| item.first_media_sequence <= media_sequence);
    let item = &live.items[index.checked_sub(1)?];
    let slot = media_sequence - item.first_media_sequence;
    if slot >= item.n_segments {
        return Some(item.first_media_sequence + item.n_segments);
    }
    let run = item
        .runs
        .iter()
        .find(|run| slot < run.first_slot + run.n_slots)?;
    Some(item.first_media_sequence + run.first_slot)
}

fn airing_of<'a>(
    playout: &'a ChannelPlayout,
    mut at: SegmentAt,
    fill: &'a dyn BreakFill,
    live: Option<&'a LiveAirings>,
    slot: Option<SlotAiring<'a>>,
) -> Option<Aired<'a>> {
    let timeline = playout.timeline();
    let in_break = timeline.break_of(&at);
    let after_break = timeline.break_ending_before(&at);
    let live_shift = match slot {
        Some(SlotAiring::Planned { shift, .. }) => shift,
        _ => 0,
    };
    if let Some(airing) = in_break
        && let Some(fill_of_break) = fill.fill(&airing)
        && fill_of_break.fits(&airing)
        && let Some(filled) = filled(at, &airing, fill_of_break)
    {
        let mut filled_at = shifted(filled.at, fill);
        filled_at.discontinuity_sequence = filled_at
            .discontinuity_sequence
            .saturating_add_signed(live_shift);
        return Some(Aired {
            at: filled_at,
            in_break,
            after_break,
            break_filled: true,
            after_break_filled: airs_fill(fill, after_break),
            ..filled
        });
    }
    let mut run = timeline.run(at.run_index);
    let mut asset: &Asset = playout.assets().get(&run.asset_id)?;
    let mut aired_run_start = timeline.run_start(&at);
    if let Some(live) = live
        && let Some(first) = aired_run_first(live, at.media_sequence)
    {
        // A live item or take starts this segment's aired run inside its planned run.
        let planned_first = at.media_sequence - u64::from(at.segment_index - run.first_segment);
        if first > planned_first {
            aired_run_start = timeline.segment_by_sequence(first)?.start;
        }
    }
    match slot {
        Some(SlotAiring::Decided {
            discontinuity_sequence,
            starts_run,
            live,
        }) => {
            at.discontinuity_sequence = discontinuity_sequence;
            at.starts_run = starts_run;
            if let Some((live, segment_index)) = live {
                at.segment_index = segment_index;
                run = &live.run;
                asset = &live.asset;
                aired_run_start = live.start;
            }
        }
        Some(SlotAiring::Planned { shift, resumes }) => {
            at.discontinuity_sequence = at.discontinuity_sequence.saturating_add_signed(shift);
            at.starts_run |= resumes;
        }
        Some(SlotAiring::Undecided) | None => {}
    }
    Some(Aired {
        at: shifted(at, fill),
        run,
        asset,
        run_start: aired_run_start,
        in_break,
        after_break,
        break_filled: false,
        after_break_filled: airs_fill(fill, after_break),
        tracking: None,
    })
}

/// Whether `airing` (if any) airs what `fill` chooses for it.
fn airs_fill(fill: &dyn BreakFill, airing: Option<BreakAiring>) -> bool {
    airing.is_some_and(|airing| {
        fill.fill(&airing)
            .is_some_and(|chosen| chosen.fits(&airing))
    })
}

/// `at`, a segment of the planned break `airing`, as `fill` (which fits it) airs it: the
/// segment at the same position in the fill, numbered as the fill's runs say.
fn filled<'a>(at: SegmentAt, airing: &BreakAiring, fill: Fill<'a>) -> Option<Aired<'a>> {
    let mut position = at.media_sequence.checked_sub(airing.first_media_sequence)?;
    let mut run_start = airing.start;
    for (j, run) in fill.runs.iter().enumerate() {
        let n = u64::from(run.n_segments);
        if position >= n {
            position -= n;
            run_start = run_start + run.duration();
            continue;
        }
        let segment_index = run.first_segment + position as u32;
        let start =
            run_start + (run.track.start(segment_index) - run.track.start(run.first_segment));
        return Some(Aired {
            at: SegmentAt {
                start,
                duration: run.track.duration(segment_index),
                segment_index,
                discontinuity_sequence: airing.first_discontinuity_sequence + j as u64,
                starts_run: position == 0,
                ..at
            },
            run,
            asset: fill.assets.get(&run.asset_id)?,
            run_start,
            in_break: None,
            after_break: None,
            break_filled: false,
            after_break_filled: false,
            tracking: fill.tracking.get(j).and_then(Option::as_deref),
        });
    }
    None
}
