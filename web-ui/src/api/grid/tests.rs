//! The grid API through `Router::oneshot`, against a real SQLite store with a fixed clock.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use onair_domain::{
    ChannelSlug, FixedClock, Ladder, LadderId, OutputFormat, Packaging, Rendition, SegmentInfo,
};
use onair_scheduler::{PlanInput, Problem as PlanProblem, plan_stored};
use onair_store::{NewAdBreak, NewChannel, NewScheduleItem};
use serde_json::json;
use tower::ServiceExt;

use axum::Router;
use onair_control::grid::{plan_channel, slate_source};
use onair_domain::{AssetId, Channel, Ticks, Timestamp};
use onair_store::Store;

use super::*;
use crate::api::DEFAULT_LOCK_MARGIN;
use crate::api::schedule::parse_instant;

/// Wednesday 18 November 2026, 10:00 UTC: the server's fixed clock.
const NOW: &str = "2026-11-18T10:00:00Z";

fn at(text: &str) -> Timestamp {
    parse_instant(text).unwrap()
}

struct Setup {
    app: Router,
    store: Store,
    channel: Channel,
    /// 60 s, 30 s and 20 s clips in 2 s segments.
    clips: [i64; 3],
    _dir: tempfile::TempDir,
}

async fn ready_asset(store: &Store, ladder: LadderId, source: &str, secs: i64) -> i64 {
    let id = store.insert_asset(source, source, ladder).await.unwrap();
    let segments = (0..secs / 2)
        .map(|index| SegmentInfo {
            index: index as u32,
            duration: Ticks::from_secs(2),
            size_bytes: 1000,
            path: format!("assets/{id}/360p/ts/{index:05}.ts"),
        })
        .collect();
    let rendition = Rendition {
        rung: "360p".into(),
        packaging: Packaging::Ts,
        codecs: "avc1.64001e,mp4a.40.2".into(),
        width: 640,
        height: 360,
        peak_bandwidth: 1_000_000,
        average_bandwidth: 900_000,
        init_path: None,
        segments,
    };
    store
        .publish_asset(id, Ticks::from_secs(secs), &[rendition])
        .await
        .unwrap();
    id.0
}

/// A channel `news` (UTC, a 10 s playout window: the lock horizon is 10:02:10) with three
/// clips and a slate, behind the API at [`NOW`].
async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("onair.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
    let channel = store
        .insert_channel(&NewChannel {
            slug: ChannelSlug::parse("news").unwrap(),
            name: "News".into(),
            time_zone: chrono_tz::UTC,
            ladder_id: ladder,
            outputs: vec![OutputFormat::HlsTs],
            window_segments: 5,
            grid_repeat: None,
            on_air: true,
        })
        .await
        .unwrap();
    let clips = [
        ready_asset(&store, ladder, "clip-a", 60).await,
        ready_asset(&store, ladder, "clip-b", 30).await,
        ready_asset(&store, ladder, "clip-c", 20).await,
    ];
    ready_asset(&store, ladder, &slate_source("news"), 4).await;
    let app = router(ScheduleApiState {
        store: store.clone(),
        clock: Arc::new(FixedClock(at(NOW))),
        lock_margin: DEFAULT_LOCK_MARGIN,
        plan_cache: Default::default(),
    });
    Setup {
        app,
        store,
        channel,
        clips,
        _dir: dir,
    }
}

async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    if_match: Option<i64>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(version) = if_match {
        request = request.header(header::IF_MATCH, format!("\"{version}\""));
    }
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
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

fn item(asset_id: i64, title: &str) -> Value {
    json!({"type": "item", "asset_id": asset_id, "info": {"title": title}})
}

fn evening_news(clips: [i64; 3]) -> Value {
    json!({
        "blocks": {"News": {"entries": [
            item(clips[0], "Headlines"),
            item(clips[1], "Weather"),
            item(clips[2], "Sport"),
            item(clips[1], "Close"),
        ]}},
        "templates": [{"name": "evenings", "slots": [{"rule": "weekdays 20:00", "block": "News"}]}],
        "ad_policy": {"every_items": 1, "break_ms": 60000, "max_per_hour_ms": 120000},
    })
}

