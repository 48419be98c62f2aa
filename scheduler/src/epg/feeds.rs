//! The programmes written out: XMLTV ([`xmltv`], with its checks, [`check_channels`]) and the
//! JSON feed ([`json_feed`]).

use super::*;

/// Checks channel ids and that every channel has programmes.
pub fn check_channels(channels: &[EpgChannel]) -> Vec<EpgProblem> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for channel in channels {
        if !is_valid_xmltv_id(&channel.id) {
            problems.push(EpgProblem::InvalidChannelId {
                id: channel.id.clone(),
            });
        }
        if !seen.insert(channel.id.as_str()) {
            problems.push(EpgProblem::DuplicateChannelId {
                id: channel.id.clone(),
            });
        }
        if channel.programmes.is_empty() {
            problems.push(EpgProblem::NoProgrammes {
                id: channel.id.clone(),
            });
        }
    }
    problems
}

/// XMLTV for these channels (one for a per-channel file, all for the combined one), with the
/// problems that would make it fail validation.
pub fn xmltv(channels: &[EpgChannel]) -> (String, Vec<EpgProblem>) {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_xmltv(&mut writer, channels).expect("writing XML to memory cannot fail");
    let mut text = String::from_utf8(writer.into_inner()).expect("quick-xml writes UTF-8");
    text.push('\n');
    (text, check_channels(channels))
}

fn write_xmltv(writer: &mut Writer<Vec<u8>>, channels: &[EpgChannel]) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer.write_event(Event::DocType(BytesText::from_escaped(
        "tv SYSTEM \"xmltv.dtd\"",
    )))?;
    writer
        .create_element("tv")
        .with_attribute(("generator-info-name", "onair"))
        .write_inner_content(|writer| {
            for channel in channels {
                write_channel(writer, channel)?;
            }
            for channel in channels {
                for programme in &channel.programmes {
                    write_programme(writer, channel, programme)?;
                }
            }
            Ok(())
        })?;
    Ok(())
}

