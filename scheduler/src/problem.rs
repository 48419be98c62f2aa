//! Problems as data: every problem a stage reports has a stable `kind` (its variant in
//! snake_case, unique across stages, never renamed) beside its human message, and serialises as
//! `{"stage": "plan", "kind": "gap_filled", "message": "gap of 30.000s at … filled with slate"}`
//! ([`PlanIssue`] alone leaves `stage` out). APIs and logs hand these to operators; tools match
//! on `kind`.

use onair_domain::Timestamp;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::ad_policy::AdPolicyNote;
use crate::fill::FillProblem;
use crate::grid::GridError;
use crate::pipeline::Problem;
use crate::plan::PlanIssue;
use crate::template::TemplateProblem;

impl PlanIssue {
    /// The variant, in snake_case: stable, for matching.
    pub fn kind(&self) -> &'static str {
        match self {
            PlanIssue::NothingScheduled => "nothing_scheduled",
            PlanIssue::MissingAsset { .. } => "missing_asset",
            PlanIssue::AssetNotReady { .. } => "asset_not_ready",
            PlanIssue::GapFilled { .. } => "gap_filled",
            PlanIssue::GapFilledWithFiller { .. } => "gap_filled_with_filler",
            PlanIssue::GapUnfilled { .. } => "gap_unfilled",
            PlanIssue::PreviousItemCut { .. } => "previous_item_cut",
            PlanIssue::Overlap { .. } => "overlap",
            PlanIssue::HardStartDrift { .. } => "hard_start_drift",
            PlanIssue::GridCutToPeriod { .. } => "grid_cut_to_period",
            PlanIssue::BreakMovedToBoundary { .. } => "break_moved_to_boundary",
            PlanIssue::BreakDurationRounded { .. } => "break_duration_rounded",
            PlanIssue::BreakUnfilled { .. } => "break_unfilled",
            PlanIssue::OutsideRightsWindow { .. } => "outside_rights_window",
            PlanIssue::AdCapExceeded { .. } => "ad_cap_exceeded",
            PlanIssue::InOutPointMoved { .. } => "in_out_point_moved",
            PlanIssue::BreakPastOutPoint { .. } => "break_past_out_point",
            PlanIssue::EmptyInOut { .. } => "empty_in_out",
            PlanIssue::SoftStartWithoutAnchor { .. } => "soft_start_without_anchor",
            PlanIssue::FillerUnusable { .. } => "filler_unusable",
        }
    }
}

impl GridError {
    /// The variant, in snake_case: stable, for matching.
    pub fn kind(&self) -> &'static str {
        match self {
            GridError::UnknownBlock { .. } => "unknown_block",
            GridError::BlockCycle { .. } => "block_cycle",
            GridError::BreakWithoutItem { .. } => "break_without_item",
        }
    }
}

impl TemplateProblem {
    /// The variant, in snake_case: stable, for matching.
    pub fn kind(&self) -> &'static str {
        match self {
            TemplateProblem::SameStart { .. } => "same_start",
        }
    }
}

impl FillProblem {
    /// The variant, in snake_case: stable, for matching.
    pub fn kind(&self) -> &'static str {
        match self {
            FillProblem::UnknownRule { .. } => "unknown_fill_rule",
            FillProblem::Unbounded { .. } => "fill_unbounded",
            FillProblem::NoStart { .. } => "fill_without_start",
            FillProblem::UnusableAsset { .. } => "fill_asset_unusable",
            FillProblem::NoRepeatExhausted { .. } => "no_repeat_exhausted",
        }
    }
}

impl AdPolicyNote {
    /// The variant, in snake_case: stable, for matching.
    pub fn kind(&self) -> &'static str {
        match self {
            AdPolicyNote::BreakShortened { .. } => "break_shortened",
            AdPolicyNote::BreakDropped { .. } => "break_dropped",
        }
    }
}

