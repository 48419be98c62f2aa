//! Every route `onair serve` answers, with who may call it. The guard ([`super::guard`]) looks
//! each request's route up here and refuses a route that is not listed: a new route is
//! unreachable until it is given a policy, and `tests/e2e/access.rs` fails until it is.

use std::sync::LazyLock;

use onair_control::accounts::Role;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Access {
    /// Anyone: what viewers, players and partners fetch (playlists, segments, EPG feeds, viewer
    /// sessions), the login pages and the static files.
    Public,
    /// Any logged-in user, whatever their roles (logging out, their own account).
    LoggedIn,
    /// A user with `role` on the channel the path's `{slug}` names (or on every channel).
    OnChannel { role: Role },
    /// A user with `role` on at least one channel: what is shared between channels (the asset
    /// library, ladders, live sources) or lists channels.
    OnAnyChannel { role: Role },
    /// A user with `role` on every channel (a grant not tied to one channel).
    OnEveryChannel { role: Role },
}

/// A route and its policy. `method` is an HTTP method, or `*` for every method; `path` is the
/// route as registered with axum (`/api/channels/{slug}/grid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoutePolicy {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn route(method: &'static str, path: &'static str, access: Access) -> RoutePolicy {
    RoutePolicy {
        method,
        path,
        access,
    }
}

use Access::{LoggedIn, OnAnyChannel, OnChannel, OnEveryChannel, Public};
use Role::{AdOps, Admin, Scheduler, Viewer};

