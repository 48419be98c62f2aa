//! Conformance checks of a channel on air, or of a partner's view of its channels, in process:
//! the channel planned from the store as every replica plans it ([`load_channel`]), its
//! playlists rendered by playout's renderers at a series of instants covering the hours asked
//! (a window every `window_segments - 2` segments, so every segment and every cue tag is seen,
//! most of them in several windows), its EPG as the partner's feed lists it, and what a
//! [`MediaInspector`] measures of a few of the segments; then [`onair_conformance`] judges it.
//! No waiting on the wall clock: the instants are computed, not waited for.
//!
//! A partner's playlists are rendered in its cue dialect ([`PartnerSettings::media_playlist_options`],
//! as its URLs serve them); a channel's as its own URLs serve them. Live slots are rendered as
//! the plan has them (their fallback): which slots air live is decided as they come.
//!
//! A check is costly (a 48-hour one takes seconds and hundreds of MB), so the server runs few at
//! once and each caller starts few a minute ([`limit`]): a check past either limit is refused
//! with [`Refusal::TooMany`], after what is cheap to refuse (the hours, a channel not on air).

mod limit;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use onair_conformance::{
    EpgEntry, EpgObservation, LoudnessMeasure, Observation, PlaylistText, ProfileName, Report,
    SegmentProbe, Snapshot,
};
use onair_domain::{Channel, OutputFormat, Packaging, Ticks, Timestamp};
use onair_playout::{
    ChannelPlayout, MediaPlaylistOptions, render_media_playlist_with, render_multivariant_with,
};
use onair_scheduler::Plan;
use onair_scheduler::epg::partner_feeds::{FeedChannel, PartnerFeed, feed_channel};
use onair_scheduler::epg::xmltv_channel_id;
use serde::Serialize;

use crate::partners::{EpgFormat, PartnerSettings};
use crate::registry::load_channel;
use crate::{Control, Refusal};

pub use limit::{
    BUSY_RETRY_AFTER, CheckPermit, ConformanceLimiter, ConformanceLimits, WINDOW, whole_seconds,
};

/// Hours observed unless the caller says.
pub const DEFAULT_HOURS: u32 = 2;

/// The most hours a check may observe.
pub const MAX_HOURS: u32 = 48;

/// The most segments probed per check (one per distinct asset and rendition, first seen first).
pub const MAX_PROBES: usize = 12;

/// The most segments that open a break probed per check (the first break of each media
/// playlist), for the SCTE-35 they carry as served.
pub const MAX_BREAK_PROBES: usize = 4;

/// The most stretches of audio measured per check (one per distinct asset, top rung).
pub const MAX_LOUDNESS: usize = 4;

/// How long a stretch of aired audio is measured for.
pub const LOUDNESS_SPAN: Ticks = Ticks::from_secs(30);

/// A segment file to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The media playlist that lists it (`360p/ts.m3u8`).
    pub playlist: String,
    /// Its URI there.
    pub segment: String,
    /// The file, relative to the media folder.
    pub path: String,
}

/// Consecutive segment files of one rendition whose audio is measured together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoudnessRequest {
    /// What it is, for the report: `360p/ts.m3u8 seq 120–134 (assets/4/360p/ts)`.
    pub what: String,
    /// The files in airing order, relative to the media folder.
    pub paths: Vec<String>,
}

/// What the control plane cannot measure itself (it links no GStreamer): the binary implements
/// it with `onair-media`. Blocking calls; the control plane runs them off the runtime.
pub trait MediaInspector: Send + Sync + 'static {
    fn probe(&self, request: &ProbeRequest) -> Result<SegmentProbe, String>;
    fn loudness(&self, request: &LoudnessRequest) -> Result<LoudnessMeasure, String>;
}

/// What a check is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// `None`: the partner's (see [`profile_for_partner`]), or the HLS baseline for a channel.
    pub profile: Option<ProfileName>,
    pub hours: u32,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            profile: None,
            hours: DEFAULT_HOURS,
        }
    }
}

/// `text` as a profile, or a refusal naming the field and the profiles there are.
pub fn parse_profile(text: &str) -> Result<ProfileName, Refusal> {
    ProfileName::parse(text).ok_or_else(|| {
        let names: Vec<&str> = ProfileName::ALL.iter().map(|name| name.as_str()).collect();
        Refusal::invalid_field(
            "profile",
            format!("{text:?} is not a profile: {}", names.join(", ")),
        )
    })
}

