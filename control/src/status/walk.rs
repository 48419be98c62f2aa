//! The walk over a channel's plan from an instant: the runs as they air, grouped into spans of
//! one source (an item's occurrence, or gap fill), for the status's now, next and gaps.

use onair_domain::{RunKind, Ticks, Timeline, Timestamp};
use onair_scheduler::Plan;

use super::{Slot, SlotKind};

/// Where a stretch of runs comes from: one occurrence of an item, or gap fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Item { index: usize, pass: i64 },
    Fill { filler: bool },
}

impl Source {
    pub(super) fn same_as(self, other: Source) -> bool {
        match (self, other) {
            (Source::Fill { .. }, Source::Fill { .. }) => true,
            (a, b) => a == b,
        }
    }
}

/// Runs of one source, laid end to end.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) start: Timestamp,
    pub(super) end: Option<Timestamp>,
    pub(super) source: Source,
}

/// One run as it airs: pass `pass` of run `run` (the tail when `run` is past the runs).
#[derive(Debug, Clone, Copy)]
struct Cursor {
    pass: i64,
    run: usize,
    start: Timestamp,
}

/// The most runs one walk looks at: a channel looping a few seconds of slate for days stays
/// cheap.
const MAX_STEPS: usize = 20_000;

/// How far back gap fill airing now is followed to its start, and how far past the horizon a
/// stretch is followed to its end.
const LOOKBACK: Ticks = Ticks::from_secs(86_400);

pub(super) struct Walk<'a> {
    pub(super) plan: &'a Plan,
    pub(super) timeline: &'a Timeline,
}

