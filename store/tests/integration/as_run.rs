//! The as-run log, on both backends: every test body takes a freshly migrated [`Store`] and runs
//! as `sqlite::NAME` and as `postgres::NAME` (see `common`).

use onair_domain::{
    AssetId, BreakSlot, ChannelId, ChannelSlug, Ladder, OutputFormat, RunKind, ScheduleItemId,
    Ticks, Timestamp,
};
use onair_store::{AsRunEntry, NewChannel, Store, StoreError};

on_both_backends! {
    recording_the_same_runs_again_keeps_one_entry_per_run,
    a_later_recording_extends_a_run_and_an_extension_from_the_plan_marks_it_recovered,
    an_earlier_end_recorded_late_changes_nothing,
    entries_read_back_by_interval_with_every_field,
    the_log_ends_where_its_latest_entry_ends,
    channels_keep_separate_logs,
    a_run_ending_before_it_starts_or_an_unknown_channel_is_refused,
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_790_000_000 + secs)
}

async fn channel(store: &Store, slug: &str) -> ChannelId {
    let ladder = match store.ladder_by_name("demo").await.unwrap() {
        Some(ladder) => ladder.id,
        None => store.insert_ladder(&Ladder::demo()).await.unwrap(),
    };
    store
        .insert_channel(&NewChannel {
            slug: ChannelSlug::parse(slug).unwrap(),
            name: slug.to_owned(),
            time_zone: chrono_tz::Europe::Berlin,
            ladder_id: ladder,
            outputs: vec![OutputFormat::HlsTs],
            window_segments: 6,
            grid_repeat: None,
            on_air: true,
        })
        .await
        .unwrap()
        .id
}

/// A programme run of item 7 from `start` to `end` seconds.
fn programme(start: i64, end: i64) -> AsRunEntry {
    AsRunEntry {
        start: at(start),
        end: at(end),
        kind: RunKind::Programme,
        schedule_item_id: Some(ScheduleItemId(7)),
        title: "News".into(),
        asset_id: AssetId(3),
        live_source: None,
        ad_break: None,
        media_sequence: start as u64 / 2,
        schedule_version: 4,
        recovered: false,
    }
}

fn spans(entries: &[AsRunEntry]) -> Vec<(i64, i64, bool)> {
    entries
        .iter()
        .map(|entry| {
            (
                (entry.start - at(0)).0 / 90_000,
                (entry.end - at(0)).0 / 90_000,
                entry.recovered,
            )
        })
        .collect()
}

