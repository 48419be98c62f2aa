//! `onair channel …`, `onair asset list|show|rm`, `onair ladder …` and `onair grid …`: channels,
//! the asset library, ladders and grids from the command line, through the control plane the
//! HTTP API calls too (the same checks and refusals; edits published by `cli`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use onair_control::assets::AssetQuery;
use onair_control::channels::{ChannelEdit, ChannelInfo, ChannelSpec, Retirement};
use onair_control::grid::GridChange;
use onair_domain::Ladder;
use onair_store::AssetUse;

use crate::config::Config;
use crate::startup;

/// Who publishes what the CLI changes, in the version history.
const AUTHOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// List every channel, retired ones too.
    List,
    /// Show one channel's settings.
    Show { slug: String },
    /// Create a channel. Without --slate, a slate is generated for it (on its ladder), so it
    /// airs something from the start: the slate until it has a schedule or a grid.
    Create {
        /// URL-safe: lowercase letters, digits and '-'.
        slug: String,
        #[arg(long)]
        name: String,
        /// An IANA zone, e.g. Europe/Paris; default UTC.
        #[arg(long)]
        time_zone: Option<String>,
        /// A ladder by name (`onair ladder list`); default fast.
        #[arg(long)]
        ladder: Option<String>,
        /// Comma-separated: hls-ts, hls-fmp4, dash; default all three.
        #[arg(long, value_delimiter = ',')]
        outputs: Option<Vec<String>>,
        /// How many segments a playlist lists; default 10.
        #[arg(long)]
        window: Option<u32>,
        /// An asset to loop when nothing else airs (ready, on the channel's ladder).
        #[arg(long)]
        slate: Option<i64>,
        /// Assets that fill gaps before the slate does, comma-separated.
        #[arg(long, value_delimiter = ',')]
        filler: Vec<i64>,
        /// Create it off air.
        #[arg(long)]
        off_air: bool,
        /// Do not generate a slate when --slate is not given.
        #[arg(long, conflicts_with = "slate")]
        no_slate: bool,
    },
    /// Change a channel's settings (all but its slug).
    Edit {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        time_zone: Option<String>,
        /// Refused while the channel is on air: take it off air first.
        #[arg(long)]
        ladder: Option<String>,
        #[arg(long, value_delimiter = ',')]
        outputs: Option<Vec<String>>,
        #[arg(long)]
        window: Option<u32>,
        #[arg(long)]
        slate: Option<i64>,
        /// Back to the generated slate.
        #[arg(long, conflicts_with = "slate")]
        generated_slate: bool,
        #[arg(long, value_delimiter = ',')]
        filler: Option<Vec<i64>>,
        /// true or false.
        #[arg(long)]
        on_air: Option<bool>,
    },
    /// Retire a channel (off air for good, its schedule and as-run log kept), or delete it when
    /// nothing was ever scheduled on it.
    Retire { slug: String },
    /// Check the channel as its own URLs serve it against a conformance profile (--profile
    /// pluto, wurl, roku; the HLS baseline by default): exits 1 when a finding is an error.
    Check(super::check::ChannelCheckArgs),
}

