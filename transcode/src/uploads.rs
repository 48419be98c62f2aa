//! Resumable, chunked uploads into the farm: a client declares a file, sends it in chunks at
//! the offsets the server confirms, resumes after a dropped connection from the offset the
//! server reports, and completes it into a transcode job exactly as a one-shot upload
//! (`POST /api/assets/upload`) would be queued.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/uploads` | `{"name", "size", "title"?, "ladder"?}` → 201 `{id, offset, size}`, `Location: /api/uploads/{id}` |
//! | `PATCH /api/uploads/{id}` | header `Upload-Offset: N`, a chunk as the body → 200 `{offset}`, header `Upload-Offset` |
//! | `GET /api/uploads/{id}` | `{id, name, size, offset, title, ladder, complete}`: where to resume |
//! | `POST /api/uploads/{id}/complete` | every byte arrived and the file is media → 202 `{asset_id, job_id, job_url, asset_url}` |
//! | `DELETE /api/uploads/{id}` | → 204, the upload and its bytes are gone |
//!
//! Every error is `{"error": "…"}` as in [`crate::api`]; a 409 about the offset (a chunk at the
//! wrong one, completing too early, another request writing) also carries `"offset"`, the
//! offset to resume from, and the header `Upload-Offset`. A file that is not media is refused
//! at completion with 415, and its bytes and record are removed.
//!
//! An upload's state is two files in `{incoming_dir}/uploads/`, not a database row, so any
//! replica sharing the media folder can continue it and a restart loses nothing:
//!
//! - `{id}.part`: the bytes so far. While a request appends to it, completes it or deletes
//!   it, that request holds an exclusive lock on it (across processes), so two chunks never
//!   interleave.
//! - `{id}.json`: the declaration and the confirmed offset, replaced atomically (a temporary
//!   file renamed over it). A chunk counts once it is written, synced to disk and recorded
//!   here; bytes past the recorded offset (a chunk cut short, a crash) are dropped before the
//!   next chunk is written, so the offset `GET` reports is always one to resume from.
//!
//! Ids are 128 random bits as 32 lowercase hex digits, checked before any path is made from
//! them. Uploads nobody touched for a while are removed by [`purge_stale_uploads`].

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use onair_domain::{AssetId, JobId};
use onair_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::FarmSettings;
use crate::api::{ApiError, ApiState};
use crate::job::{Enqueued, NewTranscode, Source, enqueue, resolve_ladder};
use crate::source::{SourceError, human_size, too_large, unique_name};

/// The header that says where a chunk goes, and where an upload stands.
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");

/// How long a request waits for another one on the same upload to let go of it (a chunk whose
/// connection dropped ends as soon as the server notices) before answering 409.
const LOCK_PATIENCE: Duration = Duration::from_secs(1);

/// Enough of a file's start to tell its container.
const HEAD_BYTES: usize = 1024;

/// The `/api/uploads` routes, ready to merge into the server's router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/uploads", post(create_upload))
        .route(
            "/api/uploads/{id}",
            get(get_upload).patch(append_chunk).delete(delete_upload),
        )
        .route("/api/uploads/{id}/complete", post(complete_upload))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// What an upload route answers when it refuses: an [`ApiError`], or one of the refusals only
/// uploads have.
#[derive(Debug)]
enum UploadError {
    Api(ApiError),
    /// 409 with the offset to resume from.
    OffsetConflict {
        message: String,
        offset: u64,
    },
    /// 415: the bytes are not in a container the farm reads.
    NotMedia(String),
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        match self {
            UploadError::Api(error) => error.into_response(),
            UploadError::OffsetConflict { message, offset } => (
                StatusCode::CONFLICT,
                [(UPLOAD_OFFSET, HeaderValue::from(offset))],
                Json(json!({ "error": message, "offset": offset })),
            )
                .into_response(),
            UploadError::NotMedia(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(json!({ "error": message })),
            )
                .into_response(),
        }
    }
}

impl From<SourceError> for UploadError {
    fn from(error: SourceError) -> UploadError {
        UploadError::Api(error.into())
    }
}

fn bad_request(message: impl Into<String>) -> UploadError {
    UploadError::Api(ApiError::BadRequest(message.into()))
}

fn internal(what: &str, error: impl std::fmt::Display) -> UploadError {
    UploadError::Api(ApiError::Internal(format!("{what}: {error}")))
}

