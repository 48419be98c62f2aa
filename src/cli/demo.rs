//! `onair demo`: generates a few clips with GStreamer, encodes them to a small ladder, schedules
//! a looping 24-hour grid on channel `demo`, then serves it. A second run reuses all of it; a
//! data folder made before CMAF audio and video were packaged apart (its clips have muxed CMAF
//! and no audio track) has its clips and slate encoded again, and its grid rescheduled on them.

use std::path::Path;

use anyhow::Context;
use onair_domain::{Asset, ChannelSlug, Ladder, OutputFormat, Ticks, Timestamp};
use onair_media::{ClipSpec, FrameRate, TestPattern};
use onair_store::{NewAdBreak, NewChannel, NewScheduleItem, Store};

use crate::channels::slate_source;
use crate::config::Config;
use crate::startup;

const DEMO_SLUG: &str = "demo";
const DAY: Ticks = Ticks::from_secs(24 * 3600);
/// The demo's formats: HLS with TS and fMP4 segments, and DASH.
const OUTPUTS: [OutputFormat; 3] = [
    OutputFormat::HlsTs,
    OutputFormat::HlsFmp4,
    OutputFormat::Dash,
];
/// An ad break before every "City News", filled with slate and marked with SCTE-35.
const BREAK: Ticks = Ticks::from_secs(12);

/// The demo's clips: (title, seconds, test pattern, tone). With the break, a rotation is
/// 12 + 16 + 20 + 12 = 60 s, which divides a day, so the grid repeats cleanly with no slate at the
/// end of the day, and a clip boundary comes at least every 20 s.
const CLIPS: [(&str, i64, TestPattern, u32); 3] = [
    ("Morning Show", 12, TestPattern::Smpte, 440),
    ("Nature Break", 16, TestPattern::Ball, 523),
    ("City News", 20, TestPattern::Pinwheel, 659),
];

pub async fn run(config: &Config, setup_only: bool) -> anyhow::Result<()> {
    startup::prepare_dirs(config)?;
    let store = startup::open_store(config).await?;
    onair_media::init().context("GStreamer is not ready")?;
    setup(config, &store).await?;
    if setup_only {
        println!(
            "demo channel ready: run `onair serve` and open http://{}/",
            config.http.addr
        );
        return Ok(());
    }
    super::serve::serve(config, store).await
}

async fn setup(config: &Config, store: &Store) -> anyhow::Result<()> {
    let ladder = match store.ladder_by_name("demo").await? {
        Some(ladder) => ladder,
        None => {
            let id = store.insert_ladder(&Ladder::demo()).await?;
            Ladder {
                id,
                ..Ladder::demo()
            }
        }
    };
    let sources = config.storage.data_dir.join("sources");
    std::fs::create_dir_all(&sources)
        .with_context(|| format!("cannot create {}", sources.display()))?;

    let mut clips = Vec::new();
    for (title, seconds, pattern, tone_hz) in CLIPS {
        let spec = ClipSpec {
            title: title.to_owned(),
            subtitle: None,
            duration: Ticks::from_secs(seconds),
            width: 640,
            height: 360,
            fps: FrameRate::of_ladder(&ladder),
            pattern,
            tone_hz,
        };
        let key = format!("generated:demo/{}", title.to_lowercase().replace(' ', "-"));
        clips.push(ensure_asset(config, store, &ladder, &sources, &spec, &key).await?);
    }
    let slate = ClipSpec::slate(
        "onair demo",
        Ticks::from_secs(4),
        640,
        360,
        FrameRate::of_ladder(&ladder),
    );
    ensure_asset(
        config,
        store,
        &ladder,
        &sources,
        &slate,
        &slate_source(DEMO_SLUG),
    )
    .await?;

    let slug = ChannelSlug::parse(DEMO_SLUG)?;
    let channel = match store.channel_by_slug(&slug).await? {
        Some(channel) => channel,
        None => {
            store
                .insert_channel(&NewChannel {
                    slug: slug.clone(),
                    name: "onair demo".to_owned(),
                    time_zone: chrono_tz::UTC,
                    ladder_id: ladder.id,
                    outputs: OUTPUTS.to_vec(),
                    window_segments: 10,
                    grid_repeat: Some(DAY),
                    on_air: true,
                })
                .await?
        }
    };
    if channel.outputs != OUTPUTS {
        store.set_channel_outputs(channel.id, &OUTPUTS).await?;
    }
    let existing = store.schedule_items(channel.id).await?;
    let has_breaks = !store.ad_breaks_of_channel(channel.id).await?.is_empty();
    let clip_ids: Vec<_> = clips.iter().map(|clip| clip.id).collect();
    let same_clips = existing
        .iter()
        .all(|item| clip_ids.contains(&item.asset_id));
    if existing.is_empty() || !same_clips || !has_breaks {
        let origin = midnight_before(Timestamp::from_datetime(chrono::Utc::now()));
        let grid = daily_grid(&clips, origin);
        store
            .replace_schedule_with_ad_breaks(channel.id, &grid)
            .await?;
        tracing::info!(
            items = grid.len(),
            "scheduled a looping 24-hour grid on channel demo"
        );
    } else {
        tracing::info!(items = existing.len(), "reusing the demo grid");
    }
    Ok(())
}

