//! The REST API of the scheduler, under `/api` (see [`schedule`] for the routes), and the
//! bearer-token guard every `/api` route shares ([`auth`]).

pub mod as_run;
pub mod auth;
pub mod grid;
pub mod schedule;
pub mod transfer;

pub use schedule::{DEFAULT_LOCK_MARGIN, ScheduleApiState, router};
