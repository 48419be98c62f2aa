//! SCTE-35 inside MPEG-TS segments: a pure rewriter that adds a break's cue to a shared segment
//! file as it is served (no IO), and the cue a playlist names in the segment's URL.
//!
//! A channel's HLS-TS playlists mark breaks in the playlist (see [`crate::hls`]); partners such
//! as Pluto also want the cue in the stream. Segments are encoded once per asset and air on many
//! channels at many times, so the file on disk never changes: the playlist points the break's
//! first segment, and the first segment after the break, at a channel URL that names the cue
//! ([`SegmentCue::push_url`]), and the handler serving it reads the shared file and calls
//! [`insert_cue`]. The URL is a function of the timeline, so every replica serves the same bytes.
//!
//! [`insert_cue`] changes a segment in exactly two ways, every other byte untouched:
//!
//! - Every PMT packet gets a registration descriptor `CUEI` in its program_info loop and an
//!   elementary stream of stream_type 0x86 on [`SCTE35_PID`] (or the next PID up that the
//!   segment does not use), its version_number bumped and its CRC-32/MPEG-2 recomputed. The PMT
//!   must fit in one packet and start at its payload (pointer_field 0), as our muxer writes it;
//!   anything else is refused with a [`TsError`]. The stuffing that made room is the packet's own
//!   (its adaptation field's, or 0xFF after the section).
//! - The `splice_info_section` is carried in TS packets on that PID (pointer_field 0, 0xFF
//!   stuffing, continuity counter from 0), inserted right after the first PMT packet, which must
//!   come before the first video packet.
//!
//! The splice time: the section keeps the playlist's command as is (the same event id,
//! `pts_time`, duration and flags as `EXT-OATCLS-SCTE35` and the DATERANGE carry, whose
//! `pts_time` is the break's instant on the channel's clock), and its `pts_adjustment` is set so
//! that `pts_time + pts_adjustment` (mod 2^33), the splice time SCTE 35 defines, is the segment's
//! first video PTS, read from the first video PES header: the IDR that opens the segment in our
//! ladder. A command without `pts_time` (splice_immediate) keeps `pts_adjustment` 0.
//!
//! A segment the rewriter refuses is served as it is by the caller ([`insert_cue_or_original`]):
//! the playlist still carries the cue.

use std::fmt::Write as _;

use onair_domain::Ticks;
use onair_domain::scte35::{self, PTS_MODULUS, SpliceCommand, SpliceInfoSection};

use crate::hls::CueCommand;

/// The PID the SCTE-35 stream takes unless the segment already uses it.
pub const SCTE35_PID: u16 = 0x01F0;

/// The PMT stream_type of SCTE-35 sections (SCTE 35, section 8.1).
pub const SCTE35_STREAM_TYPE: u8 = 0x86;

/// The registration descriptor's tag (ISO/IEC 13818-1, 2.6.8).
const REGISTRATION_DESCRIPTOR: u8 = 0x05;

const PACKET_LEN: usize = 188;
const SYNC_BYTE: u8 = 0x47;
const NULL_PID: u16 = 0x1FFF;

/// Why a segment cannot carry a cue: the caller serves it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsError {
    #[error("not MPEG-TS: {0}")]
    NotTs(String),
    #[error("no PAT before the end of the segment")]
    NoPat,
    #[error("the PAT names no program")]
    NoProgram,
    #[error("no PMT on PID {0:#06x} in the segment")]
    NoPmt(u16),
    #[error("malformed {table} in packet {packet}: {reason}")]
    Malformed {
        table: &'static str,
        packet: usize,
        reason: &'static str,
    },
    #[error("the {table} in packet {packet} spans more than one packet: not supported")]
    SpansPackets { table: &'static str, packet: usize },
    #[error("the PMT changes within the segment (packet {0}): not supported")]
    PmtChanges(usize),
    #[error("the PMT with an SCTE-35 stream would not fit in one packet ({0} bytes)")]
    PmtTooLong(usize),
    #[error("the PMT already lists an SCTE-35 stream on PID {0:#06x}")]
    AlreadyCarries(u16),
    #[error("the PMT lists no video stream")]
    NoVideoStream,
    #[error("a video packet (packet {0}) comes before the first PMT")]
    VideoBeforePmt(usize),
    #[error("no video PES with a PTS in the segment")]
    NoVideoPts,
}

