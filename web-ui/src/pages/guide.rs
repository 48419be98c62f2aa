//! A channel's guide and as-run, per local day: `/guide/{slug}?date=YYYY-MM-DD`.
//!
//! - **The guide as it will air**: the programmes of the plan playout follows (the EPG's own
//!   rules: live events, gaps, medleys), in the channel's time zone.
//! - **As-run against the plan**: each planned item of the day (up to now) aired or not, with
//!   how late it started; what aired that no item accounts for (slate, filler). The same
//!   reconciliation as `GET /api/channels/{slug}/as-run/reconcile`, which the page links as CSV
//!   with the raw as-run log and the XMLTV feed.
//!
//! Read-only, and readable without JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;
use chrono_tz::Tz;
use onair_control::Refusal;
use onair_control::registry::PlannedChannels;
use onair_control::transfer::Format;
use onair_domain::{Ticks, Timestamp};
use onair_scheduler::epg::{EpgKind, EpgOptions, programmes};
use onair_scheduler::rules::local_day;
use serde::Deserialize;
use serde_json::Value;

use super::{Nav, PagesState, encode_query, render};
use crate::access::Actor;

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/guide/{slug}", get(page))
        .with_state(state)
}

/// A planned programme as the guide lists it.
struct Listed {
    start: String,
    end: String,
    title: String,
    kind: &'static str,
    live_source: String,
    minutes: i64,
}

/// A planned item against what aired.
struct Reconciled {
    status: String,
    title: String,
    planned_start: String,
    aired_start: String,
    start_delta: String,
    late: bool,
}

/// What aired that no planned item accounts for.
struct Unplanned {
    start: String,
    end: String,
    kind: String,
    title: String,
}

#[derive(Template)]
#[template(path = "guide.html")]
struct GuidePage {
    nav: Nav,
    slug: String,
    name: String,
    zone: String,
    date: String,
    previous: String,
    next: String,
    hours: i64,
    guide: Vec<Listed>,
    reconciled: Vec<Reconciled>,
    unplanned: Vec<Unplanned>,
    /// Why there is no reconciliation (a day that has not started, no plan).
    as_run_note: Option<String>,
    csv_reconcile: String,
    csv_as_run: String,
}

#[derive(Debug, Deserialize)]
struct DayQuery {
    date: Option<String>,
}

fn local_time(zone: Tz, at: Timestamp) -> String {
    at.to_datetime()
        .with_timezone(&zone)
        .format("%H:%M:%S")
        .to_string()
}

