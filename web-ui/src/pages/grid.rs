//! The grid planner of one channel: `/grid/{slug}?view=day|week&date=YYYY-MM-DD`.
//!
//! - **Days in the channel's zone, DST correct.** Each local day shown is sent with its local
//!   midnight and its length (23, 24 or 25 hours, [`day_spans`]); `grid.js` draws each day as a
//!   one-day FullCalendar in UTC whose axis is the time elapsed since that midnight, with the
//!   true local wall-clock times as labels (see the module doc of `static/grid.js`).
//! - **Editing** (the scheduler role on the channel): drops from the library, moves, resizes
//!   (an item's length: by its bottom edge or the editor's Length field), hard start, ad
//!   breaks, deletion, each sent at once as `PUT /api/channels/{slug}/schedule` of the shown
//!   days with the version the page loaded (`If-Match`): the control plane's checks (lock
//!   horizon, hard overlaps, rights windows, assets) refuse it whole or publish it as a
//!   version, and the grid draws the ends the server answers.
//! - **Programme metadata** (`info`: episode, description, genres, rating, artwork) is edited
//!   in the item editor's Programme form and published with the item through the same `PUT`;
//!   the table lists each item's episode under its title.
//! - **Without JavaScript**: every item of the shown days as a table (local start and end,
//!   length, title and episode, hard start, breaks), and a form that adds an item at a local
//!   time, optionally of a length (`POST /grid/{slug}/items`), through the same checks.
//!
//! One read of the shown days (items with their ends) per page; the library, the plan
//! preview and the versions are one API request each from the page.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use onair_control::Refusal;
use onair_control::accounts::Role;
use onair_control::assets::AssetQuery;
use onair_control::schedule::placed::PlacedSchedule;
use onair_domain::{AssetState, Ticks, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Nav, PagesState, encode_query, render};
use crate::access::Actor;
use crate::api::schedule::PlacedOut;
use onair_scheduler::rules::local_day;

mod add;
mod table;
mod templates;

use add::{AddForm, add_item, refusal_lines};
use table::{Row, local_text, minutes_seconds, row};

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/grid/{slug}", get(page))
        .route("/grid/{slug}/items", post(add_item))
        .with_state(state.clone())
        .merge(templates::router(state))
}

/// One local day: when it starts and how long it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpan {
    pub date: NaiveDate,
    /// Its first instant (its local midnight, or the first instant after it that exists).
    pub midnight: Timestamp,
    /// 23, 24 or 25 hours (or whatever the zone's rules say).
    pub length: Ticks,
}

impl DaySpan {
    pub fn end(&self) -> Timestamp {
        self.midnight + self.length
    }
}

/// `count` local days of `zone` from `first`.
pub fn day_spans(zone: Tz, first: NaiveDate, count: u64) -> Vec<DaySpan> {
    (0..count)
        .filter_map(|offset| first.checked_add_days(Days::new(offset)))
        .map(|date| {
            let (midnight, end) = local_day(zone, date);
            DaySpan {
                date,
                midnight,
                length: end - midnight,
            }
        })
        .collect()
}

/// A day or a week (Monday to Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Day,
    Week,
}

