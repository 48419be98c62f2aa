//! Takes to air by hand: an operator takes a channel to a live source now, or puts it on its
//! slate now (a bad programme, a legal takedown, a broken feed), and returns it to its schedule
//! later.
//!
//! **Where a take lands.** At the first planned segment boundary at least [`TAKE_LEAD`] after
//! the request. A playlist lists a segment once it has ended, so no replica has listed the
//! segment that starts there, nor will before it reads the take: the airings loop reads the
//! takes every pass (250 ms), and the take's first slot is listed only once decided, after its
//! end plus the grace. The lead also gives the ingest time to move its cut grid to the take's
//! boundaries. With segments of D, a take lands within `TAKE_LEAD + D` of the request: inside
//! two segments for any D of at least 1.5 s.
//!
//! **What airs.** Every planned segment from the take's start to its return is a slot: the
//! live segment captured for it when the ingest recorded it in time, else the channel's slate
//! (see [`crate::live::airings`]). A take to the slate ([`Control::slate_now`]) is a take
//! without a source: every slot of it airs the slate. The return lands the same way as the take, and the schedule
//! joins in progress: the planned segment at the return airs as planned, so hard starts keep
//! their wall-clock times and media sequence numbers stay the plan's.
//!
//! **A versioned edit.** The take and its return each name the schedule version they were
//! made against (the current one when none is given), bump it and keep it, like every
//! schedule edit: a concurrent editor is told to reload.

use onair_domain::{Ticks, Timestamp};
use onair_store::{LiveTakeRow, NewTake};
use serde::Serialize;

use super::synthetic::slate_segments;
use crate::Control;
use crate::refusal::Refusal;
use crate::registry::{LoadedChannel, load_channel};
use crate::schedule::channel;

/// How long after the request a take (or a return) lands at the earliest.
pub const TAKE_LEAD: Ticks = Ticks::from_millis(1_500);

/// A take as the API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TakeView {
    pub id: i64,
    pub channel: String,
    /// `live` (a live source airs) or `slate` (the channel's slate airs: "slate now").
    pub kind: &'static str,
    /// The live source; `None` for a take to the slate.
    pub source: Option<String>,
    /// `next` (not on air yet), `on_air`, `returning` (its return not reached yet), `ended`, or
    /// `cancelled` (returned before it aired).
    pub state: &'static str,
    /// The segment boundary it airs from (RFC 3339).
    pub start: String,
    /// The segment boundary the schedule resumes at; `None` while on air.
    pub end: Option<String>,
    pub taken_by: String,
    pub taken_at: String,
    /// The schedule version the take published.
    pub take_version: i64,
    pub returned_by: Option<String>,
    pub returned_at: Option<String>,
    pub return_version: Option<i64>,
}

impl Control {
    /// Takes channel `slug` to live source `source` at the first segment boundary
    /// [`TAKE_LEAD`] from now. Refused: an unknown channel or source (404), a source encoded
    /// to another ladder than the channel's (422), a channel off air or already taken, or a
    /// stale `expected` version (409).
    pub async fn take_live(
        &self,
        slug: &str,
        source: &str,
        author: &str,
        expected: Option<i64>,
    ) -> Result<TakeView, Refusal> {
        let channel = channel(&self.store, slug).await?;
        if !channel.on_air {
            return Err(Refusal::Conflict(format!(
                "channel {slug:?} is off air: put it on air before taking it live"
            )));
        }
        let row = self
            .store
            .live_source_by_name(source)
            .await?
            .ok_or_else(|| Refusal::NotFound(format!("there is no live source {source:?}")))?;
        if row.ladder_id != channel.ladder_id {
            return Err(Refusal::invalid_field(
                "source",
                format!(
                    "live source {source:?} is encoded to another ladder than channel {slug:?}: \
                     its segments would not splice"
                ),
            ));
        }
        let now = self.clock.now();
        let (start, _) = self.next_boundary(&channel, now).await?;
        let take = self
            .begin_take(&channel, Some(source), start, author, expected, now)
            .await?;
        tracing::info!(channel = %slug, source, start = %start.to_rfc3339_millis(), author, "taken to live");
        Ok(view(slug, take, now))
    }

    /// Puts channel `slug` on its slate at the first segment boundary [`TAKE_LEAD`] from now,
    /// until [`Control::return_to_schedule`]: a take without a source, whose every slot airs
    /// the slate. Refused: an unknown channel (404), a channel off air, already taken, without
    /// a slate that can air in place of its segments, or a stale `expected` version (409).
    pub async fn slate_now(
        &self,
        slug: &str,
        author: &str,
        expected: Option<i64>,
    ) -> Result<TakeView, Refusal> {
        let channel = channel(&self.store, slug).await?;
        if !channel.on_air {
            return Err(Refusal::Conflict(format!(
                "channel {slug:?} is off air: there is nothing to put on its slate"
            )));
        }
        let now = self.clock.now();
        let (start, loaded) = self.next_boundary(&channel, now).await?;
        let ladder = loaded.playout.ladder();
        let slate = loaded
            .slate
            .and_then(|id| loaded.playout.assets().get(&id))
            .and_then(|asset| slate_segments(asset, ladder));
        if slate.is_none() {
            return Err(Refusal::Conflict(format!(
                "channel {slug:?} has no slate that can air in place of its segments (one in \
                 MPEG-TS for every rung of its ladder, with segments of one length)"
            )));
        }
        let take = self
            .begin_take(&channel, None, start, author, expected, now)
            .await?;
        tracing::info!(channel = %slug, start = %start.to_rfc3339_millis(), author, "slate now");
        Ok(view(slug, take, now))
    }

