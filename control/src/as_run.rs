//! The as-run log as files, and its reconciliation with the plan playout follows.
//!
//! **As-run** JSON is `{"channel", "from", "to", "entries": [...]}`; an entry (a CSV row, with
//! the same names as its header) is `start`, `end` (RFC 3339, on segment boundaries: the run's
//! own, even when they lie outside the interval; `end` is as far as recorded while it is on air),
//! `duration_ms`, `kind` (`programme`, `live`, `ad_break`, `filler` or `slate`),
//! `schedule_item_id` (the item a programme's content and its breaks belong to; empty for gap
//! fill), `title`, `asset_id`, `live_source`, `break_number` and `break_duration_ms` (for ad
//! breaks), `media_sequence` (of the run's first segment, as the HLS playlists number it),
//! `schedule_version` (of the plan it aired from) and `recovered` (`true` when it was recorded
//! from the plan after the recorder was down rather than seen airing).
//!
//! **Reconcile** sets each occurrence of a planned item that touches the interval, with the
//! start and end the plan gives it (the EPG's times), against the entries of that item:
//! `{"channel", "from", "to", "items": [{"status": "aired" | "not_aired", "schedule_item_id",
//! "title", "kind", "live_source", "planned_start", "planned_end", "aired_start", "aired_end",
//! "start_delta_ms", "end_delta_ms"}], "unplanned": [entries]}`; deltas are aired minus planned
//! (positive: late), the end delta only for items planned to end inside the interval.
//! `unplanned` lists what aired that no planned item accounts for: slate and filler filling gaps,
//! and runs of items the plan no longer has. The plan is the one playout follows now; `to` is
//! cut to now, as nothing after it has aired. The CSV is one table: `status` (`aired`,
//! `not_aired` or `unplanned`), `kind`, `schedule_item_id`, `title`, the four instants and the
//! two deltas, by time.

use std::collections::HashMap;

use onair_domain::{Ticks, Timestamp};
use onair_scheduler::as_run::{AiredRun, Reconciliation, kind_label, reconcile, reconcile_span};
use onair_store::{AsRunEntry, Store};
use serde::Serialize;
use serde_json::json;

use crate::registry::PlannedChannels;
use crate::schedule::{channel, parse_instant};
use crate::transfer::Format;
use crate::{Control, Refusal};

/// The longest interval one request may ask for.
pub const MAX_INTERVAL: Ticks = Ticks::from_secs(31 * 86_400);

/// The interval when a request names none: the day up to now.
const DEFAULT_INTERVAL: Ticks = Ticks::from_secs(86_400);

/// `[from, to)` from RFC 3339 text; without `to`, `now`; without `from`, a day before `to`.
/// Refuses malformed instants and what [`check_interval`] refuses.
pub fn interval(
    from: Option<&str>,
    to: Option<&str>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), String> {
    let to = match to {
        Some(text) => parse_instant(text).map_err(|error| format!("to: {error}"))?,
        None => now,
    };
    let from = match from {
        Some(text) => parse_instant(text).map_err(|error| format!("from: {error}"))?,
        None => to - DEFAULT_INTERVAL,
    };
    check_interval(from, to)?;
    Ok((from, to))
}

/// Refuses an empty or reversed interval, and one longer than [`MAX_INTERVAL`].
pub fn check_interval(from: Timestamp, to: Timestamp) -> Result<(), String> {
    if to <= from {
        return Err(format!(
            "from ({}) must be before to ({})",
            from.to_rfc3339_millis(),
            to.to_rfc3339_millis()
        ));
    }
    if to - from > MAX_INTERVAL {
        return Err(format!(
            "the interval {} to {} is longer than {} days: ask for less at a time",
            from.to_rfc3339_millis(),
            to.to_rfc3339_millis(),
            MAX_INTERVAL.0 / Ticks::from_secs(86_400).0
        ));
    }
    Ok(())
}

