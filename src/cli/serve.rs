//! `onair serve`: every role in one process.

use std::sync::Arc;

use anyhow::Context;
use onair_playout::origin::{self, OriginState};

use crate::channels::{ChannelRefresher, DirectoryChannelList};
use crate::config::Config;
use crate::startup;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    startup::prepare_dirs(config)?;
    let store = startup::open_store(config).await?;
    serve(config, store).await
}

/// Serves from an open store until Ctrl-C or SIGTERM.
pub async fn serve(config: &Config, store: onair_store::Store) -> anyhow::Result<()> {
    let clock = startup::clock(config);
    let directory = Arc::new(onair_playout::origin::Directory::default());
    let mut refresher = ChannelRefresher::new(store.clone(), directory.clone());
    refresher
        .refresh_all()
        .await
        .context("cannot load the channels")?;
    let refresh_task = tokio::spawn(refresher.run(config.playout.refresh_interval));

    let origin = origin::router(OriginState {
        directory: directory.clone(),
        clock: clock.clone(),
        media_root: config.storage.media_dir(),
    });
    let pages = onair_web_ui::router(onair_web_ui::WebState {
        channels: Arc::new(DirectoryChannelList(directory)),
    });
    let app = origin.merge(pages);

    let addr = config.http.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // A stable line on stdout: tests and scripts read the port from it.
    println!("onair listening on http://{local}");
    tracing::info!(%local, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(startup::shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    refresh_task.abort();
    tracing::info!("stopped");
    Ok(())
}