/// Where the cue goes: the segment with the section added, as the module documentation says.
pub fn insert_cue(segment: &[u8], section: &SpliceInfoSection) -> Result<Vec<u8>, TsError> {
    check_packets(segment)?;
    let pat = find_pat(segment)?;
    let pmt = find_pmt(segment, pat.pmt_pid)?;
    if let Some((_, pid)) = pmt
        .streams
        .iter()
        .find(|(stream_type, _)| *stream_type == SCTE35_STREAM_TYPE)
    {
        return Err(TsError::AlreadyCarries(*pid));
    }
    let (pmt_packets, first_pmt) = (&pmt.packets, pmt.packets[0]);
    let video = first_video(segment, &pmt)?;
    if video.packet < first_pmt {
        return Err(TsError::VideoBeforePmt(video.packet));
    }
    let pid = free_pid(segment, &pmt);
    let new_pmt = pmt.with_scte35(pid);

    let mut section = section.clone();
    section.pts_adjustment = match command_pts(&section.command) {
        Some(pts_time) => (video.pts + PTS_MODULUS - pts_time % PTS_MODULUS) % PTS_MODULUS,
        None => 0,
    };
    let carried = section_packets(pid, &section.encode());

    let mut out = Vec::with_capacity(segment.len() + carried.len());
    for (index, packet) in segment.chunks_exact(PACKET_LEN).enumerate() {
        if pmt_packets.contains(&index) {
            out.extend_from_slice(&repack_section(packet, &new_pmt, index)?);
        } else {
            out.extend_from_slice(packet);
        }
        if index == first_pmt {
            out.extend_from_slice(&carried);
        }
    }
    Ok(out)
}

/// [`insert_cue`], or the segment unchanged and why when it refuses.
pub fn insert_cue_or_original(
    segment: Vec<u8>,
    section: &SpliceInfoSection,
) -> (Vec<u8>, Option<TsError>) {
    match insert_cue(&segment, section) {
        Ok(rewritten) => (rewritten, None),
        Err(error) => (segment, Some(error)),
    }
}

fn command_pts(command: &SpliceCommand) -> Option<u64> {
    match command {
        SpliceCommand::SpliceNull => None,
        SpliceCommand::SpliceInsert(insert) => insert.pts_time,
        SpliceCommand::TimeSignal(pts_time) => *pts_time,
    }
}

/// A whole number of packets, each starting with the sync byte.
fn check_packets(segment: &[u8]) -> Result<(), TsError> {
    if segment.is_empty() {
        return Err(TsError::NotTs("empty".into()));
    }
    if !segment.len().is_multiple_of(PACKET_LEN) {
        return Err(TsError::NotTs(format!(
            "{} bytes is not a whole number of 188-byte packets (truncated?)",
            segment.len()
        )));
    }
    if let Some(index) = segment
        .chunks_exact(PACKET_LEN)
        .position(|packet| packet[0] != SYNC_BYTE)
    {
        return Err(TsError::NotTs(format!("packet {index} has no sync byte")));
    }
    Ok(())
}

fn pid_of(packet: &[u8]) -> u16 {
    (u16::from(packet[1] & 0x1F) << 8) | u16::from(packet[2])
}

fn starts_unit(packet: &[u8]) -> bool {
    packet[1] & 0x40 != 0
}

/// Where the payload starts, `None` for a packet without one.
fn payload_offset(packet: &[u8]) -> Option<usize> {
    let control = (packet[3] >> 4) & 0b11;
    match control {
        0b01 => Some(4),
        0b11 => {
            let offset = 5 + usize::from(packet[4]);
            (offset < PACKET_LEN).then_some(offset)
        }
        _ => None,
    }
}

