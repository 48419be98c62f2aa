//! What a channel's live items air instead of their fallback, slot by slot: [`LiveAirings`],
//! which the control plane builds from the live segments the store recorded and the HLS
//! writers read through [`ChannelPlayout::live`](crate::ChannelPlayout::live).
//!
//! A live item plans as its fallback. Each planned segment of it is a **slot**: the live
//! segment captured for exactly that slot (same start, same duration) airs instead, when the
//! ingest recorded it in time; otherwise the fallback's segment airs. Consecutive slots of one
//! publish are one run; every switch between live and fallback, or between publishes, is a
//! run boundary and so a discontinuity. An item's slots are **decided** up to some point: a
//! slot past it is never listed (the window stops before it), so a listed segment never
//! changes.
//!
//! The discontinuity sequence of the segments of an item is the planned one of its first
//! segment, plus what the items before it added, plus the aired runs before the segment's. After
//! a complete item, every segment's is the planned one shifted by `aired runs - planned runs`
//! summed over the complete items before it ([`LiveAirings::shift`]), which the control plane
//! keeps in the store so that every replica, and every restart, numbers the same.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use onair_domain::media::{AAC_LC_CODEC, AudioTrack};
use onair_domain::{
    Asset, AssetId, AssetState, Ladder, Packaging, Rendition, Run, RunKind, SegmentInfo,
    SegmentTrack, Ticks, Timestamp,
};

/// The aired runs of a channel's live item occurrences, and what complete ones added to the
/// discontinuity sequence.
#[derive(Debug, Clone, Default)]
pub struct LiveAirings {
    /// What the complete items before the first of `items` added to the discontinuity
    /// sequence (they are no longer listed, only counted).
    pub base_shift: i64,
    /// Ordered by `first_media_sequence`, not overlapping.
    pub items: Vec<LiveItemAiring>,
}

/// One occurrence of a live item, or a take to air, as decided so far.
#[derive(Debug, Clone)]
pub struct LiveItemAiring {
    /// The live source it airs; `None` for a take to the slate (its every slot airs slate).
    pub source: Option<Arc<str>>,
    /// A take to air by hand (its slots without a live segment air slate), not a grid item.
    pub take: bool,
    /// The planned media sequence of its first segment.
    pub first_media_sequence: u64,
    /// Its planned segments (slots).
    pub n_segments: u64,
    /// The discontinuity sequence of its first aired run, before what earlier items added: the
    /// planned one of its first segment, plus one when that segment does not start a planned
    /// run (a take to air lands between two segments of a run, and starts a run of its own).
    pub first_discontinuity_sequence: u64,
    /// The planned runs that start at its segments.
    pub planned_runs: u32,
    /// The segment after it continues a planned run (the schedule joins in progress after a
    /// take) and starts no other item: it starts an aired run, one more discontinuity.
    pub resumes_mid_run: bool,
    /// Slots decided from its first: those from here on are not listed yet. Equal to
    /// `n_segments` once the item is complete.
    pub decided: u64,
    /// Laid end to end over the decided slots, from the first.
    pub runs: Vec<LiveItemRun>,
}

/// A stretch of an item's slots that airs as one run.
#[derive(Debug, Clone)]
pub struct LiveItemRun {
    /// Its first slot, from the item's first.
    pub first_slot: u64,
    pub n_slots: u64,
    /// `Some`: the live segments of one publish; `None`: the planned (fallback) segments, of one
    /// planned run (a stretch of fallback that crosses a planned run boundary is two runs).
    pub live: Option<Arc<LiveRun>>,
}

/// Live segments of one publish, as a run of a synthetic asset whose segments are the slots'
/// live segments (one per slot, from the run's first).
#[derive(Debug, Clone)]
pub struct LiveRun {
    pub run: Run,
    pub asset: Asset,
    /// When its first segment starts.
    pub start: Timestamp,
}

/// Where the ingest writes a publish's files, relative to the media root.
pub fn publish_dir(source: &str, publish: i64) -> String {
    format!("live/{source}/{publish}")
}

