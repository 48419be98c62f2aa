//! From an ad tag to ads: the wrapper chain followed (relative URIs, loops, depth, the
//! wrappers' own rules), tracking merged from every hop, pods assembled with their buffet, and
//! the VAST errors to report, each with every Error URL of the chain concerned.
//!
//! Every request of a decision shares one deadline (the budget); the ads of one response are
//! resolved concurrently. Nothing here panics on what a server sends: each failure becomes a
//! hop's error and an [`ErrorFiring`], and whatever resolved is returned.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::future::{BoxFuture, join_all};
use onair_net::{FetchError, get_limited};
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::errors::{ErrorCode, ErrorFiring};
use crate::macros::{MacroValues, expand};
use crate::media::{self, ChosenMedia, SkippedMedia};
use crate::vast::{self, Ad, AdBody, Creative, InLine, Vast, Wrapper, parse_duration_ms};
use crate::{AdClient, RequestContext, ResolveOptions};

/// What a decision found: every request made, the ads in play order, and the errors to report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// The ad tag as requested (macros expanded), or the VMAP the ads came from.
    pub tag_url: String,
    pub hops: Vec<Hop>,
    /// The pod in `Ad@sequence` order (a failed pod ad replaced by the next buffet ad), then
    /// the remaining buffet (stand-alone) ads, each once.
    pub ads: Vec<ResolvedAd>,
    /// Ads that resolved but cannot air (no usable media file: 403), for the report.
    pub rejected: Vec<ResolvedAd>,
    /// VAST errors to fire, `[ERRORCODE]` already expanded.
    pub errors: Vec<ErrorFiring>,
    pub elapsed_ms: u64,
}

impl Resolution {
    /// The codes of [`Resolution::errors`], in order.
    pub fn error_codes(&self) -> Vec<u16> {
        self.errors.iter().map(|firing| firing.code).collect()
    }
}

/// What a response turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HopKind {
    /// A VAST response that is neither all wrappers nor all inline ads: empty, mixed, or not
    /// had at all.
    Vast,
    /// Wrapper ads only.
    Wrapper,
    /// InLine ads only.
    Inline,
    /// A VMAP document.
    Vmap,
}

/// One request of a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    pub url: String,
    /// Where the response came from when redirects were followed.
    pub final_url: Option<String>,
    pub kind: HopKind,
    /// Wrappers followed to get here: 0 for the ad tag.
    pub depth: u8,
    /// The HTTP status, when a response came.
    pub status: Option<u16>,
    pub millis: u64,
    pub bytes: Option<usize>,
    /// The `Ad@id`s of the response.
    pub ad_ids: Vec<String>,
    /// What went wrong with this response as a whole (an ad's own failure is in
    /// [`Resolution::errors`]).
    pub error: Option<String>,
    pub error_code: Option<u16>,
}

impl Hop {
    pub(crate) fn new(url: &str, depth: u8, kind: HopKind) -> Hop {
        Hop {
            url: url.to_owned(),
            final_url: None,
            kind,
            depth,
            status: None,
            millis: 0,
            bytes: None,
            ad_ids: Vec::new(),
            error: None,
            error_code: None,
        }
    }
}

