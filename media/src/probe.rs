//! Probing a media file before touching it: duration, streams and codecs, via the Discoverer.

use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_pbutils as pbutils;
use gstreamer_pbutils::prelude::*;
use onair_domain::Ticks;

use crate::elements::init;
use crate::error::MediaError;

/// What a media file holds. Only the first video and the first audio stream are described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeInfo {
    /// The container's duration, when it declares one.
    pub duration: Option<Ticks>,
    /// E.g. `Quicktime` or `MPEG-2 Transport Stream`; `None` for a bare stream.
    pub container: Option<String>,
    pub video: Option<VideoStreamInfo>,
    pub audio: Option<AudioStreamInfo>,
    pub video_streams: usize,
    pub audio_streams: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoStreamInfo {
    /// A human description, e.g. `H.264 (High Profile)`.
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// 0/1 when the stream does not declare a rate.
    pub frame_rate_num: u32,
    pub frame_rate_den: u32,
    pub interlaced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioStreamInfo {
    /// A human description, e.g. `MPEG-4 AAC`.
    pub codec: String,
    pub channels: u32,
    pub sample_rate: u32,
}

/// How long the Discoverer may take on one local file. It gets a second try: GStreamer 1.22's
/// decodebin can swallow a demuxer error raised while it is still being plugged (a race), and
/// the probe then waits for a result that never comes.
const PROBE_TIMEOUT: gst::ClockTime = gst::ClockTime::from_seconds(10);
const PROBE_ATTEMPTS: usize = 2;

/// Describes `input`. Fails with a message a person understands when it is not a media file, is
/// damaged, or needs a decoder that is not installed.
pub fn probe(input: &Path) -> Result<ProbeInfo, MediaError> {
    init()?;
    let uri = file_uri(input)?;
    let unreadable = |reason: String| MediaError::Unreadable {
        path: input.to_owned(),
        reason,
    };
    let length = std::fs::metadata(input)
        .map_err(MediaError::io(input))?
        .len();
    if length == 0 {
        return Err(unreadable(
            "the file is empty (0 bytes): an upload or copy that never got its content".into(),
        ));
    }
    check_iso_boxes(input).map_err(unreadable)?;
    let mut attempt = 0;
    let info = loop {
        attempt += 1;
        let discoverer = pbutils::Discoverer::new(PROBE_TIMEOUT)
            .map_err(|error| MediaError::gst("starting the media probe", error))?;
        let info = match discoverer.discover_uri(&uri) {
            Ok(info) => info,
            // The Discoverer reports a missing decoder as an error and drops what it found; a
            // decodebin run says which one.
            Err(error) if error.matches(gst::CoreError::MissingPlugin) => {
                return Err(
                    missing_decoder(input, &uri).unwrap_or_else(|| unreadable(explain(&error)))
                );
            }
            Err(error) => return Err(unreadable(explain(&error))),
        };
        if info.result() != pbutils::DiscovererResult::Timeout || attempt == PROBE_ATTEMPTS {
            break info;
        }
        tracing::warn!(input = %input.display(), attempt, "probing timed out; trying again");
    };
    match info.result() {
        pbutils::DiscovererResult::Ok => {}
        pbutils::DiscovererResult::Timeout => {
            return Err(unreadable(format!(
                "probing did not finish within {} s, {PROBE_ATTEMPTS} times: the file is probably damaged",
                PROBE_TIMEOUT.seconds()
            )));
        }
        pbutils::DiscovererResult::MissingPlugins => {
            let details: Vec<String> = info
                .missing_elements_installer_details()
                .iter()
                .map(|detail| detail.to_string())
                .collect();
            let missing: Vec<MissingDecoder> = details
                .iter()
                .filter_map(|detail| MissingDecoder::parse(detail))
                .collect();
            // A decoder missing for a subtitle or data stream does not matter: those are dropped.
            if let Some(decoder) = missing.iter().find(|decoder| decoder.is_audio_or_video()) {
                return Err(decoder.error(input));
            }
            if missing.is_empty() {
                return Err(unreadable(format!(
                    "a GStreamer plugin it needs is not installed: {}",
                    details.join(", ")
                )));
            }
        }
        other => return Err(unreadable(format!("could not be probed ({other:?})"))),
    }

    let container = info
        .stream_info()
        .filter(|top| top.is::<pbutils::DiscovererContainerInfo>())
        .and_then(|top| top.caps())
        .map(|caps| describe(&caps));
    let video_infos = info.video_streams();
    let audio_infos = info.audio_streams();
    let video = video_infos.first().map(|video| {
        let rate = video.framerate();
        VideoStreamInfo {
            codec: video.caps().map(|caps| describe(&caps)).unwrap_or_default(),
            width: video.width(),
            height: video.height(),
            frame_rate_num: rate.numer().max(0) as u32,
            frame_rate_den: rate.denom().max(1) as u32,
            interlaced: video.is_interlaced(),
        }
    });
    if video_infos.first().is_some_and(|video| video.is_image()) {
        return Err(unreadable("is a still image, not a video".into()));
    }
    let audio = audio_infos.first().map(|audio| AudioStreamInfo {
        codec: audio.caps().map(|caps| describe(&caps)).unwrap_or_default(),
        channels: audio.channels(),
        sample_rate: audio.sample_rate(),
    });
    Ok(ProbeInfo {
        duration: info
            .duration()
            .map(|duration| Ticks::from_nanos(duration.nseconds() as i64)),
        container,
        video,
        audio,
        video_streams: video_infos.len(),
        audio_streams: audio_infos.len(),
    })
}

/// A decoder the Discoverer looked for and did not find, read from its installer detail
/// (`gstreamer|1.0|app|H.265 decoder|decoder-video/x-h265, stream-format=...`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct MissingDecoder {
    /// E.g. `video/x-h265`.
    media_type: String,
    /// GStreamer's description, e.g. `H.265 (Main Profile) decoder`.
    description: String,
    /// The whole caps, which name the fourcc or codec id of an unknown stream.
    caps: String,
}

