//! Schedule edits on a SQLite store in memory: items placed with their ends, and the rights
//! windows new items must air inside.

use std::sync::Arc;

use onair_domain::{
    ChannelSlug, FixedClock, Ladder, LadderId, OutputFormat, Packaging, Rendition, SegmentInfo,
};
use onair_store::grid::{GridEdit, GridKind};
use onair_store::{NewChannel, Store};
use serde_json::json;

use super::*;

/// 12:00:00 UTC on 4 December 2026.
const T0: i64 = 1_796_385_600;

pub(super) fn at(secs_after_t0: i64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs_after_t0)
}

pub(super) async fn control() -> (Control, Channel, LadderId) {
    let store = Store::connect("sqlite::memory:").await.unwrap();
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
    let clock = Arc::new(FixedClock(at(0)));
    (Control::new(store, clock), channel, ladder)
}

pub(super) async fn ready_asset(store: &Store, ladder: LadderId, source: &str, secs: i64) -> i64 {
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

pub(super) fn draft(
    asset_id: i64,
    start: Timestamp,
    title: &str,
    breaks: &[(i64, i64)],
) -> ItemDraft {
    ItemDraft {
        asset_id,
        start: start.to_rfc3339_millis(),
        hard_start: true,
        title: title.into(),
        length_ms: None,
        ad_breaks: breaks
            .iter()
            .map(|&(offset_ms, duration_ms)| BreakDraft {
                offset_ms,
                duration_ms,
            })
            .collect(),
        info: None,
    }
}

pub(super) async fn put(
    control: &Control,
    from: Timestamp,
    to: Timestamp,
    items: &[ItemDraft],
) -> Result<i64, Refusal> {
    let version = control.current_version("news").await.unwrap();
    control
        .replace_schedule(
            "news",
            Some(version),
            &from.to_rfc3339_millis(),
            &to.to_rfc3339_millis(),
            items,
            "test",
        )
        .await
}

async fn put_rights(control: &Control, channel: &Channel, rights: serde_json::Value) {
    let expected = control.store.schedule_version(channel.id).await.unwrap();
    control
        .store
        .publish_grid_edit(&GridEdit {
            channel: channel.id,
            expected_version: expected,
            documents: &[(GridKind::Rights, rights)],
            effective_from: at(0),
            author: "test",
            now: at(0),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn each_item_ends_after_its_asset_and_its_breaks_and_one_airing_into_the_window_is_kept() {
    let (control, _, ladder) = control().await;
    let hour = ready_asset(&control.store, ladder, "hour", 3600).await;
    let short = ready_asset(&control.store, ladder, "short", 60).await;
    put(
        &control,
        at(3600),
        at(4 * 3600),
        &[
            draft(short, at(3600), "Gone before", &[]),
            draft(
                hour,
                at(2 * 3600),
                "Runs into the window",
                &[(600_000, 30_000)],
            ),
            draft(short, at(3 * 3600 + 1800), "Inside", &[(0, 10_000)]),
        ],
    )
    .await
    .unwrap();
    let placed = control
        .placed_schedule("news", at(3 * 3600), at(4 * 3600))
        .await
        .unwrap();
    let seen: Vec<(&str, Timestamp, bool)> = placed
        .items
        .iter()
        .map(|placed_item| {
            (
                placed_item.item.title.as_str(),
                placed_item.end,
                placed_item.started_before(at(3 * 3600)),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Runs into the window", at(3 * 3600 + 30), true),
            ("Inside", at(3 * 3600 + 1800 + 70), false),
        ]
    );
    assert_eq!(placed.version, 1);
    // The demo ladder's 2 s segments × 5, plus the 2-minute margin.
    assert_eq!(placed.lock_horizon, at(130));
}

#[tokio::test]
async fn a_new_item_outside_its_assets_rights_window_is_refused_and_nothing_is_published() {
    let (control, channel, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "film", 600).await;
    let other = ready_asset(&control.store, ladder, "other", 60).await;
    put_rights(
        &control,
        &channel,
        json!([{"asset_id": film, "valid_from": at(3600).to_rfc3339_millis(), "valid_until": at(7200).to_rfc3339_millis()}]),
    )
    .await;
    let version = control.current_version("news").await.unwrap();
    let refused = put(
        &control,
        at(1800),
        at(9000),
        &[
            draft(other, at(1800), "Free", &[]),
            draft(film, at(6900), "Film", &[]),
            draft(film, at(1900), "Too early", &[]),
        ],
    )
    .await
    .unwrap_err();
    let Refusal::Invalid(problems) = refused else {
        panic!("{refused:?}")
    };
    let indexes: Vec<Option<usize>> = problems.iter().map(|problem| problem.index).collect();
    assert_eq!(indexes, [Some(2), Some(1)], "{problems:?}");
    assert!(
        problems[1].message.contains("outside the rights of asset"),
        "{problems:?}"
    );
    assert_eq!(control.current_version("news").await.unwrap(), version);

    put(
        &control,
        at(1800),
        at(9000),
        &[draft(film, at(3600), "Film", &[])],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_item_sent_back_unchanged_passes_though_its_rights_have_narrowed_since() {
    let (control, channel, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "film", 600).await;
    let other = ready_asset(&control.store, ladder, "other", 60).await;
    let kept = draft(film, at(3600), "Film", &[]);
    put(&control, at(0), at(9000), std::slice::from_ref(&kept))
        .await
        .unwrap();
    put_rights(
        &control,
        &channel,
        json!([{"asset_id": film, "valid_until": at(3600).to_rfc3339_millis()}]),
    )
    .await;
    put(
        &control,
        at(0),
        at(9000),
        &[kept.clone(), draft(other, at(5000), "New", &[])],
    )
    .await
    .unwrap();
    let moved = draft(film, at(3700), "Film", &[]);
    assert!(matches!(
        put(&control, at(0), at(9000), &[moved]).await,
        Err(Refusal::Invalid(_))
    ));
}

fn sized(asset_id: i64, start: Timestamp, title: &str, length_ms: Option<i64>) -> ItemDraft {
    ItemDraft {
        length_ms,
        ..draft(
            asset_id,
            start,
            title,
            &[(30_000, 10_000), (100_000, 20_000)],
        )
    }
}

#[tokio::test]
async fn a_resized_item_ends_at_the_boundary_its_length_is_cut_at_without_the_breaks_past_it() {
    let (control, _, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "film", 600).await;
    put(
        &control,
        at(3600),
        at(7200),
        &[
            sized(film, at(3600), "Trimmed", Some(61_500)),
            sized(film, at(5400), "Whole", None),
        ],
    )
    .await
    .unwrap();
    let placed = control
        .placed_schedule("news", at(3600), at(7200))
        .await
        .unwrap();
    let seen: Vec<(Option<Ticks>, Option<Ticks>, Timestamp)> = placed
        .items
        .iter()
        .map(|placed| (placed.item.length, placed.aired, placed.end))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Some(Ticks::from_millis(61_500)),
                Some(Ticks::from_secs(62)),
                at(3600 + 62 + 10)
            ),
            (None, Some(Ticks::from_secs(600)), at(5400 + 600 + 30)),
        ],
        "61.5 s airs as 62 s of 2 s segments, with the break at 30 s and not the one at 100 s"
    );
    let version = control.current_version("news").await.unwrap();
    let kept = control.schedule_version("news", version).await.unwrap();
    assert_eq!(
        kept.items
            .iter()
            .map(|(item, _)| item.length)
            .collect::<Vec<_>>(),
        [Some(Ticks::from_millis(61_500)), None],
        "the published version keeps the length"
    );
    assert_eq!(item_draft(&kept.items[0]).length_ms, Some(61_500));
}

#[tokio::test]
async fn a_length_longer_than_the_asset_zero_or_negative_is_refused_naming_the_item_and_the_field()
{
    let (control, _, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "film", 600).await;
    let version = control.current_version("news").await.unwrap();
    let refused = put(
        &control,
        at(3600),
        at(7200),
        &[
            sized(film, at(3600), "Fits", Some(600_000)),
            sized(film, at(4800), "Too long", Some(600_001)),
            sized(film, at(6000), "Nothing", Some(0)),
            sized(film, at(6600), "Backwards", Some(-1)),
        ],
    )
    .await
    .unwrap_err();
    let Refusal::Invalid(problems) = refused else {
        panic!("{refused:?}")
    };
    let named: Vec<(Option<usize>, Option<&str>)> = problems
        .iter()
        .map(|problem| (problem.index, problem.field.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            (Some(1), Some("length_ms")),
            (Some(2), Some("length_ms")),
            (Some(3), Some("length_ms"))
        ],
        "{problems:?}"
    );
    assert!(
        problems[0].message.contains("\"Too long\"")
            && problems[0].message.contains("longer than asset"),
        "{problems:?}"
    );
    assert!(
        problems[1].message.contains("must be positive"),
        "{problems:?}"
    );
    assert_eq!(control.current_version("news").await.unwrap(), version);
}

#[tokio::test]
async fn a_resize_inside_the_lock_horizon_is_refused_like_a_move_and_one_after_it_published() {
    let (control, _, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "film", 600).await;
    // The horizon is at(130): the first item starts inside it, the second after it.
    let items = [
        sized(film, at(60), "On soon", None),
        sized(film, at(3600), "Later", None),
    ];
    // Published an hour earlier, when both were beyond the horizon.
    let earlier = Control::new(control.store.clone(), Arc::new(FixedClock(at(-3600))));
    put(&earlier, at(0), at(7200), &items).await.unwrap();
    let resized_soon = [
        sized(film, at(60), "On soon", Some(300_000)),
        items[1].clone(),
    ];
    let refused = put(&control, at(0), at(7200), &resized_soon)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Refusal::Locked { horizon, .. } if horizon == at(130)),
        "{refused:?}"
    );
    let resized_later = [
        items[0].clone(),
        sized(film, at(3600), "Later", Some(300_000)),
    ];
    put(&control, at(0), at(7200), &resized_later)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_resized_items_drift_and_its_breaks_problems_are_previewed_in_its_own_window_only() {
    let (control, _, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "film", 600).await;
    put(
        &control,
        at(3600),
        at(7200),
        &[sized(film, at(3600), "Trimmed", Some(61_500))],
    )
    .await
    .unwrap();
    let kinds = |preview: crate::grid::PlanPreview| -> Vec<&'static str> {
        preview
            .problems
            .iter()
            .map(|problem| match problem {
                onair_scheduler::Problem::Plan(issue) => issue.kind(),
                _ => "other",
            })
            .filter(|kind| !["gap_filled", "gap_unfilled"].contains(kind))
            .collect()
    };
    let its_hour = control
        .preview_plan("news", at(3600), at(7200))
        .await
        .unwrap();
    assert_eq!(
        kinds(its_hour),
        [
            "in_out_point_moved",
            "break_past_out_point",
            "break_unfilled"
        ],
        "61.5 s moves to 62 s, the break at 100 s is cut, and the one at 30 s has no slate"
    );
    let the_hour_before = control.preview_plan("news", at(0), at(3600)).await.unwrap();
    assert!(kinds(the_hour_before).is_empty());
}
