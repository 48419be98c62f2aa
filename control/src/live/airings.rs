//! The loop that decides every live slot of every channel on air (see [`crate::live`]) and
//! hands playout the result, and the grid each source is cut on.
//!
//! Each pass reads every channel's takes to air (one query), then the store once per live
//! span near now: the occurrences of the plan's live items (every period of a repeating
//! timeline) and the takes that overlap the last [`LiveTimes::lookback`] or start within
//! [`LiveTimes::lookahead`]. A take overrides the grid: an occurrence starting inside one is
//! left out, one running into one ends where it starts. A span's decided runs are kept between
//! passes, and only the slots past them are read again.
//!
//! A take's slots are the planned segments from its start to its return (any lengths: the
//! ingest's grid follows them, see `grid_anchor`); a slot without its live segment in time
//! airs the channel's slate when the slate's segments have the slot's length, else the
//! planned segment. A take to the slate ("slate now") has no source: every slot of it airs the
//! slate (when its segments fit), and no ingest cuts a grid for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use onair_domain::{ChannelId, Ladder, Ticks, Timestamp};
use onair_playout::origin::Directory;
use onair_playout::{ChannelPlayout, LiveAirings, LiveItemAiring, LiveItemRun, LiveRun};
use onair_scheduler::Plan;
use onair_store::{LiveSegmentRow, LiveSourceRow, LiveTakeRow};

use super::spans::{OPEN, grid_anchor, spans};
pub use super::synthetic::publish_dir;
use super::synthetic::{SlateSegments, slate_segments};
use crate::Control;
use crate::refusal::Refusal;
use crate::registry::{PlannedChannel, PlannedChannels};

/// The times that decide a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveTimes {
    /// A live segment recorded later than this after its slot ends is not used.
    pub grace: Ticks,
    /// A slot is decided this long after its deadline, so every replica reads the same rows.
    pub margin: Ticks,
    /// Occurrences that ended longer ago than this are no longer read (what they added to the
    /// discontinuity sequence is read from the store).
    pub lookback: Ticks,
    /// Occurrences starting within this are read ahead, so the ingest knows their grid.
    pub lookahead: Ticks,
}

impl Default for LiveTimes {
    fn default() -> LiveTimes {
        LiveTimes {
            grace: Ticks::from_millis(1_000),
            margin: Ticks::from_millis(500),
            lookback: Ticks::from_secs(3_600),
            lookahead: Ticks::from_secs(120),
        }
    }
}

/// A source's cut grid: slots of `segment` from `anchor`, for the occurrence airing or next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub anchor: Timestamp,
    pub segment: Ticks,
}

/// One live item occurrence or take to air as decided so far, kept between passes.
#[derive(Debug, Clone)]
struct Occurrence {
    airing: LiveItemAiring,
    /// `None` for a take to the slate.
    source: Option<String>,
    /// A take to air: slots without a live segment air the slate (when its segments fit).
    take: bool,
    /// The decided slots: live (publish), slate, or the planned run index.
    slots: Vec<SlotKind>,
    /// Recorded in the store once complete.
    recorded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Live { publish: i64 },
    Slate,
    Planned { run_index: usize },
}

#[derive(Default)]
struct ChannelState {
    /// The plan the occurrences were read against: a new plan starts them again.
    plan: Option<Arc<Plan>>,
    occurrences: HashMap<(Timestamp, bool), Occurrence>,
    /// What was last handed to playout, to hand it again only when it changes.
    signature: Vec<(u64, u64, u64, usize, bool)>,
    base_shift: i64,
    /// What `base_shift` was read for: the earliest occurrence and how many are recorded.
    shift_key: Option<(Option<Timestamp>, usize)>,
}

/// Decides live slots for every planned channel, every `every`.
pub struct LiveAiringsLoop {
    control: Control,
    directory: Arc<Directory>,
    plans: Arc<dyn PlannedChannels>,
    times: LiveTimes,
    channels: Mutex<HashMap<String, ChannelState>>,
    anchors: Mutex<HashMap<String, Anchor>>,
}

impl LiveAiringsLoop {
    pub fn new(
        control: Control,
        directory: Arc<Directory>,
        plans: Arc<dyn PlannedChannels>,
        times: LiveTimes,
    ) -> Arc<LiveAiringsLoop> {
        Arc::new(LiveAiringsLoop {
            control,
            directory,
            plans,
            times,
            channels: Mutex::new(HashMap::new()),
            anchors: Mutex::new(HashMap::new()),
        })
    }

