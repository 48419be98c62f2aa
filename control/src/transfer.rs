//! Import, export and copy of a window of a channel's schedule (a day or a week, typically),
//! as files: what `onair schedule` and the schedule API's transfer routes both do.
//!
//! **JSON** is `{"version", "from", "to", "items": [...]}` with items as [`ItemDraft`]s: an
//! export can be imported back as it is (its `from`/`to` are the window; a caller's override).
//!
//! **CSV** has the header `start,asset_id,hard_start,title,ad_breaks,length_ms`: `start` RFC
//! 3339, `hard_start` `true` or `false` (empty: `true`), `ad_breaks` `offset_ms/duration_ms`
//! pairs separated by `;` (empty: none), `length_ms` how much of the asset airs, in
//! milliseconds from its start (empty: all of it). `hard_start`, `ad_breaks` and `length_ms`
//! may be left out of the header (files written before items had lengths import as they are).
//! A CSV import needs a window.
//!
//! Both are made on a schedule version (the caller's, else the one a JSON export names, else
//! the current one) and go through the same checks as a schedule edit: a file with any problem
//! is refused whole, every problem listed, by `line` for CSV (the header is line 1) and by
//! `index` for JSON; the lock horizon applies.
//!
//! **Copy** takes the items starting on `days` local days from `from_date` (in the channel's
//! zone) and puts them on each of `to_dates` at the same local wall-clock times, replacing what
//! those days held, all in one version. A time that does not exist on the target day (the
//! spring-forward hour) moves to the transition just after the gap; an ambiguous one (the
//! fall-back hour) takes its first occurrence: the scheduler's rules (`scheduler::rules`).

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use onair_domain::{Channel, Timestamp};
use onair_store::{ScheduleEdit, ScheduleEntry};
use serde::Deserialize;
use serde_json::json;

use crate::schedule::{
    BreakDraft, ItemDraft, Restored, channel, check_lock, earliest_change, entry_of, item_draft,
    parse_window, read_consistent, submit,
};
use crate::{Control, Problem, Refusal};

/// The longest copy, in days.
const MAX_COPY_DAYS: u64 = 31;

/// The file format of an export or an import (and of the as-run exports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
}

impl Format {
    /// `json` or `csv`.
    pub fn parse(text: &str) -> Option<Format> {
        match text.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
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
    items: Vec<ItemDraft>,
}

/// Copy the items of `days` local days from `from_date` onto each of `to_dates`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRequest {
    /// The schedule version the copy was decided on.
    #[serde(default)]
    pub version: Option<i64>,
    /// The first local day copied, `YYYY-MM-DD`.
    pub from_date: String,
    /// How many days from it (1 for a day, 7 for a week).
    #[serde(default = "one")]
    pub days: u64,
    /// Where each copy starts, `YYYY-MM-DD`.
    pub to_dates: Vec<String>,
}

fn one() -> u64 {
    1
}

/// An exported window: the schedule version it was read at, and the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub version: i64,
    pub format: Format,
    pub body: Vec<u8>,
}

/// A file to import, as the HTTP route and the CLI receive it.
#[derive(Debug, Clone, Copy)]
pub struct ImportFile<'a> {
    pub format: Format,
    pub body: &'a [u8],
    /// The window the file replaces (RFC 3339); for JSON, the file's own when absent.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

/// An import read and checked for what can be checked without the store.
struct ParsedImport {
    items: Vec<ItemDraft>,
    windows: Vec<(Timestamp, Timestamp)>,
    problems: Vec<Problem>,
    /// The version the file names (JSON exports carry one).
    file_version: Option<i64>,
    /// For CSV: the line of each item, so problems name lines.
    lines: Option<Vec<usize>>,
}

// ---------------------------------------------------------------------------------------------
// Transfers

/// What an edit made on no named version does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unversioned {
    /// Refuse it ([`Refusal::PreconditionRequired`]): the HTTP API, whose clients must say
    /// what they saw.
    Refuse,
    /// Make it on the current version, read just before publishing (an edit that lands in
    /// between still makes this one fail): the CLI.
    Current,
}

impl Control {
    /// The items of `slug` starting in `[from, to)` as a file.
    pub async fn export_schedule(
        &self,
        slug: &str,
        from: Timestamp,
        to: Timestamp,
        format: Format,
    ) -> Result<Exported, Refusal> {
        let channel = channel(&self.store, slug).await?;
        export_window(self, &channel, from, to, format).await
    }

