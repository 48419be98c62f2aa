//! The timeline: what a channel airs, as contiguous runs of segments from an origin instant.
//!
//! Every number a playlist shows comes from here by prefix sums, never from a counter: the
//! media sequence of a segment is the number of segments before it, and its discontinuity
//! sequence is the number of run boundaries before it. So any process, at any time, derives the
//! same numbers from the same timeline.
//!
//! A timeline that does not repeat may have a *tail*: a run (the channel's slate) that loops
//! forever after the planned runs end, numbered on from them, so a channel never goes dead.
//! Ad breaks are runs carrying a [`BreakSlot`]; [`Timeline::break_of`] finds the occurrence a
//! segment belongs to, with the numbers that identify it on every replica.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::media::AssetId;
use crate::time::{Ticks, Timestamp};

mod runs;
mod track;

use runs::RunGroup;
pub use runs::{Runs, RunsIter};
pub use track::SegmentTrack;

/// What a run is, for markers, as-run and EPG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Programme,
    Filler,
    Slate,
    AdBreak,
}

/// A stretch of consecutive segments of one asset. A boundary between two runs is always a
/// discontinuity, even when both play the same asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub kind: RunKind,
    pub asset_id: AssetId,
    pub title: String,
    pub track: Arc<SegmentTrack>,
    /// Index in the asset of the first segment played (the in point).
    pub first_segment: u32,
    pub n_segments: u32,
    /// Set on every run that fills an ad break (kind [`RunKind::AdBreak`]): the runs of one
    /// break are consecutive and share its slot, which the outputs mark with SCTE-35.
    pub ad_break: Option<BreakSlot>,
}

/// One ad break in a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BreakSlot {
    /// Numbers the break within one pass of the timeline; consecutive runs with the same number
    /// are one break.
    pub number: u32,
    /// The break as it airs: the sum of its runs' durations.
    pub duration: Ticks,
}

impl Run {
    /// The whole asset.
    pub fn whole(
        kind: RunKind,
        asset_id: AssetId,
        title: impl Into<String>,
        track: Arc<SegmentTrack>,
    ) -> Run {
        let n_segments = track.len();
        Run {
            kind,
            asset_id,
            title: title.into(),
            track,
            first_segment: 0,
            n_segments,
            ad_break: None,
        }
    }

    pub fn duration(&self) -> Ticks {
        self.track.start(self.first_segment + self.n_segments)
            - self.track.start(self.first_segment)
    }
}

/// One segment as it airs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentAt {
    pub media_sequence: u64,
    /// The number of run boundaries before this segment: its EXT-X-DISCONTINUITY-SEQUENCE.
    pub discontinuity_sequence: u64,
    pub start: Timestamp,
    pub duration: Ticks,
    /// Index into [`Timeline::runs`], or `runs().len()` for the tail: see [`Timeline::run`].
    pub run_index: usize,
    /// Index of the segment within its asset.
    pub segment_index: u32,
    /// The first segment of its run: a discontinuity precedes it.
    pub starts_run: bool,
}

impl SegmentAt {
    pub fn end(&self) -> Timestamp {
        self.start + self.duration
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    #[error("a timeline needs at least one run")]
    Empty,
    #[error("the timeline lasts no time at all")]
    ZeroLength,
    #[error("run {run_index} ({title:?}) has no segments")]
    EmptyRun { run_index: usize, title: String },
    #[error("the tail ({title:?}) has no segments or lasts no time")]
    EmptyTail { title: String },
    #[error("run {run_index} ({title:?}) plays segments {first}..{end} of an asset that has {len}")]
    RunOutOfRange {
        run_index: usize,
        title: String,
        first: u32,
        end: u32,
        len: u32,
    },
}

/// What a channel airs: runs laid end to end from `origin`, optionally looping forever.
///
/// Consecutive equal runs are held once ([`runs::RunGroup`]), since a slate looped through a
/// break is one run per pass; [`Timeline::runs`] reads them back one run per discontinuity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    origin: Timestamp,
    groups: Vec<RunGroup>,
    /// How many runs the groups hold.
    n_runs: usize,
    /// One pass through the runs.
    period: Ticks,
    segments_per_period: u64,
    repeat: bool,
    first_media_sequence: u64,
    first_discontinuity_sequence: u64,
    /// Loops after the runs end, when the timeline does not repeat.
    tail: Option<Run>,
}

