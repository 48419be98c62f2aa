//! The ad policy: a break every N minutes of content or every N items, of a set duration,
//! within a maximum of ad time per clock hour (e.g. Roku's 8 minutes); and the accounting of
//! ad time per clock hour of a planned timeline, which the planner uses to report hours over
//! the cap.
//!
//! [`apply_ad_policy`] inserts breaks into grid items before planning, from their nominal
//! durations:
//!
//! - **Every N minutes**: a break falls where N minutes of content have aired since the last
//!   break (any break, the operator's included), at the item's cue point nearest to that mark
//!   when one lies within N/2 of it. A mark within two minutes of an item's end moves to after
//!   the item; one within two minutes of its start, to before it.
//! - **Every N items**: a break after every Nth item since the last break.
//! - Live events get no policy breaks (their breaks come from the source), and an item that
//!   already has breaks of its own keeps exactly those.
//! - A break never pushes a hard start: it is shortened to the room left before the next hard
//!   start, or dropped when less than [`AdPolicy::min_break`] is left.
//! - **The cap**: a break that would take its clock hour past [`AdPolicy::max_per_hour`] is
//!   shortened to what the hour has left (or dropped below `min_break`). The operator's own
//!   breaks are never changed; if they alone exceed the cap, the planner reports it
//!   ([`crate::PlanIssue::AdCapExceeded`], per hour, with the excess).
//!
//! Clock hours are hours of the channel's local time: they start where the local minute and
//! second are zero, so a 25-hour fall-back day has 25 of them.

use std::collections::{BTreeMap, HashMap};

use chrono::Timelike;
use chrono_tz::Tz;
use onair_domain::{Asset, AssetId, Ticks, Timeline, Timestamp};
use serde::{Deserialize, Serialize};

use crate::grid::{AdBreakSpec, GridItem, Start};

/// How far from an item's end (or start) a break moves to after (or before) the item.
pub const EDGE_GUARD: Ticks = Ticks::from_secs(120);

/// Shorter every-N-minutes cadences are taken as this.
pub const MIN_CADENCE: Ticks = Ticks::from_secs(60);

const HOUR: Ticks = Ticks::from_secs(3600);

/// How often breaks come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// After this much content since the last break (at least [`MIN_CADENCE`]).
    EveryMinutes(Ticks),
    /// After this many items since the last break.
    EveryItems(u32),
}

/// A channel's ad policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdPolicy {
    pub cadence: Cadence,
    /// How long each break lasts.
    pub break_duration: Ticks,
    /// At most this much ad time per clock hour.
    pub max_per_hour: Option<Ticks>,
    /// A break that would be shortened below this is dropped instead.
    pub min_break: Ticks,
    /// The channel's zone: where clock hours start.
    pub zone: Tz,
}

impl AdPolicy {
    /// The ad time the policy will add to a stretch of `window` filled with content: what fill
    /// rules leave room for. For every-N-items cadences it depends on the items; see
    /// [`crate::fill`].
    pub fn expected_ads(&self, window: Ticks) -> Ticks {
        let Cadence::EveryMinutes(every) = self.cadence else {
            return Ticks::ZERO;
        };
        let cycle = every + self.break_duration;
        if cycle <= Ticks::ZERO {
            return Ticks::ZERO;
        }
        let ads = Ticks(window.0 / cycle.0 * self.break_duration.0);
        match self.max_per_hour {
            Some(cap) => ads.min(Ticks(cap.0 * (window.0 + HOUR.0 - 1) / HOUR.0)),
            None => ads,
        }
    }
}

/// Why a policy break was shortened or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The clock hour from `hour` had reached the cap.
    HourCap { hour: Timestamp },
    /// The break would have pushed the hard start at `next_hard`.
    NoRoomBefore { next_hard: Timestamp },
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::HourCap { hour } => write!(f, "the clock hour from {hour} is at its ad cap"),
            Limit::NoRoomBefore { next_hard } => {
                write!(f, "there is no room before the hard start at {next_hard}")
            }
        }
    }
}

