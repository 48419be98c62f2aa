//! The farm's inputs: uploads streamed to disk under a size limit, files in the import folder
//! (nothing outside it), and HTTP(S) downloads that refuse private addresses.
//!
//! The download guard is `onair-net`'s: it checks every address a host name resolves to, at
//! connection time, and every IP literal; redirects are followed by hand so that each hop goes
//! through the same checks.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use onair_net::{
    AddressPolicy, FetchError, GuardedClient, MAX_REDIRECTS, Redirects, Sent,
    describe_request_error,
};
use reqwest::header::HeaderMap;
use tokio::io::AsyncWriteExt;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A download that receives nothing for this long fails (and may be retried).
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Why an input could not be had, worded for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The request names something it may not, or nothing at all.
    #[error("{0}")]
    Invalid(String),
    /// Larger than the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A URL, or a redirect, to a private or loopback address.
    #[error("{0}")]
    Refused(String),
    /// The server said the file is not there, or the host does not exist: retrying will not help.
    #[error("{0}")]
    Unavailable(String),
    /// The server could not be reached or failed: another attempt may succeed.
    #[error("{0}")]
    Transient(String),
    /// Stopped because the job was cancelled or its worker is shutting down.
    #[error("the download was cancelled")]
    Cancelled,
    /// Our own disk failed: internal, not the sender's fault.
    #[error("{0}")]
    Io(String),
}

impl SourceError {
    /// Whether another attempt cannot change the outcome.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SourceError::Invalid(_)
                | SourceError::TooLarge(_)
                | SourceError::Refused(_)
                | SourceError::Unavailable(_)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Uploads

/// An upload saved to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Writes `body` to a new file in `incoming_dir`, chunk by chunk, never holding more than a
/// chunk in memory. More than `limit` bytes is [`SourceError::TooLarge`]; on any error the
/// partial file is removed.
pub async fn save_upload<S, E>(
    body: S,
    incoming_dir: &Path,
    limit: u64,
) -> Result<Saved, SourceError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    tokio::fs::create_dir_all(incoming_dir)
        .await
        .map_err(|error| {
            SourceError::Io(format!("cannot create {}: {error}", incoming_dir.display()))
        })?;
    let name = unique_name("upload");
    let partial = incoming_dir.join(format!("{name}.part"));
    let done = incoming_dir.join(format!("{name}.upload"));
    let outcome = write_stream(body, &partial, limit).await;
    let outcome = match outcome {
        Ok(bytes) => tokio::fs::rename(&partial, &done)
            .await
            .map(|()| bytes)
            .map_err(|error| SourceError::Io(format!("cannot keep the upload: {error}"))),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(bytes) => Ok(Saved { path: done, bytes }),
        Err(error) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(error)
        }
    }
}

async fn write_stream<S, E>(mut body: S, path: &Path, limit: u64) -> Result<u64, SourceError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    let io = |error: std::io::Error| SourceError::Io(format!("{}: {error}", path.display()));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut written: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| {
            SourceError::Invalid(format!("the upload was interrupted: {error}"))
        })?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(too_large("the upload", limit));
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    if written == 0 {
        return Err(SourceError::Invalid(
            "the upload is empty: send the media file as the request body".to_owned(),
        ));
    }
    Ok(written)
}

pub(crate) fn too_large(what: &str, limit: u64) -> SourceError {
    SourceError::TooLarge(format!(
        "{what} is larger than the {} this farm accepts (transcode.max_upload_size)",
        human_size(limit)
    ))
}

/// `4 GiB`, `500 MiB`, `1000 bytes`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (size, unit) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// A file name no other upload or download of this machine uses.
pub(crate) fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{nanos}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------------
// The import folder

/// `requested` (absolute, or relative to `import_dir`) as a canonical path inside the import
/// folder. Anything that leads outside it, by `..` or through a symbolic link, is refused.
pub fn resolve_import(import_dir: Option<&Path>, requested: &str) -> Result<PathBuf, SourceError> {
    let Some(import_dir) = import_dir else {
        return Err(SourceError::Invalid(
            "no import folder is configured (transcode.import_dir): send a URL or upload the file"
                .to_owned(),
        ));
    };
    if requested.trim().is_empty() {
        return Err(SourceError::Invalid("the path is empty".to_owned()));
    }
    let root = import_dir.canonicalize().map_err(|error| {
        SourceError::Io(format!(
            "the import folder {} cannot be read: {error}",
            import_dir.display()
        ))
    })?;
    let requested_path = Path::new(requested);
    let joined = if requested_path.is_absolute() {
        requested_path.to_owned()
    } else {
        root.join(requested_path)
    };
    let outside = || SourceError::Invalid(format!("{requested:?} is outside the import folder"));
    let canonical = match joined.canonicalize() {
        Ok(canonical) => canonical,
        // Say "outside" rather than "missing" for a path that would leave the folder anyway.
        Err(_) if !lexically_inside(&joined, &root) => return Err(outside()),
        Err(_) => {
            return Err(SourceError::Invalid(format!(
                "{requested:?} is not in the import folder"
            )));
        }
    };
    if !canonical.starts_with(&root) {
        return Err(outside());
    }
    if !canonical.is_file() {
        return Err(SourceError::Invalid(format!(
            "{requested:?} is not a file in the import folder"
        )));
    }
    Ok(canonical)
}

