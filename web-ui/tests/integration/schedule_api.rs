//! The schedule API against a real SQLite store in a temporary directory, through
//! `Router::oneshot`, with a fixed clock.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use onair_domain::{
    AssetId, ChannelId, ChannelSlug, FixedClock, Ladder, LadderId, OutputFormat, Packaging,
    Rendition, SegmentInfo, Ticks, Timestamp,
};
use onair_store::{NewChannel, Store};
use onair_web_ui::api::{DEFAULT_LOCK_MARGIN, ScheduleApiState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The fixed "now" of every test: 2026-11-21T12:00:00Z.
const NOW_SECS: i64 = 1_795_262_400;

pub(crate) fn at(offset_secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(NOW_SECS + offset_secs)
}

pub(crate) fn rfc(offset_secs: i64) -> String {
    at(offset_secs).to_rfc3339_millis()
}

pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) channel: ChannelId,
    /// Ready, 60 s long.
    pub(crate) asset: AssetId,
    other: AssetId,
    /// Still processing.
    unready: AssetId,
}

impl Fixture {
    pub(crate) async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
        let channel = store
            .insert_channel(&NewChannel {
                slug: ChannelSlug::parse("news").unwrap(),
                name: "News".into(),
                time_zone: chrono_tz::Europe::Paris,
                ladder_id: ladder,
                outputs: vec![OutputFormat::HlsTs],
                window_segments: 6,
                grid_repeat: None,
                on_air: true,
            })
            .await
            .unwrap()
            .id;
        let asset = ready_asset(&store, ladder, "film").await;
        let other = ready_asset(&store, ladder, "show").await;
        let unready = store
            .insert_asset("pending", "/media/pending.mp4", ladder)
            .await
            .unwrap();
        Fixture {
            _dir: dir,
            store,
            channel,
            asset,
            other,
            unready,
        }
    }

    pub(crate) fn app(&self) -> Router {
        self.app_at(0)
    }

    /// The API with the clock `offset_secs` after the fixed now.
    pub(crate) fn app_at(&self, offset_secs: i64) -> Router {
        router(ScheduleApiState {
            store: self.store.clone(),
            clock: Arc::new(FixedClock(at(offset_secs))),
            lock_margin: DEFAULT_LOCK_MARGIN,
            plan_cache: Default::default(),
        })
    }

    /// Seconds from now to the lock horizon: 6 segments of the demo ladder plus the margin.
    pub(crate) fn horizon_secs(&self) -> i64 {
        let ladder = Ladder::demo();
        (ladder.segment_duration.0 * 6 + DEFAULT_LOCK_MARGIN.0) / Ticks::from_secs(1).0
    }

    pub(crate) async fn titles(&self) -> Vec<String> {
        self.store
            .schedule_items(self.channel)
            .await
            .unwrap()
            .into_iter()
            .map(|item| item.title)
            .collect()
    }
}

/// A ready asset of thirty 2 s segments (60 s).
async fn ready_asset(store: &Store, ladder: LadderId, title: &str) -> AssetId {
    ready_asset_of(store, ladder, title, 30).await
}

/// A ready asset of `segments` 2 s segments.
pub(crate) async fn ready_asset_of(
    store: &Store,
    ladder: LadderId,
    title: &str,
    segments: u32,
) -> AssetId {
    let id = store
        .insert_asset(title, &format!("/media/{title}.mp4"), ladder)
        .await
        .unwrap();
    let demo = Ladder::demo();
    let renditions: Vec<Rendition> = demo
        .rungs
        .iter()
        .map(|rung| Rendition {
            rung: rung.name.clone(),
            packaging: Packaging::Ts,
            codecs: rung.codecs(),
            width: rung.width,
            height: rung.height,
            peak_bandwidth: rung.total_bitrate() * 11 / 10,
            average_bandwidth: rung.total_bitrate(),
            init_path: None,
            segments: (0..segments)
                .map(|index| SegmentInfo {
                    index,
                    duration: Ticks::from_secs(2),
                    size_bytes: 1000,
                    path: format!("assets/{id}/{}/ts/{index:05}.ts", rung.name),
                })
                .collect(),
        })
        .collect();
    store
        .publish_asset(id, Ticks::from_secs(2 * i64::from(segments)), &renditions)
        .await
        .unwrap();
    id
}

