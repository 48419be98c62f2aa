//! The LL-HLS outputs of the live sources, shared by the ingest that feeds them and the routes
//! that serve them: per source, the publish in progress (or the last one) with an
//! [`LlRendition`] per rung and audio track, and a [`watch`] that changes with every update so
//! that held requests look again. State, not IO: the files are the ladder's, the clock the
//! caller's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use onair_domain::media::AudioTrack;
use onair_domain::{Ladder, Ticks, Timestamp};
use tokio::sync::watch;

use super::{LlConfig, LlPart, LlRefusal, LlRendition, render_media_playlist, render_multivariant};

/// Every live source's LL-HLS output, by source name.
#[derive(Debug, Default)]
pub struct LlOutputs {
    sources: RwLock<HashMap<String, Arc<LlSource>>>,
}

impl LlOutputs {
    /// The output of `source`, if it ever published since the server started.
    pub fn source(&self, source: &str) -> Option<Arc<LlSource>> {
        self.sources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source)
            .cloned()
    }

    /// A publish of `source` begins (replacing the last one): its files are under `files`
    /// (relative to the media root, `live/{source}/{publish}`), one rendition per rung and audio
    /// track of `ladder`. Its first segment is numbered `first_msn` or, when higher, one past
    /// the last number an earlier publish of the source listed, so players never see numbers
    /// go back: give the publish's start in segment targets since the epoch.
    pub fn begin_publish(
        &self,
        source: &str,
        publish: i64,
        ladder: Ladder,
        config: LlConfig,
        files: impl Into<String>,
        first_msn: u64,
    ) -> Arc<LlSource> {
        let output = self
            .sources
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(source.to_owned())
            .or_insert_with(|| Arc::new(LlSource::new()))
            .clone();
        output.begin(publish, ladder, config, files.into(), first_msn);
        output
    }
}

/// One source's LL-HLS output: its current (or last) publish and a change counter.
#[derive(Debug)]
pub struct LlSource {
    publish: Mutex<Option<LlPublish>>,
    /// The number the next publish's first segment gets at least.
    next_msn: Mutex<u64>,
    changed: watch::Sender<u64>,
}

/// One publish of a source, as its routes read it.
#[derive(Debug)]
pub struct LlPublish {
    pub publish: i64,
    pub ladder: Ladder,
    /// The publish's folder under the media root: `live/{source}/{publish}`.
    pub files: String,
    pub config: LlConfig,
    /// Rungs in ladder order, then audio tracks.
    renditions: Vec<LlRendition>,
    ended: bool,
}

impl LlPublish {
    /// Whether it ended: its playlists end with EXT-X-ENDLIST.
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    pub fn rendition(&self, name: &str) -> Option<&LlRendition> {
        self.renditions
            .iter()
            .find(|rendition| rendition.name() == name)
    }

    pub fn renditions(&self) -> impl Iterator<Item = &LlRendition> {
        self.renditions.iter()
    }

    /// Whether a player can start: every rendition lists a complete segment.
    pub fn is_playable(&self) -> bool {
        self.renditions
            .iter()
            .all(LlRendition::has_complete_segment)
    }

    /// The media playlist of `name`, with the other renditions' reports.
    pub fn media_playlist(&self, name: &str) -> Option<String> {
        let rendition = self.rendition(name)?;
        let others: Vec<_> = self
            .renditions
            .iter()
            .filter(|other| other.name() != name)
            .filter_map(LlRendition::sibling_report)
            .collect();
        Some(render_media_playlist(rendition, &others))
    }

    pub fn multivariant(&self) -> String {
        render_multivariant(&self.ladder)
    }

    fn rendition_mut(&mut self, name: &str) -> Option<&mut LlRendition> {
        self.renditions
            .iter_mut()
            .find(|rendition| rendition.name() == name)
    }
}

impl LlSource {
    fn new() -> LlSource {
        LlSource {
            publish: Mutex::new(None),
            next_msn: Mutex::new(0),
            changed: watch::channel(0).0,
        }
    }

    /// Changes with every update of the source: wait on it, then read again.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Reads the current publish (`None` before the first).
    pub fn read<T>(&self, read: impl FnOnce(Option<&LlPublish>) -> T) -> T {
        read(
            self.publish
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref(),
        )
    }

    fn begin(&self, publish: i64, ladder: Ladder, config: LlConfig, files: String, msn: u64) {
        let mut next_msn = self.next_msn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut current = self.publish.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = current.as_ref() {
            *next_msn = (*next_msn).max(next_msn_after(last));
        }
        let first_msn = msn.max(*next_msn);
        let names = ladder
            .rungs
            .iter()
            .map(|rung| rung.name.clone())
            .chain(AudioTrack::of_ladder(&ladder).into_iter().map(|t| t.name));
        let renditions = names
            .map(|name| LlRendition::new(name, config, first_msn))
            .collect();
        *current = Some(LlPublish {
            publish,
            ladder,
            files,
            config,
            renditions,
            ended: false,
        });
        drop((current, next_msn));
        self.notify();
    }

