//! Applying a template to a week: its slots for seven local days, made schedule items.
//!
//! The plan already airs every template of the grid every week, from the version that wrote it
//! on ([`super::plan`]); a stored schedule item that starts at the instant of a template slot
//! replaces that slot (`onair_scheduler::pipeline`). Applying a template to a week therefore
//! *freezes* one week of it: the slots firing on the week's local days (Monday to Sunday, in
//! the template's zone) are expanded with the grid's blocks and fill rules, exactly as the
//! planner expands them (`build_items`, without the ad policy, which the plan applies to stored
//! items anyway), and the items that come out are published as one schedule version, next to
//! the items already stored in that week. From then on that week airs the stored items, which
//! the grid planner shows and edits one by one, whatever later template edits say.
//!
//! Everything goes through the schedule's own checks (the lock horizon, hard overlaps, rights
//! windows, ready assets) in one [`Control::replace_schedule`]: a refusal changes nothing.
//! Each item carries its slot's programme metadata (episode, description, genres, rating,
//! artwork), which that publication stores in the grid's `metadata` part in the same version
//! (`crate::schedule::metadata`), so the frozen week lists in the EPG as the template did.
//! A slot whose local time the clocks skip (02:30 on a spring-forward night) airs at the end of
//! the gap, as the plan airs it, and the move is reported ([`TemplateApplied::moved`]); one in
//! the doubled autumn hour airs at the first of the two, also reported. An item the schedule
//! cannot hold (in and out points, a live event) is refused, with its slot's path.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use onair_domain::{AssetId, Ticks, Timestamp};
use onair_scheduler::grid::{AdBreakSpec, GridItem, Start};
use onair_scheduler::rules::{DstAdjustment, local_day};
use onair_scheduler::{ChannelGrid, PlanOptions, build_items};

use super::compile::Compiler;
use super::document::{GridDoc, InfoDoc};
use super::edit::read_grid;
use crate::schedule::{BreakDraft, ItemDraft, channel, entry_of, item_draft};
use crate::{Control, Problem, Refusal};

/// What applying a template to a week did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateApplied {
    /// The schedule version it published.
    pub version: i64,
    /// The week's first instant (its Monday's local midnight) and the next Monday's.
    pub from: Timestamp,
    pub to: Timestamp,
    /// How many items it added.
    pub added: usize,
    /// Slots the clocks moved (spring forward, fall back), each with the reason.
    pub moved: Vec<String>,
}

/// The items a template places in a week, as schedule drafts with a label each (for refusals),
/// and the slots the clocks moved. Pure: everything it needs is passed in.
pub(crate) struct WeekOfTemplate {
    pub(crate) from: Timestamp,
    pub(crate) to: Timestamp,
    pub(crate) drafts: Vec<(String, ItemDraft)>,
    pub(crate) moved: Vec<String>,
}

