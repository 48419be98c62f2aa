//! Seeds copies of a channel, for benchmarks: each copy has the original's ladder, window and
//! grid repeat, its whole schedule (items and their ad breaks), the outputs asked for, and its
//! own slate asset (`generated:slate/{slug}`, which is how `onair serve` finds a channel's
//! slate) over the original slate's files, so it fills ad breaks and gaps as the original does.
//! Copies are named `{prefix}-0001`, `{prefix}-0002`, …; what exists is left alone, so a second
//! run adds only what is missing.
//!
//! ```sh
//! cargo run --release --example seed_channels -- \
//!     --database sqlite://target/bench/channels/onair.db --from demo --count 1000
//! ```
//!
//! With `--fast-day`, a copy does not take the original's schedule but a realistic FAST day:
//! 48 programmes of 30 minutes, every one titled apart, each 27 minutes of a library title with
//! a 90 s ad break after 12 and after 24 minutes of it (a break every 12 minutes or so, 6 min
//! of ads an hour, under Roku's 8), so no rotation repeats and nothing folds. The library is
//! `--library` synthetic 27-minute assets (`generated:fast-day/{n}`), each 810 segments per
//! rendition cycling over the files of the original's first programme, so every segment a
//! playlist lists exists (HLS only: no DASH segment template names such files). Channel `n` airs titles `48 n`, `48 n + 1`, … of the library,
//! wrapping around: with a library of 48 000 no two channels share an asset.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use onair_domain::{
    Asset, AssetId, AssetState, ChannelSlug, OutputFormat, Rendition, SegmentInfo, Ticks, Timestamp,
};
use onair_store::{NewAdBreak, NewChannel, NewScheduleItem, Store};

#[derive(Debug, Parser)]
struct Args {
    /// `sqlite://PATH` or `postgres://…`; migrated first.
    #[arg(long)]
    database: String,
    /// The channel to copy.
    #[arg(long, default_value = "demo")]
    from: String,
    /// How many copies.
    #[arg(long, default_value_t = 1000)]
    count: u32,
    /// Copies are `{prefix}-NNNN`.
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Comma-separated outputs of the copies (`hls-ts`, `hls-fmp4`, `dash`); default: the
    /// original's.
    #[arg(long, value_delimiter = ',')]
    outputs: Vec<String>,
    /// Number every item's title (`Title #N`), so no two rotations of a grid are alike and
    /// nothing folds: the worst case for memory.
    #[arg(long)]
    unique_titles: bool,
    /// A realistic FAST day instead of the original's schedule (see the module doc).
    #[arg(long)]
    fast_day: bool,
    /// How many library titles `--fast-day` draws from.
    #[arg(long, default_value_t = 480)]
    library: u32,
}

/// Programmes a `--fast-day` channel airs a day.
const FAST_DAY_PROGRAMMES: u32 = 48;
/// A library title: 27 minutes.
const FAST_DAY_PROGRAMME: Ticks = Ticks::from_secs(27 * 60);
/// Each programme's breaks: after 12 and 24 minutes of it, 90 s each.
const FAST_DAY_BREAKS: [(Ticks, Ticks); 2] = [
    (Ticks::from_secs(12 * 60), Ticks::from_secs(90)),
    (Ticks::from_secs(24 * 60), Ticks::from_secs(90)),
];

/// The `--fast-day` library: `count` assets of [`FAST_DAY_PROGRAMME`] over the files of
/// `programme`, made once (found again by source on a second run).
async fn fast_day_library(
    store: &Store,
    programme: &Asset,
    count: u32,
) -> anyhow::Result<Vec<AssetId>> {
    let started = Instant::now();
    let mut library = Vec::with_capacity(count as usize);
    let mut made = 0;
    for number in 0..count {
        let source = format!("generated:fast-day/{number}");
        if let Some(asset) = store.asset_by_source(&source).await? {
            library.push(asset.id);
            continue;
        }
        let renditions: Vec<Rendition> = programme
            .renditions
            .iter()
            .map(|rendition| {
                let files = &rendition.segments;
                let mut segments = Vec::new();
                let mut length = Ticks::ZERO;
                while length < FAST_DAY_PROGRAMME {
                    let file = &files[segments.len() % files.len()];
                    length += file.duration;
                    segments.push(SegmentInfo {
                        index: segments.len() as u32,
                        ..file.clone()
                    });
                }
                Rendition {
                    segments: segments.into(),
                    ..rendition.clone()
                }
            })
            .collect();
        let duration = renditions[0]
            .segments
            .iter()
            .map(|segment| segment.duration)
            .sum();
        let title = format!("Library title {number}");
        let id = store
            .insert_asset(&title, &source, programme.ladder_id)
            .await?;
        store.publish_asset(id, duration, &renditions).await?;
        library.push(id);
        made += 1;
    }
    println!(
        "library: {count} titles of {} min ({made} made in {:.1?})",
        FAST_DAY_PROGRAMME.as_secs_f64() / 60.0,
        started.elapsed()
    );
    Ok(library)
}