impl Walk<'_> {
    fn n_runs(&self) -> usize {
        self.timeline.runs().len()
    }

    fn at(&self, at: Timestamp) -> Option<Cursor> {
        let segment = self.timeline.segment_at(at)?;
        let origin = self.timeline.origin();
        let period = self.timeline.period();
        if segment.run_index >= self.n_runs() {
            return Some(Cursor {
                pass: 0,
                run: segment.run_index,
                start: origin + period,
            });
        }
        let start = self.timeline.run_start(&segment);
        let pass = if self.timeline.repeats() {
            (start - origin).0.div_euclid(period.0)
        } else {
            0
        };
        Some(Cursor {
            pass,
            run: segment.run_index,
            start,
        })
    }

    fn end(&self, cursor: Cursor) -> Option<Timestamp> {
        let run = self.timeline.runs().get(cursor.run)?;
        Some(cursor.start + run.duration())
    }

    fn next(&self, cursor: Cursor) -> Option<Cursor> {
        let end = self.end(cursor)?;
        if cursor.run + 1 < self.n_runs() {
            Some(Cursor {
                run: cursor.run + 1,
                start: end,
                ..cursor
            })
        } else if self.timeline.repeats() {
            Some(Cursor {
                pass: cursor.pass + 1,
                run: 0,
                start: end,
            })
        } else {
            self.timeline.tail().map(|_| Cursor {
                pass: 0,
                run: self.n_runs(),
                start: end,
            })
        }
    }

    fn previous(&self, cursor: Cursor) -> Option<Cursor> {
        let runs = self.timeline.runs();
        let (pass, run) = if cursor.run > 0 {
            (cursor.pass, cursor.run.min(runs.len()) - 1)
        } else if self.timeline.repeats() && cursor.pass > 0 {
            (cursor.pass - 1, runs.len() - 1)
        } else {
            return None;
        };
        Some(Cursor {
            pass,
            run,
            start: cursor.start - runs[run].duration(),
        })
    }

    fn source(&self, cursor: Cursor) -> Source {
        let Some(run) = self.timeline.runs().get(cursor.run) else {
            return Source::Fill { filler: false };
        };
        match self.plan.item_index_of_run(cursor.run) {
            Some(index) if index < self.plan.items.len() => Source::Item {
                index,
                pass: cursor.pass,
            },
            _ => Source::Fill {
                filler: run.kind == RunKind::Filler,
            },
        }
    }

    /// The spans from the one airing at `from` on, up to the first that starts at or after
    /// `until` (at least two when there are two).
    pub(super) fn spans(&self, from: Timestamp, until: Timestamp) -> Vec<Span> {
        let Some(first) = self.at(from) else {
            return Vec::new();
        };
        let mut spans: Vec<Span> = Vec::new();
        let mut cursor = Some(first);
        let mut steps = 0;
        while let Some(at) = cursor {
            let source = self.source(at);
            // The passes of a slate looped through a break are equal runs of one source: one
            // step for all of them.
            let last = self.last_alike(at, source);
            let end = self.end(last);
            let n_spans = spans.len();
            match spans.last_mut() {
                Some(last) if last.source.same_as(source) && last.end == Some(at.start) => {
                    last.end = end;
                    if let (Source::Fill { filler }, Source::Fill { filler: more }) =
                        (last.source, source)
                    {
                        last.source = Source::Fill {
                            filler: filler || more,
                        };
                    }
                }
                _ if n_spans >= 2 && at.start >= until => break,
                _ => spans.push(Span {
                    start: at.start,
                    end,
                    source,
                }),
            }
            steps += 1;
            if steps >= MAX_STEPS || at.start - until > LOOKBACK {
                // Still the same stretch after all those runs: say it has no end in sight.
                if let Some(last) = spans.last_mut() {
                    last.end = None;
                }
                break;
            }
            cursor = self.next(last);
        }
        if let Some(span) = spans.first_mut() {
            span.start = self.start_of(first, span.source);
        }
        spans
    }

    /// The last run of `cursor`'s stretch of equal runs when every run from `cursor` to it is
    /// of `source`, else `cursor`. Items' runs are contiguous, so the first and last of the
    /// stretch being of one item, or both gap fill with no item starting in between, means
    /// every run between them is too.
    fn last_alike(&self, cursor: Cursor, source: Source) -> Cursor {
        let Some(last) = self.timeline.stretch_of(cursor.run).end.checked_sub(1) else {
            return cursor;
        };
        if last <= cursor.run {
            return cursor;
        }
        let starts_before = |run: usize| {
            self.plan
                .items
                .partition_point(|item| item.runs.start <= run)
        };
        let Some(run) = self.timeline.runs().get(cursor.run) else {
            return cursor;
        };
        let candidate = Cursor {
            run: last,
            start: cursor.start + Ticks(run.duration().0 * (last - cursor.run) as i64),
            ..cursor
        };
        if starts_before(cursor.run) == starts_before(last)
            && self.source(candidate).same_as(source)
        {
            candidate
        } else {
            cursor
        }
    }

    /// Where the span that `cursor` is part of started.
    fn start_of(&self, cursor: Cursor, source: Source) -> Timestamp {
        if let Source::Item { index, pass } = source {
            let shift = if self.timeline.repeats() {
                Ticks(self.timeline.period().0 * pass)
            } else {
                Ticks::ZERO
            };
            return self.plan.items[index].start + shift;
        }
        let mut start = cursor;
        for _ in 0..MAX_STEPS {
            match self.previous(start) {
                Some(before)
                    if self.source(before).same_as(source)
                        && cursor.start - before.start <= LOOKBACK =>
                {
                    start = before
                }
                _ => break,
            }
        }
        start.start
    }

    pub(super) fn slot(&self, span: &Span) -> Slot {
        let (title, kind) = match span.source {
            Source::Item { index, .. } => {
                let item = &self.plan.items[index];
                let title = if item.info.title.trim().is_empty() {
                    "Untitled".to_owned()
                } else {
                    item.info.title.clone()
                };
                let kind = match &item.live {
                    Some(live) => SlotKind::Live {
                        source: live.source_key.clone(),
                    },
                    None => SlotKind::Programme,
                };
                (title, kind)
            }
            Source::Fill { filler: true } => ("Filler".to_owned(), SlotKind::Filler),
            Source::Fill { filler: false } => ("Slate".to_owned(), SlotKind::Slate),
        };
        Slot {
            title,
            kind,
            start: span.start,
            end: span.end,
        }
    }
}
