//! The EPG endpoints, public like the streams (no token):
//!
//! | route | what |
//! |---|---|
//! | `GET /channels/{slug}/epg.xml` | XMLTV for one channel, 14 days from now |
//! | `GET /epg.xml` | XMLTV for every channel on air |
//! | `GET /channels/{slug}/epg.json` | the JSON feed for one channel, 8 days from now |
//!
//! Built with [`onair_scheduler::epg`] from the plan the control plane's registry made for
//! playout (the very timeline the origin serves), never planned again here: the EPG cannot say
//! something playout does not air. Channel ids are `<slug>.<domain>` ([`EpgState::domain`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onair_domain::Clock;
use onair_scheduler::epg::{
    EpgChannel, EpgOptions, JSON_FEED_DAYS, XMLTV_DAYS, days_ahead, json_feed, programmes, xmltv,
    xmltv_channel_id,
};

pub use onair_control::registry::{PlannedChannel, PlannedChannels};

/// The domain of XMLTV channel ids unless the server names another.
pub const DEFAULT_XMLTV_DOMAIN: &str = "onair.example";

#[derive(Clone)]
pub struct EpgState {
    pub channels: Arc<dyn PlannedChannels>,
    pub clock: Arc<dyn Clock>,
    /// XMLTV ids are `<slug>.<domain>`.
    pub domain: String,
}

pub fn router(state: EpgState) -> Router {
    Router::new()
        .route("/epg.xml", get(all_xmltv))
        .route("/channels/{slug}/epg.xml", get(channel_xmltv))
        .route("/channels/{slug}/epg.json", get(channel_json))
        .with_state(state)
}

fn epg_channel(state: &EpgState, channel: &PlannedChannel, days: i64) -> EpgChannel {
    let (from, to) = days_ahead(state.clock.now(), days);
    EpgChannel {
        id: xmltv_channel_id(&channel.slug, &state.domain),
        display_name: channel.name.clone(),
        icon_url: None,
        programmes: programmes(&channel.plan, from, to, &EpgOptions::default()),
    }
}

fn find(state: &EpgState, slug: &str) -> Option<PlannedChannel> {
    state
        .channels
        .planned()
        .into_iter()
        .find(|channel| channel.slug == slug && channel.on_air)
}

fn not_found(slug: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no channel {slug:?} on air\n"),
    )
        .into_response()
}

fn answer(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response()
}

fn xml(channels: &[EpgChannel]) -> Response {
    let (text, problems) = xmltv(channels);
    for problem in problems {
        tracing::warn!(%problem, "the XMLTV EPG has a problem");
    }
    answer("application/xml; charset=utf-8", text)
}

async fn all_xmltv(State(state): State<EpgState>) -> Response {
    let mut planned = state.channels.planned();
    planned.retain(|channel| channel.on_air);
    planned.sort_by(|a, b| a.slug.cmp(&b.slug));
    let channels: Vec<EpgChannel> = planned
        .iter()
        .map(|channel| epg_channel(&state, channel, XMLTV_DAYS))
        .collect();
    xml(&channels)
}

async fn channel_xmltv(State(state): State<EpgState>, Path(slug): Path<String>) -> Response {
    match find(&state, &slug) {
        Some(channel) => xml(&[epg_channel(&state, &channel, XMLTV_DAYS)]),
        None => not_found(&slug),
    }
}

async fn channel_json(State(state): State<EpgState>, Path(slug): Path<String>) -> Response {
    match find(&state, &slug) {
        Some(channel) => answer(
            "application/json",
            json_feed(&[epg_channel(&state, &channel, JSON_FEED_DAYS)]),
        ),
        None => not_found(&slug),
    }
}
