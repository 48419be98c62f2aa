//! Server-side ad insertion's state, shared by every replica: a channel's ad settings, the
//! creative cache, players' ad sessions, what was decided for each break of a session, and the
//! tracking beacons fired for it.
//!
//! Replicas agree through the keys, never through a lock held across calls:
//!
//! - **Ad configs** ([`Store::put_ad_config`]) are check-and-set on the channel's ad config
//!   version, like grid edits: of two writers of the same version exactly one wins, the other
//!   gets a [`StoreError::Conflict`] naming the current version. Every version is kept.
//! - **Creatives** ([`Store::request_creative`]) are created by the first request of a key on a
//!   ladder; the request that created it (and only that one) gets `true` and starts the
//!   transcode.
//! - **Decisions** ([`Store::record_ad_decision`]) are one per session and break occurrence: the
//!   first writer wins and the others read its fill back, so a player sees the same ads whichever
//!   replica it asks. [`Store::ad_decisions_since`] pages through them for replicas catching up.
//! - **Beacons** ([`Store::claim_beacon`]) are claimed by exactly one caller per session, break,
//!   ad and event, which fires the event's URLs and then finishes it, sent or failed.
//!
//! Expiring an idle session ([`Store::expire_ad_sessions`]) deletes its decisions and beacons
//! with it. The JSON documents (a config, a session's parameters, a decision's fill) are kept as
//! given; the store checks only that they are JSON.
//!
//! [`StoreError::Conflict`]: crate::StoreError::Conflict
//! [`Store::put_ad_config`]: crate::Store::put_ad_config
//! [`Store::request_creative`]: crate::Store::request_creative
//! [`Store::record_ad_decision`]: crate::Store::record_ad_decision
//! [`Store::ad_decisions_since`]: crate::Store::ad_decisions_since
//! [`Store::claim_beacon`]: crate::Store::claim_beacon
//! [`Store::expire_ad_sessions`]: crate::Store::expire_ad_sessions

mod beacons;
mod configs;
mod creatives;
mod decisions;
mod sessions;

pub use beacons::{BeaconCount, BeaconKey, BeaconStatus};
pub use configs::StoredAdConfig;
pub use creatives::{CreativeRow, CreativeStatus};
pub use decisions::{AdDecisionRow, DecisionCursor, NewAdDecision};
pub use sessions::{AdSessionRow, NewAdSession};

use crate::error::StoreError;

/// Keys per `IN (…)` query, well under every backend's limit on parameters.
const KEYS_PER_QUERY: usize = 500;

/// Refuses `text` unless it is JSON; `what` names it, e.g. `the fill of …`.
fn check_json(text: &str, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|error| StoreError::Invalid(format!("{} is not JSON: {error}", what())))
}

/// Refuses `text` unless it is a JSON object.
fn check_json_object(text: &str, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
        .map(|_| ())
        .map_err(|error| StoreError::Invalid(format!("{} is not a JSON object: {error}", what())))
}

/// `count` as a database integer.
fn count_from_db(count: i64) -> Result<u64, StoreError> {
    u64::try_from(count)
        .map_err(|_| StoreError::Invalid(format!("the database counted {count} rows")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_checked_and_objects_told_apart() {
        let what = || "the document".to_owned();
        assert!(check_json(r#"{"a": [1, 2]}"#, what).is_ok());
        assert!(check_json("[]", what).is_ok());
        assert!(check_json("{", what).is_err());
        assert!(check_json_object("{}", what).is_ok());
        assert!(matches!(
            check_json_object("[1]", what),
            Err(StoreError::Invalid(message)) if message.starts_with("the document is not a JSON object")
        ));
    }
}
