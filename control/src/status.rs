//! What each channel airs now and next, and what is wrong with it: the operator's channel cards
//! and on-air desk.
//!
//! [`channel_status`] computes a [`ChannelStatus`] from the plan playout follows, the channel's
//! takes to air and its live sources' states, at an instant, without IO. [`StatusBoard`] runs it
//! for every channel once a second on one task ([`StatusBoard::spawn`]) and shares the result
//! through a [`tokio::sync::watch`]: every page and every event stream reads the same snapshot,
//! and nothing is computed per connection.
//!
//! - **Now and next** are the plan's items as they air (an item's ad breaks are part of it) and
//!   the gap fill between them (filler, slate), each with its start and end; a take to air is
//!   what airs while it lasts, and is next when it lands before now ends.
//! - **The state**: off air (a channel taken off air, retired or without a plan), live (a live
//!   item or a take airs, from its source), slate (gap fill airs, or a take to the slate: "slate
//!   now") or on air.
//! - **Problems**: retired, no plan loaded, gap fill of at least [`StatusOptions::gap_notice`]
//!   within [`StatusOptions::horizon`] (or nothing planned after some point: slate for ever),
//!   and a live source without a publisher while it is on air.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use onair_domain::{Channel, ChannelId, Ticks, Timestamp};
use onair_scheduler::Plan;
use onair_store::{AsRunEntry, LiveState, LiveTakeRow};
use tokio::sync::watch;

use crate::registry::PlannedChannels;
use crate::schedule::channel;
use crate::{Control, Refusal};

mod walk;

use walk::{Source, Walk};

/// How far the status looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusOptions {
    /// Gaps are looked for from now to now + this.
    pub horizon: Ticks,
    /// Gap fill shorter than this is padding (before a hard start), not a problem.
    pub gap_notice: Ticks,
}

impl Default for StatusOptions {
    fn default() -> StatusOptions {
        StatusOptions {
            horizon: Ticks::from_secs(3_600),
            gap_notice: Ticks::from_secs(60),
        }
    }
}

/// What a slot is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotKind {
    Programme,
    /// A live item of the grid, from its source.
    Live {
        source: String,
    },
    /// A take to air by hand.
    Take {
        source: String,
    },
    /// Gap fill: filler (and slate after it).
    Filler,
    /// Gap fill: the channel's slate.
    Slate,
}

/// A programme, a live item, a take or gap fill, as it airs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub title: String,
    pub kind: SlotKind,
    pub start: Timestamp,
    /// `None`: nothing planned ends it (the slate after the plan's end, a take not returned).
    pub end: Option<Timestamp>,
}

impl Slot {
    /// How far through it `now` is, from 0 to 1; `None` without an end.
    pub fn progress(&self, now: Timestamp) -> Option<f64> {
        let end = self.end?;
        let length = (end - self.start).0;
        if length <= 0 {
            return Some(1.0);
        }
        Some(((now - self.start).0 as f64 / length as f64).clamp(0.0, 1.0))
    }
}

/// What the channel airs, in one word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AirState {
    /// Its schedule's programmes.
    OnAir,
    /// Gap fill: its slate or filler.
    Slate,
    /// A live item or a take to air, from `source`.
    Live { source: String, take: bool },
    /// Nothing: taken off air, retired, or without a plan.
    OffAir,
}

impl AirState {
    /// For people: `on air`, `slate`, `live`, `off air`.
    pub fn label(&self) -> &'static str {
        match self {
            AirState::OnAir => "on air",
            AirState::Slate => "slate",
            AirState::Live { .. } => "live",
            AirState::OffAir => "off air",
        }
    }

    /// For machines (CSS classes, test ids): `on-air`, `slate`, `live`, `off-air`.
    pub fn key(&self) -> &'static str {
        match self {
            AirState::OnAir => "on-air",
            AirState::Slate => "slate",
            AirState::Live { .. } => "live",
            AirState::OffAir => "off-air",
        }
    }
}