impl LiveRun {
    /// The live segments of one publish as a run of a synthetic asset: its renditions name the
    /// files the ingest wrote, `live/{source}/{publish}/{rendition}/{start}.ts` (or `.m4s`, with
    /// the CMAF init `init-0.mp4` beside them), `{start}` in 90 kHz ticks since the Unix epoch.
    pub fn of_publish(
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
                segments: files(&rung.name, "ts").into(),
            };
            renditions.push(Rendition {
                packaging: Packaging::Cmaf,
                codecs: rung.video_codec(),
                init_path: Some(format!("{dir}/{}/init-0.mp4", rung.name)),
                segments: files(&rung.name, "m4s").into(),
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
                segments: files(&track.name, "m4s").into(),
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
}

/// What [`LiveAirings::airing`] says about a planned segment.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SlotAiring<'a> {
    /// Not in a live item: planned, its discontinuity sequence shifted by this much; with
    /// `resumes`, the first segment after an item that ended inside a planned run.
    Planned { shift: i64, resumes: bool },
    /// In a live item, decided: the run at index `run_index` of the item airs it.
    Decided {
        /// The aired discontinuity sequence, given the planned one of the segment.
        discontinuity_sequence: u64,
        /// Its first slot.
        starts_run: bool,
        /// `Some`: the live run and the index of the segment in its synthetic asset.
        live: Option<(&'a LiveRun, u32)>,
    },
    /// In a live item but not decided yet: not listed.
    Undecided,
}

impl LiveAirings {
    /// What the complete items that ended before segment `media_sequence` added to the
    /// discontinuity sequence.
    pub fn shift(&self, media_sequence: u64) -> i64 {
        let mut shift = self.base_shift;
        for item in &self.items {
            if item.first_media_sequence + item.n_segments > media_sequence {
                break;
            }
            shift += item.added_discontinuities();
        }
        shift
    }

    /// How the planned segment numbered `media_sequence` airs.
    pub(crate) fn airing(&self, media_sequence: u64) -> SlotAiring<'_> {
        let index = self
            .items
            .partition_point(|item| item.first_media_sequence <= media_sequence);
        let Some(item) = index.checked_sub(1).map(|index| &self.items[index]) else {
            return SlotAiring::Planned {
                shift: self.base_shift,
                resumes: false,
            };
        };
        let slot = media_sequence - item.first_media_sequence;
        if slot >= item.n_segments {
            return SlotAiring::Planned {
                shift: self.shift(media_sequence),
                resumes: slot == item.n_segments && item.resumes_mid_run && item.is_complete(),
            };
        }
        if slot >= item.decided {
            return SlotAiring::Undecided;
        }
        let Some(run_index) = item
            .runs
            .iter()
            .position(|run| slot < run.first_slot + run.n_slots)
        else {
            return SlotAiring::Undecided;
        };
        let run = &item.runs[run_index];
        let shift_before = self.shift(item.first_media_sequence);
        SlotAiring::Decided {
            discontinuity_sequence: item
                .first_discontinuity_sequence
                .saturating_add_signed(shift_before)
                .saturating_add(run_index as u64),
            starts_run: slot == run.first_slot,
            live: run.live.as_deref().map(|live| {
                (
                    live,
                    live.run.first_segment + (slot - run.first_slot) as u32,
                )
            }),
        }
    }
}

impl LiveItemAiring {
    /// Discontinuities its aired runs (and the resumption after it) add against the planned
    /// ones (once complete).
    pub fn added_discontinuities(&self) -> i64 {
        self.runs.len() as i64 - i64::from(self.planned_runs) + i64::from(self.resumes_mid_run)
    }