/// What the policy could not do as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdPolicyNote {
    #[error("policy break in {title:?} at about {at} shortened from {planned} to {aired}: {limit}")]
    BreakShortened {
        title: String,
        at: Timestamp,
        planned: Ticks,
        aired: Ticks,
        limit: Limit,
    },
    #[error("policy break in {title:?} at about {at} dropped: {limit}")]
    BreakDropped {
        title: String,
        at: Timestamp,
        limit: Limit,
    },
}

/// Ad time in one clock hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourAds {
    /// When the clock hour starts.
    pub hour: Timestamp,
    pub ads: Ticks,
}

/// The start of the clock hour (local minute and second zero in `zone`) that `at` is in.
pub fn clock_hour_start(at: Timestamp, zone: Tz) -> Timestamp {
    let local = at.to_datetime().with_timezone(&zone);
    let into_hour = i64::from(local.minute() * 60 + local.second());
    let subsecond = at.0.rem_euclid(Ticks::from_secs(1).0);
    Timestamp(at.0 - subsecond) - Ticks::from_secs(into_hour)
}

/// The start of the clock hour after the one starting at `hour`.
fn next_clock_hour(hour: Timestamp, zone: Tz) -> Timestamp {
    let candidate = hour + HOUR;
    let start = clock_hour_start(candidate, zone);
    if start > hour { start } else { candidate }
}

/// Adds `[start, end)` to the hours it overlaps.
fn add_interval(
    hours: &mut BTreeMap<Timestamp, Ticks>,
    zone: Tz,
    start: Timestamp,
    end: Timestamp,
) {
    let mut at = start;
    while at < end {
        let hour = clock_hour_start(at, zone);
        let until = next_clock_hour(hour, zone).min(end);
        *hours.entry(hour).or_default() += until - at;
        at = until;
    }
}

/// Ad time per clock hour of the timeline between `from` and `to` (clipped to them), for the
/// hours that have any.
pub fn ads_per_clock_hour(
    timeline: &Timeline,
    zone: Tz,
    from: Timestamp,
    to: Timestamp,
) -> Vec<HourAds> {
    let mut hours = BTreeMap::new();
    let period = timeline.period();
    let origin = timeline.origin();
    let mut pass = if timeline.repeats() {
        ((from - origin).0.div_euclid(period.0)).max(0)
    } else {
        0
    };
    loop {
        let pass_start = origin + Ticks(period.0 * pass);
        if pass_start >= to {
            break;
        }
        // From the first run that ends after `from`, found by its offset, to the first that
        // starts at `to`.
        // Back-to-back break runs (a slate looped through a break) are one interval: the
        // clock hours are looked up once a break, not once a run.
        let first = timeline.run_index_at(from - pass_start);
        let mut open: Option<(Timestamp, Timestamp)> = None;
        let mut at = pass_start + timeline.run_offset(first);
        for run in timeline.runs().slice(first..) {
            if at >= to {
                break;
            }
            let run_end = at + run.duration();
            if run.ad_break.is_some() && run_end > from {
                let (start, end) = (at.max(from), run_end.min(to));
                open = match open {
                    Some((open_start, open_end)) if open_end == start => Some((open_start, end)),
                    Some((open_start, open_end)) => {
                        add_interval(&mut hours, zone, open_start, open_end);
                        Some((start, end))
                    }
                    None => Some((start, end)),
                };
            }
            at = run_end;
        }
        if let Some((open_start, open_end)) = open {
            add_interval(&mut hours, zone, open_start, open_end);
        }
        if !timeline.repeats() {
            break;
        }
        pass += 1;
    }
    hours
        .into_iter()
        .map(|(hour, ads)| HourAds { hour, ads })
        .collect()
}

/// The clock hours of one pass of the timeline with more than `cap` of ads.
pub fn hours_over_cap(timeline: &Timeline, zone: Tz, cap: Ticks) -> Vec<HourAds> {
    let from = timeline.origin();
    ads_per_clock_hour(timeline, zone, from, from + timeline.period())
        .into_iter()
        .filter(|hour| hour.ads > cap)
        .collect()
}

