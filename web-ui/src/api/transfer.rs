//! Import, export and copy of a window of a channel's schedule (a day or a week, typically).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels/{slug}/schedule/export?from=&to=&format=json\|csv` | the items starting in `[from, to)` (default: now to now + 24 h); `ETag: "<version>"` |
//! | `POST /api/channels/{slug}/schedule/import?format=json\|csv&from=&to=&version=` | replaces `[from, to)` with the file's items |
//! | `POST /api/channels/{slug}/schedule/copy` | `{"version"?, "from_date", "days", "to_dates": [...]}` copies days to other dates |
//!
//! **JSON** is `{"version", "from", "to", "items": [...]}` with items as in the schedule API: an
//! export can be imported back as it is (its `from`/`to` are the window; `?from=&to=` override).
//!
//! **CSV** has the header `start,asset_id,hard_start,title,ad_breaks`: `start` RFC 3339,
//! `hard_start` `true` or `false` (empty: `true`), `ad_breaks` `offset_ms/duration_ms` pairs
//! separated by `;` (empty: none). `hard_start` and `ad_breaks` may be left out of the header.
//! A CSV import needs `?from=&to=`.
//!
//! Both need the schedule version the file was made from (`If-Match`, or `version` in the JSON or
//! the query), and go through the same checks as `PUT …/schedule`: a file with any problem is
//! refused whole (422), every problem listed, by `line` for CSV (the header is line 1) and by
//! `index` for JSON; the lock horizon applies.
//!
//! **Copy** takes the items starting on `days` local days from `from_date` (in the channel's
//! zone) and puts them on each of `to_dates` at the same local wall-clock times, replacing what
//! those days held, all in one version. A time that does not exist on the target day (the
//! spring-forward hour) moves to the transition just after the gap; an ambiguous one (the
//! fall-back hour) takes its first occurrence: the scheduler's rules (`scheduler::rules`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use onair_domain::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::schedule::{
    ApiError, BreakWire, ItemIn, Problem, ScheduleApiState, WindowQuery, channel, entry_of,
    expected_version, item_in, parse_window, query_window, read_consistent, submit, with_etag,
};

/// The longest copy, in days.
const MAX_COPY_DAYS: u64 = 31;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Format {
    #[default]
    Json,
    Csv,
}

#[derive(Debug, Deserialize)]
pub(super) struct TransferQuery {
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    format: Format,
    version: Option<i64>,
}

/// A JSON import (an export's shape).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile {
    #[serde(default)]
    version: Option<i64>,
    /// Ignored: exports carry it.
    #[serde(default, rename = "channel")]
    _channel: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    items: Vec<ItemIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CopyRequest {
    #[serde(default)]
    version: Option<i64>,
    /// The first local day copied, `YYYY-MM-DD`.
    from_date: String,
    /// How many days from it (1 for a day, 7 for a week).
    #[serde(default = "one")]
    days: u64,
    /// Where each copy starts, `YYYY-MM-DD`.
    to_dates: Vec<String>,
}

fn one() -> u64 {
    1
}

pub(super) async fn export(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    Query(query): Query<TransferQuery>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let window = WindowQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    };
    let (from, to) = query_window(&window, state.clock.now())?;
    let (version, items) = read_consistent(&state.store, &channel, from, to).await?;
    let items: Vec<ItemIn> = items
        .into_iter()
        .map(|pair| item_in(&entry_of(pair)))
        .collect();
    match query.format {
        Format::Json => Ok(with_etag(
            version,
            Json(json!({
                "channel": channel.slug.as_str(),
                "version": version,
                "from": from.to_rfc3339_millis(),
                "to": to.to_rfc3339_millis(),
                "items": items,
            })),
        )),
        Format::Csv => {
            let mut response = with_etag(version, write_csv(&items));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(value) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{}-schedule.csv\"",
                channel.slug
            )) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            Ok(response)
        }
    }
}

pub(super) async fn import(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    Query(query): Query<TransferQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let mut problems = Vec::new();
    match query.format {
        Format::Json => {
            let file: JsonFile = serde_json::from_slice(&body).map_err(|error| {
                ApiError::BadRequest(format!("the file is not the JSON expected: {error}"))
            })?;
            let expected = expected_version(&headers, query.version.or(file.version))?;
            let window = window_of(
                query.from.as_deref().or(file.from.as_deref()),
                query.to.as_deref().or(file.to.as_deref()),
                &mut problems,
            );
            let windows: Vec<(Timestamp, Timestamp)> = window.into_iter().collect();
            submit(
                &state,
                &channel,
                &headers,
                expected,
                &windows,
                &file.items,
                problems,
                |problem| problem,
            )
            .await
        }
        Format::Csv => {
            let expected = expected_version(&headers, query.version)?;
            let window = window_of(query.from.as_deref(), query.to.as_deref(), &mut problems);
            let windows: Vec<(Timestamp, Timestamp)> = window.into_iter().collect();
            let (items, lines) = read_csv(&body, &mut problems);
            submit(
                &state,
                &channel,
                &headers,
                expected,
                &windows,
                &items,
                problems,
                move |problem| match problem.index {
                    Some(index) => Problem::on_line(lines[index], problem.message),
                    None => problem,
                },
            )
            .await
        }
    }
}

