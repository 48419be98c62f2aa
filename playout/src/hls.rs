//! HLS manifests as pure functions of (channel playout, now, options): no IO, no clock reads.
//!
//! Every number in a media playlist comes from the timeline's prefix sums, so any replica, at
//! any time, renders the same bytes for the same instant, and a playlist never contradicts an
//! earlier one:
//!
//! - The window is [`Timeline::live_window`]: the last `window_segments` segments that have
//!   ended by `now`. A timeline with a tail loops its slate after the end, numbered on; one
//!   with neither repeat nor tail keeps showing its last window, without EXT-X-ENDLIST: the
//!   channel is 24/7 and a newer timeline will continue its numbering.
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
//! Ad breaks are marked with SCTE-35 in both dialects players and partners read, from the same
//! `splice_info_section` (see [`onair_domain::scte35`]):
//!
//! - On the break's first segment: `EXT-X-DATERANGE` with `SCTE35-OUT` (hex), `START-DATE` and
//!   `PLANNED-DURATION`, then `EXT-OATCLS-SCTE35` (base64) and `EXT-X-CUE-OUT:<seconds>`.
//! - On each later segment of the break: `EXT-X-CUE-OUT-CONT:ElapsedTime=..,Duration=..,
//!   SCTE35=..`, ElapsedTime measured between the truncated PROGRAM-DATE-TIMEs, so it is the
//!   same whenever the segment is listed and never exceeds Duration.
//! - On the first segment after the break: `EXT-X-CUE-IN` and an `EXT-X-DATERANGE` with the same
//!   ID, `END-DATE`, `DURATION` and `SCTE35-IN`.
//! - A window that starts inside a break repeats the break's opening DATERANGE before its first
//!   segment, so the range is declared while any of its segments is listed.
//!
//! The cue is a `splice_insert` (or, with [`CueCommand::TimeSignal`], a `time_signal` with a
//! placement opportunity descriptor) whose event id is the break's first discontinuity
//! sequence, and whose `pts_time` is the break's start in 90 kHz ticks since the Unix epoch,
//! modulo 2^33: the same on every replica and for every rendition.
//!
//! The channel's own HLS-TS playlists (`MediaPlaylistOptions::cues_in_segments`, which the
//! origin sets) carry the cue in the stream too: the break's first segment is listed at
//! `scte35/{event}/out/{pts_time}/{duration}/{path}` and the first segment after it at
//! `scte35/{event}/in/{pts_time}/{duration}/{path}` (`signal-out`/`signal-in` for
//! `time_signal`), relative to the playlist, where the origin serves the shared file with that
//! section on a PID of its own ([`crate::ts_scte35`]). Only those URLs change; every other
//! segment is the file's `/media/` URL, and sessions, interstitials and CMAF keep file URLs.
//!
//! Variants are parameters, not forks: [`MediaPlaylistOptions`] picks the packaging (MPEG-TS, or
//! CMAF with EXT-X-MAP) and the cue command, and a [`BreakFill`] what airs in the breaks, so a
//! per-session playlist whose breaks play ads ([`render_session_media_playlist`]) goes through
//! the same window and writer as the channel's.
//!
//! MPEG-TS segments carry a rung's video and audio together. CMAF tracks carry one or the other:
//! the HLS-fMP4 multivariant playlist lists one `EXT-X-MEDIA` audio rendition per audio track of
//! the ladder (one per distinct audio bitrate, e.g. `audio-96k`), each in its own group, and
//! every video variant names its rung's group in `AUDIO`, with CODECS and BANDWIDTH covering
//! both. An audio track's media playlist (`audio-96k/fmp4.m3u8`) is written by the same code
//! from the same window as the video's: the same numbers, dates, discontinuities, maps and cues,
//! only the files differ.

use std::fmt::Write as _;

use onair_domain::media::AudioTrack;
use onair_domain::scte35::SpliceInfoSection;
use onair_domain::{BreakAiring, OutputFormat, Packaging, Rung, Ticks, Timestamp};

