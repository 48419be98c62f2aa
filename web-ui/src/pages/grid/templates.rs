//! The grid's templates and blocks of one channel: `/grid/{slug}/templates`.
//!
//! - **Reading, without JavaScript**: every block with its entries, every template with its
//!   slots and the next times each rule fires in the template's zone, and how the schedule
//!   and the templates make the plan together.
//! - **Editing** (the scheduler role, `grid_templates.js`): blocks and templates are edited in
//!   the page and saved whole as `PUT /api/channels/{slug}/grid/blocks` or `…/templates` with
//!   the version the page loaded (`If-Match`); the control plane's problems are shown next to
//!   the fields they name. `GET /grid/{slug}/templates/fires?rule=…&zone=…` answers the next
//!   times a rule fires, as a fragment, while it is typed.
//! - **Applying a template to a week** (`POST /grid/{slug}/templates/apply`, a plain form):
//!   its slots for that week become schedule items in one version
//!   ([`onair_control::Control::apply_template`]), then the week view of the grid shows them.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Days, NaiveDate};
use chrono_tz::Tz;
use onair_control::Refusal;
use onair_control::accounts::Role;
use onair_control::grid::{EntryDoc, GridView, SlotDoc};
use onair_domain::{Ticks, Timestamp};
use onair_scheduler::Rule;
use onair_scheduler::rules::{local_time, parse_zone};
use serde::Deserialize;

use super::{PagesState, encode_query, refusal_lines, render};
use crate::access::Actor;
use crate::pages::Nav;

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/grid/{slug}/templates", get(page))
        .route("/grid/{slug}/templates/fires", get(fires))
        .route("/grid/{slug}/templates/apply", post(apply))
        .with_state(state)
}

/// How many next firings a rule shows.
const FIRES_SHOWN: usize = 5;

/// A rule's next firings are looked for this far ahead.
const FIRES_WITHIN: Ticks = Ticks::from_secs(400 * 86_400);

/// The next firings of `rule` in `zone` after `now`, as local text, or what is wrong with it.
fn next_fires(zone: Tz, rule: &str, now: Timestamp) -> Result<Vec<String>, String> {
    let rule = Rule::parse_in(zone, rule).map_err(|error| error.to_string())?;
    let mut out = Vec::new();
    let mut from = now;
    while out.len() < FIRES_SHOWN {
        let Some(occurrence) = rule.next_within(from, FIRES_WITHIN) else {
            break;
        };
        let local = local_time(zone, occurrence.at);
        let offset = occurrence
            .at
            .to_datetime()
            .with_timezone(&zone)
            .format("%:z");
        let mut text = format!("{} {offset}", local.format("%a %Y-%m-%d %H:%M"));
        if occurrence.local != local {
            text.push_str(&format!(
                " (for {}: the clocks go forward over it)",
                occurrence.local.format("%H:%M")
            ));
        }
        out.push(text);
        from = occurrence.at + Ticks::from_millis(1);
    }
    if out.is_empty() {
        return Err("it does not fire within the next 400 days".to_owned());
    }
    Ok(out)
}

/// A block as the page lists it.
struct BlockOut {
    name: String,
    entries: Vec<String>,
}

/// A template as the page lists it.
struct TemplateOut {
    name: String,
    zone: String,
    slots: Vec<SlotOut>,
}

struct SlotOut {
    rule: String,
    content: String,
    /// The next firings, or what is wrong with the rule.
    fires: Result<Vec<String>, String>,
}

#[derive(Template)]
#[template(path = "grid_templates.html")]
struct TemplatesPage {
    nav: Nav,
    slug: String,
    name: String,
    zone: String,
    can_edit: bool,
    version: i64,
    lock_horizon_local: String,
    blocks: Vec<BlockOut>,
    templates: Vec<TemplateOut>,
    /// The grid and the page's facts for `grid_templates.js`, as JSON (escaped into an
    /// attribute like any text).
    data: String,
    /// The apply form, as typed.
    apply: ApplyForm,
    apply_errors: Vec<String>,
    /// After an apply whose slots the clocks moved.
    notice: Option<String>,
    moved: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ApplyForm {
    #[serde(default)]
    template: String,
    #[serde(default)]
    week: String,
    #[serde(default)]
    version: String,
}

async fn page(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
) -> Response {
    match build(&state, &actor, &slug, None, Vec::new()).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(refusal) => super::super::refused(refusal),
    }
}

