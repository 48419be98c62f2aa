//! onair's storage: the only crate that speaks SQL, with SQLite and PostgreSQL behind one [`Store`].
//!
//! Every query is written once, with `$1, $2, …` placeholders, and runs on both backends through
//! sqlx's `Any` driver. Rows become domain types at this boundary; nothing above it sees SQL.
//! Instants are stored as 90 kHz ticks since the Unix epoch ([`Timestamp`]`.0`) and durations
//! as 90 kHz ticks ([`Ticks`]`.0`), both as 64-bit integers. The store never reads a clock:
//! every method that stamps or compares a time takes `now` from the caller.
//!
//! [`Timestamp`]: onair_domain::Timestamp
//! [`Ticks`]: onair_domain::Ticks

mod accounts;
pub mod ads;
mod as_run;
mod assets;
mod catalogue;
mod channels;
mod connect;
mod error;
pub mod grid;
mod health;
mod jobs;
mod ladders;
mod live;
mod live_takes;
mod partners;
mod rows;
mod schedule;
mod segment_shelf;
mod versions;

pub use accounts::{
    ApiTokenRow, NewApiToken, NewSession, NewUser, ResolvedApiToken, RoleGrantRow, SessionRow,
    TokenHash, UserId, UserRow,
};
pub use ads::{
    AdDecisionRow, AdSessionRow, BeaconCount, BeaconKey, BeaconStatus, CreativeRow, CreativeStatus,
    DecisionCursor, NewAdDecision, NewAdSession, StoredAdConfig,
};
pub use as_run::AsRunEntry;
pub use catalogue::{AssetFilter, AssetNotes, AssetUse, DeletedAsset};
pub use channels::{ChannelChanges, ChannelPlayoutAssets, NewChannel};
pub use connect::{Backend, Store};
pub use error::{StoreError, redact_url};
pub use health::{PendingMigration, PoolStatus};
pub use live::{LiveEnd, LiveEventRow, LiveSegmentRow, LiveSourceRow, LiveState};
pub use live_takes::{LiveTakeRow, NewTake};
pub use partners::{PartnerKeyRow, PartnerRow, PartnerWrite};
pub use schedule::{NewAdBreak, NewScheduleItem};
pub use versions::{PublishedVersion, ScheduleEdit, ScheduleEntry};