pub(super) async fn copy(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CopyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let channel = channel(&state.store, &slug).await?;
    let expected = expected_version(&headers, request.version)?;
    let zone = channel.time_zone;
    let mut problems = Vec::new();
    if request.days == 0 || request.days > MAX_COPY_DAYS {
        problems.push(Problem::whole(format!(
            "days must be 1 to {MAX_COPY_DAYS}, not {}",
            request.days
        )));
    }
    let source = parse_date("from_date", &request.from_date, &mut problems);
    let targets: Vec<NaiveDate> = request
        .to_dates
        .iter()
        .filter_map(|text| parse_date("to_dates", text, &mut problems))
        .collect();
    if request.to_dates.is_empty() {
        problems.push(Problem::whole("to_dates names no date to copy to"));
    }
    let Some(source) = source.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Invalid(problems));
    };
    let days = request.days;
    let span = |first: NaiveDate| {
        (
            local_midnight(zone, first),
            local_midnight(zone, first + Days::new(days)),
        )
    };
    let (from, to) = span(source);
    let mut windows: Vec<(Timestamp, Timestamp)> = targets.iter().map(|date| span(*date)).collect();
    windows.sort();
    for pair in windows.windows(2) {
        if pair[1].0 < pair[0].1 {
            problems.push(Problem::whole(format!(
                "the copies starting {} and {} overlap: {days} day(s) apart at least, please",
                pair[0].0.to_rfc3339_millis(),
                pair[1].0.to_rfc3339_millis()
            )));
        }
    }
    let originals = state
        .store
        .schedule_between_with_ad_breaks(channel.id, from, to)
        .await?;
    let mut items = Vec::new();
    for target in &targets {
        let shift = target.signed_duration_since(source);
        for pair in &originals {
            let mut item = item_in(&entry_of(pair.clone()));
            let local = pair
                .0
                .start
                .to_datetime()
                .with_timezone(&zone)
                .naive_local();
            item.start = resolve(zone, local + shift).to_rfc3339_millis();
            items.push(item);
        }
    }
    submit(
        &state,
        &channel,
        &headers,
        expected,
        &windows,
        &items,
        problems,
        |problem| problem,
    )
    .await
}

fn window_of(
    from: Option<&str>,
    to: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Option<(Timestamp, Timestamp)> {
    match (from, to) {
        (Some(from), Some(to)) => parse_window(from, to, problems),
        _ => {
            problems.push(Problem::whole(
                "name the window the file replaces: ?from=…&to=… (RFC 3339), or from and to in the JSON",
            ));
            None
        }
    }
}

fn parse_date(field: &str, text: &str, problems: &mut Vec<Problem>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| {
            problems.push(Problem::whole(format!(
                "{field}: {text:?} is not a date like 2026-11-23"
            )))
        })
        .ok()
}

/// The instant of local midnight starting `date` in `zone` (just after a gap, if midnight is in
/// one).
fn local_midnight(zone: Tz, date: NaiveDate) -> Timestamp {
    resolve(zone, date.and_time(NaiveTime::MIN))
}

/// A local wall-clock time in `zone` as an instant, by the scheduler's DST rules
/// ([`onair_scheduler::rules::resolve_local`]): a time in the spring-forward gap moves to the
/// transition, a time of the doubled fall-back hour takes its first occurrence.
fn resolve(zone: Tz, local: NaiveDateTime) -> Timestamp {
    onair_scheduler::rules::resolve_local(zone, local).at
}

const CSV_HEADER: [&str; 5] = ["start", "asset_id", "hard_start", "title", "ad_breaks"];

fn write_csv(items: &[ItemIn]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write = |writer: &mut csv::Writer<Vec<u8>>| -> csv::Result<()> {
        writer.write_record(CSV_HEADER)?;
        for item in items {
            let breaks: Vec<String> = item
                .ad_breaks
                .iter()
                .map(|ad_break| format!("{}/{}", ad_break.offset_ms, ad_break.duration_ms))
                .collect();
            writer.write_record([
                item.start.as_str(),
                &item.asset_id.to_string(),
                if item.hard_start { "true" } else { "false" },
                item.title.as_str(),
                &breaks.join(";"),
            ])?;
        }
        writer.flush()?;
        Ok(())
    };
    write(&mut writer).expect("writing CSV to memory cannot fail");
    writer
        .into_inner()
        .expect("writing CSV to memory cannot fail")
}

