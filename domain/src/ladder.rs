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

/// The integrated loudness every asset of a ladder is normalised to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoudnessTarget {
    /// EBU R128: −23 LUFS. The default, and what most FAST partners ask for.
    #[default]
    EbuR128,
    /// ATSC A/85 (US broadcast): −24 LKFS.
    AtscA85,
}

impl LoudnessTarget {
    /// The target integrated loudness in LUFS (LKFS is the same unit).
    pub fn lufs(self) -> f64 {
        match self {
            LoudnessTarget::EbuR128 => -23.0,
            LoudnessTarget::AtscA85 => -24.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LoudnessTarget::EbuR128 => "ebu-r128",
            LoudnessTarget::AtscA85 => "atsc-a85",
        }
    }

    pub fn parse(text: &str) -> Option<LoudnessTarget> {
        match text {
            "ebu-r128" => Some(LoudnessTarget::EbuR128),
            "atsc-a85" => Some(LoudnessTarget::AtscA85),
            _ => None,
        }
    }
}

/// Why a ladder cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ladder {ladder:?}: {reason}")]
pub struct LadderError {
    pub ladder: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    pub id: LadderId,
    pub name: String,
    /// Frames per second as a fraction, e.g. 25/1 or 30000/1001.
    pub frame_rate_num: u32,
    pub frame_rate_den: u32,
    /// Every segment is this long, and so is every GOP: a whole number of frames, 1 to 10 s.
    pub segment_duration: Ticks,
    pub audio_sample_rate: u32,
    pub audio_channels: u32,
    /// The integrated loudness audio is normalised to.
    #[serde(default)]
    pub loudness: LoudnessTarget,
    /// Rungs from the highest to the lowest.
    pub rungs: Vec<Rung>,
}