impl Control {
    /// The as-run log of `slug` in `[from, to)` as a file (after the checks of
    /// [`check_interval`]).
    pub async fn export_as_run(
        &self,
        slug: &str,
        from: Timestamp,
        to: Timestamp,
        format: Format,
    ) -> Result<Vec<u8>, Refusal> {
        check_interval(from, to).map_err(Refusal::BadRequest)?;
        as_run_file(&self.store, slug, from, to, format).await
    }

    /// The plan's items of `slug` in `[from, to)` (cut to now) against what aired, by the plan
    /// `plans` holds for it (the one playout follows), as a file.
    pub async fn reconcile_as_run(
        &self,
        plans: &dyn PlannedChannels,
        slug: &str,
        from: Timestamp,
        to: Timestamp,
        format: Format,
    ) -> Result<Vec<u8>, Refusal> {
        check_interval(from, to).map_err(Refusal::BadRequest)?;
        let now = self.clock.now();
        let to = to.min(now);
        if to <= from {
            return Err(Refusal::BadRequest(format!(
                "nothing has aired from {} yet: reconcile an interval that starts before now ({})",
                from.to_rfc3339_millis(),
                now.to_rfc3339_millis()
            )));
        }
        let channel = channel(&self.store, slug).await?;
        let planned = plans
            .planned()
            .into_iter()
            .find(|planned| planned.slug == channel.slug.as_str())
            .ok_or_else(|| {
                Refusal::NotFound(format!(
                    "channel {slug:?} has no plan loaded: nothing of it airs"
                ))
            })?;
        let (span_from, span_to) = reconcile_span(&planned.plan, from, to);
        let recorded = self
            .store
            .as_run_between(channel.id, span_from, span_to)
            .await?;
        let aired: Vec<AiredRun> = recorded.iter().map(aired_of).collect();
        let result = reconcile(&planned.plan, &aired, from, to);
        let by_start: HashMap<Timestamp, &AsRunEntry> =
            recorded.iter().map(|entry| (entry.start, entry)).collect();
        Ok(match format {
            Format::Json => reconciliation_json(slug, from, to, &result, &by_start),
            Format::Csv => reconciliation_csv(&result),
        })
    }
}

async fn as_run_file(
    store: &Store,
    slug: &str,
    from: Timestamp,
    to: Timestamp,
    format: Format,
) -> Result<Vec<u8>, Refusal> {
    let channel = channel(store, slug).await?;
    let entries = store.as_run_between(channel.id, from, to).await?;
    let fills = break_fills(store, channel.id, from, to).await?;
    let out = entries.iter().map(|entry| EntryOut::of(entry, &fills));
    Ok(match format {
        Format::Json => to_json(&json!({
            "channel": channel.slug.as_str(),
            "from": from.to_rfc3339_millis(),
            "to": to.to_rfc3339_millis(),
            "entries": out.collect::<Vec<_>>(),
        })),
        Format::Csv => to_csv(ENTRY_HEADER, out),
    })
}

/// What the SSAI sessions aired in each break that started in `[from, to)`, by its start.
#[derive(Debug, Default)]
struct BreakFill {
    sessions: u64,
    filled: u64,
    /// Creative key to the number of sessions it aired for, in key order.
    ads: std::collections::BTreeMap<String, u64>,
}

async fn break_fills(
    store: &Store,
    channel: onair_domain::ChannelId,
    from: Timestamp,
    to: Timestamp,
) -> Result<HashMap<i64, BreakFill>, Refusal> {
    let mut fills: HashMap<i64, BreakFill> = std::collections::HashMap::new();
    for row in store.ad_decisions_between(channel, from, to).await? {
        let fill = fills.entry(row.break_start.0).or_default();
        fill.sessions += 1;
        let Ok(decision) = serde_json::from_str::<crate::ads::decision::Decision>(&row.fill) else {
            continue;
        };
        if decision.outcome == crate::ads::decision::Outcome::Filled {
            fill.filled += 1;
            for ad in &decision.ads {
                *fill.ads.entry(ad.creative_key.clone()).or_insert(0) += 1;
            }
        }
    }
    Ok(fills)
}

