//! SCTE-35 `splice_info_section` encoding (ANSI/SCTE 35), pure and byte-exact.
//!
//! Playout marks ad breaks with these bytes in every output (HLS `SCTE35-OUT`/`SCTE35-IN` as hex,
//! `EXT-OATCLS-SCTE35` and `CUE-OUT-CONT` as base64, the DASH `xml+bin` event), and ad decision
//! will read the same types. Only what onair writes is modelled: `splice_null`, `splice_insert`
//! and `time_signal`, with avail and segmentation descriptors, unencrypted.
//!
//! [`break_out`] and [`break_in`] are the cues onair writes for one occurrence of an ad break:
//! a `splice_insert` whose `splice_event_id` the caller derives from the timeline (so it is the
//! same on every replica and unique per occurrence), and [`break_time_signal`] is the
//! `time_signal` + placement opportunity variant.

use crate::time::Ticks;

/// 2^33: PTS and durations in a splice_info_section are 33-bit 90 kHz counts.
pub const PTS_MODULUS: u64 = 1 << 33;

/// The CUEI identifier that starts every descriptor SCTE-35 defines.
pub const CUEI: u32 = 0x4355_4549;

/// One `splice_info_section`, unencrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpliceInfoSection {
    /// `sap_type` (2 bits): 3 is "not specified", what most encoders write.
    pub sap_type: u8,
    /// 33 bits, added to every PTS in the section.
    pub pts_adjustment: u64,
    /// `cw_index`: unused without encryption; 0xFF as the spec's samples and most encoders.
    pub cw_index: u8,
    /// 12 bits; 0xFFF when tiers are not used.
    pub tier: u16,
    pub command: SpliceCommand,
    pub descriptors: Vec<SpliceDescriptor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpliceCommand {
    /// 0x00.
    SpliceNull,
    /// 0x05.
    SpliceInsert(SpliceInsert),
    /// 0x06: `pts_time`, or `None` for "immediately".
    TimeSignal(Option<u64>),
}

/// `splice_insert()`, program splice mode (no component list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpliceInsert {
    pub splice_event_id: u32,
    /// Cancels an earlier event with this id: nothing else is written.
    pub cancel: bool,
    /// True when leaving the network feed (the start of a break), false when returning to it.
    pub out_of_network: bool,
    /// `None`: splice immediately; `Some(pts)`: at that PTS (33 bits, 90 kHz).
    pub pts_time: Option<u64>,
    pub break_duration: Option<BreakDuration>,
    pub unique_program_id: u16,
    pub avail_num: u8,
    pub avails_expected: u8,
}

/// `break_duration()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakDuration {
    /// The splicer returns to the network by itself when the duration has elapsed.
    pub auto_return: bool,
    /// 33 bits, 90 kHz.
    pub duration: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpliceDescriptor {
    /// Tag 0x00: `avail_descriptor`.
    Avail { provider_avail_id: u32 },
    /// Tag 0x02: `segmentation_descriptor`.
    Segmentation(SegmentationDescriptor),
}

/// `segmentation_descriptor()`, program segmentation mode (no component list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentationDescriptor {
    pub segmentation_event_id: u32,
    pub cancel: bool,
    /// `None`: delivery not restricted. `Some`: the restriction flags.
    pub delivery_restrictions: Option<DeliveryRestrictions>,
    /// 40 bits, 90 kHz.
    pub duration: Option<u64>,
    pub upid_type: u8,
    pub upid: Vec<u8>,
    /// E.g. 0x34 provider placement opportunity start, 0x35 its end.
    pub segmentation_type_id: u8,
    pub segment_num: u8,
    pub segments_expected: u8,
    /// `sub_segment_num` and `sub_segments_expected`, written only when set (SCTE 35 2016+,
    /// types 0x34, 0x36, 0x38 and 0x3A).
    pub sub_segment: Option<(u8, u8)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRestrictions {
    pub web_delivery_allowed: bool,
    pub no_regional_blackout: bool,
    pub archive_allowed: bool,
    /// 2 bits.
    pub device_restrictions: u8,
}

/// Segmentation type: provider placement opportunity start.
pub const PROVIDER_PLACEMENT_OPPORTUNITY_START: u8 = 0x34;
/// Segmentation type: provider placement opportunity end.
pub const PROVIDER_PLACEMENT_OPPORTUNITY_END: u8 = 0x35;

/// Big-endian bit writer.
struct Bits {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0 to 7); 0 when the next bit starts a new byte.
    used: u8,
}

