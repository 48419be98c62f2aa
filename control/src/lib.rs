//! The control plane: one home for what `onair serve`, the CLI and the HTTP API do with a
//! channel. It sits between the adapters (web-ui's API and pages, the CLI, `serve`'s wiring)
//! and the core (`store`, `scheduler`, `playout`), and answers with typed results and typed
//! [`Refusal`]s: no HTTP, no status codes, no JSON wire types (the file formats of import,
//! export and the as-run log are its own, as files).
//!
//! - [`schedule`]: schedule edits under the lock horizon, check-and-set versions, restore;
//! - [`transfer`]: import, export and copy of days, as JSON or CSV files;
//! - [`grid`]: the grid's stored documents, compiling them to the scheduler's types, planning a
//!   channel from the store ([`grid::plan_channel`]), grid edits, versions and the preview;
//! - [`registry`]: the planned channels playout, the EPG and the as-run recorder share, kept in
//!   step with the database;
//! - [`ads`]: server-side ad insertion: ad settings, sessions, decisions ahead of breaks,
//!   beacons on segment fetch, the report and the tag inspector;
//! - [`live`]: live sources, the ingest's calls, and the live slots of every channel decided
//!   the same on every replica;
//! - [`as_run`]: the as-run export and its reconciliation with the plan;
//! - [`status`]: what each channel airs now and next and what is wrong with it, shared by one
//!   task for the operator pages;
//! - [`channels`], [`assets`], [`ladders`]: channels, the asset library and ladders as a user
//!   manages them;
//! - [`conformance`]: partner conformance checks of a channel or a partner's view of it, the
//!   playlists rendered in process over the hours asked ([`onair_conformance`] judges them);
//! - [`accounts`]: users, roles per channel, passwords, logins with an optional second factor,
//!   sessions and API tokens (on the wall clock, with its own handle [`accounts::Accounts`]).

use std::sync::Arc;

use onair_domain::{Clock, Ticks};
use onair_store::Store;

pub mod accounts;
pub mod ads;
pub mod as_run;
pub mod assets;
pub mod channels;
pub mod conformance;
pub mod grid;
pub mod ladders;
pub mod live;
pub mod partners;
mod plan_cache;
pub mod refusal;
pub mod registry;
pub mod schedule;
pub mod status;
pub mod transfer;

pub use plan_cache::PlanCache;
pub use refusal::{Problem, Refusal};
pub use schedule::DEFAULT_LOCK_MARGIN;

/// The control plane's handle: the store, the clock edits and plans are made at, the margin of
/// the lock horizon, and what one server's clones share. Cheap to clone.
#[derive(Clone)]
pub struct Control {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Added to now + the playout window to give the lock horizon.
    pub lock_margin: Ticks,
    /// Plans made for the preview, shared by the clones of one server's control plane.
    pub plan_cache: PlanCache,
    /// The conformance checks running and those each caller started lately, shared by the
    /// clones of one server's control plane.
    pub conformance_limiter: conformance::ConformanceLimiter,
}

impl Control {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Control {
        Control {
            store,
            clock,
            lock_margin: DEFAULT_LOCK_MARGIN,
            plan_cache: PlanCache::default(),
            conformance_limiter: conformance::ConformanceLimiter::default(),
        }
    }
}
