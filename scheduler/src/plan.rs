//! The planner: schedule items plus their assets to a [`Timeline`] and its problems.
//!
//! Soft items follow the previous item. A hard item starts at its wall-clock time: when the
//! previous item runs long it is cut at a segment boundary, and when there is a gap it is
//! padded with slate. When the channel's grid repeats, the grid is padded or cut to its period.

use std::collections::HashMap;
use std::sync::Arc;

use onair_domain::timeline::SegmentTrack;
use onair_domain::{
    Asset, AssetId, AssetState, Run, RunKind, ScheduleItem, Ticks, Timeline, Timestamp,
};

/// What the planner needs.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The channel's items, in any order.
    pub items: &'a [ScheduleItem],
    /// The assets the items and the slate refer to.
    pub assets: &'a HashMap<AssetId, Asset>,
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
    let mut planner = Planner {
        runs: Vec::new(),
        cursor: origin,
        slate,
        issues,
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
        planner.push(Run::whole(
            RunKind::Programme,
            asset.id,
            item.title.clone(),
            track.clone(),
        ));
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
}

impl Planner {
    fn push(&mut self, run: Run) {
        self.cursor = self.cursor + run.duration();
        self.runs.push(run);
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

    /// Pads with whole slate segments up to `until`, ending on the boundary nearest to it.
    fn fill_gap(&mut self, until: Timestamp) {
        let gap_start = self.cursor;
        let gap = until - gap_start;
        let Some((slate_id, track)) = self.slate.clone() else {
            self.issues.push(PlanIssue::GapUnfilled {
                at: gap_start,
                duration: gap,
            });
            return;
        };
        while self.cursor < until {
            let remaining = until - self.cursor;
            let whole = Run::whole(RunKind::Slate, slate_id, "slate", track.clone());
            if whole.duration() <= remaining {
                self.push(whole);
                continue;
            }
            let fits = (1..=track.len())
                .take_while(|n| track.start(*n) <= remaining)
                .last();
            let nearest = match fits {
                Some(n) if remaining - track.start(n) <= track.start(n + 1) - remaining => Some(n),
                Some(n) => Some(n + 1),
                None if remaining.0 * 2 >= track.duration(0).0 => Some(1),
                None => None,
            };
            if let Some(n_segments) = nearest {
                self.push(Run {
                    n_segments,
                    ..whole
                });
            }
            break;
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
            slate: None,
            grid_repeat: None,
        });
        assert!(timeline.is_none());
        assert_eq!(issues, vec![PlanIssue::NothingScheduled]);
    }
}
