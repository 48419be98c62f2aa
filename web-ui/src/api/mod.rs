//! The REST API under `/api`: JSON wire types to control-plane calls and back, refusals mapped
//! to status codes ([`error`]) (who may call each route is [`crate::access`]'s).
//! The rules (checks, versions, lock horizon, planning) are `onair_control`'s.

pub mod ads;
pub mod as_run;
pub mod conformance;
pub mod docs;
pub mod error;
pub mod grid;
pub mod live;
pub mod manage;
pub mod openapi;
pub mod partners;
pub mod schedule;
pub mod transfer;

pub use schedule::{DEFAULT_LOCK_MARGIN, ScheduleApiState, router};