impl MissingDecoder {
    fn parse(detail: &str) -> Option<MissingDecoder> {
        let fields: Vec<&str> = detail.split('|').collect();
        let caps = fields.get(4)?.strip_prefix("decoder-")?;
        let media_type = caps.split(',').next()?.trim();
        Some(MissingDecoder {
            media_type: media_type.to_owned(),
            description: fields
                .get(3)
                .map(|d| d.trim())
                .unwrap_or_default()
                .to_owned(),
            caps: caps.trim().to_owned(),
        })
    }

    fn error(&self, input: &Path) -> MediaError {
        MediaError::UnsupportedCodec {
            path: input.to_owned(),
            codec: self.media_type.clone(),
            detail: Some(self.detail()),
        }
    }

    fn is_audio_or_video(&self) -> bool {
        self.media_type.starts_with("video/") || self.media_type.starts_with("audio/")
    }

    /// What a person needs to tell the codec: its description and the stream's caps, minus what
    /// repeats the media type.
    fn detail(&self) -> String {
        let fields = self
            .caps
            .strip_prefix(&self.media_type)
            .unwrap_or(&self.caps)
            .trim_start_matches(',')
            .trim();
        let description =
            if self.description.is_empty() || self.description.starts_with(&self.media_type) {
                "GStreamer has no decoder installed for it".to_owned()
            } else {
                format!("{}: not installed", self.description)
            };
        if fields.is_empty() {
            description
        } else {
            format!("{description}; stream: {fields}")
        }
    }
}

/// Plugs a decodebin on `uri` and reports the first audio or video stream it finds no decoder
/// for, from its `missing-plugin` messages. `None` when it cannot tell.
fn missing_decoder(input: &Path, uri: &str) -> Option<MediaError> {
    let pipeline = gst::Pipeline::with_name("find-decoder");
    let decode = gst::ElementFactory::make("uridecodebin")
        .property("uri", uri)
        .build()
        .ok()?;
    pipeline.add(&decode).ok()?;
    let weak = pipeline.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        if let Ok(sink) = gst::ElementFactory::make("fakesink").build()
            && pipeline.add(&sink).is_ok()
            && sink.sync_state_with_parent().is_ok()
            && let Some(sink_pad) = sink.static_pad("sink")
        {
            let _ = pad.link(&sink_pad);
        }
    });
    let bus = pipeline.bus()?;
    let stop = crate::bus::StopOnDrop(pipeline.clone());
    pipeline.set_state(gst::State::Paused).ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut found = None;
    while std::time::Instant::now() < deadline {
        let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
            continue;
        };
        match message.view() {
            gst::MessageView::Element(_) if pbutils::MissingPluginMessage::is(&message) => {
                if let Ok(missing) = pbutils::MissingPluginMessage::parse(&message)
                    && let Some(decoder) = MissingDecoder::parse(&missing.installer_detail())
                    && decoder.is_audio_or_video()
                {
                    found = Some(decoder.error(input));
                    break;
                }
            }
            gst::MessageView::Error(_)
            | gst::MessageView::AsyncDone(_)
            | gst::MessageView::Eos(_) => break,
            _ => {}
        }
    }
    drop(stop);
    found
}

/// `file://` URI of a local path, made absolute first.
pub(crate) fn file_uri(path: &Path) -> Result<String, MediaError> {
    let absolute = std::path::absolute(path).map_err(MediaError::io(path))?;
    if !absolute.is_file() {
        let reason = if absolute.exists() {
            "is not a regular file"
        } else {
            "does not exist"
        };
        return Err(MediaError::Unreadable {
            path: path.to_owned(),
            reason: reason.into(),
        });
    }
    gst::glib::filename_to_uri(&absolute, None)
        .map(|uri| uri.to_string())
        .map_err(|error| MediaError::Unreadable {
            path: PathBuf::from(path),
            reason: error.to_string(),
        })
}

