//! A small line parser for the HLS tags the rules read. Our own rather than `m3u8-rs`, which
//! keeps one DATERANGE per segment and drops the tags after the last segment (where a CUE-IN
//! closing a break at the live edge sits): cue tags are kept exactly, in order, on the segment
//! they precede, and those after the last segment in [`MediaPlaylist::trailing`].

use chrono::DateTime;
use onair_domain::{TICKS_PER_SECOND, Ticks, Timestamp};

/// A multivariant playlist: its variants in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Multivariant {
    pub variants: Vec<Variant>,
    /// What does not parse, by line.
    pub problems: Vec<String>,
}

/// An `EXT-X-STREAM-INF` and the URI after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variant {
    pub uri: String,
    pub bandwidth: Option<u64>,
    pub average_bandwidth: Option<u64>,
    pub codecs: Option<String>,
    pub resolution: Option<(u32, u32)>,
    pub frame_rate: Option<f64>,
}

impl Variant {
    /// `720p` style: the height, or the URI when no resolution is given.
    pub fn label(&self) -> String {
        match self.resolution {
            Some((_, height)) => format!("{height}p ({})", self.uri),
            None => self.uri.clone(),
        }
    }
}

/// A media playlist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaPlaylist {
    pub version: Option<u32>,
    pub target_duration: Option<i64>,
    pub media_sequence: Option<u64>,
    pub discontinuity_sequence: Option<u64>,
    pub segments: Vec<Segment>,
    /// Cue tags after the last segment.
    pub trailing: Vec<CueTag>,
    pub ended: bool,
    /// What does not parse, by line.
    pub problems: Vec<String>,
}

impl MediaPlaylist {
    /// The sequence number of the segment at `index`.
    pub fn sequence_of(&self, index: usize) -> u64 {
        self.media_sequence.unwrap_or(0) + index as u64
    }
}

/// A segment with the tags before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub uri: String,
    pub duration: Ticks,
    pub discontinuity: bool,
    pub program_date_time: Option<Timestamp>,
    /// An `EXT-X-MAP` in force for it (fMP4).
    pub map: Option<String>,
    /// Its cue tags, in order.
    pub cues: Vec<CueTag>,
}

/// A tag that marks an ad break.
#[derive(Debug, Clone, PartialEq)]
pub enum CueTag {
    /// `EXT-X-CUE-OUT[:duration | :DURATION=d]`.
    Out { duration: Option<Ticks> },
    /// `EXT-X-CUE-OUT-CONT:ElapsedTime=e,Duration=d[,SCTE35=…]` (or `e/d`).
    Cont {
        elapsed: Option<Ticks>,
        duration: Option<Ticks>,
    },
    /// `EXT-X-CUE-IN`.
    In,
    /// `EXT-OATCLS-SCTE35:<base64>`.
    Oatcls,
    /// `EXT-X-DATERANGE` with `SCTE35-OUT` or `SCTE35-IN`.
    DateRange {
        id: String,
        out: bool,
        back_in: bool,
        planned_duration: Option<Ticks>,
    },
}