/// The shortest and longest segment (and GOP) a ladder may have.
pub const MIN_SEGMENT_DURATION: Ticks = Ticks::from_secs(1);
pub const MAX_SEGMENT_DURATION: Ticks = Ticks::from_secs(10);

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

    /// The same ladder with another segment (and GOP) duration.
    pub fn with_segment_duration(self, segment_duration: Ticks) -> Ladder {
        Ladder {
            segment_duration,
            ..self
        }
    }

    /// Checks what an encoder relies on: a frame rate; segments of 1 to 10 s that are a whole
    /// number of frames (in 90 kHz ticks, exactly); at least one rung; rung names unique and
    /// URL-safe; sizes even and at least 16x16; bitrates a codec can work with; audio AAC-LC
    /// can carry.
    pub fn validate(&self) -> Result<(), LadderError> {
        let fail = |reason: String| {
            Err(LadderError {
                ladder: self.name.clone(),
                reason,
            })
        };
        if self.frame_rate_num == 0 || self.frame_rate_den == 0 {
            return fail(format!(
                "frame rate {}/{} is not a frame rate",
                self.frame_rate_num, self.frame_rate_den
            ));
        }
        if self.segment_duration < MIN_SEGMENT_DURATION
            || self.segment_duration > MAX_SEGMENT_DURATION
        {
            return fail(format!(
                "segment duration {:.3} s is outside 1 to 10 s",
                self.segment_duration.as_secs_f64()
            ));
        }
        let scaled = self.segment_duration.0 as u128 * self.frame_rate_num as u128;
        let per_frame = crate::time::TICKS_PER_SECOND as u128 * self.frame_rate_den as u128;
        if !scaled.is_multiple_of(per_frame) {
            return fail(format!(
                "segment duration {:.6} s is not a whole number of frames at {}/{} fps",
                self.segment_duration.as_secs_f64(),
                self.frame_rate_num,
                self.frame_rate_den
            ));
        }
        if !(8_000..=96_000).contains(&self.audio_sample_rate)
            || !(1..=8).contains(&self.audio_channels)
        {
            return fail(format!(
                "audio {} Hz x {} channels is not something AAC-LC carries",
                self.audio_sample_rate, self.audio_channels
            ));
        }
        if self.rungs.is_empty() {
            return fail("it has no rungs".into());
        }
        for (index, rung) in self.rungs.iter().enumerate() {
            let url_safe = rung
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if rung.name.is_empty() || !url_safe {
                return fail(format!(
                    "rung name {:?} must be letters, digits, '-' and '_'",
                    rung.name
                ));
            }
            if self.rungs[..index]
                .iter()
                .any(|other| other.name == rung.name)
            {
                return fail(format!("two rungs are named {:?}", rung.name));
            }
            if rung.width < 16
                || rung.height < 16
                || !rung.width.is_multiple_of(2)
                || !rung.height.is_multiple_of(2)
            {
                return fail(format!(
                    "rung {} size {}x{} must be even and at least 16x16",
                    rung.name, rung.width, rung.height
                ));
            }
            if rung.video_bitrate < 1_000 || rung.audio_bitrate < 8_000 {
                return fail(format!(
                    "rung {} bitrates {} / {} bit/s are too low",
                    rung.name, rung.video_bitrate, rung.audio_bitrate
                ));
            }
        }
        Ok(())
    }

    /// The default ladder of a FAST channel: six 16:9 rungs from 1080p down to 240p, H.264 High
    /// at the lowest level that fits each size at 30 fps, AAC-LC 48 kHz stereo, 6 s segments
    /// (180-frame GOPs), EBU R128 loudness.
    ///
    /// 30/1 fps rather than 30000/1001: FAST partners (Pluto TV among them) ask for 30 fps, and
    /// every whole-second segment is then a whole number of frames, exactly (6 s is 180 frames,
    /// 540 000 ticks), so segments sum to wall-clock schedule slots with no drift. 29.97 fps
    /// sources repeat one frame in 1001; 25 and 50 fps sources are conformed like any other.
    pub fn fast_default() -> Ladder {
        let rung = |name: &str, width, height, video_kbps: u32, level, audio_kbps: u32| Rung {
            name: name.into(),
            width,
            height,
            video_bitrate: video_kbps * 1000,
            h264_profile_idc: 0x64,
            h264_level_idc: level,
            audio_bitrate: audio_kbps * 1000,
        };
        Ladder {
            id: LadderId(0),
            name: "fast".into(),
            frame_rate_num: 30,
            frame_rate_den: 1,
            segment_duration: Ticks::from_secs(6),
            audio_sample_rate: 48_000,
            audio_channels: 2,
            loudness: LoudnessTarget::EbuR128,
            rungs: vec![
                // 8160 macroblocks x 30 fps = 244 800 MB/s: level 4.0 (245 760).
                rung("1080p", 1920, 1080, 6000, 40, 128),
                // 3600 x 30 = 108 000 MB/s: level 3.1 (108 000).
                rung("720p", 1280, 720, 3000, 31, 128),
                // 2040 macroblocks a frame: above level 3.0's 1620, level 3.1.
                rung("540p", 960, 540, 2000, 31, 96),
                // 1620 x 30 = 48 600 MB/s: above level 3.0's 40 500, level 3.1.
                rung("480p", 854, 480, 1200, 31, 96),
                // 920 x 30 = 27 600 MB/s: level 3.0.
                rung("360p", 640, 360, 800, 30, 96),
                // 405 x 30 = 12 150 MB/s: level 2.1 (19 800).
                rung("240p", 426, 240, 400, 21, 64),
            ],
        }
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
            loudness: LoudnessTarget::EbuR128,
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

    #[test]
    fn the_fast_ladder_has_six_valid_rungs_from_1080p_to_240p_with_a_level_each() {
        let ladder = Ladder::fast_default();
        assert_eq!(ladder.validate(), Ok(()));
        assert_eq!(Ladder::demo().validate(), Ok(()));
        let codecs: Vec<String> = ladder.rungs.iter().map(Rung::video_codec).collect();
        assert_eq!(
            codecs,
            [
                "avc1.640028",
                "avc1.64001f",
                "avc1.64001f",
                "avc1.64001f",
                "avc1.64001e",
                "avc1.640015"
            ]
        );
        assert_eq!(
            (ladder.rungs[0].height, ladder.rungs[5].height),
            (1080, 240)
        );
        assert_eq!(ladder.frames_per_segment(), 180);
        assert_eq!(ladder.segment_duration, Ticks(540_000));
        assert_eq!(ladder.loudness.lufs(), -23.0);
        assert_eq!(
            (ladder.audio_sample_rate, ladder.audio_channels),
            (48_000, 2)
        );
        for rung in &ladder.rungs {
            assert!(
                rung.width * 9 / 16 == rung.height || rung.width == 854 || rung.width == 426,
                "{} is 16:9",
                rung.name
            );
        }
    }

    #[test]
    fn every_whole_second_from_1_to_10_is_a_valid_segment_of_the_fast_ladder() {
        for seconds in 1..=10 {
            let ladder = Ladder::fast_default().with_segment_duration(Ticks::from_secs(seconds));
            assert_eq!(ladder.validate(), Ok(()), "{seconds} s");
            assert_eq!(ladder.frames_per_segment(), 30 * seconds as u32);
        }
    }

    #[test]
    fn a_29_97_fps_ladder_takes_segments_of_whole_frames_in_exact_ticks() {
        let mut ladder = Ladder::fast_default();
        (ladder.frame_rate_num, ladder.frame_rate_den) = (30_000, 1001);
        // 180 frames of 3003 ticks: 6.006 s.
        let ladder = ladder.with_segment_duration(Ticks(180 * 3003));
        assert_eq!(ladder.validate(), Ok(()));
        assert_eq!(ladder.frames_per_segment(), 180);
        let six = ladder.with_segment_duration(Ticks::from_secs(6));
        let error = six.validate().unwrap_err().to_string();
        assert!(error.contains("not a whole number of frames"), "{error}");
    }

    #[test]
    fn validation_refuses_segments_outside_1_to_10_seconds() {
        for ticks in [Ticks::from_millis(500), Ticks::from_secs(11), Ticks::ZERO] {
            let error = Ladder::fast_default()
                .with_segment_duration(ticks)
                .validate()
                .unwrap_err();
            assert!(error.reason.contains("outside 1 to 10 s"), "{error}");
        }
    }

    #[test]
    fn validation_refuses_no_rungs_odd_sizes_and_duplicate_names() {
        let mut empty = Ladder::fast_default();
        empty.rungs.clear();
        assert_eq!(
            empty.validate().unwrap_err().to_string(),
            "ladder \"fast\": it has no rungs"
        );

        let mut odd = Ladder::fast_default();
        odd.rungs[2].width = 961;
        let error = odd.validate().unwrap_err().to_string();
        assert!(error.contains("961x540 must be even"), "{error}");

        let mut twice = Ladder::fast_default();
        twice.rungs[3].name = "720p".into();
        let error = twice.validate().unwrap_err().to_string();
        assert!(error.contains("two rungs are named \"720p\""), "{error}");
    }

    #[test]
    fn loudness_targets_are_minus_23_and_minus_24_and_round_trip_as_text() {
        assert_eq!(LoudnessTarget::default(), LoudnessTarget::EbuR128);
        assert_eq!(LoudnessTarget::AtscA85.lufs(), -24.0);
        for target in [LoudnessTarget::EbuR128, LoudnessTarget::AtscA85] {
            assert_eq!(LoudnessTarget::parse(target.as_str()), Some(target));
        }
        assert_eq!(LoudnessTarget::parse("loud"), None);
    }
}
