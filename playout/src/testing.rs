//! Test helpers: light parsers of what the renderers write, read the way players and partners
//! read it, and the checks the properties and the soak share.

use std::collections::HashMap;

use base64::Engine as _;
use onair_domain::scte35::crc32_mpeg2;
use onair_domain::{Ticks, Timestamp};

/// One segment of a media playlist, with its numbers derived as a player derives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HlsSegment {
    pub media_sequence: u64,
    pub discontinuity_sequence: u64,
    pub discontinuity: bool,
    pub start_millis: i64,
    pub duration_millis: i64,
    pub uri: String,
    pub map: Option<String>,
    /// The cue tags before the segment, in order (DATERANGE, OATCLS, CUE-*), as written.
    pub cues: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HlsPlaylist {
    pub target_duration: u64,
    pub media_sequence: u64,
    pub discontinuity_sequence: u64,
    /// DATERANGEs before the first segment's own tags: a break that started before the window.
    pub leading_dateranges: Vec<String>,
    pub segments: Vec<HlsSegment>,
}

fn millis_of(value: &str) -> i64 {
    let (secs, millis) = value.split_once('.').expect("three decimals");
    assert_eq!(millis.len(), 3, "{value}");
    secs.parse::<i64>().unwrap() * 1000 + millis.parse::<i64>().unwrap()
}

/// Parses a media playlist line by line, checking on the way that every PROGRAM-DATE-TIME is
/// the previous one plus the durations in between, that a discontinuity comes with a date (and
/// a map when fMP4), and that no discontinuity precedes the first segment.
pub(crate) fn parse_hls(text: &str) -> HlsPlaylist {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("#EXTM3U"));
    let mut playlist = HlsPlaylist {
        target_duration: 0,
        media_sequence: 0,
        discontinuity_sequence: 0,
        leading_dateranges: Vec::new(),
        segments: Vec::new(),
    };
    let mut discontinuity = false;
    let mut date: Option<i64> = None;
    let mut map = None;
    let mut current_map: Option<String> = None;
    let mut duration = None;
    let mut cues = Vec::new();
    let mut next_start: Option<i64> = None;
    let mut discontinuity_sequence = None;
    for line in lines {
        if let Some(value) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            playlist.target_duration = value.parse().unwrap();
        } else if let Some(value) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            playlist.media_sequence = value.parse().unwrap();
        } else if let Some(value) = line.strip_prefix("#EXT-X-DISCONTINUITY-SEQUENCE:") {
            playlist.discontinuity_sequence = value.parse().unwrap();
            discontinuity_sequence = Some(playlist.discontinuity_sequence);
        } else if line == "#EXT-X-DISCONTINUITY" {
            assert!(
                !playlist.segments.is_empty(),
                "discontinuity before the first segment"
            );
            discontinuity = true;
        } else if let Some(value) = line.strip_prefix("#EXT-X-MAP:URI=\"") {
            map = Some(value.trim_end_matches('"').to_owned());
        } else if let Some(value) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            let millis = chrono::DateTime::parse_from_rfc3339(value)
                .unwrap()
                .timestamp_millis();
            if let Some(expected) = next_start {
                assert_eq!(
                    millis, expected,
                    "PDT(i + 1) = PDT(i) + EXTINF(i) in\n{text}"
                );
            }
            date = Some(millis);
        } else if let Some(value) = line.strip_prefix("#EXTINF:") {
            duration = Some(millis_of(value.trim_end_matches(',')));
        } else if line.starts_with("#EXT-X-DATERANGE")
            || line.starts_with("#EXT-X-CUE")
            || line.starts_with("#EXT-OATCLS-SCTE35")
        {
            if playlist.segments.is_empty()
                && cues.is_empty()
                && date.is_none()
                && line.starts_with("#EXT-X-DATERANGE")
            {
                playlist.leading_dateranges.push(line.to_owned());
            } else {
                cues.push(line.to_owned());
            }
        } else if line.starts_with('#') {
            assert!(line.starts_with("#EXT-X-VERSION:"), "unexpected tag {line}");
        } else {
            let duration_millis = duration.take().expect("EXTINF before the URI");
            let start_millis = date
                .take()
                .or(next_start)
                .expect("the first segment has a date");
            if discontinuity || playlist.segments.is_empty() {
                assert!(
                    map.is_some() || current_map.is_none(),
                    "EXT-X-MAP after a discontinuity"
                );
                if map.is_some() {
                    current_map = map.take();
                }
            }
            let sequence = discontinuity_sequence.as_mut().expect("header first");
            if discontinuity {
                *sequence += 1;
            }
            playlist.segments.push(HlsSegment {
                media_sequence: playlist.media_sequence + playlist.segments.len() as u64,
                discontinuity_sequence: *sequence,
                discontinuity,
                start_millis,
                duration_millis,
                uri: line.to_owned(),
                map: current_map.clone(),
                cues: std::mem::take(&mut cues),
            });
            next_start = Some(start_millis + duration_millis);
            discontinuity = false;
        }
    }
    playlist
}

