//! What one channel plays, checked once so that rendering its manifests cannot fail.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use onair_domain::media::AudioTrack;
use onair_domain::{
    Asset, AssetId, Channel, Ladder, OutputFormat, Packaging, Rung, Ticks, Timeline,
};

use crate::dash::SegmentTemplate;
use crate::live::LiveHandle;

/// Why a [`ChannelPlayout`] could not be built: the timeline plays something the assets lack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayoutError {
    #[error("run {run_index} plays asset {asset_id}, which is not among the channel's assets")]
    MissingAsset { run_index: usize, asset_id: AssetId },
    #[error(
        "run {run_index} plays segment {segment_index} of asset {asset_id}, which lasts no time"
    )]
    EmptySegment {
        run_index: usize,
        asset_id: AssetId,
        segment_index: u32,
    },
    #[error("asset {asset_id} has no {} rendition of rung {rung}", .packaging.as_str())]
    MissingRendition {
        asset_id: AssetId,
        rung: String,
        packaging: Packaging,
    },
    #[error(
        "asset {asset_id}'s {} rendition of rung {rung} has {available} segments, but the timeline plays {needed}",
        .packaging.as_str()
    )]
    MissingSegments {
        asset_id: AssetId,
        rung: String,
        packaging: Packaging,
        needed: u32,
        available: usize,
    },
    #[error("asset {asset_id}'s {} rendition of {rung} has no init segment", .packaging.as_str())]
    MissingInitSegment {
        asset_id: AssetId,
        rung: String,
        packaging: Packaging,
    },
    #[error(
        "asset {asset_id} has no cmaf-audio rendition of audio track {track}, which HLS-fMP4 and DASH play beside the video: an asset packaged before audio and video were split (muxed CMAF) must be encoded again"
    )]
    MissingAudioTrack { asset_id: AssetId, track: String },
    #[error(
        "rung {rung} is named like an audio track of the ladder: their media playlists and DASH representations would share a name"
    )]
    RungNamedLikeAnAudioTrack { rung: String },
    #[error(
        "asset {asset_id}'s {} renditions are not laid out as `{{dir}}/{{name}}/.../{{index:05}}.m4s` with an init segment beside, which the DASH segment template needs",
        .packaging.as_str()
    )]
    NoSegmentTemplate {
        asset_id: AssetId,
        packaging: Packaging,
    },
}

/// A track a media playlist lists: a rung (its MPEG-TS or CMAF video rendition) or, in CMAF, an
/// audio track of the ladder; by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MediaTrack {
    Rung(usize),
    Audio(usize),
}

/// A channel with its ladder, its timeline and the assets the timeline plays.
///
/// Built by the caller (the binary, from the database) and shared read-only behind an `Arc`.
/// [`ChannelPlayout::new`] checks that every segment the timeline can air has a file in every
/// rung of every packaging the channel publishes, so the renderers never meet a hole.
#[derive(Debug, Clone)]
pub struct ChannelPlayout {
    channel: Channel,
    ladder: Ladder,
    /// Shared with the plan the EPG is built from: one copy per channel.
    timeline: Arc<Timeline>,
    /// Shared with every other channel airing the same asset, when the caller shares them.
    assets: HashMap<AssetId, Arc<Asset>>,
    /// The ladder's audio tracks ([`AudioTrack::of_ladder`]).
    audio_tracks: Vec<AudioTrack>,
    /// `timeline.longest_segment().ceil_secs()`, computed once: it walks every segment.
    target_duration_secs: i64,
    /// What its live items air, decided slot by slot (empty when it has none).
    live: LiveHandle,
}

