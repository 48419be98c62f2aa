//! The uploads' routes through `router(...).oneshot`, each request on a fresh router as a
//! restart or another replica would see it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{Method, Request};
use onair_domain::JobId;
use onair_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::job::TranscodeJob;

/// The farm's largest upload in these tests.
const LIMIT: u64 = 64 << 10;

/// A farm's API over a database and a data folder of its own.
struct Farm {
    state: ApiState,
    _dir: tempfile::TempDir,
}

/// A response, read whole.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl Answer {
    fn upload_offset(&self) -> Option<u64> {
        self.headers
            .get(&UPLOAD_OFFSET)
            .map(|value| value.to_str().unwrap().parse().unwrap())
    }

    fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or_default()
    }
}

impl Farm {
    async fn new() -> Farm {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let settings = FarmSettings {
            max_upload_size: LIMIT,
            ..FarmSettings::under(dir.path())
        };
        Farm {
            state: ApiState {
                store,
                settings: Arc::new(settings),
            },
            _dir: dir,
        }
    }

    /// Every request goes through a new router, as it would to another replica or after a
    /// restart: nothing of an upload lives in the router.
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        Answer {
            status,
            headers,
            json,
        }
    }

    async fn declare(&self, declaration: Value) -> Answer {
        self.send(
            Request::post("/api/uploads")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(declaration.to_string()))
                .unwrap(),
        )
        .await
    }

    /// The id of a new upload of `size` bytes called `name`.
    async fn declared(&self, name: &str, size: usize) -> String {
        let answer = self.declare(json!({ "name": name, "size": size })).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.json["id"].as_str().unwrap().to_owned()
    }

    async fn patch(&self, id: &str, offset: u64, body: Body) -> Answer {
        self.send(
            Request::patch(format!("/api/uploads/{id}"))
                .header(&UPLOAD_OFFSET, offset)
                .header(header::CONTENT_TYPE, "application/offset+octet-stream")
                .body(body)
                .unwrap(),
        )
        .await
    }

    /// A chunk with its `Content-Length`, as a browser sends a slice of a file.
    async fn chunk(&self, id: &str, offset: u64, bytes: &[u8]) -> Answer {
        self.send(
            Request::patch(format!("/api/uploads/{id}"))
                .header(&UPLOAD_OFFSET, offset)
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(Body::from(bytes.to_vec()))
                .unwrap(),
        )
        .await
    }

    async fn call(&self, method: Method, uri: &str) -> Answer {
        self.send(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn get(&self, id: &str) -> Answer {
        self.call(Method::GET, &format!("/api/uploads/{id}")).await
    }

    async fn complete(&self, id: &str) -> Answer {
        self.call(Method::POST, &format!("/api/uploads/{id}/complete"))
            .await
    }

    async fn delete(&self, id: &str) -> Answer {
        self.call(Method::DELETE, &format!("/api/uploads/{id}"))
            .await
    }

    fn incoming_dir(&self) -> &Path {
        &self.state.settings.incoming_dir
    }

    fn uploads_dir(&self) -> PathBuf {
        self.incoming_dir().join("uploads")
    }

    fn part_length(&self, id: &str) -> u64 {
        std::fs::metadata(self.uploads_dir().join(format!("{id}.part")))
            .unwrap()
            .len()
    }

    /// The file, name and title of the job that completing an upload queued.
    async fn queued_upload(&self, completed: &Answer) -> (PathBuf, Option<String>, String) {
        let job_id = JobId(completed.json["job_id"].as_i64().unwrap());
        let job = self.state.store.job(job_id).await.unwrap().unwrap();
        let payload = TranscodeJob::from_json(&job.payload).unwrap();
        assert_eq!(
            payload.asset_id.0,
            completed.json["asset_id"].as_i64().unwrap()
        );
        match payload.source {
            Source::Upload { path, name } => (path, name, payload.title),
            other => panic!("the job's source is {other:?}"),
        }
    }
}

/// The names in `dir`, sorted; none when it does not exist.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// `length` bytes that start as an MP4 file does (an `ftyp` box, then `mdat`): enough for
/// the check at completion, and no worker runs in these tests.
fn mp4_bytes(length: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(length);
    bytes.extend_from_slice(&[0, 0, 0, 0x18]);
    bytes.extend_from_slice(b"ftypisom\x00\x00\x02\x00isomiso2");
    bytes.extend_from_slice(&((length - 24) as u32).to_be_bytes());
    bytes.extend_from_slice(b"mdat");
    bytes.extend((0..length - 32).map(|index| (index * 31 % 251) as u8));
    bytes
}

/// A body that sends `bytes`, then fails as a dropped connection does.
fn dropped_after(bytes: &[u8]) -> Body {
    let items: Vec<Result<Bytes, io::Error>> = vec![
        Ok(Bytes::copy_from_slice(bytes)),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        )),
    ];
    Body::from_stream(futures_util::stream::iter(items))
}

