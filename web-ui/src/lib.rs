//! The pages people see (today the channel list with a player per channel; later the operator
//! UI), the scheduler's REST API ([`api`]), the EPG endpoints ([`epg`]) and each live source's own
//! LL-HLS output ([`llhls`]).

pub mod access;
pub mod api;
pub mod epg;
pub mod llhls;
pub mod pages;
pub mod sessions;
pub mod static_files;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// A channel as the channel list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    pub slug: String,
    pub name: String,
    pub on_air: bool,
}

/// Where the pages get their channels from; the binary provides it.
pub trait ChannelList: Send + Sync {
    fn channels(&self) -> Vec<ChannelSummary>;
}

#[derive(Clone)]
pub struct WebState {
    pub channels: Arc<dyn ChannelList>,
}

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(index))
        .with_state(state)
        .merge(static_files::router())
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    nav: pages::Nav,
    channels: Vec<ChannelSummary>,
}

async fn index(
    State(state): State<WebState>,
    axum::Extension(actor): axum::Extension<access::Actor>,
) -> Response {
    let mut channels = state.channels.channels();
    channels.sort_by(|a, b| a.slug.cmp(&b.slug));
    let nav = pages::Nav::of(&actor, "channels");
    match (IndexPage { nav, channels }).render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "the index page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    struct Fixed(Vec<ChannelSummary>);

    impl ChannelList for Fixed {
        fn channels(&self) -> Vec<ChannelSummary> {
            self.0.clone()
        }
    }

    fn app(channels: Vec<ChannelSummary>) -> Router {
        let viewer = access::Actor {
            principal: onair_control::accounts::Principal {
                user_id: onair_store::UserId(1),
                username: "vera".to_owned(),
                grants: vec![(None, onair_control::accounts::Role::Viewer)],
            },
            credential: access::Credential::Session,
            csrf: Some("token".to_owned()),
        };
        router(WebState {
            channels: Arc::new(Fixed(channels)),
        })
        .layer(axum::Extension(viewer))
    }

    async fn body_text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_index_embeds_a_player_for_the_first_channel_on_air() {
        let channels = vec![
            ChannelSummary {
                slug: "news".into(),
                name: "News <24>".into(),
                on_air: true,
            },
            ChannelSummary {
                slug: "demo".into(),
                name: "Demo".into(),
                on_air: true,
            },
        ];
        let response = app(channels)
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let html = body_text(response).await;
        assert!(
            html.contains(r#"data-src="/channels/demo/master.m3u8""#),
            "{html}"
        );
        assert!(
            html.contains("News &#60;24&#62;") || html.contains("News &lt;24&gt;"),
            "names are escaped: {html}"
        );
        assert!(html.contains("/static/hls.min.js"));
    }

    #[tokio::test]
    async fn the_index_says_so_when_there_are_no_channels() {
        let html = body_text(
            app(vec![])
                .oneshot(Request::get("/").body(Body::empty()).unwrap())
                .await
                .unwrap(),
        )
        .await;
        assert!(html.contains("No channels yet"), "{html}");
    }

    #[tokio::test]
    async fn hls_js_is_served_as_javascript() {
        let response = app(vec![])
            .oneshot(
                Request::get("/static/hls.min.js")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(body_text(response).await.len() > 100_000);
    }
}
