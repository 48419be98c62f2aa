//! Published schedule versions, on both backends: every test body takes a freshly migrated
//! [`Store`] and runs as `sqlite::NAME` (a new file in a temporary directory) and as
//! `postgres::NAME` (a new schema of the server at `ONAIR_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; skipped loudly without one, failing under `CI=true`).
//! The harness is the one of `store.rs`.

use onair_domain::{
    AssetId, ChannelId, ChannelSlug, Ladder, LadderId, OutputFormat, Packaging, Rendition,
    SegmentInfo, Ticks, Timestamp,
};
use onair_store::{
    NewAdBreak, NewChannel, NewScheduleItem, ScheduleEdit, ScheduleEntry, Store, StoreError,
};

on_both_backends! {
    an_edit_replaces_only_its_window_and_is_kept_as_a_version,
    an_edit_on_a_stale_version_is_a_conflict_and_changes_nothing,
    concurrent_edits_on_one_version_let_exactly_one_through,
    an_edit_playing_an_unready_asset_changes_nothing_and_keeps_no_version,
    an_edit_with_an_item_outside_its_window_is_invalid,
    an_edit_of_several_windows_replaces_each_in_one_version,
    an_edit_of_overlapping_windows_is_invalid,
    an_items_length_is_stored_read_back_and_kept_in_its_version,
    an_item_that_lasts_no_time_is_invalid_and_changes_nothing,
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_790_000_000 + secs)
}

fn secs(secs: i64) -> Ticks {
    Ticks::from_secs(secs)
}

struct Setup {
    channel: ChannelId,
    ladder: LadderId,
    asset: AssetId,
}

async fn setup(store: &Store) -> Setup {
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
            on_air: false,
        })
        .await
        .unwrap()
        .id;
    let asset = store
        .insert_asset("film", "/media/film.mp4", ladder)
        .await
        .unwrap();
    let rung = &Ladder::demo().rungs[0];
    let rendition = Rendition {
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
                duration: secs(2),
                size_bytes: 1000,
                path: format!("assets/{asset}/{}/ts/{index:05}.ts", rung.name),
            })
            .collect(),
    };
    store
        .publish_asset(asset, secs(6), &[rendition])
        .await
        .unwrap();
    Setup {
        channel,
        ladder,
        asset,
    }
}

fn entry(asset: AssetId, start: Timestamp, title: &str) -> ScheduleEntry {
    (
        NewScheduleItem {
            asset_id: asset,
            start,
            hard_start: true,
            length: None,
            title: title.to_owned(),
        },
        Vec::new(),
    )
}

fn edit<'a>(
    setup: &Setup,
    expected_version: i64,
    windows: &'a [(Timestamp, Timestamp)],
    items: &'a [ScheduleEntry],
) -> ScheduleEdit<'a> {
    ScheduleEdit {
        channel: setup.channel,
        expected_version,
        windows,
        items,
        author: "tester",
        now: at(-100),
    }
}

async fn titles(store: &Store, channel: ChannelId) -> Vec<String> {
    store
        .schedule_items(channel)
        .await
        .unwrap()
        .into_iter()
        .map(|item| item.title)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn an_edit_replaces_only_its_window_and_is_kept_as_a_version(store: Store) {
    let setup = setup(&store).await;
    let mut first = vec![
        entry(setup.asset, at(0), "A"),
        entry(setup.asset, at(100), "B"),
    ];
    first[0].1.push(NewAdBreak {
        offset: secs(2),
        duration: secs(30),
    });
    let version = store
        .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(200))], &first))
        .await
        .unwrap();
    assert_eq!(version, 1);
    let second = vec![entry(setup.asset, at(150), "C")];
    let version = store
        .publish_schedule_edit(&edit(&setup, 1, &[(at(100), at(200))], &second))
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(titles(&store, setup.channel).await, ["A", "C"]);
    assert_eq!(store.schedule_version(setup.channel).await.unwrap(), 2);

    let versions = store.published_versions(setup.channel).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(versions[0].author, "tester");
    assert_eq!(versions[0].published_at, at(-100));
    let kept: Vec<&str> = versions[0]
        .items
        .iter()
        .map(|(item, _)| item.title.as_str())
        .collect();
    assert_eq!(kept, ["A", "C"]);
    assert_eq!(
        versions[0].items[0].1,
        [NewAdBreak {
            offset: secs(2),
            duration: secs(30)
        }],
        "ad breaks are kept with their items"
    );
    let one = store
        .published_version(setup.channel, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.items, first);
    assert!(
        store
            .published_version(setup.channel, 9)
            .await
            .unwrap()
            .is_none()
    );
    let _ = setup.ladder;
}

async fn an_edit_on_a_stale_version_is_a_conflict_and_changes_nothing(store: Store) {
    let setup = setup(&store).await;
    let items = vec![entry(setup.asset, at(0), "A")];
    store
        .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(100))], &items))
        .await
        .unwrap();
    let stale = vec![entry(setup.asset, at(10), "Stale")];
    let error = store
        .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(100))], &stale))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Conflict(message) if message.contains("version 1, not 0")),
        "{error:?}"
    );
    assert_eq!(titles(&store, setup.channel).await, ["A"]);
    assert_eq!(
        store.published_versions(setup.channel).await.unwrap().len(),
        1
    );
}

