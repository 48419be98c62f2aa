//! Rendered manifests kept until they change: a media playlist moves only at segment boundaries.
//!
//! One entry per channel slug holds the `Arc<ChannelPlayout>` it was rendered from. A request
//! whose playout is not that very `Arc` (the directory entry was replaced) starts a new entry,
//! and since the entry keeps its `Arc` alive, a pointer can never be reused for a different
//! playout while the entry compares against it.

use std::io::Write as _;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::HeaderValue;
use onair_domain::{Packaging, Timestamp};
use onair_metrics::{ManifestKind, timed_render as timed};
use rustc_hash::FxHashMap;

use crate::ChannelPlayout;
use crate::channel::MediaTrack;
use crate::dash::{self, MpdOptions};
use crate::hls::{self, MediaPlaylistOptions, WindowKey};

/// A manifest ready to send: its bytes as they are and gzipped, and its entity tag.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub identity: Bytes,
    pub gzip: Bytes,
    /// Weak, so it stands for both encodings: `W/"<FNV-1a 64 of the text>"`. The same text
    /// gives the same tag on every replica.
    pub etag: HeaderValue,
}

impl Rendered {
    pub(crate) fn new(text: String) -> Rendered {
        let identity = Bytes::from(text);
        let etag = HeaderValue::try_from(format!("W/\"{:016x}\"", fnv1a64(&identity)))
            .expect("a quoted hex number is a valid header value");
        let gzip = gzip(&identity);
        Rendered {
            identity,
            gzip,
            etag,
        }
    }
}

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Gzip with a zero mtime, so the compressed bytes are the same on every replica too.
fn gzip(data: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        Compression::default(),
    );
    encoder
        .write_all(data)
        .expect("writing to a Vec cannot fail");
    Bytes::from(encoder.finish().expect("writing to a Vec cannot fail"))
}

/// By channel slug, as [`crate::origin::Directory`] (FxHash for the same reason).
#[derive(Debug, Default)]
pub(crate) struct PlaylistCache {
    channels: RwLock<FxHashMap<String, Arc<ChannelEntry>>>,
}

/// What a cached manifest was rendered for: the window, and the generation of the channel's
/// live airings (a live slot decided changes the playlist within one window).
type SlotKey = (WindowKey, u64);

type MediaSlot = RwLock<Option<(SlotKey, Rendered)>>;

#[derive(Debug)]
struct ChannelEntry {
    playout: Arc<ChannelPlayout>,
    /// One per packaging, in the order of `PACKAGINGS`.
    multivariant: [OnceLock<Rendered>; 2],
    /// One slot per packaging and track: every TS rung, then every CMAF rung, then every audio
    /// track (CMAF only).
    media: Vec<MediaSlot>,
    mpd: MediaSlot,
}

const PACKAGINGS: [Packaging; 2] = [Packaging::Ts, Packaging::Cmaf];

impl ChannelEntry {
    fn new(playout: Arc<ChannelPlayout>) -> ChannelEntry {
        let slots = PACKAGINGS.len() * playout.ladder().rungs.len() + playout.audio_tracks().len();
        ChannelEntry {
            playout,
            multivariant: [OnceLock::new(), OnceLock::new()],
            media: (0..slots).map(|_| RwLock::new(None)).collect(),
            mpd: RwLock::new(None),
        }
    }

    fn media_slot(&self, packaging: Packaging, track: MediaTrack) -> Option<&MediaSlot> {
        let n_rungs = self.playout.ladder().rungs.len();
        match track {
            MediaTrack::Rung(rung_index) if rung_index < n_rungs => {
                let packaging_index = match packaging {
                    Packaging::Ts => 0,
                    Packaging::Cmaf | Packaging::CmafAudio => 1,
                };
                self.media.get(packaging_index * n_rungs + rung_index)
            }
            MediaTrack::Audio(track_index) if packaging != Packaging::Ts => {
                self.media.get(PACKAGINGS.len() * n_rungs + track_index)
            }
            _ => None,
        }
    }
}

