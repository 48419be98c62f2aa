use std::time::Duration;

use super::*;

#[test]
fn a_histogram_counts_each_observation_in_its_bucket_and_reads_cumulative() {
    static BOUNDS: &[f64] = &[0.001, 0.01, 0.1];
    let histogram = Histogram::new(BOUNDS);
    for micros in [500, 1_000, 1_001, 9_000, 50_000, 2_000_000] {
        histogram.observe(Duration::from_micros(micros));
    }
    let snapshot = histogram.snapshot();
    // A bound is an upper bound "less than or equal": 1 ms falls in the 1 ms bucket.
    assert_eq!(snapshot.buckets, vec![(0.001, 2), (0.01, 4), (0.1, 5)]);
    assert_eq!(snapshot.count, 6);
    assert!((snapshot.sum_seconds - 2.061501).abs() < 1e-9);
}

#[test]
fn a_histogram_is_written_with_cumulative_buckets_inf_sum_and_count() {
    static BOUNDS: &[f64] = &[0.5, 1.0];
    let histogram = Histogram::new(BOUNDS);
    histogram.observe(Duration::from_millis(250));
    histogram.observe(Duration::from_secs(3));
    let mut out = Exposition::new();
    out.family("onair_x_seconds", Kind::Histogram, "X.");
    out.histogram("onair_x_seconds", &[("kind", "a")], &histogram.snapshot());
    assert_eq!(
        out.into_text(),
        "# HELP onair_x_seconds X.\n\
         # TYPE onair_x_seconds histogram\n\
         onair_x_seconds_bucket{kind=\"a\",le=\"0.5\"} 1\n\
         onair_x_seconds_bucket{kind=\"a\",le=\"1\"} 1\n\
         onair_x_seconds_bucket{kind=\"a\",le=\"+Inf\"} 2\n\
         onair_x_seconds_sum{kind=\"a\"} 3.25\n\
         onair_x_seconds_count{kind=\"a\"} 2\n"
    );
}

#[test]
fn label_values_are_escaped() {
    let mut out = Exposition::new();
    out.sample("onair_y", &[("source", "a\"b\\c\nd")], 1.0);
    assert_eq!(out.into_text(), "onair_y{source=\"a\\\"b\\\\c\\nd\"} 1\n");
}

#[test]
fn requests_are_counted_by_route_template_method_and_status_class() {
    let http = HttpMetrics::new(["/channels/{slug}/manifest.mpd", "/healthz"]);
    let mpd = http.slot(Some("/channels/{slug}/manifest.mpd"));
    mpd.record("GET", 200, Duration::from_micros(300));
    mpd.record("GET", 304, Duration::from_micros(100));
    mpd.record("GET", 200, Duration::from_micros(200));
    http.slot(Some("/no/such/{route}"))
        .record("BREW", 404, Duration::from_micros(50));
    http.slot(None)
        .record("GET", 404, Duration::from_micros(50));

    assert_eq!(mpd.requests("GET", StatusClass::Success), 2);
    assert_eq!(mpd.requests("GET", StatusClass::Redirection), 1);
    let unmatched = http.slot(None);
    assert_eq!(unmatched.requests("other", StatusClass::ClientError), 1);
    assert_eq!(unmatched.requests("GET", StatusClass::ClientError), 1);

    let mut out = Exposition::new();
    http.write(&mut out);
    let text = out.into_text();
    let samples: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("onair_http_requests_total"))
        .collect();
    assert_eq!(
        samples,
        [
            "onair_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"4xx\"} 1",
            "onair_http_requests_total{route=\"unmatched\",method=\"other\",status=\"4xx\"} 1",
            "onair_http_requests_total{route=\"/channels/{slug}/manifest.mpd\",method=\"GET\",status=\"2xx\"} 2",
            "onair_http_requests_total{route=\"/channels/{slug}/manifest.mpd\",method=\"GET\",status=\"3xx\"} 1",
        ]
    );
    // A route nobody asked for has no series.
    assert!(!text.contains("/healthz"));
    assert!(text.contains(
        "onair_http_request_duration_seconds_count{route=\"/channels/{slug}/manifest.mpd\"} 3\n"
    ));
}

#[test]
fn every_family_is_written_with_help_and_type_even_before_anything_happened() {
    let metrics = Metrics::new();
    let mut out = Exposition::new();
    metrics.write(&mut out);
    let text = out.into_text();
    for (family, kind) in [
        ("onair_manifest_render_duration_seconds", "histogram"),
        ("onair_slate_aired_seconds_total", "counter"),
        ("onair_ad_decisions_total", "counter"),
        ("onair_ad_beacons_total", "counter"),
        ("onair_transcode_job_duration_seconds", "histogram"),
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "{family}");
        assert!(
            text.contains(&format!("# TYPE {family} {kind}\n")),
            "{family}"
        );
    }
    assert!(text.contains("onair_ad_decisions_total{outcome=\"filled\"} 0\n"));
}

#[test]
fn what_is_recorded_shows_in_the_text() {
    let metrics = Metrics::new();
    metrics.manifest_rendered(ManifestKind::DashMpd, Duration::from_micros(800));
    metrics.ad_decided(DecisionOutcome::Filled);
    metrics.ad_decided(DecisionOutcome::Filled);
    metrics.ad_decided(DecisionOutcome::Unfilled);
    metrics.beacon_fired(true);
    metrics.beacon_fired(false);
    metrics.slate_aired(Duration::from_millis(4_500));
    metrics.transcode_job_finished(true, Duration::from_secs(42));
    let mut out = Exposition::new();
    metrics.write(&mut out);
    let text = out.into_text();
    for line in [
        "onair_manifest_render_duration_seconds_count{kind=\"dash_mpd\"} 1",
        "onair_manifest_render_duration_seconds_count{kind=\"hls_media\"} 0",
        "onair_ad_decisions_total{outcome=\"filled\"} 2",
        "onair_ad_decisions_total{outcome=\"unfilled\"} 1",
        "onair_ad_beacons_total{result=\"sent\"} 1",
        "onair_ad_beacons_total{result=\"failed\"} 1",
        "onair_slate_aired_seconds_total 4.5",
        "onair_transcode_job_duration_seconds_bucket{outcome=\"succeeded\",le=\"60\"} 1",
        "onair_transcode_job_duration_seconds_bucket{outcome=\"succeeded\",le=\"30\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}
