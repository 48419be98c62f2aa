//! Real players through the running binary: ffmpeg on HLS-TS and HLS-fMP4, GStreamer playbin3 on
//! HLS (TS and fMP4) and DASH. Each plays a stretch of the demo channel that crosses at least two
//! discontinuities (clip boundaries) and reports no error. The fMP4 outputs are strict CMAF: a
//! video track per rung and an audio track per audio bitrate, which players fetch side by side;
//! runs are counted on the video fragments.
//!
//! Each server runs on a virtual clock at normal speed (1.0) that starts a few seconds after a
//! clip boundary the test found first, so each player meets a boundary soon after it starts
//! and the next one shortly after: no test waits on the wall clock for the grid to come round.
//! The boundary is found by asking the binary itself. Its guide says when the programme airing
//! now started, right after an ad break, which airs as slate runs of a few seconds (the demo's
//! programmes last minutes). A server all but frozen at that instant (a clock at a thousandth
//! of real time) lists the last 20 s, and a segment after an EXT-X-DISCONTINUITY starts a run.
//! So the clocks run up to a programme behind the wall clock, and a change to the demo grid that
//! keeps a break before each programme changes nothing here.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{
    Server, demo_data_dir, demo_programme_starts, demo_server_on_clock, get_text,
};
use chrono::{DateTime, Utc};

/// The demo ladder's frame rate and segment duration (`Ladder::demo`).
const FPS: u64 = 25;
const SEGMENT_SECS: u64 = 2;

/// The multivariant playlist of the HLS-fMP4 output.
const FMP4_MULTIVARIANT: &str = "master-fmp4.m3u8";
/// The DASH manifest.
const MPD: &str = "manifest.mpd";

/// The speed of the probing server's clock: a thousandth of real time, so it stays within a
/// millisecond of where it started while it is asked.
const PROBE_SPEED: f64 = 0.001;

/// A run start inside the window a server frozen at `at` lists (the PROGRAM-DATE-TIME of a
/// segment after an EXT-X-DISCONTINUITY): the last but one when there are two or more, so the
/// next boundary is known to follow within the window, else the last.
fn boundary_in_window_at(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (server, _config) = demo_server_on_clock(at, PROBE_SPEED);
    let url = format!("{}/channels/demo/360p/ts.m3u8", server.url);
    let (status, text) = get_text(&url);
    assert_eq!(status, 200, "{url}: {text}");
    let playlist = m3u8_rs::parse_media_playlist_res(text.as_bytes()).expect("a media playlist");
    let mut at_millis = None;
    let mut boundaries = Vec::new();
    for segment in &playlist.segments {
        if let Some(pdt) = segment.program_date_time {
            at_millis = Some(pdt.timestamp_millis());
        }
        let start = at_millis.expect("the first segment has a PROGRAM-DATE-TIME");
        if segment.discontinuity {
            boundaries.push(start);
        }
        at_millis = Some(start + (f64::from(segment.duration) * 1000.0).round() as i64);
    }
    let chosen = match boundaries.len() {
        0 => return None,
        1 => boundaries[0],
        n => boundaries[n - 2],
    };
    Some(DateTime::from_timestamp_millis(chosen).unwrap())
}

/// A clip boundary of the demo channel in the ad break before the programme airing now.
fn recent_boundary() -> DateTime<Utc> {
    let guide = Server::start(&demo_data_dir());
    let programme_start = demo_programme_starts(&guide)[0];
    drop(guide);
    boundary_in_window_at(programme_start)
        .expect("an ad break before each programme: slate runs in the 20 s before it starts")
}

/// A server at normal speed whose clock starts `lead` after a recent clip boundary.
fn server_after_boundary(lead: Duration) -> (Server, tempfile::TempDir) {
    let start = recent_boundary() + chrono::Duration::from_std(lead).unwrap();
    demo_server_on_clock(start, 1.0)
}

/// Fails unless `url` is served.
fn assert_served(url: &str) {
    let (status, body) = get_text(url);
    assert_eq!(status, 200, "{url}: {body}");
}

