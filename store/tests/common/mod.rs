//! The harness shared by the store's test suites: every test body takes a freshly migrated
//! [`Store`] and runs twice, on a new SQLite file and in a new PostgreSQL schema at
//! `ONAIR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`). Without a
//! server the PostgreSQL half is skipped with a loud message, unless `CI=true`, where it fails.

#![allow(dead_code)]

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onair_store::{Backend, Store};
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