/// One occurrence of an ad break as it airs: the same numbers on every replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BreakAiring {
    pub slot: BreakSlot,
    /// The discontinuity sequence of the break's first segment: unique per occurrence, even
    /// when the timeline repeats.
    pub first_discontinuity_sequence: u64,
    pub first_media_sequence: u64,
    pub n_segments: u64,
    /// How many runs it spans (each a discontinuity).
    pub n_runs: u32,
    /// When its first segment starts.
    pub start: Timestamp,
    /// As it airs: the sum of its runs' durations.
    pub duration: Ticks,
}

impl BreakAiring {
    pub fn end(&self) -> Timestamp {
        self.start + self.duration
    }

    /// The SCTE-35 `splice_event_id`: the low 32 bits of the first discontinuity sequence.
    pub fn splice_event_id(&self) -> u32 {
        self.first_discontinuity_sequence as u32
    }

    /// Whether the segment numbered `media_sequence` is one of the break's.
    pub fn contains(&self, media_sequence: u64) -> bool {
        media_sequence >= self.first_media_sequence
            && media_sequence < self.first_media_sequence + self.n_segments
    }
}

impl Timeline {
    /// Lays `runs` end to end from `origin`. With `repeat`, the whole list loops forever.
    /// `first_media_sequence` and `first_discontinuity_sequence` number the first segment, so a
    /// newer timeline can continue an older one's numbering.
    pub fn new(
        origin: Timestamp,
        runs: Vec<Run>,
        repeat: bool,
        first_media_sequence: u64,
        first_discontinuity_sequence: u64,
    ) -> Result<Timeline, TimelineError> {
        if runs.is_empty() {
            return Err(TimelineError::Empty);
        }
        let n_runs = runs.len();
        let mut groups: Vec<RunGroup> = Vec::new();
        let mut offset = Ticks::ZERO;
        let mut sequence = 0u64;
        for (run_index, run) in runs.into_iter().enumerate() {
            if run.n_segments == 0 {
                return Err(TimelineError::EmptyRun {
                    run_index,
                    title: run.title,
                });
            }
            let end = run.first_segment.saturating_add(run.n_segments);
            if end > run.track.len() {
                return Err(TimelineError::RunOutOfRange {
                    run_index,
                    len: run.track.len(),
                    title: run.title,
                    first: run.first_segment,
                    end,
                });
            }
            let duration = run.duration();
            let n_segments = u64::from(run.n_segments);
            match groups.last_mut() {
                Some(last) if last.run == run && last.passes < u32::MAX => last.passes += 1,
                _ => groups.push(RunGroup {
                    run,
                    passes: 1,
                    duration,
                    first_run: run_index,
                    start: offset,
                    first_sequence: sequence,
                    ad_break: None,
                }),
            }
            offset += duration;
            sequence += n_segments;
        }
        if offset <= Ticks::ZERO {
            return Err(TimelineError::ZeroLength);
        }
        // Runs are pushed one by one while planning; a channel keeps its timeline all day.
        groups.shrink_to_fit();
        let mut first = 0;
        while first < groups.len() {
            let Some(slot) = groups[first].run.ad_break else {
                first += 1;
                continue;
            };
            let mut last = first;
            while groups
                .get(last + 1)
                .and_then(|group| group.run.ad_break)
                .is_some_and(|next| next.number == slot.number)
            {
                last += 1;
            }
            let bounds = (groups[first].first_run, groups[last].end_run() - 1);
            for group in &mut groups[first..=last] {
                group.ad_break = Some(bounds);
            }
            first = last + 1;
        }
        Ok(Timeline {
            origin,
            groups,
            n_runs,
            period: offset,
            segments_per_period: sequence,
            repeat,
            first_media_sequence,
            first_discontinuity_sequence,
            tail: None,
        })
    }

    /// Loops `tail` forever after the runs end, each pass a new run (a discontinuity), numbered
    /// on from the runs: the channel's slate instead of dead air. A repeating timeline never
    /// ends, so its tail never airs. The tail is never an ad break, whatever its `ad_break`.
    pub fn with_tail(mut self, tail: Run) -> Result<Timeline, TimelineError> {
        let end = tail.first_segment.saturating_add(tail.n_segments);
        if end > tail.track.len() {
            return Err(TimelineError::RunOutOfRange {
                run_index: self.n_runs,
                title: tail.title.clone(),
                first: tail.first_segment,
                end,
                len: tail.track.len(),
            });
        }
        if tail.n_segments == 0 || tail.duration() <= Ticks::ZERO {
            return Err(TimelineError::EmptyTail { title: tail.title });
        }
        self.tail = Some(tail);
        Ok(self)
    }

