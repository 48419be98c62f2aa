//! The transcode farm: turns a source into a ready asset (every rung encoded, packaged,
//! verified and published in one step), through a job queue in the database that any number of
//! workers share.
//!
//! - [`job`]: what a transcode job carries ([`TranscodeJob`], [`Source`]) and [`enqueue`], which
//!   records the asset (processing) and queues its job.
//! - [`source`]: the inputs: uploads streamed to disk, files in the import folder, and HTTP(S)
//!   downloads behind a guard that refuses private addresses.
//! - [`worker`]: [`Worker`] claims jobs under a lease, encodes off the runtime with heartbeats,
//!   and publishes or fails each asset with its reason.
//! - [`api`]: the HTTP API that creates jobs and reports on jobs and assets.
//! - [`uploads`]: resumable, chunked uploads (`/api/uploads`), kept on disk in the incoming
//!   folder and completed into jobs as one-shot uploads are.
//! - [`ingest`]: one local file, encoded and published in-process (the demo uses it).

pub mod api;
pub mod ingest;
pub mod job;
pub mod source;
pub mod uploads;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

pub use ingest::{TranscodeError, ingest_file};
pub use job::{Enqueued, NewTranscode, Source, TranscodeJob, enqueue};
pub use worker::{Worker, WorkerOptions};

/// What the farm's API and workers need to know, from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FarmSettings {
    /// Where segments are written and served from.
    pub media_root: PathBuf,
    /// Uploads and downloads land here while their job runs.
    pub incoming_dir: PathBuf,
    /// The only folder `path` sources may come from; `None` refuses them.
    pub import_dir: Option<PathBuf>,
    /// The largest upload or download, in bytes.
    pub max_upload_size: u64,
    /// Download from private, loopback and link-local addresses.
    pub allow_private_urls: bool,
    pub max_width: u32,
    pub max_height: u32,
    /// Attempts per job.
    pub max_attempts: u32,
    /// How long a claimed job stays a worker's without a heartbeat.
    pub lease: Duration,
    /// How often a worker reports progress and renews its lease.
    pub heartbeat: Duration,
    /// The ladder of a job that names none.
    pub default_ladder: String,
}

impl FarmSettings {
    /// Settings for tests and tools: everything under `data_dir`, limits and ladder as the
    /// configuration's defaults.
    pub fn under(data_dir: &std::path::Path) -> FarmSettings {
        FarmSettings {
            media_root: data_dir.join("media"),
            incoming_dir: data_dir.join("incoming"),
            import_dir: None,
            max_upload_size: 4 << 30,
            allow_private_urls: false,
            max_width: 4096,
            max_height: 2304,
            max_attempts: 3,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            default_ladder: "fast".to_owned(),
        }
    }
}

/// The instant now, from the system clock: leases are real time, whatever clock playout runs on.
pub(crate) fn now() -> onair_domain::Timestamp {
    use onair_domain::Clock;
    onair_domain::SystemClock.now()
}
