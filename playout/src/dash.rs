//! The dynamic DASH MPD as a pure function of (channel playout, now, options): no IO, no clock
//! reads. It lists the same window as the HLS playlists, over the same CMAF fragments: the
//! channel's live items and takes air in it as in HLS ([`crate::live`]), with the same live
//! delay and decided slots, so HLS and DASH list the same segments at the same instant.
//!
//! - `availabilityStartTime` is the timeline's origin (to the millisecond); every Period's
//!   `start` is its run's start as aired relative to it, exact to the microsecond, so it never
//!   changes while the Period is listed. `publishTime` is the end of the last listed segment: it
//!   moves only when the window does. `timeShiftBufferDepth` is the window (`window_segments`
//!   target durations), `minimumUpdatePeriod` and `maxSegmentDuration` one target duration,
//!   `suggestedPresentationDelay` three (at most the window), and `UTCTiming` points at the
//!   origin's `/time` (`urn:mpeg:dash:utc:http-iso:2014`).
//! - One Period per run occurrence, `id="p{n}"` with `n` the run's discontinuity sequence (the
//!   HLS one): unique per occurrence, even when the timeline repeats or the tail loops, and the
//!   same on every replica. A take's slate looped over its slots is a Period per pass over the
//!   slate's files, the later ones `p{n}-{k}` (see `periods`). Every Period has the same two
//!   AdaptationSets, so players switch nothing but the source: the video (`id="0"`,
//!   `contentType="video"`, a Representation per rung, `id` = rung name) and the audio (`id="1"`,
//!   `contentType="audio"`, `lang="und"`, a Representation per audio track of the ladder, `id` =
//!   track name such as `audio-96k`), codecs and bandwidths channel-wide. The CMAF tracks are
//!   strict (one track per file): dash.js refuses multiplexed representations.
//! - Each AdaptationSet has a `SegmentTemplate` at timescale 90 000 with the same
//!   `SegmentTimeline` and `presentationTimeOffset`, addressed one of two ways (`periods`):
//!   - an asset's files by `$Number%05d$`: the media crate writes each asset's fragments with
//!     `tfdt` starting at zero (video at timescale 2500 for 25 fps, audio at 48000; checked on
//!     real files, see the media crate's tests), so a segment's media time is the sum of the
//!     stored durations before it: `S@t` is that, `presentationTimeOffset` is the media time
//!     where the Period starts (the run's in point), and `$Number$` is the segment's index in
//!     its asset, which is also its file name (`$Number%05d$.m4s`);
//!   - a live run's files by `$Time$`: the ingest names each by its start in 90 kHz ticks since
//!     the Unix epoch (`/media/live/{source}/{publish}/$RepresentationID$/$Time$.m4s`, init
//!     `…/init-0.mp4`) and the live ladder, whose running time is Unix time, writes that start
//!     as its `tfdt` (in the track's timescale; the first frame is the one nearest to the grid's
//!     boundary, so within a frame of it): `S@t` is the segment's start, which is its file's
//!     name, and `presentationTimeOffset` the run's first segment's start.
//!
//!   Audio fragments start with the AAC frame nearest to their video segment's start, so an
//!   audio fragment's `tfdt` is within half an AAC frame (±10.7 ms at 48 kHz) of its `S@t`:
//!   players place media by `tfdt`.
//! - Every Period of an ad break carries an `EventStream` with `urn:scte:scte35:2014:xml+bin`
//!   and one `Event` for the whole break, with the splice event id as `id` and the break's
//!   `splice_info_section` in base64 as body, the same cue as HLS: in the break's first
//!   Period at `presentationTime="0"`; in each later one (a break of several runs spans
//!   several Periods) the same Event, placed by the EventStream's `presentationTimeOffset`
//!   (ISO/IEC 23009-1, 5.10.2), which is the time from the break's start to the Period's, so
//!   that the Event still starts at the break's start and lasts the break's duration. A player
//!   that joins in the middle of a break so learns of it, and one that saw it already knows it
//!   by its id.

use std::borrow::Cow;
use std::fmt::Write as _;

use onair_domain::media::AAC_LC_CODEC;
use onair_domain::{Asset, Ladder, OutputFormat, Packaging, Ticks, Timestamp};

use crate::ChannelPlayout;
use crate::hls::{
    BreakCues, CueCommand, advertised_bandwidth, audio_bandwidth, push_media_url,
    push_percent_encoded,
};
use crate::window::{self, Aired, BreakFill, ChannelBreaks};

