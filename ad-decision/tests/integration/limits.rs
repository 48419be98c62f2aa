//! The resolver against a misbehaving ad server: slow answers and the shared budget, 5xx,
//! garbage, a 50 MB body, wrapper loops and chains deeper than the limit, pods whose ads fail,
//! the private-address guard, and the device headers on every request.

use std::time::{Duration, Instant};

use crate::common::{
    AdServer, DEVICE_IP, DEVICE_UA, HUGE_BYTES, client, device, inline_ad, options, vast,
    wrapper_ad,
};
use onair_ad_decision::{AdClient, MacroValues, RequestContext, ResolveOptions, resolve_vast};

#[tokio::test]
async fn every_ad_request_carries_the_device_headers() {
    let server = AdServer::start().await;
    let resolution = resolve_vast(
        &client(),
        &server.url("/vast/wrapper-a.xml"),
        &device(),
        &options(),
    )
    .await;
    assert_eq!(resolution.hops.len(), 4);
    let hits = server.hits_under("/vast/");
    assert_eq!(hits.len(), 4, "{hits:?}");
    for hit in hits {
        assert_eq!(hit.device_ip.as_deref(), Some(DEVICE_IP), "{hit:?}");
        assert_eq!(hit.device_ua.as_deref(), Some(DEVICE_UA), "{hit:?}");
    }
}

#[tokio::test]
async fn a_slow_wrapper_is_cut_at_the_budget_and_what_resolved_is_returned() {
    let server = AdServer::with_docs(|base| {
        vec![
            (
                "wrap-slow",
                vast(&[wrapper_ad(base, "w", None, "/slow/10000", "")]),
            ),
            (
                "pod-with-slow",
                vast(&[
                    inline_ad(base, "fast", Some(1), "https://cdn.example/fast.mp4"),
                    wrapper_ad(base, "slow", Some(2), "/slow/10000", ""),
                ]),
            ),
        ]
    })
    .await;
    let budget = ResolveOptions {
        budget: Duration::from_millis(800),
        ..ResolveOptions::default()
    };
    let started = Instant::now();
    let resolution =
        resolve_vast(&client(), &server.url("/doc/wrap-slow"), &device(), &budget).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(took >= Duration::from_millis(700), "took {took:?}");
    assert!(resolution.ads.is_empty());
    assert_eq!(resolution.error_codes(), [301]);
    let slow_hop = &resolution.hops[1];
    assert_eq!(slow_hop.error_code, Some(301));
    assert!(
        slow_hop
            .error
            .as_deref()
            .unwrap()
            .contains("budget of 800 ms"),
        "{slow_hop:?}"
    );
    assert_eq!(
        resolution.errors[0].urls,
        [server.url("/beacon/error-w?code=301")],
        "the pending wrapper's Error URL, [ERRORCODE] expanded"
    );

    let started = Instant::now();
    let partial = resolve_vast(
        &client(),
        &server.url("/doc/pod-with-slow"),
        &device(),
        &budget,
    )
    .await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(partial.ads.len(), 1);
    assert_eq!(partial.ads[0].ad_id.as_deref(), Some("fast"));
    assert_eq!(partial.error_codes(), [301]);
    assert_eq!(partial.errors[0].ad_id, None);
}

