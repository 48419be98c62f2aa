//! Writing a CMAF track from its muxer's output: the header to `init.mp4`, each fragment to its
//! own `.m4s`, with the fragment's timing for the checks against the MPEG-TS cuts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer_app as gst_app;

/// One fragment as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fragment {
    /// Running time of the fragment's earliest presentation, in nanoseconds.
    pub start: Option<u64>,
    /// As the muxer declares it, in nanoseconds.
    pub duration: Option<u64>,
    pub size: u64,
}

/// What the writer of one rendition has produced so far.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub init_size: Option<u64>,
    pub fragments: Vec<Fragment>,
}

pub(crate) const INIT_NAME: &str = "init.mp4";

pub(crate) fn fragment_name(index: usize) -> String {
    format!("{index:05}.m4s")
}

/// Makes `sink` write the muxer's output into `dir`, and returns what it wrote, shared.
pub(crate) fn write_into(sink: &gst_app::AppSink, dir: PathBuf) -> Arc<Mutex<Written>> {
    let written = Arc::new(Mutex::new(Written::default()));
    let state = written.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let mut written = state.lock().expect("the CMAF writer is not poisoned");
                match store(&sample, &dir, &mut written) {
                    Ok(()) => Ok(gst::FlowSuccess::Ok),
                    Err(error) => {
                        gst::element_error!(sink, gst::ResourceError::Write, ("{error}"));
                        Err(gst::FlowError::Error)
                    }
                }
            })
            .build(),
    );
    written
}

/// A CMAF muxer's output sample: its header (init segment) if it starts with one, and the rest.
pub(crate) fn header_and_fragment(
    sample: &gst::Sample,
) -> (Option<&gst::BufferRef>, Vec<&gst::BufferRef>) {
    let mut buffers: Vec<&gst::BufferRef> = match (sample.buffer_list(), sample.buffer()) {
        (Some(list), _) => list.iter().collect(),
        (None, Some(buffer)) => vec![buffer],
        (None, None) => return (None, Vec::new()),
    };
    let header = gst::BufferFlags::DISCONT | gst::BufferFlags::HEADER;
    let init = buffers
        .first()
        .is_some_and(|first| first.flags().contains(header))
        .then(|| buffers.remove(0));
    (init, buffers)
}

fn store(sample: &gst::Sample, dir: &Path, written: &mut Written) -> Result<(), String> {
    let (init, buffers) = header_and_fragment(sample);
    if let Some(init) = init {
        // With header-update-mode=none the muxer sends its header once; keep the first.
        if written.init_size.is_none() {
            let path = dir.join(INIT_NAME);
            written.init_size = Some(write_all(&path, &[init])?);
        }
    }
    let Some(first) = buffers.first() else {
        return Ok(());
    };
    if !first.flags().contains(gst::BufferFlags::HEADER) {
        return Err(format!(
            "fragment {} does not start with its header",
            written.fragments.len()
        ));
    }
    let start = first.pts().and_then(|pts| {
        let segment = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
        segment.to_running_time(pts).map(|at| at.nseconds())
    });
    let duration = first.duration().map(|duration| duration.nseconds());
    let path = dir.join(fragment_name(written.fragments.len()));
    let size = write_all(&path, &buffers)?;
    written.fragments.push(Fragment {
        start,
        duration,
        size,
    });
    Ok(())
}

fn write_all(path: &Path, buffers: &[&gst::BufferRef]) -> Result<u64, String> {
    let fail = |error: std::io::Error| format!("writing {}: {error}", path.display());
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    let mut size = 0u64;
    for buffer in buffers {
        let map = buffer
            .map_readable()
            .map_err(|_| format!("reading a buffer for {}", path.display()))?;
        file.write_all(&map).map_err(fail)?;
        size += map.len() as u64;
    }
    file.flush().map_err(fail)?;
    Ok(size)
}