    /// Stores a take of `source` (`None`: the slate) from `start`, against `expected` (the
    /// current version when `None`).
    async fn begin_take(
        &self,
        channel: &onair_domain::Channel,
        source: Option<&str>,
        start: Timestamp,
        author: &str,
        expected: Option<i64>,
        now: Timestamp,
    ) -> Result<LiveTakeRow, Refusal> {
        let expected = match expected {
            Some(version) => version,
            None => self.store.schedule_version(channel.id).await?,
        };
        Ok(self
            .store
            .begin_live_take(NewTake {
                channel: channel.id,
                source,
                start,
                expected_version: expected,
                author,
                now,
            })
            .await?)
    }

    /// Returns channel `slug` from its take (a live source's or the slate's) to its schedule at
    /// the first segment boundary [`TAKE_LEAD`] from now (at the take's start when it has not
    /// aired yet: it never airs). 404 when the channel has no take on air; 409 for a stale
    /// `expected` version.
    pub async fn return_to_schedule(
        &self,
        slug: &str,
        author: &str,
        expected: Option<i64>,
    ) -> Result<TakeView, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let now = self.clock.now();
        let (end, _) = self.next_boundary(&channel, now).await?;
        let expected = match expected {
            Some(version) => version,
            None => self.store.schedule_version(channel.id).await?,
        };
        let take = self
            .store
            .end_live_take(channel.id, end, expected, author, now)
            .await
            .map_err(|error| match error {
                onair_store::StoreError::NotFound(_) => Refusal::NotFound(format!(
                    "channel {slug:?} is not taken live nor on its slate: it airs its schedule"
                )),
                other => other.into(),
            })?;
        let source = take.source.as_deref().unwrap_or("slate");
        tracing::info!(channel = %slug, source, end = %end.to_rfc3339_millis(), author, "returned to the schedule");
        Ok(view(slug, take, now))
    }

    /// The channel's takes on air or ended in the last `hours`, oldest first.
    pub async fn live_takes(&self, slug: &str, hours: u32) -> Result<Vec<TakeView>, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let now = self.clock.now();
        let since = now - Ticks::from_secs(i64::from(hours) * 3_600);
        let takes = self.store.live_takes(channel.id, since).await?;
        Ok(takes
            .into_iter()
            .map(|take| view(slug, take, now))
            .collect())
    }

    /// The first planned segment boundary at least [`TAKE_LEAD`] after `now`, on the timeline
    /// every replica plans for the channel, and the channel as loaded for it.
    async fn next_boundary(
        &self,
        channel: &onair_domain::Channel,
        now: Timestamp,
    ) -> Result<(Timestamp, LoadedChannel), Refusal> {
        let loaded = load_channel(&self.store, channel.clone(), now)
            .await
            .map_err(|error| Refusal::Conflict(format!("the channel cannot air: {error}")))?;
        let timeline = loaded.playout.timeline();
        let earliest = now + TAKE_LEAD;
        let at = timeline.segment_at(earliest).ok_or_else(|| {
            Refusal::Conflict(format!(
                "channel {} has nothing planned at {}",
                channel.slug,
                earliest.to_rfc3339_millis()
            ))
        })?;
        let boundary = if at.start == earliest {
            at.start
        } else {
            at.end()
        };
        Ok((boundary, loaded))
    }
}

fn view(slug: &str, take: LiveTakeRow, now: Timestamp) -> TakeView {
    let state = match take.end {
        Some(end) if end == take.start => "cancelled",
        _ if take.start > now => "next",
        None => "on_air",
        Some(end) if end > now => "returning",
        Some(_) => "ended",
    };
    TakeView {
        id: take.id,
        channel: slug.to_owned(),
        kind: if take.source.is_some() {
            "live"
        } else {
            "slate"
        },
        source: take.source,
        state,
        start: take.start.to_rfc3339_millis(),
        end: take.end.map(|end| end.to_rfc3339_millis()),
        taken_by: take.taken_by,
        taken_at: take.taken_at.to_rfc3339_millis(),
        take_version: take.take_version,
        returned_by: take.returned_by,
        returned_at: take.returned_at.map(|at| at.to_rfc3339_millis()),
        return_version: take.return_version,
    }
}
