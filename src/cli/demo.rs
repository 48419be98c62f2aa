//! `onair demo`: generates the demo's programmes with GStreamer, encodes them to a small ladder,
//! schedules a looping 24-hour grid on channel `demo`, then serves it. A second run reuses all
//! of it. A data folder made by an older demo (other programmes, or clips with muxed CMAF and no
//! audio track) gets the programmes it lacks made, and its grid scheduled again on them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use onair_domain::{Asset, ChannelSlug, Ladder, OutputFormat, Ticks, Timestamp};
use onair_media::{ClipSpec, FrameRate, TestPattern};
use onair_store::{NewAdBreak, NewChannel, NewScheduleItem, Store};

use crate::channels::slate_source;
use crate::config::Config;
use crate::startup;

const DEMO_SLUG: &str = "demo";
const DAY: Ticks = Ticks::from_secs(DAY_SECS);
const DAY_SECS: i64 = 24 * 3600;
/// The demo's formats: HLS with TS and fMP4 segments, and DASH.
const OUTPUTS: [OutputFormat; 3] = [
    OutputFormat::HlsTs,
    OutputFormat::HlsFmp4,
    OutputFormat::Dash,
];

/// One programme of the demo channel: a generated clip that shows its title and its running
/// time, then an ad break (filled with slate and marked with SCTE-35 until ads fill it).
struct Programme {
    /// On screen, in the schedule and in the EPG.
    title: &'static str,
    /// How long the clip lasts: whole 2 s segments of the demo ladder.
    seconds: i64,
    pattern: TestPattern,
    tone_hz: u32,
    /// The ad break after it.
    break_seconds: i64,
}

/// The rotation, from 00:00 UTC: five programmes of two minutes, each followed by a one-minute
/// break (two 30 s spots, once ads fill it). A programme and its break make a 3-minute EPG
/// entry, the EPG's shortest (a shorter one would merge with its neighbours). The 15-minute
/// rotation divides a day, so the grid repeats with no slate at the end of the day and the
/// scheduler holds it as one rotation. Ten minutes of pictures: generating and encoding them
/// takes about 140 s of CPU in a debug build, 75 s on two cores.
const PROGRAMMES: [Programme; 5] = [
    Programme {
        title: "Morning Headlines",
        seconds: 120,
        pattern: TestPattern::Smpte,
        tone_hz: 440,
        break_seconds: 60,
    },
    Programme {
        title: "Kitchen Basics",
        seconds: 120,
        pattern: TestPattern::Colors,
        tone_hz: 523,
        break_seconds: 60,
    },
    Programme {
        title: "Wild Coasts",
        seconds: 120,
        pattern: TestPattern::Ball,
        tone_hz: 587,
        break_seconds: 60,
    },
    Programme {
        title: "Street Food Stories",
        seconds: 120,
        pattern: TestPattern::Pinwheel,
        tone_hz: 659,
        break_seconds: 60,
    },
    Programme {
        title: "Night Sky",
        seconds: 120,
        pattern: TestPattern::Spokes,
        tone_hz: 784,
        break_seconds: 60,
    },
];

/// One rotation of [`PROGRAMMES`], breaks included, in seconds.
const ROTATION_SECS: i64 = {
    let mut total = 0;
    let mut index = 0;
    while index < PROGRAMMES.len() {
        total += PROGRAMMES[index].seconds + PROGRAMMES[index].break_seconds;
        index += 1;
    }
    total
};
const _: () = assert!(DAY_SECS % ROTATION_SECS == 0, "the rotation divides a day");

/// The demo's admin account, made (or given a new password) by each run.
pub const DEMO_ADMIN: &str = "demo";

/// How long the slate lasts: it loops to fill the breaks.
const SLATE: Ticks = Ticks::from_secs(4);

