//! The SSAI engine `serve` runs: the sessions of every channel, their decisions made ahead of
//! each break off the request path, the replicas' decisions caught up from the store, idle
//! sessions forgotten, and beacons fired on segment fetch (`beacons.rs`).
//!
//! **Same answer on every replica.** A session and its decisions live in the store. A replica
//! that meets a session it does not hold loads it with its decisions; every second it reads
//! the decisions other replicas stored since its last look. A decision is used only when it was
//! stored at least `freeze_seconds` before its break starts (the decision records when), so
//! every replica has read it before the break enters a playlist, and a late one is never used
//! by anyone: the session's playlists are the same on every replica and never contradict each
//! other. A decision is stored first-writer-wins, so two replicas deciding the same break agree
//! on the first one's.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use onair_ad_decision::AdClient;
use onair_ad_decision::beacon::BeaconSender;
use onair_domain::{AssetId, ChannelId, Timestamp};
use onair_playout::{ChannelPlayout, Directory};
use onair_store::{AdDecisionRow, DecisionCursor, NewAdSession};

use crate::Control;
use crate::ads::config::{AdConfig, Insertion, ORIGIN, TagKind, parse_document};
use crate::ads::decide::DueDecisions;
use crate::ads::decision::Decision;
use crate::ads::session::{
    Catalogue, Session, SessionBreak, SessionParams, SessionPartner, SharedFills, is_session_id,
    new_session_id,
};
use crate::partners::{AdMode, PartnerAccess, PartnerSettings};
use crate::refusal::Refusal;

/// A channel's current ad settings as the engine uses them.
#[derive(Debug, Clone)]
pub struct ChannelAds {
    pub channel_id: ChannelId,
    pub version: i64,
    pub config: AdConfig,
}

/// A stitched partner's ads as the engine uses them: its tag, on the channels it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerAds {
    pub id: i64,
    /// The partner's ad tag (VAST), with the macros of a channel's.
    pub tag: String,
    pub channels: Vec<String>,
}

impl PartnerAds {
    /// The partner's ads, when its feed is stitched.
    pub fn of(id: i64, settings: &PartnerSettings) -> Option<PartnerAds> {
        match &settings.ads {
            AdMode::Stitched { tag } => Some(PartnerAds {
                id,
                tag: tag.clone(),
                channels: settings.channels.clone(),
            }),
            AdMode::Clean { .. } => None,
        }
    }

    pub fn carries(&self, slug: &str) -> bool {
        self.channels.iter().any(|carried| carried == slug)
    }

    /// The settings its sessions on a channel are decided with: the channel's break policy
    /// (lead, freeze, budget, caps, slate…, or the defaults when the channel has no ad
    /// settings, enabled or not) with the partner's tag, always stitched (the partner's players
    /// get no interstitials) and with beacons fired by the server (they never read a tracking
    /// JSON). A tag on this server (`{origin}/…`) may be on a private address.
    pub fn config_over(&self, channel: Option<&AdConfig>) -> AdConfig {
        let base = channel.cloned().unwrap_or_default();
        AdConfig {
            enabled: true,
            tag: self.tag.clone(),
            kind: TagKind::Vast,
            insertion: Insertion::Stitched,
            client_side_beacons: false,
            allow_private: base.allow_private || self.tag.starts_with(ORIGIN),
            ..base
        }
    }
}

/// The engine's handle; share it behind an `Arc`.
pub struct AdEngine {
    pub(crate) control: Control,
    pub(crate) directory: Arc<Directory>,
    pub(crate) sessions: RwLock<HashMap<String, Arc<Session>>>,
    pub(crate) channels: RwLock<HashMap<String, ChannelAds>>,
    /// Stitched partners, by name.
    pub(crate) partners: RwLock<HashMap<String, PartnerAds>>,
    pub(crate) catalogue: RwLock<Arc<Catalogue>>,
    pub(crate) clients: Mutex<HashMap<bool, (AdClient, BeaconSender)>>,
    /// The decisions due, by the moment each is to be made (see `decide.rs`).
    pub(crate) due: Mutex<DueDecisions>,
    /// Woken when decisions are queued.
    pub(crate) wake: tokio::sync::Notify,
    /// What sessions' fills share.
    pub(crate) shared: SharedFills,
    cursor: tokio::sync::Mutex<Option<DecisionCursor>>,
    /// Tests point private-address exceptions here; `None` builds clients from the config.
    pub(crate) client_override: Option<AdClient>,
    /// This server's own URL, for `{origin}` in ad tags.
    origin: RwLock<String>,
}

