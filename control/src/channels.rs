//! Channels a user manages: create, edit, retire, list and show, with every field checked and
//! every problem named by its field.
//!
//! - **Create** takes a slug (URL-safe, unique), a name, an IANA time zone, a ladder by name
//!   (a built-in one, `fast` or `demo`, is created on first use), outputs (`hls-ts`, `hls-fmp4`,
//!   `dash`), a playout window in segments (3 to 60), and optionally a slate and filler assets,
//!   each ready and encoded to the channel's ladder. A channel is created on air unless told
//!   otherwise: with no schedule it loops its slate until it gets one.
//! - **Edit** changes any of them but the slug. Changing the ladder of a channel on air is
//!   refused (its assets and players' playlists are that ladder's): take it off air first.
//! - **Retire** deletes a channel that never had a schedule, a grid or an as-run log; one that
//!   has is retired instead: off air for good, its schedule and as-run log kept, its slug taken.

use std::collections::HashMap;

use chrono_tz::Tz;
use onair_domain::{AssetId, AssetState, Channel, ChannelSlug, Ladder, OutputFormat};
use onair_store::{ChannelChanges, ChannelPlayoutAssets, NewChannel, StoreError};

use crate::schedule::channel;
use crate::{Control, Problem, Refusal};

/// The playout window a channel gets unless told otherwise, in segments.
pub const DEFAULT_WINDOW_SEGMENTS: u32 = 10;
/// The shortest and longest playout window, in segments.
pub const WINDOW_SEGMENTS: std::ops::RangeInclusive<u32> = 3..=60;

/// A channel to create, as a user gives it (text, checked here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelSpec {
    pub slug: String,
    pub name: String,
    /// An IANA zone name; `UTC` when absent.
    pub time_zone: Option<String>,
    /// A ladder by name; `fast` when absent.
    pub ladder: Option<String>,
    /// `hls-ts`, `hls-fmp4`, `dash`; all three when absent.
    pub outputs: Option<Vec<String>>,
    pub window_segments: Option<u32>,
    pub slate: Option<i64>,
    pub filler: Vec<i64>,
    /// `true` unless told otherwise.
    pub on_air: Option<bool>,
}

/// An edit of a channel: each field given replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelEdit {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub ladder: Option<String>,
    pub outputs: Option<Vec<String>>,
    pub window_segments: Option<u32>,
    /// `Some(None)`: back to the generated slate.
    pub slate: Option<Option<i64>>,
    pub filler: Option<Vec<i64>>,
    pub on_air: Option<bool>,
}

/// A channel with what a listing shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    pub channel: Channel,
    pub ladder: String,
    pub schedule_version: i64,
}

/// What [`Control::retire_channel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirement {
    /// Nothing was ever scheduled on it: it is gone.
    Deleted,
    /// It has a schedule, a grid or an as-run log: off air for good, all of it kept.
    Retired,
}

impl Control {
    /// Every channel, retired ones included (`channel.retired` tells), by slug.
    pub async fn channels(&self) -> Result<Vec<ChannelInfo>, Refusal> {
        let versions: HashMap<_, _> = self.store.schedule_versions().await?.into_iter().collect();
        let ladders: HashMap<_, _> = self.store.ladder_names().await?.into_iter().collect();
        let mut channels: Vec<ChannelInfo> = self
            .store
            .channels()
            .await?
            .into_iter()
            .map(|channel| ChannelInfo {
                schedule_version: versions.get(&channel.id).copied().unwrap_or(0),
                ladder: ladders.get(&channel.ladder_id).cloned().unwrap_or_default(),
                channel,
            })
            .collect();
        channels.sort_by(|a, b| a.channel.slug.cmp(&b.channel.slug));
        Ok(channels)
    }

    /// One channel.
    pub async fn channel(&self, slug: &str) -> Result<ChannelInfo, Refusal> {
        let channel = channel(&self.store, slug).await?;
        self.info(channel).await
    }

    async fn info(&self, channel: Channel) -> Result<ChannelInfo, Refusal> {
        let ladder = self
            .store
            .ladder(channel.ladder_id)
            .await?
            .map(|ladder| ladder.name)
            .unwrap_or_default();
        let schedule_version = self.store.schedule_version(channel.id).await?;
        Ok(ChannelInfo {
            channel,
            ladder,
            schedule_version,
        })
    }