/// The table. Grouped by what the routes are for; the order does not matter.
pub const ROUTES: &[RoutePolicy] = &[
    // The origin: what players fetch.
    route("GET", "/channels/{slug}/master.m3u8", Public),
    route("GET", "/channels/{slug}/master-fmp4.m3u8", Public),
    route("GET", "/channels/{slug}/{rung}/ts.m3u8", Public),
    route("GET", "/channels/{slug}/{rung}/fmp4.m3u8", Public),
    route("GET", "/channels/{slug}/manifest.mpd", Public),
    route("GET", "/time", Public),
    // Operations: liveness, readiness, metrics (`/metrics` checks `http.metrics_token` itself
    // when one is set).
    route("GET", "/healthz", Public),
    route("GET", "/readyz", Public),
    route("GET", "/metrics", Public),
    route("GET", "/media/{*path}", Public),
    // A break's first segment and the first after it, with the cue inside.
    route(
        "GET",
        "/channels/{slug}/{rung}/scte35/{event}/{cue}/{pts}/{duration}/{*path}",
        Public,
    ),
    // Each partner's own URLs (`/p/{partner}/[t/{token}/]{slug}/…`): public like the
    // channel's; a partner with signed URLs checks its token itself (403). A stitched partner's
    // viewers' sessions (`…/{slug}/sessions/{id}/…`, their ad tracking URLs too) are under it:
    // public as the channel's own viewers' sessions are.
    route("GET", "/p/{partner}/{*rest}", Public),
    // Each live source's LL-HLS output.
    route("GET", "/live/{source}/llhls.m3u8", Public),
    route("GET", "/live/{source}/{rendition}/{file}", Public),
    // Viewer sessions with ads (players start them; partners' players are cross-site).
    route("POST", "/channels/{slug}/sessions", Public),
    route("GET", "/channels/{slug}/sessions/{id}/master.m3u8", Public),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/master-fmp4.m3u8",
        Public,
    ),
    route("GET", "/channels/{slug}/sessions/{id}/manifest.mpd", Public),
    route("GET", "/channels/{slug}/sessions/{id}/tracking", Public),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/{rung}/ts.m3u8",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/{rung}/fmp4.m3u8",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/ads/{break}/{position}/media/{*path}",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/interstitials/{rung}/ts.m3u8",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/interstitials/{rung}/fmp4.m3u8",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/ads/{break}/assets.json",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/ads/{break}/assets-fmp4.json",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/ads/{break}/{position}/master.m3u8",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/ads/{break}/{position}/master-fmp4.m3u8",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/ads/{break}/{position}/{rung}/ts.m3u8",
        Public,
    ),
    route(
        "GET",
        "/channels/{slug}/sessions/{id}/ads/{break}/{position}/{rung}/fmp4.m3u8",
        Public,
    ),
    // EPG feeds.
    route("GET", "/epg.xml", Public),
    route("GET", "/channels/{slug}/epg.xml", Public),
    route("GET", "/channels/{slug}/epg.json", Public),
    // The pages' own files, and the demo's ad server (mounted only by `onair demo`).
    route("GET", "/static/{file}", Public),
    route("GET", "/demo-ads/vast.xml", Public),
    route("GET", "/demo-ads/wrapped.xml", Public),
    route("GET", "/demo-ads/beacon", Public),
    route("GET", "/demo-ads/beacons", Public),
    route("GET", "/demo-ads/media/{*path}", Public),
    // Logging in and out, and one's own account.
    route("GET", "/login", Public),
    route("POST", "/login", Public),
    route("GET", "/login/code", Public),
    route("POST", "/login/code", Public),
    route("POST", "/logout", LoggedIn),
    route("GET", "/account", LoggedIn),
    route("POST", "/account/password", LoggedIn),
    route("POST", "/account/totp", LoggedIn),
    route("POST", "/account/totp/confirm", LoggedIn),
    route("POST", "/account/totp/disable", LoggedIn),
    route("GET", "/api/me", LoggedIn),
    // The pages.
    route("GET", "/", OnAnyChannel { role: Viewer }),
    route("GET", "/guide/{slug}", OnChannel { role: Viewer }),
    route("GET", "/grid/{slug}", OnChannel { role: Viewer }),
    route("POST", "/grid/{slug}/items", OnChannel { role: Scheduler }),
    route("GET", "/grid/{slug}/templates", OnChannel { role: Viewer }),
    route(
        "GET",
        "/grid/{slug}/templates/fires",
        OnChannel { role: Viewer },
    ),
    route(
        "POST",
        "/grid/{slug}/templates/apply",
        OnChannel { role: Scheduler },
    ),
    route("GET", "/library", OnAnyChannel { role: Viewer }),
    route("GET", "/library/{id}", OnAnyChannel { role: Viewer }),
    route(
        "POST",
        "/library/{id}/title",
        OnAnyChannel { role: Scheduler },
    ),
    route(
        "POST",
        "/library/{id}/delete",
        OnEveryChannel { role: Scheduler },
    ),
    route("GET", "/events/channels", OnAnyChannel { role: Viewer }),
    route("GET", "/desk/{slug}", OnChannel { role: Viewer }),
    route("GET", "/desk/{slug}/live", OnChannel { role: Viewer }),
    route("GET", "/desk/{slug}/as-run", OnChannel { role: Viewer }),
    // Conformance checks as pages, as the API's: a channel's by its viewers, a partner's by an
    // admin on every channel.
    route("GET", "/conformance", OnAnyChannel { role: Viewer }),
    route(
        "POST",
        "/conformance/channels/{slug}",
        OnChannel { role: Viewer },
    ),
    route(
        "POST",
        "/conformance/partners/{name}",
        OnEveryChannel { role: Admin },
    ),
    route("GET", "/ads/{slug}", OnChannel { role: AdOps }),
    route("POST", "/ads/{slug}", OnChannel { role: AdOps }),
    route("POST", "/ads/{slug}/restore", OnChannel { role: AdOps }),
    route("GET", "/users", OnEveryChannel { role: Admin }),
    route("POST", "/users", OnEveryChannel { role: Admin }),
    route(
        "POST",
        "/users/{name}/roles",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/users/{name}/roles/revoke",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/users/{name}/password",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/users/{name}/totp/disable",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/users/{name}/disable",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/users/{name}/enable",
        OnEveryChannel { role: Admin },
    ),
    // The API: channels, assets, ladders, jobs.
    route("GET", "/api/channels", OnAnyChannel { role: Viewer }),
    route("POST", "/api/channels", OnEveryChannel { role: Admin }),
    route("GET", "/api/channels/{slug}", OnChannel { role: Viewer }),
    route("PATCH", "/api/channels/{slug}", OnChannel { role: Admin }),
    route("DELETE", "/api/channels/{slug}", OnChannel { role: Admin }),
    route("GET", "/api/assets", OnAnyChannel { role: Viewer }),
    route("POST", "/api/assets", OnAnyChannel { role: Scheduler }),
    route(
        "POST",
        "/api/assets/upload",
        OnAnyChannel { role: Scheduler },
    ),
    route("GET", "/api/assets/{id}", OnAnyChannel { role: Viewer }),
    route(
        "DELETE",
        "/api/assets/{id}",
        OnEveryChannel { role: Scheduler },
    ),
    route("POST", "/api/uploads", OnAnyChannel { role: Scheduler }),
    route("GET", "/api/uploads/{id}", OnAnyChannel { role: Scheduler }),
    route(
        "PATCH",
        "/api/uploads/{id}",
        OnAnyChannel { role: Scheduler },
    ),
    route(
        "DELETE",
        "/api/uploads/{id}",
        OnAnyChannel { role: Scheduler },
    ),
    route(
        "POST",
        "/api/uploads/{id}/complete",
        OnAnyChannel { role: Scheduler },
    ),
    route("GET", "/api/jobs/{id}", OnAnyChannel { role: Viewer }),
    route(
        "POST",
        "/api/jobs/{id}/cancel",
        OnAnyChannel { role: Scheduler },
    ),
    route("GET", "/api/ladders", OnAnyChannel { role: Viewer }),
    route("POST", "/api/ladders", OnEveryChannel { role: Admin }),
    route("GET", "/api/ladders/{name}", OnAnyChannel { role: Viewer }),
    // The API: a channel's schedule and grid.
    route(
        "GET",
        "/api/channels/{slug}/schedule",
        OnChannel { role: Viewer },
    ),
    route(
        "PUT",
        "/api/channels/{slug}/schedule",
        OnChannel { role: Scheduler },
    ),
    route(
        "GET",
        "/api/channels/{slug}/schedule/versions",
        OnChannel { role: Viewer },
    ),
    route(
        "GET",
        "/api/channels/{slug}/schedule/versions/{version}",
        OnChannel { role: Viewer },
    ),
    route(
        "POST",
        "/api/channels/{slug}/schedule/versions/{version}/restore",
        OnChannel { role: Scheduler },
    ),
    route(
        "GET",
        "/api/channels/{slug}/schedule/export",
        OnChannel { role: Viewer },
    ),
    route(
        "POST",
        "/api/channels/{slug}/schedule/import",
        OnChannel { role: Scheduler },
    ),
    route(
        "POST",
        "/api/channels/{slug}/schedule/copy",
        OnChannel { role: Scheduler },
    ),
    route(
        "GET",
        "/api/channels/{slug}/grid",
        OnChannel { role: Viewer },
    ),
    route(
        "PUT",
        "/api/channels/{slug}/grid",
        OnChannel { role: Scheduler },
    ),
    route(
        "GET",
        "/api/channels/{slug}/grid/versions",
        OnChannel { role: Viewer },
    ),
    route(
        "GET",
        "/api/channels/{slug}/grid/versions/{version}",
        OnChannel { role: Viewer },
    ),
    route(
        "POST",
        "/api/channels/{slug}/grid/versions/{version}/restore",
        OnChannel { role: Scheduler },
    ),
    route(
        "GET",
        "/api/channels/{slug}/grid/{part}",
        OnChannel { role: Viewer },
    ),
    route(
        "PUT",
        "/api/channels/{slug}/grid/{part}",
        OnChannel { role: Scheduler },
    ),
    route(
        "GET",
        "/api/channels/{slug}/plan",
        OnChannel { role: Viewer },
    ),
    route(
        "GET",
        "/api/channels/{slug}/as-run",
        OnChannel { role: Viewer },
    ),
    route(
        "GET",
        "/api/channels/{slug}/as-run/reconcile",
        OnChannel { role: Viewer },
    ),
    // The API: ads.
    route("GET", "/api/channels/{slug}/ads", OnChannel { role: AdOps }),
    route("PUT", "/api/channels/{slug}/ads", OnChannel { role: AdOps }),
    route(
        "GET",
        "/api/channels/{slug}/ads/versions",
        OnChannel { role: AdOps },
    ),
    route(
        "POST",
        "/api/channels/{slug}/ads/restore",
        OnChannel { role: AdOps },
    ),
    route(
        "GET",
        "/api/channels/{slug}/ads/report",
        OnChannel { role: AdOps },
    ),
    route("POST", "/api/ads/resolve", OnAnyChannel { role: AdOps }),
    // The API: partners. Their settings and key ids (never the secrets) are any user's to
    // read; only an admin on every channel makes, edits, removes, rotates or signs (a key or
    // a signed URL hands a partner every channel it carries).
    route("GET", "/api/partners", OnAnyChannel { role: Viewer }),
    route("POST", "/api/partners", OnEveryChannel { role: Admin }),
    route("GET", "/api/partners/{name}", OnAnyChannel { role: Viewer }),
    route(
        "PUT",
        "/api/partners/{name}",
        OnEveryChannel { role: Admin },
    ),
    route(
        "DELETE",
        "/api/partners/{name}",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/api/partners/{name}/rotate-key",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/api/partners/{name}/sign",
        OnEveryChannel { role: Admin },
    ),
    // Conformance checks: a channel's by its viewers (a report reads nothing secret), a
    // partner's by an admin on every channel (it covers every channel the partner carries).
    route(
        "POST",
        "/api/channels/{slug}/check",
        OnChannel { role: Viewer },
    ),
    route(
        "POST",
        "/api/partners/{name}/check",
        OnEveryChannel { role: Admin },
    ),
    // The API: live sources and takes to air. A source's stream key is a secret: only admins
    // manage sources; schedulers list them to take one to air.
    route("GET", "/api/live/sources", OnAnyChannel { role: Scheduler }),
    route("POST", "/api/live/sources", OnEveryChannel { role: Admin }),
    route(
        "GET",
        "/api/live/sources/{name}",
        OnAnyChannel { role: Scheduler },
    ),
    route(
        "DELETE",
        "/api/live/sources/{name}",
        OnEveryChannel { role: Admin },
    ),
    route(
        "POST",
        "/api/live/sources/{name}/rotate-key",
        OnEveryChannel { role: Admin },
    ),
    route(
        "GET",
        "/api/live/sources/{name}/events",
        OnAnyChannel { role: Scheduler },
    ),
    route(
        "POST",
        "/api/channels/{slug}/live/take",
        OnChannel { role: Scheduler },
    ),
    route(
        "POST",
        "/api/channels/{slug}/slate",
        OnChannel { role: Scheduler },
    ),
    route(
        "POST",
        "/api/channels/{slug}/live/return",
        OnChannel { role: Scheduler },
    ),
    route(
        "GET",
        "/api/channels/{slug}/live/takes",
        OnChannel { role: Viewer },
    ),
    // The API's OpenAPI document and the page made from it: a description, no data.
    route("GET", "/api/openapi.json", Public),
    route("GET", "/api/docs", Public),
    // Unknown API routes answer a JSON 404.
    route("*", "/api", Public),
    route("*", "/api/{*rest}", Public),
];

