//! URL downloads against a tiny server on loopback: the guard refuses private addresses by
//! name, by literal and at every redirect hop; sizes are capped; failures read clearly.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use onair_transcode::source::{Downloader, SourceError};

const BODY_LEN: usize = 100_000;
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Serves a few routes on 127.0.0.1 until the test ends.
async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let redirect =
        |to: String| move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]) };
    let app = Router::new()
        .route("/clip.bin", get(|| async { vec![7u8; BODY_LEN] }))
        .route("/empty", get(|| async { Vec::<u8>::new() }))
        .route("/big", get(|| async { vec![0u8; 3 * BODY_LEN] }))
        .route(
            "/missing",
            get(|| async { StatusCode::NOT_FOUND.into_response() }),
        )
        .route(
            "/broken",
            get(|| async { StatusCode::BAD_GATEWAY.into_response() }),
        )
        .route("/relative", get(redirect("/clip.bin".to_owned())))
        .route(
            "/to-loopback-2",
            get(redirect(format!("http://127.0.0.2:{port}/clip.bin"))),
        )
        .route(
            "/to-ipv6-loopback",
            get(redirect(format!("http://[::1]:{port}/clip.bin"))),
        )
        .route(
            "/to-localhost",
            get(redirect(format!("http://localhost:{port}/clip.bin"))),
        )
        .route("/loop", get(redirect("/loop".to_owned())));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn download(downloader: &Downloader, url: &str) -> (Result<u64, SourceError>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.download");
    let outcome = downloader
        .download(url, &dest, &AtomicBool::new(false))
        .await;
    (outcome, dest.exists())
}

#[tokio::test]
async fn a_download_is_written_whole_and_follows_relative_redirects() {
    let addr = serve().await;
    let downloader = Downloader::guarded_except(vec![LOOPBACK], 1 << 20).unwrap();
    for path in ["/clip.bin", "/relative"] {
        let (outcome, exists) = download(&downloader, &format!("http://{addr}{path}")).await;
        assert_eq!(outcome, Ok(BODY_LEN as u64), "{path}");
        assert!(exists);
    }
    let open = Downloader::new(true, 1 << 20).unwrap();
    let (outcome, _) = download(&open, &format!("http://{addr}/clip.bin")).await;
    assert_eq!(outcome, Ok(BODY_LEN as u64));
}

#[tokio::test]
async fn loopback_is_refused_when_private_urls_are_not_allowed() {
    let addr = serve().await;
    let guarded = Downloader::new(false, 1 << 20).unwrap();
    // An IP literal, refused before connecting.
    let (outcome, exists) = download(&guarded, &format!("http://{addr}/clip.bin")).await;
    let error = outcome.unwrap_err();
    assert!(matches!(error, SourceError::Refused(_)), "{error:?}");
    assert!(error.is_permanent());
    assert!(
        error
            .to_string()
            .contains("127.0.0.1 is a loopback address"),
        "{error}"
    );
    assert!(!exists);
    // A name that resolves to loopback, refused by the resolver.
    let url = format!("http://localhost:{}/clip.bin", addr.port());
    let (outcome, _) = download(&guarded, &url).await;
    let error = outcome.unwrap_err();
    assert!(matches!(error, SourceError::Refused(_)), "{error:?}");
    assert!(
        error.to_string().contains("localhost resolves to"),
        "{error}"
    );
    assert!(error.to_string().contains("allow_private_urls"), "{error}");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_at_the_hop() {
    let addr = serve().await;
    // Only 127.0.0.1 itself is let through: every hop elsewhere in private space is refused.
    let downloader = Downloader::guarded_except(vec![LOOPBACK], 1 << 20).unwrap();
    for (path, expected) in [
        ("/to-loopback-2", "127.0.0.2 is a loopback address"),
        ("/to-ipv6-loopback", "::1 is a loopback address"),
        ("/to-localhost", "localhost resolves to ::1"),
    ] {
        let (outcome, exists) = download(&downloader, &format!("http://{addr}{path}")).await;
        if path == "/to-localhost" && outcome.is_ok() {
            // This machine's resolver gives localhost no IPv6 address, and 127.0.0.1 is excepted.
            continue;
        }
        let error = outcome.unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, SourceError::Refused(_)),
            "{path}: {error:?}"
        );
        assert!(message.contains(expected), "{path}: {message}");
        assert!(
            message.contains("it redirects to http://"),
            "{path}: {message}"
        );
        assert!(!exists);
    }
}

#[tokio::test]
async fn failures_say_what_happened_and_whether_to_retry() {
    let addr = serve().await;
    let downloader = Downloader::guarded_except(vec![LOOPBACK], 2 * BODY_LEN as u64).unwrap();

    let (outcome, exists) = download(&downloader, &format!("http://{addr}/big")).await;
    let error = outcome.unwrap_err();
    assert!(matches!(error, SourceError::TooLarge(_)), "{error:?}");
    assert!(error.to_string().contains("max_upload_size"), "{error}");
    assert!(!exists, "the partial download is removed");

    let (outcome, _) = download(&downloader, &format!("http://{addr}/missing")).await;
    let error = outcome.unwrap_err();
    assert!(error.is_permanent(), "{error:?}");
    assert!(error.to_string().contains("404"), "{error}");

    let (outcome, _) = download(&downloader, &format!("http://{addr}/broken")).await;
    let error = outcome.unwrap_err();
    assert!(matches!(error, SourceError::Transient(_)), "{error:?}");
    assert!(error.to_string().contains("502"), "{error}");

    let (outcome, _) = download(&downloader, &format!("http://{addr}/empty")).await;
    assert!(outcome.unwrap_err().to_string().contains("empty file"));

    let (outcome, _) = download(&downloader, &format!("http://{addr}/loop")).await;
    assert!(outcome.unwrap_err().to_string().contains("redirects"));

    // A closed port: bind one, note it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (outcome, _) = download(&downloader, &format!("http://{closed}/clip.bin")).await;
    let error = outcome.unwrap_err();
    assert!(matches!(error, SourceError::Transient(_)), "{error:?}");
    assert!(error.to_string().contains("connection refused"), "{error}");
    assert!(error.to_string().contains(&closed.to_string()), "{error}");
}

#[tokio::test]
async fn a_cancelled_download_stops_and_leaves_nothing() {
    let addr = serve().await;
    let downloader = Downloader::guarded_except(vec![LOOPBACK], 1 << 20).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.download");
    let outcome = downloader
        .download(
            &format!("http://{addr}/clip.bin"),
            &dest,
            &AtomicBool::new(true),
        )
        .await;
    assert_eq!(outcome, Err(SourceError::Cancelled));
    assert!(!dest.exists());
}
