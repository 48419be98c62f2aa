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

mod track;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    origin: Timestamp,
    runs: Vec<Run>,
    repeat: bool,
    first_media_sequence: u64,
    first_discontinuity_sequence: u64,
    /// Offset of each run from the origin, plus the total at the end.
    run_starts: Vec<Ticks>,
    /// Media sequence of each run's first segment, relative to the timeline, plus the total.
    run_first_sequence: Vec<u64>,
    /// Loops after the runs end, when the timeline does not repeat.
    tail: Option<Run>,
    /// For each run of an ad break, the first and last run of that break; `None` elsewhere.
    break_runs: Vec<Option<(usize, usize)>>,
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
        mut runs: Vec<Run>,
        repeat: bool,
        first_media_sequence: u64,
        first_discontinuity_sequence: u64,
    ) -> Result<Timeline, TimelineError> {
        if runs.is_empty() {
            return Err(TimelineError::Empty);
        }
        // Runs are pushed one by one while planning, so the list may hold twice the room it
        // needs; a channel keeps its timeline all day, and a FAST day is thousands of runs.
        runs.shrink_to_fit();
        let mut run_starts = Vec::with_capacity(runs.len() + 1);
        let mut run_first_sequence = Vec::with_capacity(runs.len() + 1);
        let mut offset = Ticks::ZERO;
        let mut sequence = 0u64;
        for (run_index, run) in runs.iter().enumerate() {
            if run.n_segments == 0 {
                return Err(TimelineError::EmptyRun {
                    run_index,
                    title: run.title.clone(),
                });
            }
            let end = run.first_segment.saturating_add(run.n_segments);
            if end > run.track.len() {
                return Err(TimelineError::RunOutOfRange {
                    run_index,
                    title: run.title.clone(),
                    first: run.first_segment,
                    end,
                    len: run.track.len(),
                });
            }
            run_starts.push(offset);
            run_first_sequence.push(sequence);
            offset += run.duration();
            sequence += u64::from(run.n_segments);
        }
        run_starts.push(offset);
        run_first_sequence.push(sequence);
        if offset <= Ticks::ZERO {
            return Err(TimelineError::ZeroLength);
        }
        let mut break_runs = vec![None; runs.len()];
        let mut first = 0;
        while first < runs.len() {
            let Some(slot) = runs[first].ad_break else {
                first += 1;
                continue;
            };
            let mut last = first;
            while runs
                .get(last + 1)
                .and_then(|run| run.ad_break)
                .is_some_and(|next| next.number == slot.number)
            {
                last += 1;
            }
            for entry in &mut break_runs[first..=last] {
                *entry = Some((first, last));
            }
            first = last + 1;
        }
        Ok(Timeline {
            origin,
            runs,
            repeat,
            first_media_sequence,
            first_discontinuity_sequence,
            run_starts,
            run_first_sequence,
            tail: None,
            break_runs,
        })
    }

    /// Loops `tail` forever after the runs end, each pass a new run (a discontinuity), numbered
    /// on from the runs: the channel's slate instead of dead air. A repeating timeline never
    /// ends, so its tail never airs. The tail is never an ad break, whatever its `ad_break`.
    pub fn with_tail(mut self, tail: Run) -> Result<Timeline, TimelineError> {
        let end = tail.first_segment.saturating_add(tail.n_segments);
        if end > tail.track.len() {
            return Err(TimelineError::RunOutOfRange {
                run_index: self.runs.len(),
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
        let n = self.runs.len();
        if !self.repeat || every == 0 || every >= n || !n.is_multiple_of(every) {
            return false;
        }
        let relative = |index: usize| {
            self.break_runs[index].map(|(first, last)| (index - first, last - index))
        };
        if self.break_runs[..every]
            .iter()
            .flatten()
            .any(|(_, last)| *last >= every)
        {
            return false;
        }
        (every..n).all(|index| {
            let (run, copy) = (&self.runs[index], &self.runs[index % every]);
            run.kind == copy.kind
                && run.asset_id == copy.asset_id
                && run.title == copy.title
                && (Arc::ptr_eq(&run.track, &copy.track) || run.track == copy.track)
                && run.first_segment == copy.first_segment
                && run.n_segments == copy.n_segments
                && run.ad_break.map(|slot| slot.duration) == copy.ad_break.map(|slot| slot.duration)
                && relative(index) == relative(index % every)
        })
    }

    /// The same timeline with only its first `count` runs (and the same tail and numbering).
    /// Airs the same as this one when [`Timeline::repeats_every`]`(count)`.
    pub fn with_first_runs(&self, count: usize) -> Result<Timeline, TimelineError> {
        let count = count.min(self.runs.len());
        let mut timeline = Timeline::new(
            self.origin,
            self.runs[..count].to_vec(),
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

    /// The run a [`SegmentAt::run_index`] names: one of [`Timeline::runs`], or the tail for
    /// `runs().len()`.
    pub fn run(&self, run_index: usize) -> &Run {
        match self.runs.get(run_index) {
            Some(run) => run,
            None => self
                .tail
                .as_ref()
                .expect("a run index past the runs names the tail"),
        }
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
        let (first, last) = (*self.break_runs.get(at.run_index)?)?;
        let run = &self.runs[at.run_index];
        let within_run = u64::from(at.segment_index - run.first_segment);
        let slot = self.runs[first].ad_break?;
        Some(BreakAiring {
            slot,
            first_discontinuity_sequence: at.discontinuity_sequence - (at.run_index - first) as u64,
            first_media_sequence: at.media_sequence
                - within_run
                - (self.run_first_sequence[at.run_index] - self.run_first_sequence[first]),
            n_segments: self.run_first_sequence[last + 1] - self.run_first_sequence[first],
            n_runs: (last + 1 - first) as u32,
            start: self.run_start(at) - (self.run_starts[at.run_index] - self.run_starts[first]),
            duration: self.run_starts[last + 1] - self.run_starts[first],
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

    /// Each run's offset from the origin, then the end of the last: `runs().len() + 1` entries,
    /// kept since the timeline was made, so a reader over a window need not add up every run
    /// before it (a 14-day grid with slate in its gaps is hundreds of thousands of runs).
    pub fn run_offsets(&self) -> &[Ticks] {
        &self.run_starts
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    pub fn repeats(&self) -> bool {
        self.repeat
    }

    /// The length of one pass through the runs.
    pub fn period(&self) -> Ticks {
        *self.run_starts.last().expect("a timeline has runs")
    }

    fn segments_per_period(&self) -> u64 {
        *self.run_first_sequence.last().expect("a timeline has runs")
    }

    /// Where a single pass of the runs ends; `None` when the timeline repeats forever. A tail,
    /// if any, airs from there on.
    pub fn end(&self) -> Option<Timestamp> {
        (!self.repeat).then(|| self.origin + self.period())
    }

    /// The longest segment, for EXT-X-TARGETDURATION.
    pub fn longest_segment(&self) -> Ticks {
        self.runs
            .iter()
            .flat_map(|run| {
                (run.first_segment..run.first_segment + run.n_segments)
                    .map(|i| run.track.duration(i))
            })
            .chain(self.tail.iter().flat_map(|tail| {
                (tail.first_segment..tail.first_segment + tail.n_segments)
                    .map(|i| tail.track.duration(i))
            }))
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
        let run_index = self.run_starts.partition_point(|start| *start <= within) - 1;
        let run = &self.runs[run_index];
        let run_base = run.track.start(run.first_segment);
        let within_run = within - self.run_starts[run_index] + run_base;
        let k = run.track.index_at(within_run) - run.first_segment;
        Some(self.segment(cycle, run_index, k))
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
        let run_index = self
            .run_first_sequence
            .partition_point(|first| *first <= within)
            - 1;
        let k = (within - self.run_first_sequence[run_index]) as u32;
        Some(self.segment(cycle, run_index, k))
    }

    fn segment(&self, cycle: u64, run_index: usize, k: u32) -> SegmentAt {
        let run = &self.runs[run_index];
        let segment_index = run.first_segment + k;
        let cycle_start = self.origin + Ticks(self.period().0 * cycle as i64);
        let start = cycle_start
            + self.run_starts[run_index]
            + (run.track.start(segment_index) - run.track.start(run.first_segment));
        SegmentAt {
            media_sequence: self.first_media_sequence
                + cycle * self.segments_per_period()
                + self.run_first_sequence[run_index]
                + u64::from(k),
            discontinuity_sequence: self.first_discontinuity_sequence
                + cycle * self.runs.len() as u64
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
            discontinuity_sequence: self.first_discontinuity_sequence
                + self.runs.len() as u64
                + cycle,
            start,
            duration: tail.track.duration(segment_index),
            run_index: self.runs.len(),
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
