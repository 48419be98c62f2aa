//! The as-run recorder, a task of `onair serve`: every `as_run.interval` of clock time it
//! records, for every channel on air, the runs aired since its last record, from the plan
//! playout follows ([`onair_scheduler::as_run::aired`]: playout is deterministic, so what
//! aired is computed from the plan and the clock, up to the last whole segment).
//!
//! On start it resumes each channel from the end of its log (at most `as_run.max_recovery`
//! back): what aired while no recorder ran is recorded from the plan too, and marked
//! `recovered`, as is every run that began before the recorder was there to see it; runs that
//! began since are observed. A channel without a log, or back on air after the recorder saw it
//! off air, starts with the run on air (nothing airs off air). Recording a run again (another replica, a restart over what was already
//! written, the next record of a run still on air) extends its entry: see
//! [`onair_store::Store::record_as_run`]. The schedule version of an entry is the one the plan
//! it aired from was made from. With the playout directory ([`AsRunRecorder::with_live`]), what
//! live items and takes to air aired is laid over the plan ([`onair_control::live::as_run`]):
//! live runs, outages, the take and the return, recorded once their slots are decided.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onair_control::live::as_run::with_live;
use onair_control::registry::{PlannedChannel, PlannedChannels};
use onair_domain::{ChannelId, ChannelSlug, Clock, RunKind, Ticks, Timestamp};
use onair_playout::origin::Directory;
use onair_scheduler::as_run::{AiredRun, aired, aired_until};
use onair_store::{AsRunEntry, Store};

use crate::config::AsRunConfig;

/// Entries written per transaction when a long stretch is recorded at once.
const ENTRIES_PER_TRANSACTION: usize = 500;

/// The shortest real time between two records, whatever the clock's speed.
const MIN_WALL_PERIOD: Duration = Duration::from_millis(50);

/// How often to record in real time: `interval` of clock time at `speed` (1 for the system
/// clock), never more often than every [`MIN_WALL_PERIOD`].
pub fn wall_period(interval: Duration, speed: f64) -> Duration {
    if !(speed.is_finite() && speed > 0.0) {
        // A frozen clock: nothing new airs, so the wall interval is as good as any.
        return interval.max(MIN_WALL_PERIOD);
    }
    interval.div_f64(speed).max(MIN_WALL_PERIOD)
}

/// Where the recorder stands on one channel.
struct Cursor {
    id: ChannelId,
    /// Everything before it is recorded.
    recorded_until: Timestamp,
    /// When this recorder began to watch the channel: runs that began before are recovered.
    observed_from: Timestamp,
}

pub struct AsRunRecorder {
    store: Store,
    plans: Arc<dyn PlannedChannels>,
    clock: Arc<dyn Clock>,
    max_recovery: Ticks,
    cursors: HashMap<String, Cursor>,
    /// Channels seen off air, by slug: they start afresh when back on air.
    seen_off_air: HashSet<String>,
    /// Where each channel's live airings are, when live slots and takes are recorded.
    directory: Option<Arc<Directory>>,
}

impl AsRunRecorder {
    pub fn new(
        store: Store,
        plans: Arc<dyn PlannedChannels>,
        clock: Arc<dyn Clock>,
        config: &AsRunConfig,
    ) -> AsRunRecorder {
        AsRunRecorder {
            store,
            plans,
            clock,
            max_recovery: Ticks::from_millis(config.max_recovery.as_millis() as i64),
            cursors: HashMap::new(),
            seen_off_air: HashSet::new(),
            directory: None,
        }
    }

    /// Records what the channels' live items and takes aired, from `directory`'s playouts.
    pub fn with_live(mut self, directory: Arc<Directory>) -> AsRunRecorder {
        self.directory = Some(directory);
        self
    }

