//! Stitched partners' sessions: their breaks are decided from the partner's tag, with the
//! macros a channel's tag gets, over the channel's break policy; the channel's own sessions keep
//! the channel's tag; a partner's edit or deletion is taken at the next reload.

use std::sync::Arc;

use onair_ad_decision::macros::expand;
use onair_domain::{
    BreakAiring, BreakSlot, ChannelSlug, FixedClock, Ladder, OutputFormat, Ticks, Timestamp,
};
use onair_playout::Directory;
use onair_store::{NewChannel, Store};

use crate::Control;
use crate::ads::config::AdConfig;
use crate::ads::decide::request_context;
use crate::ads::engine::AdEngine;
use crate::ads::session::{Session, SessionParams, SessionPartner};
use crate::partners::PartnerInput;

/// 12:00:00 UTC on 4 December 2026.
const T0: i64 = 1_796_385_600;

const CHANNEL_TAG: &str = "https://channel.example/vast?sid={session.id}&ch={channel}";
const PARTNER_TAG: &str = "https://partner.example/vast?aid={param.aid}&sid={session.id}&ch={channel}&p={partner}&d={break.duration}&max=[BREAKMAXDURATION]";

/// An engine over a store with channels `demo` (its own ads from [`CHANNEL_TAG`], a 30 s lead)
/// and `news` (no ad settings), both carried by the stitched partner `fastplus-ads`.
async fn engine() -> Arc<AdEngine> {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
    for slug in ["demo", "news"] {
        store
            .insert_channel(&NewChannel {
                slug: ChannelSlug::parse(slug).unwrap(),
                name: slug.to_owned(),
                time_zone: chrono_tz::UTC,
                ladder_id: ladder,
                outputs: vec![OutputFormat::HlsTs],
                window_segments: 6,
                grid_repeat: None,
                on_air: true,
            })
            .await
            .unwrap();
    }
    let control = Control::new(store, Arc::new(FixedClock(Timestamp::from_unix_secs(T0))));
    let channel_config = AdConfig {
        tag: CHANNEL_TAG.to_owned(),
        lead_seconds: 30,
        ..AdConfig::default()
    };
    control
        .put_ad_config("demo", None, &channel_config, "test")
        .await
        .unwrap();
    control
        .create_partner(
            &PartnerInput {
                name: Some("fastplus-ads".into()),
                channels: vec!["demo".into(), "news".into()],
                ad_mode: Some("stitched".into()),
                ad_tag: Some(PARTNER_TAG.into()),
                ..PartnerInput::default()
            },
            "test",
        )
        .await
        .unwrap();
    let engine = AdEngine::new(control, Arc::new(Directory::new()));
    engine.reload_configs().await.unwrap();
    engine
}

fn session(slug: &str, partner: Option<&str>) -> Session {
    let params = SessionParams::from([("aid".to_owned(), "42".to_owned())]);
    Session::new(
        "0123456789abcdef0123456789abcdef".into(),
        slug.into(),
        onair_domain::ChannelId(1),
        params,
        None,
        None,
        Timestamp::from_unix_secs(T0),
    )
    .of_partner(partner.map(|name| SessionPartner {
        id: 1,
        name: name.into(),
    }))
}

/// A 30 s break starting a minute after T0.
fn airing() -> BreakAiring {
    BreakAiring {
        slot: BreakSlot {
            number: 1,
            duration: Ticks::from_secs(30),
        },
        first_discontinuity_sequence: 4,
        first_media_sequence: 100,
        n_segments: 15,
        n_runs: 1,
        start: Timestamp::from_unix_secs(T0 + 60),
        duration: Ticks::from_secs(30),
    }
}

/// The ad request a session's break would make with `config`.
fn ad_request(config: &AdConfig, session: &Session) -> String {
    expand(&config.tag, &request_context(session, &airing()).macros)
}

#[tokio::test]
async fn a_stitched_partners_session_decides_from_the_partners_tag_with_its_macros() {
    let engine = engine().await;
    let config = engine
        .session_ads("demo", Some("fastplus-ads"))
        .expect("the partner's sessions get ads");
    assert_eq!(config.tag, PARTNER_TAG);
    assert_eq!(config.lead_seconds, 30, "the channel's break policy");
    assert_eq!(
        ad_request(&config, &session("demo", Some("fastplus-ads"))),
        "https://partner.example/vast?aid=42&sid=0123456789abcdef0123456789abcdef&ch=demo&p=fastplus-ads&d=30&max=30"
    );
}

#[tokio::test]
async fn the_channels_own_session_still_decides_from_the_channels_tag() {
    let engine = engine().await;
    let config = engine.session_ads("demo", None).expect("the channel's ads");
    assert_eq!(config.tag, CHANNEL_TAG);
    assert_eq!(
        ad_request(&config, &session("demo", None)),
        "https://channel.example/vast?sid=0123456789abcdef0123456789abcdef&ch=demo"
    );
}

#[tokio::test]
async fn a_channel_without_ads_of_its_own_gets_the_partners_with_the_default_policy() {
    let engine = engine().await;
    assert!(engine.session_ads("news", None).is_none());
    let config = engine
        .session_ads("news", Some("fastplus-ads"))
        .expect("the partner's tag is enough");
    assert_eq!(
        config,
        AdConfig {
            tag: PARTNER_TAG.to_owned(),
            ..AdConfig::default()
        }
    );
    assert!(engine.session_ads("news", Some("nobody")).is_none());
}

#[tokio::test]
async fn a_partners_breaks_are_planned_apart_from_the_channels_own() {
    let engine = engine().await;
    let mut audiences: Vec<(String, Option<String>, String)> = engine
        .audiences()
        .into_iter()
        .map(|(slug, partner, config)| (slug, partner, config.tag))
        .collect();
    audiences.sort();
    assert_eq!(
        audiences,
        [
            ("demo".into(), None, CHANNEL_TAG.into()),
            (
                "demo".into(),
                Some("fastplus-ads".into()),
                PARTNER_TAG.into()
            ),
            (
                "news".into(),
                Some("fastplus-ads".into()),
                PARTNER_TAG.into()
            ),
        ]
    );
}

#[tokio::test]
async fn an_edit_to_a_clean_feed_stops_the_partners_ads_and_a_deletion_forgets_them() {
    let engine = engine().await;
    engine
        .control
        .update_partner(
            "fastplus-ads",
            &PartnerInput {
                channels: vec!["demo".into()],
                ..PartnerInput::default()
            },
            None,
            "test",
        )
        .await
        .unwrap();
    engine.reload_configs().await.unwrap();
    assert!(engine.session_ads("demo", Some("fastplus-ads")).is_none());
    assert!(engine.session_ads("demo", None).is_some());
    engine.control.delete_partner("fastplus-ads").await.unwrap();
    engine.reload_configs().await.unwrap();
    assert!(engine.session_ads("demo", Some("fastplus-ads")).is_none());
}

#[test]
fn a_partners_session_fetches_its_ads_under_the_partners_prefix() {
    assert_eq!(
        session("demo", Some("fastplus-ads")).tracking_prefix(100),
        "/p/fastplus-ads/demo/sessions/0123456789abcdef0123456789abcdef/ads/100/"
    );
    assert_eq!(
        session("demo", None).tracking_prefix(100),
        "/channels/demo/sessions/0123456789abcdef0123456789abcdef/ads/100/"
    );
}
