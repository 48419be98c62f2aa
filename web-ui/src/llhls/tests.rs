use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use onair_domain::Ladder;
use onair_playout::llhls::LlPart;
use tower::ServiceExt;

use super::*;

/// A segment's name: 1000 segments of 2 s after the epoch, plus `k` segments.
fn segment(k: i64) -> Timestamp {
    Timestamp((1_000 + k) * 180_000)
}

struct Fixture {
    outputs: Arc<LlOutputs>,
    source: Arc<LlSource>,
    media: tempfile::TempDir,
}

impl Fixture {
    /// Source `studio` publishing on the demo ladder with `config`, its first segment numbered
    /// 10, nothing written yet.
    fn new(config: LlConfig) -> Fixture {
        let outputs = Arc::new(LlOutputs::default());
        let source =
            outputs.begin_publish("studio", 1, Ladder::demo(), config, "live/studio/1", 10);
        Fixture {
            outputs,
            source,
            media: tempfile::tempdir().unwrap(),
        }
    }

    fn app(&self) -> Router {
        router(LlHlsState {
            outputs: self.outputs.clone(),
            media_root: self.media.path().to_owned(),
        })
    }

    /// Part `index` of segment `k` in every rendition.
    fn part(&self, k: i64, index: u32) {
        let duration = self.config().part_target;
        for rendition in ["360p", "240p", "audio-96k", "audio-64k"] {
            self.source
                .push_part(
                    1,
                    rendition,
                    segment(k),
                    0,
                    LlPart {
                        index,
                        duration,
                        independent: index == 0,
                    },
                )
                .unwrap();
        }
    }

    /// Segment `k` complete in every rendition, with all its parts.
    fn whole_segment(&self, k: i64) {
        let config = self.config();
        for index in 0..config.parts_per_segment() {
            self.part(k, index);
        }
        for rendition in ["360p", "240p", "audio-96k", "audio-64k"] {
            self.source
                .complete_segment(
                    1,
                    rendition,
                    segment(k),
                    segment(k),
                    config.segment_target,
                    0,
                )
                .unwrap();
        }
    }

    fn config(&self) -> LlConfig {
        self.source.read(|publish| publish.unwrap().config)
    }

    fn write(&self, rendition: &str, file: &str, bytes: &[u8]) {
        let dir = self.media.path().join("live/studio/1").join(rendition);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), bytes).unwrap();
    }
}

async fn get(app: Router, uri: impl AsRef<str>) -> (StatusCode, String, String) {
    let response = app
        .oneshot(Request::get(uri.as_ref()).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let cache_control = response
        .headers()
        .get(header::CACHE_CONTROL)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        String::from_utf8_lossy(&bytes).into_owned(),
        cache_control,
    )
}

#[tokio::test]
async fn a_blocking_request_for_the_next_part_is_answered_when_it_arrives() {
    let fixture = Fixture::new(LlConfig::default());
    fixture.whole_segment(0);
    fixture.part(1, 0);
    // Segment 10 is complete, 11 has part 0: ask for 11 part 1.
    let request = tokio::spawn(get(
        fixture.app(),
        "/live/studio/360p/llhls.m3u8?_HLS_msn=11&_HLS_part=1",
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!request.is_finished(), "answered before the part exists");
    fixture.part(1, 1);
    let (status, text, cache_control) = tokio::time::timeout(Duration::from_secs(2), request)
        .await
        .expect("answered once the part arrived")
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        text.contains(&format!("URI=\"{}.1.m4s\"", segment(1).0)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}.2.m4s\"",
            segment(1).0
        )),
        "{text}"
    );
    assert!(
        text.contains("#EXT-X-RENDITION-REPORT:URI=\"../240p/llhls.m3u8\",LAST-MSN=11,LAST-PART=1"),
        "{text}"
    );
    assert_eq!(cache_control, "public, max-age=6");

    // What is there already is answered at once; a tune-in is never cached.
    let (status, _, cache_control) =
        get(fixture.app(), "/live/studio/360p/llhls.m3u8?_HLS_msn=10").await;
    assert_eq!(
        (status, cache_control.as_str()),
        (StatusCode::OK, "public, max-age=6")
    );
    let (status, _, cache_control) = get(fixture.app(), "/live/studio/360p/llhls.m3u8").await;
    assert_eq!(
        (status, cache_control.as_str()),
        (StatusCode::OK, "no-cache")
    );
}

