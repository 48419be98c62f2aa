//! Import, export and copy of a window of a channel's schedule (a day or a week, typically).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels/{slug}/schedule/export?from=&to=&format=json\|csv` | the items starting in `[from, to)` (default: now to now + 24 h); `ETag: "<version>"` |
//! | `POST /api/channels/{slug}/schedule/import?format=json\|csv&from=&to=&version=` | replaces `[from, to)` with the file's items |
//! | `POST /api/channels/{slug}/schedule/copy` | `{"version"?, "from_date", "days", "to_dates": [...]}` copies days to other dates |
//!
//! **JSON** is `{"channel", "version", "from", "to", "items": [...]}` with items as in the schedule API: an
//! export can be imported back as it is (its `from`/`to` are the window; `?from=&to=` override).
//!
//! **CSV** has the header `start,asset_id,hard_start,title,ad_breaks,length_ms`: `start` RFC
//! 3339, `hard_start` `true` or `false` (empty: `true`), `ad_breaks` `offset_ms/duration_ms`
//! pairs separated by `;` (empty: none), `length_ms` the item's length in milliseconds (empty:
//! the whole asset). `hard_start`, `ad_breaks` and `length_ms` may be left out of the header.
//! A CSV import needs `?from=&to=`.
//!
//! Both need the schedule version the file was made from (`If-Match`, or `version` in the JSON or
//! the query), and go through the same checks as `PUT …/schedule`: a file with any problem is
//! refused whole (422), every problem listed, by `line` for CSV (the header is line 1) and by
//! `index` for JSON; the lock horizon applies.
//!
//! **Copy** takes the items starting on `days` local days from `from_date` (in the channel's
//! zone) and puts them on each of `to_dates` at the same local wall-clock times, replacing what
//! those days held, all in one version. A time that does not exist on the target day (the
//! spring-forward hour) moves to the transition just after the gap; an ambiguous one (the
//! fall-back hour) takes its first occurrence: the scheduler's rules (`scheduler::rules`).
//!
//! The files, checks and publication are the control plane's ([`onair_control::transfer`]);
//! `onair schedule` calls the same functions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use onair_control::schedule::ItemDraft;
use onair_control::transfer::{CopyRequest, Format, ImportFile, Unversioned};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::schedule::{
    Published, ScheduleApiState, WindowQuery, author, named_version, query_window, with_etag,
};

/// The window (RFC 3339; an export defaults to the 24 hours from now, a CSV import needs it),
/// the file format, and the schedule version an import was made from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TransferQuery {
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    #[param(inline)]
    format: Format,
    version: Option<i64>,
}

// The schema of the control plane's JSON export (`onair_control::transfer`).

/// A window of the schedule as a JSON file: what an import takes back.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ScheduleFile {
    channel: String,
    /// The schedule version the items were read at.
    version: i64,
    /// RFC 3339: the window's start.
    from: String,
    /// RFC 3339: the window's end.
    to: String,
    /// The items starting in the window, as in the schedule API.
    items: Vec<ItemDraft>,
}

#[utoipa::path(get, path = "/api/channels/{slug}/schedule/export", tag = "schedule",
    params(("slug" = String, Path, description = "The channel"), TransferQuery),
    responses(
        (status = 200, description = "The items starting in the window, as JSON (`{version, from, to, items}`) or CSV (`ETag`)",
            content((ScheduleFile = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A malformed window or format", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
pub(super) async fn export(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    query: Result<Query<TransferQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let control = state.control();
    let window = WindowQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    };
    let (from, to) = query_window(&window, &control)?;
    let exported = control
        .export_schedule(&slug, from, to, query.format)
        .await?;
    let mut response = with_etag(
        exported.version,
        (
            [(header::CONTENT_TYPE, exported.format.content_type())],
            exported.body,
        ),
    );
    if exported.format == Format::Csv
        && let Ok(value) =
            HeaderValue::from_str(&format!("attachment; filename=\"{slug}-schedule.csv\""))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[utoipa::path(post, path = "/api/channels/{slug}/schedule/import", tag = "schedule",
    params(("slug" = String, Path, description = "The channel"), TransferQuery,
        ("If-Match" = Option<String>, Header, description = "The schedule version the file was made from"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    request_body(description = "A JSON export (`{version?, from, to, items}`) or a CSV file (`start,asset_id,hard_start,title,ad_breaks,length_ms`)",
        content((ScheduleFile = "application/json"), (String = "text/csv"))),
    responses(
        (status = 200, description = "The version published", body = Published),
        (status = 400, description = "A malformed query or file", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "A stale version, or a change inside the lock horizon", body = ErrorBody),
        (status = 422, description = "Every problem, by CSV `line` or JSON `index`", body = ErrorBody),
        (status = 428, description = "No version named", body = ErrorBody),
    ))]
pub(super) async fn import(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    query: Result<Query<TransferQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let file = ImportFile {
        format: query.format,
        body: &body,
        from: query.from.as_deref(),
        to: query.to.as_deref(),
    };
    let version = named_version(&headers, query.version)?;
    let published = state
        .control()
        .import_schedule(
            &slug,
            &file,
            version,
            Unversioned::Refuse,
            &author(&headers),
        )
        .await?;
    Ok(with_etag(published, Json(Published::new(published))))
}

#[utoipa::path(post, path = "/api/channels/{slug}/schedule/copy", tag = "schedule", request_body = CopyRequest,
    params(("slug" = String, Path, description = "The channel"),
        ("If-Match" = Option<String>, Header, description = "The schedule version the copy was decided on"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 200, description = "The version published", body = Published),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "A stale version, or a change inside the lock horizon", body = ErrorBody),
        (status = 422, description = "Every problem", body = ErrorBody),
        (status = 428, description = "No version named", body = ErrorBody),
    ))]
pub(super) async fn copy(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CopyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(mut request) = body?;
    request.version = named_version(&headers, request.version)?;
    let published = state
        .control()
        .copy_schedule(&slug, &request, Unversioned::Refuse, &author(&headers))
        .await?;
    Ok(with_etag(published, Json(Published::new(published))))
}
