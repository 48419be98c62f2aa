//! The management API (channels, assets and ladders) against a real SQLite store in a temporary
//! directory, through `Router::oneshot`, with a fixed clock. `GET /api/channels` is the schedule
//! router's and a grid fill rule is the grid router's: the app merges the three, as `serve` does.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use onair_domain::{
    AssetId, ChannelId, ChannelSlug, FixedClock, Ladder, LadderId, Packaging, Rendition,
    SegmentInfo, Ticks, Timestamp,
};
use onair_store::{NewScheduleItem, Store};
use onair_web_ui::api::manage::{self, ManageApiState};
use onair_web_ui::api::{DEFAULT_LOCK_MARGIN, ScheduleApiState, grid};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The fixed "now" of every test: 2026-11-21T12:00:00Z.
const NOW_SECS: i64 = 1_795_262_400;

fn at(offset_secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(NOW_SECS + offset_secs)
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
}

impl Fixture {
    /// An empty, migrated store: no ladder, no channel, no asset.
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Fixture { dir, store }
    }

    fn media_root(&self) -> PathBuf {
        self.dir.path().join("media")
    }

    /// The management, schedule and grid routers, merged at the fixed now.
    fn app(&self) -> Router {
        let clock = Arc::new(FixedClock(at(0)));
        let schedule_state = ScheduleApiState {
            store: self.store.clone(),
            clock: clock.clone(),
            lock_margin: DEFAULT_LOCK_MARGIN,
            plan_cache: Default::default(),
        };
        manage::router(ManageApiState {
            store: self.store.clone(),
            clock,
            media_root: self.media_root(),
        })
        .merge(onair_web_ui::api::router(schedule_state.clone()))
        .merge(grid::router(schedule_state))
    }

    /// The built-in `demo` ladder, stored.
    async fn demo_ladder(&self) -> LadderId {
        self.store.insert_ladder(&Ladder::demo()).await.unwrap()
    }

    async fn channel_id(&self, slug: &str) -> ChannelId {
        let slug = ChannelSlug::parse(slug).unwrap();
        self.store.channel_by_slug(&slug).await.unwrap().unwrap().id
    }

    async fn ladder_stored(&self, name: &str) -> bool {
        self.store.ladder_by_name(name).await.unwrap().is_some()
    }

    /// One schedule item playing `asset` on `slug` an hour from now, stored directly.
    async fn schedule(&self, slug: &str, asset: AssetId) {
        let channel = self.channel_id(slug).await;
        self.store
            .replace_schedule(
                channel,
                &[NewScheduleItem {
                    asset_id: asset,
                    start: at(3600),
                    hard_start: true,
                    length: None,
                    title: "Evening film".into(),
                }],
            )
            .await
            .unwrap();
    }
}

/// A ready asset of three 2 s segments in each rung of the demo ladder, encoded to `ladder`.
async fn ready_asset(store: &Store, ladder: LadderId, title: &str) -> AssetId {
    let id = store
        .insert_asset(title, &format!("/media/{title}.mp4"), ladder)
        .await
        .unwrap();
    let renditions: Vec<Rendition> = Ladder::demo()
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
            segments: (0..3)
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
        .publish_asset(id, Ticks::from_secs(6), &renditions)
        .await
        .unwrap();
    id
}

/// An asset still being transcoded.
async fn processing_asset(store: &Store, ladder: LadderId, title: &str) -> AssetId {
    store
        .insert_asset(title, &format!("/media/{title}.mp4"), ladder)
        .await
        .unwrap()
}

/// Writes a small file at every segment path of `asset` under `media_root`; returns them.
async fn write_segment_files(
    store: &Store,
    media_root: &std::path::Path,
    asset: AssetId,
) -> Vec<PathBuf> {
    let asset = store.asset(asset).await.unwrap().unwrap();
    let mut files = Vec::new();
    for rendition in &asset.renditions {
        for segment in rendition.segments.iter() {
            let path = media_root.join(&segment.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"segment").unwrap();
            files.push(path);
        }
    }
    assert_eq!(files.len(), 6, "two rungs of three segments");
    files
}

async fn send(app: &Router, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let request = Request::builder().method(method).uri(uri);
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    send(app, Method::GET, uri, None).await
}

