//! Blocking playlist reload (RFC 8216bis 6.2.5.2) as pure rules: the delivery directives of a
//! request, whether to answer now, wait or refuse, when a wait has lasted too long, and the
//! `Cache-Control` of every answer.

use onair_domain::{TICKS_PER_SECOND, Ticks};

use super::{LlConfig, LlRendition};

/// The delivery directives of a playlist request (its `_HLS_` query parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Directives {
    /// `_HLS_msn`: wait for the segment with this media sequence number (or a later one).
    pub msn: Option<u64>,
    /// `_HLS_part`: with `msn`, wait for this part of it.
    pub part: Option<u32>,
    /// `_HLS_skip` was given, with any value. A delta update is never written: the playlists
    /// advertise no CAN-SKIP-UNTIL, and "A Server MUST ignore the `_HLS_skip` directive if the
    /// Playlist does not contain the CAN-SKIP-UNTIL attribute" (RFC 8216bis 6.2.5.1).
    pub skip: bool,
}

/// What to do with a playlist request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// Answer with the playlist as it is.
    Now,
    /// Hold the request until [`is_satisfied`] (or [`poll_wait`] says otherwise).
    WaitFor { msn: u64, part: Option<u32> },
    /// Answer 400 at once, saying why.
    BadRequest(String),
}

/// How a held request stands after waiting some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The playlist has what was asked: answer with it.
    Ready,
    /// Wait for the next change, or this long at most, then ask again.
    Wait { at_most: Ticks },
    /// 503: it has waited three target durations.
    Unavailable,
}

/// A response of the LL-HLS output, for [`cache_control`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlResponse {
    /// The source's multivariant playlist.
    Multivariant,
    /// A media playlist asked for without `_HLS_msn` (a player tuning in).
    MediaPlaylist,
    /// A media playlist answering a blocking request (`_HLS_msn`, maybe `_HLS_part`).
    BlockingMediaPlaylist,
    /// A part or a whole segment (including a hinted part, once it exists).
    Media,
    /// An init segment (`init-{n}.mp4`).
    Init,
    /// 400, 404 or 503.
    Refused,
}

/// The `_HLS_` directives of `query` (a URL's query string, without `?`; other parameters are
/// ignored). `Err` says why it is a bad request: an `_HLS_msn` or `_HLS_part` that is not a
/// decimal integer (digits only: no sign, no space, nothing beyond 64 bits, 32 for a part), or
/// given twice.
pub fn parse_directives(query: Option<&str>) -> Result<Directives, String> {
    let mut directives = Directives::default();
    for pair in query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "_HLS_msn" => {
                let msn = decimal_integer(key, value)?;
                set_once(&mut directives.msn, key, msn)?;
            }
            "_HLS_part" => {
                let part = u32::try_from(decimal_integer(key, value)?)
                    .map_err(|_| format!("{key}={value} is too large"))?;
                set_once(&mut directives.part, key, part)?;
            }
            // Ignored whatever its value: see `Directives::skip`.
            "_HLS_skip" => directives.skip = true,
            _ => {}
        }
    }
    Ok(directives)
}

fn decimal_integer(key: &str, value: &str) -> Result<u64, String> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("{key}={value:?} is not a decimal integer"));
    }
    value
        .parse()
        .map_err(|_| format!("{key}={value} is too large"))
}

fn set_once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), String> {
    if slot.replace(value).is_some() {
        return Err(format!("{key} is given twice"));
    }
    Ok(())
}

