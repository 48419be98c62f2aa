//! A test-side reader of LL-HLS media playlists that checks the rules the writer follows, from
//! the text alone (no Rust parser reads LL-HLS): the header's LL-HLS tags and their bounds,
//! parts before their parent segment and named after it, part durations within PART-TARGET and
//! adding up to EXTINF, parts only within three target durations of the end, the preload hint
//! after the last part, EXT-X-MAP and PROGRAM-DATE-TIME where a run starts.

/// What a valid playlist says about where it ends, to compare with the reports of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Checked {
    pub media_sequence: u64,
    pub complete_segments: usize,
    /// The last part's (msn, index), or the last segment's msn without parts.
    pub last: Option<(u64, Option<u32>)>,
    /// (URI, LAST-MSN, LAST-PART) of each EXT-X-RENDITION-REPORT.
    pub reports: Vec<(String, u64, Option<u32>)>,
    pub preload_hint: Option<String>,
}

#[derive(Debug, Default)]
struct Part {
    uri: String,
    millis: i64,
}

fn attributes(list: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut current, mut quoted) = (String::new(), false);
    for c in list.chars().chain(std::iter::once(',')) {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                let (key, value) = current.split_once('=').unwrap_or((&current, ""));
                out.push((key.to_owned(), value.to_owned()));
                current.clear();
            }
            c => current.push(c),
        }
    }
    out
}

