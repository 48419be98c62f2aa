//! The grid model: what operators plan for a channel (items with programme metadata, hard and
//! soft starts, named blocks, ad breaks, live events, fill placeholders), and its flattening
//! into the ordered list the fill rules and the planner take.
//!
//! Instants are already resolved here: a hard start is a [`Timestamp`]. Rules and templates
//! (see [`crate::rules`], [`crate::template`]) turn local wall-clock times in the channel's zone
//! into those instants.
//!
//! Blocks are named groups of entries kept in a [`BlockLibrary`]; a block may include other
//! blocks. Placing a block with a hard start gives that start to its first item. A block that
//! includes itself, directly or through others, is reported as a [`GridError::BlockCycle`]
//! naming the whole loop, and the inclusion that closes the loop is skipped. Every item (and
//! fill) a block places remembers the blocks it came through ([`GridItem::blocks`]): the EPG
//! titles an entry merged from short programmes of different titles with the innermost block
//! they all share (see [`crate::epg`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use onair_domain::{Asset, AssetId, ScheduleItemId, Ticks, Timestamp};
use serde::{Deserialize, Serialize};

/// What viewers see about a programme, in the EPG.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProgrammeInfo {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_title: Option<String>,
    /// Counted from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<u32>,
    /// Counted from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artwork_url: Option<String>,
}

impl ProgrammeInfo {
    /// Just a title.
    pub fn titled(title: impl Into<String>) -> ProgrammeInfo {
        ProgrammeInfo {
            title: title.into(),
            ..ProgrammeInfo::default()
        }
    }
}

/// A content rating, e.g. system `VCHIP`, value `TV-PG`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub value: String,
}

/// When an entry starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// At this wall-clock instant, whatever runs before it (which is cut or padded).
    Hard(Timestamp),
    /// When the entry before it ends.
    Soft,
}

impl Start {
    pub fn hard(self) -> Option<Timestamp> {
        match self {
            Start::Hard(at) => Some(at),
            Start::Soft => None,
        }
    }
}

/// An ad break within or around an item. `offset` is content time from the item's in point:
/// zero airs before the item, [`AdBreakSpec::AFTER`] (or anything at or past the content's end)
/// after it, anything else at the segment boundary nearest to it (a cue point). With an out
/// point, a cue point past it does not air: it went with the part of the asset that was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdBreakSpec {
    pub offset: Ticks,
    pub duration: Ticks,
}

impl AdBreakSpec {
    /// An offset past any content: the break airs after the item.
    pub const AFTER: Ticks = Ticks(i64::MAX / 4);

    pub fn before(duration: Ticks) -> AdBreakSpec {
        AdBreakSpec {
            offset: Ticks::ZERO,
            duration,
        }
    }

    pub fn after(duration: Ticks) -> AdBreakSpec {
        AdBreakSpec {
            offset: AdBreakSpec::AFTER,
            duration,
        }
    }

    pub fn at(offset: Ticks, duration: Ticks) -> AdBreakSpec {
        AdBreakSpec { offset, duration }
    }
}

/// A live event: a slot fed by a live source. Until live ingest exists it plans as its fallback
/// asset looping to fill the slot, marked live so playout can switch to the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LiveSource {
    /// Names the ingest source (e.g. an SRT stream id).
    pub source_key: String,
    /// How long the slot lasts.
    pub duration: Ticks,
}

/// One item of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridItem {
    /// The stored item this came from, if any: ties as-run and edits back to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ScheduleItemId>,
    /// What plays; for a live event, the fallback played if the source is late or lost.
    pub asset_id: AssetId,
    /// Where in the asset to start (snapped to a segment boundary); the start when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_point: Option<Ticks>,
    /// Where in the asset to stop (snapped to a segment boundary); the end when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_point: Option<Ticks>,
    pub start: Start,
    pub info: ProgrammeInfo,
    /// Set for a live event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<AdBreakSpec>,
    /// Content offsets where a break may go (chapter marks): the ad policy prefers them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cue_points: Vec<Ticks>,
    /// The blocks that placed it, outermost first; `None` outside any block. Set by
    /// [`flatten`], never stored.
    #[serde(skip)]
    pub blocks: Option<Arc<[String]>>,
}

