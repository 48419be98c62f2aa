//! `onair live`: live sources (add, list, show, rotate-key, rm, events) and takes to air by
//! hand (take, slate, return, takes), through the control plane, as the API does.

use clap::Subcommand;

use crate::config::Config;
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum LiveCommand {
    /// Every live source with its state, as JSON.
    List,
    /// Add a live source: prints its stream key and where to publish.
    Add {
        /// What grid items name it by: lowercase letters, digits, '-' and '_'.
        name: String,
        /// The ladder it is encoded to: the channels that air it use this ladder.
        #[arg(long, default_value = "demo")]
        ladder: String,
    },
    /// One source, with its state and the ingest's figures, as JSON.
    Show { name: String },
    /// Give a source a new stream key (the old one is refused from now on).
    RotateKey { name: String },
    /// Delete a source: its grid items air their fallback.
    Rm { name: String },
    /// A source's publishes, losses, refusals and failures, oldest first, as JSON.
    Events {
        name: String,
        #[arg(long, default_value_t = 24)]
        hours: u32,
    },
    /// Take a channel to a live source now: it lands at the first segment boundary no
    /// playlist has listed yet, and airs slate while the source sends nothing.
    Take {
        /// The channel's slug.
        channel: String,
        /// The live source's name.
        source: String,
        /// The schedule version the take is made against (the current one by default).
        #[arg(long)]
        version: Option<i64>,
        /// Who takes it, kept with the schedule version it publishes.
        #[arg(long, default_value = "cli")]
        author: String,
    },
    /// Put a channel on its slate now (a bad programme, a takedown, a broken feed): it lands at
    /// the first segment boundary no playlist has listed yet and lasts until `live return`.
    Slate {
        /// The channel's slug.
        channel: String,
        /// The schedule version it is made against (the current one by default).
        #[arg(long)]
        version: Option<i64>,
        /// Who puts it on its slate, kept with the schedule version it publishes.
        #[arg(long, default_value = "cli")]
        author: String,
    },
    /// Return a channel taken live (or put on its slate) to its schedule, which joins in
    /// progress.
    Return {
        channel: String,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long, default_value = "cli")]
        author: String,
    },
    /// A channel's takes on air or ended in the last hours, oldest first, as JSON.
    Takes {
        channel: String,
        #[arg(long, default_value_t = 24)]
        hours: u32,
    },
}

pub async fn run(config: &Config, command: LiveCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    let refused = |refusal: onair_control::Refusal| anyhow::anyhow!("{refusal}");
    match command {
        LiveCommand::List => print_json(&control.live_sources().await.map_err(refused)?),
        LiveCommand::Add { name, ladder } => {
            let source = control
                .create_live_source(&name, &ladder)
                .await
                .map_err(refused)?;
            print_publish_urls(config, &source);
            Ok(())
        }
        LiveCommand::Show { name } => {
            print_json(&control.live_source(&name).await.map_err(refused)?)
        }
        LiveCommand::RotateKey { name } => {
            let source = control
                .rotate_live_source_key(&name)
                .await
                .map_err(refused)?;
            print_publish_urls(config, &source);
            Ok(())
        }
        LiveCommand::Rm { name } => {
            control.delete_live_source(&name).await.map_err(refused)?;
            println!("live source {name} deleted");
            Ok(())
        }
        LiveCommand::Events { name, hours } => print_json(
            &control
                .live_source_events(&name, hours)
                .await
                .map_err(refused)?,
        ),
        LiveCommand::Take {
            channel,
            source,
            version,
            author,
        } => {
            let take = control
                .take_live(&channel, &source, &author, version)
                .await
                .map_err(refused)?;
            println!(
                "channel {} goes live from {} at {} (schedule version {})",
                take.channel,
                take.source.as_deref().unwrap_or(&source),
                take.start,
                take.take_version
            );
            Ok(())
        }
        LiveCommand::Slate {
            channel,
            version,
            author,
        } => {
            let take = control
                .slate_now(&channel, &author, version)
                .await
                .map_err(refused)?;
            println!(
                "channel {} goes to its slate at {} until `onair live return {}` (schedule \
                 version {})",
                take.channel, take.start, take.channel, take.take_version
            );
            Ok(())
        }
        LiveCommand::Return {
            channel,
            version,
            author,
        } => {
            let take = control
                .return_to_schedule(&channel, &author, version)
                .await
                .map_err(refused)?;
            println!(
                "channel {} returns to its schedule at {} (schedule version {})",
                take.channel,
                take.end.as_deref().unwrap_or(&take.start),
                take.return_version.unwrap_or(take.take_version)
            );
            Ok(())
        }
        LiveCommand::Takes { channel, hours } => {
            print_json(&control.live_takes(&channel, hours).await.map_err(refused)?)
        }
    }
}

fn print_publish_urls(config: &Config, source: &onair_control::live::LiveSourceView) {
    println!("live source {} (ladder {})", source.name, source.ladder);
    println!("stream key: {}", source.stream_key);
    if let Some(addr) = config.live.rtmp_addr {
        println!(
            "RTMP: rtmp://HOST:{}/live/{}",
            addr.port(),
            source.stream_key
        );
    }
    if let Some(addr) = config.live.srt_addr {
        println!(
            "SRT:  srt://HOST:{}?streamid=publish:{}",
            addr.port(),
            source.stream_key
        );
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
