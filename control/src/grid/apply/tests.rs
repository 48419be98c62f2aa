//! Applying a template to a week on a SQLite store in memory: a block with a break, the week's
//! local days, the spring-forward night, a stale version and the lock horizon.

use std::sync::Arc;

use onair_domain::{
    Channel, ChannelSlug, FixedClock, Ladder, LadderId, OutputFormat, Packaging, Rendition,
    SegmentInfo,
};
use onair_store::{NewChannel, Store};
use serde_json::json;

use super::*;
use crate::grid::GridChange;

/// 12:00:00 UTC on Friday 4 December 2026.
const T0: i64 = 1_796_385_600;

async fn control(zone: chrono_tz::Tz) -> (Control, Channel, LadderId) {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
    let channel = store
        .insert_channel(&NewChannel {
            slug: ChannelSlug::parse("news").unwrap(),
            name: "News".into(),
            time_zone: zone,
            ladder_id: ladder,
            outputs: vec![OutputFormat::HlsTs],
            window_segments: 5,
            grid_repeat: None,
            on_air: true,
        })
        .await
        .unwrap();
    let clock = Arc::new(FixedClock(Timestamp::from_unix_secs(T0)));
    (Control::new(store, clock), channel, ladder)
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

/// A grid with block "Evening" (clip A, a 30 s break, clip B with episode metadata) and template "Nights" placing
/// it at `rule`; returns the schedule version after it.
async fn evening_grid(control: &Control, ladder: LadderId, rule: &str) -> i64 {
    let a = ready_asset(&control.store, ladder, "a", 60).await;
    let b = ready_asset(&control.store, ladder, "b", 120).await;
    let change: GridChange = serde_json::from_value(json!({
        "blocks": {"Evening": {"entries": [
            {"type": "item", "asset_id": a, "info": {"title": "Clip <A>"}},
            {"type": "break", "duration_ms": 30_000},
            {"type": "item", "asset_id": b, "info": {
                "title": "Clip B", "episode_title": "Pilot", "season": 1, "episode": 1,
                "genres": ["Drama"], "rating": {"system": "VCHIP", "value": "TV-14"},
            }},
        ]}},
        "templates": [{"name": "Nights", "slots": [{"rule": rule, "block": "Evening"}]}],
    }))
    .unwrap();
    control
        .edit_grid("news", Some(0), change, None, "tester")
        .await
        .unwrap()
        .version
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// The stored items of the channel as (start, hard, title, breaks as (offset ms, duration ms)).
async fn stored(
    control: &Control,
    channel: &Channel,
) -> Vec<(String, bool, String, Vec<(i64, i64)>)> {
    let breaks = control
        .store
        .ad_breaks_of_channel(channel.id)
        .await
        .unwrap();
    let mut items = control.store.schedule_items(channel.id).await.unwrap();
    items.sort_by_key(|item| item.start);
    items
        .into_iter()
        .map(|item| {
            let own = breaks
                .iter()
                .filter(|ad_break| ad_break.schedule_item_id == item.id)
                .map(|ad_break| (ad_break.offset.as_millis(), ad_break.duration.as_millis()))
                .collect();
            (
                item.start.to_rfc3339_millis(),
                item.hard_start,
                item.title,
                own,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_daily_block_becomes_fourteen_items_of_the_week_in_one_version() {
    let (control, channel, ladder) = control(chrono_tz::UTC).await;
    let version = evening_grid(&control, ladder, "daily 20:00").await;
    let applied = control
        .apply_template(
            "news",
            "Nights",
            date("2026-12-07"),
            Some(version),
            "tester",
        )
        .await
        .unwrap();
    assert_eq!(applied.version, version + 1);
    assert_eq!(applied.added, 14);
    assert!(applied.moved.is_empty(), "{:?}", applied.moved);
    let items = stored(&control, &channel).await;
    assert_eq!(items.len(), 14);
    assert_eq!(
        items[0],
        (
            "2026-12-07T20:00:00.000Z".to_owned(),
            true,
            "Clip <A>".to_owned(),
            vec![(60_000, 30_000)]
        )
    );
    assert_eq!(
        items[1],
        (
            "2026-12-07T20:01:30.000Z".to_owned(),
            false,
            "Clip B".to_owned(),
            vec![]
        )
    );
    assert_eq!(items[13].0, "2026-12-13T20:01:30.000Z");

    // Each applied item lists in the EPG as the template's slot did, from the same version.
    let from = Timestamp::from_unix_secs(T0 + 3 * 86_400);
    let window = control
        .schedule("news", from, from + Ticks::from_secs(86_400))
        .await
        .unwrap();
    let infos: Vec<Option<InfoDoc>> = window
        .items
        .iter()
        .map(|(item, _)| window.info_of(item).cloned())
        .collect();
    let pilot = InfoDoc {
        title: "Clip B".into(),
        episode_title: Some("Pilot".into()),
        season: Some(1),
        episode: Some(1),
        genres: vec!["Drama".into()],
        rating: Some(crate::grid::RatingDoc {
            system: Some("VCHIP".into()),
            value: "TV-14".into(),
        }),
        ..InfoDoc::default()
    };
    assert_eq!(infos, [None, Some(pilot)], "clip A has only its title");
    let metadata = control
        .store
        .latest_grid_document(channel.id, onair_store::grid::GridKind::Metadata)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(metadata.version, applied.version);
    assert_eq!(metadata.body.as_array().unwrap().len(), 7, "one a day");
    // Without a slate the planner closes the gaps, so the whole plan is searched.
    let plan = control
        .preview_plan(
            "news",
            Timestamp::from_unix_secs(T0),
            Timestamp::from_unix_secs(T0 + 14 * 86_400),
        )
        .await
        .unwrap();
    let episodes: Vec<(&str, Option<&str>)> = plan
        .items
        .iter()
        .map(|item| (item.title.as_str(), item.info.episode_title.as_deref()))
        .collect();
    assert!(
        episodes.contains(&("Clip B", Some("Pilot"))),
        "{episodes:?}"
    );
}

#[tokio::test]
async fn a_slot_the_clocks_skip_airs_at_the_end_of_the_gap_and_says_so() {
    let (control, channel, ladder) = control(chrono_tz::Europe::Berlin).await;
    let version = evening_grid(&control, ladder, "Sun 02:30").await;
    let applied = control
        .apply_template(
            "news",
            "Nights",
            date("2027-03-22"),
            Some(version),
            "tester",
        )
        .await
        .unwrap();
    assert_eq!(applied.moved.len(), 1, "{:?}", applied.moved);
    assert!(
        applied.moved[0].contains("02:30 does not exist")
            && applied.moved[0].contains("it airs at 03:00"),
        "{:?}",
        applied.moved
    );
    let items = stored(&control, &channel).await;
    // 03:00 CEST on 28 March 2027.
    assert_eq!(items[0].0, "2027-03-28T01:00:00.000Z");
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn a_stale_version_a_tuesday_and_an_unknown_template_are_refused_and_nothing_is_stored() {
    let (control, channel, ladder) = control(chrono_tz::UTC).await;
    let version = evening_grid(&control, ladder, "daily 20:00").await;
    let stale = control
        .apply_template(
            "news",
            "Nights",
            date("2026-12-07"),
            Some(version - 1),
            "tester",
        )
        .await
        .unwrap_err();
    assert!(matches!(stale, Refusal::Conflict(_)), "{stale:?}");
    let tuesday = control
        .apply_template(
            "news",
            "Nights",
            date("2026-12-08"),
            Some(version),
            "tester",
        )
        .await
        .unwrap_err();
    assert!(
        tuesday.to_string().contains("a week starts on a Monday"),
        "{tuesday}"
    );
    let unknown = control
        .apply_template("news", "Days", date("2026-12-07"), Some(version), "tester")
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("it has Nights"), "{unknown}");
    assert!(stored(&control, &channel).await.is_empty());
}

#[tokio::test]
async fn a_week_that_is_already_airing_is_refused_whole_by_the_lock_horizon() {
    let (control, channel, ladder) = control(chrono_tz::UTC).await;
    let version = evening_grid(&control, ladder, "daily 20:00").await;
    // The week of Friday 4 December: Monday to Thursday evenings are past.
    let refused = control
        .apply_template(
            "news",
            "Nights",
            date("2026-11-30"),
            Some(version),
            "tester",
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Refusal::Locked { .. }), "{refused:?}");
    assert!(stored(&control, &channel).await.is_empty());
}

#[tokio::test]
async fn an_item_already_stored_at_a_slot_is_kept_and_the_overlap_refused_by_its_title() {
    let (control, channel, ladder) = control(chrono_tz::UTC).await;
    let version = evening_grid(&control, ladder, "daily 20:00").await;
    let special = ready_asset(&control.store, ladder, "special", 600).await;
    let version = control
        .replace_schedule(
            "news",
            Some(version),
            "2026-12-09T19:55:00Z",
            "2026-12-09T19:55:01Z",
            &[ItemDraft {
                asset_id: special,
                start: "2026-12-09T19:55:00.000Z".into(),
                hard_start: true,
                title: "Special".into(),
                length_ms: None,
                ad_breaks: Vec::new(),
                info: None,
            }],
            "tester",
        )
        .await
        .unwrap();
    let refused = control
        .apply_template(
            "news",
            "Nights",
            date("2026-12-07"),
            Some(version),
            "tester",
        )
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, Refusal::Invalid(_)), "{text}");
    assert!(text.contains("Wed 2026-12-09 20:00"), "{text}");
    assert_eq!(
        stored(&control, &channel).await.len(),
        1,
        "only the special"
    );
}

#[tokio::test]
async fn an_out_point_in_a_block_becomes_the_applied_items_length() {
    let (control, channel, ladder) = control(chrono_tz::UTC).await;
    let a = ready_asset(&control.store, ladder, "a", 60).await;
    let change: GridChange = serde_json::from_value(json!({
        "blocks": {"Short": {"entries": [
            {"type": "item", "asset_id": a, "out_ms": 40_000, "info": {"title": "Clip A, cut"}},
        ]}},
        "templates": [{"name": "Mornings", "slots": [{"rule": "daily 08:00", "block": "Short"}]}],
    }))
    .unwrap();
    let version = control
        .edit_grid("news", Some(0), change, None, "tester")
        .await
        .unwrap()
        .version;
    control
        .apply_template(
            "news",
            "Mornings",
            date("2026-12-07"),
            Some(version),
            "tester",
        )
        .await
        .unwrap();
    let items = control.store.schedule_items(channel.id).await.unwrap();
    assert_eq!(items.len(), 7);
    assert!(
        items
            .iter()
            .all(|item| item.length == Some(Ticks::from_secs(40))),
        "{items:?}"
    );
}