fn messages(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| error["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_weekday_template_with_a_block_and_an_ad_policy_plans_its_breaks_within_the_cap() {
    let setup = setup().await;
    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid",
        Some(0),
        Some(evening_news(setup.clips)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["version"], 1);
    assert_eq!(
        answer["effective_from"], "2026-11-18T10:02:10.000Z",
        "a new grid takes effect at the lock horizon"
    );

    let (status, plan) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/plan?from=2026-11-18T19:00:00Z&to=2026-11-18T21:00:00Z",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let items = plan["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Headlines", "Weather", "Sport", "Close"]);
    assert_eq!(items[0]["start"], "2026-11-18T20:00:00.000Z");
    let breaks: Vec<i64> = items
        .iter()
        .map(|i| {
            i["breaks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["duration_ms"].as_i64().unwrap())
                .sum()
        })
        .collect();
    assert_eq!(
        breaks,
        [60_000, 60_000, 0, 0],
        "a break after each item until the hour's 2 minutes are used"
    );
    assert_eq!(
        plan["ads_per_hour"],
        json!([{"hour": "2026-11-18T20:00:00.000Z", "ads_ms": 120000}])
    );
    let dropped: Vec<&Value> = plan["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|problem| {
            problem["kind"] == "break_dropped"
                && problem["message"]
                    .as_str()
                    .unwrap()
                    .contains("at about 2026-11-18T20:")
        })
        .collect();
    assert_eq!(dropped.len(), 2, "{}", plan["problems"]);
    assert!(
        dropped[0]["message"]
            .as_str()
            .unwrap()
            .contains("is at its ad cap"),
        "{}",
        dropped[0]
    );

    let (status, saturday) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/plan?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(saturday["items"], json!([]), "weekdays only");
}

#[tokio::test]
async fn bad_grids_are_refused_whole_with_every_problem_named_by_its_path() {
    let setup = setup().await;
    let [a, _, _] = setup.clips;
    let slot = |rule: &str| json!({"rule": rule, "block": "News"});
    let news = json!({"News": {"entries": [item(a, "Headlines")]}});
    let table: Vec<(Value, &str)> = vec![
        (
            json!({"blocks": news, "templates": [{"name": "t", "zone": "Mars/Olympus_Mons", "slots": [slot("daily 20:00")]}]}),
            "templates[0].zone: time zone \"Mars/Olympus_Mons\" does not exist",
        ),
        (
            json!({"blocks": news, "templates": [{"name": "t", "slots": [slot("cron 0 0 12 30 2 *")]}]}),
            "templates[0].slots[0].rule: rule \"cron 0 0 12 30 2 * (UTC)\" never fires",
        ),
        (
            json!({"blocks": news, "templates": [{"name": "t", "slots": [slot("cron 0 0 12 1 1 * 2020")]}]}),
            "never fires: it has no occurrence in the 1464 days from 2026-11-18T10:00:00.000Z",
        ),
        (
            json!({"blocks": news, "templates": [{"name": "t", "slots": [slot("daily 25:00")]}]}),
            "templates[0].slots[0].rule: malformed time \"25:00\"",
        ),
        (
            json!({"blocks": {"Loop": {"entries": [item(a, "x"), {"type": "block", "name": "Loop"}]}}}),
            "blocks: block \"Loop\" includes itself: Loop → Loop",
        ),
        (
            json!({"blocks": {"A": {"entries": [{"type": "block", "name": "B"}]}, "B": {"entries": [{"type": "block", "name": "A"}]}}}),
            "blocks: block \"A\" includes itself: A → B → A",
        ),
        (
            json!({"templates": [{"name": "t", "slots": [slot("daily 20:00")]}]}),
            "templates[0].slots[0]: block \"News\" does not exist",
        ),
        (
            json!({"blocks": {"News": {"entries": [item(404, "Lost")]}}}),
            "blocks[\"News\"].entries[0]: asset 404 does not exist",
        ),
        (
            json!({"rights": [{"asset_id": a, "valid_from": "yesterday"}]}),
            "rights[0].valid_from: \"yesterday\" is not an RFC 3339 instant",
        ),
        (
            json!({"fill": {"rules": {}, "default": "loop"}}),
            "fill.default: fill rule \"loop\" does not exist",
        ),
        (
            json!({"ad_policy": {"every_minutes": 12, "every_items": 2, "break_ms": 60000}}),
            "ad_policy: give exactly one of \"every_minutes\" and \"every_items\"",
        ),
    ];
    for (body, expected) in table {
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid",
            Some(0),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert!(
            messages(&answer)
                .iter()
                .any(|message| message.contains(expected)),
            "{body}: wanted {expected:?} in {answer}"
        );
    }
    let malformed = [
        (
            json!({"templates": [{"name": "t", "slots": [{"rule": "daily 20:00", "blok": "News"}]}]}),
            "unknown field `blok`",
        ),
        (
            json!({"blocks": {"B": {"entries": [{"type": "break", "duration_ms": 5, "offset": 3}]}}}),
            "unknown field `offset`",
        ),
        (
            json!({"blocks": {"B": {"entries": [{"type": "item", "asset_id": a, "info": {"title": "x"}, "titel": "y"}]}}}),
            "unknown field `titel`",
        ),
        (
            json!({"blocks": {"B": {"entries": [{"type": "movie"}]}}}),
            "unknown variant `movie`",
        ),
    ];
    for (body, expected) in malformed {
        let (status, answer) = call(
            &setup.app,
            Method::PUT,
            "/api/channels/news/grid",
            Some(0),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(expected),
            "{body}: wanted {expected:?} in {answer}"
        );
    }
    assert_eq!(
        setup
            .store
            .schedule_version(setup.channel.id)
            .await
            .unwrap(),
        0
    );
    assert!(
        setup
            .store
            .grid_documents(setup.channel.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_edit_names_its_version_and_a_stale_one_is_refused_and_changes_nothing() {
    let setup = setup().await;
    let policy = |every: u32| json!({"ad_policy": {"every_items": every, "break_ms": 30000}});
    let (status, _) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid/ad_policy",
        None,
        Some(policy(1)),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid/ad_policy",
        Some(0),
        Some(policy(1)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid/ad_policy",
        Some(0),
        Some(policy(3)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("version 1, not 0")
    );
    let (status, answer) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/grid/ad_policy",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["ad_policy"]["every_items"], 1);
    assert_eq!(answer["document"]["version"], 1);

    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid/ad_policy",
        Some(1),
        Some(json!({"ad_policy": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, answer) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/grid",
        None,
        None,
    )
    .await;
    assert_eq!(answer["ad_policy"], Value::Null, "null removes the policy");
    assert_eq!(answer["version"], 2);

    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid/ad_policy",
        Some(2),
        Some(json!({"rights": []})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
}

#[tokio::test]
async fn an_edit_that_changes_what_airs_inside_the_lock_horizon_is_refused() {
    let setup = setup().await;
    let [a, b, _] = setup.clips;
    setup
        .store
        .replace_schedule(
            setup.channel.id,
            &[NewScheduleItem {
                asset_id: AssetId(a),
                start: at("2026-11-18T09:59:30Z"),
                hard_start: true,
                length: None,
                title: "On now".into(),
            }],
        )
        .await
        .unwrap();
    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid",
        Some(1),
        Some(json!({"rights": [{"asset_id": a, "valid_until": "2026-11-18T10:00:00Z"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["lock_horizon"], "2026-11-18T10:02:10.000Z");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("changes what airs at 2026-11-18T09:59:30.000Z"),
        "{answer}"
    );
    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid",
        Some(1),
        Some(json!({
            "effective_from": "2026-11-18T10:01:00Z",
            "blocks": {"B": {"entries": [item(b, "B")]}},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("inside the lock horizon")
    );
    assert_eq!(
        setup
            .store
            .schedule_version(setup.channel.id)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_later_version_applies_from_its_effective_instant_and_leaves_the_earlier_hours_alone() {
    let setup = setup().await;
    let [a, b, _] = setup.clips;
    let hourly = |block: &str| json!([{"name": "hourly", "slots": [{"rule": "cron 0 0 * * * *", "block": block}]}]);
    let blocks = json!({
        "News": {"entries": [item(a, "News")]},
        "Sport": {"entries": [item(b, "Sport")]},
    });
    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid",
        Some(0),
        Some(json!({"blocks": blocks, "templates": hourly("News")})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid/templates",
        Some(1),
        Some(json!({"effective_from": "2026-11-18T14:00:00Z", "templates": hourly("Sport")})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["first_change"], "2026-11-18T14:00:00.000Z");
    let (_, plan) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/plan?from=2026-11-18T10:00:00Z&to=2026-11-18T16:00:00Z",
        None,
        None,
    )
    .await;
    let planned: Vec<(String, String)> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let start = i["start"].as_str().unwrap();
            (
                start[11..16].to_owned(),
                i["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("11:00", "News"),
        ("12:00", "News"),
        ("13:00", "News"),
        ("14:00", "Sport"),
        ("15:00", "Sport"),
    ]
    .iter()
    .map(|(at, title)| (at.to_string(), title.to_string()))
    .collect();
    assert_eq!(planned, expected);

    let (status, answer) = call(
        &setup.app,
        Method::POST,
        "/api/channels/news/grid/versions/1/restore",
        Some(2),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, versions) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/grid/versions",
        None,
        None,
    )
    .await;
    assert_eq!(versions["versions"][0]["version"], 3);
    assert_eq!(versions["versions"][0]["parts"], json!(["templates"]));
    assert_eq!(
        versions["versions"][2]["parts"],
        json!(["templates", "blocks"])
    );
    let (_, grid) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/grid",
        None,
        None,
    )
    .await;
    assert_eq!(
        grid["templates"],
        hourly("News"),
        "the restore brought News back"
    );
}

#[tokio::test]
async fn a_channel_of_items_alone_plans_as_plan_stored_planned_it_and_metadata_names_them() {
    let setup = setup().await;
    let [a, b, _] = setup.clips;
    let items = vec![
        (
            NewScheduleItem {
                asset_id: AssetId(a),
                start: at("2026-11-18T12:00:00Z"),
                hard_start: true,
                length: None,
                title: "Noon".into(),
            },
            vec![NewAdBreak {
                offset: Ticks::from_secs(20),
                duration: Ticks::from_secs(30),
            }],
        ),
        (
            NewScheduleItem {
                asset_id: AssetId(b),
                start: at("2026-11-18T12:01:00Z"),
                hard_start: false,
                length: None,
                title: "After".into(),
            },
            vec![],
        ),
    ];
    setup
        .store
        .replace_schedule_with_ad_breaks(setup.channel.id, &items)
        .await
        .unwrap();
    let stored_items = setup.store.schedule_items(setup.channel.id).await.unwrap();
    let breaks = setup
        .store
        .ad_breaks_of_channel(setup.channel.id)
        .await
        .unwrap();
    let planned = plan_channel(&setup.store, &setup.channel, at(NOW))
        .await
        .unwrap();
    let (expected, issues) = plan_stored(PlanInput {
        items: &stored_items,
        assets: &planned.assets,
        ad_breaks: &breaks,
        slate: planned.slate,
        grid_repeat: None,
    });
    assert_eq!(planned.plan, expected);
    assert_eq!(
        planned.problems,
        issues
            .into_iter()
            .map(PlanProblem::from)
            .collect::<Vec<_>>()
    );
    assert_eq!(planned.replan_at, None, "nothing in it depends on the day");

    let (status, answer) = call(
        &setup.app,
        Method::PUT,
        "/api/channels/news/grid/metadata",
        Some(1),
        Some(json!({"metadata": [{
            "start": "2026-11-18T12:00:00Z", "asset_id": a,
            "info": {"title": "Noon News", "season": 2, "episode": 5, "genres": ["News"]},
        }]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["first_change"], "2026-11-18T12:00:00.000Z");
    let (_, plan) = call(
        &setup.app,
        Method::GET,
        "/api/channels/news/plan?from=2026-11-18T11:00:00Z&to=2026-11-18T13:00:00Z",
        None,
        None,
    )
    .await;
    assert_eq!(plan["items"][0]["title"], "Noon News");
    assert_eq!(plan["items"][0]["info"]["episode"], 5);
    assert_eq!(plan["items"][0]["breaks"][0]["duration_ms"], 30000);
    assert_eq!(plan["items"][1]["title"], "After");
}