use crate::ChannelPlayout;
use crate::channel::MediaTrack;
use crate::interstitials::InterstitialOptions;
use crate::ts_scte35::{CueDirection, SegmentCue};
use crate::window::{self, Aired, BreakFill, ChannelBreaks};

/// Where segment and init files are served from: paths in renditions are relative to it.
pub const MEDIA_URL_PREFIX: &str = "/media/";

/// How [`render_media_playlist_with`] renders a media playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaPlaylistOptions {
    /// `Ts`: MPEG-TS segments, EXT-X-VERSION 3. `Cmaf` (or `CmafAudio`, the same): fMP4
    /// fragments of a rung's video or of an audio track, each run preceded by an EXT-X-MAP of
    /// its asset's init segment, EXT-X-VERSION 6.
    pub packaging: Packaging,
    /// The SCTE-35 command that marks ad breaks.
    pub cue: CueCommand,
    /// MPEG-TS only: the break's first segment and the first after it are listed at
    /// `scte35/{event}/{cue}/{pts}/{duration}/{path}`, relative to the playlist, where the
    /// origin serves them with the cue inside ([`crate::ts_scte35`]). Only a playlist served at
    /// `/channels/{slug}/{rung}/ts.m3u8` may ask for it.
    pub cues_in_segments: bool,
    /// Which of the two dialects of break tags the playlist writes (a partner's choice).
    pub dialect: CueDialect,
    /// A break the session's fill airs gets no cue tags (nor cues in its segments): a stitched
    /// partner's players must not insert their own ads over the ones onair stitched. Unfilled
    /// breaks keep theirs.
    pub omit_filled_cues: bool,
}

/// The tags that mark a break in a media playlist: both dialects (the channel's own playlists),
/// or only one, as a partner's SSAI expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CueDialect {
    /// `EXT-X-DATERANGE` and `EXT-X-CUE-OUT`/`CONT`/`IN` with `EXT-OATCLS-SCTE35`.
    #[default]
    Both,
    /// `EXT-X-DATERANGE` with `SCTE35-OUT`/`SCTE35-IN` only.
    DateRange,
    /// `EXT-X-CUE-OUT`/`CONT`/`IN` with `EXT-OATCLS-SCTE35` only.
    CueOut,
}

impl CueDialect {
    fn dateranges(self) -> bool {
        self != CueDialect::CueOut
    }

    fn cue_outs(self) -> bool {
        self != CueDialect::DateRange
    }
}

/// Which SCTE-35 command marks an ad break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CueCommand {
    /// `splice_insert`: out of network with the break's duration and auto-return, then back in.
    #[default]
    SpliceInsert,
    /// `time_signal` with a provider placement opportunity start (0x34) then end (0x35).
    TimeSignal,
}

impl Default for MediaPlaylistOptions {
    fn default() -> Self {
        MediaPlaylistOptions {
            packaging: Packaging::Ts,
            cue: CueCommand::default(),
            cues_in_segments: false,
            dialect: CueDialect::Both,
            omit_filled_cues: false,
        }
    }
}

impl MediaPlaylistOptions {
    /// MPEG-TS segments.
    pub fn ts() -> MediaPlaylistOptions {
        MediaPlaylistOptions::default()
    }

    /// MPEG-TS segments, those that open and close a break carrying its cue: the channel's own
    /// playlist at `/channels/{slug}/{rung}/ts.m3u8`.
    pub fn ts_with_cues_in_segments() -> MediaPlaylistOptions {
        MediaPlaylistOptions {
            cues_in_segments: true,
            ..MediaPlaylistOptions::default()
        }
    }

    /// fMP4 (CMAF) segments.
    pub fn fmp4() -> MediaPlaylistOptions {
        MediaPlaylistOptions {
            packaging: Packaging::Cmaf,
            ..MediaPlaylistOptions::default()
        }
    }