impl HlsSegment {
    pub(crate) fn end_millis(&self) -> i64 {
        self.start_millis + self.duration_millis
    }
}

/// `KEY=value` attributes of a tag, quotes removed.
pub(crate) fn attributes(list: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').expect("KEY=value");
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let (value, after) = quoted.split_once('"').unwrap();
            (value, after.strip_prefix(',').unwrap_or(after))
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        out.insert(key.to_owned(), value.to_owned());
        rest = after;
    }
    out
}

/// What a splice_info_section says that playout chooses: command, event id, out of network,
/// PTS and duration. Checks the CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cue {
    pub command: u8,
    pub event_id: u32,
    pub out_of_network: bool,
    pub pts: Option<u64>,
    pub duration: Option<u64>,
}

pub(crate) fn decode_cue(bytes: &[u8]) -> Cue {
    assert_eq!(bytes[0], 0xFC, "table_id");
    let length = (usize::from(bytes[1] & 0x0F) << 8) | usize::from(bytes[2]);
    assert_eq!(length + 3, bytes.len(), "section_length");
    assert_eq!(crc32_mpeg2(bytes), 0, "CRC-32");
    let command = bytes[13];
    let body = &bytes[14..];
    let bits = |from: usize, count: usize| -> u64 {
        (from..from + count).fold(0, |value, bit| {
            (value << 1) | u64::from((body[bit / 8] >> (7 - bit % 8)) & 1)
        })
    };
    match command {
        0x05 => {
            let event_id = bits(0, 32) as u32;
            let out_of_network = bits(40, 1) == 1;
            let has_duration = bits(42, 1) == 1;
            let immediate = bits(43, 1) == 1;
            let mut at = 48;
            let mut pts = None;
            if !immediate {
                if bits(at, 1) == 1 {
                    pts = Some(bits(at + 7, 33));
                    at += 40;
                } else {
                    at += 8;
                }
            }
            let duration = has_duration.then(|| bits(at + 7, 33));
            Cue {
                command,
                event_id,
                out_of_network,
                pts,
                duration,
            }
        }
        0x06 => {
            let pts = (bits(0, 1) == 1).then(|| bits(7, 33));
            let descriptors = &body[5 + 2..];
            assert_eq!(descriptors[0], 0x02, "segmentation descriptor");
            let event_id = u32::from_be_bytes(descriptors[6..10].try_into().unwrap());
            let has_duration = descriptors[11] & 0x40 != 0;
            let duration = has_duration.then(|| {
                descriptors[12..17]
                    .iter()
                    .fold(0u64, |value, byte| (value << 8) | u64::from(*byte))
            });
            Cue {
                command,
                event_id,
                out_of_network: has_duration,
                pts,
                duration,
            }
        }
        other => panic!("unexpected splice command {other:#x}"),
    }
}

