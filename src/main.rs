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

/// mimalloc rather than the system allocator: a request to the origin allocates a couple dozen
/// small blocks (axum's boxed routes and futures, headers, extensions), and glibc's malloc and
/// free took a sixth of its instructions (bench/origin_instructions.sh: 27.4k instructions per
/// playlist request with glibc, 23.1k with mimalloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
