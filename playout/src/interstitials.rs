//! HLS Interstitials (RFC 8216bis, appendix D): ads the player schedules itself, at the breaks a
//! shared playlist declares, from an asset list asked for per viewer. Pure functions, as
//! [`crate::hls`]: no IO, no clock reads.
//!
//! - [`render_interstitial_media_playlist`]: the channel's media playlist (the same window,
//!   numbers, segments and SCTE-35 cues, so the planned break, slate, is what a player without
//!   interstitials plays) with, before its first segment, `EXT-X-DEFINE:IMPORT` of the variables
//!   the asset-list URL names and one `EXT-X-DATERANGE` per break it declares:
//!   `ID="ads-{n}"` (`n`: the break's first discontinuity sequence), `CLASS="com.apple.hls.interstitial"`,
//!   the break's `START-DATE` and `DURATION`, `X-PLAYOUT-LIMIT` (the break's duration: the ads
//!   never run over the channel, whatever their media last), `X-ASSET-LIST` (the viewer's asset list, named
//!   through a variable such as `{$sid}`), `X-RESTRICT="SKIP,JUMP"` (the ads are neither skipped
//!   nor seeked past), `X-SNAP="OUT,IN"` (a break starts and ends on segment boundaries) and
//!   `X-TIMELINE-OCCUPIES="RANGE"` (the ads replace that range of the channel). There is no
//!   `X-RESUME-OFFSET`: the channel resumes after what the interstitial played, the asset list's
//!   durations, which add up to the break's (an empty list: the channel's break plays). It is the
//!   same bytes for every viewer.
//! - With a playout limit, hls.js plays the interstitial in a media source of its own rather
//!   than appending it in place. In place, it waits for the channel's buffer to reach the
//!   interstitial's start within 10 ms, and the channel's audio ends up to an AAC frame (21 ms)
//!   before its video at a run's end: it waited there until its live sync jumped into the ads.
//! - A break is declared while any of its segments is listed, as its SCTE-35 cue is: from when
//!   its first segment, which starts a run and so carries its own PROGRAM-DATE-TIME, is listed.
//!   The player then places the interstitial at that segment's start on its media timeline
//!   exactly; declared earlier, ahead of the playlist's last segment, its place would be
//!   reckoned from an older date across segments whose media durations differ from their
//!   EXTINFs by milliseconds (hls.js then waits at the end of the channel's buffer for an
//!   interstitial a few hundredths of a second later, for ever). The player, a few segments
//!   behind the live edge, still has those segments' time to fetch the asset list; and since
//!   decisions are used only when made `freeze_seconds` before their break, every replica
//!   holds the one the asset list is made of by then.
//! - [`render_interstitial_multivariant`]: the channel's multivariant playlist pointing at those
//!   playlists, defining the variables (a viewer's session id) they import.
//! - [`render_asset_playlist`]: a VOD media playlist of an interstitial asset: an ad of a
//!   viewer's break, its segments fetched through the ad's tracking prefix as a stitched break's
//!   are, or the slate after the ads (its runs, the slate looped, one asset).
//!
//! Variable substitution needs `EXT-X-VERSION:8` ([`VERSION`]).

use std::collections::HashMap;
use std::fmt::Write as _;

use onair_domain::{Asset, AssetId, BreakAiring, Packaging, Run, Timestamp};

use crate::ChannelPlayout;
use crate::hls::{
    self, ListedSegment, MediaPlaylistOptions, MultivariantExtras, push_seconds, push_segment_url,
};
use crate::window::ChannelBreaks;

/// The version of every playlist that defines or imports variables.
pub const VERSION: u8 = 8;

/// The `CLASS` of an interstitial `EXT-X-DATERANGE`.
pub const CLASS: &str = "com.apple.hls.interstitial";

/// What an interstitial media playlist declares besides the channel's playlist.
#[derive(Debug, Clone, Copy)]
pub struct InterstitialOptions<'a> {
    /// The `X-ASSET-LIST` of a break: `{break}` stands for the break's first media sequence. It
    /// may name variables (`{$sid}`), each of which `imports` must list.
    pub asset_list_url: &'a str,
    /// The variables imported from the multivariant playlist (`EXT-X-DEFINE:IMPORT`).
    pub imports: &'a [&'a str],
}

/// The interstitial media playlist of `rung` (or, in CMAF, an audio track) at `now`: the
/// channel's own with the interstitials declared, the same for every viewer. `None` as for
/// [`hls::render_media_playlist_with`].
pub fn render_interstitial_media_playlist(
    playout: &ChannelPlayout,
    rung: &str,
    now: Timestamp,
    options: &MediaPlaylistOptions,
    interstitials: &InterstitialOptions<'_>,
) -> Option<String> {
    let track = playout.media_track(rung, options.packaging)?;
    hls::render_track_playlist(
        playout,
        track,
        now,
        options,
        &ChannelBreaks,
        Some(interstitials),
    )
}

