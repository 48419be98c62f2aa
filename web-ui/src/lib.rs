//! The operator pages ([`pages`]: the channels page with live status, the on-air desk, the
//! guide, users, accounts), the scheduler's REST API ([`api`]), the EPG endpoints ([`epg`]) and
//! each live source's own LL-HLS output ([`llhls`]), and the operations routes and request layer
//! ([`ops`]: health, readiness, metrics, request ids), and the segments that open and close a
//! break, served with its SCTE-35 cue inside ([`scte35_segments`]), and each partner's own URLs
//! ([`partner_routes`]).

pub mod access;
pub mod api;
pub mod epg;
pub mod llhls;
pub mod ops;
pub mod pages;
pub mod partner_routes;
pub mod scte35_segments;
pub mod sessions;
pub mod static_files;

use axum::Router;

/// The routes that need no state: the pages' static files. The pages themselves are
/// [`pages::router`]'s.
pub fn router() -> Router {
    static_files::router()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    #[tokio::test]
    async fn hls_js_is_served_as_javascript() {
        let response = router()
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
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(bytes.len() > 100_000);
    }
}
