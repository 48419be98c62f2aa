//! Small channels for tests: the demo (two assets, a discontinuity between them, looping or
//! ending into a slate tail) and one with an ad break of two runs.

use std::collections::HashMap;
use std::sync::Arc;

use onair_domain::media::{AAC_LC_CODEC, AudioTrack};
use onair_domain::timeline::SegmentTrack;
use onair_domain::{
    Asset, AssetId, AssetState, BreakSlot, Channel, ChannelId, ChannelSlug, Ladder, OutputFormat,
    Packaging, Rendition, Run, RunKind, SegmentInfo, Ticks, Timeline, Timestamp,
};

use crate::ChannelPlayout;

/// 2026-09-21T14:13:20Z: where the demo timeline starts.
pub(crate) const ORIGIN: Timestamp = Timestamp::from_unix_secs(1_790_000_000);

/// Asset 1 "Programme": three 2 s segments.
pub(crate) const PROGRAMME: AssetId = AssetId(1);
/// Asset 2 "Filler": 2 s then 1.52 s. One pass of the demo timeline lasts 9.52 s.
pub(crate) const FILLER: AssetId = AssetId(2);
/// Asset 3 "Slate": two 2 s segments, the tail of the demo timeline that does not repeat.
pub(crate) const SLATE: AssetId = AssetId(3);
/// Assets 4 and 5, two ads: 2 s + 2 s, and 2 s.
pub(crate) const AD_A: AssetId = AssetId(4);
pub(crate) const AD_B: AssetId = AssetId(5);

pub(crate) fn channel(slug: &str, window_segments: u32) -> Channel {
    Channel {
        id: ChannelId(7),
        slug: ChannelSlug::parse(slug).unwrap(),
        name: format!("Channel {slug}"),
        time_zone: "UTC".parse().unwrap(),
        ladder_id: Ladder::demo().id,
        outputs: vec![
            OutputFormat::HlsTs,
            OutputFormat::HlsFmp4,
            OutputFormat::Dash,
        ],
        window_segments,
        grid_repeat: None,
        on_air: true,
        slate: None,
        filler: Vec::new(),
        retired: false,
    }
}

/// An asset as the media crate writes it: a TS and a CMAF video rendition of every rung, and a
/// CMAF audio rendition of every audio track of the ladder, files named after the segment index.
/// `bandwidth(rung)` gives (peak, average) for its TS renditions; zero means not measured.
pub(crate) fn asset(
    id: AssetId,
    durations: &[Ticks],
    ladder: &Ladder,
    bandwidth: impl Fn(&str) -> (u32, u32),
) -> Asset {
    let rendition = |name: &str, packaging: Packaging, codecs: String, size: (u32, u32)| {
        let dir = format!("assets/{id}/{name}/{}", packaging.as_str());
        let (peak_bandwidth, average_bandwidth) = match packaging {
            Packaging::Ts => bandwidth(name),
            _ => (0, 0),
        };
        Rendition {
            rung: name.to_owned(),
            packaging,
            codecs,
            width: size.0,
            height: size.1,
            peak_bandwidth,
            average_bandwidth,
            init_path: packaging
                .has_init_segment()
                .then(|| format!("{dir}/init.mp4")),
            segments: durations
                .iter()
                .enumerate()
                .map(|(index, duration)| SegmentInfo {
                    index: index as u32,
                    duration: *duration,
                    size_bytes: 1000,
                    path: format!("{dir}/{index:05}.{}", packaging.segment_extension()),
                })
                .collect(),
        }
    };
    let mut renditions = Vec::new();
    for rung in &ladder.rungs {
        let size = (rung.width, rung.height);
        renditions.push(rendition(&rung.name, Packaging::Ts, rung.codecs(), size));
        renditions.push(rendition(
            &rung.name,
            Packaging::Cmaf,
            rung.video_codec(),
            size,
        ));
    }
    for track in AudioTrack::of_ladder(ladder) {
        renditions.push(rendition(
            &track.name,
            Packaging::CmafAudio,
            AAC_LC_CODEC.to_owned(),
            (0, 0),
        ));
    }
    Asset {
        id,
        title: format!("asset {id}"),
        source: format!("/sources/{id}.mp4"),
        ladder_id: ladder.id,
        state: AssetState::Ready,
        duration: durations.iter().copied().sum(),
        renditions,
    }
}

pub(crate) fn demo_parts(repeat: bool) -> (Channel, Ladder, Timeline, HashMap<AssetId, Asset>) {
    let ladder = Ladder::demo();
    let programme = asset(
        PROGRAMME,
        &[Ticks::from_secs(2); 3],
        &ladder,
        |rung| match rung {
            "360p" => (1_100_000, 850_000),
            _ => (0, 0),
        },
    );
    let filler = asset(
        FILLER,
        &[Ticks::from_secs(2), Ticks::from_millis(1520)],
        &ladder,
        |rung| match rung {
            "360p" => (1_250_000, 800_000),
            _ => (0, 0),
        },
    );
    let runs = vec![
        Run::whole(
            RunKind::Programme,
            PROGRAMME,
            "Programme",
            track(&programme),
        ),
        Run::whole(RunKind::Filler, FILLER, "Filler", track(&filler)),
    ];
    let slate = asset(SLATE, &[Ticks::from_secs(2); 2], &ladder, |_| (0, 0));
    let mut timeline = Timeline::new(ORIGIN, runs, repeat, 0, 0).unwrap();
    if !repeat {
        timeline = timeline
            .with_tail(Run::whole(RunKind::Slate, SLATE, "Slate", track(&slate)))
            .unwrap();
    }
    let assets = HashMap::from([(PROGRAMME, programme), (FILLER, filler), (SLATE, slate)]);
    (channel("demo", 3), ladder, timeline, assets)
}

