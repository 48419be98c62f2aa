//! The clock is an input: the system clock in production, a virtual clock for soak tests and
//! previews, a fixed clock for snapshots.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::time::Timestamp;

/// Where "now" comes from. Everything that needs the time takes one of these.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(system_millis())
    }
}

fn system_millis() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the system clock is after 1970");
    since.as_millis() as i64
}

/// Always the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Starts at `start` when created and runs `speed` times as fast as the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    pub start: Timestamp,
    pub speed: f64,
    real_start_millis: i64,
}

impl VirtualClock {
    pub fn new(start: Timestamp, speed: f64) -> VirtualClock {
        VirtualClock {
            start,
            speed,
            real_start_millis: system_millis(),
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        let real_elapsed_millis = system_millis() - self.real_start_millis;
        let virtual_elapsed_ticks = (real_elapsed_millis as f64 * 90.0 * self.speed) as i64;
        Timestamp(self.start.0 + virtual_elapsed_ticks)
    }
}
