//! The live source demuxed and decoded: its first video stream and first audio stream linked to
//! the ladder's chains, stamped with Unix time (see `restamp`), the rest discarded.
//!
//! MPEG-TS goes through one `decodebin`: `tsdemux` knows the streams from the PMT, so
//! `no-more-pads` comes with the first packets. FLV is demuxed here, with a `decodebin` per
//! stream: `flvdemux` trusts no FLV header (our RTMP server's announces audio and video, not
//! knowing yet) and signals `no-more-pads` only after 6 s of stream without an audio tag, and a
//! `decodebin` around it exposes no stream before that, which would hold a video-only publish
//! back 6 s. Here the video flows as soon as it is decoded.
//!
//! Without a video stream the ladder fails. Without usable audio it airs silence (see
//! `silence`): the source has no audio stream (`no-more-pads`, or none within
//! [`AUDIO_GRACE`](super::silence::AUDIO_GRACE) of the first frame), or one no decoder here
//! takes (a warning, and the reason in [`LiveStats::silent_audio`](super::LiveStats)).

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::LiveInput;
use super::pipeline::{Shared, assembling, restamp};
use super::restamp::Stream;
use crate::elements::{make, queue};
use crate::error::MediaError;
use crate::ladder::{on_decoded_pad, sink_pad};

/// Demuxes and decodes what `source` sends into `video` and `audio` (the chains' inputs).
pub(super) fn connect_source(
    pipeline: &gst::Pipeline,
    source: &gst::Element,
    input: LiveInput,
    shared: &Arc<Shared>,
    video: gst::Pad,
    audio: gst::Pad,
) -> Result<(), MediaError> {
    shared.silence.feed(audio.clone());
    let for_silence = shared.clone();
    shared
        .silence
        .follow_video(&video, pipeline.downgrade(), move |reason| {
            for_silence.fail_here(reason)
        });
    match input {
        LiveInput::MpegTs => {
            let decode = make("decodebin", "decode")?;
            pipeline.add(&decode).map_err(assembling)?;
            source.link(&decode).map_err(assembling)?;
            link_decoded(pipeline, &decode, shared, video.clone(), audio.clone());
            let for_check = shared.clone();
            let weak = pipeline.downgrade();
            decode.connect_no_more_pads(move |_| {
                let unsupported = for_check.unsupported.lock().expect("unsupported").clone();
                let unsupported_audio = unsupported.iter().find(|caps| caps.starts_with("audio/"));
                if !video.is_linked() {
                    let reason = match unsupported.iter().find(|caps| caps.starts_with("video/")) {
                        Some(codec) => {
                            format!("unsupported codec: no decoder for the video ({codec})")
                        }
                        None if audio.is_linked() => {
                            "no video stream: the source sends audio only".to_owned()
                        }
                        None => "no video stream in the source".to_owned(),
                    };
                    for_check.fail_here(reason);
                } else if let Some(pipeline) = weak.upgrade() {
                    air_silence(&for_check, &pipeline, unsupported_audio.map(String::as_str));
                }
            });
        }
        LiveInput::Flv => demux_flv(pipeline, source, shared, video, audio)?,
    }
    Ok(())
}

/// Silence for a source without usable audio, unless its audio is chosen already; a warning
/// when its audio is `unsupported`.
fn air_silence(shared: &Shared, pipeline: &gst::Pipeline, unsupported: Option<&str>) {
    let (why, warn) = match unsupported {
        Some(codec) => (
            format!("unsupported codec: no decoder for the audio ({codec}): airing silence"),
            true,
        ),
        None => (
            "the source sends video only: airing silence".to_owned(),
            false,
        ),
    };
    if let Err(reason) = shared.silence.start(pipeline, why, warn) {
        shared.fail_here(reason);
    }
}

/// `flvdemux`, each stream decoded as soon as its first tag comes (see the module's docs).
fn demux_flv(
    pipeline: &gst::Pipeline,
    source: &gst::Element,
    shared: &Arc<Shared>,
    video: gst::Pad,
    audio: gst::Pad,
) -> Result<(), MediaError> {
    let demux = make("flvdemux", "demux")?;
    pipeline.add(&demux).map_err(assembling)?;
    source.link(&demux).map_err(assembling)?;
    let weak = pipeline.downgrade();
    let for_pads = shared.clone();
    demux.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let codec = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let linked = if !codec.starts_with("audio/") {
            decode_stream(&pipeline, pad, "video", &for_pads, &video, &audio)
        } else if !for_pads.silence.open() {
            tracing::info!("the live source's audio came after silence was chosen: discarded");
            discard(&pipeline, pad)
        } else if !decodable(&caps) {
            for_pads
                .unsupported
                .lock()
                .expect("unsupported")
                .push(codec.clone());
            air_silence(&for_pads, &pipeline, Some(&codec));
            discard(&pipeline, pad)
        } else {
            for_pads.silence.expect_source();
            decode_stream(&pipeline, pad, "audio", &for_pads, &video, &audio)
        };
        if let Err(error) = linked {
            for_pads.fail_here(format!("cannot use the source's {codec} stream: {error}"));
        }
    });
    let for_check = shared.clone();
    let weak = pipeline.downgrade();
    demux.connect_no_more_pads(move |demux| {
        let has = |name: &str| demux.static_pad(name).is_some();
        if !has("video") {
            for_check.fail_here(if has("audio") {
                "no video stream: the source sends audio only".to_owned()
            } else {
                "no video stream in the source".to_owned()
            });
        } else if !has("audio")
            && let Some(pipeline) = weak.upgrade()
        {
            air_silence(&for_check, &pipeline, None);
        }
    });
    Ok(())
}