/// The items of a CSV file and, for each, its line; problems of the file itself go to
/// `problems` with their lines (those rows are left out).
fn read_csv(body: &[u8], problems: &mut Vec<Problem>) -> (Vec<ItemIn>, Vec<usize>) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let (mut items, mut lines) = (Vec::new(), Vec::new());
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(error) => {
            problems.push(Problem::on_line(
                1,
                format!("the header cannot be read: {error}"),
            ));
            return (items, lines);
        }
    };
    let column = |name: &str| header.iter().position(|field| field == name);
    let (start, asset, hard, title, breaks) = (
        column("start"),
        column("asset_id"),
        column("hard_start"),
        column("title"),
        column("ad_breaks"),
    );
    let unknown: Vec<&str> = header
        .iter()
        .filter(|field| !CSV_HEADER.contains(field))
        .collect();
    if !unknown.is_empty() {
        problems.push(Problem::on_line(
            1,
            format!(
                "unknown columns {unknown:?}: the columns are {}",
                CSV_HEADER.join(",")
            ),
        ));
    }
    let (Some(start), Some(asset), Some(title)) = (start, asset, title) else {
        problems.push(Problem::on_line(
            1,
            format!(
                "the header must name at least start, asset_id and title (all columns: {})",
                CSV_HEADER.join(",")
            ),
        ));
        return (items, lines);
    };
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error
                    .position()
                    .map_or(0, |position| position.line() as usize);
                problems.push(Problem::on_line(line, format!("unreadable row: {error}")));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |position| position.line() as usize);
        let field = |index: Option<usize>| index.and_then(|index| record.get(index)).unwrap_or("");
        let mut ok = true;
        let asset_id = match field(Some(asset)).parse::<i64>() {
            Ok(id) => id,
            Err(_) => {
                problems.push(Problem::on_line(
                    line,
                    format!("asset_id {:?} is not a number", field(Some(asset))),
                ));
                ok = false;
                0
            }
        };
        let hard_start = match field(hard).to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            other => {
                problems.push(Problem::on_line(
                    line,
                    format!("hard_start {other:?} is not true or false"),
                ));
                ok = false;
                true
            }
        };
        let mut ad_breaks = Vec::new();
        for pair in field(breaks)
            .split(';')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let parsed = pair.split_once('/').and_then(|(offset, duration)| {
                Some(BreakWire {
                    offset_ms: offset.trim().parse().ok()?,
                    duration_ms: duration.trim().parse().ok()?,
                })
            });
            match parsed {
                Some(ad_break) => ad_breaks.push(ad_break),
                None => {
                    problems.push(Problem::on_line(
                        line,
                        format!(
                            "ad break {pair:?} is not offset_ms/duration_ms, like 600000/90000"
                        ),
                    ));
                    ok = false;
                }
            }
        }
        if ok {
            items.push(ItemIn {
                asset_id,
                start: field(Some(start)).to_owned(),
                hard_start,
                title: field(Some(title)).to_owned(),
                ad_breaks,
            });
            lines.push(line);
        }
    }
    (items, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_in_the_spring_forward_gap_moves_to_just_after_it() {
        let zone = chrono_tz::Europe::Berlin;
        let local = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        // 03:00 CEST = 01:00 UTC.
        assert_eq!(
            resolve(zone, local).to_rfc3339_millis(),
            "2026-03-29T01:00:00.000Z"
        );
    }

    #[test]
    fn a_time_in_the_doubled_fall_back_hour_takes_its_first_occurrence() {
        let zone = chrono_tz::America::New_York;
        let local = NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        // 01:30 EDT = 05:30 UTC.
        assert_eq!(
            resolve(zone, local).to_rfc3339_millis(),
            "2026-11-01T05:30:00.000Z"
        );
    }

    #[test]
    fn csv_round_trips_items_with_their_ad_breaks() {
        let items = vec![ItemIn {
            asset_id: 7,
            start: "2026-11-21T20:00:00.000Z".into(),
            hard_start: false,
            title: "News, at \"eight\"".into(),
            ad_breaks: vec![
                BreakWire {
                    offset_ms: 0,
                    duration_ms: 30_000,
                },
                BreakWire {
                    offset_ms: 600_000,
                    duration_ms: 90_000,
                },
            ],
        }];
        let text = write_csv(&items);
        let mut problems = Vec::new();
        let (read, lines) = read_csv(&text, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lines, [2]);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].title, items[0].title);
        assert_eq!(read[0].ad_breaks, items[0].ad_breaks);
        assert!(!read[0].hard_start);
    }
}
