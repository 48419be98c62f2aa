//! HTTP requests per route: a slot per route template (axum's `MatchedPath`), found without a
//! lock in a map fixed when the metrics are made; a request on no known route counts under
//! `unmatched`. Per request: one map lookup, one counter and one histogram observation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use crate::{Counter, Exposition, Histogram, Kind, REQUEST_BUCKETS};

/// The label requests on no known route are counted under.
pub const UNMATCHED: &str = "unmatched";

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
];

/// The class of a response's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Informational,
    Success,
    Redirection,
    ClientError,
    ServerError,
}

impl StatusClass {
    const ALL: [StatusClass; 5] = [
        StatusClass::Informational,
        StatusClass::Success,
        StatusClass::Redirection,
        StatusClass::ClientError,
        StatusClass::ServerError,
    ];

    pub fn of(status: u16) -> StatusClass {
        match status {
            ..200 => StatusClass::Informational,
            200..300 => StatusClass::Success,
            300..400 => StatusClass::Redirection,
            400..500 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }

    fn label(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
        }
    }
}

/// One route's counters (by method and status class) and its duration histogram.
#[derive(Debug)]
pub struct RouteSlot {
    route: &'static str,
    requests: [[Counter; 5]; METHODS.len()],
    duration: Histogram,
}

impl RouteSlot {
    fn new(route: &'static str) -> RouteSlot {
        RouteSlot {
            route,
            requests: std::array::from_fn(|_| std::array::from_fn(|_| Counter::new())),
            duration: Histogram::new(REQUEST_BUCKETS),
        }
    }

    /// The route template it counts (or `unmatched`).
    pub fn template(&self) -> &'static str {
        self.route
    }

    /// Counts a request answered with `status` after `took`.
    pub fn record(&self, method: &str, status: u16, took: Duration) {
        let method = METHODS[..METHODS.len() - 1]
            .iter()
            .position(|known| *known == method)
            .unwrap_or(METHODS.len() - 1);
        self.requests[method][StatusClass::of(status) as usize].inc();
        self.duration.observe(took);
    }

    /// Requests counted with `method` and a status of `class`.
    pub fn requests(&self, method: &str, class: StatusClass) -> u64 {
        METHODS
            .iter()
            .position(|known| *known == method)
            .map_or(0, |method| self.requests[method][class as usize].get())
    }
}

/// FNV-1a: route templates are short, known and not chosen by clients, so a fast hash will do.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// Every route's slot.
#[derive(Debug)]
pub struct HttpMetrics {
    by_route: HashMap<&'static str, usize, BuildHasherDefault<Fnv>>,
    slots: Vec<RouteSlot>,
}

impl std::fmt::Debug for Fnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fnv")
    }
}

impl HttpMetrics {
    /// Slots for `routes` (duplicates share one) and for [`UNMATCHED`].
    pub fn new(routes: impl IntoIterator<Item = &'static str>) -> HttpMetrics {
        let mut metrics = HttpMetrics {
            by_route: HashMap::default(),
            slots: vec![RouteSlot::new(UNMATCHED)],
        };
        for route in routes {
            if !metrics.by_route.contains_key(route) {
                metrics.by_route.insert(route, metrics.slots.len());
                metrics.slots.push(RouteSlot::new(route));
            }
        }
        metrics
    }

    /// The slot of `route` (a route template), or the unmatched one.
    pub fn slot(&self, route: Option<&str>) -> &RouteSlot {
        let index = route
            .and_then(|route| self.by_route.get(route))
            .copied()
            .unwrap_or(0);
        &self.slots[index]
    }

    /// Writes the routes that have seen requests.
    pub fn write(&self, out: &mut Exposition) {
        out.family(
            "onair_http_requests_total",
            Kind::Counter,
            "HTTP requests by route template, method and status class.",
        );
        for slot in &self.slots {
            for (method, by_class) in METHODS.iter().zip(&slot.requests) {
                for (class, counter) in StatusClass::ALL.iter().zip(by_class) {
                    let count = counter.get();
                    if count > 0 {
                        out.sample(
                            "onair_http_requests_total",
                            &[
                                ("route", slot.route),
                                ("method", method),
                                ("status", class.label()),
                            ],
                            count as f64,
                        );
                    }
                }
            }
        }
        out.family(
            "onair_http_request_duration_seconds",
            Kind::Histogram,
            "Time from a request's arrival to its response's head, by route template.",
        );
        for slot in &self.slots {
            let histogram = slot.duration.snapshot();
            if histogram.count > 0 {
                out.histogram(
                    "onair_http_request_duration_seconds",
                    &[("route", slot.route)],
                    &histogram,
                );
            }
        }
    }
}