/// An ad ready to air once its media is transcoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedAd {
    pub ad_id: Option<String>,
    /// Its place in the pod; `None` for a buffet ad.
    pub sequence: Option<u32>,
    /// A stand-alone ad, spare for the caller to replace pod ads that fail later.
    pub buffet: bool,
    /// The pod place this buffet ad took because the pod ad there failed.
    pub replaces_sequence: Option<u32>,
    pub ad_system: Option<String>,
    pub title: Option<String>,
    pub ad_serving_id: Option<String>,
    pub duration_ms: u64,
    /// `registry:value` of the creative's UniversalAdId, when it names one.
    pub universal_ad_id: Option<String>,
    /// What the transcoded creative is cached by: the UniversalAdId, or `url-` and the
    /// SHA-256 of the chosen media URL.
    pub creative_key: String,
    /// What to transcode; `None` when no file is usable (the ad is then in
    /// [`Resolution::rejected`], with 403 recorded).
    pub media: Option<ChosenMedia>,
    /// The best MediaFile, the fallback when a chosen Mezzanine cannot be had.
    pub best_media_file: Option<ChosenMedia>,
    pub skipped_media: Vec<SkippedMedia>,
    /// Impression URLs of every hop, wrappers first (templates).
    pub impressions: Vec<String>,
    /// Event (`start`, `firstQuartile`, `midpoint`, `thirdQuartile`, `complete`,
    /// `progress@<offset>`, …) to URLs of every hop (templates).
    pub tracking: BTreeMap<String, Vec<String>>,
    /// Error URLs of every hop (templates, `[ERRORCODE]` unexpanded).
    pub error_urls: Vec<String>,
    /// The documents from the ad tag to the one holding the InLine.
    pub chain: Vec<String>,
}

impl ResolvedAd {
    /// The values for this ad's URLs: `values` with `[ADSERVINGID]` and `[UNIVERSALADID]`
    /// filled from the ad when not set.
    pub fn macro_values(&self, values: &MacroValues) -> MacroValues {
        let mut values = values.clone();
        if values.ad_serving_id.is_none() {
            values.ad_serving_id = self.ad_serving_id.clone();
        }
        if values.universal_ad_id.is_none() {
            values.universal_ad_id = self.universal_ad_id.clone();
        }
        values
    }

    /// Every Error URL of the chain with `[ERRORCODE]` set to `code` (and the other macros).
    pub fn error_urls_with(&self, code: u16, values: &MacroValues) -> Vec<String> {
        let values = self.macro_values(values).with_error_code(code);
        self.error_urls
            .iter()
            .map(|template| expand(template, &values))
            .collect()
    }

    /// Every Impression URL of the chain, expanded.
    pub fn impression_urls_with(&self, values: &MacroValues) -> Vec<String> {
        let values = self.macro_values(values);
        self.impressions
            .iter()
            .map(|template| expand(template, &values))
            .collect()
    }

    /// The URLs of a tracking event (`start`, `complete`, …) of the chain, expanded.
    pub fn tracking_urls_with(&self, event: &str, values: &MacroValues) -> Vec<String> {
        let values = self.macro_values(values);
        self.tracking
            .get(event)
            .into_iter()
            .flatten()
            .map(|template| expand(template, &values))
            .collect()
    }
}

/// Resolves an ad tag (VAST) to ads: follows wrappers, merges tracking, picks media.
pub async fn resolve_vast(
    client: &AdClient,
    tag_url: &str,
    ctx: &RequestContext,
    options: &ResolveOptions,
) -> Resolution {
    resolve_start(
        client,
        Start::Tag(tag_url.to_owned()),
        ctx,
        options,
        SourceRules::default(),
    )
    .await
}

/// Where a decision starts.
pub(crate) enum Start {
    /// A tag URL template (macros are expanded before it is requested).
    Tag(String),
    /// A VAST document already in hand (a VMAP's `VASTAdData`), its relative URIs resolved
    /// against `base_url`.
    Document { xml: String, base_url: String },
}

/// The rules a VMAP `AdSource` sets for what it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceRules {
    pub follow_wrappers: bool,
    pub allow_multiple_ads: bool,
}

impl Default for SourceRules {
    fn default() -> SourceRules {
        SourceRules {
            follow_wrappers: true,
            allow_multiple_ads: true,
        }
    }
}

