//! Partner settings: every refusal names its field, and what passes is what is stored.

use onair_domain::{Channel, ChannelId, ChannelSlug, LadderId, OutputFormat};

use super::*;

fn channel(slug: &str, outputs: &[OutputFormat], retired: bool) -> Channel {
    Channel {
        id: ChannelId(1),
        slug: ChannelSlug::parse(slug).unwrap(),
        name: slug.to_owned(),
        time_zone: chrono_tz::UTC,
        ladder_id: LadderId(1),
        outputs: outputs.to_vec(),
        window_segments: 6,
        grid_repeat: None,
        on_air: true,
        slate: None,
        filler: Vec::new(),
        retired,
    }
}

fn channels() -> Vec<Channel> {
    use OutputFormat::{Dash, HlsFmp4, HlsTs};
    vec![
        channel("demo", &[HlsTs, HlsFmp4, Dash], false),
        channel("news", &[HlsTs], false),
        channel("gone", &[HlsTs], true),
    ]
}

fn good() -> PartnerInput {
    PartnerInput {
        name: Some("acme".into()),
        channels: vec!["demo".into(), "news".into()],
        ..PartnerInput::default()
    }
}

fn problems(input: PartnerInput) -> Vec<(String, String)> {
    check_input("acme", &input, &channels())
        .expect_err("refused")
        .into_iter()
        .map(|problem| (problem.field.unwrap_or_default(), problem.message))
        .collect()
}

#[test]
fn defaults_make_a_clean_hls_ts_feed_in_both_dialects_with_xmltv_unsigned() {
    let (display_name, settings) = check_input("acme", &good(), &channels()).unwrap();
    assert_eq!(display_name, "acme");
    assert_eq!(
        settings,
        PartnerSettings {
            channels: vec!["demo".into(), "news".into()],
            outputs: vec![OutputFormat::HlsTs],
            epg: EpgFormat::Xmltv,
            ads: AdMode::Clean {
                dialect: Dialect::Both
            },
            signed: false,
            key_overlap_hours: 24,
        }
    );
    // The stored form reads back, and is the JSON object the store keeps.
    let json = serde_json::to_string(&settings).unwrap();
    assert_eq!(
        json,
        r#"{"channels":["demo","news"],"outputs":["hls-ts"],"epg":"xmltv","ads":{"mode":"clean","dialect":"both"},"signed":false,"key_overlap_hours":24}"#
    );
    assert_eq!(
        serde_json::from_str::<PartnerSettings>(&json).unwrap(),
        settings
    );
}

#[test]
fn a_stitched_feed_keeps_its_tag_and_a_clean_one_its_dialect() {
    let stitched = PartnerInput {
        ad_mode: Some("stitched".into()),
        ad_tag: Some("https://ads.example/vast?cb=[CACHEBUSTING]".into()),
        epg: Some("wurl-json".into()),
        signed: Some(true),
        key_overlap_hours: Some(48),
        ..good()
    };
    let (_, settings) = check_input("acme", &stitched, &channels()).unwrap();
    assert_eq!(
        settings.ads,
        AdMode::Stitched {
            tag: "https://ads.example/vast?cb=[CACHEBUSTING]".into()
        }
    );
    assert_eq!(settings.epg, EpgFormat::WurlJson);
    assert!(settings.signed);
    assert_eq!(settings.key_overlap_hours, 48);
    let cue_out = PartnerInput {
        cue_dialect: Some("cue-out".into()),
        ..good()
    };
    let (_, settings) = check_input("acme", &cue_out, &channels()).unwrap();
    assert_eq!(settings.playlist_dialect(), CueDialect::CueOut);
}

