//! How many conformance checks a server runs: a check renders and probes up to 48 hours of a
//! channel (seconds of CPU, hundreds of MB), so at most [`ConformanceLimits::concurrent`] run at
//! once (one that cannot start waits [`ConformanceLimits::wait`], then is refused), and each
//! caller may start at most [`ConformanceLimits::per_minute`] in any minute. A refusal is a
//! [`Refusal::TooMany`] naming the limit and when to try again.
//!
//! The limits are kept on the monotonic clock of the process, not the control plane's (which
//! may be virtual): they are about the server's load, not about what airs.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Refusal;

/// The span [`ConformanceLimits::per_minute`] counts starts over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// When a check refused because the server is busy is told to try again: about as long as a
/// long check takes.
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Past this many callers remembered, those who started nothing in the last minute are
/// forgotten (the map holds only callers with a start inside [`WINDOW`] beyond that).
const CALLERS_KEPT: usize = 256;

/// How many checks may run, and how often one caller may start one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConformanceLimits {
    /// Checks that run at once on this server.
    pub concurrent: usize,
    /// How long a check waits for a running one to finish before it is refused.
    pub wait: Duration,
    /// Checks one caller may start in any minute (refused ones do not count).
    pub per_minute: usize,
}

impl Default for ConformanceLimits {
    fn default() -> ConformanceLimits {
        ConformanceLimits {
            concurrent: 2,
            wait: Duration::from_secs(2),
            per_minute: 6,
        }
    }
}

/// The checks running on a server and those each caller started lately. Cheap to clone: the
/// clones of one server's control plane share one.
#[derive(Clone)]
pub struct ConformanceLimiter {
    limits: ConformanceLimits,
    running: Arc<Semaphore>,
    starts: Arc<Mutex<Starts>>,
}

impl Default for ConformanceLimiter {
    fn default() -> ConformanceLimiter {
        ConformanceLimiter::new(ConformanceLimits::default())
    }
}

impl std::fmt::Debug for ConformanceLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformanceLimiter")
            .field("limits", &self.limits)
            .field("idle", &self.running.available_permits())
            .finish_non_exhaustive()
    }
}

/// A running check's place among the [`ConformanceLimits::concurrent`]: given back when the
/// last clone is dropped. The check's blocking work holds a clone, so a check whose caller went
/// away still counts until its thread is done.
#[derive(Debug, Clone)]
pub struct CheckPermit {
    _running: Arc<OwnedSemaphorePermit>,
}

impl ConformanceLimiter {
    pub fn new(limits: ConformanceLimits) -> ConformanceLimiter {
        ConformanceLimiter {
            limits,
            running: Arc::new(Semaphore::new(limits.concurrent)),
            starts: Arc::new(Mutex::new(Starts::default())),
        }
    }

    pub fn limits(&self) -> ConformanceLimits {
        self.limits
    }

    /// A place for a check `who` starts now, or why not: `who` started
    /// [`ConformanceLimits::per_minute`] in the last minute, or the server ran
    /// [`ConformanceLimits::concurrent`] for all of [`ConformanceLimits::wait`].
    pub async fn admit(&self, who: &str) -> Result<CheckPermit, Refusal> {
        let now = Instant::now();
        self.starts()
            .start(who, now, self.limits.per_minute)
            .map_err(|retry_after| Refusal::TooMany {
                message: format!(
                    "{who} has started {} conformance check(s) in the last minute, the most one user may; try again in {} s",
                    self.limits.per_minute,
                    whole_seconds(retry_after)
                ),
                retry_after,
            })?;
        let running = Arc::clone(&self.running).acquire_owned();
        match tokio::time::timeout(self.limits.wait, running).await {
            Ok(Ok(permit)) => Ok(CheckPermit {
                _running: Arc::new(permit),
            }),
            _ => {
                self.starts().forget(who, now);
                Err(Refusal::TooMany {
                    message: format!(
                        "{} conformance check(s) are running on this server, the most at once, and none finished within {} s; try again in {} s",
                        self.limits.concurrent,
                        self.limits.wait.as_secs_f64(),
                        whole_seconds(BUSY_RETRY_AFTER)
                    ),
                    retry_after: BUSY_RETRY_AFTER,
                })
            }
        }
    }

    fn starts(&self) -> MutexGuard<'_, Starts> {
        self.starts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `duration` in whole seconds, rounded up, at least 1: what `Retry-After` says.
pub fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// When each caller started the checks of the last [`WINDOW`], oldest first.
#[derive(Debug, Default)]
struct Starts {
    by_caller: HashMap<String, VecDeque<Instant>>,
}

impl Starts {
    /// Records that `who` starts a check at `now`, or how long until it may: when it started
    /// `per_minute` in the [`WINDOW`] before `now`.
    fn start(&mut self, who: &str, now: Instant, per_minute: usize) -> Result<(), Duration> {
        if self.by_caller.len() >= CALLERS_KEPT && !self.by_caller.contains_key(who) {
            self.by_caller.retain(|_, starts| {
                expire(starts, now);
                !starts.is_empty()
            });
        }
        let starts = self.by_caller.entry(who.to_owned()).or_default();
        expire(starts, now);
        if starts.len() >= per_minute {
            // The oldest start leaves the window first (with no start allowed at all, a
            // whole window).
            let oldest = starts.front().copied().unwrap_or(now);
            return Err((oldest + WINDOW).saturating_duration_since(now));
        }
        starts.push_back(now);
        Ok(())
    }

    /// Takes back the start `who` recorded at `at` (its check was refused after all).
    fn forget(&mut self, who: &str, at: Instant) {
        if let Some(starts) = self.by_caller.get_mut(who) {
            if let Some(position) = starts.iter().rposition(|start| *start == at) {
                starts.remove(position);
            }
            if starts.is_empty() {
                self.by_caller.remove(who);
            }
        }
    }

    #[cfg(test)]
    fn callers(&self) -> usize {
        self.by_caller.len()
    }
}

/// Drops the starts a [`WINDOW`] or more before `now`.
fn expire(starts: &mut VecDeque<Instant>, now: Instant) {
    while starts
        .front()
        .is_some_and(|start| now.saturating_duration_since(*start) >= WINDOW)
    {
        starts.pop_front();
    }
}

#[cfg(test)]
mod tests;
