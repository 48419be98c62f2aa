//! `onair worker`: transcode workers only, sharing the job queue with any other workers and
//! servers on the same database. Ctrl-C or SIGTERM stops every encode and hands its job back.

use anyhow::Context;
use onair_transcode::{Worker, WorkerOptions};

use crate::config::Config;
use crate::startup;

pub async fn run(config: &Config, concurrency: Option<usize>) -> anyhow::Result<()> {
    let concurrency = concurrency.unwrap_or(config.transcode.concurrency);
    if concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    startup::prepare_dirs(config)?;
    let store = startup::open_store(config).await?;
    let options = WorkerOptions::new(concurrency);
    let name = options.name.clone();
    let worker = Worker::new(
        store,
        config.transcode.farm_settings(&config.storage),
        options,
    )?;
    // A stable line on stdout: tests and scripts wait for it.
    println!("onair worker {name} running {concurrency} job slot(s)");
    worker
        .run(startup::shutdown_signal())
        .await
        .context("the worker failed")?;
    Ok(())
}