mod periods;

use periods::Period;

/// The content type of an MPD.
pub const MPD_CONTENT_TYPE: &str = "application/dash+xml";

/// The SegmentTemplate timescale: the domain's 90 kHz ticks, exact for every duration.
pub const TIMESCALE: u32 = 90_000;

/// The placeholder a segment template puts where the rung (or audio track) name goes.
const REPRESENTATION_ID: &str = "$RepresentationID$";

/// The language of the audio AdaptationSet: undetermined (ISO 639-2), as the ladder does not
/// say what is spoken.
const AUDIO_LANGUAGE: &str = "und";

/// How [`render_mpd`] renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpdOptions {
    /// The `UTCTiming` URL (`urn:mpeg:dash:utc:http-iso:2014`): the origin serves `/time`.
    pub utc_timing_url: Cow<'static, str>,
    pub cue: CueCommand,
    /// A break the session's fill airs gets no SCTE-35 `EventStream`: a stitched partner's
    /// players must not insert their own ads over the ones onair stitched. Unfilled breaks
    /// keep theirs.
    pub omit_filled_cues: bool,
}

impl Default for MpdOptions {
    fn default() -> Self {
        MpdOptions {
            utc_timing_url: Cow::Borrowed("/time"),
            cue: CueCommand::SpliceInsert,
            omit_filled_cues: false,
        }
    }
}

/// The live MPD at `now`; `None` when the channel does not publish DASH.
pub fn render_mpd(
    playout: &ChannelPlayout,
    now: Timestamp,
    options: &MpdOptions,
) -> Option<String> {
    render_session_mpd(playout, now, options, &ChannelBreaks)
}

/// [`render_mpd`] for a session whose breaks air what `fill` chooses (see [`crate::window`]).
/// `None` also when a fill's asset has no CMAF video or audio renditions laid out as templates.
pub fn render_session_mpd(
    playout: &ChannelPlayout,
    now: Timestamp,
    options: &MpdOptions,
    fill: &dyn BreakFill,
) -> Option<String> {
    if !playout.publishes(OutputFormat::Dash) {
        return None;
    }
    // The channel's live items and takes air as in HLS: the same segments at the same instant.
    let live = playout.live().get();
    let (numbering, window) = window::live_window(playout, now, fill, Some(&*live))?;
    let timeline = playout.timeline();
    let target = playout.target_duration_secs();
    let window_secs = target * i64::from(playout.channel().window_segments.max(1));
    let delay_secs = (3 * target).min(window_secs);
    let availability_start = Timestamp::from_unix_millis(timeline.origin().unix_millis());
    let publish = window.last().map_or(availability_start, |last| {
        last.end().max(availability_start)
    });

    let mut out = String::with_capacity(1500 + window.len() * 80);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" xmlns:scte35=\"http://www.scte.org/schemas/35/2016\" profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"dynamic\" availabilityStartTime=\"{}\" publishTime=\"{}\" minimumUpdatePeriod=\"PT{target}S\" minBufferTime=\"PT{target}S\" timeShiftBufferDepth=\"PT{window_secs}S\" suggestedPresentationDelay=\"PT{delay_secs}S\" maxSegmentDuration=\"PT{target}S\">",
        availability_start.to_rfc3339_millis(),
        publish.to_rfc3339_millis(),
    );
    let periods = if window.is_empty() {
        // Nothing has ended yet: announce the first Period with no segment, so the Period ids
        // and starts are the ones it will keep.
        let run = timeline.run(numbering.run_index);
        let first = Aired {
            at: numbering,
            run,
            asset: playout.assets().get(&run.asset_id)?,
            run_start: timeline.run_start(&numbering),
            in_break: timeline.break_of(&numbering),
            after_break: None,
            break_filled: false,
            after_break_filled: false,
            tracking: None,
        };
        vec![periods::announced(playout, first)?]
    } else {
        periods::periods(playout, &window)?
    };
    for period in &periods {
        write_period(&mut out, playout, availability_start, period, options);
    }
    let _ = write!(
        out,
        "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" value=\"{}\"/>\n</MPD>\n",
        escape(&options.utc_timing_url)
    );
    Some(out)
}

