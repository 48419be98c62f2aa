use onair_domain::Ticks;
use onair_domain::scte35::{self, SpliceCommand, SpliceInfoSection, crc32_mpeg2};
use proptest::prelude::*;

use super::*;
use crate::hls::CueCommand;

// ---- a segment as our muxer writes it ----

const PMT_PID: u16 = 0x20;
const VIDEO_PID: u16 = 0x41;
const AUDIO_PID: u16 = 0x42;

/// How [`segment`] lays a segment out.
#[derive(Debug, Clone)]
struct Layout {
    /// PAT and PMT stuffed in their adaptation field (as mpegtsmux does), or after the section.
    tables_in_adaptation: bool,
    /// Descriptors in the PMT's program_info loop.
    program_info: Vec<u8>,
    /// Elementary streams besides video and audio (stream_type, PID).
    extra_streams: Vec<(u8, u16)>,
    /// The first video PES's PTS.
    video_pts: u64,
    /// Video packets after the first, audio packets, and how often PAT and PMT repeat.
    video_packets: usize,
    audio_packets: usize,
    tables_every: usize,
    /// Packets on some other PID (e.g. one that takes 0x1F0).
    stray_pid: Option<u16>,
    pmt_version: u8,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            tables_in_adaptation: true,
            program_info: Vec::new(),
            extra_streams: Vec::new(),
            video_pts: 326_520_000,
            video_packets: 20,
            audio_packets: 6,
            tables_every: 12,
            stray_pid: None,
            pmt_version: 0,
        }
    }
}

fn with_crc(mut section: Vec<u8>) -> Vec<u8> {
    let crc = crc32_mpeg2(&section);
    section.extend_from_slice(&crc.to_be_bytes());
    section
}

fn pat() -> Vec<u8> {
    with_crc(vec![
        0x00,
        0xB0,
        13,
        0x00,
        0x01,
        0xC1,
        0x00,
        0x00,
        0x00,
        0x01,
        0xE0 | (PMT_PID >> 8) as u8,
        PMT_PID as u8,
    ])
}

fn pmt(layout: &Layout) -> Vec<u8> {
    let mut streams = vec![(0x1B, VIDEO_PID), (0x0F, AUDIO_PID)];
    streams.extend(layout.extra_streams.iter().copied());
    let mut section = vec![
        0x02,
        0xB0,
        0,
        0x00,
        0x01,
        0xC1 | (layout.pmt_version << 1),
        0x00,
        0x00,
        0xE0 | (VIDEO_PID >> 8) as u8,
        VIDEO_PID as u8,
        0xF0 | (layout.program_info.len() >> 8) as u8,
        layout.program_info.len() as u8,
    ];
    section.extend_from_slice(&layout.program_info);
    for (stream_type, pid) in streams {
        section.extend_from_slice(&[stream_type, 0xE0 | (pid >> 8) as u8, pid as u8, 0xF0, 0]);
    }
    let length = section.len() + 4 - 3;
    section[1] = 0xB0 | (length >> 8) as u8;
    section[2] = length as u8;
    with_crc(section)
}

/// A packet carrying `section` whole, stuffed as `layout` says.
fn table_packet(pid: u16, section: &[u8], in_adaptation: bool, counter: u8) -> Vec<u8> {
    let mut packet = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8];
    let payload = 1 + section.len();
    if in_adaptation {
        packet.push(0x30 | (counter & 0x0F));
        let length = 183 - payload;
        packet.push(length as u8);
        if length > 0 {
            packet.push(0x00);
            packet.resize(5 + length, 0xFF);
        }
    } else {
        packet.push(0x10 | (counter & 0x0F));
    }
    packet.push(0);
    packet.extend_from_slice(section);
    packet.resize(188, 0xFF);
    packet
}

