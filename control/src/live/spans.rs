//! What airs live on a channel near now, before its slots are decided: its live items'
//! occurrences and its takes to air, as spans of planned segments, and the grid the ingest cuts
//! each source on.

use onair_domain::{Ticks, Timeline, Timestamp};
use onair_scheduler::Plan;
use onair_store::LiveTakeRow;

/// What airs live on a channel, before its slots are decided: a live item's occurrence, or a
/// take to air, as planned segments `[first, first + n_segments)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Span {
    pub start: Timestamp,
    pub first: u64,
    /// `OPEN` for a take still on air.
    pub n_segments: u64,
    /// The live source; `None` for a take to the slate (every slot airs it).
    pub source: Option<String>,
    pub take: bool,
}

/// The segments of a take still on air: more than any channel airs.
pub(super) const OPEN: u64 = u64::MAX / 4;

/// The starts of an item's occurrences (first-pass start `first`, lasting `length`) that
/// overlap `[from, to)`: every period of a repeating timeline, else the one.
pub(super) fn occurrence_starts(
    timeline: &onair_domain::Timeline,
    first: Timestamp,
    length: Ticks,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Timestamp> {
    if !timeline.repeats() {
        return if first < to && first + length > from {
            vec![first]
        } else {
            Vec::new()
        };
    }
    let period = timeline.period();
    if period <= Ticks::ZERO {
        return Vec::new();
    }
    // The first k with first + k·period + length > from.
    let k0 = (from - length - first).0.div_euclid(period.0) + 1;
    let mut starts = Vec::new();
    let mut k = k0.max(0);
    loop {
        let start = first + Ticks(k * period.0);
        if start >= to {
            break;
        }
        if start + length > from {
            starts.push(start);
        }
        k += 1;
    }
    starts
}

/// What airs live on a channel near now (`[from, to)`): its live items' occurrences whose
/// source can air on it (`source_fits`), and its takes to air, by first segment. A take
/// overrides the live items: an occurrence that starts inside a take is left out, one that
/// runs into a take ends where it starts.
pub(super) fn spans(
    plan: &Plan,
    timeline: &Timeline,
    takes: &[LiveTakeRow],
    source_fits: impl Fn(&str) -> bool,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Span> {
    let mut taken: Vec<Span> = Vec::new();
    for take in takes {
        if take.start >= to || take.end.is_some_and(|end| end <= from) {
            continue;
        }
        let Some(first) = timeline
            .segment_at(take.start)
            .filter(|at| at.start == take.start)
        else {
            tracing::warn!(start = %take.start, source = take.source.as_deref().unwrap_or("slate"), "a take to air does not start on a segment boundary of the plan: not aired");
            continue;
        };
        let n_segments = match take.end {
            None => OPEN,
            Some(end) => match timeline.segment_at(end) {
                Some(at) if at.start == end => at.media_sequence - first.media_sequence,
                Some(at) => at.media_sequence + 1 - first.media_sequence,
                None => continue,
            },
        };
        if n_segments == 0 {
            continue;
        }
        taken.push(Span {
            start: take.start,
            first: first.media_sequence,
            n_segments,
            source: take.source.clone(),
            take: true,
        });
    }
    let mut spans = Vec::new();
    for item in &plan.items {
        let Some(live) = item
            .live
            .as_ref()
            .filter(|live| source_fits(&live.source_key))
        else {
            continue;
        };
        let length = item.end - item.start;
        for start in occurrence_starts(timeline, item.start, length, from, to) {
            let Some(first) = timeline.segment_at(start).filter(|at| at.start == start) else {
                continue;
            };
            let mut n_segments: u64 = timeline
                .runs()
                .slice(item.runs.clone())
                .iter()
                .map(|run| u64::from(run.n_segments))
                .sum();
            let first = first.media_sequence;
            if taken.iter().any(|take| {
                take.first <= first && first < take.first.saturating_add(take.n_segments)
            }) {
                continue;
            }
            if let Some(take) = taken
                .iter()
                .filter(|take| take.first > first && take.first < first + n_segments)
                .min_by_key(|take| take.first)
            {
                n_segments = take.first - first;
            }
            spans.push(Span {
                start,
                first,
                n_segments,
                source: Some(live.source_key.clone()),
                take: false,
            });
        }
    }
    spans.extend(taken);
    spans.sort_by_key(|span| span.first);
    spans
}

/// Where the ingest's grid of `segment` is anchored for `span`: a live item's start; for a
/// take, the slot about to be cut, brought back to the first point of its grid at or after
/// the take's start (so the anchor stays put while the planned segments keep to one grid, and
/// moves after one that does not, such as the end of an asset).
pub(super) fn grid_anchor(
    timeline: &Timeline,
    span: &Span,
    read_at: Timestamp,
    segment: Ticks,
) -> Timestamp {
    if !span.take || segment <= Ticks::ZERO {
        return span.start;
    }
    let soon = read_at + Ticks::from_secs(1);
    if soon <= span.start {
        return span.start;
    }
    match timeline.segment_at(soon) {
        Some(at) => span.start + Ticks((at.start - span.start).0.rem_euclid(segment.0)),
        None => span.start,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use onair_domain::{AssetId, ChannelId, Run, RunKind, SegmentTrack};

    use super::*;

    fn secs(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_000 + secs)
    }

    /// A timeline of one 100 s run from `secs(0)`.
    fn timeline(repeat: bool) -> Timeline {
        let track = Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); 50]));
        let run = Run::whole(RunKind::Programme, AssetId(1), "p", track);
        Timeline::new(secs(0), vec![run], repeat, 0, 0).unwrap()
    }

    #[test]
    fn an_item_of_a_repeating_timeline_occurs_every_period_that_overlaps_the_window() {
        let starts = occurrence_starts(
            &timeline(true),
            secs(20),
            Ticks::from_secs(30),
            secs(160),
            secs(330),
        );
        // Occurrences at 20, 120, 220, 320, …: 120 ends at 150, before the window.
        assert_eq!(starts, vec![secs(220), secs(320)]);
    }

    #[test]
    fn an_item_of_a_timeline_that_does_not_repeat_occurs_once() {
        let timeline = timeline(false);
        let once = occurrence_starts(&timeline, secs(20), Ticks::from_secs(30), secs(0), secs(30));
        assert_eq!(once, vec![secs(20)]);
        let gone = occurrence_starts(
            &timeline,
            secs(20),
            Ticks::from_secs(30),
            secs(50),
            secs(90),
        );
        assert!(gone.is_empty());
    }

    /// Programme (0-20 s), a live item planned as its fallback (20-40 s), programme (40-60 s):
    /// 2 s segments, numbered 0-29.
    fn with_live_item() -> (Plan, Timeline) {
        let track = |n| Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); n]));
        let runs = vec![
            Run::whole(RunKind::Programme, AssetId(1), "before", track(10)),
            Run::whole(RunKind::Slate, AssetId(2), "fallback", track(10)),
            Run::whole(RunKind::Programme, AssetId(1), "after", track(10)),
        ];
        let timeline = Timeline::new(secs(0), runs, false, 0, 0).unwrap();
        let item = onair_scheduler::plan::PlannedItem {
            index: 0,
            id: None,
            asset_id: AssetId(2),
            info: Default::default(),
            live: Some(onair_scheduler::grid::LiveSource {
                source_key: "studio".into(),
                duration: Ticks::from_secs(20),
            }),
            blocks: None,
            start: secs(20),
            end: secs(40),
            runs: 1..2,
        };
        let plan = Plan {
            items: vec![item],
            ..Plan::default()
        };
        (plan, timeline)
    }

    fn take(start: i64, end: Option<i64>) -> LiveTakeRow {
        LiveTakeRow {
            id: 1,
            channel_id: ChannelId(1),
            source: Some("desk".into()),
            start: secs(start),
            end: end.map(secs),
            taken_by: "desk".into(),
            taken_at: secs(start - 2),
            take_version: 2,
            returned_by: None,
            returned_at: None,
            return_version: None,
        }
    }

    fn brief(spans: &[Span]) -> Vec<(u64, u64, &str, bool)> {
        spans
            .iter()
            .map(|span| {
                let source = span.source.as_deref().unwrap_or("(slate)");
                (span.first, span.n_segments, source, span.take)
            })
            .collect()
    }

    #[test]
    fn a_take_cuts_short_the_live_item_it_lands_in_and_overrides_the_rest() {
        let (plan, timeline) = with_live_item();
        let all = |_: &str| true;
        let (from, to) = (secs(0), secs(60));
        let alone = spans(&plan, &timeline, &[], all, from, to);
        assert_eq!(brief(&alone), vec![(10, 10, "studio", false)]);

        let inside = spans(&plan, &timeline, &[take(30, Some(50))], all, from, to);
        assert_eq!(
            brief(&inside),
            vec![(10, 5, "studio", false), (15, 10, "desk", true)]
        );

        let over = spans(&plan, &timeline, &[take(10, None)], all, from, to);
        assert_eq!(brief(&over), vec![(5, OPEN, "desk", true)]);

        // Returned before it aired: nothing airs of it.
        let empty = spans(&plan, &timeline, &[take(30, Some(30))], all, from, to);
        assert_eq!(brief(&empty), vec![(10, 10, "studio", false)]);

        // A take to the slate overrides the live item like any take.
        let slate = LiveTakeRow {
            source: None,
            ..take(30, Some(50))
        };
        let slated = spans(&plan, &timeline, &[slate], all, from, to);
        assert_eq!(
            brief(&slated),
            vec![(10, 5, "studio", false), (15, 10, "(slate)", true)]
        );

        // A source that cannot air on the channel leaves the item to its fallback.
        let unfit = spans(&plan, &timeline, &[], |_| false, from, to);
        assert!(unfit.is_empty());
    }

    #[test]
    fn a_takes_grid_stays_put_over_whole_segments_and_follows_one_that_is_not() {
        let durations = [2_000, 2_000, 1_500, 2_000, 2_000, 2_000];
        let track = Arc::new(SegmentTrack::new(
            durations.iter().map(|ms| Ticks::from_millis(*ms)).collect(),
        ));
        let run = Run::whole(RunKind::Programme, AssetId(1), "p", track);
        let timeline = Timeline::new(secs(0), vec![run], false, 0, 0).unwrap();
        let span = Span {
            start: secs(0),
            first: 0,
            n_segments: OPEN,
            source: Some("desk".into()),
            take: true,
        };
        let segment = Ticks::from_secs(2);
        let anchor_at =
            |ms: i64| grid_anchor(&timeline, &span, secs(0) + Ticks::from_millis(ms), segment);
        // Before the take and over its whole segments: its start.
        assert_eq!(anchor_at(-5_000), secs(0));
        assert_eq!(anchor_at(2_500), secs(0));
        // After the 1.5 s segment (which ends at 5.5 s), the grid of 5.5 s, brought back.
        assert_eq!(anchor_at(5_000), secs(0) + Ticks::from_millis(1_500));
        assert_eq!(anchor_at(8_000), secs(0) + Ticks::from_millis(1_500));
        // A grid item's grid is its start, always.
        let item = Span {
            take: false,
            ..span
        };
        assert_eq!(grid_anchor(&timeline, &item, secs(8), segment), secs(0));
    }
}
