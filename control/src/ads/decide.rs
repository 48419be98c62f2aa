//! Deciding a session's ads for a break, ahead of it and off the request path.
//!
//! Every 500 ms the engine looks at each channel with ads for the breaks starting within its
//! `lead_seconds`. A break seen for the first time is planned: each session of the channel
//! gets a moment in the window (a hash of the session and the break) at which its request is
//! made, and waits for it in one queue ordered by moment ([`DueDecisions`]: a few words per
//! session, no task); a session created during the window is queued as it arrives. The ad
//! server sees requests spread over the window, never a herd. A fixed set of workers takes
//! the decisions as they come due: a decision asks the ad server (VAST or a VMAP's break),
//! looks the creatives up in the shared creative cache (asking the farm for those it has not
//! seen: they air from a later break on), fits whole ads into the break and fires the VAST
//! errors due; one recorder stores the decisions made meanwhile in one transaction. Whatever
//! is not decided in time airs as the planned break (slate).

use std::collections::BinaryHeap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use onair_ad_decision::{
    BreakPosition, MacroValues, RequestContext, Resolution, ResolveOptions, ResolvedAd, fetch_vmap,
    resolve_vast, resolve_vmap_break,
};
use onair_domain::{Asset, AssetState, BreakAiring, Ticks, Timestamp};
use onair_playout::ChannelPlayout;
use std::collections::HashMap;

use onair_domain::AssetId;
use onair_store::{CreativeRow, CreativeStatus};

use crate::ads::config::{AdConfig, FrequencyCap, TagKind};
use crate::ads::decision::{Candidate, Decision, FiredError, Outcome, PlacedAdSource, fit};
use crate::ads::engine::AdEngine;
use crate::ads::session::Session;
use crate::refusal::Refusal;

/// A break of a channel whose lead window is open, as the decisions of its channel's own
/// viewers' sessions or of one stitched partner's are made.
#[derive(Debug)]
pub(crate) struct PlannedBreak {
    slug: String,
    /// `None`: the channel's own viewers.
    partner: Option<String>,
    playout: Arc<ChannelPlayout>,
    airing: BreakAiring,
    config: AdConfig,
}

/// A session's decision for a planned break, queued for its moment.
#[derive(Debug)]
struct DueDecision {
    moment: Timestamp,
    session: Weak<Session>,
    planned: Arc<PlannedBreak>,
}

impl PartialEq for DueDecision {
    fn eq(&self, other: &Self) -> bool {
        self.moment == other.moment
    }
}

impl Eq for DueDecision {}

impl PartialOrd for DueDecision {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DueDecision {
    /// The earliest moment first out of a [`BinaryHeap`].
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.moment.cmp(&self.moment)
    }
}

/// The decisions waiting for their moment, earliest first, and the breaks planned: a break
/// is planned once, when it enters its lead window (every session of its channel queued then),
/// and a session that arrives during the window is queued for the planned breaks it can have.
#[derive(Debug, Default)]
pub(crate) struct DueDecisions {
    queue: BinaryHeap<DueDecision>,
    /// By channel, partner (`None`: the channel's own viewers) and break start.
    planned: HashMap<(String, Option<String>, i64), Arc<PlannedBreak>>,
}

/// A decision made, for the recorder to store.
pub(crate) struct Decided {
    session: Arc<Session>,
    airing: BreakAiring,
    freeze: Ticks,
    decision: Decision,
}

/// The longest a worker waits without looking at the queue (the clock may be virtual).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Decisions stored in one transaction, at most.
const RECORD_BATCH: usize = 256;