fn pes_header(stream_id: u8, pts: u64) -> Vec<u8> {
    vec![
        0,
        0,
        1,
        stream_id,
        0,
        0,
        0x80,
        0x80,
        5,
        0x21 | ((pts >> 29) & 0x0E) as u8,
        (pts >> 22) as u8,
        0x01 | ((pts >> 14) & 0xFE) as u8,
        (pts >> 7) as u8,
        0x01 | ((pts << 1) & 0xFE) as u8,
    ]
}

/// A media packet on `pid`; the first of a PES starts with its header (and, on video, a PCR).
fn media_packet(pid: u16, counter: u8, pes: Option<Vec<u8>>, fill: u8) -> Vec<u8> {
    let start = if pes.is_some() { 0x40 } else { 0 };
    let mut packet = vec![0x47, start | (pid >> 8) as u8, pid as u8];
    if let Some(header) = pes {
        packet.push(0x30 | (counter & 0x0F));
        // An adaptation field with a PCR, as on the video PID's first packet.
        packet.extend_from_slice(&[7, 0x50, 0x09, 0xBB, 0x02, 0x57, 0x7E, 0x00]);
        packet.extend_from_slice(&header);
    } else {
        packet.push(0x10 | (counter & 0x0F));
    }
    packet.resize(188, fill);
    packet
}

fn segment(layout: &Layout) -> Vec<u8> {
    let (pat, pmt) = (pat(), pmt(layout));
    let mut out = Vec::new();
    let mut tables = 0u8;
    let mut push_tables = |out: &mut Vec<u8>| {
        out.extend(table_packet(0, &pat, layout.tables_in_adaptation, tables));
        out.extend(table_packet(
            PMT_PID,
            &pmt,
            layout.tables_in_adaptation,
            tables,
        ));
        tables = tables.wrapping_add(1);
    };
    push_tables(&mut out);
    out.extend(media_packet(
        VIDEO_PID,
        0,
        Some(pes_header(0xE0, layout.video_pts)),
        0xA5,
    ));
    let (mut video, mut audio) = (1u8, 0u8);
    let total = layout.video_packets + layout.audio_packets;
    for index in 0..total {
        if index > 0 && index % layout.tables_every == 0 {
            push_tables(&mut out);
        }
        if index % 4 == 3 && usize::from(audio) < layout.audio_packets {
            let pes = (audio % 3 == 0).then(|| pes_header(0xC0, layout.video_pts + 959));
            out.extend(media_packet(AUDIO_PID, audio, pes, index as u8));
            audio += 1;
        } else {
            out.extend(media_packet(VIDEO_PID, video, None, index as u8));
            video = video.wrapping_add(1);
        }
        if index == 2
            && let Some(pid) = layout.stray_pid
        {
            out.extend(media_packet(pid, 0, None, 0x11));
        }
    }
    out
}

// ---- reading it back, independently of the rewriter ----

struct Packet<'a> {
    pid: u16,
    start: bool,
    counter: u8,
    payload: &'a [u8],
}

fn packets(bytes: &[u8]) -> Vec<Packet<'_>> {
    assert_eq!(bytes.len() % 188, 0);
    bytes
        .chunks(188)
        .map(|packet| {
            assert_eq!(packet[0], 0x47);
            let control = packet[3] >> 4 & 3;
            let offset = match control {
                1 => 4,
                3 => 5 + usize::from(packet[4]),
                _ => 188,
            };
            Packet {
                pid: u16::from(packet[1] & 0x1F) << 8 | u16::from(packet[2]),
                start: packet[1] & 0x40 != 0,
                counter: packet[3] & 0x0F,
                payload: &packet[offset..],
            }
        })
        .collect()
}