/// A filled break is forgotten (its fill, not what it added to the discontinuity sequence)
/// this long after it: long out of every playlist window, and out of the tracking JSON.
const FORGET_AFTER: onair_domain::Ticks = onair_domain::Ticks::from_secs(600);

/// Decisions made at once, at most: the workers that take due decisions from the queue.
const CONCURRENT_DECISIONS: usize = 64;

/// Decisions a worker hands to the recorder before it waits for room.
const DECIDED_BACKLOG: usize = 1024;

impl AdEngine {
    pub fn new(control: Control, directory: Arc<Directory>) -> Arc<AdEngine> {
        AdEngine::build(control, directory, None)
    }

    /// An engine whose ad requests and beacons all go through `client`.
    #[doc(hidden)]
    pub fn with_client(
        control: Control,
        directory: Arc<Directory>,
        client: AdClient,
    ) -> Arc<AdEngine> {
        AdEngine::build(control, directory, Some(client))
    }

    fn build(
        control: Control,
        directory: Arc<Directory>,
        client: Option<AdClient>,
    ) -> Arc<AdEngine> {
        Arc::new(AdEngine {
            control,
            directory,
            sessions: RwLock::new(HashMap::new()),
            channels: RwLock::new(HashMap::new()),
            partners: RwLock::new(HashMap::new()),
            catalogue: RwLock::new(Arc::new(Catalogue::default())),
            clients: Mutex::new(HashMap::new()),
            due: Mutex::new(DueDecisions::default()),
            wake: tokio::sync::Notify::new(),
            shared: SharedFills::default(),
            cursor: tokio::sync::Mutex::new(None),
            client_override: client,
            origin: RwLock::new("http://127.0.0.1".into()),
        })
    }

    /// Says what `{origin}` in ad tags stands for: this server's URL, once it listens.
    pub fn set_origin(&self, url: &str) {
        *self.origin.write().unwrap_or_else(PoisonError::into_inner) =
            url.trim_end_matches('/').to_owned();
    }

    pub fn origin(&self) -> String {
        self.origin
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn now(&self) -> Timestamp {
        self.control.clock.now()
    }

    /// The channel's ad settings, when it has some and they are enabled.
    pub fn channel_ads(&self, slug: &str) -> Option<ChannelAds> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(slug)
            .filter(|ads| ads.config.enabled)
            .cloned()
    }

    /// The settings the breaks of a session on `slug` of `partner`'s viewers (`None`: the
    /// channel's own) are decided with, if it gets ads: the channel's when enabled; a stitched
    /// partner's over the channel's ([`PartnerAds::config_over`]) while it carries the channel.
    pub fn session_ads(&self, slug: &str, partner: Option<&str>) -> Option<AdConfig> {
        let channels = self.channels.read().unwrap_or_else(PoisonError::into_inner);
        let channel = channels.get(slug).map(|ads| &ads.config);
        let Some(partner) = partner else {
            return channel.filter(|config| config.enabled).cloned();
        };
        let partners = self.partners.read().unwrap_or_else(PoisonError::into_inner);
        let partner = partners.get(partner).filter(|ads| ads.carries(slug))?;
        Some(partner.config_over(channel))
    }

    /// Every channel's own viewers' settings (when enabled) and every stitched partner's on each
    /// channel it carries: what breaks are planned for, by channel and partner.
    pub(crate) fn audiences(&self) -> Vec<(String, Option<String>, AdConfig)> {
        let channels = self.channels.read().unwrap_or_else(PoisonError::into_inner);
        let partners = self.partners.read().unwrap_or_else(PoisonError::into_inner);
        let own = channels
            .iter()
            .filter(|(_, ads)| ads.config.enabled)
            .map(|(slug, ads)| (slug.clone(), None, ads.config.clone()));
        let stitched = partners.iter().flat_map(|(name, partner)| {
            partner.channels.iter().map(|slug| {
                let channel = channels.get(slug).map(|ads| &ads.config);
                (
                    slug.clone(),
                    Some(name.clone()),
                    partner.config_over(channel),
                )
            })
        });
        own.chain(stitched).collect()
    }

    /// The channel as it airs now.
    pub fn playout(&self, slug: &str) -> Option<Arc<ChannelPlayout>> {
        self.directory.get(slug)
    }