impl AdEngine {
    /// Plans the breaks entering their lead window: queues every session of their channel
    /// (its own viewers' with the channel's settings, each stitched partner's with the
    /// partner's) for its moment; forgets the planned breaks that started.
    pub(crate) fn plan_due(&self) {
        let now = self.now();
        let mut queued = false;
        for (slug, partner, config) in self.audiences() {
            let Some(playout) = self.playout(&slug) else {
                continue;
            };
            let lead = Ticks::from_secs(i64::from(config.lead_seconds));
            let freeze = Ticks::from_secs(i64::from(config.freeze_seconds));
            for airing in breaks_starting(&playout, now + freeze, now + lead) {
                let planned = Arc::new(PlannedBreak {
                    slug: slug.clone(),
                    partner: partner.clone(),
                    playout: playout.clone(),
                    airing,
                    config: config.clone(),
                });
                {
                    let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
                    let key = (slug.clone(), partner.clone(), airing.start.0);
                    if due.planned.contains_key(&key) {
                        continue;
                    }
                    // Planned before the sessions are read: one created meanwhile is queued
                    // by `queue_planned` (or both: deciding twice stores the first).
                    due.planned.insert(key, planned.clone());
                }
                let sessions: Vec<Arc<Session>> = self
                    .sessions
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .filter(|session| {
                        session.slug == slug && session.partner_name() == partner.as_deref()
                    })
                    .cloned()
                    .collect();
                let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
                for session in &sessions {
                    queued |= queue_for(&mut due.queue, session, &planned);
                }
            }
        }
        self.due
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .planned
            .retain(|_, planned| planned.airing.start > now);
        if queued {
            self.wake.notify_waiters();
        }
    }

    /// Queues `session` (new here) for the planned breaks of its channel it can have.
    pub(crate) fn queue_planned(&self, session: &Arc<Session>) {
        let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        let DueDecisions { queue, planned } = &mut *due;
        let mut queued = false;
        for planned in planned.values().filter(|planned| {
            planned.slug == session.slug && planned.partner.as_deref() == session.partner_name()
        }) {
            queued |= queue_for(queue, session, planned);
        }
        if queued {
            self.wake.notify_waiters();
        }
    }

    /// The earliest queued decision whose moment has come, else how long to wait for the
    /// next moment (at most [`IDLE_WAIT`]).
    fn next_due(&self) -> Result<DueDecision, Duration> {
        let now = self.now();
        let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        match due.queue.peek() {
            Some(next) if next.moment <= now => due.queue.pop().ok_or(IDLE_WAIT),
            Some(next) => Err(
                Duration::from_millis((next.moment - now).as_millis().max(1) as u64).min(IDLE_WAIT),
            ),
            None => Err(IDLE_WAIT),
        }
    }

    /// A worker: makes the queued decisions as they come due and hands them to the recorder;
    /// runs until the recorder is gone.
    pub(crate) async fn decide_queued(self: Arc<Self>, decided: mpsc::Sender<Decided>) {
        loop {
            // Listening before looking: decisions queued in between wake it.
            let queued = self.wake.notified();
            tokio::pin!(queued);
            queued.as_mut().enable();
            let due = match self.next_due() {
                Ok(due) => due,
                Err(wait) => {
                    let _ = tokio::time::timeout(wait, queued).await;
                    continue;
                }
            };
            let Some(session) = due.session.upgrade() else {
                continue;
            };
            let planned = &due.planned;
            match self.decide(&session, planned).await {
                Ok(Some(decision)) => {
                    let freeze = Ticks::from_secs(i64::from(planned.config.freeze_seconds));
                    let made = Decided {
                        session,
                        airing: planned.airing,
                        freeze,
                        decision,
                    };
                    if decided.send(made).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(refusal) => {
                    // Not again for this break: it airs as planned.
                    onair_metrics::metrics().ad_decided(onair_metrics::DecisionOutcome::Error);
                    session.mark_decided(planned.airing.start);
                    tracing::warn!(session = %session.id, %refusal, "ad decision failed: the break airs slate");
                }
            }
        }
    }

    /// The recorder: stores the decisions the workers made, as many as are waiting in one
    /// transaction (up to [`RECORD_BATCH`]), until every worker is gone.
    pub(crate) async fn record_decided(self: Arc<Self>, mut decided: mpsc::Receiver<Decided>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while decided.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            if let Err(refusal) = self.record(std::mem::take(&mut batch)).await {
                tracing::warn!(%refusal, "cannot store ad decisions: their breaks air slate");
            }
        }
    }

