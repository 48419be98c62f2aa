//! HLS manifests as pure functions of (channel playout, now, options): no IO, no clock reads.
//!
//! Every number in a media playlist comes from the timeline's prefix sums, so any replica, at
//! any time, renders the same bytes for the same instant, and a playlist never contradicts an
//! earlier one:
//!
//! - The window is [`Timeline::live_window`]: the last `window_segments` segments that have
//!   ended by `now`. A timeline that has ended keeps showing its last window, without
//!   EXT-X-ENDLIST: the channel is 24/7 and a newer timeline will continue its numbering.
//! - EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE are those of the first listed
//!   segment, and no EXT-X-DISCONTINUITY precedes it, so the discontinuity count stays exact as
//!   tags slide out of the window.
//! - EXT-X-TARGETDURATION is the timeline's longest segment rounded up, the same for every window.
//! - EXT-X-PROGRAM-DATE-TIME is on the first segment and after every discontinuity.
//! - EXTINF is the segment's end minus its start, both truncated to the millisecond as
//!   PROGRAM-DATE-TIME truncates them. So each EXTINF is within a millisecond of the exact
//!   duration, is the same whenever the segment is listed, and the durations add up exactly:
//!   PDT(i + 1) = PDT(i) + EXTINF(i), with no drift however long the run.
//! - Before the first segment has ended the window is empty. The playlist is then still valid
//!   HLS with no segment, numbered as its first segment will be, so nothing goes back when
//!   it fills; players poll it again.
//!
//! Variants are parameters, not forks: [`MediaPlaylistOptions`] picks the packaging (MPEG-TS, or
//! CMAF with EXT-X-MAP), and the writer (`write_media_playlist`) takes a header and a list of
//! segments with their files, so a per-session playlist whose break runs play ads will list its
//! own segments through the same writer.

use std::fmt::Write as _;

use onair_domain::{OutputFormat, Packaging, Rung, SegmentAt, Timeline, Timestamp};

use crate::ChannelPlayout;

/// Where segment and init files are served from: paths in renditions are relative to it.
pub const MEDIA_URL_PREFIX: &str = "/media/";

/// How [`render_media_playlist_with`] renders a media playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaPlaylistOptions {
    /// `Ts`: MPEG-TS segments, EXT-X-VERSION 3. `Cmaf`: fMP4 fragments, each run preceded by an
    /// EXT-X-MAP of its asset's init segment, EXT-X-VERSION 6.
    pub packaging: Packaging,
}

impl Default for MediaPlaylistOptions {
    fn default() -> Self {
        MediaPlaylistOptions {
            packaging: Packaging::Ts,
        }
    }
}

impl MediaPlaylistOptions {
    /// The output a channel must publish for this playlist to exist.
    pub fn output_format(&self) -> OutputFormat {
        match self.packaging {
            Packaging::Ts => OutputFormat::HlsTs,
            Packaging::Cmaf => OutputFormat::HlsFmp4,
        }
    }

    fn version(&self) -> u8 {
        match self.packaging {
            Packaging::Ts => 3,
            // EXT-X-MAP outside an I-frame playlist (RFC 8216, section 7).
            Packaging::Cmaf => 6,
        }
    }
}

/// The multivariant playlist of a channel's HLS-TS output: one variant per rung, highest first,
/// each at `{rung}/ts.m3u8` relative to `/channels/{slug}/master.m3u8`.
///
/// BANDWIDTH and AVERAGE-BANDWIDTH are the highest measured over the channel's assets, or the
/// rung's nominal bitrate where no asset has a measure.
pub fn render_multivariant(playout: &ChannelPlayout) -> String {
    let ladder = playout.ladder();
    let frame_rate_millis = (u64::from(ladder.frame_rate_num) * 1000
        + u64::from(ladder.frame_rate_den) / 2)
        / u64::from(ladder.frame_rate_den.max(1));
    let mut out = String::with_capacity(64 + ladder.rungs.len() * 160);
    out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for rung in &ladder.rungs {
        let (peak, average) = advertised_bandwidth(playout, rung, Packaging::Ts);
        let _ = write!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},CODECS=\"{}\",RESOLUTION={}x{},FRAME-RATE={}.{:03}\n{}/ts.m3u8\n",
            rung.codecs(),
            rung.width,
            rung.height,
            frame_rate_millis / 1000,
            frame_rate_millis % 1000,
            rung.name,
        );
    }
    out
}

/// (peak, average) bits per second for a rung: the highest over the assets' renditions, each
/// falling back to the rung's nominal bitrate when no rendition has it measured.
fn advertised_bandwidth(playout: &ChannelPlayout, rung: &Rung, packaging: Packaging) -> (u32, u32) {
    let (mut peak, mut average) = (0, 0);
    for rendition in playout
        .assets()
        .values()
        .filter_map(|asset| asset.rendition(&rung.name, packaging))
    {
        peak = peak.max(rendition.peak_bandwidth);
        average = average.max(rendition.average_bandwidth);
    }
    let nominal = rung.total_bitrate();
    let average = if average == 0 { nominal } else { average };
    let peak = if peak == 0 { nominal } else { peak };
    (peak.max(average), average)
}

