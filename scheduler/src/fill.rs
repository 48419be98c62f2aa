//! Fill rules: loop a playlist, or draw from a category of assets without repeating one within
//! N hours, to fill the soft gaps of a grid before the planner pads what is left with filler and
//! slate.
//!
//! A fill happens in two places:
//!
//! - an explicit [`FlatEntry::Fill`] fills from where it starts up to the next hard start, less
//!   the nominal duration of the items between it and that start (so "News, fill, Weather,
//!   hard 21:00 Movie" fills until Weather must begin); with no hard start after it, up to
//!   [`FillInput::until`];
//! - with a [`FillInput::default_rule`], every gap before a hard start of at least
//!   [`FillInput::min_gap`].
//!
//! Only whole assets that fit are placed: a playlist stops at the first entry that does not fit
//! (order matters), a category draw picks among those that fit. What is left is the planner's
//! automatic gap fill (filler, then slate). With an [`AdPolicy`], room is left for the breaks
//! it will add, so policy breaks never force a cut.
//!
//! Deterministic: the same inputs give the same grid. A category draw uses a small PRNG
//! seeded from the rule's seed, its name and the gap's start, so editing one gap does not
//! reshuffle the others. A playlist carries its position from one gap to the next, and starts
//! after its last entry found in [`FillInput::history`].

use std::collections::{BTreeMap, HashMap, HashSet};

use onair_domain::{Asset, AssetId, AssetState, Ticks, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ad_policy::{AdPolicy, Cadence};
use crate::grid::{FlatEntry, GridItem, ProgrammeInfo, Start};
use crate::plan::RightsWindow;

/// Where a fill rule takes its assets from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillSource {
    /// These assets in order, looping.
    Playlist(Vec<AssetId>),
    /// A random (seeded) pick among these assets, none repeating within `no_repeat_within` of
    /// its previous start.
    Category {
        assets: Vec<AssetId>,
        no_repeat_within: Ticks,
        seed: u64,
    },
}

/// A named way to fill gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRule {
    pub source: FillSource,
    /// The EPG metadata of what it places; each asset's own title when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<ProgrammeInfo>,
}

/// Fill rules by name.
pub type FillRules = BTreeMap<String, FillRule>;

/// What filling needs besides the entries.
#[derive(Debug, Clone, Copy)]
pub struct FillInput<'a> {
    pub rules: &'a FillRules,
    /// Fills every gap before a hard start (see the module doc).
    pub default_rule: Option<&'a str>,
    pub assets: &'a HashMap<AssetId, Asset>,
    /// An asset is placed only where it airs wholly inside its window.
    pub rights: &'a HashMap<AssetId, RightsWindow>,
    /// Earlier airings (asset, start), e.g. the previous day's plan.
    pub history: &'a [(AssetId, Timestamp)],
    /// Where a fill with no hard start after it ends.
    pub until: Option<Timestamp>,
    /// Room is left for the breaks this policy will add.
    pub ad_policy: Option<&'a AdPolicy>,
    /// Gaps shorter than this are left to the planner.
    pub min_gap: Ticks,
}

/// What filling could not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillProblem {
    #[error("fill rule {rule:?} does not exist")]
    UnknownRule { rule: String },
    #[error(
        "fill {rule:?} at {at} has no hard start after it and no end of the planning window: nothing was filled"
    )]
    Unbounded { rule: String, at: Timestamp },
    #[error("fill {rule:?} comes before any hard start, so it has no time: nothing was filled")]
    NoStart { rule: String },
    #[error("fill rule {rule:?} skips asset {asset_id}: {why}")]
    UnusableAsset {
        rule: String,
        asset_id: AssetId,
        why: String,
    },
    #[error(
        "fill {rule:?} at {at}: every asset that fits aired within its no-repeat window; {left} left unfilled"
    )]
    NoRepeatExhausted {
        rule: String,
        at: Timestamp,
        left: Ticks,
    },
}

