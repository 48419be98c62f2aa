//! The store's behaviour, one suite run against both backends: every test body takes a freshly
//! migrated [`Store`] and runs twice, as `sqlite::NAME` on a new file in a temporary directory
//! and as `postgres::NAME` in a new schema of the server at `ONAIR_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`). Without a server the PostgreSQL half is
//! skipped with a loud message, unless `CI=true`, where it fails.

use std::collections::HashSet;

use onair_domain::{
    AssetId, AssetState, JobKind, JobState, Ladder, LadderId, OutputFormat, Packaging, Ticks,
};
use onair_store::{NewAdBreak, NewScheduleItem, Store, StoreError};

use crate::common::{at, demo_ladder, item, new_channel, ready_asset, renditions, secs, slug};

on_both_backends! {
    migrating_twice_is_a_no_op,
    a_ladder_round_trips_with_its_rungs_in_order,
    a_duplicate_ladder_name_is_a_conflict,
    a_ladder_that_does_not_validate_is_refused_with_every_problem_and_not_stored,
    a_channel_round_trips,
    a_duplicate_slug_is_a_conflict,
    a_channel_on_a_missing_ladder_is_not_found,
    a_published_asset_round_trips_with_renditions_and_segments_in_order,
    assets_by_ids_keeps_the_order_asked_for_and_skips_missing_ids,
    an_asset_read_again_shares_its_segment_lists_with_the_copy_still_held,
    an_asset_published_under_a_deleted_assets_id_reads_its_own_segments,
    a_duplicate_segment_index_publishes_nothing,
    a_duplicate_rendition_rolls_back_everything_already_written,
    only_a_processing_asset_can_be_published_or_failed,
    replacing_a_schedule_bumps_the_version_and_swaps_every_item,
    a_failed_schedule_replacement_changes_nothing,
    adding_an_ad_break_bumps_the_schedule_version,
    concurrent_claims_never_share_a_job,
    an_expired_lease_is_reclaimed_by_another_worker,
    heartbeats_extend_the_lease_and_report_progress,
    a_job_out_of_attempts_fails_with_a_reason,
    a_failed_attempt_is_retried_until_attempts_run_out,
    a_cancelled_job_is_never_claimed_and_its_worker_is_told,
    a_job_claimed_by_id_is_that_job_and_only_when_claimable,
    concurrent_claims_by_id_give_the_job_to_one_worker,
    expired_jobs_out_of_attempts_are_failed_and_returned,
    giving_up_fails_a_job_with_attempts_left,
    a_released_job_is_queued_again_without_counting_the_attempt,
    the_attempt_that_ends_a_job_fails_its_asset_in_the_same_step,
}

// ---------------------------------------------------------------------------------------------
// Schema and ladders

async fn migrating_twice_is_a_no_op(store: Store) {
    let ladder = demo_ladder(&store).await;
    store
        .migrate()
        .await
        .expect("the second migration is a no-op");
    store.migrate().await.expect("and so is the third");
    assert_eq!(store.ladder(ladder).await.unwrap().unwrap().name, "demo");
}

async fn a_ladder_round_trips_with_its_rungs_in_order(store: Store) {
    let id = demo_ladder(&store).await;
    let expected = Ladder {
        id,
        ..Ladder::demo()
    };
    assert_eq!(store.ladder(id).await.unwrap(), Some(expected.clone()));
    assert_eq!(
        store.ladder_by_name("demo").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.ladders().await.unwrap(), vec![expected]);
    assert_eq!(
        store.ladder_names().await.unwrap(),
        vec![(id, "demo".to_owned())]
    );
    assert_eq!(store.ladder(LadderId(id.0 + 1)).await.unwrap(), None);
    assert_eq!(store.ladder_by_name("nope").await.unwrap(), None);
}

async fn a_duplicate_ladder_name_is_a_conflict(store: Store) {
    demo_ladder(&store).await;
    let error = store.insert_ladder(&Ladder::demo()).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert_eq!(error.to_string(), "a ladder named \"demo\" already exists");
}

