//! The transcode farm's integration tests: one test binary rather than one per file, because
//! each links GStreamer, sqlx and axum: linking it once saves CI minutes. nextest still runs
//! every test in a process of its own; one suite alone:
//! `cargo nextest run -p onair-transcode --test integration worker::`.

mod api;
mod download;
mod worker;