    /// Whether the runs are copies of their first `every` runs, laid end to end, in a repeating
    /// timeline: then [`Timeline::with_first_runs`]`(every)` airs exactly the same segments with
    /// the same numbers (media and discontinuity sequences, break occurrences, times), because
    /// every number comes from prefix sums over a pass, and a pass of the copies is `copies`
    /// passes of the first. Runs match when they play the same thing; their break numbers may
    /// differ (they only group runs into breaks), but breaks must group alike and none may cross
    /// from one copy into the next.
    pub fn repeats_every(&self, every: usize) -> bool {
        let n = self.n_runs;
        if !self.repeat || every == 0 || every >= n || !n.is_multiple_of(every) {
            return false;
        }
        let relative = |index: usize| {
            self.break_bounds(index)
                .map(|(first, last)| (index - first, last - index))
        };
        if (0..every).any(|index| {
            self.break_bounds(index)
                .is_some_and(|(_, last)| last >= every)
        }) {
            return false;
        }
        let copies = self.runs().slice(..every).iter().cycle();
        self.runs()
            .iter()
            .zip(copies)
            .enumerate()
            .skip(every)
            .all(|(index, (run, copy))| {
                run.kind == copy.kind
                    && run.asset_id == copy.asset_id
                    && run.title == copy.title
                    && (Arc::ptr_eq(&run.track, &copy.track) || run.track == copy.track)
                    && run.first_segment == copy.first_segment
                    && run.n_segments == copy.n_segments
                    && run.ad_break.map(|slot| slot.duration)
                        == copy.ad_break.map(|slot| slot.duration)
                    && relative(index) == relative(index % every)
            })
    }

    /// The same timeline with only its first `count` runs (and the same tail and numbering).
    /// Airs the same as this one when [`Timeline::repeats_every`]`(count)`.
    pub fn with_first_runs(&self, count: usize) -> Result<Timeline, TimelineError> {
        let count = count.min(self.n_runs);
        let mut timeline = Timeline::new(
            self.origin,
            self.runs().slice(..count).to_vec(),
            self.repeat,
            self.first_media_sequence,
            self.first_discontinuity_sequence,
        )?;
        timeline.tail = self.tail.clone();
        Ok(timeline)
    }

    /// The run that loops after the end, if any.
    pub fn tail(&self) -> Option<&Run> {
        self.tail.as_ref()
    }

    /// The group that holds run `run_index` (the last group for `n_runs`).
    fn group_index(&self, run_index: usize) -> usize {
        self.groups
            .partition_point(|group| group.first_run <= run_index)
            .saturating_sub(1)
    }

    /// The run a [`SegmentAt::run_index`] names: one of [`Timeline::runs`], or the tail for
    /// `runs().len()`.
    pub fn run(&self, run_index: usize) -> &Run {
        if run_index < self.n_runs {
            &self.groups[self.group_index(run_index)].run
        } else {
            self.tail
                .as_ref()
                .expect("a run index past the runs names the tail")
        }
    }

    /// The runs equal to run `run_index` around it, consecutive (its stretch): a reader walking
    /// run by run may step over them at once. Empty past the runs.
    pub fn stretch_of(&self, run_index: usize) -> std::ops::Range<usize> {
        if run_index >= self.n_runs {
            return run_index..run_index;
        }
        let group = &self.groups[self.group_index(run_index)];
        group.first_run..group.end_run()
    }

    /// The offset from the origin of run `run_index`; for `runs().len()`, the end of the last.
    /// Kept since the timeline was made, so a reader over a window need not add up every run
    /// before it (a 14-day grid with slate in its gaps is hundreds of thousands of runs).
    pub fn run_offset(&self, run_index: usize) -> Ticks {
        if run_index >= self.n_runs {
            return self.period;
        }
        let group = &self.groups[self.group_index(run_index)];
        group.pass_start((run_index - group.first_run) as u32)
    }

    /// The run airing at `offset` from the origin within one pass (the first that ends after
    /// it): `runs().len()` at or past the end of the pass.
    pub fn run_index_at(&self, offset: Ticks) -> usize {
        if offset >= self.period {
            return self.n_runs;
        }
        let Some(index) = self
            .groups
            .partition_point(|group| group.start <= offset)
            .checked_sub(1)
        else {
            return 0;
        };
        let group = &self.groups[index];
        group.first_run + group.pass_at(offset) as usize
    }

    /// The media sequence, relative to the timeline, of run `run_index`'s first segment; for
    /// `runs().len()`, the segments in a pass.
    fn run_first_sequence(&self, run_index: usize) -> u64 {
        if run_index >= self.n_runs {
            return self.segments_per_period;
        }
        let group = &self.groups[self.group_index(run_index)];
        group.pass_first_sequence((run_index - group.first_run) as u32)
    }

