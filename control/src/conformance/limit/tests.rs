//! The conformance limits: starts per caller over a sliding minute (on instants given), and
//! whole checks of a channel on a SQLite store in memory, one held open by an inspector that
//! waits to be released.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use onair_conformance::{LoudnessMeasure, SegmentProbe};
use onair_domain::{
    ChannelSlug, FixedClock, Ladder, OutputFormat, Packaging, Rendition, SegmentInfo, Ticks,
    Timestamp,
};
use onair_store::{NewChannel, NewScheduleItem, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{CALLERS_KEPT, ConformanceLimiter, ConformanceLimits, Starts, WINDOW, whole_seconds};
use crate::Control;
use crate::Refusal;
use crate::conformance::{
    ChannelCheck, CheckOptions, LoudnessRequest, MediaInspector, ProbeRequest,
};

/// 12:00:00 UTC on 4 December 2026.
const T0: i64 = 1_796_385_600;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_caller_past_the_per_minute_limit_waits_for_the_oldest_start_to_leave_the_minute() {
    let base = Instant::now();
    let mut starts = Starts::default();
    for at in [0, 10, 20] {
        assert_eq!(starts.start("alice", base + secs(at), 3), Ok(()), "{at} s");
    }
    assert_eq!(
        starts.start("alice", base + secs(25), 3),
        Err(secs(35)),
        "the start at 0 s leaves the minute at 60 s"
    );
    assert_eq!(
        starts.start("bob", base + secs(25), 3),
        Ok(()),
        "another caller has a minute of their own"
    );
    assert_eq!(starts.start("alice", base + secs(59), 3), Err(secs(1)));
    assert_eq!(starts.start("alice", base + secs(60), 3), Ok(()));
    assert_eq!(
        starts.start("alice", base + secs(61), 3),
        Err(secs(9)),
        "now the start at 10 s is the oldest"
    );
}

#[test]
fn a_start_taken_back_does_not_count() {
    let base = Instant::now();
    let mut starts = Starts::default();
    assert_eq!(starts.start("alice", base, 1), Ok(()));
    starts.forget("alice", base);
    assert_eq!(starts.callers(), 0, "a caller with no start is not kept");
    assert_eq!(starts.start("alice", base + secs(1), 1), Ok(()));
}

#[test]
fn no_start_allowed_asks_to_wait_a_whole_minute() {
    let mut starts = Starts::default();
    assert_eq!(starts.start("alice", Instant::now(), 0), Err(WINDOW));
}

#[test]
fn callers_idle_for_a_minute_are_forgotten_once_many_are_kept() {
    let base = Instant::now();
    let mut starts = Starts::default();
    for caller in 0..CALLERS_KEPT {
        starts.start(&format!("user{caller}"), base, 6).unwrap();
    }
    starts.start("late", base + secs(30), 6).unwrap();
    assert_eq!(
        starts.callers(),
        CALLERS_KEPT + 1,
        "callers who started within the minute are all kept"
    );
    starts.start("later", base + secs(61), 6).unwrap();
    assert_eq!(
        starts.callers(),
        2,
        "those who started a minute ago are forgotten"
    );
}

#[test]
fn retry_after_is_whole_seconds_rounded_up_and_never_zero() {
    assert_eq!(whole_seconds(Duration::ZERO), 1);
    assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
    assert_eq!(whole_seconds(secs(2)), 2);
    assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
}

/// A control plane over channel `news`, on air, airing a 10-minute asset (every rung of the
/// demo ladder) from T0, with `limits`.
async fn control(limits: ConformanceLimits) -> Control {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
    let channel = store
        .insert_channel(&NewChannel {
            slug: ChannelSlug::parse("news").unwrap(),
            name: "News".into(),
            time_zone: chrono_tz::UTC,
            ladder_id: ladder,
            outputs: vec![OutputFormat::HlsTs],
            window_segments: 5,
            grid_repeat: None,
            on_air: true,
        })
        .await
        .unwrap();
    let asset = store.insert_asset("film", "film", ladder).await.unwrap();
    let renditions: Vec<Rendition> = Ladder::demo()
        .rungs
        .iter()
        .map(|rung| Rendition {
            rung: rung.name.clone(),
            packaging: Packaging::Ts,
            codecs: "avc1.64001e,mp4a.40.2".into(),
            width: rung.width,
            height: rung.height,
            peak_bandwidth: 1_000_000,
            average_bandwidth: 900_000,
            init_path: None,
            segments: (0..300)
                .map(|index| SegmentInfo {
                    index,
                    duration: Ticks::from_secs(2),
                    size_bytes: 1000,
                    path: format!("assets/{}/{}/ts/{index:05}.ts", asset.0, rung.name),
                })
                .collect(),
        })
        .collect();
    store
        .publish_asset(asset, Ticks::from_secs(600), &renditions)
        .await
        .unwrap();
    store
        .replace_schedule(
            channel.id,
            &[NewScheduleItem {
                asset_id: asset,
                start: Timestamp::from_unix_secs(T0),
                hard_start: true,
                title: "Film".into(),
                length: None,
            }],
        )
        .await
        .unwrap();
    let clock = Arc::new(FixedClock(Timestamp::from_unix_secs(T0)));
    Control {
        conformance_limiter: ConformanceLimiter::new(limits),
        ..Control::new(store, clock)
    }
}

fn one_hour() -> CheckOptions {
    CheckOptions {
        profile: None,
        hours: 1,
    }
}

/// An inspector whose first probe says it started, then waits until the test drops the
/// release; every probe then fails (no media here).
struct HeldInspector {
    started: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    release: std::sync::Mutex<mpsc::Receiver<()>>,
}

impl HeldInspector {
    /// The inspector, what says its first probe started, and what releases it when dropped.
    fn new() -> (Arc<HeldInspector>, oneshot::Receiver<()>, mpsc::Sender<()>) {
        let (started, probing) = oneshot::channel();
        let (release, released) = mpsc::channel();
        let inspector = HeldInspector {
            started: std::sync::Mutex::new(Some(started)),
            release: std::sync::Mutex::new(released),
        };
        (Arc::new(inspector), probing, release)
    }
}

impl MediaInspector for HeldInspector {
    fn probe(&self, _request: &ProbeRequest) -> Result<SegmentProbe, String> {
        if let Some(started) = self.started.lock().unwrap().take() {
            let _ = started.send(());
            let _ = self.release.lock().unwrap().recv();
        }
        Err("no media in this test".to_owned())
    }

    fn loudness(&self, _request: &LoudnessRequest) -> Result<LoudnessMeasure, String> {
        Err("no media in this test".to_owned())
    }
}

/// A check of `news` by alice, on its own task, once it holds its place (it reached its
/// inspector); dropping the sender lets it go on.
async fn held_check(
    control: &Control,
) -> (JoinHandle<Result<ChannelCheck, Refusal>>, mpsc::Sender<()>) {
    let (inspector, probing, release) = HeldInspector::new();
    let check = {
        let control = control.clone();
        tokio::spawn(async move {
            control
                .check_channel("news", one_hour(), Some(inspector), "alice")
                .await
        })
    };
    tokio::time::timeout(secs(30), probing)
        .await
        .expect("the check reached no probe within 30 s")
        .expect("the inspector was dropped before probing");
    (check, release)
}

fn too_many(result: Result<impl std::fmt::Debug, Refusal>) -> (String, Duration) {
    match result {
        Err(Refusal::TooMany {
            message,
            retry_after,
        }) => (message, retry_after),
        other => panic!("expected TooMany, got {other:?}"),
    }
}

#[tokio::test]
async fn a_second_check_is_refused_while_the_only_one_allowed_runs_and_runs_once_it_is_done() {
    let control = control(ConformanceLimits {
        concurrent: 1,
        wait: Duration::from_millis(100),
        per_minute: 1,
    })
    .await;
    let (first, release) = held_check(&control).await;

    let (message, retry_after) =
        too_many(control.check_channel("news", one_hour(), None, "bob").await);
    assert!(
        message.contains("1 conformance check(s) are running on this server, the most at once"),
        "{message}"
    );
    assert!(
        retry_after > Duration::ZERO && retry_after <= WINDOW,
        "{retry_after:?}"
    );

    drop(release);
    let first = first.await.unwrap().expect("the first check ran");
    assert_eq!(first.channel, "news");
    let second = control
        .check_channel("news", one_hour(), None, "bob")
        .await
        .expect("the refused check did not count against bob's minute, and runs now");
    assert!(second.report.observed.snapshots > 0);
}

#[tokio::test]
async fn a_check_whose_caller_went_away_holds_its_place_until_its_work_is_done() {
    let control = control(ConformanceLimits {
        concurrent: 1,
        wait: Duration::from_millis(100),
        per_minute: 6,
    })
    .await;
    let (first, release) = held_check(&control).await;
    first.abort();
    let _ = first.await;

    too_many(control.check_channel("news", one_hour(), None, "bob").await);
    drop(release);
    // The blocking probe ends once released; its place comes back then.
    let limiter = control.conformance_limiter.clone();
    tokio::time::timeout(secs(30), async {
        while limiter.running.available_permits() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the place came back once the work was done");
    control
        .check_channel("news", one_hour(), None, "bob")
        .await
        .expect("runs once the abandoned check's work is done");
}

#[tokio::test]
async fn one_caller_past_the_per_minute_limit_is_refused_while_another_is_not() {
    let control = control(ConformanceLimits {
        concurrent: 2,
        wait: Duration::from_millis(100),
        per_minute: 1,
    })
    .await;
    control
        .check_channel("news", one_hour(), None, "alice")
        .await
        .expect("alice's first check");

    let (message, retry_after) = too_many(
        control
            .check_channel("news", one_hour(), None, "alice")
            .await,
    );
    assert!(
        message.starts_with(
            "alice has started 1 conformance check(s) in the last minute, the most one user may; try again in "
        ),
        "{message}"
    );
    assert!(
        retry_after > Duration::ZERO && retry_after <= WINDOW,
        "{retry_after:?}"
    );
    control
        .check_channel("news", one_hour(), None, "bob")
        .await
        .expect("bob has a minute of his own");
}

#[tokio::test]
async fn what_is_cheap_to_refuse_is_refused_before_the_limits_count() {
    let control = control(ConformanceLimits {
        concurrent: 1,
        wait: Duration::from_millis(100),
        per_minute: 1,
    })
    .await;
    let hours = CheckOptions {
        profile: None,
        hours: 49,
    };
    assert!(matches!(
        control.check_channel("news", hours, None, "alice").await,
        Err(Refusal::Invalid(_))
    ));
    assert!(matches!(
        control
            .check_channel("nowhere", one_hour(), None, "alice")
            .await,
        Err(Refusal::NotFound(_))
    ));
    control
        .check_channel("news", one_hour(), None, "alice")
        .await
        .expect("the refused calls did not use alice's one check a minute");
}
