//! A ladder: the renditions every asset of a channel is normalised to.

use serde::{Deserialize, Serialize};

use crate::media::AudioTrack;
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

/// Why a ladder cannot be used: every problem found, each a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ladder {ladder:?}: {}", problems.join("; "))]
pub struct LadderError {
    pub ladder: String,
    pub problems: Vec<String>,
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
/// The audio every ladder carries: 48 kHz stereo AAC-LC.
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;
pub const AUDIO_CHANNELS: u32 = 2;

/// An H.264 level's limits (ITU-T H.264 Table A-1): `level_idc` is ten times the level, 9 for 1b.
struct H264Level {
    level_idc: u8,
    name: &'static str,
    max_macroblocks_per_second: u64,
    max_frame_macroblocks: u64,
    /// MaxBR for the baseline and main profiles, in 1000 bit/s.
    max_kbps: u64,
}

const fn level(
    level_idc: u8,
    name: &'static str,
    max_macroblocks_per_second: u64,
    max_frame_macroblocks: u64,
    max_kbps: u64,
) -> H264Level {
    H264Level {
        level_idc,
        name,
        max_macroblocks_per_second,
        max_frame_macroblocks,
        max_kbps,
    }
}

const H264_LEVELS: [H264Level; 20] = [
    level(10, "1", 1_485, 99, 64),
    level(9, "1b", 1_485, 99, 128),
    level(11, "1.1", 3_000, 396, 192),
    level(12, "1.2", 6_000, 396, 384),
    level(13, "1.3", 11_880, 396, 768),
    level(20, "2", 11_880, 396, 2_000),
    level(21, "2.1", 19_800, 792, 4_000),
    level(22, "2.2", 20_250, 1_620, 4_000),
    level(30, "3", 40_500, 1_620, 10_000),
    level(31, "3.1", 108_000, 3_600, 14_000),
    level(32, "3.2", 216_000, 5_120, 20_000),
    level(40, "4", 245_760, 8_192, 20_000),
    level(41, "4.1", 245_760, 8_192, 50_000),
    level(42, "4.2", 522_240, 8_704, 50_000),
    level(50, "5", 589_824, 22_080, 135_000),
    level(51, "5.1", 983_040, 36_864, 240_000),
    level(52, "5.2", 2_073_600, 36_864, 240_000),
    level(60, "6", 4_177_920, 139_264, 240_000),
    level(61, "6.1", 8_355_840, 139_264, 480_000),
    level(62, "6.2", 16_711_680, 139_264, 800_000),
];

/// 1 or more ASCII letters, digits, `-` and `_`.
fn is_url_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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

    /// The same ladder with another segment (and GOP) duration.
    pub fn with_segment_duration(self, segment_duration: Ticks) -> Ladder {
        Ladder {
            segment_duration,
            ..self
        }
    }