#[tokio::test]
async fn server_errors_garbage_and_huge_bodies_fail_their_hop() {
    let server = AdServer::start().await;
    let resolve = |path: &'static str| {
        let url = server.url(path);
        async move { resolve_vast(&client(), &url, &device(), &options()).await }
    };
    let unavailable = resolve("/status/503").await;
    assert_eq!(unavailable.hops[0].status, Some(503));
    assert!(
        unavailable.hops[0]
            .error
            .as_deref()
            .unwrap()
            .contains("503"),
        "{unavailable:?}"
    );
    assert_eq!(unavailable.error_codes(), [301]);

    let garbage = resolve("/garbage").await;
    assert_eq!(garbage.hops[0].status, Some(200));
    assert_eq!(garbage.error_codes(), [100]);

    let started = Instant::now();
    let huge = resolve("/huge").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let hop = &huge.hops[0];
    assert!(
        hop.error
            .as_deref()
            .unwrap()
            .contains("larger than 2097152 bytes"),
        "{hop:?}"
    );
    assert_eq!(huge.error_codes(), [301]);
    // Refused, not read: the server got out a few socket buffers past the 2 MiB limit at most.
    assert!(
        server.huge_sent() < HUGE_BYTES / 4,
        "the server sent {} bytes",
        server.huge_sent()
    );
}

#[tokio::test]
async fn a_wrapper_loop_and_a_chain_deeper_than_five_stop_with_302() {
    let server = AdServer::with_docs(|base| {
        vec![(
            "loop.xml",
            vast(&[wrapper_ad(base, "loop", None, "loop.xml", "")]),
        )]
    })
    .await;
    let looping = resolve_vast(
        &client(),
        &server.url("/doc/loop.xml"),
        &device(),
        &options(),
    )
    .await;
    assert_eq!(looping.error_codes(), [302]);
    assert!(looping.errors[0].message.contains("loop"), "{looping:?}");
    assert_eq!(
        looping.hops.len(),
        1,
        "the loop is caught before requesting it again"
    );

    let five = resolve_vast(&client(), &server.url("/chain/5"), &device(), &options()).await;
    assert_eq!(five.ads.len(), 1, "{five:#?}");
    assert_eq!(five.ads[0].ad_id.as_deref(), Some("chain-end"));
    assert_eq!(five.ads[0].chain.len(), 6);
    assert_eq!(five.ads[0].impressions.len(), 6);
    assert_eq!(five.hops.len(), 6);
    assert!(five.errors.is_empty());

    let six = resolve_vast(&client(), &server.url("/chain/6"), &device(), &options()).await;
    assert!(six.ads.is_empty());
    assert_eq!(six.error_codes(), [302]);
    assert!(
        six.errors[0].message.contains("more than 5 wrappers"),
        "{six:?}"
    );
    assert_eq!(six.hops.len(), 6);
    assert_eq!(six.errors[0].urls.len(), 6, "every hop's Error URL");

    let shallow = ResolveOptions {
        max_wrapper_depth: 2,
        ..options()
    };
    let limited = resolve_vast(&client(), &server.url("/chain/3"), &device(), &shallow).await;
    assert_eq!(limited.error_codes(), [302]);
}

