//! One pure call from a channel's grid sources to its plan: templates expanded for the window,
//! one-off entries merged in, blocks flattened, gaps filled, the ad policy applied, then planned.
//! Every stage's problems come back together, in stage order.
//!
//! A one-off entry that starts at the same instant as a template slot replaces that slot (a
//! special in place of the usual programme).
//!
//! A grid whose sources changed over time (a new template from next Monday) is planned in
//! stages by [`build_plan_in_stages`]: each stage with its own sources over its own window, all
//! of them planned together at the end. Stored schedule items become one-off entries through
//! [`stored_entries`], exactly as [`crate::plan::plan_stored`] reads them.

use std::collections::{HashMap, HashSet};

use onair_domain::{AdBreak, Asset, AssetId, ScheduleItem, ScheduleItemId, Timestamp};

use crate::ad_policy::{AdPolicy, AdPolicyNote, apply_ad_policy};
use crate::fill::{FillInput, FillProblem, FillRules, fill_gaps};
use crate::grid::{
    AdBreakSpec, BlockLibrary, GridEntry, GridError, GridItem, ProgrammeInfo, Start, flatten,
};
use crate::plan::{Plan, PlanIssue, PlanOptions, plan_grid};
use crate::template::{TemplateProblem, WeeklyTemplate};

/// Everything a channel's plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct ChannelGrid<'a> {
    /// The window templates are expanded over; trailing fills end at `to`.
    pub from: Timestamp,
    pub to: Timestamp,
    pub templates: &'a [WeeklyTemplate],
    /// One-off entries: chains of a hard entry and the soft entries after it.
    pub entries: &'a [GridEntry],
    pub blocks: &'a BlockLibrary,
    pub fill_rules: &'a FillRules,
    /// Fills every gap before a hard start.
    pub default_fill: Option<&'a str>,
    pub ad_policy: Option<&'a AdPolicy>,
    pub assets: &'a HashMap<AssetId, Asset>,
    /// Earlier airings (asset, start), for no-repeat windows and playlist positions.
    pub history: &'a [(AssetId, Timestamp)],
    pub options: &'a PlanOptions,
}

