//! The asset library: `/library` lists the assets (poster, title, duration, state with the
//! transcode job's progress or the failure's reason, ladder, when it came), searched by title,
//! filtered by state and paged, server-rendered and readable without JavaScript (htmx swaps the
//! results in place and keeps the address). Users with the scheduler role on a channel also
//! get the upload form (chunked and resumable, `static/library.js` against `/api/uploads`) and
//! the URL import (`POST /api/assets`), each new asset shown with its job's live progress.
//!
//! `/library/{id}` shows one asset: its renditions, what airs it (schedule items, slates,
//! filler), where each channel's grid names it with that channel's rights windows and
//! programme metadata for it (read-only: they are parts of the channel's grid), a form to
//! rename it, and deleting it (confirmed; refused while anything uses it, naming the uses).
//! Everything goes through the control plane ([`onair_control::assets`]).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onair_control::Refusal;
use onair_control::accounts::Role;
use onair_control::assets::{AssetDetail, AssetInGrid, AssetQuery, ListedAsset};
use onair_control::refusal::Problem;
use onair_domain::{AssetState, Job, JobState, Ticks, Timestamp};
use onair_store::AssetUse;
use serde::Deserialize;

use super::{Nav, PagesState, encode_query, render};
use crate::access::Actor;

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/library", get(list))
        .route("/library/{id}", get(detail))
        .route("/library/{id}/title", post(rename))
        .route("/library/{id}/delete", post(delete))
        .with_state(state)
}

/// Assets per page of the list.
const PAGE_SIZE: u32 = 50;
/// The chunk size the upload form announces (`data-chunk-bytes`); `?chunk=` overrides it.
const CHUNK_BYTES: u64 = 8 << 20;
/// Schedule items the detail page names before it says how many more.
const USES_LISTED: usize = 20;

// ---------------------------------------------------------------------------------------------
// Views

/// An asset's state as the library shows it, from its state and its job.
struct StateView {
    /// `queued`, `running`, `processing` (no job found), `ready` or `failed`.
    word: &'static str,
    progress: Option<u8>,
    job_id: Option<i64>,
    error: Option<String>,
}

impl StateView {
    fn of(state: AssetState, job: Option<&Job>, error: Option<String>) -> StateView {
        let (word, progress) = match (state, job) {
            (AssetState::Ready, _) => ("ready", None),
            (AssetState::Failed, _) => ("failed", None),
            (AssetState::Processing, Some(job)) if job.state == JobState::Running => {
                ("running", Some(job.progress_percent))
            }
            (AssetState::Processing, Some(_)) => ("queued", None),
            (AssetState::Processing, None) => ("processing", None),
        };
        StateView {
            word,
            progress,
            job_id: job.map(|job| job.id.0),
            error: (state == AssetState::Failed)
                .then(|| error.unwrap_or_else(|| "no reason recorded".to_owned())),
        }
    }

    /// `running 42 %`, `failed: …`.
    fn text(&self) -> String {
        match (&self.progress, &self.error) {
            (Some(progress), _) => format!("{} {progress} %", self.word),
            (None, Some(error)) => format!("{}: {error}", self.word),
            (None, None) => self.word.to_owned(),
        }
    }

    fn badge(&self) -> &'static str {
        match self.word {
            "ready" => "ok",
            "failed" => "problem",
            _ => "warn",
        }
    }
}

/// One row of the list.
struct Row {
    id: i64,
    title: String,
    duration: String,
    state: StateView,
    ladder: String,
    created: String,
    poster: Option<String>,
}

/// The list's results: the rows and the way to the next page. Rendered inside the page and,
/// for htmx, alone.
struct Results {
    rows: Vec<Row>,
    /// The query of the next page (`title=…&state=…&after=…`), when there may be one.
    next: Option<String>,
    /// Whether this page follows another (an `after` was given).
    paged: bool,
    /// The query of the first page.
    first: String,
    /// Why nothing is listed (a bad state), said instead of the rows.
    problem: Option<String>,
    searched: bool,
}

