//! Grid documents, on both backends: every test body takes a freshly migrated [`Store`] and runs
//! as `sqlite::NAME` (a new file in a temporary directory) and as `postgres::NAME` (a new schema
//! of the server at `ONAIR_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! skipped loudly without one, failing under `CI=true`). The harness is the one of `store.rs`.

use onair_domain::{ChannelId, ChannelSlug, Ladder, OutputFormat, Timestamp};
use onair_store::grid::{GridDocument, GridDocuments, GridEdit, GridKind};
use onair_store::{NewChannel, ScheduleEdit, Store, StoreError};
use serde_json::{Value, json};

on_both_backends! {
    a_grid_edit_is_kept_as_a_version_with_its_author_instant_and_documents,
    a_grid_edit_on_a_stale_version_is_a_conflict_and_changes_nothing,
    a_grid_edit_and_a_schedule_edit_on_one_version_cannot_both_land,
    concurrent_grid_edits_on_one_version_let_exactly_one_through,
    a_grid_edit_cannot_take_effect_before_the_version_before_it,
    a_grid_edit_without_documents_or_with_a_kind_twice_is_invalid,
    grid_documents_go_with_their_channel,
    a_schedule_edit_with_grid_documents_lands_both_in_one_version,
    a_schedule_edit_whose_grid_documents_are_refused_changes_nothing,
    the_latest_document_of_a_kind_is_the_newest_version_that_wrote_it,
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_790_000_000 + secs)
}

async fn channel(store: &Store) -> ChannelId {
    let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
    store
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
        .id
}

fn templates(rule: &str) -> Value {
    json!([{"name": "evenings", "slots": [{"rule": rule, "block": "News"}]}])
}

fn edit<'a>(
    channel: ChannelId,
    expected_version: i64,
    documents: &'a [(GridKind, Value)],
    effective_from: Timestamp,
) -> GridEdit<'a> {
    GridEdit {
        channel,
        expected_version,
        documents,
        effective_from,
        author: "tester",
        now: at(-100),
    }
}

/// The documents in effect at the latest version: the newest of each kind.
fn latest(documents: &[GridDocument]) -> Vec<(GridKind, i64, Value)> {
    let mut latest: Vec<(GridKind, i64, Value)> = Vec::new();
    for document in documents {
        latest.retain(|(kind, _, _)| *kind != document.kind);
        latest.push((document.kind, document.version, document.body.clone()));
    }
    latest.sort_by_key(|(kind, _, _)| *kind);
    latest
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn a_grid_edit_is_kept_as_a_version_with_its_author_instant_and_documents(store: Store) {
    let channel = channel(&store).await;
    let first = [
        (GridKind::Templates, templates("weekdays 20:00")),
        (
            GridKind::AdPolicy,
            json!({"every_items": 1, "break_ms": 60000}),
        ),
    ];
    let version = store
        .publish_grid_edit(&edit(channel, 0, &first, at(0)))
        .await
        .unwrap();
    assert_eq!(version, 1);
    let second = [(GridKind::Templates, templates("weekdays 21:00"))];
    let version = store
        .publish_grid_edit(&edit(channel, 1, &second, at(50)))
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(store.schedule_version(channel).await.unwrap(), 2);

    let documents = store.grid_documents(channel).await.unwrap();
    let versions: Vec<(i64, GridKind)> = documents
        .iter()
        .map(|document| (document.version, document.kind))
        .collect();
    assert_eq!(
        versions,
        [
            (1, GridKind::Templates),
            (1, GridKind::AdPolicy),
            (2, GridKind::Templates)
        ],
        "every version is kept"
    );
    assert_eq!(documents[0].author, "tester");
    assert_eq!(documents[0].published_at, at(-100));
    assert_eq!(documents[0].effective_from, at(0));
    assert_eq!(documents[2].effective_from, at(50));
    assert_eq!(
        latest(&documents),
        [
            (GridKind::Templates, 2, templates("weekdays 21:00")),
            (GridKind::AdPolicy, 1, first[1].1.clone()),
        ],
        "a kind left out of an edit stays as it was"
    );
}

async fn a_grid_edit_on_a_stale_version_is_a_conflict_and_changes_nothing(store: Store) {
    let channel = channel(&store).await;
    let documents = [(GridKind::Templates, templates("weekdays 20:00"))];
    store
        .publish_grid_edit(&edit(channel, 0, &documents, at(0)))
        .await
        .unwrap();
    let stale = [(GridKind::Templates, templates("daily 06:00"))];
    let error = store
        .publish_grid_edit(&edit(channel, 0, &stale, at(10)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Conflict(message) if message.contains("version 1, not 0")),
        "{error:?}"
    );
    assert_eq!(store.schedule_version(channel).await.unwrap(), 1);
    let kept = store.grid_documents(channel).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].body, documents[0].1);
}

