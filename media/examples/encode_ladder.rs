//! Encodes one file to a ladder and prints what came out: the benchmark's "ours" side, and a
//! quick way to try an input by hand.
//!
//! ```text
//! cargo run --release -p onair-media --example encode_ladder -- INPUT OUTDIR [--segment SECONDS] [--demo]
//! ```
//!
//! Writes `OUTDIR/asset/{rung}/{ts,cmaf}/…` and `OUTDIR/asset/poster.jpg` with the FAST ladder
//! (`Ladder::fast_default()`, 6 s segments unless `--segment` says otherwise; `--demo` uses the
//! demo ladder), then prints one line per rendition and the wall time on the last line as
//! `wall_seconds=…`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use onair_domain::{Ladder, Ticks};
use onair_media::{EncodeOptions, encode_ladder};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut ladder = Ladder::fast_default();
    let mut segment = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--segment" => segment = args.next().and_then(|s| s.parse::<f64>().ok()),
            "--demo" => ladder = Ladder::demo(),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [input, out] = positional.as_slice() else {
        eprintln!(
            "usage: encode_ladder INPUT OUTDIR [--segment SECONDS] [--demo]\n\
             Encodes INPUT to the FAST ladder under OUTDIR/asset."
        );
        return ExitCode::from(2);
    };
    if let Some(seconds) = segment {
        ladder = ladder.with_segment_duration(Ticks((seconds * 90_000.0).round() as i64));
    }

    let started = Instant::now();
    let mut last = 0;
    let result = encode_ladder(
        input,
        &ladder,
        out,
        "asset",
        &EncodeOptions::default(),
        &mut |percent| {
            if percent >= last + 10 {
                last = percent;
                eprintln!("{percent}%");
            }
        },
    );
    let wall = started.elapsed().as_secs_f64();
    match result {
        Ok(asset) => {
            for rendition in &asset.renditions {
                println!(
                    "{:>6} {:<4} {}x{} {} segments avg {} kbit/s peak {} kbit/s",
                    rendition.rung,
                    rendition.packaging.as_str(),
                    rendition.width,
                    rendition.height,
                    rendition.segments.len(),
                    rendition.average_bandwidth / 1000,
                    rendition.peak_bandwidth / 1000,
                );
            }
            println!(
                "duration={:.3} poster={}",
                asset.duration.as_secs_f64(),
                asset.poster_path.as_deref().unwrap_or("none")
            );
            println!("wall_seconds={wall:.3}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