pub async fn run(config: &Config, setup_only: bool) -> anyhow::Result<()> {
    startup::prepare_dirs(config)?;
    let store = startup::open_store(config).await?;
    onair_media::init().context("GStreamer is not ready")?;
    let studio_key = setup(config, &store).await?;
    setup_ads(config, &store).await?;
    setup_partner(config, &store).await?;
    if setup_only {
        println!(
            "demo channel ready: run `onair serve` and open http://{}/",
            config.http.addr
        );
        return Ok(());
    }
    // The grid planner edits a repeating grid's first day: keep that day today.
    bring_demo_grid_to_today(&store).await?;
    // The operator's login: a new password each run, printed once.
    let password = startup::accounts(store.clone())
        .fresh_admin_password(DEMO_ADMIN)
        .await
        .map_err(|refusal| anyhow::anyhow!("cannot make the demo's admin: {refusal}"))?;
    println!(
        "operator pages: open http://{}/ and log in as {DEMO_ADMIN} with password {password} \
         (a new one each run)",
        config.http.addr
    );
    // The operator's part: a take to air by hand, from another terminal.
    let data_dir = std::path::absolute(&config.storage.data_dir)
        .unwrap_or_else(|_| config.storage.data_dir.clone());
    println!(
        "take the demo channel live from the studio (lands within two segments), then back:\n  \
         ONAIR_DATA_DIR={dir} target/release/onair live take demo studio\n  \
         ONAIR_DATA_DIR={dir} target/release/onair live return demo\n\
         or put it on its slate now (the desk's Slate now button does the same):\n  \
         ONAIR_DATA_DIR={dir} target/release/onair live slate demo",
        dir = data_dir.display()
    );
    println!(
        "a distribution partner, {DEMO_PARTNER}, pulls the demo channel with CUE-OUT/IN markers \
         and a Wurl-style EPG:\n  http://{addr}/p/{DEMO_PARTNER}/demo/master.m3u8\n  \
         http://{addr}/p/{DEMO_PARTNER}/demo/epg.json\n\
         check what it gets against Pluto TV's spec (the demo's 2 s segments fail it):\n  \
         ONAIR_DATA_DIR={dir} target/release/onair partner check {DEMO_PARTNER} --profile pluto\n\
         or on the conformance page, a report per channel and per partner:\n  \
         http://{addr}/conformance",
        addr = config.http.addr,
        dir = data_dir.display()
    );
    println!(
        "a second partner, {DEMO_STITCHED_PARTNER}, gets the demo channel with ads stitched by \
         onair from its own tag (each player its own session):\n  \
         http://{addr}/p/{DEMO_STITCHED_PARTNER}/demo/master.m3u8",
        addr = config.http.addr,
    );
    println!(
        "operations: http://{addr}/healthz, http://{addr}/readyz and http://{addr}/metrics \
         (Prometheus)",
        addr = config.http.addr
    );
    // A test encoder publishes to the studio channel's live source while the demo runs.
    let publisher = tokio::spawn(crate::demo_live::publish_forever(
        config.clone(),
        studio_key,
    ));
    let served = super::serve::serve(config, store).await;
    publisher.abort();
    served
}

/// The demo's distribution partner.
pub const DEMO_PARTNER: &str = "fastplus";

/// The demo's partner whose ads onair stitches.
pub const DEMO_STITCHED_PARTNER: &str = "fastplus-ads";

