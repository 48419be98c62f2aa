//! The channels page, the operator's home (`/`): a card per channel the user has a role on (every
//! channel for an admin) with now and next, its state (on air, slate, live, off air) and its
//! problems, and one small preview player that plays one channel at a time. Rendered on the
//! server, then kept current over server-sent events: `GET /events/channels` sends one `status`
//! event per channel whose status changed (`{"slug", "html"}`, the card's status fragment as
//! askama renders it, so escaped) and a heartbeat comment every 15 s. The status is the control
//! plane's ([`onair_control::status`]), computed once a second on one shared task for every
//! connection; a connection only compares what it sent with the latest snapshot. The streams end
//! when the server stops ([`StatusBoard::close`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use onair_control::accounts::Role;
use onair_control::status::{
    AirState, ChannelStatus, Slot, SlotKind, StatusBoard, StatusSnapshot, local_time,
};
use onair_domain::Timestamp;
use serde_json::json;

use super::{Nav, PagesState, render};
use crate::access::Actor;

/// How long a page waits for the board's first pass after the server starts.
const FIRST_PASS_PATIENCE: Duration = Duration::from_secs(3);

/// How often an idle event stream sends a comment, so proxies keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

pub fn router(state: PagesState) -> Router {
    status_router(state.status)
}

/// The page and its event stream: all they need is the status board.
pub fn status_router(board: StatusBoard) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events/channels", get(events))
        .with_state(board)
}

/// A slot as a card shows it.
pub struct SlotView {
    pub title: String,
    /// `programme`, `live`, `take`, `filler` or `slate`.
    pub kind: &'static str,
    /// The live source, for a live item or a take.
    pub source: String,
    /// Local times in the channel's zone (`HH:MM:SS`); `end` empty when nothing ends it.
    pub start: String,
    pub end: String,
    pub start_ms: i64,
    /// 0 when nothing ends it.
    pub end_ms: i64,
    /// Progress, 0 to 1000 (for `<progress max="1000">`), and as a percentage.
    pub permille: u32,
    pub percent: u32,
}

/// A channel's status as its card (and the desk) shows it.
pub struct Card {
    pub slug: String,
    pub name: String,
    pub zone: String,
    pub state_key: &'static str,
    pub state_label: &'static str,
    /// The live source airing, for a live item or a take.
    pub source: String,
    pub take: bool,
    pub now: Option<SlotView>,
    pub next: Option<SlotView>,
    pub problems: Vec<String>,
    /// The server's clock when the status was computed (Unix ms), for the progress bars.
    pub at_ms: i64,
}

impl Card {
    pub fn of(status: &ChannelStatus, at: Timestamp) -> Card {
        let (source, take) = match &status.state {
            AirState::Live { source, take } => (source.clone(), *take),
            _ => (String::new(), false),
        };
        Card {
            slug: status.slug.clone(),
            name: status.name.clone(),
            zone: status.zone.name().to_owned(),
            state_key: status.state.key(),
            state_label: status.state.label(),
            source,
            take,
            now: status.now.as_ref().map(|slot| slot_view(status, slot, at)),
            next: status.next.as_ref().map(|slot| slot_view(status, slot, at)),
            problems: status
                .problems
                .iter()
                .map(|problem| problem.describe(status.zone))
                .collect(),
            at_ms: at.unix_millis(),
        }
    }

    pub fn is_off_air(&self) -> bool {
        self.state_key == AirState::OffAir.key()
    }
}

fn slot_view(status: &ChannelStatus, slot: &Slot, at: Timestamp) -> SlotView {
    let (kind, source) = match &slot.kind {
        SlotKind::Programme => ("programme", String::new()),
        SlotKind::Live { source } => ("live", source.clone()),
        SlotKind::Take { source } => ("take", source.clone()),
        SlotKind::Filler => ("filler", String::new()),
        SlotKind::Slate => ("slate", String::new()),
    };
    let progress = slot.progress(at).unwrap_or(0.0);
    SlotView {
        title: slot.title.clone(),
        kind,
        source,
        start: local_time(status.zone, slot.start),
        end: slot
            .end
            .map(|end| local_time(status.zone, end))
            .unwrap_or_default(),
        start_ms: slot.start.unix_millis(),
        end_ms: slot.end.map_or(0, Timestamp::unix_millis),
        permille: (progress * 1000.0).round() as u32,
        percent: (progress * 100.0).round() as u32,
    }
}

