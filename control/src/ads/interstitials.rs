//! HLS Interstitials: a session's asset list for a break (`X-ASSET-LIST`), made of the decision
//! the session already holds, never of a request to the ad server, and the runs its assets play.
//!
//! The assets are the session's fill of the break: each ad, then the slate after them (its runs,
//! the slate looped, as one asset), so they last exactly the break, as a stitched break does. A break without a usable
//! decision (undecided, unfilled, or decided too late, as stitched sessions treat it) has an
//! empty list: the player resumes the channel at the break's start, and the channel's break,
//! slate, plays for exactly its length. The players' fetches of an ad's segments go through the
//! session's tracking URLs, which fire its beacons once (`beacons.rs`).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use onair_domain::{Asset, AssetId, Run};
use onair_playout::BreakFill;
use onair_playout::interstitials::runs_millis;
use serde::Serialize;

use crate::ads::engine::AdEngine;
use crate::ads::session::{Catalogue, Session};
use crate::refusal::Refusal;

/// One asset of a break's interstitial: runs of the session's fill.
#[derive(Debug, Clone)]
pub struct InterstitialAsset {
    /// An ad's run, or the slate's after the ads.
    pub runs: Vec<Run>,
    /// The URL prefix its segments are fetched through (an ad's tracking URL), or `None`
    /// (slate, from `/media/`).
    pub tracking: Option<String>,
    catalogue: Arc<Catalogue>,
}

impl InterstitialAsset {
    /// The assets the runs play, by id.
    pub fn assets(&self) -> &HashMap<AssetId, Asset> {
        &self.catalogue.assets
    }
}

/// The answer to an `X-ASSET-LIST` request: `{"ASSETS": [{"URI": …, "DURATION": seconds}]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetList {
    #[serde(rename = "ASSETS")]
    pub assets: Vec<ListedAsset>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedAsset {
    /// An absolute URL: hls.js loads an asset's URI as it is, not relative to the list's.
    #[serde(rename = "URI")]
    pub uri: String,
    /// Seconds, to the millisecond: what the asset's playlist's EXTINFs add up to.
    #[serde(rename = "DURATION")]
    pub duration: f64,
}

impl AdEngine {
    /// What `session` airs in the break starting at segment `break_media_sequence` of its
    /// channel, as interstitial assets: the runs of its fill, or none when it has no usable
    /// decision for the break. NotFound when no break of the channel starts at that segment.
    pub fn interstitial_assets(
        &self,
        session: &Session,
        break_media_sequence: u64,
    ) -> Result<Vec<InterstitialAsset>, Refusal> {
        let playout = self
            .playout(&session.slug)
            .ok_or_else(|| Refusal::NotFound(format!("no channel {} is on air", session.slug)))?;
        let timeline = playout.timeline();
        let airing = timeline
            .segment_by_sequence(break_media_sequence)
            .and_then(|at| timeline.break_of(&at))
            .filter(|airing| airing.first_media_sequence == break_media_sequence)
            .ok_or_else(|| {
                Refusal::NotFound(format!(
                    "no ad break of {} starts at segment {break_media_sequence}",
                    session.slug
                ))
            })?;
        let breaks = session
            .breaks
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let usable = breaks.fill(&airing).is_some_and(|fill| fill.fits(&airing));
        let Some(filled) = breaks.get(break_media_sequence).filter(|_| usable) else {
            return Ok(Vec::new());
        };
        let mut assets: Vec<InterstitialAsset> = Vec::new();
        for (run, tracking) in filled.runs.iter().zip(&filled.tracking) {
            match assets.last_mut() {
                // Slate after slate: the same asset, looped.
                Some(last) if tracking.is_none() && last.tracking.is_none() => {
                    last.runs.push(run.clone())
                }
                _ => assets.push(InterstitialAsset {
                    runs: vec![run.clone()],
                    tracking: tracking.clone(),
                    catalogue: filled.catalogue.clone(),
                }),
            }
        }
        Ok(assets)
    }

    /// The asset list of `session`'s break starting at segment `break_media_sequence`: each of
    /// its [`interstitial assets`](AdEngine::interstitial_assets) at
    /// `{base_url}{tracking prefix of the break}{position}/{manifest}` (`base_url`: the scheme
    /// and host the player reached, `manifest`: `master.m3u8` or `master-fmp4.m3u8`).
    pub fn asset_list(
        &self,
        session: &Session,
        break_media_sequence: u64,
        base_url: &str,
        manifest: &str,
    ) -> Result<AssetList, Refusal> {
        let prefix = session.tracking_prefix(break_media_sequence);
        let assets = self.interstitial_assets(session, break_media_sequence)?;
        Ok(AssetList {
            assets: assets
                .iter()
                .enumerate()
                .map(|(position, asset)| ListedAsset {
                    uri: format!("{base_url}{prefix}{position}/{manifest}"),
                    duration: runs_millis(&asset.runs) as f64 / 1000.0,
                })
                .collect(),
        })
    }
}