pub(crate) fn decode_base64_cue(text: &str) -> Cue {
    decode_cue(
        &base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
}

pub(crate) fn decode_hex_cue(text: &str) -> Cue {
    let hex = text.strip_prefix("0x").expect("0x");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    decode_cue(&bytes)
}

/// One AdaptationSet of an MPD Period, as a player reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpdAdaptationSet {
    pub content_type: String,
    pub mime_type: String,
    pub lang: Option<String>,
    pub presentation_time_offset: i64,
    pub start_number: u64,
    pub initialization: String,
    pub media: String,
    /// (number, t, d), expanded from the SegmentTimeline.
    pub segments: Vec<(u64, i64, i64)>,
    /// (id, codecs, bandwidth), codecs from the Representation or else the AdaptationSet.
    pub representations: Vec<(String, String, String)>,
    /// The AudioChannelConfiguration value, if any.
    pub audio_channels: Option<String>,
}

/// One Period of an MPD, as a player reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpdPeriod {
    pub id: String,
    /// Microseconds from availabilityStartTime.
    pub start_micros: i64,
    /// The EventStream's presentationTimeOffset (0 when absent).
    pub event_offset: i64,
    /// (id, presentationTime, duration, base64 body).
    pub events: Vec<(String, i64, i64, String)>,
    pub adaptation_sets: Vec<MpdAdaptationSet>,
}

/// What of a Period must not change while it is listed (see [`MpdPeriod::stable`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StablePeriod<'a> {
    pub start_micros: i64,
    pub event_offset: i64,
    pub events: &'a [(String, i64, i64, String)],
    /// (contentType, presentationTimeOffset, media, initialization) per AdaptationSet.
    pub templates: Vec<(&'a str, i64, &'a str, &'a str)>,
}

impl MpdPeriod {
    pub(crate) fn adaptation_set(&self, content_type: &str) -> &MpdAdaptationSet {
        self.adaptation_sets
            .iter()
            .find(|set| set.content_type == content_type)
            .unwrap_or_else(|| panic!("Period {} has a {content_type} AdaptationSet", self.id))
    }

