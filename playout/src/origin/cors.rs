//! CORS for the origin's routes: any origin may read them, for browser players. A preflight
//! (`OPTIONS`) is answered by tower-http's [`CorsLayer`]; every other response gets the headers
//! that layer would add, as static values: tower-http builds a header map, and the `Vary` value
//! byte by byte, on every request, and a player's playlist request is the origin's hot path.
//! A test keeps the two equal.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use http::Method;
use http::header::{self, HeaderValue};
use pin_project_lite::pin_project;
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::{Any, Cors, CorsLayer};

/// `Access-Control-Allow-Origin`: anyone.
const ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
/// `Vary`: tower-http's default list, the request headers a preflight answer depends on.
const VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);
/// `Access-Control-Expose-Headers`: what a player's script may read beyond the safe list.
const EXPOSE_HEADERS: HeaderValue =
    HeaderValue::from_static("content-length,content-range,etag,date");

/// The configuration the preflight answers with, and that the static values above mirror.
fn preflight_layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers(Any)
        .expose_headers([
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
            header::ETAG,
            header::DATE,
        ])
}

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct OriginCorsLayer {
    /// Shared, so that cloning the service (axum does on every request) copies no lists.
    preflight: Arc<CorsLayer>,
}

impl OriginCorsLayer {
    pub(crate) fn new() -> OriginCorsLayer {
        OriginCorsLayer {
            preflight: Arc::new(preflight_layer()),
        }
    }
}

impl<S> Layer<S> for OriginCorsLayer {
    type Service = OriginCors<S>;

    fn layer(&self, inner: S) -> OriginCors<S> {
        OriginCors {
            inner,
            preflight: Arc::clone(&self.preflight),
        }
    }
}

#[derive(Clone)]
pub(crate) struct OriginCors<S> {
    inner: S,
    preflight: Arc<CorsLayer>,
}

impl<S> Service<Request> for OriginCors<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CorsFuture<S::Future, Oneshot<Cors<S>, Request>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == Method::OPTIONS {
            // Rare: tower-http's layer is applied to answer it, around a clone of the route.
            let preflight = self.preflight.layer(self.inner.clone());
            CorsFuture::Preflight {
                future: preflight.oneshot(request),
            }
        } else {
            CorsFuture::Simple {
                future: self.inner.call(request),
            }
        }
    }
}

pin_project! {
    #[project = CorsProjection]
    pub(crate) enum CorsFuture<F, P> {
        Simple { #[pin] future: F },
        Preflight { #[pin] future: P },
    }
}

impl<F, P, E> Future for CorsFuture<F, P>
where
    F: Future<Output = Result<Response, E>>,
    P: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CorsProjection::Preflight { future } => future.poll(cx),
            CorsProjection::Simple { future } => future.poll(cx).map_ok(allow_any_origin),
        }
    }
}

/// What tower-http adds to a response that is not a preflight's, for this configuration.
fn allow_any_origin(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.append(header::VARY, VARY);
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN);
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http::StatusCode;
    use std::convert::Infallible;
    use tower::ServiceExt;

    /// The inner service's status, which no preflight answer has.
    const INNER_STATUS: StatusCode = StatusCode::IM_A_TEAPOT;

    /// An inner service that answers with a `Vary` of its own, as manifests do.
    fn inner() -> impl Service<
        Request,
        Response = Response,
        Error = Infallible,
        Future = impl Future<Output = Result<Response, Infallible>> + Send,
    > + Clone {
        tower::service_fn(|_request: Request| async {
            let mut response = Response::new(Body::from("#EXTM3U\n"));
            *response.status_mut() = INNER_STATUS;
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            Ok::<_, Infallible>(response)
        })
    }

    fn request(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder()
            .method(method)
            .uri("/channels/demo/360p/ts.m3u8");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    /// Status and headers, every value of every name, in order.
    async fn answer<S>(service: S, request: Request) -> (StatusCode, Vec<(String, String)>)
    where
        S: Service<Request, Response = Response, Error = Infallible>,
    {
        let response = service.oneshot(request).await.unwrap();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        (response.status(), headers)
    }

    #[tokio::test]
    async fn every_answer_has_the_headers_tower_http_would_give_it() {
        let cases: [(Method, &[(&str, &str)]); 5] = [
            (Method::GET, &[]),
            (Method::GET, &[("origin", "https://player.example")]),
            (Method::HEAD, &[("origin", "https://player.example")]),
            (
                Method::OPTIONS,
                &[
                    ("origin", "https://player.example"),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "range"),
                ],
            ),
            (Method::OPTIONS, &[]),
        ];
        for (method, headers) in cases {
            let ours = answer(
                OriginCorsLayer::new().layer(inner()),
                request(method.clone(), headers),
            )
            .await;
            let theirs = answer(
                preflight_layer().layer(inner()),
                request(method.clone(), headers),
            )
            .await;
            assert_eq!(ours, theirs, "{method} with {headers:?}");
            if method != Method::OPTIONS {
                assert_eq!(ours.0, INNER_STATUS, "answered by the route");
            }
        }
    }
}
