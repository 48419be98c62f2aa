//! The planner: schedule items plus their assets to a [`Timeline`] and its problems.
//!
//! Soft items follow the previous item. A hard item starts at its wall-clock time: when the
//! previous item runs long it is cut at a segment boundary, and when there is a gap it is
//! padded with slate. When the channel's grid repeats, the grid is padded or cut to its period.

use std::collections::HashMap;
use std::sync::Arc;

use onair_domain::timeline::SegmentTrack;
use onair_domain::{
    AdBreak, Asset, AssetId, AssetState, BreakSlot, Run, RunKind, ScheduleItem, ScheduleItemId,
    Ticks, Timeline, Timestamp,
};

/// What the planner needs.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The channel's items, in any order.
    pub items: &'a [ScheduleItem],
    /// The assets the items and the slate refer to.
    pub assets: &'a HashMap<AssetId, Asset>,
    /// The items' ad breaks, in any order. A break at offset zero airs before its item, one at or
    /// past the item's end after it, any other at the segment boundary nearest its offset.
    pub ad_breaks: &'a [AdBreak],
    /// Plays wherever nothing else is planned.
    pub slate: Option<AssetId>,
    /// When set, the grid from the first item's start repeats with this period.
    pub grid_repeat: Option<Ticks>,
}

/// A problem found while planning. The timeline still airs (with slate where needed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanIssue {
    #[error("nothing is scheduled")]
    NothingScheduled,
    #[error("item {title:?} at {at} refers to asset {asset_id}, which does not exist")]
    MissingAsset {
        title: String,
        at: Timestamp,
        asset_id: AssetId,
    },
    #[error("item {title:?} at {at} refers to asset {asset_id}, which is not ready")]
    AssetNotReady {
        title: String,
        at: Timestamp,
        asset_id: AssetId,
    },
    #[error("gap of {duration} at {at} filled with slate")]
    GapFilled { at: Timestamp, duration: Ticks },
    #[error("gap of {duration} at {at} and no slate to fill it")]
    GapUnfilled { at: Timestamp, duration: Ticks },
    #[error("hard start of {title:?} at {at} cuts {cut} from the item before it")]
    PreviousItemCut {
        title: String,
        at: Timestamp,
        cut: Ticks,
    },
    #[error(
        "hard start of {title:?} is {drift} off its planned time {at}, the nearest segment boundary"
    )]
    HardStartDrift {
        title: String,
        at: Timestamp,
        drift: Ticks,
    },
    #[error("the grid runs {over} past its repeat period and was cut")]
    GridCutToPeriod { over: Ticks },
    #[error(
        "ad break of {title:?} at offset {offset} moved {drift} to the nearest segment boundary"
    )]
    BreakMovedToBoundary {
        title: String,
        offset: Ticks,
        drift: Ticks,
    },
    #[error(
        "ad break of {title:?} at offset {offset} lasts {aired} instead of {planned}, in whole slate segments"
    )]
    BreakDurationRounded {
        title: String,
        offset: Ticks,
        planned: Ticks,
        aired: Ticks,
    },
    #[error("ad break of {title:?} at offset {offset} has no slate to fill it and was dropped")]
    BreakUnfilled { title: String, offset: Ticks },
}

