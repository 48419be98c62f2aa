//! What the media are: codecs and levels (from CODECS and from probes), frame rate, aspect
//! ratio, audio format, the ladder, measured durations and loudness.

use super::segments::dedup;
use super::{Issue, Limits, Verdict};
use crate::hls::{Variant, seconds};
use crate::observed::Observed;
use crate::report::WhereSeen;

/// The variants of the first multivariant playlist observed (every snapshot renders the same).
fn variants<'a>(observed: &'a Observed<'_>) -> Option<(&'a str, &'a [Variant])> {
    observed
        .multivariants()
        .next()
        .map(|(_, uri, playlist)| (uri, playlist.variants.as_slice()))
}

/// `(profile_idc, level_idc)` of an `avc1.PPCCLL` (or `avc3`) codec string.
pub(crate) fn avc_profile_level(codec: &str) -> Option<(u8, u8)> {
    let hex = codec
        .strip_prefix("avc1.")
        .or_else(|| codec.strip_prefix("avc3."))?;
    if hex.len() != 6 {
        return None;
    }
    let profile = u8::from_str_radix(&hex[0..2], 16).ok()?;
    let level = u8::from_str_radix(&hex[4..6], 16).ok()?;
    Some((profile, level))
}

fn codecs_of(variant: &Variant) -> Vec<&str> {
    variant
        .codecs
        .as_deref()
        .map(|codecs| codecs.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

/// `3.1` → 31.
fn level_idc(text: &str) -> Option<u8> {
    let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
    Some(major.parse::<u8>().ok()? * 10 + minor.parse::<u8>().ok()?)
}

fn level_text(level: u8) -> String {
    format!("{}.{}", level / 10, level % 10)
}

fn profile_idc_name(profile: u8) -> &'static str {
    match profile {
        66 => "baseline",
        77 => "main",
        88 => "extended",
        100 => "high",
        110 => "high10",
        122 => "high422",
        244 => "high444",
        _ => "other",
    }
}

pub(crate) fn video_codec(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let listed = variants(observed);
    let probes = &observed.observation.probes;
    if listed.is_none() && probes.iter().all(|probe| probe.video.is_none()) {
        return Err("no multivariant playlist and no video probe".to_owned());
    }
    let minimum = limits.min_h264_level.unwrap_or(0);
    let fix = format!(
        "Encode H.264 at level {} or higher (a ladder rung's h264_level_idc ≥ {minimum}).",
        level_text(minimum)
    );
    let mut issues = Vec::new();
    if let Some((uri, variants)) = listed {
        for variant in variants {
            let codecs = codecs_of(variant);
            match codecs
                .iter()
                .find_map(|codec| avc_profile_level(codec).map(|parsed| (codec, parsed)))
            {
                None => issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!(
                        "the variant {} is not H.264 (CODECS {:?}).",
                        variant.uri,
                        variant.codecs.as_deref().unwrap_or("")
                    ),
                    "Encode the video as H.264 and say so in CODECS (avc1.PPCCLL).",
                )),
                Some((codec, (_, level))) if level < minimum => issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!(
                        "the variant {} is H.264 level {} ({codec}), below {}.",
                        variant.uri,
                        level_text(level),
                        level_text(minimum)
                    ),
                    fix.clone(),
                )),
                Some(_) => {}
            }
        }
    }
    for probe in probes {
        let Some(video) = &probe.video else { continue };
        let at = WhereSeen::segment(&probe.playlist, &probe.segment);
        if video.codec != "h264" {
            issues.push(Issue::new(
                at,
                format!("the video is {}, not H.264.", video.codec),
                "Encode the video as H.264.",
            ));
            continue;
        }
        if let Some(level) = video.level.as_deref().and_then(level_idc)
            && level < minimum
        {
            issues.push(Issue::new(
                at,
                format!(
                    "the video is H.264 level {}, below {}.",
                    level_text(level),
                    level_text(minimum)
                ),
                fix.clone(),
            ));
        }
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn frame_rate(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let allowed = limits.frame_rates;
    let names: Vec<String> = allowed.iter().map(|rate| format!("{rate}")).collect();
    let fits = |rate: f64| allowed.iter().any(|allowed| (allowed - rate).abs() < 0.01);
    let mut issues = Vec::new();
    let mut any = false;
    if let Some((uri, variants)) = variants(observed) {
        for variant in variants {
            let Some(rate) = variant.frame_rate else {
                continue;
            };
            any = true;
            if !fits(rate) {
                issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!(
                        "the variant {} runs at {rate} fps, not {}.",
                        variant.uri,
                        names.join(" or ")
                    ),
                    format!(
                        "Encode at {} fps (the ladder's frame rate).",
                        names.join(" or ")
                    ),
                ));
            }
        }
    }
    for probe in &observed.observation.probes {
        let Some(video) = &probe.video else { continue };
        let (num, den) = video.frame_rate;
        if den == 0 {
            continue;
        }
        any = true;
        let rate = f64::from(num) / f64::from(den);
        if !fits(rate) {
            issues.push(Issue::new(
                WhereSeen::segment(&probe.playlist, &probe.segment),
                format!(
                    "the video runs at {num}/{den} fps, not {}.",
                    names.join(" or ")
                ),
                format!("Encode at {} fps.", names.join(" or ")),
            ));
        }
    }
    if !any {
        return Err("no FRAME-RATE attribute and no video probe".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

fn is_16_9(width: u32, height: u32) -> bool {
    let ratio = f64::from(width) / f64::from(height.max(1));
    (ratio / (16.0 / 9.0) - 1.0).abs() < 0.01
}

pub(crate) fn aspect_ratio(observed: &Observed<'_>, _: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut any = false;
    if let Some((uri, variants)) = variants(observed) {
        for variant in variants {
            let Some((width, height)) = variant.resolution else {
                continue;
            };
            any = true;
            if !is_16_9(width, height) {
                issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!("the variant {} is {width}x{height}, not 16:9.", variant.uri),
                    "Encode every rung at 16:9 (e.g. 1280x720, 640x360).",
                ));
            }
        }
    }
    for probe in &observed.observation.probes {
        let Some(video) = &probe.video else { continue };
        any = true;
        if !is_16_9(video.width, video.height) {
            issues.push(Issue::new(
                WhereSeen::segment(&probe.playlist, &probe.segment),
                format!("the video is {}x{}, not 16:9.", video.width, video.height),
                "Encode every rung at 16:9.",
            ));
        }
    }
    if !any {
        return Err("no RESOLUTION attribute and no video probe".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn audio(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut any = false;
    let wanted = format!(
        "AAC-LC, {} channels at {} Hz{}",
        limits.audio_channels,
        limits.audio_sample_rate,
        limits
            .audio_bitrate
            .map(|bitrate| format!(", {} kbit/s", bitrate / 1000))
            .unwrap_or_default()
    );
    let fix = format!("Encode the audio as {wanted} (the ladder's audio settings).");
    if let Some((uri, variants)) = variants(observed) {
        for variant in variants {
            let codecs = codecs_of(variant);
            let Some(audio) = codecs.iter().find(|codec| {
                codec.starts_with("mp4a") || codec.starts_with("ac-3") || codec.starts_with("ec-3")
            }) else {
                continue;
            };
            any = true;
            if *audio != "mp4a.40.2" {
                issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!(
                        "the variant {} carries {audio}, not AAC-LC (mp4a.40.2).",
                        variant.uri
                    ),
                    fix.clone(),
                ));
            }
        }
    }
    for probe in &observed.observation.probes {
        let Some(audio) = &probe.audio else { continue };
        any = true;
        let mut wrong = Vec::new();
        let lc = audio
            .profile
            .as_deref()
            .is_none_or(|profile| profile.eq_ignore_ascii_case("lc"));
        if audio.codec != "aac" || !lc {
            wrong.push(
                format!("{} {}", audio.codec, audio.profile.as_deref().unwrap_or(""))
                    .trim()
                    .to_owned(),
            );
        }
        if audio.channels != limits.audio_channels {
            wrong.push(format!("{} channel(s)", audio.channels));
        }
        if audio.sample_rate != limits.audio_sample_rate {
            wrong.push(format!("{} Hz", audio.sample_rate));
        }
        if let (Some(expected), Some(bitrate)) = (limits.audio_bitrate, audio.bitrate)
            && (f64::from(bitrate) / f64::from(expected) - 1.0).abs() > 0.1
        {
            wrong.push(format!("{} kbit/s", bitrate / 1000));
        }
        if !wrong.is_empty() {
            issues.push(Issue::new(
                WhereSeen::segment(&probe.playlist, &probe.segment),
                format!("the audio is {}, not {wanted}.", wrong.join(", ")),
                fix.clone(),
            ));
        }
    }
    if !any {
        return Err("no audio codec in CODECS and no audio probe".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn ladder(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let Some((uri, variants)) = variants(observed) else {
        return Err("no multivariant playlist was observed".to_owned());
    };
    let kbps = |variant: &Variant| variant.bandwidth.unwrap_or(0) / 1000;
    let height = |variant: &Variant| variant.resolution.map(|(_, height)| height);
    let steps: Vec<String> = limits
        .ladder
        .iter()
        .map(|step| match step.max_kbps {
            Some(max) => format!("{}p at {}–{} kbit/s", step.height, step.min_kbps, max),
            None => format!("{}p at {} kbit/s or more", step.height, step.min_kbps),
        })
        .collect();
    let fix = format!("Give the channel a ladder with {}.", steps.join(", "));
    let mut issues = Vec::new();
    let mut present = 0;
    for step in limits.ladder {
        let same_height: Vec<&Variant> = variants
            .iter()
            .filter(|variant| height(variant) == Some(step.height))
            .collect();
        present += usize::from(!same_height.is_empty());
        let in_range = |variant: &&Variant| {
            kbps(variant) >= step.min_kbps && step.max_kbps.is_none_or(|max| kbps(variant) <= max)
        };
        if limits.ladder_all_required && !same_height.iter().any(in_range) {
            let had = same_height
                .iter()
                .map(|variant| format!("{} kbit/s", kbps(variant)))
                .collect::<Vec<_>>();
            issues.push(Issue::new(
                WhereSeen::playlist(uri),
                if had.is_empty() {
                    format!(
                        "no {}p variant (at least {} kbit/s).",
                        step.height, step.min_kbps
                    )
                } else {
                    format!(
                        "the {}p variant has {}, below {} kbit/s.",
                        step.height,
                        had.join(", "),
                        step.min_kbps
                    )
                },
                fix.clone(),
            ));
        }
        if !limits.ladder_all_required {
            for variant in same_height.iter().filter(|variant| !in_range(variant)) {
                issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!(
                        "the {}p variant {} has {} kbit/s, outside {}.",
                        step.height,
                        variant.uri,
                        kbps(variant),
                        steps[limits
                            .ladder
                            .iter()
                            .position(|other| other == step)
                            .unwrap_or(0)]
                    ),
                    fix.clone(),
                ));
            }
        }
    }
    if !limits.ladder_all_required && present == 0 {
        let heights: Vec<String> = variants
            .iter()
            .filter_map(height)
            .map(|height| format!("{height}p"))
            .collect();
        issues.push(Issue::new(
            WhereSeen::playlist(uri),
            format!(
                "no variant of {} (the ladder has {}).",
                steps.join(" or "),
                heights.join(", ")
            ),
            fix,
        ));
    }
    Ok(issues)
}

pub(crate) fn codecs_match_media(observed: &Observed<'_>, _: &Limits) -> Verdict {
    let probes: Vec<_> = observed
        .observation
        .probes
        .iter()
        .filter(|probe| probe.video.is_some())
        .collect();
    if probes.is_empty() {
        return Err("no video probe to compare CODECS with".to_owned());
    }
    let Some((uri, variants)) = variants(observed) else {
        return Err("no multivariant playlist was observed".to_owned());
    };
    let mut issues = Vec::new();
    for probe in probes {
        let video = probe.video.as_ref().expect("filtered");
        let Some(variant) = variants
            .iter()
            .find(|variant| variant.uri == probe.playlist)
        else {
            continue;
        };
        let Some((profile, level)) = codecs_of(variant)
            .iter()
            .find_map(|codec| avc_profile_level(codec))
        else {
            continue;
        };
        let probed_level = video.level.as_deref().and_then(level_idc);
        let probed_profile = video
            .profile
            .as_deref()
            .map(|name| name.trim_start_matches("constrained-"));
        let mut wrong = Vec::new();
        if probed_level.is_some_and(|probed| probed > level) {
            wrong.push(format!(
                "level {} in the media, {} in CODECS",
                level_text(probed_level.unwrap_or(0)),
                level_text(level)
            ));
        }
        if let Some(name) = probed_profile
            && name != profile_idc_name(profile)
        {
            wrong.push(format!(
                "profile {name} in the media, {} in CODECS",
                profile_idc_name(profile)
            ));
        }
        if !wrong.is_empty() {
            issues.push(Issue::new(
                WhereSeen::segment(&probe.playlist, &probe.segment),
                format!("{} ({uri} says {}).", wrong.join("; "), variant.codecs.as_deref().unwrap_or("")),
                "Say in CODECS the profile and level the encoder writes (or encode at the ladder's).",
            ));
        }
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn duration_measured(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut any = false;
    for probe in &observed.observation.probes {
        let Some(measured) = probe.duration else {
            continue;
        };
        let Some(listed) = observed
            .renditions
            .iter()
            .filter(|rendition| rendition.uri == probe.playlist)
            .flat_map(|rendition| rendition.segments.iter())
            .find(|(_, seen)| seen.segment.uri == probe.segment)
        else {
            continue;
        };
        any = true;
        let (sequence, seen) = listed;
        if (measured.0 - seen.segment.duration.0).abs() > limits.duration_tolerance.0 {
            issues.push(Issue::new(
                WhereSeen::sequence(&probe.playlist, *sequence),
                format!(
                    "the segment measures {} s but EXTINF says {} s.",
                    seconds(measured),
                    seconds(seen.segment.duration)
                ),
                "List each segment with its real duration (players drift and stall otherwise).",
            ));
        }
    }
    if !any {
        return Err("no probed segment with a measured duration".to_owned());
    }
    Ok(issues)
}

pub(crate) fn loudness(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let measures = &observed.observation.loudness;
    if measures.is_empty() {
        return Err("no loudness was measured".to_owned());
    }
    let (target, tolerance, peak, name) = limits.loudness;
    let mut issues = Vec::new();
    for measure in measures {
        let at = WhereSeen::other(format!(
            "{} ({} s measured)",
            measure.what,
            seconds(measure.span)
        ));
        if (measure.integrated_lufs - target).abs() > tolerance {
            issues.push(Issue::new(
                at.clone(),
                format!(
                    "integrated loudness {:.1} LUFS, outside {name}'s {target} LUFS ±{tolerance} LU.",
                    measure.integrated_lufs
                ),
                format!("Normalise the audio to {target} LUFS (the ladder's loudness target, {name})."),
            ));
        }
        if measure.true_peak_dbtp > peak {
            issues.push(Issue::new(
                at,
                format!(
                    "true peak {:.1} dBTP, above {peak} dBTP.",
                    measure.true_peak_dbtp
                ),
                format!("Limit true peaks to {peak} dBTP."),
            ));
        }
    }
    Ok(issues)
}