impl ChannelPlayout {
    /// Checks the timeline (its runs and its tail) against the assets for the packagings
    /// `channel.outputs` needs: MPEG-TS for HLS-TS; for HLS-fMP4 and DASH, a CMAF video track
    /// of every rung and a CMAF audio track of every audio track of the ladder (fragments and
    /// init segment; an asset packaged before audio and video were split has none, see
    /// [`PlayoutError::MissingAudioTrack`]); and for DASH, CMAF files laid out so a segment
    /// template names them.
    pub fn new<A: Into<Arc<Asset>>>(
        channel: Channel,
        ladder: Ladder,
        timeline: impl Into<Arc<Timeline>>,
        assets: HashMap<AssetId, A>,
    ) -> Result<ChannelPlayout, PlayoutError> {
        let timeline: Arc<Timeline> = timeline.into();
        let assets: HashMap<AssetId, Arc<Asset>> = assets
            .into_iter()
            .map(|(id, asset)| (id, asset.into()))
            .collect();
        let mut packagings = Vec::with_capacity(2);
        if channel.outputs.contains(&OutputFormat::HlsTs) {
            packagings.push(Packaging::Ts);
        }
        if channel
            .outputs
            .iter()
            .any(|output| matches!(output, OutputFormat::HlsFmp4 | OutputFormat::Dash))
        {
            packagings.push(Packaging::Cmaf);
        }
        let dash = channel.outputs.contains(&OutputFormat::Dash);
        let cmaf = packagings.contains(&Packaging::Cmaf);
        let audio_tracks = AudioTrack::of_ladder(&ladder);
        if let Some(rung) = ladder
            .rungs
            .iter()
            .find(|rung| audio_tracks.iter().any(|track| track.name == rung.name))
        {
            return Err(PlayoutError::RungNamedLikeAnAudioTrack {
                rung: rung.name.clone(),
            });
        }
        let rung_names: Vec<&str> = ladder.rungs.iter().map(|rung| rung.name.as_str()).collect();
        let track_names: Vec<&str> = audio_tracks
            .iter()
            .map(|track| track.name.as_str())
            .collect();
        // A slate-filled day is thousands of runs of one asset: its files are checked once.
        let mut templated: HashSet<AssetId> = HashSet::new();
        for (run_index, run) in timeline.runs().iter().chain(timeline.tail()).enumerate() {
            let asset = assets
                .get(&run.asset_id)
                .ok_or(PlayoutError::MissingAsset {
                    run_index,
                    asset_id: run.asset_id,
                })?;
            let end = run.first_segment + run.n_segments;
            if let Some(segment_index) =
                (run.first_segment..end).find(|i| run.track.duration(*i) <= Ticks::ZERO)
            {
                return Err(PlayoutError::EmptySegment {
                    run_index,
                    asset_id: asset.id,
                    segment_index,
                });
            }
            for rung in &ladder.rungs {
                for packaging in &packagings {
                    check_rendition(asset, &rung.name, *packaging, end)?;
                }
            }
            if cmaf {
                for track in &audio_tracks {
                    if asset.rendition(&track.name, Packaging::CmafAudio).is_none() {
                        return Err(PlayoutError::MissingAudioTrack {
                            asset_id: asset.id,
                            track: track.name.clone(),
                        });
                    }
                    check_rendition(asset, &track.name, Packaging::CmafAudio, end)?;
                }
            }
            if dash && templated.insert(asset.id) {
                for (names, packaging) in [
                    (&rung_names, Packaging::Cmaf),
                    (&track_names, Packaging::CmafAudio),
                ] {
                    if SegmentTemplate::of(asset, names, packaging).is_none() {
                        return Err(PlayoutError::NoSegmentTemplate {
                            asset_id: asset.id,
                            packaging,
                        });
                    }
                }
            }
        }
        let target_duration_secs = timeline.longest_segment().ceil_secs();
        Ok(ChannelPlayout {
            channel,
            ladder,
            timeline,
            assets,
            audio_tracks,
            target_duration_secs,
            live: LiveHandle::default(),
        })
    }

    /// This playout sharing `live` (a new plan of a channel keeps its live airings).
    pub fn with_live(mut self, live: LiveHandle) -> ChannelPlayout {
        self.live = live;
        self
    }