    /// The output a channel must publish for this playlist to exist.
    pub fn output_format(&self) -> OutputFormat {
        output_format(self.packaging)
    }

    fn version(&self) -> u8 {
        version(self.packaging)
    }
}

fn output_format(packaging: Packaging) -> OutputFormat {
    match packaging {
        Packaging::Ts => OutputFormat::HlsTs,
        Packaging::Cmaf | Packaging::CmafAudio => OutputFormat::HlsFmp4,
    }
}

pub(crate) fn version(packaging: Packaging) -> u8 {
    match packaging {
        Packaging::Ts => 3,
        // EXT-X-MAP outside an I-frame playlist (RFC 8216, section 7).
        Packaging::Cmaf | Packaging::CmafAudio => 6,
    }
}

/// The media playlist of a rung (or an audio track) relative to its multivariant playlist, e.g.
/// `360p/ts.m3u8` or `audio-96k/fmp4.m3u8`.
pub fn media_playlist_name(packaging: Packaging) -> &'static str {
    match packaging {
        Packaging::Ts => "ts.m3u8",
        Packaging::Cmaf | Packaging::CmafAudio => "fmp4.m3u8",
    }
}

/// The multivariant playlist of a channel's HLS-TS output: one variant per rung, highest first,
/// each at `{rung}/ts.m3u8` relative to `/channels/{slug}/master.m3u8`.
///
/// BANDWIDTH and AVERAGE-BANDWIDTH are the highest measured over the channel's assets, or the
/// rung's nominal bitrate where no asset has a measure.
pub fn render_multivariant(playout: &ChannelPlayout) -> String {
    render_multivariant_with(playout, Packaging::Ts)
}

/// The multivariant playlist of the HLS output in `packaging`: variants at `{rung}/ts.m3u8`
/// (video and audio muxed), or at `{rung}/fmp4.m3u8` (video only) with an `EXT-X-MEDIA` audio
/// rendition per audio track at `{track}/fmp4.m3u8`, each in a group of its own that the variants
/// of its rungs name in `AUDIO`. Bandwidths are measured on that packaging's renditions; a CMAF
/// variant's add its audio track's.
pub fn render_multivariant_with(playout: &ChannelPlayout, packaging: Packaging) -> String {
    write_multivariant(playout, packaging, &MultivariantExtras::default())
}

/// What a multivariant playlist says besides the channel's variants: a higher version, the
/// variables it defines (`EXT-X-DEFINE:NAME`), and a prefix to every media playlist's URI.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MultivariantExtras<'a> {
    pub version: Option<u8>,
    pub defines: &'a [(&'a str, &'a str)],
    pub uri_prefix: &'a str,
}

pub(crate) fn write_multivariant(
    playout: &ChannelPlayout,
    packaging: Packaging,
    extras: &MultivariantExtras<'_>,
) -> String {
    let ladder = playout.ladder();
    let tracks = playout.audio_tracks();
    let mut out = String::with_capacity(64 + (ladder.rungs.len() + tracks.len()) * 180);
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-INDEPENDENT-SEGMENTS\n",
        extras.version.unwrap_or_else(|| version(packaging))
    );
    for (name, value) in extras.defines {
        let _ = writeln!(out, "#EXT-X-DEFINE:NAME=\"{name}\",VALUE=\"{value}\"");
    }
    let prefix = extras.uri_prefix;
    let cmaf = packaging != Packaging::Ts;
    if cmaf {
        for track in tracks {
            let _ = writeln!(
                out,
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{name}\",NAME=\"{name}\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{prefix}{name}/{}\"",
                ladder.audio_channels,
                media_playlist_name(Packaging::CmafAudio),
                name = track.name,
            );
        }
    }
    let frame_rate_millis = frame_rate_millis(playout);
    for rung in &ladder.rungs {
        let (mut peak, mut average) = advertised_bandwidth(playout, rung, packaging);
        let audio_group = if cmaf {
            let track = playout.audio_track_of(rung);
            let (audio_peak, audio_average) = audio_bandwidth(playout, track);
            peak += audio_peak;
            average += audio_average;
            Some(track.name.as_str())
        } else {
            None
        };
        let _ = write!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},CODECS=\"{}\",RESOLUTION={}x{},FRAME-RATE={}.{:03}",
            rung.codecs(),
            rung.width,
            rung.height,
            frame_rate_millis / 1000,
            frame_rate_millis % 1000,
        );
        if let Some(group) = audio_group {
            let _ = write!(out, ",AUDIO=\"{group}\"");
        }
        let _ = writeln!(
            out,
            "\n{prefix}{}/{}",
            rung.name,
            media_playlist_name(packaging)
        );
    }
    out
}

