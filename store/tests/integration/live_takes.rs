//! Takes to air by hand (to a live source, or to the channel's slate), on both backends:
//! versioned like every schedule edit, one on air per channel, returned once.

use crate::common::{at, conflict, demo_ladder, stored_channel};
use onair_domain::ChannelId;
use onair_store::{NewTake, Store, StoreError};

on_both_backends! {
    a_take_and_its_return_each_publish_a_schedule_version,
    a_take_against_a_stale_version_or_on_a_channel_already_taken_is_refused,
    a_return_before_the_take_airs_leaves_it_empty_and_without_a_take_there_is_nothing_to_return,
    takes_are_listed_while_on_air_and_until_they_end,
    a_slate_take_names_no_source_and_a_take_on_top_of_it_is_refused,
}

async fn channel(store: &Store, slug: &str) -> ChannelId {
    let ladder = match store.ladder_by_name("demo").await.unwrap() {
        Some(ladder) => ladder.id,
        None => demo_ladder(store).await,
    };
    stored_channel(store, slug, ladder).await.id
}

fn take(channel: ChannelId, source: &str, start: i64, version: i64) -> NewTake<'_> {
    NewTake {
        channel,
        source: Some(source),
        start: at(start),
        expected_version: version,
        author: "desk",
        now: at(start - 1),
    }
}

async fn a_take_and_its_return_each_publish_a_schedule_version(store: Store) {
    let channel = channel(&store, "news").await;
    let before = store.schedule_version(channel).await.unwrap();
    let taken = store
        .begin_live_take(take(channel, "studio", 100, before))
        .await
        .unwrap();
    assert_eq!(taken.source.as_deref(), Some("studio"));
    assert_eq!(taken.start, at(100));
    assert_eq!(taken.end, None);
    assert_eq!(taken.take_version, before + 1);
    assert_eq!(store.schedule_version(channel).await.unwrap(), before + 1);

    let returned = store
        .end_live_take(channel, at(160), before + 1, "desk-2", at(158))
        .await
        .unwrap();
    assert_eq!(returned.end, Some(at(160)));
    assert_eq!(returned.returned_by.as_deref(), Some("desk-2"));
    assert_eq!(returned.return_version, Some(before + 2));
    let versions = store.published_versions(channel).await.unwrap();
    let authors: Vec<(i64, &str)> = versions
        .iter()
        .map(|version| (version.version, version.author.as_str()))
        .collect();
    assert_eq!(authors[..2], [(before + 2, "desk-2"), (before + 1, "desk")]);
}

async fn a_take_against_a_stale_version_or_on_a_channel_already_taken_is_refused(store: Store) {
    let channel = channel(&store, "news").await;
    let version = store.schedule_version(channel).await.unwrap();
    let stale = conflict(
        store
            .begin_live_take(take(channel, "studio", 100, version + 7))
            .await,
    );
    assert!(stale.contains("reload"), "{stale}");
    store
        .begin_live_take(take(channel, "studio", 100, version))
        .await
        .unwrap();
    let busy = conflict(
        store
            .begin_live_take(take(channel, "other", 120, version + 1))
            .await,
    );
    assert!(busy.contains("\"studio\""), "{busy}");
    // The refused take changed nothing.
    assert_eq!(store.schedule_version(channel).await.unwrap(), version + 1);
    let takes = store.live_takes(channel, at(0)).await.unwrap();
    assert_eq!(takes.len(), 1);
}

async fn a_return_before_the_take_airs_leaves_it_empty_and_without_a_take_there_is_nothing_to_return(
    store: Store,
) {
    let channel = channel(&store, "news").await;
    let version = store.schedule_version(channel).await.unwrap();
    match store
        .end_live_take(channel, at(50), version, "desk", at(49))
        .await
    {
        Err(StoreError::NotFound(message)) => assert!(message.contains("take"), "{message}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    store
        .begin_live_take(take(channel, "studio", 100, version))
        .await
        .unwrap();
    let returned = store
        .end_live_take(channel, at(90), version + 1, "desk", at(89))
        .await
        .unwrap();
    assert_eq!(returned.end, Some(at(100)));
    // Returned, the channel can be taken again.
    store
        .begin_live_take(take(channel, "studio", 200, version + 2))
        .await
        .unwrap();
}

async fn takes_are_listed_while_on_air_and_until_they_end(store: Store) {
    let news = channel(&store, "news").await;
    let sport = channel(&store, "sport").await;
    let version = store.schedule_version(news).await.unwrap();
    store
        .begin_live_take(take(news, "studio", 100, version))
        .await
        .unwrap();
    store
        .end_live_take(news, at(160), version + 1, "desk", at(150))
        .await
        .unwrap();
    let sport_version = store.schedule_version(sport).await.unwrap();
    store
        .begin_live_take(take(sport, "stadium", 300, sport_version))
        .await
        .unwrap();

    let starts = |takes: Vec<onair_store::LiveTakeRow>| {
        takes
            .iter()
            .map(|take| (take.channel_id, take.start))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        starts(store.live_takes(news, at(159)).await.unwrap()),
        vec![(news, at(100))]
    );
    assert!(store.live_takes(news, at(160)).await.unwrap().is_empty());
    assert_eq!(
        starts(store.all_live_takes(at(0)).await.unwrap()),
        vec![(news, at(100)), (sport, at(300))]
    );
    assert_eq!(
        starts(store.all_live_takes(at(1_000)).await.unwrap()),
        vec![(sport, at(300))]
    );
}

async fn a_slate_take_names_no_source_and_a_take_on_top_of_it_is_refused(store: Store) {
    let channel = channel(&store, "news").await;
    let version = store.schedule_version(channel).await.unwrap();
    let slate = store
        .begin_live_take(NewTake {
            source: None,
            ..take(channel, "unused", 100, version)
        })
        .await
        .unwrap();
    assert_eq!(slate.source, None);
    assert_eq!(slate.take_version, version + 1);
    let busy = conflict(
        store
            .begin_live_take(take(channel, "studio", 120, version + 1))
            .await,
    );
    assert!(busy.contains("on its slate"), "{busy}");
    let listed = store.live_takes(channel, at(0)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].source, None);
    let returned = store
        .end_live_take(channel, at(160), version + 1, "desk", at(150))
        .await
        .unwrap();
    assert_eq!((returned.source, returned.end), (None, Some(at(160))));
    // An empty name is neither a source nor the slate.
    let empty = store
        .begin_live_take(take(channel, "", 200, version + 2))
        .await;
    assert!(matches!(empty, Err(StoreError::Invalid(_))), "{empty:?}");
}
