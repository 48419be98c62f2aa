//! The harness shared by the store's test suites: every test body takes a freshly migrated
//! [`Store`] and runs twice, on a new SQLite file and in a new PostgreSQL schema at
//! `ONAIR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`). Without a
//! server the PostgreSQL half is skipped with a loud message, unless `CI=true`, where it fails.
//! Beside it, the fixtures the suites share: instants, a demo ladder, channels, ready assets.

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onair_domain::{
    AssetId, Channel, ChannelSlug, Ladder, LadderId, OutputFormat, Packaging, Rendition, RunKind,
    SegmentInfo, Ticks, Timestamp,
};
use onair_store::{AsRunEntry, Backend, NewChannel, NewScheduleItem, Store, StoreError};
use sqlx::Connection;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Generates `sqlite::NAME` and `postgres::NAME` from each `async fn NAME(store: Store)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    crate::common::run_on_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    crate::common::run_on_postgres(stringify!($name), super::$name).await;
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures the suites share

pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_790_000_000 + secs)
}

pub fn secs(secs: i64) -> Ticks {
    Ticks::from_secs(secs)
}

pub fn slug(text: &str) -> ChannelSlug {
    ChannelSlug::parse(text).expect("a valid slug")
}

pub fn new_channel(slug_text: &str, ladder_id: LadderId) -> NewChannel {
    NewChannel {
        slug: slug(slug_text),
        name: format!("Channel {slug_text}"),
        time_zone: chrono_tz::Europe::Paris,
        ladder_id,
        outputs: vec![OutputFormat::HlsTs, OutputFormat::Dash],
        window_segments: 6,
        grid_repeat: Some(Ticks::from_secs(86_400)),
        on_air: false,
    }
}

pub fn segments(asset: AssetId, rung: &str, durations: &[i64]) -> Vec<SegmentInfo> {
    durations
        .iter()
        .enumerate()
        .map(|(index, duration)| SegmentInfo {
            index: index as u32,
            duration: secs(*duration),
            size_bytes: 100_000 + index as u64,
            path: format!("assets/{asset}/{rung}/ts/{index:05}.ts"),
        })
        .collect()
}

/// Every rung of the demo ladder in both packagings, cut into segments of these durations.
pub fn renditions(asset: AssetId, durations: &[i64]) -> Vec<Rendition> {
    let ladder = Ladder::demo();
    let mut renditions = Vec::new();
    for rung in &ladder.rungs {
        for packaging in [Packaging::Ts, Packaging::Cmaf] {
            renditions.push(Rendition {
                rung: rung.name.clone(),
                packaging,
                codecs: rung.codecs(),
                width: rung.width,
                height: rung.height,
                peak_bandwidth: rung.total_bitrate() * 11 / 10,
                average_bandwidth: rung.total_bitrate(),
                init_path: (packaging == Packaging::Cmaf)
                    .then(|| format!("assets/{asset}/{}/cmaf/init.mp4", rung.name)),
                segments: segments(asset, &rung.name, durations).into(),
            });
        }
    }
    renditions
}

pub async fn demo_ladder(store: &Store) -> LadderId {
    store
        .insert_ladder(&Ladder::demo())
        .await
        .expect("the demo ladder is stored")
}

/// A ready asset of three 2 s segments.
pub async fn ready_asset(store: &Store, ladder: LadderId, title: &str) -> AssetId {
    let id = store
        .insert_asset(title, &format!("/media/{title}.mp4"), ladder)
        .await
        .unwrap();
    store
        .publish_asset(id, secs(6), &renditions(id, &[2, 2, 2]))
        .await
        .unwrap();
    id
}

pub fn item(asset: AssetId, start: Timestamp, title: &str) -> NewScheduleItem {
    NewScheduleItem {
        asset_id: asset,
        start,
        hard_start: true,
        length: None,
        title: title.to_owned(),
    }
}

/// [`new_channel`], stored.
pub async fn stored_channel(store: &Store, slug_text: &str, ladder_id: LadderId) -> Channel {
    store
        .insert_channel(&new_channel(slug_text, ladder_id))
        .await
        .unwrap()
}

/// A programme "News" of `asset` that aired for 6 s from `start` seconds.
pub fn aired(start: i64, asset: AssetId) -> AsRunEntry {
    AsRunEntry {
        start: at(start),
        end: at(start + 6),
        kind: RunKind::Programme,
        schedule_item_id: None,
        title: "News".into(),
        asset_id: asset,
        live_source: None,
        ad_break: None,
        media_sequence: 0,
        schedule_version: 1,
        recovered: false,
    }
}

/// The message of a [`StoreError::Invalid`]; panics on anything else.
pub fn invalid(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// The message of a [`StoreError::Conflict`]; panics on anything else.
pub fn conflict(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Harness

pub async fn run_on_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("onair.db").display());
    let store = Store::connect(&url).await.expect("SQLite opens");
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.expect("SQLite migrates");
    body(store.clone()).await;
    store.close().await;
}

pub async fn run_on_postgres<F, Fut>(test_name: &str, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base_url = std::env::var("ONAIR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let Some(mut admin) = reach_postgres(&base_url).await else {
        return;
    };

    static NEXT_SCHEMA: AtomicUsize = AtomicUsize::new(0);
    let prefix: String = test_name.chars().take(40).collect();
    let schema = format!(
        "t_{prefix}_{}_{}",
        std::process::id(),
        NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed)
    );
    run_admin(
        &mut admin,
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
    )
    .await;
    run_admin(&mut admin, format!("CREATE SCHEMA {schema}")).await;

    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-c%20search_path%3D{schema}");
    let store = Store::connect(&url).await.expect("PostgreSQL opens");
    assert_eq!(store.backend(), Backend::Postgres);
    store.migrate().await.expect("PostgreSQL migrates");

    // Run the body as a task so that the schema is dropped even when it panics.
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    run_admin(&mut admin, format!("DROP SCHEMA {schema} CASCADE")).await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// A connection to the test server, or `None` (after a loud message) when none answers.
async fn reach_postgres(url: &str) -> Option<sqlx::PgConnection> {
    let attempt =
        tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(url)).await;
    let error = match attempt {
        Ok(Ok(connection)) => return Some(connection),
        Ok(Err(error)) => error.to_string(),
        Err(_) => "no answer within 5 s".to_owned(),
    };
    let redacted = onair_store::redact_url(url);
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "POSTGRESQL NOT REACHABLE at {redacted} ({error}): CI=true, so the PostgreSQL store tests fail"
        );
    }
    // Once per run, straight to the process's stderr so that test output capture cannot hide it.
    static WARN_ONCE: std::sync::Once = std::sync::Once::new();
    WARN_ONCE.call_once(|| {
        let banner = "!".repeat(96);
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\nPOSTGRESQL NOT REACHABLE at {redacted} ({error}): skipping the PostgreSQL half of the store tests\n\
             (set ONAIR_TEST_POSTGRES_URL to a server where the user may create schemas; with CI=true this fails)\n{banner}\n"
        );
    });
    None
}

async fn run_admin(admin: &mut sqlx::PgConnection, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(admin)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}
