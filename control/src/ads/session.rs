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

use crate::ads::decision::{Decision, Outcome, PlacedAd};
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

/// What many sessions' fills have in common, held once however many sessions air it: the
/// strings every session's decision repeats (creative keys, titles, ids) and the runs of
/// identical fills. Forgotten wholesale past a bound (fills keep what they hold).
#[derive(Debug, Default)]
pub struct SharedFills {
    strings: Mutex<HashSet<Arc<str>>>,
    runs: Mutex<HashMap<Vec<RunKey>, Arc<[Run]>>>,
}

/// What makes a run of a fill: kind, asset, first segment, segments, title.
type RunKey = (bool, AssetId, u32, u32, Arc<str>);

/// Distinct strings or runs kept at most; past it, the table starts again empty.
const SHARED_MAX: usize = 10_000;

impl SharedFills {
    /// `text`, shared with every other holder of the same text.
    pub fn string(&self, text: &str) -> Arc<str> {
        let mut strings = self.strings.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = strings.get(text) {
            return held.clone();
        }
        if strings.len() >= SHARED_MAX {
            strings.clear();
        }
        let held: Arc<str> = Arc::from(text);
        strings.insert(held.clone());
        held
    }

    /// The runs `keys` describe, built once from `catalogue`; `None` when it lacks a track.
    fn runs(&self, keys: Vec<RunKey>, catalogue: &Catalogue) -> Option<Arc<[Run]>> {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = runs.get(&keys) {
            return Some(held.clone());
        }
        let built: Arc<[Run]> = keys
            .iter()
            .map(|(ad, asset_id, first_segment, n_segments, title)| {
                let track = catalogue.tracks.get(asset_id)?.clone();
                let kind = if *ad {
                    RunKind::AdBreak
                } else {
                    RunKind::Slate
                };
                Some(Run {
                    first_segment: *first_segment,
                    n_segments: *n_segments,
                    ..Run::whole(kind, *asset_id, &**title, track)
                })
            })
            .collect::<Option<_>>()?;
        if runs.len() >= SHARED_MAX {
            runs.clear();
        }
        runs.insert(keys, built.clone());
        Some(built)
    }
}

/// The beacon URLs of an ad's six server-side events ([`ad_events`]), held compactly: each URL
/// is written as what it shares with the one before (the length of the common start and of
/// the common end) and the bytes between, so the scheme, host, path and session id that an ad
/// server repeats in every URL are held once. The events no server fires (pause, mute…) are
/// in the stored decision only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BeaconUrls {
    coded: Box<[u8]>,
    /// How many URLs each event has, in [`ad_events`] order.
    counts: [u16; 6],
}

impl BeaconUrls {
    /// The URLs of `ad`'s events, from its impressions and tracking.
    pub fn of(ad: &PlacedAd) -> BeaconUrls {
        let mut coded = Vec::new();
        let mut counts = [0u16; 6];
        let mut previous: &[u8] = &[];
        for (count, (event, _)) in counts.iter_mut().zip(ad_events(Ticks::ZERO)) {
            let urls = if event == "impression" {
                &ad.impressions
            } else {
                ad.tracking.get(event).map_or(&[][..], Vec::as_slice)
            };
            for url in urls.iter().take(usize::from(u16::MAX)) {
                let url = url.as_bytes();
                let prefix = common_prefix(previous, url);
                let suffix = common_prefix_rev(&previous[prefix..], &url[prefix..]);
                push_varint(&mut coded, prefix);
                push_varint(&mut coded, suffix);
                push_varint(&mut coded, url.len() - prefix - suffix);
                coded.extend_from_slice(&url[prefix..url.len() - suffix]);
                previous = url;
                *count += 1;
            }
        }
        BeaconUrls {
            coded: coded.into_boxed_slice(),
            counts,
        }
    }