fn frame_rate_millis(playout: &ChannelPlayout) -> u64 {
    let ladder = playout.ladder();
    (u64::from(ladder.frame_rate_num) * 1000 + u64::from(ladder.frame_rate_den) / 2)
        / u64::from(ladder.frame_rate_den.max(1))
}

/// (peak, average) bits per second for a rung's renditions in `packaging` (video and audio in
/// MPEG-TS, video only in CMAF): the highest over the assets' renditions, each falling back to
/// the rung's nominal bitrate when no rendition has it measured.
pub(crate) fn advertised_bandwidth(
    playout: &ChannelPlayout,
    rung: &Rung,
    packaging: Packaging,
) -> (u32, u32) {
    let nominal = match packaging {
        Packaging::Ts => rung.total_bitrate(),
        Packaging::Cmaf | Packaging::CmafAudio => rung.video_bitrate,
    };
    measured_bandwidth(playout, &rung.name, packaging, nominal)
}

/// (peak, average) bits per second for an audio track, as [`advertised_bandwidth`] measures.
pub(crate) fn audio_bandwidth(playout: &ChannelPlayout, track: &AudioTrack) -> (u32, u32) {
    measured_bandwidth(playout, &track.name, Packaging::CmafAudio, track.bitrate)
}

fn measured_bandwidth(
    playout: &ChannelPlayout,
    name: &str,
    packaging: Packaging,
    nominal: u32,
) -> (u32, u32) {
    let (mut peak, mut average) = (0, 0);
    for rendition in playout
        .assets()
        .values()
        .filter_map(|asset| asset.rendition(name, packaging))
    {
        peak = peak.max(rendition.peak_bandwidth);
        average = average.max(rendition.average_bandwidth);
    }
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

/// The live media playlist of `rung` at `now` in the flavour `options` asks for: with CMAF,
/// `rung` may also name an audio track (`audio-96k`). `None` when the ladder has no such rung
/// (or track) or the channel does not publish that output.
pub fn render_media_playlist_with(
    playout: &ChannelPlayout,
    rung: &str,
    now: Timestamp,
    options: &MediaPlaylistOptions,
) -> Option<String> {
    render_session_media_playlist(playout, rung, now, options, &ChannelBreaks)
}

/// [`render_media_playlist_with`] for a session whose breaks air what `fill` chooses (see
/// [`crate::window`]); with [`ChannelBreaks`] it is the channel's own playlist. `None` also when
/// a fill's asset lacks the rendition.
pub fn render_session_media_playlist(
    playout: &ChannelPlayout,
    rung: &str,
    now: Timestamp,
    options: &MediaPlaylistOptions,
    fill: &dyn BreakFill,
) -> Option<String> {
    let track = playout.media_track(rung, options.packaging)?;
    render_track_playlist(playout, track, now, options, fill, None)
}

/// The media playlist of `track`, found by name or by position; with `interstitials`, the
/// shared interstitial playlist ([`crate::interstitials`]).
pub(crate) fn render_track_playlist(
    playout: &ChannelPlayout,
    track: MediaTrack,
    now: Timestamp,
    options: &MediaPlaylistOptions,
    fill: &dyn BreakFill,
    interstitials: Option<&InterstitialOptions<'_>>,
) -> Option<String> {
    if !playout.publishes(options.output_format()) {
        return None;
    }
    let (name, packaging) = playout.rendition_key(track, options.packaging)?;
    // Live segments air in HLS-TS and HLS-fMP4 (DASH airs a live item's fallback for now).
    let live = playout.live().get();
    let live = Some(&*live);
    let (numbering, window) = window::live_window(playout, now, fill, live)?;
    let mut listed = Vec::with_capacity(window.len());
    for aired in window {
        // ChannelPlayout::new checked that every file of the channel's own assets exists.
        let rendition = aired.asset.rendition(name, packaging)?;
        let segment = rendition.segments.get(aired.at.segment_index as usize)?;
        listed.push(ListedSegment {
            aired,
            path: &segment.path,
            init_path: rendition.init_path.as_deref(),
        });
    }
    let preamble = interstitials.map_or_else(String::new, |interstitials| {
        crate::interstitials::declarations(&listed, interstitials)
    });
    let header = PlaylistHeader {
        version: if interstitials.is_some() {
            crate::interstitials::VERSION
        } else {
            options.version()
        },
        target_duration_secs: playout.target_duration_secs(),
        media_sequence: numbering.media_sequence,
        discontinuity_sequence: numbering.discontinuity_sequence,
        preamble: &preamble,
    };
    let mut out =
        String::with_capacity(160 + listed.iter().map(ListedSegment::size_hint).sum::<usize>());
    let cues_in_segments = options.cues_in_segments && options.packaging == Packaging::Ts;
    let cues = CueTags {
        command: options.cue,
        in_segments: cues_in_segments,
        dialect: options.dialect,
        omit_filled: options.omit_filled_cues,
    };
    write_media_playlist(&mut out, &header, &listed, &cues);
    Some(out)
}

/// The tags before the first segment of a media playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaylistHeader<'a> {
    pub version: u8,
    pub target_duration_secs: i64,
    pub media_sequence: u64,
    pub discontinuity_sequence: u64,
    /// Whole lines written after the numbers (variable imports, interstitials), or empty.
    pub preamble: &'a str,
}

