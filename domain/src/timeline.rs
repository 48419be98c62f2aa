//! The timeline: what a channel airs, as contiguous runs of segments from an origin instant.
//!
//! Every number a playlist shows comes from here by prefix sums, never from a counter: the
//! media sequence of a segment is the number of segments before it, and its discontinuity
//! sequence is the number of run boundaries before it. So any process, at any time, derives the
//! same numbers from the same timeline.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::media::AssetId;
use crate::time::{Ticks, Timestamp};

/// What a run is, for markers, as-run and EPG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Programme,
    Filler,
    Slate,
    AdBreak,
}

/// The segment durations of one asset with their running starts, shared by every run of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentTrack {
    durations: Vec<Ticks>,
    /// `starts[i]` is the sum of `durations[..i]`; one more entry than durations.
    starts: Vec<Ticks>,
}

impl SegmentTrack {
    pub fn new(durations: Vec<Ticks>) -> SegmentTrack {
        let mut starts = Vec::with_capacity(durations.len() + 1);
        let mut at = Ticks::ZERO;
        starts.push(at);
        for duration in &durations {
            at += *duration;
            starts.push(at);
        }
        SegmentTrack { durations, starts }
    }

    pub fn len(&self) -> u32 {
        self.durations.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.durations.is_empty()
    }

    pub fn duration(&self, index: u32) -> Ticks {
        self.durations[index as usize]
    }

    /// Offset of segment `index` from the start of the asset.
    pub fn start(&self, index: u32) -> Ticks {
        self.starts[index as usize]
    }

    /// The segment that contains `offset` from the start of the asset.
    pub fn index_at(&self, offset: Ticks) -> u32 {
        let after = self.starts[..self.durations.len()].partition_point(|start| *start <= offset);
        after.saturating_sub(1) as u32
    }

    pub fn durations(&self) -> &[Ticks] {
        &self.durations
    }
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
    /// Index into [`Timeline::runs`].
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
        Ok(Timeline {
            origin,
            runs,
            repeat,
            first_media_sequence,
            first_discontinuity_sequence,
            run_starts,
            run_first_sequence,
        })
    }

    pub fn origin(&self) -> Timestamp {
        self.origin
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

    /// Where a single pass ends; `None` when the timeline repeats forever.
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
            return None;
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
            return None;
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

    /// The last `count` segments that have ended by `now`, oldest first: a live playlist's window.
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
mod tests {
    use super::*;

    fn track(durations_secs: &[i64]) -> Arc<SegmentTrack> {
        Arc::new(SegmentTrack::new(
            durations_secs
                .iter()
                .map(|s| Ticks::from_secs(*s))
                .collect(),
        ))
    }

    fn two_clips(repeat: bool) -> Timeline {
        let a = Run::whole(RunKind::Programme, AssetId(1), "A", track(&[2, 2, 2]));
        let b = Run::whole(RunKind::Programme, AssetId(2), "B", track(&[2, 2]));
        Timeline::new(Timestamp::from_unix_secs(1000), vec![a, b], repeat, 0, 0).unwrap()
    }

    #[test]
    fn segment_at_finds_the_segment_airing_and_numbers_it_by_prefix_sums() {
        let timeline = two_clips(false);
        let at = timeline
            .segment_at(Timestamp::from_unix_secs(1007))
            .unwrap();
        assert_eq!(
            (
                at.media_sequence,
                at.discontinuity_sequence,
                at.segment_index
            ),
            (3, 1, 0)
        );
        assert_eq!(at.start, Timestamp::from_unix_secs(1006));
        assert!(at.starts_run);
        assert_eq!(timeline.segment_at(Timestamp::from_unix_secs(1010)), None);
        assert_eq!(timeline.segment_at(Timestamp::from_unix_secs(999)), None);
    }

    #[test]
    fn a_repeating_timeline_keeps_counting_across_cycles() {
        let timeline = two_clips(true);
        let at = timeline
            .segment_at(Timestamp::from_unix_secs(1000 + 10 * 3 + 1))
            .unwrap();
        assert_eq!(at.media_sequence, 15);
        assert_eq!(at.discontinuity_sequence, 6);
        assert_eq!(at.start, Timestamp::from_unix_secs(1030));
        assert_eq!(timeline.segment_by_sequence(15), Some(at));
    }

    #[test]
    fn live_window_lists_only_segments_that_have_ended() {
        let timeline = two_clips(true);
        let window = timeline.live_window(Timestamp::from_unix_secs(1007), 3);
        let sequences: Vec<u64> = window.iter().map(|s| s.media_sequence).collect();
        assert_eq!(sequences, vec![0, 1, 2]);
        let at_boundary = timeline.live_window(Timestamp::from_unix_secs(1006), 2);
        assert_eq!(
            at_boundary.last().unwrap().end(),
            Timestamp::from_unix_secs(1006)
        );
    }

    #[test]
    fn live_window_is_empty_before_the_first_segment_ends() {
        assert!(
            two_clips(false)
                .live_window(Timestamp::from_unix_secs(1001), 5)
                .is_empty()
        );
    }

    #[test]
    fn a_finished_timeline_keeps_showing_its_last_window() {
        let timeline = two_clips(false);
        let window = timeline.live_window(Timestamp::from_unix_secs(5000), 2);
        assert_eq!(
            window.iter().map(|s| s.media_sequence).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    #[test]
    fn in_points_shift_starts_but_not_numbering() {
        let partial = Run {
            first_segment: 1,
            n_segments: 2,
            ..Run::whole(RunKind::Filler, AssetId(3), "C", track(&[1, 3, 4]))
        };
        let timeline = Timeline::new(Timestamp(0), vec![partial], false, 100, 7).unwrap();
        let second = timeline.segment_by_sequence(101).unwrap();
        assert_eq!(second.start, Timestamp::from_unix_secs(3));
        assert_eq!(
            (second.segment_index, second.discontinuity_sequence),
            (2, 7)
        );
        assert_eq!(
            timeline
                .segment_at(Timestamp::from_unix_secs(5))
                .unwrap()
                .media_sequence,
            101
        );
    }
}
