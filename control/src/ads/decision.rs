//! A session's decision for one break, as stored (JSON in `ad_decisions.fill`), and the pure
//! rule that fits ads into a break.
//!
//! Whole ads only, in pod order; a pod ad that cannot air (no usable file, creative not ready,
//! failed to transcode, too long for what is left) is replaced by the next buffet ad that can;
//! an ad that does not fit is dropped (VAST error 206). The slate fills what is left, by whole
//! segments, so the fill has exactly the break's segments: the session keeps the channel's
//! media sequence (see `playout::window`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use onair_domain::{Asset, AssetId, Ticks};

/// What the decision came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Ads fill the break (slate may fill the last segments).
    Filled,
    /// No ad could air: the planned break (slate) airs.
    Unfilled,
    /// Decided too late to be used: the planned break airs.
    Late,
}

/// An ad placed in the break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedAd {
    pub asset_id: AssetId,
    pub creative_key: String,
    #[serde(default)]
    pub ad_id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// As aired: the creative's segments, whole.
    pub duration_ms: i64,
    pub n_segments: u32,
    #[serde(default)]
    pub impressions: Vec<String>,
    /// Tracking event name to URLs, merged over the wrapper chain.
    #[serde(default)]
    pub tracking: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub error_urls: Vec<String>,
    /// For `[ADSERVINGID]` and `[UNIVERSALADID]` when the URLs above are expanded, as they are
    /// when fired.
    #[serde(default)]
    pub ad_serving_id: Option<String>,
    #[serde(default)]
    pub universal_ad_id: Option<String>,
}

/// Slate segments after the ads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlateRun {
    pub asset_id: AssetId,
    pub first_segment: u32,
    pub n_segments: u32,
}

/// A VAST error code fired, with the URLs it went to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredError {
    pub code: u16,
    pub urls: Vec<String>,
    #[serde(default)]
    pub reason: String,
}

/// An ad the ad server returned that did not air, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedAd {
    pub creative_key: String,
    pub reason: String,
    #[serde(default)]
    pub code: Option<u16>,
}

/// A session's decision for one break occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The break occurrence: its first segment's number, its segments and runs as planned.
    pub break_media_sequence: u64,
    pub break_segments: u64,
    pub break_runs: u32,
    pub break_duration_ms: i64,
    pub outcome: Outcome,
    pub ads: Vec<PlacedAd>,
    pub slate: Vec<SlateRun>,
    /// Milliseconds of the break not filled by ads.
    pub slate_ms: i64,
    /// Ads the ad server returned (pod and buffet).
    pub returned: u32,
    pub skipped: Vec<SkippedAd>,
    pub errors: Vec<FiredError>,
    pub elapsed_ms: u64,
}

/// An ad that may air: the resolved ad and its ready creative.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub ad: PlacedAdSource,
    /// `None`: it cannot air, for `unavailable`.
    pub asset: Option<&'a Asset>,
    pub unavailable: Option<(String, Option<u16>)>,
    pub buffet: bool,
}

/// What a placed ad carries over from the ad server's answer.
#[derive(Debug, Clone, Default)]
pub struct PlacedAdSource {
    pub creative_key: String,
    pub ad_id: Option<String>,
    pub title: Option<String>,
    pub impressions: Vec<String>,
    pub tracking: BTreeMap<String, Vec<String>>,
    pub error_urls: Vec<String>,
    pub ad_serving_id: Option<String>,
    pub universal_ad_id: Option<String>,
}