    /// Imports `file` into `slug`'s schedule, published by `author`; returns the new schedule
    /// version. The edit is made on `version`, else on the version the file names, else as
    /// `unversioned` says. A `version` that contradicts the file's is refused.
    pub async fn import_schedule(
        &self,
        slug: &str,
        file: &ImportFile<'_>,
        version: Option<i64>,
        unversioned: Unversioned,
        author: &str,
    ) -> Result<i64, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let parsed = parse_import(file)?;
        if let (Some(named), Some(in_file)) = (version, parsed.file_version)
            && named != in_file
        {
            return Err(Refusal::BadRequest(format!(
                "the import is made on version {named} but the file names version {in_file}"
            )));
        }
        let expected = self
            .expected(&channel, version.or(parsed.file_version), unversioned)
            .await?;
        submit_import(self, &channel, author, expected, parsed).await
    }

    /// Copies days of `slug`'s schedule, published by `author`; returns the new schedule
    /// version. Made on `request.version`, else as `unversioned` says.
    pub async fn copy_schedule(
        &self,
        slug: &str,
        request: &CopyRequest,
        unversioned: Unversioned,
        author: &str,
    ) -> Result<i64, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let expected = self
            .expected(&channel, request.version, unversioned)
            .await?;
        copy_days(self, &channel, author, expected, request).await
    }

    async fn expected(
        &self,
        channel: &Channel,
        version: Option<i64>,
        unversioned: Unversioned,
    ) -> Result<i64, Refusal> {
        match (version, unversioned) {
            (Some(version), _) => Ok(version),
            (None, Unversioned::Refuse) => Err(Refusal::PreconditionRequired),
            (None, Unversioned::Current) => Ok(self.store.schedule_version(channel.id).await?),
        }
    }
}

/// Restores version `number` on top of version `expected`.
pub(crate) async fn restore(
    state: &Control,
    channel: &Channel,
    number: i64,
    expected: i64,
    author: &str,
) -> Result<Restored, Refusal> {
    let wanted = state
        .store
        .published_version(channel.id, number)
        .await?
        .ok_or_else(|| {
            Refusal::NotFound(format!(
                "channel {} has no published schedule version {number}",
                channel.slug
            ))
        })?;
    let (start, end) = (Timestamp(i64::MIN), Timestamp(i64::MAX));
    let current: Vec<ScheduleEntry> = state
        .store
        .schedule_between_with_ad_breaks(channel.id, start, end)
        .await?
        .into_iter()
        .map(entry_of)
        .collect();
    let Some(change) = earliest_change(&current, &wanted.items) else {
        return Ok(Restored {
            version: expected,
            unchanged: true,
        });
    };
    let now = state.clock.now();
    check_lock(state, channel, now, change).await?;
    let items: Vec<ScheduleEntry> = wanted
        .items
        .iter()
        .filter(|(item, _)| item.start >= change)
        .cloned()
        .collect();
    let author = format!("{author} (restore of version {number})");
    let version = state
        .store
        .publish_schedule_edit(&ScheduleEdit {
            channel: channel.id,
            expected_version: expected,
            windows: &[(change, end)],
            items: &items,
            author: &author,
            now,
        })
        .await?;
    Ok(Restored {
        version,
        unchanged: false,
    })
}

/// `[local midnight of date, local midnight days later)` in `zone`: local days as instants.
pub fn local_days(zone: Tz, date: NaiveDate, days: u64) -> (Timestamp, Timestamp) {
    (
        local_midnight(zone, date),
        local_midnight(zone, date + Days::new(days)),
    )
}

// ---------------------------------------------------------------------------------------------
// What both share

async fn export_window(
    state: &Control,
    channel: &Channel,
    from: Timestamp,
    to: Timestamp,
    format: Format,
) -> Result<Exported, Refusal> {
    let (version, items) = read_consistent(&state.store, channel, from, to).await?;
    // JSON carries each item's programme metadata; CSV has no column for it.
    let metadata = state.item_metadata(channel, version).await?;
    let items: Vec<ItemDraft> = items
        .into_iter()
        .map(|pair| {
            let info = metadata.get(&(pair.0.start, pair.0.asset_id)).cloned();
            ItemDraft {
                info,
                ..item_draft(&entry_of(pair))
            }
        })
        .collect();
    let body = match format {
        Format::Json => serde_json::to_vec(&json!({
            "channel": channel.slug.as_str(),
            "version": version,
            "from": from.to_rfc3339_millis(),
            "to": to.to_rfc3339_millis(),
            "items": items,
        }))
        .expect("an export serialises to JSON"),
        Format::Csv => write_csv(&items),
    };
    Ok(Exported {
        version,
        format,
        body,
    })
}

fn parse_import(file: &ImportFile<'_>) -> Result<ParsedImport, Refusal> {
    let mut problems = Vec::new();
    match file.format {
        Format::Json => {
            let parsed: JsonFile = serde_json::from_slice(file.body).map_err(|error| {
                Refusal::BadRequest(format!("the file is not the JSON expected: {error}"))
            })?;
            let window = window_of(
                file.from.or(parsed.from.as_deref()),
                file.to.or(parsed.to.as_deref()),
                &mut problems,
            );
            Ok(ParsedImport {
                items: parsed.items,
                windows: window.into_iter().collect(),
                problems,
                file_version: parsed.version,
                lines: None,
            })
        }
        Format::Csv => {
            let window = window_of(file.from, file.to, &mut problems);
            let (items, lines) = read_csv(file.body, &mut problems);
            Ok(ParsedImport {
                items,
                windows: window.into_iter().collect(),
                problems,
                file_version: None,
                lines: Some(lines),
            })
        }
    }
}

