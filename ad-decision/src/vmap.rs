//! VMAP 1.0: a programme's ad breaks, each with where it sits and where its ads come from
//! (a VAST document inline, or an ad tag). onair airs the linear breaks of a VMAP in document
//! order, one per break of the programme.
//!
//! VMAP is namespaced (`vmap:AdBreak`) and carries whole VAST documents inside (with prefixes
//! such as `xsi:` left undeclared), so it is read with quick-xml's event reader by local name,
//! and each `VASTAdData` is kept as its raw text for the VAST parser.

use std::collections::BTreeMap;
use std::time::Instant;

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Serialize;

use crate::resolve::{Hop, HopKind, Resolution, SourceRules, Start, resolve_start};
use crate::vast::{parse_bool, parse_duration_ms};
use crate::xml::{attributes, inner_text, local_name, root_element};
use crate::{AdClient, RequestContext, ResolveOptions};

/// A VMAP document's linear breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vmap {
    pub version: Option<String>,
    /// Where it was fetched from (what relative ad tag URIs are resolved against).
    pub url: Option<String>,
    /// Linear breaks, in document order.
    pub breaks: Vec<AdBreak>,
    /// The request that fetched it.
    pub hop: Option<Hop>,
}

impl Vmap {
    /// The break for the `position`-th break of a programme (0: the first, usually "start"),
    /// in document order; `None` past the last (breaks do not cycle).
    pub fn break_for(&self, position: usize) -> Option<&AdBreak> {
        self.breaks.get(position)
    }
}

/// One `<vmap:AdBreak>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdBreak {
    pub break_id: Option<String>,
    /// As written: `linear`, `linear,nonlinear`, …
    pub break_type: String,
    pub time_offset: TimeOffset,
    pub repeat_after: Option<String>,
    pub source: Option<AdSource>,
    /// `breakStart`, `breakEnd`, `error` → URLs.
    pub tracking: BTreeMap<String, Vec<String>>,
    /// The VMAP's URL: the base of the source's relative URIs.
    pub base_url: Option<String>,
}

/// Where a break sits in the programme.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TimeOffset {
    Start,
    End,
    /// From the programme's start.
    Time {
        ms: u64,
    },
    Percent {
        percent: f64,
    },
    /// `#n`: the n-th break opportunity (from 1).
    Position {
        n: u32,
    },
    /// Something we cannot read, kept as written.
    Unknown {
        text: String,
    },
}

impl TimeOffset {
    /// `start`, `end`, `HH:MM:SS[.mmm]`, `n%` or `#n`.
    pub fn parse(text: &str) -> TimeOffset {
        let text = text.trim();
        if text.eq_ignore_ascii_case("start") {
            return TimeOffset::Start;
        }
        if text.eq_ignore_ascii_case("end") {
            return TimeOffset::End;
        }
        if let Some(percent) = text.strip_suffix('%')
            && let Ok(percent) = percent.trim().parse::<f64>()
        {
            return TimeOffset::Percent { percent };
        }
        if let Some(n) = text.strip_prefix('#')
            && let Ok(n) = n.trim().parse::<u32>()
        {
            return TimeOffset::Position { n };
        }
        if text.contains(':')
            && let Some(ms) = parse_duration_ms(text)
        {
            return TimeOffset::Time { ms };
        }
        TimeOffset::Unknown {
            text: text.to_owned(),
        }
    }
}

/// A break's `<vmap:AdSource>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdSource {
    pub id: Option<String>,
    /// Whether the source may return a pod (default true).
    pub allow_multiple_ads: Option<bool>,
    /// Whether wrappers may be followed (default true).
    pub follow_redirects: Option<bool>,
    pub content: AdSourceContent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AdSourceContent {
    /// A VAST document inline, as written.
    VastAdData { xml: String },
    /// An ad tag to request.
    AdTagUri {
        url: String,
        template_type: Option<String>,
    },
    /// Another format: not resolved.
    CustomAdData { template_type: Option<String> },
}

/// Why a VMAP could not be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct VmapError {
    pub message: String,
    /// The request, when one was made (boxed: an error stays small).
    pub hop: Option<Box<Hop>>,
}

impl VmapError {
    fn new(message: impl Into<String>) -> VmapError {
        VmapError {
            message: message.into(),
            hop: None,
        }
    }
}

