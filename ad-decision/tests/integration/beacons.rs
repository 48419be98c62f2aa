//! Beacons against the test server's receiver: the device headers arrive, 5xx is retried with
//! backoff, 4xx is not, a redirect counts as received, and the guard applies. Error URLs of a
//! resolved ad reach the receiver with their code.

use std::time::{Duration, Instant};

use crate::common::{AdServer, DEVICE_IP, DEVICE_UA, client, device, inline_ad, options, vast};
use onair_ad_decision::beacon::{BeaconSender, RetryPolicy};
use onair_ad_decision::{AdClient, MacroValues, resolve_vast};

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(50),
        attempt_timeout: Duration::from_secs(2),
    }
}

fn sender() -> BeaconSender {
    BeaconSender::new(&client()).with_retry(quick_retries())
}

#[tokio::test]
async fn a_beacon_arrives_once_with_the_device_headers() {
    let server = AdServer::start().await;
    let outcome = sender().fire(&server.url("/beacon/ok"), &device()).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!((outcome.attempts, outcome.status), (1, Some(204)));
    let hits = server.hits_under("/beacon/ok");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].device_ip.as_deref(), Some(DEVICE_IP));
    assert_eq!(hits[0].device_ua.as_deref(), Some(DEVICE_UA));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_and_client_errors_are_not() {
    let server = AdServer::start().await;
    let flaky = sender().fire(&server.url("/beacon/flaky"), &device()).await;
    assert!(flaky.is_success(), "{flaky:?}");
    assert_eq!((flaky.attempts, flaky.status), (3, Some(204)));
    let hits = server.hits_under("/beacon/flaky");
    assert_eq!(hits.len(), 3);
    assert!(
        hits.iter()
            .all(|hit| hit.device_ip.as_deref() == Some(DEVICE_IP))
    );

    let slow_backoff = BeaconSender::new(&client()).with_retry(RetryPolicy {
        first_backoff: Duration::from_millis(200),
        ..quick_retries()
    });
    let started = Instant::now();
    let down = slow_backoff
        .fire(&server.url("/beacon/down"), &device())
        .await;
    assert!(!down.is_success());
    assert_eq!((down.attempts, down.status), (3, Some(503)));
    assert!(down.error.as_deref().unwrap().contains("503"), "{down:?}");
    // 200 ms, then 400 ms between the three attempts.
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );

    let gone = sender().fire(&server.url("/beacon/gone"), &device()).await;
    assert_eq!((gone.attempts, gone.status), (1, Some(404)));
    assert_eq!(server.hits_under("/beacon/gone").len(), 1);
}

#[tokio::test]
async fn a_redirect_counts_as_received_and_is_not_followed() {
    let server = AdServer::start().await;
    let moved = sender().fire(&server.url("/beacon/moved"), &device()).await;
    assert!(moved.is_success(), "{moved:?}");
    assert_eq!(moved.status, Some(302));
    assert!(server.hits_under("/beacon/moved-target").is_empty());
}

#[tokio::test]
async fn a_beacon_to_a_private_address_is_refused_and_not_retried() {
    let server = AdServer::start().await;
    let guarded = BeaconSender::new(&AdClient::new(false).unwrap()).with_retry(quick_retries());
    let outcome = guarded.fire(&server.url("/beacon/ok"), &device()).await;
    assert_eq!(outcome.attempts, 1);
    assert!(
        outcome
            .error
            .as_deref()
            .unwrap()
            .contains("127.0.0.1 is a loopback address"),
        "{outcome:?}"
    );
    assert!(server.hits().is_empty());
}

#[tokio::test]
async fn a_resolved_ads_error_impression_and_tracking_urls_reach_the_receiver() {
    let server = AdServer::with_docs(|base| {
        vec![(
            "one",
            vast(&[inline_ad(base, "ad1", None, "https://cdn.example/ad1.mp4")]),
        )]
    })
    .await;
    let resolution = resolve_vast(&client(), &server.url("/doc/one"), &device(), &options()).await;
    let ad = &resolution.ads[0];
    let values = MacroValues::default();
    let sender = sender();
    let mut urls = ad.error_urls_with(405, &values);
    urls.extend(ad.impression_urls_with(&values));
    urls.extend(ad.tracking_urls_with("start", &values));
    assert_eq!(urls.len(), 3, "{urls:?}");
    for url in &urls {
        let outcome = sender.fire(url, &device()).await;
        assert!(outcome.is_success(), "{url}: {outcome:?}");
    }
    let error_hit = &server.hits_under("/beacon/error-ad1")[0];
    assert_eq!(error_hit.query.as_deref(), Some("code=405"));
    assert_eq!(error_hit.device_ua.as_deref(), Some(DEVICE_UA));
    assert_eq!(server.hits_under("/beacon/impression-ad1").len(), 1);
    assert_eq!(server.hits_under("/beacon/start-ad1").len(), 1);
}