#[test]
fn every_malformed_setting_is_refused_naming_its_field() {
    let cases: Vec<(PartnerInput, &str, &str)> = vec![
        (
            PartnerInput {
                channels: vec![],
                ..good()
            },
            "channels",
            "at least one channel",
        ),
        (
            PartnerInput {
                channels: vec!["nope".into()],
                ..good()
            },
            "channels",
            "no channel nope",
        ),
        (
            PartnerInput {
                channels: vec!["gone".into()],
                ..good()
            },
            "channels",
            "gone is retired",
        ),
        (
            PartnerInput {
                channels: vec!["demo".into(), "demo".into()],
                ..good()
            },
            "channels",
            "listed twice",
        ),
        (
            PartnerInput {
                outputs: Some(vec![]),
                ..good()
            },
            "outputs",
            "at least one output",
        ),
        (
            PartnerInput {
                outputs: Some(vec!["rtmp".into()]),
                ..good()
            },
            "outputs",
            "\"rtmp\" is not an output",
        ),
        (
            PartnerInput {
                outputs: Some(vec!["dash".into()]),
                ..good()
            },
            "outputs",
            "news is not published as dash",
        ),
        (
            PartnerInput {
                outputs: Some(vec!["hls-ts".into(), "hls-ts".into()]),
                ..good()
            },
            "outputs",
            "listed twice",
        ),
        (
            PartnerInput {
                epg: Some("json".into()),
                ..good()
            },
            "epg",
            "not an EPG format",
        ),
        (
            PartnerInput {
                ad_mode: Some("both".into()),
                ..good()
            },
            "ad_mode",
            "not an ad mode",
        ),
        (
            PartnerInput {
                cue_dialect: Some("scte".into()),
                ..good()
            },
            "cue_dialect",
            "not a cue dialect",
        ),
        (
            PartnerInput {
                ad_tag: Some("https://ads.example/".into()),
                ..good()
            },
            "ad_tag",
            "clean feed has no ad tag",
        ),
        (
            PartnerInput {
                ad_mode: Some("stitched".into()),
                ..good()
            },
            "ad_tag",
            "ad tag URL is needed",
        ),
        (
            PartnerInput {
                ad_mode: Some("stitched".into()),
                ad_tag: Some("ftp://ads/x".into()),
                ..good()
            },
            "ad_tag",
            "not an http(s) URL",
        ),
        (
            PartnerInput {
                ad_mode: Some("stitched".into()),
                ad_tag: Some("https://ads.example/".into()),
                cue_dialect: Some("cue-out".into()),
                ..good()
            },
            "cue_dialect",
            "stitched feed has no cue dialect",
        ),
        (
            PartnerInput {
                key_overlap_hours: Some(0),
                ..good()
            },
            "key_overlap_hours",
            "1 to 720",
        ),
        (
            PartnerInput {
                key_overlap_hours: Some(721),
                ..good()
            },
            "key_overlap_hours",
            "1 to 720",
        ),
        (
            PartnerInput {
                display_name: Some("  ".into()),
                ..good()
            },
            "display_name",
            "not only spaces",
        ),
    ];
    for (input, field, message) in cases {
        let found = problems(input.clone());
        assert!(
            found.iter().any(|(f, m)| f == field && m.contains(message)),
            "{input:?}: expected {field}: {message}, got {found:?}"
        );
        assert!(
            found.iter().all(|(f, _)| f == field),
            "{input:?}: {found:?}"
        );
    }
}

#[test]
fn every_problem_of_one_input_is_listed() {
    let input = PartnerInput {
        channels: vec!["nope".into()],
        epg: Some("json".into()),
        cue_dialect: Some("scte".into()),
        ..good()
    };
    let fields: Vec<String> = problems(input)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(fields, ["channels", "epg", "cue_dialect"]);
}

#[test]
fn a_partner_name_is_a_lowercase_slug() {
    for good in ["acme", "samsung-tv-plus", "roku2"] {
        assert!(check_partner_name(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "Acme",
        "a b",
        "-acme",
        "acme/x",
        "ümlaut",
        &"a".repeat(65),
    ] {
        let problem = check_partner_name(bad).unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("name"), "{bad}");
    }
}