    pub(crate) fn clients(&self, allow_private: bool) -> Result<(AdClient, BeaconSender), Refusal> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pair) = clients.get(&allow_private) {
            return Ok(pair.clone());
        }
        let client = match &self.client_override {
            Some(client) => client.clone(),
            None => AdClient::new(allow_private)
                .map_err(|error| Refusal::Internal(format!("no HTTP client for ads: {error}")))?,
        };
        let sender = BeaconSender::new(&client);
        clients.insert(allow_private, (client.clone(), sender.clone()));
        Ok((client, sender))
    }

    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The catalogue with `ids` in it, loading those it lacks from the store.
    pub(crate) async fn catalogue_with(&self, ids: &[AssetId]) -> Result<Arc<Catalogue>, Refusal> {
        let current = self.catalogue();
        let missing: Vec<AssetId> = ids
            .iter()
            .copied()
            .filter(|id| !current.assets.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            return Ok(current);
        }
        let loaded = self.control.store.assets_by_ids(&missing).await?;
        let mut catalogue = self
            .catalogue
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let grown = Arc::new(catalogue.with(loaded));
        *catalogue = grown.clone();
        Ok(grown)
    }

    // -----------------------------------------------------------------------------------------
    // Sessions

    /// Starts a session on `slug` for a player with these parameters.
    pub async fn create_session(
        &self,
        slug: &str,
        params: SessionParams,
        client_ip: Option<String>,
        user_agent: Option<String>,
    ) -> Result<Arc<Session>, Refusal> {
        self.start_session(slug, None, params, (client_ip, user_agent))
            .await
    }

    /// Starts a session on `slug` for a player of `partner`, whose ads come from the partner's
    /// tag. The partner's settings as just read are taken at once (the next reload takes them
    /// anyway), so a partner made a moment ago is decided for from its first session. Refused
    /// with 404 unless the partner is stitched and carries the channel.
    pub async fn create_partner_session(
        &self,
        partner: &PartnerAccess,
        slug: &str,
        params: SessionParams,
        client_ip: Option<String>,
        user_agent: Option<String>,
    ) -> Result<Arc<Session>, Refusal> {
        let Some(ads) = PartnerAds::of(partner.id, &partner.settings) else {
            return Err(Refusal::NotFound(format!(
                "partner {}'s feed is clean: it has no ad sessions",
                partner.name
            )));
        };
        if !ads.carries(slug) {
            return Err(Refusal::NotFound(format!(
                "partner {} does not carry channel {slug}",
                partner.name
            )));
        }
        self.partners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(partner.name.clone(), ads);
        let of = SessionPartner {
            id: partner.id,
            name: partner.name.clone(),
        };
        self.start_session(slug, Some(of), params, (client_ip, user_agent))
            .await
    }

    async fn start_session(
        &self,
        slug: &str,
        partner: Option<SessionPartner>,
        params: SessionParams,
        (client_ip, user_agent): (Option<String>, Option<String>),
    ) -> Result<Arc<Session>, Refusal> {
        let playout = self
            .playout(slug)
            .ok_or_else(|| Refusal::NotFound(format!("no channel {slug} is on air")))?;
        let id = new_session_id()?;
        let now = self.now();
        let params_json =
            serde_json::to_string(&params).map_err(|error| Refusal::Internal(error.to_string()))?;
        let channel_id = playout.channel().id;
        self.control
            .store
            .create_ad_session(&NewAdSession {
                id: &id,
                channel_id,
                params: &params_json,
                client_ip: client_ip.as_deref(),
                user_agent: user_agent.as_deref(),
                at: now,
                partner_id: partner.as_ref().map(|partner| partner.id),
            })
            .await?;
        let session = Arc::new(
            Session::new(
                id.clone(),
                slug.to_owned(),
                channel_id,
                params,
                client_ip,
                user_agent,
                now,
            )
            .of_partner(partner),
        );
        session.touch(now);
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, session.clone());
        self.queue_planned(&session);
        Ok(session)
    }

    /// The session `id` of `slug`'s own viewers, from memory or from the store (another
    /// replica's, or ours before a restart), with its decisions. Marks it seen. A partner's
    /// session is unknown here.
    pub async fn session(&self, slug: &str, id: &str) -> Result<Arc<Session>, Refusal> {
        self.session_of(slug, None, id).await
    }

    /// The session `id` of `partner`'s viewers on `slug`, as [`AdEngine::session`] finds it;
    /// the channel's own viewers' sessions and other partners' are unknown here.
    pub async fn partner_session(
        &self,
        partner: &str,
        slug: &str,
        id: &str,
    ) -> Result<Arc<Session>, Refusal> {
        self.session_of(slug, Some(partner), id).await
    }

    /// The session `id` of `slug` whose viewers are `partner`'s (`None`: the channel's own).
    pub async fn session_of(
        &self,
        slug: &str,
        partner: Option<&str>,
        id: &str,
    ) -> Result<Arc<Session>, Refusal> {
        let unknown =
            || Refusal::NotFound(format!("no session {id} on {slug}: it may have expired"));
        if !is_session_id(id) {
            return Err(unknown());
        }
        let held = self
            .sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        let session = match held {
            Some(session) => session,
            None => self.load_session(id).await?.ok_or_else(unknown)?,
        };
        if session.slug != slug || session.partner_name() != partner {
            return Err(unknown());
        }
        session.touch(self.now());
        Ok(session)
    }

    /// How many sessions this replica holds.
    pub fn session_count(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    async fn load_session(&self, id: &str) -> Result<Option<Arc<Session>>, Refusal> {
        let Some(row) = self.control.store.ad_session(id).await? else {
            return Ok(None);
        };
        let Some(channel) = self.control.store.channel(row.channel_id).await? else {
            return Ok(None);
        };
        let params: SessionParams = serde_json::from_str(&row.params).unwrap_or_default();
        let partner = row.partner.map(|(id, name)| SessionPartner { id, name });
        let session = Arc::new(
            Session::new(
                row.id.clone(),
                channel.slug.as_str().to_owned(),
                row.channel_id,
                params,
                row.client_ip,
                row.user_agent,
                row.created_at,
            )
            .of_partner(partner),
        );
        let decisions = self.control.store.ad_decisions_of_session(id).await?;
        for decision in decisions {
            self.attach(&session, &decision).await?;
        }
        let held = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(row.id)
            .or_insert(session)
            .clone();
        self.queue_planned(&held);
        Ok(Some(held))
    }

    /// Adds a stored decision to a session: its fill when it airs ads and was made in time.
    pub(crate) async fn attach(
        &self,
        session: &Session,
        row: &AdDecisionRow,
    ) -> Result<(), Refusal> {
        session.mark_decided(row.break_start);
        let Ok(decision) = serde_json::from_str::<Decision>(&row.fill) else {
            tracing::warn!(session = %session.id, "a stored ad decision is unreadable: its break airs slate");
            return Ok(());
        };
        self.attach_decision(session, row.break_start, row.decided_at, decision)
            .await
    }

    /// Adds a decision to a session, as [`AdEngine::attach`] does, from the decision itself
    /// (the one this replica just stored: not read back).
    pub(crate) async fn attach_decision(
        &self,
        session: &Session,
        break_start: Timestamp,
        decided_at: Timestamp,
        decision: Decision,
    ) -> Result<(), Refusal> {
        session.mark_decided(break_start);
        let freeze = self
            .session_ads(&session.slug, session.partner_name())
            .map_or(AdConfig::default().freeze_seconds, |config| {
                config.freeze_seconds
            });
        if decided_at + onair_domain::Ticks::from_secs(i64::from(freeze)) > break_start {
            return Ok(());
        }
        let ids: Vec<AssetId> = decision
            .ads
            .iter()
            .map(|ad| ad.asset_id)
            .chain(decision.slate.iter().map(|slate| slate.asset_id))
            .collect();
        let catalogue = self.catalogue_with(&ids).await?;
        let prefix = session.tracking_prefix(decision.break_media_sequence);
        if let Some(filled) =
            SessionBreak::build(&decision, break_start, &prefix, catalogue, &self.shared)
        {
            session
                .breaks
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(filled);
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // The loops `serve` runs

    /// Runs until the task is dropped: reloads the ad settings every 5 s, queues the decisions
    /// of the breaks entering their lead window every 500 ms (workers make them when due, one
    /// recorder stores them in batches), catches up with other replicas' decisions every
    /// second, writes when sessions were last seen and forgets idle ones every 30 s.
    pub async fn run(self: Arc<Self>) {
        let (decided, to_record) = tokio::sync::mpsc::channel(DECIDED_BACKLOG);
        // Dropped with this task, which stops them.
        let mut decisions = tokio::task::JoinSet::new();
        for _ in 0..CONCURRENT_DECISIONS {
            decisions.spawn(self.clone().decide_queued(decided.clone()));
        }
        drop(decided);
        decisions.spawn(self.clone().record_decided(to_record));
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            if ticks.is_multiple_of(10)
                && let Err(refusal) = self.reload_configs().await
            {
                tracing::warn!(%refusal, "cannot reload the channels' ad settings");
            }
            if ticks.is_multiple_of(2)
                && let Err(refusal) = self.catch_up().await
            {
                tracing::warn!(%refusal, "cannot read other replicas' ad decisions");
            }
            self.plan_due();
            if ticks % 60 == 30
                && let Err(refusal) = self.housekeeping().await
            {
                tracing::warn!(%refusal, "cannot keep the ad sessions");
            }
            ticks += 1;
        }
    }

    /// Reads every channel's current ad settings.
    pub async fn reload_configs(&self) -> Result<(), Refusal> {
        let stored = self.control.store.ad_configs_current().await?;
        let mut channels = HashMap::new();
        for config in stored {
            let Some(channel) = self.control.store.channel(config.channel_id).await? else {
                continue;
            };
            match parse_document(&config.document) {
                Ok(parsed) => {
                    channels.insert(
                        channel.slug.as_str().to_owned(),
                        ChannelAds {
                            channel_id: channel.id,
                            version: config.version,
                            config: parsed,
                        },
                    );
                }
                Err(refusal) => {
                    tracing::warn!(channel = %channel.slug, %refusal, "ad settings ignored")
                }
            }
        }
        *self
            .channels
            .write()
            .unwrap_or_else(PoisonError::into_inner) = channels;
        self.reload_partners().await
    }

    /// Reads the stitched partners' tags and channels. A session whose partner is gone (its
    /// row went with it) or no longer stitches its channel is forgotten here: its partner's
    /// URLs refuse it, and nothing is decided for it any more.
    async fn reload_partners(&self) -> Result<(), Refusal> {
        let mut partners = HashMap::new();
        for row in self.control.store.partners().await? {
            match serde_json::from_str::<PartnerSettings>(&row.settings) {
                Ok(settings) => {
                    if let Some(ads) = PartnerAds::of(row.id, &settings) {
                        partners.insert(row.name, ads);
                    }
                }
                Err(error) => {
                    tracing::warn!(partner = %row.name, %error, "partner settings unreadable: no ads decided for it")
                }
            }
        }
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, session| {
                session.partner.as_ref().is_none_or(|of| {
                    partners
                        .get(&of.name)
                        .is_some_and(|ads| ads.id == of.id && ads.carries(&session.slug))
                })
            });
        *self
            .partners
            .write()
            .unwrap_or_else(PoisonError::into_inner) = partners;
        Ok(())
    }

    /// Attaches the decisions stored since the last look to the sessions held here.
    pub async fn catch_up(&self) -> Result<(), Refusal> {
        let mut cursor = self.cursor.lock().await;
        loop {
            let since = cursor.clone().unwrap_or_else(|| {
                DecisionCursor::decided_after(self.now() - onair_domain::Ticks::from_secs(3600))
            });
            let rows = self.control.store.ad_decisions_since(&since, 1000).await?;
            let Some(last) = rows.last() else {
                *cursor = Some(since);
                return Ok(());
            };
            let next = DecisionCursor::after(last);
            for row in &rows {
                let session = self
                    .sessions
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&row.session_id)
                    .cloned();
                if let Some(session) = session
                    && !session.has_decision(row.break_start)
                {
                    self.attach(&session, row).await?;
                }
            }
            let full = rows.len() == 1000;
            *cursor = Some(next);
            if !full {
                return Ok(());
            }
        }
    }

    /// Writes when sessions were last seen, and forgets those idle for longer than their
    /// channel allows (here and in the store).
    pub async fn housekeeping(&self) -> Result<(), Refusal> {
        let now = self.now();
        let sessions: Vec<Arc<Session>> = self
            .sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let seen: Vec<String> = sessions
            .iter()
            .filter(|session| session.take_dirty())
            .map(|session| session.id.clone())
            .collect();
        for chunk in seen.chunks(500) {
            self.control.store.touch_ad_sessions(chunk, now).await?;
        }
        let mut expired = Vec::new();
        let mut longest_idle = onair_domain::Ticks::from_secs(300);
        for session in &sessions {
            let idle = onair_domain::Ticks::from_secs(i64::from(
                self.session_ads(&session.slug, session.partner_name())
                    .map_or(300, |config| config.session_idle_seconds),
            ));
            longest_idle = longest_idle.max(idle);
            if session.last_seen() + idle < now {
                expired.push(session.id.clone());
            } else if let Some(playout) = self.playout(&session.slug)
                && let Some(at) = playout.timeline().segment_at(now - FORGET_AFTER)
            {
                session
                    .breaks
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .forget_before(at.media_sequence);
            }
        }
        if !expired.is_empty() {
            let mut held = self
                .sessions
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for id in &expired {
                held.remove(id);
            }
        }
        self.control
            .store
            .expire_ad_sessions(now - longest_idle)
            .await?;
        Ok(())
    }
}
