//! The REST API of the scheduler, under `/api` (see [`schedule`] for the routes), and the
//! bearer-token guard every `/api` route shares ([`auth`]).

pub mod auth;
pub mod schedule;
mod transfer;

pub use schedule::{DEFAULT_LOCK_MARGIN, ScheduleApiState, router};
