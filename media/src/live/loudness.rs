//! Loudness for live audio without look-ahead: a gain rider on EBU R128 measurements.
//!
//! The VOD ladder normalises with `audioloudnorm`, which looks 3 s ahead: fine for a file,
//! but on a live source it holds every audio part and TS segment back by 3 s, and the channel
//! can list a live segment only once its audio is written. Live loudness is ridden instead,
//! the way a broadcast loudness processor does it:
//!
//! - the input is measured as it passes (ITU-R BS.1770 K-weighting and gating, the `ebur128`
//!   crate that `audioloudnorm` uses too), over a sliding history of [`HISTORY_MS`];
//! - the gain follows `target − measured`, within [`MIN_GAIN_DB`]..[`MAX_GAIN_DB`], moving at
//!   most [`SLEW_DB_PER_S`] so speech and music never pump;
//! - below [`SILENCE_LUFS`] (a silent or nearly silent source) the gain holds, so noise is
//!   never pulled up to the target;
//! - each buffer ramps linearly from the previous gain to the new one (no zipper noise), and
//!   every sample is limited to [`CEILING`] (−1 dBFS): a ceiling for the rare peak the gain
//!   pushes over, not a look-ahead limiter.
//!
//! It adds no latency: a buffer leaves as soon as it arrives. The cost is that the first
//! seconds of a publish air at the gain the measurement has reached so far.

use ebur128::{EbuR128, Mode};

/// The measurement's sliding history: the gated loudness of the last 20 s of programme.
pub const HISTORY_MS: u32 = 20_000;
/// The gain never cuts more than this…
pub const MIN_GAIN_DB: f64 = -24.0;
/// …nor lifts more than this.
pub const MAX_GAIN_DB: f64 = 12.0;
/// The fastest the gain moves.
pub const SLEW_DB_PER_S: f64 = 3.0;
/// A measurement below this is a silent source: the gain holds.
pub const SILENCE_LUFS: f64 = -55.0;
/// No sample leaves louder than −1 dBFS.
pub const CEILING: f32 = 0.891_250_9;

/// Rides the gain of interleaved F32 audio towards a loudness target.
pub struct LoudnessRider {
    meter: EbuR128,
    channels: usize,
    rate: f64,
    target_lufs: f64,
    gain_db: f64,
}

impl LoudnessRider {
    /// A rider for `channels` interleaved channels at `rate` Hz, aiming at `target_lufs`.
    pub fn new(channels: u32, rate: u32, target_lufs: f64) -> Result<LoudnessRider, String> {
        let mut meter = EbuR128::new(channels, rate, Mode::I)
            .map_err(|error| format!("starting the loudness meter: {error}"))?;
        meter
            .set_max_history(HISTORY_MS)
            .map_err(|error| format!("setting the loudness meter's history: {error}"))?;
        Ok(LoudnessRider {
            meter,
            channels: channels.max(1) as usize,
            rate: f64::from(rate.max(1)),
            target_lufs,
            gain_db: 0.0,
        })
    }

    /// The gain now, in dB.
    #[cfg(test)]
    pub fn gain_db(&self) -> f64 {
        self.gain_db
    }

    /// Measures `samples` (interleaved), moves the gain towards the target and applies it in
    /// place, ramped across the buffer and limited to the ceiling.
    pub fn process(&mut self, samples: &mut [f32]) {
        let frames = samples.len() / self.channels;
        if frames == 0 {
            return;
        }
        let whole = frames * self.channels;
        // A meter error (never expected for interleaved F32 of its own channel count) leaves
        // the gain where it is.
        let _ = self.meter.add_frames_f32(&samples[..whole]);
        let before = self.gain_db;
        if let Ok(measured) = self.meter.loudness_global()
            && measured.is_finite()
            && measured > SILENCE_LUFS
        {
            // The measurement is of the input, before the gain.
            let wanted = (self.target_lufs - measured).clamp(MIN_GAIN_DB, MAX_GAIN_DB);
            let step = SLEW_DB_PER_S * frames as f64 / self.rate;
            self.gain_db = before + (wanted - before).clamp(-step, step);
        }
        let (from, to) = (db_to_linear(before), db_to_linear(self.gain_db));
        let per_frame = (to - from) / frames as f32;
        for (index, frame) in samples[..whole].chunks_exact_mut(self.channels).enumerate() {
            let gain = from + per_frame * (index + 1) as f32;
            for sample in frame {
                *sample = (*sample * gain).clamp(-CEILING, CEILING);
            }
        }
    }
}

fn db_to_linear(db: f64) -> f32 {
    10f64.powf(db / 20.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    /// `seconds` of a stereo 1 kHz sine at `amplitude`, in 20 ms buffers through `rider`;
    /// returns what left it.
    fn ride(rider: &mut LoudnessRider, amplitude: f32, seconds: f64) -> Vec<f32> {
        let frames = (f64::from(RATE) * seconds) as usize;
        let mut out = Vec::with_capacity(frames * 2);
        let mut at = 0usize;
        while at < frames {
            let n = (frames - at).min(960);
            let mut buffer: Vec<f32> = (at..at + n)
                .flat_map(|i| {
                    let s = amplitude
                        * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / RATE as f32).sin();
                    [s, s]
                })
                .collect();
            rider.process(&mut buffer);
            out.extend_from_slice(&buffer);
            at += n;
        }
        out
    }

    fn loudness(samples: &[f32]) -> f64 {
        let mut meter = EbuR128::new(2, RATE, Mode::I).unwrap();
        meter.add_frames_f32(samples).unwrap();
        meter.loudness_global().unwrap()
    }

    #[test]
    fn a_quiet_programme_is_lifted_to_the_target_within_a_few_seconds_without_look_ahead() {
        let mut rider = LoudnessRider::new(2, RATE, -23.0).unwrap();
        // A sine at 0.02 (about −34 LUFS): 11 dB under the target.
        let _settling = ride(&mut rider, 0.02, 6.0);
        let settled = ride(&mut rider, 0.02, 4.0);
        assert!(
            (loudness(&settled) - -23.0).abs() < 0.5,
            "{}",
            loudness(&settled)
        );
    }

    #[test]
    fn a_loud_programme_is_brought_down_and_never_passes_the_ceiling() {
        let mut rider = LoudnessRider::new(2, RATE, -23.0).unwrap();
        let out = ride(&mut rider, 0.99, 12.0);
        assert!(out.iter().all(|s| s.abs() <= CEILING));
        let tail = &out[out.len() - 2 * RATE as usize * 3..];
        assert!((loudness(tail) - -23.0).abs() < 0.5, "{}", loudness(tail));
    }

    #[test]
    fn the_gain_moves_no_faster_than_its_slew_rate() {
        let mut rider = LoudnessRider::new(2, RATE, -23.0).unwrap();
        ride(&mut rider, 0.005, 1.0);
        let before = rider.gain_db();
        ride(&mut rider, 0.005, 1.0);
        assert!((rider.gain_db() - before).abs() <= SLEW_DB_PER_S + 1e-9);
        assert!(rider.gain_db() > before, "a quiet programme is lifted");
    }

    #[test]
    fn silence_holds_the_gain_rather_than_lifting_the_noise_floor() {
        let mut rider = LoudnessRider::new(2, RATE, -23.0).unwrap();
        let out = ride(&mut rider, 0.0, 5.0);
        assert_eq!(rider.gain_db(), 0.0);
        assert!(out.iter().all(|s| *s == 0.0));
    }
}
