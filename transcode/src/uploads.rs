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
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use utoipa::ToSchema;

use crate::FarmSettings;
use crate::api::{ApiError, ApiState, FarmError};
use crate::job::{NewTranscode, Source, enqueue, resolve_ladder};
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
                Json(FarmError {
                    error: message,
                    offset: Some(offset),
                }),
            )
                .into_response(),
            UploadError::NotMedia(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(FarmError {
                    error: message,
                    offset: None,
                }),
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

// ---------------------------------------------------------------------------------------------
// Ids and files

/// An upload's id: 128 random bits as 32 lowercase hex digits, the only thing its file names
/// are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UploadId(String);

impl UploadId {
    /// A new id from the operating system's random source.
    fn generate() -> io::Result<UploadId> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).map_err(|error| io::Error::other(error.to_string()))?;
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

/// `POST /api/uploads`: the file's name and size in bytes, the asset's title and ladder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateUpload {
    name: String,
    size: u64,
    title: Option<String>,
    ladder: Option<String>,
}

/// An upload declared.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UploadCreated)]
struct Created {
    id: String,
    offset: u64,
    size: u64,
}

/// Where an upload stands after a chunk.
#[derive(Debug, Serialize, ToSchema)]
struct Offset {
    offset: u64,
}

#[utoipa::path(post, path = "/api/uploads", tag = "uploads", request_body = CreateUpload,
    responses(
        (status = 201, description = "The upload, declared (`Location: /api/uploads/{id}`)", body = Created),
        (status = 400, description = "A bad name or size, an unknown ladder, or a body that is not the JSON described", body = FarmError),
        (status = 413, description = "Larger than the farm takes", body = FarmError),
    ))]
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
        .map_err(|error| UploadError::Api(crate::api::ladder_error(error)))?;

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

/// Where an upload stands.
#[derive(Debug, Serialize, ToSchema)]
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
#[utoipa::path(get, path = "/api/uploads/{id}", tag = "uploads", params(("id" = String, Path, description = "The upload: 32 lowercase hex digits")),
    responses(
        (status = 200, description = "Where the upload stands: the offset to resume from", body = UploadView),
        (status = 400, description = "A malformed id", body = FarmError),
        (status = 404, description = "No such upload", body = FarmError),
    ))]
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
#[utoipa::path(patch, path = "/api/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "The upload: 32 lowercase hex digits"), ("Upload-Offset" = u64, Header, description = "Where the chunk goes: the upload's offset")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The chunk"),
    responses(
        (status = 200, description = "The chunk counted: the new offset (also as `Upload-Offset`)", body = Offset),
        (status = 400, description = "A malformed id or Upload-Offset", body = FarmError),
        (status = 404, description = "No such upload", body = FarmError),
        (status = 409, description = "A chunk at the wrong offset, or another request writing: `offset` to resume from", body = FarmError),
        (status = 413, description = "The chunk would pass the declared size", body = FarmError),
    ))]
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
        Json(Offset {
            offset: record.offset,
        }),
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

/// `POST /api/uploads/{id}/complete`: every byte arrived, so the file becomes the source of a
/// transcode job, as a one-shot upload's would. A file that is not media is refused and removed.
#[utoipa::path(post, path = "/api/uploads/{id}/complete", tag = "uploads", params(("id" = String, Path, description = "The upload: 32 lowercase hex digits")),
    responses(
        (status = 202, description = "The asset, processing, and its transcode job", body = crate::api::Created),
        (status = 400, description = "A malformed id", body = FarmError),
        (status = 404, description = "No such upload", body = FarmError),
        (status = 409, description = "Bytes still missing, or another request writing: `offset` to resume from", body = FarmError),
        (status = 415, description = "Not media the farm reads: the upload is removed", body = FarmError),
    ))]
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
            return Err(UploadError::Api(crate::api::ladder_error(error)));
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
    Ok(crate::api::created(enqueued).into_response())
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
#[utoipa::path(delete, path = "/api/uploads/{id}", tag = "uploads", params(("id" = String, Path, description = "The upload: 32 lowercase hex digits")),
    responses(
        (status = 204, description = "The upload and its bytes are gone"),
        (status = 400, description = "A malformed id", body = FarmError),
        (status = 404, description = "No such upload", body = FarmError),
        (status = 409, description = "Another request writing", body = FarmError),
    ))]
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
mod tests;