async fn a_grid_edit_and_a_schedule_edit_on_one_version_cannot_both_land(store: Store) {
    let channel = channel(&store).await;
    store
        .publish_schedule_edit(&ScheduleEdit {
            channel,
            expected_version: 0,
            windows: &[(at(0), at(100))],
            items: &[],
            author: "scheduler",
            now: at(-100),
        })
        .await
        .unwrap();
    let documents = [(GridKind::Blocks, json!({"News": {"entries": []}}))];
    let error = store
        .publish_grid_edit(&edit(channel, 0, &documents, at(0)))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert!(store.grid_documents(channel).await.unwrap().is_empty());

    let version = store
        .publish_grid_edit(&edit(channel, 1, &documents, at(0)))
        .await
        .unwrap();
    assert_eq!(version, 2, "one counter numbers both kinds of edit");
    let error = store
        .publish_schedule_edit(&ScheduleEdit {
            channel,
            expected_version: 1,
            windows: &[(at(0), at(100))],
            items: &[],
            author: "scheduler",
            now: at(-50),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Conflict(message) if message.contains("version 2, not 1")),
        "{error:?}"
    );
}

async fn concurrent_grid_edits_on_one_version_let_exactly_one_through(store: Store) {
    let channel = channel(&store).await;
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let documents = [(
                    GridKind::AdPolicy,
                    json!({"every_items": n + 1, "break_ms": 60000}),
                )];
                store
                    .publish_grid_edit(&edit(channel, 0, &documents, at(0)))
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
    assert_eq!(store.grid_documents(channel).await.unwrap().len(), 1);
}

async fn a_grid_edit_cannot_take_effect_before_the_version_before_it(store: Store) {
    let channel = channel(&store).await;
    let documents = [(GridKind::Templates, templates("weekdays 20:00"))];
    store
        .publish_grid_edit(&edit(channel, 0, &documents, at(1000)))
        .await
        .unwrap();
    let error = store
        .publish_grid_edit(&edit(channel, 1, &documents, at(999)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(message) if message.contains("before grid version 1")),
        "{error:?}"
    );
    assert_eq!(store.schedule_version(channel).await.unwrap(), 1);
    assert_eq!(
        store
            .publish_grid_edit(&edit(channel, 1, &documents, at(1000)))
            .await
            .unwrap(),
        2,
        "the same instant is in order"
    );
}