/// The section a unit-starting packet carries, whole: it must start at the payload (pointer_field
/// 0) and end within the packet.
fn section_in<'a>(
    packet: &'a [u8],
    index: usize,
    table: &'static str,
) -> Result<&'a [u8], TsError> {
    let malformed = |reason| TsError::Malformed {
        table,
        packet: index,
        reason,
    };
    let payload = &packet[payload_offset(packet).ok_or(malformed("no payload"))?..];
    if payload.len() < 4 {
        return Err(malformed("payload too short"));
    }
    if payload[0] != 0 {
        return Err(malformed("the section does not start at the payload"));
    }
    let section = &payload[1..];
    let length = 3 + (usize::from(section[1] & 0x0F) << 8 | usize::from(section[2]));
    if length > section.len() {
        return Err(TsError::SpansPackets {
            table,
            packet: index,
        });
    }
    let section = &section[..length];
    if length < 12 {
        return Err(malformed("section too short"));
    }
    if scte35::crc32_mpeg2(section) != 0 {
        return Err(malformed("bad CRC"));
    }
    Ok(section)
}

struct Pat {
    pmt_pid: u16,
}

fn find_pat(segment: &[u8]) -> Result<Pat, TsError> {
    let (index, packet) = segment
        .chunks_exact(PACKET_LEN)
        .enumerate()
        .find(|(_, packet)| pid_of(packet) == 0 && starts_unit(packet))
        .ok_or(TsError::NoPat)?;
    let section = section_in(packet, index, "PAT")?;
    if section[0] != 0x00 {
        return Err(TsError::Malformed {
            table: "PAT",
            packet: index,
            reason: "table_id is not 0",
        });
    }
    section[8..section.len() - 4]
        .chunks_exact(4)
        .find(|program| program[0] != 0 || program[1] != 0)
        .map(|program| Pat {
            pmt_pid: (u16::from(program[2] & 0x1F) << 8) | u16::from(program[3]),
        })
        .ok_or(TsError::NoProgram)
}

/// A program map section, as found in the segment.
struct Pmt {
    /// Indexes of the packets that carry it, first to last.
    packets: Vec<usize>,
    section: Vec<u8>,
    pcr_pid: u16,
    program_info: std::ops::Range<usize>,
    /// (stream_type, PID) of each elementary stream.
    streams: Vec<(u8, u16)>,
}

fn find_pmt(segment: &[u8], pmt_pid: u16) -> Result<Pmt, TsError> {
    let mut found: Option<Pmt> = None;
    for (index, packet) in segment.chunks_exact(PACKET_LEN).enumerate() {
        if pid_of(packet) != pmt_pid {
            continue;
        }
        if !starts_unit(packet) {
            return Err(TsError::SpansPackets {
                table: "PMT",
                packet: index,
            });
        }
        let section = section_in(packet, index, "PMT")?;
        match &mut found {
            Some(pmt) if pmt.section == section => pmt.packets.push(index),
            Some(_) => return Err(TsError::PmtChanges(index)),
            None => found = Some(parse_pmt(section, index)?),
        }
    }
    found.ok_or(TsError::NoPmt(pmt_pid))
}

fn parse_pmt(section: &[u8], index: usize) -> Result<Pmt, TsError> {
    let malformed = |reason| TsError::Malformed {
        table: "PMT",
        packet: index,
        reason,
    };
    if section[0] != 0x02 {
        return Err(malformed("table_id is not 2"));
    }
    let pcr_pid = (u16::from(section[8] & 0x1F) << 8) | u16::from(section[9]);
    let info_length = usize::from(section[10] & 0x0F) << 8 | usize::from(section[11]);
    let end = section.len() - 4;
    let program_info = 12..12 + info_length;
    if program_info.end > end {
        return Err(malformed("program_info_length runs past the section"));
    }
    let mut streams = Vec::new();
    let mut at = program_info.end;
    while at < end {
        if at + 5 > end {
            return Err(malformed("truncated stream entry"));
        }
        let stream_type = section[at];
        let pid = (u16::from(section[at + 1] & 0x1F) << 8) | u16::from(section[at + 2]);
        let es_info_length =
            usize::from(section[at + 3] & 0x0F) << 8 | usize::from(section[at + 4]);
        at += 5 + es_info_length;
        if at > end {
            return Err(malformed("ES_info_length runs past the section"));
        }
        streams.push((stream_type, pid));
    }
    Ok(Pmt {
        packets: vec![index],
        section: section.to_vec(),
        pcr_pid,
        program_info,
        streams,
    })
}