/// What `slot` holds for `key`, or `render()` kept there. Rendered outside the lock: two
/// requests at a boundary may both render, identically.
fn cached(
    slot: &MediaSlot,
    key: SlotKey,
    kind: ManifestKind,
    render: impl FnOnce() -> Option<String>,
) -> Option<Rendered> {
    if let Some((cached_key, rendered)) = &*slot.read().unwrap_or_else(PoisonError::into_inner)
        && *cached_key == key
    {
        return Some(rendered.clone());
    }
    let rendered = Rendered::new(timed(kind, render)?);
    *slot.write().unwrap_or_else(PoisonError::into_inner) = Some((key, rendered.clone()));
    Some(rendered)
}

impl PlaylistCache {
    pub(crate) fn multivariant(
        &self,
        slug: &str,
        playout: &Arc<ChannelPlayout>,
        packaging: Packaging,
    ) -> Rendered {
        let entry = self.entry(slug, playout);
        let index = match packaging {
            Packaging::Ts => 0,
            Packaging::Cmaf | Packaging::CmafAudio => 1,
        };
        entry.multivariant[index]
            .get_or_init(|| {
                Rendered::new(timed(ManifestKind::HlsMultivariant, || {
                    hls::render_multivariant_with(playout, packaging)
                }))
            })
            .clone()
    }

    /// The MPD at `now`, rendered again only when the window has moved or a live slot was
    /// decided; `None` when the channel does not publish DASH. Every request passes the same
    /// options (the origin's).
    pub(crate) fn mpd(
        &self,
        slug: &str,
        playout: &Arc<ChannelPlayout>,
        now: Timestamp,
        options: &MpdOptions,
    ) -> Option<Rendered> {
        let entry = self.entry(slug, playout);
        cached(
            &entry.mpd,
            (hls::window_key(playout, now), playout.live().generation()),
            ManifestKind::DashMpd,
            || dash::render_mpd(playout, now, options),
        )
    }

    /// The media playlist of `track` at `now`, rendered again only when its window has moved;
    /// `None` when the renderer has none (see [`hls::render_media_playlist_with`]).
    pub(crate) fn media_playlist(
        &self,
        slug: &str,
        playout: &Arc<ChannelPlayout>,
        track: MediaTrack,
        now: Timestamp,
        options: &MediaPlaylistOptions,
    ) -> Option<Rendered> {
        let entry = self.entry(slug, playout);
        let slot = entry.media_slot(options.packaging, track)?;
        cached(
            slot,
            (hls::window_key(playout, now), playout.live().generation()),
            ManifestKind::HlsMedia,
            || {
                hls::render_track_playlist(
                    playout,
                    track,
                    now,
                    options,
                    &crate::window::ChannelBreaks,
                    None,
                )
            },
        )
    }

    /// Drops what was rendered for a channel that left the directory.
    pub(crate) fn forget(&self, slug: &str) {
        let known = self
            .channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(slug);
        if known {
            self.channels
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(slug);
        }
    }

    fn entry(&self, slug: &str, playout: &Arc<ChannelPlayout>) -> Arc<ChannelEntry> {
        if let Some(entry) = self
            .channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(slug)
            && Arc::ptr_eq(&entry.playout, playout)
        {
            return Arc::clone(entry);
        }
        let mut channels = self
            .channels
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = channels.get(slug)
            && Arc::ptr_eq(&entry.playout, playout)
        {
            return Arc::clone(entry);
        }
        let entry = Arc::new(ChannelEntry::new(Arc::clone(playout)));
        channels.insert(slug.to_owned(), Arc::clone(&entry));
        entry
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, at_millis};

    #[test]
    fn a_media_playlist_is_reused_until_its_window_moves() {
        let cache = PlaylistCache::default();
        let playout = Arc::new(fixtures::demo_playout(true));
        let options = MediaPlaylistOptions::default();
        let first = cache
            .media_playlist(
                "demo",
                &playout,
                MediaTrack::Rung(0),
                at_millis(8_000),
                &options,
            )
            .unwrap();
        let same_window = cache
            .media_playlist(
                "demo",
                &playout,
                MediaTrack::Rung(0),
                at_millis(9_519),
                &options,
            )
            .unwrap();
        let next_window = cache
            .media_playlist(
                "demo",
                &playout,
                MediaTrack::Rung(0),
                at_millis(9_520),
                &options,
            )
            .unwrap();
        assert_eq!(first.etag, same_window.etag);
        assert_eq!(
            first.identity.as_ptr(),
            same_window.identity.as_ptr(),
            "the same window is not rendered twice"
        );
        assert_ne!(first.etag, next_window.etag);
    }