    /// Decides `session`'s ads for `planned`: `None` when it is decided already.
    async fn decide(
        &self,
        session: &Session,
        planned: &PlannedBreak,
    ) -> Result<Option<Decision>, Refusal> {
        let PlannedBreak {
            playout,
            airing,
            config,
            ..
        } = planned;
        // The planned break's settings are its audience's: a partner's session's tag is the
        // partner's.
        if session.has_decision(airing.start) {
            return Ok(None);
        }
        let freeze = Ticks::from_secs(i64::from(config.freeze_seconds));
        if self.now() + freeze > airing.start {
            // Its moment passed while it waited its turn: asking the ad server now would be
            // wasted, the break airs as planned. Recorded, for the report's late count.
            return Ok(Some(late(airing)));
        }
        let (client, sender) = self.clients(config.allow_private)?;
        let ctx = request_context(session, airing);
        let options = ResolveOptions {
            max_wrapper_depth: config.max_wrappers,
            budget: Duration::from_millis(u64::from(config.timeout_ms)),
            max_response_bytes: config.max_response_kib as usize * 1024,
            ..ResolveOptions::default()
        };
        // `{origin}` is this server: not a value to percent-encode, but the URL's start.
        let tag = config
            .tag
            .replace(crate::ads::config::ORIGIN, &self.origin());
        let resolution = match config.kind {
            TagKind::Vast => resolve_vast(&client, &tag, &ctx, &options).await,
            TagKind::Vmap => resolve_from_vmap(&client, &tag, airing, &ctx, &options).await,
        };
        let decision = self
            .decision_from(session, playout, airing, config, &resolution, &ctx.macros)
            .await?;
        for firing in &decision.errors {
            for url in &firing.urls {
                let sender = sender.clone();
                let (url, ctx) = (url.clone(), ctx.clone());
                tokio::spawn(async move {
                    sender.fire(&url, &ctx).await;
                });
            }
        }
        Ok(Some(decision))
    }

    /// Stores `decided` in one transaction, all stamped with now (a filled one past its
    /// freeze becomes late: it will never be used), and attaches what the store holds to each
    /// session: ours when it was first (as is, not read back), else the one another replica
    /// stored first. A decision that cannot be stored leaves its break to air as planned.
    async fn record(&self, mut decided: Vec<Decided>) -> Result<(), Refusal> {
        let now = self.now();
        let mut fills = Vec::with_capacity(decided.len());
        for made in &mut decided {
            if now + made.freeze > made.airing.start && made.decision.outcome == Outcome::Filled {
                made.decision.outcome = Outcome::Late;
            }
            onair_metrics::metrics().ad_decided(match made.decision.outcome {
                Outcome::Filled => onair_metrics::DecisionOutcome::Filled,
                Outcome::Unfilled => onair_metrics::DecisionOutcome::Unfilled,
                Outcome::Late => onair_metrics::DecisionOutcome::Late,
            });
            let fill = serde_json::to_string(&made.decision)
                .map_err(|error| Refusal::Internal(format!("cannot write a decision: {error}")));
            fills.push(fill);
        }
        let rows: Vec<onair_store::NewAdDecision<'_>> = decided
            .iter()
            .zip(&fills)
            .filter_map(|(made, fill)| {
                Some(onair_store::NewAdDecision {
                    session_id: &made.session.id,
                    break_start: made.airing.start,
                    channel_id: made.session.channel_id,
                    break_duration: made.airing.duration,
                    decided_at: now,
                    fill: fill.as_deref().ok()?,
                })
            })
            .collect();
        let stored = match self.control.store.record_ad_decisions(&rows).await {
            Ok(stored) => stored,
            Err(error) => {
                for made in &decided {
                    made.session.mark_decided(made.airing.start);
                }
                return Err(error.into());
            }
        };
        drop(rows);
        let mut stored = stored.into_iter();
        for (made, fill) in decided.into_iter().zip(fills) {
            let Decided {
                session,
                airing,
                decision,
                ..
            } = made;
            let outcome = match fill {
                Ok(_) => stored.next().unwrap_or(Ok(false)).map_err(Refusal::from),
                Err(refusal) => Err(refusal),
            };
            let attached = match outcome {
                Ok(true) => {
                    self.attach_decision(&session, airing.start, now, decision)
                        .await
                }
                Ok(false) => self.attach_winner(&session, airing.start).await,
                Err(refusal) => Err(refusal),
            };
            if let Err(refusal) = attached {
                session.mark_decided(airing.start);
                tracing::warn!(session = %session.id, %refusal, "ad decision not stored: the break airs slate");
            }
        }
        Ok(())
    }