impl Pmt {
    /// The section with a `CUEI` registration and an SCTE-35 stream on `pid`, version bumped.
    fn with_scte35(&self, pid: u16) -> Vec<u8> {
        let old = &self.section;
        let registration = [REGISTRATION_DESCRIPTOR, 4, b'C', b'U', b'E', b'I'];
        let stream = [
            SCTE35_STREAM_TYPE,
            0xE0 | (pid >> 8) as u8,
            pid as u8,
            0xF0,
            0x00,
        ];
        let mut new = Vec::with_capacity(old.len() + registration.len() + stream.len());
        new.extend_from_slice(&old[..12]);
        new.extend_from_slice(&old[self.program_info.clone()]);
        new.extend_from_slice(&registration);
        new.extend_from_slice(&old[self.program_info.end..old.len() - 4]);
        new.extend_from_slice(&stream);
        let section_length = new.len() + 4 - 3;
        new[1] = (old[1] & 0xF0) | (section_length >> 8) as u8;
        new[2] = section_length as u8;
        let version = ((old[5] >> 1) & 0x1F).wrapping_add(1) & 0x1F;
        new[5] = (old[5] & 0xC1) | (version << 1);
        let info_length = self.program_info.len() + registration.len();
        new[10] = (old[10] & 0xF0) | (info_length >> 8) as u8;
        new[11] = info_length as u8;
        let crc = scte35::crc32_mpeg2(&new);
        new.extend_from_slice(&crc.to_be_bytes());
        new
    }
}

/// The PES stream types of video (MPEG-1/2, MPEG-4, H.264, H.265, H.266, AVS2/3, VC-1).
fn is_video(stream_type: u8) -> bool {
    matches!(
        stream_type,
        0x01 | 0x02 | 0x10 | 0x1B | 0x1F | 0x20 | 0x24 | 0x33 | 0x42 | 0xD2 | 0xD4 | 0xEA
    )
}

struct FirstVideo {
    packet: usize,
    pts: u64,
}

/// The first video packet, and the PTS of the first video PES (the packet that starts it).
fn first_video(segment: &[u8], pmt: &Pmt) -> Result<FirstVideo, TsError> {
    let video_pid = pmt
        .streams
        .iter()
        .find(|(stream_type, _)| is_video(*stream_type))
        .map(|(_, pid)| *pid)
        .ok_or(TsError::NoVideoStream)?;
    let mut packets = segment
        .chunks_exact(PACKET_LEN)
        .enumerate()
        .filter(|(_, packet)| pid_of(packet) == video_pid);
    let (first, _) = packets.clone().next().ok_or(TsError::NoVideoPts)?;
    let (_, packet) = packets
        .find(|(_, packet)| starts_unit(packet))
        .ok_or(TsError::NoVideoPts)?;
    let pes = payload_offset(packet)
        .map(|offset| &packet[offset..])
        .ok_or(TsError::NoVideoPts)?;
    if pes.len() < 14 || pes[..3] != [0, 0, 1] || pes[7] & 0x80 == 0 {
        return Err(TsError::NoVideoPts);
    }
    let pts = (u64::from(pes[9] >> 1) & 0x07) << 30
        | u64::from(pes[10]) << 22
        | u64::from(pes[11] >> 1) << 15
        | u64::from(pes[12]) << 7
        | u64::from(pes[13] >> 1);
    Ok(FirstVideo { packet: first, pts })
}