/// The profile a partner is checked against unless the caller names one: Wurl for a partner
/// that reads the Wurl-style feed, Roku for the Roku-style one, Pluto TV for a partner whose
/// name says `pluto`, else the HLS baseline.
pub fn profile_for_partner(name: &str, settings: &PartnerSettings) -> ProfileName {
    match settings.epg {
        EpgFormat::WurlJson => ProfileName::Wurl,
        EpgFormat::RokuJson => ProfileName::Roku,
        EpgFormat::Xmltv if name.contains("pluto") => ProfileName::Pluto,
        EpgFormat::Xmltv => ProfileName::Hls,
    }
}

/// One channel's check: the report, and what gathering it could not do.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelCheck {
    pub channel: String,
    #[serde(flatten)]
    pub report: Report,
    /// Segments that could not be probed, audio that could not be measured, and why.
    pub notes: Vec<String>,
}

/// A partner's check: every channel it carries that is on air.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerCheck {
    pub partner: String,
    pub profile: ProfileName,
    /// Every carried channel was on air and passed.
    pub passed: bool,
    pub channels: Vec<ChannelCheck>,
    /// Carried channels not on air, not checked.
    pub not_on_air: Vec<String>,
}

/// How a channel's playlists are rendered: its own way, or a partner's.
#[derive(Clone, Copy)]
enum Viewer<'a> {
    Channel,
    Partner(&'a PartnerSettings),
}

impl Control {
    /// Checks channel `slug` as its own URLs serve it, for `who` (a username: the per-caller
    /// limit is theirs). Refused when it is not on air, or past the [`ConformanceLimits`].
    pub async fn check_channel(
        &self,
        slug: &str,
        options: CheckOptions,
        inspector: Option<Arc<dyn MediaInspector>>,
        who: &str,
    ) -> Result<ChannelCheck, Refusal> {
        check_hours(options.hours)?;
        let channel = crate::schedule::channel(&self.store, slug).await?;
        if !channel.on_air || channel.retired {
            return Err(not_on_air(&channel));
        }
        let permit = self.conformance_limiter.admit(who).await?;
        let profile = options.profile.unwrap_or(ProfileName::Hls);
        let feed = match profile {
            ProfileName::Wurl => PartnerFeed::WurlJson,
            ProfileName::Roku => PartnerFeed::RokuJson,
            ProfileName::Hls | ProfileName::Pluto => PartnerFeed::Xmltv,
        };
        self.check_one(
            channel,
            profile,
            options.hours,
            feed,
            Viewer::Channel,
            inspector,
            &permit,
        )
        .await
    }

    /// Checks every channel partner `name` carries, as its URLs serve them, against `options`'
    /// profile or the partner's own, for `who` (one check however many channels). Refused when
    /// none of its channels is on air, or past the [`ConformanceLimits`].
    pub async fn check_partner(
        &self,
        name: &str,
        options: CheckOptions,
        inspector: Option<Arc<dyn MediaInspector>>,
        who: &str,
    ) -> Result<PartnerCheck, Refusal> {
        check_hours(options.hours)?;
        let access = self
            .partner_access(name)
            .await?
            .ok_or_else(|| Refusal::NotFound(format!("there is no partner {name}")))?;
        let settings = access.settings;
        let profile = options
            .profile
            .unwrap_or_else(|| profile_for_partner(name, &settings));
        let feed = match settings.epg {
            EpgFormat::Xmltv => PartnerFeed::Xmltv,
            EpgFormat::WurlJson => PartnerFeed::WurlJson,
            EpgFormat::RokuJson => PartnerFeed::RokuJson,
        };
        let mut on_air = Vec::new();
        let mut not_on_air = Vec::new();
        for slug in &settings.channels {
            let channel = crate::schedule::channel(&self.store, slug).await?;
            if !channel.on_air || channel.retired {
                not_on_air.push(slug.clone());
            } else {
                on_air.push(channel);
            }
        }
        if on_air.is_empty() {
            return Err(Refusal::Conflict(format!(
                "partner {name} carries no channel on air ({}): nothing to check",
                not_on_air.join(", ")
            )));
        }
        let permit = self.conformance_limiter.admit(who).await?;
        let mut channels = Vec::new();
        for channel in on_air {
            let viewer = Viewer::Partner(&settings);
            channels.push(
                self.check_one(
                    channel,
                    profile,
                    options.hours,
                    feed,
                    viewer,
                    inspector.clone(),
                    &permit,
                )
                .await?,
            );
        }
        Ok(PartnerCheck {
            partner: name.to_owned(),
            profile,
            passed: not_on_air.is_empty() && channels.iter().all(|check| check.report.passed),
            channels,
            not_on_air,
        })
    }