/// The live HLS-TS media playlist of `rung` at `now`; `None` when the ladder has no such rung or
/// the channel does not publish HLS-TS.
pub fn render_media_playlist(
    playout: &ChannelPlayout,
    rung: &str,
    now: Timestamp,
) -> Option<String> {
    render_media_playlist_with(playout, rung, now, &MediaPlaylistOptions::default())
}

/// The live media playlist of `rung` at `now` in the flavour `options` asks for; `None` when the
/// ladder has no such rung or the channel does not publish that output.
pub fn render_media_playlist_with(
    playout: &ChannelPlayout,
    rung: &str,
    now: Timestamp,
    options: &MediaPlaylistOptions,
) -> Option<String> {
    if !playout.publishes(options.output_format()) {
        return None;
    }
    let rung = playout.ladder().rung(rung)?;
    let timeline = playout.timeline();
    let window = timeline.live_window(now, playout.channel().window_segments as usize);
    // An empty window is numbered as the first segment that will be listed.
    let numbering = window
        .first()
        .copied()
        .or_else(|| timeline.segment_at(timeline.origin()))?;
    let mut listed = Vec::with_capacity(window.len());
    for at in window {
        let run = &timeline.runs()[at.run_index];
        // ChannelPlayout::new checked that every file below exists.
        let rendition = playout
            .assets()
            .get(&run.asset_id)?
            .rendition(&rung.name, options.packaging)?;
        let segment = rendition.segments.get(at.segment_index as usize)?;
        listed.push(ListedSegment {
            at,
            path: &segment.path,
            init_path: rendition.init_path.as_deref(),
        });
    }
    let header = PlaylistHeader {
        version: options.version(),
        target_duration_secs: playout.target_duration_secs(),
        media_sequence: numbering.media_sequence,
        discontinuity_sequence: numbering.discontinuity_sequence,
    };
    let mut out =
        String::with_capacity(160 + listed.iter().map(ListedSegment::size_hint).sum::<usize>());
    write_media_playlist(&mut out, &header, &listed);
    Some(out)
}

/// The tags before the first segment of a media playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaylistHeader {
    pub version: u8,
    pub target_duration_secs: i64,
    pub media_sequence: u64,
    pub discontinuity_sequence: u64,
}

/// One segment as a media playlist lists it: its place on air and its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListedSegment<'a> {
    pub at: SegmentAt,
    /// The media file, relative to the media root.
    pub path: &'a str,
    /// CMAF only: the init segment, relative to the media root. Written as EXT-X-MAP on the first
    /// segment and after every discontinuity.
    pub init_path: Option<&'a str>,
}

impl ListedSegment<'_> {
    fn size_hint(&self) -> usize {
        let boundary = if self.at.starts_run {
            64 + self.init_path.map_or(0, |path| path.len() + 32)
        } else {
            0
        };
        32 + self.path.len() + boundary
    }
}

/// Writes a media playlist listing `segments`, oldest first. Discontinuities and
/// PROGRAM-DATE-TIME follow each segment's `starts_run`; the first segment gets neither a
/// discontinuity (its number is in the header) nor is ever without a PROGRAM-DATE-TIME.
pub(crate) fn write_media_playlist(
    out: &mut String,
    header: &PlaylistHeader,
    segments: &[ListedSegment<'_>],
) {
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
        header.version,
        header.target_duration_secs,
        header.media_sequence,
        header.discontinuity_sequence,
    );
    for (position, segment) in segments.iter().enumerate() {
        let at = &segment.at;
        let first = position == 0;
        if at.starts_run && !first {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if at.starts_run || first {
            if let Some(init_path) = segment.init_path {
                out.push_str("#EXT-X-MAP:URI=\"");
                push_media_url(out, init_path);
                out.push_str("\"\n");
            }
            out.push_str("#EXT-X-PROGRAM-DATE-TIME:");
            out.push_str(&at.start.to_rfc3339_millis());
            out.push('\n');
        }
        let millis = at.end().unix_millis() - at.start.unix_millis();
        let _ = writeln!(out, "#EXTINF:{}.{:03},", millis / 1000, millis % 1000);
        push_media_url(out, segment.path);
        out.push('\n');
    }
}

/// `/media/{path}`, percent-encoding whatever is not unreserved or `/`.
fn push_media_url(out: &mut String, path: &str) {
    out.push_str(MEDIA_URL_PREFIX);
    for byte in path.trim_start_matches('/').bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// What a live window depends on besides the playout: equal keys give equal windows, so a
/// rendered playlist can be reused until the key changes (at the next segment boundary).
/// Finding it is a binary search, with no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WindowKey {
    BeforeOrigin,
    /// The media sequence of the segment airing: the window lists the ones before it.
    Airing(u64),
    Ended,
}

pub(crate) fn window_key(timeline: &Timeline, now: Timestamp) -> WindowKey {
    match timeline.segment_at(now) {
        Some(airing) => WindowKey::Airing(airing.media_sequence),
        None if now < timeline.origin() => WindowKey::BeforeOrigin,
        None => WindowKey::Ended,
    }
}

#[cfg(test)]
mod tests;
