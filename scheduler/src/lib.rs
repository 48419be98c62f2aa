//! Grid to timeline: a channel's grid (items, blocks, rules, templates, fill rules, ad policy)
//! becomes the runs it airs, plus every problem found instead of an abort, and the EPG comes
//! from the same plan. Pure: no IO, no clock; time is always an input.
//!
//! The stages, each usable alone and chained by [`pipeline::build_plan`]:
//! [`template`] (weekly slots, through [`rules`] and their DST semantics) → [`grid::flatten`]
//! (blocks) → [`fill::fill_gaps`] → [`ad_policy::apply_ad_policy`] → [`plan::plan_grid`] →
//! [`epg`] (XMLTV and JSON). A grid whose sources changed over time is planned in stages
//! ([`pipeline::build_plan_in_stages`]). Every problem has a stable kind and serialises with its
//! message (see `problem.rs`).

pub mod ad_policy;
pub mod as_run;
pub mod epg;
pub mod fill;
pub mod grid;
pub mod pipeline;
pub mod plan;
mod problem;
pub mod rules;
pub mod template;

pub use grid::{GridEntry, GridItem, ProgrammeInfo, Start};
pub use pipeline::{
    ChannelGrid, Problem, build_items, build_plan, build_plan_in_stages, stored_entries,
};
pub use plan::{
    Plan, PlanInput, PlanIssue, PlanOptions, PlannedItem, RightsWindow, plan, plan_grid,
    plan_stored,
};
pub use rules::{Rule, RuleError};

#[cfg(test)]
mod test_support;
