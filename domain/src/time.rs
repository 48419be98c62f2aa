//! Integer media time: [`Ticks`] (a duration) and [`Timestamp`] (an instant), both at 90 kHz.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// 90 kHz, the MPEG-TS timescale: every frame rate and the 48 kHz audio frame divide it well enough.
pub const TICKS_PER_SECOND: i64 = 90_000;

/// A duration in 90 kHz ticks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Ticks(pub i64);

impl Ticks {
    pub const ZERO: Ticks = Ticks(0);

    pub const fn from_secs(secs: i64) -> Ticks {
        Ticks(secs * TICKS_PER_SECOND)
    }

    pub const fn from_millis(millis: i64) -> Ticks {
        Ticks(millis * 90)
    }

    /// From nanoseconds (GStreamer clock time), rounded to the nearest tick.
    pub const fn from_nanos(nanos: i64) -> Ticks {
        Ticks((nanos * 9 + 50_000) / 100_000)
    }

    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(90)
    }

    /// Seconds as a float, for display only (EXTINF, logs). Never add these up.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / TICKS_PER_SECOND as f64
    }

    /// Whole seconds, rounded up: what HLS wants for EXT-X-TARGETDURATION.
    pub const fn ceil_secs(self) -> i64 {
        (self.0 + TICKS_PER_SECOND - 1).div_euclid(TICKS_PER_SECOND)
    }
}

impl Add for Ticks {
    type Output = Ticks;
    fn add(self, rhs: Ticks) -> Ticks {
        Ticks(self.0 + rhs.0)
    }
}

impl AddAssign for Ticks {
    fn add_assign(&mut self, rhs: Ticks) {
        self.0 += rhs.0;
    }
}

impl Sub for Ticks {
    type Output = Ticks;
    fn sub(self, rhs: Ticks) -> Ticks {
        Ticks(self.0 - rhs.0)
    }
}

impl std::iter::Sum for Ticks {
    fn sum<I: Iterator<Item = Ticks>>(iter: I) -> Ticks {
        Ticks(iter.map(|t| t.0).sum())
    }
}

impl fmt::Display for Ticks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

/// An instant: 90 kHz ticks since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_unix_millis(millis: i64) -> Timestamp {
        Timestamp(millis * 90)
    }

    pub const fn from_unix_secs(secs: i64) -> Timestamp {
        Timestamp(secs * TICKS_PER_SECOND)
    }

    pub const fn unix_millis(self) -> i64 {
        self.0.div_euclid(90)
    }

    pub fn from_datetime(at: DateTime<Utc>) -> Timestamp {
        Timestamp(
            at.timestamp() * TICKS_PER_SECOND
                + i64::from(at.timestamp_subsec_nanos()) * 9 / 100_000,
        )
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        let secs = self.0.div_euclid(TICKS_PER_SECOND);
        let rest = self.0.rem_euclid(TICKS_PER_SECOND);
        Utc.timestamp_opt(secs, (rest * 100_000 / 9) as u32)
            .single()
            .expect("a 90 kHz timestamp is always a valid instant")
    }

    /// RFC 3339 with milliseconds and a `Z`, as EXT-X-PROGRAM-DATE-TIME wants it.
    pub fn to_rfc3339_millis(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

impl Add<Ticks> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Ticks) -> Timestamp {
        Timestamp(self.0 + rhs.0)
    }
}

impl Sub<Ticks> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Ticks) -> Timestamp {
        Timestamp(self.0 - rhs.0)
    }
}

impl Sub for Timestamp {
    type Output = Ticks;
    fn sub(self, rhs: Timestamp) -> Ticks {
        Ticks(self.0 - rhs.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trips_through_chrono_at_millisecond_precision() {
        let at = Timestamp::from_unix_millis(1_790_000_000_123);
        assert_eq!(Timestamp::from_datetime(at.to_datetime()), at);
        assert_eq!(at.to_rfc3339_millis(), "2026-09-21T14:13:20.123Z");
    }

    #[test]
    fn nanos_round_to_the_nearest_tick() {
        assert_eq!(Ticks::from_nanos(2_000_000_000), Ticks::from_secs(2));
        assert_eq!(Ticks::from_nanos(40_000_000), Ticks(3600));
    }

    #[test]
    fn target_duration_rounds_up() {
        assert_eq!(Ticks(180_001).ceil_secs(), 3);
        assert_eq!(Ticks(180_000).ceil_secs(), 2);
    }
}
