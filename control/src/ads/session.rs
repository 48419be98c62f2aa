//! Viewing sessions: who a session is (its channel, the player's parameters, address and
//! agent), and what its breaks air. A session's fills are built from its stored decisions and
//! the catalogue of ready creatives; [`SessionBreaks`] is the [`BreakFill`] its manifests are
//! rendered with.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use onair_domain::{
    Asset, AssetId, BreakAiring, ChannelId, Run, RunKind, SegmentTrack, Ticks, Timestamp,
};
use onair_playout::{BreakFill, Fill};

use crate::ads::decision::{Decision, Outcome};
use crate::refusal::Refusal;

/// At most this many session parameters.
pub const MAX_PARAMS: usize = 32;
/// A parameter's value is at most this long.
pub const MAX_VALUE_LEN: usize = 512;

/// The player's session parameters (`?aid=…&us_privacy=…`), passed to the ad tag template as
/// `{param.NAME}`.
pub type SessionParams = BTreeMap<String, String>;

/// Checks the parameters a player sent: names of letters, digits, `_`, `-`, `.` (at most 64),
/// values of at most 512 printable characters, at most 32 of them, no name twice.
pub fn parse_params(pairs: &[(String, String)]) -> Result<SessionParams, Refusal> {
    if pairs.len() > MAX_PARAMS {
        return Err(Refusal::BadRequest(format!(
            "a session takes at most {MAX_PARAMS} parameters, not {}",
            pairs.len()
        )));
    }
    let mut params = SessionParams::new();
    for (name, value) in pairs {
        let good_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
        if !good_name {
            return Err(Refusal::BadRequest(format!(
                "session parameter {name:?}: a name is 1 to 64 letters, digits, '_', '-' or '.'"
            )));
        }
        if value.len() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
            return Err(Refusal::BadRequest(format!(
                "session parameter {name}: a value is at most {MAX_VALUE_LEN} printable characters"
            )));
        }
        if params.insert(name.clone(), value.clone()).is_some() {
            return Err(Refusal::BadRequest(format!(
                "session parameter {name} is given twice"
            )));
        }
    }
    Ok(params)
}