/// The whole section that starts in `payload` (pointer_field 0) and continues in `rest`.
fn whole_section(payload: &[u8], rest: &[&[u8]]) -> Vec<u8> {
    assert_eq!(payload[0], 0, "pointer_field");
    let mut bytes = payload[1..].to_vec();
    for more in rest {
        bytes.extend_from_slice(more);
    }
    let length = 3 + (usize::from(bytes[1] & 0x0F) << 8 | usize::from(bytes[2]));
    assert!(
        bytes[length..].iter().all(|byte| *byte == 0xFF),
        "0xFF stuffing after the section"
    );
    bytes.truncate(length);
    assert_eq!(crc32_mpeg2(&bytes), 0, "CRC of {bytes:02X?}");
    bytes
}

/// What a reader finds in the PMT.
#[derive(Debug, PartialEq, Eq)]
struct ReadPmt {
    version: u8,
    program_info: Vec<u8>,
    streams: Vec<(u8, u16)>,
}

fn read_pmt(section: &[u8]) -> ReadPmt {
    assert_eq!(section[0], 0x02);
    let info_length = usize::from(section[10] & 0x0F) << 8 | usize::from(section[11]);
    let mut streams = Vec::new();
    let mut at = 12 + info_length;
    while at < section.len() - 4 {
        let es_length = usize::from(section[at + 3] & 0x0F) << 8 | usize::from(section[at + 4]);
        streams.push((
            section[at],
            u16::from(section[at + 1] & 0x1F) << 8 | u16::from(section[at + 2]),
        ));
        at += 5 + es_length;
    }
    assert_eq!(at, section.len() - 4);
    ReadPmt {
        version: section[5] >> 1 & 0x1F,
        program_info: section[12..12 + info_length].to_vec(),
        streams,
    }
}

/// Checks `output` against `input` as the module documentation promises; returns the carried
/// section's bytes and its PID.
fn check_rewrite(input: &[u8], output: &[u8], layout: &Layout) -> (Vec<u8>, u16) {
    let before = packets(input);
    let after = packets(output);
    let pmt_after: Vec<&Packet> = after.iter().filter(|p| p.pid == PMT_PID).collect();
    let read = read_pmt(&whole_section(pmt_after[0].payload, &[]));
    assert_eq!(
        read.version,
        (layout.pmt_version + 1) % 32,
        "version bumped"
    );
    let mut info = layout.program_info.clone();
    info.extend_from_slice(&[0x05, 4, b'C', b'U', b'E', b'I']);
    assert_eq!(
        read.program_info, info,
        "CUEI registered after the program's own"
    );
    let &(stream_type, pid) = read.streams.last().unwrap();
    assert_eq!(stream_type, 0x86);
    let original = read_pmt(&whole_section(
        before.iter().find(|p| p.pid == PMT_PID).unwrap().payload,
        &[],
    ));
    assert_eq!(read.streams[..read.streams.len() - 1], original.streams[..]);
    for packet in &pmt_after {
        assert_eq!(
            read_pmt(&whole_section(packet.payload, &[])),
            read,
            "every PMT"
        );
    }
    // The section's packets: right after the first PMT, before any video.
    let first_pmt = after.iter().position(|p| p.pid == PMT_PID).unwrap();
    let carried: Vec<&Packet> = after.iter().filter(|p| p.pid == pid).collect();
    let n = carried.len();
    assert!(n >= 1);
    for (offset, packet) in after[first_pmt + 1..first_pmt + 1 + n].iter().enumerate() {
        assert_eq!(packet.pid, pid, "contiguous after the PMT");
        assert_eq!(packet.counter, offset as u8 & 0x0F, "continuity from 0");
        assert_eq!(packet.start, offset == 0);
    }
    assert!(after[..first_pmt].iter().all(|p| p.pid != VIDEO_PID));
    let rest: Vec<&[u8]> = carried[1..].iter().map(|p| p.payload).collect();
    let section = whole_section(carried[0].payload, &rest);
    // Every other packet as it was, byte for byte.
    let untouched = |bytes: &[u8], skip: &[u16]| -> Vec<Vec<u8>> {
        bytes
            .chunks(188)
            .filter(|packet| {
                !skip.contains(&(u16::from(packet[1] & 0x1F) << 8 | u16::from(packet[2])))
            })
            .map(<[u8]>::to_vec)
            .collect()
    };
    assert_eq!(
        untouched(output, &[PMT_PID, pid]),
        untouched(input, &[PMT_PID])
    );
    assert_eq!(output.len(), input.len() + n * 188);
    (section, pid)
}

