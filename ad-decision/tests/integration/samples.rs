//! The real VAST and VMAP samples in `tests/data`, served over HTTP and resolved: each to the
//! ads it should give (ids, pod places, durations, media, merged tracking) or to the errors it
//! should report, hop by hop.

use crate::common;
use crate::common::{AdServer, client, device, options};
use onair_ad_decision::vast::{self, AdBody};
use onair_ad_decision::vmap::{self, AdSourceContent, TimeOffset};
use onair_ad_decision::{
    ErrorCode, HopKind, Resolution, ResolvedAd, resolve_vast, resolve_vmap_break,
};

fn sample_text(folder: &str, file: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(folder)
            .join(file),
    )
    .unwrap()
}

async fn resolve(server: &AdServer, path: &str) -> Resolution {
    resolve_vast(&client(), &server.url(path), &device(), &options()).await
}

fn ids(ads: &[ResolvedAd]) -> Vec<&str> {
    ads.iter()
        .map(|ad| ad.ad_id.as_deref().unwrap_or("-"))
        .collect()
}

fn tracking_count(ad: &ResolvedAd) -> usize {
    ad.tracking.values().map(Vec::len).sum()
}

const IAB_MP4: &str = "https://iabtechlab.com/wp-content/uploads/2016/07/VAST-4.0-Short-Intro.mp4";
const SAMPLE_MEZZANINE: &str = "http://example.com/linear-mezzanine.mp4";
const EYEVINN_MP4: &str = "https://s0.2mdn.net/4253510/google_ddm_animation_480P.mp4";

/// `(ad id, sequence, buffet, duration ms, media URL, impressions, tracking URLs)`.
type AdSummary<'a> = (&'a str, Option<u32>, bool, u64, &'a str, usize, usize);

/// What a sample resolves to.
struct Expected {
    path: &'static str,
    /// The ads in play order, impressions and tracking counted after merging every hop.
    ads: &'static [AdSummary<'static>],
    /// Error codes fired, in order.
    codes: &'static [u16],
    /// `(kind, depth, error code)` per hop, in order.
    hops: &'static [(HopKind, u8, Option<u16>)],
}