/// Something an operator should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusProblem {
    /// Off air for good.
    Retired,
    /// No plan is loaded: nothing of it airs (its log says why).
    NoPlan,
    /// Gap fill from `start` to `end` (`None`: nothing is planned after `start`).
    Gap {
        start: Timestamp,
        end: Option<Timestamp>,
        filler: bool,
    },
    /// A live item or take airs `source`, and nobody publishes to it (`state` as the ingest
    /// reported it; `None` for a source that does not exist): its fallback or the slate airs.
    NoSignal {
        source: String,
        state: Option<LiveState>,
    },
}

impl StatusProblem {
    /// A sentence, with times in `zone`.
    pub fn describe(&self, zone: Tz) -> String {
        match self {
            StatusProblem::Retired => "retired: off air for good".to_owned(),
            StatusProblem::NoPlan => {
                "no plan is loaded: nothing airs (the server's log says why)".to_owned()
            }
            StatusProblem::Gap { start, end, filler } => {
                let fill = if *filler { "filler and slate" } else { "slate" };
                match end {
                    Some(end) => format!(
                        "gap of {} from {} filled with {fill}",
                        duration_text(*end - *start),
                        local_time(zone, *start)
                    ),
                    None => format!(
                        "nothing is planned after {}: {fill} airs from then on",
                        local_time(zone, *start)
                    ),
                }
            }
            StatusProblem::NoSignal { source, state } => match state {
                Some(state) => format!(
                    "live source {source} has no signal ({state}): its fallback or the slate airs"
                ),
                None => format!("live source {source} does not exist: its fallback airs"),
            },
        }
    }
}

/// `HH:MM:SS` in `zone`.
pub fn local_time(zone: Tz, at: Timestamp) -> String {
    at.to_datetime()
        .with_timezone(&zone)
        .format("%H:%M:%S")
        .to_string()
}

/// `4 min 30 s`, `2 h 5 min`, `45 s`.
pub fn duration_text(duration: Ticks) -> String {
    let secs = duration.as_millis().max(0) / 1_000;
    let (hours, minutes, seconds) = (secs / 3_600, secs / 60 % 60, secs % 60);
    match (hours, minutes, seconds) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// A channel's status at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStatus {
    pub channel_id: ChannelId,
    pub slug: String,
    pub name: String,
    pub zone: Tz,
    pub state: AirState,
    pub now: Option<Slot>,
    pub next: Option<Slot>,
    pub problems: Vec<StatusProblem>,
}

/// What [`channel_status`] reads.
#[derive(Debug, Clone, Copy)]
pub struct StatusInput<'a> {
    pub channel: &'a Channel,
    /// The plan playout follows; `None` when none is loaded.
    pub plan: Option<&'a Plan>,
    /// The channel's takes to air, in any order (older ones are ignored).
    pub takes: &'a [LiveTakeRow],
    /// Each live source's state, by name.
    pub sources: &'a HashMap<String, LiveState>,
}

