//! Slates for channels that have none: a channel without an explicit slate airs the one
//! generated for it (found by its source key, `generated:slate/{slug}`). `onair channel create`
//! makes it at once; `onair serve` makes it for channels created another way (the API), so a
//! gap or a channel with nothing scheduled airs a slate rather than nothing.

use std::time::Duration;

use anyhow::Context;
use onair_control::Control;
use onair_control::grid::{SLATE_SOURCE_PREFIX, slate_source};
use onair_domain::{Asset, Channel, Ticks};
use onair_media::{ClipSpec, FrameRate};

use crate::config::Config;
use crate::startup;

/// Generates a 4 s slate showing the channel's name, encodes it to the channel's ladder and
/// stores it under the channel's slate key.
pub async fn generate_slate(
    config: &Config,
    control: &Control,
    channel: &Channel,
) -> anyhow::Result<Asset> {
    onair_media::init().context("GStreamer is not ready to generate the slate")?;
    startup::prepare_dirs(config)?;
    let ladder = control
        .store
        .ladder(channel.ladder_id)
        .await?
        .with_context(|| format!("channel {} has no ladder", channel.slug))?;
    let top = ladder
        .rungs
        .first()
        .context("the channel's ladder has no rungs")?;
    let spec = ClipSpec::slate(
        &channel.name,
        Ticks::from_secs(4),
        top.width,
        top.height,
        FrameRate::of_ladder(&ladder),
    );
    let sources = config.storage.data_dir.join("sources");
    std::fs::create_dir_all(&sources)
        .with_context(|| format!("cannot create {}", sources.display()))?;
    let file = sources.join(format!("slate-{}.mp4", channel.slug));
    let task_file = file.clone();
    tokio::task::spawn_blocking(move || onair_media::generate_clip(&spec, &task_file))
        .await
        .context("the slate generator stopped")?
        .context("cannot generate the slate")?;
    let asset = onair_transcode::ingest_file(
        &control.store,
        &config.storage.media_dir(),
        &file,
        "Slate",
        &slate_source(channel.slug.as_str()),
        &ladder,
    )
    .await
    .context("cannot encode the slate")?;
    let _ = std::fs::remove_file(&file);
    Ok(asset)
}

/// Makes the missing slates, every `every`, until the task is dropped.
pub async fn keep_slates(config: Config, control: Control, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Channels whose slate could not be made: tried once per run, their error logged.
    let mut failed = std::collections::HashSet::new();
    loop {
        ticker.tick().await;
        let channels = match control
            .store
            .channels_lacking_a_slate(SLATE_SOURCE_PREFIX)
            .await
        {
            Ok(channels) => channels,
            Err(error) => {
                tracing::warn!(%error, "cannot list the channels that lack a slate");
                continue;
            }
        };
        for channel in channels {
            if failed.contains(&channel.id) {
                continue;
            }
            match generate_slate(&config, &control, &channel).await {
                Ok(asset) => {
                    tracing::info!(channel = %channel.slug, asset = %asset.id, "made the channel's slate")
                }
                Err(error) => {
                    tracing::error!(channel = %channel.slug, error = format!("{error:#}"), "cannot make the channel's slate: gaps air nothing");
                    failed.insert(channel.id);
                }
            }
        }
    }
}