impl Problem {
    /// The stage that found it: `grid`, `template`, `fill`, `ad_policy` or `plan`.
    pub fn stage(&self) -> &'static str {
        match self {
            Problem::Grid(_) => "grid",
            Problem::Template(_) => "template",
            Problem::Fill(_) => "fill",
            Problem::AdPolicy(_) => "ad_policy",
            Problem::Plan(_) => "plan",
        }
    }

    /// The variant of the stage's problem, in snake_case: stable, unique across stages.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Grid(problem) => problem.kind(),
            Problem::Template(problem) => problem.kind(),
            Problem::Fill(problem) => problem.kind(),
            Problem::AdPolicy(problem) => problem.kind(),
            Problem::Plan(problem) => problem.kind(),
        }
    }
}

impl PlanIssue {
    /// The instant it is about, when it has one (a gap, a cut, an overlap, an item outside its
    /// rights, an hour over its cap), for showing it at its place in a grid.
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            PlanIssue::MissingAsset { at, .. }
            | PlanIssue::AssetNotReady { at, .. }
            | PlanIssue::GapFilled { at, .. }
            | PlanIssue::GapFilledWithFiller { at, .. }
            | PlanIssue::GapUnfilled { at, .. }
            | PlanIssue::PreviousItemCut { at, .. }
            | PlanIssue::Overlap { at, .. }
            | PlanIssue::HardStartDrift { at, .. }
            | PlanIssue::InOutPointMoved { at, .. }
            | PlanIssue::BreakUnfilled { at, .. }
            | PlanIssue::BreakDurationRounded { at, .. }
            | PlanIssue::BreakPastOutPoint { at, .. } => Some(*at),
            PlanIssue::OutsideRightsWindow { start, .. } => Some(*start),
            PlanIssue::AdCapExceeded { hour, .. } => Some(*hour),
            _ => None,
        }
    }
}

impl Problem {
    /// The instant it is about, when it has one (see [`PlanIssue::at`]).
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            Problem::Plan(issue) => issue.at(),
            Problem::Template(TemplateProblem::SameStart { at, .. }) => Some(*at),
            Problem::Fill(
                FillProblem::Unbounded { at, .. } | FillProblem::NoRepeatExhausted { at, .. },
            ) => Some(*at),
            Problem::AdPolicy(
                AdPolicyNote::BreakShortened { at, .. } | AdPolicyNote::BreakDropped { at, .. },
            ) => Some(*at),
            _ => None,
        }
    }
}

impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Problem", 3)?;
        out.serialize_field("stage", self.stage())?;
        out.serialize_field("kind", self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        out.end()
    }
}