/// The demo's partners, each made once: [`DEMO_PARTNER`] carries `demo` as HLS-TS, a clean
/// feed with CUE-OUT/CONT/IN (and the SCTE-35 in its TS), a Wurl-style JSON EPG, unsigned URLs;
/// [`DEMO_STITCHED_PARTNER`] the same channel with its ads stitched by onair from the built-in
/// ad server's tag (`crate::demo_ads`, with the partner's name in it), XMLTV.
async fn setup_partner(config: &Config, store: &Store) -> anyhow::Result<()> {
    let control = startup::control(config, store.clone());
    if control.partner(DEMO_STITCHED_PARTNER).await.is_err() {
        let input = onair_control::partners::PartnerInput {
            name: Some(DEMO_STITCHED_PARTNER.to_owned()),
            display_name: Some("FAST+ with ads (demo partner)".to_owned()),
            channels: vec![DEMO_SLUG.to_owned()],
            outputs: Some(vec!["hls-ts".to_owned()]),
            ad_mode: Some("stitched".to_owned()),
            ad_tag: Some(format!(
                "{}/demo-ads/vast.xml?sid={{session.id}}&partner={{partner}}&dur=[BREAKMAXDURATION]&cb=[CACHEBUSTING]",
                onair_control::ads::config::ORIGIN
            )),
            signed: Some(false),
            ..Default::default()
        };
        control
            .create_partner(&input, "onair demo")
            .await
            .map_err(|refusal| {
                anyhow::anyhow!("cannot make the demo's stitched partner: {refusal}")
            })?;
    }
    if control.partner(DEMO_PARTNER).await.is_ok() {
        return Ok(());
    }
    let input = onair_control::partners::PartnerInput {
        name: Some(DEMO_PARTNER.to_owned()),
        display_name: Some("FAST+ (demo partner)".to_owned()),
        channels: vec![DEMO_SLUG.to_owned()],
        outputs: Some(vec!["hls-ts".to_owned()]),
        epg: Some("wurl-json".to_owned()),
        ad_mode: Some("clean".to_owned()),
        cue_dialect: Some("cue-out".to_owned()),
        signed: Some(false),
        ..Default::default()
    };
    control
        .create_partner(&input, "onair demo")
        .await
        .map_err(|refusal| anyhow::anyhow!("cannot make the demo's partner: {refusal}"))?;
    Ok(())
}