/// The asset id in a segment URI such as `/media/assets/3/360p/ts/00004.ts`.
fn asset_of(uri: &str) -> Option<&str> {
    let after = uri.split("/media/assets/").nth(1)?;
    after.split('/').next()
}

fn is_init_segment(uri: &str) -> bool {
    uri.rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with("init"))
}

/// A fragment of a CMAF audio track (`…/audio-96k/cmaf-audio/00004.m4s`), fetched beside the
/// video's.
fn is_audio_track(uri: &str) -> bool {
    uri.contains("/cmaf-audio/")
}

/// The index of a segment file such as `…/00004.ts`.
fn segment_index(uri: &str) -> Option<u32> {
    let name = uri.rsplit('/').next()?;
    name.split('.').next()?.parse().ok()
}

/// The media segments among `uris` (video, or video and audio muxed; audio tracks only when
/// there is no video), in order, grouped into runs: a new run starts wherever the asset changes
/// or its segments do not follow on (a run of the same asset again, as the slate runs that
/// fill a demo ad break), which is where the playlist has a discontinuity.
fn runs(uris: &[String]) -> Vec<Vec<&str>> {
    let media: Vec<&String> = uris.iter().filter(|uri| !is_init_segment(uri)).collect();
    let has_video = media.iter().any(|uri| !is_audio_track(uri));
    let mut runs: Vec<Vec<&str>> = Vec::new();
    let mut last: Option<(&str, Option<u32>)> = None;
    for uri in media
        .into_iter()
        .filter(|uri| !(has_video && is_audio_track(uri)))
    {
        let Some(asset) = asset_of(uri) else { continue };
        let index = segment_index(uri);
        let follows = last.is_some_and(|(last_asset, last_index)| {
            last_asset == asset && last_index.zip(index).is_some_and(|(a, b)| b == a + 1)
        });
        if !follows {
            runs.push(Vec::new());
        }
        runs.last_mut().unwrap().push(uri);
        last = Some((asset, index));
    }
    runs
}

fn describe_runs(uris: &[String]) -> String {
    runs(uris)
        .iter()
        .map(|run| format!("asset {} x{}", asset_of(run[0]).unwrap_or("?"), run.len()))
        .collect::<Vec<_>>()
        .join(" | ")
}

// ---------------------------------------------------------------------------------------------
// ffmpeg

struct FfmpegRead {
    status: ExitStatus,
    /// Segment and init files ffmpeg opened, in order.
    opened: Vec<String>,
    /// stderr lines at error level or worse.
    errors: Vec<String>,
    warnings: Vec<String>,
    /// The last `-progress` report.
    frames: u64,
    out_time_us: i64,
    elapsed: Duration,
}

