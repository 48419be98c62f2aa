//! Live: the sources publishers send to, what the ingest reports about them, and what a
//! channel's live items air, slot by slot.
//!
//! - [`sources`]: sources as a user manages them (create with a generated stream key, rotate
//!   the key, delete, status and events), and the calls the ingest makes (authorize a key,
//!   begin and end a publish, record a segment, report figures).
//! - [`as_run`]: what live items and takes aired, laid over the plan's runs for the as-run
//!   log (live runs, outages, the take and the return).
//! - [`takes`]: takes to air by hand and returns to the schedule, each a versioned edit.
//! - [`airings`]: the loop `serve` runs that decides each live slot of every channel on air
//!   and hands playout the result ([`onair_playout::LiveAirings`]), and tells the ingest on
//!   which grid to cut each source; with `spans` (the live items' occurrences and the takes
//!   near now, each source's grid) and `synthetic` (the runs a publish's files and a looped
//!   slate air as).
//!
//! **The same answer on every replica.** A slot (a planned segment of a live item) airs the
//! live segment captured for it when the ingest recorded that segment in the store (same start,
//! same duration) by the slot's deadline: its end plus [`LiveTimes::grace`]. A replica decides
//! a slot only once its clock has passed the deadline plus [`LiveTimes::margin`] (for the
//! commit to be visible), reading the store after that, so every replica reads the same rows
//! and decides the same; and playout never lists a slot not decided yet. A recording that
//! comes late is ignored by every replica. A complete occurrence's run count is stored, so
//! the discontinuity sequence after it is the same everywhere, for ever.

pub mod airings;
pub mod as_run;
pub mod sources;
mod spans;
mod synthetic;
pub mod takes;

pub use airings::{LiveAiringsLoop, LiveTimes};
pub use sources::{LiveSourceView, PublishGrant, SegmentRecord};
pub use takes::{TAKE_LEAD, TakeView};