async fn page(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Query(query): Query<DayQuery>,
) -> Response {
    let info = match state.control().channel(&slug).await {
        Ok(info) => info,
        Err(refusal) => return super::refused(refusal),
    };
    let zone = info.channel.time_zone;
    let now = state.clock.now();
    let today = now.to_datetime().with_timezone(&zone).date_naive();
    let date = match query.date.as_deref().filter(|date| !date.is_empty()) {
        None => today,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => date,
            Err(_) => {
                let message = format!("{text:?} is not a date: give it as YYYY-MM-DD");
                return super::refused(Refusal::BadRequest(message));
            }
        },
    };
    let (from, to) = local_day(zone, date);
    let planned = state
        .plans
        .planned()
        .into_iter()
        .find(|planned| planned.slug == slug);
    let guide = planned
        .as_ref()
        .map(|planned| {
            programmes(&planned.plan, from, to, &EpgOptions::default())
                .into_iter()
                .map(|programme| Listed {
                    start: local_time(zone, programme.start),
                    end: local_time(zone, programme.stop),
                    title: if programme.info.title.trim().is_empty() {
                        info.channel.name.clone()
                    } else {
                        programme.info.title.clone()
                    },
                    kind: match programme.kind {
                        EpgKind::Programme => "programme",
                        EpgKind::Live => "live",
                        EpgKind::Gap => "filler",
                        EpgKind::Medley => "medley",
                    },
                    live_source: programme.live_source.clone().unwrap_or_default(),
                    minutes: programme.duration().as_millis() / 60_000,
                })
                .collect()
        })
        .unwrap_or_default();

    let (mut reconciled, mut unplanned, mut as_run_note) = (Vec::new(), Vec::new(), None);
    if from >= now {
        as_run_note = Some("This day has not started: nothing has aired yet.".to_owned());
    } else {
        match state
            .control()
            .reconcile_as_run(state.plans.as_ref(), &slug, from, to.min(now), Format::Json)
            .await
            .and_then(|body| {
                serde_json::from_slice::<Value>(&body)
                    .map_err(|error| Refusal::Internal(error.to_string()))
            }) {
            Ok(json) => {
                reconciled = reconciled_rows(zone, &json);
                unplanned = unplanned_rows(zone, &json);
            }
            Err(Refusal::Internal(detail)) => {
                tracing::error!(%detail, %slug, "the guide page could not reconcile the as-run");
                as_run_note = Some(
                    "The as-run log could not be read; the details are in the server's log."
                        .to_owned(),
                );
            }
            Err(refusal) => as_run_note = Some(refusal.to_string()),
        }
    }
    let interval = format!(
        "from={}&to={}",
        encode_query(&from.to_rfc3339_millis()),
        encode_query(&to.to_rfc3339_millis())
    );
    render(
        StatusCode::OK,
        &GuidePage {
            nav: Nav::of(&actor, "guide"),
            slug: slug.clone(),
            name: info.channel.name.clone(),
            zone: zone.name().to_owned(),
            date: date.to_string(),
            previous: date.pred_opt().unwrap_or(date).to_string(),
            next: date.succ_opt().unwrap_or(date).to_string(),
            hours: (to - from).as_millis() / 3_600_000,
            guide,
            reconciled,
            unplanned,
            as_run_note,
            csv_reconcile: format!("/api/channels/{slug}/as-run/reconcile?{interval}&format=csv"),
            csv_as_run: format!("/api/channels/{slug}/as-run?{interval}&format=csv"),
        },
    )
}

fn instant(zone: Tz, value: &Value) -> String {
    value
        .as_str()
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&zone).format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn reconciled_rows(zone: Tz, json: &Value) -> Vec<Reconciled> {
    json["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let delta = item["start_delta_ms"].as_i64();
                    Reconciled {
                        status: text(&item["status"]).replace('_', " "),
                        title: text(&item["title"]),
                        planned_start: instant(zone, &item["planned_start"]),
                        aired_start: instant(zone, &item["aired_start"]),
                        start_delta: delta
                            .map(|ms| format!("{:+.1} s", Ticks::from_millis(ms).as_secs_f64()))
                            .unwrap_or_default(),
                        late: delta.is_some_and(|ms| ms.abs() > 2_000)
                            || item["status"] == "not_aired",
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn unplanned_rows(zone: Tz, json: &Value) -> Vec<Unplanned> {
    json["unplanned"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|entry| Unplanned {
                    start: instant(zone, &entry["start"]),
                    end: instant(zone, &entry["end"]),
                    kind: text(&entry["kind"]),
                    title: text(&entry["title"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(zone: Tz, date: &str) -> (String, i64) {
        let (from, to) = local_day(zone, NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap());
        (
            from.to_rfc3339_millis(),
            (to - from).as_millis() / 3_600_000,
        )
    }

    #[test]
    fn a_local_day_is_23_or_25_hours_across_the_dst_changes() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            day(berlin, "2027-03-28"),
            ("2027-03-27T23:00:00.000Z".into(), 23)
        );
        assert_eq!(
            day(berlin, "2027-10-31"),
            ("2027-10-30T22:00:00.000Z".into(), 25)
        );
        assert_eq!(
            day(berlin, "2027-06-01"),
            ("2027-05-31T22:00:00.000Z".into(), 24)
        );
        assert_eq!(
            day(Tz::UTC, "2027-03-28"),
            ("2027-03-28T00:00:00.000Z".into(), 24)
        );
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_its_first_instant() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2022-09-11.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let (start, hours) = day(santiago, "2022-09-11");
        assert_eq!(start, "2022-09-11T04:00:00.000Z");
        assert_eq!(hours, 23);
    }
}