/// ffmpeg reads the media playlist at `url` from the first segment of its window
/// (`-live_start_index 0`) and decodes `seconds` of the streams `maps` selects (`0:v`, `0:a`)
/// to nothing.
fn ffmpeg_read(url: &str, seconds: u64, maps: &[&str]) -> FfmpegRead {
    let started = Instant::now();
    let maps = maps.iter().flat_map(|map| ["-map", map]);
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "level+info"])
        .args(["-live_start_index", "0", "-i", url])
        .args(maps)
        .args(["-t", &seconds.to_string()])
        .args(["-f", "null", "-", "-progress", "pipe:1", "-nostats"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = wait_or_kill(&mut child, Duration::from_secs(120), "ffmpeg");
    let elapsed = started.elapsed();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let mut read = FfmpegRead {
        status,
        opened: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        frames: 0,
        out_time_us: 0,
        elapsed,
    };
    for line in stderr.lines() {
        if ["[error]", "[fatal]", "[panic]"]
            .iter()
            .any(|level| line.contains(level))
        {
            read.errors.push(line.to_owned());
        } else if line.contains("[warning]") {
            read.warnings.push(line.to_owned());
        }
        if let Some(rest) = line.split("Opening '").nth(1)
            && line.contains("/media/")
            && let Some((uri, _)) = rest.split_once('\'')
        {
            read.opened.push(uri.to_owned());
        }
    }
    for line in stdout.lines() {
        if let Some(frames) = line.strip_prefix("frame=") {
            read.frames = frames.trim().parse().unwrap_or(read.frames);
        }
        if let Some(us) = line.strip_prefix("out_time_us=") {
            read.out_time_us = us.trim().parse().unwrap_or(read.out_time_us);
        }
    }
    read
}

/// ffmpeg reads 32 s of `maps` from the start of the window of the media playlist at
/// `playlist_path` (relative to the channel). The clock starts 10 s after a boundary in an ad
/// break, so the window (10 segments, 20 s) begins 10 s before it: the read crosses it, then
/// the next ones (slate runs of 4 s, then the programme), even when ffmpeg starts a few seconds
/// late.
fn ffmpeg_plays(playlist_path: &str, maps: &[&str], test: &str) -> FfmpegRead {
    ffmpeg_plays_losing(playlist_path, maps, 0, test)
}

/// [`ffmpeg_plays`], where ffmpeg is known to skip `seconds_lost_per_discontinuity` of media
/// at every discontinuity it crosses: the decoded time it must reach is less that much.
fn ffmpeg_plays_losing(
    playlist_path: &str,
    maps: &[&str],
    seconds_lost_per_discontinuity: u64,
    test: &str,
) -> FfmpegRead {
    let (server, _config) = server_after_boundary(Duration::from_millis(10_050));
    let url = format!("{}/channels/demo/{playlist_path}", server.url);
    assert_served(&url);
    let read = ffmpeg_read(&url, 32, maps);
    let runs = runs(&read.opened);
    eprintln!(
        "{test}: ffmpeg read {:.1} s of media ({} frames) in {:.1?}: {}",
        read.out_time_us as f64 / 1e6,
        read.frames,
        read.elapsed,
        describe_runs(&read.opened)
    );
    if !read.warnings.is_empty() {
        eprintln!("{test}: ffmpeg warnings:\n{}", read.warnings.join("\n"));
    }
    assert!(
        read.errors.is_empty(),
        "ffmpeg reported errors:\n{}",
        read.errors.join("\n")
    );
    assert!(read.status.success(), "ffmpeg exited with {}", read.status);
    assert!(
        runs.len() >= 3,
        "the read crossed at least two discontinuities: {}",
        describe_runs(&read.opened)
    );
    // 32 s at 25 fps is 800 frames; ffmpeg drops a few where timestamps restart at a boundary.
    let decoded_secs =
        29u64.saturating_sub(seconds_lost_per_discontinuity * (runs.len() as u64 - 1));
    // Where ffmpeg skips media it also ends its read early now and then (30 of 32 s of its
    // clock, with no error): only the frames decoded count then.
    let full_read = seconds_lost_per_discontinuity > 0 || read.out_time_us >= 31_000_000;
    if maps.iter().any(|map| map.starts_with("0:v")) {
        assert!(
            full_read && read.frames >= decoded_secs * FPS,
            "ffmpeg decoded {} frames, {} us, across {} discontinuities",
            read.frames,
            read.out_time_us,
            runs.len() - 1
        );
    } else {
        assert!(
            read.out_time_us >= decoded_secs as i64 * 1_000_000,
            "ffmpeg decoded {} us of audio across {} discontinuities",
            read.out_time_us,
            runs.len() - 1
        );
    }
    read
}

#[test]
fn ffmpeg_reads_hls_ts_across_two_discontinuities() {
    ffmpeg_plays(
        "360p/ts.m3u8",
        &["0:v", "0:a"],
        "ffmpeg_reads_hls_ts_across_two_discontinuities",
    );
}

/// The fMP4 tracks are read one playlist at a time: given the multivariant playlist, ffmpeg
/// 5.1's HLS demuxer reads the video and the audio rendition side by side by their timestamps,
/// which restart after every fMP4 discontinuity; by hand it fetched no more audio after the
/// first one (no error). And at every EXT-X-MAP change it opens the run's first fragment before
/// the run's init segment, then goes on from the second fragment: the first fragment (2 s) of
/// every run after the first is never decoded (showinfo: presentation times jump from 5.96 s to
/// 8 s at the boundary). So each track is read on its own, and 2 s per discontinuity crossed
/// are not counted. ffmpeg also feeds each new init segment into the same MP4 demuxer, which
/// warns "Found duplicated MOOV Atom. Skipped it" at every discontinuity; a warning, not an
/// error.
const FFMPEG_FMP4_SECONDS_LOST_PER_DISCONTINUITY: u64 = SEGMENT_SECS;

#[test]
fn ffmpeg_reads_an_hls_fmp4_video_track_across_two_discontinuities() {
    let read = ffmpeg_plays_losing(
        "360p/fmp4.m3u8",
        &["0:v"],
        FFMPEG_FMP4_SECONDS_LOST_PER_DISCONTINUITY,
        "ffmpeg_reads_an_hls_fmp4_video_track_across_two_discontinuities",
    );
    assert!(
        read.opened.iter().all(|uri| uri.contains("/360p/cmaf/")),
        "{:?}",
        read.opened
    );
}

#[test]
fn ffmpeg_reads_an_hls_fmp4_audio_track_across_two_discontinuities() {
    let read = ffmpeg_plays_losing(
        "audio-96k/fmp4.m3u8",
        &["0:a"],
        FFMPEG_FMP4_SECONDS_LOST_PER_DISCONTINUITY,
        "ffmpeg_reads_an_hls_fmp4_audio_track_across_two_discontinuities",
    );
    assert!(
        read.opened.iter().all(|uri| is_audio_track(uri)),
        "{:?}",
        read.opened
    );
}

// ---------------------------------------------------------------------------------------------
// GStreamer

/// What one run of `gst-launch-1.0 playbin3` showed.
#[derive(Debug, Default)]
struct GstWatch {
    /// The pipeline (playbin3) reached PLAYING.
    playing: bool,
    /// Media and init segments adaptivedemux2 downloaded, in order.
    fragments: Vec<String>,
    /// Decoded video frames that reached the video sink.
    video_frames: u64,
    /// ERROR messages on the bus and ERROR-level log lines.
    errors: Vec<String>,
    /// WARNING messages on the bus.
    warnings: Vec<String>,
    exited: bool,
}

impl GstWatch {
    /// Decoded frames that reach two segments past the second discontinuity downloaded, if two
    /// were downloaded.
    fn frames_past_two_discontinuities(&self) -> Option<u64> {
        let runs = runs(&self.fragments);
        if runs.len() < 3 {
            return None;
        }
        let segments_before_third_run = (runs[0].len() + runs[1].len()) as u64;
        Some((segments_before_third_run + 1) * SEGMENT_SECS * FPS)
    }

    fn done(&self) -> bool {
        self.exited
            || !self.errors.is_empty()
            || (self.playing
                && self
                    .frames_past_two_discontinuities()
                    .is_some_and(|needed| self.video_frames >= needed))
    }
}

/// Plays `uri` with playbin3 into fake sinks that keep the clock (real time), until the video
/// sink has had the frames of two segments past the second discontinuity, an error, or
/// `timeout`. Then interrupts gst-launch as Ctrl-C would; the exit status is `None` when it had
/// to be killed after 15 s more.
fn gst_play(uri: &str, timeout: Duration) -> (GstWatch, Option<ExitStatus>, Duration) {
    let started = Instant::now();
    let mut child = Command::new("gst-launch-1.0")
        .args(["-m", "-v", "playbin3", &format!("uri={uri}")])
        .arg("video-sink=fakesink name=vsink sync=true silent=false")
        .arg("audio-sink=fakesink name=asink sync=true")
        .env("GST_DEBUG", "*:ERROR,adaptivedemux2:DEBUG")
        .env("GST_DEBUG_NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gst-launch-1.0 runs (scripts/install-deps installs gstreamer1.0-tools)");
    let watch = Arc::new(Mutex::new(GstWatch::default()));
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out_watch = Arc::clone(&watch);
    let out_thread = std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line);
            let mut watch = out_watch.lock().unwrap();
            if line.contains("vsink: last-message = chain") {
                watch.video_frames += 1;
            } else if line.contains("from element \"playbin3")
                && line.contains("(state-changed)")
                && line.contains("new-state=(GstState)playing")
            {
                watch.playing = true;
            } else if line.contains("(error): ") || line.starts_with("ERROR") {
                watch.errors.push(line.chars().take(600).collect());
            } else if line.contains("(warning): ") || line.starts_with("WARNING") {
                watch.warnings.push(line.chars().take(600).collect());
            }
        }
    });
    let err_watch = Arc::clone(&watch);
    let err_thread = std::thread::spawn(move || {
        for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line);
            let mut watch = err_watch.lock().unwrap();
            if let Some(rest) = line.split("Downloading fragment uri: ").nth(1) {
                let uri = rest.split([',', ' ']).next().unwrap_or(rest);
                watch.fragments.push(uri.to_owned());
            } else if line.split_whitespace().nth(3) == Some("ERROR") || line.starts_with("ERROR") {
                watch.errors.push(line.chars().take(600).collect());
            }
        }
    });

    let deadline = started + timeout;
    let mut exited = false;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            exited = true;
            break;
        }
        if watch.lock().unwrap().done() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    watch.lock().unwrap().exited = exited;
    let elapsed = started.elapsed();
    if !exited {
        // Ctrl-C: gst-launch stops the pipeline and exits on its own.
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
    }
    let status = wait_a_while(&mut child, Duration::from_secs(15));
    out_thread.join().unwrap();
    err_thread.join().unwrap();
    let watch = Arc::try_unwrap(watch).unwrap().into_inner().unwrap();
    (watch, status, elapsed)
}

