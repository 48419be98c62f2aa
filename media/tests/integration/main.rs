//! The media crate's integration tests with real GStreamer, ffmpeg and ffprobe (see `common`):
//! one test binary rather than one per file, because each links GStreamer and its plugins:
//! linking it once saves CI minutes. nextest still runs every test in a process of its own; one
//! suite alone: `cargo nextest run -p onair-media --test integration live::`.

mod common;

mod bad_inputs;
mod clips;
mod fast_ladder;
mod ladder;
mod live;
mod padding;