/// Plans the timeline. `None` only when nothing at all can air.
pub fn plan(input: PlanInput<'_>) -> (Option<Timeline>, Vec<PlanIssue>) {
    let mut issues = Vec::new();
    let mut items: Vec<&ScheduleItem> = input.items.iter().collect();
    items.sort_by_key(|item| item.start);
    let tracks: HashMap<AssetId, Arc<SegmentTrack>> = input
        .assets
        .values()
        .filter(|asset| asset.state == AssetState::Ready)
        .map(|asset| {
            (
                asset.id,
                Arc::new(SegmentTrack::new(asset.segment_durations())),
            )
        })
        .collect();
    let slate = input
        .slate
        .and_then(|id| Some((id, tracks.get(&id)?.clone())));

    let Some(first) = items.first() else {
        issues.push(PlanIssue::NothingScheduled);
        return (None, issues);
    };
    let origin = first.start;
    let mut breaks_of: HashMap<ScheduleItemId, Vec<&AdBreak>> = HashMap::new();
    for ad_break in input.ad_breaks {
        breaks_of
            .entry(ad_break.schedule_item_id)
            .or_default()
            .push(ad_break);
    }
    let mut planner = Planner {
        runs: Vec::new(),
        cursor: origin,
        slate,
        issues,
        n_breaks: 0,
    };

    for item in items {
        let Some(asset) = input.assets.get(&item.asset_id) else {
            planner.issues.push(PlanIssue::MissingAsset {
                title: item.title.clone(),
                at: item.start,
                asset_id: item.asset_id,
            });
            continue;
        };
        let Some(track) = tracks.get(&asset.id).filter(|track| !track.is_empty()) else {
            planner.issues.push(PlanIssue::AssetNotReady {
                title: item.title.clone(),
                at: item.start,
                asset_id: item.asset_id,
            });
            continue;
        };
        if item.hard_start {
            planner.land_hard_start(item);
        }
        let mut breaks = breaks_of.remove(&item.id).unwrap_or_default();
        breaks.sort_by_key(|ad_break| (ad_break.offset, ad_break.id));
        let programme = Run::whole(
            RunKind::Programme,
            asset.id,
            item.title.clone(),
            track.clone(),
        );
        planner.push_programme_with_breaks(item, programme, &breaks);
    }

    if let Some(period) = input.grid_repeat {
        let grid_end = origin + period;
        if planner.cursor < grid_end {
            planner.fill_gap(grid_end);
        } else if planner.cursor > grid_end {
            let over = planner.cursor - grid_end;
            planner.cut_back_to(grid_end);
            planner.issues.push(PlanIssue::GridCutToPeriod { over });
        }
    }

    let Planner { runs, issues, .. } = planner;
    let timeline = Timeline::new(origin, runs, input.grid_repeat.is_some(), 0, 0).ok();
    (timeline, issues)
}

struct Planner {
    runs: Vec<Run>,
    cursor: Timestamp,
    slate: Option<(AssetId, Arc<SegmentTrack>)>,
    issues: Vec<PlanIssue>,
    /// Breaks planned so far: numbers the next one.
    n_breaks: u32,
}

impl Planner {
    fn push(&mut self, run: Run) {
        self.cursor = self.cursor + run.duration();
        self.runs.push(run);
    }

    /// The programme, split at each break's segment boundary with the break between the parts.
    fn push_programme_with_breaks(
        &mut self,
        item: &ScheduleItem,
        programme: Run,
        breaks: &[&AdBreak],
    ) {
        let track = programme.track.clone();
        let mut next_segment = programme.first_segment;
        let end_segment = programme.first_segment + programme.n_segments;
        for ad_break in breaks {
            let boundary = nearest_boundary(
                &track,
                programme.first_segment,
                end_segment,
                ad_break.offset,
            );
            let drift = Ticks(
                (track.start(boundary) - track.start(programme.first_segment) - ad_break.offset)
                    .0
                    .abs(),
            );
            if drift > Ticks::ZERO && ad_break.offset < programme.duration() {
                self.issues.push(PlanIssue::BreakMovedToBoundary {
                    title: item.title.clone(),
                    offset: ad_break.offset,
                    drift,
                });
            }
            if boundary > next_segment {
                self.push(Run {
                    first_segment: next_segment,
                    n_segments: boundary - next_segment,
                    ..programme.clone()
                });
                next_segment = boundary;
            }
            self.push_break(item, ad_break);
        }
        if end_segment > next_segment {
            self.push(Run {
                first_segment: next_segment,
                n_segments: end_segment - next_segment,
                ..programme
            });
        }
    }

    /// Fills one break slot with slate, in whole segments, as break runs sharing one slot.
    fn push_break(&mut self, item: &ScheduleItem, ad_break: &AdBreak) {
        let runs = self.slate_runs(ad_break.duration, RunKind::AdBreak);
        if runs.is_empty() {
            self.issues.push(PlanIssue::BreakUnfilled {
                title: item.title.clone(),
                offset: ad_break.offset,
            });
            return;
        }
        let aired: Ticks = runs.iter().map(Run::duration).sum();
        if aired != ad_break.duration {
            self.issues.push(PlanIssue::BreakDurationRounded {
                title: item.title.clone(),
                offset: ad_break.offset,
                planned: ad_break.duration,
                aired,
            });
        }
        let slot = BreakSlot {
            number: self.n_breaks,
            duration: aired,
        };
        self.n_breaks += 1;
        for run in runs {
            self.push(Run {
                ad_break: Some(slot),
                ..run
            });
        }
    }

