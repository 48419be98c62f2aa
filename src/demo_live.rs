//! The demo's live channel: `studio`, whose grid airs two minutes live from the source
//! `studio` then a demo programme, every four minutes; and, while `onair demo` runs, a built-in
//! test encoder (the wall clock over a test pattern, `media::live::TestStream`) publishing to
//! it over RTMP, so the switch to live and back shows at once.

use std::time::Duration;

use onair_control::Control;
use onair_control::grid::GridChange;
use onair_domain::{Asset, ChannelSlug, Ladder, OutputFormat, Ticks};
use onair_store::{NewChannel, Store};
use serde_json::json;

use crate::config::Config;

pub const STUDIO: &str = "studio";

/// Makes the studio channel (sharing the demo's slate), its grid and the live source, unless
/// they exist. Returns the source's stream key.
pub async fn setup(
    control: &Control,
    store: &Store,
    ladder: &Ladder,
    programme: &Asset,
    slate: &Asset,
) -> anyhow::Result<String> {
    let source = match control.live_source(STUDIO).await {
        Ok(source) => source,
        Err(onair_control::Refusal::NotFound(_)) => control
            .create_live_source(STUDIO, &ladder.name)
            .await
            .map_err(|refusal| anyhow::anyhow!("{refusal}"))?,
        Err(refusal) => anyhow::bail!("{refusal}"),
    };
    let slug = ChannelSlug::parse(STUDIO)?;
    if store.channel_by_slug(&slug).await?.is_none() {
        store
            .insert_channel(&NewChannel {
                slug,
                name: "onair studio (live)".to_owned(),
                time_zone: chrono_tz::UTC,
                ladder_id: ladder.id,
                outputs: vec![
                    OutputFormat::HlsTs,
                    OutputFormat::HlsFmp4,
                    OutputFormat::Dash,
                ],
                window_segments: 10,
                grid_repeat: Some(Ticks::from_secs(24 * 3600)),
                on_air: true,
            })
            .await?;
        let studio_slate = store
            .insert_asset("Slate", &format!("generated:slate/{STUDIO}"), ladder.id)
            .await?;
        store
            .publish_asset(studio_slate, slate.duration, &slate.renditions)
            .await?;
        let change: GridChange = serde_json::from_value(json!({
            "blocks": {"Studio": {"entries": [
                {"type": "item", "asset_id": programme.id.0,
                 "info": {"title": "Live from the studio", "genres": ["News"]},
                 "live": {"source_key": STUDIO, "duration_ms": 120_000}},
                {"type": "item", "asset_id": programme.id.0, "info": {"title": programme.title}},
            ]}},
            "templates": [{"name": "every four minutes", "zone": "UTC",
                "slots": [{"rule": "cron 0 */4 * * * *", "block": "Studio"}]}],
        }))?;
        let current = control
            .grid(STUDIO)
            .await
            .map_err(|refusal| anyhow::anyhow!("{refusal}"))?;
        control
            .edit_grid(STUDIO, Some(current.version), change, None, "demo")
            .await
            .map_err(|refusal| anyhow::anyhow!("the studio grid: {refusal}"))?;
        tracing::info!(
            "made channel studio: two minutes live from source studio every four minutes"
        );
    }
    Ok(source.stream_key)
}

/// Publishes the test encoder to this server's RTMP ingest for as long as the server runs,
/// starting again after a failure.
pub async fn publish_forever(config: Config, key: String) {
    let Some(addr) = config.live.rtmp_addr.filter(|addr| addr.port() != 0) else {
        return;
    };
    let url = format!("rtmp://127.0.0.1:{}/live/{key}", addr.port());
    // The listeners start with the server.
    tokio::time::sleep(Duration::from_secs(3)).await;
    loop {
        let url = url.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let spec = onair_media::TestStreamSpec::new(onair_media::LiveInput::Flv);
            onair_media::TestStream::publish(&spec, &url).and_then(|stream| stream.wait())
        })
        .await;
        match ran {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "the demo's test encoder stopped: starting it again in 5 s")
            }
            Err(error) => tracing::warn!(%error, "the demo's test encoder panicked"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
