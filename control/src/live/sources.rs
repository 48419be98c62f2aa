//! Live sources as a user manages them, and the calls the ingest makes about them.

use onair_domain::{Ladder, Ticks, Timestamp};
use onair_store::{LiveEnd, LiveSegmentRow, LiveSourceRow, LiveState};
use serde::Serialize;

use crate::Control;
use crate::refusal::Refusal;

/// A source as the API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LiveSourceView {
    pub name: String,
    /// The secret publishers send to: `rtmp://HOST:PORT/live/{stream_key}`, SRT streamid
    /// `publish:{stream_key}`.
    pub stream_key: String,
    pub ladder: String,
    /// `idle`, `publishing`, `lost` or `failed`.
    pub state: String,
    pub state_since: String,
    /// The current (or last) publish, from 1; 0 before the first.
    pub publish: i64,
    pub protocol: Option<String>,
    pub peer: Option<String>,
    /// Why it was last lost or failed.
    pub error: Option<String>,
    /// The ingest's figures: real-time factor, encode lag, dropped frames.
    #[schema(value_type = Option<Object>)]
    pub stats: Option<serde_json::Value>,
    pub reported_at: Option<String>,
    pub created_at: String,
    pub key_rotated_at: String,
}

/// One of a source's events, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LiveEventView {
    pub at: String,
    pub kind: String,
    pub detail: String,
}

/// What a publish may go ahead with: the source and the ladder it is encoded to.
#[derive(Debug, Clone)]
pub struct PublishGrant {
    pub source: LiveSourceRow,
    pub ladder: Ladder,
}

/// A segment the ingest wrote on every rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRecord {
    pub start: Timestamp,
    pub duration: Ticks,
}

/// Checks a source name: 1 to 64 lowercase letters, digits, `-` or `_` (grid items name it).
pub fn check_source_name(name: &str) -> Result<(), Refusal> {
    let good = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
        });
    if good {
        Ok(())
    } else {
        Err(Refusal::BadRequest(format!(
            "live source name {name:?}: 1 to 64 lowercase letters, digits, '-' or '_'"
        )))
    }
}

