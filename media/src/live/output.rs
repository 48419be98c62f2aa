//! Writing the live segments: the TS stream of each rung split at its key units, the CMAF
//! chunks of each rendition gathered into parts and segments, every file written atomically
//! (a temporary name, then a rename), and a segment reported once all its packagings are written.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use onair_domain::{Ticks, Timestamp};

use super::grid::{Cut, ns_to_ticks};
use super::pipeline::Marks;
use super::{Emit, LiveOutput, LivePart};

/// Writes `chunks` to `path` through a temporary file in the same folder, then renames it.
pub(super) fn write_atomically(path: &Path, chunks: &[&[u8]]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.tmp"));
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
        for chunk in chunks {
            file.write_all(chunk)?;
        }
        file.flush()?;
    }
    std::fs::rename(&temporary, path)
}

/// A segment's CMAF side, written.
#[derive(Debug, Clone)]
pub(super) struct CmafSegment {
    pub path: PathBuf,
    pub init: PathBuf,
    pub media_start: Timestamp,
    pub duration: Ticks,
    pub parts: Vec<LivePart>,
}

#[derive(Debug, Default)]
struct Pending {
    ts: Option<PathBuf>,
    cmaf: Option<CmafSegment>,
}

/// Reports each segment once every packaging of its rendition has written it: TS and CMAF for
/// rungs, CMAF for audio tracks.
pub(super) struct Assembler {
    emit: Arc<Emit>,
    with_ts: HashSet<String>,
    pending: Mutex<HashMap<(String, i64), Pending>>,
}

/// Segments still waiting for their other packaging are forgotten past this many.
const PENDING_KEPT: usize = 256;

