//! From the grid's documents to the scheduler's types, with every problem named by its path.

use std::collections::{BTreeSet, HashMap};

use chrono_tz::Tz;
use onair_domain::{AssetId, Ticks, Timestamp};
use onair_scheduler::ad_policy::{AdPolicy, Cadence};
use onair_scheduler::fill::{FillRule, FillRules, FillSource};
use onair_scheduler::grid::{
    AdBreakSpec, Block, BlockLibrary, GridEntry, GridItem, LiveSource, ProgrammeInfo, Rating,
    Start, check_blocks,
};
use onair_scheduler::rules::parse_zone;
use onair_scheduler::template::{SlotContent, TemplateSlot, WeeklyTemplate};
use onair_scheduler::{RightsWindow, Rule};
use onair_store::Store;
use onair_store::grid::GridKind;

use super::RULE_FIRES_WITHIN;
use super::document::*;
use crate::Refusal;
use crate::schedule::parse_instant;

/// A grid in the scheduler's types.
#[derive(Debug, Clone, Default)]
pub struct GridSources {
    pub templates: Vec<WeeklyTemplate>,
    pub blocks: BlockLibrary,
    pub fill_rules: FillRules,
    pub default_fill: Option<String>,
    pub ad_policy: Option<AdPolicy>,
    pub rights: HashMap<AssetId, RightsWindow>,
    /// By the stored item's start and asset.
    pub metadata: HashMap<(Timestamp, AssetId), ProgrammeInfo>,
}

/// Turns wire parts into the scheduler's types. `zone` is the channel's. With `fires_from`,
/// rules must fire within [`RULE_FIRES_WITHIN`] of it (on writes, not on reads: a stored rule
/// may have had its day). Problems go to `problems`, the part they name left out.
pub(crate) struct Compiler<'a> {
    pub(crate) zone: Tz,
    pub(crate) fires_from: Option<Timestamp>,
    pub(crate) problems: &'a mut Vec<String>,
}

