//! The tag inspector ad ops debug a tag with, without a player: what a tag resolves to
//! (every hop with its URL, status and time; the ads in pod order; the file chosen and why;
//! the creative key), whether each creative is ready on a channel's ladder, and the VAST
//! errors that would fire. Nothing is fired and nothing is stored.

use std::time::Duration;

use serde::Serialize;

use onair_ad_decision::{
    AdClient, BreakPosition, MacroValues, RequestContext, Resolution, ResolveOptions, resolve_vast,
};

use crate::Control;
use crate::refusal::Refusal;
use crate::schedule::channel;

/// What to inspect.
#[derive(Debug, Clone)]
pub struct InspectRequest {
    pub tag: String,
    /// The break's length, for `[BREAKMAXDURATION]` and the fit.
    pub duration_secs: u32,
    /// Check creatives against this channel's ladder.
    pub channel: Option<String>,
    pub allow_private: bool,
    pub device_ip: Option<String>,
    pub device_ua: Option<String>,
    pub timeout_ms: u32,
}

/// A creative of the answer and whether it can air.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreativeState {
    pub creative_key: String,
    pub ad_id: Option<String>,
    /// `ready`, `pending` (being transcoded), `failed`, `new` (never seen: a decision would
    /// send it to the farm), or `no_media`.
    pub status: String,
    pub asset_id: Option<i64>,
    pub error: Option<String>,
}

/// The inspector's answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Inspection {
    /// Every hop, the ads in pod order, the files chosen and the errors met (the ad-decision
    /// crate's `Resolution`).
    #[schema(value_type = Object)]
    pub resolution: Resolution,
    pub creatives: Vec<CreativeState>,
    /// The codes the resolution would fire, in order.
    pub would_fire: Vec<u16>,
    /// Seconds of whole ads that fit the break, of those ready.
    pub ready_seconds: f64,
    pub break_seconds: u32,
}

impl Control {
    /// Resolves `request.tag` and reports it; the tag must be an http(s) URL.
    pub async fn inspect_tag(&self, request: &InspectRequest) -> Result<Inspection, Refusal> {
        if !(request.tag.starts_with("http://") || request.tag.starts_with("https://")) {
            return Err(Refusal::invalid_field(
                "tag",
                "an http(s) ad tag URL is needed",
            ));
        }
        if !(1..=3600).contains(&request.duration_secs) {
            return Err(Refusal::invalid_field(
                "duration",
                "between 1 and 3600 seconds",
            ));
        }
        let ladder = match &request.channel {
            Some(slug) => Some(channel(&self.store, slug).await?.ladder_id),
            None => None,
        };
        let client = AdClient::new(request.allow_private)
            .map_err(|error| Refusal::Internal(format!("no HTTP client: {error}")))?;
        let ctx = RequestContext {
            device_ip: request.device_ip.clone(),
            device_ua: request.device_ua.clone(),
            macros: MacroValues {
                break_max_duration: Some(Duration::from_secs(u64::from(request.duration_secs))),
                break_position: Some(BreakPosition::Midroll),
                ..MacroValues::default()
            },
        };
        let options = ResolveOptions {
            budget: Duration::from_millis(u64::from(request.timeout_ms.clamp(100, 30_000))),
            ..ResolveOptions::default()
        };
        let resolution = resolve_vast(&client, &request.tag, &ctx, &options).await;
        let mut creatives = Vec::new();
        let mut ready_ms: u64 = 0;
        for ad in resolution.ads.iter().chain(&resolution.rejected) {
            let mut state = CreativeState {
                creative_key: ad.creative_key.clone(),
                ad_id: ad.ad_id.clone(),
                status: if ad.media.is_some() {
                    "new"
                } else {
                    "no_media"
                }
                .into(),
                asset_id: None,
                error: None,
            };
            let rows = match ladder {
                Some(ladder) => {
                    self.store
                        .creatives_by_keys(std::slice::from_ref(&ad.creative_key), ladder)
                        .await?
                }
                None => Vec::new(),
            };
            if let Some(row) = rows.first() {
                state.status = row.status.as_str().to_owned();
                state.asset_id = row.asset_id.map(|id| id.0);
                state.error = row.error.clone();
                if state.status == "ready" {
                    ready_ms += ad.duration_ms;
                }
            }
            creatives.push(state);
        }
        Ok(Inspection {
            would_fire: resolution.error_codes(),
            resolution,
            creatives,
            ready_seconds: ready_ms.min(u64::from(request.duration_secs) * 1000) as f64 / 1000.0,
            break_seconds: request.duration_secs,
        })
    }
}