    /// Checks what an encoder, players and playout rely on, and reports every problem found:
    ///
    /// - a name of 1 to 63 letters, digits, `-` and `_`;
    /// - a frame rate; segments of 1 to 10 s that are a whole number of frames (in 90 kHz ticks,
    ///   exactly);
    /// - audio 48 kHz stereo, what the built-in ladders carry and FAST partners ingest;
    /// - at least one rung; rung names unique, URL-safe and unlike the ladder's audio track
    ///   names (`audio-96k`), which share the URL space;
    /// - sizes even and at least 16x16, with one picture shape (width over height within 1 %
    ///   of the top rung's: 854x480 and 426x240 pass as 16:9);
    /// - from the top rung down, sizes that do not grow and video bitrates that fall;
    /// - bitrates a codec can work with;
    /// - H.264 profile baseline, main or high, and a level that exists and carries the rung's
    ///   frame size, macroblock rate and bitrate.
    pub fn validate(&self) -> Result<(), LadderError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(LadderError {
                ladder: self.name.clone(),
                problems,
            })
        }
    }

    /// What [`Ladder::validate`] refuses, in the order checked; empty for a usable ladder.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !is_url_safe_name(&self.name) || self.name.len() > 63 {
            problems.push(format!(
                "the name {:?} must be 1 to 63 letters, digits, '-' and '_'",
                self.name
            ));
        }
        problems.extend(self.timing_problem());
        if (self.audio_sample_rate, self.audio_channels) != (AUDIO_SAMPLE_RATE, AUDIO_CHANNELS) {
            problems.push(format!(
                "audio {} Hz x {} channels: it must be {AUDIO_SAMPLE_RATE} Hz stereo",
                self.audio_sample_rate, self.audio_channels
            ));
        }
        if self.rungs.is_empty() {
            problems.push("it has no rungs".into());
        }
        let audio_tracks = AudioTrack::of_ladder(self);
        for (index, rung) in self.rungs.iter().enumerate() {
            if !is_url_safe_name(&rung.name) {
                problems.push(format!(
                    "rung name {:?} must be letters, digits, '-' and '_'",
                    rung.name
                ));
            }
            if self.rungs[..index]
                .iter()
                .any(|other| other.name == rung.name)
            {
                problems.push(format!("two rungs are named {:?}", rung.name));
            }
            if audio_tracks.iter().any(|track| track.name == rung.name) {
                problems.push(format!(
                    "rung {} is named like an audio track of the ladder",
                    rung.name
                ));
            }
            problems.extend(self.rung_problems(index, rung));
        }
        problems
    }

    /// Whether frames and segments line up: a frame rate, and segments of 1 to 10 s that are a
    /// whole number of frames.
    fn timing_problem(&self) -> Option<String> {
        if self.frame_rate_num == 0 || self.frame_rate_den == 0 {
            return Some(format!(
                "frame rate {}/{} is not a frame rate",
                self.frame_rate_num, self.frame_rate_den
            ));
        }
        if self.segment_duration < MIN_SEGMENT_DURATION
            || self.segment_duration > MAX_SEGMENT_DURATION
        {
            return Some(format!(
                "segment duration {:.3} s is outside 1 to 10 s",
                self.segment_duration.as_secs_f64()
            ));
        }
        let scaled = self.segment_duration.0 as u128 * self.frame_rate_num as u128;
        let per_frame = crate::time::TICKS_PER_SECOND as u128 * self.frame_rate_den as u128;
        if !scaled.is_multiple_of(per_frame) {
            return Some(format!(
                "segment duration {:.6} s is not a whole number of frames at {}/{} fps",
                self.segment_duration.as_secs_f64(),
                self.frame_rate_num,
                self.frame_rate_den
            ));
        }
        None
    }

    /// What is wrong with the rung at `index` on its own and against the rung above it.
    fn rung_problems(&self, index: usize, rung: &Rung) -> Vec<String> {
        let mut problems = Vec::new();
        let name = &rung.name;
        let (width, height) = (rung.width, rung.height);
        if width < 16 || height < 16 || !width.is_multiple_of(2) || !height.is_multiple_of(2) {
            problems.push(format!(
                "rung {name} size {width}x{height} must be even and at least 16x16"
            ));
        }
        if rung.video_bitrate < 1_000 || rung.audio_bitrate < 8_000 {
            problems.push(format!(
                "rung {name} bitrates {} / {} bit/s are too low",
                rung.video_bitrate, rung.audio_bitrate
            ));
        }
        if let Some(top) = self.rungs.first().filter(|top| index > 0 && top.height > 0)
            && height > 0
        {
            // |w/h - W/H| <= 1 % of W/H, in integers: |w*H - W*h| * 100 <= W*h.
            let (ours, top_shape) = (
                u64::from(width) * u64::from(top.height),
                u64::from(top.width) * u64::from(height),
            );
            if ours.abs_diff(top_shape) * 100 > top_shape {
                problems.push(format!(
                    "rung {name} is {width}x{height}, another picture shape than the top rung's {}x{}",
                    top.width, top.height
                ));
            }
        }
        if let Some(above) = index.checked_sub(1).map(|above| &self.rungs[above]) {
            if width > above.width || height > above.height {
                problems.push(format!(
                    "rung {name} ({width}x{height}) is larger than rung {} above it ({}x{}): rungs go from the largest down",
                    above.name, above.width, above.height
                ));
            }
            if rung.video_bitrate >= above.video_bitrate {
                problems.push(format!(
                    "rung {name} has a video bitrate of {} bit/s, not below rung {}'s {} above it: bitrates fall from the top rung down",
                    rung.video_bitrate, above.name, above.video_bitrate
                ));
            }
        }
        problems.extend(self.h264_problem(rung));
        problems
    }

    /// Whether the rung's H.264 profile is one x264 writes and its level carries the rung.
    fn h264_problem(&self, rung: &Rung) -> Option<String> {
        let name = &rung.name;
        // The bitrate a level allows is 1.25 times its MaxBR in the high profile (Table A-2).
        let bitrate_factor_percent: u64 = match rung.h264_profile_idc {
            0x42 | 0x4d => 100,
            0x64 => 125,
            other => {
                return Some(format!(
                    "rung {name} has H.264 profile_idc {other:#04x}: use 0x42 (baseline), 0x4d (main) or 0x64 (high)"
                ));
            }
        };
        let Some(level) = H264_LEVELS
            .iter()
            .find(|level| level.level_idc == rung.h264_level_idc)
        else {
            return Some(format!(
                "rung {name} has H.264 level_idc {}, which is no level",
                rung.h264_level_idc
            ));
        };
        let macroblocks = u64::from(rung.width.div_ceil(16)) * u64::from(rung.height.div_ceil(16));
        // Macroblocks a second at the ladder's frame rate, compared without dividing.
        let rate_fits = self.frame_rate_den == 0
            || macroblocks * u64::from(self.frame_rate_num)
                <= level.max_macroblocks_per_second * u64::from(self.frame_rate_den);
        let bitrate_fits =
            u64::from(rung.video_bitrate) * 100 <= level.max_kbps * 1000 * bitrate_factor_percent;
        if macroblocks > level.max_frame_macroblocks || !rate_fits || !bitrate_fits {
            return Some(format!(
                "rung {name} ({}x{} at {}/{} fps, {} bit/s) does not fit H.264 level {}: it carries {} macroblocks a frame, {} a second and {} kbit/s",
                rung.width,
                rung.height,
                self.frame_rate_num,
                self.frame_rate_den,
                rung.video_bitrate,
                level.name,
                level.max_frame_macroblocks,
                level.max_macroblocks_per_second,
                level.max_kbps * bitrate_factor_percent / 100
            ));
        }
        None
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

    /// The names of the ladders onair knows without being told.
    pub const BUILTIN: [&str; 2] = ["fast", "demo"];

    /// A built-in ladder by name: `fast` (six rungs, 1080p to 240p, the default) and `demo`
    /// (360p and 240p).
    pub fn builtin(name: &str) -> Option<Ladder> {
        match name {
            "fast" => Some(Ladder::fast_default()),
            "demo" => Some(Ladder::demo()),
            _ => None,
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
            assert!(error.to_string().contains("outside 1 to 10 s"), "{error}");
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
    fn the_built_in_ladders_are_valid() {
        assert_eq!(Ladder::fast_default().validate(), Ok(()));
        assert_eq!(Ladder::demo().validate(), Ok(()));
    }

    /// One change to the fast ladder, and the words its refusal must contain.
    type Breakage = (&'static str, fn(&mut Ladder), &'static str);

    #[test]
    fn validation_refuses_each_broken_rule_with_its_reason() {
        let cases: [Breakage; 14] = [
            (
                "ladder name",
                |l| l.name = "my ladder".into(),
                "the name \"my ladder\" must be",
            ),
            (
                "empty ladder name",
                |l| l.name.clear(),
                "the name \"\" must be",
            ),
            (
                "44.1 kHz",
                |l| l.audio_sample_rate = 44_100,
                "audio 44100 Hz x 2 channels: it must be 48000 Hz stereo",
            ),
            (
                "mono",
                |l| l.audio_channels = 1,
                "it must be 48000 Hz stereo",
            ),
            (
                "rung name",
                |l| l.rungs[1].name = "720/p".into(),
                "rung name \"720/p\" must be",
            ),
            (
                "audio track name",
                |l| l.rungs[5].name = "audio-64k".into(),
                "rung audio-64k is named like an audio track",
            ),
            (
                "bitrate rises",
                |l| l.rungs[2].video_bitrate = 3_500_000,
                "rung 540p has a video bitrate of 3500000 bit/s, not below rung 720p's 3000000",
            ),
            (
                "equal bitrates",
                |l| l.rungs[5].video_bitrate = 800_000,
                "rung 240p has a video bitrate of 800000 bit/s, not below",
            ),
            (
                "size grows",
                |l| l.rungs.swap(3, 4),
                "rung 480p (854x480) is larger than rung 360p above it (640x360)",
            ),
            (
                "another shape",
                |l| l.rungs[4].width = 480,
                "rung 360p is 480x360, another picture shape than the top rung's 1920x1080",
            ),
            (
                "unknown profile",
                |l| l.rungs[0].h264_profile_idc = 0x58,
                "H.264 profile_idc 0x58",
            ),
            (
                "no such level",
                |l| l.rungs[0].h264_level_idc = 35,
                "level_idc 35, which is no level",
            ),
            (
                "level too low for the size",
                |l| l.rungs[0].h264_level_idc = 31,
                "rung 1080p (1920x1080 at 30/1 fps, 6000000 bit/s) does not fit H.264 level 3.1",
            ),
            (
                "level too low for the bitrate",
                |l| l.rungs[5].video_bitrate = 600_000 * 10,
                "rung 240p (426x240 at 30/1 fps, 6000000 bit/s) does not fit H.264 level 2.1",
            ),
        ];
        for (what, break_it, expected) in cases {
            let mut ladder = Ladder::fast_default();
            break_it(&mut ladder);
            let error = ladder.validate().expect_err(what).to_string();
            assert!(error.contains(expected), "{what}: {error}");
        }
    }

    #[test]
    fn a_level_too_low_for_the_frame_rate_is_refused_at_that_rate_only() {
        // 720p at level 3.1 carries 108 000 macroblocks a second: 30 fps exactly, not 50.
        let mut fifty = Ladder::fast_default();
        (fifty.frame_rate_num, fifty.frame_rate_den) = (50, 1);
        let error = fifty.validate().unwrap_err().to_string();
        assert!(error.contains("rung 720p (1280x720 at 50/1 fps"), "{error}");
        assert!(Ladder::fast_default().validate().is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut ladder = Ladder::demo();
        ladder.audio_channels = 6;
        ladder.rungs[1].height = 241;
        ladder.rungs[1].video_bitrate = 900_000;
        let error = ladder.validate().unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
        assert_eq!(
            error.to_string(),
            "ladder \"demo\": audio 48000 Hz x 6 channels: it must be 48000 Hz stereo; \
             rung 240p size 426x241 must be even and at least 16x16; \
             rung 240p has a video bitrate of 900000 bit/s, not below rung 360p's 800000 above it: bitrates fall from the top rung down"
        );
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