#[tokio::test]
async fn a_failed_pod_ad_is_replaced_by_the_next_buffet_ad_unless_its_wrapper_says_no() {
    let server = AdServer::with_docs(|base| {
        let pod = |fallback: &str| {
            vast(&[
                wrapper_ad(base, "p1", Some(1), "/status/404", fallback),
                inline_ad(base, "p2", Some(2), "https://cdn.example/p2.mp4"),
                inline_ad(base, "b1", None, "https://cdn.example/b1.mp4"),
                wrapper_ad(base, "b2", None, "/vast/vpaid.xml", ""),
                inline_ad(base, "b3", None, "https://cdn.example/b3.mp4"),
            ])
        };
        vec![
            ("pod", pod("")),
            ("pod-no-fallback", pod("fallbackOnNoAd=\"false\"")),
            (
                "pod-out-of-order",
                vast(&[
                    inline_ad(base, "third", Some(3), "https://cdn.example/3.mp4"),
                    inline_ad(base, "first", Some(1), "https://cdn.example/1.mp4"),
                    inline_ad(base, "second", Some(2), "https://cdn.example/2.mp4"),
                ]),
            ),
        ]
    })
    .await;
    let summary = |resolution: &onair_ad_decision::Resolution| -> Vec<(String, Option<u32>, bool, Option<u32>)> {
        resolution
            .ads
            .iter()
            .map(|ad| {
                (
                    ad.ad_id.clone().unwrap(),
                    ad.sequence,
                    ad.buffet,
                    ad.replaces_sequence,
                )
            })
            .collect()
    };
    let pod = resolve_vast(&client(), &server.url("/doc/pod"), &device(), &options()).await;
    assert_eq!(
        summary(&pod),
        [
            ("b1".to_owned(), None, true, Some(1)),
            ("p2".to_owned(), Some(2), false, None),
            ("b3".to_owned(), None, true, None),
        ]
    );
    // p1's wrapper 404s (301 to its Error URL), b2 leads to VPAID only (403 to b2's).
    assert_eq!(pod.error_codes(), [301, 403]);
    assert_eq!(
        pod.errors[0].urls,
        [server.url("/beacon/error-p1?code=301")]
    );
    assert_eq!(
        pod.errors[1].urls,
        [server.url("/beacon/error-b2?code=403")]
    );

    let strict = resolve_vast(
        &client(),
        &server.url("/doc/pod-no-fallback"),
        &device(),
        &options(),
    )
    .await;
    assert_eq!(
        summary(&strict),
        [
            ("p2".to_owned(), Some(2), false, None),
            ("b1".to_owned(), None, true, None),
            ("b3".to_owned(), None, true, None),
        ]
    );

    let ordered = resolve_vast(
        &client(),
        &server.url("/doc/pod-out-of-order"),
        &device(),
        &options(),
    )
    .await;
    let order: Vec<Option<u32>> = ordered.ads.iter().map(|ad| ad.sequence).collect();
    assert_eq!(order, [Some(1), Some(2), Some(3)]);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let server = AdServer::with_docs(|base| {
        let port = base.rsplit(':').next().unwrap().to_owned();
        vec![
            (
                "to-private",
                vast(&[wrapper_ad(
                    base,
                    "w",
                    None,
                    &format!("http://127.0.0.2:{port}/vast/inline-linear.xml"),
                    "",
                )]),
            ),
            (
                "private-media",
                vast(&[
                    inline_ad(base, "private", None, "http://10.0.0.1/creative.mp4"),
                    inline_ad(base, "public", None, "https://cdn.example/creative.mp4"),
                ]),
            ),
        ]
    })
    .await;
    // The ad tag itself on loopback, with the guard fully on: refused before any request.
    let guarded = AdClient::new(false).unwrap();
    assert!(!guarded.allows_private());
    let refused = resolve_vast(
        &guarded,
        &server.url("/vast/inline-linear.xml"),
        &device(),
        &options(),
    )
    .await;
    let error = refused.hops[0].error.as_deref().unwrap();
    assert!(error.contains("127.0.0.1 is a loopback address"), "{error}");
    assert_eq!(refused.error_codes(), [301]);
    assert!(server.hits().is_empty(), "{:?}", server.hits());

    // A wrapper that leads to another loopback address: refused at that hop.
    let hop_refused = resolve_vast(
        &client(),
        &server.url("/doc/to-private"),
        &device(),
        &options(),
    )
    .await;
    let error = hop_refused.hops[1].error.as_deref().unwrap();
    assert!(error.contains("127.0.0.2 is a loopback address"), "{error}");
    assert_eq!(hop_refused.error_codes(), [301]);

    // A media file on a private address is skipped with the reason; allowed, it is used.
    let media = resolve_vast(
        &client(),
        &server.url("/doc/private-media"),
        &device(),
        &options(),
    )
    .await;
    assert_eq!(media.rejected[0].ad_id.as_deref(), Some("private"));
    assert!(
        media.rejected[0].skipped_media[0]
            .reason
            .contains("10.0.0.1 is a private address"),
        "{:?}",
        media.rejected[0].skipped_media
    );
    assert_eq!(media.ads[0].ad_id.as_deref(), Some("public"));
    let open = AdClient::new(true).unwrap();
    assert!(open.allows_private());
    let allowed = resolve_vast(
        &open,
        &server.url("/doc/private-media"),
        &device(),
        &options(),
    )
    .await;
    assert_eq!(allowed.ads.len(), 2);
}