fn write_channel(writer: &mut Writer<Vec<u8>>, channel: &EpgChannel) -> io::Result<()> {
    writer
        .create_element("channel")
        .with_attribute(("id", xml_clean(&channel.id).as_str()))
        .write_inner_content(|writer| {
            let name = xml_clean(channel.name());
            let name = if name.is_empty() {
                xml_clean(&channel.id)
            } else {
                name
            };
            writer
                .create_element("display-name")
                .write_text_content(BytesText::new(&name))?;
            if let Some(icon) = non_empty(channel.icon_url.as_deref()) {
                writer
                    .create_element("icon")
                    .with_attribute(("src", icon.as_str()))
                    .write_empty()?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_programme(
    writer: &mut Writer<Vec<u8>>,
    channel: &EpgChannel,
    programme: &EpgProgramme,
) -> io::Result<()> {
    let info = &programme.info;
    writer
        .create_element("programme")
        .with_attribute(("start", xmltv_time(programme.start).as_str()))
        .with_attribute(("stop", xmltv_time(programme.stop).as_str()))
        .with_attribute(("channel", xml_clean(&channel.id).as_str()))
        .write_inner_content(|writer| {
            let title =
                non_empty(Some(channel.title_of(programme))).unwrap_or_else(|| "Untitled".into());
            text_element(writer, "title", &title)?;
            if let Some(sub_title) = non_empty(info.episode_title.as_deref()) {
                text_element(writer, "sub-title", &sub_title)?;
            }
            if let Some(desc) = non_empty(info.description.as_deref()) {
                text_element(writer, "desc", &desc)?;
            }
            for genre in &info.genres {
                if let Some(genre) = non_empty(Some(genre)) {
                    text_element(writer, "category", &genre)?;
                }
            }
            if programme.kind == EpgKind::Live {
                text_element(writer, "keyword", "live")?;
            }
            if let Some(icon) = non_empty(info.artwork_url.as_deref()) {
                writer
                    .create_element("icon")
                    .with_attribute(("src", icon.as_str()))
                    .write_empty()?;
            }
            if let Some(xmltv_ns) = xmltv_ns(info, programme.part) {
                writer
                    .create_element("episode-num")
                    .with_attribute(("system", "xmltv_ns"))
                    .write_text_content(BytesText::new(&xmltv_ns))?;
            }
            if let Some(onscreen) = onscreen(info) {
                writer
                    .create_element("episode-num")
                    .with_attribute(("system", "onscreen"))
                    .write_text_content(BytesText::new(&onscreen))?;
            }
            if let Some(rating) = &info.rating
                && let Some(value) = non_empty(Some(&rating.value))
            {
                let element = writer.create_element("rating");
                let element = match non_empty(rating.system.as_deref()) {
                    Some(system) => element.with_attribute(("system", system.as_str())),
                    None => element,
                };
                element.write_inner_content(|writer| text_element(writer, "value", &value))?;
            }
            Ok(())
        })?;
    Ok(())
}

fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

/// `20261121200000 +0000`.
fn xmltv_time(at: Timestamp) -> String {
    at.to_datetime().format("%Y%m%d%H%M%S +0000").to_string()
}

/// Zero-based `season.episode.part/parts`, each part optional; `None` when all are absent.
pub(super) fn xmltv_ns(info: &ProgrammeInfo, part: Option<(u32, u32)>) -> Option<String> {
    if info.season.is_none() && info.episode.is_none() && part.is_none() {
        return None;
    }
    let zero_based = |n: Option<u32>| {
        n.map(|n| n.saturating_sub(1).to_string())
            .unwrap_or_default()
    };
    let part = part
        .map(|(part, parts)| format!("{}/{parts}", part - 1))
        .unwrap_or_default();
    Some(format!(
        "{}.{}.{part}",
        zero_based(info.season),
        zero_based(info.episode)
    ))
}

/// `S02E05`, `S02` or `E05`.
pub(super) fn onscreen(info: &ProgrammeInfo) -> Option<String> {
    match (info.season, info.episode) {
        (Some(season), Some(episode)) => Some(format!("S{season:02}E{episode:02}")),
        (Some(season), None) => Some(format!("S{season:02}")),
        (None, Some(episode)) => Some(format!("E{episode:02}")),
        (None, None) => None,
    }
}

/// Drops the characters XML 1.0 forbids and trims.
fn xml_clean(text: &str) -> String {
    text.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(xml_clean).filter(|text| !text.is_empty())
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    channels: Vec<JsonChannel<'a>>,
}

#[derive(Serialize)]
struct JsonChannel<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    programs: Vec<JsonProgram<'a>>,
}

#[derive(Serialize)]
struct JsonProgram<'a> {
    start: String,
    end: String,
    duration: i64,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode_title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    season: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    genres: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<&'a Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(rename = "type")]
    kind: EpgKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts: Option<u32>,
}

/// The JSON feed for these channels (shape in the module doc), pretty-printed.
pub fn json_feed(channels: &[EpgChannel]) -> String {
    let seconds = |at: Timestamp| at.0.div_euclid(Ticks::from_secs(1).0);
    let rfc3339 = |at: Timestamp| {
        chrono::DateTime::from_timestamp(seconds(at), 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let feed = JsonFeed {
        channels: channels
            .iter()
            .map(|channel| JsonChannel {
                id: &channel.id,
                name: &channel.display_name,
                icon: channel.icon_url.as_deref().filter(|url| !url.is_empty()),
                programs: channel
                    .programmes
                    .iter()
                    .map(|programme| {
                        let info = &programme.info;
                        JsonProgram {
                            start: rfc3339(programme.start),
                            end: rfc3339(programme.stop),
                            duration: seconds(programme.stop) - seconds(programme.start),
                            title: channel.title_of(programme),
                            episode_title: info.episode_title.as_deref(),
                            season: info.season,
                            episode: info.episode,
                            description: info.description.as_deref(),
                            genres: &info.genres,
                            rating: info.rating.as_ref(),
                            image: info.artwork_url.as_deref(),
                            kind: programme.kind,
                            live_source: programme.live_source.as_deref(),
                            part: programme.part.map(|(part, _)| part),
                            parts: programme.part.map(|(_, parts)| parts),
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&feed).expect("the feed is plain data");
    text.push('\n');
    text
}