impl Bits {
    fn new() -> Bits {
        Bits {
            bytes: Vec::with_capacity(64),
            used: 0,
        }
    }

    /// Writes the low `count` bits of `value`, most significant first.
    fn put(&mut self, count: u8, value: u64) {
        for shift in (0..count).rev() {
            let bit = ((value >> shift) & 1) as u8;
            if self.used == 0 {
                self.bytes.push(0);
            }
            let last = self.bytes.last_mut().expect("a byte was pushed");
            *last |= bit << (7 - self.used);
            self.used = (self.used + 1) % 8;
        }
    }

    fn flag(&mut self, value: bool) {
        self.put(1, u64::from(value));
    }

    /// Ones, for reserved bits.
    fn reserved(&mut self, count: u8) {
        self.put(count, u64::MAX);
    }

    fn byte_len(&self) -> usize {
        debug_assert_eq!(self.used, 0, "fields end on a byte boundary");
        self.bytes.len()
    }
}

impl SpliceInfoSection {
    /// A section with no PTS adjustment, no tier, `cw_index` 0xFF and sap_type "not specified".
    pub fn new(command: SpliceCommand, descriptors: Vec<SpliceDescriptor>) -> SpliceInfoSection {
        SpliceInfoSection {
            sap_type: 3,
            pts_adjustment: 0,
            cw_index: 0xFF,
            tier: 0xFFF,
            command,
            descriptors,
        }
    }

