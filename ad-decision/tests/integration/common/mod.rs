//! A real ad server for the tests: axum on 127.0.0.1:0 serving the sample responses in
//! `tests/data`, documents the tests write, slow, failing, garbage and endless answers, wrapper
//! chains and loops, and a beacon receiver. Every request is recorded with its device headers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use onair_ad_decision::{AdClient, RequestContext, ResolveOptions};

pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const DEVICE_IP: &str = "203.0.113.7";
pub const DEVICE_UA: &str = "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0)";
/// What `/huge` would send if read to the end: 50 MB.
pub const HUGE_BYTES: usize = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
static SPACES: [u8; CHUNK] = [b' '; CHUNK];

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub query: Option<String>,
    pub device_ip: Option<String>,
    pub device_ua: Option<String>,
}

#[derive(Clone, Default)]
struct Shared {
    hits: Arc<Mutex<Vec<Hit>>>,
    docs: Arc<HashMap<String, String>>,
    /// Per beacon name, how many times it was hit.
    beacon_counts: Arc<Mutex<HashMap<String, usize>>>,
    huge_sent: Arc<AtomicUsize>,
}

pub struct AdServer {
    pub addr: SocketAddr,
    shared: Shared,
}

impl AdServer {
    /// Starts a server with no documents of the test's own.
    pub async fn start() -> AdServer {
        AdServer::with_docs(|_| Vec::new()).await
    }