#[tokio::test]
async fn bad_delivery_directives_are_refused_with_400() {
    let fixture = Fixture::new(LlConfig::default());
    fixture.whole_segment(0);
    for query in [
        "_HLS_part=1",
        "_HLS_msn=11&_HLS_part=x",
        "_HLS_msn=-1",
        // Three segments past the last complete one (10).
        "_HLS_msn=13",
        // A segment has 4 parts: 5 names nothing.
        "_HLS_msn=11&_HLS_part=5",
        // More than 6 parts past the last one (10 part 3).
        "_HLS_msn=12&_HLS_part=3",
    ] {
        let (status, text, cache_control) = get(
            fixture.app(),
            &format!("/live/studio/360p/llhls.m3u8?{query}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {text}");
        assert_eq!(cache_control, "no-store", "{query}");
    }
}

#[tokio::test]
async fn a_request_held_three_target_durations_is_answered_503() {
    // 1 s segments: a target duration of 1 s, so 503 after 3 s.
    let fixture = Fixture::new(LlConfig {
        segment_target: Ticks::from_secs(1),
        part_target: Ticks::from_millis(250),
        ..LlConfig::default()
    });
    fixture.whole_segment(0);
    let started = std::time::Instant::now();
    let (status, text, cache_control) = get(
        fixture.app(),
        "/live/studio/240p/llhls.m3u8?_HLS_msn=11&_HLS_part=0",
    )
    .await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert_eq!(cache_control, "no-store");
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test]
async fn the_hinted_part_is_held_until_it_is_written() {
    let fixture = Fixture::new(LlConfig::default());
    fixture.whole_segment(0);
    fixture.write("360p", &format!("{}.m4s", segment(0).0), b"segment");
    fixture.write("360p", "init-0.mp4", b"init");
    let hinted = format!("/live/studio/360p/{}.0.m4s", segment(1).0);
    let request = tokio::spawn(get(fixture.app(), hinted));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!request.is_finished(), "answered before the part exists");
    // The ladder writes the file, then reports the part.
    fixture.write("360p", &format!("{}.0.m4s", segment(1).0), b"part");
    fixture.part(1, 0);
    let (status, body, cache_control) = tokio::time::timeout(Duration::from_secs(2), request)
        .await
        .expect("answered once the part was written")
        .unwrap();
    assert_eq!((status, body.as_str()), (StatusCode::OK, "part"));
    assert_eq!(cache_control, "public, max-age=86400, immutable");

    let (status, body, _) = get(
        fixture.app(),
        &format!("/live/studio/360p/{}.m4s", segment(0).0),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "segment"));
    let (status, _, cache_control) = get(fixture.app(), "/live/studio/360p/init-0.mp4").await;
    assert_eq!(
        (status, cache_control.as_str()),
        (StatusCode::OK, "no-cache")
    );
    // A part that is not hinted is not waited for; names that are not the ladder's are refused.
    for file in [
        format!("{}.3.m4s", segment(1).0),
        "llhls.txt".to_owned(),
        "init-x.mp4".to_owned(),
        "1.2.3.m4s".to_owned(),
    ] {
        let (status, _, _) = get(fixture.app(), &format!("/live/studio/360p/{file}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{file}");
    }
}

#[tokio::test]
async fn a_source_is_listed_once_every_rendition_has_a_segment_and_until_it_ends() {
    let fixture = Fixture::new(LlConfig::default());
    let (status, text, _) = get(fixture.app(), "/live/nobody/llhls.m3u8").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        text.contains("live source nobody is not publishing"),
        "{text}"
    );
    let (status, _, _) = get(fixture.app(), "/live/studio/llhls.m3u8").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    fixture.whole_segment(0);
    let (status, text, cache_control) = get(fixture.app(), "/live/studio/llhls.m3u8").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("\n360p/llhls.m3u8\n"), "{text}");
    assert!(text.contains("URI=\"audio-96k/llhls.m3u8\""), "{text}");
    assert_eq!(cache_control, "public, max-age=2");
    let (status, _, _) = get(fixture.app(), "/live/studio/1080p/llhls.m3u8").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A held request is answered when the publish ends, with EXT-X-ENDLIST.
    let request = tokio::spawn(get(
        fixture.app(),
        "/live/studio/360p/llhls.m3u8?_HLS_msn=11",
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    fixture.source.end(1);
    let (status, text, _) = request.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("#EXT-X-ENDLIST\n"), "{text}");
    let (status, _, _) = get(fixture.app(), "/live/studio/llhls.m3u8").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