impl View {
    fn parse(text: Option<&str>) -> Result<View, Refusal> {
        match text.unwrap_or("day") {
            "" | "day" => Ok(View::Day),
            "week" => Ok(View::Week),
            other => Err(Refusal::BadRequest(format!(
                "view {other:?}: ask for day or week"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            View::Day => "day",
            View::Week => "week",
        }
    }

    /// The days it shows around `date`.
    pub fn days(self, zone: Tz, date: NaiveDate) -> Vec<DaySpan> {
        match self {
            View::Day => day_spans(zone, date, 1),
            View::Week => {
                let monday = date
                    .checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
                    .unwrap_or(date);
                day_spans(zone, monday, 7)
            }
        }
    }

    fn step(self) -> Days {
        Days::new(match self {
            View::Day => 1,
            View::Week => 7,
        })
    }
}

#[derive(Debug, Deserialize)]
struct GridQuery {
    view: Option<String>,
    date: Option<String>,
    /// Set after a form's item was added.
    added: Option<String>,
    /// Set after a template was applied to the week: how many items it added.
    applied: Option<String>,
}

/// A day as the table and the script see it.
struct DayOut {
    date: String,
    label: String,
    hours: i64,
    items: Vec<Row>,
}

/// An asset the add-item form offers.
struct AssetChoice {
    id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "grid.html")]
struct GridPage {
    nav: Nav,
    slug: String,
    name: String,
    zone: String,
    view: &'static str,
    date: String,
    previous: String,
    next: String,
    today: String,
    days: Vec<DayOut>,
    can_edit: bool,
    version: i64,
    lock_horizon_local: String,
    repeat_note: Option<String>,
    /// What `grid.js` draws, as JSON (escaped into an attribute like any text).
    data: String,
    assets: Vec<AssetChoice>,
    form: AddForm,
    /// Why the form's item was not added, every problem.
    form_errors: Vec<String>,
    notice: Option<String>,
}

async fn page(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Query(query): Query<GridQuery>,
) -> Response {
    let notice = match (&query.added, &query.applied) {
        (_, Some(added)) => Some(format!(
            "The template was applied: {} items were added and published as one version.",
            added.parse::<u32>().unwrap_or_default()
        )),
        (Some(_), None) => Some("The item was added and published.".to_owned()),
        (None, None) => None,
    };
    let shown =
        match Shown::parse(&state, &slug, query.view.as_deref(), query.date.as_deref()).await {
            Ok(shown) => shown,
            Err(refusal) => return super::refused(refusal),
        };
    let form = AddForm {
        date: shown.date.to_string(),
        view: shown.view.as_str().to_owned(),
        hard_start: Some("on".into()),
        ..AddForm::default()
    };
    match build(&state, &actor, &shown, form, Vec::new(), notice).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(refusal) => super::refused(refusal),
    }
}

/// The channel and the days a request asks for.
struct Shown {
    slug: String,
    name: String,
    zone: Tz,
    channel_id: onair_domain::ChannelId,
    ladder_id: onair_domain::LadderId,
    grid_repeat: Option<Ticks>,
    view: View,
    date: NaiveDate,
    today: NaiveDate,
    days: Vec<DaySpan>,
}

impl Shown {
    async fn parse(
        state: &PagesState,
        slug: &str,
        view: Option<&str>,
        date: Option<&str>,
    ) -> Result<Shown, Refusal> {
        let info = state.control().channel(slug).await?;
        let zone = info.channel.time_zone;
        let view = View::parse(view)?;
        let today = state
            .clock
            .now()
            .to_datetime()
            .with_timezone(&zone)
            .date_naive();
        let date = match date.filter(|date| !date.is_empty()) {
            None => today,
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                Refusal::BadRequest(format!("{text:?} is not a date: give it as YYYY-MM-DD"))
            })?,
        };
        let days = view.days(zone, date);
        if days.is_empty() {
            return Err(Refusal::BadRequest(format!("{date} is out of range")));
        }
        Ok(Shown {
            slug: slug.to_owned(),
            name: info.channel.name.clone(),
            zone,
            channel_id: info.channel.id,
            ladder_id: info.channel.ladder_id,
            grid_repeat: info.channel.grid_repeat,
            view,
            date,
            today,
            days,
        })
    }

    fn from(&self) -> Timestamp {
        self.days[0].midnight
    }

    fn to(&self) -> Timestamp {
        self.days[self.days.len() - 1].end()
    }
}

async fn build(
    state: &PagesState,
    actor: &Actor,
    shown: &Shown,
    form: AddForm,
    form_errors: Vec<String>,
    notice: Option<String>,
) -> Result<GridPage, Refusal> {
    let control = state.control();
    let schedule = control
        .placed_schedule(&shown.slug, shown.from(), shown.to())
        .await?;
    let can_edit = actor.principal.has(Some(shown.channel_id), Role::Scheduler);
    let assets = if can_edit {
        control
            .assets(&AssetQuery {
                state: Some(AssetState::Ready.as_str().to_owned()),
                ..AssetQuery::default()
            })
            .await?
            .into_iter()
            .filter(|asset| asset.ladder_id == shown.ladder_id)
            .map(|asset| AssetChoice {
                id: asset.id.0,
                label: format!("{} ({})", asset.title, minutes_seconds(asset.duration)),
            })
            .collect()
    } else {
        Vec::new()
    };
    let zone = shown.zone;
    let days: Vec<DayOut> = shown
        .days
        .iter()
        .map(|day| DayOut {
            date: day.date.to_string(),
            label: day.date.format("%a %-d %b %Y").to_string(),
            hours: day.length.as_millis() / 3_600_000,
            items: schedule
                .items
                .iter()
                .filter(|placed| {
                    placed.item.start < day.end()
                        && (placed.end > day.midnight || placed.item.start >= day.midnight)
                })
                .map(|placed| row(zone, day, placed, schedule.info_of(&placed.item)))
                .collect(),
        })
        .collect();
    let repeat_note = shown.grid_repeat.map(|period| {
        format!(
            "This channel repeats its first {} of schedule again and again: only items in that first period air, so edits elsewhere are refused.",
            hours_text(period)
        )
    });
    Ok(GridPage {
        nav: Nav::of(actor, "grid"),
        slug: shown.slug.clone(),
        name: shown.name.clone(),
        zone: zone.name().to_owned(),
        view: shown.view.as_str(),
        date: shown.date.to_string(),
        previous: shown
            .date
            .checked_sub_days(shown.view.step())
            .unwrap_or(shown.date)
            .to_string(),
        next: shown
            .date
            .checked_add_days(shown.view.step())
            .unwrap_or(shown.date)
            .to_string(),
        today: shown.today.to_string(),
        can_edit,
        version: schedule.version,
        lock_horizon_local: local_text(zone, schedule.lock_horizon),
        repeat_note,
        data: script_data(shown, &schedule, can_edit).to_string(),
        days,
        assets,
        form,
        form_errors,
        notice,
    })
}