/// A recorded entry as a run that aired, for [`reconcile`].
fn aired_of(entry: &AsRunEntry) -> AiredRun {
    AiredRun {
        run_start: entry.start,
        run_end: entry.end,
        start: entry.start,
        end: entry.end,
        kind: entry.kind,
        item_id: entry.schedule_item_id,
        title: entry.title.clone(),
        asset_id: entry.asset_id,
        ad_break: entry.ad_break,
        live_source: entry.live_source.clone(),
        media_sequence: entry.media_sequence,
    }
}

/// The columns of the as-run CSV: [`EntryOut`]'s fields.
pub const ENTRY_HEADER: &[&str] = &[
    "start",
    "end",
    "duration_ms",
    "kind",
    "schedule_item_id",
    "title",
    "asset_id",
    "live_source",
    "break_number",
    "break_duration_ms",
    "media_sequence",
    "schedule_version",
    "recovered",
    "ad_sessions",
    "ad_sessions_filled",
    "ads_aired",
];

/// The columns of the reconciliation CSV: [`ReconciledOut`]'s fields.
pub const RECONCILED_HEADER: &[&str] = &[
    "status",
    "kind",
    "schedule_item_id",
    "title",
    "live_source",
    "planned_start",
    "planned_end",
    "aired_start",
    "aired_end",
    "start_delta_ms",
    "end_delta_ms",
];

/// An entry as JSON and as a CSV row (the field order is the CSV's column order).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AsRunEntry)]
pub struct EntryOut {
    start: String,
    end: String,
    duration_ms: i64,
    kind: &'static str,
    schedule_item_id: Option<i64>,
    title: String,
    asset_id: i64,
    live_source: Option<String>,
    break_number: Option<u32>,
    break_duration_ms: Option<i64>,
    media_sequence: u64,
    schedule_version: i64,
    recovered: bool,
    /// On the first run of an ad break: the SSAI sessions that had a decision for it, those
    /// whose ads aired, and each creative with the number of sessions it aired for
    /// (`key×count`, space-separated).
    ad_sessions: Option<u64>,
    ad_sessions_filled: Option<u64>,
    ads_aired: Option<String>,
}