#[tokio::test]
async fn every_sample_resolves_to_its_ads_or_its_errors() {
    use HopKind::{Inline, Vast, Wrapper};
    let server = AdServer::start().await;
    let table = [
        Expected {
            path: "/vast/inline-linear.xml",
            ads: &[("20001", None, true, 16_000, IAB_MP4, 1, 5)],
            codes: &[],
            hops: &[(Inline, 0, None)],
        },
        Expected {
            path: "/vast/sample.xml",
            ads: &[("ad_id_0001", Some(1), false, 90_123, SAMPLE_MEZZANINE, 3, 8)],
            codes: &[403],
            hops: &[(Inline, 0, None)],
        },
        Expected {
            path: "/vast/wrapper-a.xml",
            ads: &[("ad_id_0001", None, true, 90_123, SAMPLE_MEZZANINE, 6, 18)],
            codes: &[403, 403],
            hops: &[
                (Wrapper, 0, None),
                (Wrapper, 1, None),
                (Inline, 2, None),
                (Inline, 1, None),
            ],
        },
        Expected {
            path: "/vast/wrapper-b.xml",
            ads: &[(
                "ad_id_0001",
                Some(1),
                false,
                90_123,
                SAMPLE_MEZZANINE,
                5,
                12,
            )],
            codes: &[403],
            hops: &[(Wrapper, 0, None), (Inline, 1, None)],
        },
        Expected {
            path: "/vast/wrapper-legacy.xml",
            ads: &[("20001", None, true, 16_000, IAB_MP4, 2, 7)],
            codes: &[],
            hops: &[(Wrapper, 0, None), (Inline, 1, None)],
        },
        Expected {
            path: "/vast/wrapper-empty.xml",
            ads: &[],
            codes: &[303],
            hops: &[(Wrapper, 0, None), (Vast, 1, Some(303))],
        },
        Expected {
            path: "/vast/empty-no-ad.xml",
            ads: &[],
            codes: &[303],
            hops: &[(Vast, 0, Some(303))],
        },
        Expected {
            path: "/vast/empty-no-creative.xml",
            ads: &[],
            codes: &[101],
            hops: &[(Inline, 0, None)],
        },
        Expected {
            path: "/vast/wrapper-empty-no-creative.xml",
            ads: &[],
            codes: &[101],
            hops: &[(Wrapper, 0, None), (Inline, 1, None)],
        },
        Expected {
            path: "/vast/wrapper-unavailable-url.xml",
            ads: &[],
            codes: &[301],
            hops: &[(Wrapper, 0, None), (Vast, 1, Some(301))],
        },
        Expected {
            path: "/vast/invalid-xmlfile.xml",
            ads: &[],
            codes: &[100],
            hops: &[(Vast, 0, Some(100))],
        },
        Expected {
            path: "/vast/outdated-vast.xml",
            ads: &[],
            codes: &[102],
            hops: &[(Vast, 0, Some(102))],
        },
        Expected {
            path: "/vast/vpaid.xml",
            ads: &[],
            codes: &[403],
            hops: &[(Inline, 0, None)],
        },
        Expected {
            path: "/vast/vpaid2.xml",
            ads: &[],
            codes: &[403],
            hops: &[(Inline, 0, None)],
        },
        Expected {
            // 20011 (pod place 1) leads to VPAID only: the first buffet ad that resolved (201,
            // a wrapper to sample.xml) takes its place; 20012 is place 2; 2032 leads to Flash.
            path: "/vast/wrapper-multiple-ads.xml",
            ads: &[
                ("ad_id_0001", None, true, 90_123, SAMPLE_MEZZANINE, 4, 8),
                ("20001", Some(2), false, 16_000, IAB_MP4, 2, 5),
            ],
            codes: &[403, 403, 403],
            hops: &[
                (Wrapper, 0, None),
                (Inline, 1, None),
                (Inline, 1, None),
                (Inline, 1, None),
                (Inline, 1, None),
            ],
        },
        Expected {
            // 201: defaults; 202: followAdditionalWrappers="false" to a wrapper (302);
            // 203: "1"/"True", through wrapper-b; 204: "true"/"false", straight to sample.xml.
            path: "/vast/wrapper-attributes-multiple-ads.xml",
            ads: &[
                ("ad_id_0001", None, true, 90_123, SAMPLE_MEZZANINE, 4, 8),
                ("ad_id_0001", None, true, 90_123, SAMPLE_MEZZANINE, 6, 12),
                ("ad_id_0001", None, true, 90_123, SAMPLE_MEZZANINE, 4, 8),
            ],
            codes: &[403, 302, 403, 403],
            hops: &[
                (Wrapper, 0, None),
                (Inline, 1, None),
                (Wrapper, 1, None),
                (Wrapper, 1, None),
                (Inline, 2, None),
                (Inline, 1, None),
            ],
        },
        Expected {
            path: "/eyevinn/test_vast.xml",
            ads: &[("test-ad_1", None, true, 16_000, EYEVINN_MP4, 1, 5)],
            codes: &[],
            hops: &[(Inline, 0, None)],
        },
    ];
    for expected in table {
        let resolution = resolve(&server, expected.path).await;
        let path = expected.path;
        let ads: Vec<AdSummary<'_>> = resolution
            .ads
            .iter()
            .map(|ad| {
                (
                    ad.ad_id.as_deref().unwrap_or("-"),
                    ad.sequence,
                    ad.buffet,
                    ad.duration_ms,
                    ad.media.as_ref().map_or("-", |media| media.url.as_str()),
                    ad.impressions.len(),
                    tracking_count(ad),
                )
            })
            .collect();
        assert_eq!(ads, expected.ads, "{path}: {resolution:#?}");
        assert_eq!(
            resolution.error_codes(),
            expected.codes,
            "{path}: {resolution:#?}"
        );
        let hops: Vec<(HopKind, u8, Option<u16>)> = resolution
            .hops
            .iter()
            .map(|hop| (hop.kind, hop.depth, hop.error_code))
            .collect();
        assert_eq!(hops, expected.hops, "{path}: {resolution:#?}");
    }
}

