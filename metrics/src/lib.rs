//! onair's metrics: the counters, gauges and histograms every layer records into, and their
//! Prometheus text exposition (format 0.0.4).
//!
//! Recording is a few relaxed atomic increments: no allocation, no lock. The process-wide
//! registry is [`metrics()`]; what is recorded where happens is a field of [`Metrics`] (a
//! manifest rendered, an ad decision, a beacon, a transcode job), and what is cheaper to read at
//! scrape time (queue depth, pool, sessions, sources) is written beside it by the `/metrics`
//! handler with [`Exposition`]. HTTP requests are counted per route through [`HttpMetrics`],
//! whose routes are fixed when it is made (axum's route templates, never raw paths), so the
//! number of series is bounded by the route table.
//!
//! Deliberately std-only, so that the core crates (`playout`, `control`, `transcode`) can record
//! without pulling HTTP or a metrics framework in.

mod exposition;
mod http;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

pub use exposition::{CONTENT_TYPE, Exposition, Kind};
pub use http::{HttpMetrics, RouteSlot, StatusClass};

/// A counter that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub const fn new() -> Gauge {
        Gauge(AtomicI64::new(0))
    }

    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    pub fn add(&self, delta: i64) {
        self.0.fetch_add(delta, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Durations in buckets with upper bounds in seconds. One observation is two atomic
/// increments: its bucket and the sum (in nanoseconds); the count and the cumulative buckets
/// are computed when it is read.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    bounds_nanos: Box<[u64]>,
    /// One per bound, then the overflow (`+Inf` only).
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

/// Bucket bounds for an HTTP request or a manifest render: 100 µs to 10 s.
pub const REQUEST_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Bucket bounds for a transcode job: 1 s to 2 h.
pub const JOB_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

/// What a histogram holds at one read.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound in seconds, observations at or below it)`, cumulative, without `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    /// A histogram over `bounds` (seconds, increasing).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|pair| pair[0] < pair[1]));
        Histogram {
            bounds,
            bounds_nanos: bounds
                .iter()
                .map(|seconds| (seconds * 1e9).round() as u64)
                .collect(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        let bucket = self.bounds_nanos.partition_point(|bound| *bound < nanos);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.counts
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let buckets = self
            .bounds
            .iter()
            .zip(self.counts.iter())
            .map(|(bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (*bound, cumulative)
            })
            .collect();
        let count = cumulative + self.counts[self.bounds.len()].load(Ordering::Relaxed);
        HistogramSnapshot {
            buckets,
            count,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// A manifest the origin or a session renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// An HLS media playlist (a rung's, a track's, an interstitial's).
    HlsMedia,
    /// An HLS multivariant playlist.
    HlsMultivariant,
    /// A DASH MPD.
    DashMpd,
}

impl ManifestKind {
    pub const ALL: [ManifestKind; 3] = [
        ManifestKind::HlsMedia,
        ManifestKind::HlsMultivariant,
        ManifestKind::DashMpd,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ManifestKind::HlsMedia => "hls_media",
            ManifestKind::HlsMultivariant => "hls_multivariant",
            ManifestKind::DashMpd => "dash_mpd",
        }
    }
}

/// How an ad decision for a session's break came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionOutcome {
    /// Ads fill the break.
    Filled,
    /// No ad could air: the planned break airs.
    Unfilled,
    /// Decided too late to be used.
    Late,
    /// The ad server could not be asked or answered nothing usable.
    Error,
}

impl DecisionOutcome {
    pub const ALL: [DecisionOutcome; 4] = [
        DecisionOutcome::Filled,
        DecisionOutcome::Unfilled,
        DecisionOutcome::Late,
        DecisionOutcome::Error,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DecisionOutcome::Filled => "filled",
            DecisionOutcome::Unfilled => "unfilled",
            DecisionOutcome::Late => "late",
            DecisionOutcome::Error => "error",
        }
    }
}

/// What every layer records as it happens. One per process: [`metrics()`].
#[derive(Debug)]
pub struct Metrics {
    /// Manifests rendered (cache misses; a cached manifest served again is not a render), by
    /// [`ManifestKind`].
    pub manifest_renders: [Histogram; 3],
    /// Milliseconds of slate the channels aired, as the as-run recorder records them.
    pub slate_aired_millis: Counter,
    /// Ad decisions by [`DecisionOutcome`].
    pub ad_decisions: [Counter; 4],
    /// Tracking beacons fired and answered.
    pub beacons_sent: Counter,
    /// Tracking beacons that failed after their retries.
    pub beacons_failed: Counter,
    /// Transcode jobs that finished, how long they ran.
    pub transcode_succeeded: Histogram,
    /// Transcode jobs that failed (or were handed back), how long they ran.
    pub transcode_failed: Histogram,
    http: std::sync::OnceLock<HttpMetrics>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            manifest_renders: std::array::from_fn(|_| Histogram::new(REQUEST_BUCKETS)),
            slate_aired_millis: Counter::new(),
            ad_decisions: std::array::from_fn(|_| Counter::new()),
            beacons_sent: Counter::new(),
            beacons_failed: Counter::new(),
            transcode_succeeded: Histogram::new(JOB_BUCKETS),
            transcode_failed: Histogram::new(JOB_BUCKETS),
            http: std::sync::OnceLock::new(),
        }
    }

    pub fn manifest_rendered(&self, kind: ManifestKind, took: Duration) {
        self.manifest_renders[kind as usize].observe(took);
    }

    pub fn manifest_renders(&self, kind: ManifestKind) -> &Histogram {
        &self.manifest_renders[kind as usize]
    }

    pub fn ad_decided(&self, outcome: DecisionOutcome) {
        self.ad_decisions[outcome as usize].inc();
    }

    pub fn slate_aired(&self, aired: Duration) {
        self.slate_aired_millis
            .add(u64::try_from(aired.as_millis()).unwrap_or(u64::MAX));
    }

    pub fn beacon_fired(&self, succeeded: bool) {
        if succeeded {
            self.beacons_sent.inc();
        } else {
            self.beacons_failed.inc();
        }
    }

    pub fn transcode_job_finished(&self, succeeded: bool, took: Duration) {
        if succeeded {
            self.transcode_succeeded.observe(took);
        } else {
            self.transcode_failed.observe(took);
        }
    }

    /// The HTTP request metrics over `routes` (route templates), made on the first call; later
    /// calls return the same ones whatever they pass.
    pub fn http(&self, routes: impl IntoIterator<Item = &'static str>) -> &HttpMetrics {
        self.http.get_or_init(|| HttpMetrics::new(routes))
    }

    /// Writes every metric recorded here (the HTTP ones once [`Metrics::http`] made them).
    pub fn write(&self, out: &mut Exposition) {
        if let Some(http) = self.http.get() {
            http.write(out);
        }
        out.family(
            "onair_manifest_render_duration_seconds",
            Kind::Histogram,
            "Time to render a manifest (HLS media or multivariant playlist, DASH MPD); a cached one served again is not rendered.",
        );
        for kind in ManifestKind::ALL {
            out.histogram(
                "onair_manifest_render_duration_seconds",
                &[("kind", kind.label())],
                &self.manifest_renders(kind).snapshot(),
            );
        }
        out.family(
            "onair_slate_aired_seconds_total",
            Kind::Counter,
            "Seconds of slate the channels aired (gap fill), as the as-run recorder records them.",
        );
        out.sample(
            "onair_slate_aired_seconds_total",
            &[],
            self.slate_aired_millis.get() as f64 / 1000.0,
        );
        out.family(
            "onair_ad_decisions_total",
            Kind::Counter,
            "Ad decisions for sessions' breaks by outcome; the fill rate is filled over all.",
        );
        for outcome in DecisionOutcome::ALL {
            out.sample(
                "onair_ad_decisions_total",
                &[("outcome", outcome.label())],
                self.ad_decisions[outcome as usize].get() as f64,
            );
        }
        out.family(
            "onair_ad_beacons_total",
            Kind::Counter,
            "Tracking beacons fired for sessions' ads, by result (sent: answered; failed: after retries).",
        );
        out.sample(
            "onair_ad_beacons_total",
            &[("result", "sent")],
            self.beacons_sent.get() as f64,
        );
        out.sample(
            "onair_ad_beacons_total",
            &[("result", "failed")],
            self.beacons_failed.get() as f64,
        );
        out.family(
            "onair_transcode_job_duration_seconds",
            Kind::Histogram,
            "How long transcode jobs ran, by outcome (succeeded, failed).",
        );
        out.histogram(
            "onair_transcode_job_duration_seconds",
            &[("outcome", "succeeded")],
            &self.transcode_succeeded.snapshot(),
        );
        out.histogram(
            "onair_transcode_job_duration_seconds",
            &[("outcome", "failed")],
            &self.transcode_failed.snapshot(),
        );
    }
}

/// `render()`, its time recorded in the process's metrics as a render of `kind`.
pub fn timed_render<T>(kind: ManifestKind, render: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let rendered = render();
    metrics().manifest_rendered(kind, started.elapsed());
    rendered
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

#[cfg(test)]
mod tests;