/// Ends `pad` in a fakesink.
fn discard(pipeline: &gst::Pipeline, pad: &gst::Pad) -> Result<(), String> {
    let sink = make("fakesink", &format!("discard-{}", pad.name())).map_err(|e| e.to_string())?;
    sink.set_property("sync", false);
    pipeline.add(&sink).map_err(|error| error.to_string())?;
    sink.sync_state_with_parent()
        .map_err(|error| error.to_string())?;
    pad.link(&sink_pad(&sink))
        .map(|_| ())
        .map_err(|error| format!("{error:?}"))
}

/// Whether a decoder here takes `caps` (or they are raw already), as `decodebin` would find it.
fn decodable(caps: &gst::Caps) -> bool {
    caps.structure(0)
        .is_some_and(|s| s.name().as_str() == "audio/x-raw")
        || gst::ElementFactory::factories_with_type(
            gst::ElementFactoryType::DECODER,
            gst::Rank::MARGINAL,
        )
        .iter()
        .any(|factory| factory.can_sink_any_caps(caps))
}

/// `pad` through an unbounded queue (its own thread, as `decodebin`'s multiqueue gives each
/// stream) into a `decodebin` of its own.
fn decode_stream(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    kind: &str,
    shared: &Arc<Shared>,
    video: &gst::Pad,
    audio: &gst::Pad,
) -> Result<(), String> {
    let demuxed = queue(&format!("{kind}-demuxed"), gst::ClockTime::ZERO)
        .map_err(|error| error.to_string())?;
    let decode = make("decodebin", &format!("decode-{kind}")).map_err(|error| error.to_string())?;
    pipeline
        .add_many([&demuxed, &decode])
        .map_err(|error| error.to_string())?;
    link_decoded(pipeline, &decode, shared, video.clone(), audio.clone());
    demuxed.link(&decode).map_err(|error| error.to_string())?;
    for element in [&decode, &demuxed] {
        element
            .sync_state_with_parent()
            .map_err(|error| error.to_string())?;
    }
    pad.link(&sink_pad(&demuxed))
        .map(|_| ())
        .map_err(|error| format!("{error:?}"))
}

/// Links `decode`'s first decoded video and first decoded audio (unless silence took the
/// audio chain) to `video` and `audio`, stamped with Unix time; records the streams it has no
/// decoder for.
fn link_decoded(
    pipeline: &gst::Pipeline,
    decode: &gst::Element,
    shared: &Arc<Shared>,
    video: gst::Pad,
    audio: gst::Pad,
) {
    let for_pads = shared.clone();
    on_decoded_pad(pipeline, decode, move |kind, pad| {
        let (target, stream) = match kind {
            "video/x-raw" if !video.is_linked() => (&video, Stream::Video),
            "audio/x-raw" if for_pads.silence.take_source() => (&audio, Stream::Audio),
            _ => return None,
        };
        restamp(pad, stream, for_pads.clone());
        Some(target.clone())
    });
    let for_unknown = shared.clone();
    decode.connect("unknown-type", false, move |args| {
        if let Some(caps) = args.get(2).and_then(|caps| caps.get::<gst::Caps>().ok()) {
            let what = caps
                .structure(0)
                .map(|s| s.name().to_string())
                .unwrap_or_else(|| caps.to_string());
            for_unknown
                .unsupported
                .lock()
                .expect("unsupported")
                .push(what);
        }
        None
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_decodable_when_a_decoder_here_takes_it_as_flvdemux_gives_it() {
        crate::elements::init().unwrap();
        let aac = gst::Caps::builder("audio/mpeg")
            .field("mpegversion", 4i32)
            .field("stream-format", "raw")
            .field("framed", true)
            .build();
        assert!(decodable(&aac));
        let pcm = gst::Caps::builder("audio/x-raw")
            .field("format", "S16LE")
            .build();
        assert!(decodable(&pcm));
        assert!(!decodable(&gst::Caps::builder("audio/x-made-up").build()));
    }
}