/// The card status fragment: what the event stream sends and the pages include.
#[derive(Template)]
#[template(path = "channel_status.html")]
pub struct StatusFragment<'a> {
    pub card: &'a Card,
}

#[derive(Template)]
#[template(path = "channels.html")]
struct ChannelsPage {
    nav: Nav,
    cards: Vec<Card>,
    /// The channel the preview plays first: the first one on air (empty when none is).
    preview: String,
    /// The board has not computed anything yet (the server has just started).
    pending: bool,
}

/// Whether `actor` may see `status`'s channel: a viewer on it (an admin sees every channel).
pub fn may_see(actor: &Actor, status: &ChannelStatus) -> bool {
    actor.principal.has(Some(status.channel_id), Role::Viewer)
}

async fn page(State(board): State<StatusBoard>, Extension(actor): Extension<Actor>) -> Response {
    let snapshot = board.ready(FIRST_PASS_PATIENCE).await;
    let at = snapshot.at.unwrap_or(Timestamp(0));
    let cards: Vec<Card> = snapshot
        .channels
        .iter()
        .filter(|status| may_see(&actor, status))
        .map(|status| Card::of(status, at))
        .collect();
    let preview = cards
        .iter()
        .find(|card| !card.is_off_air())
        .map(|card| card.slug.clone())
        .unwrap_or_default();
    render(
        StatusCode::OK,
        &ChannelsPage {
            nav: Nav::of(&actor, "channels"),
            cards,
            preview,
            pending: snapshot.at.is_none(),
        },
    )
}

/// `status` events for the channels `actor` may see: every one first, then each whose status
/// changed, as the board's snapshots come.
async fn events(
    State(board): State<StatusBoard>,
    Extension(actor): Extension<Actor>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = board.subscribe();
    let closed = board.clone();
    let sent: HashMap<String, ChannelStatus> = HashMap::new();
    let updates = stream::unfold(
        (receiver, sent, true),
        move |(mut receiver, mut sent, first)| {
            let actor = actor.clone();
            async move {
                if !first || receiver.borrow().at.is_none() {
                    // Waits for the next snapshot; ends with the board (the server stopping).
                    receiver.changed().await.ok()?;
                }
                let snapshot = receiver.borrow_and_update().clone();
                let events = changed_events(&snapshot, &actor, &mut sent);
                Some((stream::iter(events), (receiver, sent, false)))
            }
        },
    )
    .flatten()
    // Ends when the server stops, so that its graceful shutdown does not wait for the stream.
    .take_until(async move { closed.closed().await });
    Sse::new(updates).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
}

/// An event for each channel `actor` may see whose status differs from what `sent` holds (which
/// is brought up to date).
fn changed_events(
    snapshot: &StatusSnapshot,
    actor: &Actor,
    sent: &mut HashMap<String, ChannelStatus>,
) -> Vec<Result<Event, Infallible>> {
    let at = snapshot.at.unwrap_or(Timestamp(0));
    let mut events = Vec::new();
    for status in snapshot
        .channels
        .iter()
        .filter(|status| may_see(actor, status))
    {
        if sent.get(&status.slug) == Some(status) {
            continue;
        }
        let card = Card::of(status, at);
        let html = match (StatusFragment { card: &card }).render() {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(%error, slug = %status.slug, "a channel's status could not be rendered");
                continue;
            }
        };
        let data = json!({ "slug": status.slug, "html": html });
        match Event::default().event("status").json_data(data) {
            Ok(event) => events.push(Ok(event)),
            Err(error) => {
                tracing::error!(%error, "a status event could not be written");
                continue;
            }
        }
        sent.insert(status.slug.clone(), status.clone());
    }
    events
}

#[cfg(test)]
mod tests;
