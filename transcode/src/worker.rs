//! Workers: claim transcode jobs under a lease, encode off the async runtime while heartbeats
//! report progress and renew the lease, then publish the asset or fail it with the reason.
//!
//! - Every attempt writes to its own folder, `assets/<asset>/<attempt>`, so a worker that lost
//!   its lease (and may still be writing) never touches the files of the attempt that took over.
//!   An attempt removes what earlier attempts left; a failure removes what it wrote.
//! - Bad input (corrupt, not media, an unsupported codec, a picture too large, a refused URL)
//!   fails the job at once; other errors count an attempt and let the job run again.
//! - A heartbeat that finds the job cancelled or taken over stops the encode through its cancel
//!   flag. Shutting down stops every encode and hands its job back to the queue, uncounted.
//! - Whenever a job fails for good (here, or because its lease ran out with no attempts left),
//!   its asset fails with the same reason and its files are removed: nothing is half-published.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onair_domain::{AssetId, AssetState, Job, JobId, JobState, Ticks};
use onair_media::{EncodeOptions, EncodedAsset, MediaError};
use onair_store::{Store, StoreError};
use tokio::sync::watch;

use crate::FarmSettings;
use crate::ingest::{EncodeFailure, encode_blocking};
use crate::job::{Source, TranscodeJob};
use crate::source::{Downloader, SourceError, resolve_import, unique_name};

/// Lines of log kept per job.
const LOG_LINES: usize = 30;
const LOG_LINE_CHARS: usize = 400;
/// Progress reaches the database at most this often (and at least every heartbeat).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Worker ids are `NAME/SLOT`: distinct across machines and processes, e.g. `host:pid`.
    pub name: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Claim this job only, and stop once it has ended (however it ended, whoever ran it).
    pub only_job: Option<JobId>,
    /// How often an idle slot looks for work.
    pub poll_interval: Duration,
}

impl WorkerOptions {
    pub fn new(concurrency: usize) -> WorkerOptions {
        WorkerOptions {
            name: default_worker_name(),
            concurrency: concurrency.max(1),
            only_job: None,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// `HOST:PID`.
pub fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    format!("{host}:{}", std::process::id())
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the media framework is not ready: {0}")]
    Media(String),
    #[error("{0}")]
    Setup(String),
}

/// A pool of job slots on one process.
pub struct Worker {
    shared: Arc<Shared>,
    options: WorkerOptions,
}

struct Shared {
    store: Store,
    settings: FarmSettings,
    downloader: Downloader,
    lease: Ticks,
    poll_interval: Duration,
    only_job: Option<JobId>,
}

impl Worker {
    pub fn new(
        store: Store,
        settings: FarmSettings,
        options: WorkerOptions,
    ) -> Result<Worker, WorkerError> {
        let downloader = Downloader::new(settings.allow_private_urls, settings.max_upload_size)
            .map_err(|error| WorkerError::Setup(error.to_string()))?;
        let lease = Ticks::from_millis(settings.lease.as_millis().max(1) as i64);
        Ok(Worker {
            shared: Arc::new(Shared {
                store,
                downloader,
                lease,
                poll_interval: options.poll_interval,
                only_job: options.only_job,
                settings,
            }),
            options,
        })
    }

    /// Runs until `shutdown` completes (or, with [`WorkerOptions::only_job`], until that job has
    /// ended). On shutdown every running encode is stopped and its job handed back to the queue.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), WorkerError> {
        tokio::task::spawn_blocking(onair_media::init)
            .await
            .map_err(|_| WorkerError::Media("GStreamer's start was interrupted".to_owned()))?
            .map_err(|error| WorkerError::Media(error.to_string()))?;
        let incoming = &self.shared.settings.incoming_dir;
        std::fs::create_dir_all(incoming).map_err(|error| {
            WorkerError::Setup(format!("cannot create {}: {error}", incoming.display()))
        })?;

        let (stop_sender, stop) = watch::channel(false);
        let forward = tokio::spawn(async move {
            shutdown.await;
            let _ = stop_sender.send(true);
        });
        tracing::info!(worker = %self.options.name, slots = self.options.concurrency, "worker started");
        let mut slots = Vec::new();
        for slot in 0..self.options.concurrency.max(1) {
            let worker_id = format!("{}/{slot}", self.options.name);
            slots.push(tokio::spawn(
                self.shared.clone().slot(worker_id, stop.clone()),
            ));
        }
        for slot in slots {
            if let Err(error) = slot.await {
                tracing::error!(%error, "a worker slot stopped unexpectedly");
            }
        }
        forward.abort();
        tracing::info!(worker = %self.options.name, "worker stopped");
        Ok(())
    }
}

/// How one attempt ended, before the queue is told.
enum Failure {
    /// Another attempt cannot change it.
    Permanent(String),
    /// Another attempt may succeed.
    Retry(String),
    /// Stopped: cancelled, taken over, or shutting down.
    Stopped,
}

/// What a running attempt shares with its heartbeat.
struct Running {
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicU8>,
    /// The job is no longer ours: cancelled, or taken over after our lease expired.
    lost: AtomicBool,
    /// The worker is shutting down.
    stopping: AtomicBool,
    log: Mutex<VecDeque<String>>,
}

impl Running {
    fn log(&self, line: impl Into<String>) {
        let line: String = line.into();
        let stamped = format!(
            "{} {}",
            crate::now().to_datetime().format("%Y-%m-%dT%H:%M:%SZ"),
            line.chars().take(LOG_LINE_CHARS).collect::<String>()
        );
        let mut log = self.log.lock().expect("job log");
        log.push_back(stamped);
        while log.len() > LOG_LINES {
            log.pop_front();
        }
    }