pub(crate) async fn send(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, Value, Option<String>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let etag = response
        .headers()
        .get(header::ETAG)
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body, etag)
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post(uri: &str) -> Request<Body> {
    Request::post(uri).body(Body::empty()).unwrap()
}

pub(crate) fn put(uri: &str, if_match: Option<i64>, body: Value) -> Request<Body> {
    let mut builder = Request::put(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(version) = if_match {
        builder = builder.header(header::IF_MATCH, format!("\"{version}\""));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

pub(crate) fn item(asset: AssetId, offset_secs: i64, title: &str) -> Value {
    json!({"asset_id": asset.0, "start": rfc(offset_secs), "hard_start": true, "title": title})
}

/// A window of an hour starting an hour from now, well beyond the lock horizon.
pub(crate) fn window(items: Vec<Value>) -> Value {
    json!({"from": rfc(3600), "to": rfc(7200), "items": items})
}

/// The window of the first hour from now, which the lock horizon cuts into.
fn first_hour(items: Vec<Value>) -> Value {
    json!({"from": rfc(0), "to": rfc(3600), "items": items})
}

pub(crate) const SCHEDULE: &str = "/api/channels/news/schedule";

#[tokio::test]
async fn listing_channels_shows_each_with_its_schedule_version() {
    let fixture = Fixture::new().await;
    let (status, body, _) = send(&fixture.app(), get("/api/channels")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["channels"][0]["slug"], "news");
    assert_eq!(body["channels"][0]["time_zone"], "Europe/Paris");
    assert_eq!(body["channels"][0]["schedule_version"], 0);
}

#[tokio::test]
async fn an_edit_beyond_the_lock_horizon_applies_and_reads_back_with_its_ad_breaks() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let mut film = item(fixture.asset, 3600, "Film");
    film["ad_breaks"] = json!([{"offset_ms": 30_000, "duration_ms": 60_000}]);
    let (status, body, etag) = send(
        &app,
        put(
            SCHEDULE,
            Some(0),
            window(vec![film, item(fixture.other, 3800, "Show")]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(etag.as_deref(), Some("\"1\""));

    let uri = format!("{SCHEDULE}?from={}&to={}", rfc(0), rfc(86_400));
    let (status, body, etag) = send(&app, get(&uri)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(body["version"], 1);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["title"], "Film");
    assert_eq!(items[0]["start"], "2026-11-21T13:00:00.000Z");
    assert_eq!(
        items[0]["ad_breaks"],
        json!([{"offset_ms": 30_000, "duration_ms": 60_000}])
    );
    assert_eq!(items[1]["title"], "Show");
    assert_eq!(items[1]["ad_breaks"], json!([]));
    assert_eq!(body["lock_horizon"], rfc(fixture.horizon_secs()));
}

#[tokio::test]
async fn an_edit_only_replaces_the_items_that_start_in_its_window() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let two_hours = json!({"from": rfc(3600), "to": rfc(10_800), "items": [
        item(fixture.asset, 3600, "First hour"),
        item(fixture.asset, 7200, "Second hour"),
    ]});
    assert_eq!(
        send(&app, put(SCHEDULE, Some(0), two_hours)).await.0,
        StatusCode::OK
    );
    let replace_first = window(vec![item(fixture.other, 3600, "Replaced")]);
    assert_eq!(
        send(&app, put(SCHEDULE, Some(1), replace_first)).await.0,
        StatusCode::OK
    );
    assert_eq!(fixture.titles().await, ["Replaced", "Second hour"]);
}

#[tokio::test]
async fn an_edit_on_a_stale_version_is_refused_and_applies_once_reloaded() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    // Both clients loaded version 0; Alice publishes first.
    let alices = window(vec![item(fixture.asset, 3600, "Alice's")]);
    assert_eq!(
        send(&app, put(SCHEDULE, Some(0), alices)).await.0,
        StatusCode::OK
    );
    let bobs = json!({"from": rfc(7200), "to": rfc(10_800), "items": [item(fixture.other, 7200, "Bob's")]});
    let (status, body, _) = send(&app, put(SCHEDULE, Some(0), bobs.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("version 1, not 0"),
        "{body}"
    );
    // Bob reloads and applies on top: nothing is lost.
    assert_eq!(
        send(&app, put(SCHEDULE, Some(1), bobs)).await.0,
        StatusCode::OK
    );
    assert_eq!(fixture.titles().await, ["Alice's", "Bob's"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_edits_on_the_same_version_are_serialised_one_applies_the_rest_conflict() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let requests: Vec<_> = (0..4)
        .map(|n| {
            let app = app.clone();
            let body = window(vec![item(
                fixture.asset,
                3600 + n * 100,
                &format!("client {n}"),
            )]);
            tokio::spawn(async move { send(&app, put(SCHEDULE, Some(0), body)).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    let count = |wanted: StatusCode| statuses.iter().filter(|s| **s == wanted).count();
    assert_eq!(count(StatusCode::OK), 1, "{statuses:?}");
    assert_eq!(count(StatusCode::CONFLICT), 3, "{statuses:?}");
    assert_eq!(
        fixture
            .store
            .schedule_version(fixture.channel)
            .await
            .unwrap(),
        1
    );
    assert_eq!(fixture.titles().await.len(), 1);
}

#[tokio::test]
async fn an_edit_naming_no_version_is_refused_as_precondition_required() {
    let fixture = Fixture::new().await;
    let body = window(vec![item(fixture.asset, 3600, "Film")]);
    let (status, answer, _) = send(&fixture.app(), put(SCHEDULE, None, body.clone())).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{answer}");
    // The version may also come in the body.
    let mut body = body;
    body["version"] = json!(0);
    assert_eq!(
        send(&fixture.app(), put(SCHEDULE, None, body)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_invalid_edit_lists_every_problem_by_index_and_changes_nothing() {
    let fixture = Fixture::new().await;
    let mut bad_break = item(fixture.asset, 5000, "Bad break");
    bad_break["ad_breaks"] = json!([{"offset_ms": -1, "duration_ms": 0}]);
    let body = window(vec![
        item(fixture.asset, 3600, "Fine"),
        item(AssetId(999), 3700, "Unknown asset"),
        json!({"asset_id": fixture.asset.0, "start": "tomorrow at noon", "title": "Malformed"}),
        item(fixture.unready, 4000, "Unready"),
        item(fixture.other, 3630, "Overlaps Fine"),
        item(fixture.asset, 9000, "Outside"),
        bad_break,
    ]);
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let errors = body["errors"].as_array().unwrap();
    let indexes: Vec<u64> = errors
        .iter()
        .map(|error| error["index"].as_u64().unwrap())
        .collect();
    for expected in [1, 2, 3, 4, 5, 6] {
        assert!(indexes.contains(&expected), "index {expected} in {body}");
    }
    assert!(!indexes.contains(&0), "{body}");
    let text = body.to_string();
    for needle in [
        "asset 999 does not exist",
        "not an RFC 3339 instant",
        "processing",
        "overlaps hard item \\\"Fine\\\"",
        "outside the window",
        "negative offset",
        "must be positive",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
    assert_eq!(
        fixture
            .store
            .schedule_version(fixture.channel)
            .await
            .unwrap(),
        0
    );
    assert!(fixture.titles().await.is_empty());
}

#[tokio::test]
async fn an_edit_inside_the_lock_horizon_is_refused_with_the_horizon() {
    let fixture = Fixture::new().await;
    let horizon = fixture.horizon_secs();
    let too_soon = first_hour(vec![item(fixture.asset, horizon - 1, "Too soon")]);
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), too_soon)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("lock horizon"),
        "{body}"
    );
    assert_eq!(body["lock_horizon"], rfc(horizon));
    assert!(fixture.titles().await.is_empty());
    // At the horizon itself it applies.
    let in_time = first_hour(vec![item(fixture.asset, horizon, "Just in time")]);
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), in_time)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn unchanged_items_inside_the_lock_horizon_may_be_sent_back_with_later_changes() {
    let fixture = Fixture::new().await;
    let soon = fixture.horizon_secs() + 10;
    let first = first_hour(vec![item(fixture.asset, soon, "Soon")]);
    assert_eq!(
        send(&fixture.app(), put(SCHEDULE, Some(0), first)).await.0,
        StatusCode::OK
    );
    // A minute later, "Soon" is inside the horizon.
    let later = fixture.app_at(60);
    let same_plus_one = first_hour(vec![
        item(fixture.asset, soon, "Soon"),
        item(fixture.other, 1800, "Added later"),
    ]);
    let (status, body, _) = send(&later, put(SCHEDULE, Some(1), same_plus_one)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dropping_soon = first_hour(vec![item(fixture.other, 1800, "Added later")]);
    let (status, body, _) = send(&later, put(SCHEDULE, Some(2), dropping_soon)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(fixture.titles().await, ["Soon", "Added later"]);
}

#[tokio::test]
async fn every_published_version_is_kept_with_its_author_and_can_be_restored() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let mut first = put(
        SCHEDULE,
        Some(0),
        window(vec![item(fixture.asset, 3600, "Original")]),
    );
    first
        .headers_mut()
        .insert("x-onair-author", "alice".parse().unwrap());
    assert_eq!(send(&app, first).await.0, StatusCode::OK);
    let edit = window(vec![item(fixture.other, 4000, "Edited")]);
    assert_eq!(
        send(&app, put(SCHEDULE, Some(1), edit)).await.0,
        StatusCode::OK
    );

    let (status, body, _) = send(&app, get(&format!("{SCHEDULE}/versions"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["versions"][0]["version"], 2);
    assert_eq!(body["versions"][0]["author"], "api");
    assert_eq!(body["versions"][1]["version"], 1);
    assert_eq!(body["versions"][1]["author"], "alice");
    assert_eq!(body["versions"][1]["published_at"], rfc(0));

    let (status, body, _) = send(&app, get(&format!("{SCHEDULE}/versions/1"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"][0]["title"], "Original");

    let (status, body, _) = send(&app, post(&format!("{SCHEDULE}/versions/1/restore"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 3);
    assert_eq!(fixture.titles().await, ["Original"]);
    let (_, body, _) = send(&app, get(&format!("{SCHEDULE}/versions"))).await;
    assert_eq!(body["versions"][0]["author"], "api (restore of version 1)");

    let (status, ..) = send(&app, get(&format!("{SCHEDULE}/versions/42"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn restoring_a_version_that_differs_inside_the_lock_horizon_is_refused() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let soon = fixture.horizon_secs() + 10;
    let with_soon = first_hour(vec![item(fixture.asset, soon, "Soon")]);
    assert_eq!(
        send(&app, put(SCHEDULE, Some(0), with_soon)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, put(SCHEDULE, Some(1), first_hour(vec![])))
            .await
            .0,
        StatusCode::OK
    );
    let later = fixture.app_at(60);
    let (status, body, _) = send(&later, post(&format!("{SCHEDULE}/versions/1/restore"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("lock horizon"));
    assert!(fixture.titles().await.is_empty());
}

#[tokio::test]
async fn an_unknown_channel_is_not_found() {
    let fixture = Fixture::new().await;
    let (status, body, _) = send(&fixture.app(), get("/api/channels/nope/schedule")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

// ---------------------------------------------------------------------------------------------
// Import, export, copy

pub(crate) async fn send_text(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

pub(crate) fn post_body(uri: &str, if_match: Option<i64>, body: String) -> Request<Body> {
    let mut builder = Request::post(uri);
    if let Some(version) = if_match {
        builder = builder.header(header::IF_MATCH, format!("\"{version}\""));
    }
    builder.body(Body::from(body)).unwrap()
}

/// Publishes Film (with a break) at +1 h and Show at +1 h 10 min: version 1.
async fn publish_two(fixture: &Fixture) {
    let mut film = item(fixture.asset, 3600, "Film, \"the\" one");
    film["ad_breaks"] = json!([{"offset_ms": 30_000, "duration_ms": 60_000}]);
    let body = window(vec![film, item(fixture.other, 4200, "Show")]);
    assert_eq!(
        send(&fixture.app(), put(SCHEDULE, Some(0), body)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_json_export_imports_back_as_it_is() {
    let fixture = Fixture::new().await;
    publish_two(&fixture).await;
    let app = fixture.app();
    let uri = format!("{SCHEDULE}/export?from={}&to={}", rfc(3600), rfc(7200));
    let (status, exported) = send_text(&app, get(&uri)).await;
    assert_eq!(status, StatusCode::OK);
    let parsed: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(parsed["version"], 1);
    assert_eq!(parsed["items"].as_array().unwrap().len(), 2);
    let (status, body, _) = send(
        &app,
        post_body(&format!("{SCHEDULE}/import?format=json"), None, exported),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(fixture.titles().await, ["Film, \"the\" one", "Show"]);
}

#[tokio::test]
async fn a_csv_export_lists_items_with_their_ad_breaks_and_imports_back() {
    let fixture = Fixture::new().await;
    publish_two(&fixture).await;
    let app = fixture.app();
    let uri = format!(
        "{SCHEDULE}/export?from={}&to={}&format=csv",
        rfc(3600),
        rfc(7200)
    );
    let response = app.clone().oneshot(get(&uri)).await.unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let (_, csv) = send_text(&app, get(&uri)).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "start,asset_id,hard_start,title,ad_breaks,length_ms"
    );
    assert_eq!(
        lines[1],
        format!(
            "{},{},true,\"Film, \"\"the\"\" one\",30000/60000,",
            rfc(3600),
            fixture.asset.0
        )
    );
    let import = format!(
        "{SCHEDULE}/import?format=csv&from={}&to={}",
        rfc(3600),
        rfc(7200)
    );
    let (status, body, _) = send(&app, post_body(&import, Some(1), csv)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body, _) = send(
        &app,
        get(&format!("{SCHEDULE}?from={}&to={}", rfc(0), rfc(7200))),
    )
    .await;
    assert_eq!(
        body["items"][0]["ad_breaks"],
        json!([{"offset_ms": 30_000, "duration_ms": 60_000}])
    );
}

#[tokio::test]
async fn a_csv_import_with_problems_is_refused_whole_listing_each_line() {
    let fixture = Fixture::new().await;
    let csv = format!(
        "start,asset_id,hard_start,title,ad_breaks\n\
         {},{},true,Fine,\n\
         {},999,true,Unknown asset,\n\
         noon tomorrow,{},true,Malformed,\n\
         {},{},true,Overlaps Fine,\n\
         {},{},maybe,Bad flag,\n\
         {},{},true,Bad break,30s\n",
        rfc(3600),
        fixture.asset.0,
        rfc(3700),
        fixture.asset.0,
        rfc(3630),
        fixture.other.0,
        rfc(5000),
        fixture.asset.0,
        rfc(6000),
        fixture.asset.0,
    );
    let import = format!(
        "{SCHEDULE}/import?format=csv&from={}&to={}",
        rfc(3600),
        rfc(7200)
    );
    let (status, body, _) = send(&fixture.app(), post_body(&import, Some(0), csv)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut lines: Vec<u64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["line"].as_u64().expect("every problem has its line"))
        .collect();
    lines.sort();
    lines.dedup();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{body}");
    assert!(fixture.titles().await.is_empty());
    assert_eq!(
        fixture
            .store
            .schedule_version(fixture.channel)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_import_naming_no_window_is_refused() {
    let fixture = Fixture::new().await;
    let csv = "start,asset_id,title\n".to_owned();
    let (status, body, _) = send(
        &fixture.app(),
        post_body(&format!("{SCHEDULE}/import?format=csv"), Some(0), csv),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("?from="), "{body}");
}

#[tokio::test]
async fn copying_a_day_to_other_dates_keeps_the_local_times_in_one_version() {
    let fixture = Fixture::new().await;
    // 2026-11-22 20:00 and 21:00 in Paris (UTC+1).
    let body = json!({"from": "2026-11-22T00:00:00+01:00", "to": "2026-11-23T00:00:00+01:00", "items": [
        {"asset_id": fixture.asset.0, "start": "2026-11-22T20:00:00+01:00", "title": "Evening news",
         "ad_breaks": [{"offset_ms": 0, "duration_ms": 30_000}]},
        {"asset_id": fixture.other.0, "start": "2026-11-22T21:00:00+01:00", "title": "Late show"},
    ]});
    let app = fixture.app();
    assert_eq!(
        send(&app, put(SCHEDULE, Some(0), body)).await.0,
        StatusCode::OK
    );
    let copy =
        json!({"from_date": "2026-11-22", "days": 1, "to_dates": ["2026-11-24", "2026-11-25"]});
    let request = Request::post(format!("{SCHEDULE}/copy"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::IF_MATCH, "\"1\"")
        .body(Body::from(copy.to_string()))
        .unwrap();
    let (status, body, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    let items = fixture.store.schedule_items(fixture.channel).await.unwrap();
    let starts: Vec<String> = items
        .iter()
        .map(|item| item.start.to_rfc3339_millis())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-11-22T19:00:00.000Z",
            "2026-11-22T20:00:00.000Z",
            "2026-11-24T19:00:00.000Z",
            "2026-11-24T20:00:00.000Z",
            "2026-11-25T19:00:00.000Z",
            "2026-11-25T20:00:00.000Z",
        ]
    );
    let copied_breaks = fixture.store.ad_breaks(items[2].id).await.unwrap();
    assert_eq!(copied_breaks.len(), 1);
}

#[tokio::test]
async fn copying_across_the_spring_forward_change_keeps_the_wall_clock_time() {
    let fixture = Fixture::new().await;
    // Paris springs forward on 2027-03-28: 20:00 is 19:00Z before, 18:00Z after.
    let body = json!({"from": "2027-03-27T00:00:00+01:00", "to": "2027-03-28T00:00:00+01:00", "items": [
        {"asset_id": fixture.asset.0, "start": "2027-03-27T20:00:00+01:00", "title": "Evening news"},
    ]});
    let app = fixture.app();
    assert_eq!(
        send(&app, put(SCHEDULE, Some(0), body)).await.0,
        StatusCode::OK
    );
    let copy = json!({"version": 1, "from_date": "2027-03-27", "to_dates": ["2027-03-29"]});
    let request = Request::post(format!("{SCHEDULE}/copy"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(copy.to_string()))
        .unwrap();
    let (status, body, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let starts: Vec<String> = fixture
        .store
        .schedule_items(fixture.channel)
        .await
        .unwrap()
        .iter()
        .map(|item| item.start.to_rfc3339_millis())
        .collect();
    assert_eq!(
        starts,
        ["2027-03-27T19:00:00.000Z", "2027-03-29T18:00:00.000Z"]
    );
}

#[tokio::test]
async fn copying_onto_dates_inside_the_lock_horizon_is_refused() {
    let fixture = Fixture::new().await;
    let body = json!({"from": "2026-11-22T00:00:00+01:00", "to": "2026-11-23T00:00:00+01:00", "items": [
        {"asset_id": fixture.asset.0, "start": "2026-11-22T12:59:00+01:00", "title": "Noon"},
    ]});
    let app = fixture.app();
    assert_eq!(
        send(&app, put(SCHEDULE, Some(0), body)).await.0,
        StatusCode::OK
    );
    // Today (2026-11-21, now 13:00 in Paris): 12:59 has already aired.
    let copy = json!({"version": 1, "from_date": "2026-11-22", "to_dates": ["2026-11-21"]});
    let request = Request::post(format!("{SCHEDULE}/copy"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(copy.to_string()))
        .unwrap();
    let (status, body, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("lock horizon"));
}

// ---------------------------------------------------------------------------------------------
// EPG

struct FixedPlans(Vec<onair_web_ui::epg::PlannedChannel>);

impl onair_web_ui::epg::PlannedChannels for FixedPlans {
    fn planned(&self) -> Vec<onair_web_ui::epg::PlannedChannel> {
        self.0.clone()
    }
}

#[tokio::test]
async fn the_epg_lists_the_items_of_the_plan_it_is_given_as_xmltv_and_json() {
    let fixture = Fixture::new().await;
    let body = window(vec![
        item(fixture.asset, 3600, "Morning <news>"),
        item(fixture.other, 3600 + 600, "Later show"),
    ]);
    assert_eq!(
        send(&fixture.app(), put(SCHEDULE, Some(0), body)).await.0,
        StatusCode::OK
    );
    // What the binary's loader does: plan the stored items once.
    let items = fixture.store.schedule_items(fixture.channel).await.unwrap();
    let assets: std::collections::HashMap<AssetId, onair_domain::Asset> = fixture
        .store
        .assets_by_ids(&[fixture.asset, fixture.other])
        .await
        .unwrap()
        .into_iter()
        .map(|asset| (asset.id, asset))
        .collect();
    let (plan, _) = onair_scheduler::plan_stored(onair_scheduler::PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &[],
        slate: None,
        grid_repeat: None,
    });
    let app = onair_web_ui::epg::router(onair_web_ui::epg::EpgState {
        channels: Arc::new(FixedPlans(vec![onair_web_ui::epg::PlannedChannel {
            slug: "news".into(),
            name: "News".into(),
            on_air: true,
            plan: Arc::new(plan),
            schedule_version: 0,
            slate: None,
        }])),
        clock: Arc::new(FixedClock(at(0))),
        domain: "onair.example".into(),
    });
    let (status, xml) = send_text(&app, get("/channels/news/epg.xml")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        xml.contains(r#"<channel id="news.onair.example">"#),
        "{xml}"
    );
    assert!(xml.contains("Morning &lt;news&gt;"), "{xml}");
    assert!(
        xml.contains(r#"start="20261121130000 +0000""#),
        "the first item starts at 13:00Z: {xml}"
    );
    let (status, all) = send_text(&app, get("/epg.xml")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all, xml, "one channel: the same document");
    let (status, feed) = send_text(&app, get("/channels/news/epg.json")).await;
    assert_eq!(status, StatusCode::OK);
    let feed: Value = serde_json::from_str(&feed).unwrap();
    assert_eq!(
        feed["channels"][0]["programs"][0]["start"],
        "2026-11-21T13:00:00Z"
    );
    let (status, _) = send_text(&app, get("/channels/nope/epg.xml")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn on_a_repeating_grid_an_item_after_the_first_period_is_refused() {
    let fixture = Fixture::new().await;
    let ladder = fixture
        .store
        .channel(fixture.channel)
        .await
        .unwrap()
        .unwrap()
        .ladder_id;
    fixture
        .store
        .insert_channel(&NewChannel {
            slug: ChannelSlug::parse("loop").unwrap(),
            name: "Loop".into(),
            time_zone: chrono_tz::UTC,
            ladder_id: ladder,
            outputs: vec![OutputFormat::HlsTs],
            window_segments: 6,
            grid_repeat: Some(Ticks::from_secs(86_400)),
            on_air: true,
        })
        .await
        .unwrap();
    let body = json!({"from": rfc(3600), "to": rfc(200_000), "items": [
        item(fixture.asset, 3600, "First day"),
        item(fixture.asset, 3600 + 86_400, "Second day"),
    ]});
    let (status, body, _) = send(
        &fixture.app(),
        put("/api/channels/loop/schedule", Some(0), body),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["index"], 1, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("repeating grid"),
        "{body}"
    );
}

#[tokio::test]
async fn a_week_published_through_the_api_airs_each_hard_start_within_one_segment_of_its_epg_time()
{
    let fixture = Fixture::new().await;
    let ladder = fixture
        .store
        .channel(fixture.channel)
        .await
        .unwrap()
        .unwrap()
        .ladder_id;
    // A 5-minute show, long enough to be an EPG programme of its own.
    let show = ready_asset_of(&fixture.store, ladder, "five-minutes", 150).await;
    let week = 7 * 86_400;
    let mut items = Vec::new();
    for day in 0..7 {
        for hour in [0, 6, 12, 18] {
            // One second off the 2 s segment grid: the hard start lands on a boundary.
            let start = 3600 + day * 86_400 + hour * 3600 + 1;
            items.push(item(show, start, &format!("Day {day} at {hour}")));
        }
    }
    let body = json!({"from": rfc(3600), "to": rfc(3600 + week), "items": items});
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // What the binary's loader does: plan what is stored, once, with the slate.
    let stored = fixture.store.schedule_items(fixture.channel).await.unwrap();
    let breaks = fixture
        .store
        .ad_breaks_of_channel(fixture.channel)
        .await
        .unwrap();
    let assets: std::collections::HashMap<AssetId, onair_domain::Asset> = fixture
        .store
        .assets_by_ids(&[show, fixture.other])
        .await
        .unwrap()
        .into_iter()
        .map(|asset| (asset.id, asset))
        .collect();
    let (plan, _) = onair_scheduler::plan_stored(onair_scheduler::PlanInput {
        items: &stored,
        assets: &assets,
        ad_breaks: &breaks,
        slate: Some(fixture.other),
        grid_repeat: None,
    });
    let timeline = plan.timeline.as_ref().expect("the week airs");
    let programmes = onair_scheduler::epg::programmes(
        &plan,
        at(0),
        at(8 * 86_400),
        &onair_scheduler::epg::EpgOptions::default(),
    );
    assert_eq!(stored.len(), 28);
    let segment = Ticks::from_secs(2);
    for item in &stored {
        let programme = programmes
            .iter()
            .find(|programme| programme.item_id == Some(item.id))
            .unwrap_or_else(|| panic!("{:?} is in the EPG", item.title));
        let drift = Ticks((programme.start - item.start).0.abs());
        assert!(
            drift <= segment,
            "{:?}: EPG {} vs scheduled {}",
            item.title,
            programme.start,
            item.start
        );
        // A player whose clock reads the EPG start sees the item airing.
        let airing = timeline.segment_at(programme.start).unwrap();
        let planned = plan.item_of_run(airing.run_index).expect("an item airs");
        assert_eq!(planned.id, Some(item.id), "{:?}", item.title);
        assert!(
            Ticks((airing.start - item.start).0.abs()) <= segment,
            "{:?} airs at {}",
            item.title,
            airing.start
        );
    }
}