    /// One channel's check, its blocking work holding `permit` to its end.
    #[allow(clippy::too_many_arguments)]
    async fn check_one(
        &self,
        channel: Channel,
        profile: ProfileName,
        hours: u32,
        feed: PartnerFeed,
        viewer: Viewer<'_>,
        inspector: Option<Arc<dyn MediaInspector>>,
        permit: &CheckPermit,
    ) -> Result<ChannelCheck, Refusal> {
        let now = self.clock.now();
        let slug = channel.slug.to_string();
        let loaded = load_channel(&self.store, channel, now)
            .await
            .map_err(|error| Refusal::Internal(format!("cannot plan channel {slug}: {error}")))?;
        let (packaging, options) = match viewer {
            Viewer::Channel if loaded.playout.publishes(OutputFormat::HlsTs) => (
                Packaging::Ts,
                MediaPlaylistOptions::ts_with_cues_in_segments(),
            ),
            Viewer::Channel => (Packaging::Cmaf, MediaPlaylistOptions::fmp4()),
            Viewer::Partner(settings) => {
                let packaging = if settings.allows(OutputFormat::HlsTs) {
                    Packaging::Ts
                } else {
                    Packaging::Cmaf
                };
                (packaging, settings.media_playlist_options(packaging))
            }
        };
        if !loaded.playout.publishes(options.output_format()) {
            return Err(Refusal::Conflict(format!(
                "channel {slug} publishes no HLS output to check"
            )));
        }
        let subject = match viewer {
            Viewer::Channel => format!("channel {slug}"),
            Viewer::Partner(_) => format!("channel {slug} as the partner gets it"),
        };
        let playout = loaded.playout;
        let plan = loaded.plan;
        let until = now + Ticks::from_secs(i64::from(hours) * 3600);
        let held = permit.clone();
        let observation = tokio::task::spawn_blocking(move || {
            let _held = held;
            let mut observation = observe_playlists(&playout, packaging, &options, now, until);
            observation.subject = subject;
            observation.epg = Some(observe_epg(&playout, &plan, feed, now));
            (observation, playout)
        })
        .await
        .map_err(|error| Refusal::Internal(format!("the check's rendering failed: {error}")))?;
        let (mut observation, playout) = observation;
        let mut notes = Vec::new();
        if let Some(inspector) = inspector {
            let (probes, loudness) = samples(&observation, &playout);
            let held = permit.clone();
            let measured = tokio::task::spawn_blocking(move || {
                let _held = held;
                measure(&*inspector, &probes, &loudness)
            })
            .await
            .map_err(|error| Refusal::Internal(format!("the media inspection failed: {error}")))?;
            observation.probes = measured.0;
            observation.loudness = measured.1;
            notes = measured.2;
        } else {
            notes.push(
                "no media inspector: segments were not probed nor loudness measured".to_owned(),
            );
        }
        let held = permit.clone();
        let report = tokio::task::spawn_blocking(move || {
            let _held = held;
            onair_conformance::check(profile, &observation)
        })
        .await
        .map_err(|error| Refusal::Internal(format!("the check failed: {error}")))?;
        Ok(ChannelCheck {
            channel: slug,
            report,
            notes,
        })
    }
}

fn check_hours(hours: u32) -> Result<(), Refusal> {
    if (1..=MAX_HOURS).contains(&hours) {
        Ok(())
    } else {
        Err(Refusal::invalid_field(
            "hours",
            format!("{hours}: a check observes 1 to {MAX_HOURS} hours"),
        ))
    }
}

fn not_on_air(channel: &Channel) -> Refusal {
    Refusal::Conflict(format!(
        "channel {} is not on air{}: there is nothing to check",
        channel.slug,
        if channel.retired { " (retired)" } else { "" }
    ))
}