    pub fn is_complete(&self) -> bool {
        self.decided >= self.n_segments
    }
}

/// A channel's live airings, replaced as slots are decided: shared by every [`ChannelPlayout`]
/// the channel is planned into, so a new plan keeps what was decided.
///
/// [`ChannelPlayout`]: crate::ChannelPlayout
///
/// It also holds the channel's **live delay**: how far behind the clock its manifests' live
/// edge is. A live slot is listed only once decided, its end plus the grace and the margin
/// after; a channel that can air live lists everything that late, so its edge stays the same
/// distance behind the clock across every switch (players that keep a distance to the edge,
/// shaka among them, starve when it grows at a switch). It is set once, when the channel is
/// first loaded, and never changes: a live edge that moved back would unlist segments.
#[derive(Debug, Clone, Default)]
pub struct LiveHandle {
    airings: Arc<RwLock<Arc<LiveAirings>>>,
    /// Bumped by every [`LiveHandle::set`]: cached playlists are keyed by it.
    generation: Arc<AtomicU64>,
    delay: Ticks,
}

impl LiveHandle {
    /// A handle whose channel's live edge is `delay` behind the clock.
    pub fn with_delay(delay: Ticks) -> LiveHandle {
        LiveHandle {
            delay: delay.max(Ticks::ZERO),
            ..LiveHandle::default()
        }
    }

    /// How far behind the clock the channel's manifests' live edge is.
    pub fn delay(&self) -> Ticks {
        self.delay
    }