/// Whether `path`, with `.` and `..` folded without touching the disk, is under `root`.
fn lexically_inside(path: &Path, root: &Path) -> bool {
    let mut folded = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                folded.pop();
            }
            std::path::Component::CurDir => {}
            other => folded.push(other),
        }
    }
    folded.starts_with(root)
}

// ---------------------------------------------------------------------------------------------
// Downloads

pub use onair_net::forbidden_reason;

/// Downloads HTTP(S) URLs to files, within a size limit, refusing private addresses unless told.
#[derive(Debug, Clone)]
pub struct Downloader {
    client: GuardedClient,
    limit: u64,
}

impl Downloader {
    /// A downloader of at most `limit` bytes a file; `allow_private` turns the guard off.
    pub fn new(allow_private: bool, limit: u64) -> Result<Downloader, SourceError> {
        Downloader::build(AddressPolicy::from_allow_private(allow_private), limit)
    }

    /// A guarded downloader that lets exactly these addresses through: for tests, whose servers
    /// listen on loopback, to show that everything else is still refused.
    #[doc(hidden)]
    pub fn guarded_except(exceptions: Vec<IpAddr>, limit: u64) -> Result<Downloader, SourceError> {
        Downloader::build(AddressPolicy::GuardedExcept(exceptions), limit)
    }

    fn build(policy: AddressPolicy, limit: u64) -> Result<Downloader, SourceError> {
        let client = GuardedClient::builder(policy)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(|error| SourceError::Io(error.to_string()))?;
        Ok(Downloader { client, limit })
    }

    /// Checks that `url` is an http(s) URL whose host, if an IP literal, may be reached. Names
    /// are checked when they are resolved.
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, SourceError> {
        self.client.check_url(url).map_err(download_error)
    }

    /// Downloads `url` to `dest` (replaced), following redirects through the same checks.
    /// Returns the bytes written. `cancel` stops it between chunks. On error `dest` is removed.
    pub async fn download(
        &self,
        url: &str,
        dest: &Path,
        cancel: &AtomicBool,
    ) -> Result<u64, SourceError> {
        let outcome = self.fetch(url, dest, cancel).await;
        if outcome.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        outcome
    }

    async fn fetch(&self, url: &str, dest: &Path, cancel: &AtomicBool) -> Result<u64, SourceError> {
        let Sent {
            mut response,
            final_url,
            ..
        } = self
            .client
            .send(
                url,
                &HeaderMap::new(),
                Redirects::Follow { max: MAX_REDIRECTS },
            )
            .await
            .map_err(download_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(download_error(FetchError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            }));
        }
        let what = format!("the download of {url}");
        if response
            .content_length()
            .is_some_and(|length| length > self.limit)
        {
            return Err(too_large(&what, self.limit));
        }
        let io = |error: std::io::Error| SourceError::Io(format!("{}: {error}", dest.display()));
        let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
        let mut written: u64 = 0;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(SourceError::Cancelled);
            }
            let chunk = response
                .chunk()
                .await
                .map_err(|error| download_error(describe_request_error(url, &final_url, &error)))?;
            let Some(chunk) = chunk else { break };
            written += chunk.len() as u64;
            if written > self.limit {
                return Err(too_large(&what, self.limit));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        if written == 0 {
            return Err(SourceError::Unavailable(format!(
                "cannot download {url}: the server sent an empty file"
            )));
        }
        Ok(written)
    }
}

/// Checks that `url` is an http(s) URL and, unless `allow_private`, that its host is not a
/// private IP literal. Host names are checked when a download resolves them.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, SourceError> {
    onair_net::check_url(url, allow_private).map_err(download_error)
}

