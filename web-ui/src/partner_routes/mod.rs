//! Each partner's own URLs: `/p/{partner}/{slug}/…`, or signed,
//! `/p/{partner}/t/{expiry}.{signature}/{slug}/…` ([`onair_control::partners::signing`]).
//! Public, like the channel's: a partner's players and CDN fetch them.
//!
//! Under a channel's prefix: `master.m3u8` and `{rung}/ts.m3u8` (HLS-TS), `master-fmp4.m3u8`
//! and `{rung}/fmp4.m3u8` (HLS-fMP4), `manifest.mpd` (DASH), each only when the partner carries
//! the channel and is allowed that output, rendered as the origin renders the channel's but for
//! the break tags, which are in the partner's cue dialect. Segment and init files are listed
//! under the same prefix, `media/{path}`, so that a signed prefix covers them; they are the
//! shared files of `/media/`, but for the HLS-TS segments that open and close a break, which
//! carry its SCTE-35 cue inside as the channel's do (`{rung}/scte35/…`, [`scte35_segments`]).
//!
//! The partner's EPG, in the format it reads ([`EpgFormat`]: XMLTV at `epg.xml`, the Wurl-style
//! or Roku-style JSON at `epg.json`), is at `{slug}/epg.xml|json` under a channel's prefix and,
//! for every channel it carries that is on air, at `/p/{partner}/[t/{token}/]epg.xml|json`. Both
//! are built with [`onair_scheduler::epg::partner_feeds`] from the plan the control plane's
//! registry made for playout (never planned again), over whole days of the channel's zone, so a
//! partner's guide equals what airs; `Cache-Control: public, max-age=60` as the channel's EPG.
//! The partner-wide document's token signs the partner's own prefix, as a channel's does its
//! channel: [`signing::token`] with an empty channel.
//!
//! A stitched partner's `master.m3u8`, `master-fmp4.m3u8` and `manifest.mpd` start an SSAI
//! session whose ads come from the partner's tag, served under the same prefix
//! (`sessions/{id}/…`, [`stitched`]); its `{rung}/…` playlists stay the channel's, marked in
//! both dialects.
//!
//! Refusals: 404 for an unknown partner, a channel it does not carry (or one not on air), an
//! output it is not allowed, a rung or file that does not exist, the EPG file of another format
//! (naming the one it reads); 403 for a partner that needs signed URLs asked without a token,
//! and for an expired, tampered or other partner's token; 400 for a bad session parameter.
//! Every request that names a known partner is counted ([`PartnerCounters`]).

mod stitched;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onair_control::Control;
use onair_control::ads::AdEngine;
use onair_control::partners::{EpgFormat, PartnerAccess, signing};
use onair_control::registry::PlannedChannels;
use onair_domain::{Clock, OutputFormat, Packaging, Timestamp};
use onair_playout::dash::MPD_CONTENT_TYPE;
use onair_playout::origin::PLAYLIST_CONTENT_TYPE;
use onair_playout::ts_scte35::SegmentCue;

use crate::scte35_segments;
use onair_playout::{
    Directory, MpdOptions, render_media_playlist_with, render_mpd, render_multivariant_with,
};
use onair_scheduler::epg::partner_feeds::{
    FeedChannel, PartnerFeed, feed_channel, partner_document,
};
use onair_scheduler::epg::xmltv_channel_id;
use onair_store::Store;
use serde::Serialize;
use stitched::{Entry, Stitched, Viewer};

/// Requests per partner since the server started: every request to `/p/{partner}/…` that names
/// a partner that exists, and how many of them were refused.
#[derive(Debug, Default)]
pub struct PartnerCounters {
    counts: RwLock<HashMap<String, Arc<PartnerCount>>>,
}

#[derive(Debug, Default)]
struct PartnerCount {
    requests: AtomicU64,
    refused: AtomicU64,
}

/// A partner's counts, as the partner API shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PartnerRequests {
    pub requests: u64,
    /// Answered 403 or 404.
    pub refused: u64,
}

