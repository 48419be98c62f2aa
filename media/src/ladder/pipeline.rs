//! The ladder pipeline itself: decode once, scale and encode every rung, encode each distinct
//! audio bitrate once, segment TS and CMAF; with the pad probes and helpers it is built from.

use super::*;

/// Running time of `pts` in the segment `pad` last received.
pub(crate) fn running_time(pad: &gst::Pad, pts: gst::ClockTime) -> Option<u64> {
    let event = pad.sticky_event::<gst::event::Segment>(0)?;
    let segment = event.segment().downcast_ref::<gst::ClockTime>()?;
    segment.to_running_time(pts).map(|at| at.nseconds())
}

/// Where each buffer through `pad` ends, in running time: `record(end, buffer)`.
pub(super) fn watch_buffers(
    pad: &gst::Pad,
    record: impl Fn(u64, &gst::BufferRef) + Send + Sync + 'static,
) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if let Some(buffer) = info.buffer()
            && let Some(pts) = buffer.pts()
            && let Some(start) = running_time(pad, pts)
        {
            let end = start
                + buffer
                    .duration()
                    .map(|duration| duration.nseconds())
                    .unwrap_or(0);
            record(end, buffer);
        }
        gst::PadProbeReturn::Ok
    });
}

pub(crate) fn src_pad(element: &gst::Element) -> gst::Pad {
    element
        .static_pad("src")
        .expect("the element has a src pad")
}

pub(crate) fn sink_pad(element: &gst::Element) -> gst::Pad {
    element
        .static_pad("sink")
        .expect("the element has a sink pad")
}

pub(crate) fn add_chain(
    pipeline: &gst::Pipeline,
    chain: &[&gst::Element],
) -> Result<(), MediaError> {
    pipeline
        .add_many(chain.iter().copied())
        .map_err(|error| MediaError::gst("assembling the encoder", error))?;
    gst::Element::link_many(chain.iter().copied()).map_err(|error| {
        let names: Vec<String> = chain
            .iter()
            .map(|element| element.name().to_string())
            .collect();
        MediaError::gst(
            "assembling the encoder",
            format!("{error}: {}", names.join(" ! ")),
        )
    })
}

pub(crate) fn link_request(
    from: &gst::Element,
    to: &gst::Element,
    template: &str,
) -> Result<(), MediaError> {
    let pad = to.request_pad_simple(template).ok_or_else(|| {
        MediaError::gst(
            "assembling the encoder",
            format!("{} gave no {template} pad", to.name()),
        )
    })?;
    src_pad(from).link(&pad).map(|_| ()).map_err(|error| {
        MediaError::gst(
            "assembling the encoder",
            format!("linking {} to {}: {error:?}", from.name(), to.name()),
        )
    })
}