/// A new stream key: 128 random bits as 32 hex digits.
fn new_stream_key() -> Result<String, Refusal> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|error| Refusal::Internal(format!("no randomness for a stream key: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

impl Control {
    /// Every source, by name.
    pub async fn live_sources(&self) -> Result<Vec<LiveSourceView>, Refusal> {
        let ladders = self.store.ladders().await?;
        let rows = self.store.live_sources().await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let ladder = ladders
                    .iter()
                    .find(|ladder| ladder.id == row.ladder_id)
                    .map(|ladder| ladder.name.clone())
                    .unwrap_or_default();
                view(row, ladder)
            })
            .collect())
    }

    pub async fn live_source(&self, name: &str) -> Result<LiveSourceView, Refusal> {
        let row = self.source_row(name).await?;
        let ladder = self.ladder_name(&row).await?;
        Ok(view(row, ladder))
    }

    /// Creates a source encoded to the ladder named `ladder`, with a new stream key.
    pub async fn create_live_source(
        &self,
        name: &str,
        ladder: &str,
    ) -> Result<LiveSourceView, Refusal> {
        check_source_name(name)?;
        let ladder = self
            .store
            .ladder_by_name(ladder)
            .await?
            .ok_or_else(|| Refusal::BadRequest(format!("there is no ladder {ladder}")))?;
        let key = new_stream_key()?;
        let row = self
            .store
            .create_live_source(name, &key, ladder.id, self.clock.now())
            .await?;
        tracing::info!(source = name, ladder = %ladder.name, "live source created");
        Ok(view(row, ladder.name))
    }

    /// Gives the source a new stream key; the old one is refused from now on (a publish under
    /// way goes on until it ends).
    pub async fn rotate_live_source_key(&self, name: &str) -> Result<LiveSourceView, Refusal> {
        let key = new_stream_key()?;
        let row = self
            .store
            .rotate_live_source_key(name, &key, self.clock.now())
            .await?;
        tracing::info!(source = name, "live source key rotated");
        let ladder = self.ladder_name(&row).await?;
        Ok(view(row, ladder))
    }

    /// Deletes the source; the grid items that name it air their fallback.
    pub async fn delete_live_source(&self, name: &str) -> Result<(), Refusal> {
        if self.store.delete_live_source(name).await? {
            tracing::info!(source = name, "live source deleted");
            Ok(())
        } else {
            Err(Refusal::NotFound(format!("there is no live source {name}")))
        }
    }

    /// The source's events of the last `hours`, oldest first (at most 500).
    pub async fn live_source_events(
        &self,
        name: &str,
        hours: u32,
    ) -> Result<Vec<LiveEventView>, Refusal> {
        let row = self.source_row(name).await?;
        let since = self.clock.now() - Ticks::from_secs(i64::from(hours) * 3600);
        let events = self.store.live_events(row.id, since, 500).await?;
        Ok(events
            .into_iter()
            .map(|event| LiveEventView {
                at: event.at.to_rfc3339_millis(),
                kind: event.kind,
                detail: event.detail,
            })
            .collect())
    }

    // -----------------------------------------------------------------------------------------
    // The ingest's calls

    /// Whether `stream_key` may publish: the source it names and its ladder, or why not.
    pub async fn authorize_publish(&self, stream_key: &str) -> Result<PublishGrant, Refusal> {
        let source = self
            .store
            .live_source_by_key(stream_key)
            .await?
            .ok_or_else(|| Refusal::NotFound("no live source has this stream key".to_owned()))?;
        let ladder = self.store.ladder(source.ladder_id).await?.ok_or_else(|| {
            Refusal::Internal(format!(
                "live source {} is encoded to a ladder that does not exist",
                source.name
            ))
        })?;
        Ok(PublishGrant { source, ladder })
    }

    /// A publish of `source` began; its number.
    pub async fn begin_publish(
        &self,
        source: &LiveSourceRow,
        protocol: &str,
        peer: &str,
    ) -> Result<i64, Refusal> {
        Ok(self
            .store
            .begin_live_publish(source.id, protocol, peer, self.clock.now())
            .await?)
    }

    /// A publish ended: closed by the publisher (`Idle`), `Lost` or `Failed`, with why.
    pub async fn end_publish(
        &self,
        source: &LiveSourceRow,
        publish: i64,
        state: LiveState,
        detail: &str,
    ) -> Result<(), Refusal> {
        let event = match state {
            LiveState::Idle | LiveState::Publishing => "end",
            LiveState::Lost => "lost",
            LiveState::Failed => "failed",
        };
        let end = LiveEnd {
            state: if state == LiveState::Publishing {
                LiveState::Idle
            } else {
                state
            },
            event,
            detail,
        };
        self.store
            .end_live_publish(source.id, publish, end, self.clock.now())
            .await?;
        Ok(())
    }

    /// Logs a refused publish against the source its key named, when it named one.
    pub async fn log_refused_publish(&self, stream_key: &str, detail: &str) -> Result<(), Refusal> {
        if let Some(source) = self.store.live_source_by_key(stream_key).await? {
            self.store
                .log_live_event(source.id, "refused", detail, self.clock.now())
                .await?;
        }
        Ok(())
    }

    /// The publish wrote `segment` on every rung, now: it airs where a slot is cut the same and
    /// this is in time (see [`crate::live`]).
    pub async fn record_live_segment(
        &self,
        source: &LiveSourceRow,
        publish: i64,
        segment: SegmentRecord,
    ) -> Result<(), Refusal> {
        self.store
            .record_live_segment(
                source.id,
                &LiveSegmentRow {
                    start: segment.start,
                    duration: segment.duration,
                    publish_id: publish,
                    recorded_at: self.clock.now(),
                },
            )
            .await?;
        Ok(())
    }

    /// The ingest's figures for the publish, a JSON object.
    pub async fn report_live_stats(
        &self,
        source: &LiveSourceRow,
        publish: i64,
        stats: &serde_json::Value,
    ) -> Result<(), Refusal> {
        self.store
            .report_live_stats(source.id, publish, &stats.to_string(), self.clock.now())
            .await?;
        Ok(())
    }

    async fn source_row(&self, name: &str) -> Result<LiveSourceRow, Refusal> {
        self.store
            .live_source_by_name(name)
            .await?
            .ok_or_else(|| Refusal::NotFound(format!("there is no live source {name}")))
    }

    async fn ladder_name(&self, row: &LiveSourceRow) -> Result<String, Refusal> {
        Ok(self
            .store
            .ladder(row.ladder_id)
            .await?
            .map(|ladder| ladder.name)
            .unwrap_or_default())
    }
}

fn view(row: LiveSourceRow, ladder: String) -> LiveSourceView {
    LiveSourceView {
        name: row.name,
        stream_key: row.stream_key,
        ladder,
        state: row.state.as_str().to_owned(),
        state_since: row.state_since.to_rfc3339_millis(),
        publish: row.publish_id,
        protocol: row.protocol,
        peer: row.peer,
        error: row.error,
        stats: row
            .stats
            .and_then(|stats| serde_json::from_str(&stats).ok()),
        reported_at: row.reported_at.map(|at| at.to_rfc3339_millis()),
        created_at: row.created_at.to_rfc3339_millis(),
        key_rotated_at: row.key_rotated_at.to_rfc3339_millis(),
    }
}
