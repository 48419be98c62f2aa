use axum::body::Body;
use axum::http::Request;
use onair_control::accounts::Principal;
use onair_control::status::{StatusProblem, StatusSnapshot};
use onair_domain::ChannelId;
use tower::ServiceExt;

use super::*;
use crate::access::Credential;

fn actor(grants: Vec<(Option<ChannelId>, Role)>) -> Actor {
    Actor {
        principal: Principal {
            user_id: onair_store::UserId(1),
            username: "vera".to_owned(),
            grants,
            channel_slugs: Vec::new(),
        },
        credential: Credential::Session,
        csrf: Some("token".to_owned()),
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_796_385_600 + secs)
}

fn status(id: i64, slug: &str, name: &str, state: AirState) -> ChannelStatus {
    ChannelStatus {
        channel_id: ChannelId(id),
        slug: slug.to_owned(),
        name: name.to_owned(),
        zone: chrono_tz::Europe::Berlin,
        state,
        now: Some(Slot {
            title: "Morning <News>".to_owned(),
            kind: SlotKind::Programme,
            start: at(0),
            end: Some(at(600)),
        }),
        next: Some(Slot {
            title: "Weather".to_owned(),
            kind: SlotKind::Programme,
            start: at(600),
            end: Some(at(900)),
        }),
        problems: Vec::new(),
    }
}

fn snapshot(secs: i64, channels: Vec<ChannelStatus>) -> StatusSnapshot {
    StatusSnapshot {
        at: Some(at(secs)),
        channels,
    }
}

fn app(board: &StatusBoard, actor: Actor) -> Router {
    status_router(board.clone()).layer(axum::Extension(actor))
}

async fn body_text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The next chunk of an event stream's body, as text.
async fn next_chunk(body: &mut axum::body::BodyDataStream) -> String {
    let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("an event within 5 s")
        .unwrap()
        .unwrap();
    String::from_utf8(chunk.to_vec()).unwrap()
}

/// The `{"slug", "html"}` of each `status` event in `text`.
fn status_events(text: &str) -> Vec<serde_json::Value> {
    text.split("\n\n")
        .filter(|event| event.contains("event: status"))
        .map(|event| {
            let data = event
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .unwrap();
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn the_page_shows_the_channels_a_viewer_may_see_with_now_and_next_escaped() {
    let board = StatusBoard::default();
    board.publish(snapshot(
        300,
        vec![
            status(1, "demo", "Demo", AirState::OnAir),
            status(2, "news", "News", AirState::OnAir),
        ],
    ));
    let viewer = actor(vec![(Some(ChannelId(1)), Role::Viewer)]);
    let response = app(&board, viewer)
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(html.contains(r#"data-testid="card-demo""#), "{html}");
    assert!(!html.contains("card-news"), "no role on news: {html}");
    assert!(html.contains("Morning &#60;News&#62;") || html.contains("Morning &lt;News&gt;"));
    assert!(
        html.contains("<time>13:00:00</time>–<time>13:10:00</time>"),
        "{html}"
    );
    assert!(html.contains(r#"value="500""#), "half way through: {html}");
    assert!(
        html.contains(r#"data-src="/channels/demo/master.m3u8""#),
        "the preview plays the first channel on air: {html}"
    );
    assert!(html.contains("/static/channels.js"));
}

#[tokio::test]
async fn an_admin_sees_every_channel_and_the_preview_skips_those_off_air() {
    let board = StatusBoard::default();
    let mut off = status(1, "alpha", "Alpha", AirState::OffAir);
    off.now = None;
    off.next = None;
    off.problems = vec![StatusProblem::NoPlan];
    board.publish(snapshot(
        0,
        vec![off, status(2, "news", "News", AirState::OnAir)],
    ));
    let admin = actor(vec![(None, Role::Admin)]);
    let html = body_text(
        app(&board, admin)
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("card-alpha") && html.contains("card-news"));
    assert!(html.contains("no plan is loaded"), "{html}");
    assert!(
        html.contains(r#"data-src="/channels/news/master.m3u8""#),
        "{html}"
    );
}

#[tokio::test]
async fn the_event_stream_sends_every_visible_channel_first_then_only_what_changed() {
    let board = StatusBoard::default();
    board.publish(snapshot(
        10,
        vec![
            status(1, "demo", "Demo", AirState::OnAir),
            status(2, "news", "News <24>", AirState::OnAir),
        ],
    ));
    let admin = actor(vec![(None, Role::Admin)]);
    let response = app(&board, admin)
        .oneshot(
            Request::get("/events/channels")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[axum::http::header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body().into_data_stream();
    let mut first = String::new();
    while status_events(&first).len() < 2 {
        first.push_str(&next_chunk(&mut body).await);
    }
    let events = status_events(&first);
    assert_eq!(events[0]["slug"], "demo");
    assert_eq!(events[1]["slug"], "news");
    let html = events[1]["html"].as_str().unwrap();
    assert!(
        html.starts_with(r#"<div class="card-status state-on-air" id="status-news""#),
        "{html}"
    );
    assert!(!html.contains("<24>"), "escaped: {html}");

    // A second later nothing changed: no event. Then news goes to slate: one event, for news.
    board.publish(snapshot(
        11,
        vec![
            status(1, "demo", "Demo", AirState::OnAir),
            status(2, "news", "News <24>", AirState::OnAir),
        ],
    ));
    board.publish(snapshot(
        12,
        vec![
            status(1, "demo", "Demo", AirState::OnAir),
            status(2, "news", "News <24>", AirState::Slate),
        ],
    ));
    let changed = status_events(&next_chunk(&mut body).await);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["slug"], "news");
    assert!(
        changed[0]["html"]
            .as_str()
            .unwrap()
            .contains(r#"data-state="slate""#)
    );
}

#[tokio::test]
async fn the_event_stream_leaves_out_channels_the_user_has_no_role_on() {
    let board = StatusBoard::default();
    board.publish(snapshot(
        10,
        vec![
            status(1, "demo", "Demo", AirState::OnAir),
            status(2, "news", "News", AirState::OnAir),
        ],
    ));
    let viewer = actor(vec![(Some(ChannelId(2)), Role::Viewer)]);
    let response = app(&board, viewer)
        .oneshot(
            Request::get("/events/channels")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = response.into_body().into_data_stream();
    let events = status_events(&next_chunk(&mut body).await);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["slug"], "news");
}

#[tokio::test]
async fn the_event_stream_ends_when_the_board_closes() {
    let board = StatusBoard::default();
    board.publish(snapshot(
        10,
        vec![status(1, "demo", "Demo", AirState::OnAir)],
    ));
    let admin = actor(vec![(None, Role::Admin)]);
    let response = app(&board, admin)
        .oneshot(
            Request::get("/events/channels")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = response.into_body().into_data_stream();
    assert_eq!(status_events(&next_chunk(&mut body).await).len(), 1);
    board.close();
    let end = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("the stream ends");
    assert!(end.is_none(), "{end:?}");
}