impl Assembler {
    pub fn new(emit: Arc<Emit>, with_ts: HashSet<String>) -> Assembler {
        Assembler {
            emit,
            with_ts,
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn emit(&self, part: LiveOutput) {
        (self.emit)(part);
    }

    fn ts_done(&self, rendition: &str, start: Timestamp, path: PathBuf) {
        self.update(rendition, start, |pending| pending.ts = Some(path));
    }

    fn cmaf_done(&self, rendition: &str, start: Timestamp, segment: CmafSegment) {
        self.update(rendition, start, |pending| pending.cmaf = Some(segment));
    }

    fn update(&self, rendition: &str, start: Timestamp, change: impl FnOnce(&mut Pending)) {
        let key = (rendition.to_owned(), start.0);
        let mut pending = self.pending.lock().expect("pending segments");
        let entry = pending.entry(key.clone()).or_default();
        change(entry);
        let needs_ts = self.with_ts.contains(rendition);
        if entry.cmaf.is_none() || (needs_ts && entry.ts.is_none()) {
            if pending.len() > PENDING_KEPT
                && let Some(oldest) = pending.keys().min_by_key(|(_, start)| *start).cloned()
            {
                tracing::warn!(rendition = %oldest.0, start = oldest.1, "a live segment was never completed in every packaging");
                pending.remove(&oldest);
            }
            return;
        }
        let done = pending.remove(&key).expect("just updated");
        drop(pending);
        let cmaf = done.cmaf.expect("checked");
        self.emit(LiveOutput::Segment {
            rendition: rendition.to_owned(),
            start,
            media_start: cmaf.media_start,
            duration: cmaf.duration,
            ts: done.ts,
            cmaf: cmaf.path,
            init: cmaf.init,
            parts: cmaf.parts,
        });
    }
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// The segment a TS writer is filling.
struct OpenTs {
    start: Timestamp,
    bytes: Vec<u8>,
}

/// Splits one rung's MPEG-TS stream (a muxer running for the whole stream) into segment files
/// at the key units the encoder announces: mpegtsmux answers a downstream force-key-unit event
/// with the PAT and PMT again before the keyframe, and passes the event on ahead of them. What
/// comes before the first key unit goes into the first segment.
pub(super) struct TsWriter {
    rendition: String,
    dir: PathBuf,
    marks: Arc<Marks>,
    assembler: Arc<Assembler>,
    next: Option<Timestamp>,
    open: Option<OpenTs>,
    preamble: Vec<u8>,
}

impl TsWriter {
    pub fn attach(
        pad: &gst::Pad,
        rendition: String,
        dir: PathBuf,
        marks: Arc<Marks>,
        assembler: Arc<Assembler>,
    ) -> std::io::Result<()> {
        create_dir(&dir)?;
        let writer = Mutex::new(TsWriter {
            rendition,
            dir,
            marks,
            assembler,
            next: None,
            open: None,
            preamble: Vec::new(),
        });
        pad.add_probe(
            gst::PadProbeType::BUFFER
                | gst::PadProbeType::BUFFER_LIST
                | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, info| {
                let mut writer = writer.lock().expect("TS writer");
                let result = match &info.data {
                    Some(gst::PadProbeData::Event(event)) => writer.event(event),
                    Some(gst::PadProbeData::Buffer(buffer)) => writer.bytes(buffer),
                    Some(gst::PadProbeData::BufferList(list)) => {
                        list.iter().try_for_each(|buffer| writer.bytes(buffer))
                    }
                    _ => Ok(()),
                };
                if let Err(error) = result {
                    let element = pad.parent_element();
                    if let Some(element) = element {
                        gst::element_error!(
                            element,
                            gst::ResourceError::Write,
                            ("writing a live TS segment: {error}")
                        );
                    }
                }
                gst::PadProbeReturn::Ok
            },
        );
        Ok(())
    }

    fn event(&mut self, event: &gst::Event) -> std::io::Result<()> {
        if event.type_() == gst::EventType::Eos {
            return self.close();
        }
        if let Ok(key_unit) = gst_video::DownstreamForceKeyUnitEvent::parse(event)
            && let Some(at) = key_unit.running_time
        {
            match self.marks.at(at.nseconds()) {
                Some(Cut::Segment { start }) => self.next = Some(start),
                _ => {
                    tracing::warn!(rendition = %self.rendition, at = at.nseconds(), "a key unit off the grid")
                }
            }
        }
        Ok(())
    }

    fn bytes(&mut self, buffer: &gst::BufferRef) -> std::io::Result<()> {
        if let Some(start) = self.next.take() {
            self.close()?;
            self.open = Some(OpenTs {
                start,
                bytes: std::mem::take(&mut self.preamble),
            });
        }
        let map = buffer
            .map_readable()
            .map_err(|_| std::io::Error::other("an unreadable TS buffer"))?;
        match self.open.as_mut() {
            Some(open) => open.bytes.extend_from_slice(&map),
            None => self.preamble.extend_from_slice(&map),
        }
        Ok(())
    }

    fn close(&mut self) -> std::io::Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let path = self.dir.join(format!("{}.ts", open.start.0));
        write_atomically(&path, &[&open.bytes])?;
        self.assembler.ts_done(&self.rendition, open.start, path);
        Ok(())
    }
}

/// The CMAF segment a writer is filling.
struct OpenCmaf {
    start: Timestamp,
    media_start: u64,
    bytes: Vec<u8>,
    parts: Vec<LivePart>,
}

/// Writes one rendition's CMAF muxer output: its header to `init-{n}.mp4` (a new `n` when it
/// changes), each chunk as a part file as it comes, each segment (its chunks) when the next one
/// starts or the stream ends.
pub(super) struct CmafWriter {
    rendition: String,
    dir: PathBuf,
    marks: Arc<Marks>,
    audio: bool,
    assembler: Arc<Assembler>,
    header: Option<Vec<u8>>,
    init: Option<PathBuf>,
    inits: u32,
    open: Option<OpenCmaf>,
}

impl CmafWriter {
    pub fn attach(
        sink: &gst_app::AppSink,
        rendition: String,
        dir: PathBuf,
        marks: Arc<Marks>,
        audio: bool,
        assembler: Arc<Assembler>,
    ) -> std::io::Result<()> {
        create_dir(&dir)?;
        let writer = Arc::new(Mutex::new(CmafWriter {
            rendition,
            dir,
            marks,
            audio,
            assembler,
            header: None,
            init: None,
            inits: 0,
            open: None,
        }));
        let at_eos = writer.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let mut writer = writer.lock().expect("CMAF writer");
                    match writer.sample(&sample) {
                        Ok(()) => Ok(gst::FlowSuccess::Ok),
                        Err(error) => {
                            gst::element_error!(
                                sink,
                                gst::ResourceError::Write,
                                ("writing a live CMAF segment: {error}")
                            );
                            Err(gst::FlowError::Error)
                        }
                    }
                })
                .eos(move |sink| {
                    if let Err(error) = at_eos.lock().expect("CMAF writer").close() {
                        gst::element_error!(
                            sink,
                            gst::ResourceError::Write,
                            ("writing a live CMAF segment: {error}")
                        );
                    }
                })
                .build(),
        );
        Ok(())
    }

    fn sample(&mut self, sample: &gst::Sample) -> std::io::Result<()> {
        let (init, buffers) = crate::cmaf::header_and_fragment(sample);
        if let Some(init) = init {
            self.header(init)?;
        }
        let Some(first) = buffers.first() else {
            return Ok(());
        };
        let start = first.pts().and_then(|pts| {
            let segment = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
            segment.to_running_time(pts).map(|at| at.nseconds())
        });
        let duration = Ticks(
            first
                .duration()
                .map_or(0, |duration| ns_to_ticks(duration.nseconds())),
        );
        let mut bytes = Vec::new();
        for buffer in &buffers {
            let map = buffer
                .map_readable()
                .map_err(|_| std::io::Error::other("an unreadable CMAF buffer"))?;
            bytes.extend_from_slice(&map);
        }
        let cut = start.and_then(|start| self.marks.at(start));
        let segment_start = match (cut, self.open.as_ref()) {
            (Some(Cut::Segment { start: name }), _) => Some(name),
            (_, None) => {
                // No cut known for it (nothing should do this): a segment of its own.
                let name = Timestamp(start.map_or(0, ns_to_ticks));
                tracing::warn!(rendition = %self.rendition, ?start, "a CMAF chunk at no cut");
                Some(name)
            }
            _ => None,
        };
        if let Some(name) = segment_start {
            self.close()?;
            self.open = Some(OpenCmaf {
                start: name,
                media_start: start.unwrap_or(0),
                bytes: Vec::new(),
                parts: Vec::new(),
            });
        }
        let open = self.open.as_mut().expect("a segment is open");
        let index = open.parts.len() as u32;
        let path = self.dir.join(format!("{}.{index}.m4s", open.start.0));
        write_atomically(&path, &[&bytes])?;
        let part = LivePart {
            index,
            duration,
            independent: self.audio || index == 0,
            path,
        };
        open.bytes.extend_from_slice(&bytes);
        open.parts.push(part.clone());
        let segment_start = open.start;
        self.assembler.emit(LiveOutput::Part {
            rendition: self.rendition.clone(),
            segment_start,
            part,
        });
        Ok(())
    }

    fn header(&mut self, init: &gst::BufferRef) -> std::io::Result<()> {
        let map = init
            .map_readable()
            .map_err(|_| std::io::Error::other("an unreadable CMAF header"))?;
        if self.header.as_deref() == Some(&map[..]) {
            return Ok(());
        }
        let path = self.dir.join(format!("init-{}.mp4", self.inits));
        write_atomically(&path, &[&map])?;
        self.inits += 1;
        self.header = Some(map.to_vec());
        self.init = Some(path);
        Ok(())
    }

    fn close(&mut self) -> std::io::Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let path = self.dir.join(format!("{}.m4s", open.start.0));
        write_atomically(&path, &[&open.bytes])?;
        let segment = CmafSegment {
            path,
            init: self
                .init
                .clone()
                .unwrap_or_else(|| self.dir.join("init-0.mp4")),
            media_start: Timestamp(ns_to_ticks(open.media_start)),
            duration: open.parts.iter().map(|part| part.duration).sum(),
            parts: open.parts,
        };
        self.assembler
            .cmaf_done(&self.rendition, open.start, segment);
        Ok(())
    }
}