/// What to do with a request for `rendition`'s media playlist whose query is `query`.
///
/// RFC 8216bis 6.2.5.2, rule by rule:
///
/// - "If the Playlist URI contains an `_HLS_part` directive but no `_HLS_msn` directive, the
///   Server MUST return Bad Request, such as HTTP 400."
/// - "A Server MUST ignore `_HLS_msn` and `_HLS_part` if the Playlist contains an EXT-X-ENDLIST
///   tag."
/// - "If the `_HLS_msn` is greater than the Media Sequence Number of the last Media Segment in
///   the current Playlist plus two, or if the `_HLS_part` exceeds the last Partial Segment in
///   the current Playlist by the Advance Part Limit, then the server SHOULD immediately return
///   Bad Request, such as HTTP 400. The Advance Part Limit is three divided by the Part Target
///   Duration if the Part Target Duration is less than one second, or three otherwise." (6
///   parts for 0.5 s parts.) Parts are counted with every segment holding as many as one can
///   ([`LlConfig::parts_per_segment`]), so a request for the last part of the next segment
///   passes and one beyond it does not. The last Media Segment is the last complete one.
/// - "If the Client requests a Part Index greater than that of the final Partial Segment of the
///   Parent Segment, the Server MUST treat the request as one for Part Index 0 of the following
///   Parent Segment." A part index one past the most a segment can have is such a request; a
///   higher one names nothing any segment can have, and is refused.
/// - "The Server MUST deliver the entire Playlist, even if the requested Media Segment is not the
///   last one in the Playlist, and even if it is no longer in the Playlist": a request for what
///   is already there, or has left the window, is answered now.
pub fn reload(rendition: &LlRendition, query: Option<&str>) -> Reload {
    let directives = match parse_directives(query) {
        Ok(directives) => directives,
        Err(reason) => return Reload::BadRequest(reason),
    };
    let Some(msn) = directives.msn else {
        return match directives.part {
            Some(_) => Reload::BadRequest("_HLS_part needs _HLS_msn".to_owned()),
            None => Reload::Now,
        };
    };
    if rendition.has_ended() {
        return Reload::Now;
    }
    let config = rendition.config();
    let parts_per_segment = config.parts_per_segment();
    // Signed: before the first segment, the last one is the one before it.
    let last_msn = rendition
        .last_complete_msn()
        .map_or(i128::from(rendition.media_sequence()) - 1, i128::from);
    if i128::from(msn) > last_msn + 2 {
        return Reload::BadRequest(format!(
            "_HLS_msn={msn} is more than two segments after the last one ({last_msn})"
        ));
    }
    if let Some(part) = directives.part {
        if part > parts_per_segment {
            return Reload::BadRequest(format!(
                "_HLS_part={part}: a segment has {parts_per_segment} parts at most"
            ));
        }
        let (last_part_msn, last_part) = match rendition.last_part() {
            Some((msn, part)) => (i128::from(msn), i128::from(part)),
            None => (last_msn, i128::from(parts_per_segment) - 1),
        };
        let per_segment = i128::from(parts_per_segment);
        let ahead = (i128::from(msn) - last_part_msn) * per_segment + i128::from(part) - last_part;
        let limit = advance_part_limit(config);
        if ahead > limit {
            return Reload::BadRequest(format!(
                "_HLS_msn={msn}&_HLS_part={part} is {ahead} parts after the last one, more than {limit}"
            ));
        }
    }
    if is_satisfied(rendition, msn, directives.part) {
        Reload::Now
    } else {
        Reload::WaitFor {
            msn,
            part: directives.part,
        }
    }
}

/// Three over the part target in seconds when it is under a second, else three.
fn advance_part_limit(config: &LlConfig) -> i128 {
    let part = i128::from(config.part_target.0.max(1));
    let second = i128::from(TICKS_PER_SECOND);
    if part < second { 3 * second / part } else { 3 }
}

/// Whether `rendition` has what a blocking request for segment `msn` (and `part` of it) waits
/// for: with no part, a complete segment numbered `msn` or later (6.2.5.2: "until the Playlist
/// contains a Media Segment with a Media Sequence Number of M or later"); with a part, that part
/// or a later one, a part past a complete segment's last being the next segment's first.
pub fn is_satisfied(rendition: &LlRendition, msn: u64, part: Option<u32>) -> bool {
    if rendition.has_ended() {
        return true;
    }
    let Some(part) = part else {
        return rendition
            .last_complete_msn()
            .is_some_and(|last| last >= msn);
    };
    let Some(last) = rendition.segments().next_back() else {
        return false;
    };
    if last.msn != msn {
        // A later segment holds a later part (a segment is listed once it has one, or once
        // complete); an earlier one cannot hold this one.
        return last.msn > msn;
    }
    let listed = last.parts.len() as u32;
    // A complete segment listed without its parts holds them all.
    let held = if last.complete && listed == 0 {
        rendition.config().parts_per_segment()
    } else {
        listed
    };
    part < held
}