#[tokio::test]
async fn the_tag_url_is_a_template_filled_with_the_session_and_iab_macros() {
    let server = AdServer::start().await;
    let mut macros = MacroValues {
        break_max_duration: Some(Duration::from_secs(120)),
        ..MacroValues::default()
    };
    macros
        .session
        .insert("session.id".to_owned(), "s/1 2".to_owned());
    let ctx = RequestContext { macros, ..device() };
    let template = server.url(
        "/vast/inline-linear.xml?sid={session.id}&dur=[BREAKMAXDURATION]&ip=[DEVICEIP]&cb=[CACHEBUSTING]&x=[UNKNOWN]",
    );
    let resolution = resolve_vast(&client(), &template, &ctx, &options()).await;
    assert_eq!(resolution.ads.len(), 1);
    let query = server.hits()[0].query.clone().unwrap();
    let (before, cache_buster) = query.split_once("&cb=").unwrap();
    assert_eq!(before, "sid=s%2F1%202&dur=120&ip=203.0.113.7");
    let (digits, rest) = cache_buster.split_once('&').unwrap();
    assert_eq!(digits.len(), 8);
    assert!(digits.chars().all(|c| c.is_ascii_digit()), "{digits}");
    assert_eq!(rest, "x=[UNKNOWN]");
    assert_eq!(
        resolution.tag_url,
        server.url(&format!("/vast/inline-linear.xml?{query}"))
    );
}

#[tokio::test]
async fn the_report_is_json_with_stable_snake_case_names() {
    let server = AdServer::start().await;
    let resolution = resolve_vast(
        &client(),
        &server.url("/vast/wrapper-legacy.xml"),
        &device(),
        &options(),
    )
    .await;
    let json: serde_json::Value =
        serde_json::from_str(&onair_ad_decision::inspect::resolution_json(&resolution)).unwrap();
    let keys = |value: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&json),
        ["ads", "elapsed_ms", "errors", "hops", "rejected", "tag_url"]
    );
    assert_eq!(
        keys(&json["hops"][0]),
        [
            "ad_ids",
            "bytes",
            "depth",
            "error",
            "error_code",
            "final_url",
            "kind",
            "millis",
            "status",
            "url"
        ]
    );
    assert_eq!(json["hops"][0]["kind"], "wrapper");
    assert_eq!(json["hops"][1]["kind"], "inline");
    assert_eq!(
        keys(&json["ads"][0]),
        [
            "ad_id",
            "ad_serving_id",
            "ad_system",
            "best_media_file",
            "buffet",
            "chain",
            "creative_key",
            "duration_ms",
            "error_urls",
            "impressions",
            "media",
            "replaces_sequence",
            "sequence",
            "skipped_media",
            "title",
            "tracking",
            "universal_ad_id"
        ]
    );
    assert_eq!(
        keys(&json["ads"][0]["media"]),
        [
            "bitrate_kbps",
            "height",
            "mezzanine",
            "mime",
            "reason",
            "url",
            "width"
        ]
    );
    assert_eq!(
        json["ads"][0]["tracking"]["start"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_spent_budget_requests_nothing_more() {
    let server = AdServer::start().await;
    let spent = ResolveOptions {
        budget: Duration::ZERO,
        ..options()
    };
    let resolution = resolve_vast(
        &client(),
        &server.url("/vast/inline-linear.xml"),
        &device(),
        &spent,
    )
    .await;
    assert_eq!(resolution.error_codes(), [301]);
    let error = resolution.hops[0].error.as_deref().unwrap();
    assert!(error.starts_with("not requested"), "{error}");
    assert!(server.hits().is_empty());
}