/// Channel `number`'s `--fast-day` schedule, from `day` (see the module doc).
fn fast_day_schedule(
    library: &[AssetId],
    number: u32,
    day: Timestamp,
    name: &str,
) -> Vec<(NewScheduleItem, Vec<NewAdBreak>)> {
    (0..FAST_DAY_PROGRAMMES)
        .map(|slot| {
            let title =
                (number as usize * FAST_DAY_PROGRAMMES as usize + slot as usize) % library.len();
            let item = NewScheduleItem {
                asset_id: library[title],
                start: day + Ticks::from_secs(i64::from(slot) * 30 * 60),
                hard_start: true,
                length: None,
                title: format!("{name}: programme {} (library title {title})", slot + 1),
            };
            let breaks = FAST_DAY_BREAKS
                .iter()
                .map(|&(offset, duration)| NewAdBreak { offset, duration })
                .collect();
            (item, breaks)
        })
        .collect()
}

/// The source key `onair serve` finds a channel's slate by (`src/channels.rs`).
fn slate_source(slug: &str) -> String {
    format!("generated:slate/{slug}")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = Store::connect(&args.database).await?;
    store.migrate().await?;
    let original = store
        .channel_by_slug(&ChannelSlug::parse(&args.from)?)
        .await?
        .with_context(|| format!("no channel {:?} to copy", args.from))?;
    let outputs = if args.outputs.is_empty() {
        original.outputs.clone()
    } else {
        args.outputs
            .iter()
            .map(|name| {
                OutputFormat::parse(name.trim())
                    .with_context(|| format!("{name:?} is not hls-ts, hls-fmp4 or dash"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let items = store.schedule_items(original.id).await?;
    if items.is_empty() {
        bail!("channel {} has no schedule to copy", original.slug);
    }
    let breaks = store.ad_breaks_of_channel(original.id).await?;
    let schedule: Vec<(NewScheduleItem, Vec<NewAdBreak>)> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let item_breaks = breaks
                .iter()
                .filter(|b| b.schedule_item_id == item.id)
                .map(|b| NewAdBreak {
                    offset: b.offset,
                    duration: b.duration,
                })
                .collect();
            let new_item = NewScheduleItem {
                asset_id: item.asset_id,
                start: item.start,
                hard_start: item.hard_start,
                length: item.length,
                title: if args.unique_titles {
                    format!("{} #{}", item.title, index + 1)
                } else {
                    item.title.clone()
                },
            };
            (new_item, item_breaks)
        })
        .collect();

    let library = if args.fast_day {
        let programme = items
            .iter()
            .map(|item| item.asset_id)
            .find(|id| Some(*id) != original.slate)
            .context("the original airs nothing to make a library of")?;
        let programme = store
            .asset(programme)
            .await?
            .context("the original's first programme is gone")?;
        fast_day_library(&store, &programme, args.library.max(1)).await?
    } else {
        Vec::new()
    };
    let day = items[0].start;

    let slate = store
        .asset_by_source(&slate_source(original.slug.as_str()))
        .await?
        .filter(|slate| slate.state == AssetState::Ready);

    let started = Instant::now();
    let (mut created, mut kept, mut slates) = (0, 0, 0);
    for number in 1..=args.count {
        let slug = ChannelSlug::parse(&format!("{}-{number:04}", args.prefix))?;
        if let Some(slate) = &slate
            && store
                .asset_by_source(&slate_source(slug.as_str()))
                .await?
                .is_none()
        {
            let id = store
                .insert_asset(&slate.title, &slate_source(slug.as_str()), slate.ladder_id)
                .await?;
            store
                .publish_asset(id, slate.duration, &slate.renditions)
                .await?;
            slates += 1;
        }
        if store.channel_by_slug(&slug).await?.is_some() {
            kept += 1;
            continue;
        }
        let channel = store
            .insert_channel(&NewChannel {
                slug: slug.clone(),
                name: format!("{} {number}", original.name),
                time_zone: original.time_zone,
                ladder_id: original.ladder_id,
                outputs: outputs.clone(),
                window_segments: original.window_segments,
                grid_repeat: original.grid_repeat,
                on_air: true,
            })
            .await?;
        if args.fast_day {
            let schedule = fast_day_schedule(&library, number, day, &channel.name);
            store
                .replace_schedule_with_ad_breaks(channel.id, &schedule)
                .await?;
        } else {
            store
                .replace_schedule_with_ad_breaks(channel.id, &schedule)
                .await?;
        }
        created += 1;
    }
    let (items_each, breaks_each) = if args.fast_day {
        let programmes = FAST_DAY_PROGRAMMES as usize;
        (programmes, programmes * FAST_DAY_BREAKS.len())
    } else {
        (schedule.len(), breaks.len())
    };
    println!(
        "seeded {created} copies of {} ({items_each} schedule items, {breaks_each} ad breaks \
         each; {kept} already there) and {slates} slates in {:.1?}",
        original.slug,
        started.elapsed()
    );
    store.close().await;
    Ok(())
}