/// The channel's multivariant playlist in `packaging` whose media playlists are at
/// `{media_prefix}{rung}/…`, defining `defines` (`EXT-X-DEFINE:NAME`, `VALUE`) for them to
/// import. Names and values are written as given: letters, digits, `-` and `_`.
pub fn render_interstitial_multivariant(
    playout: &ChannelPlayout,
    packaging: Packaging,
    media_prefix: &str,
    defines: &[(&str, &str)],
) -> String {
    hls::write_multivariant(
        playout,
        packaging,
        &MultivariantExtras {
            version: Some(VERSION),
            defines,
            uri_prefix: media_prefix,
        },
    )
}

/// How long `runs` play in milliseconds, as their asset playlist's EXTINFs add up: an asset's
/// `DURATION` in an asset list.
pub fn runs_millis(runs: &[Run]) -> i64 {
    runs.iter()
        .map(|run| {
            (run.track.start(run.first_segment + run.n_segments)
                - run.track.start(run.first_segment))
            .as_millis()
        })
        .sum()
}

/// The VOD media playlist of `runs` laid end to end (an ad, or the slate looped after the ads),
/// each playing segments of its asset in `assets`, for `rung` (or, in CMAF, an audio track) of
/// the channel's ladder in `packaging`: a discontinuity (and its init segment) between runs,
/// files at `{tracking}media/{path}` (or `/media/{path}`), EXTINFs truncated to the millisecond
/// from each run's start so they add up to [`runs_millis`]. `None` when the ladder has no such
/// rung, or an asset is missing or lacks the rendition or a segment.
pub fn render_asset_playlist(
    playout: &ChannelPlayout,
    runs: &[Run],
    assets: &HashMap<AssetId, Asset>,
    rung: &str,
    packaging: Packaging,
    tracking: Option<&str>,
) -> Option<String> {
    let track = playout.media_track(rung, packaging)?;
    let (name, rendition_packaging) = playout.rendition_key(track, packaging)?;
    let longest = runs
        .iter()
        .flat_map(|run| {
            (run.first_segment..run.first_segment + run.n_segments)
                .map(|index| run.track.duration(index))
        })
        .max()?;
    let n_segments: usize = runs.iter().map(|run| run.n_segments as usize).sum();
    let mut out = String::with_capacity(128 + n_segments * (48 + name.len()));
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n",
        hls::version(packaging),
        longest.ceil_secs(),
    );
    for (position, run) in runs.iter().enumerate() {
        let rendition = assets
            .get(&run.asset_id)?
            .rendition(name, rendition_packaging)?;
        if position > 0 {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if let Some(init_path) = rendition.init_path.as_deref() {
            out.push_str("#EXT-X-MAP:URI=\"");
            push_segment_url(&mut out, tracking, init_path);
            out.push_str("\"\n");
        }
        let base = run.track.start(run.first_segment);
        let millis_at = |index: u32| (run.track.start(index) - base).as_millis();
        for index in run.first_segment..run.first_segment + run.n_segments {
            let segment = rendition.segments.get(index as usize)?;
            out.push_str("#EXTINF:");
            push_seconds(&mut out, millis_at(index + 1) - millis_at(index));
            out.push_str(",\n");
            push_segment_url(&mut out, tracking, &segment.path);
            out.push('\n');
        }
    }
    out.push_str("#EXT-X-ENDLIST\n");
    Some(out)
}

/// The lines an interstitial media playlist writes before its first segment: the imports, then
/// a DATERANGE per break `listed` has a segment of.
pub(crate) fn declarations(
    listed: &[ListedSegment<'_>],
    options: &InterstitialOptions<'_>,
) -> String {
    let mut out = String::new();
    for name in options.imports {
        let _ = writeln!(out, "#EXT-X-DEFINE:IMPORT=\"{name}\"");
    }
    let mut breaks: Vec<BreakAiring> = Vec::new();
    for segment in listed {
        if let Some(airing) = segment.aired.in_break
            && !breaks.contains(&airing)
        {
            breaks.push(airing);
        }
    }
    for airing in &breaks {
        write_interstitial(&mut out, airing, options.asset_list_url);
    }
    out
}

fn write_interstitial(out: &mut String, airing: &BreakAiring, asset_list_url: &str) {
    let _ = write!(
        out,
        "#EXT-X-DATERANGE:ID=\"ads-{}\",CLASS=\"{CLASS}\",START-DATE=\"{}\",DURATION=",
        airing.first_discontinuity_sequence,
        airing.start.to_rfc3339_millis(),
    );
    let millis = airing.end().unix_millis() - airing.start.unix_millis();
    push_seconds(out, millis);
    out.push_str(",X-PLAYOUT-LIMIT=");
    push_seconds(out, millis);
    out.push_str(",X-ASSET-LIST=\"");
    out.push_str(&asset_list_url.replace("{break}", &airing.first_media_sequence.to_string()));
    out.push_str("\",X-RESTRICT=\"SKIP,JUMP\",X-SNAP=\"OUT,IN\",X-TIMELINE-OCCUPIES=\"RANGE\"\n");
}

#[cfg(test)]
mod tests;