    pub fn get(&self) -> Arc<LiveAirings> {
        self.airings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set(&self, airings: LiveAirings) {
        *self.airings.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(airings);
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use onair_domain::{AssetId, Ladder, Run, RunKind, Ticks};

    use super::*;
    use crate::fixtures::{self, at_millis, track};
    use crate::hls::{MediaPlaylistOptions, render_session_media_playlist};
    use crate::testing::parse_hls;
    use crate::{ChannelBreaks, ChannelPlayout};

    const LIVE: AssetId = AssetId(100);

    /// Two live segments (slots 1 and 2) of publish 1.
    fn live_run() -> Arc<LiveRun> {
        let asset = fixtures::asset(LIVE, &[Ticks::from_secs(2); 2], &Ladder::demo(), |_| (0, 0));
        let run = Run::whole(RunKind::Programme, LIVE, "Match", track(&asset));
        Arc::new(LiveRun {
            run,
            asset,
            start: at_millis(8_000),
        })
    }

    /// The live item with its first `decided` slots decided: fallback, live, live, fallback.
    fn airings(decided: u64) -> LiveAirings {
        let all = [
            LiveItemRun {
                first_slot: 0,
                n_slots: 1,
                live: None,
            },
            LiveItemRun {
                first_slot: 1,
                n_slots: 2,
                live: Some(live_run()),
            },
            LiveItemRun {
                first_slot: 3,
                n_slots: 1,
                live: None,
            },
        ];
        let runs = all
            .into_iter()
            .filter(|run| run.first_slot < decided)
            .map(|mut run| {
                run.n_slots = run.n_slots.min(decided - run.first_slot);
                run
            })
            .collect();
        LiveAirings {
            base_shift: 0,
            items: vec![LiveItemAiring {
                source: Some(Arc::from("studio")),
                take: false,
                first_media_sequence: 3,
                n_segments: 4,
                first_discontinuity_sequence: 1,
                planned_runs: 2,
                resumes_mid_run: false,
                decided,
                runs,
            }],
        }
    }

    fn playlist(playout: &ChannelPlayout, millis: i64) -> crate::testing::HlsPlaylist {
        let text = render_session_media_playlist(
            playout,
            "360p",
            at_millis(millis),
            &MediaPlaylistOptions::default(),
            &ChannelBreaks,
        )
        .unwrap();
        parse_hls(&text)
    }

    /// Each listed segment: media and discontinuity sequence, its discontinuity tag, its URI.
    fn summary(listed: &crate::testing::HlsPlaylist) -> Vec<(u64, u64, bool, &str)> {
        listed
            .segments
            .iter()
            .map(|segment| {
                (
                    segment.media_sequence,
                    segment.discontinuity_sequence,
                    segment.discontinuity,
                    segment.uri.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn live_slots_air_their_live_segments_between_fallback_with_a_discontinuity_each_way() {
        let playout = fixtures::live_item_playout();
        playout.live().set(airings(4));
        let listed = playlist(&playout, 18_500);
        assert_eq!(
            summary(&listed),
            vec![
                (5, 2, false, "/media/assets/100/360p/ts/00001.ts"),
                (6, 3, true, "/media/assets/3/360p/ts/00001.ts"),
                (7, 4, true, "/media/assets/1/360p/ts/00000.ts"),
                (8, 4, false, "/media/assets/1/360p/ts/00001.ts"),
            ]
        );
        assert_eq!(listed.discontinuity_sequence, 2);
    }

    #[test]
    fn the_window_stops_before_the_first_slot_not_decided() {
        let playout = fixtures::live_item_playout();
        playout.live().set(airings(2));
        let listed = playlist(&playout, 12_500);
        let summary: Vec<(u64, u64, &str)> = listed
            .segments
            .iter()
            .map(|segment| {
                (
                    segment.media_sequence,
                    segment.discontinuity_sequence,
                    segment.uri.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (2, 0, "/media/assets/1/360p/ts/00002.ts"),
                (3, 1, "/media/assets/3/360p/ts/00000.ts"),
                (4, 2, "/media/assets/100/360p/ts/00000.ts"),
            ]
        );
    }

    #[test]
    fn a_listed_segment_never_changes_as_more_slots_are_decided() {
        let playout = fixtures::live_item_playout();
        let mut seen: HashMap<u64, (u64, String)> = HashMap::new();
        for (decided, millis) in [(1, 10_500), (2, 12_500), (3, 14_500), (4, 16_500)] {
            playout.live().set(airings(decided));
            for millis in [millis, millis + 1_000] {
                for segment in playlist(&playout, millis).segments {
                    let now = (segment.discontinuity_sequence, segment.uri.clone());
                    let before = seen.entry(segment.media_sequence).or_insert(now.clone());
                    assert_eq!(*before, now, "segment {}", segment.media_sequence);
                }
            }
        }
        assert_eq!(seen.len(), 7, "{seen:?}");
    }

    /// A take to air over media sequence 1, inside the first programme run (0-2), its slot
    /// live: the schedule joins in progress at 2, inside the same planned run.
    fn take(resumes_mid_run: bool) -> LiveAirings {
        LiveAirings {
            base_shift: 0,
            items: vec![LiveItemAiring {
                source: Some(Arc::from("studio")),
                take: true,
                first_media_sequence: 1,
                n_segments: 1,
                // Planned 0 at segment 1, which starts no run: the take starts one.
                first_discontinuity_sequence: 1,
                planned_runs: 0,
                resumes_mid_run,
                decided: 1,
                runs: vec![LiveItemRun {
                    first_slot: 0,
                    n_slots: 1,
                    live: Some(live_run()),
                }],
            }],
        }
    }

    #[test]
    fn a_take_inside_a_planned_run_starts_a_run_and_the_schedule_joins_in_progress_with_another() {
        let playout = fixtures::live_item_playout();
        playout.live().set(take(true));
        let listed = playlist(&playout, 8_500);
        assert_eq!(
            summary(&listed),
            vec![
                (0, 0, false, "/media/assets/1/360p/ts/00000.ts"),
                (1, 1, true, "/media/assets/100/360p/ts/00000.ts"),
                (2, 2, true, "/media/assets/1/360p/ts/00002.ts"),
                (3, 3, true, "/media/assets/3/360p/ts/00000.ts"),
            ]
        );
        assert_eq!(take(true).shift(2), 2);
        assert_eq!(take(false).shift(2), 1);
    }

    #[test]
    fn a_complete_item_shifts_the_discontinuity_sequence_of_everything_after_it() {
        let live = airings(4);
        assert_eq!(live.shift(3), 0);
        assert_eq!(live.shift(7), 1);
        let incomplete = airings(3);
        assert_eq!(incomplete.shift(7), 0);
        let with_base = LiveAirings {
            base_shift: 5,
            ..airings(4)
        };
        assert_eq!(with_base.shift(0), 5);
        assert_eq!(with_base.shift(100), 6);
    }

    #[test]
    fn the_cached_playlist_follows_the_live_airings() {
        let handle = LiveHandle::default();
        let before = handle.generation();
        handle.set(airings(1));
        assert!(handle.generation() > before);
        assert_eq!(handle.get().items[0].decided, 1);
    }
}
