//! Server-side ad insertion's state, on both backends: ad configs, the creative cache, ad
//! sessions, decisions and beacons. Every test body takes a freshly migrated [`Store`] and runs
//! as `sqlite::NAME` and as `postgres::NAME` (see `common`); the concurrent ones release their
//! writers together from separate tasks.

use std::future::Future;
use std::sync::Arc;

use crate::common::{at, conflict, demo_ladder, invalid, renditions, secs, stored_channel};
use onair_domain::{AssetId, AssetState, ChannelId, JobId, Ladder, LadderId};
use onair_store::{
    AdDecisionRow, BeaconCount, BeaconKey, BeaconStatus, CreativeStatus, DecisionCursor,
    NewAdDecision, NewAdSession, Store, StoreError,
};

on_both_backends! {
    ad_configs_are_versioned_and_every_version_is_kept_as_written,
    a_stale_expected_ad_config_version_is_a_conflict_naming_the_current_one,
    of_two_concurrent_writers_of_the_same_ad_config_version_exactly_one_wins,
    the_current_ad_configs_are_the_latest_version_of_every_channel,
    an_ad_config_of_an_unknown_channel_or_that_is_not_json_is_refused,
    a_creative_is_created_by_its_first_request_only,
    of_concurrent_requests_for_a_creative_exactly_one_creates_it,
    an_attached_creative_reads_back_with_its_assets_own_state,
    a_creative_becomes_ready_or_fails_once_and_the_same_news_twice_changes_nothing,
    creatives_are_found_by_keys_listed_by_ladder_and_pending_ones_apart,
    a_creative_on_an_unknown_ladder_or_with_an_asset_of_another_ladder_is_refused,
    a_session_reads_back_and_touching_moves_its_last_sighting_only_forward,
    touching_more_sessions_than_one_statement_holds_touches_them_all,
    sessions_are_counted_per_channel_and_in_all,
    expiring_idle_sessions_deletes_their_decisions_and_beacons,
    a_session_on_an_unknown_channel_with_a_taken_id_or_bad_params_is_refused,
    the_first_decision_for_a_break_wins_and_a_second_with_another_fill_changes_nothing,
    of_concurrent_decisions_for_the_same_break_exactly_one_is_recorded,
    decisions_page_by_cursor_without_losing_those_decided_at_the_same_instant,
    decisions_are_listed_per_session_and_per_channel_between_two_instants,
    a_decision_for_an_unknown_session_or_of_another_channel_is_refused,
    a_batch_of_decisions_records_each_first_one_and_refuses_only_the_bad_ones,
    of_concurrent_claims_of_a_beacon_exactly_one_wins,
    beacons_are_counted_per_break_event_and_status,
    a_beacon_finished_twice_or_never_claimed_is_refused,
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const SETTINGS: &str = r#"{"ad_server": "https://ads.example/vast", "max_ads": 3}"#;

async fn channel(store: &Store, slug: &str) -> ChannelId {
    let ladder = ladder(store).await;
    stored_channel(store, slug, ladder).await.id
}

/// The demo ladder, stored on first use.
async fn ladder(store: &Store) -> LadderId {
    match store.ladder_by_name("demo").await.unwrap() {
        Some(ladder) => ladder.id,
        None => demo_ladder(store).await,
    }
}

/// A ladder other than the demo one.
async fn other_ladder(store: &Store) -> LadderId {
    let ladder = Ladder {
        name: "other".into(),
        ..Ladder::demo()
    };
    store.insert_ladder(&ladder).await.unwrap()
}

/// A session on `channel` created at `created` seconds.
async fn session(store: &Store, id: &str, channel: ChannelId, created: i64) {
    store
        .create_ad_session(&NewAdSession {
            id,
            channel_id: channel,
            params: r#"{"device": "tv"}"#,
            client_ip: None,
            user_agent: None,
            at: at(created),
            partner_id: None,
        })
        .await
        .unwrap();
}

/// A 30 s break at `start` seconds of `session`, decided at `decided` seconds.
fn decision<'a>(
    session_id: &'a str,
    channel: ChannelId,
    start: i64,
    decided: i64,
    fill: &'a str,
) -> NewAdDecision<'a> {
    NewAdDecision {
        session_id,
        break_start: at(start),
        channel_id: channel,
        break_duration: secs(30),
        decided_at: at(decided),
        fill,
    }
}

fn beacon<'a>(session_id: &'a str, start: i64, ad_position: u32, event: &'a str) -> BeaconKey<'a> {
    BeaconKey {
        session_id,
        break_start: at(start),
        ad_position,
        event,
    }
}

/// `(session, break start in seconds)` of each decision.
fn names(decisions: &[AdDecisionRow]) -> Vec<(String, i64)> {
    decisions
        .iter()
        .map(|decision| {
            (
                decision.session_id.clone(),
                (decision.break_start - at(0)).0 / 90_000,
            )
        })
        .collect()
}

fn count(start: i64, event: &str, status: BeaconStatus, count: u64) -> BeaconCount {
    BeaconCount {
        break_start: at(start),
        event: event.into(),
        status,
        count,
    }
}