    /// What must not change while the Period is listed: its start, its events, and each
    /// AdaptationSet's offset and templates (the segments listed and the start number move on).
    pub(crate) fn stable(&self) -> StablePeriod<'_> {
        StablePeriod {
            start_micros: self.start_micros,
            event_offset: self.event_offset,
            events: &self.events,
            templates: self
                .adaptation_sets
                .iter()
                .map(|set| {
                    (
                        set.content_type.as_str(),
                        set.presentation_time_offset,
                        set.media.as_str(),
                        set.initialization.as_str(),
                    )
                })
                .collect(),
        }
    }

    /// The AdaptationSet with a Representation `id`.
    pub(crate) fn adaptation_set_of(&self, id: &str) -> Option<&MpdAdaptationSet> {
        self.adaptation_sets
            .iter()
            .find(|set| set.representations.iter().any(|(rep, _, _)| rep == id))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mpd {
    pub attributes: HashMap<String, String>,
    pub periods: Vec<MpdPeriod>,
    pub utc_timing: Option<(String, String)>,
}

impl Mpd {
    pub(crate) fn availability_start(&self) -> Timestamp {
        let text = &self.attributes["availabilityStartTime"];
        Timestamp::from_datetime(chrono::DateTime::parse_from_rfc3339(text).unwrap().into())
    }
}

/// `PT…S` in microseconds (only seconds are written).
pub(crate) fn duration_micros(text: &str) -> i64 {
    let secs = text
        .strip_prefix("PT")
        .and_then(|rest| rest.strip_suffix('S'))
        .expect("PT…S");
    let (whole, fraction) = secs.split_once('.').unwrap_or((secs, ""));
    assert!(fraction.len() <= 6);
    whole.parse::<i64>().unwrap() * 1_000_000 + format!("{fraction:0<6}").parse::<i64>().unwrap()
}

/// The AdaptationSet being read.
fn current_set(mpd: &mut Mpd) -> &mut MpdAdaptationSet {
    mpd.periods
        .last_mut()
        .unwrap()
        .adaptation_sets
        .last_mut()
        .expect("inside an AdaptationSet")
}

/// Parses an MPD with quick-xml (so it is well-formed), keeping what players use.
pub(crate) fn parse_mpd(text: &str) -> Mpd {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut mpd = Mpd {
        attributes: HashMap::new(),
        periods: Vec::new(),
        utc_timing: None,
    };
    let mut next_number = 0u64;
    let mut next_t = 0i64;
    let mut in_binary = false;
    let mut set_codecs = String::new();
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let element = match &event {
            Event::Start(element) | Event::Empty(element) => element.clone(),
            Event::Text(text) if in_binary => {
                let body = text
                    .xml_content(quick_xml::XmlVersion::Implicit1_0)
                    .trim()
                    .to_owned();
                let period = mpd.periods.last_mut().unwrap();
                period.events.last_mut().unwrap().3 = body;
                continue;
            }
            Event::End(element) => {
                if element.name().as_ref() == "scte35:Binary" {
                    in_binary = false;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if !matches!(
            element.name().as_ref(),
            "MPD"
                | "Period"
                | "EventStream"
                | "AdaptationSet"
                | "AudioChannelConfiguration"
                | "SegmentTemplate"
                | "S"
                | "Event"
                | "scte35:Binary"
                | "Representation"
                | "UTCTiming"
        ) {
            continue;
        }
        let attributes: HashMap<String, String> = element
            .attributes()
            .map(|attribute| {
                let attribute = attribute.unwrap();
                (
                    attribute.key.as_ref().to_owned(),
                    attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect();
        match element.name().as_ref() {
            "MPD" => mpd.attributes = attributes,
            "Period" => mpd.periods.push(MpdPeriod {
                id: attributes["id"].clone(),
                start_micros: duration_micros(&attributes["start"]),
                event_offset: 0,
                events: Vec::new(),
                adaptation_sets: Vec::new(),
            }),
            "EventStream" => {
                let period = mpd.periods.last_mut().unwrap();
                assert_eq!(attributes["timescale"], "90000");
                period.event_offset = attributes
                    .get("presentationTimeOffset")
                    .map_or(0, |offset| offset.parse().unwrap());
            }
            "AdaptationSet" => {
                set_codecs = attributes.get("codecs").cloned().unwrap_or_default();
                mpd.periods
                    .last_mut()
                    .unwrap()
                    .adaptation_sets
                    .push(MpdAdaptationSet {
                        content_type: attributes["contentType"].clone(),
                        mime_type: attributes["mimeType"].clone(),
                        lang: attributes.get("lang").cloned(),
                        presentation_time_offset: 0,
                        start_number: 0,
                        initialization: String::new(),
                        media: String::new(),
                        segments: Vec::new(),
                        representations: Vec::new(),
                        audio_channels: None,
                    });
            }
            "AudioChannelConfiguration" => {
                current_set(&mut mpd).audio_channels = Some(attributes["value"].clone());
            }
            "SegmentTemplate" => {
                let set = current_set(&mut mpd);
                assert_eq!(attributes["timescale"], "90000");
                set.presentation_time_offset =
                    attributes["presentationTimeOffset"].parse().unwrap();
                // 1 when absent (ISO/IEC 23009-1), as with a `$Time$` template.
                set.start_number = attributes
                    .get("startNumber")
                    .map_or(1, |number| number.parse().unwrap());
                set.initialization = attributes["initialization"].clone();
                set.media = attributes["media"].clone();
                next_number = set.start_number;
            }
            "S" => {
                let set = current_set(&mut mpd);
                let t = attributes.get("t").map_or(next_t, |t| t.parse().unwrap());
                if !set.segments.is_empty() {
                    assert_eq!(t, next_t, "S@t continues the previous S");
                }
                let d: i64 = attributes["d"].parse().unwrap();
                let r: u64 = attributes.get("r").map_or(0, |r| r.parse().unwrap());
                let mut t = t;
                for _ in 0..=r {
                    set.segments.push((next_number, t, d));
                    next_number += 1;
                    t += d;
                }
                next_t = t;
            }
            "Event" => {
                let period = mpd.periods.last_mut().unwrap();
                period.events.push((
                    attributes["id"].clone(),
                    attributes["presentationTime"].parse().unwrap(),
                    attributes["duration"].parse().unwrap(),
                    String::new(),
                ));
            }
            "scte35:Binary" => in_binary = true,
            "Representation" => {
                let codecs = attributes
                    .get("codecs")
                    .cloned()
                    .unwrap_or_else(|| set_codecs.clone());
                current_set(&mut mpd).representations.push((
                    attributes["id"].clone(),
                    codecs,
                    attributes["bandwidth"].clone(),
                ));
            }
            "UTCTiming" => {
                mpd.utc_timing = Some((
                    attributes["schemeIdUri"].clone(),
                    attributes["value"].clone(),
                ))
            }
            _ => {}
        }
    }
    mpd
}

/// One segment of an MPD Period placed on the wall clock (in microseconds since the Unix epoch)
/// with its file, as a player resolves the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpdSegment {
    pub period: String,
    pub start_micros: i64,
    pub duration_ticks: i64,
    pub url: String,
}

/// The segments of Representation `id` (a rung or an audio track) in every Period.
pub(crate) fn mpd_segments(mpd: &Mpd, id: &str) -> Vec<MpdSegment> {
    let ast_micros = mpd.availability_start().unix_millis() * 1000;
    let mut out = Vec::new();
    for period in &mpd.periods {
        let set = period
            .adaptation_set_of(id)
            .unwrap_or_else(|| panic!("Period {} has a Representation {id}", period.id));
        for (number, t, d) in &set.segments {
            let offset = Ticks(t - set.presentation_time_offset);
            out.push(MpdSegment {
                period: period.id.clone(),
                start_micros: ast_micros + period.start_micros + offset.0 * 100 / 9,
                duration_ticks: *d,
                url: set
                    .media
                    .replace("$RepresentationID$", id)
                    .replace("$Number%05d$", &format!("{number:05}"))
                    .replace("$Time$", &t.to_string()),
            });
        }
    }
    out
}

/// Checks the SCTE-35 marks of a parsed media playlist against the timeline's breaks.
pub(crate) fn check_hls_cues(playout: &crate::ChannelPlayout, playlist: &HlsPlaylist) {
    let timeline = playout.timeline();
    let check_out = |attributes: &HashMap<String, String>, airing: &onair_domain::BreakAiring| {
        let duration_millis = airing.end().unix_millis() - airing.start.unix_millis();
        assert_eq!(
            attributes["ID"],
            format!("break-{}", airing.first_discontinuity_sequence)
        );
        assert_eq!(attributes["START-DATE"], airing.start.to_rfc3339_millis());
        assert_eq!(millis_of(&attributes["PLANNED-DURATION"]), duration_millis);
        let cue = decode_hex_cue(&attributes["SCTE35-OUT"]);
        assert_eq!(cue.event_id, airing.splice_event_id());
        assert!(cue.out_of_network);
        assert_eq!(cue.duration, Some(airing.duration.0 as u64));
    };
    for (position, segment) in playlist.segments.iter().enumerate() {
        let at = timeline
            .segment_by_sequence(segment.media_sequence)
            .expect("a listed segment is on the timeline");
        let airing = timeline.break_of(&at);
        let after = timeline.break_ending_before(&at);
        let mut cues = segment.cues.iter().map(String::as_str);
        if let Some(ended) = after {
            let line = cues.next().expect("a DATERANGE closes the break");
            let attributes = attributes(line.strip_prefix("#EXT-X-DATERANGE:").unwrap());
            assert_eq!(
                attributes["ID"],
                format!("break-{}", ended.first_discontinuity_sequence)
            );
            assert_eq!(attributes["END-DATE"], ended.end().to_rfc3339_millis());
            let cue = decode_hex_cue(&attributes["SCTE35-IN"]);
            assert_eq!(cue.event_id, ended.splice_event_id());
            assert!(!cue.out_of_network);
            assert_eq!(cues.next(), Some("#EXT-X-CUE-IN"));
        }
        match airing {
            Some(airing) if airing.first_media_sequence == at.media_sequence => {
                let line = cues.next().expect("a DATERANGE opens the break");
                check_out(
                    &attributes(line.strip_prefix("#EXT-X-DATERANGE:").unwrap()),
                    &airing,
                );
                let oatcls = cues
                    .next()
                    .unwrap()
                    .strip_prefix("#EXT-OATCLS-SCTE35:")
                    .unwrap();
                let cue = decode_base64_cue(oatcls);
                assert_eq!(
                    (cue.event_id, cue.out_of_network),
                    (airing.splice_event_id(), true)
                );
                let duration = cues
                    .next()
                    .unwrap()
                    .strip_prefix("#EXT-X-CUE-OUT:")
                    .unwrap();
                assert_eq!(
                    millis_of(duration),
                    airing.end().unix_millis() - airing.start.unix_millis()
                );
            }
            Some(airing) => {
                let line = cues.next().expect("CUE-OUT-CONT inside a break");
                let attributes = attributes(line.strip_prefix("#EXT-X-CUE-OUT-CONT:").unwrap());
                let elapsed = millis_of(&attributes["ElapsedTime"]);
                let duration = millis_of(&attributes["Duration"]);
                assert_eq!(elapsed, segment.start_millis - airing.start.unix_millis());
                assert_eq!(
                    duration,
                    airing.end().unix_millis() - airing.start.unix_millis()
                );
                assert!(
                    0 < elapsed && elapsed < duration,
                    "ElapsedTime within Duration"
                );
                let cue = decode_base64_cue(&attributes["SCTE35"]);
                assert_eq!(cue.event_id, airing.splice_event_id());
                if position == 0 {
                    assert_eq!(
                        playlist.leading_dateranges.len(),
                        1,
                        "the range stays declared"
                    );
                    check_out(
                        &self::attributes(
                            playlist.leading_dateranges[0]
                                .strip_prefix("#EXT-X-DATERANGE:")
                                .unwrap(),
                        ),
                        &airing,
                    );
                }
            }
            None => {}
        }
        assert_eq!(cues.next(), None, "no other cue on {segment:?}");
        if position == 0 && airing.is_none_or(|a| a.first_media_sequence == at.media_sequence) {
            assert!(playlist.leading_dateranges.is_empty());
        }
    }
}

/// Checks an MPD against the timeline's live window at `now` for rung `rung` and every audio
/// track: the same segments as HLS lists, at the same instants (to a microsecond), with the same
/// files, one Period per run occurrence with a video and an audio AdaptationSet that agree, and
/// the break's event in every Period of a break.
pub(crate) fn check_mpd(playout: &crate::ChannelPlayout, now: Timestamp, mpd: &Mpd, rung: &str) {
    use onair_domain::Packaging;

    let timeline = playout.timeline();
    assert_eq!(mpd.attributes["type"], "dynamic");
    assert_eq!(
        mpd.utc_timing.as_ref().map(|(scheme, _)| scheme.as_str()),
        Some("urn:mpeg:dash:utc:http-iso:2014")
    );
    let window = timeline.live_window(now, playout.channel().window_segments as usize);
    let ast = mpd.availability_start();
    let ast_micros = ast.unix_millis() * 1000;
    let mut checked = vec![(rung.to_owned(), Packaging::Cmaf)];
    checked.extend(
        playout
            .audio_tracks()
            .iter()
            .map(|track| (track.name.clone(), Packaging::CmafAudio)),
    );
    for (name, packaging) in &checked {
        let segments = mpd_segments(mpd, name);
        assert_eq!(segments.len(), window.len());
        for (listed, at) in segments.iter().zip(&window) {
            let expected = ast_micros + (at.start - ast).0 * 100 / 9;
            assert!(
                (listed.start_micros - expected).abs() <= 1,
                "{listed:?} should start at {expected}"
            );
            assert_eq!(listed.duration_ticks, at.duration.0);
            assert_eq!(listed.period, format!("p{}", at.discontinuity_sequence));
            let run = timeline.run(at.run_index);
            let path = &playout.assets()[&run.asset_id]
                .rendition(name, *packaging)
                .unwrap()
                .segments[at.segment_index as usize]
                .path;
            assert_eq!(listed.url, format!("/media/{path}"));
        }
    }
    let mut starts = Vec::new();
    for period in &mpd.periods {
        starts.push(period.start_micros);
        let sequence: u64 = period.id[1..].parse().unwrap();
        let first = window
            .iter()
            .find(|at| at.discontinuity_sequence == sequence)
            .copied()
            .or_else(|| timeline.segment_at(timeline.origin()))
            .unwrap();
        match timeline.break_of(&first) {
            Some(airing) => {
                assert_eq!(period.events.len(), 1, "{period:?}");
                let (id, presentation_time, duration, body) = &period.events[0];
                assert_eq!(*id, airing.splice_event_id().to_string());
                assert_eq!((*presentation_time, *duration), (0, airing.duration.0));
                // The Event starts where the break does, in every Period of it.
                let period_start = (timeline.run_start(&first) - airing.start).0;
                assert_eq!(period.event_offset, period_start, "{period:?}");
                assert_eq!(
                    airing.first_discontinuity_sequence == sequence,
                    period.event_offset == 0
                );
                let cue = decode_base64_cue(body);
                assert!(cue.out_of_network);
                assert_eq!(cue.event_id, airing.splice_event_id());
            }
            None => assert!(period.events.is_empty(), "{period:?}"),
        }
        let video = period.adaptation_set("video");
        let audio = period.adaptation_set("audio");
        assert_eq!(period.adaptation_sets.len(), 2);
        assert_eq!(
            (video.mime_type.as_str(), audio.mime_type.as_str()),
            ("video/mp4", "audio/mp4")
        );
        assert_eq!(audio.lang.as_deref(), Some("und"));
        assert_eq!(
            audio.audio_channels,
            Some(playout.ladder().audio_channels.to_string())
        );
        assert_eq!(
            (
                video.presentation_time_offset,
                video.start_number,
                &video.segments
            ),
            (
                audio.presentation_time_offset,
                audio.start_number,
                &audio.segments
            ),
            "video and audio list the same segments"
        );
        let rungs: Vec<(String, String)> = video
            .representations
            .iter()
            .map(|(id, codecs, _)| (id.clone(), codecs.clone()))
            .collect();
        let expected: Vec<(String, String)> = playout
            .ladder()
            .rungs
            .iter()
            .map(|rung| (rung.name.clone(), rung.video_codec()))
            .collect();
        assert_eq!(rungs, expected);
        let tracks: Vec<(String, String)> = audio
            .representations
            .iter()
            .map(|(id, codecs, _)| (id.clone(), codecs.clone()))
            .collect();
        let expected: Vec<(String, String)> = playout
            .audio_tracks()
            .iter()
            .map(|track| (track.name.clone(), "mp4a.40.2".to_owned()))
            .collect();
        assert_eq!(tracks, expected);
    }
    assert!(
        starts.windows(2).all(|pair| pair[0] < pair[1]),
        "Periods in order"
    );
}