    /// Attaches the decision another replica stored first for the break at `start`.
    async fn attach_winner(&self, session: &Session, start: Timestamp) -> Result<(), Refusal> {
        let stored = self
            .control
            .store
            .ad_decisions_of_session(&session.id)
            .await?;
        match stored.iter().find(|row| row.break_start == start) {
            Some(row) => self.attach(session, row).await,
            None => {
                session.mark_decided(start);
                Ok(())
            }
        }
    }

    /// The decision `resolution` comes to for `airing`: creatives looked up (new ones asked
    /// of the farm), whole ads fitted, slate after them, the errors due.
    async fn decision_from(
        &self,
        session: &Session,
        playout: &ChannelPlayout,
        airing: &BreakAiring,
        config: &AdConfig,
        resolution: &Resolution,
        values: &MacroValues,
    ) -> Result<Decision, Refusal> {
        let ladder_id = playout.channel().ladder_id;
        let mut errors: Vec<FiredError> = resolution
            .errors
            .iter()
            .map(|firing| FiredError {
                code: firing.code,
                urls: firing.urls.clone(),
                reason: firing.message.clone(),
            })
            .collect();
        let keys: Vec<String> = resolution
            .ads
            .iter()
            .map(|ad| ad.creative_key.clone())
            .collect();
        let creatives = self
            .control
            .store
            .creatives_by_keys(&keys, ladder_id)
            .await?;
        let mut ready_ids = Vec::new();
        for creative in &creatives {
            if creative.status == CreativeStatus::Ready
                && let Some(asset_id) = creative.asset_id
            {
                ready_ids.push(asset_id);
            }
        }
        // The break's remainder: the configured slate, else what the planned break airs.
        let planned = playout
            .timeline()
            .segment_by_sequence(airing.first_media_sequence)
            .map(|at| playout.timeline().run(at.run_index).asset_id);
        let slate_id = config
            .slate
            .or(planned)
            .or_else(|| playout.timeline().tail().map(|tail| tail.asset_id))
            .or(playout.channel().slate);
        let Some(slate_id) = slate_id else {
            return Err(Refusal::Internal(format!(
                "channel {} has no slate to fill its breaks with",
                session.slug
            )));
        };
        ready_ids.push(slate_id);
        let catalogue = self.catalogue_with(&ready_ids).await?;
        let cap_since = config
            .frequency_cap
            .map(|cap| airing.start - Ticks::from_secs(i64::from(cap.per_seconds)));
        let airings = cap_since.map(|since| session.creative_airings_since(since));
        let now = self.now();
        let mut candidates = Vec::with_capacity(resolution.ads.len());
        for ad in &resolution.ads {
            let creative = creatives.iter().find(|c| c.creative_key == ad.creative_key);
            if creative.is_none()
                && let Some(media) = &ad.media
            {
                self.control
                    .store
                    .request_creative(&ad.creative_key, ladder_id, &media.url, now)
                    .await?;
            }
            let aired = airings
                .as_ref()
                .and_then(|airings| airings.get(&ad.creative_key).copied())
                .unwrap_or(0);
            let (asset, unavailable) = match availability(
                ad.media.is_some(),
                creative,
                &catalogue.assets,
                aired,
                config.frequency_cap,
            ) {
                Ok(asset) => (Some(asset), None),
                Err(why) => (None, Some(why)),
            };
            if let Some((reason, Some(code))) = &unavailable {
                errors.push(FiredError {
                    code: *code,
                    urls: ad.error_urls_with(*code, values),
                    reason: reason.clone(),
                });
            }
            candidates.push(Candidate {
                ad: source_of(ad),
                asset,
                unavailable,
                buffet: ad.buffet,
            });
        }
        let slate = catalogue
            .assets
            .get(&slate_id)
            .ok_or_else(|| Refusal::Internal(format!("slate asset {slate_id} is missing")))?;
        let (ads, slate_runs, skipped) = fit(
            &candidates,
            airing.n_segments,
            slate,
            config.max_ads_per_break as usize,
        );
        for skip in skipped.iter().filter(|skip| skip.code == Some(206)) {
            if let Some(ad) = resolution
                .ads
                .iter()
                .find(|ad| ad.creative_key == skip.creative_key)
            {
                errors.push(FiredError {
                    code: 206,
                    urls: ad.error_urls_with(206, values),
                    reason: skip.reason.clone(),
                });
            }
        }
        let ads_ms: i64 = ads.iter().map(|ad| ad.duration_ms).sum();
        Ok(Decision {
            break_media_sequence: airing.first_media_sequence,
            break_segments: airing.n_segments,
            break_runs: airing.n_runs,
            break_duration_ms: airing.duration.as_millis(),
            outcome: if ads.is_empty() {
                Outcome::Unfilled
            } else {
                Outcome::Filled
            },
            slate_ms: (airing.duration.as_millis() - ads_ms).max(0),
            ads,
            slate: slate_runs,
            returned: resolution.ads.len() as u32,
            skipped,
            errors,
            elapsed_ms: resolution.elapsed_ms,
        })
    }
}

