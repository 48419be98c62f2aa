//! A `reqwest::Client` behind the guard, redirects followed by hand so that every hop goes
//! through the same checks, and a fetch bounded in size and time.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::HeaderMap;

use crate::error::{FetchError, describe_request_error};
use crate::guard::{Guard, GuardedResolver};

/// Redirects [`get_limited`] follows before it gives up.
pub const MAX_REDIRECTS: usize = 10;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Which addresses a client may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Public addresses only: the default everywhere onair fetches what someone else named.
    Guarded,
    /// Public addresses and exactly these: for tests whose servers listen on loopback and that
    /// still want everything else refused.
    GuardedExcept(Vec<IpAddr>),
    /// Anything, private networks included (a deployment's explicit choice).
    AllowPrivate,
}

impl AddressPolicy {
    /// `AllowPrivate` when `allow_private`, else `Guarded`.
    pub fn from_allow_private(allow_private: bool) -> AddressPolicy {
        if allow_private {
            AddressPolicy::AllowPrivate
        } else {
            AddressPolicy::Guarded
        }
    }

    fn guard(self) -> Option<Guard> {
        match self {
            AddressPolicy::Guarded => Some(Guard::strict()),
            AddressPolicy::GuardedExcept(exceptions) => Some(Guard::except(exceptions)),
            AddressPolicy::AllowPrivate => None,
        }
    }
}

/// Builds a [`GuardedClient`]: redirects off (they are followed by hand), no proxy (a proxy
/// would resolve names where the guard cannot see), the guard's resolver unless private
/// addresses are allowed.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    policy: AddressPolicy,
    connect_timeout: Duration,
    read_timeout: Option<Duration>,
    user_agent: String,
}

