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
//! planned segment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use onair_domain::media::{AAC_LC_CODEC, AudioTrack};
use onair_domain::{
    Asset, AssetId, AssetState, ChannelId, Ladder, Packaging, Rendition, Run, RunKind, SegmentInfo,
    SegmentTrack, Ticks, Timeline, Timestamp,
};
use onair_playout::origin::Directory;
use onair_playout::{ChannelPlayout, LiveAirings, LiveItemAiring, LiveItemRun, LiveRun};
use onair_scheduler::Plan;
use onair_store::{LiveSegmentRow, LiveSourceRow, LiveTakeRow};

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
    source: String,
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

/// What airs live on a channel, before its slots are decided: a live item's occurrence, or a
/// take to air, as planned segments `[first, first + n_segments)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    start: Timestamp,
    first: u64,
    /// `OPEN` for a take still on air.
    n_segments: u64,
    source: String,
    take: bool,
}

/// The segments of a take still on air: more than any channel airs.
const OPEN: u64 = u64::MAX / 4;

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
            let Some(source) = sources.get(&span.source) else {
                continue;
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
                    source: Arc::from(source.name.as_str()),
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
                source: source.name.clone(),
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
            if end.is_none_or(|end| end > read_at) {
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
        source: &LiveSourceRow,
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
        let rows: HashMap<Timestamp, LiveSegmentRow> = self
            .control
            .store
            .live_segments(source.id, from, to)
            .await?
            .into_iter()
            .map(|row| (row.start, row))
            .collect();
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

/// The starts of an item's occurrences (first-pass start `first`, lasting `length`) that
/// overlap `[from, to)`: every period of a repeating timeline, else the one.
fn occurrence_starts(
    timeline: &onair_domain::Timeline,
    first: Timestamp,
    length: Ticks,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Timestamp> {
    if !timeline.repeats() {
        return if first < to && first + length > from {
            vec![first]
        } else {
            Vec::new()
        };
    }
    let period = timeline.period();
    if period <= Ticks::ZERO {
        return Vec::new();
    }
    // The first k with first + k·period + length > from.
    let k0 = (from - length - first).0.div_euclid(period.0) + 1;
    let mut starts = Vec::new();
    let mut k = k0.max(0);
    loop {
        let start = first + Ticks(k * period.0);
        if start >= to {
            break;
        }
        if start + length > from {
            starts.push(start);
        }
        k += 1;
    }
    starts
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
        let boundary = slot == occurrence.slots.len()
            || (slot > group_start && occurrence.slots[slot] != occurrence.slots[group_start]);
        if !boundary {
            continue;
        }
        if slot > group_start {
            let live = match occurrence.slots[group_start] {
                SlotKind::Live { publish } => {
                    let segments: Vec<(Timestamp, Ticks)> = (group_start..slot)
                        .filter_map(|index| {
                            timeline
                                .segment_by_sequence(airing.first_media_sequence + index as u64)
                                .map(|at| (at.start, at.duration))
                        })
                        .collect();
                    Some(Arc::new(live_run(
                        &occurrence.source,
                        publish,
                        ladder,
                        &segments,
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

/// What airs live on a channel near now (`[from, to)`): its live items' occurrences whose
/// source can air on it (`source_fits`), and its takes to air, by first segment. A take
/// overrides the live items: an occurrence that starts inside a take is left out, one that
/// runs into a take ends where it starts.
fn spans(
    plan: &Plan,
    timeline: &Timeline,
    takes: &[LiveTakeRow],
    source_fits: impl Fn(&str) -> bool,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Span> {
    let mut taken: Vec<Span> = Vec::new();
    for take in takes {
        if take.start >= to || take.end.is_some_and(|end| end <= from) {
            continue;
        }
        let Some(first) = timeline
            .segment_at(take.start)
            .filter(|at| at.start == take.start)
        else {
            tracing::warn!(start = %take.start, source = %take.source, "a take to air does not start on a segment boundary of the plan: not aired");
            continue;
        };
        let n_segments = match take.end {
            None => OPEN,
            Some(end) => match timeline.segment_at(end) {
                Some(at) if at.start == end => at.media_sequence - first.media_sequence,
                Some(at) => at.media_sequence + 1 - first.media_sequence,
                None => continue,
            },
        };
        if n_segments == 0 {
            continue;
        }
        taken.push(Span {
            start: take.start,
            first: first.media_sequence,
            n_segments,
            source: take.source.clone(),
            take: true,
        });
    }
    let mut spans = Vec::new();
    for item in &plan.items {
        let Some(live) = item
            .live
            .as_ref()
            .filter(|live| source_fits(&live.source_key))
        else {
            continue;
        };
        let length = item.end - item.start;
        for start in occurrence_starts(timeline, item.start, length, from, to) {
            let Some(first) = timeline.segment_at(start).filter(|at| at.start == start) else {
                continue;
            };
            let mut n_segments: u64 = timeline.runs()[item.runs.clone()]
                .iter()
                .map(|run| u64::from(run.n_segments))
                .sum();
            let first = first.media_sequence;
            if taken.iter().any(|take| {
                take.first <= first && first < take.first.saturating_add(take.n_segments)
            }) {
                continue;
            }
            if let Some(take) = taken
                .iter()
                .filter(|take| take.first > first && take.first < first + n_segments)
                .min_by_key(|take| take.first)
            {
                n_segments = take.first - first;
            }
            spans.push(Span {
                start,
                first,
                n_segments,
                source: live.source_key.clone(),
                take: false,
            });
        }
    }
    spans.extend(taken);
    spans.sort_by_key(|span| span.first);
    spans
}

/// Where the ingest's grid of `segment` is anchored for `span`: a live item's start; for a
/// take, the slot about to be cut, brought back to the first point of its grid at or after
/// the take's start (so the anchor stays put while the planned segments keep to one grid, and
/// moves after one that does not, such as the end of an asset).
fn grid_anchor(timeline: &Timeline, span: &Span, read_at: Timestamp, segment: Ticks) -> Timestamp {
    if !span.take || segment <= Ticks::ZERO {
        return span.start;
    }
    let soon = read_at + Ticks::from_secs(1);
    if soon <= span.start {
        return span.start;
    }
    match timeline.segment_at(soon) {
        Some(at) => span.start + Ticks((at.start - span.start).0.rem_euclid(segment.0)),
        None => span.start,
    }
}

/// A channel's slate as whole segments of one length, for a take's slots without a live
/// segment: each rendition's segments, looped.
#[derive(Debug, Clone)]
struct SlateSegments {
    asset: Asset,
    duration: Ticks,
}

/// The slate's segments (every packaging it has) when every rung has them in MPEG-TS and all
/// of them last alike.
fn slate_segments(asset: &Asset, ladder: &Ladder) -> Option<SlateSegments> {
    let has_ts = ladder.rungs.iter().all(|rung| {
        asset
            .renditions
            .iter()
            .any(|rendition| rendition.rung == rung.name && rendition.packaging == Packaging::Ts)
    });
    let renditions = asset.renditions.clone();
    if !has_ts {
        return None;
    }
    let duration = renditions.first()?.segments.first()?.duration;
    let uniform = renditions.iter().all(|rendition| {
        !rendition.segments.is_empty()
            && rendition
                .segments
                .iter()
                .all(|segment| segment.duration == duration)
    });
    uniform.then(|| SlateSegments {
        asset: Asset {
            renditions,
            ..asset.clone()
        },
        duration,
    })
}

impl SlateSegments {
    /// `n` slate segments from `start`, looping the slate, as a run of a synthetic asset.
    fn run(&self, n: usize, start: Timestamp) -> LiveRun {
        let renditions = self
            .asset
            .renditions
            .iter()
            .map(|rendition| Rendition {
                segments: (0..n)
                    .map(|index| SegmentInfo {
                        index: index as u32,
                        duration: self.duration,
                        ..rendition.segments[index % rendition.segments.len()].clone()
                    })
                    .collect(),
                ..rendition.clone()
            })
            .collect();
        let asset = Asset {
            renditions,
            duration: Ticks(self.duration.0 * n as i64),
            ..self.asset.clone()
        };
        let run = Run::whole(
            RunKind::Slate,
            asset.id,
            "slate",
            Arc::new(SegmentTrack::new(vec![self.duration; n])),
        );
        LiveRun { run, asset, start }
    }
}

/// Where the ingest writes a publish's files, relative to the media root.
pub fn publish_dir(source: &str, publish: i64) -> String {
    format!("live/{source}/{publish}")
}

/// The live segments of one publish as a run of a synthetic asset: its MPEG-TS renditions
/// name the files the ingest wrote, `live/{source}/{publish}/{rung}/{start}.ts`.
fn live_run(
    source: &str,
    publish: i64,
    ladder: &Ladder,
    segments: &[(Timestamp, Ticks)],
) -> LiveRun {
    let dir = publish_dir(source, publish);
    let durations: Vec<Ticks> = segments.iter().map(|(_, duration)| *duration).collect();
    let files = |name: &str, extension: &str| -> Vec<SegmentInfo> {
        segments
            .iter()
            .enumerate()
            .map(|(index, (start, duration))| SegmentInfo {
                index: index as u32,
                duration: *duration,
                size_bytes: 0,
                path: format!("{dir}/{name}/{}.{extension}", start.0),
            })
            .collect()
    };
    // Each rung as MPEG-TS and as a CMAF video track, and each audio track in CMAF; a
    // publish's encoders keep their formats, so its CMAF tracks keep their first init.
    let mut renditions: Vec<Rendition> = Vec::new();
    for rung in &ladder.rungs {
        let rendition = Rendition {
            rung: rung.name.clone(),
            packaging: Packaging::Ts,
            codecs: rung.codecs(),
            width: rung.width,
            height: rung.height,
            peak_bandwidth: 0,
            average_bandwidth: 0,
            init_path: None,
            segments: files(&rung.name, "ts"),
        };
        renditions.push(Rendition {
            packaging: Packaging::Cmaf,
            codecs: rung.video_codec(),
            init_path: Some(format!("{dir}/{}/init-0.mp4", rung.name)),
            segments: files(&rung.name, "m4s"),
            ..rendition.clone()
        });
        renditions.push(rendition);
    }
    for track in AudioTrack::of_ladder(ladder) {
        renditions.push(Rendition {
            rung: track.name.clone(),
            packaging: Packaging::CmafAudio,
            codecs: AAC_LC_CODEC.to_owned(),
            width: 0,
            height: 0,
            peak_bandwidth: 0,
            average_bandwidth: 0,
            init_path: Some(format!("{dir}/{}/init-0.mp4", track.name)),
            segments: files(&track.name, "m4s"),
        });
    }
    // Synthetic: negative, so it never names a stored asset.
    let id = AssetId(-publish);
    let asset = Asset {
        id,
        title: source.to_owned(),
        source: format!("live:{source}"),
        ladder_id: ladder.id,
        state: AssetState::Ready,
        duration: durations.iter().copied().sum(),
        renditions,
    };
    let run = Run::whole(
        RunKind::Programme,
        id,
        source,
        Arc::new(SegmentTrack::new(durations)),
    );
    LiveRun {
        run,
        asset,
        start: segments.first().map_or(Timestamp(0), |(start, _)| *start),
    }
}

#[cfg(test)]
mod tests {
    use onair_domain::{AssetId, Run, RunKind, SegmentTrack, Ticks, Timeline, Timestamp};

    use super::*;

    fn secs(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_000 + secs)
    }

    /// A timeline of one 100 s run from `secs(0)`.
    fn timeline(repeat: bool) -> Timeline {
        let track = Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); 50]));
        let run = Run::whole(RunKind::Programme, AssetId(1), "p", track);
        Timeline::new(secs(0), vec![run], repeat, 0, 0).unwrap()
    }

    #[test]
    fn an_item_of_a_repeating_timeline_occurs_every_period_that_overlaps_the_window() {
        let starts = occurrence_starts(
            &timeline(true),
            secs(20),
            Ticks::from_secs(30),
            secs(160),
            secs(330),
        );
        // Occurrences at 20, 120, 220, 320, …: 120 ends at 150, before the window.
        assert_eq!(starts, vec![secs(220), secs(320)]);
    }

    #[test]
    fn an_item_of_a_timeline_that_does_not_repeat_occurs_once() {
        let timeline = timeline(false);
        let once = occurrence_starts(&timeline, secs(20), Ticks::from_secs(30), secs(0), secs(30));
        assert_eq!(once, vec![secs(20)]);
        let gone = occurrence_starts(
            &timeline,
            secs(20),
            Ticks::from_secs(30),
            secs(50),
            secs(90),
        );
        assert!(gone.is_empty());
    }
}