#[derive(Debug, Subcommand)]
pub enum LadderCommand {
    /// List the ladders, the built-in ones among them.
    List,
    /// Print a ladder as JSON (what `create` takes).
    Show { name: String },
    /// Create a custom ladder from a JSON file (the shape `show` prints), checked as the
    /// built-in ones are.
    Create { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum GridCommand {
    /// Print a channel's grid as JSON (every part, and the schedule version).
    Show {
        #[arg(long)]
        channel: String,
    },
    /// Replace parts of a channel's grid with a JSON file: `{"templates"?, "blocks"?, "fill"?,
    /// "ad_policy"?, "rights"?, "metadata"?, "effective_from"?}` (see the grid API). Made on the
    /// current version (or the file's `version`); takes effect after the lock horizon.
    Put {
        #[arg(long)]
        channel: String,
        file: PathBuf,
    },
    /// List a channel's grid versions, newest first: author, instants, parts.
    Versions {
        #[arg(long)]
        channel: String,
    },
    /// Make the grid as it stood at version N current again (a new version, after the lock
    /// horizon).
    Restore {
        #[arg(long)]
        channel: String,
        version: i64,
    },
}

pub async fn channel(config: &Config, command: ChannelCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    match command {
        ChannelCommand::Check(args) => super::check::channel(config, &control, args).await,
        ChannelCommand::List => {
            let channels = control.channels().await?;
            if channels.is_empty() {
                println!("no channels yet: `onair channel create SLUG --name NAME`");
            }
            for info in channels {
                println!("{}", channel_line(&info));
            }
            Ok(())
        }
        ChannelCommand::Show { slug } => {
            let info = control.channel(&slug).await?;
            print_channel(&info);
            Ok(())
        }
        ChannelCommand::Create {
            slug,
            name,
            time_zone,
            ladder,
            outputs,
            window,
            slate,
            filler,
            off_air,
            no_slate,
        } => {
            let spec = ChannelSpec {
                slug: slug.clone(),
                name,
                time_zone,
                ladder,
                outputs,
                window_segments: window,
                slate,
                filler,
                on_air: Some(!off_air),
            };
            let created = control
                .create_channel(&spec)
                .await
                .with_context(|| format!("cannot create channel {slug}"))?;
            if slate.is_none() && !no_slate {
                let slate = crate::slates::generate_slate(config, &control, &created.channel)
                    .await
                    .with_context(|| format!("cannot make a slate for {slug}"))?;
                println!(
                    "slate: asset {} ({} s)",
                    slate.id,
                    slate.duration.as_secs_f64()
                );
            }
            println!("created channel {}", created.channel.slug);
            print_channel(&created);
            Ok(())
        }
        ChannelCommand::Edit {
            slug,
            name,
            time_zone,
            ladder,
            outputs,
            window,
            slate,
            generated_slate,
            filler,
            on_air,
        } => {
            let edit = ChannelEdit {
                name,
                time_zone,
                ladder,
                outputs,
                window_segments: window,
                slate: if generated_slate {
                    Some(None)
                } else {
                    slate.map(Some)
                },
                filler,
                on_air,
            };
            let edited = control
                .edit_channel(&slug, &edit)
                .await
                .with_context(|| format!("cannot edit channel {slug}"))?;
            println!("edited channel {slug}");
            print_channel(&edited);
            Ok(())
        }
        ChannelCommand::Retire { slug } => {
            match control
                .retire_channel(&slug)
                .await
                .with_context(|| format!("cannot retire channel {slug}"))?
            {
                Retirement::Deleted => {
                    println!("deleted channel {slug}: nothing was ever scheduled on it")
                }
                Retirement::Retired => println!(
                    "retired channel {slug}: off air for good; its schedule and as-run log are kept"
                ),
            }
            Ok(())
        }
    }
}

/// Retired, on air or off air.
fn state_of(channel: &onair_domain::Channel) -> &'static str {
    if channel.retired {
        "retired"
    } else if channel.on_air {
        "on air"
    } else {
        "off air"
    }
}

fn channel_line(info: &ChannelInfo) -> String {
    let channel = &info.channel;
    let state = state_of(channel);
    format!(
        "{:<20} {:<8} {:<20} ladder {:<8} version {:<5} {:?}",
        channel.slug.as_str(),
        state,
        channel.time_zone.name(),
        info.ladder,
        info.schedule_version,
        channel.name
    )
}

fn print_channel(info: &ChannelInfo) {
    let channel = &info.channel;
    let outputs: Vec<&str> = channel
        .outputs
        .iter()
        .map(|output| output.as_str())
        .collect();
    println!("  name:      {:?}", channel.name);
    println!("  time zone: {}", channel.time_zone.name());
    println!("  ladder:    {}", info.ladder);
    println!("  outputs:   {}", outputs.join(", "));
    println!("  window:    {} segments", channel.window_segments);
    println!(
        "  slate:     {}",
        channel
            .slate
            .map_or("generated".to_owned(), |id| format!("asset {id}"))
    );
    if !channel.filler.is_empty() {
        let filler: Vec<String> = channel.filler.iter().map(|id| id.to_string()).collect();
        println!("  filler:    assets {}", filler.join(", "));
    }
    println!("  state:     {}", state_of(channel));
    println!("  schedule:  version {}", info.schedule_version);
    println!("  playlist:  /channels/{}/master.m3u8", channel.slug);
}

pub async fn asset_list(
    config: &Config,
    state: Option<String>,
    title: Option<String>,
    limit: Option<u32>,
) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    let assets = control
        .assets(&AssetQuery {
            state,
            title,
            limit,
            after: None,
        })
        .await?;
    if assets.is_empty() {
        println!("no assets match");
    }
    for asset in assets {
        println!(
            "{:>6}  {:<10} {:>9.2} s  {:?}",
            asset.id.0,
            asset.state.as_str(),
            asset.duration.as_secs_f64(),
            asset.title
        );
    }
    Ok(())
}

pub async fn asset_show(config: &Config, id: i64) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    let detail = control.asset(id).await?;
    let asset = &detail.asset;
    println!("asset {}: {:?}", asset.id, asset.title);
    println!("  state:    {}", asset.state.as_str());
    if let Some(error) = &detail.error {
        println!("  error:    {error}");
    }
    println!("  duration: {:.2} s", asset.duration.as_secs_f64());
    println!("  source:   {}", asset.source);
    for rendition in &asset.renditions {
        println!(
            "  rendition {}/{}: {}x{}, {} segments, {}",
            rendition.rung,
            rendition.packaging.as_str(),
            rendition.width,
            rendition.height,
            rendition.segments.len(),
            rendition.codecs
        );
    }
    if detail.uses.is_empty() {
        println!("  airs:     nowhere from now on");
    }
    for asset_use in &detail.uses {
        match asset_use {
            AssetUse::ScheduleItem {
                channel,
                start,
                title,
                ..
            } => println!(
                "  airs:     {channel} at {} as {title:?}",
                start.to_rfc3339_millis()
            ),
            AssetUse::Slate { channel } => println!("  airs:     as the slate of {channel}"),
            AssetUse::Filler { channel } => println!("  airs:     as filler on {channel}"),
        }
    }
    Ok(())
}

