//! Plans made for reading (the plan preview), kept a little while and made once however many
//! ask at the same time.
//!
//! Planning a channel reads its whole schedule and grid and runs the scheduler: a good part of
//! a second for a busy 14-day grid. The preview asks for it on every call, and an operator
//! page with several previews open, or a scheduler clicking through days, asks again and
//! again. The plan only changes when the channel's schedule version does (every edit of the
//! schedule, the grid or the channel bumps it), when its `replan_at` passes, or when an asset
//! it names changes state (a transcode that finishes, which bumps nothing). So a plan is kept
//! for the version it was made at until `replan_at` or [`PlanCache::FRESH_FOR`], whichever
//! comes first: a preview is at most that late with an asset's state, never with an edit.
//!
//! Playout does not use this: it plans each channel in its registry, once per version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onair_domain::{Channel, ChannelId, Ticks, Timestamp};
use onair_store::{Store, StoreError};
use tokio::sync::OnceCell;

use crate::grid::{ChannelPlan, plan_channel};

/// A plan per channel, for its schedule version. Cheap to clone: clones share the plans.
#[derive(Clone, Default)]
pub struct PlanCache {
    channels: Arc<Mutex<HashMap<ChannelId, Arc<Entry>>>>,
}

impl std::fmt::Debug for PlanCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let channels = self.lock().len();
        f.debug_struct("PlanCache")
            .field("channels", &channels)
            .finish()
    }
}

/// One channel's plan for one schedule version, made once by whoever asks first.
struct Entry {
    version: i64,
    made: OnceCell<Made>,
}

struct Made {
    at: Timestamp,
    plan: Arc<ChannelPlan>,
}

impl Made {
    fn fresh_at(&self, now: Timestamp) -> bool {
        now >= self.at
            && now - self.at < PlanCache::FRESH_FOR
            && self.plan.replan_at.is_none_or(|replan| now < replan)
    }
}

impl PlanCache {
    /// How long a plan is kept at most, for the asset states it read.
    pub const FRESH_FOR: Ticks = Ticks::from_secs(10);

    /// `channel`'s plan at `now` for schedule `version`: the kept one while fresh, else a new
    /// one, made once for everyone who asks meanwhile.
    pub async fn plan(
        &self,
        store: &Store,
        channel: &Channel,
        version: i64,
        now: Timestamp,
    ) -> Result<Arc<ChannelPlan>, StoreError> {
        // Twice at most: a plan that went stale while others waited for it is made again.
        for _ in 0..2 {
            let entry = self.entry(channel.id, version, now);
            let made = entry
                .made
                .get_or_try_init(|| async {
                    let plan = plan_channel(store, channel, now).await?;
                    Ok::<_, StoreError>(Made {
                        at: now,
                        plan: Arc::new(plan),
                    })
                })
                .await?;
            if made.fresh_at(now) {
                return Ok(Arc::clone(&made.plan));
            }
            self.forget(channel.id, &entry);
        }
        Ok(Arc::new(plan_channel(store, channel, now).await?))
    }

    /// The entry to wait on: the kept one when it is for `version` and (made or not) fresh,
    /// else a new one in its place.
    fn entry(&self, channel: ChannelId, version: i64, now: Timestamp) -> Arc<Entry> {
        let mut channels = self.lock();
        if let Some(entry) = channels.get(&channel)
            && entry.version == version
            && entry.made.get().is_none_or(|made| made.fresh_at(now))
        {
            return Arc::clone(entry);
        }
        let entry = Arc::new(Entry {
            version,
            made: OnceCell::new(),
        });
        channels.insert(channel, Arc::clone(&entry));
        entry
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
    async fn a_plan_is_kept_for_its_version_while_fresh_and_made_again_after() {
        let (store, channel) = channel().await;
        let cache = PlanCache::default();
        let first = cache.plan(&store, &channel, 1, at(0)).await.unwrap();
        let again = cache.plan(&store, &channel, 1, at(9)).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "kept for ten seconds");

        let edited = cache.plan(&store, &channel, 2, at(9)).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &edited), "another version plans again");
        let later = cache.plan(&store, &channel, 2, at(19)).await.unwrap();
        assert!(!Arc::ptr_eq(&edited, &later), "stale after ten seconds");
        // A clock that went back (a virtual clock restarted) is no reason to trust it.
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
