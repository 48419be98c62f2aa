//! Live ingest's state, on both backends: sources with rotatable keys, publishes and their
//! events, and segments recorded once per source and start.

use std::sync::Arc;

use crate::common::{at, conflict, demo_ladder, invalid, secs, stored_channel};
use onair_domain::{LadderId, Timestamp};
use onair_store::{LiveEnd, LiveSegmentRow, LiveState, Store, StoreError};

on_both_backends! {
    a_source_reads_back_by_name_and_by_key_and_starts_idle,
    a_taken_name_or_key_or_an_unknown_ladder_is_refused,
    a_rotated_key_finds_the_source_and_the_old_one_no_longer_does,
    each_publish_gets_the_next_number_and_its_end_sets_the_state_and_logs_it,
    the_end_of_an_old_publish_does_not_touch_a_newer_one,
    stats_are_kept_for_the_current_publish_only_and_must_be_a_json_object,
    the_first_segment_recorded_at_a_start_wins,
    of_concurrent_recorders_of_a_segment_exactly_one_wins,
    segments_are_listed_between_two_instants_and_old_ones_forgotten,
    deleting_a_source_takes_its_segments_and_events_with_it,
    a_live_airing_is_recorded_once_and_shifts_what_follows,
}

async fn ladder(store: &Store) -> LadderId {
    match store.ladder_by_name("demo").await.unwrap() {
        Some(ladder) => ladder.id,
        None => demo_ladder(store).await,
    }
}

fn segment(start: i64, publish_id: i64, recorded: i64) -> LiveSegmentRow {
    LiveSegmentRow {
        start: at(start),
        duration: secs(2),
        publish_id,
        recorded_at: at(recorded),
    }
}

fn starts(segments: &[LiveSegmentRow]) -> Vec<Timestamp> {
    segments.iter().map(|segment| segment.start).collect()
}

async fn a_source_reads_back_by_name_and_by_key_and_starts_idle(store: Store) {
    let ladder = ladder(&store).await;
    let created = store
        .create_live_source("match-1", "k3y", ladder, at(0))
        .await
        .unwrap();
    assert_eq!(created.name, "match-1");
    assert_eq!(created.stream_key, "k3y");
    assert_eq!(created.ladder_id, ladder);
    assert_eq!(created.state, LiveState::Idle);
    assert_eq!(created.publish_id, 0);
    assert_eq!(created.state_since, at(0));
    assert_eq!(
        store.live_source_by_key("k3y").await.unwrap().as_ref(),
        Some(&created)
    );
    assert_eq!(store.live_sources().await.unwrap(), vec![created]);
    assert_eq!(store.live_source_by_key("nope").await.unwrap(), None);
}

async fn a_taken_name_or_key_or_an_unknown_ladder_is_refused(store: Store) {
    let ladder = ladder(&store).await;
    store
        .create_live_source("match-1", "k3y", ladder, at(0))
        .await
        .unwrap();
    conflict(
        store
            .create_live_source("match-1", "other", ladder, at(0))
            .await,
    );
    conflict(
        store
            .create_live_source("match-2", "k3y", ladder, at(0))
            .await,
    );
    assert!(matches!(
        store
            .create_live_source("match-3", "k4y", LadderId(999), at(0))
            .await,
        Err(StoreError::NotFound(_))
    ));
    invalid(store.create_live_source("", "k5y", ladder, at(0)).await);
}

