//! `get_limited` against a small server on loopback: redirects through the guard, the size
//! limit (announced or streamed), the deadline, and failures by kind.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt;
use onair_net::{AddressPolicy, FetchError, GuardedClient, get_limited};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const CHUNK: usize = 64 * 1024;
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// Serves the test routes on 127.0.0.1; the counter tells how many bytes `/endless` sent.
async fn serve() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let redirect =
        |to: String| move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]) };
    let app = Router::new()
        .route("/small", get(|| async { "hello" }))
        .route(
            "/echo-header",
            get(|headers: HeaderMap| async move {
                headers
                    .get("x-device-ip")
                    .map(|value| value.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            }),
        )
        .route("/announced", get(|| async { vec![1u8; 10_000] }))
        .route(
            "/endless",
            get(move || {
                let counter = counter.clone();
                async move {
                    let chunks = futures_util::stream::iter(0..usize::MAX).map(move |_| {
                        counter.fetch_add(CHUNK, Ordering::Relaxed);
                        Ok::<_, std::io::Error>(Bytes::from_static(&ZEROS))
                    });
                    Body::from_stream(chunks)
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route(
            "/missing",
            get(|| async { StatusCode::NOT_FOUND.into_response() }),
        )
        .route(
            "/broken",
            get(|| async { StatusCode::SERVICE_UNAVAILABLE.into_response() }),
        )
        .route("/relative", get(redirect("/small".to_owned())))
        .route(
            "/to-loopback-2",
            get(redirect(format!("http://127.0.0.2:{port}/small"))),
        )
        .route("/loop", get(redirect("/loop".to_owned())));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, sent)
}

fn client() -> GuardedClient {
    GuardedClient::builder(AddressPolicy::GuardedExcept(vec![LOOPBACK]))
        .build()
        .unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn a_small_body_is_returned_with_its_status_final_url_and_headers_sent() {
    let (addr, _) = serve().await;
    let client = client();
    let fetched = get_limited(
        &client,
        &format!("http://{addr}/relative"),
        &HeaderMap::new(),
        1024,
        soon(),
    )
    .await
    .unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, b"hello");
    assert_eq!(fetched.final_url.path(), "/small");
    assert_eq!(fetched.redirects, 1);

    let mut headers = HeaderMap::new();
    headers.insert("x-device-ip", "203.0.113.9".parse().unwrap());
    let echoed = get_limited(
        &client,
        &format!("http://{addr}/echo-header"),
        &headers,
        1024,
        soon(),
    )
    .await
    .unwrap();
    assert_eq!(echoed.body, b"203.0.113.9");
}

#[tokio::test]
async fn a_body_past_the_limit_is_refused_without_being_read() {
    let (addr, sent) = serve().await;
    let client = client();
    let announced = get_limited(
        &client,
        &format!("http://{addr}/announced"),
        &HeaderMap::new(),
        1000,
        soon(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(announced, FetchError::TooLarge { limit: 1000, .. }),
        "{announced:?}"
    );

    let started = Instant::now();
    let streamed = get_limited(
        &client,
        &format!("http://{addr}/endless"),
        &HeaderMap::new(),
        256 * 1024,
        soon(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(streamed, FetchError::TooLarge { .. }),
        "{streamed:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // The server got a few socket buffers out, nowhere near a body it would send for ever.
    assert!(sent.load(Ordering::Relaxed) < 64 << 20, "{sent:?}");
}

#[tokio::test]
async fn the_deadline_stops_a_slow_server() {
    let (addr, _) = serve().await;
    let started = Instant::now();
    let error = get_limited(
        &client(),
        &format!("http://{addr}/slow"),
        &HeaderMap::new(),
        1024,
        Instant::now() + Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::Timeout { .. }), "{error:?}");
    assert!(error.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let past = get_limited(
        &client(),
        &format!("http://{addr}/small"),
        &HeaderMap::new(),
        1024,
        Instant::now() - Duration::from_millis(1),
    )
    .await
    .unwrap_err();
    assert!(matches!(past, FetchError::Timeout { .. }), "{past:?}");
}

#[tokio::test]
async fn statuses_redirect_loops_and_private_hops_fail_by_kind() {
    let (addr, _) = serve().await;
    let client = client();
    let fetch = |path: &str| {
        let url = format!("http://{addr}{path}");
        let client = client.clone();
        async move { get_limited(&client, &url, &HeaderMap::new(), 1024, soon()).await }
    };
    let missing = fetch("/missing").await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert!(!missing.is_transient());
    assert!(missing.to_string().contains("404 Not Found"), "{missing}");
    let broken = fetch("/broken").await.unwrap_err();
    assert_eq!(broken.status(), Some(503));
    assert!(broken.is_transient());
    let looping = fetch("/loop").await.unwrap_err();
    assert!(
        matches!(looping, FetchError::TooManyRedirects { max: 10, .. }),
        "{looping:?}"
    );
    let hop = fetch("/to-loopback-2").await.unwrap_err();
    assert!(
        matches!(hop, FetchError::Refused { hop: Some(_), .. }),
        "{hop:?}"
    );
    assert!(
        hop.to_string().contains("it redirects to http://127.0.0.2"),
        "{hop}"
    );
    assert!(
        hop.to_string().contains("127.0.0.2 is a loopback address"),
        "{hop}"
    );
}

#[tokio::test]
async fn loopback_is_refused_by_literal_and_by_name_unless_private_is_allowed() {
    let (addr, _) = serve().await;
    let guarded = GuardedClient::new(false).unwrap();
    assert!(!guarded.allows_private());
    let literal = get_limited(
        &guarded,
        &format!("http://{addr}/small"),
        &HeaderMap::new(),
        1024,
        soon(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(literal, FetchError::Refused { hop: None, .. }),
        "{literal:?}"
    );
    assert_eq!(
        literal.to_string(),
        format!("refused http://{addr}/small: 127.0.0.1 is a loopback address")
    );
    let by_name = get_limited(
        &guarded,
        &format!("http://localhost:{}/small", addr.port()),
        &HeaderMap::new(),
        1024,
        soon(),
    )
    .await
    .unwrap_err();
    assert!(matches!(by_name, FetchError::Refused { .. }), "{by_name:?}");
    assert!(
        by_name.to_string().contains("localhost resolves to"),
        "{by_name}"
    );

    let open = GuardedClient::new(true).unwrap();
    assert!(open.allows_private());
    let fetched = get_limited(
        &open,
        &format!("http://{addr}/small"),
        &HeaderMap::new(),
        1024,
        soon(),
    )
    .await
    .unwrap();
    assert_eq!(fetched.body, b"hello");
}

#[tokio::test]
async fn a_closed_port_is_a_transient_connect_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = get_limited(
        &client(),
        &format!("http://{closed}/x"),
        &HeaderMap::new(),
        1024,
        soon(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::Connect { .. }), "{error:?}");
    assert!(error.is_transient());
    assert!(error.to_string().contains("connection refused"), "{error}");
}

#[test]
fn urls_that_are_not_http_or_name_no_host_are_refused_before_any_request() {
    for (url, expected) in [
        ("ftp://example.com/a", "is not an http or https URL"),
        ("not a url", "is not a URL"),
    ] {
        let error = onair_net::check_url(url, false).unwrap_err();
        assert!(error.to_string().contains(expected), "{url}: {error}");
    }
    assert!(onair_net::check_url("http://127.0.0.1/a", false).is_err());
    assert!(onair_net::check_url("http://127.0.0.1/a", true).is_ok());
    assert!(onair_net::check_url("https://example.com/a", false).is_ok());
}
