//! Channels, assets and ladders as a user manages them, through the control plane
//! ([`onair_control::channels`], [`onair_control::assets`], [`onair_control::ladders`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels` | every channel (retired ones too) with its settings and schedule version (routed with the schedule API) |
//! | `POST /api/channels` | `{"slug", "name", "time_zone"?, "ladder"?, "outputs"?, "window_segments"?, "slate"?, "filler"?, "on_air"?}` creates a channel: 201 |
//! | `GET /api/channels/{slug}` | one channel |
//! | `PATCH /api/channels/{slug}` | the same fields but `slug`, each optional (`"slate": null` goes back to the generated slate) |
//! | `DELETE /api/channels/{slug}` | retires it (`{"retired": true}`), or deletes it when nothing was ever scheduled on it (`{"deleted": true}`) |
//! | `GET /api/assets?state=&title=&limit=&after=` | the asset library, by id, a page at a time (`next_after` names the next page) |
//! | `DELETE /api/assets/{id}` | deletes an asset nothing airs, with its files |
//! | `GET /api/ladders`, `GET /api/ladders/{name}` | the ladders (the built-in `fast` and `demo` among them) |
//! | `POST /api/ladders` | a custom ladder (the JSON of `GET /api/ladders/{name}`; its `stored` is ignored), checked as the built-in ones are: 201 |
//!
//! Refusals name the field: a taken slug (409, `slug: …`), an unknown time zone, ladder,
//! output or asset (422, `errors[].field`), an asset still in use (409, naming the items), a
//! ladder change on a channel on air (409). `GET /api/assets/{id}` and creating assets are the
//! transcode farm's routes.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use onair_control::Control;
use onair_control::assets::AssetQuery;
use onair_control::channels::{ChannelEdit, ChannelInfo, ChannelSpec, Retirement};
use onair_domain::{Clock, Ladder, LadderId, LoudnessTarget, Rung, Ticks};
use onair_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, path_value};

/// What the management routes need.
#[derive(Clone)]
pub struct ManageApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Where assets' files are, to remove a deleted one's.
    pub media_root: PathBuf,
}

impl ManageApiState {
    fn control(&self) -> Control {
        Control::new(self.store.clone(), Arc::clone(&self.clock))
    }
}

/// The management routes, ready to merge into the server's router.
pub fn router(state: ManageApiState) -> Router {
    Router::new()
        .route("/api/channels", post(create_channel))
        .route(
            "/api/channels/{slug}",
            get(get_channel).patch(edit_channel).delete(retire_channel),
        )
        .route("/api/assets", get(list_assets))
        .route("/api/assets/{id}", delete(delete_asset))
        .route("/api/ladders", get(list_ladders).post(create_ladder))
        .route("/api/ladders/{name}", get(get_ladder))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Wire types

/// A channel as answered.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ChannelOut {
    slug: String,
    name: String,
    time_zone: String,
    ladder: String,
    /// `hls-ts`, `hls-fmp4`, `dash`.
    outputs: Vec<String>,
    window_segments: u32,
    slate: Option<i64>,
    filler: Vec<i64>,
    on_air: bool,
    retired: bool,
    schedule_version: i64,
    /// Where players find it (when it is on air).
    master_url: String,
}

impl ChannelOut {
    pub(super) fn of(info: ChannelInfo) -> ChannelOut {
        let channel = info.channel;
        ChannelOut {
            master_url: format!("/channels/{}/master.m3u8", channel.slug),
            slug: channel.slug.to_string(),
            name: channel.name,
            time_zone: channel.time_zone.name().to_owned(),
            ladder: info.ladder,
            outputs: channel
                .outputs
                .iter()
                .map(|output| output.as_str().to_owned())
                .collect(),
            window_segments: channel.window_segments,
            slate: channel.slate.map(|id| id.0),
            filler: channel.filler.iter().map(|id| id.0).collect(),
            on_air: channel.on_air,
            retired: channel.retired,
            schedule_version: info.schedule_version,
        }
    }
}