    fn log_text(&self) -> String {
        let log = self.log.lock().expect("job log");
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Shared {
    /// One slot: claim, run, repeat, until told to stop.
    async fn slot(self: Arc<Shared>, worker_id: String, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            // One instant for both: a job whose lease ran out by `now` is swept here, never by
            // the claim (which would fail it without failing its asset).
            let now = crate::now();
            self.sweep_expired(now).await;
            let claimed = match self.only_job {
                Some(id) => {
                    self.store
                        .claim_job_by_id(id, &worker_id, self.lease, now)
                        .await
                }
                None => self.store.claim_job(&worker_id, self.lease, now).await,
            };
            match claimed {
                Ok(Some(job)) => {
                    self.run_job(job, &worker_id, stop.clone()).await;
                    continue;
                }
                Ok(None) => {
                    if let Some(id) = self.only_job
                        && self.has_ended(id).await
                    {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(worker = %worker_id, %error, "cannot claim a job");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn has_ended(&self, id: JobId) -> bool {
        match self.store.job(id).await {
            Ok(Some(job)) => !matches!(job.state, JobState::Queued | JobState::Running),
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Fails the assets of jobs whose lease ran out with no attempts left.
    async fn sweep_expired(&self, now: onair_domain::Timestamp) {
        let failed = match self.store.fail_expired_jobs(now).await {
            Ok(failed) => failed,
            Err(error) => {
                tracing::warn!(%error, "cannot look for expired jobs");
                return;
            }
        };
        for job in failed {
            let reason = job
                .error
                .clone()
                .unwrap_or_else(|| "its worker stopped before finishing".to_owned());
            tracing::warn!(job = job.id.0, %reason, "job failed");
            if let Ok(payload) = TranscodeJob::from_json(&job.payload) {
                self.fail_for_good(&payload, &reason).await;
            }
        }
    }

    async fn run_job(&self, job: Job, worker_id: &str, stop: watch::Receiver<bool>) {
        let running = Arc::new(Running {
            cancel: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(AtomicU8::new(0)),
            lost: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            log: Mutex::new(VecDeque::new()),
        });
        if let Ok(previous) = self.store.job_log_tail(job.id).await {
            let mut log = running.log.lock().expect("job log");
            log.extend(
                previous
                    .lines()
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned),
            );
        }
        running.log(format!(
            "attempt {} claimed by worker {worker_id}",
            job.attempts
        ));
        tracing::info!(job = job.id.0, attempt = job.attempts, worker = %worker_id, "job claimed");
        // Show the claim at once rather than at the first heartbeat.
        self.heartbeat(job.id, worker_id, &running).await;

        let payload = match TranscodeJob::from_json(&job.payload) {
            Ok(payload) => payload,
            Err(reason) => {
                running.log(format!("failed: {reason}"));
                self.heartbeat(job.id, worker_id, &running).await;
                if let Err(error) = self
                    .store
                    .give_up_job(job.id, worker_id, &reason, crate::now())
                    .await
                {
                    tracing::warn!(job = job.id.0, %error, "cannot fail the job");
                }
                return;
            }
        };

        // An earlier attempt may have published the asset and lost its lease before closing
        // the job: then there is nothing to do, and its files must stay.
        match self.store.asset(payload.asset_id).await {
            Ok(Some(asset)) if asset.state == AssetState::Ready => {
                running.log("the asset is already published");
                self.heartbeat(job.id, worker_id, &running).await;
                let _ = self
                    .store
                    .finish_job(job.id, worker_id, Ok(()), crate::now())
                    .await;
                remove_upload(&payload.source);
                return;
            }
            Ok(Some(asset)) if asset.state == AssetState::Failed => {
                let reason = "its asset has already failed".to_owned();
                running.log(format!("failed: {reason}"));
                self.heartbeat(job.id, worker_id, &running).await;
                let _ = self
                    .store
                    .give_up_job(job.id, worker_id, &reason, crate::now())
                    .await;
                return;
            }
            _ => {}
        }

        let heartbeat = tokio::spawn(heartbeats(
            self.store.clone(),
            job.id,
            worker_id.to_owned(),
            running.clone(),
            self.lease,
            self.settings.heartbeat,
            stop,
        ));
        let attempt_dir = format!("assets/{}/{}", payload.asset_id, job.attempts);
        let started = std::time::Instant::now();
        let outcome = self.attempt(&job, &payload, &attempt_dir, &running).await;
        // An attempt a stopping worker hands back is neither a success nor a failure.
        if !matches!(outcome, Err(Failure::Stopped)) {
            onair_metrics::metrics().transcode_job_finished(outcome.is_ok(), started.elapsed());
        }
        heartbeat.abort();
        let _ = heartbeat.await;
        self.conclude(&job, &payload, worker_id, &attempt_dir, &running, outcome)
            .await;
    }

    /// Fetches the input and encodes it into `attempt_dir`.
    async fn attempt(
        &self,
        job: &Job,
        payload: &TranscodeJob,
        attempt_dir: &str,
        running: &Running,
    ) -> Result<EncodedAsset, Failure> {
        self.remove_earlier_attempts(payload.asset_id, job.attempts);
        let (input, downloaded) = self.fetch_input(job, payload, running).await?;
        let outcome = self.encode(payload, &input, attempt_dir, running).await;
        if let Some(downloaded) = downloaded {
            let _ = tokio::fs::remove_file(downloaded).await;
        }
        outcome
    }

    /// The input as a local file, and the download to remove afterwards if there is one.
    async fn fetch_input(
        &self,
        job: &Job,
        payload: &TranscodeJob,
        running: &Running,
    ) -> Result<(PathBuf, Option<PathBuf>), Failure> {
        let local = |path: &Path, what: &str| -> Result<(PathBuf, Option<PathBuf>), Failure> {
            if path.is_file() {
                Ok((path.to_owned(), None))
            } else {
                Err(Failure::Permanent(format!(
                    "{what} {} is gone or is not a file",
                    path.display()
                )))
            }
        };
        match &payload.source {
            Source::Upload { path, .. } => local(path, "the uploaded file"),
            Source::File { path } => local(path, "the file"),
            Source::Import { path } => {
                let checked =
                    resolve_import(self.settings.import_dir.as_deref(), &path.to_string_lossy())
                        .map_err(|error| Failure::Permanent(error.to_string()))?;
                Ok((checked, None))
            }
            Source::Url { url } => {
                let dest = self.settings.incoming_dir.join(format!(
                    "{}.download",
                    unique_name(&format!("job-{}", job.id.0))
                ));
                running.log(format!("downloading {url}"));
                match self.downloader.download(url, &dest, &running.cancel).await {
                    Ok(bytes) => {
                        running.log(format!("downloaded {}", crate::source::human_size(bytes)));
                        Ok((dest.clone(), Some(dest)))
                    }
                    Err(SourceError::Cancelled) => Err(Failure::Stopped),
                    Err(error) if error.is_permanent() => {
                        Err(Failure::Permanent(error.to_string()))
                    }
                    Err(error) => Err(Failure::Retry(error.to_string())),
                }
            }
        }
    }

    async fn encode(
        &self,
        payload: &TranscodeJob,
        input: &Path,
        attempt_dir: &str,
        running: &Running,
    ) -> Result<EncodedAsset, Failure> {
        let ladder = match self.store.ladder(payload.ladder_id).await {
            Ok(Some(ladder)) => ladder,
            Ok(None) => {
                return Err(Failure::Permanent(format!(
                    "ladder {} no longer exists",
                    payload.ladder_id.0
                )));
            }
            Err(error) => return Err(Failure::Retry(error.to_string())),
        };
        running.log(format!(
            "encoding to ladder {:?} ({} rungs)",
            ladder.name,
            ladder.rungs.len()
        ));
        let options = EncodeOptions {
            max_width: self.settings.max_width,
            max_height: self.settings.max_height,
            cancel: Some(running.cancel.clone()),
            pad_to_whole_segments: payload.pad_to_whole_segments,
        };
        let encoded = encode_blocking(
            input.to_owned(),
            ladder,
            self.settings.media_root.clone(),
            attempt_dir.to_owned(),
            options,
            running.progress.clone(),
        )
        .await;
        match encoded {
            Ok(encoded) => Ok(encoded),
            Err(EncodeFailure::Interrupted) => Err(Failure::Retry(
                "the encoder stopped unexpectedly".to_owned(),
            )),
            Err(EncodeFailure::Media(error)) => {
                let reason = error
                    .to_string()
                    .replace(&input.display().to_string(), &payload.source.describe());
                Err(match error {
                    MediaError::Cancelled => Failure::Stopped,
                    MediaError::Unreadable { .. }
                    | MediaError::NoVideo { .. }
                    | MediaError::Truncated { .. }
                    | MediaError::TooLarge { .. }
                    | MediaError::UnsupportedCodec { .. }
                    | MediaError::Invalid(_) => Failure::Permanent(reason),
                    _ => Failure::Retry(reason),
                })
            }
        }
    }

    /// Publishes, fails, retries or releases the job after an attempt.
    async fn conclude(
        &self,
        job: &Job,
        payload: &TranscodeJob,
        worker_id: &str,
        attempt_dir: &str,
        running: &Running,
        outcome: Result<EncodedAsset, Failure>,
    ) {
        let id = job.id;
        let outcome: Result<(), Failure> = match outcome {
            Ok(encoded) => {
                self.publish(job, payload, worker_id, running, &encoded)
                    .await
            }
            Err(failure) => Err(failure),
        };
        let Err(failure) = outcome else { return };
        self.remove_dir(&self.settings.media_root.join(attempt_dir));
        match failure {
            Failure::Stopped => self.stopped(job, payload, worker_id, running).await,
            Failure::Permanent(reason) => {
                running.log(format!("failed: {reason}"));
                self.heartbeat(id, worker_id, running).await;
                tracing::warn!(job = id.0, %reason, "job failed");
                match self
                    .store
                    .fail_job_attempt(id, worker_id, &reason, true, payload.asset_id, crate::now())
                    .await
                {
                    Ok(_) => self.fail_for_good(payload, &reason).await,
                    Err(error) => tracing::warn!(job = id.0, %error, "cannot fail the job"),
                }
            }
            Failure::Retry(reason) => {
                running.log(format!("attempt {} failed: {reason}", job.attempts));
                self.heartbeat(id, worker_id, running).await;
                match self
                    .store
                    .fail_job_attempt(
                        id,
                        worker_id,
                        &reason,
                        false,
                        payload.asset_id,
                        crate::now(),
                    )
                    .await
                {
                    Ok(JobState::Failed) => {
                        tracing::warn!(job = id.0, %reason, "job failed after its last attempt");
                        self.fail_for_good(payload, &reason).await;
                    }
                    Ok(_) => {
                        tracing::warn!(job = id.0, %reason, "attempt failed; the job will run again")
                    }
                    Err(error) => tracing::warn!(job = id.0, %error, "cannot close the attempt"),
                }
            }
        }
    }

    /// Publishes an encoded attempt and succeeds the job, if the job is still ours.
    async fn publish(
        &self,
        job: &Job,
        payload: &TranscodeJob,
        worker_id: &str,
        running: &Running,
        encoded: &EncodedAsset,
    ) -> Result<(), Failure> {
        let id = job.id;
        // Renew the lease right before publishing: a worker that cannot (its job cancelled or
        // taken over, or the database out of reach) must not publish.
        if !self.heartbeat(id, worker_id, running).await {
            return Err(if running.lost.load(Ordering::Relaxed) {
                Failure::Stopped
            } else {
                Failure::Retry("the database could not be reached to publish the asset".to_owned())
            });
        }
        match crate::ingest::publish(&self.store, payload.asset_id, encoded).await {
            Ok(()) => {
                let padded = if encoded.duration != encoded.content_duration {
                    format!(
                        " (padded to whole segments from {:.2} s)",
                        encoded.content_duration.as_secs_f64()
                    )
                } else {
                    String::new()
                };
                running.log(format!(
                    "published asset {}: {:.2} s{padded}, {} renditions",
                    payload.asset_id,
                    encoded.duration.as_secs_f64(),
                    encoded.renditions.len()
                ));
            }
            // The asset is no longer processing: cancelled meanwhile, or published by an
            // earlier attempt that lost its lease but finished.
            Err(crate::TranscodeError::Store(StoreError::Conflict(_))) => {
                if !self.asset_is_ready(payload.asset_id).await {
                    return Err(Failure::Stopped);
                }
                running.log("an earlier attempt already published the asset");
                let attempt_dir = format!("assets/{}/{}", payload.asset_id, job.attempts);
                self.remove_dir(&self.settings.media_root.join(attempt_dir));
            }
            Err(crate::TranscodeError::Store(StoreError::Invalid(reason))) => {
                return Err(Failure::Permanent(reason));
            }
            Err(error) => return Err(Failure::Retry(error.to_string())),
        }
        self.heartbeat(id, worker_id, running).await;
        match self
            .store
            .finish_job(id, worker_id, Ok(()), crate::now())
            .await
        {
            Ok(_) => tracing::info!(job = id.0, asset = payload.asset_id.0, "job succeeded"),
            Err(error) => {
                tracing::warn!(job = id.0, %error, "the asset is published but the job could not be closed")
            }
        }
        remove_upload(&payload.source);
        Ok(())
    }

    async fn asset_is_ready(&self, asset_id: AssetId) -> bool {
        matches!(
            self.store.asset(asset_id).await,
            Ok(Some(asset)) if asset.state == AssetState::Ready
        )
    }

    /// The encode stopped: hand the job back on shutdown, or clean up after a cancellation.
    async fn stopped(&self, job: &Job, payload: &TranscodeJob, worker_id: &str, running: &Running) {
        let id = job.id;
        if !running.lost.load(Ordering::Relaxed) && running.stopping.load(Ordering::Relaxed) {
            running.log(format!(
                "worker {worker_id} shut down: the job goes back to the queue"
            ));
            self.heartbeat(id, worker_id, running).await;
            match self.store.release_job(id, worker_id, crate::now()).await {
                Ok(()) => tracing::info!(job = id.0, "job handed back to the queue"),
                Err(error) => tracing::warn!(job = id.0, %error, "cannot hand the job back"),
            }
            return;
        }
        match self.store.job(id).await {
            Ok(Some(current)) if current.state == JobState::Cancelled => {
                tracing::info!(job = id.0, "job cancelled");
                self.fail_for_good(payload, "the job was cancelled").await;
            }
            // Taken over by another worker after our lease expired: its attempt owns the asset.
            _ => {
                tracing::warn!(job = id.0, worker = %worker_id, "lost the job's lease to another worker")
            }
        }
    }

    /// The job has failed for good: so does its asset, and its files and upload go.
    async fn fail_for_good(&self, payload: &TranscodeJob, reason: &str) {
        self.fail_asset(payload.asset_id, reason).await;
        // A ready asset's files are on air: only a failed one's go.
        if !self.asset_is_ready(payload.asset_id).await {
            self.remove_asset_files(payload.asset_id);
        }
        remove_upload(&payload.source);
    }

    async fn fail_asset(&self, asset_id: AssetId, reason: &str) {
        match self.store.fail_asset(asset_id, reason).await {
            Ok(()) | Err(StoreError::Conflict(_)) | Err(StoreError::NotFound(_)) => {}
            Err(error) => tracing::warn!(asset = asset_id.0, %error, "cannot fail the asset"),
        }
    }

    /// Renews the lease and stores progress and log; tells `running` when the job is lost.
    /// Whether the lease was renewed.
    async fn heartbeat(&self, id: JobId, worker_id: &str, running: &Running) -> bool {
        beat(&self.store, id, worker_id, running, self.lease).await
    }

    fn remove_earlier_attempts(&self, asset_id: AssetId, attempt: u32) {
        let dir = self.settings.media_root.join(format!("assets/{asset_id}"));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy() != attempt.to_string() {
                self.remove_dir(&entry.path());
            }
        }
    }

    fn remove_asset_files(&self, asset_id: AssetId) {
        self.remove_dir(&self.settings.media_root.join(format!("assets/{asset_id}")));
    }

    fn remove_dir(&self, dir: &Path) {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!(dir = %dir.display(), %error, "cannot remove"),
        }
    }
}

/// An upload is the farm's to remove once its job has ended; other sources are left alone.
fn remove_upload(source: &Source) {
    if let Source::Upload { path, .. } = source {
        let _ = std::fs::remove_file(path);
    }
}

/// Heartbeats every `every` until aborted; on shutdown stops the encode (and keeps beating
/// while it winds down, so that the lease holds until the job is handed back).
async fn heartbeats(
    store: Store,
    id: JobId,
    worker_id: String,
    running: Arc<Running>,
    lease: Ticks,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    // Progress is reported as it moves, at most once per PROGRESS_EVERY; the lease is renewed
    // at least every `every` whether it moves or not.
    let mut ticker = tokio::time::interval(every.min(PROGRESS_EVERY));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut last_beat = tokio::time::Instant::now();
    let mut last_progress = running.progress.load(Ordering::Relaxed);
    let mut stop_open = true;
    let check_stop = |stop: &watch::Receiver<bool>| {
        if *stop.borrow() && !running.stopping.swap(true, Ordering::Relaxed) {
            running.cancel.store(true, Ordering::Relaxed);
        }
    };
    check_stop(&stop);
    loop {
        if running.lost.load(Ordering::Relaxed) {
            // The job is not ours any more: nothing to renew.
            std::future::pending::<()>().await;
        }
        tokio::select! {
            _ = ticker.tick() => {
                let progress = running.progress.load(Ordering::Relaxed);
                if progress != last_progress || last_beat.elapsed() >= every {
                    beat(&store, id, &worker_id, &running, lease).await;
                    last_beat = tokio::time::Instant::now();
                    last_progress = progress;
                }
            }
            changed = stop.changed(), if stop_open => match changed {
                Ok(()) => check_stop(&stop),
                Err(_) => stop_open = false,
            },
        }
    }
}

async fn beat(store: &Store, id: JobId, worker_id: &str, running: &Running, lease: Ticks) -> bool {
    let now = crate::now();
    let outcome = store
        .heartbeat_job(
            id,
            worker_id,
            running.progress.load(Ordering::Relaxed),
            &running.log_text(),
            now,
            now + lease,
        )
        .await;
    match outcome {
        Ok(()) => true,
        Err(StoreError::Conflict(reason)) => {
            if !running.lost.swap(true, Ordering::Relaxed) {
                tracing::info!(job = id.0, %reason, "stopping the job");
            }
            running.cancel.store(true, Ordering::Relaxed);
            false
        }
        Err(error) => {
            tracing::warn!(job = id.0, %error, "heartbeat failed");
            false
        }
    }
}
