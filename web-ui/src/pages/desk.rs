//! A channel's on-air desk: `/desk/{slug}`. The channel's preview player, now and next (kept
//! current by the channels' event stream), its live state (the live sources it can take, their
//! publish state, its takes to air) and the tail of its as-run log, both refreshed in place
//! (`/desk/{slug}/live`, `/desk/{slug}/as-run`: fragments htmx polls). A scheduler on the channel
//! also gets **take live**, **slate now** and **return to schedule**, each behind a confirmation
//! dialog that says what will happen and when it lands; the request goes to the live API
//! (`POST /api/channels/{slug}/live/take`, `/slate`, `/live/return`) with the schedule version
//! it was made against and the session's CSRF token, and its answer or refusal is shown
//! (`static/desk.js`). A slate now is a take without a source: the live panel shows it as the
//! take on air ("On slate"), and return to schedule ends it.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono_tz::Tz;
use onair_control::Refusal;
use onair_control::accounts::Role;
use onair_control::live::{TAKE_LEAD, TakeView};
use onair_control::registry::PlannedChannels;
use onair_control::status::{AirState, duration_text, local_time};
use onair_domain::{Ticks, Timestamp};

use super::channels::Card;
use super::{Nav, PagesState, render};
use crate::access::Actor;

/// How many as-run entries the desk shows.
pub const AS_RUN_TAIL: usize = 20;

/// How far back the desk looks for them.
const AS_RUN_WITHIN: Ticks = Ticks::from_secs(6 * 3_600);

/// How far back the desk lists takes.
const TAKES_HOURS: u32 = 24;

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/desk/{slug}", get(page))
        .route("/desk/{slug}/live", get(live_fragment))
        .route("/desk/{slug}/as-run", get(as_run_fragment))
        .with_state(state)
}

/// A live source as the desk lists it (never its stream key).
struct SourceRow {
    name: String,
    state: String,
    since: String,
    protocol: String,
}

/// A take as the desk lists it.
struct TakeRow {
    /// `next`, `on_air`, `returning`, `ended`, `cancelled`.
    state: &'static str,
    state_label: &'static str,
    /// `live` or `slate`.
    kind: &'static str,
    /// The live source, or `slate`.
    source: String,
    start: String,
    end: String,
    taken_by: String,
    returned_by: String,
}

/// The live panel: what `/desk/{slug}/live` answers and the page includes.
#[derive(Template)]
#[template(path = "desk_live.html")]
struct LivePanel {
    zone: String,
    /// The schedule version a take or return is made against.
    version: i64,
    /// The take on air, next or returning, if any.
    current: Option<TakeRow>,
    takes: Vec<TakeRow>,
    sources: Vec<SourceRow>,
}

/// An as-run entry as the desk lists it.
struct AsRunRow {
    start: String,
    end: String,
    kind: String,
    title: String,
    live_source: String,
    recovered: bool,
}

#[derive(Template)]
#[template(path = "desk_as_run.html")]
struct AsRunPanel {
    zone: String,
    rows: Vec<AsRunRow>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    nav: Nav,
    slug: String,
    name: String,
    card: Card,
    on_air: bool,
    slate_now: bool,
    can_take: bool,
    /// Sources the channel can take (its ladder's), for the take dialog.
    takeable: Vec<String>,
    /// "within about 3.5 s": when a take or a return lands after the confirmation.
    lands_within: String,
    /// The panels, rendered (and escaped) by their own templates.
    live_html: String,
    as_run_html: String,
}

async fn page(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
) -> Response {
    let control = state.control();
    let info = match control.channel(&slug).await {
        Ok(info) => info,
        Err(refusal) => return super::refused(refusal),
    };
    let zone = info.channel.time_zone;
    let snapshot = state.status.ready(std::time::Duration::from_secs(3)).await;
    let at = snapshot.at.unwrap_or_else(|| state.clock.now());
    let Some(status) = snapshot.channel(&slug) else {
        let message = format!("channel {slug:?} has no status yet: reload in a moment");
        return super::refused(Refusal::NotFound(message));
    };
    let live = match live_panel(&state, &slug, zone).await {
        Ok(live) => live,
        Err(refusal) => return super::refused(refusal),
    };
    let takeable = match control.live_sources().await {
        Ok(sources) => sources
            .into_iter()
            .filter(|source| source.ladder == info.ladder)
            .map(|source| source.name)
            .collect(),
        Err(refusal) => return super::refused(refusal),
    };
    let longest_segment = state
        .plans
        .planned()
        .into_iter()
        .find(|planned| planned.slug == slug)
        .and_then(|planned| Some(planned.plan.timeline.as_ref()?.longest_segment()))
        .unwrap_or(Ticks::ZERO);
    let card = Card::of(status, at);
    let page = DeskPage {
        nav: Nav::of(&actor, "desk"),
        slug: slug.clone(),
        name: info.channel.name.clone(),
        on_air: info.channel.on_air && !info.channel.retired,
        slate_now: status.state == AirState::Slate,
        can_take: actor.principal.has(Some(info.channel.id), Role::Scheduler),
        takeable,
        lands_within: within_text(TAKE_LEAD + longest_segment),
        live_html: live.render().unwrap_or_default(),
        as_run_html: as_run_panel(&state, &slug, zone)
            .await
            .render()
            .unwrap_or_default(),
        card,
    };
    render(StatusCode::OK, &page)
}