impl Compiler<'_> {
    fn problem(&mut self, path: &str, message: impl std::fmt::Display) {
        self.problems.push(format!("{path}: {message}"));
    }

    pub(crate) fn compile(&mut self, grid: &GridDoc) -> GridSources {
        GridSources {
            templates: grid
                .templates
                .iter()
                .enumerate()
                .filter_map(|(index, template)| self.template(index, template))
                .collect(),
            blocks: grid
                .blocks
                .iter()
                .map(|(name, block)| {
                    let path = format!("blocks[{name:?}]");
                    if name.trim().is_empty() {
                        self.problem(&path, "a block needs a name");
                    }
                    let entries = block
                        .entries
                        .iter()
                        .enumerate()
                        .filter_map(|(index, entry)| {
                            self.entry(&format!("{path}.entries[{index}]"), entry)
                        })
                        .collect();
                    (name.clone(), Block { entries })
                })
                .collect(),
            fill_rules: grid
                .fill
                .rules
                .iter()
                .filter_map(|(name, rule)| {
                    Some((
                        name.clone(),
                        self.fill_rule(&format!("fill.rules[{name:?}]"), rule)?,
                    ))
                })
                .collect(),
            default_fill: grid.fill.default.clone(),
            ad_policy: grid
                .ad_policy
                .as_ref()
                .and_then(|policy| self.ad_policy(policy)),
            rights: self.rights(&grid.rights),
            metadata: self.metadata(&grid.metadata),
        }
    }

    fn template(&mut self, index: usize, template: &TemplateDoc) -> Option<WeeklyTemplate> {
        let path = format!("templates[{index}]");
        if template.name.trim().is_empty() {
            self.problem(&path, "a template needs a name");
        }
        let zone = match &template.zone {
            None => self.zone,
            Some(name) => match parse_zone(name) {
                Ok(zone) => zone,
                Err(error) => {
                    self.problem(&format!("{path}.zone"), error);
                    return None;
                }
            },
        };
        let mut compiled = WeeklyTemplate::new(zone);
        for (slot_index, slot) in template.slots.iter().enumerate() {
            let path = format!("{path}.slots[{slot_index}]");
            let rule = match Rule::parse_in(zone, &slot.rule) {
                Ok(rule) => rule,
                Err(error) => {
                    self.problem(&format!("{path}.rule"), error);
                    continue;
                }
            };
            if let Some(from) = self.fires_from
                && let Err(error) = rule.check_fires_within(from, RULE_FIRES_WITHIN)
            {
                self.problem(&format!("{path}.rule"), error);
                continue;
            }
            let content = match (&slot.block, &slot.fill, &slot.item) {
                (Some(name), None, None) => SlotContent::Block { name: name.clone() },
                (None, Some(rule), None) => SlotContent::Fill { rule: rule.clone() },
                (None, None, Some(item)) => SlotContent::Item {
                    item: Box::new(self.item(&format!("{path}.item"), item)?),
                },
                _ => {
                    self.problem(
                        &path,
                        "give exactly one of \"block\", \"fill\" and \"item\"",
                    );
                    continue;
                }
            };
            compiled.slots.push(TemplateSlot { rule, content });
        }
        Some(compiled)
    }

    fn entry(&mut self, path: &str, entry: &EntryDoc) -> Option<GridEntry> {
        Some(match entry {
            EntryDoc::Item(item) => GridEntry::Item(self.item(path, item)?),
            EntryDoc::Block { name } => GridEntry::Block {
                name: name.clone(),
                start: Start::Soft,
            },
            EntryDoc::Break { duration_ms } => GridEntry::Break {
                duration: self.positive(&format!("{path}.duration_ms"), *duration_ms)?,
            },
            EntryDoc::Fill { rule } => GridEntry::Fill {
                rule: rule.clone(),
                start: Start::Soft,
            },
        })
    }

    fn positive(&mut self, path: &str, millis: i64) -> Option<Ticks> {
        if millis <= 0 {
            self.problem(path, format!("{millis} ms: it must be positive"));
            return None;
        }
        Some(Ticks::from_millis(millis))
    }

    fn not_negative(&mut self, path: &str, millis: i64) -> Option<Ticks> {
        if millis < 0 {
            self.problem(path, format!("{millis} ms: it must not be negative"));
            return None;
        }
        Some(Ticks::from_millis(millis))
    }

    fn item(&mut self, path: &str, item: &ItemDoc) -> Option<GridItem> {
        let info = self.info(&format!("{path}.info"), &item.info);
        let in_point = match item.in_ms {
            Some(ms) => Some(self.not_negative(&format!("{path}.in_ms"), ms)?),
            None => None,
        };
        let out_point = match item.out_ms {
            Some(ms) => Some(self.positive(&format!("{path}.out_ms"), ms)?),
            None => None,
        };
        if let (Some(in_point), Some(out_point)) = (in_point, out_point)
            && out_point <= in_point
        {
            self.problem(path, "out_ms must come after in_ms");
        }
        let live = match &item.live {
            Some(live) => {
                if live.source_key.trim().is_empty() {
                    self.problem(&format!("{path}.live.source_key"), "it is empty");
                }
                Some(LiveSource {
                    source_key: live.source_key.clone(),
                    duration: self
                        .positive(&format!("{path}.live.duration_ms"), live.duration_ms)?,
                })
            }
            None => None,
        };
        let mut breaks = Vec::with_capacity(item.breaks.len());
        for (index, ad_break) in item.breaks.iter().enumerate() {
            let path = format!("{path}.breaks[{index}]");
            let duration = self.positive(&format!("{path}.duration_ms"), ad_break.duration_ms);
            let offset = match ad_break.offset_ms {
                Some(ms) => self.not_negative(&format!("{path}.offset_ms"), ms),
                None => Some(AdBreakSpec::AFTER),
            };
            if let (Some(offset), Some(duration)) = (offset, duration) {
                breaks.push(AdBreakSpec::at(offset, duration));
            }
        }
        let cue_points = item
            .cue_points_ms
            .iter()
            .enumerate()
            .filter_map(|(index, ms)| {
                self.not_negative(&format!("{path}.cue_points_ms[{index}]"), *ms)
            })
            .collect();
        Some(GridItem {
            in_point,
            out_point,
            live,
            breaks,
            cue_points,
            ..GridItem::new(AssetId(item.asset_id), Start::Soft, info)
        })
    }

    fn info(&mut self, path: &str, info: &InfoDoc) -> ProgrammeInfo {
        if info.title.trim().is_empty() {
            self.problem(&format!("{path}.title"), "the title is empty");
        }
        for (field, value) in [("season", info.season), ("episode", info.episode)] {
            if value == Some(0) {
                self.problem(&format!("{path}.{field}"), "it counts from 1");
            }
        }
        if let Some(url) = &info.artwork_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            self.problem(
                &format!("{path}.artwork_url"),
                format!("{url:?} is not an http(s) URL"),
            );
        }
        ProgrammeInfo {
            title: info.title.clone(),
            episode_title: info.episode_title.clone(),
            season: info.season,
            episode: info.episode,
            description: info.description.clone(),
            genres: info.genres.clone(),
            rating: info.rating.as_ref().map(|rating| Rating {
                system: rating.system.clone(),
                value: rating.value.clone(),
            }),
            artwork_url: info.artwork_url.clone(),
        }
    }

    fn fill_rule(&mut self, path: &str, rule: &FillRuleDoc) -> Option<FillRule> {
        let info = rule
            .info
            .as_ref()
            .map(|info| self.info(&format!("{path}.info"), info));
        let source = match (&rule.playlist, &rule.category) {
            (Some(list), None) if !list.is_empty() => {
                FillSource::Playlist(list.iter().copied().map(AssetId).collect())
            }
            (None, Some(category)) if !category.assets.is_empty() => FillSource::Category {
                assets: category.assets.iter().copied().map(AssetId).collect(),
                no_repeat_within: Ticks::from_secs(i64::from(category.no_repeat_hours) * 3600),
                seed: category.seed,
            },
            (Some(_), None) | (None, Some(_)) => {
                self.problem(path, "it names no asset");
                return None;
            }
            _ => {
                self.problem(path, "give exactly one of \"playlist\" and \"category\"");
                return None;
            }
        };
        Some(FillRule { source, info })
    }

    fn ad_policy(&mut self, policy: &AdPolicyDoc) -> Option<AdPolicy> {
        let path = "ad_policy";
        let cadence = match (policy.every_minutes, policy.every_items) {
            (Some(minutes), None) if minutes > 0 => {
                Cadence::EveryMinutes(Ticks::from_secs(i64::from(minutes) * 60))
            }
            (None, Some(items)) if items > 0 => Cadence::EveryItems(items),
            (Some(_), None) | (None, Some(_)) => {
                self.problem(path, "a break every 0 minutes or items: give at least 1");
                return None;
            }
            _ => {
                self.problem(
                    path,
                    "give exactly one of \"every_minutes\" and \"every_items\"",
                );
                return None;
            }
        };
        let break_duration = self.positive(&format!("{path}.break_ms"), policy.break_ms)?;
        let max_per_hour = match policy.max_per_hour_ms {
            Some(ms) if ms > 3_600_000 => {
                self.problem(
                    &format!("{path}.max_per_hour_ms"),
                    format!("{ms} ms is more than an hour"),
                );
                return None;
            }
            Some(ms) => Some(self.positive(&format!("{path}.max_per_hour_ms"), ms)?),
            None => None,
        };
        let min_break = match policy.min_break_ms {
            Some(ms) => self.not_negative(&format!("{path}.min_break_ms"), ms)?,
            None => Ticks::ZERO,
        };
        Some(AdPolicy {
            cadence,
            break_duration,
            max_per_hour,
            min_break,
            zone: self.zone,
        })
    }

    fn instant(&mut self, path: &str, text: &str) -> Option<Timestamp> {
        parse_instant(text)
            .map_err(|error| self.problem(path, error))
            .ok()
    }

    fn rights(&mut self, rights: &[RightsDoc]) -> HashMap<AssetId, RightsWindow> {
        let mut windows = HashMap::new();
        for (index, window) in rights.iter().enumerate() {
            let path = format!("rights[{index}]");
            let valid_from = match &window.valid_from {
                Some(text) => match self.instant(&format!("{path}.valid_from"), text) {
                    Some(at) => Some(at),
                    None => continue,
                },
                None => None,
            };
            let valid_until = match &window.valid_until {
                Some(text) => match self.instant(&format!("{path}.valid_until"), text) {
                    Some(at) => Some(at),
                    None => continue,
                },
                None => None,
            };
            match (valid_from, valid_until) {
                (None, None) => {
                    self.problem(&path, "give valid_from, valid_until or both");
                    continue;
                }
                (Some(from), Some(until)) if until <= from => {
                    self.problem(&path, "valid_until must come after valid_from");
                    continue;
                }
                _ => {}
            }
            let asset_id = AssetId(window.asset_id);
            let window = RightsWindow {
                valid_from,
                valid_until,
            };
            if windows.insert(asset_id, window).is_some() {
                self.problem(&path, format!("asset {asset_id} has a window already"));
            }
        }
        windows
    }

    fn metadata(
        &mut self,
        metadata: &[MetadataDoc],
    ) -> HashMap<(Timestamp, AssetId), ProgrammeInfo> {
        let mut out = HashMap::new();
        for (index, entry) in metadata.iter().enumerate() {
            let path = format!("metadata[{index}]");
            let info = self.info(&format!("{path}.info"), &entry.info);
            let Some(start) = self.instant(&format!("{path}.start"), &entry.start) else {
                continue;
            };
            if out.insert((start, AssetId(entry.asset_id)), info).is_some() {
                self.problem(
                    &path,
                    format!(
                        "the item at {} playing asset {} has metadata already",
                        start.to_rfc3339_millis(),
                        entry.asset_id
                    ),
                );
            }
        }
        out
    }
}

