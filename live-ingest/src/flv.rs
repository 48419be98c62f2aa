//! RTMP media as an FLV byte stream (what GStreamer's `flvdemux` reads), and which codecs an
//! RTMP publish may carry: H.264 and AAC in classic FLV tags. Enhanced RTMP (an
//! `ExVideoTagHeader` with a FourCC such as `hvc1`) and other codecs are refused with a reason
//! the publisher is told.

use bytes::{BufMut, Bytes, BytesMut};

pub const TAG_AUDIO: u8 = 8;
pub const TAG_VIDEO: u8 = 9;
pub const TAG_SCRIPT: u8 = 18;

/// The FLV file header (audio and video announced) and the first previous-tag-size.
pub fn header() -> Bytes {
    Bytes::from_static(&[b'F', b'L', b'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0])
}

/// One FLV tag followed by its previous-tag-size. `timestamp` is in milliseconds.
pub fn tag(tag_type: u8, timestamp: u32, data: &[u8]) -> Bytes {
    let data_len = data.len().min(0xFF_FFFF);
    let mut out = BytesMut::with_capacity(11 + data_len + 4);
    out.put_u8(tag_type);
    out.put_slice(&(data_len as u32).to_be_bytes()[1..]);
    out.put_slice(&timestamp.to_be_bytes()[1..]);
    out.put_u8((timestamp >> 24) as u8);
    out.put_slice(&[0, 0, 0]);
    out.put_slice(&data[..data_len]);
    out.put_u32(11 + data_len as u32);
    out.freeze()
}

/// Whether an RTMP video message's payload (an FLV video tag body) is H.264 in classic FLV.
pub fn check_video(data: &[u8]) -> Result<(), String> {
    let Some(&first) = data.first() else {
        return Ok(());
    };
    if first & 0x80 != 0 {
        // Enhanced RTMP: IsExHeader, then the packet type, then a FourCC.
        let fourcc = data.get(1..5).unwrap_or_default();
        let codec = match fourcc {
            b"hvc1" => "HEVC".to_owned(),
            b"av01" => "AV1".to_owned(),
            b"vp09" => "VP9".to_owned(),
            b"avc1" => "H.264".to_owned(),
            other => format!("video '{}'", String::from_utf8_lossy(other).escape_debug()),
        };
        return Err(format!(
            "{codec} over Enhanced RTMP is not supported: publish H.264 (classic FLV)"
        ));
    }
    let frame_type = first >> 4;
    let codec = match first & 0x0F {
        7 => return Ok(()),
        // A video info/command frame carries no picture.
        _ if frame_type == 5 => return Ok(()),
        2 => "Sorenson H.263",
        3 => "Screen video",
        4 => "VP6",
        5 => "VP6 with alpha",
        6 => "Screen video 2",
        12 => "HEVC",
        13 => "AV1",
        _ => "an unknown video codec",
    };
    Err(format!("{codec} is not supported: publish H.264"))
}

/// Whether an RTMP audio message's payload (an FLV audio tag body) is AAC.
pub fn check_audio(data: &[u8]) -> Result<(), String> {
    let Some(&first) = data.first() else {
        return Ok(());
    };
    let codec = match first >> 4 {
        10 => return Ok(()),
        9 => {
            let fourcc = data.get(1..5).unwrap_or_default();
            return Err(format!(
                "audio '{}' over Enhanced RTMP is not supported: publish AAC",
                String::from_utf8_lossy(fourcc).escape_debug()
            ));
        }
        0 | 3 => "Linear PCM",
        1 => "ADPCM",
        2 | 14 => "MP3",
        4..=6 => "Nellymoser",
        7 | 8 => "G.711",
        11 => "Speex",
        _ => "an unknown audio codec",
    };
    Err(format!("{codec} audio is not supported: publish AAC"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_carries_its_size_timestamp_and_previous_tag_size() {
        let bytes = tag(TAG_VIDEO, 0x0123_4567, &[0x17, 0, 0, 0, 0]);
        assert_eq!(
            bytes.as_ref(),
            &[
                9, 0, 0, 5, 0x23, 0x45, 0x67, 0x01, 0, 0, 0, 0x17, 0, 0, 0, 0, 0, 0, 0, 16
            ]
        );
        assert_eq!(&header()[..9], b"FLV\x01\x05\x00\x00\x00\x09");
    }

    #[test]
    fn codecs_are_classified() {
        let cases: &[(&[u8], Result<(), &str>)] = &[
            (&[0x17, 0x00], Ok(())),
            (&[0x27, 0x01], Ok(())),
            (&[0x52, 0x00], Ok(())),
            (&[], Ok(())),
            (
                &[0x90, b'h', b'v', b'c', b'1'],
                Err("HEVC over Enhanced RTMP is not supported: publish H.264 (classic FLV)"),
            ),
            (
                &[0x80, b'a', b'v', b'0', b'1'],
                Err("AV1 over Enhanced RTMP is not supported: publish H.264 (classic FLV)"),
            ),
            (&[0x1C, 0x00], Err("HEVC is not supported: publish H.264")),
            (&[0x24, 0x00], Err("VP6 is not supported: publish H.264")),
        ];
        for (data, expected) in cases {
            assert_eq!(
                check_video(data),
                expected.map_err(str::to_owned),
                "{data:?}"
            );
        }
        assert_eq!(check_audio(&[0xAF, 0x00]), Ok(()));
        assert_eq!(
            check_audio(&[0x2F]),
            Err("MP3 audio is not supported: publish AAC".to_owned())
        );
        assert_eq!(
            check_audio(&[0x90, b'O', b'p', b'u', b's']),
            Err("audio 'Opus' over Enhanced RTMP is not supported: publish AAC".to_owned())
        );
    }
}
