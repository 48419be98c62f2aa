//! `onair ingest`: live ingest on its own. The RTMP and SRT listeners and a live ladder per
//! publish, writing into the shared media folder and recording each segment in the shared
//! database, with the channels' plans loaded only to cut each source on its live slots' grid.
//! Servers on the same database and media folder (`[live] enabled = false` there, or on other
//! ports) air what it records: they decide every slot from the store, as it does.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onair_control::live::LiveAiringsLoop;
use onair_control::registry::{ChannelRefresher, PlanDirectory};
use onair_playout::llhls::LlOutputs;
use onair_playout::origin::Directory;

use crate::config::Config;
use crate::startup;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    startup::prepare_dirs(config)?;
    let store = startup::open_store(config).await?;
    onair_media::init().context("GStreamer is not ready")?;
    let clock = startup::clock(config);
    let directory = Arc::new(Directory::default());
    let plans = Arc::new(PlanDirectory::default());
    let mut refresher =
        ChannelRefresher::new(store.clone(), directory.clone(), plans.clone()).with_clock(clock);
    refresher
        .refresh_all()
        .await
        .context("cannot load the channels")?;
    let airings = LiveAiringsLoop::new(
        startup::control(config, store.clone()),
        directory,
        plans,
        super::serve::live_times(config),
    );
    let refresh_task = tokio::spawn(refresher.run(config.playout.refresh_interval));
    let airings_task = tokio::spawn(airings.clone().run(Duration::from_millis(250)));
    // The LL-HLS output is served by `onair serve`; here its registry only takes the feed.
    let ll_outputs = Arc::new(LlOutputs::default());
    let Some(server) = super::serve::start_ingest(config, &store, airings, ll_outputs).await else {
        anyhow::bail!(
            "live ingest cannot listen on live.rtmp_addr {:?} / live.srt_addr {:?}",
            config.live.rtmp_addr,
            config.live.srt_addr
        );
    };
    startup::shutdown_signal().await;
    server.shutdown().await;
    refresh_task.abort();
    airings_task.abort();
    Ok(())
}
