//! Grid to timeline: planning turns schedule items into the runs a channel airs, and reports
//! every problem it finds instead of aborting. Pure: no IO, no clock.

pub mod plan;

pub use plan::{PlanInput, PlanIssue, plan};