/// Expands template `name` of `grid` for the week starting on `monday` (see the module doc).
pub(crate) fn expand_week(
    grid: &GridDoc,
    name: &str,
    monday: NaiveDate,
    zone: chrono_tz::Tz,
    assets: &HashMap<AssetId, onair_domain::Asset>,
) -> Result<WeekOfTemplate, Refusal> {
    if monday.weekday() != Weekday::Mon {
        return Err(Refusal::invalid_field(
            "week",
            format!(
                "{monday} is a {}: a week starts on a Monday",
                monday.format("%A")
            ),
        ));
    }
    let Some(index) = grid
        .templates
        .iter()
        .position(|template| template.name == name)
    else {
        let names: Vec<&str> = grid.templates.iter().map(|t| t.name.as_str()).collect();
        return Err(Refusal::invalid_field(
            "template",
            if names.is_empty() {
                format!("the grid has no template {name:?}: it has no templates yet")
            } else {
                format!(
                    "the grid has no template {name:?}: it has {}",
                    names.join(", ")
                )
            },
        ));
    };
    let template_doc = &grid.templates[index];
    let mut problems = Vec::new();
    let sources = Compiler {
        zone,
        fires_from: None,
        problems: &mut problems,
    }
    .compile(&GridDoc {
        templates: vec![template_doc.clone()],
        blocks: grid.blocks.clone(),
        fill: grid.fill.clone(),
        rights: grid.rights.clone(),
        ..GridDoc::default()
    });
    let problems: Vec<String> = problems
        .into_iter()
        .map(|problem| problem.replacen("templates[0]", &format!("templates[{index}]"), 1))
        .collect();
    if !problems.is_empty() {
        return Err(Refusal::Invalid(
            problems.into_iter().map(Problem::whole).collect(),
        ));
    }
    let template = &sources.templates[0];
    let dates: Vec<NaiveDate> = (0..7)
        .filter_map(|offset| monday.checked_add_days(Days::new(offset)))
        .collect();
    let from = local_day(zone, monday).0;
    let to = local_day(zone, dates[dates.len() - 1]).1;

    // The slots the clocks move, said out loud.
    let mut moved = Vec::new();
    let (week_from, week_to) = (
        local_day(template.zone, monday).0,
        local_day(template.zone, dates[dates.len() - 1]).1,
    );
    for (slot_index, slot) in template.slots.iter().enumerate() {
        for occurrence in slot.rule.occurrences(week_from, week_to) {
            let airs = onair_scheduler::rules::local_time(template.zone, occurrence.at);
            let path = format!("templates[{index}].slots[{slot_index}]");
            let rule = &template_doc.slots[slot_index].rule;
            match occurrence.dst {
                Some(DstAdjustment::MovedOutOfGap) => moved.push(format!(
                    "{path} ({rule}) on {}: {} does not exist, the clocks go forward over it in {}; it airs at {}, the end of the gap",
                    occurrence.date,
                    occurrence.local.format("%H:%M"),
                    template.zone.name(),
                    airs.format("%H:%M"),
                )),
                Some(DstAdjustment::FirstOfTwo) => moved.push(format!(
                    "{path} ({rule}) on {}: {} happens twice, the clocks go back in {}; it airs once, at the first",
                    occurrence.date,
                    occurrence.local.format("%H:%M"),
                    template.zone.name(),
                )),
                None => {}
            }
        }
    }

    let (entries, template_problems) = template.expand_dates(&dates);
    let options = PlanOptions {
        zone,
        rights: sources.rights.clone(),
        ..PlanOptions::default()
    };
    let history: [(AssetId, Timestamp); 0] = [];
    let (items, build_problems) = build_items(&ChannelGrid {
        from,
        to,
        templates: &[],
        entries: &entries,
        blocks: &sources.blocks,
        fill_rules: &sources.fill_rules,
        default_fill: None,
        ad_policy: None,
        assets,
        history: &history,
        options: &options,
    });
    let mut problems: Vec<Problem> = template_problems
        .iter()
        .map(|problem| Problem::whole(format!("templates[{index}]: {problem}")))
        .chain(
            build_problems
                .iter()
                .map(|problem| Problem::whole(format!("templates[{index}]: {problem}"))),
        )
        .collect();

    let mut drafts = Vec::with_capacity(items.len());
    let mut cursor: Option<Timestamp> = None;
    for item in &items {
        let start = match item.start {
            Start::Hard(at) => at,
            Start::Soft => cursor.unwrap_or(from),
        };
        cursor = Some(start + item.nominal_duration(assets));
        let label = label(zone, start, item);
        // An out point is a schedule item's length (from the asset's start); an in point has
        // no schedule item form.
        if item.live.is_some() || item.in_point.is_some() {
            problems.push(Problem::whole(format!(
                "{label}: a live event or an item with an in point cannot be a schedule item; place it with the template instead of applying it"
            )));
            continue;
        }
        let content = item.nominal_content(assets);
        drafts.push((
            label,
            ItemDraft {
                asset_id: item.asset_id.0,
                start: start.to_rfc3339_millis(),
                hard_start: matches!(item.start, Start::Hard(_)),
                title: item.info.title.clone(),
                length_ms: item.out_point.map(Ticks::as_millis),
                ad_breaks: item
                    .breaks
                    .iter()
                    .map(|ad_break| BreakDraft {
                        offset_ms: if ad_break.offset >= AdBreakSpec::AFTER {
                            content.as_millis()
                        } else {
                            ad_break.offset.as_millis()
                        },
                        duration_ms: ad_break.duration.as_millis(),
                    })
                    .collect(),
                info: Some(InfoDoc::of(&item.info)).filter(|info| !info.is_bare()),
            },
        ));
    }
    if drafts.is_empty() && problems.is_empty() {
        problems.push(Problem::whole(format!(
            "templates[{index}] ({name}) places nothing in the week of {monday}"
        )));
    }
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems));
    }
    Ok(WeekOfTemplate {
        from,
        to,
        drafts,
        moved,
    })
}