    /// What its live items air; HLS and DASH list it.
    pub fn live(&self) -> &LiveHandle {
        &self.live
    }

    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    pub fn ladder(&self) -> &Ladder {
        &self.ladder
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    pub fn assets(&self) -> &HashMap<AssetId, Arc<Asset>> {
        &self.assets
    }

    /// Whether the channel is published in `format`.
    pub fn publishes(&self, format: OutputFormat) -> bool {
        self.channel.outputs.contains(&format)
    }

    /// EXT-X-TARGETDURATION: the longest segment in whole seconds, rounded up. It is the same
    /// for every window, so it never changes while the channel airs this timeline.
    pub fn target_duration_secs(&self) -> i64 {
        self.target_duration_secs
    }

    /// The position of a rung in the ladder, if the ladder has it.
    pub fn rung_index(&self, rung: &str) -> Option<usize> {
        self.ladder
            .rungs
            .iter()
            .position(|candidate| candidate.name == rung)
    }

    /// The ladder's audio tracks: one per distinct audio bitrate, the top rung's first.
    pub fn audio_tracks(&self) -> &[AudioTrack] {
        &self.audio_tracks
    }

    /// The audio track a rung of the ladder plays beside its CMAF video.
    pub fn audio_track_of(&self, rung: &Rung) -> &AudioTrack {
        self.audio_tracks
            .iter()
            .find(|track| track.bitrate == rung.audio_bitrate)
            .expect("every rung's audio bitrate has a track")
    }

    /// The track whose media playlist `name` names in `packaging`: a rung, or with CMAF an
    /// audio track.
    pub(crate) fn media_track(&self, name: &str, packaging: Packaging) -> Option<MediaTrack> {
        if let Some(index) = self.rung_index(name) {
            return Some(MediaTrack::Rung(index));
        }
        if packaging == Packaging::Ts {
            return None;
        }
        self.audio_tracks
            .iter()
            .position(|track| track.name == name)
            .map(MediaTrack::Audio)
    }

    /// The name and packaging of `track`'s renditions in the HLS flavour `packaging` (MPEG-TS
    /// or CMAF); `None` for an audio track in MPEG-TS, which has none of its own.
    pub(crate) fn rendition_key(
        &self,
        track: MediaTrack,
        packaging: Packaging,
    ) -> Option<(&str, Packaging)> {
        match (track, packaging) {
            (MediaTrack::Rung(index), Packaging::Ts) => {
                Some((self.ladder.rungs.get(index)?.name.as_str(), Packaging::Ts))
            }
            (MediaTrack::Rung(index), _) => {
                Some((self.ladder.rungs.get(index)?.name.as_str(), Packaging::Cmaf))
            }
            (MediaTrack::Audio(_), Packaging::Ts) => None,
            (MediaTrack::Audio(index), _) => Some((
                self.audio_tracks.get(index)?.name.as_str(),
                Packaging::CmafAudio,
            )),
        }
    }
}

fn check_rendition(
    asset: &Asset,
    rung: &str,
    packaging: Packaging,
    needed: u32,
) -> Result<(), PlayoutError> {
    let rendition =
        asset
            .rendition(rung, packaging)
            .ok_or_else(|| PlayoutError::MissingRendition {
                asset_id: asset.id,
                rung: rung.to_owned(),
                packaging,
            })?;
    if rendition.segments.len() < needed as usize {
        return Err(PlayoutError::MissingSegments {
            asset_id: asset.id,
            rung: rung.to_owned(),
            packaging,
            needed,
            available: rendition.segments.len(),
        });
    }
    if packaging.has_init_segment() && rendition.init_path.is_none() {
        return Err(PlayoutError::MissingInitSegment {
            asset_id: asset.id,
            rung: rung.to_owned(),
            packaging,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn a_channel_whose_assets_cover_its_timeline_builds() {
        let playout = fixtures::demo_playout(true);
        assert_eq!(playout.target_duration_secs(), 2);
        assert_eq!(playout.rung_index("240p"), Some(1));
        assert_eq!(playout.rung_index("1080p"), None);
    }

    #[test]
    fn a_timeline_playing_an_unknown_asset_is_refused() {
        let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
        assets.remove(&AssetId(2));
        let error = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap_err();
        assert_eq!(
            error,
            PlayoutError::MissingAsset {
                run_index: 1,
                asset_id: AssetId(2)
            }
        );
    }

    #[test]
    fn a_missing_rendition_of_a_published_packaging_is_refused() {
        let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
        let asset = assets.get_mut(&AssetId(1)).unwrap();
        asset
            .renditions
            .retain(|r| !(r.rung == "240p" && r.packaging == Packaging::Cmaf));
        let error = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap_err();
        assert_eq!(
            error.to_string(),
            "asset 1 has no cmaf rendition of rung 240p"
        );
    }

    #[test]
    fn a_packaging_the_channel_does_not_publish_is_not_required() {
        let (mut channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
        channel.outputs = vec![OutputFormat::HlsTs];
        for asset in assets.values_mut() {
            asset.renditions.retain(|r| r.packaging == Packaging::Ts);
        }
        assert!(ChannelPlayout::new(channel, ladder, timeline, assets).is_ok());
    }

    #[test]
    fn an_asset_without_audio_tracks_is_refused_for_cmaf_outputs_and_played_in_mpeg_ts() {
        // As an asset packaged before audio and video were split: muxed CMAF, no audio track.
        let (mut channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
        assets
            .get_mut(&AssetId(2))
            .unwrap()
            .renditions
            .retain(|r| r.packaging != Packaging::CmafAudio);
        let error = ChannelPlayout::new(
            channel.clone(),
            ladder.clone(),
            timeline.clone(),
            assets.clone(),
        )
        .unwrap_err();
        assert_eq!(
            error,
            PlayoutError::MissingAudioTrack {
                asset_id: AssetId(2),
                track: "audio-96k".into()
            }
        );
        assert!(
            error.to_string().contains("must be encoded again"),
            "{error}"
        );
        channel.outputs = vec![OutputFormat::HlsTs];
        assert!(ChannelPlayout::new(channel, ladder, timeline, assets).is_ok());
    }

    #[test]
    fn an_audio_track_without_an_init_segment_is_refused() {
        let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
        let audio = assets
            .get_mut(&AssetId(1))
            .unwrap()
            .renditions
            .iter_mut()
            .find(|r| r.rung == "audio-64k")
            .unwrap();
        audio.init_path = None;
        let error = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap_err();
        assert_eq!(
            error.to_string(),
            "asset 1's cmaf-audio rendition of audio-64k has no init segment"
        );
    }

    #[test]
    fn a_rung_named_like_an_audio_track_is_refused() {
        let (channel, mut ladder, timeline, assets) = fixtures::demo_parts(true);
        ladder.rungs[1].name = "audio-96k".into();
        let error = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap_err();
        assert_eq!(
            error,
            PlayoutError::RungNamedLikeAnAudioTrack {
                rung: "audio-96k".into()
            }
        );
    }

    #[test]
    fn each_rung_plays_the_audio_track_of_its_audio_bitrate() {
        let playout = fixtures::demo_playout(true);
        let ladder = playout.ladder();
        assert_eq!(playout.audio_track_of(&ladder.rungs[0]).name, "audio-96k");
        assert_eq!(playout.audio_track_of(&ladder.rungs[1]).name, "audio-64k");
        assert_eq!(
            playout.media_track("audio-64k", Packaging::Cmaf),
            Some(MediaTrack::Audio(1))
        );
        assert_eq!(playout.media_track("audio-64k", Packaging::Ts), None);
        assert_eq!(
            playout.media_track("240p", Packaging::Ts),
            Some(MediaTrack::Rung(1))
        );
    }

    #[test]
    fn a_rendition_shorter_than_the_run_is_refused() {
        let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
        let asset = assets.get_mut(&AssetId(2)).unwrap();
        let segments = &mut asset.renditions[0].segments;
        *segments = segments[..segments.len() - 1].into();
        let error = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap_err();
        assert!(
            matches!(
                error,
                PlayoutError::MissingSegments {
                    needed: 2,
                    available: 1,
                    ..
                }
            ),
            "{error}"
        );
    }
}