pub(crate) async fn resolve_start(
    client: &AdClient,
    start: Start,
    ctx: &RequestContext,
    options: &ResolveOptions,
    rules: SourceRules,
) -> Resolution {
    let started = Instant::now();
    let run = Run {
        client,
        options,
        values: ctx.macro_values(),
        headers: ctx.headers(),
        deadline: started + options.budget,
    };
    let ancestry = Ancestry {
        follow_wrappers: rules.follow_wrappers,
        ..Ancestry::default()
    };
    let (tag_url, mut outcome) = match start {
        Start::Tag(template) => {
            let url = expand(template.trim(), &run.values);
            // Written as a wrapper's joined URI would be, so that a loop back to the tag is seen.
            let url = Url::parse(&url).map(String::from).unwrap_or(url);
            let outcome = run.fetch_document(url.clone(), ancestry).await;
            (url, outcome)
        }
        Start::Document { xml, base_url } => {
            let hop = Hop::new(&base_url, 0, HopKind::Vast);
            let base = Url::parse(&base_url).ok();
            let outcome = run
                .resolve_text(&xml, base, base_url.clone(), hop, ancestry)
                .await;
            // Nothing was requested for a document in hand: its pseudo-hop goes.
            let outcome = Outcome {
                hops: outcome.hops.into_iter().skip(1).collect(),
                ..outcome
            };
            (base_url, outcome)
        }
    };
    if !rules.allow_multiple_ads {
        outcome.ads.truncate(1);
    }
    Resolution {
        tag_url,
        hops: outcome.hops,
        ads: outcome.ads,
        rejected: outcome.rejected,
        errors: outcome.errors,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// One decision in progress: what every request shares.
struct Run<'a> {
    client: &'a AdClient,
    options: &'a ResolveOptions,
    values: MacroValues,
    headers: HeaderMap,
    deadline: Instant,
}

/// What a wrapper chain carries down to the ads it leads to.
#[derive(Debug, Clone, Default)]
struct Ancestry {
    /// Wrappers followed to reach the current document.
    depth: u8,
    /// Documents requested from the ad tag down, the current one included once entered.
    chain: Vec<String>,
    impressions: Vec<String>,
    tracking: BTreeMap<String, Vec<String>>,
    error_urls: Vec<String>,
    /// Cleared by a wrapper's `followAdditionalWrappers="false"`, for everything below it.
    follow_wrappers: bool,
}

/// Ads, hops and errors of part of a decision, in document order.
#[derive(Debug, Default)]
struct Outcome {
    ads: Vec<ResolvedAd>,
    rejected: Vec<ResolvedAd>,
    hops: Vec<Hop>,
    errors: Vec<ErrorFiring>,
}

impl Outcome {
    fn failed(hop: Option<Hop>, firing: ErrorFiring) -> Outcome {
        Outcome {
            hops: hop.into_iter().collect(),
            errors: vec![firing],
            ..Outcome::default()
        }
    }

    fn absorb(&mut self, other: Outcome) {
        self.ads.extend(other.ads);
        self.rejected.extend(other.rejected);
        self.hops.extend(other.hops);
        self.errors.extend(other.errors);
    }
}

/// One `<Ad>`'s outcome, and whether its failure may be made up by a buffet ad.
struct AdOutcome {
    outcome: Outcome,
    /// `fallbackOnNoAd` (true unless a wrapper says otherwise).
    fallback: bool,
}

impl<'a> Run<'a> {
    /// Requests `url` within the budget and resolves what comes back.
    fn fetch_document<'s>(&'s self, url: String, ancestry: Ancestry) -> BoxFuture<'s, Outcome> {
        Box::pin(async move {
            let mut hop = Hop::new(&url, ancestry.depth, HopKind::Vast);
            let started = Instant::now();
            if started >= self.deadline {
                let message = format!(
                    "not requested: the decision's budget of {} ms was spent",
                    self.options.budget.as_millis()
                );
                return self.hop_failed(hop, ErrorCode::WrapperTimeout, message, &ancestry);
            }
            let fetched = get_limited(
                self.client.net(),
                &url,
                &self.headers,
                self.options.max_response_bytes,
                self.deadline,
            )
            .await;
            hop.millis = started.elapsed().as_millis() as u64;
            match fetched {
                Err(error) => {
                    hop.status = error.status();
                    let message = self.describe_fetch_error(&error);
                    tracing::debug!(%url, %message, "ad request failed");
                    self.hop_failed(hop, ErrorCode::WrapperTimeout, message, &ancestry)
                }
                Ok(fetched) => {
                    hop.status = Some(fetched.status);
                    hop.bytes = Some(fetched.body.len());
                    if fetched.final_url.as_str() != url {
                        hop.final_url = Some(fetched.final_url.to_string());
                    }
                    let text = String::from_utf8_lossy(&fetched.body);
                    self.resolve_text(&text, Some(fetched.final_url), url, hop, ancestry)
                        .await
                }
            }
        })
    }

    fn describe_fetch_error(&self, error: &FetchError) -> String {
        match error {
            FetchError::Timeout { .. } => format!(
                "{error} (the decision's budget of {} ms ran out)",
                self.options.budget.as_millis()
            ),
            FetchError::Refused { .. } => format!(
                "{error}; private addresses are not fetched unless the ad client allows them"
            ),
            _ => error.to_string(),
        }
    }

    /// A hop that yields nothing: its error, and a firing to every Error URL above it.
    fn hop_failed(
        &self,
        mut hop: Hop,
        code: ErrorCode,
        message: String,
        ancestry: &Ancestry,
    ) -> Outcome {
        hop.error = Some(message.clone());
        hop.error_code = Some(code.code());
        let firing = self.firing(code, &ancestry.error_urls, None, &hop.url, message);
        Outcome::failed(Some(hop), firing)
    }

    /// Parses a response and resolves its ads (an empty body is a response without ads).
    fn resolve_text<'s>(
        &'s self,
        text: &str,
        base: Option<Url>,
        doc_url: String,
        mut hop: Hop,
        ancestry: Ancestry,
    ) -> BoxFuture<'s, Outcome> {
        let parsed = if text.trim().is_empty() {
            Ok(Vast::default())
        } else {
            vast::parse(text)
        };
        match parsed {
            Err(error) => {
                hop.url = doc_url;
                let message = error.message.clone();
                Box::pin(std::future::ready(
                    self.hop_failed(hop, error.code, message, &ancestry),
                ))
            }
            Ok(document) => self.resolve_document(document, base, doc_url, hop, ancestry),
        }
    }

    fn resolve_document<'s>(
        &'s self,
        document: Vast,
        base: Option<Url>,
        doc_url: String,
        mut hop: Hop,
        mut ancestry: Ancestry,
    ) -> BoxFuture<'s, Outcome> {
        Box::pin(async move {
            hop.kind = kind_of(&document);
            hop.ad_ids = document.ads.iter().filter_map(|ad| ad.id.clone()).collect();
            if document.ads.is_empty() {
                let mut error_urls = ancestry.error_urls.clone();
                error_urls.extend(document.error_urls.iter().cloned());
                hop.error = Some("no ad in the response".to_owned());
                hop.error_code = Some(ErrorCode::NoAdsAfterWrapper.code());
                let firing = self.firing(
                    ErrorCode::NoAdsAfterWrapper,
                    &error_urls,
                    None,
                    &doc_url,
                    "no ad in the response".to_owned(),
                );
                return Outcome::failed(Some(hop), firing);
            }
            ancestry.chain.push(doc_url.clone());
            let resolutions = document
                .ads
                .iter()
                .map(|ad| self.resolve_ad(ad, base.as_ref(), &doc_url, &ancestry));
            let outcomes = join_all(resolutions).await;
            let mut outcome = Outcome {
                hops: vec![hop],
                ..Outcome::default()
            };
            outcome.absorb(assemble(&document.ads, outcomes));
            outcome
        })
    }

    fn resolve_ad<'s>(
        &'s self,
        ad: &'s Ad,
        base: Option<&'s Url>,
        doc_url: &'s str,
        ancestry: &'s Ancestry,
    ) -> BoxFuture<'s, AdOutcome> {
        Box::pin(async move {
            match &ad.body {
                AdBody::InLine(inline) => AdOutcome {
                    outcome: self.resolve_inline(ad, inline, doc_url, ancestry),
                    fallback: true,
                },
                AdBody::Wrapper(wrapper) => {
                    self.resolve_wrapper(ad, wrapper, base, doc_url, ancestry)
                        .await
                }
                AdBody::Neither => AdOutcome {
                    outcome: Outcome::failed(
                        None,
                        self.firing(
                            ErrorCode::Schema,
                            &ancestry.error_urls,
                            ad.id.as_ref(),
                            doc_url,
                            "an Ad with neither InLine nor Wrapper".to_owned(),
                        ),
                    ),
                    fallback: true,
                },
            }
        })
    }

    async fn resolve_wrapper(
        &self,
        ad: &Ad,
        wrapper: &Wrapper,
        base: Option<&Url>,
        doc_url: &str,
        ancestry: &Ancestry,
    ) -> AdOutcome {
        let mut error_urls = ancestry.error_urls.clone();
        error_urls.extend(wrapper.error_urls.iter().cloned());
        let fallback = wrapper.fallback_on_no_ad.unwrap_or(true);
        let failed = |code: ErrorCode, message: String| AdOutcome {
            outcome: Outcome::failed(
                None,
                self.firing(code, &error_urls, ad.id.as_ref(), doc_url, message),
            ),
            fallback,
        };
        if !ancestry.follow_wrappers {
            return failed(
                ErrorCode::WrapperLimit,
                "a wrapper above said followAdditionalWrappers=\"false\": this one is not followed"
                    .to_owned(),
            );
        }
        let max_depth = self.options.max_wrapper_depth;
        if ancestry.depth >= max_depth {
            return failed(
                ErrorCode::WrapperLimit,
                format!("more than {max_depth} wrappers: the limit is reached"),
            );
        }
        let Some(template) = &wrapper.tag_uri else {
            return failed(
                ErrorCode::Schema,
                "a Wrapper without VASTAdTagURI".to_owned(),
            );
        };
        let expanded = expand(template, &self.values);
        let joined = match base {
            Some(base) => base.join(&expanded),
            None => Url::parse(&expanded),
        };
        let next = match joined {
            Ok(next) => next.to_string(),
            Err(error) => {
                return failed(
                    ErrorCode::WrapperTimeout,
                    format!("the wrapper's VASTAdTagURI {expanded:?} is not a URL: {error}"),
                );
            }
        };
        if ancestry.chain.contains(&next) {
            return failed(
                ErrorCode::WrapperLimit,
                format!("a wrapper loop: {next} was already requested in this chain"),
            );
        }
        let mut below = ancestry.clone();
        below.depth += 1;
        below
            .impressions
            .extend(wrapper.impressions.iter().cloned());
        for creative in &wrapper.creatives {
            if let Some(linear) = &creative.linear {
                merge_tracking(&mut below.tracking, linear);
            }
        }
        below.error_urls = error_urls.clone();
        below.follow_wrappers =
            ancestry.follow_wrappers && wrapper.follow_additional_wrappers.unwrap_or(true);
        let mut outcome = self.fetch_document(next, below).await;
        if !wrapper.allow_multiple_ads.unwrap_or(false) {
            // One ad is wanted: the first in play order.
            outcome.ads.truncate(1);
        }
        AdOutcome { outcome, fallback }
    }

    fn resolve_inline(
        &self,
        ad: &Ad,
        inline: &InLine,
        doc_url: &str,
        ancestry: &Ancestry,
    ) -> Outcome {
        let mut error_urls = ancestry.error_urls.clone();
        error_urls.extend(inline.error_urls.iter().cloned());
        let failed = |code: ErrorCode, message: &str| {
            Outcome::failed(
                None,
                self.firing(
                    code,
                    &error_urls,
                    ad.id.as_ref(),
                    doc_url,
                    message.to_owned(),
                ),
            )
        };
        let creatives = match &inline.creatives {
            Some(creatives) if !creatives.is_empty() => creatives,
            _ => return failed(ErrorCode::Schema, "an InLine without Creatives"),
        };
        let mut linears: Vec<&Creative> = creatives
            .iter()
            .filter(|creative| creative.linear.is_some())
            .collect();
        if linears.is_empty() {
            return failed(ErrorCode::Schema, "an InLine without a Linear creative");
        }
        linears.sort_by_key(|creative| creative.sequence.unwrap_or(u32::MAX));
        let reachable = |url: &str| self.client.check_media_url(url);
        let choices: Vec<(&Creative, media::MediaChoice)> = linears
            .iter()
            .map(|creative| {
                let linear = creative.linear.as_ref().expect("filtered on linear");
                (
                    *creative,
                    media::choose(linear, &self.options.media, &reachable),
                )
            })
            .collect();
        let (creative, choice) = choices
            .iter()
            .find(|(_, choice)| choice.chosen.is_some())
            .unwrap_or(&choices[0]);
        let linear = creative.linear.as_ref().expect("filtered on linear");
        let duration_ms = linear.duration.as_deref().and_then(parse_duration_ms);
        let mut impressions = ancestry.impressions.clone();
        impressions.extend(inline.impressions.iter().cloned());
        let mut tracking = ancestry.tracking.clone();
        merge_tracking(&mut tracking, linear);
        let universal_ad_id = creative.universal_ad_id.as_ref().and_then(|id| id.key());
        let creative_key = match (&universal_ad_id, &choice.chosen) {
            (Some(id), _) => id.clone(),
            (None, Some(media)) => url_key(&media.url),
            (None, None) => String::new(),
        };
        let resolved = ResolvedAd {
            ad_id: ad.id.clone(),
            sequence: ad.sequence,
            buffet: ad.sequence.is_none(),
            replaces_sequence: None,
            ad_system: inline.ad_system.clone(),
            title: inline.title.clone(),
            ad_serving_id: inline.ad_serving_id.clone(),
            duration_ms: duration_ms.unwrap_or(0),
            universal_ad_id,
            creative_key,
            media: choice.chosen.clone(),
            best_media_file: choice.best_file.clone(),
            skipped_media: choice.skipped.clone(),
            impressions,
            tracking,
            error_urls: error_urls.clone(),
            chain: ancestry.chain.clone(),
        };
        if resolved.media.is_none() {
            let reasons: Vec<String> = choice
                .skipped
                .iter()
                .map(|skipped| format!("{}: {}", skipped.url, skipped.reason))
                .collect();
            let message = if reasons.is_empty() {
                "no MediaFile at all".to_owned()
            } else {
                format!("no supported MediaFile ({})", reasons.join("; "))
            };
            let mut outcome = failed(ErrorCode::NoSupportedMediaFile, &message);
            outcome.rejected.push(resolved);
            return outcome;
        }
        if duration_ms.is_none() {
            let message = format!(
                "a Linear without a valid Duration ({:?})",
                linear.duration.as_deref().unwrap_or("none")
            );
            let mut outcome = failed(ErrorCode::Schema, &message);
            outcome.rejected.push(resolved);
            return outcome;
        }
        Outcome {
            ads: vec![resolved],
            ..Outcome::default()
        }
    }

    /// `code` to every one of `templates`, expanded with the decision's values.
    fn firing(
        &self,
        code: ErrorCode,
        templates: &[String],
        ad_id: Option<&String>,
        tag_url: &str,
        message: String,
    ) -> ErrorFiring {
        let values = self.values.with_error_code(code.code());
        ErrorFiring {
            code: code.code(),
            urls: templates
                .iter()
                .map(|template| expand(template, &values))
                .collect(),
            ad_id: ad_id.cloned(),
            tag_url: Some(tag_url.to_owned()),
            message,
        }
    }
}