impl Serialize for PlanIssue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("PlanIssue", 2)?;
        out.serialize_field("kind", self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use onair_domain::{AssetId, Ticks, Timestamp};
    use serde_json::json;

    use super::*;
    use crate::ad_policy::Limit;
    use crate::plan::RightsWindow;

    /// One problem of every kind, each stage's variants in declaration order.
    fn one_of_each() -> Vec<Problem> {
        let at = Timestamp::from_unix_secs(1_790_000_000);
        let secs = Ticks::from_secs;
        let title = || "News".to_owned();
        let plan = [
            PlanIssue::NothingScheduled,
            PlanIssue::MissingAsset {
                title: title(),
                at,
                asset_id: AssetId(4),
            },
            PlanIssue::AssetNotReady {
                title: title(),
                at,
                asset_id: AssetId(4),
            },
            PlanIssue::GapFilled {
                at,
                duration: secs(30),
            },
            PlanIssue::GapFilledWithFiller {
                at,
                duration: secs(30),
                filler: secs(10),
            },
            PlanIssue::GapUnfilled {
                at,
                duration: secs(30),
            },
            PlanIssue::PreviousItemCut {
                title: title(),
                at,
                cut: secs(3),
            },
            PlanIssue::Overlap {
                first: title(),
                second: "Film".into(),
                at,
                by: secs(3),
            },
            PlanIssue::HardStartDrift {
                title: title(),
                at,
                drift: secs(1),
            },
            PlanIssue::GridCutToPeriod { over: secs(5) },
            PlanIssue::BreakMovedToBoundary {
                title: title(),
                offset: secs(5),
                drift: secs(1),
            },
            PlanIssue::BreakDurationRounded {
                title: title(),
                at: Timestamp::from_unix_secs(0),
                offset: secs(5),
                planned: secs(5),
                aired: secs(6),
            },
            PlanIssue::BreakUnfilled {
                title: title(),
                at: Timestamp::from_unix_secs(0),
                offset: secs(5),
            },
            PlanIssue::OutsideRightsWindow {
                title: title(),
                asset_id: AssetId(4),
                start: at,
                end: at + secs(60),
                window: RightsWindow::default(),
            },
            PlanIssue::AdCapExceeded {
                hour: at,
                ads: secs(600),
                cap: secs(480),
                over: secs(120),
            },
            PlanIssue::InOutPointMoved {
                title: title(),
                at: Timestamp::from_unix_secs(0),
                point: secs(5),
                drift: secs(1),
            },
            PlanIssue::BreakPastOutPoint {
                title: title(),
                at: Timestamp::from_unix_secs(0),
                offset: secs(8),
                out_point: secs(6),
            },
            PlanIssue::EmptyInOut {
                title: title(),
                in_point: secs(5),
                out_point: secs(5),
            },
            PlanIssue::SoftStartWithoutAnchor { title: title() },
            PlanIssue::FillerUnusable {
                asset_id: AssetId(4),
            },
        ]
        .map(Problem::from);
        let grid = [
            GridError::UnknownBlock {
                name: "Gone".into(),
                used_in: None,
            },
            GridError::BlockCycle {
                cycle: vec!["A".into(), "A".into()],
            },
            GridError::BreakWithoutItem { duration: secs(30) },
        ]
        .map(Problem::from);
        let template = [TemplateProblem::SameStart {
            at,
            first: "block \"A\"".into(),
            second: "block \"B\"".into(),
        }]
        .map(Problem::from);
        let fill = [
            FillProblem::UnknownRule { rule: "x".into() },
            FillProblem::Unbounded {
                rule: "x".into(),
                at,
            },
            FillProblem::NoStart { rule: "x".into() },
            FillProblem::UnusableAsset {
                rule: "x".into(),
                asset_id: AssetId(4),
                why: "it does not exist".into(),
            },
            FillProblem::NoRepeatExhausted {
                rule: "x".into(),
                at,
                left: secs(60),
            },
        ]
        .map(Problem::from);
        let ads = [
            AdPolicyNote::BreakShortened {
                title: title(),
                at,
                planned: secs(60),
                aired: secs(30),
                limit: Limit::HourCap { hour: at },
            },
            AdPolicyNote::BreakDropped {
                title: title(),
                at,
                limit: Limit::NoRoomBefore { next_hard: at },
            },
        ]
        .map(Problem::from);
        plan.into_iter()
            .chain(grid)
            .chain(template)
            .chain(fill)
            .chain(ads)
            .collect()
    }

    #[test]
    fn every_problem_has_a_kind_of_its_own() {
        let problems = one_of_each();
        let kinds: HashSet<&str> = problems.iter().map(Problem::kind).collect();
        assert_eq!(kinds.len(), problems.len(), "kinds repeat: {kinds:?}");
        for kind in kinds {
            assert!(
                kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{kind} is not snake_case"
            );
        }
    }

    #[test]
    fn a_problem_serialises_as_its_stage_kind_and_message() {
        let gap = PlanIssue::GapFilled {
            at: Timestamp::from_unix_secs(1_790_000_000),
            duration: Ticks::from_secs(30),
        };
        assert_eq!(
            serde_json::to_value(Problem::from(gap.clone())).unwrap(),
            json!({
                "stage": "plan",
                "kind": "gap_filled",
                "message": "gap of 30.000s at 2026-09-21T14:13:20.000Z filled with slate",
            })
        );
        assert_eq!(
            serde_json::to_value(&gap).unwrap(),
            json!({
                "kind": "gap_filled",
                "message": "gap of 30.000s at 2026-09-21T14:13:20.000Z filled with slate",
            })
        );
        let cycle = Problem::from(GridError::BlockCycle {
            cycle: vec!["News".into(), "Inner".into(), "News".into()],
        });
        assert_eq!(
            serde_json::to_value(&cycle).unwrap(),
            json!({
                "stage": "grid",
                "kind": "block_cycle",
                "message": "block \"News\" includes itself: News → Inner → News",
            })
        );
    }
}
