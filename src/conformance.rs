//! The media inspector conformance checks use ([`onair_control::conformance::MediaInspector`]):
//! a segment probed and a stretch of aired audio measured with `onair-media`, files read from
//! the media folder. An MPEG-TS segment is also read for the SCTE-35 it carries as served: a
//! break's cued URL (`…scte35/{event}/{cue}/{pts}/{duration}/{path}`) gets the cue put in as the
//! origin puts it (`playout::ts_scte35`), then our own reader (`onair_conformance::ts`) says
//! what is there.

use std::path::PathBuf;

use onair_conformance::{AudioProbe, LoudnessMeasure, SegmentProbe, TsScte35, VideoProbe};
use onair_control::conformance::{LoudnessRequest, MediaInspector, ProbeRequest};
use onair_playout::ts_scte35::{self, SEGMENT_URL_PREFIX, SegmentCue};

/// Reads segments under `media_root` (where the renditions' paths start).
pub struct MediaFolderInspector {
    pub media_root: PathBuf,
}

impl MediaFolderInspector {
    fn file(&self, path: &str) -> Result<PathBuf, String> {
        let plain = !path.is_empty()
            && !path.starts_with('/')
            && path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if plain {
            Ok(self.media_root.join(path))
        } else {
            Err(format!(
                "{path:?} is not a plain path under the media folder"
            ))
        }
    }
}

/// The cue a segment URI names, when it is a break's cued URL.
fn cue_of(uri: &str) -> Option<Result<SegmentCue, String>> {
    let at = if uri.starts_with(SEGMENT_URL_PREFIX) {
        0
    } else {
        uri.find(&format!("/{SEGMENT_URL_PREFIX}"))? + 1
    };
    let mut parts = uri[at + SEGMENT_URL_PREFIX.len()..].splitn(5, '/');
    let (event, cue, pts, duration) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some(SegmentCue::parse(event, cue, pts, duration).map_err(|error| error.to_string()))
}

/// What `segment` (a TS file's bytes, listed at `uri`) carries of SCTE-35 as the origin serves
/// it: with the cue a cued URL names put in.
pub fn served_scte35(segment: Vec<u8>, uri: &str) -> Result<TsScte35, String> {
    let served = match cue_of(uri) {
        Some(cue) => ts_scte35::insert_cue_or_original(segment, &cue?.section()).0,
        None => segment,
    };
    onair_conformance::ts::scte35_in(&served)
}

impl MediaInspector for MediaFolderInspector {
    fn probe(&self, request: &ProbeRequest) -> Result<SegmentProbe, String> {
        let file = self.file(&request.path)?;
        let media = onair_media::inspect_segment(&file).map_err(|error| error.to_string())?;
        let scte35 = if request.path.ends_with(".ts") {
            let bytes = std::fs::read(&file).map_err(|error| error.to_string())?;
            Some(served_scte35(bytes, &request.segment)?)
        } else {
            None
        };
        Ok(SegmentProbe {
            playlist: request.playlist.clone(),
            segment: request.segment.clone(),
            video: media.video.map(|video| VideoProbe {
                codec: video.codec,
                profile: video.profile,
                level: video.level,
                width: video.width,
                height: video.height,
                frame_rate: video.frame_rate,
            }),
            audio: media.audio.map(|audio| AudioProbe {
                codec: audio.codec,
                profile: audio.profile,
                channels: audio.channels,
                sample_rate: audio.sample_rate,
                bitrate: audio.bitrate,
            }),
            duration: media.duration,
            scte35,
        })
    }

    fn loudness(&self, request: &LoudnessRequest) -> Result<LoudnessMeasure, String> {
        let files = request
            .paths
            .iter()
            .map(|path| self.file(path))
            .collect::<Result<Vec<_>, _>>()?;
        let loudness = onair_media::measure_loudness(&files).map_err(|error| error.to_string())?;
        Ok(LoudnessMeasure {
            what: request.what.clone(),
            span: loudness.measured,
            integrated_lufs: loudness.integrated_lufs,
            true_peak_dbtp: loudness.true_peak_dbtp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pid: u16, unit_start: bool, payload: &[u8]) -> Vec<u8> {
        let mut packet = vec![
            0x47,
            (u8::from(unit_start) << 6) | (pid >> 8) as u8,
            pid as u8,
        ];
        packet.push(0x10);
        packet.extend_from_slice(payload);
        packet.resize(188, 0xFF);
        packet
    }

    /// A table's packet: pointer_field 0, the section and its CRC.
    fn table(pid: u16, mut section: Vec<u8>) -> Vec<u8> {
        let crc = onair_domain::scte35::crc32_mpeg2(&section);
        section.extend_from_slice(&crc.to_be_bytes());
        let mut payload = vec![0];
        payload.extend_from_slice(&section);
        packet(pid, true, &payload)
    }

    /// A segment as our muxer writes one: PAT, PMT (H.264 on PID 0x100), a video PES.
    fn segment() -> Vec<u8> {
        let pat = table(0, vec![0x00, 0xB0, 13, 0, 1, 0xC1, 0, 0, 0, 1, 0xF0, 0x00]);
        let pmt = table(
            0x1000,
            vec![
                0x02, 0xB0, 18, 0, 1, 0xC1, 0, 0, 0xE1, 0x00, 0xF0, 0x00, 0x1B, 0xE1, 0x00, 0xF0,
                0x00,
            ],
        );
        let pts: u64 = 900_000;
        let video = packet(
            0x100,
            true,
            &[
                0,
                0,
                1,
                0xE0,
                0,
                0,
                0x80,
                0x80,
                5,
                0x21 | ((pts >> 29) as u8 & 0x0E),
                (pts >> 22) as u8,
                ((pts >> 14) as u8 & 0xFE) | 1,
                (pts >> 7) as u8,
                ((pts << 1) as u8 & 0xFE) | 1,
            ],
        );
        [pat, pmt, video].concat()
    }

    #[test]
    fn a_break_s_cued_url_is_read_with_its_cue_in_the_stream_and_a_plain_one_without() {
        let cued = "scte35/7/out/4367201632/540000/assets/4/360p/ts/00000.ts";
        let found = served_scte35(segment(), cued).unwrap();
        assert_eq!(found.pids, [ts_scte35::SCTE35_PID]);
        assert_eq!(found.commands, [5], "one splice_insert");
        let under_prefix = format!("/p/acme/demo/360p/{cued}");
        assert_eq!(served_scte35(segment(), &under_prefix).unwrap(), found);

        let plain = served_scte35(segment(), "/media/assets/4/360p/ts/00000.ts").unwrap();
        assert!(
            plain.pids.is_empty() && plain.commands.is_empty(),
            "{plain:?}"
        );
        assert!(served_scte35(vec![0; 100], "/media/x.ts").is_err());
    }
}