/// The playlists at every instant from `from` to `until`, a window every `window - 2` segments.
fn observe_playlists(
    playout: &ChannelPlayout,
    packaging: Packaging,
    options: &MediaPlaylistOptions,
    from: Timestamp,
    until: Timestamp,
) -> Observation {
    let multivariant = render_multivariant_with(playout, packaging);
    let rungs: Vec<String> = playout
        .ladder()
        .rungs
        .iter()
        .map(|rung| rung.name.clone())
        .collect();
    let name = onair_playout::hls::media_playlist_name(packaging);
    let window = i64::from(playout.channel().window_segments.max(3));
    let step = Ticks(playout.ladder().segment_duration.0.max(1) * (window - 2));
    let mut snapshots = Vec::new();
    let mut at = from;
    while at <= until {
        let media = rungs
            .iter()
            .filter_map(|rung| {
                render_media_playlist_with(playout, rung, at, options).map(|text| PlaylistText {
                    uri: format!("{rung}/{name}"),
                    text,
                })
            })
            .collect();
        snapshots.push(Snapshot {
            taken_at: at,
            multivariant: Some(PlaylistText {
                uri: "master.m3u8".to_owned(),
                text: multivariant.clone(),
            }),
            media,
        });
        at = at + step;
    }
    Observation {
        snapshots,
        ..Observation::default()
    }
}

/// The EPG as `feed` lists the channel at `now`.
fn observe_epg(
    playout: &ChannelPlayout,
    plan: &Plan,
    feed: PartnerFeed,
    now: Timestamp,
) -> EpgObservation {
    let channel = playout.channel();
    let id = xmltv_channel_id(channel.slug.as_str(), "onair.example");
    let listed = feed_channel(
        FeedChannel {
            id: &id,
            display_name: &channel.name,
            icon_url: None,
            plan,
            zone: channel.time_zone,
        },
        feed,
        now,
    );
    let (from, _) =
        onair_scheduler::epg::partner_feeds::local_days(channel.time_zone, now, feed.days());
    EpgObservation {
        format: match feed {
            PartnerFeed::Xmltv => "xmltv",
            PartnerFeed::WurlJson => "wurl-json",
            PartnerFeed::RokuJson => "roku-json",
        }
        .to_owned(),
        from,
        horizon: Ticks::from_secs(feed.days() * 86_400),
        programmes: listed
            .programmes
            .iter()
            .map(|programme| EpgEntry {
                start: programme.start,
                end: programme.stop,
                title: listed.title_of(programme).to_owned(),
            })
            .collect(),
    }
}

/// The file a listed segment URI names, relative to the media folder: after `/media/` (the
/// channel's and a partner's prefix alike), or the path a cued segment's URL ends with
/// (`scte35/{event}/{cue}/{pts}/{duration}/{path}`).
pub fn media_path(uri: &str) -> Option<String> {
    if let Some((_, path)) = uri.rsplit_once("/media/") {
        return Some(path.to_owned());
    }
    let cued = uri.strip_prefix("scte35/")?;
    cued.splitn(5, '/').nth(4).map(str::to_owned)
}