fn not_found(id: &UploadId) -> UploadError {
    UploadError::Api(ApiError::NotFound(format!(
        "upload {id} not found: it was completed, cancelled or removed as stale"
    )))
}

/// A store error from a ladder the request named: a missing ladder is the caller's mistake.
/// (The same mapping as the one-shot upload's.)
fn ladder_refusal(error: StoreError) -> UploadError {
    match error {
        StoreError::NotFound(what) => bad_request(format!("{what} not found")),
        other => UploadError::Api(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and files

/// An upload's id: 128 random bits as 32 lowercase hex digits, the only thing its file names
/// are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UploadId(String);

impl UploadId {
    /// A new id from the operating system's random source.
    fn generate() -> io::Result<UploadId> {
        use std::io::Read;
        let mut bytes = [0u8; 16];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(UploadId(
            bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
        ))
    }

    /// `text` if it is an id's shape, and so safe to make a file name of.
    fn parse(text: &str) -> Option<UploadId> {
        let shaped = text.len() == 32
            && text
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        shaped.then(|| UploadId(text.to_owned()))
    }
}

impl std::fmt::Display for UploadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn path_id(id: Result<UrlPath<String>, PathRejection>) -> Result<UploadId, UploadError> {
    id.ok()
        .and_then(|UrlPath(id)| UploadId::parse(&id))
        .ok_or_else(|| bad_request("upload ids are 32 lowercase hex digits"))
}

/// What `{id}.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    id: String,
    /// The file's name as the uploader gave it, for messages and the default title.
    name: String,
    /// The declared size in bytes.
    size: u64,
    /// Bytes written, synced and counted: where the next chunk goes.
    offset: u64,
    title: Option<String>,
    /// The ladder's name (the default when the upload named none).
    ladder: String,
}

/// The uploads folder, `{incoming_dir}/uploads`.
struct Folder {
    dir: PathBuf,
}

impl Folder {
    fn of(settings: &FarmSettings) -> Folder {
        Folder {
            dir: settings.incoming_dir.join("uploads"),
        }
    }

    fn part(&self, id: &UploadId) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn record_path(&self, id: &UploadId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    async fn read_record(&self, id: &UploadId) -> Result<Record, UploadError> {
        let path = self.record_path(id);
        let text = match tokio::fs::read(&path).await {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(not_found(id)),
            Err(error) => return Err(internal(&path.display().to_string(), error)),
        };
        serde_json::from_slice(&text).map_err(|error| internal(&path.display().to_string(), error))
    }

    /// Replaces `{id}.json` atomically: written and synced beside it, then renamed over it.
    async fn write_record(&self, id: &UploadId, record: &Record) -> io::Result<()> {
        let temporary = self
            .dir
            .join(format!("{id}.json.{}", unique_name("writing")));
        let json = serde_json::to_vec_pretty(record).expect("a record serialises");
        let written = async {
            let mut file = tokio::fs::File::create(&temporary).await?;
            file.write_all(&json).await?;
            file.sync_all().await?;
            tokio::fs::rename(&temporary, self.record_path(id)).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&temporary).await;
        }
        written
    }

    /// Removes the upload's record and bytes; what is already gone is no error.
    async fn remove(&self, id: &UploadId) -> io::Result<()> {
        for path in [self.record_path(id), self.part(id)] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// The part file, opened and locked exclusively, waiting [`LOCK_PATIENCE`] at most for
    /// another request to let go of it.
    async fn lock(&self, id: &UploadId) -> Result<tokio::fs::File, UploadError> {
        let path = self.part(id);
        let deadline = Instant::now() + LOCK_PATIENCE;
        loop {
            let attempt = {
                let path = path.clone();
                tokio::task::spawn_blocking(move || lock_file(&path))
                    .await
                    .unwrap_or_else(|error| Err(LockError::Io(io::Error::other(error))))
            };
            match attempt {
                Ok(file) => return Ok(tokio::fs::File::from_std(file)),
                Err(LockError::Busy) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(LockError::Busy) => {
                    let offset = self.read_record(id).await?.offset;
                    return Err(UploadError::OffsetConflict {
                        message: format!(
                            "another request is writing to upload {id}: wait for it to end, \
                             or ask GET /api/uploads/{id} for the offset and try again"
                        ),
                        offset,
                    });
                }
                Err(LockError::Missing) => return Err(not_found(id)),
                Err(LockError::Io(error)) => {
                    return Err(internal(&path.display().to_string(), error));
                }
            }
        }
    }
}

enum LockError {
    Missing,
    Busy,
    Io(io::Error),
}

/// Opens `path` for reading and writing and takes an exclusive lock on it without waiting.
/// A file system without locks gets a warning and no lock.
fn lock_file(path: &Path) -> Result<std::fs::File, LockError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => LockError::Missing,
            _ => LockError::Io(error),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy),
        Err(std::fs::TryLockError::Error(error)) if error.kind() == io::ErrorKind::Unsupported => {
            tracing::warn!(path = %path.display(), "no file locks here: chunks of one upload sent at once may interleave");
            Ok(file)
        }
        Err(std::fs::TryLockError::Error(error)) => Err(LockError::Io(error)),
    }
}