    /// Starts a server with the documents `docs` writes (served at `/doc/<name>`), given the
    /// server's base URL (`http://127.0.0.1:<port>`).
    pub async fn with_docs(docs: impl FnOnce(&str) -> Vec<(&'static str, String)>) -> AdServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let docs = docs(&format!("http://{addr}"));
        let shared = Shared {
            docs: Arc::new(
                docs.into_iter()
                    .map(|(name, xml)| (name.to_owned(), xml))
                    .collect(),
            ),
            ..Shared::default()
        };
        let app = Router::new()
            .route("/vast/{file}", get(vast_sample))
            .route("/vmap/{file}", get(vmap_sample))
            .route("/eyevinn/{file}", get(eyevinn_sample))
            .route("/doc/{name}", get(document))
            .route("/slow/{ms}", get(slow))
            .route("/status/{code}", get(status))
            .route("/garbage", get(garbage))
            .route("/huge", get(huge))
            .route("/chain/{n}", get(chain))
            .route("/beacon/{name}", get(beacon))
            .layer(middleware::from_fn_with_state(shared.clone(), record))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        AdServer { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    pub fn hits_under(&self, prefix: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|hit| hit.path.starts_with(prefix))
            .collect()
    }

    /// Bytes `/huge` handed to the connection before the client let go.
    pub fn huge_sent(&self) -> usize {
        self.shared.huge_sent.load(Ordering::Relaxed)
    }
}

/// A client that refuses every private address but the test server's.
pub fn client() -> AdClient {
    AdClient::guarded_except(vec![LOOPBACK]).unwrap()
}

pub fn device() -> RequestContext {
    RequestContext {
        device_ip: Some(DEVICE_IP.to_owned()),
        device_ua: Some(DEVICE_UA.to_owned()),
        ..RequestContext::default()
    }
}

pub fn options() -> ResolveOptions {
    ResolveOptions {
        budget: Duration::from_secs(5),
        ..ResolveOptions::default()
    }
}

fn data_dir(folder: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(folder)
}

async fn record(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let hit = hit_of(&request);
    shared.hits.lock().unwrap().push(hit);
    next.run(request).await
}

fn hit_of(request: &Request) -> Hit {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    Hit {
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        device_ip: header("x-device-ip"),
        device_ua: header("x-device-user-agent"),
    }
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn sample(folder: &str, file: &str) -> Response {
    if file.contains("..") || file.contains('/') {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match std::fs::read_to_string(data_dir(folder).join(file)) {
        Ok(body) => xml(body),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn vast_sample(Path(file): Path<String>) -> Response {
    sample("dailymotion-vast-client-js", &file)
}

async fn vmap_sample(Path(file): Path<String>) -> Response {
    sample("dailymotion-vmap-js", &file)
}

async fn eyevinn_sample(Path(file): Path<String>) -> Response {
    sample("eyevinn-test-adserver", &file)
}

async fn document(State(shared): State<Shared>, Path(name): Path<String>) -> Response {
    match shared.docs.get(&name) {
        Some(body) => xml(body.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Answers an inline ad after `ms` milliseconds.
async fn slow(Path(ms): Path<u64>) -> Response {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    sample("dailymotion-vast-client-js", "inline-linear.xml")
}

async fn status(Path(code): Path<u16>) -> Response {
    StatusCode::from_u16(code).unwrap().into_response()
}

async fn garbage() -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml")],
        vec![
            0xffu8, 0xfe, b'<', b'<', b'V', b'A', b'S', b'T', 0x00, b'>', b'&',
        ],
    )
        .into_response()
}

/// 50 MB of spaces, streamed a chunk at a time so the test never holds them.
async fn huge(State(shared): State<Shared>) -> Response {
    let counter = shared.huge_sent.clone();
    let chunks = futures_util::stream::iter(0..HUGE_BYTES / CHUNK).map(move |_| {
        counter.fetch_add(CHUNK, Ordering::Relaxed);
        Ok::<_, std::io::Error>(Bytes::from_static(&SPACES))
    });
    (
        [(header::CONTENT_TYPE, "application/xml")],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// `/chain/n`: `n` wrappers, each to `/chain/n-1` (a relative URI), then an inline ad.
async fn chain(Path(n): Path<u32>) -> Response {
    if n == 0 {
        return xml(vast(&[inline_ad(
            "http://beacons.invalid",
            "chain-end",
            None,
            "https://cdn.example/end.mp4",
        )]));
    }
    xml(vast(&[wrapper_ad(
        "http://beacons.invalid",
        &format!("chain-{n}"),
        None,
        &format!("{}", n - 1),
        "",
    )]))
}

/// `/beacon/<name>`: 204, except `flaky-*` (503 twice, then 204), `down` (always 503), `gone`
/// (404) and `moved` (302 elsewhere).
async fn beacon(State(shared): State<Shared>, Path(name): Path<String>) -> Response {
    let count = {
        let mut counts = shared.beacon_counts.lock().unwrap();
        let count = counts.entry(name.clone()).or_default();
        *count += 1;
        *count
    };
    match name.as_str() {
        flaky if flaky.starts_with("flaky") && count <= 2 => {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        "down" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "gone" => StatusCode::NOT_FOUND.into_response(),
        "moved" => (
            StatusCode::FOUND,
            [(header::LOCATION, "/beacon/moved-target")],
        )
            .into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Documents

pub fn vast(ads: &[String]) -> String {
    format!("<VAST version=\"4.2\">{}</VAST>", ads.concat())
}

fn sequence_attribute(sequence: Option<u32>) -> String {
    sequence
        .map(|sequence| format!(" sequence=\"{sequence}\""))
        .unwrap_or_default()
}

/// An inline ad of 15 s with one MP4, an impression, start/complete tracking and an error URL
/// on the beacon receiver at `base`.
pub fn inline_ad(base: &str, id: &str, sequence: Option<u32>, media_url: &str) -> String {
    format!(
        r#"<Ad id="{id}"{sequence}><InLine>
            <AdSystem>test</AdSystem><AdTitle>{id}</AdTitle>
            <Impression><![CDATA[{base}/beacon/impression-{id}]]></Impression>
            <Error><![CDATA[{base}/beacon/error-{id}?code=[ERRORCODE]]]></Error>
            <Creatives><Creative><Linear>
                <Duration>00:00:15</Duration>
                <TrackingEvents>
                    <Tracking event="start">{base}/beacon/start-{id}</Tracking>
                    <Tracking event="complete">{base}/beacon/complete-{id}</Tracking>
                </TrackingEvents>
                <MediaFiles>
                    <MediaFile delivery="progressive" type="video/mp4" width="1920" height="1080" bitrate="5000"><![CDATA[ {media_url} ]]></MediaFile>
                </MediaFiles>
            </Linear></Creative></Creatives>
        </InLine></Ad>"#,
        sequence = sequence_attribute(sequence)
    )
}

/// A wrapper ad to `tag`, with `attributes` on its `<Wrapper>`, an impression and an error URL
/// on the beacon receiver at `base`.
pub fn wrapper_ad(
    base: &str,
    id: &str,
    sequence: Option<u32>,
    tag: &str,
    attributes: &str,
) -> String {
    format!(
        r#"<Ad id="{id}"{sequence}><Wrapper {attributes}>
            <AdSystem>test</AdSystem>
            <VASTAdTagURI><![CDATA[{tag}]]></VASTAdTagURI>
            <Impression>{base}/beacon/impression-{id}</Impression>
            <Error>{base}/beacon/error-{id}?code=[ERRORCODE]</Error>
        </Wrapper></Ad>"#,
        sequence = sequence_attribute(sequence)
    )
}