/// Inserts the policy's breaks into `items` (see the module doc). The same inputs give the same
/// breaks.
pub fn apply_ad_policy(
    items: &[GridItem],
    assets: &HashMap<AssetId, Asset>,
    policy: &AdPolicy,
) -> (Vec<GridItem>, Vec<AdPolicyNote>) {
    let mut out = items.to_vec();
    let mut notes = Vec::new();
    let mut used: BTreeMap<Timestamp, Ticks> = BTreeMap::new();
    for (start, duration) in break_instants(&out, assets) {
        add_interval(&mut used, policy.zone, start, start + duration);
    }
    let mut cursor = Timestamp(0);
    let mut since_break = Ticks::ZERO;
    let mut items_since_break = 0u32;
    for index in 0..out.len() {
        if let Start::Hard(at) = out[index].start {
            cursor = at;
        }
        let item_start = cursor;
        let content = out[index].nominal_content(assets);
        if out[index].live.is_some() || !out[index].breaks.is_empty() {
            let last_offset = out[index]
                .breaks
                .iter()
                .map(|b| b.offset.min(content))
                .max();
            since_break = last_offset.map_or(Ticks::ZERO, |offset| content - offset);
            items_since_break = 0;
            cursor = cursor + out[index].nominal_duration(assets);
            continue;
        }
        let mut offsets = Vec::new();
        match policy.cadence {
            Cadence::EveryItems(every) => {
                items_since_break += 1;
                if items_since_break >= every.max(1) {
                    offsets.push(AdBreakSpec::AFTER);
                }
            }
            Cadence::EveryMinutes(every) => {
                let every = every.max(MIN_CADENCE);
                let mut mark = every - since_break;
                since_break += content;
                while mark < content {
                    let offset = place(mark, content, every, &out[index].cue_points);
                    offsets.push(offset);
                    since_break = content - offset.min(content);
                    // Always forward, even when the mark snapped to before the item.
                    let next = offset.min(content) + every;
                    mark = if next > mark { next } else { mark + every };
                }
            }
        }
        for offset in offsets {
            let item = &out[index];
            let before: Ticks = item
                .breaks
                .iter()
                .filter(|b| b.offset <= offset)
                .map(|b| b.duration)
                .sum();
            let at = item_start + offset.min(content) + before;
            let mut duration = policy.break_duration;
            let mut limit = None;
            if let Some((next_hard, room)) = room_before_next_hard(&out, index, item_start, assets)
                && room < duration
            {
                duration = room.max(Ticks::ZERO);
                limit = Some(Limit::NoRoomBefore { next_hard });
            }
            if let Some(cap) = policy.max_per_hour {
                let (allowed, hour) = cap_allowance(&used, policy.zone, cap, at, duration);
                if allowed < duration {
                    duration = allowed;
                    limit = Some(Limit::HourCap { hour });
                }
            }
            let title = item.info.title.clone();
            if duration < policy.min_break || duration <= Ticks::ZERO {
                notes.push(AdPolicyNote::BreakDropped {
                    title,
                    at,
                    limit: limit.unwrap_or(Limit::NoRoomBefore { next_hard: at }),
                });
                continue;
            }
            if let Some(limit) = limit {
                notes.push(AdPolicyNote::BreakShortened {
                    title,
                    at,
                    planned: policy.break_duration,
                    aired: duration,
                    limit,
                });
            }
            add_interval(&mut used, policy.zone, at, at + duration);
            out[index].breaks.push(AdBreakSpec::at(offset, duration));
            items_since_break = 0;
            if offset >= content {
                since_break = Ticks::ZERO;
            }
        }
        out[index].breaks.sort_by_key(|b| b.offset);
        cursor = cursor + out[index].nominal_duration(assets);
    }
    (out, notes)
}