    /// Creates a channel; every problem of the spec is reported at once, each with its field.
    pub async fn create_channel(&self, spec: &ChannelSpec) -> Result<ChannelInfo, Refusal> {
        let mut problems = Vec::new();
        let slug = match ChannelSlug::parse(spec.slug.trim()) {
            Ok(slug) => Some(slug),
            Err(_) => {
                problems.push(Problem::of_field(
                    "slug",
                    format!(
                        "{:?} is not a slug: 1 to 63 lowercase letters, digits and '-', not starting or ending with '-'",
                        spec.slug
                    ),
                ));
                None
            }
        };
        if let Some(slug) = &slug
            && self.store.channel_by_slug(slug).await?.is_some()
        {
            return Err(Refusal::Conflict(format!(
                "slug: a channel with slug {:?} already exists; pick another slug",
                slug.as_str()
            )));
        }
        let name = checked_name(&spec.name, &mut problems);
        let time_zone = parse_time_zone(spec.time_zone.as_deref().unwrap_or("UTC"), &mut problems);
        let ladder = self
            .ladder_for_channel(spec.ladder.as_deref().unwrap_or("fast"), &mut problems)
            .await?;
        let outputs = match &spec.outputs {
            Some(outputs) => parse_outputs(outputs, &mut problems),
            None => Some(vec![
                OutputFormat::HlsTs,
                OutputFormat::HlsFmp4,
                OutputFormat::Dash,
            ]),
        };
        let window_segments = checked_window(
            spec.window_segments.unwrap_or(DEFAULT_WINDOW_SEGMENTS),
            &mut problems,
        );
        let playout_assets = match &ladder {
            Some(ladder) => {
                self.playout_assets(ladder, spec.slate, &spec.filler, &mut problems)
                    .await?
            }
            None => None,
        };
        let (
            Some(slug),
            Some(name),
            Some(time_zone),
            Some(ladder),
            Some(outputs),
            Some(window_segments),
            Some(playout_assets),
        ) = (
            slug,
            name,
            time_zone,
            ladder,
            outputs,
            window_segments,
            playout_assets,
        )
        else {
            return Err(Refusal::Invalid(problems));
        };
        let created = self
            .store
            .create_channel(
                &NewChannel {
                    slug,
                    name,
                    time_zone,
                    ladder_id: ladder.id,
                    outputs,
                    window_segments,
                    grid_repeat: None,
                    on_air: spec.on_air.unwrap_or(true),
                },
                &playout_assets,
            )
            .await
            .map_err(|error| match error {
                StoreError::Conflict(message) => Refusal::Conflict(format!("slug: {message}")),
                other => Refusal::from(other),
            })?;
        self.info(created).await
    }

    /// Edits a channel; every problem is reported at once, each with its field.
    pub async fn edit_channel(
        &self,
        slug: &str,
        edit: &ChannelEdit,
    ) -> Result<ChannelInfo, Refusal> {
        let current = channel(&self.store, slug).await?;
        if current.retired {
            return Err(Refusal::Conflict(format!(
                "channel {slug} is retired: it cannot be edited"
            )));
        }
        let mut problems = Vec::new();
        let mut changes = ChannelChanges::default();
        if let Some(name) = &edit.name {
            changes.name = checked_name(name, &mut problems);
        }
        if let Some(zone) = &edit.time_zone {
            changes.time_zone = parse_time_zone(zone, &mut problems);
        }
        let mut ladder = self.store.ladder(current.ladder_id).await?;
        if let Some(name) = &edit.ladder {
            let wanted = self.ladder_for_channel(name, &mut problems).await?;
            if let Some(wanted) = &wanted
                && wanted.id != current.ladder_id
            {
                let on_air = edit.on_air.unwrap_or(current.on_air);
                if on_air {
                    return Err(Refusal::Conflict(format!(
                        "ladder: channel {slug} is on air: changing its ladder would change every rendition players are listing; take it off air first (on_air: false)"
                    )));
                }
                changes.ladder_id = Some(wanted.id);
            }
            ladder = wanted.or(ladder);
        }
        if let Some(outputs) = &edit.outputs {
            changes.outputs = parse_outputs(outputs, &mut problems);
        }
        if let Some(window) = edit.window_segments {
            changes.window_segments = checked_window(window, &mut problems);
        }
        if edit.slate.is_some() || edit.filler.is_some() || changes.ladder_id.is_some() {
            let slate = edit.slate.unwrap_or_else(|| current.slate.map(|id| id.0));
            let filler: Vec<i64> = edit
                .filler
                .clone()
                .unwrap_or_else(|| current.filler.iter().map(|id| id.0).collect());
            if let Some(ladder) = &ladder
                && let Some(assets) = self
                    .playout_assets(ladder, slate, &filler, &mut problems)
                    .await?
            {
                changes.slate = Some(assets.slate);
                changes.filler = Some(assets.filler);
            }
        }
        changes.on_air = edit.on_air;
        if !problems.is_empty() {
            return Err(Refusal::Invalid(problems));
        }
        let edited = self.store.update_channel(current.id, &changes).await?;
        self.info(edited).await
    }

