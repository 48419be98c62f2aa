//! Ad creatives through the farm: every creative a decision met for the first time (pending in
//! the store's creative cache) becomes a transcode job from its media URL to the channel's
//! ladder, loudness-normalised like any asset and padded to whole segments so ads fill breaks
//! by whole segments; once its asset is ready the creative is ready, and a creative whose job
//! failed is failed with the job's reason (a decision then skips it and fires the VAST error).
//! `serve` runs this where it runs a transcode worker.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use onair_domain::{AssetState, Clock, JobState, Timestamp};
use onair_store::{CreativeRow, Store};
use onair_transcode::FarmSettings;
use onair_transcode::job::{NewTranscode, Source, enqueue_padded_to_whole_segments};

/// What `{origin}` in a creative's URL stands for: this server. The demo's creatives
/// (`{origin}/demo-ads/media/NAME`) are read from its folder, not downloaded (the farm may
/// refuse loopback); anything else under `{origin}` is downloaded from this server's URL.
#[derive(Debug, Clone)]
pub struct Origin {
    pub url: String,
    pub demo_ads_dir: PathBuf,
}

impl Origin {
    fn source_of(&self, url: &str) -> Source {
        let Some(path) = url.strip_prefix(onair_control::ads::config::ORIGIN) else {
            return Source::Url {
                url: url.to_owned(),
            };
        };
        match path.strip_prefix("/demo-ads/media/") {
            Some(name) if !name.contains('/') && !name.starts_with('.') => Source::File {
                path: self.demo_ads_dir.join(name),
            },
            _ => Source::Url {
                url: format!("{}{path}", self.url),
            },
        }
    }
}

/// Runs until the task is dropped: one pass every `period`.
pub async fn keep_creatives(
    store: Store,
    settings: FarmSettings,
    origin: Origin,
    clock: Arc<dyn Clock>,
    period: Duration,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if let Err(error) = pass(&store, &settings, &origin, clock.now()).await {
            tracing::warn!(%error, "cannot move the ad creatives along");
        }
    }
}

/// Sends new creatives to the farm and records what became of those sent.
pub async fn pass(
    store: &Store,
    settings: &FarmSettings,
    origin: &Origin,
    now: Timestamp,
) -> anyhow::Result<()> {
    for creative in store.creatives_pending().await? {
        if let Err(error) = advance(store, settings, origin, &creative, now).await {
            tracing::warn!(key = %creative.creative_key, %error, "ad creative not advanced");
        }
    }
    Ok(())
}

async fn advance(
    store: &Store,
    settings: &FarmSettings,
    origin: &Origin,
    creative: &CreativeRow,
    now: Timestamp,
) -> anyhow::Result<()> {
    let key = &creative.creative_key;
    let Some(asset_id) = creative.asset_id else {
        let Some(ladder) = store.ladder(creative.ladder_id).await? else {
            store
                .fail_creative(key, creative.ladder_id, "its ladder is gone", now)
                .await?;
            return Ok(());
        };
        let enqueued = enqueue_padded_to_whole_segments(
            store,
            settings,
            NewTranscode {
                title: Some(format!("Ad creative {key}")),
                source: origin.source_of(&creative.source_url),
                ladder: Some(ladder.name.clone()),
            },
        )
        .await?;
        store
            .attach_creative_job(key, creative.ladder_id, enqueued.job_id, enqueued.asset_id)
            .await?;
        tracing::info!(%key, asset = %enqueued.asset_id, "ad creative sent to the farm");
        return Ok(());
    };
    match creative.asset_state {
        Some(AssetState::Ready) => {
            let Some(asset) = store.asset(asset_id).await? else {
                return Ok(());
            };
            store
                .mark_creative_ready(key, creative.ladder_id, asset.duration, now)
                .await?;
            tracing::info!(%key, asset = %asset_id, "ad creative ready");
        }
        Some(AssetState::Failed) | None => {
            let reason = match creative.job_id {
                Some(job) => store
                    .job(job)
                    .await?
                    .filter(|job| job.state == JobState::Failed)
                    .and_then(|job| job.error),
                None => None,
            }
            .unwrap_or_else(|| "its asset failed or is gone".to_owned());
            store
                .fail_creative(key, creative.ladder_id, &reason, now)
                .await?;
            tracing::warn!(%key, %reason, "ad creative failed");
        }
        Some(_) => {}
    }
    Ok(())
}
