//! Live ingest as `serve` runs it: the RTMP and SRT listeners (`live-ingest`) hand each publish
//! to a live ladder (`media::live`) that writes its segments under the media folder, at
//! `live/{source}/{publish}/{rendition}/`, and the control plane records each segment once
//! every rung has it, so the channels' live slots air it (`control::live`).
//!
//! Each publish is also the source's own LL-HLS output (`llhls`): its parts and segments feed
//! the [`LlOutputs`] the LL-HLS routes serve.
//!
//! A publish is cut on its source's grid: the live item occurrence airing or next
//! ([`LiveAiringsLoop::anchor`]), checked every half second, and moved when it changes.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use onair_control::Control;
use onair_control::live::{LiveAiringsLoop, PublishGrant, SegmentRecord};
use onair_domain::{Ticks, Timestamp};
use onair_live_ingest::{Container, Ended, IngestHandler, Protocol, PublishSink};
use onair_media::{LiveConfig, LiveInput, LiveLadder, LiveOutput, LiveStats};
use onair_playout::llhls::{LlConfig, LlOutputs};
use onair_store::LiveState;
use tokio::sync::mpsc;

mod llhls;

/// What the listeners call.
pub struct Bridge {
    pub control: Control,
    pub airings: Arc<LiveAiringsLoop>,
    pub media_root: PathBuf,
    /// Ride the live audio's loudness to the ladder's target (no look-ahead).
    pub loudness: bool,
    /// Where each publish's LL-HLS output goes.
    pub ll_outputs: Arc<LlOutputs>,
    pub runtime: tokio::runtime::Handle,
    /// Grants of the keys authorised and not yet publishing, by key.
    granted: Mutex<HashMap<String, PublishGrant>>,
}

impl Bridge {
    pub fn new(
        control: Control,
        airings: Arc<LiveAiringsLoop>,
        media_root: PathBuf,
        loudness: bool,
        ll_outputs: Arc<LlOutputs>,
    ) -> Bridge {
        Bridge {
            control,
            airings,
            media_root,
            loudness,
            ll_outputs,
            runtime: tokio::runtime::Handle::current(),
            granted: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `future` on the runtime from a listener's task, which the handler may not block
    /// for long: a store call of a few milliseconds.
    fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        tokio::task::block_in_place(|| self.runtime.block_on(future))
    }
}

impl IngestHandler for Bridge {
    fn authorize(&self, key: &str, protocol: Protocol, peer: SocketAddr) -> Result<(), String> {
        match self.block_on(self.control.authorize_publish(key)) {
            Ok(grant) => {
                tracing::info!(source = %grant.source.name, %protocol, %peer, "publish authorised");
                self.granted
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key.to_owned(), grant);
                Ok(())
            }
            Err(refusal) => {
                let reason = format!("refused: {refusal}");
                tracing::warn!(%protocol, %peer, "a publish was {reason}");
                let _ = self.block_on(self.control.log_refused_publish(
                    key,
                    &format!("{protocol} publish from {peer} refused: {refusal}"),
                ));
                Err(reason)
            }
        }
    }

    fn publish(
        &self,
        key: &str,
        protocol: Protocol,
        peer: SocketAddr,
        container: Container,
    ) -> Box<dyn PublishSink> {
        let grant = self
            .granted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        let grant = match grant {
            Some(grant) => Ok(grant),
            None => self
                .block_on(self.control.authorize_publish(key))
                .map_err(|refusal| refusal.to_string()),
        };
        let started = grant.and_then(|grant| {
            let protocol_name = match protocol {
                Protocol::Rtmp => "rtmp",
                Protocol::Srt => "srt",
            };
            let publish = self
                .block_on(self.control.begin_publish(
                    &grant.source,
                    protocol_name,
                    &peer.to_string(),
                ))
                .map_err(|refusal| refusal.to_string())?;
            self.start_ladder(grant, publish, container)
        });
        match started {
            Ok(sink) => Box::new(sink),
            Err(reason) => {
                tracing::error!(%protocol, %peer, "cannot start the live encode: {reason}");
                Box::new(Discard)
            }
        }
    }
}