impl EntryOut {
    fn of(entry: &AsRunEntry, fills: &HashMap<i64, BreakFill>) -> EntryOut {
        let fill = fills
            .get(&entry.start.0)
            .filter(|_| entry.ad_break.is_some());
        EntryOut {
            start: entry.start.to_rfc3339_millis(),
            end: entry.end.to_rfc3339_millis(),
            duration_ms: (entry.end - entry.start).as_millis(),
            kind: kind_label(entry.kind, entry.live_source.is_some()),
            schedule_item_id: entry.schedule_item_id.map(|id| id.0),
            title: entry.title.clone(),
            asset_id: entry.asset_id.0,
            live_source: entry.live_source.clone(),
            break_number: entry.ad_break.map(|slot| slot.number),
            break_duration_ms: entry.ad_break.map(|slot| slot.duration.as_millis()),
            media_sequence: entry.media_sequence,
            schedule_version: entry.schedule_version,
            recovered: entry.recovered,
            ad_sessions: fill.map(|fill| fill.sessions),
            ad_sessions_filled: fill.map(|fill| fill.filled),
            ads_aired: fill.map(|fill| {
                fill.ads
                    .iter()
                    .map(|(key, count)| format!("{key}×{count}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        }
    }
}

/// A row of the reconciliation (the field order is the CSV's column order).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ReconciledItem)]
pub struct ReconciledOut {
    status: &'static str,
    kind: &'static str,
    schedule_item_id: Option<i64>,
    title: String,
    live_source: Option<String>,
    planned_start: Option<String>,
    planned_end: Option<String>,
    aired_start: Option<String>,
    aired_end: Option<String>,
    start_delta_ms: Option<i64>,
    end_delta_ms: Option<i64>,
}

fn planned_rows(result: &Reconciliation) -> Vec<(Timestamp, ReconciledOut)> {
    result
        .items
        .iter()
        .map(|item| {
            let planned = &item.planned;
            (
                planned.start,
                ReconciledOut {
                    status: if item.aired.is_some() {
                        "aired"
                    } else {
                        "not_aired"
                    },
                    kind: if planned.live_source.is_some() {
                        "live"
                    } else {
                        "programme"
                    },
                    schedule_item_id: planned.item_id.map(|id| id.0),
                    title: planned.title.clone(),
                    live_source: planned.live_source.clone(),
                    planned_start: Some(planned.start.to_rfc3339_millis()),
                    planned_end: Some(planned.end.to_rfc3339_millis()),
                    aired_start: item.aired.map(|(start, _)| start.to_rfc3339_millis()),
                    aired_end: item.aired.map(|(_, end)| end.to_rfc3339_millis()),
                    start_delta_ms: item.start_delta().map(Ticks::as_millis),
                    end_delta_ms: item.end_delta().map(Ticks::as_millis),
                },
            )
        })
        .collect()
}

fn reconciliation_json(
    slug: &str,
    from: Timestamp,
    to: Timestamp,
    result: &Reconciliation,
    recorded: &HashMap<Timestamp, &AsRunEntry>,
) -> Vec<u8> {
    let items: Vec<ReconciledOut> = planned_rows(result)
        .into_iter()
        .map(|(_, row)| row)
        .collect();
    let unplanned: Vec<EntryOut> = result
        .unplanned
        .iter()
        .filter_map(|run| recorded.get(&run.run_start))
        .map(|entry| EntryOut::of(entry, &HashMap::new()))
        .collect();
    to_json(&json!({
        "channel": slug,
        "from": from.to_rfc3339_millis(),
        "to": to.to_rfc3339_millis(),
        "items": items,
        "unplanned": unplanned,
    }))
}

fn reconciliation_csv(result: &Reconciliation) -> Vec<u8> {
    let mut rows = planned_rows(result);
    rows.extend(result.unplanned.iter().map(|run| {
        (
            run.run_start,
            ReconciledOut {
                status: "unplanned",
                kind: run.label(),
                schedule_item_id: run.item_id.map(|id| id.0),
                title: run.title.clone(),
                live_source: None,
                planned_start: None,
                planned_end: None,
                aired_start: Some(run.run_start.to_rfc3339_millis()),
                aired_end: Some(run.end.to_rfc3339_millis()),
                start_delta_ms: None,
                end_delta_ms: None,
            },
        )
    }));
    rows.sort_by_key(|(at, _)| *at);
    to_csv(RECONCILED_HEADER, rows.into_iter().map(|(_, row)| row))
}

fn to_json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values serialise")
}

/// `header`, then the rows (whose fields are the header's columns, in order).
fn to_csv<T: Serialize>(header: &[&str], rows: impl Iterator<Item = T>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let write = || -> csv::Result<()> {
        writer.write_record(header)?;
        for row in rows {
            writer.serialize(row)?;
        }
        writer.flush()?;
        Ok(())
    };
    write().expect("writing CSV to memory cannot fail");
    writer
        .into_inner()
        .expect("writing CSV to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_domain::AssetId;

    fn at(offset_secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_792_929_600 + offset_secs)
    }

    /// The header serde derives for a row.
    fn derived_header<T: Serialize>(row: &T) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(row).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_owned()
    }

    #[test]
    fn the_csv_headers_are_the_fields_in_order() {
        let entry = EntryOut::of(
            &AsRunEntry {
                start: at(0),
                end: at(6),
                kind: onair_domain::RunKind::Slate,
                schedule_item_id: None,
                title: "slate".into(),
                asset_id: AssetId(9),
                live_source: None,
                ad_break: None,
                media_sequence: 0,
                schedule_version: 1,
                recovered: false,
            },
            &HashMap::new(),
        );
        assert_eq!(derived_header(&entry), ENTRY_HEADER.join(","));
        let row = ReconciledOut {
            status: "aired",
            kind: "programme",
            schedule_item_id: None,
            title: String::new(),
            live_source: None,
            planned_start: None,
            planned_end: None,
            aired_start: None,
            aired_end: None,
            start_delta_ms: None,
            end_delta_ms: None,
        };
        assert_eq!(derived_header(&row), RECONCILED_HEADER.join(","));
    }
}
