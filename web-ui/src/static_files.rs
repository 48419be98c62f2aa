//! The pages' own files, served from `GET /static/{file}`: the vendored browser libraries (see
//! `static/README.md` for their versions and how to update them), their licences, and our
//! stylesheet. They are embedded in the binary, so there is no build step and nothing to install
//! beside it; only the names in [`FILES`] are served, so a path is never read from the disk.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// A day: the names do not carry a version, so a new release reaches browsers within a day,
/// and sooner for those that revalidate with the ETag.
const CACHE_CONTROL: &str = "public, max-age=86400";

/// Declares [`FILES`] and the embedded table together, so the two cannot disagree.
macro_rules! files {
    ($($name:literal => $content_type:expr),* $(,)?) => {
        /// The names served under `/static/`.
        pub const FILES: &[&str] = &[$($name),*];

        /// Each file's name, content type and bytes.
        const EMBEDDED: &[(&str, &str, &[u8])] = &[
            $(($name, $content_type, include_bytes!(concat!("../static/", $name)))),*
        ];
    };
}

files! {
    "onair.css" => CSS,
    "htmx.min.js" => JAVASCRIPT,
    "htmx.org-LICENSE" => TEXT,
    "fullcalendar.min.js" => JAVASCRIPT,
    "fullcalendar-LICENSE" => TEXT,
    "Sortable.min.js" => JAVASCRIPT,
    "sortablejs-LICENSE" => TEXT,
    "hls.min.js" => JAVASCRIPT,
    "hls.js-LICENSE" => TEXT,
    "library.js" => JAVASCRIPT,
    "channels.js" => JAVASCRIPT,
    "desk.js" => JAVASCRIPT,
    "grid.js" => JAVASCRIPT,
    "grid_templates.js" => JAVASCRIPT,
}

struct StaticFile {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// A strong validator: the quoted hex of the first 128 bits of the bytes' SHA-256.
    etag: HeaderValue,
}

/// The table with the ETags, hashed once on the first request.
static TABLE: LazyLock<Vec<StaticFile>> = LazyLock::new(|| {
    EMBEDDED
        .iter()
        .map(|&(name, content_type, bytes)| StaticFile {
            name,
            content_type,
            bytes,
            etag: etag_of(bytes),
        })
        .collect()
});

fn etag_of(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex in quotes is a valid header value")
}

/// `GET /static/{file}`.
pub fn router() -> Router {
    Router::new().route("/static/{file}", get(serve))
}

async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(found) = TABLE.iter().find(|f| f.name == file) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            "no such static file",
        )
            .into_response();
    };
    let cache = [
        (header::ETAG, found.etag.clone()),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
    ];
    if none_match(&headers, &found.etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [
            (header::CONTENT_TYPE, found.content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        found.bytes,
    )
        .into_response()
}

/// Whether `If-None-Match` names the current ETag (`*`, or a list of tags compared weakly, as
/// RFC 9110 §13.1.2 asks), so the client's copy is still good.
fn none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        router()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    fn etag(response: &Response) -> String {
        response.headers()[header::ETAG]
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn bytes_of(name: &str) -> &'static [u8] {
        EMBEDDED.iter().find(|f| f.0 == name).unwrap().2
    }

    #[tokio::test]
    async fn every_file_is_served_whole_with_its_content_type_and_a_day_of_caching() {
        for &name in FILES {
            let response = get(&format!("/static/{name}"), None).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            let expected = if name.ends_with(".js") {
                JAVASCRIPT
            } else if name.ends_with(".css") {
                CSS
            } else {
                assert!(name.ends_with("LICENSE"), "{name} is a licence");
                TEXT
            };
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], expected, "{name}");
            assert_eq!(headers[header::CACHE_CONTROL], CACHE_CONTROL, "{name}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{name}");
            assert!(etag(&response).starts_with('"'), "{name}");
            assert_eq!(body(response).await, bytes_of(name), "{name}");
        }
    }

    #[tokio::test]
    async fn each_file_has_its_own_etag() {
        let mut tags = Vec::new();
        for &name in FILES {
            tags.push(etag(&get(&format!("/static/{name}"), None).await));
        }
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), FILES.len());
    }

    #[tokio::test]
    async fn a_matching_etag_is_answered_with_304_and_no_body() {
        let tag = etag(&get("/static/htmx.min.js", None).await);
        for if_none_match in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"stale\", {tag}"),
            "*".to_owned(),
        ] {
            let response = get("/static/htmx.min.js", Some(&if_none_match)).await;
            assert_eq!(
                response.status(),
                StatusCode::NOT_MODIFIED,
                "{if_none_match}"
            );
            assert_eq!(etag(&response), tag);
            assert_eq!(response.headers()[header::CACHE_CONTROL], CACHE_CONTROL);
            assert!(body(response).await.is_empty());
        }
    }

    #[tokio::test]
    async fn a_stale_etag_gets_the_whole_file() {
        let response = get("/static/onair.css", Some("\"0123456789abcdef\"")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(response).await, bytes_of("onair.css"));
    }

    #[tokio::test]
    async fn an_unknown_name_is_404_with_a_text_body() {
        for path in [
            "/static/nope.js",
            "/static/HTMX.MIN.JS",
            "/static/README.md",
        ] {
            let response = get(path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], TEXT, "{path}");
            assert_eq!(body(response).await, b"no such static file", "{path}");
        }
    }

    #[tokio::test]
    async fn dot_dot_traversal_attempts_are_404() {
        for path in [
            "/static/..",
            "/static/..%2FCargo.toml",
            "/static/..%2F..%2FCargo.toml",
            "/static/%2E%2E%2Fsrc%2Flib.rs",
            "/static/..%5CCargo.toml",
            "/static/../Cargo.toml",
            "/static/./htmx.min.js/../../Cargo.toml",
        ] {
            let response = get(path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            let body = body(response).await;
            assert!(!body.windows(9).any(|w| w == b"[package]"), "{path}");
        }
    }

    #[test]
    fn the_fullcalendar_bundle_has_the_plugins_the_scheduling_page_needs() {
        let bundle = String::from_utf8_lossy(bytes_of("fullcalendar.min.js"));
        assert!(bundle.contains("FullCalendar Standard Bundle"));
        for plugin in ["daygrid", "timegrid", "interaction", "list"] {
            assert!(
                bundle.contains(&format!("name:\"@fullcalendar/{plugin}\"")),
                "{plugin}"
            );
        }
        assert!(
            bundle.contains(".Draggable="),
            "drag from outside the calendar"
        );
    }

    #[test]
    fn every_vendored_library_is_served_with_its_licence() {
        for (library, licence) in [
            ("htmx.min.js", "htmx.org-LICENSE"),
            ("fullcalendar.min.js", "fullcalendar-LICENSE"),
            ("Sortable.min.js", "sortablejs-LICENSE"),
            ("hls.min.js", "hls.js-LICENSE"),
        ] {
            assert!(FILES.contains(&library) && FILES.contains(&licence));
        }
    }

    #[test]
    fn every_file_in_the_static_folder_is_served_and_recorded_in_its_readme() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
        let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name != "README.md")
            .collect();
        on_disk.sort();
        let mut served: Vec<&str> = FILES.to_vec();
        served.sort();
        assert_eq!(on_disk, served);
        for name in FILES {
            assert!(readme.contains(&format!("`{name}`")), "{name}");
        }
    }
}