/// The offset a chunk may be appended at: the recorded one, unless the bytes on disk fall
/// short of it.
async fn confirmed_offset(record: &Record, part: &tokio::fs::File) -> Result<u64, UploadError> {
    let length = part
        .metadata()
        .await
        .map_err(|error| internal("reading an upload's size", error))?
        .len();
    Ok(record.offset.min(length))
}

// ---------------------------------------------------------------------------------------------
// Declaring an upload

/// `POST /api/uploads`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUpload {
    name: String,
    size: u64,
    title: Option<String>,
    ladder: Option<String>,
}

#[derive(Debug, Serialize)]
struct Created {
    id: String,
    offset: u64,
    size: u64,
}

async fn create_upload(
    State(state): State<ApiState>,
    body: Result<Json<CreateUpload>, JsonRejection>,
) -> Result<Response, UploadError> {
    let Json(request) = body.map_err(|rejection| bad_request(rejection.body_text()))?;
    let name = checked_name(&request.name)?;
    let limit = state.settings.max_upload_size;
    if request.size == 0 {
        return Err(bad_request(
            "\"size\" is 0: an empty file cannot be transcoded",
        ));
    }
    if request.size > limit {
        return Err(too_large("the upload", limit).into());
    }
    let ladder = request
        .ladder
        .unwrap_or_else(|| state.settings.default_ladder.clone());
    resolve_ladder(&state.store, &ladder)
        .await
        .map_err(ladder_refusal)?;

    let folder = Folder::of(&state.settings);
    tokio::fs::create_dir_all(&folder.dir)
        .await
        .map_err(|error| internal(&folder.dir.display().to_string(), error))?;
    let id = UploadId::generate().map_err(|error| internal("drawing an upload id", error))?;
    let record = Record {
        id: id.0.clone(),
        name,
        size: request.size,
        offset: 0,
        title: request.title.filter(|title| !title.trim().is_empty()),
        ladder,
    };
    let part = folder.part(&id);
    let stored = async {
        tokio::fs::File::create_new(&part).await?;
        folder.write_record(&id, &record).await
    }
    .await;
    if let Err(error) = stored {
        let _ = folder.remove(&id).await;
        return Err(internal(&part.display().to_string(), error));
    }
    tracing::info!(upload = %id, name = %record.name, size = record.size, "upload declared");
    let location =
        HeaderValue::try_from(format!("/api/uploads/{id}")).expect("an id is a header value");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Created {
            id: record.id,
            offset: 0,
            size: record.size,
        }),
    )
        .into_response())
}