/// A channel to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelIn {
    slug: String,
    name: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    ladder: Option<String>,
    #[serde(default)]
    outputs: Option<Vec<String>>,
    #[serde(default)]
    window_segments: Option<u32>,
    #[serde(default)]
    slate: Option<i64>,
    #[serde(default)]
    filler: Vec<i64>,
    #[serde(default)]
    on_air: Option<bool>,
}

/// The fields of a channel to change (`"slate": null`: back to the generated slate).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    ladder: Option<String>,
    #[serde(default)]
    outputs: Option<Vec<String>>,
    #[serde(default)]
    window_segments: Option<u32>,
    #[serde(default, deserialize_with = "onair_control::grid::document::present")]
    slate: Option<Option<i64>>,
    #[serde(default)]
    filler: Option<Vec<i64>>,
    #[serde(default)]
    on_air: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AssetsQuery {
    /// `processing`, `ready` or `failed`.
    state: Option<String>,
    title: Option<String>,
    limit: Option<u32>,
    /// The id after which the page starts (`next_after` of the page before).
    after: Option<i64>,
}

/// A custom ladder as sent: a ladder without its id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LadderIn {
    name: String,
    frame_rate_num: u32,
    frame_rate_den: u32,
    /// The segment (and GOP) duration in milliseconds.
    segment_duration_ms: i64,
    #[serde(default = "audio_sample_rate")]
    audio_sample_rate: u32,
    #[serde(default = "audio_channels")]
    audio_channels: u32,
    /// `ebu-r128` (default) or `atsc-a85`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    loudness: LoudnessTarget,
    /// Each rendition, as `GET /api/ladders/{name}` shows them.
    #[schema(value_type = Vec<RungSchema>)]
    rungs: Vec<Rung>,
    /// What `GET /api/ladders/{name}` answers beside the ladder, ignored: a ladder read can be
    /// sent back under another name.
    #[serde(default, rename = "stored")]
    _stored: Option<bool>,
}

fn audio_sample_rate() -> u32 {
    onair_domain::ladder::AUDIO_SAMPLE_RATE
}

fn audio_channels() -> u32 {
    onair_domain::ladder::AUDIO_CHANNELS
}

/// A ladder as answered: whether it is `stored` (a built-in one is stored on first use).
#[derive(Debug, Serialize, ToSchema)]
struct LadderOut {
    name: String,
    frame_rate_num: u32,
    frame_rate_den: u32,
    segment_duration_ms: i64,
    audio_sample_rate: u32,
    audio_channels: u32,
    /// `ebu-r128` or `atsc-a85`.
    #[schema(value_type = String)]
    loudness: LoudnessTarget,
    #[schema(value_type = Vec<RungSchema>)]
    rungs: Vec<Rung>,
    stored: bool,
}

// The schema of `onair_domain::ladder::Rung`'s JSON (the domain crate has no schemas); a test
// holds the two to the same fields.

/// One rendition of a ladder: H.264 video plus AAC-LC audio.
#[derive(ToSchema)]
#[schema(as = Rung)]
#[allow(dead_code)]
struct RungSchema {
    /// Short and URL-safe, e.g. `360p`.
    name: String,
    width: u32,
    height: u32,
    video_bitrate: u32,
    /// The `avc1.PPCCLL` profile byte: 0x42 baseline, 0x4d main, 0x64 high.
    h264_profile_idc: u8,
    /// The H.264 level times ten, e.g. 30 for level 3.0.
    h264_level_idc: u8,
    audio_bitrate: u32,
}

fn ladder_out(ladder: &Ladder) -> LadderOut {
    LadderOut {
        name: ladder.name.clone(),
        frame_rate_num: ladder.frame_rate_num,
        frame_rate_den: ladder.frame_rate_den,
        segment_duration_ms: ladder.segment_duration.as_millis(),
        audio_sample_rate: ladder.audio_sample_rate,
        audio_channels: ladder.audio_channels,
        loudness: ladder.loudness,
        rungs: ladder.rungs.clone(),
        stored: ladder.id.0 != 0,
    }
}

