//! The asset catalogue on both backends (see `common`): listing and searching assets, what uses
//! one, and deleting one that nothing uses.

use onair_domain::{AssetId, AssetState, JobKind, Ladder, LadderId, Ticks, Timestamp};
use onair_store::{AssetFilter, AssetUse, ChannelPlayoutAssets, Store, StoreError};

use crate::common::{
    aired, at, conflict, demo_ladder, item, new_channel, ready_asset, renditions, secs, slug,
    stored_channel,
};

on_both_backends! {
    assets_are_listed_by_id_filtered_and_paged,
    a_title_search_ignores_case_and_takes_wildcards_literally,
    asset_uses_names_the_items_airing_from_an_instant_and_the_channels_airing_it_between_programmes,
    deleting_an_asset_in_use_is_refused_naming_every_use,
    a_free_asset_is_deleted_with_its_renditions_and_segments_and_its_files_are_returned,
    deleting_an_asset_published_on_anothers_files_returns_none_of_them,
    an_asset_a_transcode_job_works_on_cannot_be_deleted,
    deleting_an_asset_keeps_the_as_run_entries_that_name_it,
    asset_notes_give_each_asset_its_creation_poster_and_failure_in_one_read,
    renaming_an_asset_changes_its_title_only,
    active_jobs_are_the_queued_and_running_ones,
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn titles(assets: &[onair_domain::Asset]) -> Vec<&str> {
    assets.iter().map(|asset| asset.title.as_str()).collect()
}

async fn listed(store: &Store, filter: AssetFilter) -> Vec<String> {
    titles(&store.list_assets(&filter).await.unwrap())
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A processing asset: registered, not transcoded yet.
async fn processing_asset(store: &Store, ladder: LadderId, title: &str) -> AssetId {
    store
        .insert_asset(title, &format!("/media/{title}.mp4"), ladder)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Listing

async fn assets_are_listed_by_id_filtered_and_paged(store: Store) {
    let demo = demo_ladder(&store).await;
    let other = store
        .insert_ladder(&Ladder {
            name: "other".into(),
            ..Ladder::demo()
        })
        .await
        .unwrap();
    let news = ready_asset(&store, demo, "news").await;
    processing_asset(&store, demo, "weather").await;
    let sport = ready_asset(&store, other, "sport").await;
    let failed = processing_asset(&store, demo, "broken").await;
    store.fail_asset(failed, "no video").await.unwrap();
    ready_asset(&store, demo, "music").await;

    let all = store.list_assets(&AssetFilter::default()).await.unwrap();
    assert_eq!(
        titles(&all),
        ["news", "weather", "sport", "broken", "music"]
    );
    assert!(all.iter().all(|asset| asset.renditions.is_empty()));
    assert_eq!(all[0].id, news);
    assert_eq!(all[0].duration, secs(6));
    assert_eq!(all[2].ladder_id, other);

    let ready = AssetFilter {
        state: Some(AssetState::Ready),
        ..AssetFilter::default()
    };
    assert_eq!(
        listed(&store, ready.clone()).await,
        ["news", "sport", "music"]
    );
    let ready_on_demo = AssetFilter {
        ladder: Some(demo),
        ..ready.clone()
    };
    assert_eq!(listed(&store, ready_on_demo).await, ["news", "music"]);
    let failed_only = AssetFilter {
        state: Some(AssetState::Failed),
        ..AssetFilter::default()
    };
    assert_eq!(listed(&store, failed_only).await, ["broken"]);

    // Pages of two, each asking for what comes after the last id of the one before.
    let mut pages = Vec::new();
    let mut after_id = None;
    loop {
        let page = store
            .list_assets(&AssetFilter {
                limit: Some(2),
                after_id,
                ..AssetFilter::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after_id = Some(last.id);
        pages.push(titles(&page).join(","));
    }
    assert_eq!(pages, ["news,weather", "sport,broken", "music"]);
    let ready_after_sport = AssetFilter {
        after_id: Some(sport),
        ..ready
    };
    assert_eq!(listed(&store, ready_after_sport).await, ["music"]);
}

async fn a_title_search_ignores_case_and_takes_wildcards_literally(store: Store) {
    let ladder = demo_ladder(&store).await;
    for title in [
        "Evening News",
        "NEWSROOM",
        "news_flash",
        "newsXflash",
        "100% Music",
        "100 Music",
    ] {
        processing_asset(&store, ladder, title).await;
    }
    let search = |part: &str| AssetFilter {
        title_contains: Some(part.to_owned()),
        ..AssetFilter::default()
    };
    assert_eq!(
        listed(&store, search("news")).await,
        ["Evening News", "NEWSROOM", "news_flash", "newsXflash"]
    );
    assert_eq!(listed(&store, search("S_F")).await, ["news_flash"]);
    assert_eq!(listed(&store, search("100%")).await, ["100% Music"]);
    assert_eq!(listed(&store, search("\\")).await, Vec::<String>::new());
    let first_two = AssetFilter {
        limit: Some(2),
        ..search("NeWs")
    };
    assert_eq!(
        listed(&store, first_two).await,
        ["Evening News", "NEWSROOM"]
    );
}

// ---------------------------------------------------------------------------------------------
// Uses

async fn asset_uses_names_the_items_airing_from_an_instant_and_the_channels_airing_it_between_programmes(
    store: Store,
) {
    let ladder = demo_ladder(&store).await;
    // Six seconds long.
    let clip = ready_asset(&store, ladder, "clip").await;
    let other = ready_asset(&store, ladder, "other").await;
    let news = stored_channel(&store, "news", ladder).await;
    let music = store
        .create_channel(
            &new_channel("music", ladder),
            &ChannelPlayoutAssets {
                slate: Some(clip),
                filler: vec![other],
            },
        )
        .await
        .unwrap();
    store
        .create_channel(
            &new_channel("kids", ladder),
            &ChannelPlayoutAssets {
                slate: None,
                filler: vec![other, clip],
            },
        )
        .await
        .unwrap();
    store
        .replace_schedule(
            news.id,
            &[
                item(clip, at(0), "Morning"),
                item(clip, at(96), "Noon"),
                item(other, at(100), "Other"),
                item(clip, at(200), "Evening"),
            ],
        )
        .await
        .unwrap();
    store
        .replace_schedule(music.id, &[item(clip, at(150), "Clip")])
        .await
        .unwrap();

    let uses = store.asset_uses(clip, at(100)).await.unwrap();
    let items: Vec<(String, Timestamp, String)> = uses
        .iter()
        .filter_map(|used| match used {
            AssetUse::ScheduleItem {
                channel,
                start,
                title,
                ..
            } => Some((channel.to_string(), *start, title.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        items,
        [
            ("news".to_owned(), at(96), "Noon".to_owned()),
            ("music".to_owned(), at(150), "Clip".to_owned()),
            ("news".to_owned(), at(200), "Evening".to_owned()),
        ],
        "the item at 0 ended at 6; the one at 96 still airs at 100"
    );
    let news_items = store.schedule_items(news.id).await.unwrap();
    assert!(matches!(
        &uses[0],
        AssetUse::ScheduleItem { item, .. } if *item == news_items[1].id
    ));
    assert_eq!(
        uses[3..],
        [
            AssetUse::Slate {
                channel: slug("music")
            },
            AssetUse::Filler {
                channel: slug("kids")
            },
        ]
    );
    let at_the_end = store.asset_uses(clip, at(102)).await.unwrap();
    assert_eq!(at_the_end.len(), 4, "Noon ended at 102: {at_the_end:?}");

    assert!(matches!(
        store.asset_uses(AssetId(clip.0 + 100), at(0)).await,
        Err(StoreError::NotFound(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Deleting

async fn deleting_an_asset_in_use_is_refused_naming_every_use(store: Store) {
    let ladder = demo_ladder(&store).await;
    let clip = ready_asset(&store, ladder, "clip").await;
    let news = stored_channel(&store, "news", ladder).await;
    store
        .replace_schedule(
            news.id,
            &[item(clip, at(0), "Past"), item(clip, at(100), "Future")],
        )
        .await
        .unwrap();
    for channel in ["music", "kids"] {
        store
            .create_channel(
                &new_channel(channel, ladder),
                &ChannelPlayoutAssets {
                    slate: Some(clip),
                    filler: vec![clip],
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(
        conflict(store.delete_asset(clip).await),
        format!(
            "asset {clip} (\"clip\") cannot be deleted: 2 schedule items play it (past ones included); \
             it is the slate of channels kids and music; it is in the filler of channels kids and music"
        )
    );
    let asset = store.asset(clip).await.unwrap().expect("still there");
    assert_eq!(
        asset.renditions.len(),
        4,
        "renditions and segments untouched"
    );
    assert!(
        asset
            .renditions
            .iter()
            .all(|rendition| rendition.segments.len() == 3)
    );
}

async fn a_free_asset_is_deleted_with_its_renditions_and_segments_and_its_files_are_returned(
    store: Store,
) {
    let ladder = demo_ladder(&store).await;
    let kept = ready_asset(&store, ladder, "kept").await;
    let clip = processing_asset(&store, ladder, "clip").await;
    let published = renditions(clip, &[2, 2]);
    store
        .publish_asset_with_poster(clip, secs(4), &published, Some("assets/clip/poster.jpg"))
        .await
        .unwrap();

    let deleted = store.delete_asset(clip).await.unwrap();
    assert_eq!((deleted.id, deleted.title.as_str()), (clip, "clip"));
    let mut expected: Vec<String> = published
        .iter()
        .flat_map(|rendition| {
            rendition
                .segments
                .iter()
                .map(|segment| segment.path.clone())
        })
        .collect();
    expected.extend(
        published
            .iter()
            .filter_map(|rendition| rendition.init_path.clone()),
    );
    expected.push("assets/clip/poster.jpg".to_owned());
    assert_eq!(deleted.files, expected);

    assert_eq!(store.asset(clip).await.unwrap(), None);
    assert_eq!(store.assets_by_ids(&[clip, kept]).await.unwrap().len(), 1);
    let kept_asset = store.asset(kept).await.unwrap().unwrap();
    assert_eq!(kept_asset.renditions, renditions(kept, &[2, 2, 2]));
    assert!(matches!(
        store.delete_asset(clip).await,
        Err(StoreError::NotFound(_))
    ));

    // A failed asset has no renditions and no poster: nothing to remove but the row.
    let failed = processing_asset(&store, ladder, "broken").await;
    store.fail_asset(failed, "no video").await.unwrap();
    assert_eq!(
        store.delete_asset(failed).await.unwrap().files,
        Vec::<String>::new()
    );
}

async fn deleting_an_asset_published_on_anothers_files_returns_none_of_them(store: Store) {
    // As the demo's studio channel shares the demo channel's slate: a second asset record
    // published on the first one's renditions.
    let ladder = demo_ladder(&store).await;
    let first = processing_asset(&store, ladder, "slate").await;
    let published = renditions(first, &[2, 2]);
    store
        .publish_asset_with_poster(first, secs(4), &published, Some("assets/slate/poster.jpg"))
        .await
        .unwrap();
    let second = processing_asset(&store, ladder, "studio slate").await;
    store
        .publish_asset(second, secs(4), &published)
        .await
        .unwrap();

    let deleted = store.delete_asset(second).await.unwrap();
    assert_eq!(deleted.files, Vec::<String>::new());
    let first_asset = store.asset(first).await.unwrap().unwrap();
    assert_eq!(first_asset.renditions.len(), published.len());

    let deleted = store.delete_asset(first).await.unwrap();
    assert!(
        deleted
            .files
            .contains(&"assets/slate/poster.jpg".to_owned())
    );
    assert!(deleted.files.len() > published.len(), "{:?}", deleted.files);
}

async fn an_asset_a_transcode_job_works_on_cannot_be_deleted(store: Store) {
    let ladder = demo_ladder(&store).await;
    let clip = processing_asset(&store, ladder, "clip").await;
    let payload = serde_json::json!({ "asset_id": clip.0, "ladder_id": ladder.0 }).to_string();
    let job = store
        .enqueue_job(JobKind::Transcode, &payload, 3, at(0))
        .await
        .unwrap();
    assert_eq!(
        conflict(store.delete_asset(clip).await),
        format!(
            "asset {clip} (\"clip\") cannot be deleted: transcode job {} (queued) works on it",
            job.0
        )
    );
    store
        .claim_job("worker-1", secs(30), at(1))
        .await
        .unwrap()
        .expect("the job");
    assert!(conflict(store.delete_asset(clip).await).ends_with("(running) works on it"));

    store.cancel_job(job, at(2)).await.unwrap();
    let deleted = store.delete_asset(clip).await.unwrap();
    assert_eq!(deleted.files, Vec::<String>::new());
}

async fn deleting_an_asset_keeps_the_as_run_entries_that_name_it(store: Store) {
    let ladder = demo_ladder(&store).await;
    let clip = ready_asset(&store, ladder, "clip").await;
    let news = stored_channel(&store, "news", ladder).await;
    let entry = aired(0, clip);
    store
        .record_as_run(news.id, std::slice::from_ref(&entry), at(10))
        .await
        .unwrap();
    store.delete_asset(clip).await.unwrap();
    assert_eq!(
        store.as_run_between(news.id, at(0), at(10)).await.unwrap(),
        vec![entry],
        "the log keeps the title and the id of what aired"
    );
}

// ---------------------------------------------------------------------------------------------
// What the library shows

async fn asset_notes_give_each_asset_its_creation_poster_and_failure_in_one_read(store: Store) {
    let ladder = demo_ladder(&store).await;
    let postered = processing_asset(&store, ladder, "postered").await;
    store
        .publish_asset_with_poster(
            postered,
            secs(6),
            &renditions(postered, &[2, 2, 2]),
            Some("assets/1/poster.jpg"),
        )
        .await
        .unwrap();
    let failed = processing_asset(&store, ladder, "failed").await;
    store.fail_asset(failed, "no video stream").await.unwrap();
    let waiting = processing_asset(&store, ladder, "waiting").await;

    let notes = store
        .asset_notes(&[postered, failed, waiting, AssetId(9_999)])
        .await
        .unwrap();
    assert_eq!(notes.len(), 3, "a missing id is left out");
    assert_eq!(
        notes[&postered].poster.as_deref(),
        Some("assets/1/poster.jpg")
    );
    assert_eq!(notes[&failed].error.as_deref(), Some("no video stream"));
    assert_eq!(notes[&waiting].poster, None);
    assert_eq!(notes[&waiting].error, None);
    let created = notes[&waiting].created_at;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let now = Timestamp::from_unix_millis(now.as_millis() as i64);
    assert!(
        (now.0 - created.0).abs() < Ticks::from_secs(600).0,
        "stamped by the database clock: {created:?}"
    );
}

async fn renaming_an_asset_changes_its_title_only(store: Store) {
    let ladder = demo_ladder(&store).await;
    let clip = ready_asset(&store, ladder, "clip").await;
    store.rename_asset(clip, "Clip, restored").await.unwrap();
    let renamed = store.asset(clip).await.unwrap().unwrap();
    assert_eq!(renamed.title, "Clip, restored");
    assert_eq!(renamed.state, AssetState::Ready);
    assert!(!renamed.renditions.is_empty(), "its renditions stay");
    assert!(matches!(
        store.rename_asset(AssetId(9_999), "nothing").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn active_jobs_are_the_queued_and_running_ones(store: Store) {
    let ladder = demo_ladder(&store).await;
    let mut jobs = Vec::new();
    for title in ["one", "two", "three"] {
        let asset = processing_asset(&store, ladder, title).await;
        let payload = serde_json::json!({ "asset_id": asset.0 }).to_string();
        jobs.push(
            store
                .enqueue_job(JobKind::Transcode, &payload, 3, at(0))
                .await
                .unwrap(),
        );
    }
    store
        .claim_job("worker-1", secs(30), at(1))
        .await
        .unwrap()
        .expect("the first job");
    store.cancel_job(jobs[2], at(2)).await.unwrap();
    let active: Vec<_> = store
        .active_jobs()
        .await
        .unwrap()
        .iter()
        .map(|job| (job.id, job.state))
        .collect();
    assert_eq!(
        active,
        [
            (jobs[0], onair_domain::JobState::Running),
            (jobs[1], onair_domain::JobState::Queued)
        ]
    );
}