fn attribute<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a str> {
    list.iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

fn millis(seconds: &str) -> i64 {
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
    let fraction = format!("{fraction:0<3}");
    whole.parse::<i64>().expect("seconds") * 1000 + fraction[..3].parse::<i64>().expect("millis")
}

/// `{name}.{index}.m4s` to (name, index).
fn part_name(uri: &str) -> Option<(&str, u32)> {
    let stem = uri.strip_suffix(".m4s")?;
    let (name, index) = stem.rsplit_once('.')?;
    Some((name, index.parse().ok()?))
}

/// Checks `text`; `Err` lists every rule it breaks.
pub(super) fn validate(text: &str) -> Result<Checked, Vec<String>> {
    let mut problems = Vec::new();
    let mut lines = text.lines().peekable();
    if lines.next() != Some("#EXTM3U") {
        problems.push("does not start with #EXTM3U".to_owned());
    }
    let (mut target_ms, mut part_target_ms) = (None, None);
    let (mut hold_back_ms, mut part_hold_back_ms, mut can_block) = (None, None, false);
    let mut media_sequence = None;
    let mut pending: Vec<Part> = Vec::new();
    // (end in ms from the playlist's start, had parts) of each complete segment.
    let mut segments: Vec<(i64, bool)> = Vec::new();
    let mut elapsed = 0;
    let (mut run_starts, mut has_map, mut has_date) = (true, false, false);
    let mut extinf: Option<i64> = None;
    let mut preload_hint: Option<String> = None;
    let mut reports = Vec::new();
    let mut last_complete_parts: Option<u32> = None;
    for line in lines {
        if preload_hint.is_some()
            && (line.starts_with("#EXT-X-PART:") || line.starts_with("#EXTINF"))
        {
            problems.push(format!("{line:?} after the preload hint"));
        }
        if let Some(value) = line.strip_prefix("#EXT-X-VERSION:") {
            if value.parse::<u32>().map_or(true, |version| version < 6) {
                problems.push(format!("version {value} is below 6 (EXT-X-MAP)"));
            }
        } else if let Some(value) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            target_ms = value.parse::<i64>().ok().map(|secs| secs * 1000);
        } else if let Some(list) = line.strip_prefix("#EXT-X-SERVER-CONTROL:") {
            let list = attributes(list);
            can_block = attribute(&list, "CAN-BLOCK-RELOAD") == Some("YES");
            hold_back_ms = attribute(&list, "HOLD-BACK").map(millis);
            part_hold_back_ms = attribute(&list, "PART-HOLD-BACK").map(millis);
        } else if let Some(list) = line.strip_prefix("#EXT-X-PART-INF:") {
            part_target_ms = attribute(&attributes(list), "PART-TARGET").map(millis);
        } else if let Some(value) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            media_sequence = value.parse::<u64>().ok();
        } else if line == "#EXT-X-DISCONTINUITY" {
            (run_starts, has_map, has_date) = (true, false, false);
        } else if line.starts_with("#EXT-X-MAP:") {
            has_map = true;
        } else if line.starts_with("#EXT-X-PROGRAM-DATE-TIME:") {
            has_date = true;
        } else if let Some(list) = line.strip_prefix("#EXT-X-PART:") {
            let list = attributes(list);
            let part = Part {
                uri: attribute(&list, "URI").unwrap_or_default().to_owned(),
                millis: attribute(&list, "DURATION").map_or(0, millis),
            };
            if pending.is_empty() && run_starts && !(has_map && has_date) {
                problems.push(format!("{} starts a run without MAP and date", part.uri));
            }
            if part_target_ms.is_some_and(|target| part.millis > target) {
                problems.push(format!("{} is longer than PART-TARGET", part.uri));
            }
            match (
                part_name(&part.uri),
                pending.last().and_then(|p| part_name(&p.uri)),
            ) {
                (None, _) => problems.push(format!("{} is not named name.index.m4s", part.uri)),
                (Some((name, index)), Some((previous, previous_index)))
                    if name != previous || index != previous_index + 1 =>
                {
                    problems.push(format!(
                        "{} does not follow {previous}.{previous_index}",
                        part.uri
                    ))
                }
                _ => {}
            }
            pending.push(part);
        } else if let Some(value) = line.strip_prefix("#EXTINF:") {
            let seconds = value.trim_end_matches(',');
            extinf = Some(millis(seconds));
            if run_starts && pending.is_empty() && !(has_map && has_date) {
                problems.push(format!(
                    "segment {} starts a run without MAP and date",
                    segments.len()
                ));
            }
        } else if let Some(list) = line.strip_prefix("#EXT-X-PRELOAD-HINT:") {
            let list = attributes(list);
            if preload_hint.is_some() {
                problems.push("two preload hints".to_owned());
            }
            if attribute(&list, "TYPE") != Some("PART") {
                problems.push("a preload hint not of TYPE=PART".to_owned());
            }
            preload_hint = attribute(&list, "URI").map(str::to_owned);
        } else if let Some(list) = line.strip_prefix("#EXT-X-RENDITION-REPORT:") {
            let list = attributes(list);
            reports.push((
                attribute(&list, "URI").unwrap_or_default().to_owned(),
                attribute(&list, "LAST-MSN")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(u64::MAX),
                attribute(&list, "LAST-PART").and_then(|v| v.parse().ok()),
            ));
        } else if !line.starts_with('#') && !line.is_empty() {
            let Some(duration) = extinf.take() else {
                problems.push(format!("{line} has no EXTINF"));
                continue;
            };
            if target_ms.is_some_and(|target| (duration + 500) / 1000 * 1000 > target) {
                problems.push(format!("{line}: EXTINF rounds above the target duration"));
            }
            let name = line.strip_suffix(".m4s").unwrap_or(line);
            if let Some(part) = pending
                .iter()
                .find(|part| part_name(&part.uri).is_none_or(|(n, _)| n != name))
            {
                problems.push(format!(
                    "{} is listed before {line}, not its parent",
                    part.uri
                ));
            }
            let parts: i64 = pending.iter().map(|part| part.millis).sum();
            if !pending.is_empty() && (parts - duration).abs() > pending.len() as i64 {
                problems.push(format!(
                    "the parts of {line} add up to {parts} ms, EXTINF {duration}"
                ));
            }
            last_complete_parts = pending
                .last()
                .and_then(|p| part_name(&p.uri))
                .map(|(_, i)| i);
            elapsed += duration;
            segments.push((elapsed, !pending.is_empty()));
            pending.clear();
            (run_starts, has_map, has_date) = (false, false, false);
        }
    }
    let (Some(target), Some(part_target)) = (target_ms, part_target_ms) else {
        problems.push("no EXT-X-TARGETDURATION or EXT-X-PART-INF".to_owned());
        return Err(problems);
    };
    if !can_block {
        problems.push("no CAN-BLOCK-RELOAD=YES".to_owned());
    }
    if part_hold_back_ms.is_none_or(|hold| hold < 3 * part_target) {
        problems.push("PART-HOLD-BACK is under three part targets".to_owned());
    }
    if hold_back_ms.is_some_and(|hold| hold < 3 * target) {
        problems.push("HOLD-BACK is under three target durations".to_owned());
    }
    let end = elapsed + pending.iter().map(|part| part.millis).sum::<i64>();
    for (index, (segment_end, had_parts)) in segments.iter().enumerate() {
        if *had_parts && end - segment_end > 3 * target {
            problems.push(format!(
                "segment {index} lists parts older than three target durations"
            ));
        }
    }
    if let (Some(hint), Some(last)) = (&preload_hint, pending.last())
        && let (Some((hint_name, hint_index)), Some((name, index))) =
            (part_name(hint), part_name(&last.uri))
        && !(hint_name == name && hint_index == index + 1)
        && hint_index != 0
    {
        problems.push(format!(
            "the hint {hint} is neither the next part nor a first part"
        ));
    }
    let Some(media_sequence) = media_sequence else {
        problems.push("no EXT-X-MEDIA-SEQUENCE".to_owned());
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let complete = segments.len() as u64;
    let last = match pending.last().and_then(|part| part_name(&part.uri)) {
        Some((_, index)) => Some((media_sequence + complete, Some(index))),
        None if complete > 0 => Some((media_sequence + complete - 1, last_complete_parts)),
        None => None,
    };
    Ok(Checked {
        media_sequence,
        complete_segments: segments.len(),
        last,
        reports,
        preload_hint,
    })
}
