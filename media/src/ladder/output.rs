//! What the ladder pipeline wrote, checked: segment boundaries recorded as they open, every
//! track cut at the same instants (audio at the nearest AAC frame), and the renditions listed.

use super::*;

/// Keeps each splitmuxsink's `splitmuxsink-fragment-opened` messages: (location, running time).
pub(super) fn record_fragment(
    message: &gst::Message,
    opened: &mut [Vec<(String, u64)>],
) -> Result<(), MediaError> {
    let Some(structure) = message.structure() else {
        return Ok(());
    };
    if structure.name() != "splitmuxsink-fragment-opened" {
        return Ok(());
    }
    let Some(index) = message
        .src()
        .and_then(|src| {
            src.name()
                .strip_prefix("ts-")
                .and_then(|index| index.parse::<usize>().ok())
        })
        .filter(|index| *index < opened.len())
    else {
        return Ok(());
    };
    let location = structure.get::<String>("location").unwrap_or_default();
    let running_time = structure
        .get::<u64>("running-time")
        .map_err(|error| MediaError::gst("reading a segment boundary", error))?;
    opened[index].push((location, running_time));
    Ok(())
}

/// The samples in one AAC-LC frame.
pub(super) const AAC_FRAME_SAMPLES: u64 = 1024;

/// How far, in nanoseconds, a CMAF video track's end may be from the encoder's last frame's end
/// and still be the same instant (rounding of frame durations to the nanosecond).
pub(super) const END_ROUNDING: u64 = 1_000;

/// Checks the cuts and lists the renditions.
pub(super) fn collect(
    ladder: &Ladder,
    tracks: &[AudioTrack],
    out: &Layout,
    taps: &Taps,
    opened: &[Vec<(String, u64)>],
) -> Result<EncodedAsset, String> {
    let mut ts_cuts = Vec::new();
    for ((rung, opened), encoded) in ladder.rungs.iter().zip(opened).zip(&taps.encoded) {
        let encoded = encoded.lock().expect("trace");
        let label = format!("{} ts", rung.name);
        let end = encoded
            .end
            .ok_or_else(|| format!("{label}: the encoder produced no frame"))?;
        let mut boundaries: Vec<u64> = opened.iter().map(|(_, at)| *at).collect();
        boundaries.push(end);
        let cuts = Cuts {
            label: label.clone(),
            boundaries,
        };
        cuts.check()?;
        for (index, (location, _)) in opened.iter().enumerate() {
            let expected = out
                .dir(&rung.name, Packaging::Ts)
                .join(format!("{index:05}.ts"));
            if Path::new(location) != expected {
                return Err(format!(
                    "{label}: segment {index} was written to {location}, not {}",
                    expected.display()
                ));
            }
        }
        let mut keyframes = encoded.keyframes.clone();
        keyframes.sort_unstable();
        if keyframes != cuts.boundaries[..cuts.boundaries.len() - 1] {
            let starts: Vec<String> = cuts.boundaries[..cuts.boundaries.len() - 1]
                .iter()
                .map(|at| secs(*at))
                .collect();
            let keys: Vec<String> = keyframes.iter().map(|at| secs(*at)).collect();
            return Err(format!(
                "{label}: keyframes at [{}] but segments start at [{}]",
                keys.join(", "),
                starts.join(", ")
            ));
        }
        ts_cuts.push(cuts);
    }
    check_identical(&ts_cuts)?;

    // The CMAF video tracks: one fragment per GOP, at exactly the TS cuts. The muxer ends the
    // last fragment with the last frame's duration as it computes it, which can differ from the
    // encoder's by a nanosecond of rounding (at 30 fps a frame is 33 333 333.3 ns): an end within
    // a microsecond of the video's is the video's.
    let video_end = *ts_cuts[0].boundaries.last().expect("checked cuts");
    let mut all = ts_cuts.clone();
    for (rung, written) in ladder.rungs.iter().zip(&taps.cmaf_video) {
        let mut cuts = fragment_cuts(
            &format!("{} cmaf", rung.name),
            &written.lock().expect("written"),
        )?;
        if let Some(end) = cuts.boundaries.last_mut()
            && end.abs_diff(video_end) <= END_ROUNDING
        {
            *end = video_end;
        }
        cuts.check()?;
        all.push(cuts);
    }
    check_identical(&all)?;

    // The CMAF audio tracks: one fragment per segment, each starting with the AAC frame nearest
    // to the segment's start, and covering the video from its first frame to its last.
    let video = &ts_cuts[0];
    let aac_frame = AAC_FRAME_SAMPLES * 1_000_000_000 / u64::from(ladder.audio_sample_rate);
    for (track, written) in tracks.iter().zip(&taps.cmaf_audio) {
        let cuts = fragment_cuts(
            &format!("{} cmaf-audio", track.name),
            &written.lock().expect("written"),
        )?;
        cuts.check()?;
        check_audio_cuts(video, &cuts, aac_frame)?;
    }

    let durations = video.durations();
    let content_duration = match &taps.padding {
        None => video.total(),
        Some(padding) => {
            let padded = padding
                .padded()
                .ok_or("the video ended before its padding was decided")?;
            check_whole_segments(video, ladder.segment_duration)?;
            let origin = video.boundaries[0];
            Ticks::from_nanos(padded.content_end.saturating_sub(origin) as i64)
        }
    };
    let mut renditions = Vec::new();
    for packaging in [Packaging::Ts, Packaging::Cmaf] {
        for rung in &ladder.rungs {
            let codecs = match packaging {
                Packaging::Ts => rung.codecs(),
                _ => rung.video_codec(),
            };
            renditions.push(rendition(
                &rung.name,
                packaging,
                codecs,
                (rung.width, rung.height),
                out,
                &durations,
            )?);
        }
    }
    for track in tracks {
        renditions.push(rendition(
            &track.name,
            Packaging::CmafAudio,
            AAC_LC_CODEC.to_owned(),
            (0, 0),
            out,
            &durations,
        )?);
    }
    Ok(EncodedAsset {
        duration: video.total(),
        content_duration,
        renditions,
        poster_path: None,
    })
}