/// The problems of programme metadata given on its own (a schedule item's `info`), each named
/// by its path under `path`.
pub(crate) fn info_problems(path: &str, info: &InfoDoc) -> Vec<String> {
    let mut problems = Vec::new();
    Compiler {
        zone: chrono_tz::UTC,
        fires_from: None,
        problems: &mut problems,
    }
    .info(path, info);
    problems
}

/// The checks across parts: every block and fill rule a part names exists, no block includes
/// itself.
pub(crate) fn check_references(sources: &GridSources, problems: &mut Vec<String>) {
    for error in check_blocks(&sources.blocks) {
        problems.push(format!("blocks: {error}"));
    }
    let fill_exists = |rule: &str| sources.fill_rules.contains_key(rule);
    for (index, template) in sources.templates.iter().enumerate() {
        for (slot_index, slot) in template.slots.iter().enumerate() {
            let path = format!("templates[{index}].slots[{slot_index}]");
            match &slot.content {
                SlotContent::Block { name } if !sources.blocks.contains_key(name) => {
                    problems.push(format!("{path}: block {name:?} does not exist"));
                }
                SlotContent::Fill { rule } if !fill_exists(rule) => {
                    problems.push(format!("{path}: fill rule {rule:?} does not exist"));
                }
                _ => {}
            }
        }
    }
    for (name, block) in &sources.blocks {
        for (index, entry) in block.entries.iter().enumerate() {
            if let GridEntry::Fill { rule, .. } = entry
                && !fill_exists(rule)
            {
                problems.push(format!(
                    "blocks[{name:?}].entries[{index}]: fill rule {rule:?} does not exist"
                ));
            }
        }
    }
    if let Some(rule) = &sources.default_fill
        && !fill_exists(rule)
    {
        problems.push(format!("fill.default: fill rule {rule:?} does not exist"));
    }
}