#[tokio::test]
async fn the_wrapper_a_to_wrapper_b_to_sample_chain_merges_every_hop() {
    let server = AdServer::start().await;
    let resolution = resolve(&server, "/vast/wrapper-a.xml").await;
    let ad = &resolution.ads[0];
    assert_eq!(
        ad.chain,
        [
            server.url("/vast/wrapper-a.xml"),
            server.url("/vast/wrapper-b.xml"),
            server.url("/vast/sample.xml"),
        ],
        "relative VASTAdTagURIs resolve against their parent's URL"
    );
    // 1 from wrapper A, 2 from wrapper B, 3 from the inline.
    assert_eq!(ad.impressions.len(), 6, "{:?}", ad.impressions);
    assert_eq!(ad.impressions[0], "http://example.com/wrapperA-impression");
    assert_eq!(
        ad.impressions[5], "http://example.com/impression3_[RANDOM]",
        "kept as templates"
    );
    // Wrapper A's two Linear creatives (4 + 2), wrapper B's (4) and the inline's (8).
    assert_eq!(tracking_count(ad), 18, "{:#?}", ad.tracking);
    assert_eq!(
        ad.tracking["start"],
        [
            "http://example.com/wrapperA-linear-start1",
            "http://example.com/wrapperA-linear-start2",
            "http://example.com/wrapperB-linear-start",
            "http://example.com/linear-start",
        ]
    );
    assert_eq!(ad.tracking["progress@60%"].len(), 3);
    assert_eq!(ad.tracking["progress@90%"].len(), 1);
    assert_eq!(ad.tracking["close"], ["http://example.com/linear-close"]);
    assert!(
        !ad.tracking.keys().any(|event| event.contains("nonlinear")),
        "only Linear tracking is merged"
    );
    assert_eq!(
        ad.error_urls,
        [
            "http://example.com/wrapperA-error",
            "http://example.com/wrapperB-error",
            "http://example.com/error_[ERRORCODE]",
        ]
    );
    // The Mezzanine is the source; the MP4 the fallback; the VPAID file skipped.
    let media = ad.media.as_ref().unwrap();
    assert!(media.mezzanine);
    assert_eq!(media.url, "http://example.com/linear-mezzanine.mp4");
    assert_eq!(
        ad.best_media_file.as_ref().unwrap().url,
        "http://example.com/linear-asset.mp4"
    );
    assert!(
        ad.skipped_media[0].reason.starts_with("VPAID"),
        "{:?}",
        ad.skipped_media
    );
    assert_eq!(
        ad.universal_ad_id.as_deref(),
        Some("daily-motion-L1:Linear-12345")
    );
    assert_eq!(ad.creative_key, "daily-motion-L1:Linear-12345");
    assert_eq!(
        ad.ad_serving_id.as_deref(),
        Some("a532d16d-4d7f-4440-bd29-2ec0e693fc80")
    );
    assert_eq!(ad.title.as_deref(), Some("Ad title"));
    assert_eq!(ad.ad_system.as_deref(), Some("AdServer"));
    // The inline's VPAID-only buffet ad is rejected with 403 to every Error URL of its chain;
    // so is wrapper A's second ad, which leads to vpaid.xml.
    assert_eq!(ids(&resolution.rejected), ["ad_id_0002", "VPAID"]);
    assert_eq!(
        resolution.errors[0].urls,
        [
            "http://example.com/wrapperA-error",
            "http://example.com/wrapperB-error"
        ]
    );
    assert_eq!(resolution.errors[1].urls, ["http://example.com/error"]);
    assert_eq!(resolution.errors[1].ad_id.as_deref(), Some("VPAID"));
}

