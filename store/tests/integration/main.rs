//! The store's integration tests, on both backends (see `common`): one test binary rather than
//! one per file, because each links sqlx, both drivers and the migrations: linking it once saves
//! CI minutes. nextest still runs every test in a process of its own; one suite alone:
//! `cargo nextest run -p onair-store --test integration ads::`.

#[macro_use]
mod common;

mod accounts;
mod ads;
mod as_run;
mod asset_catalogue;
mod channel_management;
mod grid;
mod health;
mod live;
mod live_takes;
mod partners;
mod schedule_versions;
mod store;
