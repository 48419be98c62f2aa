//! VAST 2.0–4.3 documents: the XML (read with serde and quick-xml) and the typed model the
//! resolver works on.
//!
//! Parsing is lenient where real ad servers are sloppy (booleans written `1`, `True`,
//! ` true `; URLs wrapped in whitespace around their CDATA; numbers that are not numbers) and
//! strict where the answer would be wrong (a root that is not `VAST`, a version we do not
//! speak). Only what a server-side stitcher uses is modelled: companions, icons, verification
//! and extensions are skipped.

use serde::Deserialize;

use crate::errors::ErrorCode;

/// A parsed VAST response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vast {
    pub version: Option<String>,
    pub ads: Vec<Ad>,
    /// `<VAST><Error>`: called when the response has no ad.
    pub error_urls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ad {
    pub id: Option<String>,
    /// Its place in the pod; `None` for a stand-alone (buffet) ad.
    pub sequence: Option<u32>,
    pub body: AdBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AdBody {
    InLine(InLine),
    Wrapper(Wrapper),
    /// An `<Ad>` with neither: a schema error.
    Neither,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InLine {
    pub ad_system: Option<String>,
    pub title: Option<String>,
    pub ad_serving_id: Option<String>,
    pub impressions: Vec<String>,
    pub error_urls: Vec<String>,
    /// `None` when the InLine has no `<Creatives>` at all.
    pub creatives: Option<Vec<Creative>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wrapper {
    pub ad_system: Option<String>,
    /// `VASTAdTagURI` (or VAST 2's `VASTAdTagURL`), trimmed, relative or absolute.
    pub tag_uri: Option<String>,
    pub follow_additional_wrappers: Option<bool>,
    pub allow_multiple_ads: Option<bool>,
    pub fallback_on_no_ad: Option<bool>,
    pub impressions: Vec<String>,
    pub error_urls: Vec<String>,
    pub creatives: Vec<Creative>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Creative {
    pub id: Option<String>,
    pub ad_id: Option<String>,
    pub sequence: Option<u32>,
    pub universal_ad_id: Option<UniversalAdId>,
    pub linear: Option<Linear>,
}

/// The creative's identity across ad servers (VAST 4): what creatives are cached by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniversalAdId {
    pub registry: String,
    pub value: String,
}

impl UniversalAdId {
    /// `registry:value`, or `None` when either is empty or `unknown` (VAST 4.1 says to write
    /// `unknown` when there is no id: it identifies nothing).
    pub fn key(&self) -> Option<String> {
        let known = |text: &str| !text.is_empty() && !text.eq_ignore_ascii_case("unknown");
        (known(&self.registry) && known(&self.value))
            .then(|| format!("{}:{}", self.registry, self.value))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Linear {
    /// `HH:MM:SS[.mmm]` as written; see [`parse_duration_ms`].
    pub duration: Option<String>,
    pub tracking: Vec<TrackingEvent>,
    pub media_files: Vec<MediaFile>,
    pub mezzanines: Vec<Mezzanine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingEvent {
    pub event: String,
    /// `progress` events say when: `00:00:30.000` or `60%`.
    pub offset: Option<String>,
    pub url: String,
}

impl TrackingEvent {
    /// The name events are merged under: the event, or `progress@<offset>` for a progress
    /// event, whose offset is what tells them apart.
    pub fn key(&self) -> String {
        match &self.offset {
            Some(offset) if self.event == "progress" => format!("progress@{offset}"),
            _ => self.event.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaFile {
    pub url: String,
    pub id: Option<String>,
    pub delivery: Option<String>,
    pub mime: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub bitrate_kbps: Option<u32>,
    pub min_bitrate_kbps: Option<u32>,
    pub max_bitrate_kbps: Option<u32>,
    pub codec: Option<String>,
    pub api_framework: Option<String>,
}

/// VAST 4's high-quality source file, meant for server-side transcoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mezzanine {
    pub url: String,
    pub mime: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub codec: Option<String>,
}

/// Why a response could not be read as VAST, with the code to fire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
}

impl ParseError {
    fn new(code: ErrorCode, message: impl Into<String>) -> ParseError {
        ParseError {
            code,
            message: message.into(),
        }
    }
}

/// Reads a VAST response: 100 when it is not XML, 101 when its root is not `VAST`, 102 for VAST
/// 1 (`VideoAdServingTemplate`) or a version outside 2–4.
pub fn parse(xml: &str) -> Result<Vast, ParseError> {
    let xml = xml.trim_start_matches('\u{feff}');
    let root = crate::xml::root_element(xml)
        .map_err(|message| ParseError::new(ErrorCode::XmlParse, message))?;
    match root.local_name.as_str() {
        "VAST" => {}
        "VideoAdServingTemplate" => {
            return Err(ParseError::new(
                ErrorCode::VersionNotSupported,
                "VAST 1 (VideoAdServingTemplate) is not supported: VAST 2.0 to 4.3 are",
            ));
        }
        other => {
            return Err(ParseError::new(
                ErrorCode::Schema,
                format!("the root element is <{other}>, not <VAST>"),
            ));
        }
    }
    if let Some(version) = &root.attribute("version")
        && !supported_version(version)
    {
        return Err(ParseError::new(
            ErrorCode::VersionNotSupported,
            format!("VAST version {version:?} is not supported: 2.0 to 4.3 are"),
        ));
    }
    let document: xml::Vast = quick_xml::de::from_str(xml)
        .map_err(|error| ParseError::new(ErrorCode::XmlParse, format!("not VAST XML: {error}")))?;
    Ok(document.into_model())
}

/// Major versions 2, 3 and 4.
fn supported_version(version: &str) -> bool {
    let major = version.trim().split('.').next().unwrap_or_default();
    matches!(major, "2" | "3" | "4")
}

/// A boolean attribute as ad servers write them: `true`/`1`/`TRUE`/` True ` and
/// `false`/`0`; anything else is `None` (the attribute's default applies).
pub fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text == "1" || text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if text == "0" || text.eq_ignore_ascii_case("false") || text.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// `HH:MM:SS`, `HH:MM:SS.mmm` (VAST), and bare seconds (`30`, seen in the wild), in
/// milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let parts: Vec<&str> = text.split(':').collect();
    let (hours, minutes, seconds) = match parts.as_slice() {
        [hours, minutes, seconds] => (
            hours.parse::<u64>().ok()?,
            minutes.parse::<u64>().ok()?,
            *seconds,
        ),
        [seconds] => (0, 0, *seconds),
        _ => return None,
    };
    if minutes >= 60 {
        return None;
    }
    let (whole, fraction) = match seconds.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (seconds, ""),
    };
    if whole.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    if parts.len() == 3 && whole >= 60 {
        return None;
    }
    // Milliseconds from up to three fraction digits; more are below what we count.
    let millis: u64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    Some(((hours * 60 + minutes) * 60 + whole) * 1000 + millis)
}

fn number(text: &Option<String>) -> Option<u32> {
    let text = text.as_deref()?.trim();
    text.parse::<u32>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().map(|value| value as u32))
}

fn clean(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// The serde side: what the XML looks like. Everything optional, attributes as strings
/// interpreted leniently by `into_model`.
mod xml {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub(super) struct Text {
        #[serde(rename = "$text")]
        text: Option<String>,
    }

    impl Text {
        /// The trimmed text, or `None` when empty (`<Impression></Impression>` calls nothing).
        fn value(self) -> Option<String> {
            clean(self.text)
        }
    }

    fn urls(texts: Vec<Text>) -> Vec<String> {
        texts.into_iter().filter_map(Text::value).collect()
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub(super) struct Vast {
        #[serde(rename = "@version")]
        version: Option<String>,
        #[serde(rename = "Ad")]
        ads: Vec<Ad>,
        #[serde(rename = "Error")]
        errors: Vec<Text>,
    }

    impl Vast {
        pub(super) fn into_model(self) -> super::Vast {
            super::Vast {
                version: clean(self.version),
                ads: self.ads.into_iter().map(Ad::into_model).collect(),
                error_urls: urls(self.errors),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Ad {
        #[serde(rename = "@id")]
        id: Option<String>,
        #[serde(rename = "@sequence")]
        sequence: Option<String>,
        #[serde(rename = "InLine")]
        inline: Option<InLine>,
        #[serde(rename = "Wrapper")]
        wrapper: Option<Wrapper>,
    }

    impl Ad {
        fn into_model(self) -> super::Ad {
            let body = match (self.inline, self.wrapper) {
                (Some(inline), _) => AdBody::InLine(inline.into_model()),
                (None, Some(wrapper)) => AdBody::Wrapper(wrapper.into_model()),
                (None, None) => AdBody::Neither,
            };
            super::Ad {
                id: clean(self.id),
                sequence: number(&self.sequence),
                body,
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct InLine {
        #[serde(rename = "AdSystem")]
        ad_system: Option<Text>,
        #[serde(rename = "AdTitle")]
        title: Option<Text>,
        #[serde(rename = "AdServingId")]
        ad_serving_id: Option<Text>,
        #[serde(rename = "Impression")]
        impressions: Vec<Text>,
        #[serde(rename = "Error")]
        errors: Vec<Text>,
        #[serde(rename = "Creatives")]
        creatives: Option<Creatives>,
    }

    impl InLine {
        fn into_model(self) -> super::InLine {
            super::InLine {
                ad_system: self.ad_system.and_then(Text::value),
                title: self.title.and_then(Text::value),
                ad_serving_id: self.ad_serving_id.and_then(Text::value),
                impressions: urls(self.impressions),
                error_urls: urls(self.errors),
                creatives: self.creatives.map(Creatives::into_model),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Wrapper {
        #[serde(rename = "@followAdditionalWrappers")]
        follow_additional_wrappers: Option<String>,
        #[serde(rename = "@allowMultipleAds")]
        allow_multiple_ads: Option<String>,
        #[serde(rename = "@fallbackOnNoAd")]
        fallback_on_no_ad: Option<String>,
        #[serde(rename = "AdSystem")]
        ad_system: Option<Text>,
        #[serde(rename = "VASTAdTagURI")]
        tag_uri: Option<Text>,
        /// VAST 2: `<VASTAdTagURL><URL>…</URL></VASTAdTagURL>`.
        #[serde(rename = "VASTAdTagURL")]
        tag_url: Option<LegacyTagUrl>,
        #[serde(rename = "Impression")]
        impressions: Vec<Text>,
        #[serde(rename = "Error")]
        errors: Vec<Text>,
        #[serde(rename = "Creatives")]
        creatives: Option<Creatives>,
    }

    impl Wrapper {
        fn into_model(self) -> super::Wrapper {
            let flag = |text: Option<String>| text.as_deref().and_then(parse_bool);
            let tag_uri = self
                .tag_uri
                .and_then(Text::value)
                .or_else(|| self.tag_url.and_then(LegacyTagUrl::value));
            super::Wrapper {
                ad_system: self.ad_system.and_then(Text::value),
                tag_uri,
                follow_additional_wrappers: flag(self.follow_additional_wrappers),
                allow_multiple_ads: flag(self.allow_multiple_ads),
                fallback_on_no_ad: flag(self.fallback_on_no_ad),
                impressions: urls(self.impressions),
                error_urls: urls(self.errors),
                creatives: self
                    .creatives
                    .map(Creatives::into_model)
                    .unwrap_or_default(),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct LegacyTagUrl {
        #[serde(rename = "URL")]
        url: Option<Text>,
        #[serde(rename = "$text")]
        text: Option<String>,
    }

    impl LegacyTagUrl {
        fn value(self) -> Option<String> {
            self.url.and_then(Text::value).or_else(|| clean(self.text))
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Creatives {
        #[serde(rename = "Creative")]
        creatives: Vec<Creative>,
    }

    impl Creatives {
        fn into_model(self) -> Vec<super::Creative> {
            self.creatives
                .into_iter()
                .map(Creative::into_model)
                .collect()
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Creative {
        #[serde(rename = "@id")]
        id: Option<String>,
        #[serde(rename = "@adId", alias = "@AdID", alias = "@adID", alias = "@adid")]
        ad_id: Option<String>,
        #[serde(rename = "@sequence")]
        sequence: Option<String>,
        #[serde(rename = "UniversalAdId")]
        universal_ad_ids: Vec<UniversalAdIdXml>,
        #[serde(rename = "Linear")]
        linear: Option<Linear>,
    }

    impl Creative {
        fn into_model(self) -> super::Creative {
            super::Creative {
                id: clean(self.id),
                ad_id: clean(self.ad_id),
                sequence: number(&self.sequence),
                universal_ad_id: self
                    .universal_ad_ids
                    .into_iter()
                    .map(UniversalAdIdXml::into_model)
                    .find(|id| id.key().is_some()),
                linear: self.linear.map(Linear::into_model),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct UniversalAdIdXml {
        #[serde(rename = "@idRegistry")]
        registry: Option<String>,
        /// VAST 4.0 put the value in an attribute; 4.1 moved it to the text.
        #[serde(rename = "@idValue")]
        value_attribute: Option<String>,
        #[serde(rename = "$text")]
        text: Option<String>,
    }

    impl UniversalAdIdXml {
        fn into_model(self) -> UniversalAdId {
            UniversalAdId {
                registry: clean(self.registry).unwrap_or_default(),
                value: clean(self.text)
                    .or_else(|| clean(self.value_attribute))
                    .unwrap_or_default(),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Linear {
        #[serde(rename = "Duration")]
        duration: Option<Text>,
        #[serde(rename = "TrackingEvents")]
        tracking: Option<TrackingEvents>,
        #[serde(rename = "MediaFiles")]
        media_files: Option<MediaFiles>,
    }

    impl Linear {
        fn into_model(self) -> super::Linear {
            let media_files = self.media_files.unwrap_or_default();
            super::Linear {
                duration: self.duration.and_then(Text::value),
                tracking: self
                    .tracking
                    .map(|events| events.events)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(Tracking::into_model)
                    .collect(),
                media_files: media_files
                    .files
                    .into_iter()
                    .filter_map(MediaFileXml::into_model)
                    .collect(),
                mezzanines: media_files
                    .mezzanines
                    .into_iter()
                    .filter_map(MezzanineXml::into_model)
                    .collect(),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct TrackingEvents {
        #[serde(rename = "Tracking")]
        events: Vec<Tracking>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Tracking {
        #[serde(rename = "@event")]
        event: Option<String>,
        #[serde(rename = "@offset")]
        offset: Option<String>,
        #[serde(rename = "$text")]
        text: Option<String>,
    }

    impl Tracking {
        fn into_model(self) -> Option<TrackingEvent> {
            Some(TrackingEvent {
                event: clean(self.event)?,
                offset: clean(self.offset),
                url: clean(self.text)?,
            })
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct MediaFiles {
        #[serde(rename = "MediaFile")]
        files: Vec<MediaFileXml>,
        #[serde(rename = "Mezzanine")]
        mezzanines: Vec<MezzanineXml>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct MediaFileXml {
        #[serde(rename = "@id")]
        id: Option<String>,
        #[serde(rename = "@delivery")]
        delivery: Option<String>,
        #[serde(rename = "@type")]
        mime: Option<String>,
        #[serde(rename = "@width")]
        width: Option<String>,
        #[serde(rename = "@height")]
        height: Option<String>,
        #[serde(rename = "@bitrate")]
        bitrate: Option<String>,
        #[serde(rename = "@minBitrate")]
        min_bitrate: Option<String>,
        #[serde(rename = "@maxBitrate")]
        max_bitrate: Option<String>,
        #[serde(rename = "@codec")]
        codec: Option<String>,
        #[serde(rename = "@apiFramework")]
        api_framework: Option<String>,
        #[serde(rename = "$text")]
        text: Option<String>,
    }

    impl MediaFileXml {
        fn into_model(self) -> Option<MediaFile> {
            Some(MediaFile {
                url: clean(self.text)?,
                id: clean(self.id),
                delivery: clean(self.delivery),
                mime: clean(self.mime),
                width: number(&self.width),
                height: number(&self.height),
                bitrate_kbps: number(&self.bitrate),
                min_bitrate_kbps: number(&self.min_bitrate),
                max_bitrate_kbps: number(&self.max_bitrate),
                codec: clean(self.codec),
                api_framework: clean(self.api_framework),
            })
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct MezzanineXml {
        #[serde(rename = "@type")]
        mime: Option<String>,
        #[serde(rename = "@width")]
        width: Option<String>,
        #[serde(rename = "@height")]
        height: Option<String>,
        #[serde(rename = "@codec")]
        codec: Option<String>,
        #[serde(rename = "$text")]
        text: Option<String>,
    }

    impl MezzanineXml {
        fn into_model(self) -> Option<Mezzanine> {
            Some(Mezzanine {
                url: clean(self.text)?,
                mime: clean(self.mime),
                width: number(&self.width),
                height: number(&self.height),
                codec: clean(self.codec),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_read_the_way_ad_servers_write_them() {
        for (text, expected) in [
            ("true", Some(true)),
            ("1", Some(true)),
            ("TRUE", Some(true)),
            (" True ", Some(true)),
            ("false", Some(false)),
            ("0", Some(false)),
            ("False", Some(false)),
            ("maybe", None),
            ("", None),
        ] {
            assert_eq!(parse_bool(text), expected, "{text:?}");
        }
    }

    #[test]
    fn durations_read_with_milliseconds_and_bare_seconds() {
        for (text, expected) in [
            ("00:00:16", Some(16_000)),
            ("00:01:30.123", Some(90_123)),
            ("01:00:00.5", Some(3_600_500)),
            (" 00:00:30.000 ", Some(30_000)),
            ("30", Some(30_000)),
            ("00:61:00", None),
            ("00:00:75", None),
            ("abc", None),
            ("", None),
            ("00:00", None),
        ] {
            assert_eq!(parse_duration_ms(text), expected, "{text:?}");
        }
    }

    #[test]
    fn universal_ad_ids_that_say_unknown_identify_nothing() {
        let id = |registry: &str, value: &str| UniversalAdId {
            registry: registry.to_owned(),
            value: value.to_owned(),
        };
        assert_eq!(
            id("ad-id.org", "CNPA0484000H").key().as_deref(),
            Some("ad-id.org:CNPA0484000H")
        );
        assert_eq!(id("unknown", "unknown").key(), None);
        assert_eq!(id("ad-id.org", "Unknown").key(), None);
        assert_eq!(id("", "x").key(), None);
    }

    #[test]
    fn interleaved_impressions_and_errors_are_all_kept_and_trimmed() {
        let vast = parse(
            r#"<VAST version="3.0"><Ad id="a"><InLine>
                <Impression><![CDATA[ http://i/1 ]]></Impression>
                <Error>
                    <![CDATA[http://e/1]]>
                </Error>
                <Impression>http://i/2</Impression>
                <Impression></Impression>
                <Error>http://e/2?a=1&amp;b=2</Error>
                <Creatives><Creative><Linear><Duration>00:00:10</Duration></Linear></Creative></Creatives>
            </InLine></Ad></VAST>"#,
        )
        .unwrap();
        let AdBody::InLine(inline) = &vast.ads[0].body else {
            panic!("{vast:?}")
        };
        assert_eq!(inline.impressions, ["http://i/1", "http://i/2"]);
        assert_eq!(inline.error_urls, ["http://e/1", "http://e/2?a=1&b=2"]);
    }

    #[test]
    fn roots_and_versions_decide_the_error_code() {
        for (xml, code) in [
            ("{ vast: null }", ErrorCode::XmlParse),
            ("", ErrorCode::XmlParse),
            ("<VAST version=\"4.0\"><Ad></VAST>", ErrorCode::XmlParse),
            ("<html><body>500</body></html>", ErrorCode::Schema),
            (
                "<VideoAdServingTemplate></VideoAdServingTemplate>",
                ErrorCode::VersionNotSupported,
            ),
            ("<VAST version=\"1.0\"/>", ErrorCode::VersionNotSupported),
            ("<VAST version=\"5.0\"/>", ErrorCode::VersionNotSupported),
        ] {
            assert_eq!(parse(xml).unwrap_err().code, code, "{xml}");
        }
        for version in ["2.0", "3.0", "4.0", "4.1", "4.2", "4.3"] {
            let xml = format!("<VAST version=\"{version}\"></VAST>");
            assert!(parse(&xml).unwrap().ads.is_empty(), "{version}");
        }
    }

    #[test]
    fn a_vast_2_wrapper_names_its_tag_in_vast_ad_tag_url() {
        let vast = parse(
            r#"<VAST version="2.0"><Ad><Wrapper><AdSystem>x</AdSystem>
                <VASTAdTagURL>
                    <URL><![CDATA[ inline.xml ]]></URL>
                </VASTAdTagURL></Wrapper></Ad></VAST>"#,
        )
        .unwrap();
        let AdBody::Wrapper(wrapper) = &vast.ads[0].body else {
            panic!("{vast:?}")
        };
        assert_eq!(wrapper.tag_uri.as_deref(), Some("inline.xml"));
    }
}