/// One Period: the listed segments of one run occurrence (or of one pass over a looped asset).
fn write_period(
    out: &mut String,
    playout: &ChannelPlayout,
    availability_start: Timestamp,
    period: &Period<'_, '_>,
    options: &MpdOptions,
) {
    let first = &period.first;
    let ladder = playout.ladder();
    let _ = write!(out, "  <Period id=\"{}\" start=\"", period.id);
    push_duration(out, period.start - availability_start);
    out.push_str("\">\n");
    if let Some(airing) = first
        .in_break
        .filter(|_| !(options.omit_filled_cues && first.break_filled))
    {
        // The break's start relative to this Period's: zero in its first Period, the time
        // already aired in the later ones.
        let into_break = period.start - airing.start;
        let cues = BreakCues::new(airing, options.cue);
        out.push_str("    <EventStream schemeIdUri=\"urn:scte:scte35:2014:xml+bin\" timescale=\"");
        let _ = write!(out, "{TIMESCALE}\"");
        if into_break > Ticks::ZERO {
            let _ = write!(out, " presentationTimeOffset=\"{}\"", into_break.0);
        }
        let _ = write!(
            out,
            ">\n      <Event presentationTime=\"0\" duration=\"{}\" id=\"{}\">\n        <scte35:Signal>\n          <scte35:Binary>{}</scte35:Binary>\n        </scte35:Signal>\n      </Event>\n    </EventStream>\n",
            airing.duration.0,
            airing.splice_event_id(),
            cues.out_base64,
        );
    }
    let (max_width, max_height) = ladder.rungs.iter().fold((0, 0), |(w, h), rung| {
        (w.max(rung.width), h.max(rung.height))
    });
    let _ = writeln!(
        out,
        "    <AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\" maxWidth=\"{max_width}\" maxHeight=\"{max_height}\" frameRate=\"{}\">",
        frame_rate(ladder),
    );
    write_segment_template(out, period, &period.video);
    for rung in &ladder.rungs {
        let (peak, _) = advertised_bandwidth(playout, rung, Packaging::Cmaf);
        let _ = writeln!(
            out,
            "      <Representation id=\"{}\" bandwidth=\"{peak}\" width=\"{}\" height=\"{}\" codecs=\"{}\"/>",
            escape(&rung.name),
            rung.width,
            rung.height,
            rung.video_codec(),
        );
    }
    out.push_str("    </AdaptationSet>\n");
    let _ = write!(
        out,
        "    <AdaptationSet id=\"1\" contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"{AUDIO_LANGUAGE}\" segmentAlignment=\"true\" startWithSAP=\"1\" codecs=\"{AAC_LC_CODEC}\" audioSamplingRate=\"{}\">\n      <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"{}\"/>\n",
        ladder.audio_sample_rate, ladder.audio_channels,
    );
    write_segment_template(out, period, &period.audio);
    for track in playout.audio_tracks() {
        let (peak, _) = audio_bandwidth(playout, track);
        let _ = writeln!(
            out,
            "      <Representation id=\"{}\" bandwidth=\"{peak}\"/>",
            escape(&track.name),
        );
    }
    out.push_str("    </AdaptationSet>\n  </Period>\n");
}

/// The `SegmentTemplate` of one AdaptationSet of a Period, with its `SegmentTimeline` when it
/// lists segments: the same times for video and audio, only the URLs differ.
fn write_segment_template(out: &mut String, period: &Period<'_, '_>, template: &SegmentTemplate) {
    let _ = write!(
        out,
        "      <SegmentTemplate timescale=\"{TIMESCALE}\" presentationTimeOffset=\"{}\"",
        period.presentation_time_offset.0
    );
    if let Some(number) = period.start_number {
        let _ = write!(out, " startNumber=\"{number}\"");
    }
    let _ = writeln!(
        out,
        " initialization=\"{}\" media=\"{}\">",
        template.initialization, template.media,
    );
    if !period.segments.is_empty() {
        out.push_str("        <SegmentTimeline>\n");
        let segments = period.segments;
        let mut index = 0;
        while index < segments.len() {
            let duration = segments[index].at.duration;
            let time = period.times[index];
            // Repeated while the durations are the same and each starts where the last ended.
            let repeats = (index + 1..segments.len())
                .take_while(|&next| {
                    segments[next].at.duration == duration
                        && period.times[next] == time + Ticks(duration.0 * (next - index) as i64)
                })
                .count();
            let _ = write!(out, "          <S t=\"{}\" d=\"{}\"", time.0, duration.0);
            if repeats > 0 {
                let _ = write!(out, " r=\"{repeats}\"");
            }
            out.push_str("/>\n");
            index += repeats + 1;
        }
        out.push_str("        </SegmentTimeline>\n");
    }
    out.push_str("      </SegmentTemplate>\n");
}

