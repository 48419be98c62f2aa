//! onair's vocabulary: the types every other crate speaks, with no IO and no clock reads.
//!
//! Time has two shapes here, both integer: [`Ticks`] is a duration in 90 kHz ticks (the MPEG
//! timescale) and [`Timestamp`] is an instant, 90 kHz ticks since the Unix epoch (UTC). Nothing
//! in this crate uses `f64` seconds for anything that must add up.

pub mod auth;
pub mod channel;
pub mod clock;
pub mod ladder;
pub mod media;
pub mod schedule;
pub mod scte35;
pub mod time;
pub mod timeline;

pub use channel::{Channel, ChannelId, ChannelSlug, OutputFormat};
pub use clock::{Clock, FixedClock, SystemClock, VirtualClock};
pub use ladder::{Ladder, LadderError, LadderId, LoudnessTarget, Rung};
pub use media::{Asset, AssetId, AssetState, Packaging, Rendition, SegmentInfo};
pub use schedule::{AdBreak, Job, JobId, JobKind, JobState, ScheduleItem, ScheduleItemId};
pub use time::{TICKS_PER_SECOND, Ticks, Timestamp};
pub use timeline::{
    BreakAiring, BreakSlot, Run, RunKind, SegmentAt, SegmentTrack, Timeline, TimelineError,
};