impl Bridge {
    fn start_ladder(
        &self,
        grant: PublishGrant,
        publish: i64,
        container: Container,
    ) -> Result<Sink, String> {
        let source = grant.source.clone();
        let files = onair_control::live::airings::publish_dir(&source.name, publish);
        let dir = self.media_root.join(&files);
        let segment = grant.ladder.segment_duration;
        let anchor = self
            .airings
            .anchor(&source.name)
            .map_or(Timestamp(0), |anchor| anchor.anchor);
        let input = match container {
            Container::Flv => LiveInput::Flv,
            Container::MpegTs => LiveInput::MpegTs,
        };
        let config = LiveConfig {
            segment,
            anchor,
            loudness: self.loudness,
            ..LiveConfig::new(grant.ladder.clone(), input, dir)
        };
        let ll_config = LlConfig {
            segment_target: config.segment,
            part_target: config.part,
            ..LlConfig::default()
        };
        // Numbered by the publish's start in segments since the epoch, so never going back.
        let now = onair_domain::Clock::now(&onair_domain::SystemClock);
        let first_msn = u64::try_from(now.0 / config.segment.0.max(1)).unwrap_or(0);
        let ll = self.ll_outputs.begin_publish(
            &source.name,
            publish,
            grant.ladder.clone(),
            ll_config,
            files,
            first_msn,
        );
        let (sender, receiver) = mpsc::unbounded_channel();
        let ladder = LiveLadder::start(config, move |output| {
            let _ = sender.send(output);
        })
        .map_err(|error| error.to_string())?;
        let ladder = Arc::new(ladder);
        // A segment is recorded once every rung and every audio track has it (HLS-fMP4 plays
        // the tracks apart).
        let video: HashSet<String> = grant
            .ladder
            .rungs
            .iter()
            .map(|rung| rung.name.clone())
            .collect();
        let rungs: HashSet<String> = grant
            .ladder
            .rungs
            .iter()
            .map(|rung| rung.name.clone())
            .chain(
                onair_domain::media::AudioTrack::of_ladder(&grant.ladder)
                    .into_iter()
                    .map(|track| track.name),
            )
            .collect();
        tracing::info!(source = %source.name, publish, "live encode started");
        let (ended_sender, ended_receiver) = tokio::sync::oneshot::channel();
        self.runtime.spawn(follow(Follow {
            control: self.control.clone(),
            airings: self.airings.clone(),
            grant,
            publish,
            ladder: ladder.clone(),
            rungs,
            video,
            anchor,
            outputs: receiver,
            source_dir: self.media_root.join("live").join(&source.name),
            ll: llhls::LlFeed::new(ll, publish),
            ended: ended_receiver,
        }));
        Ok(Sink {
            ladder,
            ended: Some(ended_sender),
        })
    }
}

/// A publish's bytes into its ladder.
struct Sink {
    ladder: Arc<LiveLadder>,
    ended: Option<tokio::sync::oneshot::Sender<Ended>>,
}

impl PublishSink for Sink {
    fn data(&mut self, bytes: bytes::Bytes) {
        // A ladder that stopped reports why through its outputs.
        let _ = self.ladder.push(bytes);
    }

    fn ended(mut self: Box<Self>, how: Ended) {
        self.ladder.end_of_stream();
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(how);
        }
    }
}

/// Where a publish that could not start sends its bytes.
struct Discard;

impl PublishSink for Discard {
    fn data(&mut self, _bytes: bytes::Bytes) {}
    fn ended(self: Box<Self>, _how: Ended) {}
}

struct Follow {
    control: Control,
    airings: Arc<LiveAiringsLoop>,
    grant: PublishGrant,
    publish: i64,
    ladder: Arc<LiveLadder>,
    rungs: HashSet<String>,
    /// The renditions among `rungs` with video: a segment's duration is theirs (the grid's),
    /// not an audio track's whole AAC frames.
    video: HashSet<String>,
    anchor: Timestamp,
    outputs: mpsc::UnboundedReceiver<LiveOutput>,
    /// The source's folder, `{media}/live/{source}`: its publishes' files.
    source_dir: PathBuf,
    ll: llhls::LlFeed,
    ended: tokio::sync::oneshot::Receiver<Ended>,
}