async fn whole_log(store: &Store, channel: ChannelId) -> Vec<AsRunEntry> {
    store
        .as_run_between(channel, at(-100_000), at(100_000))
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn recording_the_same_runs_again_keeps_one_entry_per_run(store: Store) {
    let news = channel(&store, "news").await;
    let runs = [programme(0, 10), programme(10, 30)];
    store.record_as_run(news, &runs, at(30)).await.unwrap();
    // A replica (or a restart) records the same runs, the second one recovered this time.
    let mut again = runs.clone();
    again[1].recovered = true;
    store.record_as_run(news, &again, at(31)).await.unwrap();
    assert_eq!(
        spans(&whole_log(&store, news).await),
        [(0, 10, false), (10, 30, false)]
    );
}

async fn a_later_recording_extends_a_run_and_an_extension_from_the_plan_marks_it_recovered(
    store: Store,
) {
    let news = channel(&store, "news").await;
    store
        .record_as_run(news, &[programme(0, 10)], at(10))
        .await
        .unwrap();
    store
        .record_as_run(news, &[programme(0, 20), programme(20, 24)], at(24))
        .await
        .unwrap();
    assert_eq!(
        spans(&whole_log(&store, news).await),
        [(0, 20, false), (20, 24, false)],
        "one run seen airing in two recordings is one entry"
    );
    let recovered = AsRunEntry {
        recovered: true,
        ..programme(20, 40)
    };
    store
        .record_as_run(news, &[recovered], at(100))
        .await
        .unwrap();
    assert_eq!(
        spans(&whole_log(&store, news).await),
        [(0, 20, false), (20, 40, true)]
    );
}

async fn an_earlier_end_recorded_late_changes_nothing(store: Store) {
    let news = channel(&store, "news").await;
    store
        .record_as_run(news, &[programme(0, 20)], at(20))
        .await
        .unwrap();
    let stale = AsRunEntry {
        recovered: true,
        title: "Something else".into(),
        ..programme(0, 10)
    };
    store.record_as_run(news, &[stale], at(21)).await.unwrap();
    let log = whole_log(&store, news).await;
    assert_eq!(spans(&log), [(0, 20, false)]);
    assert_eq!(log[0].title, "News", "the first recording is kept");
}

async fn entries_read_back_by_interval_with_every_field(store: Store) {
    let news = channel(&store, "news").await;
    let ad_break = AsRunEntry {
        start: at(10),
        end: at(40),
        kind: RunKind::AdBreak,
        schedule_item_id: Some(ScheduleItemId(7)),
        title: "ad break".into(),
        asset_id: AssetId(9),
        live_source: None,
        ad_break: Some(BreakSlot {
            number: 3,
            duration: Ticks::from_secs(30),
        }),
        media_sequence: 5,
        schedule_version: 4,
        recovered: true,
    };
    let slate = AsRunEntry {
        start: at(40),
        end: at(50),
        kind: RunKind::Slate,
        schedule_item_id: None,
        title: "slate".into(),
        asset_id: AssetId(9),
        live_source: None,
        ad_break: None,
        media_sequence: 20,
        schedule_version: 4,
        recovered: false,
    };
    let live = AsRunEntry {
        start: at(50),
        end: at(110),
        live_source: Some("match-1".into()),
        title: "Cup final".into(),
        ..programme(50, 110)
    };
    let written = vec![programme(0, 10), ad_break, slate, live];
    store.record_as_run(news, &written, at(110)).await.unwrap();
    assert_eq!(whole_log(&store, news).await, written);
    let middle = store.as_run_between(news, at(39), at(50)).await.unwrap();
    assert_eq!(
        spans(&middle),
        [(10, 40, true), (40, 50, false)],
        "every entry that aired during the interval, whole"
    );
    assert_eq!(
        store.as_run_between(news, at(40), at(41)).await.unwrap(),
        written[2..3],
        "an entry ending where the interval starts is not in it"
    );
    assert_eq!(
        store.as_run_between(news, at(200), at(300)).await.unwrap(),
        []
    );
}

async fn the_log_ends_where_its_latest_entry_ends(store: Store) {
    let news = channel(&store, "news").await;
    assert_eq!(store.as_run_recorded_until(news).await.unwrap(), None);
    store
        .record_as_run(news, &[programme(0, 10), programme(10, 16)], at(16))
        .await
        .unwrap();
    assert_eq!(
        store.as_run_recorded_until(news).await.unwrap(),
        Some(at(16))
    );
    store
        .record_as_run(news, &[programme(10, 22)], at(22))
        .await
        .unwrap();
    assert_eq!(
        store.as_run_recorded_until(news).await.unwrap(),
        Some(at(22))
    );
}

async fn channels_keep_separate_logs(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    store
        .record_as_run(news, &[programme(0, 10)], at(10))
        .await
        .unwrap();
    let film = AsRunEntry {
        title: "Film".into(),
        ..programme(0, 30)
    };
    store.record_as_run(films, &[film], at(30)).await.unwrap();
    assert_eq!(spans(&whole_log(&store, news).await), [(0, 10, false)]);
    assert_eq!(whole_log(&store, films).await[0].title, "Film");
    assert_eq!(
        store.as_run_recorded_until(films).await.unwrap(),
        Some(at(30))
    );
}

async fn a_run_ending_before_it_starts_or_an_unknown_channel_is_refused(store: Store) {
    let news = channel(&store, "news").await;
    let backwards = programme(10, 10);
    let error = store
        .record_as_run(news, &[programme(0, 10), backwards], at(10))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Invalid(_)), "{error}");
    assert_eq!(whole_log(&store, news).await, [], "nothing was recorded");
    let error = store
        .record_as_run(ChannelId(404), &[programme(0, 10)], at(10))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error}");
}
