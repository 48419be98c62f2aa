//! The origin through `Router::oneshot`, with a fixed clock and segment files in a tempdir.

use std::io::Read as _;
use std::path::Path;

use axum::body::Bytes;
use http::{Method, Request};
use onair_domain::{FixedClock, Timestamp};

use super::*;
use crate::fixtures::{self, at_millis};
use crate::hls::{render_media_playlist, render_multivariant};

const NOW_MILLIS: i64 = 8_000;

struct Harness {
    router: Router,
    directory: Arc<Directory>,
    media_root: tempfile::TempDir,
}

impl Harness {
    /// The demo channel under `demo`, the clock stopped 8 s after the timeline's origin, and two
    /// segment files, one beside the media root that must stay out of reach.
    fn new() -> Harness {
        Harness::at(at_millis(NOW_MILLIS))
    }

    fn at(now: Timestamp) -> Harness {
        let media_root = tempfile::tempdir().unwrap();
        write_file(
            media_root.path(),
            "media/assets/1/360p/ts/00000.ts",
            &segment_bytes(),
        );
        write_file(
            media_root.path(),
            "media/assets/1/360p/cmaf/00000.m4s",
            b"moof",
        );
        write_file(
            media_root.path(),
            "media/assets/1/360p/cmaf/init.mp4",
            b"ftypmoov",
        );
        write_file(
            media_root.path(),
            "media/assets/1/audio-96k/cmaf-audio/00000.m4s",
            b"moof audio",
        );
        write_file(
            media_root.path(),
            "media/assets/1/audio-96k/cmaf-audio/init.mp4",
            b"ftypmoov audio",
        );
        write_file(media_root.path(), "secret.ts", b"secret");
        let directory = Arc::new(Directory::new());
        directory.replace("demo", Arc::new(fixtures::demo_playout(true)));
        let router = router(OriginState {
            directory: Arc::clone(&directory),
            clock: Arc::new(FixedClock(now)),
            media_root: media_root.path().join("media"),
        });
        Harness {
            router,
            directory,
            media_root,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, body)
    }

    async fn get(&self, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
        self.send(request(Method::GET, uri, &[])).await
    }
}

fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

