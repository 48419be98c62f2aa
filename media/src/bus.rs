//! Running a pipeline to its end: bus errors in words, progress, timeouts, and always back to NULL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::MediaError;

/// How long a pipeline may run before it is declared hung.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Wall-clock limit for the whole run.
    pub total: Duration,
    /// Fail when the position has not moved for this long.
    pub stall: Duration,
    /// Fail when the position has not moved at all after this long: nothing will come.
    pub start: Duration,
}

impl Limits {
    /// Generous limits for processing `media` seconds of media: a minute plus 30 times real time
    /// in all, two minutes without progress, and a minute to get started. Encoding on two shared
    /// cores is slower than real time, but never by that much.
    pub fn for_media(media: Option<Duration>) -> Limits {
        let media = media.unwrap_or(Duration::from_secs(3600));
        Limits {
            total: Duration::from_secs(60) + media * 30,
            stall: Duration::from_secs(120),
            start: Duration::from_secs(60),
        }
    }
}

/// Sets the pipeline to NULL when dropped, so that no error path leaves threads running.
pub(crate) struct StopOnDrop(pub gst::Pipeline);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// The interval between position queries.
const POLL: Duration = Duration::from_millis(200);

/// What a run reports and watches, besides errors and EOS.
pub(crate) struct Watch<'a> {
    /// How far the media has got, in running time. Pipelines whose sinks answer position queries
    /// poorly (muxers into files) measure it with a pad probe instead.
    pub position: &'a mut dyn FnMut() -> Option<gst::ClockTime>,
    /// The media's expected length, for percentages.
    pub expected: Option<gst::ClockTime>,
    /// Gets 0 to 99 percent of `expected` as the position advances.
    pub progress: &'a mut dyn FnMut(u8),
    /// Sees every element message, and may fail the run.
    pub on_element: &'a mut dyn FnMut(&gst::Message) -> Result<(), MediaError>,
    /// Becomes `true` to stop the run with [`MediaError::Cancelled`], within [`CANCEL_POLL`].
    pub cancel: Option<&'a AtomicBool>,
}

/// How often a run looks at its cancel flag, at most.
pub(crate) const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Plays `pipeline` until EOS, failing on the first bus error or when `limits` are exceeded. The
/// caller keeps ownership and must set the pipeline to NULL (see [`StopOnDrop`]).
pub(crate) fn run_to_eos(
    pipeline: &gst::Pipeline,
    context: &str,
    limits: Limits,
    watch: Watch<'_>,
) -> Result<(), MediaError> {
    let Watch {
        position: query_position,
        expected,
        progress,
        on_element,
        cancel,
    } = watch;
    let cancelled = || cancel.is_some_and(|cancel| cancel.load(Ordering::Relaxed));
    if cancelled() {
        return Err(MediaError::Cancelled);
    }
    let bus = pipeline.bus().expect("a pipeline has a bus");
    if let Err(failure) = pipeline.set_state(gst::State::Playing) {
        // The reason, if any, is on the bus.
        if let Some(message) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(100),
            &[gst::MessageType::Error],
        ) && let gst::MessageView::Error(error) = message.view()
        {
            return Err(bus_error(context, error));
        }
        return Err(MediaError::gst(
            context,
            format!("the pipeline would not start ({failure})"),
        ));
    }

    let started = Instant::now();
    let mut last_poll = started;
    let mut last_advance = started;
    let mut position = gst::ClockTime::ZERO;
    let mut last_percent = None;
    loop {
        if cancelled() {
            return Err(MediaError::Cancelled);
        }
        if let Some(message) =
            bus.timed_pop(gst::ClockTime::from_nseconds(CANCEL_POLL.as_nanos() as u64))
        {
            match message.view() {
                gst::MessageView::Eos(_) => return Ok(()),
                gst::MessageView::Error(error) => return Err(bus_error(context, error)),
                gst::MessageView::Warning(warning) => {
                    tracing::warn!(
                        context,
                        element = ?warning.src().map(|src| src.name()),
                        debug = ?warning.debug(),
                        "{}",
                        warning.error()
                    );
                }
                gst::MessageView::Element(_) => on_element(&message)?,
                _ => {}
            }
        }

        let now = Instant::now();
        if now.duration_since(last_poll) < POLL {
            continue;
        }
        last_poll = now;
        if let Some(at) = query_position()
            && at > position
        {
            position = at;
            last_advance = now;
            if let Some(expected) = expected.filter(|expected| !expected.is_zero()) {
                let percent =
                    (position.nseconds().saturating_mul(100) / expected.nseconds()).min(99) as u8;
                if last_percent != Some(percent) {
                    last_percent = Some(percent);
                    progress(percent);
                }
            }
        }
        if now.duration_since(started) > limits.total {
            return Err(MediaError::Timeout {
                context: context.to_owned(),
                reason: format!("still running at {:.1} s of media", position.seconds_f64()),
                after: limits.total,
            });
        }
        if position.is_zero() && now.duration_since(started) > limits.start {
            return Err(MediaError::Timeout {
                context: context.to_owned(),
                reason: "nothing was decoded: the input is probably damaged".to_owned(),
                after: limits.start,
            });
        }
        if now.duration_since(last_advance) > limits.stall {
            return Err(MediaError::Timeout {
                context: context.to_owned(),
                reason: format!(
                    "stalled at {:.1} s of media, no progress",
                    position.seconds_f64()
                ),
                after: limits.stall,
            });
        }
    }
}

pub(crate) fn bus_error(context: &str, error: &gst::message::Error) -> MediaError {
    MediaError::Pipeline {
        context: context.to_owned(),
        message: error.error().to_string(),
        element: error.src().map(|src| src.name().to_string()),
        debug: error.debug().map(|debug| debug.to_string()),
    }
}
