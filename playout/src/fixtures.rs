//! A small demo channel for tests: two assets, a discontinuity between them, optionally looping.

use std::collections::HashMap;
use std::sync::Arc;

use onair_domain::timeline::SegmentTrack;
use onair_domain::{
    Asset, AssetId, AssetState, Channel, ChannelId, ChannelSlug, Ladder, OutputFormat, Packaging,
    Rendition, Run, RunKind, SegmentInfo, Ticks, Timeline, Timestamp,
};

use crate::ChannelPlayout;

/// 2026-09-21T14:13:20Z: where the demo timeline starts.
pub(crate) const ORIGIN: Timestamp = Timestamp::from_unix_secs(1_790_000_000);

/// Asset 1 "Programme": three 2 s segments.
pub(crate) const PROGRAMME: AssetId = AssetId(1);
/// Asset 2 "Filler": 2 s then 1.52 s. One pass of the demo timeline lasts 9.52 s.
pub(crate) const FILLER: AssetId = AssetId(2);

pub(crate) fn channel(slug: &str, window_segments: u32) -> Channel {
    Channel {
        id: ChannelId(7),
        slug: ChannelSlug::parse(slug).unwrap(),
        name: format!("Channel {slug}"),
        time_zone: "UTC".parse().unwrap(),
        ladder_id: Ladder::demo().id,
        outputs: vec![OutputFormat::HlsTs, OutputFormat::HlsFmp4],
        window_segments,
        grid_repeat: None,
        on_air: true,
    }
}

/// An asset with a TS and a CMAF rendition of every rung, files named after the segment index.
/// `bandwidth(rung)` gives (peak, average) for its TS renditions; zero means not measured.
pub(crate) fn asset(
    id: AssetId,
    durations: &[Ticks],
    ladder: &Ladder,
    bandwidth: impl Fn(&str) -> (u32, u32),
) -> Asset {
    let mut renditions = Vec::new();
    for rung in &ladder.rungs {
        for packaging in [Packaging::Ts, Packaging::Cmaf] {
            let dir = format!("assets/{id}/{}/{}", rung.name, packaging.as_str());
            let (peak_bandwidth, average_bandwidth) = match packaging {
                Packaging::Ts => bandwidth(&rung.name),
                Packaging::Cmaf => (0, 0),
            };
            renditions.push(Rendition {
                rung: rung.name.clone(),
                packaging,
                codecs: rung.codecs(),
                width: rung.width,
                height: rung.height,
                peak_bandwidth,
                average_bandwidth,
                init_path: (packaging == Packaging::Cmaf).then(|| format!("{dir}/init.mp4")),
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
            });
        }
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
    let timeline = Timeline::new(ORIGIN, runs, repeat, 0, 0).unwrap();
    let assets = HashMap::from([(PROGRAMME, programme), (FILLER, filler)]);
    (channel("demo", 3), ladder, timeline, assets)
}

pub(crate) fn demo_playout(repeat: bool) -> ChannelPlayout {
    let (channel, ladder, timeline, assets) = demo_parts(repeat);
    ChannelPlayout::new(channel, ladder, timeline, assets).unwrap()
}

pub(crate) fn track(asset: &Asset) -> Arc<SegmentTrack> {
    Arc::new(SegmentTrack::new(asset.segment_durations()))
}

/// `ORIGIN` plus some milliseconds.
pub(crate) fn at_millis(millis: i64) -> Timestamp {
    ORIGIN + Ticks::from_millis(millis)
}