/// [`SCTE35_PID`], or the next PID up that the segment and its PMT do not use.
fn free_pid(segment: &[u8], pmt: &Pmt) -> u16 {
    let mut used = [false; 0x2000];
    for packet in segment.chunks_exact(PACKET_LEN) {
        used[usize::from(pid_of(packet))] = true;
    }
    used[usize::from(pmt.pcr_pid)] = true;
    for (_, pid) in &pmt.streams {
        used[usize::from(*pid)] = true;
    }
    (SCTE35_PID..NULL_PID)
        .chain(0x20..SCTE35_PID)
        .find(|pid| !used[usize::from(*pid)])
        .unwrap_or(SCTE35_PID)
}

/// `packet` (a PMT's) carrying `section` instead: the same header and adaptation field fields,
/// its stuffing resized.
fn repack_section(packet: &[u8], section: &[u8], index: usize) -> Result<Vec<u8>, TsError> {
    let malformed = |reason| TsError::Malformed {
        table: "PMT",
        packet: index,
        reason,
    };
    let has_adaptation = (packet[3] >> 4) & 0b10 != 0;
    // The adaptation field's fields before its stuffing (flags, PCR, ...), without its length.
    let fields: &[u8] = if has_adaptation && packet[4] > 0 {
        let length = usize::from(packet[4]);
        let flags = packet[5];
        let mut used = 1;
        if flags & 0x10 != 0 {
            used += 6;
        }
        if flags & 0x08 != 0 {
            used += 6;
        }
        if flags & 0x04 != 0 {
            used += 1;
        }
        for flag in [0x02, 0x01] {
            if flags & flag != 0 {
                used +=
                    1 + usize::from(*packet.get(5 + used).ok_or(malformed("adaptation field"))?);
            }
        }
        if used > length {
            return Err(malformed("adaptation field longer than its length"));
        }
        &packet[5..5 + used]
    } else {
        &[]
    };
    let payload_len = 1 + section.len();
    let room = if has_adaptation {
        PACKET_LEN - 5 - fields.len()
    } else {
        PACKET_LEN - 4
    };
    if payload_len > room {
        return Err(TsError::PmtTooLong(section.len()));
    }
    let mut out = Vec::with_capacity(PACKET_LEN);
    out.extend_from_slice(&packet[..4]);
    if has_adaptation {
        let length = PACKET_LEN - 5 - payload_len;
        out.push(length as u8);
        if length > 0 {
            if fields.is_empty() {
                out.push(0x00); // no flags set
            } else {
                out.extend_from_slice(fields);
            }
            out.resize(5 + length, 0xFF);
        }
    }
    out.push(0); // pointer_field
    out.extend_from_slice(section);
    out.resize(PACKET_LEN, 0xFF);
    Ok(out)
}

/// `section` in packets on `pid`: pointer_field 0, 0xFF after its end, continuity from 0.
fn section_packets(pid: u16, section: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(section.len() + 1);
    payload.push(0);
    payload.extend_from_slice(section);
    let mut out = Vec::with_capacity(payload.len().div_ceil(184) * PACKET_LEN);
    for (counter, chunk) in payload.chunks(PACKET_LEN - 4).enumerate() {
        let start = if counter == 0 { 0x40 } else { 0 };
        out.extend_from_slice(&[
            SYNC_BYTE,
            start | (pid >> 8) as u8,
            pid as u8,
            0x10 | (counter as u8 & 0x0F),
        ]);
        out.extend_from_slice(chunk);
        out.resize(out.len().next_multiple_of(PACKET_LEN), 0xFF);
    }
    out
}

/// Which way a segment's cue splices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CueDirection {
    /// The break's first segment: out of the network.
    Out,
    /// The first segment after the break: back in.
    In,
}

/// The cue a segment URL names: everything [`crate::hls`] encodes a break's cue from, so the
/// handler builds the same section as the playlist's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCue {
    pub command: CueCommand,
    pub direction: CueDirection,
    /// The break's `splice_event_id` (or `segmentation_event_id`).
    pub event_id: u32,
    /// The splice instant on the channel's clock: the break's start (out) or end (in), 33 bits.
    pub pts_time: u64,
    /// The break's duration in 90 kHz ticks.
    pub duration: u64,
}

