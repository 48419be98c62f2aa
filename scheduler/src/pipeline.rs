//! One pure call from a channel's grid sources to its plan: templates expanded for the window,
//! one-off entries merged in, blocks flattened, gaps filled, the ad policy applied, then planned.
//! Every stage's problems come back together, in stage order.
//!
//! A one-off entry that starts at the same instant as a template slot replaces that slot (a
//! special in place of the usual programme).

use std::collections::{HashMap, HashSet};

use onair_domain::{Asset, AssetId, Timestamp};

use crate::ad_policy::{AdPolicy, AdPolicyNote, apply_ad_policy};
use crate::fill::{FillInput, FillProblem, FillRules, fill_gaps};
use crate::grid::{BlockLibrary, GridEntry, GridError, flatten};
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

/// Plans a channel from its grid sources (see the module doc).
pub fn build_plan(grid: &ChannelGrid<'_>) -> (Plan, Vec<Problem>) {
    let mut problems: Vec<Problem> = Vec::new();

    let one_off = chains(grid.entries);
    let taken: HashSet<Timestamp> = one_off.iter().filter_map(|(at, _)| *at).collect();
    let mut all = one_off;
    for template in grid.templates {
        let (entries, template_problems) = template.expand(grid.from, grid.to);
        problems.extend(template_problems.into_iter().map(Problem::from));
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

    let (plan, issues) = plan_grid(&items, grid.assets, grid.options);
    problems.extend(issues.into_iter().map(Problem::from));
    (plan, problems)
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

    use super::*;
    use crate::grid::{Block, GridItem, ProgrammeInfo, Start};
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
}