impl GridItem {
    /// The whole of an asset.
    pub fn new(asset_id: AssetId, start: Start, info: ProgrammeInfo) -> GridItem {
        GridItem {
            id: None,
            asset_id,
            in_point: None,
            out_point: None,
            start,
            info,
            live: None,
            breaks: Vec::new(),
            cue_points: Vec::new(),
            blocks: None,
        }
    }

    /// A live event: `source_key` from `start` for `duration`, `fallback` filling the slot.
    pub fn live(
        source_key: impl Into<String>,
        start: Timestamp,
        duration: Ticks,
        fallback: AssetId,
        info: ProgrammeInfo,
    ) -> GridItem {
        GridItem {
            live: Some(LiveSource {
                source_key: source_key.into(),
                duration,
            }),
            ..GridItem::new(fallback, Start::Hard(start), info)
        }
    }

    /// How long its content plays, from the assets' durations: the live slot, or the asset
    /// between the in and out points. Zero for an unknown asset. An estimate before planning
    /// (the planner snaps to segment boundaries).
    pub fn nominal_content(&self, assets: &HashMap<AssetId, Asset>) -> Ticks {
        if let Some(live) = &self.live {
            return live.duration;
        }
        let Some(asset) = assets.get(&self.asset_id) else {
            return Ticks::ZERO;
        };
        let end = self.out_point.unwrap_or(asset.duration).min(asset.duration);
        let start = self.in_point.unwrap_or(Ticks::ZERO).max(Ticks::ZERO);
        Ticks((end - start).0.max(0))
    }

    /// Content plus its breaks.
    pub fn nominal_duration(&self, assets: &HashMap<AssetId, Asset>) -> Ticks {
        self.nominal_content(assets) + self.breaks.iter().map(|b| b.duration).sum()
    }
}

/// One entry of a grid or of a block.
#[allow(
    clippy::large_enum_variant,
    reason = "items are most entries; boxing them would only add allocations"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GridEntry {
    Item(GridItem),
    /// The entries of the named block.
    Block {
        name: String,
        start: Start,
    },
    /// An ad break between the item before and the item after.
    Break {
        duration: Ticks,
    },
    /// Filled by the named fill rule up to the next hard start (see [`crate::fill`]).
    Fill {
        rule: String,
        start: Start,
    },
}

/// A named group of entries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Block {
    pub entries: Vec<GridEntry>,
}

/// Blocks by name.
pub type BlockLibrary = BTreeMap<String, Block>;

/// An entry once blocks are expanded and breaks attached to items.
#[allow(
    clippy::large_enum_variant,
    reason = "items are most entries; boxing them would only add allocations"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FlatEntry {
    Item(GridItem),
    Fill {
        rule: String,
        start: Start,
        /// As [`GridItem::blocks`], for the items the fill places.
        #[serde(skip)]
        blocks: Option<Arc<[String]>>,
    },
}

impl FlatEntry {
    pub fn start(&self) -> Start {
        match self {
            FlatEntry::Item(item) => item.start,
            FlatEntry::Fill { start, .. } => *start,
        }
    }
}

/// What is wrong with a grid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    #[error("block {name:?} (used {}) does not exist", where_used(.used_in))]
    UnknownBlock {
        name: String,
        /// The block that refers to it; `None` for the grid itself.
        used_in: Option<String>,
    },
    #[error("block {:?} includes itself: {}", .cycle[0], .cycle.join(" → "))]
    BlockCycle {
        /// The loop, first block repeated at the end: `["A", "B", "A"]`.
        cycle: Vec<String>,
    },
    #[error("ad break of {duration} has no item before or after it and was dropped")]
    BreakWithoutItem { duration: Ticks },
}

fn where_used(used_in: &Option<String>) -> String {
    match used_in {
        Some(block) => format!("in block {block:?}"),
        None => "in the grid".to_owned(),
    }
}

/// Every block that includes itself and every reference to a block that does not exist, each
/// loop reported once.
pub fn check_blocks(library: &BlockLibrary) -> Vec<GridError> {
    let mut flattener = Flattener::new(library);
    for (name, block) in library {
        flattener.stack.push(name.clone());
        flattener.expand(&block.entries, Some(name));
        flattener.stack.pop();
    }
    flattener.errors
}