/// A ladder the forms offer.
struct LadderOption {
    name: String,
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    nav: Nav,
    title: String,
    state: String,
    results: Results,
    /// Upload and import controls (the scheduler role on a channel).
    can_add: bool,
    ladders: Vec<LadderOption>,
    chunk_bytes: u64,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "library_results.html")]
struct ResultsFragment {
    results: Results,
}

struct RenditionRow {
    rung: String,
    packaging: &'static str,
    codecs: String,
    size: String,
    bandwidth: String,
    segments: usize,
}

/// What airs it, in words.
struct UseRow {
    channel: String,
    what: String,
}

#[derive(Template)]
#[template(path = "library_asset.html")]
struct AssetPage {
    nav: Nav,
    id: i64,
    title: String,
    source: String,
    duration: String,
    state: StateView,
    ladder: String,
    created: String,
    poster: Option<String>,
    renditions: Vec<RenditionRow>,
    uses: Vec<UseRow>,
    more_uses: usize,
    grids: Vec<AssetInGrid>,
    can_rename: bool,
    can_delete: bool,
    /// The title field as typed, after a refused rename.
    title_field: String,
    title_problem: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

impl AssetPage {
    fn has_rights(&self) -> bool {
        self.grids.iter().any(|grid| !grid.rights.is_empty())
    }

    fn has_metadata(&self) -> bool {
        self.grids.iter().any(|grid| !grid.metadata.is_empty())
    }

    fn or_open(&self, bound: &Option<String>) -> String {
        bound.clone().unwrap_or_else(|| "open".to_owned())
    }
}

fn duration_text(duration: Ticks) -> String {
    let millis = duration.as_millis();
    if millis <= 0 {
        return "—".to_owned();
    }
    let secs = (millis + 500) / 1000;
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

fn utc_text(at: Timestamp) -> String {
    at.to_datetime().format("%Y-%m-%d %H:%M UTC").to_string()
}

fn poster_url(path: Option<String>) -> Option<String> {
    path.map(|path| format!("/media/{path}"))
}

fn can_add(actor: &Actor) -> bool {
    actor.has_on_any(Role::Scheduler)
}

/// Deleting asks as much as `DELETE /api/assets/{id}`: the scheduler role on every channel.
fn can_delete(actor: &Actor) -> bool {
    actor.principal.has(None, Role::Scheduler)
}

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    title: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    chunk: String,
    #[serde(default)]
    done: Option<String>,
}

/// Whether htmx asks for the results alone (not when it restores a page from history).
fn wants_fragment(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request") && !headers.contains_key("hx-history-restore-request")
}

fn query_of(title: &str, state: &str, after: Option<i64>) -> String {
    let mut parts = Vec::new();
    if !title.is_empty() {
        parts.push(format!("title={}", encode_query(title)));
    }
    if !state.is_empty() {
        parts.push(format!("state={}", encode_query(state)));
    }
    if let Some(after) = after {
        parts.push(format!("after={after}"));
    }
    parts.join("&")
}

async fn results(state: &PagesState, query: &ListQuery) -> Result<Results, Refusal> {
    let title = query.title.trim();
    let asset_state = query.state.trim();
    let after = query.after.trim().parse::<i64>().ok();
    let first = query_of(title, asset_state, None);
    let searched = !title.is_empty() || !asset_state.is_empty();
    let control = state.control();
    let asked = AssetQuery {
        state: Some(asset_state.to_owned()),
        title: Some(title.to_owned()),
        limit: Some(PAGE_SIZE),
        after,
    };
    let listed = match control.asset_listing(&asked).await {
        Ok(listed) => listed,
        Err(Refusal::BadRequest(message)) => {
            return Ok(Results {
                rows: Vec::new(),
                next: None,
                paged: after.is_some(),
                first,
                problem: Some(message),
                searched,
            });
        }
        Err(refusal) => return Err(refusal),
    };
    let ladders: HashMap<i64, String> = control
        .ladders()
        .await?
        .into_iter()
        .map(|ladder| (ladder.id.0, ladder.name))
        .collect();
    let next = (listed.len() == PAGE_SIZE as usize)
        .then(|| listed.last().map(|last| last.asset.id.0))
        .flatten()
        .map(|last| query_of(title, asset_state, Some(last)));
    let rows = listed
        .into_iter()
        .map(|listed| row(listed, &ladders))
        .collect();
    Ok(Results {
        rows,
        next,
        paged: after.is_some(),
        first,
        problem: None,
        searched,
    })
}

fn row(listed: ListedAsset, ladders: &HashMap<i64, String>) -> Row {
    let ListedAsset {
        asset,
        created_at,
        poster,
        error,
        job,
    } = listed;
    Row {
        id: asset.id.0,
        duration: duration_text(asset.duration),
        state: StateView::of(asset.state, job.as_ref(), error),
        ladder: ladder_name(ladders, asset.ladder_id.0),
        created: created_at.map(utc_text).unwrap_or_default(),
        // A poster is published with the asset: none until it is ready.
        poster: poster_url(poster.filter(|_| asset.state == AssetState::Ready)),
        title: asset.title,
    }
}

fn ladder_name(ladders: &HashMap<i64, String>, id: i64) -> String {
    ladders
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("ladder {id}"))
}