    /// Part `part` of the segment named `segment` of `rendition` was written by `publish`.
    pub fn push_part(
        &self,
        publish: i64,
        rendition: &str,
        segment: Timestamp,
        init: u32,
        part: LlPart,
    ) -> Result<(), LlRefusal> {
        self.update(publish, rendition, |rendition| {
            rendition.push_part(segment, init, part)
        })
    }

    /// The segment named `name` of `rendition` is complete (see
    /// [`LlRendition::complete_segment`]).
    pub fn complete_segment(
        &self,
        publish: i64,
        rendition: &str,
        name: Timestamp,
        media_start: Timestamp,
        duration: Ticks,
        init: u32,
    ) -> Result<(), LlRefusal> {
        self.update(publish, rendition, |rendition| {
            rendition.complete_segment(name, media_start, duration, init)
        })
    }

    /// `publish` ended: its playlists get EXT-X-ENDLIST and held requests are answered.
    pub fn end(&self, publish: i64) {
        let mut current = self.publish.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(current) = current.as_mut().filter(|p| p.publish == publish) else {
            return;
        };
        let mut next_msn = self.next_msn.lock().unwrap_or_else(PoisonError::into_inner);
        *next_msn = (*next_msn).max(next_msn_after(current));
        for rendition in &mut current.renditions {
            rendition.end();
        }
        current.ended = true;
        drop(next_msn);
        self.notify();
    }

    fn update(
        &self,
        publish: i64,
        rendition: &str,
        change: impl FnOnce(&mut LlRendition) -> Result<(), LlRefusal>,
    ) -> Result<(), LlRefusal> {
        {
            let mut current = self.publish.lock().unwrap_or_else(PoisonError::into_inner);
            // Late news of an earlier publish, or of a rendition the ladder does not have.
            let Some(target) = current
                .as_mut()
                .filter(|p| p.publish == publish && !p.ended)
                .and_then(|p| p.rendition_mut(rendition))
            else {
                return Err(LlRefusal::Ended);
            };
            change(target)?;
        }
        self.notify();
        Ok(())
    }

    fn notify(&self) {
        self.changed.send_modify(|version| *version += 1);
    }
}

/// One past the highest media sequence number any rendition of `publish` used, listed or in
/// progress.
fn next_msn_after(publish: &LlPublish) -> u64 {
    publish
        .renditions
        .iter()
        .map(|rendition| {
            rendition
                .segments()
                .next_back()
                .map_or(rendition.media_sequence(), |last| last.msn + 1)
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(index: u32) -> LlPart {
        LlPart {
            index,
            duration: Ticks::from_millis(500),
            independent: index == 0,
        }
    }

    #[test]
    fn a_new_publish_numbers_past_the_last_one_and_every_change_is_seen() {
        let outputs = LlOutputs::default();
        let ladder = Ladder::demo();
        let source = outputs.begin_publish(
            "studio",
            1,
            ladder.clone(),
            LlConfig::default(),
            "live/studio/1",
            10,
        );
        let mut changes = source.subscribe();
        let name = Timestamp(1_000 * 180_000);
        for index in 0..4 {
            source.push_part(1, "360p", name, 0, part(index)).unwrap();
        }
        source
            .complete_segment(1, "360p", name, name, Ticks::from_secs(2), 0)
            .unwrap();
        source
            .push_part(1, "360p", name + Ticks::from_secs(2), 0, part(0))
            .unwrap();
        assert!(changes.has_changed().unwrap());
        changes.borrow_and_update();
        assert_eq!(
            source.push_part(2, "360p", name, 0, part(0)),
            Err(LlRefusal::Ended)
        );
        assert!(!changes.has_changed().unwrap());

        source.end(1);
        assert!(source.read(|p| {
            p.unwrap()
                .media_playlist("360p")
                .unwrap()
                .contains("#EXT-X-ENDLIST")
        }));
        // Segments 10 and 11 were listed: the next publish starts at 12, not at the 5 it asks.
        outputs.begin_publish("studio", 2, ladder, LlConfig::default(), "live/studio/2", 5);
        let first = source.read(|p| p.unwrap().rendition("240p").unwrap().media_sequence());
        assert_eq!(first, 12);
        assert!(source.read(|p| p.unwrap().rendition("audio-96k").is_some()));
    }
}
