//! Plans made for reading (the plan preview), kept a little while and made once however many
//! ask at the same time.
//!
//! Planning a channel reads its whole schedule and grid and runs the scheduler: a good part of
//! a second for a busy 14-day grid. The preview asks for it on every call, and an operator
//! page with several previews open, or a scheduler clicking through days, asks again and
//! again. The plan only changes when the channel's schedule version does (every edit of the
//! schedule, the grid or the channel bumps it), when its `replan_at` passes, or when an asset
//! it names changes state (a transcode that finishes, which bumps nothing).
//!
//! So a plan is kept for the version it was made at. Callers for another version, or past the
//! plan's `replan_at`, wait for a new plan (made once for all of them). A plan older than
//! [`PlanCache::FRESH_FOR`] is still answered, while one caller's refresh runs in the
//! background, up to [`PlanCache::STALE_FOR`]: a preview is at most that late with an asset's
//! state, never with an edit, and no caller waits for a replan that only refreshes.
//!
//! Playout does not use this: it plans each channel in its registry, once per version.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use onair_domain::{Channel, ChannelId, Ticks, Timestamp};
use onair_store::{Store, StoreError};
use tokio::sync::OnceCell;

use crate::grid::{ChannelPlan, plan_channel};
use crate::schedule::reads::ScheduleReads;

/// A plan per channel, for its schedule version, and what schedule reads keep
/// ([`ScheduleReads`]). Cheap to clone: clones share both.
#[derive(Clone, Default)]
pub struct PlanCache {
    channels: Arc<Mutex<HashMap<ChannelId, Arc<Entry>>>>,
    reads: ScheduleReads,
}

impl std::fmt::Debug for PlanCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let channels = self.lock().len();
        f.debug_struct("PlanCache")
            .field("channels", &channels)
            .finish()
    }
}

impl PlanCache {
    /// What the schedule reads of this server keep.
    pub fn reads(&self) -> &ScheduleReads {
        &self.reads
    }
}

/// One channel's plan for one schedule version, made once by whoever asks first.
struct Entry {
    version: i64,
    made: OnceCell<Made>,
    /// A refresh of this entry's plan is under way.
    refreshing: AtomicBool,
}

impl Entry {
    fn new(version: i64) -> Entry {
        Entry {
            version,
            made: OnceCell::new(),
            refreshing: AtomicBool::new(false),
        }
    }
}

struct Made {
    at: Timestamp,
    plan: Arc<ChannelPlan>,
}

/// What a kept plan is worth at an instant.
#[derive(Debug, PartialEq, Eq)]
enum Worth {
    Fresh,
    /// Answered, and refreshed in the background.
    Stale,
    /// Made again before anyone is answered.
    Spent,
}

impl Made {
    fn worth_at(&self, now: Timestamp) -> Worth {
        if now < self.at || self.plan.replan_at.is_some_and(|replan| now >= replan) {
            // A clock that went back (a virtual clock restarted) is no reason to trust it.
            return Worth::Spent;
        }
        match now - self.at {
            age if age < PlanCache::FRESH_FOR => Worth::Fresh,
            age if age < PlanCache::STALE_FOR => Worth::Stale,
            _ => Worth::Spent,
        }
    }
}

impl PlanCache {
    /// How long a plan is answered without a refresh.
    pub const FRESH_FOR: Ticks = Ticks::from_secs(10);
    /// How long a plan is answered at most (while a refresh runs), for the asset states it read.
    pub const STALE_FOR: Ticks = Ticks::from_secs(300);

    /// `channel`'s plan at `now` for schedule `version` (see the module doc).
    pub async fn plan(
        &self,
        store: &Store,
        channel: &Channel,
        version: i64,
        now: Timestamp,
    ) -> Result<Arc<ChannelPlan>, StoreError> {
        // Twice at most: a plan spent while others waited for it is made again.
        for _ in 0..2 {
            let entry = self.entry(channel.id, version, now);
            let made = entry
                .made
                .get_or_try_init(|| make(store, channel, now))
                .await?;
            match made.worth_at(now) {
                Worth::Fresh => return Ok(Arc::clone(&made.plan)),
                Worth::Stale => {
                    self.refresh(&entry, store, channel, now);
                    return Ok(Arc::clone(&made.plan));
                }
                Worth::Spent => self.forget(channel.id, &entry),
            }
        }
        Ok(make(store, channel, now).await?.plan)
    }