fn gst_plays(uri: &str, test: &str) {
    let (watch, status, elapsed) = gst_play(uri, Duration::from_secs(100));
    eprintln!(
        "{test}: playbin3 {} in {elapsed:.1?}: {} video frames; fragments: {}",
        if watch.playing {
            "reached PLAYING"
        } else {
            "never reached PLAYING"
        },
        watch.video_frames,
        describe_runs(&watch.fragments)
    );
    if !watch.warnings.is_empty() {
        eprintln!(
            "{test}: warnings on the bus:\n{}",
            watch.warnings.join("\n")
        );
    }
    assert!(
        watch.errors.is_empty(),
        "GStreamer reported errors:\n{}",
        watch.errors.join("\n")
    );
    assert!(
        !watch.exited,
        "gst-launch-1.0 ended on its own ({status:?}) before playing two discontinuities"
    );
    assert!(watch.playing, "the pipeline reached PLAYING");
    let needed = watch.frames_past_two_discontinuities().unwrap_or_else(|| {
        panic!(
            "two discontinuities were downloaded within {elapsed:.0?}: {}",
            describe_runs(&watch.fragments)
        )
    });
    assert!(
        watch.video_frames >= needed,
        "{} decoded video frames reached the sink, {needed} are two segments past the second discontinuity",
        watch.video_frames
    );
    assert_eq!(
        status.map(|status| status.success()),
        Some(true),
        "gst-launch-1.0 stopped cleanly on Ctrl-C (None: it did not, and was killed 15 s later)"
    );
}

