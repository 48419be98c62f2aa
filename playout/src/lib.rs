//! Timeline and clock to HLS and DASH manifests (pure), and the HTTP origin that serves them.
//!
//! - [`ChannelPlayout`]: a channel, its ladder, its timeline and the assets it plays, checked once.
//! - [`hls`] and [`dash`]: manifests as pure functions of (playout, now, options). No IO, no
//!   clock reads. Both list the same [`window`], where a session's ad fill is a parameter.
//! - [`interstitials`]: HLS Interstitials, the channel's playlists with a shared declaration of
//!   each break whose ads a viewer's asset list names, and the VOD playlists of those ads.
//! - [`origin`]: the axum routes that serve manifests and segment files, with a [`Directory`] of
//!   channels that the binary fills and refreshes.
//! - [`ts_scte35`]: a break's SCTE-35 cue added to a shared MPEG-TS segment as it is served.

mod channel;
pub mod dash;
pub mod hls;
pub mod interstitials;
pub mod live;
pub mod llhls;
pub mod origin;
mod playlist_cache;
pub mod ts_scte35;
pub mod window;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod soak;
#[cfg(test)]
mod testing;

pub use channel::{ChannelPlayout, PlayoutError};
pub use dash::{MpdOptions, render_mpd, render_session_mpd};
pub use hls::{
    CueCommand, CueDialect, MediaPlaylistOptions, render_media_playlist,
    render_media_playlist_with, render_multivariant, render_multivariant_with,
    render_session_media_playlist,
};
pub use interstitials::{
    InterstitialOptions, render_asset_playlist, render_interstitial_media_playlist,
    render_interstitial_multivariant,
};
pub use live::{LiveAirings, LiveHandle, LiveItemAiring, LiveItemRun, LiveRun};
pub use origin::{Directory, OriginState, router};
pub use window::{BreakFill, ChannelBreaks, Fill};