/// A new session id: 128 random bits as 32 hex digits.
pub fn new_session_id() -> Result<String, Refusal> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|error| Refusal::Internal(format!("no randomness for a session id: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Whether `id` looks like a session id (so a stray path never reaches the database).
pub fn is_session_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The creatives and slates sessions air, with their segment tracks; shared by every session
/// (each fill keeps the snapshot it was built from).
#[derive(Debug, Default)]
pub struct Catalogue {
    pub assets: HashMap<AssetId, Asset>,
    pub tracks: HashMap<AssetId, Arc<SegmentTrack>>,
}

impl Catalogue {
    /// This catalogue with `more` added.
    pub fn with(&self, more: Vec<Asset>) -> Catalogue {
        let mut assets = self.assets.clone();
        let mut tracks = self.tracks.clone();
        for asset in more {
            tracks.insert(
                asset.id,
                Arc::new(SegmentTrack::new(asset.segment_durations())),
            );
            assets.insert(asset.id, asset);
        }
        Catalogue { assets, tracks }
    }
}

/// One break of a session as it airs: the fill and the decision it came from.
#[derive(Debug)]
pub struct SessionBreak {
    pub first_media_sequence: u64,
    pub n_segments: u64,
    pub start: Timestamp,
    pub runs: Vec<Run>,
    pub tracking: Vec<Option<String>>,
    /// Discontinuities the fill adds against the planned break.
    pub added: i64,
    pub catalogue: Arc<Catalogue>,
    pub decision: Arc<Decision>,
}

impl SessionBreak {
    /// The fill of `decision` for the break starting at `start`, its ads fetched through
    /// `{prefix}{position}/`; `None` when the decision airs nothing (the planned break airs)
    /// or names an asset the catalogue lacks.
    pub fn build(
        decision: Arc<Decision>,
        start: Timestamp,
        prefix: &str,
        catalogue: Arc<Catalogue>,
    ) -> Option<SessionBreak> {
        if decision.outcome != Outcome::Filled || decision.ads.is_empty() {
            return None;
        }
        let mut runs = Vec::with_capacity(decision.ads.len() + decision.slate.len());
        let mut tracking = Vec::with_capacity(runs.capacity());
        for (position, ad) in decision.ads.iter().enumerate() {
            let track = catalogue.tracks.get(&ad.asset_id)?.clone();
            if track.len() != ad.n_segments {
                return None;
            }
            let title = ad.title.clone().unwrap_or_else(|| ad.creative_key.clone());
            runs.push(Run::whole(RunKind::AdBreak, ad.asset_id, title, track));
            tracking.push(Some(format!("{prefix}{position}/")));
        }
        for slate in &decision.slate {
            let track = catalogue.tracks.get(&slate.asset_id)?.clone();
            runs.push(Run {
                first_segment: slate.first_segment,
                n_segments: slate.n_segments,
                ..Run::whole(RunKind::Slate, slate.asset_id, "Slate", track)
            });
            tracking.push(None);
        }
        let total: u64 = runs.iter().map(|run| u64::from(run.n_segments)).sum();
        if total != decision.break_segments {
            return None;
        }
        Some(SessionBreak {
            first_media_sequence: decision.break_media_sequence,
            n_segments: decision.break_segments,
            start,
            added: runs.len() as i64 - i64::from(decision.break_runs),
            runs,
            tracking,
            catalogue,
            decision,
        })
    }
}

/// A session's filled breaks, in airing order: the [`BreakFill`] of its manifests.
#[derive(Debug, Default)]
pub struct SessionBreaks {
    breaks: Vec<SessionBreak>,
    /// What the breaks forgotten for their age added.
    forgotten_shift: i64,
}

impl SessionBreaks {
    /// Adds a break; one already there (same first segment) is kept: decisions never change.
    pub fn insert(&mut self, filled: SessionBreak) -> bool {
        match self
            .breaks
            .binary_search_by_key(&filled.first_media_sequence, |b| b.first_media_sequence)
        {
            Ok(_) => false,
            Err(position) => {
                self.breaks.insert(position, filled);
                true
            }
        }
    }

    pub fn get(&self, first_media_sequence: u64) -> Option<&SessionBreak> {
        self.breaks
            .binary_search_by_key(&first_media_sequence, |b| b.first_media_sequence)
            .ok()
            .map(|position| &self.breaks[position])
    }

    pub fn iter(&self) -> impl Iterator<Item = &SessionBreak> {
        self.breaks.iter()
    }

    /// Forgets breaks that ended before `before` (long out of every window), keeping what they
    /// added to the discontinuity sequence.
    pub fn forget_before(&mut self, before: u64) {
        let keep_from = self
            .breaks
            .partition_point(|b| b.first_media_sequence + b.n_segments <= before);
        for gone in self.breaks.drain(..keep_from) {
            self.forgotten_shift += gone.added;
        }
    }
}

impl BreakFill for SessionBreaks {
    fn fill(&self, airing: &BreakAiring) -> Option<Fill<'_>> {
        let filled = self.get(airing.first_media_sequence)?;
        (filled.start == airing.start && filled.n_segments == airing.n_segments).then(|| Fill {
            runs: &filled.runs,
            assets: &filled.catalogue.assets,
            tracking: &filled.tracking,
        })
    }

    fn discontinuity_shift(&self, media_sequence: u64) -> i64 {
        self.forgotten_shift
            + self
                .breaks
                .iter()
                .take_while(|b| b.first_media_sequence + b.n_segments <= media_sequence)
                .map(|b| b.added)
                .sum::<i64>()
    }
}

/// A beacon to fire: the event of an ad of a break, with its URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBeacon {
    pub break_start: Timestamp,
    pub position: u32,
    pub event: &'static str,
    pub urls: Vec<String>,
}

/// A viewing session.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub slug: String,
    pub channel_id: ChannelId,
    pub params: SessionParams,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    /// Unix milliseconds of the last request that named it.
    last_seen: AtomicI64,
    /// Whether it was seen since the store last heard of it.
    dirty: AtomicBool,
    pub breaks: RwLock<SessionBreaks>,
    /// Break starts (ticks) a decision is stored for, used or not: never decided twice.
    pub decided: Mutex<HashSet<i64>>,
    /// Beacons claimed here, by (break start, ad position, event).
    pub(crate) claimed: Mutex<HashSet<(i64, u32, &'static str)>>,
    /// Held while a fetch claims its events, so they are queued in the order they happen.
    pub(crate) claiming: tokio::sync::Mutex<()>,
    /// Beacons waiting to be fired, in the order they were claimed, and whether a task is
    /// firing them.
    pub(crate) queue: Mutex<(VecDeque<PendingBeacon>, bool)>,
}

impl Session {
    pub fn new(
        id: String,
        slug: String,
        channel_id: ChannelId,
        params: SessionParams,
        client_ip: Option<String>,
        user_agent: Option<String>,
        created_at: Timestamp,
    ) -> Session {
        Session {
            id,
            slug,
            channel_id,
            params,
            client_ip,
            user_agent,
            created_at,
            last_seen: AtomicI64::new(created_at.unix_millis()),
            dirty: AtomicBool::new(false),
            breaks: RwLock::new(SessionBreaks::default()),
            decided: Mutex::new(HashSet::new()),
            claimed: Mutex::new(HashSet::new()),
            claiming: tokio::sync::Mutex::new(()),
            queue: Mutex::new((VecDeque::new(), false)),
        }
    }