/// Expands blocks (recursively) and attaches standalone breaks to the item before them (or, at
/// the very start, the item after). Problems are reported, never fatal: an unknown block or a
/// loop is skipped.
pub fn flatten(entries: &[GridEntry], library: &BlockLibrary) -> (Vec<FlatEntry>, Vec<GridError>) {
    let mut flattener = Flattener::new(library);
    flattener.expand(entries, None);
    let Flattener {
        out,
        mut errors,
        pending_before,
        ..
    } = flattener;
    for duration in pending_before {
        errors.push(GridError::BreakWithoutItem { duration });
    }
    (out, errors)
}

struct Flattener<'a> {
    library: &'a BlockLibrary,
    out: Vec<FlatEntry>,
    errors: Vec<GridError>,
    /// Blocks being expanded, outermost first.
    stack: Vec<String>,
    /// `stack` as what placed an item, shared by the items of one expansion.
    placed_by: Option<Arc<[String]>>,
    /// Breaks seen before any item: they air before the next item.
    pending_before: Vec<Ticks>,
    /// Loops already reported, in a normalised rotation.
    cycles_seen: Vec<Vec<String>>,
}

impl<'a> Flattener<'a> {
    fn new(library: &'a BlockLibrary) -> Flattener<'a> {
        Flattener {
            library,
            out: Vec::new(),
            errors: Vec::new(),
            stack: Vec::new(),
            placed_by: None,
            pending_before: Vec::new(),
            cycles_seen: Vec::new(),
        }
    }

    fn expand(&mut self, entries: &[GridEntry], inside: Option<&str>) {
        for entry in entries {
            match entry {
                GridEntry::Item(item) => {
                    let mut item = item.clone();
                    if self.placed_by.is_some() {
                        item.blocks.clone_from(&self.placed_by);
                    }
                    for duration in self.pending_before.drain(..).rev() {
                        item.breaks.insert(0, AdBreakSpec::before(duration));
                    }
                    self.out.push(FlatEntry::Item(item));
                }
                GridEntry::Fill { rule, start } => self.out.push(FlatEntry::Fill {
                    rule: rule.clone(),
                    start: *start,
                    blocks: self.placed_by.clone(),
                }),
                GridEntry::Break { duration } => {
                    match self.out.iter_mut().rev().find_map(|entry| match entry {
                        FlatEntry::Item(item) => Some(item),
                        FlatEntry::Fill { .. } => None,
                    }) {
                        Some(item) => item.breaks.push(AdBreakSpec::after(*duration)),
                        None => self.pending_before.push(*duration),
                    }
                }
                GridEntry::Block {
                    name,
                    start: block_start,
                } => self.include(name, *block_start, inside),
            }
        }
    }

    fn include(&mut self, name: &str, start: Start, inside: Option<&str>) {
        if let Some(position) = self.stack.iter().position(|open| open == name) {
            let mut cycle: Vec<String> = self.stack[position..].to_vec();
            cycle.push(name.to_owned());
            self.report_cycle(cycle);
            return;
        }
        let Some(block) = self.library.get(name) else {
            let error = GridError::UnknownBlock {
                name: name.to_owned(),
                used_in: inside.map(str::to_owned),
            };
            if !self.errors.contains(&error) {
                self.errors.push(error);
            }
            return;
        };
        self.stack.push(name.to_owned());
        let outer = self.placed_by.replace(Arc::from(self.stack.as_slice()));
        let produced_before = self.out.len();
        self.expand(&block.entries, Some(name));
        if let Start::Hard(_) = start
            && self.out.len() > produced_before
        {
            set_start(&mut self.out[produced_before], start);
        }
        self.placed_by = outer;
        self.stack.pop();
    }

    fn report_cycle(&mut self, cycle: Vec<String>) {
        // The same loop entered at another block is the same loop.
        let ring = &cycle[..cycle.len() - 1];
        let smallest = (0..ring.len())
            .min_by_key(|index| &ring[*index])
            .unwrap_or(0);
        let normalised: Vec<String> = ring[smallest..]
            .iter()
            .chain(&ring[..smallest])
            .cloned()
            .collect();
        if self.cycles_seen.contains(&normalised) {
            return;
        }
        self.cycles_seen.push(normalised);
        self.errors.push(GridError::BlockCycle { cycle });
    }
}

fn set_start(entry: &mut FlatEntry, new_start: Start) {
    match entry {
        FlatEntry::Item(item) => item.start = new_start,
        FlatEntry::Fill { start, .. } => *start = new_start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(asset: i64, title: &str) -> GridEntry {
        GridEntry::Item(GridItem::new(
            AssetId(asset),
            Start::Soft,
            ProgrammeInfo::titled(title),
        ))
    }

    fn block(name: &str, start: Start) -> GridEntry {
        GridEntry::Block {
            name: name.into(),
            start,
        }
    }

    fn library(blocks: Vec<(&str, Vec<GridEntry>)>) -> BlockLibrary {
        blocks
            .into_iter()
            .map(|(name, entries)| (name.to_owned(), Block { entries }))
            .collect()
    }

    fn titles(entries: &[FlatEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|entry| match entry {
                FlatEntry::Item(item) => item.info.title.clone(),
                FlatEntry::Fill { rule, .. } => format!("fill {rule}"),
            })
            .collect()
    }

    #[test]
    fn nested_blocks_expand_in_order_and_the_block_start_goes_to_its_first_item() {
        let library = library(vec![
            (
                "Cartoons",
                vec![item(1, "Cat"), block("Shorts", Start::Soft)],
            ),
            ("Shorts", vec![item(2, "Short A"), item(3, "Short B")]),
        ]);
        let at = Timestamp::from_unix_secs(3600);
        let (flat, errors) = flatten(
            &[block("Cartoons", Start::Hard(at)), item(4, "News")],
            &library,
        );
        assert_eq!(errors, vec![]);
        assert_eq!(titles(&flat), ["Cat", "Short A", "Short B", "News"]);
        assert_eq!(flat[0].start(), Start::Hard(at));
        assert_eq!(flat[1].start(), Start::Soft);
    }

    #[test]
    fn a_block_that_loops_into_itself_is_an_error_naming_the_cycle() {
        let library = library(vec![
            ("A", vec![item(1, "a"), block("B", Start::Soft)]),
            ("B", vec![item(2, "b"), block("C", Start::Soft)]),
            ("C", vec![block("A", Start::Soft)]),
            ("Self", vec![block("Self", Start::Soft)]),
        ]);
        let (flat, errors) = flatten(&[block("A", Start::Soft)], &library);
        assert_eq!(titles(&flat), ["a", "b"], "the loop is cut where it closes");
        assert_eq!(
            errors,
            vec![GridError::BlockCycle {
                cycle: vec!["A".into(), "B".into(), "C".into(), "A".into()]
            }]
        );
        assert_eq!(
            errors[0].to_string(),
            "block \"A\" includes itself: A → B → C → A"
        );
        let all = check_blocks(&library);
        assert_eq!(all.len(), 2, "each loop once: {all:?}");
        assert!(all.contains(&GridError::BlockCycle {
            cycle: vec!["Self".into(), "Self".into()]
        }));
    }

    #[test]
    fn an_unknown_block_is_reported_with_where_it_was_used() {
        let library = library(vec![("A", vec![block("Missing", Start::Soft)])]);
        let (_, errors) = flatten(
            &[block("A", Start::Soft), block("Gone", Start::Soft)],
            &library,
        );
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "block \"Missing\" (used in block \"A\") does not exist",
                "block \"Gone\" (used in the grid) does not exist"
            ]
        );
    }

    #[test]
    fn standalone_breaks_attach_after_the_item_before_or_before_the_first_item() {
        let secs = Ticks::from_secs;
        let entries = [
            GridEntry::Break { duration: secs(30) },
            item(1, "One"),
            GridEntry::Break { duration: secs(60) },
            item(2, "Two"),
        ];
        let (flat, errors) = flatten(&entries, &BlockLibrary::new());
        assert_eq!(errors, vec![]);
        let FlatEntry::Item(one) = &flat[0] else {
            panic!()
        };
        assert_eq!(
            one.breaks,
            [AdBreakSpec::before(secs(30)), AdBreakSpec::after(secs(60))]
        );
        let (_, errors) = flatten(
            &[GridEntry::Break { duration: secs(5) }],
            &BlockLibrary::new(),
        );
        assert_eq!(errors, [GridError::BreakWithoutItem { duration: secs(5) }]);
    }
}
