//! Outbound HTTP for everything onair fetches because someone else named it (transcode
//! sources, ad tags, wrappers, beacons): the private-address guard, a `reqwest::Client` built
//! around it that follows redirects by hand through the same checks, and a fetch bounded in
//! size and time.
//!
//! It is its own crate so that the ad client can use the guard without linking GStreamer
//! (the transcode farm, which also uses it, links it through `media`).
//!
//! - [`guard`]: [`forbidden_reason`], the [`Guard`] with its exceptions, the guarded resolver.
//! - [`client`]: [`GuardedClient`] and its [`ClientBuilder`], [`check_url`], [`get_limited`].
//! - [`error`]: [`FetchError`], one variant per thing a caller may act on.

pub mod client;
pub mod error;
pub mod guard;

pub use client::{
    AddressPolicy, ClientBuilder, Fetched, GuardedClient, MAX_REDIRECTS, Redirects, Sent,
    check_url, get_limited, parse_http_url,
};
pub use error::{FetchError, describe_request_error};
pub use guard::{ForbiddenAddress, Guard, GuardedResolver, forbidden_reason};
