//! The as-run log over HTTP (viewers of the channel may read it: `crate::access`).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels/{slug}/as-run?from=&to=&format=json\|csv` | every run that aired in `[from, to)` |
//! | `GET /api/channels/{slug}/as-run/reconcile?from=&to=&format=json\|csv` | the plan's items in `[from, to)` against what aired |
//!
//! `from` and `to` are RFC 3339 instants; by default the 24 hours up to now. An interval longer
//! than [`MAX_INTERVAL`] (31 days), empty or reversed, or a malformed instant or format is a 400;
//! an unknown channel a 404; errors are `{"error": …}`.
//!
//! The files are the control plane's ([`onair_control::as_run`]), which `onair as-run export`
//! calls too.
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

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onair_control::Control;
use onair_control::as_run::{EntryOut, ReconciledOut, interval};
use onair_control::registry::PlannedChannels;
use onair_control::transfer::Format;
use onair_domain::{Clock, Timestamp};
use onair_store::Store;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

pub use onair_control::as_run::MAX_INTERVAL;

use super::error::{ApiError, ErrorBody};

/// What the as-run routes need.
#[derive(Clone)]
pub struct AsRunApiState {
    pub store: Store,
    /// The plans playout follows, for reconciliation.
    pub plans: Arc<dyn PlannedChannels>,
    pub clock: Arc<dyn Clock>,
}

impl AsRunApiState {
    fn control(&self) -> Control {
        Control::new(self.store.clone(), Arc::clone(&self.clock))
    }
}

/// The as-run routes, ready to merge into the server's router.
pub fn router(state: AsRunApiState) -> Router {
    Router::new()
        .route("/api/channels/{slug}/as-run", get(entries))
        .route("/api/channels/{slug}/as-run/reconcile", get(reconciliation))
        .with_state(state)
}

/// The interval `[from, to)` (RFC 3339; by default the 24 hours up to now, at most 31 days)
/// and the format: `json` (default) or `csv`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct IntervalQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

// The schemas of the control plane's JSON files (`onair_control::as_run`), around its rows.

/// The as-run log of an interval, as JSON.
#[derive(ToSchema)]
#[allow(dead_code)]
struct AsRunFile {
    channel: String,
    /// RFC 3339.
    from: String,
    /// RFC 3339.
    to: String,
    /// Each run (a CSV row, with its header's names).
    entries: Vec<EntryOut>,
}

/// The plan's items of an interval against what aired, as JSON.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ReconciliationFile {
    channel: String,
    /// RFC 3339.
    from: String,
    /// RFC 3339; cut to now.
    to: String,
    /// Each occurrence of a planned item that touches the interval; deltas are aired minus
    /// planned (positive: late).
    items: Vec<ReconciledOut>,
    /// What aired that no planned item accounts for.
    unplanned: Vec<EntryOut>,
}

fn read_query(
    query: Result<Query<IntervalQuery>, QueryRejection>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp, Format), ApiError> {
    let Query(query) = query?;
    let format = match query.format.as_deref() {
        None => Format::Json,
        Some(text) => Format::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!("format {text:?} is neither json nor csv"))
        })?,
    };
    let (from, to) =
        interval(query.from.as_deref(), query.to.as_deref(), now).map_err(ApiError::bad_request)?;
    Ok((from, to, format))
}