#[tokio::test]
async fn a_file_sent_in_three_chunks_completes_into_a_job_on_a_byte_identical_file() {
    let farm = Farm::new().await;
    let file = mp4_bytes(9000);
    let declared = farm
        .declare(json!({ "name": "clip.mp4", "size": 9000, "title": "Evening news" }))
        .await;
    assert_eq!(declared.status, StatusCode::CREATED, "{declared:?}");
    let id = declared.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        declared.json,
        json!({ "id": id, "offset": 0, "size": 9000 })
    );
    assert_eq!(
        declared.headers[header::LOCATION],
        format!("/api/uploads/{id}").as_str()
    );

    for (start, end) in [(0, 3000), (3000, 6000), (6000, 9000)] {
        let answer = farm.chunk(&id, start, &file[start as usize..end]).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert_eq!(answer.json, json!({ "offset": end }));
        assert_eq!(answer.upload_offset(), Some(end as u64));
    }
    let stands = farm.get(&id).await;
    assert_eq!(stands.status, StatusCode::OK);
    assert_eq!(
        stands.json,
        json!({
            "id": id, "name": "clip.mp4", "size": 9000, "offset": 9000,
            "title": "Evening news", "ladder": "fast", "complete": true,
        })
    );

    let completed = farm.complete(&id).await;
    assert_eq!(completed.status, StatusCode::ACCEPTED, "{completed:?}");
    let asset_id = completed.json["asset_id"].as_i64().unwrap();
    assert_eq!(
        completed.json["asset_url"],
        format!("/api/assets/{asset_id}").as_str()
    );
    let (path, name, title) = farm.queued_upload(&completed).await;
    assert_eq!(std::fs::read(&path).unwrap(), file);
    assert_eq!(path.parent(), Some(farm.incoming_dir()));
    assert_eq!(path.extension().unwrap(), "upload");
    assert_eq!(name.as_deref(), Some("clip.mp4"));
    assert_eq!(title, "Evening news");
    assert_eq!(names_in(&farm.uploads_dir()), Vec::<String>::new());
    assert_eq!(farm.get(&id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(farm.complete(&id).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_chunk_at_the_wrong_offset_is_refused_with_the_current_offset() {
    let farm = Farm::new().await;
    let file = mp4_bytes(9000);
    let id = farm.declared("clip.mp4", 9000).await;
    assert_eq!(
        farm.chunk(&id, 0, &file[..3000]).await.status,
        StatusCode::OK
    );

    for wrong in [0, 2999, 6000] {
        let answer = farm.chunk(&id, wrong, &file[3000..6000]).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{answer:?}");
        assert_eq!(answer.json["offset"], 3000);
        assert_eq!(answer.upload_offset(), Some(3000));
        assert!(
            answer
                .error()
                .contains(&format!("at offset 3000, not {wrong}")),
            "{answer:?}"
        );
    }
    let without_offset = farm
        .send(
            Request::patch(format!("/api/uploads/{id}"))
                .body(Body::from(file[3000..6000].to_vec()))
                .unwrap(),
        )
        .await;
    assert_eq!(without_offset.status, StatusCode::BAD_REQUEST);
    assert_eq!(farm.part_length(&id), 3000);
    assert_eq!(farm.get(&id).await.json["offset"], 3000);
}

#[tokio::test]
async fn an_upload_resumes_after_a_dropped_chunk_from_the_offset_get_reports() {
    let farm = Farm::new().await;
    let file = mp4_bytes(9000);
    let id = farm.declared("clip.mp4", 9000).await;
    assert_eq!(
        farm.chunk(&id, 0, &file[..3000]).await.status,
        StatusCode::OK
    );

    let dropped = farm
        .patch(&id, 3000, dropped_after(&file[3000..4500]))
        .await;
    assert_eq!(dropped.status, StatusCode::BAD_REQUEST, "{dropped:?}");
    assert!(
        dropped.error().contains("still at offset 3000"),
        "{dropped:?}"
    );
    assert_eq!(farm.part_length(&id), 3000, "none of the cut chunk is kept");

    let stands = farm.get(&id).await;
    assert_eq!(stands.json["offset"], 3000);
    assert_eq!(stands.json["complete"], false);
    let resume_at = stands.json["offset"].as_u64().unwrap();
    let rest = farm
        .chunk(&id, resume_at, &file[resume_at as usize..])
        .await;
    assert_eq!(rest.json, json!({ "offset": 9000 }));

    let completed = farm.complete(&id).await;
    assert_eq!(completed.status, StatusCode::ACCEPTED, "{completed:?}");
    let (path, _, title) = farm.queued_upload(&completed).await;
    assert_eq!(std::fs::read(path).unwrap(), file);
    assert_eq!(title, "clip", "the default title is the file's name");
}

#[tokio::test]
async fn bytes_past_the_recorded_offset_never_count() {
    // What a crash between writing a chunk and recording it leaves: more bytes on disk than
    // the record says arrived.
    let farm = Farm::new().await;
    let file = mp4_bytes(6000);
    let id = farm.declared("clip.mp4", 6000).await;
    farm.chunk(&id, 0, &file[..3000]).await;
    let part = farm.uploads_dir().join(format!("{id}.part"));
    let mut on_disk = std::fs::read(&part).unwrap();
    on_disk.extend_from_slice(&[0xEE; 1000]);
    std::fs::write(&part, on_disk).unwrap();

    assert_eq!(farm.get(&id).await.json["offset"], 3000);
    assert_eq!(
        farm.chunk(&id, 4000, &file[4000..]).await.status,
        StatusCode::CONFLICT
    );
    farm.chunk(&id, 3000, &file[3000..]).await;
    let completed = farm.complete(&id).await;
    let (path, _, _) = farm.queued_upload(&completed).await;
    assert_eq!(std::fs::read(path).unwrap(), file);
}

#[tokio::test]
async fn an_upload_declared_larger_than_the_farm_accepts_is_refused_up_front() {
    let farm = Farm::new().await;
    let answer = farm
        .declare(json!({ "name": "huge.mp4", "size": LIMIT + 1 }))
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{answer:?}");
    assert!(
        answer.error().contains("transcode.max_upload_size"),
        "{answer:?}"
    );
    assert_eq!(names_in(&farm.uploads_dir()), Vec::<String>::new());
    let at_the_limit = farm
        .declare(json!({ "name": "big.mp4", "size": LIMIT }))
        .await;
    assert_eq!(at_the_limit.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_chunk_past_the_declared_size_is_refused_and_none_of_it_kept() {
    let farm = Farm::new().await;
    let file = mp4_bytes(1200);
    let id = farm.declared("clip.mp4", 1000).await;

    let announced = farm.chunk(&id, 0, &file).await;
    assert_eq!(
        announced.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{announced:?}"
    );
    let streamed = farm
        .patch(
            &id,
            0,
            Body::from_stream(futures_util::stream::iter([
                Ok::<_, io::Error>(Bytes::copy_from_slice(&file[..800])),
                Ok(Bytes::copy_from_slice(&file[800..])),
            ])),
        )
        .await;
    assert_eq!(
        streamed.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{streamed:?}"
    );
    assert!(
        streamed.error().contains("nothing of this chunk was kept"),
        "{streamed:?}"
    );
    assert_eq!(farm.part_length(&id), 0);
    assert_eq!(farm.get(&id).await.json["offset"], 0);

    let exact = farm.chunk(&id, 0, &file[..1000]).await;
    assert_eq!(exact.json, json!({ "offset": 1000 }));
}

#[tokio::test]
async fn a_file_that_is_not_media_is_refused_at_completion_and_leaves_nothing_behind() {
    let farm = Farm::new().await;
    let text = b"These are not the frames you are looking for.\n".repeat(20);
    let id = farm.declared("notes.txt", text.len()).await;
    assert_eq!(farm.chunk(&id, 0, &text).await.status, StatusCode::OK);

    let completed = farm.complete(&id).await;
    assert_eq!(
        completed.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{completed:?}"
    );
    assert!(
        completed
            .error()
            .starts_with("not a media file this farm reads: \"notes.txt\""),
        "{completed:?}"
    );
    assert_eq!(names_in(&farm.uploads_dir()), Vec::<String>::new());
    assert_eq!(names_in(farm.incoming_dir()), ["uploads"]);
    assert_eq!(farm.get(&id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(farm.state.store.job(JobId(1)).await.unwrap(), None);
}

#[tokio::test]
async fn completing_before_every_byte_arrived_says_how_many_are_missing() {
    let farm = Farm::new().await;
    let file = mp4_bytes(9000);
    let id = farm.declared("clip.mp4", 9000).await;
    farm.chunk(&id, 0, &file[..3000]).await;

    let early = farm.complete(&id).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{early:?}");
    assert_eq!(early.json["offset"], 3000);
    assert!(early.error().contains("missing 6000 bytes"), "{early:?}");
    assert_eq!(farm.get(&id).await.json["offset"], 3000, "still resumable");
}

#[tokio::test]
async fn two_chunks_at_once_cannot_interleave() {
    let farm = Farm::new().await;
    let file = mp4_bytes(4000);
    let id = farm.declared("clip.mp4", 4000).await;

    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(1);
    let slow_body = Body::from_stream(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
    ));
    let slow = {
        let state = farm.state.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let request = Request::patch(format!("/api/uploads/{id}"))
                .header(&UPLOAD_OFFSET, 0)
                .body(slow_body)
                .unwrap();
            router(state).oneshot(request).await.unwrap().status()
        })
    };
    sender
        .send(Ok(Bytes::copy_from_slice(&file[..1000])))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while farm.part_length(&id) < 1000 {
        assert!(Instant::now() < deadline, "the first chunk never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let meanwhile = farm.chunk(&id, 0, &file[..2000]).await;
    assert_eq!(meanwhile.status, StatusCode::CONFLICT, "{meanwhile:?}");
    assert_eq!(meanwhile.json["offset"], 0);
    assert!(
        meanwhile.error().contains("another request is writing"),
        "{meanwhile:?}"
    );

    sender
        .send(Ok(Bytes::copy_from_slice(&file[1000..1500])))
        .await
        .unwrap();
    drop(sender);
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    assert_eq!(farm.get(&id).await.json["offset"], 1500);
    assert_eq!(
        std::fs::read(farm.uploads_dir().join(format!("{id}.part"))).unwrap(),
        &file[..1500]
    );
}

#[tokio::test]
async fn a_cancelled_upload_leaves_no_files() {
    let farm = Farm::new().await;
    let id = farm.declared("clip.mp4", 9000).await;
    farm.chunk(&id, 0, &mp4_bytes(3000)).await;

    let cancelled = farm.delete(&id).await;
    assert_eq!(cancelled.status, StatusCode::NO_CONTENT, "{cancelled:?}");
    assert_eq!(names_in(&farm.uploads_dir()), Vec::<String>::new());
    assert_eq!(farm.get(&id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(farm.delete(&id).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_declaration_needs_a_size_a_plain_name_and_a_known_ladder() {
    let farm = Farm::new().await;
    let refused = [
        json!({ "name": "clip.mp4", "size": 0 }),
        json!({ "name": "", "size": 10 }),
        json!({ "name": "  ", "size": 10 }),
        json!({ "name": "../clip.mp4", "size": 10 }),
        json!({ "name": "a\\clip.mp4", "size": 10 }),
        json!({ "name": "clip\n.mp4", "size": 10 }),
        json!({ "name": "x".repeat(256), "size": 10 }),
        json!({ "size": 10 }),
        json!({ "name": "clip.mp4" }),
        json!({ "name": "clip.mp4", "size": -1 }),
        json!({ "name": "clip.mp4", "size": 10, "ladder": "nope" }),
        json!({ "name": "clip.mp4", "size": 10, "path": "/etc/passwd" }),
    ];
    for declaration in refused {
        let answer = farm.declare(declaration.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{declaration}: {answer:?}"
        );
        assert!(!answer.error().is_empty(), "{declaration}: {answer:?}");
    }
    let ladder = farm
        .declare(json!({ "name": "clip.mp4", "size": 10, "ladder": "nope" }))
        .await;
    assert!(ladder.error().contains("not found"), "{ladder:?}");
    assert_eq!(names_in(&farm.uploads_dir()), Vec::<String>::new());
}

#[tokio::test]
async fn bad_ids_are_refused_and_never_reach_a_path_outside_the_uploads_folder() {
    let farm = Farm::new().await;
    // Files an id such as "../secret" would name, were it made into a path.
    std::fs::create_dir_all(farm.uploads_dir()).unwrap();
    let secret_record = json!({
        "id": "../secret", "name": "secret.mp4", "size": 4, "offset": 4,
        "title": null, "ladder": "fast",
    })
    .to_string();
    std::fs::write(farm.incoming_dir().join("secret.json"), &secret_record).unwrap();
    std::fs::write(farm.incoming_dir().join("secret.part"), b"\x00\x00\x01\xba").unwrap();

    let malformed = [
        "..%2Fsecret",
        "%2E%2E",
        "0123456789ABCDEF0123456789abcdef",
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcdeg",
    ];
    for id in malformed {
        for answer in [
            farm.get(id).await,
            farm.chunk(id, 0, b"data").await,
            farm.complete(id).await,
            farm.delete(id).await,
        ] {
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{id}: {answer:?}");
            assert_eq!(
                answer.error(),
                "upload ids are 32 lowercase hex digits",
                "{id}"
            );
        }
    }
    let unknown = "0123456789abcdef0123456789abcdef";
    for answer in [
        farm.get(unknown).await,
        farm.chunk(unknown, 0, b"data").await,
        farm.complete(unknown).await,
        farm.delete(unknown).await,
    ] {
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{answer:?}");
    }

    assert_eq!(
        std::fs::read_to_string(farm.incoming_dir().join("secret.json")).unwrap(),
        secret_record
    );
    assert_eq!(
        std::fs::read(farm.incoming_dir().join("secret.part")).unwrap(),
        b"\x00\x00\x01\xba"
    );
    assert_eq!(names_in(&farm.uploads_dir()), Vec::<String>::new());
    assert_eq!(
        names_in(farm.incoming_dir()),
        ["secret.json", "secret.part", "uploads"]
    );
}

#[tokio::test]
async fn purging_removes_stale_uploads_only() {
    let farm = Farm::new().await;
    let settings = &farm.state.settings;
    let a_day = Duration::from_secs(24 * 3600);
    assert_eq!(
        purge_stale_uploads(settings, a_day).await.unwrap(),
        0,
        "no uploads folder yet"
    );
    let stale = farm.declared("old.mp4", 9000).await;
    farm.chunk(&stale, 0, &mp4_bytes(3000)).await;
    let fresh = farm.declared("new.mp4", 9000).await;
    farm.chunk(&fresh, 0, &mp4_bytes(3000)).await;
    std::fs::write(farm.uploads_dir().join("README.txt"), "not an upload").unwrap();
    let yesterday = SystemTime::now() - Duration::from_secs(25 * 3600);
    for name in names_in(&farm.uploads_dir()) {
        if name.starts_with(&stale) || name == "README.txt" {
            std::fs::File::options()
                .write(true)
                .open(farm.uploads_dir().join(name))
                .unwrap()
                .set_modified(yesterday)
                .unwrap();
        }
    }

    assert_eq!(purge_stale_uploads(settings, a_day).await.unwrap(), 1);
    assert_eq!(farm.get(&stale).await.status, StatusCode::NOT_FOUND);
    assert_eq!(farm.get(&fresh).await.json["offset"], 3000);
    let mut kept = vec![
        "README.txt".to_owned(),
        format!("{fresh}.json"),
        format!("{fresh}.part"),
    ];
    kept.sort();
    assert_eq!(names_in(&farm.uploads_dir()), kept);
}

#[test]
fn ids_are_random_and_only_their_shape_parses() {
    let first = UploadId::generate().unwrap();
    let second = UploadId::generate().unwrap();
    assert_ne!(first, second);
    assert_eq!(first.0.len(), 32);
    assert_eq!(UploadId::parse(&first.0), Some(first.clone()));
    for text in [
        "",
        "..",
        "../0123456789abcdef0123456789ab",
        "0123456789abcdef0123456789abcdeF",
    ] {
        assert_eq!(UploadId::parse(text), None, "{text}");
    }
}

#[test]
fn the_containers_the_farm_reads_are_told_by_their_first_bytes() {
    let transport = |first: usize, length: usize, packets: usize| {
        let mut bytes = vec![0u8; first + length * packets];
        for packet in 0..packets {
            bytes[first + packet * length] = 0x47;
        }
        bytes
    };
    let cases: [(&str, Vec<u8>, Option<&str>); 14] = [
        ("mp4", mp4_bytes(64), Some("MP4/QuickTime")),
        (
            "old mov",
            b"\x00\x00\x00\x08wide\x00\x00\x10\x00mdat".to_vec(),
            Some("MP4/QuickTime"),
        ),
        (
            "mkv",
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81".to_vec(),
            Some("Matroska/WebM"),
        ),
        ("avi", b"RIFF\x24\x00\x00\x00AVI LIST".to_vec(), Some("AVI")),
        ("wav", b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec(), None),
        ("flv", b"FLV\x01\x05\x00\x00\x00\x09".to_vec(), Some("FLV")),
        (
            "mpeg-ps",
            b"\x00\x00\x01\xba\x44\x00\x04".to_vec(),
            Some("MPEG-PS"),
        ),
        ("ts", transport(0, 188, 4), Some("MPEG-TS")),
        ("m2ts", transport(4, 192, 4), Some("MPEG-TS (M2TS)")),
        ("one ts packet", transport(0, 188, 1), None),
        ("a G every 100 bytes", transport(0, 100, 6), None),
        ("text", b"These are not the frames".to_vec(), None),
        (
            "png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec(),
            None,
        ),
        ("nothing", Vec::new(), None),
    ];
    for (what, head, expected) in cases {
        assert_eq!(container_of(&head), expected, "{what}");
    }
}
