//! The grid API: a channel's weekly templates, blocks, fill rules, ad policy, asset rights
//! windows and programme metadata, versioned with its schedule, and a preview of the plan they
//! make; and the one function that plans a channel from what is stored ([`plan_channel`]),
//! which `onair serve` airs and the EPG lists.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels/{slug}/grid` | every part of the grid, the schedule version (`ETag`), the lock horizon, and which version wrote each part |
//! | `PUT /api/channels/{slug}/grid` | `{"version"?, "effective_from"?, "templates"?, "blocks"?, "fill"?, "ad_policy"?, "rights"?, "metadata"?}`: replaces the parts given, in one version; needs `If-Match: "<version>"` or `version` |
//! | `GET /api/channels/{slug}/grid/{part}` | one part (`templates`, `blocks`, `fill`, `ad_policy`, `rights`, `metadata`) |
//! | `PUT /api/channels/{slug}/grid/{part}` | the same body as `PUT …/grid`, carrying that part only |
//! | `GET /api/channels/{slug}/grid/versions` | the grid versions, newest first: author, instants, parts |
//! | `GET /api/channels/{slug}/grid/versions/{n}` | the parts version `n` wrote |
//! | `POST /api/channels/{slug}/grid/versions/{n}/restore` | makes the grid as it stood at version `n` current again (a new version) |
//! | `GET /api/channels/{slug}/plan?from=&to=` | the plan of `[from, to)` (default: now to now + 24 h, at most 31 days): items with their breaks, ad time per clock hour, and every problem |
//!
//! # The parts
//!
//! Instants are RFC 3339, durations integer milliseconds, assets their ids.
//!
//! - **templates**: `[{"name", "zone"?, "slots": [{"rule", "block" | "fill" | "item"}]}]`. A
//!   rule is `"daily 06:00"`, `"<days> HH:MM"` (`"weekdays 20:00"`, `"Sat,Sun 09:30"`) or
//!   `"cron <6 or 7 fields, seconds first>"`, in the template's zone (an IANA name; the
//!   channel's by default), with the DST semantics of `onair_scheduler::rules`. A slot places
//!   the named block, the named fill rule (up to the next hard start), or one item.
//! - **blocks**: `{"<name>": {"entries": [entry…]}}`; an entry is `{"type": "item", …item}`,
//!   `{"type": "block", "name"}`, `{"type": "break", "duration_ms"}` or `{"type": "fill",
//!   "rule"}`. A block placed at a slot gives the slot's start to its first entry; the rest
//!   follow one another.
//! - An **item** is `{"asset_id", "info", "in_ms"?, "out_ms"?, "live"?: {"source_key",
//!   "duration_ms"}, "breaks"?: [{"offset_ms"?, "duration_ms"}], "cue_points_ms"?: […]}`; a
//!   break without `offset_ms` airs after the item, `offset_ms: 0` before it. A live item airs
//!   its asset looping until live ingest exists.
//! - **info** (programme metadata, for the EPG): `{"title", "episode_title"?, "season"?,
//!   "episode"?, "description"?, "genres"?: […], "rating"?: {"system"?, "value"},
//!   "artwork_url"?}`.
//! - **fill**: `{"rules": {"<name>": {"playlist": [asset…]} | {"category": {"assets": […],
//!   "no_repeat_hours"?, "seed"?}}, with "info"? for what it places}, "default"?: "<name>"}`; the
//!   default rule fills every gap before a hard start.
//! - **ad_policy**: `{"every_minutes" | "every_items", "break_ms", "max_per_hour_ms"?,
//!   "min_break_ms"?}` or `null` for none: a break every N minutes of content or every N
//!   items, capped per clock hour of the channel's zone (`onair_scheduler::ad_policy`).
//! - **rights**: `[{"asset_id", "valid_from"?, "valid_until"?}]`: an asset airs only wholly
//!   inside its window; fills pick around it, the planner skips an item outside it.
//! - **metadata**: `[{"start", "asset_id", "info"}]`: the EPG metadata of the stored schedule
//!   item that starts at `start` playing `asset_id` (else it is listed by its title).
//!
//! Any problem refuses the whole edit with 422 and `{"error", "errors": [{"message"}]}`, every
//! problem named by its path (`templates[0].slots[1].rule: rule "cron 0 0 12 30 2 *" never
//! fires: …`): a time zone that does not exist, a malformed time, day list or cron expression,
//! a rule that never fires (or not within four years), a block that includes itself (with the
//! loop: `A → B → A`), a block or fill rule that does not exist, an asset that does not exist,
//! malformed instants. A body that is not the JSON described is 400.
//!
//! # Versions and the lock horizon
//!
//! Grid edits share the schedule's version (`onair_store::grid`): an edit names the version it
//! was made on (`If-Match` or `version`; 428 without), a stale one is 409 and changes nothing,
//! whichever of a grid or a schedule edit moved the version on. Every version is kept with its
//! author (`X-Onair-Author`, else `api`), instant and parts. (`GET …/schedule/versions` lists
//! the schedule's own versions, so its numbers skip the grid's.)
//!
//! An edit takes effect from `effective_from`: by default the lock horizon (now + the playout
//! window + the margin, see `schedule`), or the end of the first programme from there when that
//! keeps what airs before the horizon as it was; never earlier than the version before it. A
//! later instant may be given ("the new template from Monday"); one inside the lock horizon is
//! 409. Templates, blocks, fill rules and the ad policy apply from their version's
//! `effective_from` until the next version's: what aired under a version stays as it aired.
//! Rights windows and metadata are facts about assets and items: they apply to the whole plan.
//! Every edit is planned before it is accepted, and one that would change anything that airs
//! before the lock horizon is refused with 409 and `lock_horizon`, naming the instant it would
//! change.
//!
//! # The plan
//!
//! [`plan_channel`] plans what is stored: the schedule items (one-off entries, with their
//! breaks and metadata) and the grid, through `onair_scheduler::pipeline`. A channel that
//! repeats plans one period from its first item (or, without items, from its first grid
//! version), with its latest grid. Otherwise the plan runs from there to the start of the
//! channel's local day 14 days ahead (the EPG's reach), in stages, one per grid version
//! (`build_plan_in_stages`), and is made again each local day ([`ChannelPlan::replan_at`]). A
//! channel with items alone plans exactly as `plan_stored` always planned it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;
use onair_domain::{AdBreak, Asset, AssetId, Channel, ScheduleItem, Ticks, Timeline, Timestamp};
use onair_scheduler::ad_policy::{AdPolicy, Cadence, ads_per_clock_hour};
use onair_scheduler::fill::{FillRule, FillRules, FillSource};
use onair_scheduler::grid::{
    AdBreakSpec, Block, BlockLibrary, GridEntry, GridItem, LiveSource, ProgrammeInfo, Rating,
    Start, check_blocks,
};
use onair_scheduler::rules::{local_time, parse_zone, resolve_local};
use onair_scheduler::template::{SlotContent, TemplateSlot, WeeklyTemplate};
use onair_scheduler::{
    ChannelGrid, Plan, PlanOptions, Problem as PlanProblem, RightsWindow, Rule,
    build_plan_in_stages, stored_entries,
};
use onair_store::grid::{GridDocument, GridEdit, GridKind};
use onair_store::{Store, StoreError};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::auth::require_bearer;
use super::schedule::{
    ApiError, Problem, ScheduleApiState, WindowQuery, author, channel, check_lock,
    expected_version, lock_horizon, parse_instant, query_window, with_etag,
};

