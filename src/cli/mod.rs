//! The subcommands, one module each.

mod ads;
mod asset;
mod check;
mod config_cmd;
mod demo;
mod ingest;
mod live;
mod manage;
mod migrate;
mod partner;
mod schedule;
mod serve;
mod user;
mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// onair: FAST channel playout and server-side ad insertion, in one binary.
#[derive(Debug, Parser)]
#[command(name = "onair", version, about)]
pub struct Args {
    /// A TOML configuration file; without one the defaults apply (see `onair config example`).
    #[arg(long, short, global = true, env = "ONAIR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every role in one process: origin, pages, API and one transcode worker.
    Serve,
    /// Run live ingest only (RTMP and SRT listeners, a live ladder per publish), recording into
    /// the shared database and media folder, until Ctrl-C or SIGTERM.
    Ingest,
    /// Run transcode workers only, until Ctrl-C or SIGTERM (running jobs go back to the queue).
    Worker {
        /// Jobs run at once; default: transcode.concurrency.
        #[arg(long, short = 'j')]
        concurrency: Option<usize>,
    },
    /// Manage assets: add (transcode), list, show, rm.
    #[command(subcommand)]
    Asset(AssetCommand),
    /// Manage channels: list, show, create, edit, retire.
    #[command(subcommand)]
    Channel(manage::ChannelCommand),
    /// Manage ladders: list, show, create.
    #[command(subcommand)]
    Ladder(manage::LadderCommand),
    /// Show or edit a channel's grid (templates, blocks, fill rules, ad policy, rights, metadata).
    #[command(subcommand)]
    Grid(manage::GridCommand),
    /// Apply the database migrations and exit.
    Migrate,
    /// Set up the demo channel (clips, ladder, a looping 24-hour grid), then serve it.
    Demo {
        /// Set up and exit without serving.
        #[arg(long)]
        setup_only: bool,
    },
    /// Print or check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Every route `onair serve` answers and who may call it (the access policy).
    Routes {
        /// As JSON: `[{"method", "path", "access": {"kind", "role"?}}]`.
        #[arg(long)]
        json: bool,
    },
    /// Export, import and copy a channel's schedule; list and restore its versions.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Export what a channel aired (the as-run log).
    #[command(subcommand)]
    AsRun(schedule::AsRunCommand),
    /// A channel's ads: settings, report, and the tag inspector (`onair ads resolve TAG`).
    #[command(subcommand)]
    Ads(ads::AdsCommand),
    /// Live sources: add one (its stream key), list, show, rotate its key, remove, events.
    #[command(subcommand)]
    Live(live::LiveCommand),
    /// Partners: add one (its first key), list, show, edit, remove, rotate its key, a signed URL.
    #[command(subcommand)]
    Partner(partner::PartnerCommand),
    /// Accounts: add a user, set a password, grant or revoke a role, list, make an API token.
    #[command(subcommand)]
    User(user::UserCommand),
}