async fn concurrent_edits_on_one_version_let_exactly_one_through(store: Store) {
    let setup = setup(&store).await;
    let (channel, asset) = (setup.channel, setup.asset);
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let items = vec![entry(asset, at(n), &format!("client {n}"))];
                store
                    .publish_schedule_edit(&ScheduleEdit {
                        channel,
                        expected_version: 0,
                        windows: &[(at(0), at(100))],
                        items: &items,
                        author: "tester",
                        now: at(-100),
                    })
                    .await
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(version) => {
                assert_eq!(version, 1);
                applied += 1;
            }
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(titles(&store, channel).await.len(), 1);
    assert_eq!(store.published_versions(channel).await.unwrap().len(), 1);
}

async fn an_edit_playing_an_unready_asset_changes_nothing_and_keeps_no_version(store: Store) {
    let setup = setup(&store).await;
    let pending = store
        .insert_asset("pending", "/media/pending.mp4", setup.ladder)
        .await
        .unwrap();
    let items = vec![
        entry(setup.asset, at(0), "A"),
        entry(pending, at(50), "Pending"),
    ];
    let error = store
        .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(100))], &items))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
    assert_eq!(store.schedule_version(setup.channel).await.unwrap(), 0);
    assert!(titles(&store, setup.channel).await.is_empty());
    assert!(
        store
            .published_versions(setup.channel)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_edit_with_an_item_outside_its_window_is_invalid(store: Store) {
    let setup = setup(&store).await;
    let items = vec![entry(setup.asset, at(100), "At the end")];
    let error = store
        .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(100))], &items))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(message) if message.contains("outside the window")),
        "{error:?}"
    );
    assert_eq!(store.schedule_version(setup.channel).await.unwrap(), 0);
}

async fn an_edit_of_several_windows_replaces_each_in_one_version(store: Store) {
    let setup = setup(&store).await;
    let first = vec![
        entry(setup.asset, at(0), "A"),
        entry(setup.asset, at(100), "B"),
        entry(setup.asset, at(200), "C"),
    ];
    store
        .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(300))], &first))
        .await
        .unwrap();
    let copies = vec![
        entry(setup.asset, at(10), "A copy"),
        entry(setup.asset, at(210), "C copy"),
    ];
    let windows = [(at(0), at(100)), (at(200), at(300))];
    let version = store
        .publish_schedule_edit(&edit(&setup, 1, &windows, &copies))
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(
        titles(&store, setup.channel).await,
        ["A copy", "B", "C copy"]
    );
}

async fn an_edit_of_overlapping_windows_is_invalid(store: Store) {
    let setup = setup(&store).await;
    let windows = [(at(0), at(100)), (at(50), at(300))];
    let error = store
        .publish_schedule_edit(&edit(&setup, 0, &windows, &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(message) if message.contains("overlap")),
        "{error:?}"
    );
}

async fn an_items_length_is_stored_read_back_and_kept_in_its_version(store: Store) {
    let setup = setup(&store).await;
    let mut trimmed = entry(setup.asset, at(0), "Trimmed");
    trimmed.0.length = Some(Ticks::from_millis(4_500));
    let items = vec![trimmed, entry(setup.asset, at(100), "Whole")];
    store
        .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(200))], &items))
        .await
        .unwrap();
    let lengths = |items: Vec<onair_domain::ScheduleItem>| -> Vec<Option<Ticks>> {
        items.into_iter().map(|item| item.length).collect()
    };
    let expected = [Some(Ticks::from_millis(4_500)), None];
    assert_eq!(
        lengths(store.schedule_items(setup.channel).await.unwrap()),
        expected
    );
    assert_eq!(
        lengths(
            store
                .schedule_items_between(setup.channel, at(0), at(200))
                .await
                .unwrap()
        ),
        expected
    );
    let version = store
        .published_version(setup.channel, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        version
            .items
            .iter()
            .map(|(item, _)| item.length)
            .collect::<Vec<_>>(),
        expected,
        "the kept version carries the length, so a restore brings it back"
    );

    store
        .replace_schedule(setup.channel, &[items[0].0.clone()])
        .await
        .unwrap();
    assert_eq!(
        lengths(store.schedule_items(setup.channel).await.unwrap()),
        [Some(Ticks::from_millis(4_500))]
    );
}

async fn an_item_that_lasts_no_time_is_invalid_and_changes_nothing(store: Store) {
    let setup = setup(&store).await;
    for length in [0, -90_000] {
        let mut item = entry(setup.asset, at(0), "Nothing");
        item.0.length = Some(Ticks(length));
        let refused = store
            .publish_schedule_edit(&edit(&setup, 0, &[(at(0), at(200))], &[item.clone()]))
            .await;
        assert!(
            matches!(&refused, Err(StoreError::Invalid(message)) if message.contains("must be positive")),
            "{refused:?}"
        );
        assert!(matches!(
            store.replace_schedule(setup.channel, &[item.0]).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert_eq!(store.schedule_version(setup.channel).await.unwrap(), 0);
    assert!(titles(&store, setup.channel).await.is_empty());
}
