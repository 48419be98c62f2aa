//! The asset library on a SQLite store in memory: the listing's notes and jobs, renaming, and
//! where the channels' grids name an asset.

use std::sync::Arc;

use onair_domain::{
    AssetId, ChannelSlug, FixedClock, JobKind, JobState, Ladder, LadderId, OutputFormat,
};
use onair_store::grid::{GridEdit, GridKind};
use onair_store::{NewChannel, Store};
use serde_json::json;

use super::*;

/// 12:00:00 UTC on 4 December 2026.
const T0: i64 = 1_796_385_600;

async fn control() -> (Control, LadderId) {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
    let clock = Arc::new(FixedClock(Timestamp::from_unix_secs(T0)));
    (Control::new(store, clock), ladder)
}

async fn channel(control: &Control, slug: &str, ladder: LadderId) -> onair_domain::Channel {
    control
        .store
        .insert_channel(&NewChannel {
            slug: ChannelSlug::parse(slug).unwrap(),
            name: slug.to_owned(),
            time_zone: chrono_tz::UTC,
            ladder_id: ladder,
            outputs: vec![OutputFormat::HlsTs],
            window_segments: 6,
            grid_repeat: None,
            on_air: true,
        })
        .await
        .unwrap()
}

async fn asset(control: &Control, ladder: LadderId, title: &str) -> AssetId {
    control
        .store
        .insert_asset(title, &format!("/media/{title}.mp4"), ladder)
        .await
        .unwrap()
}