#[derive(Debug, Subcommand)]
enum AssetCommand {
    /// Transcode a local file or an http(s) URL into an asset, with a progress bar.
    ///
    /// A local file is read where it is (not copied): keep it in place until the job ends. The
    /// command runs a worker for its own job unless --no-local-worker, so it completes even when
    /// no other worker runs; it exits non-zero with the reason when the job fails.
    Add {
        /// A media file, or an http:// or https:// URL.
        source: String,
        /// The asset's title; default: the file name.
        #[arg(long, short)]
        title: Option<String>,
        /// The ladder to encode to; default: transcode.default_ladder.
        #[arg(long, short)]
        ladder: Option<String>,
        /// Leave the job to the running workers (`onair worker`, `onair serve`).
        #[arg(long)]
        no_local_worker: bool,
        /// Queue the job, print its id and the asset's, and exit at once.
        #[arg(long, conflicts_with = "no_local_worker")]
        no_wait: bool,
    },
    /// List assets, by id.
    List {
        /// processing, ready or failed.
        #[arg(long)]
        state: Option<String>,
        /// Part of the title, in any case.
        #[arg(long)]
        title: Option<String>,
        /// At most this many (up to 500).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show an asset: its renditions and what airs it.
    Show { id: i64 },
    /// Delete an asset nothing airs, with its files.
    Rm { id: i64 },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the annotated example configuration (every value is the default).
    Example,
    /// Check a configuration file (and the environment) and print the effective settings.
    Check {
        /// The file to check; defaults to --config.
        file: Option<PathBuf>,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Command::Config(ConfigCommand::Example) = args.command {
        print!("{}", crate::config::EXAMPLE);
        return Ok(());
    }
    if let Command::Routes { json } = args.command {
        return routes(json);
    }
    if let Command::Config(ConfigCommand::Check { file }) = &args.command {
        return config_cmd::check(file.as_deref().or(args.config.as_deref()));
    }
    let mut config = Config::load(args.config.as_deref())?;
    if matches!(
        args.command,
        Command::Schedule(_)
            | Command::AsRun(_)
            | Command::Ads(_)
            | Command::Live(_)
            | Command::Partner(_)
            | Command::User(_)
            | Command::Channel(_)
            | Command::Ladder(_)
            | Command::Grid(_)
            | Command::Asset(
                AssetCommand::List { .. } | AssetCommand::Show { .. } | AssetCommand::Rm { .. }
            )
    ) && std::env::var_os("RUST_LOG").is_none()
    {
        // What these print is the answer; routine log lines would only be noise.
        config.log.filter = format!("{},onair=warn,sqlx=warn", config.log.filter);
    }
    if matches!(args.command, Command::Asset(_)) && std::env::var_os("RUST_LOG").is_none() {
        // The progress bar is the report; workers' routine lines would break it up.
        config.log.filter = format!("{},onair_transcode=warn", config.log.filter);
    }
    crate::startup::init_tracing(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match args.command {
            Command::Serve => serve::run(&config).await,
            Command::Ingest => ingest::run(&config).await,
            Command::Worker { concurrency } => worker::run(&config, concurrency).await,
            Command::Asset(AssetCommand::Add {
                source,
                title,
                ladder,
                no_local_worker,
                no_wait,
            }) => {
                asset::add(
                    &config,
                    asset::AddArgs {
                        source,
                        title,
                        ladder,
                        local_worker: !no_local_worker && !no_wait,
                        wait: !no_wait,
                    },
                )
                .await
            }
            Command::Asset(AssetCommand::List {
                state,
                title,
                limit,
            }) => manage::asset_list(&config, state, title, limit).await,
            Command::Asset(AssetCommand::Show { id }) => manage::asset_show(&config, id).await,
            Command::Asset(AssetCommand::Rm { id }) => manage::asset_rm(&config, id).await,
            Command::Channel(command) => manage::channel(&config, command).await,
            Command::Ladder(command) => manage::ladder(&config, command).await,
            Command::Grid(command) => manage::grid(&config, command).await,
            Command::Migrate => migrate::run(&config).await,
            Command::Demo { setup_only } => demo::run(&config, setup_only).await,
            Command::Schedule(command) => schedule::schedule(&config, command).await,
            Command::AsRun(command) => schedule::as_run(&config, command).await,
            Command::Ads(command) => ads::run(&config, command).await,
            Command::Live(command) => live::run(&config, command).await,
            Command::Partner(command) => partner::run(&config, command).await,
            Command::User(command) => user::run(&config, command).await,
            Command::Config(_) | Command::Routes { .. } => unreachable!("handled above"),
        }
    })
}

/// `onair routes`: the access policy of every route, as a table or JSON.
fn routes(json: bool) -> anyhow::Result<()> {
    use onair_web_ui::access::{Access, ROUTES};
    if json {
        println!("{}", serde_json::to_string_pretty(ROUTES)?);
        return Ok(());
    }
    for route in ROUTES {
        let who = match route.access {
            Access::Public => "anyone".to_owned(),
            Access::LoggedIn => "any logged-in user".to_owned(),
            Access::OnChannel { role } => format!("{role} on the channel"),
            Access::OnAnyChannel { role } => format!("{role} on at least one channel"),
            Access::OnEveryChannel { role } => format!("{role} on every channel"),
        };
        println!("{:<7} {:<72} {who}", route.method, route.path);
    }
    Ok(())
}
