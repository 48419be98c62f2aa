//! The synthetic assets live slots air: a publish's files as a run, and a channel's slate
//! looped over a take's slots without a live segment.
//!
//! Playout addresses them by their files' names: HLS lists each file, and DASH names a
//! publish's CMAF files with a `$Time$` template (each named by its start in 90 kHz ticks since
//! the Unix epoch, which the live ladder also writes as its `tfdt`) and the looped slate's with
//! `$Number$`, a Period per pass over the slate's files (see `onair_playout::dash`).

use std::sync::Arc;

use onair_domain::{
    Asset, Ladder, Packaging, Rendition, Run, RunKind, SegmentInfo, SegmentTrack, Ticks, Timestamp,
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
    /// How many files a pass over the slate airs.
    pub(super) fn files(&self) -> usize {
        self.asset
            .renditions
            .first()
            .map_or(1, |rendition| rendition.segments.len().max(1))
    }

    /// `n` slate segments from `start`, looping the slate, as a run of a synthetic asset: its
    /// segment `i` is the slate's file `i % len`, so its first `len` segments are the slate's own
    /// and each pass restarts at the slate's first file (DASH airs each pass as a Period).
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

pub use onair_playout::live::publish_dir;

#[cfg(test)]
mod tests {
    use onair_domain::media::AudioTrack;
    use onair_domain::{AssetId, AssetState};

    use super::*;

    /// A slate of `n` segments of 2 s on the demo ladder, as the media crate names them.
    fn slate(n: u32) -> Asset {
        let ladder = Ladder::demo();
        let mut renditions = Vec::new();
        let names = ladder
            .rungs
            .iter()
            .flat_map(|rung| {
                [
                    (rung.name.clone(), Packaging::Ts, "ts"),
                    (rung.name.clone(), Packaging::Cmaf, "cmaf"),
                ]
            })
            .chain(
                AudioTrack::of_ladder(&ladder)
                    .into_iter()
                    .map(|track| (track.name, Packaging::CmafAudio, "cmaf-audio")),
            );
        for (name, packaging, folder) in names {
            let dir = format!("assets/9/{name}/{folder}");
            renditions.push(Rendition {
                rung: name,
                packaging,
                codecs: String::new(),
                width: 0,
                height: 0,
                peak_bandwidth: 0,
                average_bandwidth: 0,
                init_path: packaging
                    .has_init_segment()
                    .then(|| format!("{dir}/init.mp4")),
                segments: (0..n)
                    .map(|index| SegmentInfo {
                        index,
                        duration: Ticks::from_secs(2),
                        size_bytes: 1,
                        path: format!("{dir}/{index:05}.{}", packaging.segment_extension()),
                    })
                    .collect(),
            });
        }
        Asset {
            id: AssetId(9),
            title: "Slate".into(),
            source: "generated:slate/news".into(),
            ladder_id: ladder.id,
            state: AssetState::Ready,
            duration: Ticks::from_secs(2 * i64::from(n)),
            renditions,
        }
    }

    #[test]
    fn a_looped_slate_plays_its_own_files_again_from_the_first_after_the_last() {
        let segments = slate_segments(&slate(2), &Ladder::demo()).unwrap();
        let run = segments.run(5, Timestamp(0));
        for rendition in &run.asset.renditions {
            let files: Vec<&str> = rendition
                .segments
                .iter()
                .map(|segment| segment.path.rsplit('/').next().unwrap())
                .collect();
            let extension = rendition.packaging.segment_extension();
            let expected: Vec<String> = [0, 1, 0, 1, 0]
                .iter()
                .map(|index| format!("{index:05}.{extension}"))
                .collect();
            assert_eq!(files, expected, "{}", rendition.rung);
        }
        assert_eq!(run.asset.id, AssetId(9), "the slate's own files");
        assert_eq!(run.run.n_segments, 5);
    }

    #[test]
    fn a_publishs_files_are_named_by_their_start_in_ticks_since_the_unix_epoch() {
        let ladder = Ladder::demo();
        let starts = [
            Timestamp(161_673_445_503_000),
            Timestamp(161_673_445_683_000),
        ];
        let segments: Vec<(Timestamp, Ticks)> = starts
            .iter()
            .map(|start| (*start, Ticks::from_secs(2)))
            .collect();
        let run = LiveRun::of_publish("desk", 3, &ladder, &segments);
        assert_eq!(run.start, starts[0]);
        let video = run.asset.rendition("360p", Packaging::Cmaf).unwrap();
        assert_eq!(
            video.init_path.as_deref(),
            Some("live/desk/3/360p/init-0.mp4")
        );
        let paths: Vec<&str> = video.segments.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "live/desk/3/360p/161673445503000.m4s",
                "live/desk/3/360p/161673445683000.m4s"
            ]
        );
        let audio = run
            .asset
            .rendition("audio-96k", Packaging::CmafAudio)
            .unwrap();
        assert_eq!(
            audio.init_path.as_deref(),
            Some("live/desk/3/audio-96k/init-0.mp4")
        );
        assert_eq!(
            audio.segments[1].path,
            "live/desk/3/audio-96k/161673445683000.m4s"
        );
    }
}
