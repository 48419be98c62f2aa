//! Which file of a Linear creative onair transcodes: the Mezzanine when there is one (VAST 4's
//! source meant for server-side transcoding), else the MediaFile closest to what the channel
//! airs, among those we can decode. VPAID, JavaScript and Flash files are skipped: a stitcher
//! cannot run code.

use serde::{Deserialize, Serialize};

use crate::vast::{Linear, MediaFile, Mezzanine};

/// MIME types onair decodes, best first: MP4 first, HLS last (a playlist to fetch whole).
pub const DEFAULT_MIME_TYPES: [&str; 7] = [
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-flv",
    "video/mp2t",
    "application/x-mpegURL",
    "application/vnd.apple.mpegurl",
];

/// Types that carry code, never video.
const CODE_TYPES: [&str; 5] = [
    "application/javascript",
    "application/x-javascript",
    "text/javascript",
    "application/x-shockwave-flash",
    "video/x-shockwave-flash",
];

/// What the channel would like: the size and bitrate of its top rung, and the types it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaPreferences {
    pub width: u32,
    pub height: u32,
    pub bitrate_kbps: u32,
    /// Accepted MIME types, best first (compared without case).
    pub mime_types: Vec<String>,
    /// Take a `<Mezzanine>` over every MediaFile when there is one.
    pub prefer_mezzanine: bool,
}

impl Default for MediaPreferences {
    fn default() -> MediaPreferences {
        MediaPreferences {
            width: 1920,
            height: 1080,
            bitrate_kbps: 6000,
            mime_types: DEFAULT_MIME_TYPES.iter().map(|&t| t.to_owned()).collect(),
            prefer_mezzanine: true,
        }
    }
}

/// The file chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChosenMedia {
    pub url: String,
    pub mime: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub bitrate_kbps: Option<u32>,
    pub mezzanine: bool,
    pub reason: String,
}

/// A file passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedMedia {
    pub url: String,
    pub reason: String,
}

/// The outcome of [`choose`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaChoice {
    /// What to transcode: the mezzanine if preferred and usable, else `best_file`.
    pub chosen: Option<ChosenMedia>,
    /// The best MediaFile, whatever the mezzanine: the fallback when a mezzanine fails.
    pub best_file: Option<ChosenMedia>,
    pub skipped: Vec<SkippedMedia>,
}

/// Chooses among `linear`'s files. `reachable` says why a URL may not be fetched (a private
/// address, not http), or `Ok` when it may.
pub fn choose(
    linear: &Linear,
    preferences: &MediaPreferences,
    reachable: &dyn Fn(&str) -> Result<(), String>,
) -> MediaChoice {
    let mut skipped = Vec::new();
    let mut usable: Vec<(Rank, &MediaFile, String)> = Vec::new();
    for (index, file) in linear.media_files.iter().enumerate() {
        match usable_mime(file, preferences).and_then(|mime| {
            reachable(&file.url)?;
            Ok(mime)
        }) {
            Ok(mime) => usable.push((rank(file, &mime, index, preferences), file, mime)),
            Err(reason) => skipped.push(SkippedMedia {
                url: file.url.clone(),
                reason,
            }),
        }
    }
    usable.sort_by_key(|(rank, _, _)| *rank);
    let n_usable = usable.len();
    let best_file = usable.first().map(|(_, file, mime)| ChosenMedia {
        url: file.url.clone(),
        mime: Some(mime.clone()),
        width: file.width,
        height: file.height,
        bitrate_kbps: file.bitrate_kbps.or_else(|| middle_bitrate(file)),
        mezzanine: false,
        reason: format!(
            "{}: the best of {n_usable} usable MediaFile{} for {}x{} at {} kbps (progressive first, then by type, size and bitrate)",
            describe(Some(mime), file.width, file.height, file.bitrate_kbps),
            if n_usable == 1 { "" } else { "s" },
            preferences.width,
            preferences.height,
            preferences.bitrate_kbps
        ),
    });
    let mezzanine = if preferences.prefer_mezzanine {
        usable_mezzanine(&linear.mezzanines, preferences, reachable, &mut skipped)
    } else {
        None
    };
    let chosen = mezzanine.or_else(|| best_file.clone());
    MediaChoice {
        chosen,
        best_file,
        skipped,
    }
}

fn usable_mezzanine(
    mezzanines: &[Mezzanine],
    preferences: &MediaPreferences,
    reachable: &dyn Fn(&str) -> Result<(), String>,
    skipped: &mut Vec<SkippedMedia>,
) -> Option<ChosenMedia> {
    for mezzanine in mezzanines {
        let mime = mezzanine
            .mime
            .clone()
            .or_else(|| mime_from_url(&mezzanine.url));
        let verdict = match &mime {
            Some(mime) if preference_index(mime, preferences).is_none() => Err(format!(
                "Mezzanine of type {mime}, which onair does not decode"
            )),
            _ => reachable(&mezzanine.url),
        };
        match verdict {
            Ok(()) => {
                return Some(ChosenMedia {
                    url: mezzanine.url.clone(),
                    mime: mime.clone(),
                    width: mezzanine.width,
                    height: mezzanine.height,
                    bitrate_kbps: None,
                    mezzanine: true,
                    reason: format!(
                        "the Mezzanine ({}): VAST 4's source file meant for transcoding, preferred to every MediaFile",
                        describe(mime.as_deref(), mezzanine.width, mezzanine.height, None)
                    ),
                });
            }
            Err(reason) => skipped.push(SkippedMedia {
                url: mezzanine.url.clone(),
                reason,
            }),
        }
    }
    None
}