/// Follows one publish: records each segment once every rung has it, moves the grid when the
/// source's next occurrence asks, reports the figures, and records how it ended.
async fn follow(mut follow: Follow) {
    let source = follow.grant.source.clone();
    let mut done: HashMap<Timestamp, (HashSet<String>, Option<Ticks>)> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let mut ticks = 0u64;
    let mut ended: Option<Ended> = None;
    let mut failure: Option<String> = None;
    let mut ended_at: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            output = follow.outputs.recv() => match follow.ll.pass(output) {
                Some(LiveOutput::Segment { rendition, start, duration, .. }) => {
                    if !follow.rungs.contains(&rendition) {
                        continue;
                    }
                    let entry = done.entry(start).or_insert_with(|| (HashSet::new(), None));
                    if follow.video.contains(&rendition) {
                        entry.1 = Some(duration);
                    }
                    entry.0.insert(rendition);
                    if entry.0.len() == follow.rungs.len()
                        && let Some(duration) = entry.1
                    {
                        done.remove(&start);
                        let record = SegmentRecord { start, duration };
                        let late = follow.control.clock.now() - (start + duration);
                        tracing::debug!(source = %source.name, start = %start.to_rfc3339_millis(), late_ms = late.as_millis(), "live segment complete");
                        if let Err(refusal) = follow.control.record_live_segment(&source, follow.publish, record).await {
                            tracing::warn!(source = %source.name, %refusal, "cannot record a live segment");
                        }
                    }
                    // Segments some rung never finished are not waited for.
                    done.retain(|at, _| *at + Ticks::from_secs(30) > start);
                }
                Some(LiveOutput::Failed { reason }) => {
                    tracing::error!(source = %source.name, publish = follow.publish, "the live encode failed: {reason}");
                    failure = Some(reason);
                }
                Some(LiveOutput::Ended) | None => break,
                Some(LiveOutput::Part { .. }) => {}
            },
            how = &mut follow.ended, if ended.is_none() => {
                ended = Some(how.unwrap_or_else(|_| Ended::Lost("the listener went away".to_owned())));
                // The ladder writes what it holds, then reports Ended; it has a while.
                ended_at = Some(tokio::time::Instant::now());
            }
            _ = ticker.tick() => {
                ticks += 1;
                if let Some(anchor) = follow.airings.anchor(&source.name)
                    && anchor.anchor != follow.anchor
                {
                    follow.ladder.set_anchor(anchor.anchor);
                    follow.anchor = anchor.anchor;
                    tracing::info!(source = %source.name, anchor = %anchor.anchor.to_rfc3339_millis(), "live grid moved to the next slot");
                }
                if ticks.is_multiple_of(120) {
                    // Once a minute: what no playlist can list any more goes.
                    let cutoff = follow.control.clock.now() - KEEP_LIVE_FILES;
                    forget_old(&follow.control, &source, &follow.source_dir, cutoff).await;
                }
                if ticks.is_multiple_of(4) {
                    let stats = stats_json(&follow.ladder.stats());
                    let _ = follow.control.report_live_stats(&source, follow.publish, &stats).await;
                }
                let gave_up = ended_at.is_some_and(|at| at.elapsed() > Duration::from_secs(15));
                if (failure.is_some() && ended.is_some()) || gave_up {
                    break;
                }
            }
        }
    }
    follow.ll.end();
    let (state, detail) = match (failure, ended) {
        (Some(reason), _) => (LiveState::Failed, reason),
        (None, Some(Ended::Closed)) => (
            LiveState::Idle,
            "the publisher closed the stream".to_owned(),
        ),
        (None, Some(Ended::Lost(reason))) => (LiveState::Lost, reason),
        (None, Some(Ended::Refused(reason))) => (LiveState::Failed, reason),
        (None, None) => (LiveState::Lost, "the encode ended by itself".to_owned()),
    };
    tracing::info!(source = %source.name, publish = follow.publish, %state, "publish ended: {detail}");
    if let Err(refusal) = follow
        .control
        .end_publish(&source, follow.publish, state, &detail)
        .await
    {
        tracing::warn!(source = %source.name, %refusal, "cannot record the end of a publish");
    }
}