impl ClientBuilder {
    pub fn new(policy: AddressPolicy) -> ClientBuilder {
        ClientBuilder {
            policy,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: None,
            user_agent: concat!("onair/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// How long connecting may take (15 s unless set).
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// How long a response may go without sending anything (no limit unless set).
    pub fn read_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.read_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` of every request (`onair/<version>` unless set).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> ClientBuilder {
        self.user_agent = user_agent.into();
        self
    }

    pub fn build(self) -> Result<GuardedClient, FetchError> {
        let guard = self.policy.guard().map(Arc::new);
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent);
        if let Some(timeout) = self.read_timeout {
            builder = builder.read_timeout(timeout);
        }
        if let Some(guard) = &guard {
            builder = builder.dns_resolver(Arc::new(GuardedResolver::new(guard.clone())));
        }
        let http = builder
            .build()
            .map_err(|error| FetchError::Client(error.to_string()))?;
        Ok(GuardedClient { http, guard })
    }
}

/// Whether [`GuardedClient::send`] follows redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Follow up to `max`, each hop through the guard; more is [`FetchError::TooManyRedirects`].
    Follow { max: usize },
    /// Return the redirect itself (a beacon counts a 3xx as received).
    Return,
}

/// A response with the URL it came from after redirects.
#[derive(Debug)]
pub struct Sent {
    pub response: reqwest::Response,
    pub final_url: Url,
    pub redirects: usize,
}

/// A `reqwest::Client` that refuses private addresses unless its policy allows them. Cheap to
/// clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct GuardedClient {
    http: reqwest::Client,
    /// `None` when private addresses are allowed.
    guard: Option<Arc<Guard>>,
}

impl GuardedClient {
    pub fn builder(policy: AddressPolicy) -> ClientBuilder {
        ClientBuilder::new(policy)
    }

    /// A client with the default settings; `allow_private` turns the guard off.
    pub fn new(allow_private: bool) -> Result<GuardedClient, FetchError> {
        ClientBuilder::new(AddressPolicy::from_allow_private(allow_private)).build()
    }

    /// The inner client. Its redirects are off and its resolver is guarded, but IP literals
    /// are not checked by it: prefer [`GuardedClient::send`], which checks them at every hop.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Whether private addresses may be reached.
    pub fn allows_private(&self) -> bool {
        self.guard.is_none()
    }

    /// Checks that `url` is an http(s) URL whose host, if an IP literal, may be reached. Names
    /// are checked when they are resolved.
    pub fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        check_url_with(url, self.guard.as_deref())
    }

    /// GETs `url` with `headers`, following redirects by hand as `redirects` says, every hop
    /// checked. The response's status is not judged: that is the caller's.
    pub async fn send(
        &self,
        url: &str,
        headers: &HeaderMap,
        redirects: Redirects,
    ) -> Result<Sent, FetchError> {
        let mut current = self.check_url(url)?;
        let mut followed = 0;
        loop {
            let response = self
                .http
                .get(current.clone())
                .headers(headers.clone())
                .send()
                .await
                .map_err(|error| describe_request_error(url, &current, &error))?;
            let max = match redirects {
                Redirects::Follow { max } if response.status().is_redirection() => max,
                _ => {
                    return Ok(Sent {
                        response,
                        final_url: current,
                        redirects: followed,
                    });
                }
            };
            followed += 1;
            if followed > max {
                return Err(FetchError::TooManyRedirects {
                    url: url.to_owned(),
                    max,
                });
            }
            current = self.next_hop(url, &current, &response)?;
        }
    }

    /// Where a redirect leads, resolved against the hop that sent it and checked.
    fn next_hop(
        &self,
        url: &str,
        current: &Url,
        response: &reqwest::Response,
    ) -> Result<Url, FetchError> {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| FetchError::BadRedirect {
                url: url.to_owned(),
                detail: format!("a redirect ({}) without a location", response.status()),
            })?;
        let next = current
            .join(location)
            .map_err(|error| FetchError::BadRedirect {
                url: url.to_owned(),
                detail: format!("it redirects to {location:?}, which is not a URL: {error}"),
            })?;
        let next = parse_http_url(next.as_str())?;
        if let Some(guard) = &self.guard
            && let Err(address) = guard.check_literal(&next)
        {
            return Err(FetchError::Refused {
                url: url.to_owned(),
                hop: Some(next.to_string()),
                address,
            });
        }
        Ok(next)
    }
}

/// Checks that `url` is an http(s) URL and, unless `allow_private`, that its host is not a
/// private IP literal. Host names are checked when a request resolves them.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, FetchError> {
    let guard = Guard::strict();
    check_url_with(url, (!allow_private).then_some(&guard))
}

fn check_url_with(url: &str, guard: Option<&Guard>) -> Result<Url, FetchError> {
    let parsed = parse_http_url(url)?;
    if let Some(guard) = guard
        && let Err(address) = guard.check_literal(&parsed)
    {
        return Err(FetchError::Refused {
            url: url.to_owned(),
            hop: None,
            address,
        });
    }
    Ok(parsed)
}

/// `url` parsed, when it is http(s) and names a host.
pub fn parse_http_url(url: &str) -> Result<Url, FetchError> {
    let parsed = Url::parse(url).map_err(|error| FetchError::NotAUrl {
        url: url.to_owned(),
        detail: error.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FetchError::NotHttp {
            url: url.to_owned(),
        });
    }
    if parsed.host_str().is_none() {
        return Err(FetchError::NoHost {
            url: url.to_owned(),
        });
    }
    Ok(parsed)
}

/// A successful bounded fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The final response's status (2xx).
    pub status: u16,
    /// Where the body came from, after redirects.
    pub final_url: Url,
    pub body: Vec<u8>,
    /// From the first request to the last byte.
    pub elapsed: Duration,
    pub redirects: usize,
}

/// GETs `url` (following up to [`MAX_REDIRECTS`] redirects through the guard) and reads its
/// body, failing with [`FetchError::TooLarge`] as soon as the body passes `limit_bytes` (an
/// announced length is refused before reading; nothing past the limit is ever buffered), with
/// [`FetchError::Timeout`] when `deadline` passes, and with [`FetchError::Status`] for an answer
/// other than 2xx.
pub async fn get_limited(
    client: &GuardedClient,
    url: &str,
    headers: &HeaderMap,
    limit_bytes: usize,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let started = Instant::now();
    let timed_out = || FetchError::Timeout {
        url: url.to_owned(),
        host: Url::parse(url)
            .ok()
            .and_then(|parsed| parsed.host_str().map(str::to_owned))
            .unwrap_or_else(|| "the server".to_owned()),
    };
    // Refuse a bad or forbidden URL before anything else, even past the deadline.
    client.check_url(url)?;
    if Instant::now() >= deadline {
        return Err(timed_out());
    }
    let fetch = async {
        let sent = client
            .send(url, headers, Redirects::Follow { max: MAX_REDIRECTS })
            .await?;
        read_limited(url, sent, limit_bytes).await
    };
    match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), fetch).await {
        Ok(Ok((status, final_url, body, redirects))) => Ok(Fetched {
            status,
            final_url,
            body,
            elapsed: started.elapsed(),
            redirects,
        }),
        Ok(Err(error)) => Err(error),
        Err(_elapsed) => Err(timed_out()),
    }
}

async fn read_limited(
    url: &str,
    sent: Sent,
    limit_bytes: usize,
) -> Result<(u16, Url, Vec<u8>, usize), FetchError> {
    let Sent {
        mut response,
        final_url,
        redirects,
    } = sent;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let too_large = || FetchError::TooLarge {
        url: url.to_owned(),
        limit: limit_bytes as u64,
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| describe_request_error(url, &final_url, &error))?
    {
        if body.len() + chunk.len() > limit_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status.as_u16(), final_url, body, redirects))
}