async fn a_grid_edit_without_documents_or_with_a_kind_twice_is_invalid(store: Store) {
    let channel = channel(&store).await;
    let error = store
        .publish_grid_edit(&edit(channel, 0, &[], at(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(message) if message.contains("names no document")),
        "{error:?}"
    );
    let twice = [
        (GridKind::Rights, json!([])),
        (GridKind::Rights, json!([{"asset_id": 1}])),
    ];
    let error = store
        .publish_grid_edit(&edit(channel, 0, &twice, at(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(message) if message.contains("rights document twice")),
        "{error:?}"
    );
    assert_eq!(store.schedule_version(channel).await.unwrap(), 0);
}

async fn grid_documents_go_with_their_channel(store: Store) {
    let channel = channel(&store).await;
    let documents = [(GridKind::Metadata, json!([]))];
    store
        .publish_grid_edit(&edit(channel, 0, &documents, at(0)))
        .await
        .unwrap();
    let error = store
        .publish_grid_edit(&edit(ChannelId(channel.0 + 1), 0, &documents, at(0)))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    assert!(
        store
            .grid_documents(ChannelId(channel.0 + 1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.grid_documents(channel).await.unwrap().len(), 1);
}

/// A schedule edit of the window `[0, 100)` that leaves it empty.
fn empty_edit(channel: ChannelId, expected_version: i64) -> ScheduleEdit<'static> {
    ScheduleEdit {
        channel,
        expected_version,
        windows: &[(WINDOW_FROM, WINDOW_TO)],
        items: &[],
        author: "scheduler",
        now: at(-100),
    }
}

const WINDOW_FROM: Timestamp = Timestamp(1_790_000_000 * 90_000);
const WINDOW_TO: Timestamp = Timestamp((1_790_000_000 + 100) * 90_000);

fn metadata(title: &str) -> Value {
    json!([{"start": "2026-09-21T20:00:00.000Z", "asset_id": 7, "info": {"title": title, "episode": 3}}])
}

async fn a_schedule_edit_with_grid_documents_lands_both_in_one_version(store: Store) {
    let channel = channel(&store).await;
    let documents = [(GridKind::Metadata, metadata("Evening news"))];
    let version = store
        .publish_schedule_edit_with_grid(
            &empty_edit(channel, 0),
            &GridDocuments {
                documents: &documents,
                effective_from: at(-100),
            },
        )
        .await
        .unwrap();
    assert_eq!(version, 1, "one version for both");
    assert_eq!(store.schedule_version(channel).await.unwrap(), 1);
    let published = store.published_versions(channel).await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].version, 1);
    let written = store.grid_documents(channel).await.unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(
        (
            written[0].kind,
            written[0].version,
            written[0].author.as_str(),
            written[0].effective_from,
            &written[0].body
        ),
        (
            GridKind::Metadata,
            1,
            "scheduler",
            at(-100),
            &metadata("Evening news")
        )
    );
}

async fn a_schedule_edit_whose_grid_documents_are_refused_changes_nothing(store: Store) {
    let channel = channel(&store).await;
    let templates = [(GridKind::Templates, templates("weekdays 20:00"))];
    store
        .publish_grid_edit(&edit(channel, 0, &templates, at(1000)))
        .await
        .unwrap();
    let documents = [(GridKind::Metadata, metadata("Evening news"))];
    let error = store
        .publish_schedule_edit_with_grid(
            &empty_edit(channel, 1),
            &GridDocuments {
                documents: &documents,
                effective_from: at(999),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(message) if message.contains("before grid version 1")),
        "{error:?}"
    );
    assert_eq!(store.schedule_version(channel).await.unwrap(), 1);
    assert!(
        store.published_versions(channel).await.unwrap().is_empty(),
        "no schedule version was kept"
    );
    assert_eq!(store.grid_documents(channel).await.unwrap().len(), 1);

    let twice = [
        (GridKind::Metadata, metadata("A")),
        (GridKind::Metadata, metadata("B")),
    ];
    let error = store
        .publish_schedule_edit_with_grid(
            &empty_edit(channel, 1),
            &GridDocuments {
                documents: &twice,
                effective_from: at(1000),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(message) if message.contains("twice")),
        "{error:?}"
    );
    assert_eq!(store.schedule_version(channel).await.unwrap(), 1);
}

async fn the_latest_document_of_a_kind_is_the_newest_version_that_wrote_it(store: Store) {
    let channel = channel(&store).await;
    assert_eq!(
        store.latest_grid_effective_from(channel).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .latest_grid_document(channel, GridKind::Metadata)
            .await
            .unwrap(),
        None
    );
    for (expected, title) in [(0, "First"), (1, "Second")] {
        let documents = [(GridKind::Metadata, metadata(title))];
        store
            .publish_grid_edit(&edit(channel, expected, &documents, at(0)))
            .await
            .unwrap();
    }
    let templates = [(GridKind::Templates, templates("daily 06:00"))];
    store
        .publish_grid_edit(&edit(channel, 2, &templates, at(0)))
        .await
        .unwrap();
    assert_eq!(
        store.latest_grid_effective_from(channel).await.unwrap(),
        Some(at(0))
    );
    let latest = store
        .latest_grid_document(channel, GridKind::Metadata)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.version, latest.body), (2, metadata("Second")));
}