    /// The entry to wait on: the kept one when it is for `version` and not spent, else a new
    /// one in its place.
    fn entry(&self, channel: ChannelId, version: i64, now: Timestamp) -> Arc<Entry> {
        let mut channels = self.lock();
        if let Some(entry) = channels.get(&channel)
            && entry.version == version
            && entry
                .made
                .get()
                .is_none_or(|made| made.worth_at(now) != Worth::Spent)
        {
            return Arc::clone(entry);
        }
        let entry = Arc::new(Entry::new(version));
        channels.insert(channel, Arc::clone(&entry));
        entry
    }

    /// Makes `entry`'s plan again in the background (once, whoever asks), and puts it in the
    /// entry's place while that is still the channel's.
    fn refresh(&self, entry: &Arc<Entry>, store: &Store, channel: &Channel, now: Timestamp) {
        if entry.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (cache, entry, store, channel) = (
            self.clone(),
            Arc::clone(entry),
            store.clone(),
            channel.clone(),
        );
        tokio::spawn(async move {
            match make(&store, &channel, now).await {
                Ok(made) => {
                    let fresh = Entry::new(entry.version);
                    let _ = fresh.made.set(made);
                    let mut channels = cache.lock();
                    if channels
                        .get(&channel.id)
                        .is_some_and(|kept| Arc::ptr_eq(kept, &entry))
                    {
                        channels.insert(channel.id, Arc::new(fresh));
                    }
                }
                Err(error) => {
                    tracing::warn!(channel = %channel.slug, %error, "cannot refresh a kept plan");
                    entry.refreshing.store(false, Ordering::Release);
                }
            }
        });
    }

    fn forget(&self, channel: ChannelId, entry: &Arc<Entry>) {
        let mut channels = self.lock();
        if channels
            .get(&channel)
            .is_some_and(|kept| Arc::ptr_eq(kept, entry))
        {
            channels.remove(&channel);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Arc<Entry>>> {
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn make(store: &Store, channel: &Channel, now: Timestamp) -> Result<Made, StoreError> {
    let plan = plan_channel(store, channel, now).await?;
    Ok(Made {
        at: now,
        plan: Arc::new(plan),
    })
}

#[cfg(test)]
mod tests {
    use onair_domain::{ChannelSlug, Ladder, OutputFormat};
    use onair_store::NewChannel;

    use super::*;

    /// 12:00:00 UTC on 4 December 2026.
    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_796_385_600 + secs)
    }

    async fn channel() -> (Store, Channel) {
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
        (store, channel)
    }

    #[tokio::test]
    async fn a_plan_is_kept_for_its_version_refreshed_behind_when_stale_and_made_again_when_spent()
    {
        let (store, channel) = channel().await;
        let cache = PlanCache::default();
        let first = cache.plan(&store, &channel, 1, at(0)).await.unwrap();
        let again = cache.plan(&store, &channel, 1, at(9)).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "fresh for ten seconds");

        // Stale: answered at once, and refreshed behind the caller.
        let stale = cache.plan(&store, &channel, 1, at(60)).await.unwrap();
        assert!(Arc::ptr_eq(&first, &stale), "a stale plan is answered");
        let mut refreshed = Arc::clone(&stale);
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            refreshed = cache.plan(&store, &channel, 1, at(61)).await.unwrap();
            if !Arc::ptr_eq(&refreshed, &first) {
                break;
            }
        }
        assert!(
            !Arc::ptr_eq(&refreshed, &first),
            "the refresh took the stale plan's place"
        );

        // Another version waits for its own plan.
        let edited = cache.plan(&store, &channel, 2, at(61)).await.unwrap();
        assert!(
            !Arc::ptr_eq(&refreshed, &edited),
            "another version plans again"
        );
        // Spent after five minutes, or when the clock went back: made before answering.
        let later = cache.plan(&store, &channel, 2, at(61 + 300)).await.unwrap();
        assert!(!Arc::ptr_eq(&edited, &later), "spent after five minutes");
        let earlier = cache.plan(&store, &channel, 2, at(5)).await.unwrap();
        assert!(!Arc::ptr_eq(&later, &earlier));
    }

    #[tokio::test]
    async fn many_asking_at_once_share_one_plan() {
        let (store, channel) = channel().await;
        let cache = PlanCache::default();
        let ask = || cache.plan(&store, &channel, 7, at(0));
        let (a, b, c, d) = tokio::join!(ask(), ask(), ask(), ask());
        let plans = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
        assert!(plans.iter().all(|plan| Arc::ptr_eq(plan, &plans[0])));
        assert_eq!(format!("{cache:?}"), "PlanCache { channels: 1 }");
    }
}
