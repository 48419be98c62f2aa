//! The shared interstitial playlists of the break fixture (programme 0-6 s, a 6 s break of ads
//! A and B, the programme again 12-16 s, looping) at fixed instants, two viewers'
//! multivariant playlists, and an interstitial asset's VOD playlist.

use insta::assert_snapshot;
use onair_domain::Packaging;

use super::*;
use crate::fixtures::{self, at_millis};
use crate::hls::{render_media_playlist, render_media_playlist_with};

const ASSET_LIST: &str = "/channels/breaks/sessions/{$sid}/ads/{break}/assets.json";

fn options() -> InterstitialOptions<'static> {
    InterstitialOptions {
        asset_list_url: ASSET_LIST,
        imports: &["sid"],
    }
}

fn interstitial_ts(now_millis: i64) -> String {
    render_interstitial_media_playlist(
        &fixtures::break_playout(),
        "360p",
        at_millis(now_millis),
        &MediaPlaylistOptions::ts(),
        &options(),
    )
    .unwrap()
}

/// The playlist without what interstitials add, and with the channel's version.
fn without_interstitials(text: &str, version: u8) -> String {
    text.lines()
        .filter(|line| {
            !line.starts_with("#EXT-X-DEFINE:") && !line.contains(&format!("CLASS=\"{CLASS}\""))
        })
        .map(|line| {
            if line.starts_with("#EXT-X-VERSION:") {
                format!("#EXT-X-VERSION:{version}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

fn interstitial_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.contains(&format!("CLASS=\"{CLASS}\"")))
        .collect()
}

#[test]
fn an_interstitial_playlist_is_the_channels_with_each_listed_break_declared_once() {
    // Window of 4 at 14 s: ad A (6-10 s), ad B (10-12 s), the programme again (12-14 s).
    let text = interstitial_ts(14_000);
    assert_snapshot!("interstitial_ts_at_14s", text);
    let playout = fixtures::break_playout();
    assert_eq!(
        without_interstitials(&text, 3),
        render_media_playlist(&playout, "360p", at_millis(14_000)).unwrap(),
        "the channel's segments, numbers and SCTE-35 cues: the planned break plays without interstitials"
    );
    assert_eq!(interstitial_lines(&text).len(), 1);
}

#[test]
fn a_break_is_declared_while_a_segment_of_it_is_listed() {
    // At 7.999 s the last listed segment ends at 6 s, where the break starts; at 8 s the
    // break's first segment (6-8 s) is listed.
    assert!(interstitial_lines(&interstitial_ts(7_999)).is_empty());
    assert_eq!(
        interstitial_lines(&interstitial_ts(8_000)),
        [
            "#EXT-X-DATERANGE:ID=\"ads-1\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"2026-09-21T14:13:26.000Z\",DURATION=6.000,X-PLAYOUT-LIMIT=6.000,X-ASSET-LIST=\"/channels/breaks/sessions/{$sid}/ads/3/assets.json\",X-RESTRICT=\"SKIP,JUMP\",X-SNAP=\"OUT,IN\",X-TIMELINE-OCCUPIES=\"RANGE\""
        ]
    );
    // Still declared while its last segment is listed (window of 4 at 20 s: 12-20 s has none).
    assert_eq!(interstitial_lines(&interstitial_ts(18_000)).len(), 1);
    assert!(interstitial_lines(&interstitial_ts(20_000)).is_empty());
}

#[test]
fn the_fmp4_and_audio_interstitial_playlists_declare_the_same_breaks() {
    let playout = fixtures::break_playout();
    let now = at_millis(14_000);
    for rung in ["360p", "audio-96k"] {
        let text = render_interstitial_media_playlist(
            &playout,
            rung,
            now,
            &MediaPlaylistOptions::fmp4(),
            &options(),
        )
        .unwrap();
        assert_eq!(
            without_interstitials(&text, 6),
            render_media_playlist_with(&playout, rung, now, &MediaPlaylistOptions::fmp4()).unwrap()
        );
        assert_eq!(
            interstitial_lines(&text),
            interstitial_lines(&interstitial_ts(14_000))
        );
    }
}

#[test]
fn two_viewers_multivariants_differ_by_their_session_only_and_name_the_same_shared_playlists() {
    let playout = fixtures::break_playout();
    let prefix = "/channels/breaks/interstitials/";
    let one = render_interstitial_multivariant(&playout, Packaging::Cmaf, prefix, &[("sid", "a1")]);
    let two = render_interstitial_multivariant(&playout, Packaging::Cmaf, prefix, &[("sid", "b2")]);
    assert_snapshot!("interstitial_multivariant_fmp4", one);
    let differing: Vec<(&str, &str)> = one
        .lines()
        .zip(two.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        differing,
        [(
            "#EXT-X-DEFINE:NAME=\"sid\",VALUE=\"a1\"",
            "#EXT-X-DEFINE:NAME=\"sid\",VALUE=\"b2\""
        )]
    );
    // Every playlist it names is a shared interstitial playlist, the same for both.
    let named: Vec<&str> = one
        .lines()
        .filter_map(|line| {
            if line.starts_with('#') {
                line.split_once("URI=\"")
                    .map(|(_, rest)| rest.trim_end_matches('"'))
            } else {
                Some(line)
            }
        })
        .collect();
    assert_eq!(named.len(), 4, "two audio tracks and two rungs: {one}");
    assert!(named.iter().all(|uri| uri.starts_with(prefix)), "{named:?}");
}

#[test]
fn an_asset_playlist_is_a_vod_of_its_run_fetched_through_its_tracking_prefix() {
    let playout = fixtures::break_playout();
    let assets = &fixtures::owned_assets(&playout);
    let ad = std::slice::from_ref(playout.timeline().run(1));
    let tracking = Some("/channels/breaks/sessions/ab/ads/3/0/");
    let ts = render_asset_playlist(&playout, ad, assets, "360p", Packaging::Ts, tracking).unwrap();
    assert_snapshot!("asset_ts", ts);
    let audio = render_asset_playlist(&playout, ad, assets, "audio-96k", Packaging::Cmaf, tracking)
        .unwrap();
    assert_snapshot!("asset_fmp4_audio", audio);
    assert_eq!(runs_millis(ad), 4_000);
    assert!(
        render_asset_playlist(&playout, ad, assets, "audio-96k", Packaging::Ts, tracking).is_none(),
        "MPEG-TS has no audio playlist of its own"
    );
}

#[test]
fn a_looped_slate_is_one_asset_a_discontinuity_between_its_runs_from_media() {
    let playout = fixtures::break_playout();
    let ad_b = playout.timeline().runs()[2].clone();
    let looped = [ad_b.clone(), ad_b];
    let text = render_asset_playlist(
        &playout,
        &looped,
        &fixtures::owned_assets(&playout),
        "240p",
        Packaging::Cmaf,
        None,
    )
    .unwrap();
    assert_snapshot!("asset_looped_fmp4", text);
    assert_eq!(runs_millis(&looped), 4_000);
}