/// For MP4 and QuickTime files, walks the top-level boxes: a box running past the end of the
/// file means it was cut short, and no `moov` (nor `moof`) means it has no index and cannot be
/// played. Any other file passes untouched.
fn check_iso_boxes(path: &Path) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};

    const TOP_LEVEL: [&[u8; 4]; 7] = [
        b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot",
    ];
    let mut file = std::fs::File::open(path).map_err(|error| error.to_string())?;
    let length = file.metadata().map_err(|error| error.to_string())?.len();
    let mut offset = 0u64;
    let mut indexed = false;
    for box_index in 0..100_000 {
        if offset >= length {
            break;
        }
        let mut header = [0u8; 16];
        file.seek(SeekFrom::Start(offset))
            .map_err(|error| error.to_string())?;
        let available = file.read(&mut header).map_err(|error| error.to_string())?;
        if available < 8 {
            return Err(format!(
                "the file is truncated: it ends inside a box header at byte {offset}"
            ));
        }
        let kind = [header[4], header[5], header[6], header[7]];
        if box_index == 0 && !TOP_LEVEL.contains(&&kind) {
            return Ok(());
        }
        let name = String::from_utf8_lossy(&kind).into_owned();
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => length - offset,
            1 if available >= 16 => {
                u64::from_be_bytes(header[8..16].try_into().expect("eight bytes"))
            }
            1 => {
                return Err(format!(
                    "the file is truncated: it ends inside the header of its '{name}' box"
                ));
            }
            size => u64::from(size),
        };
        if size < 8 {
            return Err(format!(
                "the file is damaged: its '{name}' box at byte {offset} has an impossible size"
            ));
        }
        if offset + size > length {
            return Err(format!(
                "the file is truncated: its '{name}' box needs {size} bytes from byte {offset} but the file ends after {} of them",
                length - offset
            ));
        }
        indexed |= &kind == b"moov" || &kind == b"moof";
        offset += size;
    }
    if !indexed {
        return Err("the file is damaged or incomplete: it has no 'moov' index (an interrupted upload or recording)".into());
    }
    Ok(())
}

fn describe(caps: &gst::Caps) -> String {
    pbutils::pb_utils_get_codec_description(caps).to_string()
}

/// GStreamer's message, with a plain reading of the common cases.
fn explain(error: &gst::glib::Error) -> String {
    let message = error.message().trim_end_matches('.').to_owned();
    let hint = if message.contains("Could not determine type of stream")
        || message.contains("text file")
    {
        "not a media file, or a format GStreamer does not know"
    } else if message.contains("no playable streams") || message.contains("incomplete") {
        "the file is damaged or incomplete (a truncated MP4 lacks its index)"
    } else if message.contains("No decoder") || message.contains("missing") {
        "a decoder for it is not installed"
    } else {
        "not a playable media file"
    };
    format!("{hint}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso_box(kind: &[u8; 4], payload: usize) -> Vec<u8> {
        let mut bytes = ((payload + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.resize(payload + 8, 0);
        bytes
    }

    fn check(bytes: &[u8]) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("onair-media-boxes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "{:x}.mp4",
            bytes.len() * 31 + bytes.iter().map(|b| *b as usize).sum::<usize>()
        ));
        std::fs::write(&path, bytes).unwrap();
        let result = check_iso_boxes(&path);
        std::fs::remove_file(&path).unwrap();
        result
    }

    #[test]
    fn a_complete_mp4_passes_the_box_walk_in_either_order() {
        let moov_last = [
            iso_box(b"ftyp", 16),
            iso_box(b"mdat", 100),
            iso_box(b"moov", 40),
        ]
        .concat();
        let moov_first = [
            iso_box(b"ftyp", 16),
            iso_box(b"moov", 40),
            iso_box(b"mdat", 100),
        ]
        .concat();
        assert_eq!(check(&moov_last), Ok(()));
        assert_eq!(check(&moov_first), Ok(()));
    }

    #[test]
    fn a_cut_box_or_a_missing_index_is_named() {
        let cut = [
            iso_box(b"ftyp", 16),
            iso_box(b"moov", 40),
            iso_box(b"mdat", 100),
        ]
        .concat();
        let error = check(&cut[..cut.len() - 10]).unwrap_err();
        assert!(
            error.contains("truncated") && error.contains("'mdat'"),
            "{error}"
        );
        let no_index = [iso_box(b"ftyp", 16), iso_box(b"mdat", 100)].concat();
        assert!(check(&no_index).unwrap_err().contains("no 'moov' index"));
    }

    #[test]
    fn a_missing_decoder_is_read_from_the_installer_detail() {
        let decoder = MissingDecoder::parse(
            "gstreamer|1.0|onair|H.265 (Main Profile) decoder|decoder-video/x-h265, stream-format=(string)hvc1, profile=(string)main",
        )
        .unwrap();
        assert_eq!(decoder.media_type, "video/x-h265");
        assert!(decoder.is_audio_or_video());
        assert_eq!(
            decoder.detail(),
            "H.265 (Main Profile) decoder: not installed; stream: stream-format=(string)hvc1, profile=(string)main"
        );
        let element =
            MissingDecoder::parse("gstreamer|1.0|onair|Matroska demuxer|element-matroskademux");
        assert_eq!(element, None);
    }

    #[test]
    fn files_that_are_not_mp4_are_left_to_the_probe() {
        assert_eq!(check(b"these are notes, not a video"), Ok(()));
        assert_eq!(check(&[0x47; 376]), Ok(()));
    }
}