/// What `grid.js` draws.
fn script_data(shown: &Shown, schedule: &PlacedSchedule, can_edit: bool) -> Value {
    let items: Vec<Value> = schedule
        .items
        .iter()
        .map(|placed| json!(PlacedOut::of(schedule, placed)))
        .collect();
    json!({
        "slug": shown.slug,
        "zone": shown.zone.name(),
        "view": shown.view.as_str(),
        "ladder_id": shown.ladder_id.0,
        "can_edit": can_edit,
        "version": schedule.version,
        "lock_horizon": schedule.lock_horizon.to_rfc3339_millis(),
        "from": shown.from().to_rfc3339_millis(),
        "to": shown.to().to_rfc3339_millis(),
        "days": shown.days.iter().map(|day| json!({
            "date": day.date.to_string(),
            "midnight": day.midnight.to_rfc3339_millis(),
            "length_ms": day.length.as_millis(),
        })).collect::<Vec<_>>(),
        "items": items,
    })
}

fn hours_text(period: Ticks) -> String {
    let minutes = period.as_millis() / 60_000;
    if minutes % 60 == 0 {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}

/// The instant a local date and time (`HH:MM` or `HH:MM:SS`) names in `zone`: the earlier of
/// two when the clocks go back, refused when they go forward over it.
pub fn local_instant(zone: Tz, date: NaiveDate, time: &str) -> Result<Timestamp, String> {
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(time.trim(), "%H:%M"))
        .map_err(|_| format!("{time:?} is not a time: give it as HH:MM or HH:MM:SS"))?;
    zone.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|at| Timestamp::from_datetime(at.with_timezone(&chrono::Utc)))
        .ok_or_else(|| {
            format!(
                "{date} {time} does not exist in {}: the clocks go forward over it",
                zone.name()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// Each day as (its midnight in UTC, its hours).
    fn spans(zone: &str, first: &str, count: u64) -> Vec<(String, i64)> {
        day_spans(zone.parse().unwrap(), date(first), count)
            .iter()
            .map(|day| {
                (
                    day.midnight.to_rfc3339_millis(),
                    day.length.as_millis() / 3_600_000,
                )
            })
            .collect()
    }

    #[test]
    fn the_days_around_the_spring_change_start_at_local_midnight_and_one_lasts_23_hours() {
        assert_eq!(
            spans("Europe/Berlin", "2027-03-27", 3),
            [
                ("2027-03-26T23:00:00.000Z".to_owned(), 24),
                ("2027-03-27T23:00:00.000Z".to_owned(), 23),
                ("2027-03-28T22:00:00.000Z".to_owned(), 24),
            ]
        );
    }

    #[test]
    fn the_days_around_the_autumn_change_start_at_local_midnight_and_one_lasts_25_hours() {
        assert_eq!(
            spans("Europe/Berlin", "2027-10-30", 3),
            [
                ("2027-10-29T22:00:00.000Z".to_owned(), 24),
                ("2027-10-30T22:00:00.000Z".to_owned(), 25),
                ("2027-10-31T23:00:00.000Z".to_owned(), 24),
            ]
        );
    }

    #[test]
    fn a_zone_without_dst_has_days_of_24_hours_at_its_fixed_offset() {
        assert_eq!(
            spans("Asia/Tokyo", "2027-03-27", 2),
            [
                ("2027-03-26T15:00:00.000Z".to_owned(), 24),
                ("2027-03-27T15:00:00.000Z".to_owned(), 24),
            ]
        );
        assert_eq!(
            spans("UTC", "2027-10-31", 1),
            [("2027-10-31T00:00:00.000Z".to_owned(), 24)]
        );
    }

    #[test]
    fn a_week_runs_monday_to_sunday_and_holds_the_dst_day() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let week = View::Week.days(berlin, date("2027-03-25"));
        assert_eq!(week.len(), 7);
        assert_eq!(week[0].date, date("2027-03-22"));
        assert_eq!(week[6].date, date("2027-03-28"));
        assert_eq!(week[6].length, Ticks::from_secs(23 * 3600));
        assert_eq!(
            week[6].end(),
            week[6].midnight + Ticks::from_secs(23 * 3600)
        );
        assert_eq!(
            View::Day.days(berlin, date("2027-03-25"))[0].date,
            date("2027-03-25")
        );
    }

    #[test]
    fn a_local_time_is_the_earlier_of_two_and_refused_when_skipped() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            local_instant(berlin, date("2027-10-31"), "02:30")
                .unwrap()
                .to_rfc3339_millis(),
            "2027-10-31T00:30:00.000Z"
        );
        assert_eq!(
            local_instant(berlin, date("2027-06-01"), "20:15:30")
                .unwrap()
                .to_rfc3339_millis(),
            "2027-06-01T18:15:30.000Z"
        );
        assert!(
            local_instant(berlin, date("2027-03-28"), "02:30")
                .unwrap_err()
                .contains("clocks go forward")
        );
        assert!(local_instant(berlin, date("2027-03-28"), "25:00").is_err());
    }
}