/// Publishes `documents` as the channel's next grid version.
async fn put_grid(
    control: &Control,
    channel: &onair_domain::Channel,
    documents: &[(GridKind, serde_json::Value)],
) {
    let expected = control.store.schedule_version(channel.id).await.unwrap();
    control
        .store
        .publish_grid_edit(&GridEdit {
            channel: channel.id,
            expected_version: expected,
            documents,
            effective_from: Timestamp::from_unix_secs(T0),
            author: "test",
            now: Timestamp::from_unix_secs(T0),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_listing_gives_each_asset_its_failure_and_the_job_working_on_it() {
    let (control, ladder) = control().await;
    let waiting = asset(&control, ladder, "waiting").await;
    let broken = asset(&control, ladder, "broken").await;
    control
        .store
        .fail_asset(broken, "no video stream")
        .await
        .unwrap();
    let payload = json!({ "asset_id": waiting.0 }).to_string();
    let job = control
        .store
        .enqueue_job(
            JobKind::Transcode,
            &payload,
            3,
            Timestamp::from_unix_secs(T0),
        )
        .await
        .unwrap();

    let listed = control.asset_listing(&AssetQuery::default()).await.unwrap();
    assert_eq!(listed.len(), 2);
    let (first, second) = (&listed[0], &listed[1]);
    assert_eq!(first.asset.id, waiting);
    let working = first.job.as_ref().expect("the queued job");
    assert_eq!((working.id, working.state), (job, JobState::Queued));
    assert!(first.created_at.is_some());
    assert_eq!(second.asset.id, broken);
    assert_eq!(second.error.as_deref(), Some("no video stream"));
    assert!(second.job.is_none());

    let detail = control.asset(waiting.0).await.unwrap();
    assert_eq!(detail.job.map(|job| job.id), Some(job));

    let failed = control
        .asset_listing(&AssetQuery {
            state: Some("failed".into()),
            ..AssetQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
}

#[tokio::test]
async fn an_asset_is_renamed_with_its_title_checked() {
    let (control, ladder) = control().await;
    let clip = asset(&control, ladder, "clip").await;
    let renamed = control
        .rename_asset(clip.0, "  Morning show, part 1 ")
        .await
        .unwrap();
    assert_eq!(renamed.title, "Morning show, part 1");

    for (title, problem) in [
        ("   ", "the title is empty: give the asset a title"),
        (
            "two\nlines",
            "the title has control characters (a line break, a tab)",
        ),
        (
            &"x".repeat(MAX_TITLE_CHARS + 1),
            "the title is longer than 200 characters",
        ),
    ] {
        match control.rename_asset(clip.0, title).await {
            Err(Refusal::Invalid(problems)) => {
                assert_eq!(problems.len(), 1);
                assert_eq!(problems[0].field.as_deref(), Some("title"));
                assert_eq!(problems[0].message, problem);
            }
            other => panic!("{title:?}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(
        control.asset(clip.0).await.unwrap().asset.title,
        "Morning show, part 1",
        "a refused title changes nothing"
    );
    assert!(matches!(
        control.rename_asset(9_999, "gone").await,
        Err(Refusal::NotFound(_))
    ));
}

#[tokio::test]
async fn the_grids_that_name_an_asset_are_listed_per_channel_with_their_rights_and_metadata() {
    let (control, ladder) = control().await;
    let clip = asset(&control, ladder, "clip").await;
    let other = asset(&control, ladder, "other").await;
    let news = channel(&control, "news", ladder).await;
    let arts = channel(&control, "arts", ladder).await;
    let quiet = channel(&control, "quiet", ladder).await;
    put_grid(
        &control,
        &news,
        &[
            (
                GridKind::Rights,
                json!([
                    { "asset_id": clip.0, "valid_from": "2026-12-01T00:00:00Z", "valid_until": "2026-12-31T00:00:00Z" },
                    { "asset_id": other.0, "valid_until": "2027-01-01T00:00:00Z" }
                ]),
            ),
            (
                GridKind::Metadata,
                json!([{ "start": "2026-12-05T20:00:00Z", "asset_id": clip.0, "info": { "title": "Clip at eight" } }]),
            ),
        ],
    )
    .await;
    put_grid(
        &control,
        &arts,
        &[(
            GridKind::Fill,
            json!({ "rules": { "night": { "playlist": [other.0, clip.0] } } }),
        )],
    )
    .await;
    put_grid(
        &control,
        &quiet,
        &[(GridKind::Rights, json!([{ "asset_id": other.0 }]))],
    )
    .await;

    let found = control.asset_in_grids(clip.0).await.unwrap();
    let channels: Vec<&str> = found.iter().map(|found| found.channel.as_str()).collect();
    assert_eq!(
        channels,
        ["arts", "news"],
        "by slug; quiet names it nowhere"
    );
    assert_eq!(found[0].paths, [r#"fill.rules["night"]"#]);
    assert!(found[0].rights.is_empty());
    assert_eq!(found[1].paths, ["rights[0]", "metadata[0]"]);
    assert_eq!(
        found[1].rights,
        [RightsDoc {
            asset_id: clip.0,
            valid_from: Some("2026-12-01T00:00:00Z".into()),
            valid_until: Some("2026-12-31T00:00:00Z".into()),
        }]
    );
    assert_eq!(found[1].metadata[0].info.title, "Clip at eight");

    // Deleting it is refused, naming each grid.
    let media = tempfile::tempdir().unwrap();
    match control.delete_asset(clip.0, media.path()).await {
        Err(Refusal::Conflict(message)) => assert!(
            message.contains(
                r#"in the grid: arts fill.rules["night"], news rights[0], news metadata[0]"#
            ),
            "{message}"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_channels_generated_slate_is_not_deleted_while_the_channel_has_no_slate_of_its_own() {
    let (control, ladder) = control().await;
    let media = tempfile::tempdir().unwrap();
    let news = channel(&control, "news", ladder).await;
    let slate = control
        .store
        .insert_asset("Slate", "generated:slate/news", ladder)
        .await
        .unwrap();
    // A slate generated for a channel that is gone is free to go.
    let orphan = control
        .store
        .insert_asset("Slate", "generated:slate/weather", ladder)
        .await
        .unwrap();

    let refused = control.delete_asset(slate.0, media.path()).await;
    assert!(
        matches!(&refused, Err(Refusal::Conflict(message))
            if message.contains("in use and was not deleted")
                && message.contains("slate generated for channel news")),
        "{refused:?}"
    );
    assert!(control.store.asset(slate).await.unwrap().is_some());
    control.delete_asset(orphan.0, media.path()).await.unwrap();

    // With a slate of its own, the generated one airs no more.
    let own = asset(&control, ladder, "own slate").await;
    let rendition = onair_domain::Rendition {
        rung: "360p".into(),
        packaging: onair_domain::Packaging::Ts,
        codecs: "avc1.64001e,mp4a.40.2".into(),
        width: 640,
        height: 360,
        peak_bandwidth: 1_000_000,
        average_bandwidth: 900_000,
        init_path: None,
        segments: vec![onair_domain::SegmentInfo {
            index: 0,
            duration: onair_domain::Ticks::from_secs(2),
            size_bytes: 1000,
            path: format!("assets/{own}/360p/ts/00000.ts"),
        }]
        .into(),
    };
    control
        .store
        .publish_asset(own, onair_domain::Ticks::from_secs(2), &[rendition])
        .await
        .unwrap();
    control
        .store
        .update_channel(
            news.id,
            &onair_store::ChannelChanges {
                slate: Some(Some(own)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    control.delete_asset(slate.0, media.path()).await.unwrap();
}