    /// Whole slate runs, then part of one, lasting as near to `duration` as segments allow.
    fn slate_runs(&self, duration: Ticks, kind: RunKind) -> Vec<Run> {
        let Some((slate_id, track)) = self.slate.clone() else {
            return Vec::new();
        };
        let title = if kind == RunKind::AdBreak {
            "ad break"
        } else {
            "slate"
        };
        let mut runs = Vec::new();
        let mut filled = Ticks::ZERO;
        while filled < duration {
            let remaining = duration - filled;
            let whole = Run::whole(kind, slate_id, title, track.clone());
            if whole.duration() <= remaining {
                filled += whole.duration();
                runs.push(whole);
                continue;
            }
            let n_segments = nearest_boundary(&track, 0, track.len(), remaining);
            if n_segments > 0 {
                runs.push(Run {
                    n_segments,
                    ..whole
                });
            }
            break;
        }
        runs
    }

    /// Brings the cursor to the item's start: pads a gap with slate, or cuts what runs over.
    fn land_hard_start(&mut self, item: &ScheduleItem) {
        if item.start > self.cursor {
            self.fill_gap(item.start);
        } else if item.start < self.cursor {
            let before = self.cursor;
            self.cut_back_to(item.start);
            self.issues.push(PlanIssue::PreviousItemCut {
                title: item.title.clone(),
                at: item.start,
                cut: before - self.cursor,
            });
        }
        if self.cursor != item.start {
            let drift = Ticks((self.cursor - item.start).0.abs());
            self.issues.push(PlanIssue::HardStartDrift {
                title: item.title.clone(),
                at: item.start,
                drift,
            });
        }
    }

    /// Pads with slate up to `until`, ending on the segment boundary nearest to it.
    fn fill_gap(&mut self, until: Timestamp) {
        let gap_start = self.cursor;
        let gap = until - gap_start;
        if self.slate.is_none() {
            self.issues.push(PlanIssue::GapUnfilled {
                at: gap_start,
                duration: gap,
            });
            return;
        }
        for run in self.slate_runs(gap, RunKind::Slate) {
            self.push(run);
        }
        self.issues.push(PlanIssue::GapFilled {
            at: gap_start,
            duration: gap,
        });
    }

    /// Cuts runs at the segment boundary nearest to `at` (never earlier than a whole run).
    fn cut_back_to(&mut self, at: Timestamp) {
        while let Some(last) = self.runs.last_mut() {
            let run_start = self.cursor - last.duration();
            if run_start >= at {
                self.cursor = run_start;
                self.runs.pop();
                continue;
            }
            let keep = at - run_start;
            let base = last.track.start(last.first_segment);
            let mut n_segments = 1;
            while n_segments < last.n_segments
                && last.track.start(last.first_segment + n_segments + 1) - base <= keep
            {
                n_segments += 1;
            }
            last.n_segments = n_segments;
            self.cursor = run_start + last.duration();
            break;
        }
    }
}

