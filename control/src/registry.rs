//! The registry of planned channels: keeps playout's channel directory and the plans the EPG
//! and the as-run recorder read in step with the database. It loads each channel's grid, plans
//! it ([`crate::grid::plan_channel`]: stored items and grid through the scheduler's pipeline),
//! and reloads a channel when its schedule version or its row changes or when its plan reaches
//! a new local day (a grid planned 14 days ahead moves on daily). The plan each channel was
//! loaded from is kept in a [`PlanDirectory`]: one planning, so the EPG lists exactly what
//! playout airs. Retired channels are dropped. A channel whose grid has nothing that can air
//! loops its slate rather than going dark.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use onair_domain::{
    Asset, AssetId, Channel, ChannelId, Clock, Run, RunKind, SegmentTrack, SystemClock, Ticks,
    Timeline, Timestamp,
};
use onair_playout::origin::Directory;
use onair_playout::{ChannelPlayout, LiveHandle};
use onair_scheduler::Plan;
use onair_store::{Store, StoreError};

use crate::grid::plan_channel;

/// Why a channel could not be loaded (it stays as it was, or off air).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Channel(String),
}

/// A loaded channel and the plan playout follows.
#[derive(Debug, Clone)]
pub struct PlannedChannel {
    pub slug: String,
    pub name: String,
    pub on_air: bool,
    pub plan: Arc<Plan>,
    /// The schedule version the plan was made from (what the as-run log credits).
    pub schedule_version: i64,
    /// The slate it airs when nothing else can, in its playout's assets.
    pub slate: Option<AssetId>,
}

/// Where the EPG gets the plans from; the binary provides it (from its channel loader).
pub trait PlannedChannels: Send + Sync {
    /// Every loaded channel, by slug.
    fn planned(&self) -> Vec<PlannedChannel>;
}

/// The plan each loaded channel airs, by slug: what the EPG is built from.
#[derive(Debug, Default)]
pub struct PlanDirectory(RwLock<HashMap<String, PlannedChannel>>);

impl PlanDirectory {
    pub fn replace(&self, channel: PlannedChannel) {
        let mut plans = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        plans.insert(channel.slug.clone(), channel);
    }

    pub fn remove(&self, slug: &str) {
        let mut plans = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        plans.remove(slug);
    }
}

impl PlannedChannels for PlanDirectory {
    fn planned(&self) -> Vec<PlannedChannel> {
        let plans = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut channels: Vec<PlannedChannel> = plans.values().cloned().collect();
        channels.sort_by(|a, b| a.slug.cmp(&b.slug));
        channels
    }
}

/// The assets the loaded channels air, each held once however many channels air it: a channel's
/// playout holds an `Arc` of every asset its plan names, its renditions and their segments, so
/// 1,000 channels drawing from one library would otherwise hold the library 1,000 times over.
#[derive(Debug, Default)]
pub struct AssetShelf(Mutex<HashMap<AssetId, Weak<Asset>>>);

impl AssetShelf {
    /// The shelf's copy of `asset` when it holds an equal one, else `asset`, shelved.
    pub fn share(&self, asset: Asset) -> Arc<Asset> {
        let mut shelf = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shelved) = shelf.get(&asset.id).and_then(Weak::upgrade)
            && *shelved == asset
        {
            return shelved;
        }
        let asset = Arc::new(asset);
        shelf.insert(asset.id, Arc::downgrade(&asset));
        asset
    }

    /// Forgets the assets no channel holds any more.
    pub fn prune(&self) {
        let mut shelf = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        shelf.retain(|_, asset| asset.strong_count() > 0);
    }

    /// How many assets it holds.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps the directory and the plans in step with the database (see the module doc).
pub struct ChannelRefresher {
    store: Store,
    directory: Arc<Directory>,
    plans: Arc<PlanDirectory>,
    /// What each loaded channel was loaded from: the channel row and its schedule version.
    loaded: HashMap<ChannelId, (Channel, i64)>,
    /// When a loaded channel's plan must be made again, whatever its version: its window moves
    /// on with the days.
    replan_at: HashMap<ChannelId, Timestamp>,
    /// Where plans start from: the server's clock.
    clock: Arc<dyn Clock>,
    /// How far behind the clock a channel's live edge is, from when it is first loaded (see
    /// [`LiveHandle`]).
    live_delay: Ticks,
    /// The loaded channels' assets, each held once.
    shelf: AssetShelf,
}

