//! What operators plan (schedule items, ad breaks) and the work queue (jobs).

use serde::{Deserialize, Serialize};

use crate::channel::ChannelId;
use crate::media::AssetId;
use crate::time::{Ticks, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScheduleItemId(pub i64);

/// One programme in a channel's grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleItem {
    pub id: ScheduleItemId,
    pub channel_id: ChannelId,
    pub asset_id: AssetId,
    /// When it airs.
    pub start: Timestamp,
    /// True for a fixed wall-clock start; false when it follows the previous item.
    pub hard_start: bool,
    pub title: String,
    /// Its out point: how much of the asset it airs, from the asset's start (cut at a segment
    /// boundary when planned); `None` airs the whole asset. Ad breaks past it do not air.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Ticks>,
}

/// An ad break: between items (`offset` zero) or at a cue point inside an item's asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdBreak {
    pub id: i64,
    pub schedule_item_id: ScheduleItemId,
    pub offset: Ticks,
    pub duration: Ticks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        match text {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "succeeded" => Some(JobState::Succeeded),
            "failed" => Some(JobState::Failed),
            "cancelled" => Some(JobState::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Transcode a source into an asset.
    Transcode,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Transcode => "transcode",
        }
    }

    pub fn parse(text: &str) -> Option<JobKind> {
        match text {
            "transcode" => Some(JobKind::Transcode),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub state: JobState,
    /// What the job works on, as JSON (e.g. the source and the ladder).
    pub payload: String,
    pub progress_percent: u8,
    pub attempts: u32,
    /// Why it failed, in words a person understands.
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