/// The folder of a media path: one asset's rendition.
fn folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// Which segments to probe (the first of each distinct asset and rendition, capped, and the
/// first segment of each playlist's first break, capped) and which stretches of the top rung's audio to measure (the first [`LOUDNESS_SPAN`] of each distinct
/// asset, capped).
fn samples(
    observation: &Observation,
    playout: &ChannelPlayout,
) -> (Vec<ProbeRequest>, Vec<LoudnessRequest>) {
    // Each rendition's segments by sequence number, as listed.
    let mut listed: BTreeMap<&str, BTreeMap<u64, (String, Ticks)>> = BTreeMap::new();
    for snapshot in &observation.snapshots {
        for playlist in &snapshot.media {
            let parsed = onair_conformance::hls::parse_media(&playlist.text);
            let segments = listed.entry(playlist.uri.as_str()).or_default();
            for (index, segment) in parsed.segments.iter().enumerate() {
                segments
                    .entry(parsed.sequence_of(index))
                    .or_insert_with(|| (segment.uri.clone(), segment.duration));
            }
        }
    }
    let mut probes = Vec::new();
    let mut probed: HashSet<String> = HashSet::new();
    for (playlist, segments) in &listed {
        for (uri, _) in segments.values() {
            let Some(path) = media_path(uri) else {
                continue;
            };
            if probes.len() < MAX_PROBES && probed.insert(folder(&path).to_owned()) {
                probes.push(ProbeRequest {
                    playlist: (*playlist).to_owned(),
                    segment: uri.clone(),
                    path,
                });
            }
        }
    }
    // The first segment of each playlist's first break, as listed (a cued URL where the output
    // cues its segments).
    let observed = onair_conformance::observed::Observed::new(observation);
    let mut opened: HashSet<&str> = HashSet::new();
    for (rendition, one) in observed.breaks() {
        if opened.len() >= MAX_BREAK_PROBES || opened.contains(rendition.uri.as_str()) {
            continue;
        }
        let Some(first) = rendition.segments.get(&one.out_sequence) else {
            continue;
        };
        let uri = &first.segment.uri;
        let Some(path) = media_path(uri) else {
            continue;
        };
        opened.insert(rendition.uri.as_str());
        if !probes
            .iter()
            .any(|probe| probe.playlist == rendition.uri && &probe.segment == uri)
        {
            probes.push(ProbeRequest {
                playlist: rendition.uri.clone(),
                segment: uri.clone(),
                path,
            });
        }
    }
    let mut loudness = Vec::new();
    let top = playout
        .ladder()
        .rungs
        .first()
        .map(|rung| rung.name.as_str())
        .unwrap_or("");
    if let Some((playlist, segments)) = listed
        .iter()
        .find(|(uri, _)| uri.starts_with(&format!("{top}/")))
    {
        let mut measured: HashSet<String> = HashSet::new();
        let mut current: Option<(String, u64, u64, Vec<String>, Ticks)> = None;
        let mut previous: Option<u64> = None;
        for (sequence, (uri, duration)) in segments {
            let path = media_path(uri);
            let same = current.as_ref().is_some_and(|(dir, _, _, _, _)| {
                path.as_deref().map(folder) == Some(dir.as_str())
                    && previous.is_some_and(|before| before + 1 == *sequence)
            });
            previous = Some(*sequence);
            if !same {
                current = None;
                if let Some(path) = &path
                    && loudness.len() < MAX_LOUDNESS
                    && measured.insert(folder(path).to_owned())
                {
                    current = Some((
                        folder(path).to_owned(),
                        *sequence,
                        *sequence,
                        Vec::new(),
                        Ticks::ZERO,
                    ));
                }
            }
            let Some((dir, first, last, paths, span)) = &mut current else {
                continue;
            };
            paths.push(path.unwrap_or_default());
            *last = *sequence;
            *span += *duration;
            if *span >= LOUDNESS_SPAN {
                loudness.push(LoudnessRequest {
                    what: format!("{playlist} seq {first}–{last} ({dir})"),
                    paths: std::mem::take(paths),
                });
                current = None;
            }
        }
    }
    (probes, loudness)
}

fn measure(
    inspector: &dyn MediaInspector,
    probes: &[ProbeRequest],
    loudness: &[LoudnessRequest],
) -> (Vec<SegmentProbe>, Vec<LoudnessMeasure>, Vec<String>) {
    let mut notes = Vec::new();
    let mut probed = Vec::new();
    for request in probes {
        match inspector.probe(request) {
            Ok(probe) => probed.push(probe),
            Err(reason) => notes.push(format!("cannot probe {}: {reason}", request.path)),
        }
    }
    let mut measured = Vec::new();
    for request in loudness {
        match inspector.loudness(request) {
            Ok(measure) => measured.push(measure),
            Err(reason) => notes.push(format!(
                "cannot measure the loudness of {}: {reason}",
                request.what
            )),
        }
    }
    (probed, measured, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_paths_come_from_plain_partner_and_cued_uris() {
        assert_eq!(
            media_path("/media/assets/4/360p/ts/00001.ts").as_deref(),
            Some("assets/4/360p/ts/00001.ts")
        );
        assert_eq!(
            media_path("/p/acme/t/9.ab/demo/media/assets/4/360p/ts/00001.ts").as_deref(),
            Some("assets/4/360p/ts/00001.ts")
        );
        assert_eq!(
            media_path("scte35/1/out/4367201632/540000/assets/4/360p/ts/00000.ts").as_deref(),
            Some("assets/4/360p/ts/00000.ts")
        );
        assert_eq!(media_path("elsewhere.ts"), None);
    }
}
