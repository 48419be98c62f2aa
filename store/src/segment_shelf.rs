//! The segment lists of renditions already read, kept while anything holds them.
//!
//! A rendition's row and its segments are written once, when its asset is published, and deleted
//! only with the asset: they never change in between. So a segment list read for one channel is
//! the list for every other channel airing the asset, on every replica. Reading the assets of a
//! realistic FAST day (48 titles × 7 renditions × ~800 segments) is a quarter of a million rows
//! per channel; with the shelf, a channel whose titles another channel airs reads only their
//! rendition rows, and every holder shares one list.
//!
//! The shelf holds weak references: a list lives as long as an asset that names it does, and the
//! entries whose list is gone are dropped as the shelf grows. A list is taken from the shelf only
//! when its rendition's row still reads exactly as it did (rung, packaging, codecs, picture,
//! bandwidths, init segment) and so does its asset's (id, source, duration): SQLite may give a
//! deleted row's id to a new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use onair_domain::{Asset, Rendition, SegmentInfo, Ticks};

/// Entries at which the shelf first looks for lists nobody holds any more.
const FIRST_PRUNE_AT: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct SegmentShelf {
    inner: Mutex<Shelf>,
}

/// What a rendition's asset row reads that a reused id would not: id, source and duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub asset_id: i64,
    pub source: String,
    pub duration: Ticks,
}

impl Owner {
    pub(crate) fn of(asset: &Asset) -> Owner {
        Owner {
            asset_id: asset.id.0,
            source: asset.source.clone(),
            duration: asset.duration,
        }
    }
}

#[derive(Debug, Default)]
struct Shelf {
    /// By rendition row id: its asset and row as read (its segments empty), and the list.
    lists: HashMap<i64, (Owner, Rendition, Weak<[SegmentInfo]>)>,
    /// When the shelf next drops dead entries: twice its live size after the last time.
    prune_at: usize,
}

impl SegmentShelf {
    /// The shelved segments of rendition row `id` of `owner`, if its row reads as `header` (its
    /// segments empty) and somebody still holds them.
    pub(crate) fn get(
        &self,
        id: i64,
        owner: &Owner,
        header: &Rendition,
    ) -> Option<Arc<[SegmentInfo]>> {
        let shelf = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (shelved_owner, shelved_header, list) = shelf.lists.get(&id)?;
        if shelved_owner != owner || shelved_header != header {
            return None;
        }
        list.upgrade()
    }

    /// Shelves the segments read for rendition row `id`.
    pub(crate) fn put(
        &self,
        id: i64,
        owner: &Owner,
        header: &Rendition,
        segments: &Arc<[SegmentInfo]>,
    ) {
        let mut shelf = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        shelf.lists.insert(
            id,
            (owner.clone(), header.clone(), Arc::downgrade(segments)),
        );
        if shelf.lists.len() >= shelf.prune_at.max(FIRST_PRUNE_AT) {
            shelf
                .lists
                .retain(|_, (_, _, list)| list.strong_count() > 0);
            shelf.prune_at = shelf.lists.len() * 2;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lists
            .len()
    }
}

#[cfg(test)]
mod tests {
    use onair_domain::Packaging;

    use super::*;

    fn owner(asset_id: i64) -> Owner {
        Owner {
            asset_id,
            source: "clip.mp4".to_owned(),
            duration: Ticks::from_secs(6),
        }
    }

    fn header(rung: &str) -> Rendition {
        Rendition {
            rung: rung.to_owned(),
            packaging: Packaging::Ts,
            codecs: "avc1.64001e,mp4a.40.2".to_owned(),
            width: 640,
            height: 360,
            peak_bandwidth: 900_000,
            average_bandwidth: 800_000,
            init_path: None,
            segments: Arc::from([]),
        }
    }

    fn segments(n: u32) -> Arc<[SegmentInfo]> {
        (0..n)
            .map(|index| SegmentInfo {
                index,
                duration: Ticks::from_secs(2),
                size_bytes: 1000,
                path: format!("assets/1/360p/ts/{index:05}.ts"),
            })
            .collect()
    }

    #[test]
    fn a_shelved_list_is_handed_out_while_held_and_its_row_reads_the_same() {
        let shelf = SegmentShelf::default();
        let list = segments(3);
        shelf.put(10, &owner(1), &header("360p"), &list);
        let again = shelf.get(10, &owner(1), &header("360p")).expect("shelved");
        assert!(Arc::ptr_eq(&list, &again));
        assert!(
            shelf.get(10, &owner(2), &header("360p")).is_none(),
            "another asset"
        );
        let mut longer = owner(1);
        longer.duration = Ticks::from_secs(8);
        assert!(
            shelf.get(10, &longer, &header("360p")).is_none(),
            "another asset, same id"
        );
        assert!(
            shelf.get(10, &owner(1), &header("720p")).is_none(),
            "another row"
        );
        drop((list, again));
        assert!(
            shelf.get(10, &owner(1), &header("360p")).is_none(),
            "nobody holds it"
        );
    }

    #[test]
    fn entries_nobody_holds_are_dropped_as_the_shelf_grows() {
        let shelf = SegmentShelf::default();
        let kept = segments(1);
        shelf.put(0, &owner(1), &header("360p"), &kept);
        for id in 1..FIRST_PRUNE_AT as i64 {
            shelf.put(id, &owner(1), &header("360p"), &segments(1));
        }
        // The pruning kept the held list and the one being shelved as it ran.
        assert_eq!(shelf.len(), 2, "the lists nobody held are gone");
        assert!(shelf.get(0, &owner(1), &header("360p")).is_some());
    }
}