#[derive(Debug, Serialize, ToSchema)]
struct LaddersOut {
    ladders: Vec<LadderOut>,
}

/// What a `DELETE /api/channels/{slug}` did: retired it, or deleted one never scheduled.
#[derive(Debug, Serialize, ToSchema)]
struct RetiredOut {
    slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired: Option<bool>,
}

/// An asset of the library's page.
#[derive(Debug, Serialize, ToSchema)]
struct AssetSummary {
    id: i64,
    title: String,
    /// `processing`, `ready` or `failed`.
    state: String,
    duration_ms: i64,
    ladder_id: i64,
    url: String,
}

/// A page of the library: `next_after` names the next page, none after the last.
#[derive(Debug, Serialize, ToSchema)]
struct AssetsPage {
    assets: Vec<AssetSummary>,
    next_after: Option<i64>,
}

/// A deleted asset, and its files.
#[derive(Debug, Serialize, ToSchema)]
struct DeletedAssetOut {
    id: i64,
    title: String,
    deleted: bool,
    files_removed: usize,
    /// Files it could not remove (named).
    files_left: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Channels

#[utoipa::path(post, path = "/api/channels", tag = "channels", request_body = ChannelIn,
    responses(
        (status = 201, description = "The channel, created", body = ChannelOut),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn create_channel(
    State(state): State<ManageApiState>,
    body: Result<Json<ChannelIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let spec = ChannelSpec {
        slug: body.slug,
        name: body.name,
        time_zone: body.time_zone,
        ladder: body.ladder,
        outputs: body.outputs,
        window_segments: body.window_segments,
        slate: body.slate,
        filler: body.filler,
        on_air: body.on_air,
    };
    let created = state.control().create_channel(&spec).await?;
    Ok((StatusCode::CREATED, Json(ChannelOut::of(created))).into_response())
}

#[utoipa::path(get, path = "/api/channels/{slug}", tag = "channels",
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "The channel", body = ChannelOut),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn get_channel(
    State(state): State<ManageApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let info = state.control().channel(&slug).await?;
    Ok(Json(ChannelOut::of(info)).into_response())
}

#[utoipa::path(patch, path = "/api/channels/{slug}", tag = "channels", request_body = ChannelPatch,
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "The channel, edited", body = ChannelOut),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "A ladder change on a channel on air", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn edit_channel(
    State(state): State<ManageApiState>,
    Path(slug): Path<String>,
    body: Result<Json<ChannelPatch>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let edit = ChannelEdit {
        name: body.name,
        time_zone: body.time_zone,
        ladder: body.ladder,
        outputs: body.outputs,
        window_segments: body.window_segments,
        slate: body.slate,
        filler: body.filler,
        on_air: body.on_air,
    };
    let edited = state.control().edit_channel(&slug, &edit).await?;
    Ok(Json(ChannelOut::of(edited)).into_response())
}

#[utoipa::path(delete, path = "/api/channels/{slug}", tag = "channels",
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "Retired, or deleted when nothing was ever scheduled on it", body = RetiredOut),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "Something still needs it", body = ErrorBody),
    ))]
async fn retire_channel(
    State(state): State<ManageApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let body = match state.control().retire_channel(&slug).await? {
        Retirement::Deleted => RetiredOut {
            slug,
            deleted: Some(true),
            retired: None,
        },
        Retirement::Retired => RetiredOut {
            slug,
            deleted: None,
            retired: Some(true),
        },
    };
    Ok(Json(body).into_response())
}

// ---------------------------------------------------------------------------------------------
// Assets