/// Reads a VMAP document; `base_url` is where it came from. Non-linear breaks are left out.
pub fn parse(xml: &str, base_url: Option<&str>) -> Result<Vmap, VmapError> {
    let xml = xml.trim_start_matches('\u{feff}');
    let root = root_element(xml).map_err(VmapError::new)?;
    if root.local_name != "VMAP" {
        return Err(VmapError::new(format!(
            "not VMAP: the root element is <{}>, not <vmap:VMAP>",
            root.local_name
        )));
    }
    let mut reader = Reader::from_str(xml);
    let mut breaks = Vec::new();
    let mut current: Option<AdBreak> = None;
    let mut source: Option<(Option<String>, Option<bool>, Option<bool>)> = None;
    let broken = |error: quick_xml::Error| VmapError::new(format!("not VMAP XML: {error}"));
    loop {
        let event = reader.read_event().map_err(broken)?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) if local_name(start) == "AdBreak" => {
                let attributes = attributes(start);
                let get = |name: &str| {
                    attributes
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.clone())
                };
                current = Some(AdBreak {
                    break_id: get("breakId"),
                    break_type: get("breakType").unwrap_or_default(),
                    time_offset: TimeOffset::parse(&get("timeOffset").unwrap_or_default()),
                    repeat_after: get("repeatAfter"),
                    source: None,
                    tracking: BTreeMap::new(),
                    base_url: base_url.map(str::to_owned),
                });
                // A self-closing break has no end tag to close it.
                if matches!(event, Event::Empty(_))
                    && let Some(ad_break) = current.take()
                    && is_linear(&ad_break.break_type)
                {
                    breaks.push(ad_break);
                }
            }
            Event::Start(start) => {
                let name = local_name(&start);
                let attributes = attributes(&start);
                let get = |name: &str| {
                    attributes
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.clone())
                };
                match name.as_str() {
                    "AdSource" => {
                        source = Some((
                            get("id"),
                            get("allowMultipleAds").as_deref().and_then(parse_bool),
                            get("followRedirects").as_deref().and_then(parse_bool),
                        ));
                    }
                    "VASTAdData" | "VASTData" | "AdTagURI" | "CustomAdData" => {
                        let span = reader.read_to_end(start.name()).map_err(broken)?;
                        let raw = &xml[span.start as usize..span.end as usize];
                        let content = match name.as_str() {
                            "AdTagURI" => AdSourceContent::AdTagUri {
                                url: inner_text(raw),
                                template_type: get("templateType"),
                            },
                            "CustomAdData" => AdSourceContent::CustomAdData {
                                template_type: get("templateType"),
                            },
                            _ => AdSourceContent::VastAdData {
                                xml: raw.trim().to_owned(),
                            },
                        };
                        if let (Some(ad_break), Some((id, allow_multiple, follow))) =
                            (current.as_mut(), source.as_ref())
                        {
                            ad_break.source = Some(AdSource {
                                id: id.clone(),
                                allow_multiple_ads: *allow_multiple,
                                follow_redirects: *follow,
                                content,
                            });
                        }
                    }
                    "Tracking" => {
                        let event = get("event");
                        let span = reader.read_to_end(start.name()).map_err(broken)?;
                        let url = inner_text(&xml[span.start as usize..span.end as usize]);
                        if let (Some(ad_break), Some(event)) = (current.as_mut(), event)
                            && !url.is_empty()
                        {
                            ad_break.tracking.entry(event).or_default().push(url);
                        }
                    }
                    "Extensions" => {
                        reader.read_to_end(start.name()).map_err(broken)?;
                    }
                    _ => {}
                }
            }
            Event::End(end) => {
                let name = end.local_name();
                let name: &str = name.as_ref();
                match name {
                    "AdBreak" => {
                        if let Some(ad_break) = current.take()
                            && is_linear(&ad_break.break_type)
                        {
                            breaks.push(ad_break);
                        }
                    }
                    "AdSource" => source = None,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(Vmap {
        version: root.attribute("version"),
        url: base_url.map(str::to_owned),
        breaks,
        hop: None,
    })
}

/// `linear` among the break's types (`linear,nonlinear` counts; a missing type is taken as
/// linear, VMAP's main use).
fn is_linear(break_type: &str) -> bool {
    break_type.trim().is_empty()
        || break_type
            .split(',')
            .any(|kind| kind.trim().eq_ignore_ascii_case("linear"))
}

/// Fetches a VMAP (within `options`' size limit and budget, with the device's headers) and
/// returns its linear breaks.
pub async fn fetch_vmap(
    client: &AdClient,
    vmap_url: &str,
    ctx: &RequestContext,
    options: &ResolveOptions,
) -> Result<Vmap, VmapError> {
    let url = crate::macros::expand(vmap_url.trim(), &ctx.macro_values());
    let mut hop = Hop::new(&url, 0, HopKind::Vmap);
    let started = Instant::now();
    let fetched = onair_net::get_limited(
        client.net(),
        &url,
        &ctx.headers(),
        options.max_response_bytes,
        started + options.budget,
    )
    .await;
    hop.millis = started.elapsed().as_millis() as u64;
    let fetched = match fetched {
        Ok(fetched) => fetched,
        Err(error) => {
            hop.status = error.status();
            hop.error = Some(error.to_string());
            return Err(VmapError {
                message: error.to_string(),
                hop: Some(Box::new(hop)),
            });
        }
    };
    hop.status = Some(fetched.status);
    hop.bytes = Some(fetched.body.len());
    if fetched.final_url.as_str() != url {
        hop.final_url = Some(fetched.final_url.to_string());
    }
    let text = String::from_utf8_lossy(&fetched.body);
    match parse(&text, Some(fetched.final_url.as_str())) {
        Ok(mut vmap) => {
            vmap.url = Some(url);
            vmap.hop = Some(hop);
            Ok(vmap)
        }
        Err(error) => {
            hop.error = Some(error.message.clone());
            Err(VmapError {
                message: error.message,
                hop: Some(Box::new(hop)),
            })
        }
    }
}

/// Resolves a break's AdSource (inline VAST or an ad tag) through the same wrapper logic as
/// [`crate::resolve_vast`], honouring the source's `followRedirects` and `allowMultipleAds`.
pub async fn resolve_vmap_break(
    client: &AdClient,
    ad_break: &AdBreak,
    ctx: &RequestContext,
    options: &ResolveOptions,
) -> Resolution {
    let base_url = ad_break.base_url.clone().unwrap_or_default();
    let Some(source) = &ad_break.source else {
        return no_source(&base_url, "the break has no AdSource");
    };
    let rules = SourceRules {
        follow_wrappers: source.follow_redirects.unwrap_or(true),
        allow_multiple_ads: source.allow_multiple_ads.unwrap_or(true),
    };
    let start = match &source.content {
        AdSourceContent::VastAdData { xml } => Start::Document {
            xml: xml.clone(),
            base_url,
        },
        AdSourceContent::AdTagUri { url, .. } => {
            let absolute = reqwest::Url::parse(&base_url)
                .and_then(|base| base.join(url))
                .map(|joined| joined.to_string())
                .unwrap_or_else(|_| url.clone());
            Start::Tag(absolute)
        }
        AdSourceContent::CustomAdData { template_type } => {
            return no_source(
                &base_url,
                &format!(
                    "the break's ads are CustomAdData ({}), which onair does not read",
                    template_type.as_deref().unwrap_or("no templateType")
                ),
            );
        }
    };
    resolve_start(client, start, ctx, options, rules).await
}

/// A resolution of a break that names nothing to resolve.
fn no_source(base_url: &str, message: &str) -> Resolution {
    Resolution {
        tag_url: base_url.to_owned(),
        hops: Vec::new(),
        ads: Vec::new(),
        rejected: Vec::new(),
        errors: vec![crate::ErrorFiring {
            code: crate::ErrorCode::NoAdsAfterWrapper.code(),
            urls: Vec::new(),
            ad_id: None,
            tag_url: Some(base_url.to_owned()),
            message: message.to_owned(),
        }],
        elapsed_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_offsets_read_every_vmap_form() {
        for (text, expected) in [
            ("start", TimeOffset::Start),
            ("END", TimeOffset::End),
            ("00:10:23.125", TimeOffset::Time { ms: 623_125 }),
            ("25%", TimeOffset::Percent { percent: 25.0 }),
            ("#2", TimeOffset::Position { n: 2 }),
            (
                "soon",
                TimeOffset::Unknown {
                    text: "soon".to_owned(),
                },
            ),
        ] {
            assert_eq!(TimeOffset::parse(text), expected, "{text}");
        }
    }

    #[test]
    fn only_linear_breaks_are_kept() {
        let vmap = parse(
            r##"<vmap:VMAP xmlns:vmap="http://www.iab.net/vmap-1.0" version="1.0">
                <vmap:AdBreak breakType="nonlinear" timeOffset="start"/>
                <vmap:AdBreak breakType="linear,nonlinear" breakId="b" timeOffset="#1">
                  <vmap:AdSource><vmap:AdTagURI templateType="vast3"><![CDATA[ https://a/t ]]></vmap:AdTagURI></vmap:AdSource>
                </vmap:AdBreak>
                <vmap:AdBreak breakType="display" timeOffset="end"/>
            </vmap:VMAP>"##,
            None,
        )
        .unwrap();
        assert_eq!(vmap.breaks.len(), 1);
        assert_eq!(vmap.breaks[0].break_id.as_deref(), Some("b"));
        assert_eq!(
            vmap.breaks[0].source.as_ref().unwrap().content,
            AdSourceContent::AdTagUri {
                url: "https://a/t".to_owned(),
                template_type: Some("vast3".to_owned()),
            }
        );
    }
}