/// Where a break due at `mark` goes: the nearest cue point within half a cadence, else the mark;
/// then before or after the item when within [`EDGE_GUARD`] of its start or end.
fn place(mark: Ticks, content: Ticks, every: Ticks, cue_points: &[Ticks]) -> Ticks {
    let half = Ticks(every.0 / 2);
    let offset = cue_points
        .iter()
        .copied()
        .filter(|cue| *cue > Ticks::ZERO && *cue < content)
        .filter(|cue| Ticks((*cue - mark).0.abs()) <= half)
        .min_by_key(|cue| ((*cue - mark).0.abs(), cue.0))
        .unwrap_or(mark);
    if content - offset < EDGE_GUARD {
        AdBreakSpec::AFTER
    } else if offset < EDGE_GUARD {
        Ticks::ZERO
    } else {
        offset
    }
}

/// Nominal start and duration of every break already in `items`.
fn break_instants(items: &[GridItem], assets: &HashMap<AssetId, Asset>) -> Vec<(Timestamp, Ticks)> {
    let mut instants = Vec::new();
    let mut cursor = Timestamp(0);
    for item in items {
        if let Start::Hard(at) = item.start {
            cursor = at;
        }
        let content = item.nominal_content(assets);
        let mut breaks = item.breaks.clone();
        breaks.sort_by_key(|b| b.offset);
        let mut before = Ticks::ZERO;
        for ad_break in breaks {
            instants.push((
                cursor + ad_break.offset.min(content) + before,
                ad_break.duration,
            ));
            before += ad_break.duration;
        }
        cursor = cursor + content + before;
    }
    instants
}

/// The next hard start after item `index` and the room left before it, when there is one.
fn room_before_next_hard(
    items: &[GridItem],
    index: usize,
    item_start: Timestamp,
    assets: &HashMap<AssetId, Asset>,
) -> Option<(Timestamp, Ticks)> {
    let mut end = item_start + items[index].nominal_duration(assets);
    for item in &items[index + 1..] {
        if let Start::Hard(at) = item.start {
            return Some((at, at - end));
        }
        end = end + item.nominal_duration(assets);
    }
    None
}

