//! What schedule reads keep between requests, so a read asks the store only for the channel
//! and its schedule version: the items of a window at a version (a version never changes once
//! published: every edit, restore, take and return makes a new one), and each ladder's segment
//! duration for the lock horizon (a ladder is never edited once created), and each channel's
//! programme metadata at its latest version read.
//!
//! Held by the server's [`crate::PlanCache`] (one per server, shared by the API and the pages).
//! At most [`MOST_WINDOWS`] windows are kept; past that the oldest half goes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use onair_domain::{AdBreak, ChannelId, LadderId, ScheduleItem, Ticks, Timestamp};

use super::metadata::ItemMetadata;

/// The items starting in a window, with their ad breaks.
pub type WindowItems = Arc<Vec<(ScheduleItem, Vec<AdBreak>)>>;

/// How many windows are kept (a day of 48 items is about 10 KB).
pub const MOST_WINDOWS: usize = 1024;

type WindowKey = (ChannelId, i64, Timestamp, Timestamp);

/// Cheap to clone: clones share what is kept.
#[derive(Clone, Default)]
pub struct ScheduleReads(Arc<Inner>);

#[derive(Default)]
struct Inner {
    windows: Mutex<Windows>,
    segment_durations: Mutex<HashMap<LadderId, Ticks>>,
    /// Per channel: the metadata at one version.
    metadata: Mutex<HashMap<ChannelId, (i64, Arc<ItemMetadata>)>>,
}

#[derive(Default)]
struct Windows {
    items: HashMap<WindowKey, WindowItems>,
    /// Keys by when they were kept, oldest first.
    kept: VecDeque<WindowKey>,
}

impl ScheduleReads {
    /// The items of `channel` starting in `[from, to)` at schedule `version`, if kept.
    pub fn window(
        &self,
        channel: ChannelId,
        version: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Option<WindowItems> {
        let windows = self
            .0
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        windows.items.get(&(channel, version, from, to)).cloned()
    }

    /// Keeps `items` as the window's at `version`.
    pub fn keep(
        &self,
        channel: ChannelId,
        version: i64,
        from: Timestamp,
        to: Timestamp,
        items: WindowItems,
    ) {
        let mut windows = self
            .0
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (channel, version, from, to);
        if windows.items.insert(key, items).is_none() {
            windows.kept.push_back(key);
        }
        if windows.items.len() > MOST_WINDOWS {
            for _ in 0..MOST_WINDOWS / 2 {
                if let Some(oldest) = windows.kept.pop_front() {
                    windows.items.remove(&oldest);
                }
            }
        }
    }

    /// How many windows are kept.
    pub fn windows(&self) -> usize {
        let windows = self
            .0
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        windows.items.len()
    }

    /// The programme metadata of `channel`'s items at schedule `version`, if kept.
    pub fn metadata(&self, channel: ChannelId, version: i64) -> Option<Arc<ItemMetadata>> {
        let metadata = self
            .0
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match metadata.get(&channel) {
            Some((kept, items)) if *kept == version => Some(Arc::clone(items)),
            _ => None,
        }
    }

    /// Keeps `items` as `channel`'s metadata at `version`, unless a later version's is kept.
    pub fn keep_metadata(&self, channel: ChannelId, version: i64, items: Arc<ItemMetadata>) {
        let mut metadata = self
            .0
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match metadata.get(&channel) {
            Some((kept, _)) if *kept > version => {}
            _ => {
                metadata.insert(channel, (version, items));
            }
        }
    }

    pub fn segment_duration(&self, ladder: LadderId) -> Option<Ticks> {
        let durations = self
            .0
            .segment_durations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        durations.get(&ladder).copied()
    }

    pub fn keep_segment_duration(&self, ladder: LadderId, duration: Ticks) {
        let mut durations = self
            .0
            .segment_durations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        durations.insert(ladder, duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn a_window_is_kept_per_channel_version_and_bounds_and_the_oldest_half_goes_past_the_limit() {
        let reads = ScheduleReads::default();
        let items: WindowItems = Arc::new(Vec::new());
        reads.keep(ChannelId(1), 4, at(0), at(86_400), Arc::clone(&items));
        assert!(reads.window(ChannelId(1), 4, at(0), at(86_400)).is_some());
        assert!(
            reads.window(ChannelId(1), 5, at(0), at(86_400)).is_none(),
            "another version"
        );
        assert!(
            reads.window(ChannelId(2), 4, at(0), at(86_400)).is_none(),
            "another channel"
        );
        assert!(
            reads.window(ChannelId(1), 4, at(0), at(3_600)).is_none(),
            "another window"
        );
        for version in 5..5 + MOST_WINDOWS as i64 {
            reads.keep(ChannelId(1), version, at(0), at(86_400), Arc::clone(&items));
        }
        assert!(reads.windows() <= MOST_WINDOWS);
        assert!(
            reads.window(ChannelId(1), 4, at(0), at(86_400)).is_none(),
            "the oldest went"
        );
        let newest = 4 + MOST_WINDOWS as i64;
        assert!(
            reads
                .window(ChannelId(1), newest, at(0), at(86_400))
                .is_some()
        );
    }

    #[test]
    fn metadata_is_kept_for_one_version_per_channel_and_an_older_one_never_replaces_a_newer() {
        let reads = ScheduleReads::default();
        let at_five: Arc<ItemMetadata> = Arc::new(ItemMetadata::new());
        reads.keep_metadata(ChannelId(1), 5, Arc::clone(&at_five));
        assert!(reads.metadata(ChannelId(1), 5).is_some());
        assert!(reads.metadata(ChannelId(1), 6).is_none(), "another version");
        assert!(reads.metadata(ChannelId(2), 5).is_none(), "another channel");
        reads.keep_metadata(ChannelId(1), 4, Arc::new(ItemMetadata::new()));
        assert!(
            reads.metadata(ChannelId(1), 5).is_some(),
            "a slow read of version 4 does not replace version 5"
        );
        reads.keep_metadata(ChannelId(1), 6, Arc::new(ItemMetadata::new()));
        assert!(reads.metadata(ChannelId(1), 6).is_some());
        assert!(reads.metadata(ChannelId(1), 5).is_none());
    }
}
