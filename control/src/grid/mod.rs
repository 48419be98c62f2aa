//! A channel's grid: weekly templates, blocks, fill rules, ad policy, asset rights windows and
//! programme metadata, stored as one JSON document per part ([`document`]), compiled to the
//! scheduler's types ([`compile`]), planned with the stored schedule items into the plan
//! playout airs ([`plan`]: [`plan_channel`], which `onair serve` airs and the EPG lists), and
//! edited, versioned, restored and previewed ([`edit`]).
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
//! Any problem refuses the whole edit (`Refusal::Invalid`), every
//! problem named by its path (`templates[0].slots[1].rule: rule "cron 0 0 12 30 2 *" never
//! fires: …`): a time zone that does not exist, a malformed time, day list or cron expression,
//! a rule that never fires (or not within four years), a block that includes itself (with the
//! loop: `A → B → A`), a block or fill rule that does not exist, an asset that does not exist,
//! malformed instants.
//!
//! # Versions and the lock horizon
//!
//! Grid edits share the schedule's version (`onair_store::grid`): an edit names the version it
//! was made on (`If-Match` or `version`; 428 without), a stale one is a refusal (`Locked` or `Conflict`) and changes nothing,
//! whichever of a grid or a schedule edit moved the version on. Every version is kept with its
//! author (`X-Onair-Author`, else `api`), instant and parts. (`GET …/schedule/versions` lists
//! the schedule's own versions, so its numbers skip the grid's.)
//!
//! An edit takes effect from `effective_from`: by default the lock horizon (now + the playout
//! window + the margin, see `schedule`), or the end of the first programme from there when that
//! keeps what airs before the horizon as it was; never earlier than the version before it. A
//! later instant may be given ("the new template from Monday"); one inside the lock horizon is
//! a refusal (`Locked` or `Conflict`). Templates, blocks, fill rules and the ad policy apply from their version's
//! `effective_from` until the next version's: what aired under a version stays as it aired.
//! Rights windows and metadata are facts about assets and items: they apply to the whole plan.
//! Every edit is planned before it is accepted, and one that would change anything that airs
//! before the lock horizon is refused with a refusal (`Locked` or `Conflict`) and `lock_horizon`, naming the instant it would
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

mod apply;
pub(crate) mod compile;
pub mod document;
mod edit;
mod plan;

use onair_domain::Ticks;
use onair_store::grid::GridKind;

pub use apply::TemplateApplied;
pub use compile::GridSources;
pub use document::*;
pub use edit::{
    GridEdited, GridVersion, GridView, PlanPreview, PlannedBreak, PlannedProgramme, part_kind,
};
pub use plan::{ChannelPlan, SLATE_SOURCE_PREFIX, plan_channel, slate_source};

/// How far ahead a channel that does not repeat is planned: the EPG's 14 days.
pub const PLAN_DAYS: i64 = 14;

/// A rule must fire within this long from when it is written.
pub(crate) const RULE_FIRES_WITHIN: Ticks = Ticks::from_secs(4 * 366 * 86_400);

/// The longest plan preview.
pub(crate) const MAX_PREVIEW: Ticks = Ticks::from_secs(31 * 86_400);

/// How many instants after the lock horizon an edit without `effective_from` tries.
pub(crate) const EFFECTIVE_CANDIDATES: usize = 6;

/// The parts that apply from their version on; the others apply to the whole plan.
pub(crate) const STAGED: [GridKind; 4] = [
    GridKind::Templates,
    GridKind::Blocks,
    GridKind::Fill,
    GridKind::AdPolicy,
];
