//! What an MPEG-TS segment carries of SCTE-35, read from its bytes (pure, our own reader, so a
//! check does not take the writer's word): the streams its PMT declares with stream_type 0x86,
//! and the `splice_info_section`s (table_id 0xFC) on their PIDs (ISO/IEC 13818-1, SCTE 35 §8).

use onair_domain::scte35::crc32_mpeg2;

use crate::observation::TsScte35;

const PACKET_LEN: usize = 188;
const SYNC_BYTE: u8 = 0x47;
/// The PMT stream_type of SCTE-35 sections.
pub const SCTE35_STREAM_TYPE: u8 = 0x86;
const SPLICE_INFO_TABLE_ID: u8 = 0xFC;

fn pid_of(packet: &[u8]) -> u16 {
    (u16::from(packet[1] & 0x1F) << 8) | u16::from(packet[2])
}

/// The section a unit-starting packet begins (after its pointer_field), up to the packet's end.
fn section_start(packet: &[u8]) -> Option<&[u8]> {
    if packet[1] & 0x40 == 0 {
        return None;
    }
    let payload = match (packet[3] >> 4) & 0b11 {
        0b01 => 4,
        0b11 => 5 + usize::from(packet[4]),
        _ => return None,
    };
    let pointer = usize::from(*packet.get(payload)?);
    packet.get(payload + 1 + pointer..)
}

/// A section's whole length (`section_length` + 3), when its header is there.
fn section_len(section: &[u8]) -> Option<usize> {
    (section.len() >= 3)
        .then(|| 3 + (usize::from(section[1] & 0x0F) << 8 | usize::from(section[2])))
}

/// The first whole section of table `table_id` on `pid`, its CRC checked.
fn table(packets: &[&[u8]], pid: u16, table_id: u8, name: &str) -> Result<Vec<u8>, String> {
    for (index, packet) in packets.iter().enumerate() {
        if pid_of(packet) != pid {
            continue;
        }
        let Some(section) = section_start(packet) else {
            continue;
        };
        if section.first() != Some(&table_id) {
            continue;
        }
        let length = section_len(section).ok_or(format!("the {name} in packet {index} is cut"))?;
        if length > section.len() || length < 12 {
            return Err(format!(
                "the {name} in packet {index} spans packets or is too short"
            ));
        }
        let section = &section[..length];
        if crc32_mpeg2(section) != 0 {
            return Err(format!("the {name} in packet {index} has a bad CRC"));
        }
        return Ok(section.to_vec());
    }
    Err(format!("no {name} in the segment"))
}

/// The SCTE-35 streams and sections in `segment`, or why it cannot be read as MPEG-TS.
pub fn scte35_in(segment: &[u8]) -> Result<TsScte35, String> {
    if segment.is_empty() || !segment.len().is_multiple_of(PACKET_LEN) {
        return Err(format!(
            "{} bytes is not a whole number of 188-byte packets",
            segment.len()
        ));
    }
    let packets: Vec<&[u8]> = segment.chunks_exact(PACKET_LEN).collect();
    if let Some(index) = packets.iter().position(|packet| packet[0] != SYNC_BYTE) {
        return Err(format!("packet {index} has no sync byte"));
    }
    let pat = table(&packets, 0, 0x00, "PAT")?;
    let pmt_pid = pat[8..pat.len() - 4]
        .chunks_exact(4)
        .find(|entry| u16::from_be_bytes([entry[0], entry[1]]) != 0)
        .map(|entry| u16::from_be_bytes([entry[2] & 0x1F, entry[3]]))
        .ok_or("the PAT names no program")?;
    let pmt = table(&packets, pmt_pid, 0x02, "PMT")?;
    let program_info = usize::from(u16::from_be_bytes([pmt[10] & 0x0F, pmt[11]]));
    let mut pids = Vec::new();
    let mut at = 12 + program_info;
    let end = pmt.len() - 4;
    while at + 5 <= end {
        let stream_type = pmt[at];
        let pid = u16::from_be_bytes([pmt[at + 1] & 0x1F, pmt[at + 2]]);
        let info = usize::from(u16::from_be_bytes([pmt[at + 3] & 0x0F, pmt[at + 4]]));
        if stream_type == SCTE35_STREAM_TYPE {
            pids.push(pid);
        }
        at += 5 + info;
    }
    let commands = packets
        .iter()
        .filter(|packet| pids.contains(&pid_of(packet)))
        .filter_map(|packet| section_start(packet))
        .filter(|section| section.first() == Some(&SPLICE_INFO_TABLE_ID))
        .filter(|section| match section_len(section) {
            // A section within its packet must be whole; a longer one is taken at its word.
            Some(length) if length <= section.len() => crc32_mpeg2(&section[..length]) == 0,
            _ => true,
        })
        .filter_map(|section| section.get(13).copied())
        .collect();
    Ok(TsScte35 { pids, commands })
}