/// x264's level string for a `level_idc`: 30 is "3", 21 is "2.1", 9 is "1b".
pub(crate) fn h264_level(level_idc: u8) -> String {
    match level_idc {
        9 => "1b".to_owned(),
        idc if idc % 10 == 0 => format!("{}", idc / 10),
        idc => format!("{}.{}", idc / 10, idc % 10),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    pipeline: &gst::Pipeline,
    uri: &str,
    info: &ProbeInfo,
    ladder: &Ladder,
    tracks: &[AudioTrack],
    grid: &Grid,
    out: &Layout,
    slate: Option<&Slate>,
    expected: Option<gst::ClockTime>,
    pad_to_whole_segments: bool,
) -> Result<Taps, MediaError> {
    let decoded = Arc::new(Mutex::new(None::<u64>));
    let reach = |pad: &gst::Pad| {
        let decoded = decoded.clone();
        watch_buffers(pad, move |end, _| {
            let mut decoded = decoded.lock().expect("decoded");
            *decoded = Some(decoded.map_or(end, |before| before.max(end)));
        });
    };

    // Video, decoded once (or a slate when the input has none).
    let decode = make("uridecodebin", "decode")?;
    decode.set_property("uri", uri);
    pipeline
        .add(&decode)
        .map_err(|error| MediaError::gst("assembling the encoder", error))?;
    let video_in = queue("video-in", RAW_QUEUE)?;
    let to_deinterlace = make("videoconvert", "video-convert-in")?;
    let deinterlace = make("deinterlace", "deinterlace")?;
    let rate = make("videorate", "video-rate")?;
    let to_i420 = make("videoconvert", "video-convert")?;
    let video_caps = gst::Caps::builder("video/x-raw")
        .field("format", "I420")
        .field("framerate", grid.frame_rate)
        .build();
    let video_raw = capsfilter("video-raw", video_caps)?;
    let video_tee = make("tee", "video-tee")?;
    // Padding to whole segments happens between the conformed streams and their tees (see
    // `pad`), so that every rung and packaging is cut from the same padded streams.
    let (video_pad, audio_pad) = if pad_to_whole_segments {
        (
            Some(make("identity", "video-pad")?),
            Some(make("identity", "audio-pad")?),
        )
    } else {
        (None, None)
    };
    let video_chain: Vec<&gst::Element> = [
        &video_in,
        &to_deinterlace,
        &deinterlace,
        &rate,
        &to_i420,
        &video_raw,
    ]
    .into_iter()
    .chain(video_pad.as_ref())
    .chain([&video_tee])
    .collect();
    add_chain(pipeline, &video_chain)?;
    match slate {
        // Measured as decoded: videorate and audiorate would fill a truncated stream's gaps.
        None => reach(&src_pad(&video_in)),
        Some(slate) => {
            let source = slate_source(pipeline, slate, grid)?;
            source
                .link(&video_in)
                .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        }
    }

    // Audio, decoded once and brought to the ladder's loudness, or silence when the input has
    // none.
    let audio_in = queue("audio-in", AUDIO_IN_QUEUE)?;
    let audio_convert = make("audioconvert", "audio-convert-in")?;
    let resample = make("audioresample", "audio-resample")?;
    let audio_rate = make("audiorate", "audio-rate")?;
    let audio_caps = gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", ladder.audio_sample_rate as i32)
        .field("channels", ladder.audio_channels as i32)
        .build();
    let audio_raw = capsfilter("audio-raw", audio_caps)?;
    let audio_tee = make("tee", "audio-tee")?;
    let silence = if info.audio.is_none() {
        let silence = make("audiotestsrc", "silence")?;
        silence.set_property_from_str("wave", "silence");
        silence.set_property(
            "samplesperbuffer",
            (ladder.audio_sample_rate / 50).max(1) as i32,
        );
        let chain: Vec<&gst::Element> = [
            &silence,
            &audio_in,
            &audio_convert,
            &resample,
            &audio_rate,
            &audio_raw,
        ]
        .into_iter()
        .chain(audio_pad.as_ref())
        .chain([&audio_tee])
        .collect();
        add_chain(pipeline, &chain)?;
        Some(silence)
    } else {
        // audioloudnorm works on 192 kHz doubles (it measures true peaks); the downmix to the
        // ladder's channels happens before, where it is cheapest.
        let loudness_caps = gst::Caps::builder("audio/x-raw")
            .field("format", "F64LE")
            .field("layout", "interleaved")
            .field("rate", LOUDNORM_RATE)
            .field("channels", ladder.audio_channels as i32)
            .build();
        let to_loudnorm = capsfilter("loudnorm-in", loudness_caps)?;
        let loudnorm = make("audioloudnorm", "loudnorm")?;
        loudnorm.set_property("loudness-target", ladder.loudness.lufs());
        let from_loudnorm = make("audioconvert", "audio-convert-out")?;
        let resample_out = make("audioresample", "audio-resample-out")?;
        let chain: Vec<&gst::Element> = [
            &audio_in,
            &audio_convert,
            &resample,
            &audio_rate,
            &to_loudnorm,
            &loudnorm,
            &from_loudnorm,
            &resample_out,
            &audio_raw,
        ]
        .into_iter()
        .chain(audio_pad.as_ref())
        .chain([&audio_tee])
        .collect();
        add_chain(pipeline, &chain)?;
        reach(&src_pad(&audio_in));
        None
    };
    // Before the span is followed: frames dropped here are not part of it.
    end_on_nearest_frame(&src_pad(&video_in), &src_pad(&video_raw), grid.frame);
    let bytes_per_frame = 4 * ladder.audio_channels as usize;
    let span = VideoSpan::follow(&src_pad(&video_raw), grid.gop_frames);
    span.trim_audio(
        &src_pad(&audio_raw),
        ladder.audio_sample_rate,
        bytes_per_frame,
    );
    if let Some(silence) = &silence {
        end_silence_with_video(silence, &video_raw);
    }
    // The audio is trimmed to the input's pictures above, then padded with silence to the held
    // frames' end: the padding is silent even where the input's sound ran on.
    let padding = match (&video_pad, &audio_pad) {
        (Some(video_pad), Some(audio_pad)) => {
            let padding = Padding::hold_last_frame(video_pad, grid.fps, grid.gop_frames);
            padding.fill_silence(audio_pad, ladder.audio_sample_rate, bytes_per_frame);
            Some(padding)
        }
        _ => None,
    };
    connect_decoder(
        pipeline,
        &decode,
        slate.is_none().then(|| sink_pad(&video_in)),
        silence.is_none().then(|| sink_pad(&audio_in)),
    );

    // Audio, encoded once per audio track (distinct bitrate): to the track's CMAF audio
    // rendition, and to the MPEG-TS segments of every rung with that bitrate.
    let mut aac_tees = Vec::with_capacity(tracks.len());
    let mut cmaf_audio = Vec::with_capacity(tracks.len());
    for track in tracks {
        let name = |what: &str| format!("{what}-{}", track.name);
        let audio_queue = queue(&name("audio"), RAW_QUEUE)?;
        let audio_convert = make("audioconvert", &name("audio-convert"))?;
        let audio_encoder = make("avenc_aac", &name("aac"))?;
        audio_encoder.set_property("bitrate", track.bitrate.min(i32::MAX as u32) as i32);
        let aac_tee = make("tee", &name("aac-tee"))?;
        add_chain(
            pipeline,
            &[&audio_queue, &audio_convert, &audio_encoder, &aac_tee],
        )?;
        audio_tee
            .link(&audio_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;

        // The CMAF audio track: fragments cut by hand at the video's segment starts.
        let cmaf_queue = queue(&name("cmaf-audio"), COMPRESSED_QUEUE)?;
        let cmaf_parse = make("aacparse", &name("cmaf-aacparse"))?;
        let cmafmux = make("cmafmux", &name("cmafmux"))?;
        cmafmux.set_property("manual-split", true);
        // Only for the latency it reports, in manual-split mode.
        cmafmux.set_property("fragment-duration", grid.gop.nseconds());
        let appsink = cmaf_sink(&name("cmaf-sink"));
        add_chain(
            pipeline,
            &[&cmaf_queue, &cmaf_parse, &cmafmux, appsink.upcast_ref()],
        )?;
        aac_tee
            .link(&cmaf_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        span.split_audio_at_segments(&src_pad(&cmaf_parse));
        cmaf_audio.push(cmaf::write_into(
            &appsink,
            out.dir(&track.name, Packaging::CmafAudio),
        ));
        aac_tees.push(aac_tee);
    }

    let mut encoded = Vec::new();
    let mut cmaf_video = Vec::new();
    let mut poster = None;
    for (index, rung) in ladder.rungs.iter().enumerate() {
        let name = |what: &str| format!("{what}-{index}");

        let video_queue = queue(&name("video"), RAW_QUEUE)?;
        let scale = make("videoscale", &name("scale"))?;
        scale.set_property("add-borders", true);
        let scaled_caps = gst::Caps::builder("video/x-raw")
            .field("width", rung.width as i32)
            .field("height", rung.height as i32)
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build();
        let scaled = capsfilter(&name("scaled"), scaled_caps)?;
        if index == 0 {
            poster = Some(keep_poster_frame(&src_pad(&scaled), expected));
        }
        let encoder = make("x264enc", &name("x264"))?;
        // Rate control: x264enc's `pass=cbr` is x264's ABR at the target with the VBV capped at
        // it (vbv-maxrate = bitrate, a buffer of VBV_BUFFER): it holds the average on busy
        // pictures and never overshoots, and spends no filler bits on easy ones. Everything else
        // is x264's `veryfast` preset (3 B-frames, rc-lookahead 10, threads auto); the
        // benchmark's ffmpeg command uses exactly these.
        encoder.set_property("bitrate", (rung.video_bitrate / 1000).max(1));
        encoder.set_property_from_str("pass", "cbr");
        encoder.set_property("vbv-buf-capacity", VBV_BUFFER.as_millis() as u32);
        encoder.set_property_from_str("speed-preset", X264_PRESET);
        encoder.set_property("key-int-max", grid.gop_frames);
        // No scene-cut keyframes: IDRs on the segment grid and nowhere else.
        encoder.set_property(
            "option-string",
            format!("scenecut=0:keyint_min={}", grid.gop_frames),
        );
        let h264_caps = gst::Caps::builder("video/x-h264")
            .field("profile", rung.h264_profile_name())
            .field("level", h264_level(rung.h264_level_idc))
            .field("stream-format", "byte-stream")
            .field("alignment", "au")
            .build();
        let h264 = capsfilter(&name("h264"), h264_caps)?;
        let h264_tee = make("tee", &name("h264-tee"))?;
        add_chain(
            pipeline,
            &[&video_queue, &scale, &scaled, &encoder, &h264, &h264_tee],
        )?;
        video_tee
            .link(&video_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;

        // MPEG-TS segments: the rung's video and its audio track, muxed.
        let track_index = tracks
            .iter()
            .position(|track| *track == AudioTrack::of_rung(rung))
            .expect("every rung's audio track is among the ladder's");
        let (ts_video_parse, ts_audio_parse) =
            ts_inputs(pipeline, index, &h264_tee, &aac_tees[track_index])?;
        let splitmux = make("splitmuxsink", &ts_sink_name(index))?;
        let muxer = make("mpegtsmux", &name("mpegtsmux"))?;
        splitmux.set_property("muxer", &muxer);
        splitmux.set_property("max-size-time", grid.gop.nseconds());
        let ts_dir = out.dir(&rung.name, Packaging::Ts);
        // splitmuxsink formats the location with printf: a '%' in the directory must be doubled.
        let pattern = format!("{}/%05d.ts", ts_dir.to_string_lossy().replace('%', "%%"));
        splitmux.set_property("location", pattern);
        pipeline
            .add(&splitmux)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        link_request(&ts_video_parse, &splitmux, "video")?;
        link_request(&ts_audio_parse, &splitmux, "audio_%u")?;

        // The CMAF video track, fragments cut at the same keyframes. The fragment duration is
        // half a frame short of the GOP so that rounding in frame timestamps never skips a
        // keyframe.
        let cmaf_video_queue = queue(&name("cmaf-video"), COMPRESSED_QUEUE)?;
        let cmaf_video_parse = make("h264parse", &name("cmaf-h264parse"))?;
        let cmafmux = make("cmafmux", &name("cmafmux"))?;
        cmafmux.set_property(
            "fragment-duration",
            grid.gop.nseconds() - grid.frame.nseconds() / 2,
        );
        cmafmux.set_property("send-force-keyunit", false);
        let appsink = cmaf_sink(&name("cmaf-sink"));
        add_chain(
            pipeline,
            &[
                &cmaf_video_queue,
                &cmaf_video_parse,
                &cmafmux,
                appsink.upcast_ref(),
            ],
        )?;
        h264_tee
            .link(&cmaf_video_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        cmaf_video.push(cmaf::write_into(
            &appsink,
            out.dir(&rung.name, Packaging::Cmaf),
        ));

        let trace = Arc::new(Mutex::new(EncodedTrace::default()));
        let record = trace.clone();
        watch_buffers(&src_pad(&encoder), move |end, buffer| {
            let mut trace = record.lock().expect("trace");
            if !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                let start = end
                    - buffer
                        .duration()
                        .map(|duration| duration.nseconds())
                        .unwrap_or(0);
                trace.keyframes.push(start);
            }
            trace.end = Some(trace.end.map_or(end, |before| before.max(end)));
        });
        encoded.push(trace);
    }
    Ok(Taps {
        encoded,
        cmaf_video,
        cmaf_audio,
        decoded,
        poster: poster.expect("a ladder has a top rung"),
        padding,
    })
}

/// The inputs of rung `index`'s MPEG-TS muxer: its H.264 from `h264_tee` (SPS and PPS before
/// every keyframe) and its audio track's AAC from `aac_tee`, each queued and parsed; returns the
/// two parsers to link to the muxer.
pub(crate) fn ts_inputs(
    pipeline: &gst::Pipeline,
    index: usize,
    h264_tee: &gst::Element,
    aac_tee: &gst::Element,
) -> Result<(gst::Element, gst::Element), MediaError> {
    let name = |what: &str| format!("{what}-{index}");
    let video_queue = queue(&name("ts-video"), COMPRESSED_QUEUE)?;
    let video_parse = make("h264parse", &name("ts-h264parse"))?;
    video_parse.set_property("config-interval", -1i32);
    let audio_queue = queue(&name("ts-audio"), COMPRESSED_QUEUE)?;
    let audio_parse = make("aacparse", &name("ts-aacparse"))?;
    add_chain(pipeline, &[&video_queue, &video_parse])?;
    add_chain(pipeline, &[&audio_queue, &audio_parse])?;
    for (tee, queue) in [(h264_tee, &video_queue), (aac_tee, &audio_queue)] {
        tee.link(queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
    }
    Ok((video_parse, audio_parse))
}

/// The sink the CMAF writer reads a muxer's output from.
pub(super) fn cmaf_sink(name: &str) -> gst_app::AppSink {
    gst_app::AppSink::builder()
        .name(name)
        .buffer_list(true)
        .sync(false)
        .build()
}

/// Rounds the conformed video to the nearest whole frame at its end: when the input ends,
/// videorate emits every frame the input's last picture overlaps, so 180 frames at 29.97 fps
/// (6.006 s) would become 181 at 30 fps, and the last segment a single frame. A frame that
/// begins within half a frame of the input's end (or after it) is dropped instead.
///
/// `input` is where decoded video enters (its EOS passes there, in the same streaming thread,
/// before videorate flushes its last frames); `output` is where conformed frames leave.
pub(super) fn end_on_nearest_frame(input: &gst::Pad, output: &gst::Pad, frame: gst::ClockTime) {
    #[derive(Default)]
    struct Input {
        end: Option<u64>,
        ended: bool,
    }
    let state = Arc::new(Mutex::new(Input::default()));
    let seen = state.clone();
    input.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |pad, info| {
            if let Some(buffer) = info.buffer()
                && let Some(pts) = buffer.pts()
                && let Some(start) = running_time(pad, pts)
            {
                let end = start + buffer.duration().unwrap_or(frame).nseconds();
                let mut seen = seen.lock().expect("input end");
                seen.end = Some(seen.end.map_or(end, |before| before.max(end)));
            } else if let Some(event) = info.event() {
                match event.type_() {
                    gst::EventType::Eos => seen.lock().expect("input end").ended = true,
                    gst::EventType::FlushStop | gst::EventType::StreamStart => {
                        *seen.lock().expect("input end") = Input::default();
                    }
                    _ => {}
                }
            }
            gst::PadProbeReturn::Ok
        },
    );
    output.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let input = state.lock().expect("input end");
        if !input.ended {
            return gst::PadProbeReturn::Ok;
        }
        let Some(end) = input.end else {
            return gst::PadProbeReturn::Ok;
        };
        match info
            .buffer()
            .and_then(|buffer| buffer.pts())
            .and_then(|pts| running_time(pad, pts))
        {
            Some(start) if start + frame.nseconds() / 2 >= end => DROP_BUFFER,
            _ => gst::PadProbeReturn::Ok,
        }
    });
}

/// Black frames at the ladder's rate with the slate's title across them: `num-buffers` ends it
/// after exactly `frames`.
pub(super) fn slate_source(
    pipeline: &gst::Pipeline,
    slate: &Slate,
    grid: &Grid,
) -> Result<gst::Element, MediaError> {
    let source = make("videotestsrc", "slate")?;
    source.set_property_from_str("pattern", "black");
    source.set_property(
        "num-buffers",
        i32::try_from(slate.frames).unwrap_or(i32::MAX),
    );
    let caps = capsfilter(
        "slate-caps",
        gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", slate.width as i32)
            .field("height", slate.height as i32)
            .field("framerate", grid.frame_rate)
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build(),
    )?;
    let title = make("textoverlay", "slate-title")?;
    title.set_property("text", &slate.title);
    title.set_property(
        "font-desc",
        format!("Sans Bold {}px", (slate.height / 12).max(8)),
    );
    title.set_property_from_str("valignment", "center");
    title.set_property_from_str("halignment", "center");
    title.set_property("wait-text", false);
    add_chain(pipeline, &[&source, &caps, &title])?;
    Ok(title)
}

pub(super) fn ts_sink_name(index: usize) -> String {
    format!("ts-{index}")
}

/// Links the decoder's first raw video and first raw audio stream; any other stream is
/// discarded. A stream that cannot be used becomes an error on the bus.
pub(super) fn connect_decoder(
    pipeline: &gst::Pipeline,
    decode: &gst::Element,
    video: Option<gst::Pad>,
    audio: Option<gst::Pad>,
) {
    let (video_used, audio_used) = (video.clone(), audio.clone());
    decode.connect_no_more_pads(move |decode| {
        if video_used.as_ref().is_some_and(|video| !video.is_linked()) {
            gst::element_error!(
                decode,
                gst::StreamError::Decode,
                ("the video stream could not be decoded")
            );
        } else if audio_used.as_ref().is_some_and(|audio| !audio.is_linked()) {
            gst::element_error!(
                decode,
                gst::StreamError::Decode,
                ("the audio stream could not be decoded")
            );
        }
    });
    on_decoded_pad(pipeline, decode, move |kind, _| {
        if kind == "video/x-raw" && video.as_ref().is_some_and(|video| !video.is_linked()) {
            video.clone()
        } else if kind == "audio/x-raw" && audio.as_ref().is_some_and(|audio| !audio.is_linked()) {
            audio.clone()
        } else {
            None
        }
    });
}

/// Links each stream `decode` (a decodebin) adds to the pad `target` picks for its kind
/// (`video/x-raw`, …) and the pad itself, or discards it when `target` picks none. Pads are
/// handled one at a time; a link that fails is an error on the bus.
pub(crate) fn on_decoded_pad(
    pipeline: &gst::Pipeline,
    decode: &gst::Element,
    target: impl Fn(&str, &gst::Pad) -> Option<gst::Pad> + Send + Sync + 'static,
) {
    let weak = pipeline.downgrade();
    let lock = Arc::new(Mutex::new(()));
    decode.connect_pad_added(move |decode, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let _linking = lock.lock().expect("linking");
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let kind = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let linked = match target(&kind, pad) {
            Some(target) => pad
                .link(&target)
                .map(|_| ())
                .map_err(|error| format!("{error:?}")),
            None => discard(&pipeline, pad),
        };
        if let Err(error) = linked {
            gst::element_error!(
                decode,
                gst::CoreError::Negotiation,
                ("cannot use the decoded {kind} stream: {error}")
            );
        }
    });
}

pub(crate) fn discard(pipeline: &gst::Pipeline, pad: &gst::Pad) -> Result<(), String> {
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()
        .map_err(|error| error.to_string())?;
    pipeline.add(&sink).map_err(|error| error.to_string())?;
    sink.sync_state_with_parent()
        .map_err(|error| error.to_string())?;
    pad.link(&sink_pad(&sink))
        .map(|_| ())
        .map_err(|error| format!("{error:?}"))
}

/// The silent track ends when the video does (what runs past it is trimmed, see [`VideoSpan`]).
pub(super) fn end_silence_with_video(silence: &gst::Element, video: &gst::Element) {
    let silence = silence.downgrade();
    src_pad(video).add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(event) = info.event()
            && event.type_() == gst::EventType::Eos
            && let Some(silence) = silence.upgrade()
        {
            silence.send_event(gst::event::Eos::new());
        }
        gst::PadProbeReturn::Ok
    });
}