/// The demo's ads: the creatives' mezzanine files (generated once), the channel's ad settings
/// pointing at the built-in ad server (`crate::demo_ads`, which `serve` mounts on a data
/// folder that has them), and the creatives
/// asked of the farm at once, so the first breaks already air them.
async fn setup_ads(config: &Config, store: &Store) -> anyhow::Result<()> {
    let dir = crate::demo_ads::dir(config);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ladder = store
        .ladder_by_name("demo")
        .await?
        .context("the demo ladder is missing")?;
    let fps = FrameRate::of_ladder(&ladder);
    let patterns = [
        TestPattern::Colors,
        TestPattern::Ball,
        TestPattern::Smpte,
        TestPattern::Pinwheel,
    ];
    for (ad, pattern) in crate::demo_ads::DEMO_ADS.iter().zip(patterns) {
        let file = dir.join(format!("ad-{}.mp4", ad.name));
        if file.exists() {
            continue;
        }
        let spec = ClipSpec {
            title: format!("AD · {}", ad.title),
            subtitle: None,
            duration: Ticks::from_secs(ad.seconds),
            width: 640,
            height: 360,
            fps,
            pattern,
            tone_hz: 330,
        };
        let partial = file.with_extension("partial.mp4");
        let target = partial.clone();
        tokio::task::spawn_blocking(move || onair_media::generate_clip(&spec, &target))
            .await
            .context("the clip generator stopped")?
            .with_context(|| format!("cannot generate the demo ad {}", ad.title))?;
        std::fs::rename(&partial, &file)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let base = onair_control::ads::config::ORIGIN;
    let slug = ChannelSlug::parse(DEMO_SLUG)?;
    let channel = store
        .channel_by_slug(&slug)
        .await?
        .context("the demo channel is missing")?;
    let wanted = onair_control::ads::AdConfig {
        tag: format!(
            "{base}/demo-ads/vast.xml?sid={{session.id}}&dur=[BREAKMAXDURATION]&cb=[CACHEBUSTING]"
        ),
        lead_seconds: 40,
        freeze_seconds: 8,
        allow_private: true,
        ..onair_control::ads::AdConfig::default()
    };
    let control = startup::control(config, store.clone());
    let current = control
        .ad_config(DEMO_SLUG)
        .await
        .map_err(|refusal| anyhow::anyhow!("{refusal}"))?;
    if current.as_ref().map(|stored| &stored.config) != Some(&wanted) {
        control
            .put_ad_config(
                DEMO_SLUG,
                current.map(|stored| stored.version),
                &wanted,
                "onair demo",
            )
            .await
            .map_err(|refusal| anyhow::anyhow!("{refusal}"))?;
        tracing::info!(tag = %wanted.tag, "the demo channel's ads come from the built-in ad server");
    }
    let now = Timestamp::from_datetime(chrono::Utc::now());
    for ad in &crate::demo_ads::DEMO_ADS {
        let url = format!("{base}/demo-ads/media/ad-{}.mp4", ad.name);
        store
            .request_creative(
                &crate::demo_ads::creative_key(ad),
                channel.ladder_id,
                &url,
                now,
            )
            .await?;
    }
    transcode_creatives(config, store, &channel).await
}

/// Runs the farm on the demo's creatives now, so that a demo (or a test) served from this
/// folder airs them from its first break.
async fn transcode_creatives(
    config: &Config,
    store: &Store,
    channel: &onair_domain::Channel,
) -> anyhow::Result<()> {
    let settings = config.transcode.farm_settings(&config.storage);
    let origin = crate::creatives::Origin {
        url: format!("http://{}", config.http.addr),
        demo_ads_dir: crate::demo_ads::dir(config),
    };
    let now = || Timestamp::from_datetime(chrono::Utc::now());
    crate::creatives::pass(store, &settings, &origin, now()).await?;
    for ad in &crate::demo_ads::DEMO_ADS {
        let key = crate::demo_ads::creative_key(ad);
        let Some(creative) = store.creative(&key, channel.ladder_id).await? else {
            continue;
        };
        let (onair_store::CreativeStatus::Pending, Some(job)) = (creative.status, creative.job_id)
        else {
            continue;
        };
        tracing::info!(title = ad.title, "encoding a demo ad");
        let mut options = onair_transcode::WorkerOptions::new(1);
        options.name = format!("{}-demo", options.name);
        options.only_job = Some(job);
        let worker = onair_transcode::Worker::new(store.clone(), settings.clone(), options)?;
        worker.run(std::future::pending::<()>()).await?;
    }
    crate::creatives::pass(store, &settings, &origin, now()).await?;
    Ok(())
}

/// Makes the demo channel and its grid, and the live studio channel; returns the studio
/// source's stream key.
async fn setup(config: &Config, store: &Store) -> anyhow::Result<String> {
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

    let fps = FrameRate::of_ladder(&ladder);
    let mut clips: Vec<(ClipSpec, String)> = PROGRAMMES
        .iter()
        .map(|programme| {
            let spec = ClipSpec {
                title: programme.title.to_owned(),
                subtitle: None,
                duration: Ticks::from_secs(programme.seconds),
                width: 640,
                height: 360,
                fps,
                pattern: programme.pattern,
                tone_hz: programme.tone_hz,
            };
            let key = format!(
                "generated:demo/{}",
                programme.title.to_lowercase().replace(' ', "-")
            );
            (spec, key)
        })
        .collect();
    clips.push((
        ClipSpec::slate("onair demo", SLATE, 640, 360, fps),
        slate_source(DEMO_SLUG),
    ));
    let maker = ClipMaker {
        store: store.clone(),
        media_dir: config.storage.media_dir(),
        sources,
        ladder,
    };
    let mut assets = maker.ensure_all(clips).await?;
    let slate = assets.pop().expect("the slate"); // playout finds it by its source key
    let ladder = maker.ladder;

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
    let asset_ids: Vec<_> = assets.iter().map(|asset| asset.id).collect();
    let same_clips = existing
        .iter()
        .all(|item| asset_ids.contains(&item.asset_id));
    if existing.is_empty() || !same_clips || !has_breaks {
        let origin = midnight_before(Timestamp::from_datetime(chrono::Utc::now()));
        let grid = daily_grid(&assets, origin);
        store
            .replace_schedule_with_ad_breaks(channel.id, &grid)
            .await?;
        tracing::info!(
            items = grid.len(),
            rotation_minutes = ROTATION_SECS / 60,
            "scheduled a looping 24-hour grid on channel demo"
        );
    } else {
        tracing::info!(items = existing.len(), "reusing the demo grid");
    }
    let control = startup::control(config, store.clone());
    crate::demo_live::setup(&control, store, &ladder, &assets[0], &slate).await
}

/// Makes the demo's clips into assets of its ladder, several at once.
#[derive(Clone)]
struct ClipMaker {
    store: Store,
    media_dir: PathBuf,
    /// Where the generated mezzanines are written; each is removed once encoded.
    sources: PathBuf,
    ladder: Ladder,
}

impl ClipMaker {
    /// The asset of each `(spec, source key)`, in order: reused, or generated and encoded, one
    /// more at a time than there are cores. An encode alone keeps about one and a half cores
    /// busy and a clip being generated one, so every core stays busy to the end; the bound
    /// keeps memory down too (each clip in progress holds about 80 MB).
    async fn ensure_all(&self, clips: Vec<(ClipSpec, String)>) -> anyhow::Result<Vec<Asset>> {
        let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
        let lanes = Arc::new(tokio::sync::Semaphore::new(cores + 1));
        let tasks: Vec<_> = clips
            .into_iter()
            .map(|(spec, key)| {
                let (maker, lanes) = (self.clone(), lanes.clone());
                tokio::spawn(async move {
                    let _lane = lanes.acquire_owned().await?;
                    maker.ensure(&spec, &key).await
                })
            })
            .collect();
        let mut assets = Vec::with_capacity(tasks.len());
        for task in tasks {
            assets.push(task.await.context("a clip task stopped")??);
        }
        Ok(assets)
    }

    /// Reuses the asset made from `key` when it is ready, lasts what `spec` says and has every
    /// CMAF audio track the ladder needs, else generates and encodes it (again).
    async fn ensure(&self, spec: &ClipSpec, key: &str) -> anyhow::Result<Asset> {
        if let Some(asset) = self.store.asset_by_source(key).await?
            && asset.state == onair_domain::AssetState::Ready
            && asset.ladder_id == self.ladder.id
        {
            let missing = asset.missing_audio_tracks(&self.ladder);
            if asset.duration != spec.duration {
                tracing::info!(
                    title = %spec.title,
                    asset = %asset.id,
                    was = %asset.duration,
                    "making the clip again: the demo's programme changed length"
                );
            } else if missing.is_empty() {
                tracing::info!(title = %spec.title, "reusing clip");
                return Ok(asset);
            } else {
                // Packaged before CMAF audio and video were split: HLS-fMP4 and DASH cannot
                // play it.
                let missing: Vec<&str> = missing.iter().map(|track| track.name.as_str()).collect();
                tracing::info!(
                    title = %spec.title,
                    asset = %asset.id,
                    missing = %missing.join(", "),
                    "encoding the clip again: its CMAF renditions have no separate audio track"
                );
            }
        }
        let file = self
            .sources
            .join(format!("{}.mp4", key.rsplit('/').next().unwrap_or("clip")));
        tracing::info!(title = %spec.title, duration = %spec.duration, "generating clip");
        let spec_for_task = spec.clone();
        let file_for_task = file.clone();
        tokio::task::spawn_blocking(move || {
            onair_media::generate_clip(&spec_for_task, &file_for_task)
        })
        .await
        .context("the clip generator stopped")?
        .with_context(|| format!("cannot generate the clip {:?}", spec.title))?;
        let title = spec
            .subtitle
            .clone()
            .map_or_else(|| spec.title.clone(), |_| "Slate".to_owned());
        let ingested = onair_transcode::ingest_file(
            &self.store,
            &self.media_dir,
            &file,
            &title,
            key,
            &self.ladder,
        )
        .await;
        remove_mezzanine(&file);
        let asset = ingested?;
        tracing::info!(title = %asset.title, duration = %asset.duration, "clip ready");
        Ok(asset)
    }
}

/// The generated file is only the encoder's input: the asset's segments are what airs.
fn remove_mezzanine(file: &Path) {
    if let Err(error) = std::fs::remove_file(file) {
        tracing::warn!(file = %file.display(), %error, "cannot remove a generated clip");
    }
}

/// The programmes in rotation from `origin`, each with its break after it, for the day; the
/// rotation divides the day, so the grid ends on a break and starts again on the first
/// programme. `programmes` are the assets of [`PROGRAMMES`], in order.
fn daily_grid(programmes: &[Asset], origin: Timestamp) -> Vec<(NewScheduleItem, Vec<NewAdBreak>)> {
    let rotations = DAY_SECS / ROTATION_SECS;
    let mut grid = Vec::new();
    let mut at = origin;
    for _ in 0..rotations {
        for (asset, programme) in programmes.iter().zip(&PROGRAMMES) {
            let ad_break = NewAdBreak {
                offset: asset.duration,
                duration: Ticks::from_secs(programme.break_seconds),
            };
            let item = NewScheduleItem {
                asset_id: asset.id,
                start: at,
                hard_start: grid.is_empty(),
                length: None,
                title: programme.title.to_owned(),
            };
            at = at + asset.duration + ad_break.duration;
            grid.push((item, vec![ad_break]));
        }
    }
    grid
}

/// Moves the demo channel's repeating grid, whole days at a time, so that its first day (the
/// one that repeats, and the one the grid planner edits) is today, keeping every edit made to
/// it. Nothing airs differently: the grid repeats daily from UTC midnight either way.
async fn bring_demo_grid_to_today(store: &Store) -> anyhow::Result<()> {
    let Some(channel) = store
        .channel_by_slug(&ChannelSlug::parse(DEMO_SLUG)?)
        .await?
    else {
        return Ok(());
    };
    let items = store.schedule_items(channel.id).await?;
    let Some(first) = items.iter().map(|item| item.start).min() else {
        return Ok(());
    };
    let today = midnight_before(Timestamp::from_datetime(chrono::Utc::now()));
    let days = (today.0 - midnight_before(first).0) / DAY.0;
    if days <= 0 {
        return Ok(());
    }
    let shift = Ticks(days * DAY.0);
    let mut breaks: std::collections::HashMap<_, Vec<NewAdBreak>> =
        std::collections::HashMap::new();
    for ad_break in store.ad_breaks_of_channel(channel.id).await? {
        breaks
            .entry(ad_break.schedule_item_id)
            .or_default()
            .push(NewAdBreak {
                offset: ad_break.offset,
                duration: ad_break.duration,
            });
    }
    let moved: Vec<_> = items
        .into_iter()
        .map(|item| {
            let own = breaks.remove(&item.id).unwrap_or_default();
            let item = NewScheduleItem {
                asset_id: item.asset_id,
                start: item.start + shift,
                hard_start: item.hard_start,
                length: item.length,
                title: item.title,
            };
            (item, own)
        })
        .collect();
    store
        .replace_schedule_with_ad_breaks(channel.id, &moved)
        .await?;
    tracing::info!(days, "moved the demo's repeating grid to start today");
    Ok(())
}

fn midnight_before(at: Timestamp) -> Timestamp {
    Timestamp(at.0 - at.0.rem_euclid(DAY.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programmes_have_distinct_titles_and_fill_whole_segments_and_epg_slots() {
        let segment = Ladder::demo().segment_duration;
        let mut titles: Vec<&str> = PROGRAMMES.iter().map(|p| p.title).collect();
        titles.sort();
        titles.dedup();
        assert_eq!(titles.len(), PROGRAMMES.len(), "distinct titles");
        for programme in &PROGRAMMES {
            let clip = Ticks::from_secs(programme.seconds);
            let ad_break = Ticks::from_secs(programme.break_seconds);
            assert_eq!(clip.0 % segment.0, 0, "{}: whole segments", programme.title);
            assert_eq!(
                ad_break.0 % segment.0,
                0,
                "{}: a whole break",
                programme.title
            );
            assert!(
                (90..=240).contains(&programme.seconds),
                "{}: a programme of a few minutes",
                programme.title
            );
            assert!(
                (30..=300).contains(&programme.break_seconds),
                "{}: a break partners take",
                programme.title
            );
            assert!(
                programme.seconds + programme.break_seconds >= 180,
                "{}: an EPG entry of its own (3 minutes at least)",
                programme.title
            );
        }
    }
}
