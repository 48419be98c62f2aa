//! [`BypassLayer`]: a layer that the requests a predicate picks go around. The server wraps the
//! access guard with it (a public route needs no credentials, so its requests skip the guard)
//! and the implicit sessions (a manifest asked for without a query string starts none): both
//! are `middleware::from_fn` layers, which box a future and the rest of the stack on every
//! request, and a player's playlist requests, the origin's hot path, need neither.
//!
//! The predicate must pick only requests the wrapped layer would pass on untouched: going
//! around it is then the same answer, without the boxing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use pin_project_lite::pin_project;
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};

use crate::access::{Access, policy};

/// Wraps `layer`; a request for which `bypass(&request)` is true goes straight to the service
/// inside, the others through `layer` as before. The layer is applied per request that goes
/// through it (a from_fn layer is its function and state, cheap to apply), so that cloning the
/// service, which axum does on every request, clones the service inside once, not twice.
#[derive(Clone, Copy)]
pub struct BypassLayer<L> {
    layer: L,
    bypass: fn(&Request) -> bool,
}

impl<L> BypassLayer<L> {
    pub fn new(layer: L, bypass: fn(&Request) -> bool) -> BypassLayer<L> {
        BypassLayer { layer, bypass }
    }
}

impl<L: Clone, S> Layer<S> for BypassLayer<L> {
    type Service = BypassService<L, S>;

    fn layer(&self, inner: S) -> Self::Service {
        BypassService {
            inner,
            layer: self.layer.clone(),
            bypass: self.bypass,
        }
    }
}

#[derive(Clone)]
pub struct BypassService<L, S> {
    inner: S,
    layer: L,
    bypass: fn(&Request) -> bool,
}

impl<L, S> Service<Request> for BypassService<L, S>
where
    S: Service<Request> + Clone,
    L: Layer<S>,
    L::Service: Service<Request, Response = S::Response, Error = S::Error>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BypassFuture<S::Future, Oneshot<L::Service, Request>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if (self.bypass)(&request) {
            BypassFuture::Around {
                future: self.inner.call(request),
            }
        } else {
            // The clone is ready in turn: `oneshot` waits for it before calling.
            let through = self.layer.layer(self.inner.clone());
            BypassFuture::Through {
                future: through.oneshot(request),
            }
        }
    }
}

pin_project! {
    #[project = BypassProjection]
    pub enum BypassFuture<A, B> {
        Around { #[pin] future: A },
        Through { #[pin] future: B },
    }
}

impl<A, B, O> Future for BypassFuture<A, B>
where
    A: Future<Output = O>,
    B: Future<Output = O>,
{
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        match self.project() {
            BypassProjection::Around { future } => future.poll(cx),
            BypassProjection::Through { future } => future.poll(cx),
        }
    }
}

/// For the access guard: a request to a route whose policy is [`Access::Public`], which the
/// guard passes on without looking at credentials. Anything else (no route matched, a route
/// without a policy, a preflight) still goes through the guard.
pub fn public_route(request: &Request) -> bool {
    request.method() != Method::OPTIONS
        && request
            .extensions()
            .get::<MatchedPath>()
            .and_then(|matched| policy(request.method().as_str(), matched.as_str()))
            .is_some_and(|route| route.access == Access::Public)
}

/// For the implicit sessions: anything but a GET or HEAD with a query string, which is all
/// that can start one.
pub fn no_session_query(request: &Request) -> bool {
    !matches!(*request.method(), Method::GET | Method::HEAD)
        || request.uri().query().is_none_or(str::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::{self, Next};
    use axum::response::Response;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    /// A layer that marks every response it sees, so a test can tell which path was taken.
    async fn marking(request: Request, next: Next) -> Response {
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert("x-through", "yes".parse().unwrap());
        response
    }

    fn app() -> Router {
        Router::new()
            .route(
                "/channels/{slug}/{rung}/ts.m3u8",
                get(|| async { "playlist" }),
            )
            .route("/api/channels", get(|| async { "channels" }))
            .route("/channels/{slug}/sessions", post(|| async { "session" }))
            .layer(BypassLayer::new(middleware::from_fn(marking), public_route))
    }

    fn request(method: Method, uri: &str) -> Request {
        let request = Request::builder().method(method).uri(uri);
        request.body(Body::empty()).unwrap()
    }

    async fn went_through(app: Router, method: Method, uri: &str) -> bool {
        let response = app.oneshot(request(method, uri)).await.unwrap();
        response.headers().contains_key("x-through")
    }

    #[tokio::test]
    async fn a_public_route_goes_around_the_layer_and_a_guarded_one_through_it() {
        assert!(!went_through(app(), Method::GET, "/channels/demo/360p/ts.m3u8").await);
        assert!(!went_through(app(), Method::HEAD, "/channels/demo/360p/ts.m3u8").await);
        assert!(!went_through(app(), Method::POST, "/channels/demo/sessions").await);
        assert!(went_through(app(), Method::GET, "/api/channels").await);
        assert!(
            went_through(app(), Method::OPTIONS, "/channels/demo/360p/ts.m3u8").await,
            "a preflight is the guard's to pass on"
        );
    }

    #[test]
    fn only_a_get_or_head_with_a_query_goes_through_the_sessions() {
        assert!(no_session_query(&request(
            Method::GET,
            "/channels/demo/manifest.mpd"
        )));
        assert!(no_session_query(&request(
            Method::HEAD,
            "/channels/demo/master.m3u8?"
        )));
        assert!(no_session_query(&request(
            Method::OPTIONS,
            "/channels/demo/master.m3u8?a=1"
        )));
        assert!(!no_session_query(&request(
            Method::GET,
            "/channels/demo/master.m3u8?ads.gdpr=1"
        )));
        assert!(!no_session_query(&request(
            Method::HEAD,
            "/channels/demo/manifest.mpd?a=1"
        )));
    }
}
