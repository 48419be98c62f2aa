//! The farm's inputs: uploads streamed to disk under a size limit, files in the import folder
//! (nothing outside it), and HTTP(S) downloads that refuse private addresses.
//!
//! The download guard checks every address a host name resolves to, at connection time (a
//! custom resolver, so a name cannot resolve to a public address when checked and a private one
//! when used), and every IP literal; redirects are followed by hand so that each hop goes
//! through the same checks.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

/// Redirects followed before a download gives up.
const MAX_REDIRECTS: usize = 10;
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
// The address guard

/// Why `ip` may not be downloaded from, or `None` for a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved")
    } else if (a, b, c) == (192, 0, 0) || (a == 198 && (b == 18 || b == 19)) {
        Some("special-purpose")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96)
    // and 6to4 (2002:AABB:CCDD::/48) reach the IPv4 address they carry.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4).map(|_| "IPv4-mapped private");
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (segments[6] >> 8) as u8,
            segments[6] as u8,
            (segments[7] >> 8) as u8,
            segments[7] as u8,
        );
        return forbidden_v4(v4).map(|_| "IPv4-compatible private");
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (segments[6] >> 8) as u8,
            segments[6] as u8,
            (segments[7] >> 8) as u8,
            segments[7] as u8,
        );
        return forbidden_v4(v4).map(|_| "NAT64 private");
    }
    if segments[0] == 0x2002 {
        let v4 = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        return forbidden_v4(v4).map(|_| "6to4 private");
    }
    match segments[0] {
        s if s & 0xfe00 == 0xfc00 => Some("unique-local"),
        s if s & 0xffc0 == 0xfe80 => Some("link-local"),
        s if s & 0xffc0 == 0xfec0 => Some("site-local"),
        s if s & 0xff00 == 0xff00 => Some("multicast"),
        _ => None,
    }
}

/// A host that resolved to an address the guard refuses.
#[derive(Debug, Clone)]
struct ForbiddenAddress {
    host: String,
    ip: IpAddr,
    reason: &'static str,
}

impl fmt::Display for ForbiddenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host == self.ip.to_string() {
            write!(f, "{} is a {} address", self.host, self.reason)
        } else {
            write!(
                f,
                "{} resolves to {}, a {} address",
                self.host, self.ip, self.reason
            )
        }
    }
}

impl StdError for ForbiddenAddress {}

/// Which addresses a download may reach.
#[derive(Debug, Clone, Default)]
struct Guard {
    /// Addresses let through despite being private: for tests that serve from loopback and
    /// still want the guard on.
    exceptions: Vec<IpAddr>,
}

impl Guard {
    fn check(&self, host: &str, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        if self.exceptions.contains(&ip) {
            return Ok(());
        }
        match forbidden_reason(ip) {
            Some(reason) => Err(ForbiddenAddress {
                host: host.to_owned(),
                ip,
                reason,
            }),
            None => Ok(()),
        }
    }
}

/// Resolves with the system resolver, then refuses the whole name if any address is forbidden.
struct GuardedResolver(Arc<Guard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                guard.check(&host, addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Downloads

/// Downloads HTTP(S) URLs to files, within a size limit, refusing private addresses unless told.
#[derive(Debug, Clone)]
pub struct Downloader {
    client: reqwest::Client,
    /// `None` when private addresses are allowed.
    guard: Option<Arc<Guard>>,
    limit: u64,
}

impl Downloader {
    /// A downloader of at most `limit` bytes a file; `allow_private` turns the guard off.
    pub fn new(allow_private: bool, limit: u64) -> Result<Downloader, SourceError> {
        let guard = (!allow_private).then(|| Arc::new(Guard::default()));
        Downloader::build(guard, limit)
    }

    /// A guarded downloader that lets exactly these addresses through: for tests, whose servers
    /// listen on loopback, to show that everything else is still refused.
    #[doc(hidden)]
    pub fn guarded_except(exceptions: Vec<IpAddr>, limit: u64) -> Result<Downloader, SourceError> {
        Downloader::build(Some(Arc::new(Guard { exceptions })), limit)
    }

    fn build(guard: Option<Arc<Guard>>, limit: u64) -> Result<Downloader, SourceError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("onair/", env!("CARGO_PKG_VERSION")));
        if let Some(guard) = &guard {
            builder = builder.dns_resolver(Arc::new(GuardedResolver(guard.clone())));
        }
        let client = builder
            .build()
            .map_err(|error| SourceError::Io(format!("cannot start the HTTP client: {error}")))?;
        Ok(Downloader {
            client,
            guard,
            limit,
        })
    }

    /// Checks that `url` is an http(s) URL whose host, if an IP literal, may be reached. Names
    /// are checked when they are resolved.
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, SourceError> {
        check_url_with(url, self.guard.as_deref())
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
        let mut current = self.check_url(url)?;
        let mut hops = 0;
        let mut response = loop {
            let response = self
                .client
                .get(current.clone())
                .send()
                .await
                .map_err(|error| describe_request_error(url, &current, &error))?;
            if !response.status().is_redirection() {
                break response;
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(SourceError::Unavailable(format!(
                    "cannot download {url}: more than {MAX_REDIRECTS} redirects"
                )));
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| {
                    SourceError::Unavailable(format!(
                        "cannot download {url}: a redirect ({}) without a location",
                        response.status()
                    ))
                })?;
            let next = current.join(location).map_err(|error| {
                SourceError::Unavailable(format!(
                    "cannot download {url}: it redirects to {location:?}, which is not a URL: {error}"
                ))
            })?;
            let next = parse_url(next.as_str())?;
            if let Some(forbidden) = forbidden_literal(&next, self.guard.as_deref()) {
                return Err(refused(url, Some(next.as_str()), &forbidden));
            }
            current = next;
        };
        let status = response.status();
        if !status.is_success() {
            let message = format!("cannot download {url}: the server answered {status}");
            return Err(
                if status.is_server_error()
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                {
                    SourceError::Transient(message)
                } else {
                    SourceError::Unavailable(message)
                },
            );
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
                .map_err(|error| describe_request_error(url, &current, &error))?;
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
    let guard = Guard::default();
    check_url_with(url, (!allow_private).then_some(&guard))
}

fn check_url_with(url: &str, guard: Option<&Guard>) -> Result<reqwest::Url, SourceError> {
    let parsed = parse_url(url)?;
    if let Some(forbidden) = forbidden_literal(&parsed, guard) {
        return Err(refused(url, None, &forbidden));
    }
    Ok(parsed)
}

fn parse_url(url: &str) -> Result<reqwest::Url, SourceError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|error| SourceError::Invalid(format!("{url:?} is not a URL: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(SourceError::Invalid(format!(
            "{url:?} is not an http or https URL"
        )));
    }
    if parsed.host_str().is_none() {
        return Err(SourceError::Invalid(format!("{url:?} names no host")));
    }
    Ok(parsed)
}

