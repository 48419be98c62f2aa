//! The HTTP API's integration tests on a real SQLite store: one test binary rather than one per
//! file, because each links the whole stack below the adapters: linking it once saves CI
//! minutes. nextest still runs every test in a process of its own; one suite alone:
//! `cargo nextest run -p onair-web-ui --test integration manage_api::`.

mod manage_api;
mod schedule_api;
mod schedule_info_api;
mod schedule_length_api;
