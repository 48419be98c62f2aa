//! How a timeline holds its runs: consecutive equal runs once, as a [`RunGroup`], and the
//! [`Runs`] view that reads them back one run at a time.
//!
//! A slate looped through an unfilled 90 s break is 23 runs of a 4 s slate, each its own
//! discontinuity, all equal; a FAST day of 96 such breaks is 2,208 of them. Held once per
//! group, a channel's day is a few hundred groups instead of thousands of runs, while every
//! reader still sees (and numbers) each pass as a run of its own.

use std::ops::{Bound, Index, RangeBounds};

use super::{Run, Timeline};
use crate::time::Ticks;

/// Consecutive equal runs of a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RunGroup {
    pub(super) run: Run,
    /// How many times the run airs in a row: at least one.
    pub(super) passes: u32,
    /// One pass.
    pub(super) duration: Ticks,
    /// The index, among the timeline's runs, of the first pass.
    pub(super) first_run: usize,
    /// The first pass's offset from the origin.
    pub(super) start: Ticks,
    /// The media sequence of the first pass's first segment, relative to the timeline.
    pub(super) first_sequence: u64,
    /// The first and last run (indexes among the timeline's runs) of the ad break the group is
    /// part of.
    pub(super) ad_break: Option<(usize, usize)>,
}

impl RunGroup {
    pub(super) fn end_run(&self) -> usize {
        self.first_run + self.passes as usize
    }

    /// The pass airing at `offset` from the origin, which is within the group.
    pub(super) fn pass_at(&self, offset: Ticks) -> u32 {
        let into = (offset - self.start)
            .0
            .checked_div(self.duration.0)
            .unwrap_or(0);
        (into.max(0) as u32).min(self.passes - 1)
    }

    /// The offset from the origin of pass `pass`.
    pub(super) fn pass_start(&self, pass: u32) -> Ticks {
        self.start + Ticks(self.duration.0 * i64::from(pass))
    }

    /// The media sequence, relative to the timeline, of pass `pass`'s first segment.
    pub(super) fn pass_first_sequence(&self, pass: u32) -> u64 {
        self.first_sequence + u64::from(pass) * u64::from(self.run.n_segments)
    }
}

/// The runs of a timeline, or a stretch of them, one per discontinuity, in order: what a slice
/// of runs would be, read from the groups that hold them.
#[derive(Clone, Copy)]
pub struct Runs<'a> {
    timeline: &'a Timeline,
    start: usize,
    end: usize,
}

impl<'a> Runs<'a> {
    pub(super) fn of(timeline: &'a Timeline) -> Runs<'a> {
        Runs {
            timeline,
            start: 0,
            end: timeline.n_runs,
        }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn get(&self, index: usize) -> Option<&'a Run> {
        (index < self.len()).then(|| self.timeline.run(self.start + index))
    }

    pub fn first(&self) -> Option<&'a Run> {
        self.get(0)
    }

    pub fn last(&self) -> Option<&'a Run> {
        self.len().checked_sub(1).and_then(|index| self.get(index))
    }

    /// The runs in `range` of these, as a slice of them would be.
    ///
    /// # Panics
    /// When the range is out of bounds, as slicing panics.
    pub fn slice(&self, range: impl RangeBounds<usize>) -> Runs<'a> {
        let from = match range.start_bound() {
            Bound::Included(at) => *at,
            Bound::Excluded(at) => at + 1,
            Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(at) => at + 1,
            Bound::Excluded(at) => *at,
            Bound::Unbounded => self.len(),
        };
        assert!(
            from <= to && to <= self.len(),
            "runs {from}..{to} of {}",
            self.len()
        );
        Runs {
            timeline: self.timeline,
            start: self.start + from,
            end: self.start + to,
        }
    }

    pub fn iter(&self) -> RunsIter<'a> {
        RunsIter {
            timeline: self.timeline,
            next: self.start,
            end: self.end,
            group: self.timeline.group_index(self.start),
        }
    }

    pub fn to_vec(&self) -> Vec<Run> {
        self.iter().cloned().collect()
    }
}

impl<'a> Index<usize> for Runs<'a> {
    type Output = Run;

    fn index(&self, index: usize) -> &Run {
        match self.get(index) {
            Some(run) => run,
            None => panic!("run {index} of {}", self.len()),
        }
    }
}

impl<'a> IntoIterator for Runs<'a> {
    type Item = &'a Run;
    type IntoIter = RunsIter<'a>;

    fn into_iter(self) -> RunsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Runs<'a> {
    type Item = &'a Run;
    type IntoIter = RunsIter<'a>;

    fn into_iter(self) -> RunsIter<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for Runs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Runs<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// The runs one by one, walking the groups; `nth` (and so `skip`) jumps, never steps.
#[derive(Debug, Clone)]
pub struct RunsIter<'a> {
    timeline: &'a Timeline,
    next: usize,
    end: usize,
    /// The group that holds run `next`.
    group: usize,
}

impl<'a> Iterator for RunsIter<'a> {
    type Item = &'a Run;

    fn next(&mut self) -> Option<&'a Run> {
        if self.next >= self.end {
            return None;
        }
        let group = &self.timeline.groups[self.group];
        self.next += 1;
        if self.next >= group.end_run() {
            self.group += 1;
        }
        Some(&group.run)
    }

    fn nth(&mut self, n: usize) -> Option<&'a Run> {
        self.next = self.next.saturating_add(n).min(self.end);
        self.group = self.timeline.group_index(self.next);
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for RunsIter<'_> {}

impl DoubleEndedIterator for RunsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        Some(self.timeline.run(self.end))
    }
}