/// One segment as a media playlist lists it: its place on air and its files.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListedSegment<'a> {
    pub aired: Aired<'a>,
    /// The media file, relative to the media root.
    pub path: &'a str,
    /// CMAF only: the init segment, relative to the media root. Written as EXT-X-MAP on the first
    /// segment and after every discontinuity.
    pub init_path: Option<&'a str>,
}

impl ListedSegment<'_> {
    fn size_hint(&self) -> usize {
        let boundary = if self.aired.at.starts_run {
            64 + self.init_path.map_or(0, |path| path.len() + 32)
        } else {
            0
        };
        let cue = if self.aired.in_break.is_some() || self.aired.after_break.is_some() {
            200
        } else {
            0
        };
        32 + self.path.len() + boundary + cue
    }
}

/// The cues of one break occurrence, encoded once per playlist.
pub(crate) struct BreakCues {
    pub airing: BreakAiring,
    /// What the break's first segment and the first after it carry, named in their URLs.
    pub segment_out: SegmentCue,
    pub segment_in: SegmentCue,
    pub out: SpliceInfoSection,
    pub back: SpliceInfoSection,
    pub out_base64: String,
    /// Milliseconds between the truncated start and end dates, as PDT would show them.
    pub duration_millis: i64,
}

impl BreakCues {
    pub(crate) fn new(airing: BreakAiring, command: CueCommand) -> BreakCues {
        let id = airing.splice_event_id();
        let start = Ticks(airing.start.0);
        let cue = |direction| SegmentCue::new(command, direction, id, start, airing.duration);
        let (segment_out, segment_in) = (cue(CueDirection::Out), cue(CueDirection::In));
        let (out, back) = (segment_out.section(), segment_in.section());
        BreakCues {
            segment_out,
            segment_in,
            out_base64: out.to_base64(),
            out,
            back,
            duration_millis: airing.end().unix_millis() - airing.start.unix_millis(),
            airing,
        }
    }