/// Runs `attempt(0..n)` on `n` tasks released together, and returns their results in order.
async fn at_once<T, F, Fut>(n: usize, attempt: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|index| {
            let start = start.clone();
            let attempt = attempt(index);
            tokio::spawn(async move {
                start.wait().await;
                attempt.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

fn not_found(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::NotFound(message)) => message,
        other => panic!("expected NotFound, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Ad configs

async fn ad_configs_are_versioned_and_every_version_is_kept_as_written(store: Store) {
    let news = channel(&store, "news").await;
    assert_eq!(store.ad_config(news).await.unwrap(), None);
    assert_eq!(store.ad_config_versions(news).await.unwrap(), []);
    // Kept byte for byte, spacing and key order included.
    let first = r#"{ "max_ads": 2,  "ad_server": "https://a.example" }"#;
    assert_eq!(
        store
            .put_ad_config(news, None, first, "ana", at(0))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .put_ad_config(news, Some(1), SETTINGS, "ben", at(10))
            .await
            .unwrap(),
        2
    );
    let latest = store.ad_config(news).await.unwrap().unwrap();
    assert_eq!(
        (
            latest.channel_id,
            latest.version,
            latest.document.as_str(),
            latest.author.as_str(),
            latest.created_at
        ),
        (news, 2, SETTINGS, "ben", at(10))
    );
    let version_1 = store.ad_config_version(news, 1).await.unwrap().unwrap();
    assert_eq!(
        (version_1.document.as_str(), version_1.author.as_str()),
        (first, "ana")
    );
    assert_eq!(store.ad_config_version(news, 3).await.unwrap(), None);
    let versions = store.ad_config_versions(news).await.unwrap();
    assert_eq!(
        versions.iter().map(|c| c.version).collect::<Vec<_>>(),
        [2, 1],
        "newest first"
    );
    assert_eq!(versions, [latest, version_1]);
}

async fn a_stale_expected_ad_config_version_is_a_conflict_naming_the_current_one(store: Store) {
    let news = channel(&store, "news").await;
    let message = conflict(
        store
            .put_ad_config(news, Some(1), SETTINGS, "ana", at(0))
            .await,
    );
    assert!(message.contains("no ad config yet"), "{message}");
    store
        .put_ad_config(news, None, SETTINGS, "ana", at(0))
        .await
        .unwrap();
    store
        .put_ad_config(news, Some(1), SETTINGS, "ana", at(1))
        .await
        .unwrap();
    let message = conflict(store.put_ad_config(news, Some(1), "{}", "ben", at(2)).await);
    assert!(message.contains("at version 2, not 1"), "{message}");
    let message = conflict(store.put_ad_config(news, None, "{}", "ben", at(2)).await);
    assert!(message.contains("at version 2"), "{message}");
    let message = conflict(store.put_ad_config(news, Some(7), "{}", "ben", at(2)).await);
    assert!(message.contains("at version 2, not 7"), "{message}");
    invalid(store.put_ad_config(news, Some(0), "{}", "ben", at(2)).await);
    assert_eq!(
        store.ad_config_versions(news).await.unwrap().len(),
        2,
        "no refused write stored anything"
    );
}

async fn of_two_concurrent_writers_of_the_same_ad_config_version_exactly_one_wins(store: Store) {
    let news = channel(&store, "news").await;
    let mut expected = None;
    for round in 0..10_i64 {
        let results = at_once(2, |writer| {
            let store = store.clone();
            async move {
                let document = format!(r#"{{"round": {round}, "writer": {writer}}}"#);
                store
                    .put_ad_config(news, expected, &document, "api", at(round))
                    .await
            }
        })
        .await;
        let won: Vec<i64> = results
            .iter()
            .filter_map(|result| result.as_ref().ok().copied())
            .collect();
        assert_eq!(won, [round + 1], "round {round}: {results:?}");
        let lost = results.into_iter().find(Result::is_err).unwrap();
        conflict(lost);
        expected = Some(round + 1);
    }
    assert_eq!(store.ad_config_versions(news).await.unwrap().len(), 10);
}

async fn the_current_ad_configs_are_the_latest_version_of_every_channel(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    let _quiet = channel(&store, "quiet").await;
    store
        .put_ad_config(films, None, r#"{"v": 1}"#, "api", at(0))
        .await
        .unwrap();
    store
        .put_ad_config(news, None, r#"{"v": 1}"#, "api", at(0))
        .await
        .unwrap();
    store
        .put_ad_config(news, Some(1), r#"{"v": 2}"#, "api", at(1))
        .await
        .unwrap();
    store
        .put_ad_config(news, Some(2), r#"{"v": 3}"#, "api", at(2))
        .await
        .unwrap();
    let current: Vec<(ChannelId, i64, String)> = store
        .ad_configs_current()
        .await
        .unwrap()
        .into_iter()
        .map(|config| (config.channel_id, config.version, config.document))
        .collect();
    assert_eq!(
        current,
        [
            (news, 3, r#"{"v": 3}"#.to_owned()),
            (films, 1, r#"{"v": 1}"#.to_owned())
        ],
        "by channel, without the channel that has none"
    );
}

async fn an_ad_config_of_an_unknown_channel_or_that_is_not_json_is_refused(store: Store) {
    let news = channel(&store, "news").await;
    let message = invalid(
        store
            .put_ad_config(news, None, "{max_ads", "api", at(0))
            .await,
    );
    assert!(message.contains("is not JSON"), "{message}");
    assert_eq!(
        not_found(
            store
                .put_ad_config(ChannelId(404), None, "{}", "api", at(0))
                .await
        ),
        "channel 404"
    );
    assert_eq!(
        not_found(
            store
                .put_ad_config(ChannelId(404), Some(3), "{}", "api", at(0))
                .await
        ),
        "channel 404"
    );
    assert_eq!(store.ad_config(news).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// Creatives

async fn a_creative_is_created_by_its_first_request_only(store: Store) {
    let demo = ladder(&store).await;
    let other = other_ladder(&store).await;
    assert!(
        store
            .request_creative("ad-1", demo, "https://cdn.example/ad-1.mp4", at(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .request_creative("ad-1", demo, "https://elsewhere.example/ad-1.mp4", at(5))
            .await
            .unwrap(),
        "requested already"
    );
    assert!(
        store
            .request_creative("ad-1", other, "https://cdn.example/ad-1.mp4", at(5))
            .await
            .unwrap(),
        "a creative is cached per ladder"
    );
    let creative = store.creative("ad-1", demo).await.unwrap().unwrap();
    assert_eq!(creative.creative_key, "ad-1");
    assert_eq!(creative.ladder_id, demo);
    assert_eq!(
        creative.source_url, "https://cdn.example/ad-1.mp4",
        "the first request's"
    );
    assert_eq!(creative.status, CreativeStatus::Pending);
    assert_eq!(
        (creative.asset_id, creative.job_id, creative.asset_state),
        (None, None, None)
    );
    assert_eq!((creative.error, creative.duration), (None, None));
    assert_eq!((creative.created_at, creative.updated_at), (at(0), at(0)));
    assert_eq!(store.creative("ad-2", demo).await.unwrap(), None);
}

async fn of_concurrent_requests_for_a_creative_exactly_one_creates_it(store: Store) {
    let demo = ladder(&store).await;
    for round in 0..5 {
        let key = format!("ad-{round}");
        let created = at_once(4, |_| {
            let (store, key) = (store.clone(), key.clone());
            async move {
                store
                    .request_creative(&key, demo, "https://cdn.example/ad.mp4", at(0))
                    .await
                    .unwrap()
            }
        })
        .await;
        assert_eq!(
            created.iter().filter(|created| **created).count(),
            1,
            "round {round}: {created:?}"
        );
    }
    assert_eq!(store.list_creatives(Some(demo)).await.unwrap().len(), 5);
}

async fn an_attached_creative_reads_back_with_its_assets_own_state(store: Store) {
    let demo = ladder(&store).await;
    let asset = store
        .insert_asset("ad-1", "https://cdn.example/ad-1.mp4", demo)
        .await
        .unwrap();
    store
        .request_creative("ad-1", demo, "https://cdn.example/ad-1.mp4", at(0))
        .await
        .unwrap();
    store
        .attach_creative_job("ad-1", demo, JobId(7), asset)
        .await
        .unwrap();
    let creative = store.creative("ad-1", demo).await.unwrap().unwrap();
    assert_eq!(
        (
            creative.asset_id,
            creative.job_id,
            creative.asset_state,
            creative.status
        ),
        (
            Some(asset),
            Some(JobId(7)),
            Some(AssetState::Processing),
            CreativeStatus::Pending
        )
    );
    store
        .publish_asset(asset, secs(6), &renditions(asset, &[2, 2, 2]))
        .await
        .unwrap();
    store
        .mark_creative_ready("ad-1", demo, secs(6), at(30))
        .await
        .unwrap();
    let creative = store.creative("ad-1", demo).await.unwrap().unwrap();
    assert_eq!(
        (creative.status, creative.asset_state, creative.duration),
        (
            CreativeStatus::Ready,
            Some(AssetState::Ready),
            Some(secs(6))
        )
    );
    assert_eq!(creative.updated_at, at(30));

    // A creative whose transcode failed shows its asset failed until it is failed itself.
    let broken = store
        .insert_asset("ad-2", "https://cdn.example/ad-2.mp4", demo)
        .await
        .unwrap();
    store
        .request_creative("ad-2", demo, "https://cdn.example/ad-2.mp4", at(0))
        .await
        .unwrap();
    store
        .attach_creative_job("ad-2", demo, JobId(8), broken)
        .await
        .unwrap();
    store.fail_asset(broken, "not a video").await.unwrap();
    let creative = store.creative("ad-2", demo).await.unwrap().unwrap();
    assert_eq!(
        (creative.status, creative.asset_state),
        (CreativeStatus::Pending, Some(AssetState::Failed))
    );

    // Deleting the asset leaves the creative without one.
    store.delete_asset(asset).await.unwrap();
    let creative = store.creative("ad-1", demo).await.unwrap().unwrap();
    assert_eq!(
        (creative.asset_id, creative.asset_state, creative.status),
        (None, None, CreativeStatus::Ready)
    );
}

async fn a_creative_becomes_ready_or_fails_once_and_the_same_news_twice_changes_nothing(
    store: Store,
) {
    let demo = ladder(&store).await;
    let asset = store.insert_asset("ad", "ad.mp4", demo).await.unwrap();
    for key in ["good", "bad"] {
        store
            .request_creative(key, demo, "ad.mp4", at(0))
            .await
            .unwrap();
    }
    let message = conflict(
        store
            .mark_creative_ready("good", demo, secs(15), at(10))
            .await,
    );
    assert!(message.contains("has no asset"), "{message}");
    store
        .attach_creative_job("good", demo, JobId(1), asset)
        .await
        .unwrap();
    store
        .mark_creative_ready("good", demo, secs(15), at(10))
        .await
        .unwrap();
    // A second replica seeing the same job end.
    store
        .mark_creative_ready("good", demo, secs(16), at(11))
        .await
        .unwrap();
    let good = store.creative("good", demo).await.unwrap().unwrap();
    assert_eq!(
        (good.status, good.duration, good.updated_at),
        (CreativeStatus::Ready, Some(secs(15)), at(10))
    );
    conflict(store.fail_creative("good", demo, "late", at(12)).await);
    conflict(
        store
            .attach_creative_job("good", demo, JobId(2), asset)
            .await,
    );

    store
        .fail_creative("bad", demo, "no video stream", at(20))
        .await
        .unwrap();
    store
        .fail_creative("bad", demo, "another reason", at(21))
        .await
        .unwrap();
    let bad = store.creative("bad", demo).await.unwrap().unwrap();
    assert_eq!(
        (bad.status, bad.error.as_deref(), bad.updated_at),
        (CreativeStatus::Failed, Some("no video stream"), at(20))
    );
    let message = conflict(
        store
            .mark_creative_ready("bad", demo, secs(15), at(22))
            .await,
    );
    assert!(message.contains("no video stream"), "{message}");

    for result in [
        store
            .mark_creative_ready("missing", demo, secs(15), at(0))
            .await,
        store.fail_creative("missing", demo, "gone", at(0)).await,
        store
            .attach_creative_job("missing", demo, JobId(3), asset)
            .await,
    ] {
        assert_eq!(
            not_found(result),
            format!(r#"creative "missing" on ladder {}"#, demo.0)
        );
    }
    invalid(
        store
            .mark_creative_ready("good", demo, secs(0), at(0))
            .await,
    );
}

async fn creatives_are_found_by_keys_listed_by_ladder_and_pending_ones_apart(store: Store) {
    let demo = ladder(&store).await;
    let other = other_ladder(&store).await;
    let asset = store.insert_asset("b", "b.mp4", demo).await.unwrap();
    for (key, ladder, requested) in [
        ("c", demo, 0),
        ("a", demo, 1),
        ("b", demo, 2),
        ("a", other, 3),
    ] {
        store
            .request_creative(key, ladder, &format!("{key}.mp4"), at(requested))
            .await
            .unwrap();
    }
    store
        .attach_creative_job("b", demo, JobId(1), asset)
        .await
        .unwrap();
    store
        .mark_creative_ready("b", demo, secs(10), at(5))
        .await
        .unwrap();
    let keys = |rows: Vec<onair_store::CreativeRow>| -> Vec<(String, LadderId)> {
        rows.into_iter()
            .map(|row| (row.creative_key, row.ladder_id))
            .collect()
    };
    let asked: Vec<String> = ["b", "missing", "c", "b"].map(String::from).to_vec();
    assert_eq!(
        keys(store.creatives_by_keys(&asked, demo).await.unwrap()),
        [("b".to_owned(), demo), ("c".to_owned(), demo)],
        "in the order asked, once each, without the unknown key"
    );
    assert_eq!(
        keys(
            store
                .creatives_by_keys(&["a".to_owned()], other)
                .await
                .unwrap()
        ),
        [("a".to_owned(), other)]
    );
    assert_eq!(store.creatives_by_keys(&[], demo).await.unwrap(), []);
    let many: Vec<String> = (0..1_200)
        .map(|n| format!("k{n}"))
        .chain(["a".to_owned()])
        .collect();
    assert_eq!(
        keys(store.creatives_by_keys(&many, demo).await.unwrap()),
        [("a".to_owned(), demo)],
        "more keys than one query holds"
    );
    assert_eq!(
        keys(store.list_creatives(Some(demo)).await.unwrap()),
        [
            ("a".to_owned(), demo),
            ("b".to_owned(), demo),
            ("c".to_owned(), demo)
        ]
    );
    assert_eq!(
        keys(store.list_creatives(None).await.unwrap()),
        [
            ("a".to_owned(), demo),
            ("b".to_owned(), demo),
            ("c".to_owned(), demo),
            ("a".to_owned(), other)
        ]
    );
    assert_eq!(
        keys(store.creatives_pending().await.unwrap()),
        [
            ("c".to_owned(), demo),
            ("a".to_owned(), demo),
            ("a".to_owned(), other)
        ],
        "oldest request first, without the ready one"
    );
}

async fn a_creative_on_an_unknown_ladder_or_with_an_asset_of_another_ladder_is_refused(
    store: Store,
) {
    let demo = ladder(&store).await;
    let other = other_ladder(&store).await;
    assert_eq!(
        not_found(
            store
                .request_creative("ad", LadderId(404), "ad.mp4", at(0))
                .await
        ),
        "ladder 404"
    );
    invalid(store.request_creative("", demo, "ad.mp4", at(0)).await);
    store
        .request_creative("ad", demo, "ad.mp4", at(0))
        .await
        .unwrap();
    let foreign = store.insert_asset("ad", "ad.mp4", other).await.unwrap();
    let message = invalid(
        store
            .attach_creative_job("ad", demo, JobId(1), foreign)
            .await,
    );
    assert!(message.contains("not to ladder"), "{message}");
    assert_eq!(
        not_found(
            store
                .attach_creative_job("ad", demo, JobId(1), AssetId(404))
                .await
        ),
        "asset 404"
    );
    let creative = store.creative("ad", demo).await.unwrap().unwrap();
    assert_eq!((creative.asset_id, creative.job_id), (None, None));
}

// ---------------------------------------------------------------------------------------------
// Sessions

async fn a_session_reads_back_and_touching_moves_its_last_sighting_only_forward(store: Store) {
    let news = channel(&store, "news").await;
    store
        .create_ad_session(&NewAdSession {
            id: "s1",
            channel_id: news,
            params: r#"{"device": "tv", "consent": "1"}"#,
            client_ip: Some("203.0.113.7"),
            user_agent: Some("Player/1.0"),
            at: at(0),
            partner_id: None,
        })
        .await
        .unwrap();
    let stored = store.ad_session("s1").await.unwrap().unwrap();
    assert_eq!(stored.id, "s1");
    assert_eq!(stored.channel_id, news);
    assert_eq!(stored.params, r#"{"device": "tv", "consent": "1"}"#);
    assert_eq!(stored.client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(stored.user_agent.as_deref(), Some("Player/1.0"));
    assert_eq!((stored.created_at, stored.last_seen), (at(0), at(0)));
    assert_eq!(store.ad_session("s2").await.unwrap(), None);

    session(&store, "s2", news, 0).await;
    let ids = ["s1", "s2", "gone"].map(String::from);
    store.touch_ad_sessions(&ids, at(20)).await.unwrap();
    store.touch_ad_sessions(&ids[..1], at(10)).await.unwrap();
    store.touch_ad_sessions(&[], at(30)).await.unwrap();
    let last_seen = |id: &'static str| {
        let store = store.clone();
        async move { store.ad_session(id).await.unwrap().unwrap().last_seen }
    };
    assert_eq!(
        last_seen("s1").await,
        at(20),
        "a late touch moves nothing back"
    );
    assert_eq!(last_seen("s2").await, at(20));
    assert_eq!(
        store.ad_session("s1").await.unwrap().unwrap().created_at,
        at(0)
    );
}

async fn touching_more_sessions_than_one_statement_holds_touches_them_all(store: Store) {
    let news = channel(&store, "news").await;
    let ids: Vec<String> = (0..1_100).map(|n| format!("s{n:04}")).collect();
    for id in &ids {
        session(&store, id, news, 0).await;
    }
    // Twice each, in reverse: sorted and deduplicated before chunking.
    let asked: Vec<String> = ids.iter().rev().chain(ids.iter()).cloned().collect();
    store.touch_ad_sessions(&asked, at(60)).await.unwrap();
    for id in [&ids[0], &ids[499], &ids[500], &ids[1_099]] {
        assert_eq!(
            store.ad_session(id).await.unwrap().unwrap().last_seen,
            at(60),
            "{id}"
        );
    }
    assert_eq!(store.expire_ad_sessions(at(60)).await.unwrap(), 0);
}

async fn sessions_are_counted_per_channel_and_in_all(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    assert_eq!(store.count_ad_sessions(None).await.unwrap(), 0);
    for (id, channel) in [("a", news), ("b", news), ("c", films)] {
        session(&store, id, channel, 0).await;
    }
    assert_eq!(store.count_ad_sessions(None).await.unwrap(), 3);
    assert_eq!(store.count_ad_sessions(Some(news)).await.unwrap(), 2);
    assert_eq!(store.count_ad_sessions(Some(films)).await.unwrap(), 1);
    assert_eq!(
        store.count_ad_sessions(Some(ChannelId(404))).await.unwrap(),
        0
    );
}

async fn expiring_idle_sessions_deletes_their_decisions_and_beacons(store: Store) {
    let news = channel(&store, "news").await;
    for (id, created) in [("idle", 0), ("touched", 0), ("active", 100)] {
        session(&store, id, news, created).await;
        store
            .record_ad_decision(&decision(id, news, 600, created, "[]"))
            .await
            .unwrap();
        store
            .claim_beacon(&beacon(id, 600, 0, "impression"), news, 1, at(600))
            .await
            .unwrap();
    }
    store
        .touch_ad_sessions(&["touched".to_owned()], at(50))
        .await
        .unwrap();
    assert_eq!(store.expire_ad_sessions(at(50)).await.unwrap(), 1);
    assert_eq!(store.ad_session("idle").await.unwrap(), None);
    assert!(store.ad_session("touched").await.unwrap().is_some());
    assert_eq!(store.ad_decisions_of_session("idle").await.unwrap(), []);
    assert_eq!(
        names(
            &store
                .ad_decisions_since(&DecisionCursor::decided_after(at(-1)), 100)
                .await
                .unwrap()
        ),
        [("touched".to_owned(), 600), ("active".to_owned(), 600)]
    );
    assert_eq!(
        store
            .beacon_counts_between(news, at(0), at(1_000))
            .await
            .unwrap(),
        [count(600, "impression", BeaconStatus::Firing, 2)]
    );
    assert_eq!(
        not_found(
            store
                .finish_beacon(
                    &beacon("idle", 600, 0, "impression"),
                    true,
                    1,
                    None,
                    at(601)
                )
                .await
        ),
        "the impression beacon of ad 0 of the break at 2026-09-21T14:23:20.000Z of ad session idle"
    );
    assert_eq!(store.expire_ad_sessions(at(101)).await.unwrap(), 2);
    assert_eq!(store.count_ad_sessions(None).await.unwrap(), 0);
    assert_eq!(
        store
            .beacon_counts_between(news, at(0), at(1_000))
            .await
            .unwrap(),
        []
    );
}

async fn a_session_on_an_unknown_channel_with_a_taken_id_or_bad_params_is_refused(store: Store) {
    let news = channel(&store, "news").await;
    let new = |id, channel_id, params| NewAdSession {
        id,
        channel_id,
        params,
        client_ip: None,
        user_agent: None,
        at: at(0),
        partner_id: None,
    };
    assert_eq!(
        not_found(
            store
                .create_ad_session(&new("s1", ChannelId(404), "{}"))
                .await
        ),
        "channel 404"
    );
    store
        .create_ad_session(&new("s1", news, "{}"))
        .await
        .unwrap();
    let message = conflict(store.create_ad_session(&new("s1", news, "{}")).await);
    assert_eq!(message, "ad session s1 exists already");
    let message = invalid(store.create_ad_session(&new("s2", news, "[1, 2]")).await);
    assert!(message.contains("is not a JSON object"), "{message}");
    invalid(store.create_ad_session(&new("s2", news, "{")).await);
    invalid(store.create_ad_session(&new("", news, "{}")).await);
    assert_eq!(store.count_ad_sessions(None).await.unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// Decisions

async fn the_first_decision_for_a_break_wins_and_a_second_with_another_fill_changes_nothing(
    store: Store,
) {
    let news = channel(&store, "news").await;
    session(&store, "s1", news, 0).await;
    let first = r#"[{"creative": "ad-1"}, {"creative": "ad-2"}]"#;
    assert!(
        store
            .record_ad_decision(&decision("s1", news, 600, 590, first))
            .await
            .unwrap()
    );
    let second = NewAdDecision {
        break_duration: secs(60),
        ..decision("s1", news, 600, 595, r#"[{"creative": "ad-9"}]"#)
    };
    assert!(!store.record_ad_decision(&second).await.unwrap());
    assert_eq!(
        store.ad_decisions_of_session("s1").await.unwrap(),
        [AdDecisionRow {
            session_id: "s1".into(),
            break_start: at(600),
            channel_id: news,
            break_duration: secs(30),
            decided_at: at(590),
            fill: first.into(),
        }]
    );
}

async fn of_concurrent_decisions_for_the_same_break_exactly_one_is_recorded(store: Store) {
    let news = channel(&store, "news").await;
    session(&store, "s1", news, 0).await;
    for round in 0..5_i64 {
        let recorded = at_once(4, |replica| {
            let store = store.clone();
            async move {
                let fill = format!(r#"{{"replica": {replica}}}"#);
                let recorded = store
                    .record_ad_decision(&decision("s1", news, 600 * round, 0, &fill))
                    .await
                    .unwrap();
                (recorded, fill)
            }
        })
        .await;
        let winners: Vec<&String> = recorded
            .iter()
            .filter(|(recorded, _)| *recorded)
            .map(|(_, fill)| fill)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {recorded:?}");
        let stored = store.ad_decisions_of_session("s1").await.unwrap();
        assert_eq!(
            &stored[round as usize].fill, winners[0],
            "the winner's fill"
        );
    }
}

async fn decisions_page_by_cursor_without_losing_those_decided_at_the_same_instant(store: Store) {
    let news = channel(&store, "news").await;
    for id in ["alpha", "bravo", "charlie"] {
        session(&store, id, news, 0).await;
    }
    // Seven decisions, five of them at the same instant (10 s).
    for (id, start, decided) in [
        ("charlie", 600, 10),
        ("alpha", 1_200, 10),
        ("bravo", 600, 20),
        ("alpha", 600, 10),
        ("bravo", 1_200, 10),
        ("charlie", 0, 5),
        ("bravo", 0, 10),
    ] {
        store
            .record_ad_decision(&decision(id, news, start, decided, "[]"))
            .await
            .unwrap();
    }
    let in_order: Vec<(String, i64)> = [
        ("charlie", 0),
        ("alpha", 600),
        ("alpha", 1_200),
        ("bravo", 0),
        ("bravo", 1_200),
        ("charlie", 600),
        ("bravo", 600),
    ]
    .into_iter()
    .map(|(id, start)| (id.to_owned(), start))
    .collect();
    for page_size in [1, 2, 3, 7, 100] {
        let mut cursor = DecisionCursor::decided_after(at(0));
        let mut read = Vec::new();
        loop {
            let page = store.ad_decisions_since(&cursor, page_size).await.unwrap();
            assert!(page.len() <= page_size as usize);
            let Some(last) = page.last() else { break };
            cursor = DecisionCursor::after(last);
            read.extend(page);
        }
        assert_eq!(names(&read), in_order, "pages of {page_size}");
        assert_eq!(cursor.decided_at(), at(20));
    }
    assert_eq!(
        names(
            &store
                .ad_decisions_since(&DecisionCursor::decided_after(at(10)), 100)
                .await
                .unwrap()
        ),
        [("bravo".to_owned(), 600)],
        "after an instant, none decided at it"
    );
    assert_eq!(
        store
            .ad_decisions_since(&DecisionCursor::decided_after(at(0)), 0)
            .await
            .unwrap(),
        []
    );
}

async fn decisions_are_listed_per_session_and_per_channel_between_two_instants(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    session(&store, "s1", news, 0).await;
    session(&store, "s2", news, 0).await;
    session(&store, "f1", films, 0).await;
    for (id, channel, start) in [
        ("s1", news, 1_200),
        ("s1", news, 600),
        ("s2", news, 600),
        ("s2", news, 1_800),
        ("f1", films, 600),
    ] {
        store
            .record_ad_decision(&decision(id, channel, start, 0, "[]"))
            .await
            .unwrap();
    }
    assert_eq!(
        names(&store.ad_decisions_of_session("s1").await.unwrap()),
        [("s1".to_owned(), 600), ("s1".to_owned(), 1_200)]
    );
    assert_eq!(
        names(
            &store
                .ad_decisions_between(news, at(600), at(1_800))
                .await
                .unwrap()
        ),
        [
            ("s1".to_owned(), 600),
            ("s2".to_owned(), 600),
            ("s1".to_owned(), 1_200)
        ],
        "breaks starting in [from, to), of that channel only"
    );
    assert_eq!(
        store
            .ad_decisions_between(films, at(0), at(600))
            .await
            .unwrap(),
        []
    );
}

async fn a_decision_for_an_unknown_session_or_of_another_channel_is_refused(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    session(&store, "s1", news, 0).await;
    assert_eq!(
        not_found(
            store
                .record_ad_decision(&decision("nobody", news, 600, 0, "[]"))
                .await
        ),
        "ad session nobody"
    );
    let message = invalid(
        store
            .record_ad_decision(&decision("s1", films, 600, 0, "[]"))
            .await,
    );
    assert!(message.contains("is on channel"), "{message}");
    invalid(
        store
            .record_ad_decision(&decision("s1", news, 600, 0, "[oops"))
            .await,
    );
    invalid(
        store
            .record_ad_decision(&NewAdDecision {
                break_duration: secs(0),
                ..decision("s1", news, 600, 0, "[]")
            })
            .await,
    );
    assert_eq!(store.ad_decisions_of_session("s1").await.unwrap(), []);
}

async fn a_batch_of_decisions_records_each_first_one_and_refuses_only_the_bad_ones(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    for id in ["s1", "s2", "s3"] {
        session(&store, id, news, 0).await;
    }
    assert!(
        store
            .record_ad_decision(&decision("s2", news, 600, 580, r#"{"first": true}"#))
            .await
            .unwrap()
    );
    let recorded = store
        .record_ad_decisions(&[
            decision("s1", news, 600, 590, r#"{"batch": 1}"#),
            decision("s2", news, 600, 590, r#"{"batch": 2}"#),
            decision("nobody", news, 600, 590, "[]"),
            decision("s3", films, 600, 590, "[]"),
            decision("s3", news, 600, 590, "[oops"),
            decision("s3", news, 780, 590, r#"{"batch": 3}"#),
        ])
        .await
        .unwrap();
    assert_eq!(recorded.len(), 6);
    assert!(matches!(recorded[0], Ok(true)));
    assert!(matches!(recorded[1], Ok(false)), "s2 was decided already");
    assert!(matches!(recorded[2], Err(StoreError::NotFound(_))));
    assert!(matches!(recorded[3], Err(StoreError::Invalid(_))));
    assert!(matches!(recorded[4], Err(StoreError::Invalid(_))));
    assert!(matches!(recorded[5], Ok(true)));
    let fills: Vec<(String, i64, String)> = store
        .ad_decisions_since(&DecisionCursor::decided_after(at(-1)), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                row.session_id,
                (row.break_start - at(0)).0 / 90_000,
                row.fill,
            )
        })
        .collect();
    assert_eq!(
        fills,
        [
            ("s2".to_owned(), 600, r#"{"first": true}"#.to_owned()),
            ("s1".to_owned(), 600, r#"{"batch": 1}"#.to_owned()),
            ("s3".to_owned(), 780, r#"{"batch": 3}"#.to_owned()),
        ]
    );
    assert!(store.record_ad_decisions(&[]).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Beacons

async fn of_concurrent_claims_of_a_beacon_exactly_one_wins(store: Store) {
    let news = channel(&store, "news").await;
    session(&store, "s1", news, 0).await;
    for event in ["impression", "start", "firstQuartile", "complete"] {
        let claimed = at_once(4, |_| {
            let store = store.clone();
            async move {
                store
                    .claim_beacon(&beacon("s1", 600, 1, event), news, 2, at(601))
                    .await
                    .unwrap()
            }
        })
        .await;
        assert_eq!(
            claimed.iter().filter(|claimed| **claimed).count(),
            1,
            "{event}: {claimed:?}"
        );
    }
    assert_eq!(
        store
            .beacon_counts_between(news, at(600), at(601))
            .await
            .unwrap()
            .iter()
            .map(|count| count.count)
            .sum::<u64>(),
        4
    );
}

async fn beacons_are_counted_per_break_event_and_status(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    session(&store, "s1", news, 0).await;
    session(&store, "s2", news, 0).await;
    session(&store, "f1", films, 0).await;
    let fired = [
        ("s1", 600, 0, "impression", Some(true)),
        ("s1", 600, 1, "impression", Some(false)),
        ("s2", 600, 0, "impression", Some(true)),
        ("s2", 600, 0, "complete", None),
        ("s1", 1_200, 0, "impression", Some(true)),
        ("s1", 1_800, 0, "impression", Some(true)),
    ];
    for (id, start, position, event, outcome) in fired {
        let key = beacon(id, start, position, event);
        assert!(store.claim_beacon(&key, news, 1, at(start)).await.unwrap());
        if let Some(sent) = outcome {
            let error = (!sent).then_some("HTTP 500");
            store
                .finish_beacon(&key, sent, 3, error, at(start + 1))
                .await
                .unwrap();
        }
    }
    store
        .claim_beacon(&beacon("f1", 600, 0, "impression"), films, 1, at(600))
        .await
        .unwrap();
    assert_eq!(
        store
            .beacon_counts_between(news, at(600), at(1_800))
            .await
            .unwrap(),
        [
            count(600, "complete", BeaconStatus::Firing, 1),
            count(600, "impression", BeaconStatus::Sent, 2),
            count(600, "impression", BeaconStatus::Failed, 1),
            count(1_200, "impression", BeaconStatus::Sent, 1),
        ],
        "by break, event and status, breaks starting in [from, to) of that channel only"
    );
}

async fn a_beacon_finished_twice_or_never_claimed_is_refused(store: Store) {
    let news = channel(&store, "news").await;
    let films = channel(&store, "films").await;
    session(&store, "s1", news, 0).await;
    let key = beacon("s1", 600, 0, "impression");
    assert!(
        not_found(store.finish_beacon(&key, true, 1, None, at(601)).await)
            .starts_with("the impression beacon of ad 0")
    );
    assert!(store.claim_beacon(&key, news, 2, at(600)).await.unwrap());
    assert!(!store.claim_beacon(&key, news, 2, at(600)).await.unwrap());
    store
        .finish_beacon(&key, false, 2, Some("timed out"), at(602))
        .await
        .unwrap();
    let message = conflict(store.finish_beacon(&key, true, 3, None, at(603)).await);
    assert!(message.contains("is failed already"), "{message}");
    assert_eq!(
        store
            .beacon_counts_between(news, at(600), at(601))
            .await
            .unwrap(),
        [count(600, "impression", BeaconStatus::Failed, 1)],
        "the first outcome is kept"
    );
    assert_eq!(
        not_found(
            store
                .claim_beacon(&beacon("nobody", 600, 0, "impression"), news, 1, at(600))
                .await
        ),
        "ad session nobody"
    );
    invalid(
        store
            .claim_beacon(&beacon("s1", 600, 0, "start"), films, 1, at(600))
            .await,
    );
    invalid(
        store
            .claim_beacon(&beacon("s1", 600, 0, ""), news, 1, at(600))
            .await,
    );
}