/// How long a blocking request may wait before it is answered 503: three target durations
/// (6.2.5.2: "A Server that cannot provide the requested Playlist after blocking for more than
/// three Target Durations SHOULD return Service Unavailable, such as HTTP 503").
pub fn block_timeout(rendition: &LlRendition) -> Ticks {
    Ticks::from_secs(3 * rendition.target_duration_secs())
}

/// Where a request held for segment `msn` (and `part`) stands after waiting `waited`: ready,
/// to wait at most what is left of [`block_timeout`], or unavailable once that is spent (at
/// three target durations exactly, so that a timer set for the rest ends the wait).
pub fn poll_wait(rendition: &LlRendition, msn: u64, part: Option<u32>, waited: Ticks) -> Waited {
    if is_satisfied(rendition, msn, part) {
        return Waited::Ready;
    }
    let timeout = block_timeout(rendition);
    if waited >= timeout {
        Waited::Unavailable
    } else {
        Waited::Wait {
            at_most: timeout - waited,
        }
    }
}

/// The `Cache-Control` header of an answer, for a CDN in front of the origin. Every `_HLS_`
/// parameter must stay in the CDN's cache key (the default for a URL's query; AWS MediaPackage's
/// and Qwilt's LL-HLS guides say to keep `_HLS_msn`, `_HLS_part` and `_HLS_skip` in it), and
/// the origin's read timeout must outlast a blocking wait (three target durations).
///
/// - [`LlResponse::MediaPlaylist`]: `no-cache`. A request without directives is a player tuning
///   in, and the tune-in wants the live edge; a CDN may keep the body but asks the origin each
///   time (RFC 8216bis appendix C lets a player cope with an older one through `Age`, at the
///   cost of a further blocking request, so nothing is gained by caching it).
/// - [`LlResponse::BlockingMediaPlaylist`]: `public, max-age` of three target durations. The
///   answer to `_HLS_msn=M&_HLS_part=N` is a playlist holding that part, which stays a right
///   answer to that URL ("The Server MUST deliver the entire Playlist, even if the requested
///   Media Segment is not the last one"), and every player at the edge asks the same URL at
///   about the same time: the CDN holds one request to the origin and answers them all from
///   it. What it lists stays downloadable that long (parts three target durations after they
///   leave the playlist, 6.2.2; segments for the whole window).
/// - [`LlResponse::Media`]: `public, max-age=86400, immutable`. A part's or segment's name is its
///   instant in 90 kHz ticks since the epoch: its bytes never change. A hinted part is held by
///   the origin until it exists ("the server MUST refrain from transmitting any bytes belonging
///   to a Partial Segment until all bytes of that Partial Segment can be transmitted at the full
///   speed of the link", 6.2.6), then answered as this.
/// - [`LlResponse::Multivariant`]: `public, max-age` of one target duration: it changes only
///   when the source's ladder does, and a player reads it once.
/// - [`LlResponse::Init`]: `no-cache`. `init-{n}.mp4` is numbered from 0 again by every publish:
///   its name does not pin its bytes, and a player fetches it once per run, so revalidating it
///   costs little.
/// - [`LlResponse::Refused`]: `no-store`. A 400 for a part too far ahead is wrong seconds later,
///   a 503 is transient, and a cached 404 for a hinted part would outlive the part's arrival.
pub fn cache_control(response: LlResponse, config: &LlConfig) -> String {
    let target_duration = config.target_duration_secs();
    match response {
        LlResponse::MediaPlaylist | LlResponse::Init => "no-cache".to_owned(),
        LlResponse::BlockingMediaPlaylist => {
            format!("public, max-age={}", 3 * target_duration)
        }
        LlResponse::Media => "public, max-age=86400, immutable".to_owned(),
        LlResponse::Multivariant => format!("public, max-age={target_duration}"),
        LlResponse::Refused => "no-store".to_owned(),
    }
}