fn stats_json(stats: &LiveStats) -> serde_json::Value {
    serde_json::json!({
        "frames_in": stats.frames_in,
        "dropped_frames": stats.dropped_frames,
        "duplicated_frames": stats.duplicated_frames,
        "lag_ms": stats.lag.map(|lag| lag.as_millis() as u64),
        "realtime_factor": stats.realtime_factor,
        "keeping_up": stats.keeping_up,
        "input_bitrate": stats.input_bitrate,
        "reanchors": stats.reanchors,
        // Why the publish airs silence instead of its audio (none, no decoder for it, …).
        "silent_audio": stats.silent_audio,
    })
}

/// How long a publish's files and segment records are kept: long past every playlist window,
/// and the as-run of the last hour.
const KEEP_LIVE_FILES: Ticks = Ticks::from_secs(3600);

/// Deletes the source's segment records and files that start before `cutoff`, in every publish
/// folder, and the publish folders left empty.
async fn forget_old(
    control: &Control,
    source: &onair_store::LiveSourceRow,
    source_dir: &std::path::Path,
    cutoff: Timestamp,
) {
    if let Err(error) = control.store.forget_live_segments(source.id, cutoff).await {
        tracing::warn!(source = %source.name, %error, "cannot forget old live segments");
    }
    let dir = source_dir.to_owned();
    let removed = tokio::task::spawn_blocking(move || remove_files_before(&dir, cutoff)).await;
    if let Ok(removed) = removed
        && removed > 0
    {
        tracing::debug!(source = %source.name, removed, "old live files removed");
    }
}

/// Removes `{dir}/{publish}/{rendition}/{start}[.{i}].{ts,m4s}` with `start` before `cutoff`,
/// then the rendition and publish folders left empty; how many files it removed.
fn remove_files_before(dir: &std::path::Path, cutoff: Timestamp) -> usize {
    let mut removed = 0;
    let Ok(publishes) = std::fs::read_dir(dir) else {
        return 0;
    };
    for publish in publishes.flatten() {
        let Ok(renditions) = std::fs::read_dir(publish.path()) else {
            continue;
        };
        for rendition in renditions.flatten() {
            let Ok(files) = std::fs::read_dir(rendition.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name();
                let start = name
                    .to_str()
                    .and_then(|name| name.split('.').next())
                    .and_then(|start| start.parse::<i64>().ok());
                let is_media = name
                    .to_str()
                    .is_some_and(|name| name.ends_with(".ts") || name.ends_with(".m4s"));
                if is_media
                    && start.is_some_and(|start| start < cutoff.0)
                    && std::fs::remove_file(file.path()).is_ok()
                {
                    removed += 1;
                }
            }
            // Only an empty folder goes (its init segment keeps a live one).
            let _ = std::fs::remove_dir(rendition.path());
        }
        let _ = std::fs::remove_dir(publish.path());
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_live_files_go_and_recent_ones_and_inits_stay() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("1/360p");
        let recent = dir.path().join("2/360p");
        let gone = dir.path().join("1/240p");
        for folder in [&old, &recent, &gone] {
            std::fs::create_dir_all(folder).unwrap();
        }
        for name in ["100.ts", "100.m4s", "100.0.m4s", "900.ts", "init-0.mp4"] {
            std::fs::write(old.join(name), b"x").unwrap();
        }
        std::fs::write(recent.join("900.ts"), b"x").unwrap();
        std::fs::write(gone.join("100.ts"), b"x").unwrap();
        let removed = remove_files_before(dir.path(), Timestamp(500));
        assert_eq!(removed, 4);
        let mut left: Vec<String> = std::fs::read_dir(&old)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["900.ts", "init-0.mp4"]);
        assert!(recent.join("900.ts").exists());
        assert!(!gone.exists(), "an emptied rendition folder goes");
    }
}