/// The channel's status at `now` (see the module doc). Pure.
pub fn channel_status(
    input: &StatusInput<'_>,
    now: Timestamp,
    options: &StatusOptions,
) -> ChannelStatus {
    let channel = input.channel;
    let mut status = ChannelStatus {
        channel_id: channel.id,
        slug: channel.slug.to_string(),
        name: channel.name.clone(),
        zone: channel.time_zone,
        state: AirState::OffAir,
        now: None,
        next: None,
        problems: Vec::new(),
    };
    if channel.retired {
        status.problems.push(StatusProblem::Retired);
        return status;
    }
    let Some((plan, timeline)) = input
        .plan
        .and_then(|plan| Some((plan, plan.timeline.as_deref()?)))
    else {
        status.problems.push(StatusProblem::NoPlan);
        return status;
    };
    if !channel.on_air {
        return status;
    }
    let walk = Walk { plan, timeline };
    let spans = walk.spans(now, now + options.horizon);
    let Some(current) = spans.first() else {
        // Before the plan's first instant, or after the end of one with neither tail nor repeat.
        let start = if now < timeline.origin() {
            Some(timeline.origin())
        } else {
            None
        };
        status.problems.push(StatusProblem::Gap {
            start: now,
            end: start,
            filler: false,
        });
        return status;
    };
    status.state = match &current.source {
        Source::Fill { .. } => AirState::Slate,
        Source::Item { index, .. } => match &plan.items[*index].live {
            Some(live) => AirState::Live {
                source: live.source_key.clone(),
                take: false,
            },
            None => AirState::OnAir,
        },
    };
    status.now = Some(walk.slot(current));
    status.next = spans.get(1).map(|span| walk.slot(span));
    for span in &spans {
        let Source::Fill { filler } = span.source else {
            continue;
        };
        let long = span
            .end
            .is_none_or(|end| end - span.start >= options.gap_notice);
        if long && span.start < now + options.horizon {
            status.problems.push(StatusProblem::Gap {
                start: span.start,
                end: span.end,
                filler,
            });
        }
    }

    // A take to air overrides the schedule while it lasts.
    let takes = input
        .takes
        .iter()
        .filter(|take| take.end != Some(take.start));
    let airing = takes
        .clone()
        .filter(|take| take.start <= now && take.end.is_none_or(|end| now < end))
        .max_by_key(|take| take.start);
    if let Some(take) = airing {
        status.state = match &take.source {
            Some(source) => AirState::Live {
                source: source.clone(),
                take: true,
            },
            None => AirState::Slate,
        };
        status.now = Some(take_slot(take));
        status.next = take.end.and_then(|end| {
            let span = walk.spans(end, end).into_iter().next()?;
            Some(Slot {
                start: end,
                ..walk.slot(&span)
            })
        });
    } else if let Some(take) = takes
        .filter(|take| take.start > now)
        .filter(|take| {
            status
                .now
                .as_ref()
                .is_some_and(|slot| slot.end.is_none_or(|end| take.start <= end))
        })
        .min_by_key(|take| take.start)
    {
        status.next = Some(take_slot(take));
    }

    if let AirState::Live { source, .. } = &status.state {
        let state = input.sources.get(source).copied();
        if state != Some(LiveState::Publishing) {
            status.problems.push(StatusProblem::NoSignal {
                source: source.clone(),
                state,
            });
        }
    }
    status
}

fn take_slot(take: &LiveTakeRow) -> Slot {
    let (title, kind) = match &take.source {
        Some(source) => (
            format!("Live from {source} (taken by {})", take.taken_by),
            SlotKind::Take {
                source: source.clone(),
            },
        ),
        None => (
            format!("Slate now (taken by {})", take.taken_by),
            SlotKind::Slate,
        ),
    };
    Slot {
        title,
        kind,
        start: take.start,
        end: take.end,
    }
}

/// Every channel's status at one instant, by slug.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusSnapshot {
    /// When it was computed; `None` before the first pass.
    pub at: Option<Timestamp>,
    pub channels: Vec<ChannelStatus>,
}

impl StatusSnapshot {
    pub fn channel(&self, slug: &str) -> Option<&ChannelStatus> {
        self.channels.iter().find(|status| status.slug == slug)
    }
}

/// The shared status of every channel: one task computes it ([`StatusBoard::spawn`]), any
/// number of pages and event streams read it. Cheap to clone.
#[derive(Clone)]
pub struct StatusBoard {
    sender: Arc<watch::Sender<Arc<StatusSnapshot>>>,
    /// Set when the server stops: readers that follow the board for ever (event streams) end,
    /// so that a graceful shutdown does not wait for them.
    closed: Arc<watch::Sender<bool>>,
}

impl Default for StatusBoard {
    fn default() -> StatusBoard {
        StatusBoard {
            sender: Arc::new(watch::channel(Arc::new(StatusSnapshot::default())).0),
            closed: Arc::new(watch::channel(false).0),
        }
    }
}

