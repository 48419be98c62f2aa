//! Server-side ad insertion: a channel's ad settings ([`config`]), viewing sessions
//! ([`session`]), decisions made ahead of each break off the request path ([`decision`],
//! `decide`), the engine `serve` runs ([`engine`]), beacons on segment fetch (`beacons`), the
//! report, the tracking JSON ([`report`]), HLS Interstitials' asset lists ([`interstitials`]) and
//! the tag inspector ([`inspect`]).

mod beacons;
pub mod config;
mod decide;
pub mod decision;
pub mod engine;
pub mod inspect;
pub mod interstitials;
#[cfg(test)]
mod partner_tests;
pub mod report;
pub mod session;

pub use beacons::shared_url;
pub use config::{AdConfig, AdConfigVersion, FrequencyCap, Insertion, TagKind};
pub use engine::{AdEngine, ChannelAds, PartnerAds};
pub use interstitials::{AssetList, InterstitialAsset};
pub use report::{AdReport, BreakReport, Tracking, tracking};
pub use session::{Session, SessionBreaks, SessionParams, SessionPartner, parse_params};
