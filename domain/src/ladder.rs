//! A ladder: the renditions every asset of a channel is normalised to.

use serde::{Deserialize, Serialize};

use crate::time::Ticks;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LadderId(pub i64);

/// One rendition of the ladder: H.264 video plus AAC-LC audio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// Short and URL-safe, e.g. `360p`.
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub video_bitrate: u32,
    /// `avc1.PPCCLL` profile byte: 0x42 baseline, 0x4d main, 0x64 high.
    pub h264_profile_idc: u8,
    /// H.264 level times ten, e.g. 30 for level 3.0.
    pub h264_level_idc: u8,
    pub audio_bitrate: u32,
}

impl Rung {
    /// The RFC 6381 codec string of the video track, e.g. `avc1.64001e`.
    pub fn video_codec(&self) -> String {
        format!(
            "avc1.{:02x}00{:02x}",
            self.h264_profile_idc, self.h264_level_idc
        )
    }

    /// The CODECS attribute for HLS and DASH: video then AAC-LC.
    pub fn codecs(&self) -> String {
        format!("{},mp4a.40.2", self.video_codec())
    }

    /// x264's name for the profile.
    pub fn h264_profile_name(&self) -> &'static str {
        match self.h264_profile_idc {
            0x42 => "baseline",
            0x4d => "main",
            _ => "high",
        }
    }

    pub fn total_bitrate(&self) -> u32 {
        self.video_bitrate + self.audio_bitrate
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    pub id: LadderId,
    pub name: String,
    /// Frames per second as a fraction, e.g. 25/1 or 30000/1001.
    pub frame_rate_num: u32,
    pub frame_rate_den: u32,
    /// Every segment is this long, and so is every GOP.
    pub segment_duration: Ticks,
    pub audio_sample_rate: u32,
    pub audio_channels: u32,
    /// Rungs from the highest to the lowest.
    pub rungs: Vec<Rung>,
}

impl Ladder {
    /// Frames in one segment: the GOP length.
    pub fn frames_per_segment(&self) -> u32 {
        let frames = self.segment_duration.0 as u128 * self.frame_rate_num as u128
            / (crate::time::TICKS_PER_SECOND as u128 * self.frame_rate_den as u128);
        frames as u32
    }

    pub fn frame_rate(&self) -> f64 {
        self.frame_rate_num as f64 / self.frame_rate_den as f64
    }

    pub fn rung(&self, name: &str) -> Option<&Rung> {
        self.rungs.iter().find(|rung| rung.name == name)
    }

    /// The small ladder of the demo channel: 360p and 240p at 25 fps with 2 s segments.
    pub fn demo() -> Ladder {
        Ladder {
            id: LadderId(0),
            name: "demo".into(),
            frame_rate_num: 25,
            frame_rate_den: 1,
            segment_duration: Ticks::from_secs(2),
            audio_sample_rate: 48_000,
            audio_channels: 2,
            rungs: vec![
                Rung {
                    name: "360p".into(),
                    width: 640,
                    height: 360,
                    video_bitrate: 800_000,
                    h264_profile_idc: 0x64,
                    h264_level_idc: 30,
                    audio_bitrate: 96_000,
                },
                Rung {
                    name: "240p".into(),
                    width: 426,
                    height: 240,
                    video_bitrate: 400_000,
                    h264_profile_idc: 0x64,
                    h264_level_idc: 21,
                    audio_bitrate: 64_000,
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_string_spells_profile_and_level_in_hex() {
        let ladder = Ladder::demo();
        assert_eq!(ladder.rungs[0].codecs(), "avc1.64001e,mp4a.40.2");
        assert_eq!(ladder.rungs[1].video_codec(), "avc1.640015");
    }

    #[test]
    fn a_two_second_segment_at_25_fps_is_a_50_frame_gop() {
        assert_eq!(Ladder::demo().frames_per_segment(), 50);
    }
}