#[tokio::test]
async fn the_eyevinn_inline_picks_the_mp4_closest_to_the_channel() {
    let server = AdServer::start().await;
    let resolution = resolve(&server, "/eyevinn/test_vast.xml").await;
    let ad = &resolution.ads[0];
    let media = ad.media.as_ref().unwrap();
    assert_eq!(
        (media.width, media.height, media.bitrate_kbps),
        (Some(1280), Some(720), Some(2000))
    );
    assert_eq!(
        media.url,
        "https://s0.2mdn.net/4253510/google_ddm_animation_480P.mp4"
    );
    assert!(!media.mezzanine);
    assert!(
        media.reason.contains("best of 3 usable"),
        "{}",
        media.reason
    );
    assert!(ad.creative_key.starts_with("url-"), "{}", ad.creative_key);
    assert_eq!(ad.creative_key.len(), 4 + 64);
    assert_eq!(
        ad.ad_serving_id.as_deref(),
        Some("Test-Adserver-47ed3bac-1768-4b9a-9d0e-0b92422ab066")
    );
    assert_eq!(ad.impressions, ["about:blank"]);
    assert_eq!(tracking_count(ad), 5);
    assert_eq!(
        ad.tracking["midpoint"],
        ["http://127.0.0.1:8080/api/v1/sessions/s-169/tracking?adId=12&progress=50"],
        "CDATA surrounded by whitespace is trimmed"
    );
}

#[tokio::test]
async fn an_empty_vast_fires_its_no_ad_error_urls_with_303_and_so_does_every_wrapper_above() {
    let server = AdServer::start().await;
    let direct = resolve(&server, "/vast/empty-no-ad.xml").await;
    assert_eq!(direct.errors[0].urls, ["http://example.com/empty-no-ad"]);
    let wrapped = resolve(&server, "/vast/wrapper-empty.xml").await;
    assert_eq!(
        wrapped.errors[0].urls,
        [
            "http://example.com/wrapper-empty_wrapper-error",
            "http://example.com/empty-no-ad"
        ]
    );
    let unavailable = resolve(&server, "/vast/wrapper-unavailable-url.xml").await;
    assert_eq!(
        unavailable.errors[0].urls,
        ["http://example.com/wrapper-invalid-xmlfile_wrapper-error"]
    );
    let hop = &unavailable.hops[1];
    assert_eq!(hop.url, server.url("/vast/invalid-url"));
    assert_eq!(hop.status, Some(404));
    assert!(hop.error.as_deref().unwrap().contains("404"), "{hop:?}");
}

#[test]
fn every_vast_sample_parses_or_fails_with_its_code() {
    for (file, outcome) in [
        ("inline-linear.xml", Ok(1)),
        ("sample.xml", Ok(2)),
        ("wrapper-a.xml", Ok(2)),
        ("wrapper-b.xml", Ok(1)),
        ("wrapper-legacy.xml", Ok(1)),
        ("wrapper-multiple-ads.xml", Ok(4)),
        ("wrapper-attributes-multiple-ads.xml", Ok(4)),
        ("wrapper-empty.xml", Ok(1)),
        ("wrapper-empty-no-creative.xml", Ok(1)),
        ("wrapper-unavailable-url.xml", Ok(1)),
        ("empty-no-ad.xml", Ok(0)),
        ("empty-no-creative.xml", Ok(1)),
        ("vpaid.xml", Ok(1)),
        ("vpaid2.xml", Ok(1)),
        ("invalid-xmlfile.xml", Err(ErrorCode::XmlParse)),
        ("outdated-vast.xml", Err(ErrorCode::VersionNotSupported)),
    ] {
        let parsed = vast::parse(&sample_text("dailymotion-vast-client-js", file));
        match outcome {
            Ok(n_ads) => assert_eq!(parsed.unwrap().ads.len(), n_ads, "{file}"),
            Err(code) => assert_eq!(parsed.unwrap_err().code, code, "{file}"),
        }
    }
}