fn cue(direction: CueDirection, command: CueCommand) -> SegmentCue {
    SegmentCue::new(
        command,
        direction,
        7,
        Ticks::from_secs(1_790_000_000),
        Ticks::from_secs(30),
    )
}

/// The 33-bit splice time a section's command and pts_adjustment give.
fn splice_time(section: &[u8]) -> Option<u64> {
    let adjustment = u64::from(section[4] & 1) << 32
        | u64::from(u32::from_be_bytes(section[5..9].try_into().unwrap()));
    let command = &section[14..];
    let time = match section[13] {
        0x05 if command[5] & 0x10 == 0 => &command[6..],
        0x06 => command,
        _ => return None,
    };
    let pts = u64::from(time[0] & 1) << 32
        | u64::from(u32::from_be_bytes(time[1..5].try_into().unwrap()));
    Some((pts + adjustment) % (1 << 33))
}

// ---- what it writes ----

#[test]
fn the_pmt_registers_cuei_and_the_cue_follows_it_splicing_at_the_first_video_pts() {
    let layout = Layout::default();
    let input = segment(&layout);
    let cue = cue(CueDirection::Out, CueCommand::SpliceInsert);
    let output = insert_cue(&input, &cue.section()).unwrap();
    let (section, pid) = check_rewrite(&input, &output, &layout);
    assert_eq!(pid, SCTE35_PID);
    // The playlist's section with only pts_adjustment (and so the CRC) changed.
    let mut expected = cue.section();
    expected.pts_adjustment = (layout.video_pts + (1 << 33) - cue.pts_time) % (1 << 33);
    assert_eq!(section, expected.encode());
    assert_eq!(splice_time(&section), Some(layout.video_pts));
}

#[test]
fn the_tables_may_be_stuffed_after_the_section_instead() {
    let layout = Layout {
        tables_in_adaptation: false,
        pmt_version: 31,
        ..Layout::default()
    };
    let input = segment(&layout);
    let output = insert_cue(
        &input,
        &cue(CueDirection::In, CueCommand::SpliceInsert).section(),
    )
    .unwrap();
    let (section, _) = check_rewrite(&input, &output, &layout);
    assert_eq!(splice_time(&section), Some(layout.video_pts));
}

#[test]
fn a_taken_pid_moves_the_stream_to_the_next_free_one() {
    let layout = Layout {
        stray_pid: Some(SCTE35_PID),
        extra_streams: vec![(0x06, SCTE35_PID + 1)],
        ..Layout::default()
    };
    let input = segment(&layout);
    let output = insert_cue(
        &input,
        &cue(CueDirection::Out, CueCommand::TimeSignal).section(),
    )
    .unwrap();
    let (_, pid) = check_rewrite(&input, &output, &layout);
    assert_eq!(pid, SCTE35_PID + 2);
}

#[test]
fn a_section_longer_than_a_packet_spans_packets_with_counting_continuity() {
    let layout = Layout::default();
    let input = segment(&layout);
    let mut section = cue(CueDirection::Out, CueCommand::TimeSignal).section();
    if let scte35::SpliceDescriptor::Segmentation(descriptor) = &mut section.descriptors[0] {
        descriptor.upid_type = 0x0C;
        descriptor.upid = vec![0xAB; 240];
    }
    let output = insert_cue(&input, &section).unwrap();
    let (carried, _) = check_rewrite(&input, &output, &layout);
    assert!(carried.len() > 183);
    assert_eq!(output.len(), input.len() + 2 * 188);
}