/// An item as a refusal names it: its local day and time and its title.
fn label(zone: chrono_tz::Tz, start: Timestamp, item: &GridItem) -> String {
    format!(
        "{} {:?}",
        onair_scheduler::rules::local_time(zone, start).format("%a %Y-%m-%d %H:%M"),
        item.info.title
    )
}

impl Control {
    /// Applies template `template` of `slug`'s grid to the week starting on `monday` (a local
    /// date in the channel's zone), made on schedule version `expected`, published by
    /// `author`: see the module doc of [`crate::grid`]'s `apply`.
    pub async fn apply_template(
        &self,
        slug: &str,
        template: &str,
        monday: NaiveDate,
        expected: Option<i64>,
        author: &str,
    ) -> Result<TemplateApplied, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let expected = expected.ok_or(Refusal::PreconditionRequired)?;
        let (_, documents) = read_grid(&self.store, &channel).await?;
        let (grid, notes) = GridDoc::as_of(&documents, None);
        if !notes.is_empty() {
            return Err(Refusal::Internal(notes.join("; ")));
        }
        let mut ids: Vec<AssetId> =
            super::compile::asset_references(&grid, onair_store::grid::GridKind::Blocks)
                .into_iter()
                .chain(super::compile::asset_references(
                    &grid,
                    onair_store::grid::GridKind::Templates,
                ))
                .chain(super::compile::asset_references(
                    &grid,
                    onair_store::grid::GridKind::Fill,
                ))
                .map(|(_, id)| AssetId(id))
                .collect();
        ids.sort();
        ids.dedup();
        let assets: HashMap<AssetId, onair_domain::Asset> = self
            .store
            .assets_by_ids(&ids)
            .await?
            .into_iter()
            .map(|asset| (asset.id, asset))
            .collect();
        let week = expand_week(&grid, template, monday, channel.time_zone, &assets)?;

        // The window: the week, and as far as the last new item starts past it.
        let last_start = week
            .drafts
            .iter()
            .filter_map(|(_, draft)| crate::schedule::parse_instant(&draft.start).ok())
            .max()
            .unwrap_or(week.from);
        let to = week.to.max(last_start + Ticks::from_millis(1));
        let existing = self.schedule(slug, week.from, to).await?;
        let mut labelled: Vec<(String, ItemDraft)> = existing
            .items
            .into_iter()
            .map(|entry| {
                let draft = item_draft(&entry_of(entry));
                (
                    format!("the stored item {:?} at {}", draft.title, draft.start),
                    draft,
                )
            })
            .collect();
        let added = week.drafts.len();
        labelled.extend(week.drafts);
        labelled.sort_by(|a, b| a.1.start.cmp(&b.1.start));
        let drafts: Vec<ItemDraft> = labelled.iter().map(|(_, draft)| draft.clone()).collect();
        let version = self
            .replace_schedule(
                slug,
                Some(expected),
                &week.from.to_rfc3339_millis(),
                &to.to_rfc3339_millis(),
                &drafts,
                author,
            )
            .await
            .map_err(|refusal| match refusal {
                Refusal::Invalid(problems) => Refusal::Invalid(
                    problems
                        .into_iter()
                        .map(
                            |problem| match problem.index.and_then(|i| labelled.get(i)) {
                                Some((label, _)) => {
                                    Problem::whole(format!("{label}: {}", problem.message))
                                }
                                None => problem,
                            },
                        )
                        .collect(),
                ),
                other => other,
            })?;
        Ok(TemplateApplied {
            version,
            from: week.from,
            to: week.to,
            added,
            moved: week.moved,
        })
    }
}

#[cfg(test)]
mod tests;