    /// The first and last run of the ad break run `run_index` is part of.
    fn break_bounds(&self, run_index: usize) -> Option<(usize, usize)> {
        if run_index >= self.n_runs {
            return None;
        }
        self.groups[self.group_index(run_index)].ad_break
    }

    /// Whether something airs at every instant after the origin: it repeats or has a tail.
    pub fn is_endless(&self) -> bool {
        self.repeat || self.tail.is_some()
    }

    /// When the run occurrence that `at` belongs to started.
    pub fn run_start(&self, at: &SegmentAt) -> Timestamp {
        let run = self.run(at.run_index);
        at.start - (run.track.start(at.segment_index) - run.track.start(run.first_segment))
    }

    /// The ad break `at` is part of, if any.
    pub fn break_of(&self, at: &SegmentAt) -> Option<BreakAiring> {
        let (first, last) = self.break_bounds(at.run_index)?;
        let run = self.run(at.run_index);
        let within_run = u64::from(at.segment_index - run.first_segment);
        let slot = self.run(first).ad_break?;
        let first_sequence = self.run_first_sequence(first);
        let first_offset = self.run_offset(first);
        Some(BreakAiring {
            slot,
            first_discontinuity_sequence: at.discontinuity_sequence - (at.run_index - first) as u64,
            first_media_sequence: at.media_sequence
                - within_run
                - (self.run_first_sequence(at.run_index) - first_sequence),
            n_segments: self.run_first_sequence(last + 1) - first_sequence,
            n_runs: (last + 1 - first) as u32,
            start: self.run_start(at) - (self.run_offset(at.run_index) - first_offset),
            duration: self.run_offset(last + 1) - first_offset,
        })
    }

    /// The ad break that ends just before `at`, when `at` is the first segment after it (and not
    /// part of the same occurrence): where a cue-in goes.
    pub fn break_ending_before(&self, at: &SegmentAt) -> Option<BreakAiring> {
        if !at.starts_run {
            return None;
        }
        let previous = self.segment_by_sequence(at.media_sequence.checked_sub(1)?)?;
        let ended = self.break_of(&previous)?;
        (!ended.contains(at.media_sequence)).then_some(ended)
    }

    pub fn origin(&self) -> Timestamp {
        self.origin
    }