/// Fills the gaps of `entries` (see the module doc) and returns the items with the fills in
/// place of the fill entries.
pub fn fill_gaps(
    entries: &[FlatEntry],
    input: &FillInput<'_>,
) -> (Vec<GridItem>, Vec<FillProblem>) {
    let mut filler = Filler {
        input,
        out: Vec::new(),
        problems: Vec::new(),
        last_aired: HashMap::new(),
        playlist_next: HashMap::new(),
        reported: HashSet::new(),
    };
    for (asset_id, at) in input.history {
        filler.record(*asset_id, *at);
    }
    let mut cursor: Option<Timestamp> = None;
    // A hard start of a fill that placed nothing passes to the next item.
    let mut pending_hard: Option<Timestamp> = None;
    for (index, entry) in entries.iter().enumerate() {
        if let Start::Hard(at) = entry.start() {
            if let (Some(from), Some(rule)) = (cursor, input.default_rule)
                && at - from >= input.min_gap.max(Ticks(1))
            {
                filler.fill(rule, from, at, None);
            }
            cursor = Some(at);
            pending_hard = None;
        }
        match entry {
            FlatEntry::Item(item) => {
                let mut item = item.clone();
                if let Some(at) = pending_hard.take()
                    && item.start == Start::Soft
                {
                    item.start = Start::Hard(at);
                }
                let at = cursor.unwrap_or(Timestamp(0));
                filler.record(item.asset_id, at);
                cursor = cursor.map(|at| at + item.nominal_duration(input.assets));
                filler.out.push(item);
            }
            FlatEntry::Fill {
                rule,
                start,
                blocks,
            } => {
                let Some(from) = cursor else {
                    filler
                        .problems
                        .push(FillProblem::NoStart { rule: rule.clone() });
                    continue;
                };
                let Some(until) = fill_end(entries, index, input) else {
                    filler.problems.push(FillProblem::Unbounded {
                        rule: rule.clone(),
                        at: from,
                    });
                    continue;
                };
                let hard = start.hard();
                let first_placed = filler.out.len();
                let placed = filler.fill(rule, from, until, hard);
                if blocks.is_some() {
                    for item in &mut filler.out[first_placed..] {
                        item.blocks.clone_from(blocks);
                    }
                }
                if placed == Ticks::ZERO && hard.is_some() {
                    pending_hard = hard;
                }
                cursor = Some(from + placed);
            }
        }
    }
    (filler.out, filler.problems)
}

/// Where the fill at `index` must end: the next hard start (or the window's end) less the items
/// between.
fn fill_end(entries: &[FlatEntry], index: usize, input: &FillInput<'_>) -> Option<Timestamp> {
    let mut between = Ticks::ZERO;
    for entry in &entries[index + 1..] {
        if let Start::Hard(at) = entry.start() {
            return Some(at - between);
        }
        if let FlatEntry::Item(item) = entry {
            between += item.nominal_duration(input.assets);
        }
    }
    input.until.map(|until| until - between)
}

struct Filler<'a, 'b> {
    input: &'b FillInput<'a>,
    out: Vec<GridItem>,
    problems: Vec<FillProblem>,
    /// The latest start of each asset.
    last_aired: HashMap<AssetId, Timestamp>,
    /// Where each playlist goes on.
    playlist_next: HashMap<String, usize>,
    reported: HashSet<(String, AssetId)>,
}

impl Filler<'_, '_> {
    fn record(&mut self, asset_id: AssetId, at: Timestamp) {
        let last = self.last_aired.entry(asset_id).or_insert(at);
        *last = (*last).max(at);
    }