/// The file's MIME type when onair can decode it, or why not.
fn usable_mime(file: &MediaFile, preferences: &MediaPreferences) -> Result<String, String> {
    if file
        .api_framework
        .as_deref()
        .is_some_and(|api| api.trim().eq_ignore_ascii_case("VPAID"))
    {
        return Err("VPAID: interactive code, which a server-side stitcher cannot run".to_owned());
    }
    let mime = file
        .mime
        .clone()
        .or_else(|| mime_from_url(&file.url))
        .ok_or_else(|| "no type, and none to tell from its name".to_owned())?;
    if CODE_TYPES
        .iter()
        .any(|code| code.eq_ignore_ascii_case(mime.trim()))
    {
        return Err(format!(
            "{mime}: JavaScript or Flash, not video a stitcher can use"
        ));
    }
    if preference_index(&mime, preferences).is_none() {
        return Err(format!("{mime} is not a type onair decodes"));
    }
    Ok(mime)
}

/// Ordered lowest first: progressive delivery, the preferred type, the size closest to the
/// target, the bitrate closest, then document order.
type Rank = (u8, usize, u64, u64, usize);

fn rank(file: &MediaFile, mime: &str, index: usize, preferences: &MediaPreferences) -> Rank {
    let progressive = file
        .delivery
        .as_deref()
        .is_none_or(|delivery| delivery.trim().eq_ignore_ascii_case("progressive"));
    let size_distance = match (file.width, file.height) {
        (Some(width), Some(height)) => {
            u64::from(width.abs_diff(preferences.width))
                + u64::from(height.abs_diff(preferences.height))
        }
        _ => u64::MAX / 2,
    };
    let bitrate_distance = match file.bitrate_kbps.or_else(|| middle_bitrate(file)) {
        Some(bitrate) => u64::from(bitrate.abs_diff(preferences.bitrate_kbps)),
        None => u64::MAX / 2,
    };
    (
        u8::from(!progressive),
        preference_index(mime, preferences).unwrap_or(usize::MAX),
        size_distance,
        bitrate_distance,
        index,
    )
}

/// An adaptive file's bitrate: the middle of its range.
fn middle_bitrate(file: &MediaFile) -> Option<u32> {
    match (file.min_bitrate_kbps, file.max_bitrate_kbps) {
        (Some(low), Some(high)) => Some(low / 2 + high / 2),
        _ => None,
    }
}

fn preference_index(mime: &str, preferences: &MediaPreferences) -> Option<usize> {
    let mime = mime.split(';').next().unwrap_or_default().trim();
    preferences
        .mime_types
        .iter()
        .position(|accepted| accepted.eq_ignore_ascii_case(mime))
}

/// A type from a file name, for files that forgot theirs.
fn mime_from_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    let mime = match extension.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "flv" => "video/x-flv",
        "ts" => "video/mp2t",
        "m3u8" => "application/x-mpegURL",
        "js" => "application/javascript",
        "swf" => "application/x-shockwave-flash",
        _ => return None,
    };
    Some(mime.to_owned())
}

