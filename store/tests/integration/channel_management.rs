//! Channels managed through their life, on both backends (see `common`): created with a slate
//! and filler, edited (the schedule version moves when what airs changes), retired, deleted.

use onair_domain::{AssetId, Channel, ChannelId, Ladder, LadderId, OutputFormat, Ticks};
use onair_store::grid::{GridEdit, GridKind};
use onair_store::{ChannelChanges, ChannelPlayoutAssets, Store, StoreError};

use crate::common::{
    aired, at, conflict, demo_ladder, invalid, item, new_channel, ready_asset, stored_channel,
};

on_both_backends! {
    a_channel_is_created_with_its_slate_and_filler,
    a_filler_asset_encoded_to_another_ladder_is_refused_naming_both_ladders,
    a_slate_that_is_missing_or_not_ready_is_refused_naming_it,
    an_edit_that_changes_what_airs_bumps_the_schedule_version_and_a_rename_does_not,
    an_edit_of_the_ladder_needs_slate_and_filler_of_the_new_ladder,
    an_edit_that_changes_nothing_keeps_the_version,
    editing_a_missing_channel_is_not_found_and_a_blank_name_is_invalid,
    a_retired_channel_keeps_its_schedule_and_as_run_log_and_stays_off_air,
    deleting_a_channel_with_a_schedule_grid_or_as_run_log_is_refused_naming_them,
    a_channel_that_never_had_anything_is_deleted,
    the_channels_lacking_a_slate_are_those_with_neither_their_own_nor_a_generated_one,
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// The demo ladder under another name, so that assets can be encoded to either.
async fn other_ladder(store: &Store) -> LadderId {
    store
        .insert_ladder(&Ladder {
            name: "other".into(),
            ..Ladder::demo()
        })
        .await
        .unwrap()
}

struct Setup {
    ladder: LadderId,
    slate: AssetId,
    filler: Vec<AssetId>,
}

async fn setup(store: &Store) -> Setup {
    let ladder = demo_ladder(store).await;
    Setup {
        ladder,
        slate: ready_asset(store, ladder, "slate").await,
        filler: vec![
            ready_asset(store, ladder, "sting").await,
            ready_asset(store, ladder, "promo").await,
        ],
    }
}

/// Channel "news" on the setup's ladder, with its slate and filler.
async fn news_with_slate_and_filler(store: &Store, setup: &Setup) -> Channel {
    let assets = ChannelPlayoutAssets {
        slate: Some(setup.slate),
        filler: setup.filler.clone(),
    };
    store
        .create_channel(&new_channel("news", setup.ladder), &assets)
        .await
        .unwrap()
}

async fn version(store: &Store, channel: ChannelId) -> i64 {
    store.schedule_version(channel).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Creating

async fn a_channel_is_created_with_its_slate_and_filler(store: Store) {
    let setup = setup(&store).await;
    let created = news_with_slate_and_filler(&store, &setup).await;
    assert_eq!(created.slate, Some(setup.slate));
    assert_eq!(created.filler, setup.filler);
    assert!(!created.retired);
    assert_eq!(
        store.channel(created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(version(&store, created.id).await, 0);

    let plain = stored_channel(&store, "plain", setup.ladder).await;
    assert_eq!((plain.slate, plain.filler.clone()), (None, vec![]));
    assert_eq!(store.channels().await.unwrap(), vec![created, plain]);
}

async fn a_filler_asset_encoded_to_another_ladder_is_refused_naming_both_ladders(store: Store) {
    let setup = setup(&store).await;
    let other = other_ladder(&store).await;
    let foreign = ready_asset(&store, other, "foreign").await;
    let assets = ChannelPlayoutAssets {
        slate: Some(setup.slate),
        filler: vec![setup.filler[0], foreign],
    };
    let message = invalid(
        store
            .create_channel(&new_channel("news", setup.ladder), &assets)
            .await,
    );
    assert_eq!(
        message,
        format!(
            "channel news: its filler asset {foreign} (\"foreign\") is encoded to ladder \"other\", not to the channel's ladder \"demo\""
        )
    );
    assert_eq!(store.channels().await.unwrap(), vec![]);
}

async fn a_slate_that_is_missing_or_not_ready_is_refused_naming_it(store: Store) {
    let setup = setup(&store).await;
    let processing = store
        .insert_asset("fresh", "/media/fresh.mp4", setup.ladder)
        .await
        .unwrap();
    let missing = AssetId(processing.0 + 100);
    let with_slate = |slate| ChannelPlayoutAssets {
        slate: Some(slate),
        filler: vec![],
    };
    let news = new_channel("news", setup.ladder);
    assert_eq!(
        invalid(store.create_channel(&news, &with_slate(processing)).await),
        format!(
            "channel news: its slate asset {processing} (\"fresh\") is processing: only a ready asset can be slate or filler"
        )
    );
    assert_eq!(
        invalid(store.create_channel(&news, &with_slate(missing)).await),
        format!("channel news: its slate asset {missing} does not exist")
    );
    let mut on_no_ladder = news.clone();
    on_no_ladder.ladder_id = LadderId(setup.ladder.0 + 100);
    assert!(matches!(
        store.insert_channel(&on_no_ladder).await,
        Err(StoreError::NotFound(what)) if what == format!("ladder {}", setup.ladder.0 + 100)
    ));
    assert_eq!(store.channels().await.unwrap(), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Editing

async fn an_edit_that_changes_what_airs_bumps_the_schedule_version_and_a_rename_does_not(
    store: Store,
) {
    let setup = setup(&store).await;
    let channel = stored_channel(&store, "news", setup.ladder).await;

    let renamed = store
        .update_channel(
            channel.id,
            &ChannelChanges {
                name: Some("News 24".into()),
                outputs: Some(vec![OutputFormat::HlsFmp4]),
                window_segments: Some(10),
                on_air: Some(true),
                ..ChannelChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "News 24");
    assert_eq!(renamed.outputs, vec![OutputFormat::HlsFmp4]);
    assert_eq!((renamed.window_segments, renamed.on_air), (10, true));
    assert_eq!(
        version(&store, channel.id).await,
        0,
        "nothing planned changed"
    );
    assert_eq!(store.channel(channel.id).await.unwrap(), Some(renamed));

    let replanning: [(&str, ChannelChanges); 5] = [
        (
            "time zone",
            ChannelChanges {
                time_zone: Some(chrono_tz::America::New_York),
                ..ChannelChanges::default()
            },
        ),
        (
            "slate",
            ChannelChanges {
                slate: Some(Some(setup.slate)),
                ..ChannelChanges::default()
            },
        ),
        (
            "filler",
            ChannelChanges {
                filler: Some(setup.filler.clone()),
                ..ChannelChanges::default()
            },
        ),
        (
            "grid repeat",
            ChannelChanges {
                grid_repeat: Some(None),
                ..ChannelChanges::default()
            },
        ),
        (
            "back to the generated slate",
            ChannelChanges {
                slate: Some(None),
                ..ChannelChanges::default()
            },
        ),
    ];
    for (expected_version, (what, changes)) in (1..).zip(replanning) {
        store.update_channel(channel.id, &changes).await.unwrap();
        assert_eq!(
            version(&store, channel.id).await,
            expected_version,
            "{what}"
        );
    }
    let now = store.channel(channel.id).await.unwrap().unwrap();
    assert_eq!(now.time_zone, chrono_tz::America::New_York);
    assert_eq!(
        (now.slate, now.filler, now.grid_repeat),
        (None, setup.filler, None)
    );
}

async fn an_edit_of_the_ladder_needs_slate_and_filler_of_the_new_ladder(store: Store) {
    let setup = setup(&store).await;
    let channel = news_with_slate_and_filler(&store, &setup).await;
    let other = other_ladder(&store).await;
    let to_other = ChannelChanges {
        ladder_id: Some(other),
        ..ChannelChanges::default()
    };
    assert_eq!(
        invalid(store.update_channel(channel.id, &to_other).await),
        format!(
            "channel news: its slate asset {} (\"slate\") is encoded to ladder \"demo\", not to the channel's ladder \"other\"",
            setup.slate
        )
    );
    assert_eq!(
        store.channel(channel.id).await.unwrap(),
        Some(channel.clone())
    );
    assert_eq!(version(&store, channel.id).await, 0);

    let other_slate = ready_asset(&store, other, "other-slate").await;
    let moved = store
        .update_channel(
            channel.id,
            &ChannelChanges {
                ladder_id: Some(other),
                slate: Some(Some(other_slate)),
                filler: Some(vec![]),
                ..ChannelChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.ladder_id, moved.slate, moved.filler),
        (other, Some(other_slate), vec![])
    );
    assert_eq!(version(&store, channel.id).await, 1);
    assert!(matches!(
        store
            .update_channel(
                channel.id,
                &ChannelChanges {
                    ladder_id: Some(LadderId(other.0 + 100)),
                    ..ChannelChanges::default()
                }
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn an_edit_that_changes_nothing_keeps_the_version(store: Store) {
    let setup = setup(&store).await;
    let channel = news_with_slate_and_filler(&store, &setup).await;
    let same = ChannelChanges {
        name: Some(channel.name.clone()),
        time_zone: Some(channel.time_zone),
        ladder_id: Some(channel.ladder_id),
        slate: Some(channel.slate),
        filler: Some(channel.filler.clone()),
        ..ChannelChanges::default()
    };
    assert_eq!(
        store.update_channel(channel.id, &same).await.unwrap(),
        channel
    );
    assert_eq!(
        store
            .update_channel(channel.id, &ChannelChanges::default())
            .await
            .unwrap(),
        channel
    );
    assert_eq!(version(&store, channel.id).await, 0);
}

async fn editing_a_missing_channel_is_not_found_and_a_blank_name_is_invalid(store: Store) {
    let setup = setup(&store).await;
    let channel = stored_channel(&store, "news", setup.ladder).await;
    assert!(matches!(
        store
            .update_channel(ChannelId(channel.id.0 + 100), &ChannelChanges::default())
            .await,
        Err(StoreError::NotFound(_))
    ));
    let blank = ChannelChanges {
        name: Some("  ".into()),
        ..ChannelChanges::default()
    };
    assert_eq!(
        invalid(store.update_channel(channel.id, &blank).await),
        "channel news: the name must not be blank"
    );
    let no_window = ChannelChanges {
        window_segments: Some(0),
        ..ChannelChanges::default()
    };
    assert_eq!(
        invalid(store.update_channel(channel.id, &no_window).await),
        "channel news: window_segments must be at least 1"
    );
    let no_repeat = ChannelChanges {
        grid_repeat: Some(Some(Ticks(0))),
        ..ChannelChanges::default()
    };
    invalid(store.update_channel(channel.id, &no_repeat).await);
    assert_eq!(store.channel(channel.id).await.unwrap(), Some(channel));
}

// ---------------------------------------------------------------------------------------------
// Retiring and deleting

async fn a_retired_channel_keeps_its_schedule_and_as_run_log_and_stays_off_air(store: Store) {
    let setup = setup(&store).await;
    let mut on_air = new_channel("news", setup.ladder);
    on_air.on_air = true;
    let channel = store.insert_channel(&on_air).await.unwrap();
    store
        .replace_schedule(channel.id, &[item(setup.slate, at(0), "News")])
        .await
        .unwrap();
    store
        .record_as_run(channel.id, &[aired(0, setup.slate)], at(10))
        .await
        .unwrap();
    let before = version(&store, channel.id).await;

    let retired = store.retire_channel(channel.id, at(20)).await.unwrap();
    assert!(retired.retired);
    assert!(!retired.on_air);
    assert_eq!(
        version(&store, channel.id).await,
        before + 1,
        "playout lets it go"
    );
    assert_eq!(store.schedule_items(channel.id).await.unwrap().len(), 1);
    assert_eq!(
        store
            .as_run_between(channel.id, at(0), at(100))
            .await
            .unwrap(),
        vec![aired(0, setup.slate)]
    );
    assert_eq!(
        store.channel_by_slug(&channel.slug).await.unwrap(),
        Some(retired.clone())
    );
    assert_eq!(store.channels().await.unwrap(), vec![retired.clone()]);

    assert_eq!(
        conflict(store.set_channel_on_air(channel.id, true).await),
        "channel news is retired: it cannot go on air again"
    );
    let back_on_air = ChannelChanges {
        on_air: Some(true),
        ..ChannelChanges::default()
    };
    conflict(store.update_channel(channel.id, &back_on_air).await);
    store.set_channel_on_air(channel.id, false).await.unwrap();

    let again = store.retire_channel(channel.id, at(30)).await.unwrap();
    assert_eq!(again, retired, "retiring twice changes nothing");
    assert_eq!(version(&store, channel.id).await, before + 1);
    assert!(matches!(
        store
            .retire_channel(ChannelId(channel.id.0 + 100), at(30))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn deleting_a_channel_with_a_schedule_grid_or_as_run_log_is_refused_naming_them(
    store: Store,
) {
    let setup = setup(&store).await;
    let channel = stored_channel(&store, "news", setup.ladder).await;
    store
        .replace_schedule(
            channel.id,
            &[
                item(setup.slate, at(0), "News"),
                item(setup.slate, at(6), "News"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        conflict(store.delete_channel(channel.id).await),
        "channel news still has 2 schedule items: retire it instead of deleting it"
    );

    let documents = [(GridKind::Templates, serde_json::json!([]))];
    store
        .publish_grid_edit(&GridEdit {
            channel: channel.id,
            expected_version: version(&store, channel.id).await,
            documents: &documents,
            effective_from: at(0),
            author: "test",
            now: at(0),
        })
        .await
        .unwrap();
    store
        .record_as_run(channel.id, &[aired(0, setup.slate)], at(10))
        .await
        .unwrap();
    assert_eq!(
        conflict(store.delete_channel(channel.id).await),
        "channel news still has 2 schedule items, 1 grid document and 1 as-run entry: retire it instead of deleting it"
    );
    assert!(store.channel(channel.id).await.unwrap().is_some());
}

async fn a_channel_that_never_had_anything_is_deleted(store: Store) {
    let setup = setup(&store).await;
    let channel = news_with_slate_and_filler(&store, &setup).await;
    store.delete_channel(channel.id).await.unwrap();
    assert_eq!(store.channel(channel.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_channel(channel.id).await,
        Err(StoreError::NotFound(_))
    ));
    // Its slate and filler are free again.
    store.delete_asset(setup.slate).await.unwrap();
    store.delete_asset(setup.filler[0]).await.unwrap();
}

async fn the_channels_lacking_a_slate_are_those_with_neither_their_own_nor_a_generated_one(
    store: Store,
) {
    let setup = setup(&store).await;
    let slugs = |channels: Vec<Channel>| -> Vec<String> {
        channels
            .into_iter()
            .map(|channel| channel.slug.to_string())
            .collect()
    };
    let _own = news_with_slate_and_filler(&store, &setup).await;
    let bare = stored_channel(&store, "bare", setup.ladder).await;
    let generated = stored_channel(&store, "made", setup.ladder).await;
    let retired = stored_channel(&store, "gone", setup.ladder).await;
    store.retire_channel(retired.id, at(0)).await.unwrap();
    let prefix = "generated:slate/";
    // A generated slate that failed does not count.
    let failed = store
        .insert_asset("Slate", "generated:slate/made", setup.ladder)
        .await
        .unwrap();
    store.fail_asset(failed, "encoder crashed").await.unwrap();
    assert_eq!(
        slugs(store.channels_lacking_a_slate(prefix).await.unwrap()),
        ["bare", "made"]
    );
    let made = store
        .insert_asset("Slate", "generated:slate/made", setup.ladder)
        .await
        .unwrap();
    assert_eq!(
        slugs(store.channels_lacking_a_slate(prefix).await.unwrap()),
        ["bare"],
        "a slate being made counts"
    );
    let _ = (bare, generated, made);
}