    /// The grid the source is to be cut on: a take to air on air or next, else its occurrence
    /// airing now, or the next one.
    pub fn anchor(&self, source: &str) -> Option<Anchor> {
        self.anchors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source)
            .copied()
    }

    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(refusal) = self.pass().await {
                tracing::warn!(%refusal, "cannot decide the live slots");
            }
        }
    }

    /// One pass over every planned channel.
    pub async fn pass(&self) -> Result<(), Refusal> {
        let read_at = self.control.clock.now();
        let planned = self.plans.planned();
        let mut takes: HashMap<ChannelId, Vec<LiveTakeRow>> = HashMap::new();
        for take in self
            .control
            .store
            .all_live_takes(read_at - self.times.lookback)
            .await?
        {
            takes.entry(take.channel_id).or_default().push(take);
        }
        let with_live: Vec<&PlannedChannel> = planned
            .iter()
            .filter(|channel| {
                channel.plan.items.iter().any(|item| item.live.is_some())
                    || self
                        .directory
                        .get(&channel.slug)
                        .is_some_and(|playout| takes.contains_key(&playout.channel().id))
            })
            .collect();
        if with_live.is_empty() {
            *self.anchors.lock().unwrap_or_else(PoisonError::into_inner) = HashMap::new();
            return Ok(());
        }
        let sources: HashMap<String, LiveSourceRow> = self
            .control
            .store
            .live_sources()
            .await?
            .into_iter()
            .map(|row| (row.name.clone(), row))
            .collect();
        let mut anchors = HashMap::new();
        for channel in with_live {
            let Some(playout) = self.directory.get(&channel.slug) else {
                continue;
            };
            let channel_takes = takes
                .get(&playout.channel().id)
                .map_or(&[][..], Vec::as_slice);
            self.channel_pass(
                channel,
                &playout,
                &sources,
                channel_takes,
                read_at,
                &mut anchors,
            )
            .await?;
        }
        *self.anchors.lock().unwrap_or_else(PoisonError::into_inner) = anchors
            .into_iter()
            .map(|(source, (_, anchor))| (source, anchor))
            .collect();
        Ok(())
    }

    async fn channel_pass(
        &self,
        channel: &PlannedChannel,
        playout: &ChannelPlayout,
        sources: &HashMap<String, LiveSourceRow>,
        takes: &[LiveTakeRow],
        read_at: Timestamp,
        anchors: &mut HashMap<String, ((bool, Timestamp), Anchor)>,
    ) -> Result<(), Refusal> {
        let timeline = playout.timeline();
        let ladder = playout.ladder();
        let channel_id = playout.channel().id;
        let slate = channel
            .slate
            .and_then(|id| playout.assets().get(&id))
            .and_then(|asset| slate_segments(asset, ladder));
        let mut state = self.take_state(&channel.slug, &channel.plan);
        let window_from = read_at - self.times.lookback;
        let window_to = read_at + self.times.lookahead;
        let spans = spans(
            &channel.plan,
            timeline,
            takes,
            |name| {
                sources
                    .get(name)
                    .is_some_and(|source| source.ladder_id == ladder.id)
            },
            window_from,
            window_to,
        );
        let mut seen = Vec::new();
        for (index, span) in spans.iter().enumerate() {
            // A take to the slate has no source; a span of a source that is gone does not air.
            let source = match &span.source {
                Some(name) => match sources.get(name) {
                    Some(source) => Some(source),
                    None => continue,
                },
                None => None,
            };
            let Some(first) = timeline.segment_by_sequence(span.first) else {
                continue;
            };
            // The segment after it continues a planned run, and no other span starts there.
            let resumes_mid_run = span.n_segments != OPEN
                && spans
                    .get(index + 1)
                    .is_none_or(|next| next.first != span.first + span.n_segments)
                && timeline
                    .segment_by_sequence(span.first + span.n_segments)
                    .is_some_and(|after| !after.starts_run);
            let key = (span.start, span.take);
            let occurrence = state.occurrences.entry(key).or_insert_with(|| Occurrence {
                airing: LiveItemAiring {
                    source: source.map(|source| Arc::from(source.name.as_str())),
                    take: span.take,
                    first_media_sequence: span.first,
                    n_segments: span.n_segments,
                    first_discontinuity_sequence: first.discontinuity_sequence
                        + u64::from(!first.starts_run),
                    planned_runs: 0,
                    resumes_mid_run,
                    decided: 0,
                    runs: Vec::new(),
                },
                source: source.map(|source| source.name.clone()),
                take: span.take,
                slots: Vec::new(),
                recorded: false,
            });
            // A take returned (or cut short by another) since the last pass.
            if occurrence.airing.n_segments != span.n_segments {
                occurrence.airing.n_segments = span.n_segments.max(occurrence.airing.decided);
                occurrence.airing.resumes_mid_run = resumes_mid_run;
            }
            seen.push(key);
            // The grid the ingest cuts on: this span while it airs or is next.
            let end = (span.n_segments != OPEN)
                .then(|| timeline.segment_by_sequence(span.first + span.n_segments))
                .flatten()
                .map(|after| after.start);
            if let Some(source) = source
                && end.is_none_or(|end| end > read_at)
            {
                let candidate = Anchor {
                    anchor: grid_anchor(timeline, span, read_at, ladder.segment_duration),
                    segment: ladder.segment_duration,
                };
                // A take (an operator's word) before the grid's items; else the earliest.
                let rank = (!span.take, candidate.anchor);
                anchors
                    .entry(source.name.clone())
                    .and_modify(|(current_rank, current)| {
                        if rank < *current_rank {
                            (*current_rank, *current) = (rank, candidate);
                        }
                    })
                    .or_insert((rank, candidate));
            }
            self.decide(occurrence, source, playout, slate.as_ref(), read_at)
                .await?;
            if occurrence.airing.is_complete() && !occurrence.recorded {
                // Stored as two counts of at least one whose difference is what it added.
                let added = occurrence.airing.added_discontinuities();
                let planned = (1 - added).max(1);
                self.control
                    .store
                    .record_live_airing(
                        channel_id,
                        span.start,
                        planned as u32,
                        (planned + added) as u32,
                    )
                    .await?;
                occurrence.recorded = true;
            }
        }
        state.occurrences.retain(|key, _| seen.contains(key));
        let earliest = state.occurrences.keys().map(|(start, _)| *start).min();
        // What complete occurrences before the earliest one held added: it changes only when
        // that one changes or an occurrence completes (each replica records the same numbers).
        let recorded = state
            .occurrences
            .values()
            .filter(|occurrence| occurrence.recorded)
            .count();
        let shift_key = (earliest, recorded);
        if state.shift_key != Some(shift_key) {
            state.base_shift = self
                .control
                .store
                .live_airings_shift(channel_id, earliest.unwrap_or(read_at))
                .await?;
            state.shift_key = Some(shift_key);
        }
        self.publish(&channel.slug, playout, state);
        Ok(())
    }

    /// Decides the occurrence's slots whose deadline has passed, reading only the slots past
    /// those decided before.
    async fn decide(
        &self,
        occurrence: &mut Occurrence,
        source: Option<&LiveSourceRow>,
        playout: &ChannelPlayout,
        slate: Option<&SlateSegments>,
        read_at: Timestamp,
    ) -> Result<(), Refusal> {
        let timeline = playout.timeline();
        let ladder = playout.ladder();
        let airing = &occurrence.airing;
        let decidable_by = read_at - self.times.margin - self.times.grace;
        let mut slots = Vec::new();
        for slot in airing.decided..airing.n_segments {
            let Some(at) = timeline.segment_by_sequence(airing.first_media_sequence + slot) else {
                break;
            };
            if at.end() > decidable_by {
                break;
            }
            slots.push(at);
        }
        if slots.is_empty() {
            return Ok(());
        }
        let from = slots[0].start;
        let to = slots[slots.len() - 1].end();
        let rows: HashMap<Timestamp, LiveSegmentRow> = match source {
            Some(source) => self
                .control
                .store
                .live_segments(source.id, from, to)
                .await?
                .into_iter()
                .map(|row| (row.start, row))
                .collect(),
            None => HashMap::new(),
        };
        for at in &slots {
            let kind = match rows.get(&at.start) {
                Some(row)
                    if row.duration == at.duration
                        && row.recorded_at <= at.end() + self.times.grace =>
                {
                    SlotKind::Live {
                        publish: row.publish_id,
                    }
                }
                _ if occurrence.take
                    && slate.is_some_and(|slate| slate.duration == at.duration) =>
                {
                    SlotKind::Slate
                }
                _ => SlotKind::Planned {
                    run_index: at.run_index,
                },
            };
            occurrence.slots.push(kind);
            occurrence.airing.planned_runs += u32::from(at.starts_run);
        }
        occurrence.airing.decided = occurrence.slots.len() as u64;
        occurrence.airing.runs = aired_runs(occurrence, playout, ladder, slate);
        Ok(())
    }

    fn take_state(&self, slug: &str, plan: &Arc<Plan>) -> ChannelState {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let state = channels.remove(slug).unwrap_or_default();
        match &state.plan {
            Some(known) if Arc::ptr_eq(known, plan) => state,
            // A new plan: numbers may have moved for what is not yet on air; start again (the
            // store's rows give the same answers for the slots already decided).
            _ => ChannelState {
                plan: Some(plan.clone()),
                ..ChannelState::default()
            },
        }
    }

    /// Hands playout the channel's airings when they changed, and keeps the state.
    fn publish(&self, slug: &str, playout: &ChannelPlayout, mut state: ChannelState) {
        let mut items: Vec<LiveItemAiring> = state
            .occurrences
            .values()
            .map(|occurrence| occurrence.airing.clone())
            .collect();
        items.sort_by_key(|item| item.first_media_sequence);
        let mut signature: Vec<(u64, u64, u64, usize, bool)> = items
            .iter()
            .map(|item| {
                (
                    item.first_media_sequence,
                    item.n_segments,
                    item.decided,
                    item.runs.len(),
                    item.resumes_mid_run,
                )
            })
            .collect();
        signature.push((state.base_shift as u64, 0, 0, 0, false));
        if signature != state.signature {
            playout.live().set(LiveAirings {
                base_shift: state.base_shift,
                items,
            });
            state.signature = signature;
        }
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(slug.to_owned(), state);
    }
}