impl PartnerCounters {
    fn entry(&self, partner: &str) -> Arc<PartnerCount> {
        if let Some(count) = self
            .counts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(partner)
        {
            return Arc::clone(count);
        }
        let mut counts = self.counts.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(counts.entry(partner.to_owned()).or_default())
    }

    fn count(&self, partner: &str, refused: bool) {
        let entry = self.entry(partner);
        entry.requests.fetch_add(1, Ordering::Relaxed);
        if refused {
            entry.refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts of `partner` (zero when it had no request).
    pub fn of(&self, partner: &str) -> PartnerRequests {
        let counts = self.counts.read().unwrap_or_else(PoisonError::into_inner);
        counts
            .get(partner)
            .map_or_else(PartnerRequests::default, |count| PartnerRequests {
                requests: count.requests.load(Ordering::Relaxed),
                refused: count.refused.load(Ordering::Relaxed),
            })
    }

    /// Every partner's counts, by name.
    pub fn all(&self) -> Vec<(String, PartnerRequests)> {
        let names: Vec<String> = {
            let counts = self.counts.read().unwrap_or_else(PoisonError::into_inner);
            counts.keys().cloned().collect()
        };
        let mut all: Vec<_> = names
            .into_iter()
            .map(|name| {
                let counts = self.of(&name);
                (name, counts)
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// What the partner routes need.
#[derive(Clone)]
pub struct PartnerRoutesState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub directory: Arc<Directory>,
    /// Segment paths in renditions are relative to this folder.
    pub media_root: PathBuf,
    pub counters: Arc<PartnerCounters>,
    /// The plans the registry made for playout: what the partner EPG lists.
    pub plans: Arc<dyn PlannedChannels>,
    /// XMLTV channel ids are `<slug>.<domain>`, as in the channel's own EPG.
    pub xmltv_domain: String,
    /// The SSAI engine a stitched partner's sessions are held and decided by.
    pub engine: Arc<AdEngine>,
}

/// The route, ready to be merged beside the origin's.
pub fn router(state: PartnerRoutesState) -> Router {
    Router::new()
        .route("/p/{partner}/{*rest}", get(partner_request))
        .with_state(state)
}

/// A refusal: its status and a one-line reason.
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ];
        (self.0, headers, format!("{}\n", self.1)).into_response()
    }
}

fn not_found(message: String) -> Refused {
    Refused(StatusCode::NOT_FOUND, message)
}

fn forbidden(message: String) -> Refused {
    Refused(StatusCode::FORBIDDEN, message)
}

async fn partner_request(
    State(state): State<PartnerRoutesState>,
    Path((partner, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (client_ip, user_agent) = crate::sessions::client_of(&request);
    let viewer = Viewer {
        query: request.uri().query().map(str::to_owned),
        client_ip,
        user_agent,
    };
    let control = Control::new(state.store.clone(), Arc::clone(&state.clock));
    let access = match control.partner_access(&partner).await {
        Ok(Some(access)) => access,
        Ok(None) => return not_found(format!("there is no partner {partner}")).into_response(),
        Err(refusal) => {
            tracing::error!(%refusal, partner, "cannot read a partner");
            return Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the partner's settings cannot be read just now".to_owned(),
            )
            .into_response();
        }
    };
    let answer = serve(&state, &access, &rest, viewer).await;
    state.counters.count(&partner, answer.is_err());
    match answer {
        Ok(response) => response,
        Err(refused) => refused.into_response(),
    }
}

/// What a partner URL asks for, after the partner.
struct PartnerPath<'a> {
    token: Option<&'a str>,
    slug: &'a str,
    /// What follows the channel: `master.m3u8`, `360p/ts.m3u8`, `media/…`.
    file: &'a str,
}

/// Splits what follows `/p/{partner}/`. `t/{token}/` is a token, however malformed (so that a
/// damaged one is refused as such), unless the partner carries a channel named `t`: then only
/// a token-shaped segment is one.
fn parse_path(rest: &str, t_is_a_channel: bool) -> Option<PartnerPath<'_>> {
    let (token, rest) = match rest.split_once('/') {
        Some(("t", after)) => match after.split_once('/') {
            Some((token, rest)) if !t_is_a_channel || signing::is_token(token) => {
                (Some(token), rest)
            }
            _ => (None, rest),
        },
        _ => (None, rest),
    };
    let (slug, file) = rest.split_once('/')?;
    (!slug.is_empty() && !file.is_empty()).then_some(PartnerPath { token, slug, file })
}

async fn serve(
    state: &PartnerRoutesState,
    access: &PartnerAccess,
    rest: &str,
    viewer: Viewer,
) -> Result<Response, Refused> {
    let partner = &access.name;
    let now = state.clock.now();
    if let Some((token, file)) = parse_partner_wide(rest, access.settings.carries("t")) {
        check_token(access, "", token, now)?;
        return partner_epg(state, access, None, file);
    }
    let path = parse_path(rest, access.settings.carries("t")).ok_or_else(|| {
        not_found(format!(
            "partner URLs are /p/{partner}/{{channel}}/… or /p/{partner}/t/{{token}}/{{channel}}/…"
        ))
    })?;
    check_token(access, path.slug, path.token, now)?;
    let slug = path.slug;
    if !access.settings.carries(slug) {
        return Err(not_found(format!(
            "partner {partner} does not carry channel {slug}"
        )));
    }
    if matches!(path.file, "epg.xml" | "epg.json") {
        return partner_epg(state, access, Some(slug), path.file);
    }
    let prefix = match path.token {
        Some(token) => format!("/p/{partner}/t/{token}/{slug}/"),
        None => format!("/p/{partner}/{slug}/"),
    };
    if let Some(file) = path.file.strip_prefix("media/") {
        return media_file(state, file).await;
    }
    let stitched = Stitched::of(&state.engine, access, slug, &prefix);
    if let Some(rest) = path.file.strip_prefix("sessions/") {
        return match stitched {
            Some(stitched) => stitched.session_request(rest).await,
            None => Err(not_found(format!(
                "partner {partner} takes a clean feed: it has no sessions"
            ))),
        };
    }
    if let Some((rung, cued)) = path.file.split_once("/scte35/") {
        if !access.settings.allows(OutputFormat::HlsTs) {
            return Err(not_found(format!(
                "partner {partner} is not allowed hls-ts of channel {slug}"
            )));
        }
        return cued_segment(state, slug, rung, cued).await;
    }
    let (output, kind) = match path.file {
        "master.m3u8" => (OutputFormat::HlsTs, Manifest::Multivariant(Packaging::Ts)),
        "master-fmp4.m3u8" => (
            OutputFormat::HlsFmp4,
            Manifest::Multivariant(Packaging::Cmaf),
        ),
        "manifest.mpd" => (OutputFormat::Dash, Manifest::Mpd),
        file => match file.split_once('/') {
            Some((rung, "ts.m3u8")) => (OutputFormat::HlsTs, Manifest::Media(rung, Packaging::Ts)),
            Some((rung, "fmp4.m3u8")) => (
                OutputFormat::HlsFmp4,
                Manifest::Media(rung, Packaging::Cmaf),
            ),
            _ => return Err(not_found(format!("no {file} under channel {slug}"))),
        },
    };
    if !access.settings.allows(output) {
        return Err(not_found(format!(
            "partner {partner} is not allowed {} of channel {slug}",
            output.as_str()
        )));
    }
    let playout = state
        .directory
        .get(slug)
        .filter(|playout| playout.channel().on_air)
        .ok_or_else(|| not_found(format!("channel {slug} is not on air")))?;
    if !playout.publishes(output) {
        return Err(not_found(format!(
            "channel {slug} is not published as {}",
            output.as_str()
        )));
    }
    if let Some(stitched) = stitched {
        match kind {
            Manifest::Multivariant(packaging) => {
                return stitched.start(Entry::Hls(packaging), viewer).await;
            }
            Manifest::Mpd => return stitched.start(Entry::Dash, viewer).await,
            Manifest::Media(..) => {}
        }
    }
    let (text, content_type, max_age) = match kind {
        Manifest::Multivariant(packaging) => (
            render_multivariant_with(&playout, packaging),
            PLAYLIST_CONTENT_TYPE,
            5,
        ),
        Manifest::Media(rung, packaging) => {
            // HLS-TS as the channel's own: the segments that open and close a break carry its
            // cue (at `{rung}/scte35/…`, under the prefix); the conformance check renders the same.
            let options = access.settings.media_playlist_options(packaging);
            let text = render_media_playlist_with(&playout, rung, now, &options)
                .ok_or_else(|| not_found(format!("channel {slug} has no rung {rung}")))?;
            (text, PLAYLIST_CONTENT_TYPE, half_segment(&playout))
        }
        Manifest::Mpd => {
            let text = render_mpd(&playout, now, &MpdOptions::default())
                .ok_or_else(|| not_found(format!("channel {slug} has no DASH output")))?;
            (text, MPD_CONTENT_TYPE, half_segment(&playout))
        }
    };
    let text = under_prefix(&text, &prefix);
    let cache_control = HeaderValue::try_from(format!("public, max-age={max_age}"))
        .expect("a number is a valid header value");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, cache_control),
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
    ];
    Ok((headers, text).into_response())
}