    #[test]
    fn the_mpd_is_rendered_again_in_the_same_window_once_a_live_slot_is_decided() {
        let cache = PlaylistCache::default();
        let playout = Arc::new(fixtures::demo_playout(true));
        let options = MpdOptions::default();
        let now = at_millis(8_000);
        let first = cache.mpd("demo", &playout, now, &options).unwrap();
        let cached = cache.mpd("demo", &playout, now, &options).unwrap();
        assert_eq!(first.identity.as_ptr(), cached.identity.as_ptr());
        playout.live().set(crate::LiveAirings::default());
        let decided = cache.mpd("demo", &playout, now, &options).unwrap();
        assert_ne!(
            first.identity.as_ptr(),
            decided.identity.as_ptr(),
            "rendered again for the new airings"
        );
    }

    #[test]
    fn a_replaced_playout_is_rendered_afresh_even_in_the_same_window() {
        let cache = PlaylistCache::default();
        let options = MediaPlaylistOptions::default();
        let looping = Arc::new(fixtures::demo_playout(true));
        let once = Arc::new(fixtures::demo_playout(false));
        let now = at_millis(30_000);
        let before = cache
            .media_playlist("demo", &looping, MediaTrack::Rung(0), now, &options)
            .unwrap();
        let after = cache
            .media_playlist("demo", &once, MediaTrack::Rung(0), now, &options)
            .unwrap();
        assert_ne!(before.identity, after.identity);
        assert_eq!(
            after.identity,
            hls::render_media_playlist(&once, "360p", now).unwrap()
        );
        assert_eq!(
            cache.len(),
            1,
            "the old playout's entry is replaced, not kept beside"
        );
    }

    #[test]
    fn each_rung_and_packaging_has_its_own_slot() {
        let cache = PlaylistCache::default();
        let playout = Arc::new(fixtures::demo_playout(true));
        let now = at_millis(8_000);
        let ts = MediaPlaylistOptions::default();
        let cmaf = MediaPlaylistOptions::fmp4();
        let high = cache
            .media_playlist("demo", &playout, MediaTrack::Rung(0), now, &ts)
            .unwrap();
        let low = cache
            .media_playlist("demo", &playout, MediaTrack::Rung(1), now, &ts)
            .unwrap();
        let high_cmaf = cache
            .media_playlist("demo", &playout, MediaTrack::Rung(0), now, &cmaf)
            .unwrap();
        assert_eq!(
            high.identity,
            hls::render_media_playlist(&playout, "360p", now).unwrap()
        );
        assert_eq!(
            low.identity,
            hls::render_media_playlist(&playout, "240p", now).unwrap()
        );
        assert_eq!(
            high_cmaf.identity,
            hls::render_media_playlist_with(&playout, "360p", now, &cmaf).unwrap()
        );
        assert!(
            cache
                .media_playlist("demo", &playout, MediaTrack::Rung(2), now, &ts)
                .is_none()
        );
        let audio = cache
            .media_playlist("demo", &playout, MediaTrack::Audio(1), now, &cmaf)
            .unwrap();
        assert_eq!(
            audio.identity,
            hls::render_media_playlist_with(&playout, "audio-64k", now, &cmaf).unwrap()
        );
        assert_ne!(audio.identity, high_cmaf.identity);
        assert!(
            cache
                .media_playlist("demo", &playout, MediaTrack::Audio(0), now, &ts)
                .is_none(),
            "an audio track has no MPEG-TS playlist of its own"
        );
    }

    #[test]
    fn gzip_and_etag_are_the_same_for_the_same_text() {
        let one = Rendered::new("#EXTM3U\n".repeat(20));
        let two = Rendered::new("#EXTM3U\n".repeat(20));
        assert_eq!((&one.gzip, &one.etag), (&two.gzip, &two.etag));
        assert!(one.etag.to_str().unwrap().starts_with("W/\""));
        assert!(one.gzip.len() < one.identity.len());
    }
}
