//! The synthetic assets live slots air: a publish's files as a run, and a channel's slate
//! looped over a take's slots without a live segment.

use std::sync::Arc;

use onair_domain::media::{AAC_LC_CODEC, AudioTrack};
use onair_domain::{
    Asset, AssetId, AssetState, Ladder, Packaging, Rendition, Run, RunKind, SegmentInfo,
    SegmentTrack, Ticks, Timestamp,
};
use onair_playout::LiveRun;

/// A channel's slate as whole segments of one length, for a take's slots without a live
/// segment: each rendition's segments, looped.
#[derive(Debug, Clone)]
pub(super) struct SlateSegments {
    asset: Asset,
    pub duration: Ticks,
}

/// The slate's segments (every packaging it has) when every rung has them in MPEG-TS and all
/// of them last alike.
pub(super) fn slate_segments(asset: &Asset, ladder: &Ladder) -> Option<SlateSegments> {
    let has_ts = ladder.rungs.iter().all(|rung| {
        asset
            .renditions
            .iter()
            .any(|rendition| rendition.rung == rung.name && rendition.packaging == Packaging::Ts)
    });
    let renditions = asset.renditions.clone();
    if !has_ts {
        return None;
    }
    let duration = renditions.first()?.segments.first()?.duration;
    let uniform = renditions.iter().all(|rendition| {
        !rendition.segments.is_empty()
            && rendition
                .segments
                .iter()
                .all(|segment| segment.duration == duration)
    });
    uniform.then(|| SlateSegments {
        asset: Asset {
            renditions,
            ..asset.clone()
        },
        duration,
    })
}

impl SlateSegments {
    /// `n` slate segments from `start`, looping the slate, as a run of a synthetic asset.
    pub(super) fn run(&self, n: usize, start: Timestamp) -> LiveRun {
        let renditions = self
            .asset
            .renditions
            .iter()
            .map(|rendition| Rendition {
                segments: (0..n)
                    .map(|index| SegmentInfo {
                        index: index as u32,
                        duration: self.duration,
                        ..rendition.segments[index % rendition.segments.len()].clone()
                    })
                    .collect(),
                ..rendition.clone()
            })
            .collect();
        let asset = Asset {
            renditions,
            duration: Ticks(self.duration.0 * n as i64),
            ..self.asset.clone()
        };
        let run = Run::whole(
            RunKind::Slate,
            asset.id,
            "slate",
            Arc::new(SegmentTrack::new(vec![self.duration; n])),
        );
        LiveRun { run, asset, start }
    }
}

/// Where the ingest writes a publish's files, relative to the media root.
pub fn publish_dir(source: &str, publish: i64) -> String {
    format!("live/{source}/{publish}")
}

/// The live segments of one publish as a run of a synthetic asset: its MPEG-TS renditions
/// name the files the ingest wrote, `live/{source}/{publish}/{rung}/{start}.ts`.
pub(super) fn live_run(
    source: &str,
    publish: i64,
    ladder: &Ladder,
    segments: &[(Timestamp, Ticks)],
) -> LiveRun {
    let dir = publish_dir(source, publish);
    let durations: Vec<Ticks> = segments.iter().map(|(_, duration)| *duration).collect();
    let files = |name: &str, extension: &str| -> Vec<SegmentInfo> {
        segments
            .iter()
            .enumerate()
            .map(|(index, (start, duration))| SegmentInfo {
                index: index as u32,
                duration: *duration,
                size_bytes: 0,
                path: format!("{dir}/{name}/{}.{extension}", start.0),
            })
            .collect()
    };
    // Each rung as MPEG-TS and as a CMAF video track, and each audio track in CMAF; a
    // publish's encoders keep their formats, so its CMAF tracks keep their first init.
    let mut renditions: Vec<Rendition> = Vec::new();
    for rung in &ladder.rungs {
        let rendition = Rendition {
            rung: rung.name.clone(),
            packaging: Packaging::Ts,
            codecs: rung.codecs(),
            width: rung.width,
            height: rung.height,
            peak_bandwidth: 0,
            average_bandwidth: 0,
            init_path: None,
            segments: files(&rung.name, "ts"),
        };
        renditions.push(Rendition {
            packaging: Packaging::Cmaf,
            codecs: rung.video_codec(),
            init_path: Some(format!("{dir}/{}/init-0.mp4", rung.name)),
            segments: files(&rung.name, "m4s"),
            ..rendition.clone()
        });
        renditions.push(rendition);
    }
    for track in AudioTrack::of_ladder(ladder) {
        renditions.push(Rendition {
            rung: track.name.clone(),
            packaging: Packaging::CmafAudio,
            codecs: AAC_LC_CODEC.to_owned(),
            width: 0,
            height: 0,
            peak_bandwidth: 0,
            average_bandwidth: 0,
            init_path: Some(format!("{dir}/{}/init-0.mp4", track.name)),
            segments: files(&track.name, "m4s"),
        });
    }
    // Synthetic: negative, so it never names a stored asset.
    let id = AssetId(-publish);
    let asset = Asset {
        id,
        title: source.to_owned(),
        source: format!("live:{source}"),
        ladder_id: ladder.id,
        state: AssetState::Ready,
        duration: durations.iter().copied().sum(),
        renditions,
    };
    let run = Run::whole(
        RunKind::Programme,
        id,
        source,
        Arc::new(SegmentTrack::new(durations)),
    );
    LiveRun {
        run,
        asset,
        start: segments.first().map_or(Timestamp(0), |(start, _)| *start),
    }
}