async fn a_ladder_that_does_not_validate_is_refused_with_every_problem_and_not_stored(
    store: Store,
) {
    let mut ladder = Ladder::demo();
    ladder.audio_sample_rate = 44_100;
    ladder.rungs[1].h264_level_idc = 7;
    let error = store.insert_ladder(&ladder).await.unwrap_err();
    assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "ladder \"demo\": audio 44100 Hz x 2 channels: it must be 48000 Hz stereo; \
         rung 240p has H.264 level_idc 7, which is no level"
    );
    assert_eq!(store.ladders().await.unwrap(), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Channels

async fn a_channel_round_trips(store: Store) {
    let ladder = demo_ladder(&store).await;
    let created = store
        .insert_channel(&new_channel("news-24", ladder))
        .await
        .unwrap();
    let mut plain = new_channel("plain", ladder);
    plain.grid_repeat = None;
    plain.outputs = vec![OutputFormat::HlsFmp4];
    plain.on_air = true;
    let second = store.insert_channel(&plain).await.unwrap();

    let read = store
        .channel_by_slug(&slug("news-24"))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(read, created);
    assert_eq!(read.time_zone, chrono_tz::Europe::Paris);
    assert_eq!(read.outputs, vec![OutputFormat::HlsTs, OutputFormat::Dash]);
    assert_eq!(read.grid_repeat, Some(Ticks::from_secs(86_400)));
    assert!(!read.on_air);
    assert_eq!(
        store.channel(second.id).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.channels().await.unwrap(),
        vec![created.clone(), second.clone()]
    );
    assert_eq!(store.channel_by_slug(&slug("missing")).await.unwrap(), None);

    store.set_channel_on_air(created.id, true).await.unwrap();
    assert!(store.channel(created.id).await.unwrap().unwrap().on_air);
    store.set_channel_on_air(second.id, false).await.unwrap();
    assert!(!store.channel(second.id).await.unwrap().unwrap().on_air);
    let missing = onair_domain::ChannelId(second.id.0 + 100);
    assert!(matches!(
        store.set_channel_on_air(missing, true).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .set_channel_outputs(second.id, &[OutputFormat::HlsTs, OutputFormat::Dash])
        .await
        .unwrap();
    assert_eq!(
        store.channel(second.id).await.unwrap().unwrap().outputs,
        vec![OutputFormat::HlsTs, OutputFormat::Dash]
    );
    assert!(matches!(
        store.set_channel_outputs(missing, &[]).await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(
        store.schedule_versions().await.unwrap(),
        vec![(created.id, 0), (second.id, 0)]
    );
}

async fn a_duplicate_slug_is_a_conflict(store: Store) {
    let ladder = demo_ladder(&store).await;
    store
        .insert_channel(&new_channel("demo", ladder))
        .await
        .unwrap();
    let error = store
        .insert_channel(&new_channel("demo", ladder))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "a channel with slug \"demo\" already exists"
    );
    assert_eq!(store.channels().await.unwrap().len(), 1);
}

async fn a_channel_on_a_missing_ladder_is_not_found(store: Store) {
    let error = store
        .insert_channel(&new_channel("orphan", LadderId(999)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound(_)),
        "foreign keys are enforced: {error:?}"
    );
    assert_eq!(error.to_string(), "ladder 999 not found");
}

// ---------------------------------------------------------------------------------------------
// Assets

async fn a_published_asset_round_trips_with_renditions_and_segments_in_order(store: Store) {
    let ladder = demo_ladder(&store).await;
    let id = store
        .insert_asset("Big Buck Bunny", "/media/bbb.mp4", ladder)
        .await
        .unwrap();
    let processing = store.asset(id).await.unwrap().expect("stored");
    assert_eq!(processing.state, AssetState::Processing);
    assert!(processing.renditions.is_empty());

    // Many segments, to cross the multi-row insert batches.
    let durations: Vec<i64> = std::iter::repeat_n(2, 450).chain([1]).collect();
    let total = secs(durations.iter().sum());
    let published = renditions(id, &durations);
    assert_eq!(store.asset_poster(id).await.unwrap(), None);
    store
        .publish_asset_with_poster(id, total, &published, Some("assets/1/poster.jpg"))
        .await
        .unwrap();
    assert_eq!(
        store.asset_poster(id).await.unwrap().as_deref(),
        Some("assets/1/poster.jpg"),
        "the poster is recorded with the renditions"
    );

    let asset = store.asset(id).await.unwrap().expect("stored");
    assert_eq!(asset.state, AssetState::Ready);
    assert_eq!(asset.duration, total);
    assert_eq!(
        (asset.title.as_str(), asset.source.as_str(), asset.ladder_id),
        ("Big Buck Bunny", "/media/bbb.mp4", ladder)
    );
    assert_eq!(asset.renditions, published);
    assert_eq!(asset.segment_durations().len(), 451);
    assert_eq!(
        asset
            .rendition("240p", Packaging::Cmaf)
            .unwrap()
            .init_path
            .as_deref(),
        Some(&*format!("assets/{id}/240p/cmaf/init.mp4"))
    );

    let again = store
        .insert_asset("Big Buck Bunny, again", "/media/bbb.mp4", ladder)
        .await
        .unwrap();
    let latest = store
        .asset_by_source("/media/bbb.mp4")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!((latest.id, latest.state), (again, AssetState::Processing));
    assert_eq!(
        store.asset_by_source("/media/none.mp4").await.unwrap(),
        None
    );
    assert_eq!(store.asset(AssetId(again.0 + 1)).await.unwrap(), None);
}

async fn assets_by_ids_keeps_the_order_asked_for_and_skips_missing_ids(store: Store) {
    let ladder = demo_ladder(&store).await;
    let first = ready_asset(&store, ladder, "first").await;
    let second = ready_asset(&store, ladder, "second").await;
    let processing = store
        .insert_asset("third", "/media/third.mp4", ladder)
        .await
        .unwrap();
    let asked = [second, AssetId(12_345), first, processing, second];
    let assets = store.assets_by_ids(&asked).await.unwrap();
    let ids: Vec<AssetId> = assets.iter().map(|asset| asset.id).collect();
    assert_eq!(ids, vec![second, first, processing]);
    assert_eq!(assets[0].renditions, renditions(second, &[2, 2, 2]));
    assert!(assets[2].renditions.is_empty());
    assert!(store.assets_by_ids(&[]).await.unwrap().is_empty());
}

async fn an_asset_read_again_shares_its_segment_lists_with_the_copy_still_held(store: Store) {
    let ladder = demo_ladder(&store).await;
    let id = ready_asset(&store, ladder, "news").await;
    let first = store.asset(id).await.unwrap().unwrap();
    let again = store.assets_by_ids(&[id]).await.unwrap().remove(0);
    assert_eq!(first, again);
    for (held, read) in first.renditions.iter().zip(&again.renditions) {
        assert!(
            std::sync::Arc::ptr_eq(&held.segments, &read.segments),
            "{} {:?}: one list, not a second copy",
            read.rung,
            read.packaging
        );
    }
    drop((first, again));
    let alone = store.asset(id).await.unwrap().unwrap();
    assert_eq!(alone.renditions, renditions(id, &[2, 2, 2]), "read afresh");
}

async fn an_asset_published_under_a_deleted_assets_id_reads_its_own_segments(store: Store) {
    let ladder = demo_ladder(&store).await;
    let old = ready_asset(&store, ladder, "old").await;
    let held = store.asset(old).await.unwrap().unwrap();
    store.delete_asset(old).await.unwrap();
    // SQLite gives the highest deleted id to the next row; PostgreSQL never does.
    let new = store
        .insert_asset("new", "/media/new.mp4", ladder)
        .await
        .unwrap();
    store
        .publish_asset(new, secs(8), &renditions(new, &[4, 4]))
        .await
        .unwrap();
    let read = store.asset(new).await.unwrap().unwrap();
    assert_eq!(read.renditions, renditions(new, &[4, 4]));
    assert_eq!(held.renditions, renditions(old, &[2, 2, 2]), "untouched");
}

async fn a_duplicate_segment_index_publishes_nothing(store: Store) {
    let ladder = demo_ladder(&store).await;
    let id = store
        .insert_asset("clip", "/media/clip.mp4", ladder)
        .await
        .unwrap();
    let mut broken = renditions(id, &[2, 2, 2]);
    std::sync::Arc::make_mut(&mut broken[2].segments)[2].index = 1;

    let error = store.publish_asset(id, secs(6), &broken).await.unwrap_err();
    assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
    assert!(
        error.to_string().contains("lists segment 1 twice"),
        "{error}"
    );

    let asset = store.asset(id).await.unwrap().unwrap();
    assert_eq!(asset.state, AssetState::Processing);
    assert!(
        asset.renditions.is_empty(),
        "the renditions before the broken one were rolled back"
    );
    assert_eq!(asset.duration, Ticks::ZERO);

    store
        .publish_asset(id, secs(6), &renditions(id, &[2, 2, 2]))
        .await
        .expect("a correct publish still works");
    assert_eq!(store.asset(id).await.unwrap().unwrap().renditions.len(), 4);
}

async fn a_duplicate_rendition_rolls_back_everything_already_written(store: Store) {
    let ladder = demo_ladder(&store).await;
    let id = store
        .insert_asset("clip", "/media/clip.mp4", ladder)
        .await
        .unwrap();
    let mut twice = renditions(id, &[2, 2]);
    twice.push(twice[0].clone());

    let error = store.publish_asset(id, secs(4), &twice).await.unwrap_err();
    assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
    assert!(
        error.to_string().contains("lists rendition 360p/ts twice"),
        "{error}"
    );
    let asset = store.asset(id).await.unwrap().unwrap();
    assert_eq!(
        (asset.state, asset.renditions.len()),
        (AssetState::Processing, 0)
    );
}

async fn only_a_processing_asset_can_be_published_or_failed(store: Store) {
    let ladder = demo_ladder(&store).await;
    let ready = ready_asset(&store, ladder, "ready").await;
    let error = store
        .publish_asset(ready, secs(6), &renditions(ready, &[2, 2, 2]))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert_eq!(
        store.asset(ready).await.unwrap().unwrap().renditions.len(),
        4,
        "nothing was added"
    );
    assert!(matches!(
        store.fail_asset(ready, "late").await,
        Err(StoreError::Conflict(_))
    ));

    let doomed = store
        .insert_asset("doomed", "/media/doomed.mp4", ladder)
        .await
        .unwrap();
    store
        .fail_asset(doomed, "the source has no video track")
        .await
        .unwrap();
    assert_eq!(
        store.asset(doomed).await.unwrap().unwrap().state,
        AssetState::Failed
    );
    assert_eq!(
        store.asset_error(doomed).await.unwrap().as_deref(),
        Some("the source has no video track")
    );
    assert!(matches!(
        store
            .publish_asset(doomed, secs(6), &renditions(doomed, &[2, 2, 2]))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let missing = AssetId(doomed.0 + 100);
    assert!(matches!(
        store
            .publish_asset(missing, secs(2), &renditions(missing, &[2]))
            .await,
        Err(StoreError::NotFound(_))
    ));

    let fresh = store
        .insert_asset("fresh", "/media/fresh.mp4", ladder)
        .await
        .unwrap();
    let error = store
        .publish_asset(fresh, secs(5), &renditions(fresh, &[2, 2]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Invalid(_)),
        "segments that do not add up: {error:?}"
    );
    assert!(matches!(
        store.publish_asset(fresh, secs(4), &[]).await,
        Err(StoreError::Invalid(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Schedule

async fn replacing_a_schedule_bumps_the_version_and_swaps_every_item(store: Store) {
    let ladder = demo_ladder(&store).await;
    let channel = store
        .insert_channel(&new_channel("demo", ladder))
        .await
        .unwrap();
    let other = store
        .insert_channel(&new_channel("other", ladder))
        .await
        .unwrap();
    let a = ready_asset(&store, ladder, "a").await;
    let b = ready_asset(&store, ladder, "b").await;

    let breaks_of_a = vec![
        NewAdBreak {
            offset: secs(2),
            duration: secs(30),
        },
        NewAdBreak {
            offset: Ticks::ZERO,
            duration: secs(15),
        },
    ];
    let first = vec![
        (item(b, at(200), "B at 200"), Vec::new()),
        (item(a, at(100), "A at 100"), breaks_of_a),
        (
            NewScheduleItem {
                hard_start: false,
                ..item(b, at(106), "B after A")
            },
            Vec::new(),
        ),
    ];
    let version = store
        .replace_schedule_with_ad_breaks(channel.id, &first)
        .await
        .unwrap();
    assert_eq!(version, 1);
    store
        .replace_schedule(other.id, &[item(a, at(0), "other")])
        .await
        .unwrap();

    let items = store.schedule_items(channel.id).await.unwrap();
    let titles: Vec<&str> = items.iter().map(|item| item.title.as_str()).collect();
    assert_eq!(titles, ["A at 100", "B after A", "B at 200"]);
    assert_eq!(
        (items[0].asset_id, items[0].start, items[0].hard_start),
        (a, at(100), true)
    );
    assert!(!items[1].hard_start);
    assert!(items.iter().all(|item| item.channel_id == channel.id));
    let breaks = store.ad_breaks(items[0].id).await.unwrap();
    let offsets: Vec<(Ticks, Ticks)> = breaks
        .iter()
        .map(|ad_break| (ad_break.offset, ad_break.duration))
        .collect();
    assert_eq!(offsets, vec![(Ticks::ZERO, secs(15)), (secs(2), secs(30))]);
    assert_eq!(
        store.ad_breaks_of_channel(channel.id).await.unwrap(),
        breaks,
        "a channel's breaks come in one query, by item and offset"
    );
    assert!(
        store
            .ad_breaks_of_channel(other.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        breaks
            .iter()
            .all(|ad_break| ad_break.schedule_item_id == items[0].id)
    );

    assert_eq!(
        store
            .ad_breaks_between(channel.id, at(100), at(101))
            .await
            .unwrap(),
        breaks,
        "a window's breaks are those of the items starting in it"
    );
    assert!(
        store
            .ad_breaks_between(channel.id, at(101), at(300))
            .await
            .unwrap()
            .is_empty()
    );
    let between = store
        .schedule_items_between(channel.id, at(100), at(200))
        .await
        .unwrap();
    assert_eq!(
        between
            .iter()
            .map(|item| item.title.as_str())
            .collect::<Vec<_>>(),
        ["A at 100", "B after A"]
    );

    let second = vec![item(a, at(500), "A at 500")];
    assert_eq!(
        store.replace_schedule(channel.id, &second).await.unwrap(),
        2
    );
    let items_after = store.schedule_items(channel.id).await.unwrap();
    assert_eq!(
        items_after
            .iter()
            .map(|item| item.title.as_str())
            .collect::<Vec<_>>(),
        ["A at 500"]
    );
    assert!(
        store.ad_breaks(items[0].id).await.unwrap().is_empty(),
        "the old items' ad breaks went with them"
    );
    assert_eq!(
        store.schedule_items(other.id).await.unwrap().len(),
        1,
        "other channels are untouched"
    );

    assert_eq!(store.replace_schedule(channel.id, &[]).await.unwrap(), 3);
    assert!(store.schedule_items(channel.id).await.unwrap().is_empty());
    assert_eq!(
        store.schedule_versions().await.unwrap(),
        vec![(channel.id, 3), (other.id, 1)]
    );
    let missing = onair_domain::ChannelId(other.id.0 + 100);
    assert!(matches!(
        store.replace_schedule(missing, &[]).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn a_failed_schedule_replacement_changes_nothing(store: Store) {
    let ladder = demo_ladder(&store).await;
    let channel = store
        .insert_channel(&new_channel("demo", ladder))
        .await
        .unwrap();
    let ready = ready_asset(&store, ladder, "ready").await;
    let processing = store
        .insert_asset("processing", "/media/p.mp4", ladder)
        .await
        .unwrap();
    let kept = (
        item(ready, at(0), "kept"),
        vec![NewAdBreak {
            offset: Ticks::ZERO,
            duration: secs(10),
        }],
    );
    let version = store
        .replace_schedule_with_ad_breaks(channel.id, &[kept])
        .await
        .unwrap();
    assert_eq!(version, 1);
    let before = store.schedule_items(channel.id).await.unwrap();

    let unready = vec![
        item(ready, at(10), "fine"),
        item(processing, at(20), "not ready"),
    ];
    let error = store
        .replace_schedule(channel.id, &unready)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("only ready assets can be scheduled"),
        "{error}"
    );

    let missing = vec![
        item(ready, at(10), "fine"),
        item(AssetId(9_999), at(20), "ghost"),
    ];
    assert!(matches!(
        store.replace_schedule(channel.id, &missing).await,
        Err(StoreError::Invalid(_))
    ));

    let bad_break = (
        item(ready, at(10), "bad break"),
        vec![NewAdBreak {
            offset: Ticks::ZERO,
            duration: Ticks::ZERO,
        }],
    );
    assert!(matches!(
        store
            .replace_schedule_with_ad_breaks(channel.id, &[bad_break])
            .await,
        Err(StoreError::Invalid(_))
    ));

    assert_eq!(store.schedule_items(channel.id).await.unwrap(), before);
    assert_eq!(store.ad_breaks(before[0].id).await.unwrap().len(), 1);
    assert_eq!(
        store.schedule_versions().await.unwrap(),
        vec![(channel.id, 1)]
    );
}

async fn adding_an_ad_break_bumps_the_schedule_version(store: Store) {
    let ladder = demo_ladder(&store).await;
    let channel = store
        .insert_channel(&new_channel("demo", ladder))
        .await
        .unwrap();
    let asset = ready_asset(&store, ladder, "a").await;
    store
        .replace_schedule(channel.id, &[item(asset, at(0), "a")])
        .await
        .unwrap();
    let item_id = store.schedule_items(channel.id).await.unwrap()[0].id;

    let added = store
        .insert_ad_break(item_id, secs(4), secs(60))
        .await
        .unwrap();
    assert_eq!(
        (added.schedule_item_id, added.offset, added.duration),
        (item_id, secs(4), secs(60))
    );
    assert_eq!(store.ad_breaks(item_id).await.unwrap(), vec![added]);
    assert_eq!(
        store.schedule_versions().await.unwrap(),
        vec![(channel.id, 2)]
    );

    let missing = onair_domain::ScheduleItemId(item_id.0 + 100);
    assert!(matches!(
        store.insert_ad_break(missing, secs(0), secs(10)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.insert_ad_break(item_id, secs(-1), secs(10)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.schedule_versions().await.unwrap(),
        vec![(channel.id, 2)]
    );
}

// ---------------------------------------------------------------------------------------------
// Jobs

const LEASE: Ticks = Ticks::from_secs(60);

async fn concurrent_claims_never_share_a_job(store: Store) {
    let mut queued = Vec::new();
    for n in 0..12 {
        queued.push(
            store
                .enqueue_job(JobKind::Transcode, &format!("{{\"n\":{n}}}"), 3, at(0))
                .await
                .unwrap(),
        );
    }
    let mut claimers = Vec::new();
    for worker in 0..24 {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            while let Some(job) = store
                .claim_job(&format!("worker-{worker}"), LEASE, at(1))
                .await
                .unwrap()
            {
                assert_eq!((job.state, job.attempts), (JobState::Running, 1));
                claimed.push(job.id);
            }
            claimed
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "a job was claimed twice: {all:?}"
    );
    all.sort();
    assert_eq!(all, queued, "every job was claimed exactly once");
}

async fn an_expired_lease_is_reclaimed_by_another_worker(store: Store) {
    let id = store
        .enqueue_job(JobKind::Transcode, "{}", 3, at(0))
        .await
        .unwrap();
    let first = store
        .claim_job("crashed", LEASE, at(0))
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(first.id, id);
    assert_eq!(
        store.claim_job("rescuer", LEASE, at(59)).await.unwrap(),
        None,
        "the lease still holds"
    );

    let second = store
        .claim_job("rescuer", LEASE, at(60))
        .await
        .unwrap()
        .expect("the expired lease is reclaimed");
    assert_eq!(
        (second.id, second.state, second.attempts),
        (id, JobState::Running, 2)
    );
    assert_eq!(second.updated_at, at(60));

    let lost = store
        .heartbeat_job(id, "crashed", 50, "", at(61), at(121))
        .await
        .unwrap_err();
    assert!(matches!(lost, StoreError::Conflict(_)), "{lost:?}");
    assert!(
        lost.to_string().contains("held by worker \"rescuer\""),
        "{lost}"
    );
    assert!(matches!(
        store.finish_job(id, "crashed", Ok(()), at(62)).await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(
        store
            .finish_job(id, "rescuer", Ok(()), at(70))
            .await
            .unwrap(),
        JobState::Succeeded
    );
    let done = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.progress_percent, done.error),
        (JobState::Succeeded, 100, None)
    );
    assert_eq!(
        store.claim_job("rescuer", LEASE, at(1_000)).await.unwrap(),
        None,
        "a finished job stays finished"
    );
}

async fn heartbeats_extend_the_lease_and_report_progress(store: Store) {
    let id = store
        .enqueue_job(JobKind::Transcode, "{\"source\":\"a.mp4\"}", 3, at(0))
        .await
        .unwrap();
    store
        .claim_job("w", LEASE, at(0))
        .await
        .unwrap()
        .expect("claimed");
    store
        .heartbeat_job(id, "w", 40, "frame 1000\nframe 2000", at(50), at(110))
        .await
        .unwrap();
    assert_eq!(
        store.claim_job("other", LEASE, at(100)).await.unwrap(),
        None,
        "the heartbeat extended the lease"
    );

    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (job.progress_percent, job.updated_at, job.created_at),
        (40, at(50), at(0))
    );
    assert_eq!(job.payload, "{\"source\":\"a.mp4\"}");
    assert_eq!(
        store.job_log_tail(id).await.unwrap(),
        "frame 1000\nframe 2000"
    );
    assert_eq!(store.recent_jobs(10).await.unwrap(), vec![job]);
    assert_eq!(
        store.job(onair_domain::JobId(id.0 + 1)).await.unwrap(),
        None
    );
}

async fn a_job_out_of_attempts_fails_with_a_reason(store: Store) {
    let id = store
        .enqueue_job(JobKind::Transcode, "{}", 2, at(0))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_job("w1", LEASE, at(0))
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1
    );
    assert_eq!(
        store
            .claim_job("w2", LEASE, at(100))
            .await
            .unwrap()
            .unwrap()
            .attempts,
        2
    );

    assert_eq!(
        store.claim_job("w3", LEASE, at(200)).await.unwrap(),
        None,
        "no third attempt"
    );
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.attempts, job.updated_at),
        (JobState::Failed, 2, at(200))
    );
    let reason = job.error.expect("a reason");
    assert!(
        reason.contains("gave up after 2 attempts") && reason.contains("w2"),
        "{reason}"
    );
}

async fn a_failed_attempt_is_retried_until_attempts_run_out(store: Store) {
    let id = store
        .enqueue_job(JobKind::Transcode, "{}", 2, at(0))
        .await
        .unwrap();
    store.claim_job("w", LEASE, at(0)).await.unwrap().unwrap();
    assert_eq!(
        store
            .finish_job(id, "w", Err("ffmpeg crashed".into()), at(1))
            .await
            .unwrap(),
        JobState::Queued
    );
    let retry = store
        .claim_job("w", LEASE, at(2))
        .await
        .unwrap()
        .expect("retried");
    assert_eq!(
        (retry.attempts, retry.error.as_deref()),
        (2, Some("ffmpeg crashed"))
    );
    assert_eq!(
        store
            .finish_job(id, "w", Err("ffmpeg crashed again".into()), at(3))
            .await
            .unwrap(),
        JobState::Failed
    );
    assert_eq!(store.claim_job("w", LEASE, at(4)).await.unwrap(), None);
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.error.as_deref()),
        (JobState::Failed, Some("ffmpeg crashed again"))
    );
    assert!(matches!(
        store.enqueue_job(JobKind::Transcode, "{}", 0, at(0)).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn a_cancelled_job_is_never_claimed_and_its_worker_is_told(store: Store) {
    let queued = store
        .enqueue_job(JobKind::Transcode, "{}", 3, at(0))
        .await
        .unwrap();
    let running = store
        .enqueue_job(JobKind::Transcode, "{}", 3, at(0))
        .await
        .unwrap();
    store.cancel_job(queued, at(1)).await.unwrap();
    let claimed = store
        .claim_job("w", LEASE, at(2))
        .await
        .unwrap()
        .expect("the other job");
    assert_eq!(claimed.id, running);
    store.cancel_job(running, at(3)).await.unwrap();

    let told = store
        .heartbeat_job(running, "w", 10, "", at(4), at(64))
        .await
        .unwrap_err();
    assert!(matches!(told, StoreError::Conflict(_)), "{told:?}");
    assert!(told.to_string().contains("cancelled"), "{told}");
    assert_eq!(store.claim_job("w", LEASE, at(1_000)).await.unwrap(), None);
    assert!(matches!(
        store.cancel_job(running, at(5)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .cancel_job(onair_domain::JobId(running.0 + 100), at(5))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.job(queued).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
}

async fn a_job_claimed_by_id_is_that_job_and_only_when_claimable(store: Store) {
    let first = store
        .enqueue_job(JobKind::Transcode, "{\"n\":1}", 2, at(0))
        .await
        .unwrap();
    let second = store
        .enqueue_job(JobKind::Transcode, "{\"n\":2}", 2, at(0))
        .await
        .unwrap();
    let claimed = store
        .claim_job_by_id(second, "local", LEASE, at(1))
        .await
        .unwrap()
        .expect("the job asked for, though an older one is queued");
    assert_eq!(
        (claimed.id, claimed.state, claimed.attempts),
        (second, JobState::Running, 1)
    );
    assert_eq!(
        store
            .claim_job_by_id(second, "other", LEASE, at(2))
            .await
            .unwrap(),
        None,
        "held under a live lease"
    );
    let taken_over = store
        .claim_job_by_id(second, "other", LEASE, at(61))
        .await
        .unwrap()
        .expect("an expired lease is taken over");
    assert_eq!(taken_over.attempts, 2);
    store
        .finish_job(second, "other", Ok(()), at(62))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_job_by_id(second, "local", LEASE, at(63))
            .await
            .unwrap(),
        None,
        "finished"
    );
    assert_eq!(
        store
            .claim_job_by_id(onair_domain::JobId(second.0 + 100), "local", LEASE, at(63))
            .await
            .unwrap(),
        None,
        "missing"
    );
    assert!(matches!(
        store
            .claim_job_by_id(first, "local", Ticks(0), at(63))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.job(first).await.unwrap().unwrap().state,
        JobState::Queued,
        "the other job was left alone"
    );
}

async fn concurrent_claims_by_id_give_the_job_to_one_worker(store: Store) {
    let id = store
        .enqueue_job(JobKind::Transcode, "{}", 3, at(0))
        .await
        .unwrap();
    let mut claimers = Vec::new();
    for worker in 0..16 {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            store
                .claim_job_by_id(id, &format!("worker-{worker}"), LEASE, at(1))
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for claimer in claimers {
        if let Some(job) = claimer.await.unwrap() {
            assert_eq!(job.attempts, 1);
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one claim wins");
}

async fn expired_jobs_out_of_attempts_are_failed_and_returned(store: Store) {
    let spent = store
        .enqueue_job(JobKind::Transcode, "{\"asset\":7}", 1, at(0))
        .await
        .unwrap();
    let retried = store
        .enqueue_job(JobKind::Transcode, "{}", 2, at(0))
        .await
        .unwrap();
    store.claim_job("w1", LEASE, at(0)).await.unwrap().unwrap();
    store.claim_job("w2", LEASE, at(0)).await.unwrap().unwrap();
    assert_eq!(store.fail_expired_jobs(at(59)).await.unwrap(), vec![]);

    let failed = store.fail_expired_jobs(at(60)).await.unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        (failed[0].id, failed[0].state, failed[0].payload.as_str()),
        (spent, JobState::Failed, "{\"asset\":7}")
    );
    let reason = failed[0].error.as_deref().unwrap();
    assert!(
        reason.contains("gave up after 1 attempts") && reason.contains("w1"),
        "{reason}"
    );
    assert_eq!(
        store.fail_expired_jobs(at(61)).await.unwrap(),
        vec![],
        "only once"
    );
    assert_eq!(
        store.job(retried).await.unwrap().unwrap().state,
        JobState::Running,
        "a job with attempts left waits for a claim"
    );
}

async fn giving_up_fails_a_job_with_attempts_left(store: Store) {
    let id = store
        .enqueue_job(JobKind::Transcode, "{}", 5, at(0))
        .await
        .unwrap();
    store.claim_job("w", LEASE, at(0)).await.unwrap().unwrap();
    assert!(matches!(
        store.give_up_job(id, "intruder", "not mine", at(1)).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .give_up_job(id, "w", "not a media file", at(2))
        .await
        .unwrap();
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (
            job.state,
            job.attempts,
            job.error.as_deref(),
            job.updated_at
        ),
        (JobState::Failed, 1, Some("not a media file"), at(2))
    );
    assert_eq!(store.claim_job("w", LEASE, at(3)).await.unwrap(), None);
    assert!(matches!(
        store.give_up_job(id, "w", "again", at(4)).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn a_released_job_is_queued_again_without_counting_the_attempt(store: Store) {
    let id = store
        .enqueue_job(JobKind::Transcode, "{}", 1, at(0))
        .await
        .unwrap();
    store
        .claim_job("leaving", LEASE, at(0))
        .await
        .unwrap()
        .unwrap();
    store
        .heartbeat_job(id, "leaving", 30, "half way", at(1), at(61))
        .await
        .unwrap();
    assert!(matches!(
        store.release_job(id, "intruder", at(2)).await,
        Err(StoreError::Conflict(_))
    ));
    store.release_job(id, "leaving", at(2)).await.unwrap();
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.attempts, job.progress_percent),
        (JobState::Queued, 0, 0)
    );
    let again = store
        .claim_job("staying", LEASE, at(3))
        .await
        .unwrap()
        .expect("its only attempt is still there");
    assert_eq!((again.id, again.attempts), (id, 1));
    assert!(matches!(
        store.release_job(id, "leaving", at(4)).await,
        Err(StoreError::Conflict(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Connecting

#[tokio::test]
async fn an_unreachable_postgres_gives_one_line_naming_the_url_without_its_password() {
    let error = Store::connect("postgres://onair:s3cret@127.0.0.1:1/onair")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert_eq!(
        message,
        "cannot connect to postgres://onair:***@127.0.0.1:1/onair: connection refused"
    );
    assert!(
        !format!("{error:?}").contains("s3cret"),
        "the Debug form hides the password too"
    );
}

#[tokio::test]
async fn an_unwritable_sqlite_path_gives_one_line_naming_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_directory = dir.path().join("file");
    std::fs::write(&not_a_directory, "").unwrap();
    let url = format!("sqlite://{}/onair.db", not_a_directory.display());
    let error = Store::connect(&url).await.unwrap_err();
    assert!(matches!(error, StoreError::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot connect to {url}: ")),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_in_one_line() {
    let error = Store::connect("mysql://root:pw@localhost/onair")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot connect to mysql://root:***@localhost/onair: unsupported database URL: use sqlite://PATH, sqlite::memory: or postgres://…"
    );
}

#[tokio::test]
async fn a_sqlite_file_is_created_in_write_ahead_logging_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    demo_ladder(&store).await;
    assert!(path.exists());
    assert!(
        dir.path().join("new.db-wal").exists(),
        "a WAL file sits next to the database"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_sqlite_store_keeps_its_data_across_queries() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let ladder = demo_ladder(&store).await;
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_channel(&new_channel(&format!("c{n}"), ladder))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(store.channels().await.unwrap().len(), 4);
    assert_eq!(store.ladder(ladder).await.unwrap().unwrap().rungs.len(), 2);
}

async fn the_attempt_that_ends_a_job_fails_its_asset_in_the_same_step(store: Store) {
    let ladder = demo_ladder(&store).await;
    let asset = store
        .insert_asset("Clip", "/in/clip.mp4", ladder)
        .await
        .unwrap();
    let id = store
        .enqueue_job(JobKind::Transcode, "{}", 2, at(0))
        .await
        .unwrap();
    store.claim_job("w", LEASE, at(0)).await.unwrap().unwrap();
    let state = store
        .fail_job_attempt(id, "w", "network hiccup", false, asset, at(1))
        .await
        .unwrap();
    assert_eq!(state, JobState::Queued, "an attempt is left");
    assert_eq!(
        store.asset(asset).await.unwrap().unwrap().state,
        AssetState::Processing,
        "the asset waits for the next attempt"
    );

    store.claim_job("w", LEASE, at(2)).await.unwrap().unwrap();
    let state = store
        .fail_job_attempt(id, "w", "the file is truncated", true, asset, at(3))
        .await
        .unwrap();
    assert_eq!(state, JobState::Failed);
    assert_eq!(
        store.asset(asset).await.unwrap().unwrap().state,
        AssetState::Failed
    );
    assert_eq!(
        store.asset_error(asset).await.unwrap().as_deref(),
        Some("the file is truncated")
    );
    assert!(
        store
            .fail_job_attempt(id, "w", "again", true, asset, at(4))
            .await
            .is_err(),
        "a job no longer held cannot be failed again"
    );
}
