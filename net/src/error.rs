//! What can go wrong with an outbound request, typed so that each caller can word it its own
//! way and decide whether another attempt may help.

use std::error::Error as StdError;

use crate::guard::ForbiddenAddress;

/// Why a request failed. Every variant names the URL asked for (`url`); `at` names the URL of
/// the hop that failed when redirects were followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{url:?} is not a URL: {detail}")]
    NotAUrl { url: String, detail: String },
    #[error("{url:?} is not an http or https URL")]
    NotHttp { url: String },
    #[error("{url:?} names no host")]
    NoHost { url: String },
    /// The guard refused the URL's host, or that of the redirect `hop` it led to.
    #[error("refused {url}: {}{address}", through(hop))]
    Refused {
        url: String,
        hop: Option<String>,
        address: ForbiddenAddress,
    },
    #[error("cannot fetch {url}: more than {max} redirects")]
    TooManyRedirects { url: String, max: usize },
    /// A redirect without a usable `Location`.
    #[error("cannot fetch {url}: {detail}")]
    BadRedirect { url: String, detail: String },
    /// The final response was not a success.
    #[error("cannot fetch {url}: the server answered {}", status_text(*status))]
    Status { url: String, status: u16 },
    /// The body (or its announced length) passed the limit; the rest was not read.
    #[error("cannot fetch {url}: the response is larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The deadline passed, or the connection went quiet for longer than the client allows.
    #[error("cannot fetch {url}: {host} timed out")]
    Timeout { url: String, host: String },
    #[error("cannot fetch {url}: the host {host} cannot be resolved")]
    Unresolvable { url: String, host: String },
    /// The server could not be reached: `target` is `host:port`.
    #[error("cannot fetch {url}: {target} is unreachable ({detail})")]
    Connect {
        url: String,
        target: String,
        detail: String,
    },
    /// The connection broke off, or another transport failure.
    #[error("cannot fetch {url}: {detail}")]
    Io { url: String, detail: String },
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    /// Whether another attempt may succeed: timeouts, unreachable servers, broken connections
    /// and 5xx, 408 and 429 answers. Refusals, bad URLs, 4xx and oversized bodies will not change.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Connect { .. } | FetchError::Io { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }

    /// The HTTP status the server answered, when that is what failed.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn through(hop: &Option<String>) -> String {
    match hop {
        Some(hop) => format!("it redirects to {hop}, and "),
        None => String::new(),
    }
}

/// `404 Not Found`, or the bare number for a code without a reason phrase.
pub(crate) fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status) {
        Ok(code) => code.to_string(),
        Err(_) => status.to_string(),
    }
}

/// A reqwest failure while fetching `url` (currently at hop `current`) in words: refused by the
/// guard, unresolvable, timed out, unreachable, or cut off.
pub fn describe_request_error(
    url: &str,
    current: &reqwest::Url,
    error: &reqwest::Error,
) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    let mut io_error = None;
    let mut dns = false;
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<ForbiddenAddress>() {
            return FetchError::Refused {
                url: url.to_owned(),
                hop: (current.as_str() != url).then(|| current.to_string()),
                address: forbidden.clone(),
            };
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            io_error = Some(io);
        }
        if cause.to_string().contains("dns error") {
            dns = true;
        }
        source = cause.source();
    }
    let host = current.host_str().unwrap_or("?").to_owned();
    if dns {
        return FetchError::Unresolvable {
            url: url.to_owned(),
            host,
        };
    }
    if error.is_timeout() {
        return FetchError::Timeout {
            url: url.to_owned(),
            host,
        };
    }
    let detail = match io_error {
        Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        Some(io) if io.kind() == std::io::ErrorKind::TimedOut => "timed out".to_owned(),
        Some(io) => io.to_string(),
        None if error.is_body() || error.is_decode() => "the connection broke off".to_owned(),
        None => without_url_text(error),
    };
    if error.is_connect() {
        let target = match current.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        FetchError::Connect {
            url: url.to_owned(),
            target,
            detail,
        }
    } else {
        FetchError::Io {
            url: url.to_owned(),
            detail,
        }
    }
}

/// The message without the URL reqwest appends (the caller names it already).
fn without_url_text(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url()
        && let Some(at) = text.find(&format!(" ({url})"))
    {
        text.truncate(at);
    }
    text
}