#[utoipa::path(get, path = "/api/assets", tag = "assets", params(AssetsQuery),
    responses(
        (status = 200, description = "A page of the asset library, by id", body = AssetsPage),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn list_assets(
    State(state): State<ManageApiState>,
    query: Result<Query<AssetsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let asked = AssetQuery {
        state: query.state,
        title: query.title,
        limit: query.limit,
        after: query.after,
    };
    let limit = asked.limit.unwrap_or(onair_control::assets::MAX_PAGE) as usize;
    let assets = state.control().assets(&asked).await?;
    let next_after = (assets.len() == limit)
        .then(|| assets.last().map(|asset| asset.id.0))
        .flatten();
    let assets: Vec<AssetSummary> = assets
        .iter()
        .map(|asset| AssetSummary {
            id: asset.id.0,
            title: asset.title.clone(),
            state: asset.state.as_str().to_owned(),
            duration_ms: asset.duration.as_millis(),
            ladder_id: asset.ladder_id.0,
            url: format!("/api/assets/{}", asset.id.0),
        })
        .collect();
    Ok(Json(AssetsPage { assets, next_after }).into_response())
}

#[utoipa::path(delete, path = "/api/assets/{id}", tag = "assets",
    params(("id" = i64, Path, description = "The asset")),
    responses(
        (status = 200, description = "Deleted, with its files", body = DeletedAssetOut),
        (status = 400, description = "The id is not a whole number", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
        (status = 409, description = "Something still airs it (the items are named)", body = ErrorBody),
    ))]
async fn delete_asset(
    State(state): State<ManageApiState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_value(id, "id", "the asset id is a whole number")?;
    let deleted = state.control().delete_asset(id, &state.media_root).await?;
    Ok(Json(DeletedAssetOut {
        id: deleted.id.0,
        title: deleted.title,
        deleted: true,
        files_removed: deleted.files_removed,
        files_left: deleted.files_left,
    })
    .into_response())
}

// ---------------------------------------------------------------------------------------------
// Ladders

#[utoipa::path(get, path = "/api/ladders", tag = "ladders",
    responses((status = 200, description = "Every ladder, the built-in ones among them", body = LaddersOut)))]
async fn list_ladders(State(state): State<ManageApiState>) -> Result<Response, ApiError> {
    let ladders: Vec<LadderOut> = state
        .control()
        .ladders()
        .await?
        .iter()
        .map(ladder_out)
        .collect();
    Ok(Json(LaddersOut { ladders }).into_response())
}

#[utoipa::path(get, path = "/api/ladders/{name}", tag = "ladders",
    params(("name" = String, Path, description = "The ladder")),
    responses(
        (status = 200, description = "The ladder", body = LadderOut),
        (status = 404, description = "No such ladder", body = ErrorBody),
    ))]
async fn get_ladder(
    State(state): State<ManageApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let ladder = state.control().resolve_ladder(&name).await?;
    Ok(Json(ladder_out(&ladder)).into_response())
}

#[utoipa::path(post, path = "/api/ladders", tag = "ladders", request_body = LadderIn,
    responses(
        (status = 201, description = "The ladder, created", body = LadderOut),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn create_ladder(
    State(state): State<ManageApiState>,
    body: Result<Json<LadderIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let ladder = Ladder {
        id: LadderId(0),
        name: body.name,
        frame_rate_num: body.frame_rate_num,
        frame_rate_den: body.frame_rate_den,
        segment_duration: Ticks::from_millis(body.segment_duration_ms),
        audio_sample_rate: body.audio_sample_rate,
        audio_channels: body.audio_channels,
        loudness: body.loudness,
        rungs: body.rungs,
    };
    let created = state.control().create_ladder(&ladder).await?;
    Ok((StatusCode::CREATED, Json(ladder_out(&created))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::openapi::assert_fields_match;

    #[test]
    fn the_rung_schema_names_exactly_the_fields_a_rung_serialises() {
        let rung = Rung {
            name: "360p".to_owned(),
            width: 640,
            height: 360,
            video_bitrate: 800_000,
            h264_profile_idc: 0x4d,
            h264_level_idc: 30,
            audio_bitrate: 96_000,
        };
        assert_fields_match(&serde_json::to_value(&rung).unwrap(), "Rung");
    }
}
