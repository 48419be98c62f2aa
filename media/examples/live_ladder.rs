//! Runs a live stream from standard input through the live ladder and prints what it writes
//! and its stats: the live benchmark's subject, and a way to try a source by hand.
//!
//! ```text
//! ffmpeg -re … -f mpegts pipe:1 | cargo run --release -p onair-media --example live_ladder -- OUTDIR [--flv] [--fast] [--quiet]
//! ```
//!
//! Reads FLV (`--flv`) or MPEG-TS from standard input as it comes, encodes it to the demo ladder
//! (or the FAST ladder's rungs with `--fast`) in 2 s segments with 0.5 s parts under OUTDIR,
//! prints one line per segment (unless `--quiet`), the stats every 2 s, and on the last line
//! `segments=… lag_ms=… realtime_factor=… frames_in=… dropped=…`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use onair_domain::Ladder;
use onair_media::{LiveConfig, LiveInput, LiveLadder, LiveOutput};

fn main() -> ExitCode {
    let mut out = None;
    let mut input = LiveInput::MpegTs;
    let mut ladder = Ladder::demo();
    let mut quiet = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--flv" => input = LiveInput::Flv,
            "--fast" => ladder = Ladder::fast_default(),
            "--quiet" => quiet = true,
            _ => out = Some(PathBuf::from(arg)),
        }
    }
    let Some(out) = out else {
        eprintln!("usage: live_ladder OUTDIR [--flv] [--fast] [--quiet] < stream");
        return ExitCode::from(2);
    };
    let (sender, outputs) = std::sync::mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let live = match LiveLadder::start(LiveConfig::new(ladder, input, &out), move |output| {
        let _ = sender.lock().unwrap().send(output);
    }) {
        Ok(live) => live,
        Err(error) => {
            eprintln!("live_ladder: {error}");
            return ExitCode::FAILURE;
        }
    };
    let printer = std::thread::spawn(move || {
        let mut segments = 0;
        let mut failed = false;
        for output in outputs {
            match output {
                LiveOutput::Segment {
                    rendition,
                    start,
                    duration,
                    parts,
                    ..
                } => {
                    segments += 1;
                    if !quiet {
                        println!(
                            "segment {rendition} {} {duration} parts={}",
                            start.0,
                            parts.len()
                        );
                    }
                }
                LiveOutput::Part { .. } => {}
                LiveOutput::Failed { reason } => {
                    eprintln!("live_ladder: failed: {reason}");
                    failed = true;
                }
                LiveOutput::Ended => break,
            }
        }
        (segments, failed)
    });

    let mut stdin = std::io::stdin().lock();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut last_stats = Instant::now();
    let mut stats = None;
    loop {
        let read = match stdin.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if live
            .push(bytes::Bytes::copy_from_slice(&buffer[..read]))
            .is_err()
        {
            break;
        }
        if last_stats.elapsed() >= Duration::from_secs(2) {
            last_stats = Instant::now();
            let now = live.stats();
            eprintln!(
                "lag={:?} realtime_factor={:.3} keeping_up={} frames_in={} input={} kbit/s",
                now.lag,
                now.realtime_factor.unwrap_or(0.0),
                now.keeping_up,
                now.frames_in,
                now.input_bitrate / 1000
            );
            stats = Some(now);
        }
    }
    let final_stats = live.stats();
    live.end_of_stream();
    live.wait(Duration::from_secs(30));
    live.stop();
    let (segments, failed) = printer.join().unwrap_or((0, true));
    // The stats taken while the stream ran: at its end the lag only grows.
    let stats = stats.unwrap_or(final_stats);
    println!(
        "segments={segments} lag_ms={} realtime_factor={:.3} frames_in={} dropped={} duplicated={} keeping_up={}",
        stats.lag.map_or(0, |lag| lag.as_millis()),
        stats.realtime_factor.unwrap_or(0.0),
        stats.frames_in,
        stats.dropped_frames,
        stats.duplicated_frames,
        stats.keeping_up
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