/// Puts a response's ads in play order: the pod by sequence, a failed pod ad replaced by the
/// next buffet ad that resolved (unless its wrapper said `fallbackOnNoAd="false"`), then the
/// buffet ads left. A response whose only ad is a stand-alone one passes on what that ad led
/// to as it is (a wrapper that returns a pod returns a pod).
fn assemble(ads: &[Ad], outcomes: Vec<AdOutcome>) -> Outcome {
    let mut assembled = Outcome::default();
    let mut placed: Vec<Vec<ResolvedAd>> = Vec::with_capacity(outcomes.len());
    let mut fallbacks = Vec::with_capacity(outcomes.len());
    for AdOutcome { outcome, fallback } in outcomes {
        assembled.rejected.extend(outcome.rejected);
        assembled.hops.extend(outcome.hops);
        assembled.errors.extend(outcome.errors);
        placed.push(outcome.ads);
        fallbacks.push(fallback);
    }
    if ads.len() == 1 && ads[0].sequence.is_none() {
        assembled.ads = placed.pop().unwrap_or_default();
        return assembled;
    }
    let mut pod: Vec<(u32, usize)> = ads
        .iter()
        .enumerate()
        .filter_map(|(index, ad)| ad.sequence.map(|sequence| (sequence, index)))
        .collect();
    pod.sort_by_key(|(sequence, _)| *sequence);
    let mut buffet: std::collections::VecDeque<usize> = ads
        .iter()
        .enumerate()
        .filter(|(_, ad)| ad.sequence.is_none())
        .map(|(index, _)| index)
        .collect();
    for (sequence, index) in pod {
        let resolved = std::mem::take(&mut placed[index]);
        if !resolved.is_empty() {
            assembled
                .ads
                .extend(resolved.into_iter().map(|ad| as_pod_ad(ad, sequence)));
            continue;
        }
        if !fallbacks[index] {
            continue;
        }
        while let Some(spare) = buffet.pop_front() {
            let replacement = std::mem::take(&mut placed[spare]);
            if !replacement.is_empty() {
                assembled.ads.extend(
                    replacement
                        .into_iter()
                        .map(|ad| as_buffet_ad(ad, Some(sequence))),
                );
                break;
            }
        }
    }
    for spare in buffet {
        let replacement = std::mem::take(&mut placed[spare]);
        assembled
            .ads
            .extend(replacement.into_iter().map(|ad| as_buffet_ad(ad, None)));
    }
    assembled
}