/// Every asset a part names, with where.
pub(crate) fn asset_references(grid: &GridDoc, kind: GridKind) -> Vec<(String, i64)> {
    fn of_item(path: String, item: &ItemDoc, out: &mut Vec<(String, i64)>) {
        out.push((path, item.asset_id));
    }
    fn of_entries(path: &str, entries: &[EntryDoc], out: &mut Vec<(String, i64)>) {
        for (index, entry) in entries.iter().enumerate() {
            if let EntryDoc::Item(item) = entry {
                of_item(format!("{path}.entries[{index}]"), item, out);
            }
        }
    }
    let mut out = Vec::new();
    match kind {
        GridKind::Templates => {
            for (index, template) in grid.templates.iter().enumerate() {
                for (slot_index, slot) in template.slots.iter().enumerate() {
                    if let Some(item) = &slot.item {
                        let path = format!("templates[{index}].slots[{slot_index}].item");
                        of_item(path, item, &mut out);
                    }
                }
            }
        }
        GridKind::Blocks => {
            for (name, block) in &grid.blocks {
                of_entries(&format!("blocks[{name:?}]"), &block.entries, &mut out);
            }
        }
        GridKind::Fill => {
            for (name, rule) in &grid.fill.rules {
                let path = format!("fill.rules[{name:?}]");
                let listed = rule.playlist.iter().flatten();
                let drawn = rule.category.iter().flat_map(|category| &category.assets);
                out.extend(listed.chain(drawn).map(|id| (path.clone(), *id)));
            }
        }
        GridKind::AdPolicy => {}
        GridKind::Rights => {
            for (index, window) in grid.rights.iter().enumerate() {
                out.push((format!("rights[{index}]"), window.asset_id));
            }
        }
        GridKind::Metadata => {
            for (index, entry) in grid.metadata.iter().enumerate() {
                out.push((format!("metadata[{index}]"), entry.asset_id));
            }
        }
    }
    out
}

/// Checks a whole grid about to be written (the `edited` parts are new): every problem, each
/// named by its path.
pub(crate) async fn validate(
    store: &Store,
    grid: &GridDoc,
    edited: &[GridKind],
    zone: Tz,
    now: Timestamp,
) -> Result<Vec<String>, Refusal> {
    let mut problems = Vec::new();
    let sources = Compiler {
        zone,
        fires_from: edited.contains(&GridKind::Templates).then_some(now),
        problems: &mut problems,
    }
    .compile(grid);
    check_references(&sources, &mut problems);
    let references: Vec<(String, i64)> = edited
        .iter()
        .flat_map(|kind| asset_references(grid, *kind))
        .collect();
    let mut ids: Vec<AssetId> = references.iter().map(|(_, id)| AssetId(*id)).collect();
    ids.sort();
    ids.dedup();
    let known: BTreeSet<AssetId> = store
        .assets_by_ids(&ids)
        .await?
        .into_iter()
        .map(|asset| asset.id)
        .collect();
    let mut reported = BTreeSet::new();
    for (path, id) in references {
        if !known.contains(&AssetId(id)) && reported.insert((path.clone(), id)) {
            problems.push(format!("{path}: asset {id} does not exist"));
        }
    }
    Ok(problems)
}