impl ChannelRefresher {
    pub fn new(
        store: Store,
        directory: Arc<Directory>,
        plans: Arc<PlanDirectory>,
    ) -> ChannelRefresher {
        ChannelRefresher {
            store,
            directory,
            plans,
            loaded: HashMap::new(),
            replan_at: HashMap::new(),
            clock: Arc::new(SystemClock),
            live_delay: Ticks::ZERO,
            shelf: AssetShelf::default(),
        }
    }

    /// Channels list their segments `delay` late (a live slot's deadline and margin), so their
    /// live edge never moves at a switch to or from live.
    pub fn with_live_delay(mut self, delay: Ticks) -> ChannelRefresher {
        self.live_delay = delay;
        self
    }

    /// Plans with `clock` (the one playout and the API use) instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ChannelRefresher {
        self.clock = clock;
        self
    }

    /// Loads every channel whose schedule changed since the last call or whose plan is due to
    /// be made again, drops deleted ones.
    pub async fn refresh_all(&mut self) -> Result<(), LoadError> {
        let now = self.clock.now();
        let versions: HashMap<ChannelId, i64> =
            self.store.schedule_versions().await?.into_iter().collect();
        let mut channels = self.store.channels().await?;
        channels.retain(|channel| !channel.retired);
        let present: HashSet<ChannelId> = channels.iter().map(|channel| channel.id).collect();
        for channel in channels {
            let version = versions.get(&channel.id).copied().unwrap_or(0);
            let stamp = (channel.clone(), version);
            let due = self.replan_at.get(&channel.id).is_some_and(|at| now >= *at);
            if self.loaded.get(&channel.id) == Some(&stamp) && !due {
                continue;
            }
            let (id, slug) = (channel.id, channel.slug.to_string());
            let (name, on_air) = (channel.name.clone(), channel.on_air);
            match load_channel_sharing(&self.store, channel, now, &self.shelf).await {
                Ok(LoadedChannel {
                    playout,
                    plan,
                    replan_at,
                    slate,
                }) => {
                    // A new plan keeps what the channel's live items aired (the past is locked),
                    // and its live delay.
                    let playout = match self.directory.get(&slug) {
                        Some(old) => playout.with_live(old.live().clone()),
                        None => playout.with_live(LiveHandle::with_delay(self.live_delay)),
                    };
                    self.directory.replace(&slug, Arc::new(playout));
                    self.plans.replace(PlannedChannel {
                        slug: slug.clone(),
                        name,
                        on_air,
                        plan: Arc::new(plan),
                        schedule_version: version,
                        slate,
                    });
                    self.loaded.insert(id, stamp);
                    match replan_at {
                        Some(at) => self.replan_at.insert(id, at),
                        None => self.replan_at.remove(&id),
                    };
                }
                Err(error) => {
                    tracing::error!(channel = %slug, %error, "cannot load channel")
                }
            }
        }
        let gone: Vec<ChannelId> = self
            .loaded
            .keys()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.replan_at.remove(&id);
            if let Some((channel, _)) = self.loaded.remove(&id) {
                self.directory.remove(channel.slug.as_str());
                self.plans.remove(channel.slug.as_str());
            }
        }
        self.shelf.prune();
        Ok(())
    }

    pub async fn run(mut self, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = self.refresh_all().await {
                tracing::warn!(%error, "cannot refresh the channels");
            }
        }
    }
}

/// A channel as [`load_channel`] plans it.
pub struct LoadedChannel {
    pub playout: ChannelPlayout,
    /// The plan it follows: its timeline the one playout airs.
    pub plan: Plan,
    /// When the plan must be made again.
    pub replan_at: Option<Timestamp>,
    /// The slate it airs when nothing else can (its own or its generated one).
    pub slate: Option<AssetId>,
}

/// Plans `channel` from the store at `now` as every replica does: the plan, folded, with the
/// slate looping after its end (or alone when nothing in the grid can air).
pub async fn load_channel(
    store: &Store,
    channel: Channel,
    now: Timestamp,
) -> Result<LoadedChannel, LoadError> {
    load_channel_sharing(store, channel, now, &AssetShelf::default()).await
}