fn as_pod_ad(ad: ResolvedAd, sequence: u32) -> ResolvedAd {
    ResolvedAd {
        sequence: Some(sequence),
        buffet: false,
        replaces_sequence: None,
        ..ad
    }
}

fn as_buffet_ad(ad: ResolvedAd, replaces_sequence: Option<u32>) -> ResolvedAd {
    ResolvedAd {
        sequence: None,
        buffet: true,
        replaces_sequence,
        ..ad
    }
}

fn kind_of(document: &Vast) -> HopKind {
    let all = |wanted: fn(&AdBody) -> bool| {
        !document.ads.is_empty() && document.ads.iter().all(|ad| wanted(&ad.body))
    };
    if all(|body| matches!(body, AdBody::Wrapper(_))) {
        HopKind::Wrapper
    } else if all(|body| matches!(body, AdBody::InLine(_))) {
        HopKind::Inline
    } else {
        HopKind::Vast
    }
}

fn merge_tracking(tracking: &mut BTreeMap<String, Vec<String>>, linear: &vast::Linear) {
    for event in &linear.tracking {
        tracking
            .entry(event.key())
            .or_default()
            .push(event.url.clone());
    }
}

/// `url-` and the hex SHA-256 of a media URL: the creative key of an ad without a
/// UniversalAdId.
pub fn url_key(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("url-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_creative_without_universal_ad_id_is_keyed_by_the_sha_256_of_its_media_url() {
        assert_eq!(
            url_key("abc"),
            "url-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(
            url_key("https://cdn.example/a.mp4"),
            url_key("https://cdn.example/b.mp4")
        );
    }
}