/// How much of a break of `duration` at `at` fits under the cap, and the hour that limits it.
fn cap_allowance(
    used: &BTreeMap<Timestamp, Ticks>,
    zone: Tz,
    cap: Ticks,
    at: Timestamp,
    duration: Ticks,
) -> (Ticks, Timestamp) {
    let mut allowed = Ticks::ZERO;
    let mut position = at;
    let end = at + duration;
    let mut hour = clock_hour_start(at, zone);
    while position < end {
        hour = clock_hour_start(position, zone);
        let until = next_clock_hour(hour, zone).min(end);
        let left = Ticks(
            (cap - used.get(&hour).copied().unwrap_or_default())
                .0
                .max(0),
        );
        let wanted = until - position;
        if left < wanted {
            allowed += left;
            return (allowed, hour);
        }
        allowed += wanted;
        position = until;
    }
    (allowed, hour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::ProgrammeInfo;
    use crate::test_support::{asset, at_utc, minutes};

    /// Every break's seconds in each clock hour of `[from, to)`, run by run from the origin.
    fn ads_walked(timeline: &Timeline, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Ticks)> {
        let mut hours = BTreeMap::new();
        for pass in 0..8 {
            let mut at = timeline.origin() + Ticks(timeline.period().0 * pass);
            for run in timeline.runs() {
                let end = at + run.duration();
                if run.ad_break.is_some() && end > from && at < to {
                    add_interval(&mut hours, Tz::UTC, at.max(from), end.min(to));
                }
                at = end;
            }
        }
        hours.into_iter().collect()
    }

    #[test]
    fn ads_per_clock_hour_counts_a_window_as_walking_every_run_from_the_origin_does() {
        use onair_domain::{BreakSlot, Run, RunKind, SegmentTrack};
        use std::sync::Arc;
        // 20 minutes of content, a 90 s break of 4 s slate passes (the last one cut), again.
        let content = Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); 600]));
        let slate = Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); 2]));
        let mut runs = Vec::new();
        for number in 0..3 {
            runs.push(Run::whole(
                RunKind::Programme,
                AssetId(1),
                "show",
                content.clone(),
            ));
            let slot = BreakSlot {
                number,
                duration: Ticks::from_secs(90),
            };
            for pass in 0..23 {
                let mut run = Run::whole(RunKind::AdBreak, AssetId(9), "ad break", slate.clone());
                if pass == 22 {
                    run.n_segments = 1;
                }
                run.ad_break = Some(slot);
                runs.push(run);
            }
        }
        let origin = at_utc("2026-12-08T00:10:00Z");
        let timeline = Timeline::new(origin, runs, true, 0, 0).unwrap();
        let minute = |m: i64| origin + minutes(m);
        for (from, to) in [
            (minute(0), minute(60)),
            (minute(-30), minute(95)),
            (minute(21), minute(22)),
            (minute(20) + Ticks::from_secs(7), minute(150)),
            (minute(64), minute(64) + Ticks::from_secs(1)),
            (minute(200), minute(300)),
        ] {
            let counted: Vec<(Timestamp, Ticks)> = ads_per_clock_hour(&timeline, Tz::UTC, from, to)
                .into_iter()
                .map(|hour| (hour.hour, hour.ads))
                .collect();
            assert_eq!(counted, ads_walked(&timeline, from, to), "{from} to {to}");
        }
    }

    fn policy(cadence: Cadence, cap_minutes: Option<i64>) -> AdPolicy {
        AdPolicy {
            cadence,
            break_duration: minutes(2),
            max_per_hour: cap_minutes.map(minutes),
            min_break: Ticks::from_secs(30),
            zone: Tz::UTC,
        }
    }

    fn show(asset_id: i64, start: Start) -> GridItem {
        GridItem::new(
            AssetId(asset_id),
            start,
            ProgrammeInfo::titled(format!("show {asset_id}")),
        )
    }

    fn breaks_of(items: &[GridItem]) -> Vec<Vec<(i64, i64)>> {
        items
            .iter()
            .map(|item| {
                item.breaks
                    .iter()
                    .map(|b| {
                        let offset = if b.offset == AdBreakSpec::AFTER {
                            -1
                        } else {
                            b.offset.0 / 90_000
                        };
                        (offset, b.duration.0 / 90_000)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_break_every_n_items_goes_after_every_nth_item() {
        let assets = crate::test_support::assets(vec![asset(1, 600, 10)]);
        let items: Vec<GridItem> = (0..5)
            .map(|k| {
                show(
                    1,
                    if k == 0 {
                        Start::Hard(at_utc("2026-11-21T20:00:00Z"))
                    } else {
                        Start::Soft
                    },
                )
            })
            .collect();
        let (items, notes) =
            apply_ad_policy(&items, &assets, &policy(Cadence::EveryItems(2), None));
        assert_eq!(notes, vec![]);
        assert_eq!(
            breaks_of(&items),
            vec![vec![], vec![(-1, 120)], vec![], vec![(-1, 120)], vec![]]
        );
    }

    #[test]
    fn a_break_every_n_minutes_prefers_a_nearby_cue_point_and_avoids_the_edges() {
        let assets = crate::test_support::assets(vec![asset(1, 1500, 10)]);
        let mut first = show(1, Start::Hard(at_utc("2026-11-21T20:00:00Z")));
        first.cue_points = vec![Ticks::from_secs(540)];
        let items = vec![first, show(1, Start::Soft)];
        let (items, _) = apply_ad_policy(
            &items,
            &assets,
            &policy(Cadence::EveryMinutes(minutes(10)), None),
        );
        // First item (25 min): cue at 9:00 instead of 10:00, then 19:00; the next mark (29:00)
        // is past the end. Second item: 6 min carried over, so marks at 4:00 and 14:00, 24:00
        // is within two minutes of its end (25:00), so after it.
        assert_eq!(
            breaks_of(&items),
            vec![
                vec![(540, 120), (1140, 120)],
                vec![(240, 120), (840, 120), (-1, 120)]
            ]
        );
    }

    #[test]
    fn ad_cap_enforcement_shortens_or_drops_policy_breaks_per_clock_hour() {
        let assets = crate::test_support::assets(vec![asset(1, 300, 10)]);
        // Items of 5 minutes, a 2-minute break after each: 7-minute cycles.
        let start = at_utc("2026-11-21T20:00:00Z");
        let items: Vec<GridItem> = (0..12)
            .map(|k| {
                show(
                    1,
                    if k == 0 {
                        Start::Hard(start)
                    } else {
                        Start::Soft
                    },
                )
            })
            .collect();
        #[rustfmt::skip]
        let table: &[(Option<i64>, i64, usize, usize)] = &[
            // cap (minutes), ad seconds in the 20:00 hour, shortened, dropped
            (None, 8 * 120, 0, 0),
            (Some(8), 8 * 60, 0, 6),
            (Some(5), 5 * 60, 1, 7),
        ];
        for (cap, ads_in_first_hour, shortened, dropped) in table {
            let policy = policy(Cadence::EveryItems(1), *cap);
            let (planned, notes) = apply_ad_policy(&items, &assets, &policy);
            let mut used = BTreeMap::new();
            for (at, duration) in break_instants(&planned, &assets) {
                add_interval(&mut used, Tz::UTC, at, at + duration);
            }
            assert_eq!(
                used.get(&start).copied().unwrap_or_default(),
                Ticks::from_secs(*ads_in_first_hour),
                "cap {cap:?}: {notes:?}"
            );
            let count = |shortened: bool| {
                notes
                    .iter()
                    .filter(|note| matches!(note, AdPolicyNote::BreakShortened { .. }) == shortened)
                    .count()
            };
            assert_eq!(
                (count(true), count(false)),
                (*shortened, *dropped),
                "cap {cap:?}: {notes:?}"
            );
        }
    }

    #[test]
    fn a_policy_break_never_pushes_a_hard_start() {
        let assets = crate::test_support::assets(vec![asset(1, 1500, 10)]);
        let items = vec![
            show(1, Start::Hard(at_utc("2026-11-21T20:00:00Z"))),
            show(1, Start::Hard(at_utc("2026-11-21T20:26:00Z"))),
        ];
        let (items, notes) =
            apply_ad_policy(&items, &assets, &policy(Cadence::EveryItems(1), None));
        assert_eq!(breaks_of(&items)[0], vec![(-1, 60)], "one minute of room");
        assert!(matches!(
            notes[0],
            AdPolicyNote::BreakShortened {
                limit: Limit::NoRoomBefore { .. },
                ..
            }
        ));
    }

    #[test]
    fn a_cadence_shorter_than_the_edge_guard_still_ends() {
        let assets = crate::test_support::assets(vec![asset(1, 600, 10)]);
        let items = vec![show(1, Start::Hard(at_utc("2026-11-21T20:00:00Z")))];
        let mut policy = policy(Cadence::EveryMinutes(Ticks(1)), None);
        policy.break_duration = Ticks::from_secs(30);
        let (items, _) = apply_ad_policy(&items, &assets, &policy);
        let offsets: Vec<(i64, i64)> = breaks_of(&items).remove(0);
        assert_eq!(
            offsets.first(),
            Some(&(0, 30)),
            "the first mark snaps to before the item"
        );
        assert_eq!(offsets.last(), Some(&(-1, 30)), "the last to after it");
        assert!(offsets.len() <= 10, "{offsets:?}");
    }

    #[test]
    fn clock_hours_follow_local_time_across_a_half_hour_zone_and_dst() {
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            clock_hour_start(at_utc("2026-11-21T20:10:00Z"), kolkata),
            at_utc("2026-11-21T19:30:00Z")
        );
        let new_york: Tz = "America/New_York".parse().unwrap();
        // 01:30 EST on the fall-back day is in the second 01:00 hour, which starts at 06:00Z.
        assert_eq!(
            clock_hour_start(at_utc("2026-11-01T06:30:00Z"), new_york),
            at_utc("2026-11-01T06:00:00Z")
        );
    }
}