#[test]
fn an_immediate_splice_keeps_no_adjustment() {
    let input = segment(&Layout::default());
    let section = SpliceInfoSection::new(SpliceCommand::TimeSignal(None), Vec::new());
    let output = insert_cue(&input, &section).unwrap();
    let (carried, _) = check_rewrite(&input, &output, &Layout::default());
    assert_eq!(carried, section.encode());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_segment_our_muxer_could_write_reads_back_with_the_cue(
        tables_in_adaptation in any::<bool>(),
        program_info in proptest::collection::vec(any::<u8>(), 0..60),
        extra in proptest::collection::vec((any::<u8>(), 0x100u16..0x1FFE), 0..8),
        video_pts in 0u64..(1 << 33),
        video_packets in 1usize..60,
        audio_packets in 0usize..20,
        tables_every in 1usize..30,
        stray_pid in proptest::option::of(0x100u16..0x1FFE),
        pmt_version in 0u8..32,
        out in any::<bool>(),
        time_signal in any::<bool>(),
        start_secs in 0i64..4_000_000_000,
    ) {
        let extra_streams: Vec<(u8, u16)> = extra
            .into_iter()
            .filter(|(stream_type, pid)| {
                *stream_type != 0x86 && !is_video(*stream_type) && ![PMT_PID, VIDEO_PID, AUDIO_PID].contains(pid)
            })
            .collect();
        let layout = Layout {
            tables_in_adaptation,
            program_info,
            extra_streams,
            video_pts,
            video_packets,
            audio_packets,
            tables_every,
            stray_pid: stray_pid.filter(|pid| ![PMT_PID, VIDEO_PID, AUDIO_PID].contains(pid)),
            pmt_version,
        };
        let input = segment(&layout);
        let direction = if out { CueDirection::Out } else { CueDirection::In };
        let command = if time_signal { CueCommand::TimeSignal } else { CueCommand::SpliceInsert };
        let cue = SegmentCue::new(command, direction, 9, Ticks::from_secs(start_secs), Ticks::from_secs(120));
        let output = insert_cue(&input, &cue.section()).unwrap();
        let (section, pid) = check_rewrite(&input, &output, &layout);
        prop_assert_eq!(splice_time(&section), Some(video_pts));
        prop_assert!(!layout.extra_streams.iter().any(|(_, taken)| *taken == pid));
        prop_assert!(layout.stray_pid != Some(pid));
        // The same input gives the same bytes: what every replica serves.
        prop_assert_eq!(insert_cue(&input, &cue.section()).unwrap(), output);
    }

    #[test]
    fn any_bytes_give_an_error_or_a_segment_never_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        cut in 0usize..6000,
    ) {
        let section = cue(CueDirection::Out, CueCommand::SpliceInsert).section();
        let _ = insert_cue(&bytes, &section);
        let mut damaged = segment(&Layout::default());
        damaged.truncate(cut.min(damaged.len()) / 188 * 188);
        let _ = insert_cue(&damaged, &section);
    }
}

// ---- what it refuses, and the caller serves as it was ----

