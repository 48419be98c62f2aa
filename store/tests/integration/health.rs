//! What readiness checks read about the database: it answers, it lacks no migration, its pool.

use onair_store::Store;
use sqlx::Connection;

on_both_backends! {
    a_migrated_database_answers_and_lacks_no_migration,
}

async fn a_migrated_database_answers_and_lacks_no_migration(store: Store) {
    store.ping().await.unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), vec![]);
    let pool = store.pool_status();
    assert!(pool.size >= 1 && pool.size <= pool.max, "{pool:?}");
    assert!(pool.idle <= pool.size as usize, "{pool:?}");
}

#[tokio::test]
async fn a_database_never_migrated_lacks_every_migration_and_one_unapplied_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("onair.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.ping().await.unwrap();
    let pending = store.pending_migrations().await.unwrap();
    assert!(pending.len() >= 12, "{pending:?}");
    assert_eq!(pending[0].version, 1);

    store.migrate().await.unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), vec![]);
    let newest = pending.last().unwrap().clone();
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ?")
        .bind(newest.version)
        .execute(&mut connection)
        .await
        .unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), vec![newest]);
}