    /// The section's bytes, ending with its CRC-32 (MPEG-2).
    pub fn encode(&self) -> Vec<u8> {
        let command = encode_command(&self.command);
        let descriptors = encode_descriptors(&self.descriptors);
        // From protocol_version to the CRC inclusive.
        let section_length = 10 + command.len() + 2 + descriptors.len() + 4;
        let mut bits = Bits::new();
        bits.put(8, 0xFC);
        bits.flag(false); // section_syntax_indicator
        bits.flag(false); // private_indicator
        bits.put(2, u64::from(self.sap_type));
        bits.put(12, section_length as u64);
        bits.put(8, 0); // protocol_version
        bits.flag(false); // encrypted_packet
        bits.put(6, 0); // encryption_algorithm
        bits.put(33, self.pts_adjustment % PTS_MODULUS);
        bits.put(8, u64::from(self.cw_index));
        bits.put(12, u64::from(self.tier));
        bits.put(12, command.len() as u64 - 1);
        let mut out = bits.bytes;
        out.extend_from_slice(&command);
        out.extend_from_slice(&(descriptors.len() as u16).to_be_bytes());
        out.extend_from_slice(&descriptors);
        let crc = crc32_mpeg2(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Standard base64 with padding, as `EXT-OATCLS-SCTE35`, `CUE-OUT-CONT` and DASH `xml+bin`
    /// carry it.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.encode())
    }

    /// `0x` and upper-case hex, as EXT-X-DATERANGE `SCTE35-OUT`/`SCTE35-IN` carry it.
    pub fn to_hex(&self) -> String {
        let bytes = self.encode();
        let mut out = String::with_capacity(2 + bytes.len() * 2);
        out.push_str("0x");
        for byte in bytes {
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xF)] as char);
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The command type byte followed by the command.
fn encode_command(command: &SpliceCommand) -> Vec<u8> {
    let mut bits = Bits::new();
    match command {
        SpliceCommand::SpliceNull => bits.put(8, 0x00),
        SpliceCommand::TimeSignal(pts_time) => {
            bits.put(8, 0x06);
            put_splice_time(&mut bits, *pts_time);
        }
        SpliceCommand::SpliceInsert(insert) => {
            bits.put(8, 0x05);
            bits.put(32, u64::from(insert.splice_event_id));
            bits.flag(insert.cancel);
            bits.reserved(7);
            if !insert.cancel {
                bits.flag(insert.out_of_network);
                bits.flag(true); // program_splice_flag
                bits.flag(insert.break_duration.is_some());
                bits.flag(insert.pts_time.is_none()); // splice_immediate_flag
                bits.reserved(4);
                if insert.pts_time.is_some() {
                    put_splice_time(&mut bits, insert.pts_time);
                }
                if let Some(duration) = insert.break_duration {
                    bits.flag(duration.auto_return);
                    bits.reserved(6);
                    bits.put(33, duration.duration % PTS_MODULUS);
                }
                bits.put(16, u64::from(insert.unique_program_id));
                bits.put(8, u64::from(insert.avail_num));
                bits.put(8, u64::from(insert.avails_expected));
            }
        }
    }
    let _ = bits.byte_len();
    bits.bytes
}

/// `splice_time()`: a 33-bit PTS, or the time_specified flag cleared.
fn put_splice_time(bits: &mut Bits, pts_time: Option<u64>) {
    match pts_time {
        Some(pts) => {
            bits.flag(true);
            bits.reserved(6);
            bits.put(33, pts % PTS_MODULUS);
        }
        None => {
            bits.flag(false);
            bits.reserved(7);
        }
    }
}

fn encode_descriptors(descriptors: &[SpliceDescriptor]) -> Vec<u8> {
    let mut out = Vec::new();
    for descriptor in descriptors {
        let mut bits = Bits::new();
        let tag = match descriptor {
            SpliceDescriptor::Avail { provider_avail_id } => {
                bits.put(32, u64::from(CUEI));
                bits.put(32, u64::from(*provider_avail_id));
                0x00
            }
            SpliceDescriptor::Segmentation(segmentation) => {
                bits.put(32, u64::from(CUEI));
                put_segmentation(&mut bits, segmentation);
                0x02
            }
        };
        let body = bits.bytes;
        out.push(tag);
        out.push(body.len() as u8);
        out.extend_from_slice(&body);
    }
    out
}

fn put_segmentation(bits: &mut Bits, descriptor: &SegmentationDescriptor) {
    bits.put(32, u64::from(descriptor.segmentation_event_id));
    bits.flag(descriptor.cancel);
    bits.reserved(7);
    if descriptor.cancel {
        return;
    }
    bits.flag(true); // program_segmentation_flag
    bits.flag(descriptor.duration.is_some());
    match descriptor.delivery_restrictions {
        None => {
            bits.flag(true); // delivery_not_restricted_flag
            bits.reserved(5);
        }
        Some(restrictions) => {
            bits.flag(false);
            bits.flag(restrictions.web_delivery_allowed);
            bits.flag(restrictions.no_regional_blackout);
            bits.flag(restrictions.archive_allowed);
            bits.put(2, u64::from(restrictions.device_restrictions));
        }
    }
    if let Some(duration) = descriptor.duration {
        bits.put(40, duration);
    }
    bits.put(8, u64::from(descriptor.upid_type));
    bits.put(8, descriptor.upid.len() as u64);
    for byte in &descriptor.upid {
        bits.put(8, u64::from(*byte));
    }
    bits.put(8, u64::from(descriptor.segmentation_type_id));
    bits.put(8, u64::from(descriptor.segment_num));
    bits.put(8, u64::from(descriptor.segments_expected));
    if let Some((num, expected)) = descriptor.sub_segment {
        bits.put(8, u64::from(num));
        bits.put(8, u64::from(expected));
    }
}

/// CRC-32/MPEG-2: polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR.
/// Over a whole section including its CRC it gives zero.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut index = 0;
        while index < 256 {
            let mut crc = (index as u32) << 24;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 0x8000_0000 != 0 {
                    (crc << 1) ^ 0x04C1_1DB7
                } else {
                    crc << 1
                };
                bit += 1;
            }
            table[index] = crc;
            index += 1;
        }
        table
    };
    data.iter().fold(0xFFFF_FFFF, |crc, byte| {
        (crc << 8) ^ TABLE[usize::from((crc >> 24) as u8 ^ byte)]
    })
}

/// A PTS for a duration or an instant in 90 kHz ticks: wrapped to 33 bits.
pub fn pts(ticks: Ticks) -> u64 {
    ticks.0.rem_euclid(PTS_MODULUS as i64) as u64
}

/// The cue onair writes at the start of an ad break: a `splice_insert` out of the network at
/// `pts_time`, returning by itself after `duration`.
pub fn break_out(splice_event_id: u32, pts_time: Ticks, duration: Ticks) -> SpliceInfoSection {
    SpliceInfoSection::new(
        SpliceCommand::SpliceInsert(SpliceInsert {
            splice_event_id,
            cancel: false,
            out_of_network: true,
            pts_time: Some(pts(pts_time)),
            break_duration: Some(BreakDuration {
                auto_return: true,
                duration: pts(duration),
            }),
            unique_program_id: 0,
            avail_num: 0,
            avails_expected: 0,
        }),
        Vec::new(),
    )
}

/// The cue onair writes at the end of an ad break: a `splice_insert` back into the network at
/// `pts_time`, with the event id of its [`break_out`].
pub fn break_in(splice_event_id: u32, pts_time: Ticks) -> SpliceInfoSection {
    SpliceInfoSection::new(
        SpliceCommand::SpliceInsert(SpliceInsert {
            splice_event_id,
            cancel: false,
            out_of_network: false,
            pts_time: Some(pts(pts_time)),
            break_duration: None,
            unique_program_id: 0,
            avail_num: 0,
            avails_expected: 0,
        }),
        Vec::new(),
    )
}