    /// Records what every channel on air aired since the last record; returns how many
    /// entries were written. A channel that cannot be recorded now is logged and tried again
    /// next time, from where it stood.
    pub async fn record(&mut self) -> usize {
        let now = self.clock.now();
        let planned = self.plans.planned();
        let present: HashSet<&str> = planned
            .iter()
            .map(|channel| channel.slug.as_str())
            .collect();
        self.cursors
            .retain(|slug, _| present.contains(slug.as_str()));
        self.seen_off_air
            .retain(|slug| present.contains(slug.as_str()));
        let mut written = 0;
        for channel in &planned {
            if !channel.on_air {
                // Nothing airs meanwhile: back on air, it starts afresh.
                self.cursors.remove(&channel.slug);
                self.seen_off_air.insert(channel.slug.clone());
                continue;
            }
            match self.record_channel(channel, now).await {
                Ok(count) => written += count,
                Err(error) => tracing::warn!(
                    channel = %channel.slug,
                    error = format!("{error:#}"),
                    "cannot record the as-run log; trying again later"
                ),
            }
        }
        written
    }

    async fn record_channel(
        &mut self,
        channel: &PlannedChannel,
        now: Timestamp,
    ) -> anyhow::Result<usize> {
        if !self.cursors.contains_key(&channel.slug) {
            let resume = !self.seen_off_air.contains(&channel.slug);
            let cursor = self.start(&channel.slug, now, resume).await?;
            self.seen_off_air.remove(&channel.slug);
            self.cursors.insert(channel.slug.clone(), cursor);
        }
        let cursor = self
            .cursors
            .get_mut(&channel.slug)
            .expect("inserted just above");
        let Some(until) = aired_until(&channel.plan, now) else {
            return Ok(0);
        };
        if until <= cursor.recorded_until {
            return Ok(0);
        }
        let version = channel.schedule_version;
        let mut runs = aired(&channel.plan, cursor.recorded_until, until);
        let mut until = until;
        if let Some(playout) = self
            .directory
            .as_ref()
            .and_then(|directory| directory.get(&channel.slug))
        {
            let live = playout.live().get();
            if !live.items.is_empty() {
                (runs, until) = with_live(
                    runs,
                    &live,
                    playout.timeline(),
                    cursor.recorded_until,
                    until,
                );
                if until <= cursor.recorded_until {
                    return Ok(0);
                }
            }
        }
        // Slate seen airing (not recovered after a restart): `onair_slate_aired_seconds_total`.
        let slate_millis: i64 = runs
            .iter()
            .filter(|run| run.kind == RunKind::Slate && run.start >= cursor.observed_from)
            .map(|run| (run.end - run.start).as_millis().max(0))
            .sum();
        onair_metrics::metrics().slate_aired(Duration::from_millis(slate_millis as u64));
        let entries: Vec<AsRunEntry> = runs
            .into_iter()
            .map(|run| {
                let recovered = run.run_start < cursor.observed_from;
                entry_of(run, version, recovered)
            })
            .collect();
        for chunk in entries.chunks(ENTRIES_PER_TRANSACTION) {
            self.store.record_as_run(cursor.id, chunk, now).await?;
        }
        cursor.recorded_until = until;
        Ok(entries.len())
    }

    /// Where a channel's recording starts: with `resume`, the end of its log, at most
    /// `max_recovery` back; otherwise, or without a log, now (with the run on air).
    async fn start(&self, slug: &str, now: Timestamp, resume: bool) -> anyhow::Result<Cursor> {
        let parsed = ChannelSlug::parse(slug)
            .with_context(|| format!("the planned channel {slug:?} has no valid slug"))?;
        let channel = self
            .store
            .channel_by_slug(&parsed)
            .await?
            .with_context(|| format!("channel {slug:?} is not in the database"))?;
        let oldest = now - self.max_recovery;
        let log_end = if resume {
            self.store.as_run_recorded_until(channel.id).await?
        } else {
            None
        };
        let recorded_until = match log_end {
            Some(end) if end >= oldest => end,
            Some(end) => {
                tracing::warn!(
                    channel = %slug,
                    from = %end,
                    until = %oldest,
                    "the as-run log has a gap: longer ago than as_run.max_recovery"
                );
                oldest
            }
            None => now,
        };
        if recorded_until < now {
            tracing::info!(
                channel = %slug,
                from = %recorded_until,
                until = %now,
                "recording the as-run log from the plan for the time no recorder saw"
            );
        }
        Ok(Cursor {
            id: channel.id,
            recorded_until,
            observed_from: now,
        })
    }

