//! What every subcommand does first: logs, directories, the database, the clock, signals.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use onair_domain::{Clock, SystemClock, Timestamp, VirtualClock};
use onair_store::Store;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat, redact_url};

/// Logs to standard error, as text or (`log.format = "json"`) one JSON object per line with
/// the current span's fields (a request's `request_id`).
pub fn init_tracing(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Creates the data and media folders and proves they can be written.
pub fn prepare_dirs(config: &Config) -> anyhow::Result<()> {
    for dir in [config.storage.data_dir.clone(), config.storage.media_dir()] {
        ensure_writable(&dir)?;
    }
    Ok(())
}

fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    let probe = dir.join(".onair-write-test");
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("the directory {} cannot be written", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Connects to the configured database and applies the migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.storage.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.storage.data_dir).with_context(|| {
            format!(
                "cannot create the directory {}",
                config.storage.data_dir.display()
            )
        })?;
    }
    let store = Store::connect(&url).await?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate {}", redact_url(&url)))?;
    Ok(store)
}

pub fn clock(config: &Config) -> Arc<dyn Clock> {
    match &config.playout.virtual_clock {
        Some(virtual_clock) => {
            tracing::warn!(start = %virtual_clock.start, speed = virtual_clock.speed, "running on a virtual clock");
            Arc::new(VirtualClock::new(
                Timestamp::from_datetime(virtual_clock.start),
                virtual_clock.speed,
            ))
        }
        None => Arc::new(SystemClock),
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// The accounts on `store`, on the wall clock (sessions and TOTP codes follow it even when
/// playout runs a virtual clock).
pub fn accounts(store: onair_store::Store) -> onair_control::accounts::Accounts {
    onair_control::accounts::Accounts::new(store, std::sync::Arc::new(onair_domain::SystemClock))
}

/// The control plane on `store`, with the configured clock and lock margin.
pub fn control(config: &Config, store: onair_store::Store) -> onair_control::Control {
    onair_control::Control {
        store,
        clock: clock(config),
        lock_margin: config.playout.lock_margin_ticks(),
        plan_cache: onair_control::PlanCache::default(),
        conformance_limiter: Default::default(),
    }
}