/// Why a segment URL names no cue: a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CueUrlError {
    #[error("unknown cue {0:?}: out, in, signal-out or signal-in")]
    UnknownCue(String),
    #[error("{field} {value:?} is not a whole number below {limit}")]
    OutOfRange {
        field: &'static str,
        value: String,
        limit: u64,
    },
}

impl SegmentCue {
    /// The cue of `direction` for a break of `duration` from `start`, as the playlist encodes it.
    pub fn new(
        command: CueCommand,
        direction: CueDirection,
        event_id: u32,
        start: Ticks,
        duration: Ticks,
    ) -> SegmentCue {
        let instant = match direction {
            CueDirection::Out => start,
            CueDirection::In => start + duration,
        };
        SegmentCue {
            command,
            direction,
            event_id,
            pts_time: scte35::pts(instant),
            duration: duration.0.max(0) as u64,
        }
    }

    /// The `splice_info_section` of this cue, byte for byte the playlist's.
    pub fn section(&self) -> SpliceInfoSection {
        let at = Ticks(self.pts_time as i64);
        let duration = Ticks(self.duration as i64);
        match (self.command, self.direction) {
            (CueCommand::SpliceInsert, CueDirection::Out) => {
                scte35::break_out(self.event_id, at, duration)
            }
            (CueCommand::SpliceInsert, CueDirection::In) => scte35::break_in(self.event_id, at),
            (CueCommand::TimeSignal, direction) => scte35::break_time_signal(
                self.event_id,
                at,
                duration,
                direction == CueDirection::Out,
            ),
        }
    }

    fn cue_name(&self) -> &'static str {
        match (self.command, self.direction) {
            (CueCommand::SpliceInsert, CueDirection::Out) => "out",
            (CueCommand::SpliceInsert, CueDirection::In) => "in",
            (CueCommand::TimeSignal, CueDirection::Out) => "signal-out",
            (CueCommand::TimeSignal, CueDirection::In) => "signal-in",
        }
    }

    /// Writes the segment's URL relative to its media playlist (`/channels/{slug}/{rung}/`):
    /// `scte35/{event}/{cue}/{pts_time}/{duration}/{path}`, the path percent-encoded.
    pub fn push_url(&self, out: &mut String, path: &str) {
        let _ = write!(
            out,
            "{SEGMENT_URL_PREFIX}{}/{}/{}/{}/",
            self.event_id,
            self.cue_name(),
            self.pts_time,
            self.duration
        );
        crate::hls::push_percent_encoded(out, path.trim_start_matches('/'));
    }

    /// The cue a URL's `{event}/{cue}/{pts_time}/{duration}` name.
    pub fn parse(
        event_id: &str,
        cue: &str,
        pts_time: &str,
        duration: &str,
    ) -> Result<SegmentCue, CueUrlError> {
        let (command, direction) = match cue {
            "out" => (CueCommand::SpliceInsert, CueDirection::Out),
            "in" => (CueCommand::SpliceInsert, CueDirection::In),
            "signal-out" => (CueCommand::TimeSignal, CueDirection::Out),
            "signal-in" => (CueCommand::TimeSignal, CueDirection::In),
            other => return Err(CueUrlError::UnknownCue(other.to_owned())),
        };
        Ok(SegmentCue {
            command,
            direction,
            event_id: number("event", event_id, 1 << 32)? as u32,
            pts_time: number("pts_time", pts_time, PTS_MODULUS)?,
            // break_duration is 33 bits, a segmentation duration 40.
            duration: number("duration", duration, PTS_MODULUS)?,
        })
    }
}

/// The start of a cued segment's URL, relative to its media playlist.
pub const SEGMENT_URL_PREFIX: &str = "scte35/";

fn number(field: &'static str, value: &str, limit: u64) -> Result<u64, CueUrlError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|number| *number < limit && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| CueUrlError::OutOfRange {
            field,
            value: value.to_owned(),
            limit,
        })
}

#[cfg(test)]
mod tests;