#[test]
fn wrapper_attributes_are_read_leniently() {
    let parsed = vast::parse(&sample_text(
        "dailymotion-vast-client-js",
        "wrapper-attributes-multiple-ads.xml",
    ))
    .unwrap();
    let flags: Vec<(Option<bool>, Option<bool>)> = parsed
        .ads
        .iter()
        .map(|ad| match &ad.body {
            AdBody::Wrapper(wrapper) => (
                wrapper.allow_multiple_ads,
                wrapper.follow_additional_wrappers,
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        flags,
        [
            (None, None),
            (Some(false), Some(false)),
            (Some(true), Some(true)),
            (Some(true), Some(false)),
        ]
    );
}

#[test]
fn the_vmap_samples_give_their_breaks_with_offsets() {
    let correct = vmap::parse(
        &sample_text("dailymotion-vmap-js", "correct-vmap.xml"),
        Some("http://ads.example/vmap.xml"),
    )
    .unwrap();
    assert_eq!(correct.version.as_deref(), Some("1.0"));
    let breaks: Vec<(Option<&str>, &TimeOffset)> = correct
        .breaks
        .iter()
        .map(|ad_break| (ad_break.break_id.as_deref(), &ad_break.time_offset))
        .collect();
    assert_eq!(
        breaks,
        [
            (Some("mypre"), &TimeOffset::Start),
            (Some("myid"), &TimeOffset::Time { ms: 623_125 }),
            (Some("mypost"), &TimeOffset::End),
        ]
    );
    let first = &correct.breaks[0];
    assert_eq!(
        first.tracking["breakStart"],
        ["http://server.com/breakstart"]
    );
    assert_eq!(first.tracking["breakEnd"].len(), 2);
    assert_eq!(
        first.tracking["error"],
        ["http://server.com/error?[ERRORCODE]"]
    );
    let source = first.source.as_ref().unwrap();
    assert_eq!(source.id.as_deref(), Some("1"));
    assert_eq!(source.allow_multiple_ads, Some(true));
    let AdSourceContent::VastAdData { xml } = &source.content else {
        panic!("{source:?}")
    };
    assert!(xml.starts_with("<VAST version=\"3.0\""), "{xml}");
    assert_eq!(
        correct.breaks[2].source.as_ref().unwrap().content,
        AdSourceContent::AdTagUri {
            url: "http://server.com/vast.xml".to_owned(),
            template_type: None
        }
    );

    // The n-th break of a programme, in document order, with no cycling.
    assert_eq!(
        correct.break_for(0).unwrap().break_id.as_deref(),
        Some("mypre")
    );
    assert_eq!(
        correct.break_for(2).unwrap().break_id.as_deref(),
        Some("mypost")
    );
    assert_eq!(correct.break_for(3), None);

    let extended = vmap::parse(
        &sample_text("dailymotion-vmap-js", "correct-vmap-with-extension.xml"),
        None,
    )
    .unwrap();
    assert_eq!(extended.breaks.len(), 1);
    assert_eq!(extended.breaks[0].tracking["breakEnd"].len(), 2);

    for wrong in ["incorrect-vmap.xml", "parsing-example.xml"] {
        let error = vmap::parse(&sample_text("dailymotion-vmap-js", wrong), None).unwrap_err();
        assert!(error.message.contains("not VMAP"), "{wrong}: {error}");
    }
}

#[tokio::test]
async fn a_vmap_is_fetched_and_its_inline_vast_resolves_through_the_same_logic() {
    let server = AdServer::start().await;
    let vmap = onair_ad_decision::fetch_vmap(
        &client(),
        &server.url("/vmap/correct-vmap.xml"),
        &device(),
        &options(),
    )
    .await
    .unwrap();
    assert_eq!(vmap.breaks.len(), 3);
    let hop = vmap.hop.as_ref().unwrap();
    assert_eq!((hop.kind, hop.status), (HopKind::Vmap, Some(200)));
    // The inline VAST (with its undeclared xsi: prefix) is empty: no ad, 303, no request made.
    let first =
        resolve_vmap_break(&client(), vmap.break_for(0).unwrap(), &device(), &options()).await;
    assert!(first.ads.is_empty());
    assert_eq!(first.error_codes(), [303]);
    assert!(first.hops.is_empty(), "{:?}", first.hops);

    let incorrect = onair_ad_decision::fetch_vmap(
        &client(),
        &server.url("/vmap/incorrect-vmap.xml"),
        &device(),
        &options(),
    )
    .await
    .unwrap_err();
    assert!(incorrect.message.contains("not VMAP"), "{incorrect}");
    assert_eq!(incorrect.hop.unwrap().status, Some(200));
}

#[tokio::test]
async fn a_vmap_breaks_sources_resolve_against_the_vmap_and_honour_its_rules() {
    let server = AdServer::with_docs(|_| {
        vec![(
            "vmap.xml",
            r##"<vmap:VMAP xmlns:vmap="http://www.iab.net/vmap-1.0" version="1.0">
  <vmap:AdBreak breakType="linear" breakId="pre" timeOffset="start">
    <vmap:AdSource id="1"><vmap:AdTagURI templateType="vast3"><![CDATA[ ../vast/wrapper-legacy.xml ]]></vmap:AdTagURI></vmap:AdSource>
  </vmap:AdBreak>
  <vmap:AdBreak breakType="linear" breakId="mid" timeOffset="00:10:00">
    <vmap:AdSource id="2" followRedirects="false"><vmap:AdTagURI>../vast/wrapper-legacy.xml</vmap:AdTagURI></vmap:AdSource>
  </vmap:AdBreak>
  <vmap:AdBreak breakType="linear" breakId="post" timeOffset="end">
    <vmap:AdSource id="3" allowMultipleAds="false"><vmap:AdTagURI>../vast/wrapper-multiple-ads.xml</vmap:AdTagURI></vmap:AdSource>
  </vmap:AdBreak>
  <vmap:AdBreak breakType="linear" breakId="inline" timeOffset="#4">
    <vmap:AdSource id="4"><vmap:VASTAdData>
      <VAST version="3.0" xsi:noNamespaceSchemaLocation="vast.xsd"><Ad id="w"><Wrapper>
        <AdSystem>x</AdSystem><VASTAdTagURI>../vast/inline-linear.xml</VASTAdTagURI>
      </Wrapper></Ad></VAST>
    </vmap:VASTAdData></vmap:AdSource>
  </vmap:AdBreak>
</vmap:VMAP>"##
                .to_owned(),
        )]
    })
    .await;
    let vmap = onair_ad_decision::fetch_vmap(
        &client(),
        &server.url("/doc/vmap.xml"),
        &device(),
        &options(),
    )
    .await
    .unwrap();
    let resolve_break = |position: usize| {
        let ad_break = vmap.break_for(position).unwrap().clone();
        async move { resolve_vmap_break(&client(), &ad_break, &device(), &options()).await }
    };
    let pre = resolve_break(0).await;
    assert_eq!(ids(&pre.ads), ["20001"]);
    assert_eq!(pre.hops[0].url, server.url("/vast/wrapper-legacy.xml"));

    let mid = resolve_break(1).await;
    assert!(mid.ads.is_empty());
    assert_eq!(mid.error_codes(), [302], "followRedirects=\"false\"");

    let post = resolve_break(2).await;
    assert_eq!(ids(&post.ads), ["ad_id_0001"], "allowMultipleAds=\"false\"");

    let inline = resolve_break(3).await;
    assert_eq!(ids(&inline.ads), ["20001"]);
    assert_eq!(
        inline.ads[0].chain,
        [
            server.url("/doc/vmap.xml"),
            server.url("/vast/inline-linear.xml")
        ]
    );
    assert_eq!(
        inline.hops.len(),
        1,
        "only the wrapper's request: {:?}",
        inline.hops
    );
    assert!(vmap.break_for(4).is_none());

    for hit in server.hits() {
        assert_eq!(hit.device_ip.as_deref(), Some(common::DEVICE_IP), "{hit:?}");
    }
}