/// How far ahead a channel that does not repeat is planned: the EPG's 14 days.
pub const PLAN_DAYS: i64 = 14;

/// A rule must fire within this long from when it is written.
const RULE_FIRES_WITHIN: Ticks = Ticks::from_secs(4 * 366 * 86_400);

/// The longest plan preview.
const MAX_PREVIEW: Ticks = Ticks::from_secs(31 * 86_400);

/// How many instants after the lock horizon an edit without `effective_from` tries.
const EFFECTIVE_CANDIDATES: usize = 6;

/// The parts that apply from their version on; the others apply to the whole plan.
const STAGED: [GridKind; 4] = [
    GridKind::Templates,
    GridKind::Blocks,
    GridKind::Fill,
    GridKind::AdPolicy,
];

/// The grid routes, ready to merge into the server's router (same state and token as the
/// schedule API).
pub fn router(state: ScheduleApiState) -> Router {
    Router::new()
        .route("/api/channels/{slug}/grid", get(get_grid).put(put_grid))
        .route("/api/channels/{slug}/grid/versions", get(list_versions))
        .route(
            "/api/channels/{slug}/grid/versions/{version}",
            get(get_version),
        )
        .route(
            "/api/channels/{slug}/grid/versions/{version}/restore",
            post(restore_version),
        )
        .route(
            "/api/channels/{slug}/grid/{part}",
            get(get_part).put(put_part),
        )
        .route("/api/channels/{slug}/plan", get(preview_plan))
        .route_layer(middleware::from_fn_with_state(
            state.api_token.clone(),
            require_bearer,
        ))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Wire types: what the API takes and answers, and what the store keeps.

/// Programme metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfoWire {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artwork_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemWire {
    pub asset_id: i64,
    pub info: InfoWire,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveWire>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<ItemBreakWire>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cue_points_ms: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveWire {
    pub source_key: String,
    pub duration_ms: i64,
}

/// A break of an item: at `offset_ms` into it (0: before it), after it when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemBreakWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_ms: Option<i64>,
    pub duration_ms: i64,
}

#[allow(
    clippy::large_enum_variant,
    reason = "items are most entries; boxing them would only add allocations"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EntryWire {
    Item(ItemWire),
    Block { name: String },
    Break { duration_ms: i64 },
    Fill { rule: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateWire {
    pub name: String,
    /// An IANA zone; the channel's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub slots: Vec<SlotWire>,
}

/// A slot: a rule and exactly one of `block`, `fill`, `item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotWire {
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemWire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockWire {
    pub entries: Vec<EntryWire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillWire {
    #[serde(default)]
    pub rules: BTreeMap<String, FillRuleWire>,
    /// Fills every gap before a hard start.
    #[serde(default)]
    pub default: Option<String>,
}

/// Exactly one of `playlist` and `category`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillRuleWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playlist: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<CategoryWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<InfoWire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryWire {
    pub assets: Vec<i64>,
    #[serde(default)]
    pub no_repeat_hours: u32,
    #[serde(default)]
    pub seed: u64,
}

/// Exactly one of `every_minutes` and `every_items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdPolicyWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_items: Option<u32>,
    pub break_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_hour_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_break_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsWire {
    pub asset_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataWire {
    pub start: String,
    pub asset_id: i64,
    pub info: InfoWire,
}

/// A channel's whole grid, one field per part, as the API and the store hold it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GridWire {
    pub templates: Vec<TemplateWire>,
    pub blocks: BTreeMap<String, BlockWire>,
    pub fill: FillWire,
    pub ad_policy: Option<AdPolicyWire>,
    pub rights: Vec<RightsWire>,
    pub metadata: Vec<MetadataWire>,
}

impl GridWire {
    /// The part as a JSON document.
    pub fn part(&self, kind: GridKind) -> Value {
        let value = match kind {
            GridKind::Templates => serde_json::to_value(&self.templates),
            GridKind::Blocks => serde_json::to_value(&self.blocks),
            GridKind::Fill => serde_json::to_value(&self.fill),
            GridKind::AdPolicy => serde_json::to_value(&self.ad_policy),
            GridKind::Rights => serde_json::to_value(&self.rights),
            GridKind::Metadata => serde_json::to_value(&self.metadata),
        };
        value.expect("grid parts serialise to JSON")
    }

    /// Replaces a part with a JSON document.
    pub fn set_part(&mut self, kind: GridKind, body: &Value) -> Result<(), serde_json::Error> {
        match kind {
            GridKind::Templates => self.templates = Deserialize::deserialize(body)?,
            GridKind::Blocks => self.blocks = Deserialize::deserialize(body)?,
            GridKind::Fill => self.fill = Deserialize::deserialize(body)?,
            GridKind::AdPolicy => self.ad_policy = Deserialize::deserialize(body)?,
            GridKind::Rights => self.rights = Deserialize::deserialize(body)?,
            GridKind::Metadata => self.metadata = Deserialize::deserialize(body)?,
        }
        Ok(())
    }

    /// The grid as the documents stand up to and including `version` (all of them: `None`).
    fn as_of(documents: &[GridDocument], version: Option<i64>) -> (GridWire, Vec<String>) {
        let mut grid = GridWire::default();
        let mut notes = Vec::new();
        for document in documents
            .iter()
            .filter(|document| version.is_none_or(|version| document.version <= version))
        {
            if let Err(error) = grid.set_part(document.kind, &document.body) {
                notes.push(format!(
                    "the stored {} of grid version {} is unreadable and was left out: {error}",
                    document.kind, document.version
                ));
            }
        }
        (grid, notes)
    }
}

/// The body of a grid edit: the parts to replace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GridPut {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    effective_from: Option<String>,
    #[serde(default)]
    templates: Option<Vec<TemplateWire>>,
    #[serde(default)]
    blocks: Option<BTreeMap<String, BlockWire>>,
    #[serde(default)]
    fill: Option<FillWire>,
    #[serde(default, deserialize_with = "present")]
    ad_policy: Option<Option<AdPolicyWire>>,
    #[serde(default)]
    rights: Option<Vec<RightsWire>>,
    #[serde(default)]
    metadata: Option<Vec<MetadataWire>>,
}

/// A field that is present, even as `null`: `Some(None)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl GridPut {
    /// Applies the parts given to `grid`; returns their kinds.
    fn apply(self, grid: &mut GridWire) -> Vec<GridKind> {
        let mut kinds = Vec::new();
        if let Some(templates) = self.templates {
            grid.templates = templates;
            kinds.push(GridKind::Templates);
        }
        if let Some(blocks) = self.blocks {
            grid.blocks = blocks;
            kinds.push(GridKind::Blocks);
        }
        if let Some(fill) = self.fill {
            grid.fill = fill;
            kinds.push(GridKind::Fill);
        }
        if let Some(ad_policy) = self.ad_policy {
            grid.ad_policy = ad_policy;
            kinds.push(GridKind::AdPolicy);
        }
        if let Some(rights) = self.rights {
            grid.rights = rights;
            kinds.push(GridKind::Rights);
        }
        if let Some(metadata) = self.metadata {
            grid.metadata = metadata;
            kinds.push(GridKind::Metadata);
        }
        kinds
    }
}

// ---------------------------------------------------------------------------------------------
// From wire to the scheduler's types, with every problem named by its path.

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
struct Compiler<'a> {
    zone: Tz,
    fires_from: Option<Timestamp>,
    problems: &'a mut Vec<String>,
}

