//! Where a loaded channel's memory goes: plans the channels of a database exactly as
//! `onair serve` loads them (`registry::load_channel_sharing`, one asset shelf) and counts the
//! heap bytes alive, with a counting allocator, after each. `FAST_DAY=1 bench/channels.sh`
//! runs it on the database it seeded, after measuring the server; by hand:
//!
//! ```text
//! cargo run --release --example channel_memory -- --database sqlite://target/bench/channels-fast-day-480/onair.db
//! ```
//!
//! It prints the heap the first `--warm` channels took (with a FAST day's library of 480 titles
//! and 48 a channel, the whole library is on the shelf after 10), the heap every channel after
//! them took on average (its own: plan, timeline, playout), how many runs a channel's timeline
//! holds (and how many of them fill ad breaks), and what the runs' lists cost by their sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use clap::Parser;
use onair_control::registry::{AssetShelf, LoadedChannel, load_channel_sharing};
use onair_domain::{Clock, SystemClock};
use onair_store::Store;

/// The system allocator, counting the bytes alive.
struct Counting;

static ALIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to `System` unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALIVE.fetch_add(new_size, Ordering::Relaxed);
        ALIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn alive() -> usize {
    ALIVE.load(Ordering::Relaxed)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[derive(Debug, Parser)]
struct Args {
    /// `sqlite://PATH` or `postgres://…`.
    #[arg(long)]
    database: String,
    /// Load at most this many channels.
    #[arg(long, default_value_t = usize::MAX)]
    limit: usize,
    /// The channels after which every title is on the shelf.
    #[arg(long, default_value_t = 20)]
    warm: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = Store::connect(&args.database)
        .await
        .context("cannot open the database")?;
    let mut channels = store.channels().await?;
    channels.retain(|channel| !channel.retired);
    channels.truncate(args.limit);
    let n = channels.len();
    let warm = args.warm.max(1);
    anyhow::ensure!(
        n > warm,
        "the database has {n} channels: more than --warm {warm} are needed"
    );
    let now = SystemClock.now();
    let shelf = AssetShelf::default();
    let before = alive();
    let mut loaded: Vec<LoadedChannel> = Vec::with_capacity(n);
    let mut after_warm = 0;
    for channel in channels {
        loaded.push(load_channel_sharing(&store, channel, now, &shelf).await?);
        if loaded.len() == warm {
            after_warm = alive();
        }
    }
    let total = alive() - before;
    let first = after_warm - before;
    let each = (total - first) / (n - warm);

    let timeline = loaded[n - 1].playout.timeline();
    let runs = timeline.runs();
    let break_runs = runs.iter().filter(|run| run.ad_break.is_some()).count();
    let stretches = timeline.run_stretches().count();
    println!("channels loaded: {n}, heap {:.1} MiB", mib(total));
    println!(
        "the first {warm} channels (their plans and the library titles they air): {:.1} MiB",
        mib(first)
    );
    println!(
        "every channel after them, on average: {:.1} KiB",
        each as f64 / 1024.0
    );
    println!(
        "a channel's timeline: {} runs, {break_runs} of them in ad breaks, held as {stretches} \
         stretches of equal runs: {:.1} KiB with their titles",
        runs.len(),
        timeline.held_bytes() as f64 / 1024.0
    );
    drop(loaded);
    shelf.prune();
    println!(
        "after dropping every channel: {:.1} MiB still alive (segment lists the store's shelf \
         still names keep their blocks until it prunes)",
        mib(alive().saturating_sub(before))
    );
    Ok(())
}