/// Where a CMAF track's fragments start, and where the last one ends: each fragment must start
/// where the one before it ends.
pub(super) fn fragment_cuts(label: &str, written: &Written) -> Result<Cuts, String> {
    if written.init_size.is_none() {
        return Err(format!("{label}: no init segment was written"));
    }
    if written.fragments.is_empty() {
        return Err(format!("{label}: no fragment was written"));
    }
    let mut boundaries = Vec::with_capacity(written.fragments.len() + 1);
    for (index, fragment) in written.fragments.iter().enumerate() {
        let start = fragment
            .start
            .ok_or_else(|| format!("{label}: fragment {index} has no timestamp"))?;
        if let Some(end) = boundaries.last().copied()
            && start != end
        {
            return Err(format!(
                "{label}: fragment {index} starts at {} s but the one before ends at {} s",
                secs(start),
                secs(end)
            ));
        }
        let duration = fragment
            .duration
            .ok_or_else(|| format!("{label}: fragment {index} has no duration"))?;
        if boundaries.is_empty() {
            boundaries.push(start);
        }
        boundaries.push(start + duration);
    }
    Ok(Cuts {
        label: label.to_owned(),
        boundaries,
    })
}

/// Fails unless `audio` has as many fragments as `video` has segments, each starting within half
/// an AAC frame of the segment, the first not before the video and the last ending no earlier
/// than half a frame before the video ends, and no later than the encoder's padding allows: the
/// last AAC frame is padded to 1024 samples and the encoder's priming delay (one frame) comes
/// out at the end, so two frames.
pub(super) fn check_audio_cuts(video: &Cuts, audio: &Cuts, aac_frame: u64) -> Result<(), String> {
    let (v, a) = (&video.boundaries, &audio.boundaries);
    if v.len() != a.len() {
        return Err(format!(
            "{} has {} segments but {} has {} fragments",
            video.label,
            v.len() - 1,
            audio.label,
            a.len() - 1
        ));
    }
    let last = v.len() - 1;
    let half = aac_frame / 2 + 1;
    for index in 0..=last {
        let (at_video, at_audio) = (v[index], a[index]);
        let fits = if index == 0 {
            at_audio >= at_video && at_audio - at_video < half
        } else if index == last {
            at_audio + half > at_video && at_audio <= at_video + 2 * aac_frame + 1
        } else {
            at_audio.abs_diff(at_video) < half
        };
        if !fits {
            let what = match index {
                0 => "starts".to_owned(),
                _ if index == last => "ends".to_owned(),
                _ => format!("starts segment {index}"),
            };
            return Err(format!(
                "{} {what} at {} s but {} at {} s, more than an AAC frame's half ({} s) apart",
                video.label,
                secs(at_video),
                audio.label,
                secs(at_audio),
                secs(half)
            ));
        }
    }
    Ok(())
}

/// The rendition written in `name`'s folder for `packaging`, with the video's segment durations.
pub(super) fn rendition(
    name: &str,
    packaging: Packaging,
    codecs: String,
    (width, height): (u32, u32),
    out: &Layout,
    durations: &[Ticks],
) -> Result<Rendition, String> {
    let relative_dir = out.relative(name, packaging);
    let size_of = |relative: &str| -> Result<u64, String> {
        let path = out.root.join(relative);
        let size = std::fs::metadata(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?
            .len();
        if size == 0 {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(size)
    };
    let mut segments = Vec::with_capacity(durations.len());
    for (index, duration) in durations.iter().enumerate() {
        let path = match packaging {
            Packaging::Ts => format!("{relative_dir}/{index:05}.ts"),
            Packaging::Cmaf | Packaging::CmafAudio => {
                format!("{relative_dir}/{}", cmaf::fragment_name(index))
            }
        };
        segments.push(SegmentInfo {
            index: index as u32,
            duration: *duration,
            size_bytes: size_of(&path)?,
            path,
        });
    }
    let extension = packaging.segment_extension();
    let stray = std::fs::read_dir(out.root.join(&relative_dir))
        .map_err(|error| format!("{relative_dir}: {error}"))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .path()
                .extension()
                .is_some_and(|found| found == extension)
        })
        .count();
    if stray != segments.len() {
        return Err(format!(
            "{relative_dir} holds {stray} .{extension} files for {} segments",
            segments.len()
        ));
    }
    let init_path = if packaging.has_init_segment() {
        let init = format!("{relative_dir}/{}", cmaf::INIT_NAME);
        size_of(&init)?;
        Some(init)
    } else {
        None
    };
    let sizes: Vec<(u64, Ticks)> = segments
        .iter()
        .map(|segment| (segment.size_bytes, segment.duration))
        .collect();
    let (peak_bandwidth, average_bandwidth) = bandwidth(&sizes);
    Ok(Rendition {
        rung: name.to_owned(),
        packaging,
        codecs,
        width,
        height,
        peak_bandwidth,
        average_bandwidth,
        init_path,
        segments: segments.into(),
    })
}