/// A failed request in the farm's words: whether to retry, and which setting to change.
fn download_error(error: FetchError) -> SourceError {
    match error {
        FetchError::NotAUrl { .. } | FetchError::NotHttp { .. } | FetchError::NoHost { .. } => {
            SourceError::Invalid(error.to_string())
        }
        FetchError::Refused { url, hop, address } => {
            let through = match hop {
                Some(hop) => format!("it redirects to {hop}, and "),
                None => String::new(),
            };
            SourceError::Refused(format!(
                "refused to download {url}: {through}{address}; onair does not fetch from private \
                 networks (set transcode.allow_private_urls = true to allow it)"
            ))
        }
        FetchError::TooManyRedirects { url, max } => {
            SourceError::Unavailable(format!("cannot download {url}: more than {max} redirects"))
        }
        FetchError::BadRedirect { url, detail } => {
            SourceError::Unavailable(format!("cannot download {url}: {detail}"))
        }
        FetchError::Status { url, status } => {
            let message = format!(
                "cannot download {url}: the server answered {}",
                reqwest::StatusCode::from_u16(status)
                    .map(|code| code.to_string())
                    .unwrap_or_else(|_| status.to_string())
            );
            if status >= 500 || status == 429 || status == 408 {
                SourceError::Transient(message)
            } else {
                SourceError::Unavailable(message)
            }
        }
        FetchError::TooLarge { url, limit } => too_large(&format!("the download of {url}"), limit),
        FetchError::Unresolvable { url, host } => SourceError::Unavailable(format!(
            "cannot download {url}: the host {host} cannot be resolved"
        )),
        FetchError::Timeout { url, host } => {
            SourceError::Transient(format!("cannot download {url}: {host} timed out"))
        }
        FetchError::Connect {
            url,
            target,
            detail,
        } => SourceError::Transient(format!(
            "cannot download {url}: {target} is unreachable ({detail})"
        )),
        FetchError::Io { url, detail } => {
            SourceError::Transient(format!("cannot download {url}: {detail}"))
        }
        FetchError::Client(detail) => {
            SourceError::Io(format!("cannot start the HTTP client: {detail}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_hosts_are_checked_before_any_connection() {
        let downloader = Downloader::new(false, 1 << 20).unwrap();
        for url in [
            "http://127.0.0.1/a.mp4",
            "http://[::1]:8080/a.mp4",
            "https://10.0.0.8/a.mp4",
            "http://[::ffff:192.168.0.1]/x",
            "http://0.0.0.0:80/",
        ] {
            let error = downloader.check_url(url).unwrap_err();
            assert!(matches!(error, SourceError::Refused(_)), "{url}: {error:?}");
            assert!(
                error.to_string().contains("allow_private_urls"),
                "{url}: {error}"
            );
        }
        assert!(matches!(
            downloader.check_url("ftp://example.com/a.mp4"),
            Err(SourceError::Invalid(_))
        ));
        assert!(matches!(
            downloader.check_url("not a url"),
            Err(SourceError::Invalid(_))
        ));
        assert!(downloader.check_url("https://example.com/a.mp4").is_ok());
        let open = Downloader::new(true, 1 << 20).unwrap();
        assert!(open.check_url("http://127.0.0.1/a.mp4").is_ok());
    }

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(human_size(4 << 30), "4 GiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(999), "999 bytes");
    }

    #[test]
    fn import_paths_stay_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let import = dir.path().join("import");
        std::fs::create_dir_all(import.join("shows")).unwrap();
        std::fs::write(import.join("shows/a.mp4"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.mp4"), b"x").unwrap();
        let root = import.canonicalize().unwrap();

        assert_eq!(
            resolve_import(Some(&import), "shows/a.mp4").unwrap(),
            root.join("shows/a.mp4")
        );
        assert_eq!(
            resolve_import(Some(&import), root.join("shows/a.mp4").to_str().unwrap()).unwrap(),
            root.join("shows/a.mp4")
        );
        let outside = |requested: &str| {
            let error = resolve_import(Some(&import), requested).unwrap_err();
            assert!(
                error.to_string().contains("outside the import folder"),
                "{requested}: {error}"
            );
        };
        outside("../secret.mp4");
        outside("shows/../../secret.mp4");
        outside("../missing.mp4");
        outside(dir.path().join("secret.mp4").to_str().unwrap());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.mp4"), import.join("link.mp4"))
                .unwrap();
            outside("link.mp4");
            std::os::unix::fs::symlink(dir.path(), import.join("up")).unwrap();
            outside("up/secret.mp4");
        }
        assert!(matches!(
            resolve_import(Some(&import), "shows/missing.mp4"),
            Err(SourceError::Invalid(_))
        ));
        assert!(matches!(
            resolve_import(Some(&import), "shows"),
            Err(SourceError::Invalid(_))
        ));
        assert!(matches!(
            resolve_import(None, "shows/a.mp4"),
            Err(SourceError::Invalid(_))
        ));
    }
}