/// `25` or `30000/1001`.
fn frame_rate(ladder: &Ladder) -> String {
    if ladder.frame_rate_den <= 1 {
        ladder.frame_rate_num.to_string()
    } else {
        format!("{}/{}", ladder.frame_rate_num, ladder.frame_rate_den)
    }
}

/// `PT{seconds}S`, exact to the microsecond (truncated), without trailing zeros.
fn push_duration(out: &mut String, ticks: Ticks) {
    let micros = i128::from(ticks.0.max(0)) * 100 / 9;
    let (secs, fraction) = (micros / 1_000_000, micros % 1_000_000);
    let _ = write!(out, "PT{secs}");
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('S');
}

/// The URL templates of an asset's CMAF renditions of one kind (video tracks of the rungs, or
/// audio tracks), names replaced by `$RepresentationID$` and segment indexes by `$Number%05d$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentTemplate {
    pub initialization: String,
    pub media: String,
}

impl SegmentTemplate {
    /// `None` unless the `packaging` rendition of each of `names` in `asset` has an init
    /// segment and segments named `{dir}/{index:05}.m4s` in a folder named after it, the same
    /// for every name but for the name.
    pub(crate) fn of(
        asset: &Asset,
        names: &[&str],
        packaging: Packaging,
    ) -> Option<SegmentTemplate> {
        SegmentTemplate::build(asset, names, packaging, true)
    }

    /// [`SegmentTemplate::of`] from the init segment and the first segment of each rendition
    /// only: for assets already checked whole.
    fn derive(asset: &Asset, names: &[&str], packaging: Packaging) -> Option<SegmentTemplate> {
        SegmentTemplate::build(asset, names, packaging, false)
    }

    fn build(
        asset: &Asset,
        names: &[&str],
        packaging: Packaging,
        every_segment: bool,
    ) -> Option<SegmentTemplate> {
        let mut templates: Option<(String, String)> = None;
        for name in names {
            let rendition = asset.rendition(name, packaging)?;
            let folder = format!("/{name}/");
            let placeholder = format!("/{REPRESENTATION_ID}/");
            let init = rendition.init_path.as_deref()?;
            let init =
                format!("/{}", init.trim_start_matches('/')).replacen(&folder, &placeholder, 1);
            let first = rendition.segments.first()?;
            let stem = first
                .path
                .strip_suffix(&format!("{:05}.m4s", first.index))?;
            let stem =
                format!("/{}", stem.trim_start_matches('/')).replacen(&folder, &placeholder, 1);
            if !init.contains(REPRESENTATION_ID) || !stem.contains(REPRESENTATION_ID) {
                return None;
            }
            let checked = if every_segment {
                rendition.segments.len()
            } else {
                0
            };
            for (index, segment) in rendition.segments.iter().enumerate().take(checked) {
                let expected = format!("{stem}{index:05}.m4s").replacen(&placeholder, &folder, 1);
                if format!("/{}", segment.path.trim_start_matches('/')) != expected {
                    return None;
                }
            }
            match &templates {
                None => templates = Some((init, stem)),
                Some((known_init, known_stem)) => {
                    if *known_init != init || *known_stem != stem {
                        return None;
                    }
                }
            }
        }
        let (init, stem) = templates?;
        Some(SegmentTemplate {
            initialization: url(&init),
            media: format!("{}$Number%05d$.m4s", url(&stem)),
        })
    }
}

impl SegmentTemplate {
    /// The same files fetched through `prefix` (a session's tracking URL) instead of `/`.
    fn fetched_through(self, prefix: &str) -> SegmentTemplate {
        let through = |url: &str| format!("{}{}", escape(prefix), &url[1..]);
        SegmentTemplate {
            initialization: through(&self.initialization),
            media: through(&self.media),
        }
    }
}

/// `/media` and the path, percent-encoded but for the template placeholder, XML-escaped.
fn url(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for (position, part) in path.split(REPRESENTATION_ID).enumerate() {
        if position == 0 {
            push_media_url(&mut out, part);
        } else {
            out.push_str(REPRESENTATION_ID);
            push_percent_encoded(&mut out, part);
        }
    }
    escape(&out).into_owned()
}

/// XML attribute escaping.
fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod tests;
