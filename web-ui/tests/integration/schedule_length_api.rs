//! Items with a length (how much of the asset airs) through the schedule API: accepted and
//! answered with the end they air to, refused with the item and the field, carried by CSV
//! export and import, and frozen inside the lock horizon like a move.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::schedule_api::{
    Fixture, SCHEDULE, get, item, post_body, put, rfc, send, send_text, window,
};

fn sized(fixture: &Fixture, offset_secs: i64, title: &str, length_ms: i64) -> Value {
    let mut sized = item(fixture.asset, offset_secs, title);
    sized["length_ms"] = json!(length_ms);
    sized["ad_breaks"] = json!([
        {"offset_ms": 10_000, "duration_ms": 20_000},
        {"offset_ms": 50_000, "duration_ms": 15_000},
    ]);
    sized
}

/// PUTs the hour-long window an hour from now, made on version 0, with `items`.
async fn publish(fixture: &Fixture, items: Vec<Value>) -> (StatusCode, Value) {
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), window(items))).await;
    (status, body)
}

#[tokio::test]
async fn a_length_is_accepted_answered_with_the_end_it_airs_to_and_read_back() {
    let fixture = Fixture::new().await;
    let (status, body) = publish(
        &fixture,
        vec![
            sized(&fixture, 3600, "Trimmed", 31_000),
            item(fixture.asset, 5400, "Whole"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 1);
    let answered = &body["items"];
    assert_eq!(answered[0]["title"], "Trimmed");
    assert_eq!(answered[0]["length_ms"], 31_000);
    assert_eq!(answered[0]["asset_ms"], 60_000);
    assert_eq!(
        answered[0]["end"],
        rfc(3600 + 32 + 20),
        "31 s of 2 s segments airs as 32 s, with the break at 10 s and not the one at 50 s"
    );
    assert_eq!(answered[1]["length_ms"], Value::Null);
    assert_eq!(answered[1]["end"], rfc(5400 + 60));

    let (_, body, _) = send(
        &fixture.app(),
        get(&format!("{SCHEDULE}?from={}&to={}", rfc(0), rfc(7200))),
    )
    .await;
    assert_eq!(body["items"][0]["length_ms"], 31_000);
    assert!(
        body["items"][1].get("length_ms").is_none(),
        "an item of the whole asset has no length: {body}"
    );
}

#[tokio::test]
async fn a_length_longer_than_the_asset_zero_or_negative_is_a_422_naming_the_item_and_the_field() {
    let fixture = Fixture::new().await;
    let (status, body) = publish(
        &fixture,
        vec![
            sized(&fixture, 3600, "Fits", 60_000),
            sized(&fixture, 3700, "Too long", 60_001),
            sized(&fixture, 3800, "Nothing", 0),
            sized(&fixture, 3900, "Backwards", -5),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let named: Vec<(Value, Value)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| (problem["index"].clone(), problem["field"].clone()))
        .collect();
    assert_eq!(
        named,
        [
            (json!(1), json!("length_ms")),
            (json!(2), json!("length_ms")),
            (json!(3), json!("length_ms")),
        ],
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("\"Too long\"") && message.contains("longer than asset"),
        "{message}"
    );
    assert!(fixture.titles().await.is_empty(), "nothing was published");
}

#[tokio::test]
async fn a_csv_export_carries_the_length_and_imports_it_back_and_an_old_file_imports_whole() {
    let fixture = Fixture::new().await;
    let (status, body) = publish(&fixture, vec![sized(&fixture, 3600, "Trimmed", 31_000)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app = fixture.app();
    let range = format!("from={}&to={}", rfc(3600), rfc(7200));
    let (_, csv) = send_text(&app, get(&format!("{SCHEDULE}/export?{range}&format=csv"))).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "start,asset_id,hard_start,title,ad_breaks,length_ms"
    );
    assert!(
        lines[1].ends_with(",10000/20000;50000/15000,31000"),
        "{csv}"
    );

    let import = format!("{SCHEDULE}/import?format=csv&{range}");
    let (status, body, _) = send(&app, post_body(&import, Some(1), csv.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let read = format!("{SCHEDULE}?{range}");
    let (_, body, _) = send(&app, get(&read)).await;
    assert_eq!(body["items"][0]["length_ms"], 31_000);

    let old = format!(
        "start,asset_id,hard_start,title,ad_breaks\n{},{},true,Old file,\n",
        rfc(3600),
        fixture.asset.0
    );
    let (status, body, _) = send(&app, post_body(&import, Some(2), old)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body, _) = send(&app, get(&read)).await;
    assert_eq!(body["items"][0]["title"], "Old file");
    assert!(body["items"][0].get("length_ms").is_none(), "{body}");
}

#[tokio::test]
async fn a_resize_inside_the_lock_horizon_is_refused_with_the_horizon() {
    let fixture = Fixture::new().await;
    let soon = fixture.horizon_secs() / 2;
    let first_hour = |items: Vec<Value>| json!({"from": rfc(0), "to": rfc(3600), "items": items});
    // Published an hour earlier, when the item was well beyond the horizon.
    let (status, body, _) = send(
        &fixture.app_at(-3600),
        put(
            SCHEDULE,
            Some(0),
            first_hour(vec![item(fixture.asset, soon, "Soon")]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut resized = item(fixture.asset, soon, "Soon");
    resized["length_ms"] = json!(20_000);
    let (status, body, _) = send(
        &fixture.app(),
        put(SCHEDULE, Some(1), first_hour(vec![resized])),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["lock_horizon"], rfc(fixture.horizon_secs()));
    let (_, body, _) = send(
        &fixture.app(),
        get(&format!("{SCHEDULE}?from={}&to={}", rfc(0), rfc(3600))),
    )
    .await;
    assert!(body["items"][0].get("length_ms").is_none(), "{body}");
}
