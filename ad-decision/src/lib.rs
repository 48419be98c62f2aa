//! Ad decisioning for server-side ad insertion: a VAST 2.0–4.3 and VMAP 1.0 client.
//!
//! onair asks an ad server what to air in a break ([`resolve_vast`], or a VMAP's break with
//! [`fetch_vmap`] and [`resolve_vmap_break`]), follows the wrappers, merges their tracking,
//! chooses a media file to transcode, and says which VAST errors to report. Beacons are sent by
//! [`beacon::BeaconSender`]; [`inspect`] turns a resolution into the JSON report
//! `onair ads resolve` prints.
//!
//! Every request goes through `onair-net`'s guard (no private addresses unless allowed), with
//! the device's `X-Device-IP` and `X-Device-User-Agent`, within a size limit and a time budget
//! shared by the whole decision. No GStreamer, no database, no HTTP server here.
//!
//! - [`vast`]: the VAST model and its parser; [`vmap`]: VMAP documents and breaks.
//! - [`resolve`]: the wrapper chain, pods and buffet, error firings.
//! - [`media`]: which MediaFile (or Mezzanine) to transcode; [`macros`]: URL templates.
//! - [`errors`]: the VAST error codes; [`beacon`]: sending tracking and error URLs.

pub mod beacon;
pub mod errors;
pub mod inspect;
pub mod macros;
pub mod media;
pub mod resolve;
pub mod vast;
pub mod vmap;
mod xml;

use std::net::IpAddr;
use std::time::Duration;

use onair_net::{AddressPolicy, FetchError, GuardedClient};
use reqwest::header::{HeaderMap, HeaderValue};

pub use errors::{ErrorCode, ErrorFiring};
pub use macros::{BreakPosition, MacroValues};
pub use media::{ChosenMedia, MediaPreferences, SkippedMedia};
pub use resolve::{Hop, HopKind, Resolution, ResolvedAd, resolve_vast};
pub use vmap::{AdBreak, Vmap, VmapError, fetch_vmap, resolve_vmap_break};

/// The header that tells an ad server (and a beacon receiver) which device the request is for.
pub const DEVICE_IP_HEADER: &str = "X-Device-IP";
/// The header that carries the device's own User-Agent.
pub const DEVICE_UA_HEADER: &str = "X-Device-User-Agent";

/// What can fail before any ad request is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] FetchError),
}

/// The HTTP client ad decisions and beacons share: guarded by `onair-net`, cheap to clone.
#[derive(Debug, Clone)]
pub struct AdClient {
    net: GuardedClient,
    allow_private: bool,
}

impl AdClient {
    /// A client that refuses private addresses unless `allow_private`.
    pub fn new(allow_private: bool) -> Result<AdClient, Error> {
        AdClient::with_policy(AddressPolicy::from_allow_private(allow_private))
    }

    /// A guarded client that lets exactly these addresses through: for tests, whose servers
    /// listen on loopback, to show that everything else is still refused.
    #[doc(hidden)]
    pub fn guarded_except(exceptions: Vec<IpAddr>) -> Result<AdClient, Error> {
        AdClient::with_policy(AddressPolicy::GuardedExcept(exceptions))
    }

    fn with_policy(policy: AddressPolicy) -> Result<AdClient, Error> {
        let allow_private = policy == AddressPolicy::AllowPrivate;
        let net = GuardedClient::builder(policy)
            .connect_timeout(Duration::from_secs(2))
            .build()?;
        Ok(AdClient { net, allow_private })
    }

    /// Whether private addresses may be reached.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    pub(crate) fn net(&self) -> &GuardedClient {
        &self.net
    }

    /// Why a media URL may not be used (not http(s), a private IP literal), or `Ok`. Host names
    /// are checked again when the transcode farm downloads the file, by the same guard.
    pub(crate) fn check_media_url(&self, url: &str) -> Result<(), String> {
        self.net
            .check_url(url)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }
}

/// Limits and preferences of one decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveOptions {
    /// Wrappers followed before giving up with 302 (VAST recommends 5).
    pub max_wrapper_depth: u8,
    /// The whole decision's time: every request shares it; what is pending when it runs out
    /// fails with 301 and the rest is returned.
    pub budget: Duration,
    /// The largest response read; a larger one is refused, not read.
    pub max_response_bytes: usize,
    pub media: MediaPreferences,
}

impl Default for ResolveOptions {
    fn default() -> ResolveOptions {
        ResolveOptions {
            max_wrapper_depth: 5,
            budget: Duration::from_secs(3),
            max_response_bytes: 2 << 20,
            media: MediaPreferences::default(),
        }
    }
}

/// Who the ads are for: the device's address and user agent (sent as headers on every ad
/// request and beacon, server to server) and the values of the macros.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestContext {
    /// Sent as `X-Device-IP`.
    pub device_ip: Option<String>,
    /// Sent as `X-Device-User-Agent`.
    pub device_ua: Option<String>,
    pub macros: MacroValues,
}

impl RequestContext {
    /// `X-Device-IP` and `X-Device-User-Agent`, those that are set and valid header values.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (DEVICE_IP_HEADER, &self.device_ip),
            (DEVICE_UA_HEADER, &self.device_ua),
        ] {
            if let Some(value) = value
                && let Ok(value) = HeaderValue::from_str(value)
            {
                headers.insert(name, value);
            }
        }
        headers
    }

    /// The macro values, `[DEVICEIP]` and `[DEVICEUA]` taken from the device when not set.
    pub fn macro_values(&self) -> MacroValues {
        let mut values = self.macros.clone();
        if values.device_ip.is_none() {
            values.device_ip = self.device_ip.clone();
        }
        if values.device_ua.is_none() {
            values.device_ua = self.device_ua.clone();
        }
        values
    }
}