    /// Records every `wall_period` of real time until `stop` resolves, then once more, so that a
    /// clean shutdown leaves nothing to recover.
    pub async fn run(mut self, wall_period: Duration, stop: impl Future<Output = ()>) {
        let mut ticker = tokio::time::interval(wall_period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    self.record().await;
                }
                _ = &mut stop => {
                    self.record().await;
                    return;
                }
            }
        }
    }
}

/// A run as the log keeps it: named by the instant it began, up to where it has aired.
fn entry_of(run: AiredRun, schedule_version: i64, recovered: bool) -> AsRunEntry {
    AsRunEntry {
        start: run.run_start,
        end: run.end,
        kind: run.kind,
        schedule_item_id: run.item_id,
        title: run.title,
        asset_id: run.asset_id,
        live_source: run.live_source,
        ad_break: run.ad_break,
        media_sequence: run.media_sequence,
        schedule_version,
        recovered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use onair_domain::{
        Asset, AssetId, AssetState, Ladder, OutputFormat, Packaging, Rendition, ScheduleItemId,
        SegmentInfo,
    };
    use onair_scheduler::grid::AdBreakSpec;
    use onair_scheduler::{GridItem, Plan, PlanOptions, ProgrammeInfo, Start, plan_grid};
    use onair_store::NewChannel;

    /// 2026-10-25T12:00:00Z.
    const T0: i64 = 1_792_929_600;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(T0 + secs)
    }

    #[derive(Debug)]
    struct ManualClock(Mutex<Timestamp>);

    impl ManualClock {
        fn set(&self, at: Timestamp) {
            *self.0.lock().unwrap() = at;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().unwrap()
        }
    }

    struct Plans(Mutex<Vec<PlannedChannel>>);

    impl PlannedChannels for Plans {
        fn planned(&self) -> Vec<PlannedChannel> {
            self.0.lock().unwrap().clone()
        }
    }

    /// A ready asset of `secs` in 6 s segments.
    fn asset(id: i64, secs: i64) -> Asset {
        Asset {
            id: AssetId(id),
            title: format!("asset {id}"),
            source: String::new(),
            ladder_id: onair_domain::LadderId(1),
            state: AssetState::Ready,
            duration: Ticks::from_secs(secs),
            renditions: vec![Rendition {
                rung: "360p".into(),
                packaging: Packaging::Ts,
                codecs: String::new(),
                width: 640,
                height: 360,
                peak_bandwidth: 1,
                average_bandwidth: 1,
                init_path: None,
                segments: (0..secs / 6)
                    .map(|index| SegmentInfo {
                        index: index as u32,
                        duration: Ticks::from_secs(6),
                        size_bytes: 1,
                        path: format!("a{id}/{index}.ts"),
                    })
                    .collect(),
            }],
        }
    }

    /// Every 10 minutes from 0, a 9-minute show (item 100 + n) with a 30 s break after 4
    /// minutes; 30 s of slate before the next; repeating hourly.
    fn hourly_plan() -> Plan {
        let assets: HashMap<AssetId, Asset> = [asset(1, 510), asset(9, 30)]
            .into_iter()
            .map(|asset| (asset.id, asset))
            .collect();
        let items: Vec<GridItem> = (0..6)
            .map(|n| GridItem {
                id: Some(ScheduleItemId(100 + n)),
                breaks: vec![AdBreakSpec::at(Ticks::from_secs(240), Ticks::from_secs(30))],
                ..GridItem::new(
                    AssetId(1),
                    Start::Hard(at(600 * n)),
                    ProgrammeInfo::titled(format!("Show {n}")),
                )
            })
            .collect();
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            grid_repeat: Some(Ticks::from_secs(3600)),
            ..PlanOptions::default()
        };
        plan_grid(&items, &assets, &options).0
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Store,
        channel: ChannelId,
        clock: Arc<ManualClock>,
        plans: Arc<Plans>,
    }

    impl Fixture {
        async fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("onair.db").display());
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
            let channel = store
                .insert_channel(&NewChannel {
                    slug: ChannelSlug::parse("news").unwrap(),
                    name: "News".into(),
                    time_zone: chrono_tz::Europe::Berlin,
                    ladder_id: ladder,
                    outputs: vec![OutputFormat::HlsTs],
                    window_segments: 6,
                    grid_repeat: None,
                    on_air: true,
                })
                .await
                .unwrap()
                .id;
            let plans = Arc::new(Plans(Mutex::new(vec![PlannedChannel {
                slug: "news".into(),
                name: "News".into(),
                on_air: true,
                plan: Arc::new(hourly_plan()),
                schedule_version: 0,
                slate: None,
            }])));
            Fixture {
                _dir: dir,
                store,
                channel,
                clock: Arc::new(ManualClock(Mutex::new(at(0)))),
                plans,
            }
        }

        fn recorder(&self) -> AsRunRecorder {
            AsRunRecorder::new(
                self.store.clone(),
                self.plans.clone(),
                self.clock.clone(),
                &AsRunConfig::default(),
            )
        }

        /// Sets the clock to `secs` and records.
        async fn record_at(&self, recorder: &mut AsRunRecorder, secs: i64) -> usize {
            self.clock.set(at(secs));
            recorder.record().await
        }

        async fn log(&self) -> Vec<AsRunEntry> {
            self.store
                .as_run_between(self.channel, at(-86_400), at(30 * 86_400))
                .await
                .unwrap()
        }
    }

    /// `start-end kind item recovered` in seconds from T0.
    fn brief(entries: &[AsRunEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|entry| {
                format!(
                    "{}-{} {} {}{}",
                    (entry.start - at(0)).0 / 90_000,
                    (entry.end - at(0)).0 / 90_000,
                    onair_scheduler::as_run::kind_label(entry.kind, false),
                    entry.schedule_item_id.map_or(0, |id| id.0),
                    if entry.recovered { " recovered" } else { "" }
                )
            })
            .collect()
    }

    /// Every entry starts where the one before it ended.
    fn assert_contiguous(entries: &[AsRunEntry]) {
        for pair in entries.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "{:?}", brief(entries));
        }
    }

    #[tokio::test]
    async fn a_channel_seen_first_starts_with_the_run_on_air_and_records_grow_it_in_place() {
        let fixture = Fixture::new().await;
        let mut recorder = fixture.recorder();
        assert_eq!(fixture.record_at(&mut recorder, 100).await, 0);
        fixture.record_at(&mut recorder, 200).await;
        assert_eq!(
            brief(&fixture.log().await),
            ["0-198 programme 100 recovered"],
            "the run on air when first seen, to the last whole segment; its start was not seen"
        );
        fixture.record_at(&mut recorder, 300).await;
        fixture.record_at(&mut recorder, 600).await;
        let log = fixture.log().await;
        assert_eq!(
            brief(&log),
            [
                "0-240 programme 100 recovered",
                "240-270 ad_break 100",
                "270-540 programme 100",
                "540-570 slate 0",
                "570-600 slate 0",
            ]
        );
        assert_eq!(log[1].ad_break.map(|slot| slot.number), Some(0));
        assert_eq!(log[0].schedule_version, 0);
    }

    #[tokio::test]
    async fn a_restart_resumes_at_the_end_of_the_log_and_marks_the_time_it_missed_recovered() {
        let fixture = Fixture::new().await;
        let mut first = fixture.recorder();
        fixture.record_at(&mut first, 1).await;
        fixture.record_at(&mut first, 250).await;
        drop(first);
        // Down from 246 s to 1300 s, then up again.
        let mut second = fixture.recorder();
        fixture.record_at(&mut second, 1300).await;
        fixture.record_at(&mut second, 1500).await;
        let log = fixture.log().await;
        assert_contiguous(&log);
        assert_eq!(
            brief(&log),
            [
                "0-240 programme 100 recovered",
                "240-270 ad_break 100 recovered",
                "270-540 programme 100 recovered",
                "540-570 slate 0 recovered",
                "570-600 slate 0 recovered",
                "600-840 programme 101 recovered",
                "840-870 ad_break 101 recovered",
                "870-1140 programme 101 recovered",
                "1140-1170 slate 0 recovered",
                "1170-1200 slate 0 recovered",
                "1200-1440 programme 102 recovered",
                "1440-1470 ad_break 102",
                "1470-1500 programme 102",
            ]
        );
    }

    #[tokio::test]
    async fn two_recorders_on_one_database_record_each_run_once() {
        let fixture = Fixture::new().await;
        let (mut a, mut b) = (fixture.recorder(), fixture.recorder());
        for secs in [5, 400, 700, 1000, 3700] {
            fixture.record_at(&mut a, secs).await;
            fixture.record_at(&mut b, secs + 3).await;
        }
        let log = fixture.log().await;
        assert_contiguous(&log);
        assert_eq!(log.first().unwrap().start, at(0));
        assert_eq!(log.last().unwrap().end, at(3702));
        let starts: HashSet<Timestamp> = log.iter().map(|entry| entry.start).collect();
        assert_eq!(starts.len(), log.len());
        assert_eq!(
            log.iter()
                .filter(|entry| entry.schedule_item_id == Some(ScheduleItemId(100)))
                .count(),
            3 + 1,
            "show 0 in three runs in the first hour, and its first run again in the second"
        );
    }

    #[tokio::test]
    async fn a_fast_clock_is_kept_up_with_whatever_it_covers_between_records() {
        let fixture = Fixture::new().await;
        let mut recorder = fixture.recorder();
        fixture.record_at(&mut recorder, 0).await;
        let written = fixture.record_at(&mut recorder, 7 * 86_400).await;
        let log = fixture.log().await;
        assert_eq!(written, log.len());
        assert_eq!(
            log.len(),
            7 * 24 * 6 * 5,
            "five runs per ten minutes for a week"
        );
        assert_contiguous(&log);
        assert_eq!(log.last().unwrap().end, at(7 * 86_400));
    }

    #[tokio::test]
    async fn a_channel_off_air_is_not_recorded_and_starts_afresh_when_back() {
        let fixture = Fixture::new().await;
        let mut recorder = fixture.recorder();
        fixture.record_at(&mut recorder, 10).await;
        fixture.record_at(&mut recorder, 100).await;
        fixture.plans.0.lock().unwrap()[0].on_air = false;
        fixture.record_at(&mut recorder, 1000).await;
        assert_eq!(fixture.log().await.last().unwrap().end, at(96));
        fixture.plans.0.lock().unwrap()[0].on_air = true;
        fixture.record_at(&mut recorder, 2000).await;
        fixture.record_at(&mut recorder, 2100).await;
        assert_eq!(
            brief(&fixture.log().await),
            [
                "0-96 programme 100 recovered",
                "1800-2040 programme 103 recovered",
                "2040-2070 ad_break 103",
                "2070-2100 programme 103"
            ],
            "back on air, the run on air is the first recorded: its start was not seen"
        );
    }

    #[tokio::test]
    async fn entries_carry_the_schedule_version_of_the_plan_they_aired_from() {
        let fixture = Fixture::new().await;
        let mut recorder = fixture.recorder();
        fixture.record_at(&mut recorder, 0).await;
        fixture.record_at(&mut recorder, 300).await;
        fixture
            .store
            .replace_schedule(fixture.channel, &[])
            .await
            .unwrap();
        // The server reloads the channel: a new plan (the same runs, for the test).
        {
            let mut plans = fixture.plans.0.lock().unwrap();
            plans[0].plan = Arc::new(hourly_plan());
            plans[0].schedule_version = 1;
        }
        fixture.record_at(&mut recorder, 600).await;
        let versions: Vec<i64> = fixture
            .log()
            .await
            .iter()
            .map(|entry| entry.schedule_version)
            .collect();
        assert_eq!(
            versions,
            [0, 0, 0, 1, 1],
            "a run keeps the version it began airing from: {:?}",
            brief(&fixture.log().await)
        );
    }

    #[test]
    fn the_recorder_ticks_faster_in_real_time_on_a_faster_clock_but_not_without_bound() {
        let five = Duration::from_secs(5);
        assert_eq!(wall_period(five, 1.0), five);
        assert_eq!(wall_period(five, 10.0), Duration::from_millis(500));
        assert_eq!(wall_period(five, 6000.0), MIN_WALL_PERIOD);
        assert_eq!(wall_period(five, 0.0), five, "a frozen clock");
    }
}