/// The Monday after `today`.
fn next_monday(today: NaiveDate) -> NaiveDate {
    let ahead = 7 - u64::from(today.weekday().num_days_from_monday());
    today.checked_add_days(Days::new(ahead)).unwrap_or(today)
}

async fn build(
    state: &PagesState,
    actor: &Actor,
    slug: &str,
    apply: Option<ApplyForm>,
    apply_errors: Vec<String>,
) -> Result<TemplatesPage, Refusal> {
    let view: GridView = state.control().grid(slug).await?;
    let channel = &view.channel;
    let zone = channel.time_zone;
    let now = state.clock.now();
    let can_edit = actor.principal.has(Some(channel.id), Role::Scheduler);
    let blocks = view
        .grid
        .blocks
        .iter()
        .map(|(name, block)| BlockOut {
            name: name.clone(),
            entries: block.entries.iter().map(entry_text).collect(),
        })
        .collect();
    let templates = view
        .grid
        .templates
        .iter()
        .map(|template| {
            let template_zone = template
                .zone
                .as_deref()
                .map(parse_zone)
                .transpose()
                .ok()
                .flatten()
                .unwrap_or(zone);
            TemplateOut {
                name: template.name.clone(),
                zone: template_zone.name().to_owned(),
                slots: template
                    .slots
                    .iter()
                    .map(|slot| SlotOut {
                        rule: slot.rule.clone(),
                        content: slot_text(slot),
                        fires: next_fires(template_zone, &slot.rule, now),
                    })
                    .collect(),
            }
        })
        .collect();
    let today = now.to_datetime().with_timezone(&zone).date_naive();
    let apply = apply.unwrap_or_else(|| ApplyForm {
        template: view
            .grid
            .templates
            .first()
            .map(|template| template.name.clone())
            .unwrap_or_default(),
        week: next_monday(today).to_string(),
        version: view.version.to_string(),
    });
    let data = serde_json::json!({
        "slug": channel.slug.as_str(),
        "zone": zone.name(),
        "ladder_id": channel.ladder_id.0,
        "version": view.version,
        "can_edit": can_edit,
        "blocks": view.grid.blocks,
        "templates": view.grid.templates,
        "fill_rules": view.grid.fill.rules.keys().collect::<Vec<_>>(),
    });
    Ok(TemplatesPage {
        nav: Nav::of(actor, "grid"),
        slug: channel.slug.as_str().to_owned(),
        name: channel.name.clone(),
        zone: zone.name().to_owned(),
        can_edit,
        version: view.version,
        lock_horizon_local: view
            .lock_horizon
            .to_datetime()
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        blocks,
        templates,
        data: data.to_string(),
        apply,
        apply_errors,
        notice: None,
        moved: Vec::new(),
    })
}