impl StatusBoard {
    /// A board and the task that computes it every `every` from the control plane's store and
    /// clock and the registry's plans, on the current runtime (for the process's life).
    pub fn spawn(
        control: Control,
        plans: Arc<dyn PlannedChannels>,
        every: Duration,
    ) -> StatusBoard {
        let board = StatusBoard::default();
        tokio::spawn(board.clone().run(control, plans, every));
        board
    }

    async fn run(self, control: Control, plans: Arc<dyn PlannedChannels>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match snapshot(&control, plans.as_ref(), &StatusOptions::default()).await {
                Ok(snapshot) => self.publish(snapshot),
                Err(refusal) => tracing::warn!(%refusal, "cannot compute the channels' status"),
            }
        }
    }

    /// Hands every reader `snapshot`.
    pub fn publish(&self, snapshot: StatusSnapshot) {
        self.sender.send_replace(Arc::new(snapshot));
    }

    /// The latest snapshot.
    pub fn current(&self) -> Arc<StatusSnapshot> {
        self.sender.borrow().clone()
    }

    /// The latest snapshot, waiting up to `patience` for the first pass.
    pub async fn ready(&self, patience: Duration) -> Arc<StatusSnapshot> {
        let mut receiver = self.subscribe();
        let first = tokio::time::timeout(patience, receiver.wait_for(|now| now.at.is_some()));
        match first.await {
            Ok(Ok(snapshot)) => snapshot.clone(),
            _ => self.current(),
        }
    }

    /// A receiver that sees every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<StatusSnapshot>> {
        self.sender.subscribe()
    }

    /// Tells every reader that follows the board that the server stops.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Resolves once [`StatusBoard::close`] has been called.
    pub async fn closed(&self) {
        let mut closed = self.closed.subscribe();
        let _ = closed.wait_for(|closed| *closed).await;
    }
}

/// Every channel's status now: the channels (retired ones too), their takes and the sources'
/// states from the store (three reads), the plans from the registry.
pub async fn snapshot(
    control: &Control,
    plans: &dyn PlannedChannels,
    options: &StatusOptions,
) -> Result<StatusSnapshot, Refusal> {
    let now = control.clock.now();
    let channels = control.store.channels().await?;
    let mut takes: HashMap<ChannelId, Vec<LiveTakeRow>> = HashMap::new();
    for take in control
        .store
        .all_live_takes(now - Ticks::from_secs(60))
        .await?
    {
        takes.entry(take.channel_id).or_default().push(take);
    }
    let sources: HashMap<String, LiveState> = control
        .store
        .live_sources()
        .await?
        .into_iter()
        .map(|source| (source.name, source.state))
        .collect();
    let planned: HashMap<String, Arc<Plan>> = plans
        .planned()
        .into_iter()
        .map(|planned| (planned.slug, planned.plan))
        .collect();
    let mut statuses: Vec<ChannelStatus> = channels
        .iter()
        .map(|channel| {
            let input = StatusInput {
                channel,
                plan: planned.get(channel.slug.as_str()).map(Arc::as_ref),
                takes: takes.get(&channel.id).map_or(&[][..], Vec::as_slice),
                sources: &sources,
            };
            channel_status(&input, now, options)
        })
        .collect();
    statuses.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(StatusSnapshot {
        at: Some(now),
        channels: statuses,
    })
}

impl Control {
    /// The last `count` runs of channel `slug`'s as-run log that started in the `within` up to
    /// now, oldest first: the on-air desk's tail.
    pub async fn as_run_tail(
        &self,
        slug: &str,
        count: usize,
        within: Ticks,
    ) -> Result<Vec<AsRunEntry>, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let now = self.clock.now();
        let mut entries = self
            .store
            .as_run_between(channel.id, now - within, now)
            .await?;
        let skip = entries.len().saturating_sub(count);
        entries.drain(..skip);
        Ok(entries)
    }
}

#[cfg(test)]
mod tests;