/// The segment boundary (an index in `first..=end`) nearest to `offset` from segment `first`;
/// ties go to the later boundary.
fn nearest_boundary(track: &SegmentTrack, first: u32, end: u32, offset: Ticks) -> u32 {
    let base = track.start(first);
    let mut best = first;
    for boundary in first..=end {
        let distance = (track.start(boundary) - base - offset).0.abs();
        let best_distance = (track.start(best) - base - offset).0.abs();
        if distance <= best_distance {
            best = boundary;
        }
        if track.start(boundary) - base > offset {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_domain::{ChannelId, LadderId, Packaging, Rendition, ScheduleItemId, SegmentInfo};

    fn asset(id: i64, segments_secs: &[i64]) -> Asset {
        let segments = segments_secs
            .iter()
            .enumerate()
            .map(|(index, secs)| SegmentInfo {
                index: index as u32,
                duration: Ticks::from_secs(*secs),
                size_bytes: 1,
                path: format!("a{id}/{index}.ts"),
            })
            .collect();
        Asset {
            id: AssetId(id),
            title: format!("asset {id}"),
            source: String::new(),
            ladder_id: LadderId(1),
            state: AssetState::Ready,
            duration: Ticks::from_secs(segments_secs.iter().sum()),
            renditions: vec![Rendition {
                rung: "360p".into(),
                packaging: Packaging::Ts,
                codecs: String::new(),
                width: 640,
                height: 360,
                peak_bandwidth: 1,
                average_bandwidth: 1,
                init_path: None,
                segments,
            }],
        }
    }

    fn item(asset_id: i64, start_secs: i64, hard_start: bool) -> ScheduleItem {
        ScheduleItem {
            id: ScheduleItemId(start_secs),
            channel_id: ChannelId(1),
            asset_id: AssetId(asset_id),
            start: Timestamp::from_unix_secs(start_secs),
            hard_start,
            title: format!("item at {start_secs}"),
        }
    }

    fn assets(list: Vec<Asset>) -> HashMap<AssetId, Asset> {
        list.into_iter().map(|asset| (asset.id, asset)).collect()
    }

    fn kinds_and_lengths(timeline: &Timeline) -> Vec<(RunKind, i64)> {
        timeline
            .runs()
            .iter()
            .map(|run| (run.kind, run.duration().0 / 90_000))
            .collect()
    }

    #[test]
    fn soft_items_follow_each_other_with_no_gap() {
        let assets = assets(vec![asset(1, &[2, 2]), asset(2, &[2])]);
        let items = [item(1, 0, true), item(2, 999, false)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &[],
            slate: None,
            grid_repeat: None,
        });
        assert_eq!(issues, vec![]);
        let timeline = timeline.unwrap();
        assert_eq!(
            kinds_and_lengths(&timeline),
            vec![(RunKind::Programme, 4), (RunKind::Programme, 2)]
        );
    }

    #[test]
    fn a_hard_start_after_a_gap_is_padded_with_slate() {
        let assets = assets(vec![asset(1, &[2, 2]), asset(9, &[2, 2, 2])]);
        let items = [item(1, 0, true), item(1, 14, true)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &[],
            slate: Some(AssetId(9)),
            grid_repeat: None,
        });
        let timeline = timeline.unwrap();
        assert_eq!(
            kinds_and_lengths(&timeline),
            vec![
                (RunKind::Programme, 4),
                (RunKind::Slate, 6),
                (RunKind::Slate, 4),
                (RunKind::Programme, 4)
            ]
        );
        assert_eq!(
            issues,
            vec![PlanIssue::GapFilled {
                at: Timestamp::from_unix_secs(4),
                duration: Ticks::from_secs(10)
            }]
        );
    }

    #[test]
    fn a_hard_start_cuts_the_item_before_it_at_a_segment_boundary() {
        let assets = assets(vec![asset(1, &[2, 2, 2, 2]), asset(2, &[2])]);
        let items = [item(1, 0, true), item(2, 4, true)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &[],
            slate: None,
            grid_repeat: None,
        });
        assert_eq!(
            kinds_and_lengths(&timeline.unwrap()),
            vec![(RunKind::Programme, 4), (RunKind::Programme, 2)]
        );
        assert_eq!(
            issues,
            vec![PlanIssue::PreviousItemCut {
                title: "item at 4".into(),
                at: Timestamp::from_unix_secs(4),
                cut: Ticks::from_secs(4)
            }]
        );
    }

    #[test]
    fn a_missing_asset_is_reported_and_skipped() {
        let assets = assets(vec![asset(1, &[2])]);
        let items = [item(1, 0, true), item(5, 2, false)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &[],
            slate: None,
            grid_repeat: None,
        });
        assert_eq!(timeline.unwrap().runs().len(), 1);
        assert!(matches!(
            issues[..],
            [PlanIssue::MissingAsset {
                asset_id: AssetId(5),
                ..
            }]
        ));
    }

    #[test]
    fn a_repeating_grid_is_padded_to_its_period() {
        let assets = assets(vec![asset(1, &[2, 2]), asset(9, &[2])]);
        let items = [item(1, 0, true)];
        let (timeline, _) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &[],
            slate: Some(AssetId(9)),
            grid_repeat: Some(Ticks::from_secs(8)),
        });
        let timeline = timeline.unwrap();
        assert!(timeline.repeats());
        assert_eq!(timeline.period(), Ticks::from_secs(8));
    }

    #[test]
    fn nothing_scheduled_is_a_problem_not_a_panic() {
        let (timeline, issues) = plan(PlanInput {
            items: &[],
            assets: &HashMap::new(),
            ad_breaks: &[],
            slate: None,
            grid_repeat: None,
        });
        assert!(timeline.is_none());
        assert_eq!(issues, vec![PlanIssue::NothingScheduled]);
    }
    fn ad_break(item_start_secs: i64, offset_secs: i64, duration_secs: i64) -> AdBreak {
        AdBreak {
            id: item_start_secs * 1000 + offset_secs,
            schedule_item_id: ScheduleItemId(item_start_secs),
            offset: Ticks::from_secs(offset_secs),
            duration: Ticks::from_secs(duration_secs),
        }
    }

    fn breaks_of(timeline: &Timeline) -> Vec<Option<(u32, i64)>> {
        timeline
            .runs()
            .iter()
            .map(|run| {
                run.ad_break
                    .map(|slot| (slot.number, slot.duration.0 / 90_000))
            })
            .collect()
    }

    #[test]
    fn a_mid_programme_break_splits_the_programme_at_the_nearest_boundary() {
        let assets = assets(vec![asset(1, &[2, 2, 2, 2]), asset(9, &[2, 2])]);
        let items = [item(1, 0, true)];
        let breaks = [ad_break(0, 3, 6)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &breaks,
            slate: Some(AssetId(9)),
            grid_repeat: None,
        });
        let timeline = timeline.unwrap();
        assert_eq!(
            kinds_and_lengths(&timeline),
            vec![
                (RunKind::Programme, 4),
                (RunKind::AdBreak, 4),
                (RunKind::AdBreak, 2),
                (RunKind::Programme, 4)
            ]
        );
        assert_eq!(
            breaks_of(&timeline),
            vec![None, Some((0, 6)), Some((0, 6)), None]
        );
        assert_eq!(
            timeline.runs()[3].first_segment,
            2,
            "the programme resumes where it left"
        );
        assert_eq!(
            issues,
            vec![PlanIssue::BreakMovedToBoundary {
                title: "item at 0".into(),
                offset: Ticks::from_secs(3),
                drift: Ticks::from_secs(1)
            }]
        );
    }

    #[test]
    fn breaks_before_and_after_an_item_are_numbered_in_order() {
        let assets = assets(vec![asset(1, &[2, 2]), asset(9, &[2])]);
        let items = [item(1, 0, true)];
        let breaks = [ad_break(0, 4, 2), ad_break(0, 0, 2)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &breaks,
            slate: Some(AssetId(9)),
            grid_repeat: None,
        });
        let timeline = timeline.unwrap();
        assert_eq!(issues, vec![]);
        assert_eq!(breaks_of(&timeline), vec![Some((0, 2)), None, Some((1, 2))]);
    }

    #[test]
    fn a_break_that_is_not_whole_segments_is_rounded_and_reported() {
        let assets = assets(vec![asset(1, &[2]), asset(9, &[2, 2])]);
        let items = [item(1, 0, true)];
        let breaks = [ad_break(0, 2, 5)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &breaks,
            slate: Some(AssetId(9)),
            grid_repeat: None,
        });
        assert_eq!(
            breaks_of(&timeline.unwrap()),
            vec![None, Some((0, 6)), Some((0, 6))]
        );
        assert!(
            matches!(issues[..], [PlanIssue::BreakDurationRounded { .. }]),
            "{issues:?}"
        );
    }

    #[test]
    fn a_break_without_slate_is_dropped_and_reported() {
        let assets = assets(vec![asset(1, &[2, 2])]);
        let items = [item(1, 0, true)];
        let breaks = [ad_break(0, 2, 30)];
        let (timeline, issues) = plan(PlanInput {
            items: &items,
            assets: &assets,
            ad_breaks: &breaks,
            slate: None,
            grid_repeat: None,
        });
        assert_eq!(timeline.unwrap().period(), Ticks::from_secs(4));
        assert!(
            matches!(issues[..], [PlanIssue::BreakUnfilled { .. }]),
            "{issues:?}"
        );
    }
}