/// The clock starts 4 s after a boundary: playbin3 (hlsdemux2) starts four segments (8 s)
/// behind the live edge, so a few seconds before the boundary.
#[test]
fn gstreamer_playbin3_plays_hls_across_two_discontinuities() {
    let test = "gstreamer_playbin3_plays_hls_across_two_discontinuities";
    let (server, _config) = server_after_boundary(Duration::from_millis(4_050));
    let url = format!("{}/channels/demo/master.m3u8", server.url);
    assert_served(&url);
    gst_plays(&url, test);
}

/// The fMP4 multivariant playlist: hlsdemux2 plays a rung's video track and the audio rendition
/// its variant names, each from its own media playlist.
///
/// Flaky with GStreamer 1.22.0: 3 of 4 runs of this test passed, and by hand 1 of 3 runs
/// played 43 s while 2 stalled after 13 and 25 s ("buffering... 0%", PAUSED for good).
/// GST_DEBUG=hlsdemux2:5,adaptivedemux2:5 shows why. An audio fragment starts at the AAC frame
/// nearest to its segment's start, up to half a frame (10.7 ms at 48 kHz) away from where the
/// playlist's EXTINFs put it; hlsdemux2 re-times the rest of the audio playlist whenever that
/// exceeds its fixed 10 ms tolerance ("difference against expected : -0:00:00.010666667",
/// "Updating current stream time to …"), so the audio's stream times wander from the video's.
/// At each discontinuity the audio's first segment then overwrites the time map the video set
/// for that discontinuity sequence ("DISCONT segment, Updating time map to …"), the video's
/// stream times take the audio's skew (dsn 3686 at 54.010625 s instead of 54 s), and the two
/// tracks drift apart until one runs dry. hls.js plays the same playlists across clip
/// boundaries with their audio (tests/browser/hls.test.mjs).
#[test]
#[ignore = "flaky: GStreamer 1.22 hlsdemux2 re-times audio fragments 10-10.7 ms off the EXTINF grid (its tolerance is 10 ms) and the audio's discontinuity overwrites the video's time map: tracks drift apart and buffering stalls"]
fn gstreamer_playbin3_plays_hls_fmp4_across_two_discontinuities() {
    let test = "gstreamer_playbin3_plays_hls_fmp4_across_two_discontinuities";
    let (server, _config) = server_after_boundary(Duration::from_millis(4_050));
    let url = format!("{}/channels/demo/{FMP4_MULTIVARIANT}", server.url);
    assert_served(&url);
    gst_plays(&url, test);
}