    /// The runs, one per discontinuity.
    pub fn runs(&self) -> Runs<'_> {
        Runs::of(self)
    }

    /// Each stretch of equal consecutive runs once, with how many runs it is: what the timeline
    /// holds, for readers that would treat the runs of a stretch alike (and to measure it).
    pub fn run_stretches(&self) -> impl Iterator<Item = (&Run, u32)> {
        self.groups.iter().map(|group| (&group.run, group.passes))
    }

    /// The bytes the timeline holds for its runs (its stretches and their titles, not the
    /// segment tracks it shares with every other run of an asset): to measure it.
    pub fn held_bytes(&self) -> usize {
        self.groups.capacity() * size_of::<RunGroup>()
            + self
                .groups
                .iter()
                .map(|group| group.run.title.capacity())
                .sum::<usize>()
    }

    pub fn repeats(&self) -> bool {
        self.repeat
    }

    /// The length of one pass through the runs.
    pub fn period(&self) -> Ticks {
        self.period
    }

    fn segments_per_period(&self) -> u64 {
        self.segments_per_period
    }

    /// Where a single pass of the runs ends; `None` when the timeline repeats forever. A tail,
    /// if any, airs from there on.
    pub fn end(&self) -> Option<Timestamp> {
        (!self.repeat).then(|| self.origin + self.period())
    }

    /// The longest segment, for EXT-X-TARGETDURATION.
    pub fn longest_segment(&self) -> Ticks {
        self.groups
            .iter()
            .map(|group| &group.run)
            .chain(self.tail.iter())
            .flat_map(|run| {
                (run.first_segment..run.first_segment + run.n_segments)
                    .map(|i| run.track.duration(i))
            })
            .max()
            .unwrap_or(Ticks::ZERO)
    }

    /// The segment airing at `at`: the one with `start <= at < end`.
    pub fn segment_at(&self, at: Timestamp) -> Option<SegmentAt> {
        if at < self.origin {
            return None;
        }
        let offset = at - self.origin;
        let period = self.period();
        let (cycle, within) = if self.repeat {
            (
                offset.0.div_euclid(period.0) as u64,
                Ticks(offset.0.rem_euclid(period.0)),
            )
        } else if offset >= period {
            let tail = self.tail.as_ref()?;
            let tail_period = tail.duration();
            let tail_offset = offset - period;
            let cycle = tail_offset.0.div_euclid(tail_period.0) as u64;
            let within = Ticks(tail_offset.0.rem_euclid(tail_period.0));
            let base = tail.track.start(tail.first_segment);
            let k = tail.track.index_at(base + within) - tail.first_segment;
            return Some(self.tail_segment(cycle, k));
        } else {
            (0, offset)
        };
        let group_index = self.groups.partition_point(|group| group.start <= within) - 1;
        let group = &self.groups[group_index];
        let pass = group.pass_at(within);
        let run = &group.run;
        let run_base = run.track.start(run.first_segment);
        let within_run = within - group.pass_start(pass) + run_base;
        let k = run.track.index_at(within_run) - run.first_segment;
        Some(self.segment(cycle, group_index, pass, k))
    }

    /// The segment numbered `media_sequence`, if the timeline has it.
    pub fn segment_by_sequence(&self, media_sequence: u64) -> Option<SegmentAt> {
        let relative = media_sequence.checked_sub(self.first_media_sequence)?;
        let per_period = self.segments_per_period();
        let (cycle, within) = if self.repeat {
            (relative / per_period, relative % per_period)
        } else if relative >= per_period {
            let tail = self.tail.as_ref()?;
            let past = relative - per_period;
            let per_tail = u64::from(tail.n_segments);
            return Some(self.tail_segment(past / per_tail, (past % per_tail) as u32));
        } else {
            (0, relative)
        };
        let group_index = self
            .groups
            .partition_point(|group| group.first_sequence <= within)
            - 1;
        let group = &self.groups[group_index];
        let per_pass = u64::from(group.run.n_segments);
        let into = within - group.first_sequence;
        let pass = (into / per_pass) as u32;
        let k = (into % per_pass) as u32;
        Some(self.segment(cycle, group_index, pass, k))
    }

    /// Segment `k` of pass `pass` of group `group_index`, in pass `cycle` of the timeline.
    fn segment(&self, cycle: u64, group_index: usize, pass: u32, k: u32) -> SegmentAt {
        let group = &self.groups[group_index];
        let run = &group.run;
        let run_index = group.first_run + pass as usize;
        let segment_index = run.first_segment + k;
        let cycle_start = self.origin + Ticks(self.period().0 * cycle as i64);
        let start = cycle_start
            + group.pass_start(pass)
            + (run.track.start(segment_index) - run.track.start(run.first_segment));
        SegmentAt {
            media_sequence: self.first_media_sequence
                + cycle * self.segments_per_period()
                + group.pass_first_sequence(pass)
                + u64::from(k),
            discontinuity_sequence: self.first_discontinuity_sequence
                + cycle * self.n_runs as u64
                + run_index as u64,
            start,
            duration: run.track.duration(segment_index),
            run_index,
            segment_index,
            starts_run: k == 0,
        }
    }

    /// Segment `k` of pass `cycle` of the tail.
    fn tail_segment(&self, cycle: u64, k: u32) -> SegmentAt {
        let tail = self.tail.as_ref().expect("only called with a tail");
        let segment_index = tail.first_segment + k;
        let start = self.origin
            + self.period()
            + Ticks(tail.duration().0 * cycle as i64)
            + (tail.track.start(segment_index) - tail.track.start(tail.first_segment));
        SegmentAt {
            media_sequence: self.first_media_sequence
                + self.segments_per_period()
                + cycle * u64::from(tail.n_segments)
                + u64::from(k),
            discontinuity_sequence: self.first_discontinuity_sequence + self.n_runs as u64 + cycle,
            start,
            duration: tail.track.duration(segment_index),
            run_index: self.n_runs,
            segment_index,
            starts_run: k == 0,
        }
    }

    /// The last `count` segments that have ended by `now`, oldest first: a live playlist's window.
    /// After the end of a timeline with neither repeat nor tail, its last window.
    pub fn live_window(&self, now: Timestamp, count: usize) -> Vec<SegmentAt> {
        let last = match self.segment_at(now) {
            Some(airing) => airing.media_sequence.checked_sub(1),
            None if self.end().is_some_and(|end| now >= end) => {
                Some(self.first_media_sequence + self.segments_per_period() - 1)
            }
            None => None,
        };
        let Some(last) = last.filter(|last| *last >= self.first_media_sequence) else {
            return Vec::new();
        };
        let first = last
            .saturating_sub(count.saturating_sub(1) as u64)
            .max(self.first_media_sequence);
        (first..=last)
            .filter_map(|sequence| self.segment_by_sequence(sequence))
            .collect()
    }
}

#[cfg(test)]
mod tests;