    /// The DATERANGE ID shared by the break's OUT and IN tags.
    pub(crate) fn id(&self) -> String {
        format!("break-{}", self.airing.first_discontinuity_sequence)
    }
}

/// How [`write_media_playlist`] marks breaks: the SCTE-35 command, whether the segments that
/// open and close one carry it, and in which dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CueTags {
    pub command: CueCommand,
    pub in_segments: bool,
    pub dialect: CueDialect,
    /// Breaks a session's fill airs are not marked.
    pub omit_filled: bool,
}

/// Writes `millis` as seconds with three decimals.
pub(crate) fn push_seconds(out: &mut String, millis: i64) {
    let _ = write!(out, "{}.{:03}", millis / 1000, millis % 1000);
}

fn write_daterange_out(out: &mut String, cues: &BreakCues) {
    let _ = write!(
        out,
        "#EXT-X-DATERANGE:ID=\"{}\",START-DATE=\"{}\",PLANNED-DURATION=",
        cues.id(),
        cues.airing.start.to_rfc3339_millis()
    );
    push_seconds(out, cues.duration_millis);
    out.push_str(",SCTE35-OUT=");
    out.push_str(&cues.out.to_hex());
    out.push('\n');
}

fn write_daterange_in(out: &mut String, cues: &BreakCues) {
    let _ = write!(
        out,
        "#EXT-X-DATERANGE:ID=\"{}\",START-DATE=\"{}\",END-DATE=\"{}\",DURATION=",
        cues.id(),
        cues.airing.start.to_rfc3339_millis(),
        cues.airing.end().to_rfc3339_millis(),
    );
    push_seconds(out, cues.duration_millis);
    out.push_str(",SCTE35-IN=");
    out.push_str(&cues.back.to_hex());
    out.push('\n');
}

/// The cues of `airing`, encoded on first use.
fn cues_for(cache: &mut Vec<BreakCues>, airing: BreakAiring, command: CueCommand) -> &BreakCues {
    let position = match cache.iter().position(|cues| cues.airing == airing) {
        Some(position) => position,
        None => {
            cache.push(BreakCues::new(airing, command));
            cache.len() - 1
        }
    };
    &cache[position]
}

