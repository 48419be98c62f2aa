//! GStreamer glue: probe, clip and slate generation, the ladder encoder and segmenters.
//!
//! This is the only crate of onair that links GStreamer. Everything it hands back is in the
//! vocabulary of `onair-domain` ([`Ticks`](onair_domain::Ticks), [`Rendition`](onair_domain::Rendition),
//! [`SegmentInfo`](onair_domain::SegmentInfo)), so no other crate needs to know GStreamer exists.
//!
//! - [`init`] starts GStreamer and checks that every element used here is installed.
//! - [`probe`] describes a media file (duration, streams, codecs).
//! - [`inspect_segment`] and [`measure_loudness`] measure aired segments for conformance checks.
//! - [`generate_clip`] writes a test clip or a slate: a mezzanine MP4 of an exact duration.
//! - [`encode_ladder`] decodes an input once and encodes every rung of a ladder, packaged as
//!   MPEG-TS segments (video and audio muxed) and as a CMAF video track (init segment plus
//!   `.m4s` fragments), and each distinct audio bitrate once as a CMAF audio track, with the
//!   audio normalised to the ladder's loudness target and a poster JPEG. [`EncodeOptions`] caps
//!   the input's size, can cancel a running encode, and can pad the output to whole segments
//!   (the last frame held, silence) for media stitched into breaks. Inputs with no video get a slate, inputs
//!   with no audio a silent track; inputs that cannot be used fail with a [`MediaError`] that
//!   says why (empty, not media, truncated, a codec with no decoder, too large).
//! - [`LiveLadder`] does the same in real time for a live source pushed as FLV or MPEG-TS bytes:
//!   segments and LL-HLS parts on a grid of Unix time, reported as [`LiveOutput`]s;
//!   [`TestStream`] is a live test source showing the wall clock.

mod align;
mod bus;
mod clip;
mod cmaf;
mod elements;
mod error;
mod inspect;
mod ladder;
mod live;
mod pad;
mod probe;
mod segments;

pub use clip::{ClipSpec, FrameRate, TestPattern, generate_clip};
pub use elements::init;
pub use error::MediaError;
pub use inspect::{
    Loudness, SegmentAudio, SegmentMedia, SegmentVideo, inspect_segment, measure_loudness,
};
pub use ladder::{EncodeOptions, EncodedAsset, encode_ladder};
pub use live::{
    LiveConfig, LiveInput, LiveLadder, LiveOutput, LivePart, LiveStats, RungStats, TestStream,
    TestStreamSpec, test_source_args,
};
pub use probe::{AudioStreamInfo, ProbeInfo, VideoStreamInfo, probe};
