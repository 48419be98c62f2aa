//! Workers in-process on a SQLite store, encoding clips the tests generate: a job runs and
//! publishes; bad input fails at once with its reason; a cancelled job stops its encode; a
//! shutdown hands the job back; a lease that ran out with no attempts left fails the asset.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use onair_domain::{AssetState, Job, JobId, JobKind, JobState, Ticks};
use onair_media::{ClipSpec, FrameRate, TestPattern};
use onair_store::Store;
use onair_transcode::{
    Enqueued, FarmSettings, NewTranscode, Source, Worker, WorkerOptions, enqueue,
};
use tokio::sync::oneshot;

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    settings: FarmSettings,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("onair.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let mut settings = FarmSettings::under(dir.path());
    settings.default_ladder = "demo".to_owned();
    settings.lease = Duration::from_secs(3);
    settings.heartbeat = Duration::from_millis(200);
    Fixture {
        dir,
        store,
        settings,
    }
}

impl Fixture {
    /// A 320x180 clip at 25 fps, generated once per name.
    fn clip(&self, name: &str, secs: i64) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.mp4"));
        let spec = ClipSpec {
            title: name.to_owned(),
            subtitle: None,
            duration: Ticks::from_secs(secs),
            width: 320,
            height: 180,
            fps: FrameRate::new(25, 1),
            pattern: TestPattern::Smpte,
            tone_hz: 440,
        };
        onair_media::generate_clip(&spec, &path).unwrap();
        path
    }

    async fn enqueue_file(&self, path: &Path) -> Enqueued {
        enqueue(
            &self.store,
            &self.settings,
            NewTranscode {
                title: None,
                source: Source::File {
                    path: path.to_owned(),
                },
                ladder: None,
            },
        )
        .await
        .unwrap()
    }

    fn worker(&self, only_job: Option<JobId>, name: &str) -> Worker {
        let mut options = WorkerOptions::new(1);
        options.name = name.to_owned();
        options.only_job = only_job;
        options.poll_interval = Duration::from_millis(100);
        Worker::new(self.store.clone(), self.settings.clone(), options).unwrap()
    }

    /// Runs a worker for `job` alone until the job ends.
    async fn run_job(&self, job: JobId) -> Job {
        tokio::time::timeout(
            Duration::from_secs(120),
            self.worker(Some(job), "solo").run(std::future::pending()),
        )
        .await
        .expect("the job ends within 120 s")
        .unwrap();
        self.job(job).await
    }

    async fn job(&self, id: JobId) -> Job {
        self.store.job(id).await.unwrap().unwrap()
    }

    /// Waits until the job reports progress, and returns it.
    async fn wait_for_progress(&self, id: JobId) -> Job {
        let started = Instant::now();
        loop {
            let job = self.job(id).await;
            if job.state == JobState::Running && job.progress_percent > 0 {
                return job;
            }
            assert!(
                matches!(job.state, JobState::Queued | JobState::Running),
                "the job ended before any progress: {job:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no progress: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn asset_dir(&self, enqueued: Enqueued) -> PathBuf {
        self.settings
            .media_root
            .join(format!("assets/{}", enqueued.asset_id))
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_encoded_and_published_and_its_job_succeeds() {
    let fixture = fixture().await;
    let clip = fixture.clip("Morning", 2);
    let enqueued = fixture.enqueue_file(&clip).await;
    let job = fixture.run_job(enqueued.job_id).await;
    assert_eq!(
        (job.state, job.progress_percent, job.attempts, job.error),
        (JobState::Succeeded, 100, 1, None)
    );
    let asset = fixture
        .store
        .asset(enqueued.asset_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.state, AssetState::Ready);
    assert_eq!(asset.title, "Morning");
    assert_eq!(asset.duration, Ticks::from_secs(2));
    assert_eq!(
        asset.renditions.len(),
        6,
        "two rungs, TS and CMAF video each, and a CMAF audio track per audio bitrate"
    );
    for rendition in &asset.renditions {
        for segment in rendition.segments.iter() {
            assert!(
                segment.path.starts_with(&format!("assets/{}/1/", asset.id)),
                "{}",
                segment.path
            );
            assert!(fixture.settings.media_root.join(&segment.path).is_file());
        }
    }
    assert_eq!(entries(&fixture.asset_dir(enqueued)), ["1"]);
    assert!(clip.exists(), "a local file is left where it was");
    let log = fixture.store.job_log_tail(job.id).await.unwrap();
    assert!(log.contains("attempt 1 claimed by worker solo/0"), "{log}");
    assert!(log.contains("published asset"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_padded_to_whole_segments_publishes_the_padded_duration() {
    let fixture = fixture().await;
    let clip = fixture.clip("Spot", 3);
    let enqueued = onair_transcode::job::enqueue_padded_to_whole_segments(
        &fixture.store,
        &fixture.settings,
        NewTranscode {
            title: None,
            source: Source::File { path: clip },
            ladder: None,
        },
    )
    .await
    .unwrap();
    let payload = fixture.job(enqueued.job_id).await.payload;
    assert!(
        onair_transcode::TranscodeJob::from_json(&payload)
            .unwrap()
            .pad_to_whole_segments,
        "{payload}"
    );
    let job = fixture.run_job(enqueued.job_id).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.error);
    let asset = fixture
        .store
        .asset(enqueued.asset_id)
        .await
        .unwrap()
        .unwrap();
    // 3 s on the demo ladder's 2 s segments: two whole segments, the last frame held for 1 s.
    assert_eq!(asset.duration, Ticks::from_secs(4));
    for rendition in &asset.renditions {
        let durations: Vec<Ticks> = rendition.segments.iter().map(|s| s.duration).collect();
        assert_eq!(
            durations,
            vec![Ticks::from_secs(2); 2],
            "{} {:?}",
            rendition.rung,
            rendition.packaging
        );
    }
    let log = fixture.store.job_log_tail(job.id).await.unwrap();
    assert!(
        log.contains("4.00 s (padded to whole segments from 3.00 s)"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_media_file_fails_at_once_with_its_reason() {
    let fixture = fixture().await;
    let text = fixture.dir.path().join("notes.mp4");
    std::fs::write(&text, "these are my notes, not a video\n".repeat(100)).unwrap();
    let enqueued = fixture.enqueue_file(&text).await;
    let job = fixture.run_job(enqueued.job_id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.attempts, 1, "bad input burns no retries");
    let reason = job.error.expect("a reason");
    assert!(reason.contains("notes.mp4"), "{reason}");
    let asset = fixture
        .store
        .asset(enqueued.asset_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.state, AssetState::Failed);
    assert_eq!(
        fixture
            .store
            .asset_error(enqueued.asset_id)
            .await
            .unwrap()
            .as_deref(),
        Some(reason.as_str())
    );
    assert!(!fixture.asset_dir(enqueued).exists(), "nothing left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_and_a_missing_ladder_fail_at_once() {
    let fixture = fixture().await;
    let gone = fixture.dir.path().join("gone.mp4");
    std::fs::write(&gone, b"x").unwrap();
    let enqueued = fixture.enqueue_file(&gone).await;
    std::fs::remove_file(&gone).unwrap();
    let job = fixture.run_job(enqueued.job_id).await;
    assert_eq!((job.state, job.attempts), (JobState::Failed, 1));
    assert!(
        job.error.as_deref().unwrap().contains("is gone"),
        "{:?}",
        job.error
    );
    assert_eq!(
        fixture
            .store
            .asset(enqueued.asset_id)
            .await
            .unwrap()
            .unwrap()
            .state,
        AssetState::Failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_for_one_job_leaves_the_others_queued() {
    let fixture = fixture().await;
    let clip = fixture.clip("Only", 2);
    let first = fixture.enqueue_file(&clip).await;
    let second = fixture.enqueue_file(&clip).await;
    let job = fixture.run_job(second.job_id).await;
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(fixture.job(first.job_id).await.state, JobState::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_stops_its_encode_and_fails_its_asset() {
    let fixture = fixture().await;
    let clip = fixture.clip("Long", 60);
    let enqueued = fixture.enqueue_file(&clip).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(fixture.worker(None, "busy").run(async move {
        let _ = stopped.await;
    }));
    fixture.wait_for_progress(enqueued.job_id).await;

    // What the API does: cancel the job, fail the asset.
    let cancelled_at = Instant::now();
    fixture
        .store
        .cancel_job(enqueued.job_id, onair_domain::Timestamp(0))
        .await
        .unwrap();
    loop {
        // The worker removes the attempt's files once the encode has stopped.
        if !fixture.asset_dir(enqueued).exists() {
            break;
        }
        assert!(
            cancelled_at.elapsed() < Duration::from_secs(30),
            "the encode stopped within 30 s of the cancel"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let asset = fixture
        .store
        .asset(enqueued.asset_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.state, AssetState::Failed);
    assert!(asset.renditions.is_empty());
    assert_eq!(
        fixture.job(enqueued.job_id).await.state,
        JobState::Cancelled
    );
    stop.send(()).unwrap();
    worker.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_hands_the_running_job_back_uncounted() {
    let fixture = fixture().await;
    let clip = fixture.clip("Handed back", 60);
    let enqueued = fixture.enqueue_file(&clip).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(fixture.worker(None, "leaving").run(async move {
        let _ = stopped.await;
    }));
    fixture.wait_for_progress(enqueued.job_id).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), worker)
        .await
        .expect("the worker stops")
        .unwrap()
        .unwrap();

    let job = fixture.job(enqueued.job_id).await;
    assert_eq!(
        (job.state, job.attempts, job.progress_percent),
        (JobState::Queued, 0, 0)
    );
    assert_eq!(
        fixture
            .store
            .asset(enqueued.asset_id)
            .await
            .unwrap()
            .unwrap()
            .state,
        AssetState::Processing,
        "the asset waits for the next attempt"
    );
    assert!(entries(&fixture.asset_dir(enqueued)).is_empty());
    let log = fixture.store.job_log_tail(job.id).await.unwrap();
    assert!(log.contains("goes back to the queue"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_ran_out_with_no_attempts_left_fails_the_asset() {
    let mut fixture = fixture().await;
    fixture.settings.max_attempts = 1;
    let clip = fixture.clip("Crashed", 2);
    let enqueued = fixture.enqueue_file(&clip).await;
    // A worker claims it and "crashes": its lease runs out at once.
    let claimed = fixture
        .store
        .claim_job("crashed", Ticks(1), onair_domain::Timestamp(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, enqueued.job_id);
    std::fs::create_dir_all(fixture.asset_dir(enqueued).join("1")).unwrap();

    let job = fixture.run_job(enqueued.job_id).await;
    assert_eq!(job.state, JobState::Failed);
    let reason = job.error.unwrap();
    assert!(
        reason.contains("gave up after 1 attempts") && reason.contains("crashed"),
        "{reason}"
    );
    assert_eq!(
        fixture
            .store
            .asset_error(enqueued.asset_id)
            .await
            .unwrap()
            .as_deref(),
        Some(reason.as_str())
    );
    assert!(!fixture.asset_dir(enqueued).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_url_is_retried_then_fails_with_a_clear_reason() {
    let mut fixture = fixture().await;
    fixture.settings.allow_private_urls = true;
    fixture.settings.max_attempts = 2;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let enqueued = enqueue(
        &fixture.store,
        &fixture.settings,
        NewTranscode {
            title: Some("Nowhere".into()),
            source: Source::Url {
                url: format!("http://{closed}/show.mp4"),
            },
            ladder: None,
        },
    )
    .await
    .unwrap();
    let job = fixture.run_job(enqueued.job_id).await;
    assert_eq!((job.state, job.attempts), (JobState::Failed, 2));
    let reason = job.error.unwrap();
    assert!(reason.contains("connection refused"), "{reason}");
    assert!(reason.contains(&closed.to_string()), "{reason}");
    assert_eq!(
        fixture
            .store
            .asset(enqueued.asset_id)
            .await
            .unwrap()
            .unwrap()
            .state,
        AssetState::Failed
    );
    assert!(entries(&fixture.settings.incoming_dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_url_fails_at_once() {
    let fixture = fixture().await;
    let id = fixture
        .store
        .enqueue_job(
            JobKind::Transcode,
            &onair_transcode::TranscodeJob {
                asset_id: fixture
                    .store
                    .insert_asset(
                        "Metadata",
                        "x",
                        onair_transcode::job::resolve_ladder(&fixture.store, "demo")
                            .await
                            .unwrap()
                            .id,
                    )
                    .await
                    .unwrap(),
                ladder_id: fixture
                    .store
                    .ladder_by_name("demo")
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
                title: "Metadata".into(),
                source: Source::Url {
                    url: "http://localhost:9/latest/meta-data".into(),
                },
                pad_to_whole_segments: false,
            }
            .to_json(),
            3,
            onair_domain::Timestamp(0),
        )
        .await
        .unwrap();
    let job = fixture.run_job(id).await;
    assert_eq!((job.state, job.attempts), (JobState::Failed, 1));
    let reason = job.error.unwrap();
    assert!(reason.contains("localhost resolves to"), "{reason}");
    assert!(reason.contains("allow_private_urls"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_asset_is_already_published_succeeds_and_keeps_its_files() {
    let fixture = fixture().await;
    let clip = fixture.clip("Published", 2);
    let enqueued = fixture.enqueue_file(&clip).await;
    assert_eq!(
        fixture.run_job(enqueued.job_id).await.state,
        JobState::Succeeded
    );
    // A second job for the same asset, as when an attempt published but could not close its job.
    let payload =
        onair_transcode::TranscodeJob::from_json(&fixture.job(enqueued.job_id).await.payload)
            .unwrap();
    let again = fixture
        .store
        .enqueue_job(
            JobKind::Transcode,
            &payload.to_json(),
            3,
            onair_domain::Timestamp(0),
        )
        .await
        .unwrap();
    let job = fixture.run_job(again).await;
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 1));
    let log = fixture.store.job_log_tail(again).await.unwrap();
    assert!(log.contains("already published"), "{log}");
    let asset = fixture
        .store
        .asset(enqueued.asset_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.state, AssetState::Ready);
    for rendition in &asset.renditions {
        for segment in rendition.segments.iter() {
            assert!(fixture.settings.media_root.join(&segment.path).is_file());
        }
    }
}