/// Writes a media playlist listing `segments`, oldest first. Discontinuities and
/// PROGRAM-DATE-TIME follow each segment's `starts_run`; the first segment gets neither a
/// discontinuity (its number is in the header) nor is ever without a PROGRAM-DATE-TIME. Breaks
/// are marked as the module documentation says, in `tags.dialect`; with `tags.in_segments`, the
/// segments that open and close a break are listed at their cue's URL ([`SegmentCue::push_url`]).
pub(crate) fn write_media_playlist(
    out: &mut String,
    header: &PlaylistHeader<'_>,
    segments: &[ListedSegment<'_>],
    tags: &CueTags,
) {
    let CueTags {
        command,
        in_segments: cues_in_segments,
        dialect,
        omit_filled,
    } = *tags;
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
        header.version,
        header.target_duration_secs,
        header.media_sequence,
        header.discontinuity_sequence,
    );
    out.push_str(header.preamble);
    let mut cache = Vec::new();
    for (position, segment) in segments.iter().enumerate() {
        let aired = &segment.aired;
        let at = &aired.at;
        let first = position == 0;
        // The breaks this segment marks: none that a session's fill airs, when so asked.
        let in_break = aired
            .in_break
            .filter(|_| !(omit_filled && aired.break_filled));
        let after_break = aired
            .after_break
            .filter(|_| !(omit_filled && aired.after_break_filled));
        // The cue the segment carries: a break's start wins over the end of one just before.
        let mut segment_cue = None;
        if first
            && let Some(airing) = in_break
            && !aired.starts_break()
        {
            // The break started before the window: declare its range all the same.
            let cues = cues_for(&mut cache, airing, command);
            if dialect.dateranges() {
                write_daterange_out(out, cues);
            }
        }
        if at.starts_run && !first {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if at.starts_run || first {
            if let Some(init_path) = segment.init_path {
                out.push_str("#EXT-X-MAP:URI=\"");
                push_segment_url(out, aired.tracking, init_path);
                out.push_str("\"\n");
            }
            out.push_str("#EXT-X-PROGRAM-DATE-TIME:");
            out.push_str(&at.start.to_rfc3339_millis());
            out.push('\n');
        }
        if let Some(ended) = after_break {
            let cues = cues_for(&mut cache, ended, command);
            if dialect.dateranges() {
                write_daterange_in(out, cues);
            }
            if dialect.cue_outs() {
                out.push_str("#EXT-X-CUE-IN\n");
            }
            segment_cue = Some(cues.segment_in);
        }
        if let Some(airing) = in_break {
            let cues = cues_for(&mut cache, airing, command);
            if aired.starts_break() {
                if dialect.dateranges() {
                    write_daterange_out(out, cues);
                }
                if dialect.cue_outs() {
                    out.push_str("#EXT-OATCLS-SCTE35:");
                    out.push_str(&cues.out_base64);
                    out.push_str("\n#EXT-X-CUE-OUT:");
                    push_seconds(out, cues.duration_millis);
                    out.push('\n');
                }
                segment_cue = Some(cues.segment_out);
            } else if dialect.cue_outs() {
                out.push_str("#EXT-X-CUE-OUT-CONT:ElapsedTime=");
                push_seconds(out, at.start.unix_millis() - airing.start.unix_millis());
                out.push_str(",Duration=");
                push_seconds(out, cues.duration_millis);
                out.push_str(",SCTE35=");
                out.push_str(&cues.out_base64);
                out.push('\n');
            }
        }
        let millis = at.end().unix_millis() - at.start.unix_millis();
        out.push_str("#EXTINF:");
        push_seconds(out, millis);
        out.push_str(",\n");
        match segment_cue {
            Some(cue) if cues_in_segments && aired.tracking.is_none() => {
                cue.push_url(out, segment.path);
            }
            _ => push_segment_url(out, aired.tracking, segment.path),
        }
        out.push('\n');
    }
}

/// `/media/{path}`, percent-encoding whatever is not unreserved or `/`.
/// The URL of a segment or init file: `/media/{path}`, or `{tracking}media/{path}` for a
/// segment a session fetches through its tracking prefix.
pub(crate) fn push_segment_url(out: &mut String, tracking: Option<&str>, path: &str) {
    match tracking {
        Some(prefix) => {
            out.push_str(prefix);
            out.push_str(&MEDIA_URL_PREFIX[1..]);
            push_percent_encoded(out, path.trim_start_matches('/'));
        }
        None => push_media_url(out, path),
    }
}

pub(crate) fn push_media_url(out: &mut String, path: &str) {
    out.push_str(MEDIA_URL_PREFIX);
    push_percent_encoded(out, path.trim_start_matches('/'));
}

/// `path`, percent-encoding whatever is not unreserved or `/`.
pub(crate) fn push_percent_encoded(out: &mut String, path: &str) {
    for byte in path.bytes() {
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

pub(crate) fn window_key(playout: &ChannelPlayout, now: Timestamp) -> WindowKey {
    let timeline = playout.timeline();
    let now = now - playout.live().delay();
    match timeline.segment_at(now) {
        Some(airing) => WindowKey::Airing(airing.media_sequence),
        None if now < timeline.origin() => WindowKey::BeforeOrigin,
        None => WindowKey::Ended,
    }
}

#[cfg(test)]
mod dialect_tests;
#[cfg(test)]
mod tests;