/// Reuses the asset made from `key` when it is ready and has every CMAF audio track the
/// ladder needs, else generates and encodes it (again).
async fn ensure_asset(
    config: &Config,
    store: &Store,
    ladder: &Ladder,
    sources: &Path,
    spec: &ClipSpec,
    key: &str,
) -> anyhow::Result<Asset> {
    if let Some(asset) = store.asset_by_source(key).await?
        && asset.state == onair_domain::AssetState::Ready
        && asset.ladder_id == ladder.id
    {
        let missing = asset.missing_audio_tracks(ladder);
        if missing.is_empty() {
            tracing::info!(title = %spec.title, "reusing clip");
            return Ok(asset);
        }
        // Packaged before CMAF audio and video were split: HLS-fMP4 and DASH cannot play it.
        let missing: Vec<&str> = missing.iter().map(|track| track.name.as_str()).collect();
        tracing::info!(
            title = %spec.title,
            asset = %asset.id,
            missing = %missing.join(", "),
            "encoding the clip again: its CMAF renditions have no separate audio track"
        );
    }
    let file = sources.join(format!("{}.mp4", key.rsplit('/').next().unwrap_or("clip")));
    tracing::info!(title = %spec.title, "generating clip");
    let spec_for_task = spec.clone();
    let file_for_task = file.clone();
    tokio::task::spawn_blocking(move || onair_media::generate_clip(&spec_for_task, &file_for_task))
        .await
        .context("the clip generator stopped")?
        .with_context(|| format!("cannot generate the clip {:?}", spec.title))?;
    let title = spec
        .subtitle
        .clone()
        .map_or_else(|| spec.title.clone(), |_| "Slate".to_owned());
    let asset = onair_transcode::ingest_file(
        store,
        &config.storage.media_dir(),
        &file,
        &title,
        key,
        ladder,
    )
    .await?;
    tracing::info!(title = %asset.title, duration = %asset.duration, "clip ready");
    Ok(asset)
}

/// The clips in rotation from `origin` with a break before the last clip of each rotation,
/// for as many rotations as fit in a day; the planner pads the rest of the day with slate.
fn daily_grid(clips: &[Asset], origin: Timestamp) -> Vec<(NewScheduleItem, Vec<NewAdBreak>)> {
    let rotation: Ticks = clips.iter().map(|clip| clip.duration).sum::<Ticks>() + BREAK;
    let rotations = DAY.0 / rotation.0;
    let mut grid = Vec::new();
    let mut at = origin;
    for _ in 0..rotations {
        for (index, clip) in clips.iter().enumerate() {
            let breaks = if index + 1 == clips.len() {
                vec![NewAdBreak {
                    offset: Ticks::ZERO,
                    duration: BREAK,
                }]
            } else {
                Vec::new()
            };
            let airs_at = at + breaks.iter().map(|ad_break| ad_break.duration).sum();
            let item = NewScheduleItem {
                asset_id: clip.id,
                start: airs_at,
                hard_start: grid.is_empty(),
                title: clip.title.clone(),
            };
            grid.push((item, breaks));
            at = airs_at + clip.duration;
        }
    }
    grid
}

fn midnight_before(at: Timestamp) -> Timestamp {
    Timestamp(at.0 - at.0.rem_euclid(DAY.0))
}