fn millis_text(ms: i64) -> String {
    let secs = ms / 1000;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

fn entry_text(entry: &EntryDoc) -> String {
    match entry {
        EntryDoc::Item(item) => format!("item: {} (asset {})", item.info.title, item.asset_id),
        EntryDoc::Block { name } => format!("block: {name}"),
        EntryDoc::Break { duration_ms } => format!("ad break: {}", millis_text(*duration_ms)),
        EntryDoc::Fill { rule } => format!("fill: {rule} (up to the next hard start)"),
    }
}

fn slot_text(slot: &SlotDoc) -> String {
    match (&slot.block, &slot.fill, &slot.item) {
        (Some(block), _, _) => format!("block {block}"),
        (_, Some(fill), _) => format!("fill {fill}"),
        (_, _, Some(item)) => format!("item {} (asset {})", item.info.title, item.asset_id),
        _ => "nothing".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct FiresQuery {
    #[serde(default)]
    rule: String,
    #[serde(default)]
    zone: String,
}

/// `GET /grid/{slug}/templates/fires?rule=…&zone=…`: the next firings, as a fragment.
async fn fires(
    State(state): State<PagesState>,
    Path(slug): Path<String>,
    Query(query): Query<FiresQuery>,
) -> Response {
    let info = match state.control().channel(&slug).await {
        Ok(info) => info,
        Err(refusal) => return super::super::refused(refusal),
    };
    let zone = match query.zone.trim() {
        "" => Ok(info.channel.time_zone),
        name => parse_zone(name).map_err(|error| error.to_string()),
    };
    let answer = zone.and_then(|zone| {
        next_fires(zone, &query.rule, state.clock.now()).map(|fires| (zone, fires))
    });
    let html = match answer {
        Ok((zone, fires)) => {
            let items: String = fires
                .iter()
                .map(|text| format!("<li>{}</li>", escape(text)))
                .collect();
            format!(
                "<span class=\"muted\">Next in {}:</span><ul class=\"fires\" data-testid=\"fires\">{items}</ul>",
                escape(zone.name())
            )
        }
        Err(problem) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(format!(
                    "<p class=\"field-problem\" role=\"alert\">{}</p>",
                    escape(&problem)
                )),
            )
                .into_response();
        }
    };
    Html(html).into_response()
}

fn escape(text: &str) -> String {
    askama::filters::escape(text, askama::filters::Html)
        .map(|escaped| escaped.to_string())
        .unwrap_or_default()
}

/// `POST /grid/{slug}/templates/apply`: the template's slots for the week, as schedule items.
async fn apply(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Response {
    let result = async {
        let week = NaiveDate::parse_from_str(form.week.trim(), "%Y-%m-%d").map_err(|_| {
            Refusal::invalid_field(
                "week",
                format!(
                    "{:?} is not a date: give the week's Monday as YYYY-MM-DD",
                    form.week
                ),
            )
        })?;
        let version: i64 =
            form.version.trim().parse().map_err(|_| {
                Refusal::invalid("the form names no schedule version: reload the page")
            })?;
        let applied = state
            .control()
            .apply_template(
                &slug,
                &form.template,
                week,
                Some(version),
                &actor.principal.username,
            )
            .await?;
        Ok::<_, Refusal>((week, applied))
    }
    .await;
    match result {
        Ok((week, applied)) if applied.moved.is_empty() => Redirect::to(&format!(
            "/grid/{}?view=week&date={week}&applied={}",
            encode_query(&slug),
            applied.added
        ))
        .into_response(),
        Ok((week, applied)) => match build(&state, &actor, &slug, None, Vec::new()).await {
            Ok(mut page) => {
                page.notice = Some(format!(
                    "Applied {:?} to the week of {week}: {} items published as version {}. The clocks moved {} of its slots:",
                    form.template,
                    applied.added,
                    applied.version,
                    applied.moved.len()
                ));
                page.moved = applied.moved;
                render(StatusCode::OK, &page)
            }
            Err(refusal) => super::super::refused(refusal),
        },
        Err(refusal) => {
            let (status, lines) = refusal_lines(refusal);
            match build(&state, &actor, &slug, Some(form), lines).await {
                Ok(page) => render(status, &page),
                Err(refusal) => super::super::refused(refusal),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::from_datetime(chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc())
    }

    #[test]
    fn a_rule_shows_its_next_five_firings_in_local_time() {
        let fires = next_fires(
            chrono_tz::Europe::Berlin,
            "daily 20:00",
            at("2027-03-26T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            fires,
            [
                "Fri 2027-03-26 20:00 +01:00",
                "Sat 2027-03-27 20:00 +01:00",
                "Sun 2027-03-28 20:00 +02:00",
                "Mon 2027-03-29 20:00 +02:00",
                "Tue 2027-03-30 20:00 +02:00",
            ]
        );
    }

    #[test]
    fn a_firing_the_clocks_skip_says_where_it_moved() {
        let fires = next_fires(
            chrono_tz::Europe::Berlin,
            "Sun 02:30",
            at("2027-03-26T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            fires[0],
            "Sun 2027-03-28 03:00 +02:00 (for 02:30: the clocks go forward over it)"
        );
    }

    #[test]
    fn a_bad_rule_says_what_is_wrong() {
        let problem =
            next_fires(chrono_tz::UTC, "daily 25:00", at("2027-03-26T12:00:00Z")).unwrap_err();
        assert!(problem.contains("25:00"), "{problem}");
    }

    #[test]
    fn the_next_monday_is_always_ahead() {
        let date = |text| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        assert_eq!(next_monday(date("2026-12-04")), date("2026-12-07"));
        assert_eq!(next_monday(date("2026-12-07")), date("2026-12-14"));
    }
}