/// Whether an ad's creative can air now: its ready asset, or why not with the VAST error
/// code due (401 for a file the farm could not download, 405 for one it could not transcode;
/// none for a creative not transcoded yet, which airs from a later break, nor for a capped
/// one).
pub(crate) fn availability<'a>(
    has_media: bool,
    creative: Option<&CreativeRow>,
    assets: &'a HashMap<AssetId, Asset>,
    aired: u32,
    cap: Option<FrequencyCap>,
) -> Result<&'a Asset, (String, Option<u16>)> {
    if !has_media {
        return Err(("no usable media file".into(), None));
    }
    let Some(creative) = creative else {
        return Err((
            "new creative: sent to the farm, it airs once transcoded".into(),
            None,
        ));
    };
    let asset = match creative.status {
        CreativeStatus::Pending => {
            return Err(("creative still being transcoded".into(), None));
        }
        CreativeStatus::Failed => {
            let reason = creative.error.clone().unwrap_or_default();
            let code = if reason.contains("404") || reason.to_lowercase().contains("not found") {
                401
            } else {
                405
            };
            return Err((format!("creative failed: {reason}"), Some(code)));
        }
        CreativeStatus::Ready => creative
            .asset_id
            .and_then(|id| assets.get(&id))
            .filter(|asset| asset.state == AssetState::Ready)
            .ok_or_else(|| ("the creative's asset is gone".to_string(), Some(405)))?,
    };
    if let Some(cap) = cap
        && aired >= cap.max
    {
        return Err((
            format!(
                "frequency cap: aired {} times in {} s",
                cap.max, cap.per_seconds
            ),
            None,
        ));
    }
    Ok(asset)
}

/// The decision for a break whose moment passed before it could be made: the planned break.
fn late(airing: &BreakAiring) -> Decision {
    Decision {
        break_media_sequence: airing.first_media_sequence,
        break_segments: airing.n_segments,
        break_runs: airing.n_runs,
        break_duration_ms: airing.duration.as_millis(),
        outcome: Outcome::Late,
        ads: Vec::new(),
        slate: Vec::new(),
        slate_ms: airing.duration.as_millis(),
        returned: 0,
        skipped: Vec::new(),
        errors: Vec::new(),
        elapsed_ms: 0,
    }
}

/// What a placed ad keeps of a resolved one.
fn source_of(ad: &ResolvedAd) -> PlacedAdSource {
    PlacedAdSource {
        creative_key: ad.creative_key.clone(),
        ad_id: ad.ad_id.clone(),
        title: ad.title.clone(),
        impressions: ad.impressions.clone(),
        tracking: ad.tracking.clone(),
        error_urls: ad.error_urls.clone(),
        ad_serving_id: ad.ad_serving_id.clone(),
        universal_ad_id: ad.universal_ad_id.clone(),
    }
}