    pub fn touch(&self, now: Timestamp) {
        self.last_seen
            .fetch_max(now.unix_millis(), Ordering::Relaxed);
        self.dirty.store(true, Ordering::Relaxed);
    }

    pub fn last_seen(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.last_seen.load(Ordering::Relaxed))
    }

    /// Whether it was seen since the last call (which clears it).
    pub(crate) fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::Relaxed)
    }

    /// The URL prefix the ads of the break starting at `break_media_sequence` are fetched
    /// through; positions follow.
    pub fn tracking_prefix(&self, break_media_sequence: u64) -> String {
        format!(
            "/channels/{}/sessions/{}/ads/{break_media_sequence}/",
            self.slug, self.id
        )
    }

    /// Whether a decision for the break starting at `start` is stored (or being made).
    pub fn has_decision(&self, start: Timestamp) -> bool {
        self.decided
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&start.0)
    }

    /// Marks the break starting at `start` decided; false when it already was.
    pub fn mark_decided(&self, start: Timestamp) -> bool {
        self.decided
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(start.0)
    }

    pub fn unmark_decided(&self, start: Timestamp) {
        self.decided
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&start.0);
    }

    /// How many times each creative aired in this session's breaks since `since`.
    pub fn creative_airings_since(&self, since: Timestamp) -> HashMap<String, u32> {
        let breaks = self.breaks.read().unwrap_or_else(PoisonError::into_inner);
        let mut counts = HashMap::new();
        for filled in breaks.iter().filter(|b| b.start >= since) {
            for ad in &filled.decision.ads {
                *counts.entry(ad.creative_key.clone()).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// The tracking events of an ad, in the order they fire, with the offset (from the ad's
/// start) each fires at: impression and start at 0, the quartiles, complete at the end.
pub fn ad_events(duration: Ticks) -> [(&'static str, Ticks); 6] {
    let quarter = Ticks(duration.0 / 4);
    [
        ("impression", Ticks::ZERO),
        ("start", Ticks::ZERO),
        ("firstQuartile", quarter),
        ("midpoint", Ticks(duration.0 / 2)),
        ("thirdQuartile", Ticks(quarter.0 * 3)),
        ("complete", duration),
    ]
}

/// The events a fetch of segment `index` of an ad fires: those at or before the segment's
/// end (the ones inside it, and any a player joining late skipped), `complete` only with the
/// last segment.
pub fn events_through(track: &SegmentTrack, index: u32) -> Vec<&'static str> {
    let duration = track.start(track.len());
    let end = track.start(index + 1);
    let last = index + 1 >= track.len();
    ad_events(duration)
        .into_iter()
        .filter(|(event, offset)| {
            if *event == "complete" {
                last
            } else {
                *offset < end || (last && *offset <= end)
            }
        })
        .map(|(event, _)| event)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn player_parameters_become_session_parameters() {
        let params = parse_params(&pairs(&[("aid", "42"), ("us_privacy", "1YNN")])).unwrap();
        assert_eq!(params["aid"], "42");
    }

    #[test]
    fn a_bad_parameter_is_refused_with_its_name() {
        let refusal = parse_params(&pairs(&[("bad name", "x")])).unwrap_err();
        assert!(refusal.to_string().contains("\"bad name\""), "{refusal}");
        assert!(parse_params(&pairs(&[("a", "x"), ("a", "y")])).is_err());
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert!(parse_params(&pairs(&[("a", &long)])).is_err());
    }

    #[test]
    fn session_ids_are_random_hex_and_recognised() {
        let (a, b) = (new_session_id().unwrap(), new_session_id().unwrap());
        assert_ne!(a, b);
        assert!(is_session_id(&a));
        assert!(!is_session_id("../../etc/passwd"));
    }

    #[test]
    fn quartiles_fire_with_the_segment_that_contains_them_and_complete_with_the_last() {
        // A 10 s ad in five 2 s segments: quartiles at 2.5 s, 5 s, 7.5 s.
        let track = SegmentTrack::new(vec![Ticks::from_secs(2); 5]);
        assert_eq!(events_through(&track, 0), ["impression", "start"]);
        assert_eq!(
            events_through(&track, 1),
            ["impression", "start", "firstQuartile"]
        );
        assert_eq!(
            events_through(&track, 2),
            ["impression", "start", "firstQuartile", "midpoint"]
        );
        assert_eq!(events_through(&track, 4).last(), Some(&"complete"));
        assert!(!events_through(&track, 3).contains(&"complete"));
    }
}