#[test]
fn input_that_is_not_a_segment_as_we_write_it_is_refused_clearly_and_served_unchanged() {
    let good = segment(&Layout::default());
    let section = cue(CueDirection::Out, CueCommand::SpliceInsert).section();
    let mut bad_crc = good.clone();
    bad_crc[2 * 188 - 1] ^= 0x01; // the PMT's CRC, at the end of its packet
    let mut spanning = good.clone();
    spanning[188 + 4 + 1 + usize::from(good[188 + 4]) + 1 + 2] = 0xFF; // section_length 255
    let no_pat: Vec<u8> = good
        .chunks(188)
        .filter(|packet| packet[1] & 0x1F != 0 || packet[2] != 0)
        .flatten()
        .copied()
        .collect();
    let already = segment(&Layout {
        extra_streams: vec![(0x86, 0x300)],
        ..Layout::default()
    });
    let video_first = {
        let mut bytes = good[2 * 188..3 * 188].to_vec();
        bytes.extend_from_slice(&good);
        bytes
    };
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("empty", Vec::new(), "not MPEG-TS: empty".into()),
        (
            "text",
            b"#EXTM3U\n#EXT-X-VERSION:3\n".repeat(20),
            "not MPEG-TS: 500 bytes is not a whole number of 188-byte packets (truncated?)".into(),
        ),
        (
            "truncated",
            good[..good.len() - 100].to_vec(),
            format!(
                "not MPEG-TS: {} bytes is not a whole number of 188-byte packets (truncated?)",
                good.len() - 100
            ),
        ),
        (
            "no sync",
            vec![0u8; 376],
            "not MPEG-TS: packet 0 has no sync byte".into(),
        ),
        (
            "no PAT",
            no_pat,
            "no PAT before the end of the segment".into(),
        ),
        (
            "bad CRC",
            bad_crc,
            "malformed PMT in packet 1: bad CRC".into(),
        ),
        (
            "spanning",
            spanning,
            "the PMT in packet 1 spans more than one packet: not supported".into(),
        ),
        (
            "already",
            already,
            "the PMT already lists an SCTE-35 stream on PID 0x0300".into(),
        ),
        (
            "video first",
            video_first,
            "a video packet (packet 0) comes before the first PMT".into(),
        ),
    ];
    for (name, bytes, message) in cases {
        let error = insert_cue(&bytes, &section).expect_err(name);
        assert_eq!(error.to_string(), message, "{name}");
        let (served, why) = insert_cue_or_original(bytes.clone(), &section);
        assert_eq!(served, bytes, "{name}: served unchanged");
        assert_eq!(why, Some(error));
    }
}

// ---- the cue a URL names ----

#[test]
fn a_segment_url_names_the_playlists_cue_and_parses_back_to_it() {
    for command in [CueCommand::SpliceInsert, CueCommand::TimeSignal] {
        for direction in [CueDirection::Out, CueDirection::In] {
            let cue = cue(direction, command);
            let mut url = String::new();
            cue.push_url(&mut url, "/assets/4/360p/ts/00000 a.ts");
            let parts: Vec<&str> = url.split('/').collect();
            assert_eq!(parts[0], "scte35");
            assert_eq!(parts[5..], ["assets", "4", "360p", "ts", "00000%20a.ts"]);
            let parsed = SegmentCue::parse(parts[1], parts[2], parts[3], parts[4]).unwrap();
            assert_eq!(parsed, cue);
            assert_eq!(parsed.section(), cue.section());
        }
    }
    let start = Ticks::from_secs(1_790_000_000);
    assert_eq!(
        cue(CueDirection::Out, CueCommand::SpliceInsert).section(),
        scte35::break_out(7, start, Ticks::from_secs(30))
    );
    assert_eq!(
        cue(CueDirection::In, CueCommand::SpliceInsert).section(),
        scte35::break_in(7, start + Ticks::from_secs(30))
    );
}

#[test]
fn a_segment_url_with_a_bad_cue_is_refused_with_the_field_named() {
    for (parts, message) in [
        (
            ["7", "sideways", "0", "0"],
            "unknown cue \"sideways\": out, in, signal-out or signal-in",
        ),
        (
            ["4294967296", "out", "0", "0"],
            "event \"4294967296\" is not a whole number below 4294967296",
        ),
        (
            ["7", "in", "8589934592", "0"],
            "pts_time \"8589934592\" is not a whole number below 8589934592",
        ),
        (
            ["7", "out", "1", "+5"],
            "duration \"+5\" is not a whole number below 8589934592",
        ),
        (
            ["7", "out", "1", "-5"],
            "duration \"-5\" is not a whole number below 8589934592",
        ),
    ] {
        let error = SegmentCue::parse(parts[0], parts[1], parts[2], parts[3]).unwrap_err();
        assert_eq!(error.to_string(), message);
    }
}
