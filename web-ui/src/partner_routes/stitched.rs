//! A stitched partner's viewers' SSAI sessions, under the partner's channel prefix
//! `/p/{partner}/[t/{token}/]{slug}/`, so that its CDN key and its token cover every URL a
//! player of the partner fetches:
//!
//! | under the prefix | what |
//! |---|---|
//! | `master.m3u8[?NAME=VALUE…]`, `master-fmp4.m3u8[?…]` | starts a session, with parameters or without, and answers its multivariant playlist, whose media playlists are the session's (`sessions/{id}/…`, relative) |
//! | `manifest.mpd[?…]` | starts a session and redirects (302) to its MPD |
//! | `sessions/{id}/master.m3u8`, `…/master-fmp4.m3u8`, `…/manifest.mpd` | the session's manifests |
//! | `sessions/{id}/{rung}/ts.m3u8`, `…/{rung or audio track}/fmp4.m3u8` | its media playlists |
//! | `sessions/{id}/ads/{break}/{position}/media/{path}` | an ad segment: fires its beacons and redirects (302) to `media/{path}` under the prefix |
//!
//! Each answers only for an output the partner is allowed. The session's ads come from the
//! partner's tag ([`AdEngine::create_partner_session`]); it is known only at this partner's URLs:
//! another partner's session or one of the channel's own viewers is a 404 here, and this one is
//! a 404 at theirs. Its media playlists are the session's as the channel's own sessions get
//! them but for the SCTE-35 tags: a break onair filled carries none (it is filled: a downstream
//! inserter must not fill it again); a break left unfilled (no answer in time, no creative ready,
//! a late decision) airs the channel's slate and keeps its tags in both dialects, as the
//! channel's own playlists mark it: an avail the partner may still fill. No MPEG-TS segment is
//! listed with a cue inside. Its MPD likewise has no `EventStream` in the breaks it fills. The
//! renderers leave those cues out (`omit_filled_cues` in playout's options).
//! A bad session parameter is a 400 with its message.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onair_control::Refusal;
use onair_control::ads::{AdEngine, Session, parse_params};
use onair_control::partners::PartnerAccess;
use onair_domain::{OutputFormat, Packaging};
use onair_metrics::{ManifestKind, timed_render};
use onair_playout::{
    ChannelPlayout, CueDialect, MediaPlaylistOptions, MpdOptions, render_multivariant_with,
};

use super::{Refused, not_found, under_prefix};
use crate::sessions::{
    MPD, PLAYLIST, playlist_response, prefix_uris, query_pairs, session_media_text,
    session_mpd_text,
};

/// What a request that starts a session asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// A multivariant playlist, HLS-TS or HLS-fMP4.
    Hls(Packaging),
    /// The MPD.
    Dash,
}

/// Who is asking: the query of the request and the viewer's address and agent.
#[derive(Debug, Clone, Default)]
pub(super) struct Viewer {
    pub query: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A stitched partner's channel, as one request sees it.
pub(super) struct Stitched<'a> {
    engine: &'a Arc<AdEngine>,
    access: &'a PartnerAccess,
    slug: &'a str,
    /// `/p/{partner}/[t/{token}/]{slug}/`, as the request named it.
    prefix: &'a str,
}