/// The uploader's file name, refused when it is empty, too long, or more than a name.
fn checked_name(name: &str) -> Result<String, UploadError> {
    let trimmed = name.trim();
    let problem = if trimmed.is_empty() {
        Some("is empty")
    } else if trimmed.len() > 255 {
        Some("is longer than 255 bytes")
    } else if trimmed.contains(['/', '\\']) || trimmed == "." || trimmed == ".." {
        Some("is a path: give the file's name alone")
    } else if trimmed.chars().any(char::is_control) {
        Some("has control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(bad_request(format!("\"name\" {problem}"))),
        None => Ok(trimmed.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// Where an upload stands

#[derive(Debug, Serialize)]
struct UploadView {
    id: String,
    name: String,
    size: u64,
    offset: u64,
    title: Option<String>,
    ladder: String,
    /// Every byte arrived: what is left is `POST …/complete`.
    complete: bool,
}

/// `GET /api/uploads/{id}`: read without the lock, so it answers while a chunk is being
/// written (with the offset before that chunk).
async fn get_upload(
    State(state): State<ApiState>,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, UploadError> {
    let id = path_id(id)?;
    let folder = Folder::of(&state.settings);
    let record = folder.read_record(&id).await?;
    let on_disk = match tokio::fs::metadata(folder.part(&id)).await {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(not_found(&id)),
        Err(error) => return Err(internal("reading an upload's size", error)),
    };
    let offset = record.offset.min(on_disk);
    Ok((
        [
            (UPLOAD_OFFSET, HeaderValue::from(offset)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Json(UploadView {
            id: record.id,
            name: record.name,
            size: record.size,
            offset,
            title: record.title,
            ladder: record.ladder,
            complete: offset == record.size,
        }),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Appending a chunk

/// `PATCH /api/uploads/{id}`: the body is appended at `Upload-Offset`, which must be the
/// upload's offset. The chunk is streamed to disk; if it is cut short, none of it counts.
async fn append_chunk(
    State(state): State<ApiState>,
    id: Result<UrlPath<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, UploadError> {
    let id = path_id(id)?;
    let given = headers
        .get(&UPLOAD_OFFSET)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            bad_request(
                "say where this chunk goes with the header \"Upload-Offset: N\" (the offset \
                 GET /api/uploads/{id} reports)",
            )
        })?;
    let folder = Folder::of(&state.settings);
    let mut part = folder.lock(&id).await?;
    let mut record = folder.read_record(&id).await?;
    let offset = confirmed_offset(&record, &part).await?;
    if given != offset {
        return Err(UploadError::OffsetConflict {
            message: format!(
                "upload {id} is at offset {offset}, not {given}: send the chunk that starts there"
            ),
            offset,
        });
    }
    let room = record.size - offset;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > room) {
        return Err(past_the_end(&record, offset));
    }

    let appended = append(&mut part, offset, room, body).await;
    let appended = match appended {
        Ok(appended) => appended,
        Err(failure) => {
            // Nothing of a chunk that failed counts; the recorded offset already says so, and
            // the bytes go too, so the file stays what the record describes.
            let _ = part.set_len(offset).await;
            return Err(match failure {
                AppendFailure::PastTheEnd => past_the_end(&record, offset),
                AppendFailure::Interrupted(error) => bad_request(format!(
                    "the chunk was interrupted ({error}); upload {id} is still at offset \
                     {offset}: send it again from there"
                )),
                AppendFailure::Disk(error) => {
                    internal(&folder.part(&id).display().to_string(), error)
                }
            });
        }
    };
    record.offset = offset + appended;
    folder
        .write_record(&id, &record)
        .await
        .map_err(|error| internal(&folder.record_path(&id).display().to_string(), error))?;
    drop(part);
    Ok((
        [(UPLOAD_OFFSET, HeaderValue::from(record.offset))],
        Json(json!({ "offset": record.offset })),
    )
        .into_response())
}

fn past_the_end(record: &Record, offset: u64) -> UploadError {
    UploadError::Api(ApiError::TooLarge(format!(
        "the chunk would take upload {} past its declared size of {} bytes: {} bytes remain \
         after offset {offset}; nothing of this chunk was kept",
        record.id,
        record.size,
        record.size - offset
    )))
}

enum AppendFailure {
    PastTheEnd,
    Interrupted(axum::Error),
    Disk(io::Error),
}

/// Writes `body` into `part` from `offset`, at most `room` bytes, a chunk of the stream at a
/// time, and syncs it. Returns the bytes written.
async fn append(
    part: &mut tokio::fs::File,
    offset: u64,
    room: u64,
    body: Body,
) -> Result<u64, AppendFailure> {
    // Whatever lies past the offset was never counted: a chunk cut short, a crash.
    part.set_len(offset).await.map_err(AppendFailure::Disk)?;
    part.seek(SeekFrom::Start(offset))
        .await
        .map_err(AppendFailure::Disk)?;
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(AppendFailure::Interrupted)?;
        if written + chunk.len() as u64 > room {
            return Err(AppendFailure::PastTheEnd);
        }
        part.write_all(&chunk).await.map_err(AppendFailure::Disk)?;
        written += chunk.len() as u64;
    }
    part.flush().await.map_err(AppendFailure::Disk)?;
    part.sync_data().await.map_err(AppendFailure::Disk)?;
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// Completing and cancelling

#[derive(Debug, Serialize)]
struct Queued {
    asset_id: AssetId,
    job_id: JobId,
    /// Where to follow the job and the asset.
    job_url: String,
    asset_url: String,
}

/// `POST /api/uploads/{id}/complete`: every byte arrived, so the file becomes the source of a
/// transcode job, as a one-shot upload's would. A file that is not media is refused and removed.
async fn complete_upload(
    State(state): State<ApiState>,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, UploadError> {
    let id = path_id(id)?;
    let folder = Folder::of(&state.settings);
    let mut part = folder.lock(&id).await?;
    let record = folder.read_record(&id).await?;
    let offset = confirmed_offset(&record, &part).await?;
    if offset < record.size {
        let missing = record.size - offset;
        return Err(UploadError::OffsetConflict {
            message: format!(
                "upload {id} is missing {missing} bytes ({}): it has {offset} of {}; send the \
                 rest from offset {offset}",
                human_size(missing),
                record.size
            ),
            offset,
        });
    }
    let head = read_head(&mut part, record.size)
        .await
        .map_err(|error| internal(&folder.part(&id).display().to_string(), error))?;
    if container_of(&head).is_none() {
        folder
            .remove(&id)
            .await
            .map_err(|error| internal(&folder.dir.display().to_string(), error))?;
        tracing::info!(upload = %id, name = %record.name, "upload refused: not media");
        return Err(UploadError::NotMedia(format!(
            "not a media file this farm reads: {:?} is not MP4/QuickTime, Matroska/WebM, \
             MPEG-TS, AVI, FLV or MPEG-PS; it was removed",
            record.name
        )));
    }

    // Where the one-shot upload would have saved it, so the job and its worker treat both alike.
    let saved = state
        .settings
        .incoming_dir
        .join(format!("{}.upload", unique_name("upload")));
    let part_path = folder.part(&id);
    tokio::fs::rename(&part_path, &saved)
        .await
        .map_err(|error| internal(&part_path.display().to_string(), error))?;
    let enqueued = enqueue(
        &state.store,
        &state.settings,
        NewTranscode {
            title: record.title.clone(),
            source: Source::Upload {
                path: saved.clone(),
                name: Some(record.name.clone()),
            },
            ladder: Some(record.ladder.clone()),
        },
    )
    .await;
    let enqueued = match enqueued {
        Ok(enqueued) => enqueued,
        Err(error) => {
            // Put the bytes back, so that completing can be tried again.
            if tokio::fs::rename(&saved, &part_path).await.is_err() {
                let _ = tokio::fs::remove_file(&saved).await;
            }
            return Err(ladder_refusal(error));
        }
    };
    // The record goes before the lock is let go of, so a request that was waiting for it finds
    // no upload rather than the job's file.
    if let Err(error) = folder.remove(&id).await {
        tracing::warn!(upload = %id, %error, "cannot remove a completed upload's record");
    }
    drop(part);
    tracing::info!(
        upload = %id,
        asset = enqueued.asset_id.0,
        job = enqueued.job_id.0,
        "upload completed"
    );
    Ok(queued(enqueued))
}

fn queued(enqueued: Enqueued) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(Queued {
            asset_id: enqueued.asset_id,
            job_id: enqueued.job_id,
            job_url: format!("/api/jobs/{}", enqueued.job_id.0),
            asset_url: format!("/api/assets/{}", enqueued.asset_id.0),
        }),
    )
        .into_response()
}

/// The file's first bytes (at most [`HEAD_BYTES`]), after dropping whatever lies past `size`.
async fn read_head(part: &mut tokio::fs::File, size: u64) -> io::Result<Vec<u8>> {
    part.set_len(size).await?;
    part.seek(SeekFrom::Start(0)).await?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    part.take(HEAD_BYTES as u64).read_to_end(&mut head).await?;
    Ok(head)
}

/// `DELETE /api/uploads/{id}`.
async fn delete_upload(
    State(state): State<ApiState>,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<StatusCode, UploadError> {
    let id = path_id(id)?;
    let folder = Folder::of(&state.settings);
    let part = match folder.lock(&id).await {
        Ok(part) => Some(part),
        // A record whose bytes are gone (a crash while completing) is removed all the same.
        Err(UploadError::Api(ApiError::NotFound(_))) => None,
        Err(error) => return Err(error),
    };
    folder.read_record(&id).await?;
    folder
        .remove(&id)
        .await
        .map_err(|error| internal(&folder.dir.display().to_string(), error))?;
    drop(part);
    tracing::info!(upload = %id, "upload cancelled");
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// What counts as media

/// The container a file's first bytes announce, when it is one the farm's demuxers read; `None`
/// for anything else. The MP4 family also starts with QuickTime's older top-level atoms, and
/// MPEG-TS also comes as M2TS (192-byte packets, AVCHD cameras).
fn container_of(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    const ISO_BOXES: [&[u8; 4]; 7] = [
        b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot",
    ];
    if ISO_BOXES.iter().any(|kind| at(4, *kind)) {
        Some("MP4/QuickTime")
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("Matroska/WebM")
    } else if at(0, b"RIFF") && at(8, b"AVI ") {
        Some("AVI")
    } else if at(0, b"FLV") {
        Some("FLV")
    } else if at(0, &[0x00, 0x00, 0x01, 0xBA]) {
        Some("MPEG-PS")
    } else if transport_packets(head, 0, 188) {
        Some("MPEG-TS")
    } else if transport_packets(head, 4, 192) {
        Some("MPEG-TS (M2TS)")
    } else {
        None
    }
}

/// Whether `head` holds at least two transport packets of `length` bytes, with the sync byte
/// `0x47` at `first`, `first + length`, … as far as `head` (five packets at most) goes.
fn transport_packets(head: &[u8], first: usize, length: usize) -> bool {
    let syncs: Vec<u8> = (0..5)
        .map(|packet| first + packet * length)
        .map_while(|position| head.get(position).copied())
        .collect();
    syncs.len() >= 2 && syncs.iter().all(|&byte| byte == 0x47)
}

// ---------------------------------------------------------------------------------------------
// Stale uploads

/// Removes the uploads whose files nobody has written for `older_than` (a chunk, a declaration),
/// and what an interrupted request left in the uploads folder, skipping any upload a request
/// holds. Returns how many uploads were removed. Other files in the folder are left alone.
pub async fn purge_stale_uploads(
    settings: &FarmSettings,
    older_than: Duration,
) -> io::Result<usize> {
    let folder = Folder::of(settings);
    let mut entries = match tokio::fs::read_dir(&folder.dir).await {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    // Every upload's files (record, bytes, records being written) and when it was last touched.
    let mut uploads: std::collections::BTreeMap<String, (Vec<PathBuf>, SystemTime)> =
        std::collections::BTreeMap::new();
    while let Some(entry) = entries.next_entry().await? {
        let file_name = entry.file_name();
        let Some(id) = file_name
            .to_str()
            .and_then(|name| name.split_once('.'))
            .and_then(|(id, _)| UploadId::parse(id))
        else {
            continue;
        };
        let modified = match entry.metadata().await {
            Ok(metadata) if metadata.is_file() => metadata.modified()?,
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        let (paths, touched) = uploads
            .entry(id.0)
            .or_insert_with(|| (Vec::new(), SystemTime::UNIX_EPOCH));
        paths.push(entry.path());
        *touched = (*touched).max(modified);
    }

    let now = SystemTime::now();
    let mut removed = 0;
    for (id, (paths, touched)) in uploads {
        if now.duration_since(touched).unwrap_or_default() < older_than {
            continue;
        }
        let id = UploadId(id);
        let held = match tokio::task::spawn_blocking({
            let part = folder.part(&id);
            move || lock_file(&part)
        })
        .await
        {
            Ok(Ok(part)) => Some(part),
            Ok(Err(LockError::Missing)) => None,
            Ok(Err(LockError::Busy)) => continue,
            Ok(Err(LockError::Io(error))) => return Err(error),
            Err(error) => return Err(io::Error::other(error)),
        };
        for path in &paths {
            match tokio::fs::remove_file(path).await {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        drop(held);
        tracing::info!(upload = %id, "stale upload removed");
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Bytes;
    use axum::http::{Method, Request};
    use onair_store::Store;
    use serde_json::Value;
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
}