/// Parses a multivariant playlist.
pub fn parse_multivariant(text: &str) -> Multivariant {
    let mut playlist = Multivariant::default();
    let mut lines = text.lines().enumerate().peekable();
    if !text.trim_start().starts_with("#EXTM3U") {
        playlist
            .problems
            .push("line 1: the playlist does not start with #EXTM3U".to_owned());
    }
    while let Some((number, line)) = lines.next() {
        let Some(attributes) = line.strip_prefix("#EXT-X-STREAM-INF:") else {
            continue;
        };
        let attributes = attribute_list(attributes);
        let get = |name: &str| {
            attributes
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let uri = loop {
            match lines.next() {
                Some((_, next)) if next.trim().is_empty() || next.starts_with('#') => continue,
                Some((_, next)) => break Some(next.trim().to_owned()),
                None => break None,
            }
        };
        let Some(uri) = uri else {
            playlist.problems.push(format!(
                "line {}: EXT-X-STREAM-INF without a URI after it",
                number + 1
            ));
            break;
        };
        playlist.variants.push(Variant {
            uri,
            bandwidth: get("BANDWIDTH").and_then(|value| value.parse().ok()),
            average_bandwidth: get("AVERAGE-BANDWIDTH").and_then(|value| value.parse().ok()),
            codecs: get("CODECS").map(str::to_owned),
            resolution: get("RESOLUTION").and_then(|value| {
                let (width, height) = value.split_once(['x', 'X'])?;
                Some((width.parse().ok()?, height.parse().ok()?))
            }),
            frame_rate: get("FRAME-RATE").and_then(|value| value.parse().ok()),
        });
    }
    playlist
}

/// Parses a media playlist.
pub fn parse_media(text: &str) -> MediaPlaylist {
    let mut playlist = MediaPlaylist::default();
    if !text.trim_start().starts_with("#EXTM3U") {
        playlist
            .problems
            .push("line 1: the playlist does not start with #EXTM3U".to_owned());
    }
    let mut duration: Option<Ticks> = None;
    let mut discontinuity = false;
    let mut program_date_time = None;
    let mut map: Option<String> = None;
    let mut cues = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        let problem = |what: &str| format!("line {}: {what}: {line}", number + 1);
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('#') {
            let Some(segment_duration) = duration.take() else {
                playlist.problems.push(problem("a URI without EXTINF"));
                continue;
            };
            playlist.segments.push(Segment {
                uri: line.to_owned(),
                duration: segment_duration,
                discontinuity: std::mem::take(&mut discontinuity),
                program_date_time: program_date_time.take(),
                map: map.clone(),
                cues: std::mem::take(&mut cues),
            });
            continue;
        }
        let (tag, value) = line.split_once(':').unwrap_or((line, ""));
        match tag {
            "#EXT-X-VERSION" => playlist.version = value.trim().parse().ok(),
            "#EXT-X-TARGETDURATION" => match value.trim().parse() {
                Ok(seconds) => playlist.target_duration = Some(seconds),
                Err(_) => playlist.problems.push(problem("not a whole number")),
            },
            "#EXT-X-MEDIA-SEQUENCE" => match value.trim().parse() {
                Ok(sequence) => playlist.media_sequence = Some(sequence),
                Err(_) => playlist.problems.push(problem("not a whole number")),
            },
            "#EXT-X-DISCONTINUITY-SEQUENCE" => match value.trim().parse() {
                Ok(sequence) => playlist.discontinuity_sequence = Some(sequence),
                Err(_) => playlist.problems.push(problem("not a whole number")),
            },
            "#EXTINF" => {
                let seconds = value.split(',').next().unwrap_or("");
                match parse_seconds(seconds) {
                    Some(ticks) => duration = Some(ticks),
                    None => playlist.problems.push(problem("not a duration")),
                }
            }
            "#EXT-X-DISCONTINUITY" => discontinuity = true,
            "#EXT-X-PROGRAM-DATE-TIME" => match parse_date(value.trim()) {
                Some(at) => program_date_time = Some(at),
                None => playlist.problems.push(problem("not a date")),
            },
            "#EXT-X-MAP" => {
                map = attribute_list(value)
                    .into_iter()
                    .find(|(key, _)| key == "URI")
                    .map(|(_, uri)| uri);
            }
            "#EXT-X-ENDLIST" => playlist.ended = true,
            "#EXT-X-CUE-OUT" => {
                let text = value.trim();
                let text = text.strip_prefix("DURATION=").unwrap_or(text);
                let duration = if text.is_empty() {
                    None
                } else {
                    let parsed = parse_seconds(text);
                    if parsed.is_none() {
                        playlist.problems.push(problem("not a duration"));
                    }
                    parsed
                };
                cues.push(CueTag::Out { duration });
            }
            "#EXT-X-CUE-OUT-CONT" => {
                let (elapsed, duration) = match value.split_once('/') {
                    Some((elapsed, duration)) if !value.contains('=') => {
                        (parse_seconds(elapsed), parse_seconds(duration))
                    }
                    _ => {
                        let attributes = attribute_list(value);
                        let get = |name: &str| {
                            attributes
                                .iter()
                                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                                .and_then(|(_, value)| parse_seconds(value))
                        };
                        (get("ElapsedTime"), get("Duration"))
                    }
                };
                cues.push(CueTag::Cont { elapsed, duration });
            }
            "#EXT-X-CUE-IN" => cues.push(CueTag::In),
            "#EXT-OATCLS-SCTE35" => cues.push(CueTag::Oatcls),
            "#EXT-X-DATERANGE" => {
                let attributes = attribute_list(value);
                let get = |name: &str| {
                    attributes
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.as_str())
                };
                let out = get("SCTE35-OUT").is_some();
                let back_in = get("SCTE35-IN").is_some();
                if out || back_in {
                    cues.push(CueTag::DateRange {
                        id: get("ID").unwrap_or("").to_owned(),
                        out,
                        back_in,
                        planned_duration: get("PLANNED-DURATION").and_then(parse_seconds),
                    });
                }
            }
            _ => {}
        }
    }
    playlist.trailing = cues;
    playlist
}