/// `video/mp4 1280x720 at 2000 kbps`, with what is known.
fn describe(
    mime: Option<&str>,
    width: Option<u32>,
    height: Option<u32>,
    kbps: Option<u32>,
) -> String {
    let mut text = mime.unwrap_or("untyped").to_owned();
    if let (Some(width), Some(height)) = (width, height) {
        text.push_str(&format!(" {width}x{height}"));
    }
    if let Some(kbps) = kbps {
        text.push_str(&format!(" at {kbps} kbps"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(url: &str, mime: &str, width: u32, height: u32, kbps: u32) -> MediaFile {
        MediaFile {
            url: url.to_owned(),
            delivery: Some("progressive".to_owned()),
            mime: Some(mime.to_owned()),
            width: Some(width),
            height: Some(height),
            bitrate_kbps: Some(kbps),
            ..MediaFile::default()
        }
    }

    fn anywhere(_: &str) -> Result<(), String> {
        Ok(())
    }

    fn linear(files: Vec<MediaFile>) -> Linear {
        Linear {
            media_files: files,
            ..Linear::default()
        }
    }

    #[test]
    fn the_mp4_closest_to_the_target_wins() {
        let choice = choose(
            &linear(vec![
                file("http://a/360.mp4", "video/mp4", 640, 360, 600),
                file("http://a/1080.webm", "video/webm", 1920, 1080, 6000),
                file("http://a/720.mp4", "video/mp4", 1280, 720, 2000),
                file("http://a/480.mp4", "video/mp4", 854, 480, 1000),
            ]),
            &MediaPreferences::default(),
            &anywhere,
        );
        let chosen = choice.chosen.unwrap();
        assert_eq!(chosen.url, "http://a/720.mp4");
        assert!(!chosen.mezzanine);
        assert!(
            chosen.reason.contains("best of 4 usable"),
            "{}",
            chosen.reason
        );
    }

    #[test]
    fn progressive_delivery_beats_streaming_and_hls_comes_last() {
        let mut streaming = file("http://a/s.mp4", "video/mp4", 1920, 1080, 6000);
        streaming.delivery = Some("streaming".to_owned());
        let choice = choose(
            &linear(vec![
                streaming,
                file("http://a/p.m3u8", "application/x-mpegURL", 1920, 1080, 6000),
                file("http://a/p.mov", "video/quicktime", 640, 360, 500),
            ]),
            &MediaPreferences::default(),
            &anywhere,
        );
        assert_eq!(choice.chosen.unwrap().url, "http://a/p.mov");
        let only_hls = choose(
            &linear(vec![file(
                "http://a/p.m3u8",
                "application/x-mpegURL",
                1920,
                1080,
                6000,
            )]),
            &MediaPreferences::default(),
            &anywhere,
        );
        assert_eq!(only_hls.chosen.unwrap().url, "http://a/p.m3u8");
    }

    #[test]
    fn vpaid_javascript_and_flash_are_skipped_with_their_reason() {
        let mut vpaid = file("http://a/v.mp4", "video/mp4", 640, 360, 500);
        vpaid.api_framework = Some("VPAID".to_owned());
        let choice = choose(
            &linear(vec![
                vpaid,
                file("http://a/x.js", "application/javascript", 640, 360, 0),
                file(
                    "http://a/x.swf",
                    "application/x-shockwave-flash",
                    640,
                    360,
                    0,
                ),
                file("http://a/x.ogv", "video/ogg", 640, 360, 0),
            ]),
            &MediaPreferences::default(),
            &anywhere,
        );
        assert_eq!(choice.chosen, None);
        let reasons: Vec<&str> = choice.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(reasons[0].starts_with("VPAID"), "{reasons:?}");
        assert!(reasons[1].contains("JavaScript or Flash"), "{reasons:?}");
        assert!(reasons[2].contains("JavaScript or Flash"), "{reasons:?}");
        assert!(
            reasons[3].contains("not a type onair decodes"),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_mezzanine_is_preferred_and_the_best_file_kept_as_fallback() {
        let mut with_mezzanine =
            linear(vec![file("http://a/720.mp4", "video/mp4", 1280, 720, 2000)]);
        with_mezzanine.mezzanines.push(Mezzanine {
            url: "http://a/master.mp4".to_owned(),
            mime: Some("video/mp4".to_owned()),
            width: Some(1920),
            height: Some(1080),
            codec: None,
        });
        let choice = choose(&with_mezzanine, &MediaPreferences::default(), &anywhere);
        let chosen = choice.chosen.unwrap();
        assert!(chosen.mezzanine);
        assert_eq!(chosen.url, "http://a/master.mp4");
        assert!(chosen.reason.contains("Mezzanine"), "{}", chosen.reason);
        assert_eq!(choice.best_file.unwrap().url, "http://a/720.mp4");

        let files_only = MediaPreferences {
            prefer_mezzanine: false,
            ..MediaPreferences::default()
        };
        let choice = choose(&with_mezzanine, &files_only, &anywhere);
        assert_eq!(choice.chosen.unwrap().url, "http://a/720.mp4");
    }

    #[test]
    fn unreachable_files_are_skipped() {
        let refuse_private = |url: &str| {
            if url.contains("10.0.0.1") {
                Err("10.0.0.1 is a private address".to_owned())
            } else {
                Ok(())
            }
        };
        let choice = choose(
            &linear(vec![
                file("http://10.0.0.1/1080.mp4", "video/mp4", 1920, 1080, 6000),
                file("http://cdn/360.mp4", "video/mp4", 640, 360, 600),
            ]),
            &MediaPreferences::default(),
            &refuse_private,
        );
        assert_eq!(choice.chosen.unwrap().url, "http://cdn/360.mp4");
        assert_eq!(choice.skipped[0].reason, "10.0.0.1 is a private address");
    }

    #[test]
    fn a_file_without_a_type_is_known_by_its_name() {
        let mut untyped = file("http://a/clip.mp4?x=1", "", 640, 360, 600);
        untyped.mime = None;
        let choice = choose(
            &linear(vec![untyped]),
            &MediaPreferences::default(),
            &anywhere,
        );
        assert_eq!(choice.chosen.unwrap().mime.as_deref(), Some("video/mp4"));
    }
}