/// The occurrence's decided slots as runs: consecutive slots of one publish are one live run;
/// consecutive planned slots of one planned run are one run.
fn aired_runs(
    occurrence: &Occurrence,
    playout: &ChannelPlayout,
    ladder: &Ladder,
    slate: Option<&SlateSegments>,
) -> Vec<LiveItemRun> {
    let timeline = playout.timeline();
    let airing = &occurrence.airing;
    let mut runs: Vec<LiveItemRun> = Vec::new();
    let mut group_start = 0usize;
    for slot in 0..=occurrence.slots.len() {
        // A run of slate ends with the slate's last file: the next pass starts over at its
        // first, whose timestamps go back, so it is a run (a discontinuity) of its own.
        let slate_pass_ends = occurrence.slots[group_start..]
            .first()
            .is_some_and(|kind| *kind == SlotKind::Slate)
            && slate.is_some_and(|slate| slot - group_start >= slate.files());
        let boundary = slot == occurrence.slots.len()
            || (slot > group_start
                && (occurrence.slots[slot] != occurrence.slots[group_start] || slate_pass_ends));
        if !boundary {
            continue;
        }
        if slot > group_start {
            let live = match occurrence.slots[group_start] {
                SlotKind::Live { publish } => {
                    let source = occurrence.source.as_deref().unwrap_or_default();
                    let segments: Vec<(Timestamp, Ticks)> = (group_start..slot)
                        .filter_map(|index| {
                            timeline
                                .segment_by_sequence(airing.first_media_sequence + index as u64)
                                .map(|at| (at.start, at.duration))
                        })
                        .collect();
                    Some(Arc::new(LiveRun::of_publish(
                        source, publish, ladder, &segments,
                    )))
                }
                SlotKind::Slate => slate.and_then(|slate| {
                    let start = timeline
                        .segment_by_sequence(airing.first_media_sequence + group_start as u64)?
                        .start;
                    Some(Arc::new(slate.run(slot - group_start, start)))
                }),
                SlotKind::Planned { .. } => None,
            };
            runs.push(LiveItemRun {
                first_slot: group_start as u64,
                n_slots: (slot - group_start) as u64,
                live,
            });
        }
        group_start = slot;
    }
    runs
}
