//! The layer in front of every route: counts and times each request by route template
//! (`onair_http_requests_total`, `onair_http_request_duration_seconds`), and gives it a request
//! id: the client's `X-Request-Id` when it is sane (1 to 64 visible ASCII characters), else a
//! new one; returned in the response's `X-Request-Id`, and a field of the `request` span every
//! log line of the request is written in.
//!
//! Per request: a map lookup, a few relaxed atomic increments, two clock reads, the id (its
//! header value is the one allocation), and the span (free when the log filter leaves `info`
//! spans out). No lock. A hand-written service, not `middleware::from_fn`, so that no future is
//! boxed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::Response;
use onair_metrics::{HttpMetrics, RouteSlot};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// `X-Request-Id`.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a router's routes (apply with `Router::layer`, after routing, so that it sees the
/// route template).
#[derive(Clone, Copy)]
pub struct RequestLayer {
    http: &'static HttpMetrics,
}

impl RequestLayer {
    /// Counts into the process's metrics, one slot per route of `routes`.
    pub fn new(routes: impl IntoIterator<Item = &'static str>) -> RequestLayer {
        RequestLayer {
            http: onair_metrics::metrics().http(routes),
        }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> RequestService<S> {
        RequestService {
            inner,
            http: self.http,
        }
    }
}

#[derive(Clone)]
pub struct RequestService<S> {
    inner: S,
    http: &'static HttpMetrics,
}

impl<S> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequestFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> RequestFuture<S::Future> {
        let started = Instant::now();
        let slot = self.http.slot(
            request
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str),
        );
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .filter(|value| is_sane(value.as_bytes()))
            .cloned()
            .unwrap_or_else(new_id);
        let span = tracing::info_span!("request", request_id = id.to_str().unwrap_or_default());
        let method = request.method().clone();
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        RequestFuture {
            inner,
            span,
            slot,
            method,
            started,
            id: Some(id),
        }
    }
}

pin_project! {
    pub struct RequestFuture<F> {
        #[pin]
        inner: F,
        span: tracing::Span,
        slot: &'static RouteSlot,
        method: Method,
        started: Instant,
        id: Option<HeaderValue>,
    }
}

impl<F, E> Future for RequestFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut response = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Ready(Ok(response)) => response,
        };
        let took = this.started.elapsed();
        let status = response.status().as_u16();
        this.slot.record(this.method.as_str(), status, took);
        tracing::debug!(
            method = %this.method,
            route = this.slot.template(),
            status,
            micros = took.as_micros() as u64,
            "answered"
        );
        if let Some(id) = this.id.take() {
            response.headers_mut().insert(REQUEST_ID.clone(), id);
        }
        Poll::Ready(Ok(response))
    }
}

/// A client's request id is kept when it is 1 to 64 visible ASCII characters.
fn is_sane(id: &[u8]) -> bool {
    (1..=64).contains(&id.len()) && id.iter().all(|byte| byte.is_ascii_graphic())
}

/// A new id: this process's start (hex) and a count, e.g. `19c3a1f0e2b-2a`: unique per process,
/// and between processes started at different microseconds.
fn new_id() -> HeaderValue {
    static PROCESS: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_micros() as u64)
            ^ u64::from(std::process::id()) << 48
    });
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    let mut buffer = [0u8; 33];
    let len = hex(&mut buffer, *PROCESS, count);
    HeaderValue::from_bytes(&buffer[..len]).expect("hex digits and a dash")
}

/// Writes `{process:x}-{count:x}` into `buffer`, returns its length.
fn hex(buffer: &mut [u8; 33], process: u64, count: u64) -> usize {
    fn push(buffer: &mut [u8; 33], len: &mut usize, value: u64) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let digits = (64 - value.leading_zeros()).div_ceil(4).max(1);
        for shift in (0..digits).rev() {
            buffer[*len] = DIGITS[((value >> (shift * 4)) & 0xf) as usize];
            *len += 1;
        }
    }
    let mut len = 0;
    push(buffer, &mut len, process);
    buffer[len] = b'-';
    len += 1;
    push(buffer, &mut len, count);
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_kept_only_when_it_is_short_visible_ascii() {
        assert!(is_sane(b"abc-123"));
        assert!(is_sane(&[b'x'; 64]));
        assert!(!is_sane(&[b'x'; 65]));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"has space"));
        assert!(!is_sane("é".as_bytes()));
    }

    #[test]
    fn new_ids_are_hex_and_differ() {
        let mut buffer = [0u8; 33];
        let len = hex(&mut buffer, 0x19c3_a1f0, 0x2a);
        assert_eq!(&buffer[..len], b"19c3a1f0-2a");
        let len = hex(&mut buffer, u64::MAX, 0);
        assert_eq!(&buffer[..len], b"ffffffffffffffff-0");
        assert_ne!(new_id(), new_id());
    }
}