    /// Fills `[from, until)` with the named rule; the first item placed gets `hard` as its
    /// start. Returns the time placed (items plus the room left for policy breaks).
    fn fill(
        &mut self,
        name: &str,
        from: Timestamp,
        until: Timestamp,
        hard: Option<Timestamp>,
    ) -> Ticks {
        let Some(rule) = self.input.rules.get(name) else {
            let problem = FillProblem::UnknownRule {
                rule: name.to_owned(),
            };
            if !self.problems.contains(&problem) {
                self.problems.push(problem);
            }
            return Ticks::ZERO;
        };
        let window = until - from;
        if window <= Ticks::ZERO {
            return Ticks::ZERO;
        }
        let mut budget = Budget::new(window, self.input.ad_policy);
        let mut cursor = from;
        let first_out = self.out.len();
        match &rule.source {
            FillSource::Playlist(list) if !list.is_empty() => {
                let mut next = self.playlist_next.get(name).copied().unwrap_or_else(|| {
                    // Go on after the last playlist entry aired before.
                    list.iter()
                        .enumerate()
                        .filter_map(|(i, id)| Some((self.last_aired.get(id)?, i)))
                        .max()
                        .map_or(0, |(_, i)| i + 1)
                });
                let mut misses = 0;
                while misses < list.len() {
                    let asset_id = list[next % list.len()];
                    let Some(duration) = self.usable(name, asset_id, cursor) else {
                        next += 1;
                        misses += 1;
                        continue;
                    };
                    if !budget.take(duration) {
                        break;
                    }
                    self.place(rule, asset_id, cursor);
                    cursor = cursor + duration;
                    next += 1;
                    misses = 0;
                }
                self.playlist_next
                    .insert(name.to_owned(), next % list.len());
            }
            FillSource::Category {
                assets,
                no_repeat_within,
                seed,
            } => {
                let mut rng = SplitMix64(*seed ^ fnv1a(name.as_bytes()) ^ from.0 as u64);
                loop {
                    let fitting: Vec<(AssetId, Ticks)> = assets
                        .iter()
                        .filter_map(|id| Some((*id, self.usable(name, *id, cursor)?)))
                        .filter(|(_, duration)| budget.fits(*duration))
                        .collect();
                    let eligible: Vec<(AssetId, Ticks)> = fitting
                        .iter()
                        .copied()
                        .filter(|(id, _)| {
                            self.last_aired
                                .get(id)
                                .is_none_or(|last| cursor - *last >= *no_repeat_within)
                        })
                        .collect();
                    if eligible.is_empty() {
                        if !fitting.is_empty() {
                            self.problems.push(FillProblem::NoRepeatExhausted {
                                rule: name.to_owned(),
                                at: cursor,
                                left: budget.left(),
                            });
                        }
                        break;
                    }
                    let (asset_id, duration) =
                        eligible[(rng.next() % eligible.len() as u64) as usize];
                    budget.take(duration);
                    self.place(rule, asset_id, cursor);
                    cursor = cursor + duration;
                }
            }
            FillSource::Playlist(_) => {}
        }
        if let (Some(at), Some(first)) = (hard, self.out.get_mut(first_out)) {
            first.start = Start::Hard(at);
        }
        cursor - from + budget.reserved
    }

    /// The asset's duration when it can be placed at `at`; reports why not, once per asset.
    fn usable(&mut self, rule: &str, asset_id: AssetId, at: Timestamp) -> Option<Ticks> {
        let why = match self.input.assets.get(&asset_id) {
            None => Some("it does not exist".to_owned()),
            Some(asset) if asset.state != AssetState::Ready => Some("it is not ready".to_owned()),
            Some(asset) if asset.duration <= Ticks::ZERO => Some("it has no duration".to_owned()),
            Some(asset) => {
                let allowed = self
                    .input
                    .rights
                    .get(&asset_id)
                    .is_none_or(|window| window.allows(at, at + asset.duration));
                if allowed {
                    return Some(asset.duration);
                }
                // Outside its rights here, perhaps not elsewhere: no report.
                return None;
            }
        };
        if let Some(why) = why
            && self.reported.insert((rule.to_owned(), asset_id))
        {
            self.problems.push(FillProblem::UnusableAsset {
                rule: rule.to_owned(),
                asset_id,
                why,
            });
        }
        None
    }

    fn place(&mut self, rule: &FillRule, asset_id: AssetId, at: Timestamp) {
        let info = rule.info.clone().unwrap_or_else(|| {
            ProgrammeInfo::titled(
                self.input
                    .assets
                    .get(&asset_id)
                    .map(|asset| asset.title.clone())
                    .unwrap_or_default(),
            )
        });
        self.record(asset_id, at);
        self.out.push(GridItem::new(asset_id, Start::Soft, info));
    }
}

/// The time a fill may use, less the room kept for policy breaks.
struct Budget {
    left: Ticks,
    /// Room kept for breaks so far.
    reserved: Ticks,
    /// Every-N-items policy: (N, break duration, items placed).
    per_items: Option<(u32, Ticks, u32)>,
}

impl Budget {
    fn new(window: Ticks, policy: Option<&AdPolicy>) -> Budget {
        let mut budget = Budget {
            left: window,
            reserved: Ticks::ZERO,
            per_items: None,
        };
        match policy.map(|policy| (policy, policy.cadence)) {
            Some((policy, Cadence::EveryMinutes(_))) => {
                budget.reserved = policy.expected_ads(window);
                budget.left = window - budget.reserved;
            }
            Some((policy, Cadence::EveryItems(every))) => {
                budget.per_items = Some((every.max(1), policy.break_duration, 0));
            }
            None => {}
        }
        budget
    }

