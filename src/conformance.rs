//! The media inspector conformance checks use ([`onair_control::conformance::MediaInspector`]):
//! a segment probed and a stretch of aired audio measured with `onair-media`, files read from
//! the media folder.

use std::path::PathBuf;

use onair_conformance::{AudioProbe, LoudnessMeasure, SegmentProbe, VideoProbe};
use onair_control::conformance::{LoudnessRequest, MediaInspector, ProbeRequest};

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

impl MediaInspector for MediaFolderInspector {
    fn probe(&self, request: &ProbeRequest) -> Result<SegmentProbe, String> {
        let media = onair_media::inspect_segment(&self.file(&request.path)?)
            .map_err(|error| error.to_string())?;
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