/// Whether the request may go on: its token valid for `slug` (empty: the partner's own
/// prefix, for the partner-wide EPG), or no token where the partner does not sign.
fn check_token(
    access: &PartnerAccess,
    slug: &str,
    token: Option<&str>,
    now: Timestamp,
) -> Result<(), Refused> {
    let partner = &access.name;
    match token {
        Some(token) => signing::check_token(&access.keys, partner, slug, token, now).map_err(
            |refusal| match refusal {
                signing::TokenRefusal::BadSignature { .. } if slug.is_empty() => forbidden(format!(
                    "the URL's signature does not match partner {partner}'s keys for its own prefix /p/{partner}/"
                )),
                refusal => forbidden(refusal.to_string()),
            },
        ),
        None if access.settings.signed => Err(forbidden(
            signing::TokenRefusal::Unsigned {
                partner: partner.clone(),
            }
            .to_string(),
        )),
        None => Ok(()),
    }
}

/// `epg.xml`, `epg.json` or `t/{token}/epg.…` right after the partner: the partner-wide EPG, its
/// token and file. With a channel named `t`, only a token-shaped segment is a token.
fn parse_partner_wide(rest: &str, t_is_a_channel: bool) -> Option<(Option<&str>, &str)> {
    let is_epg = |file: &str| matches!(file, "epg.xml" | "epg.json");
    if is_epg(rest) {
        return Some((None, rest));
    }
    let (token, file) = rest.strip_prefix("t/")?.split_once('/')?;
    (is_epg(file) && (!t_is_a_channel || signing::is_token(token))).then_some((Some(token), file))
}

