//! The `onair` binary: parses the command line and dispatches to a subcommand.

mod as_run;
mod channels;
mod cli;
mod config;
mod conformance;
mod creatives;
mod demo_ads;
mod demo_live;
mod live;
mod slates;
mod startup;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line a person can act on: the context chain, joined.
            eprintln!("onair: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