pub async fn asset_rm(config: &Config, id: i64) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    let deleted = control
        .delete_asset(id, &config.storage.media_dir())
        .await
        .with_context(|| format!("cannot delete asset {id}"))?;
    println!(
        "deleted asset {} {:?} and {} file(s)",
        deleted.id, deleted.title, deleted.files_removed
    );
    for left in &deleted.files_left {
        eprintln!("left behind: {left}");
    }
    Ok(())
}

pub async fn ladder(config: &Config, command: LadderCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    match command {
        LadderCommand::List => {
            for ladder in control.ladders().await? {
                let rungs: Vec<String> = ladder
                    .rungs
                    .iter()
                    .map(|rung| format!("{}@{}k", rung.name, rung.video_bitrate / 1000))
                    .collect();
                println!(
                    "{:<12} {}/{} fps, {} s segments: {}",
                    ladder.name,
                    ladder.frame_rate_num,
                    ladder.frame_rate_den,
                    ladder.segment_duration.as_secs_f64(),
                    rungs.join(" ")
                );
            }
            Ok(())
        }
        LadderCommand::Show { name } => {
            let ladder = control.resolve_ladder(&name).await?;
            println!("{}", serde_json::to_string_pretty(&ladder_file(&ladder))?);
            Ok(())
        }
        LadderCommand::Create { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let ladder: Ladder = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not the ladder JSON `onair ladder show` prints",
                    file.display()
                )
            })?;
            let created = control
                .create_ladder(&Ladder {
                    id: onair_domain::LadderId(0),
                    ..ladder
                })
                .await
                .with_context(|| format!("cannot create the ladder in {}", file.display()))?;
            println!("created ladder {}", created.name);
            Ok(())
        }
    }
}

/// A ladder as `onair ladder show` prints it and `create` reads it.
fn ladder_file(ladder: &Ladder) -> serde_json::Value {
    let mut value = serde_json::to_value(ladder).expect("a ladder serialises to JSON");
    value["id"] = serde_json::json!(0);
    value
}

pub async fn grid(config: &Config, command: GridCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    match command {
        GridCommand::Show { channel } => {
            let view = control.grid(&channel).await?;
            let mut body = serde_json::json!({
                "channel": view.channel.slug.as_str(),
                "version": view.version,
                "lock_horizon": view.lock_horizon.to_rfc3339_millis(),
            });
            for kind in onair_store::grid::GridKind::ALL {
                body[kind.as_str()] = view.grid.part(kind);
            }
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(())
        }
        GridCommand::Put { channel, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let change: GridChange = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a grid edit", file.display()))?;
            let expected = match change.version {
                Some(version) => version,
                None => control.current_version(&channel).await?,
            };
            let edited = control
                .edit_grid(&channel, Some(expected), change, None, AUTHOR)
                .await
                .with_context(|| format!("cannot edit the grid of {channel}"))?;
            println!(
                "edited the grid of {channel}: schedule version {}, in effect from {}",
                edited.version,
                edited
                    .effective_from
                    .map_or("now".to_owned(), |at| at.to_rfc3339_millis())
            );
            Ok(())
        }
        GridCommand::Versions { channel } => {
            let versions = control.grid_versions(&channel).await?;
            if versions.is_empty() {
                println!("{channel} has no grid version yet");
            }
            for version in versions {
                let parts: Vec<&str> = version
                    .parts
                    .iter()
                    .map(|(kind, _)| kind.as_str())
                    .collect();
                println!(
                    "{:>6}  published {}  in effect from {}  {}  {}",
                    version.version,
                    version.published_at.to_rfc3339_millis(),
                    version.effective_from.to_rfc3339_millis(),
                    parts.join(","),
                    version.author
                );
            }
            Ok(())
        }
        GridCommand::Restore { channel, version } => {
            let restored = control
                .restore_grid(&channel, version, None, AUTHOR)
                .await
                .with_context(|| format!("cannot restore grid version {version} of {channel}"))?;
            if restored.unchanged {
                println!(
                    "the grid of {channel} already stands as at version {version}: nothing changed"
                );
            } else {
                println!(
                    "restored grid version {version} of {channel}: schedule version {}, in effect from {}",
                    restored.version,
                    restored
                        .effective_from
                        .map_or("now".to_owned(), |at| at.to_rfc3339_millis())
                );
            }
            Ok(())
        }
    }
}