async fn submit_import(
    state: &Control,
    channel: &Channel,
    author: &str,
    expected: i64,
    parsed: ParsedImport,
) -> Result<i64, Refusal> {
    let ParsedImport {
        items,
        windows,
        problems,
        lines,
        ..
    } = parsed;
    submit(
        state,
        channel,
        author,
        expected,
        &windows,
        &items,
        problems,
        move |problem| match (problem.index, &lines) {
            (Some(index), Some(lines)) => Problem {
                index: None,
                line: Some(lines[index]),
                ..problem
            },
            _ => problem,
        },
    )
    .await
}

async fn copy_days(
    state: &Control,
    channel: &Channel,
    author: &str,
    expected: i64,
    request: &CopyRequest,
) -> Result<i64, Refusal> {
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
        return Err(Refusal::Invalid(problems));
    };
    let days = request.days;
    let (from, to) = local_days(zone, source, days);
    let mut windows: Vec<(Timestamp, Timestamp)> = targets
        .iter()
        .map(|date| local_days(zone, *date, days))
        .collect();
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
    let (version, originals) = read_consistent(&state.store, channel, from, to).await?;
    // The copies carry the originals' programme metadata.
    let metadata = state.item_metadata(channel, version).await?;
    let mut items = Vec::new();
    for target in &targets {
        let shift = target.signed_duration_since(source);
        for pair in &originals {
            let mut item = item_draft(&entry_of(pair.clone()));
            item.info = metadata.get(&(pair.0.start, pair.0.asset_id)).cloned();
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
        state,
        channel,
        author,
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

const CSV_HEADER: [&str; 6] = [
    "start",
    "asset_id",
    "hard_start",
    "title",
    "ad_breaks",
    "length_ms",
];

fn write_csv(items: &[ItemDraft]) -> Vec<u8> {
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
                &item.length_ms.map(|ms| ms.to_string()).unwrap_or_default(),
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
fn read_csv(body: &[u8], problems: &mut Vec<Problem>) -> (Vec<ItemDraft>, Vec<usize>) {
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
    let (start, asset, hard, title, breaks, length) = (
        column("start"),
        column("asset_id"),
        column("hard_start"),
        column("title"),
        column("ad_breaks"),
        column("length_ms"),
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
        let length_ms = match field(length) {
            "" => None,
            text => match text.parse::<i64>() {
                Ok(ms) => Some(ms),
                Err(_) => {
                    problems.push(Problem::on_line(
                        line,
                        format!("length_ms {text:?} is not a whole number of milliseconds"),
                    ));
                    ok = false;
                    None
                }
            },
        };
        let mut ad_breaks = Vec::new();
        for pair in field(breaks)
            .split(';')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let parsed = pair.split_once('/').and_then(|(offset, duration)| {
                Some(BreakDraft {
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
            items.push(ItemDraft {
                asset_id,
                start: field(Some(start)).to_owned(),
                hard_start,
                title: field(Some(title)).to_owned(),
                length_ms,
                ad_breaks,
                info: None,
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
        let items = vec![ItemDraft {
            asset_id: 7,
            start: "2026-11-21T20:00:00.000Z".into(),
            hard_start: false,
            title: "News, at \"eight\"".into(),
            length_ms: Some(1_500_000),
            ad_breaks: vec![
                BreakDraft {
                    offset_ms: 0,
                    duration_ms: 30_000,
                },
                BreakDraft {
                    offset_ms: 600_000,
                    duration_ms: 90_000,
                },
            ],
            info: None,
        }];
        let text = write_csv(&items);
        let mut problems = Vec::new();
        let (read, lines) = read_csv(&text, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lines, [2]);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].title, items[0].title);
        assert_eq!(read[0].ad_breaks, items[0].ad_breaks);
        assert_eq!(read[0].length_ms, Some(1_500_000));
        assert!(!read[0].hard_start);
    }

    #[test]
    fn a_csv_file_without_the_length_column_imports_its_items_whole() {
        let text =
            "start,asset_id,hard_start,title,ad_breaks\n2026-11-21T20:00:00Z,7,true,News,0/30000\n";
        let mut problems = Vec::new();
        let (read, _) = read_csv(text.as_bytes(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].length_ms, None);
    }

    #[test]
    fn a_length_that_is_not_a_number_is_refused_on_its_line() {
        let text = "start,asset_id,title,length_ms\n2026-11-21T20:00:00Z,7,News,25:00\n";
        let mut problems = Vec::new();
        let (read, _) = read_csv(text.as_bytes(), &mut problems);
        assert!(read.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("length_ms \"25:00\""),
            "{problems:?}"
        );
    }
}