/// A problem from any stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Grid(#[from] GridError),
    #[error(transparent)]
    Template(#[from] TemplateProblem),
    #[error(transparent)]
    Fill(#[from] FillProblem),
    #[error(transparent)]
    AdPolicy(#[from] AdPolicyNote),
    #[error(transparent)]
    Plan(#[from] PlanIssue),
}

/// Plans a channel from its grid sources (see the module doc): [`build_items`], then the
/// planner.
pub fn build_plan(grid: &ChannelGrid<'_>) -> (Plan, Vec<Problem>) {
    let (items, mut problems) = build_items(grid);
    let (plan, issues) = plan_grid(&items, grid.assets, grid.options);
    problems.extend(issues.into_iter().map(Problem::from));
    (plan, problems)
}

/// Plans a grid whose sources changed over time. `stages` come in time order, each with its
/// own sources over its own window (`from` to `to`, the windows laid end to end) and the
/// one-off entries that start in it. Each stage's items are built as [`build_items`] builds
/// them, its fills and no-repeat windows seeing the airings of the stages before it (at their
/// nominal times, after the stage's own `history`); the items of every stage are then planned
/// together, once, with the last stage's options and assets. One stage plans exactly as
/// [`build_plan`]; no stage plans nothing.
pub fn build_plan_in_stages(stages: &[ChannelGrid<'_>]) -> (Plan, Vec<Problem>) {
    let Some(last) = stages.last() else {
        return (
            Plan::default(),
            vec![Problem::Plan(PlanIssue::NothingScheduled)],
        );
    };
    let mut items: Vec<GridItem> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut aired: Vec<(AssetId, Timestamp)> = Vec::new();
    let mut cursor: Option<Timestamp> = None;
    for stage in stages {
        let history: Vec<(AssetId, Timestamp)> =
            stage.history.iter().chain(&aired).copied().collect();
        let (stage_items, stage_problems) = build_items(&ChannelGrid {
            history: &history,
            ..*stage
        });
        for item in &stage_items {
            if let Start::Hard(at) = item.start {
                cursor = Some(at);
            }
            if let Some(at) = cursor {
                aired.push((item.asset_id, at));
                cursor = Some(at + item.nominal_duration(stage.assets));
            }
        }
        items.extend(stage_items);
        problems.extend(stage_problems);
    }
    let (plan, issues) = plan_grid(&items, last.assets, last.options);
    problems.extend(issues.into_iter().map(Problem::from));
    (plan, problems)
}

/// Stored schedule items and their ad breaks as one-off grid entries, read as
/// [`crate::plan::plan_stored`] reads them: by start (stable), the first one hard whatever it
/// says, each with its own breaks (by offset, then id), its metadata from `info`. Each entry
/// comes with the stored item's start.
pub fn stored_entries(
    items: &[ScheduleItem],
    ad_breaks: &[AdBreak],
    info: impl Fn(&ScheduleItem) -> ProgrammeInfo,
) -> Vec<(Timestamp, GridEntry)> {
    let mut breaks_of: HashMap<ScheduleItemId, Vec<&AdBreak>> = HashMap::new();
    for ad_break in ad_breaks {
        breaks_of
            .entry(ad_break.schedule_item_id)
            .or_default()
            .push(ad_break);
    }
    let mut sorted: Vec<&ScheduleItem> = items.iter().collect();
    sorted.sort_by_key(|item| item.start);
    sorted
        .iter()
        .enumerate()
        .map(|(position, item)| {
            let mut breaks = breaks_of.remove(&item.id).unwrap_or_default();
            breaks.sort_by_key(|ad_break| (ad_break.offset, ad_break.id));
            let start = if position == 0 || item.hard_start {
                Start::Hard(item.start)
            } else {
                Start::Soft
            };
            let entry = GridEntry::Item(GridItem {
                id: Some(item.id),
                breaks: breaks
                    .iter()
                    .map(|ad_break| AdBreakSpec::at(ad_break.offset, ad_break.duration))
                    .collect(),
                out_point: item.length,
                ..GridItem::new(item.asset_id, start, info(item))
            });
            (item.start, entry)
        })
        .collect()
}

/// The stages before the planner (templates, one-off entries, blocks, fills, the ad policy):
/// the items [`plan_grid`] lays out, and every problem found on the way.
pub fn build_items(grid: &ChannelGrid<'_>) -> (Vec<GridItem>, Vec<Problem>) {
    let mut problems: Vec<Problem> = Vec::new();

    let one_off = chains(grid.entries);
    let taken: HashSet<Timestamp> = one_off.iter().filter_map(|(at, _)| *at).collect();
    let mut all = one_off;
    for template in grid.templates {
        let (mut entries, template_problems) = template.expand(grid.from, grid.to);
        problems.extend(template_problems.into_iter().map(Problem::from));
        let fires_at_from = entries.iter().any(|entry| match entry {
            GridEntry::Item(item) => item.start.hard() == Some(grid.from),
            GridEntry::Block { start, .. } | GridEntry::Fill { start, .. } => {
                start.hard() == Some(grid.from)
            }
            GridEntry::Break { .. } => false,
        });
        if !fires_at_from && let Some(joined) = template.fill_in_progress(grid.from) {
            entries.insert(0, joined);
        }
        all.extend(
            chains(&entries)
                .into_iter()
                .filter(|(at, _)| at.is_none_or(|at| !taken.contains(&at))),
        );
    }
    // Unanchored entries first (the planner reports them), then by start; stable.
    all.sort_by_key(|(at, _)| *at);
    let entries: Vec<GridEntry> = all.into_iter().flat_map(|(_, chain)| chain).collect();

    let (flat, grid_errors) = flatten(&entries, grid.blocks);
    problems.extend(grid_errors.into_iter().map(Problem::from));

    let fill_input = FillInput {
        rules: grid.fill_rules,
        default_rule: grid.default_fill,
        assets: grid.assets,
        rights: &grid.options.rights,
        history: grid.history,
        until: Some(grid.to),
        ad_policy: grid.ad_policy,
        min_gap: onair_domain::Ticks::from_secs(60),
    };
    let (mut items, fill_problems) = fill_gaps(&flat, &fill_input);
    problems.extend(fill_problems.into_iter().map(Problem::from));

    if let Some(policy) = grid.ad_policy {
        let (with_breaks, notes) = apply_ad_policy(&items, grid.assets, policy);
        items = with_breaks;
        problems.extend(notes.into_iter().map(Problem::from));
    }
    (items, problems)
}

/// Splits entries into chains: a hard entry (a hard item, block or fill) and the soft ones
/// after it. Entries before the first hard one form a chain with no start.
fn chains(entries: &[GridEntry]) -> Vec<(Option<Timestamp>, Vec<GridEntry>)> {
    let mut chains: Vec<(Option<Timestamp>, Vec<GridEntry>)> = Vec::new();
    for entry in entries {
        let hard = match entry {
            GridEntry::Item(item) => item.start.hard(),
            GridEntry::Block { start, .. } | GridEntry::Fill { start, .. } => start.hard(),
            GridEntry::Break { .. } => None,
        };
        match (hard, chains.last_mut()) {
            (Some(at), _) => chains.push((Some(at), vec![entry.clone()])),
            (None, Some((_, chain))) => chain.push(entry.clone()),
            (None, None) => chains.push((None, vec![entry.clone()])),
        }
    }
    chains
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime};
    use chrono_tz::Tz;
    use onair_domain::Ticks;

    use onair_domain::ChannelId;

    use super::*;
    use crate::fill::{FillRule, FillSource};
    use crate::grid::Block;
    use crate::plan::{PlanInput, plan_stored};
    use crate::rules::{parse_zone, resolve_local};
    use crate::test_support::{asset, assets, at_utc};

    fn night_blocks() -> BlockLibrary {
        BlockLibrary::from([(
            "Night".to_owned(),
            Block {
                entries: vec![GridEntry::Item(GridItem::new(
                    AssetId(1),
                    Start::Soft,
                    ProgrammeInfo::titled("Night"),
                ))],
            },
        )])
    }

    fn local_midnight(zone: Tz, date: &str) -> Timestamp {
        let date: NaiveDate = date.parse().unwrap();
        resolve_local(zone, date.and_time(NaiveTime::MIN)).at
    }

    /// Daily, weekly and cron slots around the 2026 DST changes, planned end to end: each
    /// programme starts at the instant the rules module documents.
    #[test]
    fn slots_on_dst_days_are_planned_at_the_documented_instants() {
        #[rustfmt::skip]
        let table: &[(&str, &str, &str, &str, &[&str])] = &[
            // zone, slot, first local date, date after the last, planned starts (UTC)
            ("America/New_York", "daily 02:30", "2026-03-07", "2026-03-10",
             &["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
            ("America/New_York", "Sun 01:30", "2026-10-31", "2026-11-03", &["2026-11-01T05:30:00Z"]),
            ("America/New_York", "cron 0 30 1 * * *", "2026-10-31", "2026-11-03",
             &["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
            ("Europe/Berlin", "daily 02:30", "2026-03-28", "2026-03-31",
             &["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]),
            ("Europe/Berlin", "weekends 02:30", "2026-10-24", "2026-10-27",
             &["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z"]),
            ("Europe/Berlin", "cron 0 0 2 * * *", "2026-03-28", "2026-03-31",
             &["2026-03-28T01:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"]),
        ];
        let assets = assets(vec![asset(1, 600, 6), asset(9, 6, 6)]);
        let blocks = night_blocks();
        for (zone_name, slot, first, after_last, expected) in table {
            let zone = parse_zone(zone_name).unwrap();
            let template = WeeklyTemplate::new(zone)
                .with_line(&format!("{slot}: block Night"))
                .unwrap();
            let options = PlanOptions {
                slate: Some(AssetId(9)),
                zone,
                ..PlanOptions::default()
            };
            let (plan, problems) = build_plan(&ChannelGrid {
                from: local_midnight(zone, first),
                to: local_midnight(zone, after_last),
                templates: &[template],
                entries: &[],
                blocks: &blocks,
                fill_rules: &FillRules::new(),
                default_fill: None,
                ad_policy: None,
                assets: &assets,
                history: &[],
                options: &options,
            });
            let starts: Vec<Timestamp> = plan.items.iter().map(|item| item.start).collect();
            let expected: Vec<Timestamp> = expected.iter().map(|at| at_utc(at)).collect();
            assert_eq!(starts, expected, "{slot} in {zone_name}");
            assert!(
                problems
                    .iter()
                    .all(|p| matches!(p, Problem::Plan(PlanIssue::GapFilled { .. }))),
                "{slot} in {zone_name}: {problems:?}"
            );
        }
    }

    #[test]
    fn a_one_off_entry_replaces_the_template_slot_at_the_same_instant() {
        let assets = assets(vec![asset(1, 600, 6), asset(2, 600, 6)]);
        let template = WeeklyTemplate::new(Tz::UTC)
            .with_line("daily 20:00: block Night")
            .unwrap();
        let special = GridEntry::Item(GridItem::new(
            AssetId(2),
            Start::Hard(at_utc("2026-11-21T20:00:00Z")),
            ProgrammeInfo::titled("Special"),
        ));
        let (plan, problems) = build_plan(&ChannelGrid {
            from: at_utc("2026-11-21T00:00:00Z"),
            to: at_utc("2026-11-23T00:00:00Z"),
            templates: &[template],
            entries: &[special],
            blocks: &night_blocks(),
            fill_rules: &FillRules::new(),
            default_fill: None,
            ad_policy: None,
            assets: &assets,
            history: &[],
            options: &PlanOptions::default(),
        });
        let titles: Vec<&str> = plan
            .items
            .iter()
            .map(|item| item.info.title.as_str())
            .collect();
        assert_eq!(titles, ["Special", "Night"]);
        let gap = Ticks::from_secs(86_400 - 600);
        assert_eq!(
            problems,
            vec![
                Problem::Plan(PlanIssue::GapUnfilled {
                    at: at_utc("2026-11-21T20:10:00Z"),
                    duration: gap
                }),
                Problem::Plan(PlanIssue::HardStartDrift {
                    title: "Night".into(),
                    at: at_utc("2026-11-22T20:00:00Z"),
                    drift: gap
                })
            ]
        );
    }

    #[test]
    fn every_stage_reports_its_problems_and_planning_goes_on() {
        let assets = assets(vec![asset(1, 600, 6)]);
        let blocks = BlockLibrary::from([(
            "Loop".to_owned(),
            Block {
                entries: vec![GridEntry::Block {
                    name: "Loop".into(),
                    start: Start::Soft,
                }],
            },
        )]);
        let entries = [
            GridEntry::Item(GridItem::new(
                AssetId(1),
                Start::Hard(at_utc("2026-11-21T20:00:00Z")),
                ProgrammeInfo::titled("A"),
            )),
            GridEntry::Block {
                name: "Loop".into(),
                start: Start::Soft,
            },
            GridEntry::Fill {
                rule: "nope".into(),
                start: Start::Soft,
            },
        ];
        let (plan, problems) = build_plan(&ChannelGrid {
            from: at_utc("2026-11-21T00:00:00Z"),
            to: at_utc("2026-11-22T00:00:00Z"),
            templates: &[],
            entries: &entries,
            blocks: &blocks,
            fill_rules: &FillRules::new(),
            default_fill: None,
            ad_policy: None,
            assets: &assets,
            history: &[],
            options: &PlanOptions::default(),
        });
        assert_eq!(plan.items.len(), 1);
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "block \"Loop\" includes itself: Loop → Loop",
                "fill rule \"nope\" does not exist"
            ]
        );
    }

    fn stored(id: i64, asset_id: i64, start_secs: i64, hard_start: bool) -> ScheduleItem {
        ScheduleItem {
            id: ScheduleItemId(id),
            channel_id: ChannelId(1),
            asset_id: AssetId(asset_id),
            start: Timestamp::from_unix_secs(start_secs),
            hard_start,
            length: None,
            title: format!("item {id}"),
        }
    }

    fn stored_break(id: i64, item: i64, offset_secs: i64, duration_secs: i64) -> AdBreak {
        AdBreak {
            id,
            schedule_item_id: ScheduleItemId(item),
            offset: Ticks::from_secs(offset_secs),
            duration: Ticks::from_secs(duration_secs),
        }
    }

    /// What `onair serve` relies on to keep channels of items alone (the demo) airing exactly
    /// as before the grid was stored: the pipeline reads stored items as `plan_stored` does.
    #[test]
    fn stored_items_alone_plan_through_the_pipeline_exactly_as_plan_stored() {
        type Case = (&'static str, Vec<ScheduleItem>, Vec<AdBreak>, Option<i64>);
        let table: Vec<Case> = vec![
            (
                "hard and soft items with a gap",
                vec![
                    stored(1, 1, 0, true),
                    stored(2, 2, 30, false),
                    stored(3, 1, 600, true),
                ],
                vec![],
                None,
            ),
            (
                "a soft first item anchors the grid, items given out of order",
                vec![
                    stored(7, 2, 100, false),
                    stored(5, 1, 40, false),
                    stored(6, 2, 40, true),
                ],
                vec![],
                None,
            ),
            (
                "breaks before, inside and after items, unsorted",
                vec![stored(1, 1, 0, true), stored(2, 2, 60, false)],
                vec![
                    stored_break(9, 1, 600, 12),
                    stored_break(3, 1, 0, 30),
                    stored_break(4, 2, 12, 6),
                    stored_break(2, 1, 12, 6),
                ],
                None,
            ),
            (
                "a repeating day with a missing asset",
                vec![
                    stored(1, 1, 0, true),
                    stored(2, 404, 60, false),
                    stored(3, 2, 120, false),
                ],
                vec![stored_break(1, 3, 0, 12)],
                Some(86_400),
            ),
            ("nothing at all", vec![], vec![], None),
        ];
        let assets = assets(vec![asset(1, 36, 6), asset(2, 24, 6), asset(9, 6, 2)]);
        for (case, items, ad_breaks, repeat_secs) in table {
            let grid_repeat = repeat_secs.map(Ticks::from_secs);
            let (expected, issues) = plan_stored(PlanInput {
                items: &items,
                assets: &assets,
                ad_breaks: &ad_breaks,
                slate: Some(AssetId(9)),
                grid_repeat,
            });
            let entries: Vec<GridEntry> = stored_entries(&items, &ad_breaks, |item| {
                ProgrammeInfo::titled(&item.title)
            })
            .into_iter()
            .map(|(_, entry)| entry)
            .collect();
            let options = PlanOptions {
                slate: Some(AssetId(9)),
                grid_repeat,
                ..PlanOptions::default()
            };
            let (plan, problems) = build_plan(&ChannelGrid {
                from: at_utc("2026-11-21T00:00:00Z"),
                to: at_utc("2026-12-05T00:00:00Z"),
                templates: &[],
                entries: &entries,
                blocks: &BlockLibrary::new(),
                fill_rules: &FillRules::new(),
                default_fill: None,
                ad_policy: None,
                assets: &assets,
                history: &[],
                options: &options,
            });
            assert_eq!(plan, expected, "{case}");
            let expected: Vec<Problem> = issues.into_iter().map(Problem::from).collect();
            assert_eq!(problems, expected, "{case}");
        }
    }

    fn night_and_late_stages<'a>(
        templates: &'a [Vec<WeeklyTemplate>; 2],
        blocks: &'a BlockLibrary,
        fill_rules: &'a FillRules,
        assets: &'a HashMap<AssetId, Asset>,
        options: &'a PlanOptions,
    ) -> [ChannelGrid<'a>; 2] {
        let stage = |from: &str, to: &str, templates: &'a [WeeklyTemplate]| ChannelGrid {
            from: at_utc(from),
            to: at_utc(to),
            templates,
            entries: &[],
            blocks,
            fill_rules,
            default_fill: None,
            ad_policy: None,
            assets,
            history: &[],
            options,
        };
        [
            stage(
                "2026-11-21T00:00:00Z",
                "2026-11-23T00:00:00Z",
                &templates[0],
            ),
            stage(
                "2026-11-23T00:00:00Z",
                "2026-11-25T00:00:00Z",
                &templates[1],
            ),
        ]
    }

    #[test]
    fn each_stage_plans_with_its_own_sources_and_a_later_one_changes_nothing_before_it() {
        let assets = assets(vec![asset(1, 600, 6), asset(2, 600, 6), asset(9, 6, 6)]);
        let blocks = BlockLibrary::from([
            (
                "Night".to_owned(),
                Block {
                    entries: vec![GridEntry::Item(GridItem::new(
                        AssetId(1),
                        Start::Soft,
                        ProgrammeInfo::titled("Night"),
                    ))],
                },
            ),
            (
                "Late".to_owned(),
                Block {
                    entries: vec![GridEntry::Item(GridItem::new(
                        AssetId(2),
                        Start::Soft,
                        ProgrammeInfo::titled("Late"),
                    ))],
                },
            ),
        ]);
        let template = |line: &str| {
            WeeklyTemplate::new(chrono_tz::Tz::UTC)
                .with_line(line)
                .unwrap()
        };
        let templates = [
            vec![template("daily 20:00: block Night")],
            vec![template("daily 21:00: block Late")],
        ];
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            ..PlanOptions::default()
        };
        let fill_rules = FillRules::new();
        let stages = night_and_late_stages(&templates, &blocks, &fill_rules, &assets, &options);
        let (plan, _) = build_plan_in_stages(&stages);
        let planned: Vec<(String, String)> = plan
            .items
            .iter()
            .map(|item| (item.info.title.clone(), item.start.to_rfc3339_millis()))
            .collect();
        let expected = [
            ("Night", "2026-11-21T20:00:00.000Z"),
            ("Night", "2026-11-22T20:00:00.000Z"),
            ("Late", "2026-11-23T21:00:00.000Z"),
            ("Late", "2026-11-24T21:00:00.000Z"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(title, at)| (title.to_string(), at.to_string()))
            .collect();
        assert_eq!(planned, expected);

        let (first_alone, _) = build_plan(&stages[0]);
        let first_runs = first_alone.timeline.as_deref().unwrap().runs().len();
        assert_eq!(
            plan.timeline.as_deref().unwrap().runs().slice(..first_runs),
            first_alone.timeline.as_deref().unwrap().runs(),
            "what the first stage planned airs unchanged"
        );
        assert_eq!(build_plan_in_stages(&stages[..1]), build_plan(&stages[0]));
    }

    #[test]
    fn a_playlist_goes_on_in_the_next_stage_where_the_stage_before_left_it() {
        let hour = |id| asset(id, 3600, 6);
        let assets = assets(vec![hour(1), hour(2), hour(3), asset(9, 6, 6)]);
        let fill_rules = FillRules::from([(
            "loop".to_owned(),
            FillRule {
                source: FillSource::Playlist(vec![AssetId(1), AssetId(2), AssetId(3)]),
                info: None,
            },
        )]);
        let evening = WeeklyTemplate::new(chrono_tz::Tz::UTC)
            .with_line("daily 20:00: fill loop")
            .unwrap();
        let templates = [vec![evening.clone()], vec![evening]];
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            ..PlanOptions::default()
        };
        let blocks = BlockLibrary::new();
        let mut stages = night_and_late_stages(&templates, &blocks, &fill_rules, &assets, &options);
        stages[0].to = at_utc("2026-11-22T00:00:00Z");
        stages[1].from = at_utc("2026-11-22T00:00:00Z");
        stages[1].to = at_utc("2026-11-23T00:00:00Z");
        let (plan, _) = build_plan_in_stages(&stages);
        let played: Vec<i64> = plan.items.iter().map(|item| item.asset_id.0).collect();
        // The fill that began at 20:00 runs to the next hard start: the second stage joins it in
        // progress at midnight and the loop goes on, 1, 2, 3, with no repeat and no gap.
        assert_eq!(played[..8], [1, 2, 3, 1, 2, 3, 1, 2]);
        assert!(
            played
                .iter()
                .zip(played.iter().skip(1))
                .all(|(a, b)| b - a == 1 || (*a == 3 && *b == 1)),
            "{played:?}"
        );
        let second_stage = at_utc("2026-11-22T00:00:00Z");
        let joined = plan
            .items
            .iter()
            .find(|item| item.start >= second_stage)
            .unwrap();
        assert_eq!(joined.start, second_stage);
    }

    #[test]
    fn a_stage_that_begins_mid_fill_joins_the_fill_in_progress_and_not_an_item_or_block() {
        let assets = assets(vec![asset(1, 600, 6), asset(9, 6, 6)]);
        let fill_rules = FillRules::from([(
            "loop".to_owned(),
            FillRule {
                source: FillSource::Playlist(vec![AssetId(1)]),
                info: None,
            },
        )]);
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            ..PlanOptions::default()
        };
        let blocks = night_blocks();
        let from = at_utc("2026-11-22T10:00:00Z");
        let plan_from = |line: &str| {
            let template = WeeklyTemplate::new(chrono_tz::Tz::UTC)
                .with_line(line)
                .unwrap();
            let grid = ChannelGrid {
                from,
                to: at_utc("2026-11-22T12:00:00Z"),
                templates: std::slice::from_ref(&template),
                entries: &[],
                blocks: &blocks,
                fill_rules: &fill_rules,
                default_fill: None,
                ad_policy: None,
                assets: &assets,
                history: &[],
                options: &options,
            };
            build_plan_in_stages(&[grid]).0
        };
        let filled = plan_from("daily 06:00: fill loop");
        assert_eq!(filled.items.first().map(|item| item.start), Some(from));
        let blocked = plan_from("daily 06:00: block Night");
        assert!(blocked.items.is_empty(), "{:?}", blocked.items);
    }

    #[test]
    fn a_plan_told_where_it_starts_airs_slate_until_its_first_programme_which_keeps_its_start() {
        let assets = assets(vec![asset(1, 600, 6), asset(9, 6, 6)]);
        let first = at_utc("2026-11-22T10:00:00Z");
        let items = [GridItem::new(
            AssetId(1),
            Start::Hard(first),
            ProgrammeInfo::titled("News"),
        )];
        for (starts_at, origin) in [
            // Moved back to a whole number of slate segments (6 s) before the programme.
            ("2026-11-22T09:59:50Z", "2026-11-22T09:59:48Z"),
            ("2026-11-22T09:00:00Z", "2026-11-22T09:00:00Z"),
            // After the first programme: no effect.
            ("2026-11-22T10:05:00Z", "2026-11-22T10:00:00Z"),
        ] {
            let options = PlanOptions {
                slate: Some(AssetId(9)),
                starts_at: Some(at_utc(starts_at)),
                ..PlanOptions::default()
            };
            let (plan, _) = plan_grid(&items, &assets, &options);
            let timeline = plan.timeline.unwrap();
            assert_eq!(timeline.origin(), at_utc(origin), "{starts_at}");
            assert_eq!(plan.items[0].start, first, "{starts_at}");
        }
    }
}
