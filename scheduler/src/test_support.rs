//! Helpers shared by the unit tests.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use onair_domain::{
    Asset, AssetId, AssetState, LadderId, Packaging, Rendition, SegmentInfo, Ticks, Timestamp,
};

/// A ready asset of `total_secs`, in segments of `segment_secs` (the last one shorter).
pub fn asset(id: i64, total_secs: i64, segment_secs: i64) -> Asset {
    let mut durations = Vec::new();
    let mut left = total_secs;
    while left > 0 {
        durations.push(left.min(segment_secs));
        left -= segment_secs;
    }
    asset_with_segments(id, &durations)
}

/// A ready asset with these segment durations, in seconds.
pub fn asset_with_segments(id: i64, segments_secs: &[i64]) -> Asset {
    let segments = segments_secs
        .iter()
        .enumerate()
        .map(|(index, secs)| SegmentInfo {
            index: index as u32,
            duration: Ticks::from_secs(*secs),
            size_bytes: 1,
            path: format!("a{id}/{index}.ts"),
        })
        .collect();
    Asset {
        id: AssetId(id),
        title: format!("asset {id}"),
        source: String::new(),
        ladder_id: LadderId(1),
        state: AssetState::Ready,
        duration: Ticks::from_secs(segments_secs.iter().sum()),
        renditions: vec![Rendition {
            rung: "360p".into(),
            packaging: Packaging::Ts,
            codecs: String::new(),
            width: 640,
            height: 360,
            peak_bandwidth: 1,
            average_bandwidth: 1,
            init_path: None,
            segments,
        }],
    }
}

pub fn assets(list: Vec<Asset>) -> HashMap<AssetId, Asset> {
    list.into_iter().map(|asset| (asset.id, asset)).collect()
}

/// An RFC 3339 instant.
pub fn at_utc(text: &str) -> Timestamp {
    Timestamp::from_datetime(
        DateTime::parse_from_rfc3339(text)
            .expect("a valid RFC 3339 instant")
            .with_timezone(&Utc),
    )
}

pub const fn minutes(n: i64) -> Ticks {
    Ticks::from_secs(n * 60)
}