/// The ads that air in a break of `n_segments` and the slate after them, with the ads
/// skipped. `max_ads` caps the ads placed.
pub fn fit(
    candidates: &[Candidate<'_>],
    n_segments: u64,
    slate: &Asset,
    max_ads: usize,
) -> (Vec<PlacedAd>, Vec<SlateRun>, Vec<SkippedAd>) {
    let mut placed = Vec::new();
    let mut skipped = Vec::new();
    let mut remaining = n_segments;
    let has_pod = candidates.iter().any(|candidate| !candidate.buffet);
    let mut buffet = candidates.iter().filter(|candidate| candidate.buffet);
    let try_place = |candidate: &Candidate<'_>,
                     placed: &mut Vec<PlacedAd>,
                     skipped: &mut Vec<SkippedAd>,
                     remaining: &mut u64|
     -> bool {
        let key = candidate.ad.creative_key.clone();
        let Some(asset) = candidate.asset else {
            let (reason, code) = candidate
                .unavailable
                .clone()
                .unwrap_or_else(|| ("no creative".into(), None));
            skipped.push(SkippedAd {
                creative_key: key,
                reason,
                code,
            });
            return false;
        };
        let segments = asset.segment_durations();
        let n = segments.len() as u64;
        if placed.len() >= max_ads {
            skipped.push(SkippedAd {
                creative_key: key,
                reason: format!("the break already has {max_ads} ads, the most allowed"),
                code: Some(206),
            });
            return false;
        }
        if n == 0 || n > *remaining {
            skipped.push(SkippedAd {
                creative_key: key,
                reason: format!("{} segments do not fit in the {} left", n, *remaining),
                code: Some(206),
            });
            return false;
        }
        *remaining -= n;
        let duration: Ticks = segments.iter().copied().sum();
        placed.push(PlacedAd {
            asset_id: asset.id,
            creative_key: key,
            ad_id: candidate.ad.ad_id.clone(),
            title: candidate.ad.title.clone(),
            duration_ms: duration.as_millis(),
            n_segments: n as u32,
            impressions: candidate.ad.impressions.clone(),
            tracking: candidate.ad.tracking.clone(),
            error_urls: candidate.ad.error_urls.clone(),
            ad_serving_id: candidate.ad.ad_serving_id.clone(),
            universal_ad_id: candidate.ad.universal_ad_id.clone(),
        });
        true
    };
    if has_pod {
        for candidate in candidates.iter().filter(|candidate| !candidate.buffet) {
            if try_place(candidate, &mut placed, &mut skipped, &mut remaining) {
                continue;
            }
            // A pod ad failed: the next buffet ad that can air takes its place.
            for replacement in buffet.by_ref() {
                if try_place(replacement, &mut placed, &mut skipped, &mut remaining) {
                    break;
                }
            }
        }
    } else {
        for candidate in candidates {
            try_place(candidate, &mut placed, &mut skipped, &mut remaining);
        }
    }
    (placed, slate_runs(slate, remaining), skipped)
}

/// `remaining` segments of `slate`, looped from its start.
fn slate_runs(slate: &Asset, mut remaining: u64) -> Vec<SlateRun> {
    let length = slate.segment_durations().len() as u64;
    let mut runs = Vec::new();
    while remaining > 0 && length > 0 {
        let n = remaining.min(length);
        runs.push(SlateRun {
            asset_id: slate.id,
            first_segment: 0,
            n_segments: n as u32,
        });
        remaining -= n;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_domain::{AssetState, LadderId, Packaging, Rendition, SegmentInfo};

    fn asset(id: i64, segments: usize) -> Asset {
        Asset {
            id: AssetId(id),
            title: format!("asset {id}"),
            source: String::new(),
            ladder_id: LadderId(1),
            state: AssetState::Ready,
            duration: Ticks::from_secs(2 * segments as i64),
            renditions: vec![Rendition {
                rung: "360p".into(),
                packaging: Packaging::Ts,
                codecs: String::new(),
                width: 640,
                height: 360,
                peak_bandwidth: 0,
                average_bandwidth: 0,
                init_path: None,
                segments: (0..segments)
                    .map(|index| SegmentInfo {
                        index: index as u32,
                        path: format!("a/{id}/{index:05}.ts"),
                        duration: Ticks::from_secs(2),
                        size_bytes: 0,
                    })
                    .collect(),
            }],
        }
    }

    fn candidate<'a>(key: &str, asset: Option<&'a Asset>, buffet: bool) -> Candidate<'a> {
        Candidate {
            ad: PlacedAdSource {
                creative_key: key.into(),
                ..PlacedAdSource::default()
            },
            asset,
            unavailable: asset.is_none().then(|| ("not ready".to_string(), None)),
            buffet,
        }
    }

    fn keys(placed: &[PlacedAd]) -> Vec<&str> {
        placed.iter().map(|ad| ad.creative_key.as_str()).collect()
    }

    #[test]
    fn whole_ads_fill_the_break_in_pod_order_and_slate_takes_the_rest() {
        let (a, b, slate) = (asset(1, 3), asset(2, 2), asset(9, 2));
        let (placed, slate_runs, skipped) = fit(
            &[
                candidate("a", Some(&a), false),
                candidate("b", Some(&b), false),
            ],
            10,
            &slate,
            8,
        );
        assert_eq!(keys(&placed), ["a", "b"]);
        let slate_segments: u32 = slate_runs.iter().map(|run| run.n_segments).sum();
        assert_eq!(slate_segments, 5);
        assert_eq!(slate_runs.len(), 3, "a 2-segment slate loops");
        assert!(skipped.is_empty());
    }

    #[test]
    fn an_ad_that_does_not_fit_is_dropped_with_206_and_a_shorter_one_after_it_still_airs() {
        let (long, short, slate) = (asset(1, 6), asset(2, 2), asset(9, 4));
        let (placed, _, skipped) = fit(
            &[
                candidate("short", Some(&short), false),
                candidate("long", Some(&long), false),
                candidate("short-again", Some(&short), false),
            ],
            5,
            &slate,
            8,
        );
        assert_eq!(keys(&placed), ["short", "short-again"]);
        assert_eq!(skipped[0].creative_key, "long");
        assert_eq!(skipped[0].code, Some(206));
    }

    #[test]
    fn a_buffet_ad_replaces_a_pod_ad_that_cannot_air() {
        let (a, spare, slate) = (asset(1, 2), asset(3, 2), asset(9, 2));
        let (placed, _, skipped) = fit(
            &[
                candidate("a", Some(&a), false),
                candidate("not-ready", None, false),
                candidate("spare", Some(&spare), true),
            ],
            10,
            &slate,
            8,
        );
        assert_eq!(keys(&placed), ["a", "spare"]);
        assert_eq!(skipped[0].creative_key, "not-ready");
    }

    #[test]
    fn without_a_pod_the_standalone_ads_air_in_order_up_to_the_cap() {
        let (a, b, slate) = (asset(1, 1), asset(2, 1), asset(9, 2));
        let (placed, slate_runs, skipped) = fit(
            &[
                candidate("a", Some(&a), true),
                candidate("b", Some(&b), true),
            ],
            4,
            &slate,
            1,
        );
        assert_eq!(keys(&placed), ["a"]);
        assert_eq!(skipped[0].code, Some(206));
        assert_eq!(slate_runs.iter().map(|run| run.n_segments).sum::<u32>(), 3);
    }
}