    /// The URLs of `event`, in the order the ad server gave them.
    pub fn urls(&self, event: &str) -> Vec<String> {
        let Some(index) = ad_events(Ticks::ZERO)
            .iter()
            .position(|(name, _)| *name == event)
        else {
            return Vec::new();
        };
        let before: usize = self.counts[..index].iter().copied().map(usize::from).sum();
        let wanted = usize::from(self.counts[index]);
        let mut urls = Vec::with_capacity(wanted);
        let mut previous: Vec<u8> = Vec::new();
        let mut at = 0;
        for position in 0..before + wanted {
            let (Some(prefix), Some(suffix), Some(middle)) = (
                read_varint(&self.coded, &mut at),
                read_varint(&self.coded, &mut at),
                read_varint(&self.coded, &mut at),
            ) else {
                break;
            };
            let mut url = Vec::with_capacity(prefix + middle + suffix);
            url.extend_from_slice(&previous[..prefix]);
            url.extend_from_slice(&self.coded[at..at + middle]);
            url.extend_from_slice(&previous[previous.len() - suffix..]);
            at += middle;
            if position >= before {
                urls.push(String::from_utf8_lossy(&url).into_owned());
            }
            previous = url;
        }
        urls
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_prefix_rev(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// `value` in LEB128: seven bits a byte, the low ones first.
fn push_varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<usize> {
    let mut value = 0usize;
    for shift in (0..usize::BITS).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// What a session keeps of an ad it airs: what the tracking JSON lists and its beacons fire.
#[derive(Debug, Clone)]
pub struct AiredAd {
    pub asset_id: AssetId,
    pub creative_key: Arc<str>,
    pub ad_id: Option<Arc<str>>,
    pub title: Option<Arc<str>>,
    pub duration_ms: i64,
    /// For `[ADSERVINGID]` and `[UNIVERSALADID]` in the beacons.
    pub ad_serving_id: Option<Box<str>>,
    pub universal_ad_id: Option<Arc<str>>,
    pub beacons: BeaconUrls,
}

/// One break of a session as it airs: the fill, and what it keeps of the decision it came
/// from (the stored decision has the rest: ads skipped, errors fired, other events' URLs).
#[derive(Debug)]
pub struct SessionBreak {
    pub first_media_sequence: u64,
    pub n_segments: u64,
    pub start: Timestamp,
    /// Shared with every session airing the same fill.
    pub runs: Arc<[Run]>,
    pub tracking: Vec<Option<String>>,
    /// Discontinuities the fill adds against the planned break.
    pub added: i64,
    pub catalogue: Arc<Catalogue>,
    pub break_duration_ms: i64,
    pub slate_ms: i64,
    pub ads: Box<[AiredAd]>,
}

impl SessionBreak {
    /// The fill of `decision` for the break starting at `start`, its ads fetched through
    /// `{prefix}{position}/`, what it shares with other sessions' fills taken from `shared`;
    /// `None` when the decision airs nothing (the planned break airs) or names an asset the
    /// catalogue lacks.
    pub fn build(
        decision: &Decision,
        start: Timestamp,
        prefix: &str,
        catalogue: Arc<Catalogue>,
        shared: &SharedFills,
    ) -> Option<SessionBreak> {
        if decision.outcome != Outcome::Filled || decision.ads.is_empty() {
            return None;
        }
        let mut keys = Vec::with_capacity(decision.ads.len() + decision.slate.len());
        let mut tracking = Vec::with_capacity(keys.capacity());
        let mut ads = Vec::with_capacity(decision.ads.len());
        for (position, ad) in decision.ads.iter().enumerate() {
            let track = catalogue.tracks.get(&ad.asset_id)?;
            if track.len() != ad.n_segments {
                return None;
            }
            let title = shared.string(ad.title.as_deref().unwrap_or(&ad.creative_key));
            keys.push((true, ad.asset_id, 0, ad.n_segments, title));
            tracking.push(Some(format!("{prefix}{position}/")));
            ads.push(AiredAd {
                asset_id: ad.asset_id,
                creative_key: shared.string(&ad.creative_key),
                ad_id: ad.ad_id.as_deref().map(|id| shared.string(id)),
                title: ad.title.as_deref().map(|title| shared.string(title)),
                duration_ms: ad.duration_ms,
                ad_serving_id: ad.ad_serving_id.as_deref().map(Box::from),
                universal_ad_id: ad.universal_ad_id.as_deref().map(|id| shared.string(id)),
                beacons: BeaconUrls::of(ad),
            });
        }
        for slate in &decision.slate {
            keys.push((
                false,
                slate.asset_id,
                slate.first_segment,
                slate.n_segments,
                shared.string("Slate"),
            ));
            tracking.push(None);
        }
        let total: u64 = keys.iter().map(|key| u64::from(key.3)).sum();
        if total != decision.break_segments {
            return None;
        }
        let runs = shared.runs(keys, &catalogue)?;
        Some(SessionBreak {
            first_media_sequence: decision.break_media_sequence,
            n_segments: decision.break_segments,
            start,
            added: runs.len() as i64 - i64::from(decision.break_runs),
            runs,
            tracking,
            catalogue,
            break_duration_ms: decision.break_duration_ms,
            slate_ms: decision.slate_ms,
            ads: ads.into_boxed_slice(),
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

/// The stitched partner whose viewers a session serves: its ads come from the partner's tag,
/// and it is served only under the partner's URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPartner {
    /// `partners.id`: what the stored session names.
    pub id: i64,
    /// The `{partner}` of its URLs.
    pub name: String,
}

/// A viewing session.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub slug: String,
    pub channel_id: ChannelId,
    /// `None`: a session of the channel's own viewers.
    pub partner: Option<SessionPartner>,
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
            partner: None,
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

    /// This session, of `partner`'s viewers (`None`: the channel's own).
    pub fn of_partner(self, partner: Option<SessionPartner>) -> Session {
        Session { partner, ..self }
    }

    /// The name of the partner whose viewers it serves, if any.
    pub fn partner_name(&self) -> Option<&str> {
        self.partner.as_ref().map(|partner| partner.name.as_str())
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
    /// through; positions follow. A partner's session's is under the partner's prefix
    /// (unsigned: its routes put the request's token in).
    pub fn tracking_prefix(&self, break_media_sequence: u64) -> String {
        let base = match &self.partner {
            Some(partner) => format!("/p/{}/{}", partner.name, self.slug),
            None => format!("/channels/{}", self.slug),
        };
        format!("{base}/sessions/{}/ads/{break_media_sequence}/", self.id)
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
            for ad in &filled.ads {
                *counts.entry(ad.creative_key.to_string()).or_insert(0) += 1;
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

    fn placed_ad(asset: i64, sid: &str) -> PlacedAd {
        let url = |event: &str| format!("https://ads.example/b?e={event}&sid={sid}");
        PlacedAd {
            asset_id: AssetId(asset),
            creative_key: format!("key-{asset}"),
            ad_id: Some(format!("ad-{asset}")),
            title: Some(format!("Ad {asset}")),
            duration_ms: 4000,
            n_segments: 2,
            impressions: vec![url("impression"), url("wrapper-impression")],
            tracking: BTreeMap::from([
                ("start".to_owned(), vec![url("start")]),
                ("midpoint".to_owned(), vec![url("midpoint")]),
                ("pause".to_owned(), vec![url("pause")]),
                (
                    "complete".to_owned(),
                    vec![url("complete"), url("wrapper-complete")],
                ),
            ]),
            error_urls: vec![url("error")],
            ad_serving_id: Some(format!("{sid}-{asset}")),
            universal_ad_id: None,
        }
    }

    #[test]
    fn an_ads_beacon_urls_read_back_per_event_in_order_and_only_the_six_fired_events_are_kept() {
        let urls = BeaconUrls::of(&placed_ad(1, "s1"));
        let url = |event: &str| format!("https://ads.example/b?e={event}&sid=s1");
        assert_eq!(
            urls.urls("impression"),
            [url("impression"), url("wrapper-impression")]
        );
        assert_eq!(urls.urls("start"), [url("start")]);
        assert!(urls.urls("firstQuartile").is_empty());
        assert_eq!(urls.urls("midpoint"), [url("midpoint")]);
        assert!(urls.urls("thirdQuartile").is_empty());
        assert_eq!(
            urls.urls("complete"),
            [url("complete"), url("wrapper-complete")]
        );
        assert!(urls.urls("pause").is_empty());
    }

    #[test]
    fn beacon_urls_read_back_exactly_whatever_they_share() {
        let long = format!("https://ads.example/{}", "x".repeat(300));
        let cases: Vec<Vec<String>> = vec![
            vec![],
            vec!["https://a.example/i".into(), "https://a.example/i".into()],
            vec![
                "https://a.example/é?x=ü".into(),
                "https://a.example/è?x=ü".into(),
            ],
            vec![
                long.clone(),
                format!("{long}/more"),
                "b".into(),
                String::new(),
            ],
        ];
        for impressions in cases {
            let ad = PlacedAd {
                impressions: impressions.clone(),
                tracking: BTreeMap::from([("complete".to_owned(), impressions.clone())]),
                ..placed_ad(1, "s1")
            };
            let urls = BeaconUrls::of(&ad);
            assert_eq!(urls.urls("impression"), impressions);
            assert_eq!(urls.urls("complete"), impressions);
        }
    }

    fn catalogue_of(ids: &[i64]) -> Arc<Catalogue> {
        let mut catalogue = Catalogue::default();
        for id in ids {
            catalogue.tracks.insert(
                AssetId(*id),
                Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); 2])),
            );
        }
        Arc::new(catalogue)
    }

    fn filled(sid: &str) -> Decision {
        Decision {
            break_media_sequence: 100,
            break_segments: 5,
            break_runs: 1,
            break_duration_ms: 10_000,
            outcome: Outcome::Filled,
            ads: vec![placed_ad(1, sid), placed_ad(2, sid)],
            slate: vec![crate::ads::decision::SlateRun {
                asset_id: AssetId(9),
                first_segment: 0,
                n_segments: 1,
            }],
            slate_ms: 2000,
            returned: 2,
            skipped: Vec::new(),
            errors: Vec::new(),
            elapsed_ms: 3,
        }
    }

    #[test]
    fn sessions_airing_the_same_ads_share_their_runs_and_keep_their_own_beacons() {
        let (shared, catalogue) = (SharedFills::default(), catalogue_of(&[1, 2, 9]));
        let start = Timestamp::from_unix_secs(1_000);
        let one =
            SessionBreak::build(&filled("s1"), start, "/s1/", catalogue.clone(), &shared).unwrap();
        let two = SessionBreak::build(&filled("s2"), start, "/s2/", catalogue, &shared).unwrap();
        assert!(Arc::ptr_eq(&one.runs, &two.runs));
        assert!(Arc::ptr_eq(
            &one.ads[0].creative_key,
            &two.ads[0].creative_key
        ));
        assert_eq!(one.runs.len(), 3);
        assert_eq!(one.added, 2);
        assert_eq!(
            one.tracking,
            [Some("/s1/0/".into()), Some("/s1/1/".into()), None]
        );
        assert_eq!(
            two.ads[1].beacons.urls("start"),
            ["https://ads.example/b?e=start&sid=s2"]
        );
        assert_eq!(two.ads[1].ad_serving_id.as_deref(), Some("s2-2"));
    }

    #[test]
    fn a_decision_naming_an_asset_the_catalogue_lacks_airs_the_planned_break() {
        let shared = SharedFills::default();
        let start = Timestamp::from_unix_secs(1_000);
        assert!(
            SessionBreak::build(&filled("s1"), start, "/s1/", catalogue_of(&[1, 2]), &shared)
                .is_none()
        );
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