async fn post(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    send(app, Method::POST, uri, Some(body)).await
}

async fn patch(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    send(app, Method::PATCH, uri, Some(body)).await
}

async fn delete(app: &Router, uri: &str) -> (StatusCode, Value) {
    send(app, Method::DELETE, uri, None).await
}

/// The channel most tests create: on the demo ladder, in Paris, HLS-TS and DASH, 6 segments.
fn news() -> Value {
    json!({
        "slug": "news",
        "name": "News",
        "time_zone": "Europe/Paris",
        "ladder": "demo",
        "outputs": ["hls-ts", "dash"],
        "window_segments": 6,
    })
}

async fn create_news(app: &Router) -> Value {
    let (status, body) = post(app, "/api/channels", news()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// The slugs `GET /api/channels` lists.
async fn listed_slugs(app: &Router) -> Vec<String> {
    let (status, body) = get(app, "/api/channels").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|channel| channel["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// The fields a 422 names, in the order given.
fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of errors in {body}"))
        .iter()
        .map(|error| error["field"].as_str().unwrap_or("(none)").to_owned())
        .collect()
}

/// The message of the error about `field`.
fn message_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|error| error["field"] == field)
        .and_then(|error| error["message"].as_str())
        .unwrap_or_else(|| panic!("an error about {field} in {body}"))
}

/// The ids of a page of `GET /api/assets`.
fn ids(body: &Value) -> Vec<i64> {
    body["assets"]
        .as_array()
        .unwrap_or_else(|| panic!("assets in {body}"))
        .iter()
        .map(|asset| asset["id"].as_i64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Channels

#[tokio::test]
async fn creating_a_channel_answers_201_with_its_settings_and_lists_it() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    assert!(!fixture.ladder_stored("demo").await);

    let created = create_news(&app).await;
    assert_eq!(
        created,
        json!({
            "slug": "news",
            "name": "News",
            "time_zone": "Europe/Paris",
            "ladder": "demo",
            "outputs": ["hls-ts", "dash"],
            "window_segments": 6,
            "slate": null,
            "filler": [],
            "on_air": true,
            "retired": false,
            "schedule_version": 0,
            "master_url": "/channels/news/master.m3u8",
        })
    );
    assert!(
        fixture.ladder_stored("demo").await,
        "the built-in ladder is stored on first use"
    );
    assert!(
        !fixture.ladder_stored("fast").await,
        "only the ladder used is stored"
    );

    let (status, shown) = get(&app, "/api/channels/news").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown, created);
    let (_, listed) = get(&app, "/api/channels").await;
    assert_eq!(listed["channels"], json!([created]));
    assert_eq!(
        get(&app, "/api/channels/sports").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_channel_given_only_a_slug_and_a_name_is_utc_on_the_fast_ladder_with_every_output() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let (status, body) = post(
        &app,
        "/api/channels",
        json!({"slug": "movies", "name": "Movies"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["time_zone"], "UTC");
    assert_eq!(body["ladder"], "fast");
    assert_eq!(body["outputs"], json!(["hls-ts", "hls-fmp4", "dash"]));
    assert_eq!(body["window_segments"], 10);
    assert_eq!(body["on_air"], true);
    assert!(fixture.ladder_stored("fast").await);
}

#[tokio::test]
async fn a_taken_slug_is_refused_with_409_naming_the_slug_and_the_first_channel_stays() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    create_news(&app).await;
    let mut again = news();
    again["name"] = json!("Another News");
    let (status, body) = post(&app, "/api/channels", again).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with("slug:"),
        "{body}"
    );
    assert_eq!(listed_slugs(&app).await, ["news"]);
    assert_eq!(get(&app, "/api/channels/news").await.1["name"], "News");
}

#[tokio::test]
async fn an_invalid_channel_is_refused_with_every_problem_named_by_its_field_and_nothing_is_created()
 {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let unready = processing_asset(&fixture.store, ladder, "pending").await;
    let app = fixture.app();

    let (status, body) = post(
        &app,
        "/api/channels",
        json!({
            "slug": "Bad Slug!",
            "name": "  ",
            "time_zone": "Mars/Olympus_Mons",
            "ladder": "demo",
            "outputs": ["hls-ts", "rtmp"],
            "window_segments": 0,
            "slate": 999,
            "filler": [unready.0],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        fields(&body),
        [
            "slug",
            "name",
            "time_zone",
            "outputs",
            "window_segments",
            "slate",
            "filler"
        ]
    );
    assert!(
        message_of(&body, "slug").contains("\"Bad Slug!\""),
        "{body}"
    );
    assert!(message_of(&body, "time_zone").contains("Mars/Olympus_Mons"));
    assert!(message_of(&body, "outputs").contains("\"rtmp\""));
    assert!(message_of(&body, "slate").contains("asset 999 does not exist"));
    assert!(message_of(&body, "filler").contains("processing"));

    let (status, body) = post(
        &app,
        "/api/channels",
        json!({"slug": "news", "name": "News", "ladder": "hd", "window_segments": 61}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["ladder", "window_segments"]);
    assert!(
        message_of(&body, "ladder")
            .contains("there is no ladder \"hd\"; the ladders are demo, fast"),
        "{body}"
    );
    assert!(message_of(&body, "window_segments").contains("3 to 60"));

    assert!(listed_slugs(&app).await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_slate_that_is_missing_unready_or_on_another_ladder_is_refused_on_its_field() {
    let fixture = Fixture::new().await;
    let demo = fixture.demo_ladder().await;
    let other = fixture
        .store
        .insert_ladder(&Ladder {
            name: "other".into(),
            ..Ladder::demo()
        })
        .await
        .unwrap();
    let unready = processing_asset(&fixture.store, demo, "pending").await;
    let elsewhere = ready_asset(&fixture.store, other, "elsewhere").await;
    let slate = ready_asset(&fixture.store, demo, "slate").await;
    let app = fixture.app();

    for (asset, why) in [
        (AssetId(999), "asset 999 does not exist"),
        (unready, "is processing: only ready assets can air"),
        (
            elsewhere,
            "encoded to another ladder than the channel's \"demo\"",
        ),
    ] {
        for field in ["slate", "filler"] {
            let mut body = news();
            body[field] = if field == "slate" {
                json!(asset.0)
            } else {
                json!([asset.0])
            };
            let (status, answer) = post(&app, "/api/channels", body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
            assert_eq!(fields(&answer), [field], "{answer}");
            assert!(
                message_of(&answer, field).contains(why),
                "{why:?} in {answer}"
            );
        }
    }
    assert!(listed_slugs(&app).await.is_empty(), "nothing was created");

    let mut body = news();
    body["slate"] = json!(slate.0);
    body["filler"] = json!([slate.0]);
    let (status, answer) = post(&app, "/api/channels", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["slate"], slate.0);
    assert_eq!(answer["filler"], json!([slate.0]));
}

#[tokio::test]
async fn a_body_with_an_unknown_key_is_refused_with_400() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let mut body = news();
    body["colour"] = json!("red");
    let (status, answer) = post(&app, "/api/channels", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("colour"),
        "{answer}"
    );
    assert!(listed_slugs(&app).await.is_empty());

    create_news(&app).await;
    // The slug is the channel's name in URLs: an edit cannot carry it.
    let (status, answer) = patch(&app, "/api/channels/news", json!({"slug": "world"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(listed_slugs(&app).await, ["news"]);
}

#[tokio::test]
async fn editing_a_channel_changes_its_name_time_zone_and_outputs_and_keeps_the_rest() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    create_news(&app).await;
    let (status, edited) = patch(
        &app,
        "/api/channels/news",
        json!({"name": "World News", "time_zone": "America/New_York", "outputs": ["hls-fmp4"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["name"], "World News");
    assert_eq!(edited["time_zone"], "America/New_York");
    assert_eq!(edited["outputs"], json!(["hls-fmp4"]));
    assert_eq!(edited["ladder"], "demo");
    assert_eq!(edited["window_segments"], 6);
    assert_eq!(edited["on_air"], true);
    assert_eq!(get(&app, "/api/channels/news").await.1, edited);

    let (status, body) = patch(
        &app,
        "/api/channels/news",
        json!({"name": "Refused", "time_zone": "Europe/Atlantis", "window_segments": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["time_zone", "window_segments"]);
    assert_eq!(
        get(&app, "/api/channels/news").await.1,
        edited,
        "nothing of a refused edit applies"
    );

    let (status, _) = patch(&app, "/api/channels/sports", json!({"name": "Sports"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_ladder_of_a_channel_on_air_changes_only_once_it_is_off_air() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    create_news(&app).await;

    let (status, body) = patch(&app, "/api/channels/news", json!({"ladder": "fast"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.starts_with("ladder:"), "{body}");
    assert!(error.contains("on air"), "{body}");
    assert_eq!(get(&app, "/api/channels/news").await.1["ladder"], "demo");

    let (status, body) = patch(&app, "/api/channels/news", json!({"on_air": false})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["on_air"], false);

    let (status, body) = patch(&app, "/api/channels/news", json!({"ladder": "fast"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ladder"], "fast");
    assert_eq!(body["on_air"], false);
    assert!(fixture.ladder_stored("fast").await);
    assert_eq!(get(&app, "/api/channels/news").await.1["ladder"], "fast");
}

#[tokio::test]
async fn a_null_slate_goes_back_to_the_generated_slate_and_an_absent_one_keeps_it() {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let slate = ready_asset(&fixture.store, ladder, "slate").await;
    let app = fixture.app();
    let mut body = news();
    body["slate"] = json!(slate.0);
    let (status, created) = post(&app, "/api/channels", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["slate"], slate.0);

    let (status, body) = patch(&app, "/api/channels/news", json!({"name": "News 24"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slate"], slate.0, "an edit without a slate keeps it");

    let (status, body) = patch(&app, "/api/channels/news", json!({"slate": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slate"], Value::Null);
    assert_eq!(
        get(&app, "/api/channels/news").await.1["slate"],
        Value::Null
    );
}

#[tokio::test]
async fn deleting_a_channel_that_never_had_a_schedule_removes_it_and_frees_its_slug() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    create_news(&app).await;
    let (status, body) = delete(&app, "/api/channels/news").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"slug": "news", "deleted": true}));
    assert_eq!(
        get(&app, "/api/channels/news").await.0,
        StatusCode::NOT_FOUND
    );
    assert!(listed_slugs(&app).await.is_empty());
    create_news(&app).await;
    assert_eq!(
        delete(&app, "/api/channels/sports").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn deleting_a_channel_with_a_schedule_retires_it_and_keeps_its_schedule() {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let film = ready_asset(&fixture.store, ladder, "film").await;
    let app = fixture.app();
    create_news(&app).await;
    fixture.schedule("news", film).await;

    let (status, body) = delete(&app, "/api/channels/news").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"slug": "news", "retired": true}));

    let (_, listed) = get(&app, "/api/channels").await;
    let channels = listed["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1, "{listed}");
    assert_eq!(channels[0]["slug"], "news");
    assert_eq!(channels[0]["retired"], true);
    assert_eq!(channels[0]["on_air"], false);
    let channel = fixture.channel_id("news").await;
    let items = fixture.store.schedule_items(channel).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].title, "Evening film");

    let (status, body) = post(&app, "/api/channels", news()).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a retired channel keeps its slug: {body}"
    );
}

#[tokio::test]
async fn a_retired_channel_cannot_be_edited() {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let film = ready_asset(&fixture.store, ladder, "film").await;
    let app = fixture.app();
    create_news(&app).await;
    fixture.schedule("news", film).await;
    assert_eq!(delete(&app, "/api/channels/news").await.1["retired"], true);

    for edit in [json!({"name": "Back"}), json!({"on_air": true})] {
        let (status, body) = patch(&app, "/api/channels/news", edit).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("retired"),
            "{body}"
        );
    }
    let (_, shown) = get(&app, "/api/channels/news").await;
    assert_eq!(shown["name"], "News");
    assert_eq!(shown["on_air"], false);
}

// ---------------------------------------------------------------------------------------------
// Assets

/// Five assets, by id: three ready, one processing, one failed.
async fn library(fixture: &Fixture) -> [AssetId; 5] {
    let ladder = fixture.demo_ladder().await;
    let store = &fixture.store;
    let morning = ready_asset(store, ladder, "Morning News").await;
    let evening = ready_asset(store, ladder, "Evening news").await;
    let film = ready_asset(store, ladder, "Film").await;
    let pending = processing_asset(store, ladder, "news pending").await;
    let broken = processing_asset(store, ladder, "Broken NEWS").await;
    store.fail_asset(broken, "decoder gave up").await.unwrap();
    [morning, evening, film, pending, broken]
}

#[tokio::test]
async fn the_asset_list_is_by_id_and_filters_by_state_and_by_title_in_any_case() {
    let fixture = Fixture::new().await;
    let [morning, evening, film, pending, broken] = library(&fixture).await;
    let app = fixture.app();
    let query = |uri: &'static str| {
        let app = app.clone();
        async move {
            let (status, body) = get(&app, uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
            body
        }
    };

    let all = query("/api/assets").await;
    assert_eq!(
        ids(&all),
        [morning.0, evening.0, film.0, pending.0, broken.0]
    );
    assert_eq!(all["next_after"], Value::Null);
    assert_eq!(all["assets"][0]["title"], "Morning News");
    assert_eq!(all["assets"][0]["state"], "ready");
    assert_eq!(all["assets"][0]["duration_ms"], 6000);
    assert_eq!(
        all["assets"][0]["url"],
        format!("/api/assets/{}", morning.0)
    );

    assert_eq!(
        ids(&query("/api/assets?state=ready").await),
        [morning.0, evening.0, film.0]
    );
    assert_eq!(
        ids(&query("/api/assets?state=processing").await),
        [pending.0]
    );
    assert_eq!(ids(&query("/api/assets?state=failed").await), [broken.0]);
    assert_eq!(
        ids(&query("/api/assets?title=NEWS").await),
        [morning.0, evening.0, pending.0, broken.0]
    );
    assert_eq!(
        ids(&query("/api/assets?state=ready&title=news").await),
        [morning.0, evening.0]
    );
    assert!(ids(&query("/api/assets?title=weather").await).is_empty());
}

#[tokio::test]
async fn the_asset_list_pages_with_limit_and_after_until_next_after_is_null() {
    let fixture = Fixture::new().await;
    let library = library(&fixture).await;
    let app = fixture.app();

    let (status, first) = get(&app, "/api/assets?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first), [library[0].0, library[1].0]);
    assert_eq!(first["next_after"], library[1].0);

    let (_, second) = get(&app, &format!("/api/assets?limit=2&after={}", library[1].0)).await;
    assert_eq!(ids(&second), [library[2].0, library[3].0]);
    assert_eq!(second["next_after"], library[3].0);

    let (_, last) = get(&app, &format!("/api/assets?limit=2&after={}", library[3].0)).await;
    assert_eq!(ids(&last), [library[4].0]);
    assert_eq!(last["next_after"], Value::Null, "a short page is the last");

    // Filters and pages together.
    let (_, ready) = get(
        &app,
        &format!("/api/assets?state=ready&limit=1&after={}", library[0].0),
    )
    .await;
    assert_eq!(ids(&ready), [library[1].0]);
    assert_eq!(ready["next_after"], library[1].0);
}

#[tokio::test]
async fn a_bad_state_or_a_limit_outside_1_to_500_is_refused_with_400() {
    let fixture = Fixture::new().await;
    library(&fixture).await;
    let app = fixture.app();
    for (uri, needle) in [
        (
            "/api/assets?state=airing",
            "\"airing\" is not an asset state",
        ),
        ("/api/assets?limit=0", "limit 0"),
        ("/api/assets?limit=501", "limit 501"),
        ("/api/assets?limit=many", "limit"),
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{needle:?} in {uri}: {body}"
        );
    }
    for uri in [
        "/api/assets?limit=1",
        "/api/assets?limit=500",
        "/api/assets?state=",
    ] {
        assert_eq!(get(&app, uri).await.0, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn deleting_an_asset_nothing_uses_removes_it_and_its_segment_files_only() {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let doomed = ready_asset(&fixture.store, ladder, "doomed").await;
    let kept = ready_asset(&fixture.store, ladder, "kept").await;
    let root = fixture.media_root();
    let doomed_files = write_segment_files(&fixture.store, &root, doomed).await;
    let kept_files = write_segment_files(&fixture.store, &root, kept).await;
    let app = fixture.app();

    let (status, body) = delete(&app, &format!("/api/assets/{}", doomed.0)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted"], true);
    assert_eq!(body["title"], "doomed");
    assert_eq!(body["files_removed"], 6);
    assert_eq!(body["files_left"], json!([]));
    for file in &doomed_files {
        assert!(!file.exists(), "{} is removed", file.display());
    }
    assert!(!root.join(format!("assets/{}", doomed.0)).exists());
    for file in &kept_files {
        assert!(file.exists(), "{} of another asset stays", file.display());
    }
    assert!(fixture.store.asset(doomed).await.unwrap().is_none());
    assert_eq!(ids(&get(&app, "/api/assets").await.1), [kept.0]);
}

#[tokio::test]
async fn deleting_an_unknown_asset_answers_404() {
    let fixture = Fixture::new().await;
    let (status, body) = delete(&fixture.app(), "/api/assets/404").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("asset 404"),
        "{body}"
    );
}

#[tokio::test]
async fn an_asset_a_schedule_item_plays_is_not_deleted_and_the_refusal_names_its_channel() {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let film = ready_asset(&fixture.store, ladder, "film").await;
    let files = write_segment_files(&fixture.store, &fixture.media_root(), film).await;
    let app = fixture.app();
    create_news(&app).await;
    fixture.schedule("news", film).await;

    let (status, body) = delete(&app, &format!("/api/assets/{}", film.0)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("\"Evening film\" on news"), "{body}");
    assert!(fixture.store.asset(film).await.unwrap().is_some());
    assert!(files.iter().all(|file| file.exists()), "its files stay");
}

#[tokio::test]
async fn an_asset_a_channel_loops_as_its_slate_is_not_deleted() {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let slate = ready_asset(&fixture.store, ladder, "slate").await;
    let app = fixture.app();
    let mut body = news();
    body["slate"] = json!(slate.0);
    assert_eq!(
        post(&app, "/api/channels", body).await.0,
        StatusCode::CREATED
    );

    let (status, body) = delete(&app, &format!("/api/assets/{}", slate.0)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("the slate of news"),
        "{body}"
    );
    assert!(fixture.store.asset(slate).await.unwrap().is_some());
}

#[tokio::test]
async fn an_asset_named_only_in_a_channel_grid_is_not_deleted() {
    let fixture = Fixture::new().await;
    let ladder = fixture.demo_ladder().await;
    let loop_clip = ready_asset(&fixture.store, ladder, "loop").await;
    let app = fixture.app();
    create_news(&app).await;
    let (status, body) = send(
        &app,
        Method::PUT,
        "/api/channels/news/grid/fill",
        Some(json!({
            "version": 0,
            "fill": {"rules": {"loop": {"playlist": [loop_clip.0]}}, "default": "loop"},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let channel = fixture.channel_id("news").await;
    assert!(
        fixture
            .store
            .schedule_items(channel)
            .await
            .unwrap()
            .is_empty(),
        "the grid alone names it"
    );

    let (status, body) = delete(&app, &format!("/api/assets/{}", loop_clip.0)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("in the grid"), "{body}");
    assert!(error.contains("news"), "{body}");
    assert!(fixture.store.asset(loop_clip).await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Ladders

/// The names `GET /api/ladders` lists, with whether each is stored.
async fn listed_ladders(app: &Router) -> Vec<(String, bool)> {
    let (status, body) = get(app, "/api/ladders").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["ladders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ladder| {
            (
                ladder["name"].as_str().unwrap().to_owned(),
                ladder["stored"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The demo ladder as `POST /api/ladders` takes it, called `name`.
fn custom_ladder(name: &str) -> Value {
    json!({
        "name": name,
        "frame_rate_num": 25,
        "frame_rate_den": 1,
        "segment_duration_ms": 4000,
        "rungs": [
            {"name": "360p", "width": 640, "height": 360, "video_bitrate": 800_000,
             "h264_profile_idc": 100, "h264_level_idc": 30, "audio_bitrate": 96_000},
            {"name": "240p", "width": 426, "height": 240, "video_bitrate": 400_000,
             "h264_profile_idc": 100, "h264_level_idc": 21, "audio_bitrate": 64_000},
        ],
    })
}

#[tokio::test]
async fn the_ladder_list_shows_the_built_in_ladders_stored_or_not() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    assert_eq!(
        listed_ladders(&app).await,
        [("demo".to_owned(), false), ("fast".to_owned(), false)]
    );
    fixture.demo_ladder().await;
    assert_eq!(
        listed_ladders(&app).await,
        [("demo".to_owned(), true), ("fast".to_owned(), false)]
    );
}

#[tokio::test]
async fn a_ladder_answers_with_its_timing_and_rungs() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let (status, demo) = get(&app, "/api/ladders/demo").await;
    assert_eq!(status, StatusCode::OK, "{demo}");
    assert_eq!(demo["name"], "demo");
    assert_eq!(demo["frame_rate_num"], 25);
    assert_eq!(demo["frame_rate_den"], 1);
    assert_eq!(demo["segment_duration_ms"], 2000);
    let rungs: Vec<(&str, u64, u64)> = demo["rungs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rung| {
            (
                rung["name"].as_str().unwrap(),
                rung["width"].as_u64().unwrap(),
                rung["height"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rungs, [("360p", 640, 360), ("240p", 426, 240)]);
    let (status, fast) = get(&app, "/api/ladders/fast").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fast["rungs"].as_array().unwrap().len(), 6);
    assert_eq!(fast["segment_duration_ms"], 6000);
    assert_eq!(get(&app, "/api/ladders/hd").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_valid_custom_ladder_is_created_listed_and_carries_a_channel() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let (status, created) = post(&app, "/api/ladders", custom_ladder("sd")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "sd");
    assert_eq!(created["segment_duration_ms"], 4000);
    assert_eq!(created["stored"], true);
    assert_eq!(created["audio_sample_rate"], 48_000, "the default audio");
    assert_eq!(created["audio_channels"], 2);

    let names: Vec<String> = listed_ladders(&app)
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["demo", "fast", "sd"]);
    let (status, shown) = get(&app, "/api/ladders/sd").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown, created);

    let mut body = news();
    body["ladder"] = json!("sd");
    let (status, channel) = post(&app, "/api/channels", body).await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    assert_eq!(channel["ladder"], "sd");
}

#[tokio::test]
async fn a_ladder_as_get_answers_it_renamed_is_accepted_back() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let (_, mut demo) = get(&app, "/api/ladders/demo").await;
    demo["name"] = json!("demo-copy");
    let (status, created) = post(&app, "/api/ladders", demo.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    demo["stored"] = json!(true);
    assert_eq!(created, demo);
}

#[tokio::test]
async fn an_invalid_ladder_is_refused_with_every_problem_and_not_created() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    let mut body = custom_ladder("broken");
    body["segment_duration_ms"] = json!(2500);
    body["rungs"][0]["width"] = json!(641);
    body["rungs"][1]["video_bitrate"] = json!(900_000);
    let (status, answer) = post(&app, "/api/ladders", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(fields(&answer), ["ladder", "ladder", "ladder"], "{answer}");
    let text = answer["errors"].to_string();
    for needle in [
        "not a whole number of frames at 25/1 fps",
        "641x360 must be even",
        "not below rung 360p's 800000",
    ] {
        assert!(text.contains(needle), "{needle:?} in {answer}");
    }
    assert_eq!(
        get(&app, "/api/ladders/broken").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(listed_ladders(&app).await.len(), 2);
}

#[tokio::test]
async fn a_ladder_with_a_taken_or_built_in_name_is_refused_with_409_naming_the_name() {
    let fixture = Fixture::new().await;
    let app = fixture.app();
    assert_eq!(
        post(&app, "/api/ladders", custom_ladder("sd")).await.0,
        StatusCode::CREATED
    );
    for name in ["sd", "fast", "demo"] {
        let mut body = custom_ladder(name);
        body["segment_duration_ms"] = json!(6000);
        let (status, answer) = post(&app, "/api/ladders", body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{name}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().starts_with("name:"),
            "{answer}"
        );
    }
    let (_, sd) = get(&app, "/api/ladders/sd").await;
    assert_eq!(sd["segment_duration_ms"], 4000, "the first sd stays");
    let (_, fast) = get(&app, "/api/ladders/fast").await;
    assert_eq!(
        fast["rungs"].as_array().unwrap().len(),
        6,
        "fast stays built in"
    );
}