/// The `time_signal` variant of [`break_out`] (or, with `start` false, of [`break_in`]): a
/// provider placement opportunity start (0x34, with its duration) or end (0x35) descriptor.
pub fn break_time_signal(
    segmentation_event_id: u32,
    pts_time: Ticks,
    duration: Ticks,
    start: bool,
) -> SpliceInfoSection {
    SpliceInfoSection::new(
        SpliceCommand::TimeSignal(Some(pts(pts_time))),
        vec![SpliceDescriptor::Segmentation(SegmentationDescriptor {
            segmentation_event_id,
            cancel: false,
            delivery_restrictions: None,
            duration: start.then_some(duration.0.max(0) as u64),
            upid_type: 0,
            upid: Vec::new(),
            segmentation_type_id: if start {
                PROVIDER_PLACEMENT_OPPORTUNITY_START
            } else {
                PROVIDER_PLACEMENT_OPPORTUNITY_END
            },
            segment_num: 0,
            segments_expected: 0,
            sub_segment: None,
        })],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(text: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    /// SCTE 35 (2019+), section 14.2: "splice_insert", as decoders' test suites carry it.
    const SPEC_SPLICE_INSERT: &str =
        "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=";
    /// SCTE 35 (2019+), section 14.1: "time_signal – Placement Opportunity Start".
    const SPEC_TIME_SIGNAL: &str =
        "/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg==";

    #[test]
    fn encodes_the_spec_splice_insert_sample_byte_for_byte() {
        let section = SpliceInfoSection::new(
            SpliceCommand::SpliceInsert(SpliceInsert {
                splice_event_id: 0x4800_008F,
                cancel: false,
                out_of_network: true,
                pts_time: Some(0x0_7369_C02E),
                break_duration: Some(BreakDuration {
                    auto_return: true,
                    duration: 0x0_0052_CCF5,
                }),
                unique_program_id: 0,
                avail_num: 0,
                avails_expected: 0,
            }),
            vec![SpliceDescriptor::Avail {
                provider_avail_id: 0x135,
            }],
        );
        assert_eq!(section.encode(), b64(SPEC_SPLICE_INSERT));
        assert_eq!(section.to_base64(), SPEC_SPLICE_INSERT);
        assert!(section.to_hex().starts_with("0xFC302F00"));
    }

    #[test]
    fn encodes_the_spec_time_signal_sample_byte_for_byte() {
        let section = SpliceInfoSection::new(
            SpliceCommand::TimeSignal(Some(0x0_72BD_0050)),
            vec![SpliceDescriptor::Segmentation(SegmentationDescriptor {
                segmentation_event_id: 0x4800_008E,
                cancel: false,
                delivery_restrictions: Some(DeliveryRestrictions {
                    web_delivery_allowed: false,
                    no_regional_blackout: true,
                    archive_allowed: true,
                    device_restrictions: 3,
                }),
                duration: Some(0x00_01A5_99B0),
                upid_type: 0x08,
                upid: vec![0, 0, 0, 0, 0x2C, 0xA0, 0xA1, 0x8A],
                segmentation_type_id: PROVIDER_PLACEMENT_OPPORTUNITY_START,
                segment_num: 2,
                segments_expected: 0,
                sub_segment: None,
            })],
        );
        assert_eq!(section.to_base64(), SPEC_TIME_SIGNAL);
    }

    #[test]
    fn the_crc_agrees_with_an_independent_implementation_and_zeroes_a_whole_section() {
        let independent = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);
        for bytes in [
            b64(SPEC_SPLICE_INSERT),
            b64(SPEC_TIME_SIGNAL),
            break_out(7, Ticks::from_secs(1), Ticks::from_secs(30)).encode(),
        ] {
            let body = &bytes[..bytes.len() - 4];
            assert_eq!(crc32_mpeg2(body), independent.checksum(body));
            assert_eq!(
                crc32_mpeg2(body).to_be_bytes(),
                bytes[bytes.len() - 4..],
                "stored CRC"
            );
            assert_eq!(crc32_mpeg2(&bytes), 0);
        }
        assert_eq!(
            crc32_mpeg2(b"123456789"),
            0x0376_E6E7,
            "the catalogue check value"
        );
    }

    /// Reads `count` bits from `bytes` at bit `*at`.
    fn read(bytes: &[u8], at: &mut usize, count: usize) -> u64 {
        let mut value = 0;
        for _ in 0..count {
            let bit = (bytes[*at / 8] >> (7 - *at % 8)) & 1;
            value = (value << 1) | u64::from(bit);
            *at += 1;
        }
        value
    }

    #[test]
    fn a_break_out_decodes_field_by_field() {
        let duration = Ticks::from_secs(90) + Ticks(1);
        let start = Ticks((1 << 33) + 12_345);
        let bytes = break_out(0xDEAD_BEEF, start, duration).encode();
        let at = &mut 0;
        assert_eq!(read(&bytes, at, 8), 0xFC, "table_id");
        assert_eq!(read(&bytes, at, 2), 0, "syntax and private indicators");
        assert_eq!(read(&bytes, at, 2), 3, "sap_type");
        assert_eq!(read(&bytes, at, 12) as usize, bytes.len() - 3);
        assert_eq!(read(&bytes, at, 8), 0, "protocol_version");
        assert_eq!(read(&bytes, at, 7), 0, "not encrypted");
        assert_eq!(read(&bytes, at, 33), 0, "pts_adjustment");
        assert_eq!(read(&bytes, at, 8), 0xFF, "cw_index");
        assert_eq!(read(&bytes, at, 12), 0xFFF, "tier");
        let command_length = read(&bytes, at, 12);
        assert_eq!(read(&bytes, at, 8), 0x05, "splice_insert");
        let command_start = *at;
        assert_eq!(read(&bytes, at, 32), 0xDEAD_BEEF, "splice_event_id");
        assert_eq!(read(&bytes, at, 1), 0, "not cancelled");
        assert_eq!(read(&bytes, at, 7), 0x7F);
        assert_eq!(read(&bytes, at, 1), 1, "out_of_network");
        assert_eq!(read(&bytes, at, 1), 1, "program_splice");
        assert_eq!(read(&bytes, at, 1), 1, "duration_flag");
        assert_eq!(read(&bytes, at, 1), 0, "not immediate");
        assert_eq!(read(&bytes, at, 4), 0xF);
        assert_eq!(read(&bytes, at, 1), 1, "time_specified");
        assert_eq!(read(&bytes, at, 6), 0x3F);
        assert_eq!(read(&bytes, at, 33), 12_345, "pts_time wraps at 2^33");
        assert_eq!(read(&bytes, at, 1), 1, "auto_return");
        assert_eq!(read(&bytes, at, 6), 0x3F);
        assert_eq!(read(&bytes, at, 33), 90 * 90_000 + 1, "break_duration");
        assert_eq!(
            read(&bytes, at, 32),
            0,
            "program id, avail num and expected"
        );
        assert_eq!((*at - command_start) as u64, command_length * 8);
        assert_eq!(read(&bytes, at, 16), 0, "no descriptors");
        assert_eq!(*at, (bytes.len() - 4) * 8, "then the CRC");

        let back = break_in(0xDEAD_BEEF, start + duration).encode();
        let at = &mut (13 * 8);
        assert_eq!(read(&back, at, 8), 0x05);
        assert_eq!(read(&back, at, 32), 0xDEAD_BEEF);
        assert_eq!(read(&back, at, 8), 0x7F);
        assert_eq!(
            read(&back, at, 4),
            0b0100,
            "in network, program, no duration"
        );
    }

    #[test]
    fn a_time_signal_break_carries_a_placement_opportunity() {
        let bytes = break_time_signal(9, Ticks(90_000), Ticks::from_secs(30), true).encode();
        assert_eq!(bytes[13], 0x06, "time_signal");
        // Descriptor: tag 2 after the 5-byte command and the 2-byte loop length.
        let descriptor = &bytes[14 + 5 + 2..];
        assert_eq!(descriptor[0], 0x02);
        assert_eq!(&descriptor[2..6], b"CUEI");
        assert_eq!(descriptor[6..10], 9u32.to_be_bytes());
        assert_eq!(
            descriptor[11], 0b1111_1111,
            "program, duration, not restricted"
        );
        assert_eq!(
            descriptor[12..17],
            [0, 0, 0x29, 0x32, 0xE0],
            "30 s in 40 bits"
        );
        assert_eq!(descriptor[17..20], [0, 0, 0x34], "no upid, type 0x34");
        let end = break_time_signal(9, Ticks(90_000), Ticks::from_secs(30), false).encode();
        assert_eq!(end.len(), bytes.len() - 5, "no duration");
        assert_eq!(crc32_mpeg2(&end), 0);
    }
}