impl<'a> Stitched<'a> {
    /// The partner's channel, when the partner is stitched.
    pub(super) fn of(
        engine: &'a Arc<AdEngine>,
        access: &'a PartnerAccess,
        slug: &'a str,
        prefix: &'a str,
    ) -> Option<Stitched<'a>> {
        matches!(
            access.settings.ads,
            onair_control::partners::AdMode::Stitched { .. }
        )
        .then_some(Stitched {
            engine,
            access,
            slug,
            prefix,
        })
    }

    /// Starts a session for `viewer` and answers `entry` of it.
    pub(super) async fn start(&self, entry: Entry, viewer: Viewer) -> Result<Response, Refused> {
        let pairs = query_pairs(viewer.query.as_deref().unwrap_or_default()).map_err(refused)?;
        let params = parse_params(&pairs).map_err(refused)?;
        let session = self
            .engine
            .create_partner_session(
                self.access,
                self.slug,
                params,
                viewer.client_ip,
                viewer.user_agent,
            )
            .await
            .map_err(refused)?;
        match entry {
            Entry::Hls(packaging) => {
                self.multivariant(packaging, &format!("sessions/{}/", session.id))
            }
            Entry::Dash => Ok(redirect(format!(
                "{}sessions/{}/manifest.mpd",
                self.prefix, session.id
            ))),
        }
    }

    /// Answers `rest`, what follows `sessions/` under the prefix.
    pub(super) async fn session_request(&self, rest: &str) -> Result<Response, Refused> {
        let (id, file) = rest
            .split_once('/')
            .ok_or_else(|| not_found(format!("no sessions/{rest} under channel {}", self.slug)))?;
        let session = self
            .engine
            .partner_session(&self.access.name, self.slug, id)
            .await
            .map_err(refused)?;
        if let Some(ad) = file.strip_prefix("ads/") {
            return self.ad_segment(&session, ad).await;
        }
        match file {
            "master.m3u8" => self.multivariant(Packaging::Ts, ""),
            "master-fmp4.m3u8" => self.multivariant(Packaging::Cmaf, ""),
            "manifest.mpd" => self.mpd(&session),
            _ => match file.split_once('/') {
                Some((rung, "ts.m3u8")) => self.media(&session, rung, Packaging::Ts),
                Some((rung, "fmp4.m3u8")) => self.media(&session, rung, Packaging::Cmaf),
                _ => Err(not_found(format!(
                    "no {file} in session {id} of channel {}",
                    self.slug
                ))),
            },
        }
    }

    /// The channel, on air and published as `output`, which the partner is allowed.
    fn published(&self, output: OutputFormat) -> Result<Arc<ChannelPlayout>, Refused> {
        let (partner, slug) = (&self.access.name, self.slug);
        if !self.access.settings.allows(output) {
            return Err(not_found(format!(
                "partner {partner} is not allowed {} of channel {slug}",
                output.as_str()
            )));
        }
        self.engine
            .playout(slug)
            .filter(|playout| playout.channel().on_air && playout.publishes(output))
            .ok_or_else(|| {
                not_found(format!(
                    "channel {slug} is not on air as {}",
                    output.as_str()
                ))
            })
    }

    /// The session's multivariant playlist, its URIs prefixed with `relative` (empty under the
    /// session's own path, `sessions/{id}/` when it answers the channel's URL).
    fn multivariant(&self, packaging: Packaging, relative: &str) -> Result<Response, Refused> {
        let output = MediaPlaylistOptions {
            packaging,
            ..MediaPlaylistOptions::default()
        }
        .output_format();
        let playout = self.published(output)?;
        let text = timed_render(ManifestKind::HlsMultivariant, || {
            render_multivariant_with(&playout, packaging)
        });
        let text = if relative.is_empty() {
            text
        } else {
            prefix_uris(&text, relative)
        };
        Ok(any_origin(playlist_response(text, PLAYLIST)))
    }

    /// A media playlist of the session, without the cue tags of the breaks it fills.
    fn media(
        &self,
        session: &Session,
        rung: &str,
        packaging: Packaging,
    ) -> Result<Response, Refused> {
        let options = MediaPlaylistOptions {
            packaging,
            cues_in_segments: false,
            dialect: CueDialect::Both,
            omit_filled_cues: true,
            ..MediaPlaylistOptions::default()
        };
        let playout = self.published(options.output_format())?;
        let text = session_media_text(self.engine, &playout, session, rung, &options);
        let text = text
            .ok_or_else(|| not_found(format!("channel {} has no rendition {rung}", self.slug)))?;
        let text = self.under_prefix(&text);
        Ok(any_origin(playlist_response(text, PLAYLIST)))
    }

    fn mpd(&self, session: &Session) -> Result<Response, Refused> {
        let playout = self.published(OutputFormat::Dash)?;
        let options = MpdOptions {
            omit_filled_cues: true,
            ..MpdOptions::default()
        };
        let text = session_mpd_text(self.engine, &playout, session, &options);
        let text =
            text.ok_or_else(|| not_found(format!("channel {} has no DASH output", self.slug)))?;
        let text = self.under_prefix(&text);
        Ok(any_origin(playlist_response(text, MPD)))
    }

    /// `{break}/{position}/media/{path}`: fires what the fetch means and redirects to the
    /// segment under the prefix.
    async fn ad_segment(&self, session: &Session, ad: &str) -> Result<Response, Refused> {
        let bad = |message: String| Refused(StatusCode::BAD_REQUEST, message);
        let mut parts = ad.splitn(3, '/');
        let (Some(break_sequence), Some(position), Some(rest)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(not_found(format!("no ads/{ad} in session {}", session.id)));
        };
        let path = rest
            .strip_prefix("media/")
            .ok_or_else(|| not_found(format!("no ads/{ad} in session {}", session.id)))?;
        let break_sequence: u64 = break_sequence
            .parse()
            .map_err(|_| bad(format!("break {break_sequence:?} is not a segment number")))?;
        let position: u32 = position
            .parse()
            .map_err(|_| bad(format!("ad position {position:?} is not a number")))?;
        let target = self
            .engine
            .segment_fetched(
                self.slug,
                Some(&self.access.name),
                &session.id,
                break_sequence,
                position,
                path,
            )
            .await
            .map_err(refused)?;
        Ok(any_origin(redirect(under_prefix(&target, self.prefix))))
    }

    /// `text` with the shared files' URLs and the session's ad URLs (which its tracking
    /// prefix puts under the partner's unsigned prefix) under the request's prefix.
    fn under_prefix(&self, text: &str) -> String {
        let text = under_prefix(text, self.prefix);
        let unsigned = format!("/p/{}/{}/", self.access.name, self.slug);
        if unsigned == self.prefix {
            text
        } else {
            text.replace(&unsigned, self.prefix)
        }
    }
}

fn refused(refusal: Refusal) -> Refused {
    let status = crate::api::error::status_of(&refusal);
    if status.is_server_error() {
        tracing::error!(%refusal, "a stitched partner request failed");
    }
    Refused(status, refusal.to_string())
}

fn redirect(location: String) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::try_from(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