/// `KEY=value,KEY="quoted, value"` as (key, value) pairs, quotes removed.
pub fn attribute_list(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((value, after)) => (value, after),
                None => (quoted, ""),
            }
        } else {
            match after.split_once(',') {
                Some((value, after)) => (value, after),
                None => (after, ""),
            }
        };
        pairs.push((key.trim().to_owned(), value.to_owned()));
        rest = after.trim_start_matches(',').trim_start();
    }
    pairs
}

/// Decimal seconds (`5`, `2.002`, `6.000`) as ticks, exactly to the microsecond.
pub fn parse_seconds(text: &str) -> Option<Ticks> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let negative = whole.starts_with('-');
    let whole: i64 = match whole.trim_start_matches('-') {
        "" => 0,
        digits => digits.parse().ok()?,
    };
    if !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let mut micros: i64 = 0;
    for (position, digit) in fraction.bytes().take(6).enumerate() {
        micros += i64::from(digit - b'0') * 10_i64.pow(5 - position as u32);
    }
    // 90 000 ticks per second: 9 ticks per 100 µs, rounded to the nearest.
    let ticks = whole * TICKS_PER_SECOND + (micros * 9 + 50) / 100;
    Some(Ticks(if negative { -ticks } else { ticks }))
}

/// An EXT-X-PROGRAM-DATE-TIME value: RFC 3339, or with a `+0000` offset as some packagers write.
pub fn parse_date(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|at| Timestamp::from_datetime(at.to_utc()))
}

/// Seconds for messages: `5`, `2.002`.
pub fn seconds(ticks: Ticks) -> String {
    let millis = (ticks.0 * 1000 + TICKS_PER_SECOND / 2).div_euclid(TICKS_PER_SECOND);
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        let text = format!("{}.{:03}", millis / 1000, millis % 1000);
        text.trim_end_matches('0').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_exactly_and_print_short() {
        assert_eq!(parse_seconds("2.000"), Some(Ticks::from_secs(2)));
        assert_eq!(parse_seconds("5"), Some(Ticks::from_secs(5)));
        assert_eq!(parse_seconds("2.002"), Some(Ticks(180_180)));
        assert_eq!(parse_seconds("x"), None);
        assert_eq!(seconds(Ticks(180_180)), "2.002");
        assert_eq!(seconds(Ticks::from_secs(30)), "30");
    }

    #[test]
    fn cue_tags_stay_on_their_segment_and_after_the_last_one() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n\
            #EXT-X-DATERANGE:ID=\"b1\",START-DATE=\"2026-09-21T14:13:26.000Z\",PLANNED-DURATION=6.000,SCTE35-OUT=0xFC\n\
            #EXT-OATCLS-SCTE35:/DA=\n#EXT-X-CUE-OUT:6.000\n#EXTINF:2.000,\na.ts\n\
            #EXT-X-CUE-OUT-CONT:ElapsedTime=2.000,Duration=6.000,SCTE35=/DA=\n#EXTINF:2.000,\nb.ts\n\
            #EXT-X-CUE-OUT-CONT:4/6\n#EXTINF:2,\nc.ts\n#EXT-X-CUE-IN\n";
        let playlist = parse_media(text);
        assert!(playlist.problems.is_empty(), "{:?}", playlist.problems);
        assert_eq!(playlist.sequence_of(2), 9);
        assert_eq!(
            playlist.segments[0].cues,
            vec![
                CueTag::DateRange {
                    id: "b1".into(),
                    out: true,
                    back_in: false,
                    planned_duration: Some(Ticks::from_secs(6)),
                },
                CueTag::Oatcls,
                CueTag::Out {
                    duration: Some(Ticks::from_secs(6))
                },
            ]
        );
        let cont = |elapsed, duration| CueTag::Cont {
            elapsed: Some(Ticks::from_secs(elapsed)),
            duration: Some(Ticks::from_secs(duration)),
        };
        assert_eq!(playlist.segments[1].cues, vec![cont(2, 6)]);
        assert_eq!(playlist.segments[2].cues, vec![cont(4, 6)]);
        assert_eq!(playlist.trailing, vec![CueTag::In]);
    }

    #[test]
    fn variants_read_their_attributes_with_quoted_commas() {
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=928000,AVERAGE-BANDWIDTH=900000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=25.000\n360p/ts.m3u8\n";
        let playlist = parse_multivariant(text);
        assert_eq!(
            playlist.variants,
            vec![Variant {
                uri: "360p/ts.m3u8".into(),
                bandwidth: Some(928_000),
                average_bandwidth: Some(900_000),
                codecs: Some("avc1.64001e,mp4a.40.2".into()),
                resolution: Some((640, 360)),
                frame_rate: Some(25.0),
            }]
        );
    }
}
