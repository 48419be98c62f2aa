//! The end-to-end tests: each module starts the real `onair` binary (or runs its subcommands)
//! and checks what a user, a player or an operator sees. One test binary rather than one per
//! file, because each links the whole dependency tree (GStreamer, sqlx, axum): linking it once
//! saves CI minutes. nextest still runs every test in a process of its own; one module alone:
//! `cargo nextest run --test e2e live::`.

mod support;

mod access;
mod channel_plays;
mod cli_errors;
mod cli_schedule;
mod cli_user;
mod conformance;
mod conformance_page;
mod grid_api;
mod grid_templates;
mod layering;
mod live;
mod llhls;
mod openapi;
mod ops;
mod pages;
mod partner_epg;
mod partners;
mod partners_stitched;
mod players;
mod replicas;
mod schedule_api;
mod scte35_segments;
mod slate;
mod ssai;
mod transcode_farm;
mod week;
mod your_channel;
