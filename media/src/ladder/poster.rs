//! The poster: one frame of the top rung kept on its way to the encoder, as a JPEG.

use super::*;

/// Keeps a copy of one frame of the top rung (scaled, before encoding) for the poster: the
/// first frame at a tenth of the expected duration, or the very first frame when that one never
/// comes. Copies, so that no buffer of the encoder's pool is held; no branch or sink of its own,
/// so nothing waits on it to preroll.
pub(super) fn keep_poster_frame(
    pad: &gst::Pad,
    expected: Option<gst::ClockTime>,
) -> Arc<Mutex<PosterFrame>> {
    let offset = expected.map_or(0, |expected| expected.nseconds() / 10);
    let kept = Arc::new(Mutex::new(PosterFrame::default()));
    let frames = kept.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(at) = buffer.pts().and_then(|pts| running_time(pad, pts)) else {
            return gst::PadProbeReturn::Ok;
        };
        let mut frames = frames.lock().expect("poster");
        if frames.chosen {
            return gst::PadProbeReturn::Ok;
        }
        let first_at = *frames.first_at.get_or_insert(at);
        if frames.sample.is_none() || at >= first_at + offset {
            frames.chosen = at >= first_at + offset;
            if let Some(caps) = pad.current_caps() {
                frames.sample = Some(
                    gst::Sample::builder()
                        .buffer(&buffer.copy_deep().unwrap_or_else(|_| buffer.to_owned()))
                        .caps(&caps)
                        .build(),
                );
            }
        }
        gst::PadProbeReturn::Ok
    });
    kept
}

/// The raw frame the poster is made from.
#[derive(Default)]
pub(super) struct PosterFrame {
    first_at: Option<u64>,
    sample: Option<gst::Sample>,
    /// The frame at a tenth of the duration was taken: no more copies.
    chosen: bool,
}

/// The poster frame as JPEG.
pub(super) fn poster_jpeg(frame: &Mutex<PosterFrame>) -> Result<Option<Vec<u8>>, MediaError> {
    let Some(sample) = frame.lock().expect("poster").sample.take() else {
        return Ok(None);
    };
    let jpeg = gstreamer_video::convert_sample(
        &sample,
        &gst::Caps::builder("image/jpeg").build(),
        gst::ClockTime::from_seconds(10),
    )
    .map_err(|error| MediaError::gst("making the poster", error))?;
    let buffer = jpeg
        .buffer()
        .ok_or_else(|| MediaError::gst("making the poster", "the JPEG encoder gave nothing"))?;
    let map = buffer
        .map_readable()
        .map_err(|error| MediaError::gst("making the poster", error))?;
    Ok(Some(map.as_slice().to_vec()))
}