/// The refusal of `url`'s host when it is an IP literal the guard forbids.
fn forbidden_literal(url: &reqwest::Url, guard: Option<&Guard>) -> Option<ForbiddenAddress> {
    let guard = guard?;
    let host = url.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = bare.parse::<IpAddr>().ok()?;
    guard.check(bare, ip).err()
}

/// `url` refused because it (or the redirect `hop` it led to) reaches a forbidden address.
fn refused(url: &str, hop: Option<&str>, forbidden: &ForbiddenAddress) -> SourceError {
    let through = match hop {
        Some(hop) => format!("it redirects to {hop}, and "),
        None => String::new(),
    };
    SourceError::Refused(format!(
        "refused to download {url}: {through}{forbidden}; onair does not fetch from private \
         networks (set transcode.allow_private_urls = true to allow it)"
    ))
}

/// A reqwest failure in words: refused by the guard, unreachable, timed out, or cut off.
fn describe_request_error(
    url: &str,
    current: &reqwest::Url,
    error: &reqwest::Error,
) -> SourceError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    let mut io_error = None;
    let mut dns = false;
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<ForbiddenAddress>() {
            let hop = (current.as_str() != url).then(|| current.as_str());
            return refused(url, hop, forbidden);
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            io_error = Some(io);
        }
        if cause.to_string().contains("dns error") {
            dns = true;
        }
        source = cause.source();
    }
    let host = current.host_str().unwrap_or("?");
    if dns {
        return SourceError::Unavailable(format!(
            "cannot download {url}: the host {host} cannot be resolved"
        ));
    }
    if error.is_timeout() {
        return SourceError::Transient(format!("cannot download {url}: {host} timed out"));
    }
    let detail = match io_error {
        Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        Some(io) if io.kind() == std::io::ErrorKind::TimedOut => "timed out".to_owned(),
        Some(io) => io.to_string(),
        None if error.is_body() || error.is_decode() => "the connection broke off".to_owned(),
        None => error.without_url_text(),
    };
    let target = match current.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    if error.is_connect() {
        SourceError::Transient(format!(
            "cannot download {url}: {target} is unreachable ({detail})"
        ))
    } else {
        SourceError::Transient(format!("cannot download {url}: {detail}"))
    }
}

trait WithoutUrlText {
    fn without_url_text(&self) -> String;
}

impl WithoutUrlText for reqwest::Error {
    /// The message without the URL reqwest appends (the caller names it already).
    fn without_url_text(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url()
            && let Some(at) = text.find(&format!(" ({url})"))
        {
            text.truncate(at);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<&'static str> {
        forbidden_reason(ip.parse().unwrap())
    }

    #[test]
    fn private_ipv4_ranges_are_forbidden() {
        for (ip, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.254", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
        ] {
            assert_eq!(reason(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(reason(ip), None, "{ip}");
        }
    }

    #[test]
    fn private_ipv6_ranges_are_forbidden() {
        for (ip, expected) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "IPv4-mapped private"),
            ("::ffff:10.0.0.1", "IPv4-mapped private"),
            ("::127.0.0.1", "IPv4-compatible private"),
            ("64:ff9b::a9fe:a9fe", "NAT64 private"),
            ("2002:c0a8:0101::1", "6to4 private"),
        ] {
            assert_eq!(reason(ip), Some(expected), "{ip}");
        }
    }

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
