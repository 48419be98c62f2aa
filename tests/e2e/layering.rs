//! The layering ARCHITECTURE.md states, checked on the manifests: nothing below the adapters
//! depends on `onair-web-ui`, the control plane speaks no HTTP, and only the media crates link
//! GStreamer.

use std::path::Path;

/// The `[dependencies]` and `[dev-dependencies]` names of a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    ["dependencies", "dev-dependencies"]
        .iter()
        .filter_map(|section| table.get(*section)?.as_table())
        .flat_map(|section| section.keys().cloned())
        .collect()
}

#[test]
fn nothing_below_the_adapters_depends_on_the_web_ui() {
    for krate in [
        "domain",
        "store",
        "scheduler",
        "playout",
        "control",
        "media",
        "transcode",
        "ad-decision",
        "net",
        "live-ingest",
    ] {
        let found = dependencies(krate);
        assert!(
            !found.iter().any(|name| name == "onair-web-ui"),
            "{krate} depends on onair-web-ui: {found:?}"
        );
    }
}

#[test]
fn the_control_plane_speaks_no_http_and_links_no_gstreamer() {
    let found = dependencies("control");
    for forbidden in ["axum", "http", "tower", "onair-media", "onair-transcode"] {
        assert!(
            !found.iter().any(|name| name == forbidden),
            "control depends on {forbidden}: {found:?}"
        );
    }
    assert!(
        !found.iter().any(|name| name.starts_with("gstreamer")),
        "control links GStreamer: {found:?}"
    );
}

#[test]
fn only_the_media_crates_link_gstreamer() {
    for krate in [
        "domain",
        "store",
        "scheduler",
        "playout",
        "control",
        "web-ui",
        "ad-decision",
        "net",
    ] {
        let found = dependencies(krate);
        assert!(
            !found
                .iter()
                .any(|name| name.starts_with("gstreamer") || name == "onair-media"),
            "{krate} links GStreamer: {found:?}"
        );
    }
}