impl Compiler<'_> {
    fn problem(&mut self, path: &str, message: impl std::fmt::Display) {
        self.problems.push(format!("{path}: {message}"));
    }

    fn compile(&mut self, grid: &GridWire) -> GridSources {
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

    fn template(&mut self, index: usize, template: &TemplateWire) -> Option<WeeklyTemplate> {
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

    fn entry(&mut self, path: &str, entry: &EntryWire) -> Option<GridEntry> {
        Some(match entry {
            EntryWire::Item(item) => GridEntry::Item(self.item(path, item)?),
            EntryWire::Block { name } => GridEntry::Block {
                name: name.clone(),
                start: Start::Soft,
            },
            EntryWire::Break { duration_ms } => GridEntry::Break {
                duration: self.positive(&format!("{path}.duration_ms"), *duration_ms)?,
            },
            EntryWire::Fill { rule } => GridEntry::Fill {
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

    fn item(&mut self, path: &str, item: &ItemWire) -> Option<GridItem> {
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

    fn info(&mut self, path: &str, info: &InfoWire) -> ProgrammeInfo {
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

    fn fill_rule(&mut self, path: &str, rule: &FillRuleWire) -> Option<FillRule> {
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

    fn ad_policy(&mut self, policy: &AdPolicyWire) -> Option<AdPolicy> {
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

    fn rights(&mut self, rights: &[RightsWire]) -> HashMap<AssetId, RightsWindow> {
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
        metadata: &[MetadataWire],
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

/// The checks across parts: every block and fill rule a part names exists, no block includes
/// itself.
fn check_references(sources: &GridSources, problems: &mut Vec<String>) {
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
fn asset_references(grid: &GridWire, kind: GridKind) -> Vec<(String, i64)> {
    fn of_item(path: String, item: &ItemWire, out: &mut Vec<(String, i64)>) {
        out.push((path, item.asset_id));
    }
    fn of_entries(path: &str, entries: &[EntryWire], out: &mut Vec<(String, i64)>) {
        for (index, entry) in entries.iter().enumerate() {
            if let EntryWire::Item(item) = entry {
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
async fn validate(
    store: &Store,
    grid: &GridWire,
    edited: &[GridKind],
    zone: Tz,
    now: Timestamp,
) -> Result<Vec<String>, ApiError> {
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

// ---------------------------------------------------------------------------------------------
// Planning what is stored: shared by `onair serve` (playout, the EPG) and this API.

/// The source key of a channel's slate asset.
pub fn slate_source(slug: &str) -> String {
    format!("generated:slate/{slug}")
}

/// A channel planned from what is stored.
#[derive(Debug, Clone)]
pub struct ChannelPlan {
    pub plan: Plan,
    pub problems: Vec<PlanProblem>,
    /// The assets the plan's runs play, the slate included.
    pub assets: HashMap<AssetId, Asset>,
    pub slate: Option<AssetId>,
    /// What was planned: templates and fills reach `[from, to)`.
    pub window: (Timestamp, Timestamp),
    /// When the plan must be made again because time moved on (the next local day); `None`
    /// when it does not depend on the day.
    pub replan_at: Option<Timestamp>,
    /// Stored documents that could not be read (and were left out).
    pub notes: Vec<String>,
}

/// What planning reads from the store.
struct Stored {
    items: Vec<ScheduleItem>,
    ad_breaks: Vec<AdBreak>,
    slate: Option<AssetId>,
    assets: HashMap<AssetId, Asset>,
}

impl Stored {
    async fn load(
        store: &Store,
        channel: &Channel,
        documents: &[GridDocument],
    ) -> Result<Stored, StoreError> {
        let items = store.schedule_items(channel.id).await?;
        let ad_breaks = store.ad_breaks_of_channel(channel.id).await?;
        let slate = store
            .asset_by_source(&slate_source(channel.slug.as_str()))
            .await?;
        let mut stored = Stored {
            items,
            ad_breaks,
            slate: slate.as_ref().map(|slate| slate.id),
            assets: HashMap::new(),
        };
        if let Some(slate) = slate {
            stored.assets.insert(slate.id, slate);
        }
        let mut ids: Vec<AssetId> = stored.items.iter().map(|item| item.asset_id).collect();
        ids.extend(documents_assets(documents));
        stored.add_assets(store, ids).await?;
        Ok(stored)
    }

    /// Loads the assets of `ids` not loaded yet.
    async fn add_assets(&mut self, store: &Store, mut ids: Vec<AssetId>) -> Result<(), StoreError> {
        ids.retain(|id| !self.assets.contains_key(id));
        ids.sort();
        ids.dedup();
        if !ids.is_empty() {
            for asset in store.assets_by_ids(&ids).await? {
                self.assets.insert(asset.id, asset);
            }
        }
        Ok(())
    }
}

/// The assets the staged parts of stored documents name.
fn documents_assets(documents: &[GridDocument]) -> Vec<AssetId> {
    let mut ids = Vec::new();
    for document in documents {
        if !STAGED.contains(&document.kind) {
            continue;
        }
        let mut grid = GridWire::default();
        if grid.set_part(document.kind, &document.body).is_ok() {
            ids.extend(
                asset_references(&grid, document.kind)
                    .into_iter()
                    .map(|(_, id)| AssetId(id)),
            );
        }
    }
    ids
}

/// Plans the channel from what is stored, at `now` (see the module doc).
pub async fn plan_channel(
    store: &Store,
    channel: &Channel,
    now: Timestamp,
) -> Result<ChannelPlan, StoreError> {
    let documents = store.grid_documents(channel.id).await?;
    let stored = Stored::load(store, channel, &documents).await?;
    let mut planned = plan_stored_grid(channel, &stored, &documents, now);
    let mut used: BTreeSet<AssetId> = planned
        .plan
        .timeline
        .as_deref()
        .map(|timeline| timeline.runs().iter().map(|run| run.asset_id).collect())
        .unwrap_or_default();
    used.extend(planned.slate);
    planned.assets.retain(|id, _| used.contains(id));
    Ok(planned)
}

/// The start of the local day `days` after the one `at` is in.
fn local_day_start(zone: Tz, at: Timestamp, days: i64) -> Timestamp {
    let date = local_time(zone, at).date() + Duration::days(days);
    resolve_local(zone, date.and_time(NaiveTime::MIN)).at
}

/// One stage's sources and window.
struct Stage {
    from: Timestamp,
    to: Timestamp,
    sources: GridSources,
    entries: Vec<GridEntry>,
    options: PlanOptions,
}

/// Plans stored items and grid documents (the pure part of [`plan_channel`]).
fn plan_stored_grid(
    channel: &Channel,
    stored: &Stored,
    documents: &[GridDocument],
    now: Timestamp,
) -> ChannelPlan {
    let zone = channel.time_zone;
    let mut notes = Vec::new();
    let (latest, read_notes) = GridWire::as_of(documents, None);
    notes.extend(read_notes);
    let mut compile_problems = Vec::new();
    let facts = Compiler {
        zone,
        fires_from: None,
        problems: &mut compile_problems,
    }
    .compile(&GridWire {
        rights: latest.rights.clone(),
        metadata: latest.metadata.clone(),
        ..GridWire::default()
    });

    // The staged parts as each version that wrote one left them, from when it took effect.
    let mut versions: Vec<(Timestamp, GridWire)> = Vec::new();
    let mut staged = GridWire::default();
    for written in documents.chunk_by(|a, b| a.version == b.version) {
        let mut changed = false;
        for document in written
            .iter()
            .filter(|document| STAGED.contains(&document.kind))
        {
            changed |= staged.set_part(document.kind, &document.body).is_ok();
        }
        if changed {
            let from = written[0].effective_from;
            versions.retain(|(at, _)| *at < from);
            versions.push((from, staged.clone()));
        }
    }

    let entries = stored_entries(&stored.items, &stored.ad_breaks, |item| {
        facts
            .metadata
            .get(&(item.start, item.asset_id))
            .cloned()
            .unwrap_or_else(|| ProgrammeInfo::titled(&item.title))
    });
    let first_item = entries.first().map(|(start, _)| *start);
    let first_version = versions.first().map(|(from, _)| *from);
    let anchor = match (first_item, first_version) {
        (Some(item), Some(version)) => Some(item.min(version)),
        (item, version) => item.or(version),
    };

    let (window, replan_at, mut spans): (_, _, Vec<(Timestamp, GridWire)>) =
        match (channel.grid_repeat, anchor) {
            (_, None) => ((now, now), None, Vec::new()),
            (Some(period), Some(anchor)) => {
                let latest_staged = versions.pop().map(|(_, grid)| grid).unwrap_or_default();
                (
                    (anchor, anchor + period),
                    None,
                    vec![(anchor, latest_staged)],
                )
            }
            (None, Some(anchor)) => {
                let to = local_day_start(zone, now, PLAN_DAYS).max(anchor);
                let replan_at = (!versions.is_empty()).then(|| local_day_start(zone, now, 1));
                let mut spans = Vec::new();
                if first_version != Some(anchor) {
                    spans.push((anchor, GridWire::default()));
                }
                spans.extend(versions);
                ((anchor, to), replan_at, spans)
            }
        };

    let mut stages: Vec<Stage> = Vec::with_capacity(spans.len());
    let mut entries = entries.into_iter().peekable();
    let n_spans = spans.len();
    for (from, grid) in spans.drain(..) {
        let sources = Compiler {
            zone,
            fires_from: None,
            problems: &mut compile_problems,
        }
        .compile(&grid);
        let options = PlanOptions {
            slate: stored.slate,
            grid_repeat: channel.grid_repeat,
            rights: facts.rights.clone(),
            max_ad_per_hour: sources
                .ad_policy
                .as_ref()
                .and_then(|policy| policy.max_per_hour),
            zone,
            ..PlanOptions::default()
        };
        stages.push(Stage {
            from,
            to: window.1,
            sources,
            entries: Vec::new(),
            options,
        });
    }
    for index in 1..stages.len() {
        let from = stages[index].from;
        stages[index - 1].to = from.max(stages[index - 1].from);
    }
    for (index, stage) in stages.iter_mut().enumerate() {
        let last = index + 1 == n_spans;
        while let Some((start, _)) = entries.peek() {
            if !last && *start >= stage.to {
                break;
            }
            let (_, entry) = entries.next().expect("peeked");
            stage.entries.push(entry);
        }
    }
    for problem in compile_problems {
        notes.push(format!("a stored grid part was left out: {problem}"));
    }

    let history: [(AssetId, Timestamp); 0] = [];
    let grids: Vec<ChannelGrid<'_>> = stages
        .iter()
        .map(|stage| ChannelGrid {
            from: stage.from,
            to: stage.to.max(stage.from),
            templates: &stage.sources.templates,
            entries: &stage.entries,
            blocks: &stage.sources.blocks,
            fill_rules: &stage.sources.fill_rules,
            default_fill: stage.sources.default_fill.as_deref(),
            ad_policy: stage.sources.ad_policy.as_ref(),
            assets: &stored.assets,
            history: &history,
            options: &stage.options,
        })
        .collect();
    let (plan, problems) = build_plan_in_stages(&grids);
    ChannelPlan {
        plan,
        problems,
        assets: stored.assets.clone(),
        slate: stored.slate,
        window,
        replan_at,
        notes,
    }
}

/// The first instant where two plans air something different (another run, or the same run of
/// another programme), `None` when they air the same.
fn earliest_difference(before: &Plan, after: &Plan) -> Option<Timestamp> {
    let (a, b) = match (before.timeline.as_deref(), after.timeline.as_deref()) {
        (None, None) => return None,
        (Some(only), None) | (None, Some(only)) => return Some(only.origin()),
        (Some(a), Some(b)) => (a, b),
    };
    if a.origin() != b.origin() {
        return Some(a.origin().min(b.origin()));
    }
    let programme = |plan: &Plan, run: usize| {
        plan.item_of_run(run)
            .map(|item| (item.asset_id, item.info.clone(), item.live.clone()))
    };
    let mut at = a.origin();
    for index in 0.. {
        match (a.runs().get(index), b.runs().get(index)) {
            (None, None) => break,
            (Some(run_a), Some(run_b))
                if run_a == run_b && programme(before, index) == programme(after, index) =>
            {
                at = at + run_a.duration();
            }
            _ => return Some(at),
        }
    }
    (a.repeats() != b.repeats()).then_some(at)
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// The schedule version and the grid documents, read so that they agree.
async fn read_grid(store: &Store, channel: &Channel) -> Result<(i64, Vec<GridDocument>), ApiError> {
    for _ in 0..10 {
        let version = store.schedule_version(channel.id).await?;
        let documents = store.grid_documents(channel.id).await?;
        if store.schedule_version(channel.id).await? == version {
            return Ok((version, documents));
        }
    }
    Err(ApiError::Conflict(format!(
        "the grid of {} is changing too fast to be read; try again",
        channel.slug
    )))
}

/// Who wrote a part last, and when it applies.
fn document_out(document: &GridDocument) -> Value {
    json!({
        "part": document.kind.as_str(),
        "version": document.version,
        "author": document.author,
        "published_at": document.published_at.to_rfc3339_millis(),
        "effective_from": document.effective_from.to_rfc3339_millis(),
    })
}

fn latest_documents(documents: &[GridDocument]) -> Vec<&GridDocument> {
    GridKind::ALL
        .iter()
        .filter_map(|kind| {
            documents
                .iter()
                .rev()
                .find(|document| document.kind == *kind)
        })
        .collect()
}

fn part_kind(part: &str) -> Result<GridKind, ApiError> {
    GridKind::parse(part).ok_or_else(|| {
        let parts: Vec<&str> = GridKind::ALL.iter().map(|kind| kind.as_str()).collect();
        ApiError::NotFound(format!(
            "the grid has no part {part:?}: the parts are {}",
            parts.join(", ")
        ))
    })
}

async fn get_grid(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let (version, documents) = read_grid(&state.store, &channel).await?;
    let (grid, notes) = GridWire::as_of(&documents, None);
    if !notes.is_empty() {
        return Err(ApiError::Internal(notes.join("; ")));
    }
    let horizon = lock_horizon(&state, &channel, state.clock.now()).await?;
    let mut body = json!({
        "channel": channel.slug.as_str(),
        "version": version,
        "lock_horizon": horizon.to_rfc3339_millis(),
        "documents": latest_documents(&documents).into_iter().map(document_out).collect::<Vec<_>>(),
    });
    for kind in GridKind::ALL {
        body[kind.as_str()] = grid.part(kind);
    }
    Ok(with_etag(version, Json(body)))
}

async fn get_part(
    State(state): State<ScheduleApiState>,
    Path((slug, part)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = part_kind(&part)?;
    let channel = channel(&state.store, &slug).await?;
    let (version, documents) = read_grid(&state.store, &channel).await?;
    let (grid, notes) = GridWire::as_of(&documents, None);
    if !notes.is_empty() {
        return Err(ApiError::Internal(notes.join("; ")));
    }
    let horizon = lock_horizon(&state, &channel, state.clock.now()).await?;
    let document = documents
        .iter()
        .rev()
        .find(|document| document.kind == kind)
        .map(document_out);
    let mut body = json!({
        "channel": channel.slug.as_str(),
        "version": version,
        "lock_horizon": horizon.to_rfc3339_millis(),
        "document": document,
    });
    body[kind.as_str()] = grid.part(kind);
    Ok(with_etag(version, Json(body)))
}

async fn put_grid(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Json<GridPut>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    put(state, slug, None, headers, body).await
}

async fn put_part(
    State(state): State<ScheduleApiState>,
    Path((slug, part)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<GridPut>, JsonRejection>,
) -> Result<Response, ApiError> {
    let kind = part_kind(&part)?;
    let Json(body) = body?;
    put(state, slug, Some(kind), headers, body).await
}

async fn put(
    state: ScheduleApiState,
    slug: String,
    only: Option<GridKind>,
    headers: HeaderMap,
    body: GridPut,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let expected = expected_version(&headers, body.version)?;
    let effective_from = body.effective_from.clone();
    let (current, documents) = read_grid(&state.store, &channel).await?;
    let (mut grid, notes) = GridWire::as_of(&documents, None);
    if !notes.is_empty() {
        return Err(ApiError::Internal(notes.join("; ")));
    }
    let edited = body.apply(&mut grid);
    if let Some(kind) = only
        && edited != [kind]
    {
        return Err(ApiError::Invalid(vec![Problem::whole(format!(
            "PUT …/grid/{kind} takes a body with \"{kind}\" and no other part"
        ))]));
    }
    if edited.is_empty() {
        return Err(ApiError::Invalid(vec![Problem::whole(
            "the edit names no part of the grid: give templates, blocks, fill, ad_policy, rights or metadata",
        )]));
    }
    let edit = Edit {
        expected,
        current,
        documents: &documents,
        edited: &edited,
        grid: &grid,
        effective_from: effective_from.as_deref(),
        author: author(&headers),
    };
    submit(&state, &channel, edit).await
}

/// An edit of the grid, as read and asked for.
struct Edit<'a> {
    /// The version it was made on.
    expected: i64,
    /// The version `documents` were read at.
    current: i64,
    documents: &'a [GridDocument],
    /// The parts it replaces.
    edited: &'a [GridKind],
    /// The whole grid with the edited parts replaced.
    grid: &'a GridWire,
    effective_from: Option<&'a str>,
    author: String,
}

/// Checks the grid the edit makes, finds when it can take effect without changing what airs
/// before the lock horizon, and publishes it.
async fn submit(
    state: &ScheduleApiState,
    channel: &Channel,
    edit: Edit<'_>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mut problems =
        validate(&state.store, edit.grid, edit.edited, channel.time_zone, now).await?;
    let explicit = edit
        .effective_from
        .and_then(|text| match parse_instant(text) {
            Ok(at) => Some(at),
            Err(error) => {
                problems.push(format!("effective_from: {error}"));
                None
            }
        });
    if !problems.is_empty() {
        return Err(ApiError::Invalid(
            problems.into_iter().map(Problem::whole).collect(),
        ));
    }
    if edit.current != edit.expected {
        return Err(ApiError::Conflict(format!(
            "the schedule changed: it is at version {}, not {}; reload it and apply the edit again",
            edit.current, edit.expected
        )));
    }
    let horizon = lock_horizon(state, channel, now).await?;
    let in_order_from = edit
        .documents
        .iter()
        .map(|document| document.effective_from)
        .max()
        .unwrap_or(Timestamp(i64::MIN));
    if let Some(at) = explicit {
        check_lock(state, channel, now, at).await?;
        if at < in_order_from {
            return Err(ApiError::Invalid(vec![Problem::whole(format!(
                "effective_from {} comes before {}, when the grid's latest version takes effect: versions take effect in order",
                at.to_rfc3339_millis(),
                in_order_from.to_rfc3339_millis()
            ))]));
        }
    }

    let mut stored = Stored::load(&state.store, channel, edit.documents).await?;
    let new_assets: Vec<AssetId> = edit
        .edited
        .iter()
        .flat_map(|kind| asset_references(edit.grid, *kind))
        .map(|(_, id)| AssetId(id))
        .collect();
    stored.add_assets(&state.store, new_assets).await?;
    let before = plan_stored_grid(channel, &stored, edit.documents, now).plan;
    let candidates: Vec<Timestamp> = match explicit {
        Some(at) => vec![at],
        None => {
            let earliest = horizon.max(in_order_from);
            let mut ends: Vec<Timestamp> = before
                .items
                .iter()
                .map(|item| item.end)
                .filter(|end| *end > earliest)
                .collect();
            ends.sort();
            ends.dedup();
            std::iter::once(earliest)
                .chain(ends)
                .take(EFFECTIVE_CANDIDATES)
                .collect()
        }
    };
    let parts: Vec<(GridKind, Value)> = edit
        .edited
        .iter()
        .map(|kind| (*kind, edit.grid.part(*kind)))
        .collect();
    let mut refused: Option<Timestamp> = None;
    let mut chosen: Option<(Timestamp, Option<Timestamp>)> = None;
    for candidate in candidates {
        let mut proposed = edit.documents.to_vec();
        proposed.extend(parts.iter().map(|(kind, body)| GridDocument {
            kind: *kind,
            version: edit.expected + 1,
            author: edit.author.clone(),
            published_at: now,
            effective_from: candidate,
            body: body.clone(),
        }));
        let after = plan_stored_grid(channel, &stored, &proposed, now).plan;
        match earliest_difference(&before, &after) {
            Some(change) if change < horizon => refused = refused.or(Some(change)),
            change => {
                chosen = Some((candidate, change));
                break;
            }
        }
    }
    let Some((effective_from, change)) = chosen else {
        let change = refused.unwrap_or(now);
        return Err(ApiError::Locked {
            message: format!(
                "the edit changes what airs at {}, inside the lock horizon: the schedule of {} is frozen until {} (now, plus the playout window, plus the safety margin){}",
                change.to_rfc3339_millis(),
                channel.slug,
                horizon.to_rfc3339_millis(),
                if explicit.is_some() {
                    "; give a later effective_from"
                } else {
                    "; give an effective_from after what airs then"
                }
            ),
            horizon,
        });
    };
    let version = state
        .store
        .publish_grid_edit(&GridEdit {
            channel: channel.id,
            expected_version: edit.expected,
            documents: &parts,
            effective_from,
            author: &edit.author,
            now,
        })
        .await?;
    Ok(with_etag(
        version,
        Json(json!({
            "version": version,
            "effective_from": effective_from.to_rfc3339_millis(),
            "first_change": change.map(Timestamp::to_rfc3339_millis),
        })),
    ))
}

async fn list_versions(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let (_, documents) = read_grid(&state.store, &channel).await?;
    let mut versions: Vec<Value> = Vec::new();
    for document in documents.iter().rev() {
        match versions.last_mut() {
            Some(last) if last["version"] == document.version => {
                if let Some(parts) = last["parts"].as_array_mut() {
                    parts.insert(0, json!(document.kind.as_str()));
                }
            }
            _ => versions.push(json!({
                "version": document.version,
                "author": document.author,
                "published_at": document.published_at.to_rfc3339_millis(),
                "effective_from": document.effective_from.to_rfc3339_millis(),
                "parts": [document.kind.as_str()],
            })),
        }
    }
    Ok(Json(json!({ "versions": versions })).into_response())
}

async fn get_version(
    State(state): State<ScheduleApiState>,
    Path((slug, number)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let (_, documents) = read_grid(&state.store, &channel).await?;
    let written: Vec<&GridDocument> = documents
        .iter()
        .filter(|document| document.version == number)
        .collect();
    let Some(first) = written.first() else {
        return Err(no_version(&channel, number));
    };
    let mut body = json!({
        "version": number,
        "author": first.author,
        "published_at": first.published_at.to_rfc3339_millis(),
        "effective_from": first.effective_from.to_rfc3339_millis(),
    });
    for document in written {
        body[document.kind.as_str()] = document.body.clone();
    }
    Ok(Json(body).into_response())
}

fn no_version(channel: &Channel, number: i64) -> ApiError {
    ApiError::NotFound(format!(
        "channel {} has no grid version {number}",
        channel.slug
    ))
}

async fn restore_version(
    State(state): State<ScheduleApiState>,
    Path((slug, number)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let (current_version, documents) = read_grid(&state.store, &channel).await?;
    if !documents.iter().any(|document| document.version == number) {
        return Err(no_version(&channel, number));
    }
    let (wanted, _) = GridWire::as_of(&documents, Some(number));
    let (current, _) = GridWire::as_of(&documents, None);
    let edited: Vec<GridKind> = GridKind::ALL
        .into_iter()
        .filter(|kind| wanted.part(*kind) != current.part(*kind))
        .collect();
    let expected = match expected_version(&headers, None) {
        Ok(version) => version,
        Err(ApiError::PreconditionRequired) => current_version,
        Err(other) => return Err(other),
    };
    if edited.is_empty() {
        return Ok(with_etag(
            current_version,
            Json(json!({ "version": current_version, "unchanged": true })),
        ));
    }
    let edit = Edit {
        expected,
        current: current_version,
        documents: &documents,
        edited: &edited,
        grid: &wanted,
        effective_from: None,
        author: format!("{} (restore of grid version {number})", author(&headers)),
    };
    submit(&state, &channel, edit).await
}

#[derive(Debug, Serialize)]
struct BreakOut {
    start: String,
    duration_ms: i64,
}

#[derive(Debug, Serialize)]
struct PlannedOut {
    start: String,
    end: String,
    title: String,
    asset_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_source: Option<String>,
    info: ProgrammeInfo,
    breaks: Vec<BreakOut>,
}

async fn preview_plan(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    Query(query): Query<WindowQuery>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let now = state.clock.now();
    let (from, to) = query_window(&query, now)?;
    if to - from > MAX_PREVIEW {
        return Err(ApiError::BadRequest(format!(
            "the window {} to {} is longer than the 31 days a preview shows",
            from.to_rfc3339_millis(),
            to.to_rfc3339_millis()
        )));
    }
    let version = state.store.schedule_version(channel.id).await?;
    let planned = plan_channel(&state.store, &channel, now).await?;
    let items = match planned.plan.timeline.as_deref() {
        Some(timeline) => planned_items(&planned.plan, timeline, from, to),
        None => Vec::new(),
    };
    let ads_per_hour: Vec<Value> = planned
        .plan
        .timeline
        .as_deref()
        .map(|timeline| ads_per_clock_hour(timeline, channel.time_zone, from, to))
        .unwrap_or_default()
        .into_iter()
        .map(|hour| json!({"hour": hour.hour.to_rfc3339_millis(), "ads_ms": hour.ads.as_millis()}))
        .collect();
    Ok(with_etag(
        version,
        Json(json!({
            "channel": channel.slug.as_str(),
            "version": version,
            "from": from.to_rfc3339_millis(),
            "to": to.to_rfc3339_millis(),
            "planned_from": planned.window.0.to_rfc3339_millis(),
            "planned_to": planned.window.1.to_rfc3339_millis(),
            "items": items,
            "ads_per_hour": ads_per_hour,
            "problems": planned.problems,
            "notes": planned.notes,
        })),
    ))
}

/// The planned items that touch `[from, to)`, every pass of a repeating timeline, each with
/// its breaks as they air.
fn planned_items(
    plan: &Plan,
    timeline: &Timeline,
    from: Timestamp,
    to: Timestamp,
) -> Vec<PlannedOut> {
    let origin = timeline.origin();
    let period = timeline.period();
    let mut run_starts = Vec::with_capacity(timeline.runs().len());
    let mut at = origin;
    for run in timeline.runs() {
        run_starts.push(at);
        at = at + run.duration();
    }
    let passes = if timeline.repeats() && period > Ticks::ZERO {
        let pass_of = |at: Timestamp| (at - origin).0.div_euclid(period.0);
        (pass_of(from) - 1).max(0)..=pass_of(to).max(0)
    } else {
        0..=0
    };
    let mut out = Vec::new();
    for pass in passes {
        let shift = Ticks(period.0 * pass);
        for item in &plan.items {
            let (start, end) = (item.start + shift, item.end + shift);
            if end <= from || start >= to {
                continue;
            }
            let mut breaks: Vec<BreakOut> = Vec::new();
            let mut last_break: Option<u32> = None;
            for run_index in item.runs.clone() {
                let run = &timeline.runs()[run_index];
                let Some(slot) = run.ad_break else {
                    last_break = None;
                    continue;
                };
                match breaks.last_mut() {
                    Some(open) if last_break == Some(slot.number) => {
                        open.duration_ms += run.duration().as_millis();
                    }
                    _ => breaks.push(BreakOut {
                        start: (run_starts[run_index] + shift).to_rfc3339_millis(),
                        duration_ms: run.duration().as_millis(),
                    }),
                }
                last_break = Some(slot.number);
            }
            out.push(PlannedOut {
                start: start.to_rfc3339_millis(),
                end: end.to_rfc3339_millis(),
                title: item.info.title.clone(),
                asset_id: item.asset_id.0,
                id: item.id.map(|id| id.0),
                live_source: item.live.as_ref().map(|live| live.source_key.clone()),
                info: item.info.clone(),
                breaks,
            });
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start));
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, header};
    use onair_domain::{
        ChannelSlug, FixedClock, Ladder, LadderId, OutputFormat, Packaging, Rendition, SegmentInfo,
    };
    use onair_scheduler::{PlanInput, plan_stored};
    use onair_store::{NewAdBreak, NewChannel, NewScheduleItem};
    use tower::ServiceExt;

    use super::*;
    use crate::api::DEFAULT_LOCK_MARGIN;

    /// Wednesday 18 November 2026, 10:00 UTC: the server's fixed clock.
    const NOW: &str = "2026-11-18T10:00:00Z";

    fn at(text: &str) -> Timestamp {
        parse_instant(text).unwrap()
    }

    struct Setup {
        app: Router,
        store: Store,
        channel: Channel,
        /// 60 s, 30 s and 20 s clips in 2 s segments.
        clips: [i64; 3],
        _dir: tempfile::TempDir,
    }

    async fn ready_asset(store: &Store, ladder: LadderId, source: &str, secs: i64) -> i64 {
        let id = store.insert_asset(source, source, ladder).await.unwrap();
        let segments = (0..secs / 2)
            .map(|index| SegmentInfo {
                index: index as u32,
                duration: Ticks::from_secs(2),
                size_bytes: 1000,
                path: format!("assets/{id}/360p/ts/{index:05}.ts"),
            })
            .collect();
        let rendition = Rendition {
            rung: "360p".into(),
            packaging: Packaging::Ts,
            codecs: "avc1.64001e,mp4a.40.2".into(),
            width: 640,
            height: 360,
            peak_bandwidth: 1_000_000,
            average_bandwidth: 900_000,
            init_path: None,
            segments,
        };
        store
            .publish_asset(id, Ticks::from_secs(secs), &[rendition])
            .await
            .unwrap();
        id.0
    }

    /// A channel `news` (UTC, a 10 s playout window: the lock horizon is 10:02:10) with three
    /// clips and a slate, behind the API at [`NOW`].
    async fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
        let channel = store
            .insert_channel(&NewChannel {
                slug: ChannelSlug::parse("news").unwrap(),
                name: "News".into(),
                time_zone: chrono_tz::UTC,
                ladder_id: ladder,
                outputs: vec![OutputFormat::HlsTs],
                window_segments: 5,
                grid_repeat: None,
                on_air: true,
            })
            .await
            .unwrap();
        let clips = [
            ready_asset(&store, ladder, "clip-a", 60).await,
            ready_asset(&store, ladder, "clip-b", 30).await,
            ready_asset(&store, ladder, "clip-c", 20).await,
        ];
        ready_asset(&store, ladder, &slate_source("news"), 4).await;
        let app = router(ScheduleApiState {
            store: store.clone(),
            clock: Arc::new(FixedClock(at(NOW))),
            lock_margin: DEFAULT_LOCK_MARGIN,
            api_token: None,
        });
        Setup {
            app,
            store,
            channel,
            clips,
            _dir: dir,
        }
    }

    async fn call(
        app: &Router,
        method: Method,
        uri: &str,
        if_match: Option<i64>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(version) = if_match {
            request = request.header(header::IF_MATCH, format!("\"{version}\""));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    fn item(asset_id: i64, title: &str) -> Value {
        json!({"type": "item", "asset_id": asset_id, "info": {"title": title}})
    }

    fn evening_news(clips: [i64; 3]) -> Value {
        json!({
            "blocks": {"News": {"entries": [
                item(clips[0], "Headlines"),
                item(clips[1], "Weather"),
                item(clips[2], "Sport"),
                item(clips[1], "Close"),
            ]}},
            "templates": [{"name": "evenings", "slots": [{"rule": "weekdays 20:00", "block": "News"}]}],
            "ad_policy": {"every_items": 1, "break_ms": 60000, "max_per_hour_ms": 120000},
        })
    }

    fn messages(answer: &Value) -> Vec<String> {
        answer["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|error| error["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_weekday_template_with_a_block_and_an_ad_policy_plans_its_breaks_within_the_cap() {
        let setup = setup().await;
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid",
            Some(0),
            Some(evening_news(setup.clips)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["version"], 1);
        assert_eq!(
            answer["effective_from"], "2026-11-18T10:02:10.000Z",
            "a new grid takes effect at the lock horizon"
        );

        let (status, plan) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/plan?from=2026-11-18T19:00:00Z&to=2026-11-18T21:00:00Z",
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        let items = plan["items"].as_array().unwrap();
        let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Headlines", "Weather", "Sport", "Close"]);
        assert_eq!(items[0]["start"], "2026-11-18T20:00:00.000Z");
        let breaks: Vec<i64> = items
            .iter()
            .map(|i| {
                i["breaks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b["duration_ms"].as_i64().unwrap())
                    .sum()
            })
            .collect();
        assert_eq!(
            breaks,
            [60_000, 60_000, 0, 0],
            "a break after each item until the hour's 2 minutes are used"
        );
        assert_eq!(
            plan["ads_per_hour"],
            json!([{"hour": "2026-11-18T20:00:00.000Z", "ads_ms": 120000}])
        );
        let dropped: Vec<&Value> = plan["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|problem| {
                problem["kind"] == "break_dropped"
                    && problem["message"]
                        .as_str()
                        .unwrap()
                        .contains("at about 2026-11-18T20:")
            })
            .collect();
        assert_eq!(dropped.len(), 2, "{}", plan["problems"]);
        assert!(
            dropped[0]["message"]
                .as_str()
                .unwrap()
                .contains("is at its ad cap"),
            "{}",
            dropped[0]
        );

        let (status, saturday) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/plan?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z",
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(saturday["items"], json!([]), "weekdays only");
    }

    #[tokio::test]
    async fn bad_grids_are_refused_whole_with_every_problem_named_by_its_path() {
        let setup = setup().await;
        let [a, _, _] = setup.clips;
        let slot = |rule: &str| json!({"rule": rule, "block": "News"});
        let news = json!({"News": {"entries": [item(a, "Headlines")]}});
        let table: Vec<(Value, &str)> = vec![
            (
                json!({"blocks": news, "templates": [{"name": "t", "zone": "Mars/Olympus_Mons", "slots": [slot("daily 20:00")]}]}),
                "templates[0].zone: time zone \"Mars/Olympus_Mons\" does not exist",
            ),
            (
                json!({"blocks": news, "templates": [{"name": "t", "slots": [slot("cron 0 0 12 30 2 *")]}]}),
                "templates[0].slots[0].rule: rule \"cron 0 0 12 30 2 * (UTC)\" never fires",
            ),
            (
                json!({"blocks": news, "templates": [{"name": "t", "slots": [slot("cron 0 0 12 1 1 * 2020")]}]}),
                "never fires: it has no occurrence in the 1464 days from 2026-11-18T10:00:00.000Z",
            ),
            (
                json!({"blocks": news, "templates": [{"name": "t", "slots": [slot("daily 25:00")]}]}),
                "templates[0].slots[0].rule: malformed time \"25:00\"",
            ),
            (
                json!({"blocks": {"Loop": {"entries": [item(a, "x"), {"type": "block", "name": "Loop"}]}}}),
                "blocks: block \"Loop\" includes itself: Loop → Loop",
            ),
            (
                json!({"blocks": {"A": {"entries": [{"type": "block", "name": "B"}]}, "B": {"entries": [{"type": "block", "name": "A"}]}}}),
                "blocks: block \"A\" includes itself: A → B → A",
            ),
            (
                json!({"templates": [{"name": "t", "slots": [slot("daily 20:00")]}]}),
                "templates[0].slots[0]: block \"News\" does not exist",
            ),
            (
                json!({"blocks": {"News": {"entries": [item(404, "Lost")]}}}),
                "blocks[\"News\"].entries[0]: asset 404 does not exist",
            ),
            (
                json!({"rights": [{"asset_id": a, "valid_from": "yesterday"}]}),
                "rights[0].valid_from: \"yesterday\" is not an RFC 3339 instant",
            ),
            (
                json!({"fill": {"rules": {}, "default": "loop"}}),
                "fill.default: fill rule \"loop\" does not exist",
            ),
            (
                json!({"ad_policy": {"every_minutes": 12, "every_items": 2, "break_ms": 60000}}),
                "ad_policy: give exactly one of \"every_minutes\" and \"every_items\"",
            ),
        ];
        for (body, expected) in table {
            let (status, answer) = call(
                &setup.app,
                Method::PUT,
                "/api/channels/news/grid",
                Some(0),
                Some(body.clone()),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert!(
                messages(&answer)
                    .iter()
                    .any(|message| message.contains(expected)),
                "{body}: wanted {expected:?} in {answer}"
            );
        }
        let malformed = [
            (
                json!({"templates": [{"name": "t", "slots": [{"rule": "daily 20:00", "blok": "News"}]}]}),
                "unknown field `blok`",
            ),
            (
                json!({"blocks": {"B": {"entries": [{"type": "break", "duration_ms": 5, "offset": 3}]}}}),
                "unknown field `offset`",
            ),
            (
                json!({"blocks": {"B": {"entries": [{"type": "item", "asset_id": a, "info": {"title": "x"}, "titel": "y"}]}}}),
                "unknown field `titel`",
            ),
            (
                json!({"blocks": {"B": {"entries": [{"type": "movie"}]}}}),
                "unknown variant `movie`",
            ),
        ];
        for (body, expected) in malformed {
            let (status, answer) = call(
                &setup.app,
                Method::PUT,
                "/api/channels/news/grid",
                Some(0),
                Some(body.clone()),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
            assert!(
                answer["error"].as_str().unwrap().contains(expected),
                "{body}: wanted {expected:?} in {answer}"
            );
        }
        assert_eq!(
            setup
                .store
                .schedule_version(setup.channel.id)
                .await
                .unwrap(),
            0
        );
        assert!(
            setup
                .store
                .grid_documents(setup.channel.id)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn an_edit_names_its_version_and_a_stale_one_is_refused_and_changes_nothing() {
        let setup = setup().await;
        let policy = |every: u32| json!({"ad_policy": {"every_items": every, "break_ms": 30000}});
        let (status, _) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid/ad_policy",
            None,
            Some(policy(1)),
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid/ad_policy",
            Some(0),
            Some(policy(1)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid/ad_policy",
            Some(0),
            Some(policy(3)),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("version 1, not 0")
        );
        let (status, answer) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/grid/ad_policy",
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["ad_policy"]["every_items"], 1);
        assert_eq!(answer["document"]["version"], 1);

        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid/ad_policy",
            Some(1),
            Some(json!({"ad_policy": null})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (_, answer) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/grid",
            None,
            None,
        )
        .await;
        assert_eq!(answer["ad_policy"], Value::Null, "null removes the policy");
        assert_eq!(answer["version"], 2);

        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid/ad_policy",
            Some(2),
            Some(json!({"rights": []})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    }

    #[tokio::test]
    async fn an_edit_that_changes_what_airs_inside_the_lock_horizon_is_refused() {
        let setup = setup().await;
        let [a, b, _] = setup.clips;
        setup
            .store
            .replace_schedule(
                setup.channel.id,
                &[NewScheduleItem {
                    asset_id: AssetId(a),
                    start: at("2026-11-18T09:59:30Z"),
                    hard_start: true,
                    title: "On now".into(),
                }],
            )
            .await
            .unwrap();
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid",
            Some(1),
            Some(json!({"rights": [{"asset_id": a, "valid_until": "2026-11-18T10:00:00Z"}]})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_eq!(answer["lock_horizon"], "2026-11-18T10:02:10.000Z");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("changes what airs at 2026-11-18T09:59:30.000Z"),
            "{answer}"
        );
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid",
            Some(1),
            Some(json!({
                "effective_from": "2026-11-18T10:01:00Z",
                "blocks": {"B": {"entries": [item(b, "B")]}},
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("inside the lock horizon")
        );
        assert_eq!(
            setup
                .store
                .schedule_version(setup.channel.id)
                .await
                .unwrap(),
            1
        );
    }

    #[tokio::test]
    async fn a_later_version_applies_from_its_effective_instant_and_leaves_the_earlier_hours_alone()
    {
        let setup = setup().await;
        let [a, b, _] = setup.clips;
        let hourly = |block: &str| json!([{"name": "hourly", "slots": [{"rule": "cron 0 0 * * * *", "block": block}]}]);
        let blocks = json!({
            "News": {"entries": [item(a, "News")]},
            "Sport": {"entries": [item(b, "Sport")]},
        });
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid",
            Some(0),
            Some(json!({"blocks": blocks, "templates": hourly("News")})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid/templates",
            Some(1),
            Some(json!({"effective_from": "2026-11-18T14:00:00Z", "templates": hourly("Sport")})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["first_change"], "2026-11-18T14:00:00.000Z");
        let (_, plan) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/plan?from=2026-11-18T10:00:00Z&to=2026-11-18T16:00:00Z",
            None,
            None,
        )
        .await;
        let planned: Vec<(String, String)> = plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let start = i["start"].as_str().unwrap();
                (
                    start[11..16].to_owned(),
                    i["title"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = [
            ("11:00", "News"),
            ("12:00", "News"),
            ("13:00", "News"),
            ("14:00", "Sport"),
            ("15:00", "Sport"),
        ]
        .iter()
        .map(|(at, title)| (at.to_string(), title.to_string()))
        .collect();
        assert_eq!(planned, expected);

        let (status, answer) = call(
            &setup.app,
            Method::POST,
            "/api/channels/news/grid/versions/1/restore",
            Some(2),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (_, versions) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/grid/versions",
            None,
            None,
        )
        .await;
        assert_eq!(versions["versions"][0]["version"], 3);
        assert_eq!(versions["versions"][0]["parts"], json!(["templates"]));
        assert_eq!(
            versions["versions"][2]["parts"],
            json!(["templates", "blocks"])
        );
        let (_, grid) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/grid",
            None,
            None,
        )
        .await;
        assert_eq!(
            grid["templates"],
            hourly("News"),
            "the restore brought News back"
        );
    }

    #[tokio::test]
    async fn a_channel_of_items_alone_plans_as_plan_stored_planned_it_and_metadata_names_them() {
        let setup = setup().await;
        let [a, b, _] = setup.clips;
        let items = vec![
            (
                NewScheduleItem {
                    asset_id: AssetId(a),
                    start: at("2026-11-18T12:00:00Z"),
                    hard_start: true,
                    title: "Noon".into(),
                },
                vec![NewAdBreak {
                    offset: Ticks::from_secs(20),
                    duration: Ticks::from_secs(30),
                }],
            ),
            (
                NewScheduleItem {
                    asset_id: AssetId(b),
                    start: at("2026-11-18T12:01:00Z"),
                    hard_start: false,
                    title: "After".into(),
                },
                vec![],
            ),
        ];
        setup
            .store
            .replace_schedule_with_ad_breaks(setup.channel.id, &items)
            .await
            .unwrap();
        let stored_items = setup.store.schedule_items(setup.channel.id).await.unwrap();
        let breaks = setup
            .store
            .ad_breaks_of_channel(setup.channel.id)
            .await
            .unwrap();
        let planned = plan_channel(&setup.store, &setup.channel, at(NOW))
            .await
            .unwrap();
        let (expected, issues) = plan_stored(PlanInput {
            items: &stored_items,
            assets: &planned.assets,
            ad_breaks: &breaks,
            slate: planned.slate,
            grid_repeat: None,
        });
        assert_eq!(planned.plan, expected);
        assert_eq!(
            planned.problems,
            issues
                .into_iter()
                .map(PlanProblem::from)
                .collect::<Vec<_>>()
        );
        assert_eq!(planned.replan_at, None, "nothing in it depends on the day");

        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid/metadata",
            Some(1),
            Some(json!({"metadata": [{
                "start": "2026-11-18T12:00:00Z", "asset_id": a,
                "info": {"title": "Noon News", "season": 2, "episode": 5, "genres": ["News"]},
            }]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["first_change"], "2026-11-18T12:00:00.000Z");
        let (_, plan) = call(
            &setup.app,
            Method::GET,
            "/api/channels/news/plan?from=2026-11-18T11:00:00Z&to=2026-11-18T13:00:00Z",
            None,
            None,
        )
        .await;
        assert_eq!(plan["items"][0]["title"], "Noon News");
        assert_eq!(plan["items"][0]["info"]["episode"], 5);
        assert_eq!(plan["items"][0]["breaks"][0]["duration_ms"], 30000);
        assert_eq!(plan["items"][1]["title"], "After");
    }
}