/// The feed a partner's [`EpgFormat`] names, and what the format is called in its settings.
fn feed_of(format: EpgFormat) -> (PartnerFeed, &'static str) {
    match format {
        EpgFormat::Xmltv => (PartnerFeed::Xmltv, "xmltv"),
        EpgFormat::WurlJson => (PartnerFeed::WurlJson, "wurl-json"),
        EpgFormat::RokuJson => (PartnerFeed::RokuJson, "roku-json"),
    }
}

/// The partner's EPG of `slug`, or of every channel it carries that is on air (`None`), in the
/// format it reads, asked for as `file`.
fn partner_epg(
    state: &PartnerRoutesState,
    access: &PartnerAccess,
    slug: Option<&str>,
    file: &str,
) -> Result<Response, Refused> {
    let partner = &access.name;
    let (feed, format) = feed_of(access.settings.epg);
    if file != feed.file_name() {
        return Err(not_found(format!(
            "partner {partner} reads its EPG as {format}, at {}",
            feed.file_name()
        )));
    }
    let planned = state.plans.planned();
    let on_air = |slug: &str| {
        planned
            .iter()
            .find(|channel| channel.slug == slug && channel.on_air)
    };
    let slugs: Vec<&str> = match slug {
        Some(slug) => {
            on_air(slug).ok_or_else(|| not_found(format!("channel {slug} is not on air")))?;
            vec![slug]
        }
        None => access
            .settings
            .channels
            .iter()
            .map(String::as_str)
            .collect(),
    };
    let now = state.clock.now();
    let channels: Vec<_> = slugs
        .into_iter()
        .filter_map(|slug| {
            let channel = on_air(slug)?;
            let zone = state
                .directory
                .get(slug)
                .map_or(chrono_tz::Tz::UTC, |playout| playout.channel().time_zone);
            let id = xmltv_channel_id(slug, &state.xmltv_domain);
            Some(feed_channel(
                FeedChannel {
                    id: &id,
                    display_name: &channel.name,
                    icon_url: None,
                    plan: &channel.plan,
                    zone,
                },
                feed,
                now,
            ))
        })
        .collect();
    let (text, problems) = partner_document(feed, &channels, now);
    for problem in problems {
        tracing::warn!(%problem, partner, "a partner EPG has a problem");
    }
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(feed.content_type()),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        ),
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
    ];
    Ok((headers, text).into_response())
}

