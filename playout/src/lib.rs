//! Timeline and clock to HLS manifests (pure), and the HTTP origin that serves them.
//!
//! - [`ChannelPlayout`]: a channel, its ladder, its timeline and the assets it plays, checked once.
//! - [`hls`]: manifests as pure functions of (playout, now, options). No IO, no clock reads.
//! - [`origin`]: the axum routes that serve manifests and segment files, with a [`Directory`] of
//!   channels that the binary fills and refreshes.

mod channel;
pub mod hls;
pub mod origin;
mod playlist_cache;

#[cfg(test)]
mod fixtures;

pub use channel::{ChannelPlayout, PlayoutError};
pub use hls::{
    MediaPlaylistOptions, render_media_playlist, render_media_playlist_with, render_multivariant,
};
pub use origin::{Directory, OriginState, router};
