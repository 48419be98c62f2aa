//! `onair migrate`: bring the database schema up to date.

use crate::config::Config;
use crate::startup;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    tracing::info!(backend = ?store.backend(), "database is up to date");
    Ok(())
}