/// The policy of `method` (HEAD counts as GET) on the route `path`, if one is declared. Every
/// request asks, players' included: a map built once, not a walk through the table.
pub fn policy(method: &str, path: &str) -> Option<&'static RoutePolicy> {
    // FxHash: looked up on every request, with keys no client chooses (route templates).
    static INDEX: LazyLock<FxHashMap<(&'static str, &'static str), &'static RoutePolicy>> =
        LazyLock::new(|| {
            ROUTES
                .iter()
                .map(|route| ((route.method, route.path), route))
                .collect()
        });
    let method = if method == "HEAD" { "GET" } else { method };
    INDEX
        .get(&(method, path))
        .or_else(|| INDEX.get(&("*", path)))
        .copied()
}

/// The methods the access table declares for the route `path` (HEAD with GET), in the table's
/// order: what a 405 names in its `Allow` header when a request uses another.
pub fn methods_for(path: &str) -> Vec<&'static str> {
    let mut methods = Vec::new();
    for route in ROUTES.iter().filter(|route| route.path == path) {
        methods.push(route.method);
        if route.method == "GET" {
            methods.push("HEAD");
        }
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_methods_of_a_route_are_those_the_table_declares_with_head_beside_get() {
        assert_eq!(
            methods_for("/api/channels/{slug}/check"),
            ["POST"],
            "a check is only run"
        );
        let schedule = methods_for("/api/channels/{slug}/schedule");
        assert!(
            schedule.contains(&"GET") && schedule.contains(&"HEAD"),
            "{schedule:?}"
        );
        assert_eq!(methods_for("/no/such/route"), Vec::<&str>::new());
    }

    #[test]
    fn no_route_is_declared_twice() {
        let mut seen = std::collections::HashSet::new();
        for route in ROUTES {
            assert!(
                seen.insert((route.method, route.path)),
                "{} {} is declared twice",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn head_is_looked_up_as_get_and_a_wildcard_method_covers_the_rest() {
        assert_eq!(
            policy("HEAD", "/channels/{slug}/master.m3u8")
                .unwrap()
                .method,
            "GET"
        );
        assert_eq!(policy("PUT", "/api/{*rest}").unwrap().access, Public);
        assert!(policy("PUT", "/channels/{slug}/master.m3u8").is_none());
    }

    #[test]
    fn every_channel_scoped_route_names_a_channel_in_its_path() {
        for route in ROUTES {
            if matches!(route.access, OnChannel { .. }) {
                assert!(route.path.contains("{slug}"), "{}", route.path);
            }
        }
    }

    #[test]
    fn only_reading_and_viewer_sessions_are_public_outside_the_login() {
        for route in ROUTES.iter().filter(|route| route.access == Public) {
            let allowed = route.method == "GET"
                || route.method == "*"
                || route.path == "/channels/{slug}/sessions"
                || route.path.starts_with("/login");
            assert!(allowed, "{} {} is public", route.method, route.path);
        }
    }
}
