//! `onair asset add FILE|URL`: queues a transcode job in the database and follows it with a
//! progress bar until it ends; exits non-zero with the reason when it fails.
//!
//! A local FILE is read where it is, not copied: the job records its absolute path, so the file
//! must stay there (and be readable by whichever worker runs the job) until the job ends. So
//! that the command completes with no other worker running, it runs a worker of its own that
//! claims only this job (`--no-local-worker` leaves the job to the running workers).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use onair_domain::{Job, JobId, JobState};
use onair_store::Store;
use onair_transcode::source::check_url;
use onair_transcode::{NewTranscode, Source, Worker, WorkerOptions, enqueue};
use tokio::sync::watch;

use crate::config::Config;
use crate::startup;

/// How often the progress bar asks the database.
const POLL: Duration = Duration::from_millis(300);

#[derive(Debug)]
pub struct AddArgs {
    pub source: String,
    pub title: Option<String>,
    pub ladder: Option<String>,
    /// Run a worker for this job in this process.
    pub local_worker: bool,
    /// Follow the job until it ends.
    pub wait: bool,
}

pub async fn add(config: &Config, args: AddArgs) -> anyhow::Result<()> {
    let settings = config.transcode.farm_settings(&config.storage);
    let source = source_of(&args.source, settings.allow_private_urls)?;
    startup::prepare_dirs(config)?;
    let store = startup::open_store(config).await?;
    let enqueued = enqueue(
        &store,
        &settings,
        NewTranscode {
            title: args.title,
            source,
            ladder: args.ladder,
        },
    )
    .await
    .context("cannot queue the transcode job")?;
    let job_id = enqueued.job_id;
    // A stable line on stdout: scripts and tests read the ids from it.
    println!("queued job {} for asset {}", job_id.0, enqueued.asset_id.0);
    if !args.wait {
        return Ok(());
    }

    let (stop_sender, stop) = watch::channel(false);
    let local = if args.local_worker {
        let mut options = WorkerOptions::new(1);
        options.name = format!("{}-cli", options.name);
        options.only_job = Some(job_id);
        let worker = Worker::new(store.clone(), settings, options)?;
        let mut stop = stop.clone();
        Some(tokio::spawn(worker.run(async move {
            let _ = stop.wait_for(|stop| *stop).await;
        })))
    } else {
        None
    };

    let followed = follow(&store, job_id, local.as_ref()).await;
    let _ = stop_sender.send(true);
    if let Some(local) = local {
        match local.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the local worker failed"),
            Err(error) => tracing::warn!(%error, "the local worker stopped unexpectedly"),
        }
    }
    let job = match followed? {
        Followed::Ended(job) => job,
        Followed::Interrupted => {
            let state = store
                .job(job_id)
                .await?
                .map_or("gone", |job| job.state.as_str());
            bail!(
                "interrupted: job {} is {state}; `onair worker` or `onair serve` will run it",
                job_id.0
            );
        }
    };
    match job.state {
        JobState::Succeeded => {
            let asset = store
                .asset(enqueued.asset_id)
                .await?
                .with_context(|| format!("asset {} is gone", enqueued.asset_id))?;
            let renditions: Vec<String> = asset
                .renditions
                .iter()
                .map(|rendition| format!("{}/{}", rendition.rung, rendition.packaging.as_str()))
                .collect();
            println!(
                "asset {} ready: {:?}, {:.2} s, renditions {}",
                asset.id,
                asset.title,
                asset.duration.as_secs_f64(),
                renditions.join(" ")
            );
            Ok(())
        }
        JobState::Cancelled => bail!("job {} was cancelled", job_id.0),
        _ => bail!(
            "job {} failed: {}",
            job_id.0,
            job.error.as_deref().unwrap_or("no reason was recorded")
        ),
    }
}

/// A URL stays a URL (checked now, downloaded by the worker); anything else must be a file.
fn source_of(text: &str, allow_private_urls: bool) -> anyhow::Result<Source> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        check_url(text, allow_private_urls)?;
        return Ok(Source::Url {
            url: text.to_owned(),
        });
    }
    if text.contains("://") {
        bail!("{text:?}: only http:// and https:// URLs can be downloaded");
    }
    let path = Path::new(text)
        .canonicalize()
        .with_context(|| format!("cannot read {text}"))?;
    if !path.is_file() {
        bail!("{text} is not a file");
    }
    std::fs::File::open(&path).with_context(|| format!("cannot read {text}"))?;
    Ok(Source::File { path })
}

enum Followed {
    Ended(Job),
    Interrupted,
}

/// Shows the job's progress until it ends or Ctrl-C.
async fn follow(
    store: &Store,
    id: JobId,
    local: Option<&tokio::task::JoinHandle<Result<(), onair_transcode::worker::WorkerError>>>,
) -> anyhow::Result<Followed> {
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{spinner} job {prefix} [{bar:32}] {pos:>3}% {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(id.0.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut interrupt = std::pin::pin!(startup::shutdown_signal());
    let mut last_state = None;
    loop {
        let job = store
            .job(id)
            .await?
            .with_context(|| format!("job {} is gone", id.0))?;
        let state = match job.state {
            JobState::Running => format!("running (attempt {})", job.attempts),
            other => other.as_str().to_owned(),
        };
        if bar.is_hidden() && last_state.as_ref() != Some(&state) {
            eprintln!("job {}: {state}", id.0);
        }
        bar.set_position(u64::from(job.progress_percent));
        bar.set_message(state.clone());
        last_state = Some(state);
        if !matches!(job.state, JobState::Queued | JobState::Running) {
            if job.state == JobState::Succeeded {
                bar.finish();
            } else {
                bar.abandon();
            }
            end_line(&bar);
            return Ok(Followed::Ended(job));
        }
        if let Some(local) = local
            && local.is_finished()
            && job.state == JobState::Queued
        {
            bar.abandon_with_message("queued: the local worker stopped");
            end_line(&bar);
            bail!(
                "the local worker stopped (see the log above); job {} waits for `onair worker`",
                id.0
            );
        }
        tokio::select! {
            () = &mut interrupt => {
                bar.abandon_with_message("interrupted");
                end_line(&bar);
                return Ok(Followed::Interrupted);
            }
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// indicatif leaves the cursor after a finished bar: what follows starts on a line of its own.
fn end_line(bar: &ProgressBar) {
    if !bar.is_hidden() {
        eprintln!();
    }
}