/// The VMAP break for `airing` (the n-th of the plan's breaks, the first when the VMAP has
/// fewer), resolved; a VMAP that cannot be had resolves to nothing, with its hop.
async fn resolve_from_vmap(
    client: &onair_ad_decision::AdClient,
    tag: &str,
    airing: &BreakAiring,
    ctx: &RequestContext,
    options: &ResolveOptions,
) -> Resolution {
    let started = std::time::Instant::now();
    match fetch_vmap(client, tag, ctx, options).await {
        Ok(vmap) => {
            let position = airing.slot.number.saturating_sub(1) as usize;
            match vmap.break_for(position).or_else(|| vmap.break_for(0)) {
                Some(ad_break) => resolve_vmap_break(client, ad_break, ctx, options).await,
                None => empty_resolution(tag, vmap.hop.clone(), started),
            }
        }
        Err(error) => empty_resolution(tag, error.hop.map(|hop| *hop), started),
    }
}

fn empty_resolution(
    tag: &str,
    hop: Option<onair_ad_decision::Hop>,
    started: std::time::Instant,
) -> Resolution {
    Resolution {
        tag_url: tag.to_owned(),
        hops: hop.into_iter().collect(),
        ads: Vec::new(),
        rejected: Vec::new(),
        errors: Vec::new(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// Who the ads are for, and the values of the tag's macros: the same for a channel's tag and a
/// partner's, which may also say `{partner}`.
pub(crate) fn request_context(session: &Session, airing: &BreakAiring) -> RequestContext {
    let mut macros = MacroValues {
        break_max_duration: Some(Duration::from_millis(
            airing.duration.as_millis().max(0) as u64
        )),
        break_position: Some(BreakPosition::Midroll),
        ..MacroValues::default()
    };
    macros
        .session
        .insert("session.id".into(), session.id.clone());
    macros
        .session
        .insert("channel".into(), session.slug.clone());
    if let Some(partner) = session.partner_name() {
        macros.session.insert("partner".into(), partner.to_owned());
    }
    macros.session.insert(
        "break.duration".into(),
        format!("{}", airing.duration.as_millis() / 1000),
    );
    for (name, value) in &session.params {
        macros
            .session
            .insert(format!("param.{name}"), value.clone());
    }
    RequestContext {
        device_ip: session.client_ip.clone(),
        device_ua: session.user_agent.clone(),
        macros,
    }
}

/// The breaks of `playout` whose first segment starts in `[from, to)`.
pub(crate) fn breaks_starting(
    playout: &ChannelPlayout,
    from: Timestamp,
    to: Timestamp,
) -> Vec<BreakAiring> {
    let timeline = playout.timeline();
    let mut found = Vec::new();
    let Some(mut at) = timeline.segment_at(from) else {
        return found;
    };
    while at.start < to {
        if let Some(airing) = timeline.break_of(&at) {
            if airing.first_media_sequence == at.media_sequence && airing.start >= from {
                found.push(airing);
            }
            // Jump past the break.
            match timeline.segment_by_sequence(airing.first_media_sequence + airing.n_segments) {
                Some(next) => at = next,
                None => break,
            }
            continue;
        }
        match timeline.segment_by_sequence(at.media_sequence + 1) {
            Some(next) => at = next,
            None => break,
        }
    }
    found
}

/// Queues `session` for `planned` at its moment, when it can have the break (it existed at
/// the freeze) and has no decision for it; says whether it did.
fn queue_for(
    queue: &mut BinaryHeap<DueDecision>,
    session: &Arc<Session>,
    planned: &Arc<PlannedBreak>,
) -> bool {
    let airing = &planned.airing;
    let freeze = Ticks::from_secs(i64::from(planned.config.freeze_seconds));
    if session.created_at > airing.start - freeze || session.has_decision(airing.start) {
        return false;
    }
    queue.push(DueDecision {
        moment: decision_moment(session, airing, &planned.config),
        session: Arc::downgrade(session),
        planned: planned.clone(),
    });
    true
}

/// When within the lead window `session` asks for `airing`'s ads: spread evenly by a hash,
/// leaving the time budget before the freeze.
fn decision_moment(session: &Session, airing: &BreakAiring, config: &AdConfig) -> Timestamp {
    let mut hasher = DefaultHasher::new();
    session.id.hash(&mut hasher);
    airing.start.0.hash(&mut hasher);
    let spread_ms = (i64::from(config.lead_seconds) - i64::from(config.freeze_seconds)) * 1000
        - i64::from(config.timeout_ms)
        - 1000;
    let offset = (hasher.finish() % spread_ms.max(1) as u64) as i64;
    airing.start - Ticks::from_secs(i64::from(config.lead_seconds)) + Ticks::from_millis(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_domain::{LadderId, Ticks};

    fn row(status: CreativeStatus, asset: Option<i64>, error: Option<&str>) -> CreativeRow {
        CreativeRow {
            creative_key: "k".into(),
            ladder_id: LadderId(1),
            source_url: "https://cdn.example/ad.mp4".into(),
            asset_id: asset.map(AssetId),
            job_id: None,
            status,
            error: error.map(str::to_owned),
            duration: None,
            created_at: Timestamp::from_unix_secs(0),
            updated_at: Timestamp::from_unix_secs(0),
            asset_state: None,
        }
    }

    fn assets() -> HashMap<AssetId, Asset> {
        HashMap::from([(
            AssetId(7),
            Asset {
                id: AssetId(7),
                title: "ad".into(),
                source: String::new(),
                ladder_id: LadderId(1),
                state: AssetState::Ready,
                duration: Ticks::from_secs(10),
                renditions: Vec::new(),
            },
        )])
    }

    fn code(result: Result<&Asset, (String, Option<u16>)>) -> Option<u16> {
        result.err().and_then(|(_, code)| code)
    }

    #[test]
    fn a_ready_creative_airs_and_one_not_yet_transcoded_is_skipped_without_an_error() {
        let assets = assets();
        let ready = row(CreativeStatus::Ready, Some(7), None);
        assert!(availability(true, Some(&ready), &assets, 0, None).is_ok());
        let pending = row(CreativeStatus::Pending, Some(7), None);
        let skipped = availability(true, Some(&pending), &assets, 0, None);
        assert!(skipped.is_err() && code(skipped).is_none());
        let new = availability(true, None, &assets, 0, None);
        assert!(new.is_err() && code(new).is_none());
    }

    #[test]
    fn a_media_file_that_404s_fires_401_and_a_creative_that_failed_to_transcode_fires_405() {
        let assets = assets();
        let missing = row(
            CreativeStatus::Failed,
            Some(7),
            Some("HTTP 404 Not Found from https://cdn.example/ad.mp4"),
        );
        assert_eq!(
            code(availability(true, Some(&missing), &assets, 0, None)),
            Some(401)
        );
        let broken = row(
            CreativeStatus::Failed,
            Some(7),
            Some("no video stream in the input"),
        );
        assert_eq!(
            code(availability(true, Some(&broken), &assets, 0, None)),
            Some(405)
        );
    }

    #[test]
    fn a_creative_aired_as_often_as_the_cap_allows_is_skipped() {
        let assets = assets();
        let ready = row(CreativeStatus::Ready, Some(7), None);
        let cap = Some(FrequencyCap {
            max: 2,
            per_seconds: 3600,
        });
        assert!(availability(true, Some(&ready), &assets, 1, cap).is_ok());
        let capped = availability(true, Some(&ready), &assets, 2, cap);
        assert!(capped.unwrap_err().0.contains("frequency cap"));
    }

    #[test]
    fn an_ad_without_a_usable_file_cannot_air() {
        let assets = assets();
        let ready = row(CreativeStatus::Ready, Some(7), None);
        assert!(availability(false, Some(&ready), &assets, 0, None).is_err());
    }
}
