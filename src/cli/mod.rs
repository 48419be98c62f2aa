//! The subcommands, one module each.

mod config_cmd;
mod demo;
mod migrate;
mod serve;

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
    /// Run every role in one process: origin, pages and API.
    Serve,
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
    if let Command::Config(ConfigCommand::Check { file }) = &args.command {
        return config_cmd::check(file.as_deref().or(args.config.as_deref()));
    }
    let config = Config::load(args.config.as_deref())?;
    crate::startup::init_tracing(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match args.command {
            Command::Serve => serve::run(&config).await,
            Command::Migrate => migrate::run(&config).await,
            Command::Demo { setup_only } => demo::run(&config, setup_only).await,
            Command::Config(_) => unreachable!("handled above"),
        }
    })
}