enum Manifest<'a> {
    Multivariant(Packaging),
    Media(&'a str, Packaging),
    Mpd,
}

fn half_segment(playout: &onair_playout::ChannelPlayout) -> i64 {
    (playout.target_duration_secs() / 2).max(1)
}

/// `text` with every `/media/…` URL (a playlist line, an `EXT-X-MAP` URI, an MPD template)
/// moved under `prefix`.
fn under_prefix(text: &str, prefix: &str) -> String {
    let moved = format!("{prefix}media/");
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("/media/") {
            Some(rest) => {
                out.push_str(&moved);
                out.push_str(rest);
            }
            None => out.push_str(&line.replace("\"/media/", &format!("\"{moved}"))),
        }
    }
    out
}

/// A break's first segment or the first after it, with the cue its URL names inside
/// (`{event}/{cue}/{pts}/{duration}/{path}`, as the channel's own `scte35/` URLs).
async fn cued_segment(
    state: &PartnerRoutesState,
    slug: &str,
    rung: &str,
    cued: &str,
) -> Result<Response, Refused> {
    let bad = |message: String| Refused(StatusCode::BAD_REQUEST, message);
    let mut parts = cued.splitn(5, '/');
    let (Some(event), Some(cue), Some(pts), Some(duration), Some(path)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad(format!(
            "scte35/{cued}: not scte35/{{event}}/{{cue}}/{{pts}}/{{duration}}/{{path}}"
        )));
    };
    let cue =
        SegmentCue::parse(event, cue, pts, duration).map_err(|error| bad(error.to_string()))?;
    if !path.ends_with(".ts") {
        return Err(bad(format!(
            "refused segment path {path:?}: only .ts files carry a cue"
        )));
    }
    let playout = state
        .directory
        .get(slug)
        .filter(|playout| playout.channel().on_air && playout.publishes(OutputFormat::HlsTs))
        .ok_or_else(|| not_found(format!("channel {slug} is not on air as hls-ts")))?;
    if playout.rung_index(rung).is_none() {
        return Err(not_found(format!("channel {slug} has no rung {rung}")));
    }
    let segment = read_media(state, path).await?;
    let body = scte35_segments::with_cue(segment, &cue, slug, path);
    Ok((scte35_segments::segment_headers("video/mp2t"), body).into_response())
}

/// A shared segment or init file, under the partner's prefix.
async fn media_file(state: &PartnerRoutesState, path: &str) -> Result<Response, Refused> {
    let bytes = read_media(state, path).await?;
    let content_type = match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("ts") => "video/mp2t",
        Some("m4s") => "video/iso.segment",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    };
    Ok((scte35_segments::segment_headers(content_type), bytes).into_response())
}