#[utoipa::path(get, path = "/api/channels/{slug}/as-run", tag = "as-run",
    params(("slug" = String, Path, description = "The channel"), IntervalQuery),
    responses(
        (status = 200, description = "Every run that aired in the interval: `{channel, from, to, entries}` or CSV",
            content((AsRunFile = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A malformed, empty, reversed or too long interval, or an unknown format", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn entries(
    State(state): State<AsRunApiState>,
    Path(slug): Path<String>,
    query: Result<Query<IntervalQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (from, to, format) = read_query(query, state.clock.now())?;
    let body = state
        .control()
        .export_as_run(&slug, from, to, format)
        .await?;
    Ok(file_response(format, body))
}

#[utoipa::path(get, path = "/api/channels/{slug}/as-run/reconcile", tag = "as-run",
    params(("slug" = String, Path, description = "The channel"), IntervalQuery),
    responses(
        (status = 200, description = "The plan's items in the interval against what aired: `{channel, from, to, items, unplanned}` or CSV",
            content((ReconciliationFile = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A malformed, empty, reversed or too long interval, or an unknown format", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn reconciliation(
    State(state): State<AsRunApiState>,
    Path(slug): Path<String>,
    query: Result<Query<IntervalQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (from, to, format) = read_query(query, state.clock.now())?;
    let body = state
        .control()
        .reconcile_as_run(state.plans.as_ref(), &slug, from, to, format)
        .await?;
    Ok(file_response(format, body))
}

fn file_response(format: Format, body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::epg::PlannedChannel;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use onair_control::as_run::{ENTRY_HEADER, RECONCILED_HEADER};
    use onair_domain::Ticks;
    use onair_domain::{
        Asset, AssetId, AssetState, ChannelSlug, FixedClock, Ladder, OutputFormat, Packaging,
        Rendition, ScheduleItemId, SegmentInfo,
    };
    use onair_scheduler::as_run::aired;
    use onair_scheduler::{GridItem, Plan, PlanOptions, ProgrammeInfo, Start, plan_grid};
    use onair_store::AsRunEntry;
    use onair_store::NewChannel;
    use serde_json::Value;
    use serde_json::json;
    use tower::ServiceExt;

    /// 2026-10-25T12:00:00Z.
    const NOW_SECS: i64 = 1_792_929_600;

    fn at(offset_secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(NOW_SECS + offset_secs)
    }

    fn rfc(offset_secs: i64) -> String {
        at(offset_secs).to_rfc3339_millis()
    }

    /// A ready asset of `secs` seconds in 6 s segments.
    fn asset(id: i64, secs: i64) -> Asset {
        let segments = (0..secs / 6)
            .map(|index| SegmentInfo {
                index: index as u32,
                duration: Ticks::from_secs(6),
                size_bytes: 1,
                path: format!("a{id}/{index}.ts"),
            })
            .collect();
        Asset {
            id: AssetId(id),
            title: format!("asset {id}"),
            source: String::new(),
            ladder_id: onair_domain::LadderId(1),
            state: AssetState::Ready,
            duration: Ticks::from_secs(secs),
            renditions: vec![Rendition {
                rung: "360p".into(),
                packaging: Packaging::Ts,
                codecs: String::new(),
                width: 640,
                height: 360,
                peak_bandwidth: 1,
                average_bandwidth: 1,
                init_path: None,
                segments,
            }],
        }
    }

    /// News (item 1, 20 min) at 11:00 with a 1-minute break at 10 min, slate to 11:30, Film
    /// (item 2, 25 min) at 11:30; now is 12:00.
    fn plan() -> Plan {
        let assets: HashMap<AssetId, Asset> = [asset(1, 1200), asset(2, 1500), asset(9, 60)]
            .into_iter()
            .map(|asset| (asset.id, asset))
            .collect();
        let item = |id: i64, asset_id: i64, start: i64, title: &str| GridItem {
            id: Some(ScheduleItemId(id)),
            ..GridItem::new(
                AssetId(asset_id),
                Start::Hard(at(start)),
                ProgrammeInfo::titled(title),
            )
        };
        let items = [
            GridItem {
                breaks: vec![onair_scheduler::grid::AdBreakSpec::at(
                    Ticks::from_secs(600),
                    Ticks::from_secs(60),
                )],
                ..item(1, 1, -3600, "News")
            },
            item(2, 2, -1800, "Film"),
        ];
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            ..PlanOptions::default()
        };
        plan_grid(&items, &assets, &options).0
    }

    struct FixedPlans(Vec<PlannedChannel>);

    impl PlannedChannels for FixedPlans {
        fn planned(&self) -> Vec<PlannedChannel> {
            self.0.clone()
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Store,
        channel: onair_domain::ChannelId,
        plan: Arc<Plan>,
    }

    impl Fixture {
        async fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("onair.db").display());
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
            let channel = store
                .insert_channel(&NewChannel {
                    slug: ChannelSlug::parse("news").unwrap(),
                    name: "News".into(),
                    time_zone: chrono_tz::Europe::Berlin,
                    ladder_id: ladder,
                    outputs: vec![OutputFormat::HlsTs],
                    window_segments: 6,
                    grid_repeat: None,
                    on_air: true,
                })
                .await
                .unwrap()
                .id;
            Fixture {
                _dir: dir,
                store,
                channel,
                plan: Arc::new(plan()),
            }
        }

        /// Records what the plan aired in `[from, to)` (offsets from now), skipping `skip`.
        async fn record(&self, from: i64, to: i64, skip: Option<ScheduleItemId>) {
            let entries: Vec<AsRunEntry> = aired(&self.plan, at(from), at(to))
                .into_iter()
                .filter(|run| skip.is_none() || run.item_id != skip)
                .map(|run| AsRunEntry {
                    start: run.run_start,
                    end: run.end,
                    kind: run.kind,
                    schedule_item_id: run.item_id,
                    title: run.title,
                    asset_id: run.asset_id,
                    live_source: run.live_source,
                    ad_break: run.ad_break,
                    media_sequence: run.media_sequence,
                    schedule_version: 3,
                    recovered: false,
                })
                .collect();
            self.store
                .record_as_run(self.channel, &entries, at(to))
                .await
                .unwrap();
        }

        fn app(&self) -> Router {
            router(AsRunApiState {
                store: self.store.clone(),
                plans: Arc::new(FixedPlans(vec![PlannedChannel {
                    slug: "news".into(),
                    name: "News".into(),
                    on_air: true,
                    plan: self.plan.clone(),
                    schedule_version: 0,
                    slate: None,
                }])),
                clock: Arc::new(FixedClock(at(0))),
            })
        }

        async fn get(&self, uri: &str) -> (StatusCode, String) {
            let request = Request::get(uri).body(Body::empty()).unwrap();
            let response = self.app().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, String::from_utf8(bytes.to_vec()).unwrap())
        }

        async fn get_json(&self, uri: &str) -> (StatusCode, Value) {
            let (status, text) = self.get(uri).await;
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
    }

    fn as_run(query: &str) -> String {
        format!("/api/channels/news/as-run?{query}")
    }

    fn reconcile_uri(query: &str) -> String {
        format!("/api/channels/news/as-run/reconcile?{query}")
    }

    #[tokio::test]
    async fn the_log_lists_each_run_that_aired_with_its_times_kind_and_item() {
        let fixture = Fixture::new().await;
        fixture.record(-3600, 0, None).await;
        let (status, body) = fixture
            .get_json(&as_run(&format!("from={}&to={}", rfc(-3600), rfc(-2400))))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let entries = body["entries"].as_array().unwrap();
        let brief: Vec<String> = entries
            .iter()
            .map(|entry| {
                format!(
                    "{} {} {} {}",
                    entry["kind"].as_str().unwrap(),
                    entry["title"].as_str().unwrap(),
                    entry["start"].as_str().unwrap(),
                    entry["end"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            brief,
            [
                "programme News 2026-10-25T11:00:00.000Z 2026-10-25T11:10:00.000Z",
                "ad_break ad break 2026-10-25T11:10:00.000Z 2026-10-25T11:11:00.000Z",
                "programme News 2026-10-25T11:11:00.000Z 2026-10-25T11:21:00.000Z",
            ]
        );
        assert_eq!(entries[1]["schedule_item_id"], 1, "the break is News's");
        assert_eq!(entries[1]["break_number"], 0);
        assert_eq!(entries[1]["break_duration_ms"], 60_000);
        assert_eq!(entries[2]["media_sequence"], 110);
        assert_eq!(entries[2]["schedule_version"], 3);
        assert_eq!(entries[2]["recovered"], false);
        assert_eq!(entries[2]["duration_ms"], 600_000);
    }

    #[tokio::test]
    async fn the_log_as_csv_has_its_header_and_a_row_per_run() {
        let fixture = Fixture::new().await;
        let (status, empty) = fixture.get(&as_run("format=csv")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(empty, format!("{}\n", ENTRY_HEADER.join(",")));
        fixture.record(-3600, 0, None).await;
        let (_, csv) = fixture.get(&as_run("format=csv")).await;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines.len(),
            1 + 3 + 9 + 1,
            "News in 3 runs, 9 of slate, Film"
        );
        assert_eq!(
            lines[2],
            "2026-10-25T11:10:00.000Z,2026-10-25T11:11:00.000Z,60000,ad_break,1,ad break,9,,0,60000,100,3,false,,,"
        );
    }

    #[tokio::test]
    async fn bad_requests_are_clear_400s_and_an_unknown_channel_a_404() {
        let fixture = Fixture::new().await;
        let table: &[(String, StatusCode, &str)] = &[
            (
                as_run("from=yesterday"),
                StatusCode::BAD_REQUEST,
                "from: \"yesterday\" is not an RFC 3339 instant",
            ),
            (
                as_run(&format!("from={}&to={}", rfc(0), rfc(0))),
                StatusCode::BAD_REQUEST,
                "must be before to",
            ),
            (
                as_run(&format!("from={}&to={}", rfc(0), rfc(-60))),
                StatusCode::BAD_REQUEST,
                "must be before to",
            ),
            (
                as_run(&format!("from={}", rfc(-32 * 86_400))),
                StatusCode::BAD_REQUEST,
                "longer than 31 days",
            ),
            (
                as_run("format=xml"),
                StatusCode::BAD_REQUEST,
                "format \"xml\" is neither json nor csv",
            ),
            (
                "/api/channels/nope/as-run".into(),
                StatusCode::NOT_FOUND,
                "channel \"nope\" not found",
            ),
            (
                reconcile_uri(&format!("from={}&to={}", rfc(60), rfc(120))),
                StatusCode::BAD_REQUEST,
                "nothing has aired from 2026-10-25T12:01:00.000Z yet",
            ),
            (
                "/api/channels/nope/as-run/reconcile".into(),
                StatusCode::NOT_FOUND,
                "channel \"nope\" not found",
            ),
        ];
        for (uri, status, message) in table {
            let (got, body) = fixture.get_json(uri).await;
            assert_eq!(got, *status, "{uri}: {body}");
            let error = body["error"].as_str().unwrap_or_default();
            assert!(error.contains(message), "{uri}: {error}");
        }
    }

    #[tokio::test]
    async fn what_aired_as_planned_reconciles_with_zero_deltas_and_gap_fill_unplanned() {
        let fixture = Fixture::new().await;
        fixture.record(-3600, 0, None).await;
        let (status, body) = fixture
            .get_json(&reconcile_uri(&format!("from={}", rfc(-3000))))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{body}");
        assert_eq!(items[0]["title"], "News");
        assert_eq!(items[0]["status"], "aired");
        assert_eq!(
            (&items[0]["planned_start"], &items[0]["aired_start"]),
            (
                &json!("2026-10-25T11:00:00.000Z"),
                &json!("2026-10-25T11:00:00.000Z")
            ),
            "from its first run, before the interval"
        );
        assert_eq!(
            (&items[0]["start_delta_ms"], &items[0]["end_delta_ms"]),
            (&json!(0), &json!(0))
        );
        assert_eq!(items[1]["title"], "Film");
        assert_eq!(items[1]["end_delta_ms"], 0);
        let unplanned = body["unplanned"].as_array().unwrap();
        assert_eq!(unplanned.len(), 9, "the slate between News and Film");
        assert!(unplanned.iter().all(|entry| entry["kind"] == "slate"));
        assert_eq!(unplanned[0]["start"], "2026-10-25T11:21:00.000Z");
    }

    #[tokio::test]
    async fn an_item_that_did_not_air_is_listed_as_not_aired_in_the_csv() {
        let fixture = Fixture::new().await;
        fixture.record(-3600, 0, Some(ScheduleItemId(2))).await;
        let (status, csv) = fixture
            .get(&reconcile_uri(&format!(
                "from={}&to={}&format=csv",
                rfc(-3600),
                rfc(3600)
            )))
            .await;
        assert_eq!(status, StatusCode::OK, "{csv}");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], RECONCILED_HEADER.join(","));
        assert_eq!(
            lines[1],
            "aired,programme,1,News,,2026-10-25T11:00:00.000Z,2026-10-25T11:21:00.000Z,2026-10-25T11:00:00.000Z,2026-10-25T11:21:00.000Z,0,0"
        );
        assert!(lines[2].starts_with("unplanned,slate,,slate,,,,2026-10-25T11:21:00.000Z"));
        assert_eq!(
            lines.last().unwrap(),
            &"not_aired,programme,2,Film,,2026-10-25T11:30:00.000Z,2026-10-25T11:55:00.000Z,,,,"
        );
    }
}