/// A looping channel with an ad break: the programme (0-6 s), a 6 s break of two runs, ad A
/// (6-10 s) then ad B (10-12 s), then the programme from its second segment (12-16 s). One pass
/// lasts 16 s and has 4 runs.
pub(crate) fn break_parts() -> (Channel, Ladder, Timeline, HashMap<AssetId, Asset>) {
    let (_, ladder, _, mut assets) = demo_parts(true);
    let ad_a = asset(AD_A, &[Ticks::from_secs(2); 2], &ladder, |_| (0, 0));
    let ad_b = asset(AD_B, &[Ticks::from_secs(2)], &ladder, |_| (0, 0));
    let programme = track(&assets[&PROGRAMME]);
    let slot = Some(BreakSlot {
        number: 1,
        duration: Ticks::from_secs(6),
    });
    let runs = vec![
        Run::whole(
            RunKind::Programme,
            PROGRAMME,
            "Programme",
            programme.clone(),
        ),
        Run {
            ad_break: slot,
            ..Run::whole(RunKind::AdBreak, AD_A, "Ad A", track(&ad_a))
        },
        Run {
            ad_break: slot,
            ..Run::whole(RunKind::AdBreak, AD_B, "Ad B", track(&ad_b))
        },
        Run {
            first_segment: 1,
            n_segments: 2,
            ..Run::whole(
                RunKind::Programme,
                PROGRAMME,
                "Programme, part 2",
                programme,
            )
        },
    ];
    assets.insert(AD_A, ad_a);
    assets.insert(AD_B, ad_b);
    let timeline = Timeline::new(ORIGIN, runs, true, 0, 0).unwrap();
    (channel("breaks", 4), ladder, timeline, assets)
}

pub(crate) fn break_playout() -> ChannelPlayout {
    let (channel, ladder, timeline, assets) = break_parts();
    ChannelPlayout::new(channel, ladder, timeline, assets).unwrap()
}

pub(crate) fn demo_playout(repeat: bool) -> ChannelPlayout {
    let (channel, ladder, timeline, assets) = demo_parts(repeat);
    ChannelPlayout::new(channel, ladder, timeline, assets).unwrap()
}

/// A looping channel with a live item: the programme (media sequences 0-2, 0-6 s), the item
/// planned as the slate looped twice (3-6, 6-14 s: four slots in two planned runs), the
/// programme again (7-9, 14-20 s).
pub(crate) fn live_item_playout() -> ChannelPlayout {
    let (_, ladder, _, mut assets) = demo_parts(true);
    let slate = asset(SLATE, &[Ticks::from_secs(2); 2], &ladder, |_| (0, 0));
    let programme = track(&assets[&PROGRAMME]);
    let runs = vec![
        Run::whole(RunKind::Programme, PROGRAMME, "Before", programme.clone()),
        Run::whole(RunKind::Slate, SLATE, "Standby", track(&slate)),
        Run::whole(RunKind::Slate, SLATE, "Standby", track(&slate)),
        Run::whole(RunKind::Programme, PROGRAMME, "After", programme),
    ];
    assets.insert(SLATE, slate);
    let timeline = Timeline::new(ORIGIN, runs, true, 0, 0).unwrap();
    ChannelPlayout::new(channel("live", 4), ladder, timeline, assets).unwrap()
}

pub(crate) fn track(asset: &Asset) -> Arc<SegmentTrack> {
    Arc::new(SegmentTrack::new(asset.segment_durations()))
}

/// `ORIGIN` plus some milliseconds.
pub(crate) fn at_millis(millis: i64) -> Timestamp {
    ORIGIN + Ticks::from_millis(millis)
}

/// The playout's assets as a fill or a session holds them: owned.
pub(crate) fn owned_assets(playout: &ChannelPlayout) -> HashMap<AssetId, Asset> {
    playout
        .assets()
        .iter()
        .map(|(id, asset)| (*id, Asset::clone(asset)))
        .collect()
}

/// A session's fill of [`break_playout`]'s break: the slate (two segments, for ad A) and the
/// filler's first segment (for ad B).
pub(crate) struct SlateFill {
    pub runs: Vec<Run>,
    pub assets: HashMap<AssetId, Asset>,
}

impl crate::window::BreakFill for SlateFill {
    fn fill(&self, _airing: &onair_domain::BreakAiring) -> Option<crate::window::Fill<'_>> {
        Some(crate::window::Fill {
            runs: &self.runs,
            assets: &self.assets,
            tracking: &[],
        })
    }
}

pub(crate) fn slate_fill(playout: &ChannelPlayout) -> SlateFill {
    let assets = owned_assets(playout);
    let slate = track(&assets[&SLATE]);
    let filler = track(&assets[&FILLER]);
    SlateFill {
        runs: vec![
            Run::whole(RunKind::Slate, SLATE, "house ad", slate),
            Run {
                n_segments: 1,
                ..Run::whole(RunKind::Filler, FILLER, "promo", filler)
            },
        ],
        assets,
    }
}