/// The file at `path` under the media root (a plain relative path).
async fn read_media(state: &PartnerRoutesState, path: &str) -> Result<Vec<u8>, Refused> {
    if path.contains('%') || !scte35_segments::is_plain_path(path) {
        return Err(Refused(
            StatusCode::BAD_REQUEST,
            format!("refused media path {path:?}: only plain relative paths are served"),
        ));
    }
    match tokio::fs::read(state.media_root.join(path)).await {
        Ok(bytes) => Ok(bytes),
        Err(error) => {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(%error, path, "cannot read a media file for a partner");
            }
            Err(not_found(format!("no file {path}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_urls_move_under_the_prefix_and_nothing_else_does() {
        let playlist = "#EXTM3U\n#EXT-X-MAP:URI=\"/media/assets/1/init.mp4\"\n#EXTINF:2.000,\n/media/assets/1/360p/ts/00000.ts\n360p/ts.m3u8\n";
        assert_eq!(
            under_prefix(playlist, "/p/acme/t/9.ab/demo/"),
            "#EXTM3U\n#EXT-X-MAP:URI=\"/p/acme/t/9.ab/demo/media/assets/1/init.mp4\"\n#EXTINF:2.000,\n/p/acme/t/9.ab/demo/media/assets/1/360p/ts/00000.ts\n360p/ts.m3u8\n"
        );
        let mpd = "<SegmentTemplate initialization=\"/media/a/$RepresentationID$/init.mp4\" media=\"/media/a/$RepresentationID$/$Number$.m4s\"/>\n";
        assert_eq!(
            under_prefix(mpd, "/p/acme/demo/"),
            "<SegmentTemplate initialization=\"/p/acme/demo/media/a/$RepresentationID$/init.mp4\" media=\"/p/acme/demo/media/a/$RepresentationID$/$Number$.m4s\"/>\n"
        );
    }

    #[test]
    fn a_token_segment_after_t_is_a_token_and_anything_else_a_channel() {
        let token = signing::token("k", "acme", "demo", 1_790_000_000);
        let signed = format!("t/{token}/demo/360p/ts.m3u8");
        let parsed = parse_path(&signed, false).unwrap();
        assert_eq!(
            (parsed.token, parsed.slug, parsed.file),
            (Some(token.as_str()), "demo", "360p/ts.m3u8")
        );
        assert_eq!(
            parse_path(&signed, true).unwrap().token,
            Some(token.as_str())
        );
        // A damaged token is still read as one, to be refused as one…
        let damaged = parse_path("t/12.zz/demo/master.m3u8", false).unwrap();
        assert_eq!((damaged.token, damaged.slug), (Some("12.zz"), "demo"));
        // …unless the partner carries a channel named `t`.
        let parsed = parse_path("t/360p/ts.m3u8", true).unwrap();
        assert_eq!(
            (parsed.token, parsed.slug, parsed.file),
            (None, "t", "360p/ts.m3u8")
        );
        let parsed = parse_path("demo/media/assets/1/a.ts", false).unwrap();
        assert_eq!((parsed.slug, parsed.file), ("demo", "media/assets/1/a.ts"));
        let parsed = parse_path("t/epg.xml", true).unwrap();
        assert_eq!((parsed.slug, parsed.file), ("t", "epg.xml"));
        assert!(parse_path("demo", false).is_none());
    }

    #[test]
    fn the_partner_wide_epg_is_its_file_right_after_the_partner_or_its_token() {
        let token = signing::token("k", "acme", "", 1_790_000_000);
        assert_eq!(
            parse_partner_wide("epg.xml", false),
            Some((None, "epg.xml"))
        );
        let signed = format!("t/{token}/epg.json");
        assert_eq!(
            parse_partner_wide(&signed, true),
            Some((Some(token.as_str()), "epg.json"))
        );
        assert_eq!(
            parse_partner_wide("t/12.zz/epg.xml", false),
            Some((Some("12.zz"), "epg.xml")),
            "a damaged token, to be refused as one"
        );
        // A channel named `t`, and what is not the EPG.
        assert_eq!(parse_partner_wide("t/epg.xml", true), None);
        assert_eq!(parse_partner_wide("t/x/epg.xml", true), None);
        assert_eq!(parse_partner_wide("demo/epg.xml", false), None);
        assert_eq!(parse_partner_wide("epg.txt", false), None);
    }
}
