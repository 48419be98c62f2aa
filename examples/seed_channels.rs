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

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use onair_domain::{AssetState, ChannelSlug, OutputFormat};
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
                title: if args.unique_titles {
                    format!("{} #{}", item.title, index + 1)
                } else {
                    item.title.clone()
                },
            };
            (new_item, item_breaks)
        })
        .collect();

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
        store
            .replace_schedule_with_ad_breaks(channel.id, &schedule)
            .await?;
        created += 1;
    }
    println!(
        "seeded {created} copies of {} ({} schedule items, {} ad breaks each; {kept} already \
         there) and {slates} slates in {:.1?}",
        original.slug,
        schedule.len(),
        breaks.len(),
        started.elapsed()
    );
    store.close().await;
    Ok(())
}
