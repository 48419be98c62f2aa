//! The transcode farm: turns a source into a ready asset (every rung encoded, packaged,
//! verified and published in one step). Later: the job queue and its workers.

pub mod ingest;

pub use ingest::{TranscodeError, ingest_file};
