//! The LL-HLS media playlist of a rendition and the multivariant playlist of a source.

use std::fmt::Write as _;

use onair_domain::media::AudioTrack;
use onair_domain::{Ladder, Timestamp};

use super::{LlRendition, LlSegment, MEDIA_PLAYLIST_NAME, RenditionReport, init_uri};

/// EXT-X-VERSION: 6, for EXT-X-MAP outside an I-frame playlist, as the channel's HLS-fMP4
/// playlists say it. The LL-HLS tags need no higher one (Apple's "Enabling Low-Latency HLS":
/// "the Low-Latency HLS syntax is backward-compatible, so we can use a version number of six").
const VERSION: u8 = 6;

/// Writes `millis` as seconds with three decimals.
fn push_seconds(out: &mut String, millis: i64) {
    let _ = write!(out, "{}.{:03}", millis / 1000, millis % 1000);
}

/// The media playlist of `rendition`, with a rendition report for each of `others` (the
/// source's other renditions, see [`LlRendition::sibling_report`]).
///
/// In order: the header (EXT-X-VERSION 6, as EXT-X-MAP needs: the LL-HLS tags need none higher,
/// and RFC 8216bis 6.2.1 says the version "SHOULD NOT be greater than what is required"),
/// EXT-X-TARGETDURATION, EXT-X-SERVER-CONTROL (CAN-BLOCK-RELOAD, HOLD-BACK of three target
/// durations, PART-HOLD-BACK of three part targets), EXT-X-PART-INF, the media and
/// discontinuity sequences; then each segment: EXT-X-DISCONTINUITY where its run starts (not
/// on the first), EXT-X-MAP and EXT-X-PROGRAM-DATE-TIME on the first and where a run starts,
/// its EXT-X-PART lines, and EXTINF with its URI once complete; the segment in progress ends
/// the list with its parts alone; then EXT-X-PRELOAD-HINT for the next part, EXT-X-ENDLIST once
/// ended, and the rendition reports. Durations are milliseconds between instants truncated to
/// the millisecond, so a segment's parts add up to its EXTINF exactly.
pub fn render_media_playlist(rendition: &LlRendition, others: &[RenditionReport]) -> String {
    let config = rendition.config();
    let target_duration = rendition.target_duration_secs();
    let mut out = String::with_capacity(400 + rendition.segments().len() * 260);
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{target_duration}\n",
        VERSION
    );
    out.push_str("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,HOLD-BACK=");
    push_seconds(&mut out, 3 * target_duration * 1000);
    out.push_str(",PART-HOLD-BACK=");
    push_seconds(&mut out, config.part_hold_back().as_millis());
    out.push_str("\n#EXT-X-PART-INF:PART-TARGET=");
    push_seconds(&mut out, config.part_target.as_millis());
    let _ = write!(
        out,
        "\n#EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
        rendition.media_sequence(),
        rendition.discontinuity_sequence(),
    );
    let mut previous: Option<&LlSegment> = None;
    for segment in rendition.segments() {
        write_segment(&mut out, segment, previous);
        previous = Some(segment);
    }
    if let Some(hint) = rendition.preload_hint_uri() {
        let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"");
    }
    if rendition.has_ended() {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    for report in others {
        let _ = write!(
            out,
            "#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={}",
            report.uri, report.last_msn
        );
        if let Some(part) = report.last_part {
            let _ = write!(out, ",LAST-PART={part}");
        }
        out.push('\n');
    }
    out
}

fn write_segment(out: &mut String, segment: &LlSegment, previous: Option<&LlSegment>) {
    let starts_run = previous
        .is_none_or(|previous| previous.discontinuity_sequence != segment.discontinuity_sequence);
    if starts_run {
        if previous.is_some() {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let _ = write!(
            out,
            "#EXT-X-MAP:URI=\"{}\"\n#EXT-X-PROGRAM-DATE-TIME:{}\n",
            init_uri(segment.init),
            segment.start.to_rfc3339_millis()
        );
    }
    let mut at = segment.start;
    for part in &segment.parts {
        let end = at + part.duration;
        out.push_str("#EXT-X-PART:DURATION=");
        push_seconds(out, millis_between(at, end));
        let _ = write!(out, ",URI=\"{}\"", segment.part_uri(part));
        if part.independent {
            out.push_str(",INDEPENDENT=YES");
        }
        out.push('\n');
        at = end;
    }
    if segment.complete {
        out.push_str("#EXTINF:");
        push_seconds(
            out,
            millis_between(segment.start, segment.start + segment.duration),
        );
        let _ = write!(out, ",\n{}\n", segment.uri());
    }
}

fn millis_between(start: Timestamp, end: Timestamp) -> i64 {
    end.unix_millis() - start.unix_millis()
}

/// The multivariant playlist of a source's LL-HLS output on `ladder`: an `EXT-X-MEDIA` audio
/// rendition per audio track (`audio-96k/llhls.m3u8`), each in a group of its own, and a variant
/// per rung (`360p/llhls.m3u8`, video only) naming its track's group, highest first, as the
/// channel's HLS-fMP4 multivariant playlist lists them ([`crate::hls`]). A live source has no
/// measured bitrate: BANDWIDTH and AVERAGE-BANDWIDTH are the rung's nominal video bitrate plus
/// its audio track's, as the channel's playlists fall back to.
pub fn render_multivariant(ladder: &Ladder) -> String {
    let tracks = AudioTrack::of_ladder(ladder);
    let mut out = String::with_capacity(64 + (ladder.rungs.len() + tracks.len()) * 180);
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-INDEPENDENT-SEGMENTS\n",
        VERSION
    );
    for track in &tracks {
        let _ = writeln!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{name}\",NAME=\"{name}\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{name}/{MEDIA_PLAYLIST_NAME}\"",
            ladder.audio_channels,
            name = track.name,
        );
    }
    let frame_rate_millis = (u64::from(ladder.frame_rate_num) * 1000
        + u64::from(ladder.frame_rate_den) / 2)
        / u64::from(ladder.frame_rate_den.max(1));
    for rung in &ladder.rungs {
        let track = AudioTrack::of_rung(rung);
        let bandwidth = rung.video_bitrate + track.bitrate;
        let _ = write!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={bandwidth},CODECS=\"{}\",RESOLUTION={}x{},FRAME-RATE={}.{:03},AUDIO=\"{}\"\n{}/{MEDIA_PLAYLIST_NAME}\n",
            rung.codecs(),
            rung.width,
            rung.height,
            frame_rate_millis / 1000,
            frame_rate_millis % 1000,
            track.name,
            rung.name,
        );
    }
    out
}