async fn list(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let results = match results(&state, &query).await {
        Ok(results) => results,
        Err(refusal) => return super::refused(refusal),
    };
    if wants_fragment(&headers) {
        return render(StatusCode::OK, &ResultsFragment { results });
    }
    let can_add = can_add(&actor);
    let ladders = if can_add {
        match state.control().ladders().await {
            Ok(ladders) => ladders
                .into_iter()
                .map(|ladder| LadderOption { name: ladder.name })
                .collect(),
            Err(refusal) => return super::refused(refusal),
        }
    } else {
        Vec::new()
    };
    let chunk_bytes = query
        .chunk
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|bytes| (1..=CHUNK_BYTES * 8).contains(bytes))
        .unwrap_or(CHUNK_BYTES);
    render(
        StatusCode::OK,
        &LibraryPage {
            nav: Nav::of(&actor, "library"),
            title: query.title.trim().to_owned(),
            state: query.state.trim().to_owned(),
            results,
            can_add,
            ladders,
            chunk_bytes,
            notice: query.done,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// One asset

#[derive(Debug, Default, Deserialize)]
struct Notice {
    done: Option<String>,
}

/// What a refused form brings back to the asset's page.
#[derive(Default)]
struct Shown {
    title_field: Option<String>,
    title_problem: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

fn uses_of(uses: &[AssetUse]) -> (Vec<UseRow>, usize) {
    let mut rows = Vec::new();
    let mut more = 0;
    let mut items = 0;
    for asset_use in uses {
        match asset_use {
            AssetUse::ScheduleItem {
                item,
                channel,
                start,
                title,
            } => {
                items += 1;
                if items > USES_LISTED {
                    more += 1;
                    continue;
                }
                rows.push(UseRow {
                    channel: channel.to_string(),
                    what: format!(
                        "schedule item {} “{title}” at {}",
                        item.0,
                        start.to_rfc3339_millis()
                    ),
                });
            }
            AssetUse::Slate { channel } => rows.push(UseRow {
                channel: channel.to_string(),
                what: "the channel's slate".to_owned(),
            }),
            AssetUse::Filler { channel } => rows.push(UseRow {
                channel: channel.to_string(),
                what: "the channel's filler".to_owned(),
            }),
        }
    }
    (rows, more)
}

async fn show(
    state: &PagesState,
    actor: &Actor,
    id: i64,
    status: StatusCode,
    shown: Shown,
) -> Response {
    let control = state.control();
    let detail = match control.asset(id).await {
        Ok(detail) => detail,
        Err(refusal) => return super::refused(refusal),
    };
    let grids = match control.asset_in_grids(id).await {
        Ok(grids) => grids,
        Err(refusal) => return super::refused(refusal),
    };
    let notes = control
        .store
        .asset_notes(&[detail.asset.id])
        .await
        .ok()
        .and_then(|mut notes| notes.remove(&detail.asset.id));
    let ladders: HashMap<i64, String> = match control.ladders().await {
        Ok(ladders) => ladders
            .into_iter()
            .map(|ladder| (ladder.id.0, ladder.name))
            .collect(),
        Err(refusal) => return super::refused(refusal),
    };
    let AssetDetail {
        asset,
        error,
        poster,
        uses,
        job,
    } = detail;
    let (uses, more_uses) = uses_of(&uses);
    let renditions = asset
        .renditions
        .iter()
        .map(|rendition| RenditionRow {
            rung: rendition.rung.clone(),
            packaging: rendition.packaging.as_str(),
            codecs: rendition.codecs.clone(),
            size: format!("{}×{}", rendition.width, rendition.height),
            bandwidth: format!(
                "{} kbit/s average, {} kbit/s peak",
                rendition.average_bandwidth / 1000,
                rendition.peak_bandwidth / 1000
            ),
            segments: rendition.segments.len(),
        })
        .collect();
    render(
        status,
        &AssetPage {
            nav: Nav::of(actor, "library"),
            id: asset.id.0,
            title_field: shown.title_field.unwrap_or_else(|| asset.title.clone()),
            source: asset.source.clone(),
            duration: duration_text(asset.duration),
            state: StateView::of(asset.state, job.as_ref(), error),
            ladder: ladder_name(&ladders, asset.ladder_id.0),
            created: notes
                .map(|notes| utc_text(notes.created_at))
                .unwrap_or_default(),
            poster: poster_url(poster.filter(|_| asset.state == AssetState::Ready)),
            renditions,
            uses,
            more_uses,
            grids,
            can_rename: can_add(actor),
            can_delete: can_delete(actor),
            title_problem: shown.title_problem,
            notice: shown.notice,
            error: shown.error,
            title: asset.title,
        },
    )
}

/// An asset id from the path; anything else is a page that does not exist.
fn asset_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok().filter(|id| *id > 0)
}

fn no_such_asset(id: &str) -> Response {
    super::refused(Refusal::NotFound(format!("asset {id:?} not found")))
}

async fn detail(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let Some(id) = asset_id(&id) else {
        return no_such_asset(&id);
    };
    let shown = Shown {
        notice: notice.done,
        ..Shown::default()
    };
    show(&state, &actor, id, StatusCode::OK, shown).await
}

fn see_other(path: &str) -> Response {
    let mut response = Redirect::to(path).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

#[derive(Debug, Deserialize)]
struct TitleForm {
    #[serde(default)]
    title: String,
}

async fn rename(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Form(form): Form<TitleForm>,
) -> Response {
    let Some(id) = asset_id(&id) else {
        return no_such_asset(&id);
    };
    match state.control().rename_asset(id, &form.title).await {
        Ok(asset) => see_other(&format!(
            "/library/{id}?done={}",
            encode_query(&format!("renamed “{}”", asset.title))
        )),
        Err(Refusal::Invalid(problems)) => {
            let shown = Shown {
                title_field: Some(form.title),
                title_problem: Some(messages(&problems)),
                error: Some("the title was not changed: see the field".to_owned()),
                ..Shown::default()
            };
            show(&state, &actor, id, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
        Err(refusal) => super::refused(refusal),
    }
}

fn messages(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| problem.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm: Option<String>,
}

async fn delete(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    let Some(id) = asset_id(&id) else {
        return no_such_asset(&id);
    };
    if form.confirm.is_none() {
        let shown = Shown {
            error: Some(
                "nothing was deleted: tick the box to confirm that the asset and its files go"
                    .to_owned(),
            ),
            ..Shown::default()
        };
        return show(&state, &actor, id, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    match state.control().delete_asset(id, &state.media_root).await {
        Ok(deleted) => {
            let mut notice = format!("deleted asset {} “{}”", deleted.id.0, deleted.title);
            if !deleted.files_left.is_empty() {
                notice.push_str(&format!(
                    "; {} of its files could not be removed (see the server's log)",
                    deleted.files_left.len()
                ));
            }
            see_other(&format!("/library?done={}", encode_query(&notice)))
        }
        Err(refusal @ (Refusal::Conflict(_) | Refusal::BadRequest(_))) => {
            let status = crate::api::error::status_of(&refusal);
            let shown = Shown {
                error: Some(refusal.to_string()),
                ..Shown::default()
            };
            show(&state, &actor, id, status, shown).await
        }
        Err(refusal) => super::refused(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_domain::{JobId, JobKind};

    fn job(state: JobState, progress: u8) -> Job {
        Job {
            id: JobId(7),
            kind: JobKind::Transcode,
            state,
            payload: "{}".to_owned(),
            progress_percent: progress,
            attempts: 1,
            error: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn a_state_says_the_jobs_progress_or_the_failures_reason() {
        let running = job(JobState::Running, 42);
        let shown = StateView::of(AssetState::Processing, Some(&running), None);
        assert_eq!(
            (shown.text(), shown.job_id),
            ("running 42 %".to_owned(), Some(7))
        );
        let queued = job(JobState::Queued, 0);
        assert_eq!(
            StateView::of(AssetState::Processing, Some(&queued), None).text(),
            "queued"
        );
        assert_eq!(
            StateView::of(AssetState::Failed, None, Some("no video stream".into())).text(),
            "failed: no video stream"
        );
        assert_eq!(StateView::of(AssetState::Ready, None, None).text(), "ready");
    }

    #[test]
    fn durations_read_as_clock_times() {
        assert_eq!(duration_text(Ticks::from_secs(4)), "0:04");
        assert_eq!(duration_text(Ticks::from_secs(3_725)), "1:02:05");
        assert_eq!(duration_text(Ticks(0)), "—");
    }

    #[test]
    fn the_next_pages_query_keeps_the_search() {
        assert_eq!(
            query_of("news & weather", "ready", Some(50)),
            "title=news+%26+weather&state=ready&after=50"
        );
        assert_eq!(query_of("", "", None), "");
    }

    fn page(can_add: bool) -> LibraryPage {
        LibraryPage {
            nav: Nav::default(),
            title: "<b>".to_owned(),
            state: String::new(),
            results: Results {
                rows: vec![Row {
                    id: 3,
                    title: "<script>alert(1)</script>".to_owned(),
                    duration: "0:04".to_owned(),
                    state: StateView::of(AssetState::Ready, None, None),
                    ladder: "demo".to_owned(),
                    created: String::new(),
                    poster: None,
                }],
                next: Some(query_of("", "", Some(3))),
                paged: false,
                first: String::new(),
                problem: None,
                searched: false,
            },
            can_add,
            ladders: vec![LadderOption {
                name: "demo".to_owned(),
            }],
            chunk_bytes: CHUNK_BYTES,
            notice: None,
        }
    }

    #[test]
    fn viewers_get_the_list_without_the_upload_and_import_forms() {
        let viewer = page(false).render().unwrap();
        assert!(!viewer.contains("upload-form"), "{viewer}");
        assert!(!viewer.contains("import-form"), "{viewer}");
        assert!(viewer.contains(r#"href="/library/3""#));
        assert!(viewer.contains(r#"href="/library?after=3""#), "{viewer}");
        let scheduler = page(true).render().unwrap();
        assert!(scheduler.contains(r#"data-chunk-bytes="8388608""#));
        assert!(scheduler.contains(r#"<option value="demo">"#));
    }

    #[test]
    fn titles_and_searches_are_escaped() {
        let html = page(false).render().unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains(r#"value="<b>""#), "{html}");
    }
}