    /// What placing one more item of `duration` costs, with its break if one falls after it.
    fn cost(&self, duration: Ticks) -> (Ticks, Ticks) {
        match self.per_items {
            Some((every, break_duration, placed)) if (placed + 1) % every == 0 => {
                (duration + break_duration, break_duration)
            }
            _ => (duration, Ticks::ZERO),
        }
    }

    fn fits(&self, duration: Ticks) -> bool {
        self.cost(duration).0 <= self.left
    }

    fn take(&mut self, duration: Ticks) -> bool {
        let (cost, reserved) = self.cost(duration);
        if cost > self.left {
            return false;
        }
        self.left = self.left - cost;
        self.reserved += reserved;
        if let Some((_, _, placed)) = &mut self.per_items {
            *placed += 1;
        }
        true
    }

    fn left(&self) -> Ticks {
        self.left
    }
}

/// A tiny, well-known PRNG: deterministic across platforms and releases, unlike `rand`'s.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{asset, assets, at_utc, minutes};

    fn hard(asset_id: i64, at: &str) -> FlatEntry {
        FlatEntry::Item(GridItem::new(
            AssetId(asset_id),
            Start::Hard(at_utc(at)),
            ProgrammeInfo::titled(format!("show {asset_id}")),
        ))
    }

    fn fill_entry(rule: &str, start: Start) -> FlatEntry {
        FlatEntry::Fill {
            rule: rule.into(),
            start,
            blocks: None,
        }
    }

    fn input<'a>(
        rules: &'a FillRules,
        assets: &'a HashMap<AssetId, Asset>,
        rights: &'a HashMap<AssetId, RightsWindow>,
    ) -> FillInput<'a> {
        FillInput {
            rules,
            default_rule: None,
            assets,
            rights,
            history: &[],
            until: None,
            ad_policy: None,
            min_gap: Ticks::ZERO,
        }
    }

    fn asset_ids(items: &[GridItem]) -> Vec<i64> {
        items.iter().map(|item| item.asset_id.0).collect()
    }

    fn playlist(ids: &[i64]) -> FillRules {
        FillRules::from([(
            "loop".to_owned(),
            FillRule {
                source: FillSource::Playlist(ids.iter().map(|id| AssetId(*id)).collect()),
                info: None,
            },
        )])
    }

    #[test]
    fn a_playlist_loops_in_order_and_goes_on_where_it_left_off_in_the_next_gap() {
        // Shows of 20 minutes at 20:00 and 21:00; clips of 10, 15 and 5 minutes.
        let assets = assets(vec![
            asset(1, 1200, 6),
            asset(11, 600, 6),
            asset(12, 900, 6),
            asset(13, 300, 6),
        ]);
        let rules = playlist(&[11, 12, 13]);
        let rights = HashMap::new();
        let entries = [
            hard(1, "2026-11-21T20:00:00Z"),
            fill_entry("loop", Start::Soft),
            hard(1, "2026-11-21T21:00:00Z"),
            fill_entry("loop", Start::Soft),
        ];
        let input = FillInput {
            until: Some(at_utc("2026-11-21T21:40:00Z")),
            ..input(&rules, &assets, &rights)
        };
        let (items, problems) = fill_gaps(&entries, &input);
        assert_eq!(problems, vec![]);
        // 40 minutes: 10 + 15 + 5 + 10 = 40. Then 20 minutes: 15 + 5; 10 more does not fit.
        assert_eq!(asset_ids(&items), [1, 11, 12, 13, 11, 1, 12, 13]);
        assert_eq!(items[1].start, Start::Soft);
    }

    #[test]
    fn a_default_rule_fills_every_gap_before_a_hard_start_and_leaves_room_for_ads() {
        let assets = assets(vec![asset(1, 1200, 6), asset(11, 300, 6)]);
        let rules = playlist(&[11]);
        let rights = HashMap::new();
        let entries = [
            hard(1, "2026-11-21T20:00:00Z"),
            hard(1, "2026-11-21T21:00:00Z"),
        ];
        let policy = AdPolicy {
            cadence: Cadence::EveryItems(2),
            break_duration: minutes(2),
            max_per_hour: None,
            min_break: Ticks::ZERO,
            zone: chrono_tz::Tz::UTC,
        };
        #[rustfmt::skip]
        let table: &[(Option<&AdPolicy>, usize)] = &[
            // policy, clips placed in the 40-minute gap
            (None, 8),
            // A 2-minute break after every second clip: 5 + 5 + 2 = 12 minutes per pair.
            (Some(&policy), 6),
        ];
        for (ad_policy, clips) in table {
            let input = FillInput {
                default_rule: Some("loop"),
                ad_policy: *ad_policy,
                ..input(&rules, &assets, &rights)
            };
            let (items, _) = fill_gaps(&entries, &input);
            assert_eq!(items.len(), 2 + clips, "{ad_policy:?}");
        }
    }

    fn category(no_repeat_hours: i64, seed: u64, ids: &[i64]) -> FillRules {
        FillRules::from([(
            "cartoons".to_owned(),
            FillRule {
                source: FillSource::Category {
                    assets: ids.iter().map(|id| AssetId(*id)).collect(),
                    no_repeat_within: Ticks::from_secs(no_repeat_hours * 3600),
                    seed,
                },
                info: Some(ProgrammeInfo::titled("Cartoons")),
            },
        )])
    }

    #[test]
    fn a_category_draw_is_the_same_for_the_same_seed_and_never_repeats_within_the_window() {
        let ids: Vec<i64> = (100..130).collect();
        let assets = assets(ids.iter().map(|id| asset(*id, 600, 6)).collect());
        let rights = HashMap::new();
        let entries = [
            fill_entry("cartoons", Start::Hard(at_utc("2026-11-21T06:00:00Z"))),
            hard(100, "2026-11-21T10:00:00Z"),
        ];
        let draw = |seed| {
            let rules = category(3, seed, &ids);
            let (items, problems) = fill_gaps(&entries, &input(&rules, &assets, &rights));
            assert_eq!(problems, vec![]);
            asset_ids(&items)
        };
        let first = draw(7);
        assert_eq!(first, draw(7), "same seed, same grid");
        assert_ne!(first, draw(8), "another seed, another order");
        assert_eq!(first.len(), 24 + 1, "four hours of 10-minute cartoons");
        // 18 cartoons fit in 3 hours: none may repeat within any 18 consecutive draws.
        for window in first[..24].windows(18) {
            let distinct: HashSet<&i64> = window.iter().collect();
            assert_eq!(distinct.len(), 18, "{first:?}");
        }
    }

    #[test]
    fn a_category_with_too_few_assets_reports_what_it_could_not_fill() {
        let assets = assets(vec![asset(1, 600, 6), asset(2, 600, 6)]);
        let rules = category(1, 1, &[1, 2]);
        let rights = HashMap::new();
        let history = [(AssetId(1), at_utc("2026-11-21T05:55:00Z"))];
        let entries = [
            fill_entry("cartoons", Start::Hard(at_utc("2026-11-21T06:00:00Z"))),
            hard(1, "2026-11-21T07:00:00Z"),
        ];
        let input = FillInput {
            history: &history,
            ..input(&rules, &assets, &rights)
        };
        let (items, problems) = fill_gaps(&entries, &input);
        assert_eq!(
            asset_ids(&items),
            [2, 1],
            "asset 1 waits out its hour from 05:55"
        );
        assert_eq!(items[0].start, Start::Hard(at_utc("2026-11-21T06:00:00Z")));
        assert_eq!(
            problems,
            vec![FillProblem::NoRepeatExhausted {
                rule: "cartoons".into(),
                at: at_utc("2026-11-21T06:10:00Z"),
                left: minutes(50)
            }]
        );
    }

    #[test]
    fn fill_problems_name_the_rule_and_what_went_wrong() {
        let assets = assets(vec![asset(1, 600, 6)]);
        let rules = playlist(&[1, 404]);
        let rights = HashMap::from([(
            AssetId(1),
            RightsWindow {
                valid_from: None,
                valid_until: Some(at_utc("2026-11-21T06:05:00Z")),
            },
        )]);
        let entries = [
            fill_entry("nowhere", Start::Hard(at_utc("2026-11-21T06:00:00Z"))),
            fill_entry("loop", Start::Soft),
            hard(1, "2026-11-21T07:00:00Z"),
            fill_entry("loop", Start::Soft),
        ];
        let (items, problems) = fill_gaps(&entries, &input(&rules, &assets, &rights));
        assert_eq!(asset_ids(&items), [1]);
        assert_eq!(items[0].start, Start::Hard(at_utc("2026-11-21T07:00:00Z")));
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "fill rule \"nowhere\" does not exist",
                "fill rule \"loop\" skips asset 404: it does not exist",
                "fill \"loop\" at 2026-11-21T07:10:00.000Z has no hard start after it and no end of the planning window: nothing was filled",
            ]
        );
    }
}