async fn a_rotated_key_finds_the_source_and_the_old_one_no_longer_does(store: Store) {
    let ladder = ladder(&store).await;
    store
        .create_live_source("match-1", "old", ladder, at(0))
        .await
        .unwrap();
    store
        .create_live_source("match-2", "taken", ladder, at(0))
        .await
        .unwrap();
    let rotated = store
        .rotate_live_source_key("match-1", "new", at(10))
        .await
        .unwrap();
    assert_eq!(rotated.key_rotated_at, at(10));
    assert_eq!(store.live_source_by_key("old").await.unwrap(), None);
    assert_eq!(
        store.live_source_by_key("new").await.unwrap().unwrap().name,
        "match-1"
    );
    conflict(
        store
            .rotate_live_source_key("match-1", "taken", at(11))
            .await,
    );
    assert!(matches!(
        store.rotate_live_source_key("ghost", "x", at(11)).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn each_publish_gets_the_next_number_and_its_end_sets_the_state_and_logs_it(store: Store) {
    let ladder = ladder(&store).await;
    let source = store
        .create_live_source("match-1", "k", ladder, at(0))
        .await
        .unwrap();
    let first = store
        .begin_live_publish(source.id, "rtmp", "127.0.0.1:5000", at(1))
        .await
        .unwrap();
    let publishing = store.live_source_by_name("match-1").await.unwrap().unwrap();
    assert_eq!(publishing.state, LiveState::Publishing);
    assert_eq!(publishing.protocol.as_deref(), Some("rtmp"));
    assert_eq!(publishing.peer.as_deref(), Some("127.0.0.1:5000"));
    let lost = LiveEnd {
        state: LiveState::Lost,
        event: "lost",
        detail: "no data for 3 s",
    };
    store
        .end_live_publish(source.id, first, lost, at(5))
        .await
        .unwrap();
    let after = store.live_source_by_name("match-1").await.unwrap().unwrap();
    assert_eq!(
        (after.state, after.state_since, after.error.as_deref()),
        (LiveState::Lost, at(5), Some("no data for 3 s"))
    );
    let second = store
        .begin_live_publish(source.id, "srt", "127.0.0.1:6000", at(7))
        .await
        .unwrap();
    assert_eq!((first, second), (1, 2));
    let events = store.live_events(source.id, at(0), 10).await.unwrap();
    let kinds: Vec<(&str, Timestamp)> = events
        .iter()
        .map(|event| (event.kind.as_str(), event.at))
        .collect();
    assert_eq!(
        kinds,
        vec![("publish", at(1)), ("lost", at(5)), ("publish", at(7))]
    );
    assert!(events[2].detail.contains("srt"), "{}", events[2].detail);
    invalid(
        store
            .log_live_event(source.id, "exploded", "?", at(8))
            .await,
    );
}

async fn the_end_of_an_old_publish_does_not_touch_a_newer_one(store: Store) {
    let ladder = ladder(&store).await;
    let source = store
        .create_live_source("match-1", "k", ladder, at(0))
        .await
        .unwrap();
    let old = store
        .begin_live_publish(source.id, "rtmp", "a", at(1))
        .await
        .unwrap();
    store
        .begin_live_publish(source.id, "rtmp", "b", at(2))
        .await
        .unwrap();
    let closed = LiveEnd {
        state: LiveState::Idle,
        event: "end",
        detail: "closed",
    };
    store
        .end_live_publish(source.id, old, closed, at(3))
        .await
        .unwrap();
    let now = store.live_source_by_name("match-1").await.unwrap().unwrap();
    assert_eq!(
        (now.state, now.peer.as_deref()),
        (LiveState::Publishing, Some("b"))
    );
}

async fn stats_are_kept_for_the_current_publish_only_and_must_be_a_json_object(store: Store) {
    let ladder = ladder(&store).await;
    let source = store
        .create_live_source("match-1", "k", ladder, at(0))
        .await
        .unwrap();
    let publish = store
        .begin_live_publish(source.id, "rtmp", "a", at(1))
        .await
        .unwrap();
    store
        .report_live_stats(source.id, publish, r#"{"lag_ms": 120}"#, at(2))
        .await
        .unwrap();
    store
        .report_live_stats(source.id, publish - 1, r#"{"lag_ms": 999}"#, at(3))
        .await
        .unwrap();
    let now = store.live_source_by_name("match-1").await.unwrap().unwrap();
    assert_eq!(now.stats.as_deref(), Some(r#"{"lag_ms": 120}"#));
    assert_eq!(now.reported_at, Some(at(2)));
    invalid(
        store
            .report_live_stats(source.id, publish, "[1]", at(4))
            .await,
    );
}

async fn the_first_segment_recorded_at_a_start_wins(store: Store) {
    let ladder = ladder(&store).await;
    let source = store
        .create_live_source("match-1", "k", ladder, at(0))
        .await
        .unwrap();
    assert!(
        store
            .record_live_segment(source.id, &segment(10, 1, 13))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_live_segment(source.id, &segment(10, 2, 12))
            .await
            .unwrap()
    );
    let listed = store
        .live_segments(source.id, at(0), at(100))
        .await
        .unwrap();
    assert_eq!(listed, vec![segment(10, 1, 13)]);
    invalid(
        store
            .record_live_segment(source.id, &segment(20, 0, 21))
            .await,
    );
    assert!(matches!(
        store.record_live_segment(999, &segment(20, 1, 21)).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn of_concurrent_recorders_of_a_segment_exactly_one_wins(store: Store) {
    let ladder = ladder(&store).await;
    let source = store
        .create_live_source("match-1", "k", ladder, at(0))
        .await
        .unwrap();
    let store = Arc::new(store);
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let writers: Vec<_> = (1..=4)
        .map(|publish| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .record_live_segment(source.id, &segment(10, publish, 10 + publish))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for writer in writers {
        won += usize::from(writer.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(
        store
            .live_segments(source.id, at(0), at(100))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn segments_are_listed_between_two_instants_and_old_ones_forgotten(store: Store) {
    let ladder = ladder(&store).await;
    let source = store
        .create_live_source("match-1", "k", ladder, at(0))
        .await
        .unwrap();
    for start in [0, 2, 4, 6, 8] {
        store
            .record_live_segment(source.id, &segment(start, 1, start + 2))
            .await
            .unwrap();
    }
    let middle = store.live_segments(source.id, at(2), at(6)).await.unwrap();
    assert_eq!(starts(&middle), vec![at(2), at(4)]);
    let forgotten = store.forget_live_segments(source.id, at(5)).await.unwrap();
    assert_eq!(starts(&forgotten), vec![at(0), at(2)]);
    let left = store
        .live_segments(source.id, at(0), at(100))
        .await
        .unwrap();
    assert_eq!(starts(&left), vec![at(4), at(6), at(8)]);
}

async fn deleting_a_source_takes_its_segments_and_events_with_it(store: Store) {
    let ladder = ladder(&store).await;
    let source = store
        .create_live_source("match-1", "k", ladder, at(0))
        .await
        .unwrap();
    store
        .begin_live_publish(source.id, "rtmp", "a", at(1))
        .await
        .unwrap();
    store
        .record_live_segment(source.id, &segment(2, 1, 4))
        .await
        .unwrap();
    assert!(store.delete_live_source("match-1").await.unwrap());
    assert!(!store.delete_live_source("match-1").await.unwrap());
    assert!(
        store
            .live_segments(source.id, at(0), at(100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .live_events(source.id, at(0), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_live_airing_is_recorded_once_and_shifts_what_follows(store: Store) {
    let ladder = ladder(&store).await;
    let channel = stored_channel(&store, "news", ladder).await.id;
    assert!(
        store
            .record_live_airing(channel, at(100), 2, 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_live_airing(channel, at(100), 2, 9)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_live_airing(channel, at(500), 3, 1)
            .await
            .unwrap()
    );
    assert_eq!(store.live_airings_shift(channel, at(100)).await.unwrap(), 0);
    assert_eq!(store.live_airings_shift(channel, at(101)).await.unwrap(), 3);
    assert_eq!(store.live_airings_shift(channel, at(900)).await.unwrap(), 1);
    assert_eq!(
        store.live_airings(channel, at(0), at(1000)).await.unwrap(),
        vec![(at(100), 2, 5), (at(500), 3, 1)]
    );
    invalid(store.record_live_airing(channel, at(700), 0, 1).await);
}
