//! Sends tracking, impression and error URLs (beacons) server to server: a GET with the
//! device's headers, retried with exponential backoff when another attempt may help.
//!
//! A 2xx or 3xx answer counts as received (a tracking pixel's redirect is not followed: the
//! hit is what counts). A 4xx will not change and is not retried; a 5xx, a timeout or an
//! unreachable server are. Failures are logged with tracing, never raised: a lost beacon must
//! not hold up a break.

use std::time::{Duration, Instant};

use onair_net::{FetchError, Redirects};
use serde::Serialize;

use crate::{AdClient, RequestContext};

/// How a beacon is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// The wait after the first failure; each further wait doubles it.
    pub first_backoff: Duration,
    /// How long one attempt may take.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, 0.5 s then 1 s apart, 2 s each.
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(500),
            attempt_timeout: Duration::from_secs(2),
        }
    }
}

/// What became of one beacon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BeaconOutcome {
    pub attempts: u32,
    /// The last answer's status, when one came.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl BeaconOutcome {
    /// A 2xx or 3xx answer came.
    pub fn is_success(&self) -> bool {
        self.error.is_none()
    }
}

/// Sends beacons through the ad client (the same guard, connection pool and headers).
#[derive(Debug, Clone)]
pub struct BeaconSender {
    client: AdClient,
    retry: RetryPolicy,
}

impl BeaconSender {
    pub fn new(client: &AdClient) -> BeaconSender {
        BeaconSender {
            client: client.clone(),
            retry: RetryPolicy::default(),
        }
    }

    /// The same sender with another retry policy (tests use short backoffs).
    pub fn with_retry(mut self, retry: RetryPolicy) -> BeaconSender {
        self.retry = retry;
        self
    }

    /// GETs `url` with `X-Device-IP` and `X-Device-User-Agent`, retrying as the policy says.
    pub async fn fire(&self, url: &str, ctx: &RequestContext) -> BeaconOutcome {
        let headers = ctx.headers();
        let attempts = self.retry.attempts.max(1);
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (status, error) = self.attempt(url, &headers).await;
            let Some((message, retry)) = error else {
                return BeaconOutcome {
                    attempts: attempt,
                    status,
                    error: None,
                };
            };
            if !retry || attempt >= attempts {
                tracing::warn!(%url, attempts = attempt, error = %message, "beacon failed");
                return BeaconOutcome {
                    attempts: attempt,
                    status,
                    error: Some(message),
                };
            }
            tracing::debug!(%url, attempt, error = %message, "beacon failed, retrying");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }

    /// One GET: the status, and the error with whether to retry it.
    async fn attempt(
        &self,
        url: &str,
        headers: &reqwest::header::HeaderMap,
    ) -> (Option<u16>, Option<(String, bool)>) {
        let deadline = Instant::now() + self.retry.attempt_timeout;
        let sent = tokio::time::timeout_at(
            tokio::time::Instant::from_std(deadline),
            self.client.net().send(url, headers, Redirects::Return),
        )
        .await;
        let sent = match sent {
            Ok(Ok(sent)) => sent,
            Ok(Err(error)) => {
                let retry = error.is_transient();
                return (error.status(), Some((error.to_string(), retry)));
            }
            Err(_) => {
                return (
                    None,
                    Some((
                        format!(
                            "{url} did not answer within {} ms",
                            self.retry.attempt_timeout.as_millis()
                        ),
                        true,
                    )),
                );
            }
        };
        let status = sent.response.status().as_u16();
        if sent.response.status().is_success() || sent.response.status().is_redirection() {
            return (Some(status), None);
        }
        let error = FetchError::Status {
            url: url.to_owned(),
            status,
        };
        (
            Some(status),
            Some((error.to_string(), error.is_transient())),
        )
    }
}