/// "1.5 s" from ticks, to a tenth of a second.
fn within_text(duration: Ticks) -> String {
    let secs = duration.as_secs_f64();
    if secs >= 60.0 {
        duration_text(duration)
    } else {
        format!("{secs:.1} s")
    }
}

async fn live_fragment(State(state): State<PagesState>, Path(slug): Path<String>) -> Response {
    let zone = match state.control().channel(&slug).await {
        Ok(info) => info.channel.time_zone,
        Err(refusal) => return super::refused(refusal),
    };
    match live_panel(&state, &slug, zone).await {
        Ok(panel) => render(StatusCode::OK, &panel),
        Err(refusal) => super::refused(refusal),
    }
}

async fn as_run_fragment(State(state): State<PagesState>, Path(slug): Path<String>) -> Response {
    let zone = match state.control().channel(&slug).await {
        Ok(info) => info.channel.time_zone,
        Err(refusal) => return super::refused(refusal),
    };
    render(StatusCode::OK, &as_run_panel(&state, &slug, zone).await)
}

async fn live_panel(state: &PagesState, slug: &str, zone: Tz) -> Result<LivePanel, Refusal> {
    let control = state.control();
    let info = control.channel(slug).await?;
    let takes = control.live_takes(slug, TAKES_HOURS).await?;
    let sources = control
        .live_sources()
        .await?
        .into_iter()
        .filter(|source| source.ladder == info.ladder)
        .map(|source| SourceRow {
            since: instant(zone, &source.state_since),
            state: source.state,
            protocol: source.protocol.unwrap_or_default(),
            name: source.name,
        })
        .collect();
    let rows: Vec<TakeRow> = takes
        .iter()
        .rev()
        .map(|take| take_row(zone, take))
        .collect();
    let current = takes
        .iter()
        .rev()
        .find(|take| matches!(take.state, "next" | "on_air" | "returning"))
        .map(|take| take_row(zone, take));
    Ok(LivePanel {
        zone: zone.name().to_owned(),
        version: info.schedule_version,
        current,
        takes: rows,
        sources,
    })
}

fn take_row(zone: Tz, take: &TakeView) -> TakeRow {
    let slate = take.source.is_none();
    TakeRow {
        state: take.state,
        state_label: match take.state {
            "next" if slate => "Going to slate",
            "next" => "Taking live",
            "on_air" if slate => "On slate",
            "on_air" => "Live",
            "returning" => "Returning to the schedule",
            "ended" => "Ended",
            "cancelled" => "Cancelled",
            _ => "Unknown",
        },
        kind: take.kind,
        source: take.source.clone().unwrap_or_else(|| "slate".to_owned()),
        start: instant(zone, &take.start),
        end: take
            .end
            .as_deref()
            .map(|end| instant(zone, end))
            .unwrap_or_default(),
        taken_by: take.taken_by.clone(),
        returned_by: take.returned_by.clone().unwrap_or_default(),
    }
}

async fn as_run_panel(state: &PagesState, slug: &str, zone: Tz) -> AsRunPanel {
    let entries = state
        .control()
        .as_run_tail(slug, AS_RUN_TAIL, AS_RUN_WITHIN)
        .await;
    match entries {
        Ok(entries) => AsRunPanel {
            zone: zone.name().to_owned(),
            rows: entries
                .iter()
                .rev()
                .map(|entry| AsRunRow {
                    start: local_time(zone, entry.start),
                    end: local_time(zone, entry.end),
                    kind: match entry.kind {
                        onair_domain::RunKind::Programme if entry.live_source.is_some() => "live",
                        onair_domain::RunKind::Programme => "programme",
                        onair_domain::RunKind::Filler => "filler",
                        onair_domain::RunKind::Slate => "slate",
                        onair_domain::RunKind::AdBreak => "ad break",
                    }
                    .to_owned(),
                    title: entry.title.clone(),
                    live_source: entry.live_source.clone().unwrap_or_default(),
                    recovered: entry.recovered,
                })
                .collect(),
            error: None,
        },
        Err(refusal) => {
            tracing::error!(%refusal, %slug, "the desk could not read the as-run log");
            AsRunPanel {
                zone: zone.name().to_owned(),
                rows: Vec::new(),
                error: Some("The as-run log could not be read; the server's log says why.".into()),
            }
        }
    }
}

/// An RFC 3339 instant as `HH:MM:SS` in `zone` (the text as it is when it is not one).
fn instant(zone: Tz, text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| {
            local_time(
                zone,
                Timestamp::from_datetime(at.with_timezone(&chrono::Utc)),
            )
        })
        .unwrap_or_else(|_| text.to_owned())
}