/// [`load_channel`], its assets taken from `shelf` where another channel holds them already.
pub async fn load_channel_sharing(
    store: &Store,
    channel: Channel,
    now: Timestamp,
    shelf: &AssetShelf,
) -> Result<LoadedChannel, LoadError> {
    let ladder = store.ladder(channel.ladder_id).await?.ok_or_else(|| {
        LoadError::Channel(format!(
            "channel {} refers to ladder {:?}, which does not exist",
            channel.slug, channel.ladder_id
        ))
    })?;
    // Items alone plan exactly as `plan_stored` planned them; a grid goes through the
    // pipeline, in stages by version.
    let planned = plan_channel(store, &channel, now).await?;
    for note in &planned.notes {
        tracing::warn!(channel = %channel.slug, "{note}");
    }
    let (plan, issues, assets) = (planned.plan, planned.problems, planned.assets);
    let slate_id = planned.slate;
    for issue in issues.iter().take(20) {
        tracing::warn!(channel = %channel.slug, "{issue}");
    }
    // A grid of identical rotations is held once: same segments, numbers and EPG.
    let mut plan = plan.folded();
    let mut timeline = match (
        plan.timeline.take(),
        slate_id.and_then(|id| assets.get(&id)),
    ) {
        (Some(timeline), _) => timeline,
        // Nothing in the grid can air: the slate loops, from the epoch so every replica
        // numbers it alike, rather than the channel going dark.
        (None, Some(slate)) => {
            tracing::warn!(channel = %channel.slug, "nothing in the grid can air: airing the slate");
            let track = Arc::new(SegmentTrack::new(slate.segment_durations()));
            let run = Run::whole(RunKind::Slate, slate.id, "slate", track);
            Arc::new(
                Timeline::new(Timestamp(0), vec![run], true, 0, 0)
                    .map_err(|error| LoadError::Channel(error.to_string()))?,
            )
        }
        (None, None) => {
            return Err(LoadError::Channel(format!(
                "channel {} has nothing that can air and no slate",
                channel.slug
            )));
        }
    };
    if !timeline.repeats()
        && let Some(slate) = slate_id.and_then(|id| assets.get(&id))
    {
        // After the last item the slate loops: never dead air.
        let track = Arc::new(SegmentTrack::new(slate.segment_durations()));
        let run = Run::whole(RunKind::Slate, slate.id, "slate", track);
        timeline = Arc::new(
            Arc::unwrap_or_clone(timeline)
                .with_tail(run)
                .map_err(|error| LoadError::Channel(error.to_string()))?,
        );
    }
    tracing::info!(
        channel = %channel.slug,
        runs = timeline.runs().len(),
        rotations = plan.fold.as_ref().map_or(1, |fold| fold.copies),
        problems = issues.len(),
        "channel loaded"
    );
    plan.timeline = Some(Arc::clone(&timeline));
    let assets: HashMap<AssetId, Arc<Asset>> = assets
        .into_iter()
        .map(|(id, asset)| (id, shelf.share(asset)))
        .collect();
    Ok(LoadedChannel {
        playout: ChannelPlayout::new(channel, ladder, timeline, assets)
            .map_err(|error| LoadError::Channel(error.to_string()))?,
        plan,
        replan_at: planned.replan_at,
        slate: slate_id,
    })
}

#[cfg(test)]
mod tests {
    use onair_domain::{AssetState, LadderId, Ticks};

    use super::*;

    fn asset(id: i64, title: &str) -> Asset {
        Asset {
            id: AssetId(id),
            title: title.to_owned(),
            source: format!("clip-{id}.mp4"),
            ladder_id: LadderId(1),
            state: AssetState::Ready,
            duration: Ticks::from_secs(4),
            renditions: Vec::new(),
        }
    }

    #[test]
    fn the_shelf_hands_every_channel_one_copy_of_an_asset_until_it_changes_or_nobody_holds_it() {
        let shelf = AssetShelf::default();
        let first = shelf.share(asset(7, "News"));
        let second = shelf.share(asset(7, "News"));
        assert!(Arc::ptr_eq(&first, &second), "an equal asset is shared");
        let renamed = shelf.share(asset(7, "News at ten"));
        assert!(!Arc::ptr_eq(&first, &renamed), "a changed asset is not");
        assert_eq!(renamed.title, "News at ten");
        let other = shelf.share(asset(8, "Weather"));
        assert_eq!(shelf.len(), 2);
        drop(other);
        shelf.prune();
        assert_eq!(shelf.len(), 1, "an asset nobody holds is forgotten");
        drop((first, second, renamed));
        shelf.prune();
        assert!(shelf.is_empty());
    }
}