    /// Retires a channel, or deletes it when nothing was ever scheduled on it (see the module
    /// doc).
    pub async fn retire_channel(&self, slug: &str) -> Result<Retirement, Refusal> {
        let current = channel(&self.store, slug).await?;
        match self.store.delete_channel(current.id).await {
            Ok(()) => Ok(Retirement::Deleted),
            Err(StoreError::Conflict(_)) => {
                self.store
                    .retire_channel(current.id, self.clock.now())
                    .await?;
                Ok(Retirement::Retired)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The ladder called `name` for a channel (a built-in one is created on first use), or a
    /// problem for the `ladder` field.
    async fn ladder_for_channel(
        &self,
        name: &str,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<Ladder>, Refusal> {
        match self.resolve_ladder(name).await {
            Ok(ladder) => Ok(Some(ladder)),
            Err(Refusal::NotFound(_)) => {
                let known = self.ladder_names().await?;
                problems.push(Problem::of_field(
                    "ladder",
                    format!(
                        "there is no ladder {name:?}; the ladders are {}",
                        known.join(", ")
                    ),
                ));
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// The names of every stored ladder and of the built-in ones.
    async fn ladder_names(&self) -> Result<Vec<String>, Refusal> {
        let mut names: Vec<String> = self
            .store
            .ladders()
            .await?
            .into_iter()
            .map(|ladder| ladder.name)
            .collect();
        for builtin in Ladder::BUILTIN {
            if !names.iter().any(|name| name == builtin) {
                names.push(builtin.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The slate and filler, each checked to exist, be ready and be encoded to `ladder`.
    async fn playout_assets(
        &self,
        ladder: &Ladder,
        slate: Option<i64>,
        filler: &[i64],
        problems: &mut Vec<Problem>,
    ) -> Result<Option<ChannelPlayoutAssets>, Refusal> {
        let before = problems.len();
        let mut ids: Vec<AssetId> = filler.iter().copied().map(AssetId).collect();
        ids.extend(slate.map(AssetId));
        let assets: HashMap<AssetId, onair_domain::Asset> = self
            .store
            .assets_by_ids(&ids)
            .await?
            .into_iter()
            .map(|asset| (asset.id, asset))
            .collect();
        let mut check = |field: &str, id: i64| {
            match assets.get(&AssetId(id)) {
            None => problems.push(Problem::of_field(
                field,
                format!("asset {id} does not exist"),
            )),
            Some(asset) if asset.state != AssetState::Ready => problems.push(Problem::of_field(
                field,
                format!(
                    "asset {id} ({:?}) is {}: only ready assets can air",
                    asset.title,
                    asset.state.as_str()
                ),
            )),
            Some(asset) if asset.ladder_id != ladder.id => problems.push(Problem::of_field(
                field,
                format!(
                    "asset {id} ({:?}) is encoded to another ladder than the channel's {:?}: transcode it to {:?}",
                    asset.title, ladder.name, ladder.name
                ),
            )),
            Some(_) => {}
        }
        };
        if let Some(id) = slate {
            check("slate", id);
        }
        for id in filler {
            check("filler", *id);
        }
        Ok((problems.len() == before).then(|| ChannelPlayoutAssets {
            slate: slate.map(AssetId),
            filler: filler.iter().copied().map(AssetId).collect(),
        }))
    }
}

fn checked_name(name: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(Problem::of_field(
            "name",
            "a channel needs a name of 1 to 200 characters",
        ));
        return None;
    }
    Some(name.to_owned())
}

fn parse_time_zone(text: &str, problems: &mut Vec<Problem>) -> Option<Tz> {
    match text.trim().parse::<Tz>() {
        Ok(zone) => Some(zone),
        Err(_) => {
            problems.push(Problem::of_field(
                "time_zone",
                format!("{text:?} is not an IANA time zone, like Europe/Paris or America/New_York"),
            ));
            None
        }
    }
}

fn parse_outputs(outputs: &[String], problems: &mut Vec<Problem>) -> Option<Vec<OutputFormat>> {
    let before = problems.len();
    let mut parsed: Vec<OutputFormat> = Vec::new();
    for text in outputs {
        match OutputFormat::parse(text.trim()) {
            Some(format) if !parsed.contains(&format) => parsed.push(format),
            Some(_) => {}
            None => problems.push(Problem::of_field(
                "outputs",
                format!("{text:?} is not an output: hls-ts, hls-fmp4 or dash"),
            )),
        }
    }
    if parsed.is_empty() && problems.len() == before {
        problems.push(Problem::of_field(
            "outputs",
            "a channel needs at least one output: hls-ts, hls-fmp4 or dash",
        ));
    }
    (problems.len() == before).then_some(parsed)
}

fn checked_window(window: u32, problems: &mut Vec<Problem>) -> Option<u32> {
    if WINDOW_SEGMENTS.contains(&window) {
        Some(window)
    } else {
        problems.push(Problem::of_field(
            "window_segments",
            format!(
                "a playout window of {window} segments: give {} to {}",
                WINDOW_SEGMENTS.start(),
                WINDOW_SEGMENTS.end()
            ),
        ));
        None
    }
}