fn write_file(root: &Path, path: &str, contents: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Two 188-byte TS packets.
fn segment_bytes() -> Vec<u8> {
    (0..376)
        .map(|i| if i % 188 == 0 { 0x47 } else { (i % 251) as u8 })
        .collect()
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn the_multivariant_playlist_is_served_with_playlist_headers() {
    let harness = Harness::new();
    let (status, headers, body) = harness.get("/channels/demo/master.m3u8").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, render_multivariant(&fixtures::demo_playout(true)));
    assert_eq!(
        header(&headers, header::CONTENT_TYPE),
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(header(&headers, header::CACHE_CONTROL), "public, max-age=5");
    assert_eq!(header(&headers, header::VARY), "accept-encoding");
    assert!(header(&headers, header::ETAG).starts_with("W/\""));
}

#[tokio::test]
async fn the_media_playlist_is_the_one_rendered_for_the_clock_now_and_cached_for_half_a_segment() {
    let harness = Harness::new();
    let (status, headers, body) = harness.get("/channels/demo/240p/ts.m3u8").await;
    assert_eq!(status, StatusCode::OK);
    let expected =
        render_media_playlist(&fixtures::demo_playout(true), "240p", at_millis(NOW_MILLIS))
            .unwrap();
    assert_eq!(body, expected);
    assert_eq!(
        header(&headers, header::CONTENT_TYPE),
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(header(&headers, header::CACHE_CONTROL), "public, max-age=1");
    assert_eq!(
        header(&headers, header::CONTENT_LENGTH),
        expected.len().to_string()
    );
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304_without_a_body() {
    let harness = Harness::new();
    for uri in ["/channels/demo/master.m3u8", "/channels/demo/360p/ts.m3u8"] {
        let (_, headers, _) = harness.get(uri).await;
        let etag = header(&headers, header::ETAG).to_owned();
        let strong = etag.trim_start_matches("W/").to_owned();
        for if_none_match in [
            etag.as_str(),
            strong.as_str(),
            &format!("\"other\", {etag}"),
            "*",
        ] {
            let (status, headers, body) = harness
                .send(request(
                    Method::GET,
                    uri,
                    &[("if-none-match", if_none_match)],
                ))
                .await;
            assert_eq!(
                status,
                StatusCode::NOT_MODIFIED,
                "{uri} with If-None-Match: {if_none_match}"
            );
            assert!(body.is_empty());
            assert_eq!(header(&headers, header::ETAG), etag);
            assert!(headers.contains_key(header::CACHE_CONTROL));
        }
        let (status, _, _) = harness
            .send(request(
                Method::GET,
                uri,
                &[("if-none-match", "W/\"other\"")],
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_media_playlist_etag_changes_when_the_window_moves() {
    let (_, early, _) = Harness::at(at_millis(8_000))
        .get("/channels/demo/360p/ts.m3u8")
        .await;
    let (_, same, _) = Harness::at(at_millis(9_000))
        .get("/channels/demo/360p/ts.m3u8")
        .await;
    let (_, later, _) = Harness::at(at_millis(9_520))
        .get("/channels/demo/360p/ts.m3u8")
        .await;
    assert_eq!(early.get(header::ETAG), same.get(header::ETAG));
    assert_ne!(early.get(header::ETAG), later.get(header::ETAG));
}

#[tokio::test]
async fn head_gets_the_headers_without_the_body() {
    let harness = Harness::new();
    for uri in [
        "/channels/demo/master.m3u8",
        "/channels/demo/360p/ts.m3u8",
        "/media/assets/1/360p/ts/00000.ts",
    ] {
        let (_, get_headers, get_body) = harness.get(uri).await;
        let (status, headers, body) = harness.send(request(Method::HEAD, uri, &[])).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(body.is_empty(), "{uri}");
        assert_eq!(
            header(&headers, header::CONTENT_LENGTH),
            get_body.len().to_string(),
            "{uri}"
        );
        assert_eq!(
            headers.get(header::CONTENT_TYPE),
            get_headers.get(header::CONTENT_TYPE),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn manifests_are_gzipped_for_clients_that_accept_gzip() {
    let harness = Harness::new();
    let uri = "/channels/demo/360p/ts.m3u8";
    let (_, _, plain) = harness.get(uri).await;
    let (status, headers, body) = harness
        .send(request(
            Method::GET,
            uri,
            &[("accept-encoding", "br;q=1.0, gzip;q=0.8")],
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "gzip");
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped.as_bytes(), plain);

    let (_, headers, body) = harness
        .send(request(
            Method::GET,
            uri,
            &[("accept-encoding", "gzip;q=0, br")],
        ))
        .await;
    assert!(!headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(body, plain);
}

#[test]
fn accept_encoding_is_read_with_its_qualities() {
    let accepts = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        accepts_gzip(&headers)
    };
    assert!(accepts("gzip"));
    assert!(accepts("deflate, GZIP;q=0.5"));
    assert!(accepts("x-gzip"));
    assert!(accepts("*"));
    assert!(!accepts("identity"));
    assert!(!accepts("gzip;q=0.000"));
    assert!(!accepts("gzip; q=0, *"));
    assert!(!accepts("*;q=0"));
    assert!(!accepts_gzip(&HeaderMap::new()));
}

#[tokio::test]
async fn every_response_allows_any_origin_for_browser_players() {
    let harness = Harness::new();
    for uri in [
        "/channels/demo/master.m3u8",
        "/channels/demo/360p/ts.m3u8",
        "/media/assets/1/360p/ts/00000.ts",
    ] {
        let (_, headers, _) = harness
            .send(request(
                Method::GET,
                uri,
                &[("origin", "https://player.example")],
            ))
            .await;
        assert_eq!(
            header(&headers, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "*",
            "{uri}"
        );
    }
    let preflight = request(
        Method::OPTIONS,
        "/media/assets/1/360p/ts/00000.ts",
        &[
            ("origin", "https://player.example"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "range"),
        ],
    );
    let (status, headers, _) = harness.send(preflight).await;
    assert!(status.is_success());
    assert_eq!(header(&headers, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    assert!(header(&headers, header::ACCESS_CONTROL_ALLOW_METHODS).contains("GET"));
}

#[tokio::test]
async fn an_unknown_channel_is_a_404_with_a_message() {
    let harness = Harness::new();
    for uri in ["/channels/nope/master.m3u8", "/channels/nope/360p/ts.m3u8"] {
        let (status, headers, body) = harness.get(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, "unknown channel nope\n");
        assert_eq!(
            header(&headers, header::CONTENT_TYPE),
            "text/plain; charset=utf-8"
        );
    }
}

#[tokio::test]
async fn a_channel_off_air_is_a_404_that_says_so() {
    let harness = Harness::new();
    let (mut channel, ladder, timeline, assets) = fixtures::demo_parts(true);
    channel.on_air = false;
    let playout = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap();
    harness.directory.replace("demo", Arc::new(playout));
    for uri in ["/channels/demo/master.m3u8", "/channels/demo/360p/ts.m3u8"] {
        let (status, _, body) = harness.get(uri).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::NOT_FOUND,
                Bytes::from("channel demo is off air\n")
            )
        );
    }
}

#[tokio::test]
async fn an_unknown_rung_or_an_unpublished_output_is_a_404() {
    let harness = Harness::new();
    let (status, _, body) = harness.get("/channels/demo/1080p/ts.m3u8").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            Bytes::from("channel demo has no rung 1080p\n")
        )
    );
    // Audio tracks have fMP4 playlists only: TS segments carry the audio with the video.
    let (status, _, body) = harness.get("/channels/demo/audio-96k/ts.m3u8").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            Bytes::from("channel demo has no rung audio-96k\n")
        )
    );

    let (mut channel, ladder, timeline, assets) = fixtures::demo_parts(true);
    channel.outputs = vec![OutputFormat::HlsFmp4];
    harness.directory.replace(
        "demo",
        Arc::new(ChannelPlayout::new(channel, ladder, timeline, assets).unwrap()),
    );
    let (status, _, body) = harness.get("/channels/demo/360p/ts.m3u8").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            Bytes::from("channel demo is not published as hls-ts\n")
        )
    );
}

#[tokio::test]
async fn a_replaced_channel_is_served_from_the_next_request_on_and_a_removed_one_is_gone() {
    let harness = Harness::at(at_millis(30_000));
    let uri = "/channels/demo/360p/ts.m3u8";
    let (_, _, looping) = harness.get(uri).await;
    assert!(looping.starts_with(b"#EXTM3U"));
    let once = fixtures::demo_playout(false);
    let expected = render_media_playlist(&once, "360p", at_millis(30_000)).unwrap();
    harness.directory.replace("demo", Arc::new(once));
    let (_, _, replaced) = harness.get(uri).await;
    assert_ne!(replaced, looping);
    assert_eq!(replaced, expected);

    harness.directory.remove("demo");
    let (status, _, _) = harness.get(uri).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(harness.directory.all().is_empty());
}

#[tokio::test]
async fn a_segment_file_is_served_immutable_with_its_content_type() {
    let harness = Harness::new();
    let (status, headers, body) = harness.get("/media/assets/1/360p/ts/00000.ts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, segment_bytes());
    assert_eq!(header(&headers, header::CONTENT_TYPE), "video/mp2t");
    assert_eq!(
        header(&headers, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    for (uri, content_type) in [
        ("/media/assets/1/360p/cmaf/00000.m4s", "video/iso.segment"),
        ("/media/assets/1/360p/cmaf/init.mp4", "video/mp4"),
        (
            "/media/assets/1/audio-96k/cmaf-audio/00000.m4s",
            "video/iso.segment",
        ),
        ("/media/assets/1/audio-96k/cmaf-audio/init.mp4", "video/mp4"),
    ] {
        let (status, headers, _) = harness.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(
            header(&headers, header::CONTENT_TYPE),
            content_type,
            "{uri}"
        );
        assert_eq!(
            header(&headers, header::CACHE_CONTROL),
            SEGMENT_CACHE_CONTROL,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_range_of_a_segment_file_is_served_as_partial_content() {
    let harness = Harness::new();
    let uri = "/media/assets/1/360p/ts/00000.ts";
    let (status, headers, body) = harness
        .send(request(Method::GET, uri, &[("range", "bytes=188-191")]))
        .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, segment_bytes()[188..192]);
    assert_eq!(header(&headers, header::CONTENT_RANGE), "bytes 188-191/376");
    assert_eq!(
        header(&headers, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&headers, header::CONTENT_TYPE), "video/mp2t");

    let (status, _, _) = harness
        .send(request(Method::GET, uri, &[("range", "bytes=1000-2000")]))
        .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn paths_that_climb_out_of_the_media_root_are_refused() {
    let harness = Harness::new();
    assert!(harness.media_root.path().join("secret.ts").exists());
    for uri in [
        "/media/../secret.ts",
        "/media/assets/../../secret.ts",
        "/media/%2e%2e/secret.ts",
        "/media/assets/..%2F..%2Fsecret.ts",
        "/media/./assets/1/360p/ts/00000.ts",
        "/media/assets/..\\..\\secret.ts",
    ] {
        let (status, headers, body) = harness.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body.starts_with(b"refused media path"), "{uri}");
        assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
    }
}

#[tokio::test]
async fn a_missing_segment_file_or_a_folder_is_a_404_not_cached_for_a_year() {
    let harness = Harness::new();
    for uri in [
        "/media/assets/1/360p/ts/00009.ts",
        "/media/assets/1/360p/ts",
    ] {
        let (status, headers, _) = harness.get(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(!headers.contains_key(header::CACHE_CONTROL), "{uri}");
    }
}

#[tokio::test]
async fn the_fmp4_and_dash_routes_serve_their_manifests_with_cdn_headers() {
    let harness = Harness::new();
    let playout = fixtures::demo_playout(true);
    let now = at_millis(NOW_MILLIS);
    let cases = [
        (
            "/channels/demo/master-fmp4.m3u8",
            crate::hls::render_multivariant_with(&playout, onair_domain::Packaging::Cmaf),
            PLAYLIST_CONTENT_TYPE,
            "public, max-age=5",
        ),
        (
            "/channels/demo/240p/fmp4.m3u8",
            crate::hls::render_media_playlist_with(
                &playout,
                "240p",
                now,
                &MediaPlaylistOptions::fmp4(),
            )
            .unwrap(),
            PLAYLIST_CONTENT_TYPE,
            "public, max-age=1",
        ),
        (
            "/channels/demo/audio-64k/fmp4.m3u8",
            crate::hls::render_media_playlist_with(
                &playout,
                "audio-64k",
                now,
                &MediaPlaylistOptions::fmp4(),
            )
            .unwrap(),
            PLAYLIST_CONTENT_TYPE,
            "public, max-age=1",
        ),
        (
            "/channels/demo/manifest.mpd",
            crate::dash::render_mpd(&playout, now, &MpdOptions::default()).unwrap(),
            "application/dash+xml",
            "public, max-age=1",
        ),
    ];
    for (uri, expected, content_type, cache_control) in cases {
        let (status, headers, body) = harness.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(body, expected, "{uri}");
        assert_eq!(
            header(&headers, header::CONTENT_TYPE),
            content_type,
            "{uri}"
        );
        assert_eq!(
            header(&headers, header::CACHE_CONTROL),
            cache_control,
            "{uri}"
        );
        let etag = header(&headers, header::ETAG).to_owned();
        let (status, _, _) = harness
            .send(request(Method::GET, uri, &[("if-none-match", &etag)]))
            .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{uri}");
        let (_, headers, _) = harness
            .send(request(
                Method::GET,
                uri,
                &[
                    ("accept-encoding", "gzip"),
                    ("origin", "https://player.example"),
                ],
            ))
            .await;
        assert_eq!(header(&headers, header::CONTENT_ENCODING), "gzip", "{uri}");
        assert_eq!(header(&headers, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
        let (status, _, body) = harness.send(request(Method::HEAD, uri, &[])).await;
        assert_eq!((status, body.len()), (StatusCode::OK, 0), "{uri}");
    }
}

#[tokio::test]
async fn the_mpd_is_rendered_once_per_window_position() {
    let (_, early, _) = Harness::at(at_millis(8_000))
        .get("/channels/demo/manifest.mpd")
        .await;
    let (_, same, _) = Harness::at(at_millis(9_000))
        .get("/channels/demo/manifest.mpd")
        .await;
    let (_, later, _) = Harness::at(at_millis(9_520))
        .get("/channels/demo/manifest.mpd")
        .await;
    assert_eq!(early.get(header::ETAG), same.get(header::ETAG));
    assert_ne!(early.get(header::ETAG), later.get(header::ETAG));
}

#[tokio::test]
async fn the_time_endpoint_gives_the_clock_and_is_never_cached() {
    let harness = Harness::new();
    let (status, headers, body) = harness.get("/time").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, at_millis(NOW_MILLIS).to_rfc3339_millis());
    assert_eq!(header(&headers, header::CACHE_CONTROL), "no-store");
}

#[tokio::test]
async fn each_format_is_a_404_for_a_channel_not_published_in_it() {
    let harness = Harness::new();
    let (mut channel, ladder, timeline, assets) = fixtures::demo_parts(true);
    channel.outputs = vec![OutputFormat::HlsTs];
    harness.directory.replace(
        "demo",
        Arc::new(ChannelPlayout::new(channel, ladder, timeline, assets).unwrap()),
    );
    for (uri, output) in [
        ("/channels/demo/master-fmp4.m3u8", "hls-fmp4"),
        ("/channels/demo/360p/fmp4.m3u8", "hls-fmp4"),
        ("/channels/demo/manifest.mpd", "dash"),
    ] {
        let (status, _, body) = harness.get(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            body,
            Bytes::from(format!("channel demo is not published as {output}\n"))
        );
    }
    let (status, _, _) = harness.get("/channels/nope/manifest.mpd").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