/// On the wall clock: dashdemux2 (GStreamer 1.22) picks the live Period by its local clock
/// before its first UTCTiming (`/time`) answer arrives, so on a virtual clock behind the wall
/// clock it finds none ("Unable to find live period active at …", then "Invalid manifest").
/// It starts at the beginning of the Period airing; two boundaries come within its 100 s only
/// near an ad break (the demo's programmes last two minutes), so it would need to be started
/// near one.
///
/// The "moof with trafs of different track ids" errors of muxed CMAF are gone with the strict
/// tracks, but GStreamer 1.22.0's dashdemux2 still cannot play a live MPD with a Period per run
/// (any Period whose `start` is not zero). Seen with GST_DEBUG=dashdemux2:5,adaptivedemux2:5:
/// - its live seek takes the position on the MPD's timeline for one in the Period: for a Period
///   that starts at 10:01:40 it logs "Actual position 10:01:42" and a demux segment starting at
///   20:03:22 (the Period's start counted twice), then waits at "buffering... 0%" for
///   fragments ten hours ahead and fetches none (3 of 3 runs of 40 s by hand, with a trial
///   build whose media time started at one second so that no `S@t` was 0);
/// - a Period whose first `S@t` is 0 gets its segments placed at the MPD's origin instead of
///   the Period's start (gstmpdclient.c adds the Period start only when `S->t > 0`): stream
///   times of minus the Period start, "Clamping segment and buffer position to 0", and no frame
///   reaches a sink that keeps the clock (the run that got to PLAYING downloaded fragments
///   across four Periods in 100 s and rendered 0 frames);
/// - in some phases of the rotation it finds no Period at all at startup ("Unable to find live
///   period active at …", then "Invalid manifest": 7 of 25 starts in one minute), although the
///   MPD lists the Period airing.
///
/// shaka-player and dash.js play the same MPD across Periods (tests/browser/dash.test.mjs).
#[test]
#[ignore = "GStreamer 1.22 dashdemux2 seeks live multi-Period MPDs on the MPD's timeline, not the Period's: no fragment fetched or no frame rendered"]
fn gstreamer_playbin3_plays_dash_across_two_discontinuities() {
    let test = "gstreamer_playbin3_plays_dash_across_two_discontinuities";
    let server = Server::start(&demo_data_dir());
    let url = format!("{}/channels/demo/{MPD}", server.url);
    assert_served(&url);
    gst_plays(&url, test);
}

// ---------------------------------------------------------------------------------------------
// processes

/// Reads a pipe to the end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The child's exit status, or `None` when it had not exited within `timeout` and was killed.
fn wait_a_while(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn wait_or_kill(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
