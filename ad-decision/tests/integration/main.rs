//! The ad decision's integration tests against ad servers on loopback (see `common`): one test
//! binary rather than one per file, linked once. nextest still runs every test in a process of
//! its own; one suite alone: `cargo nextest run -p onair-ad-decision --test integration samples::`.

mod common;

mod beacons;
mod limits;
mod samples;
