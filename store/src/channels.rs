//! Channels: their settings, whether they are on air, and their schedule versions.

use onair_domain::{Channel, ChannelId, ChannelSlug, LadderId, OutputFormat, Ticks};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{flag, int, optional_int, text, uint};

/// A channel to create: every [`Channel`] field but the id, which the store assigns.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChannel {
    pub slug: ChannelSlug,
    pub name: String,
    pub time_zone: chrono_tz::Tz,
    pub ladder_id: LadderId,
    pub outputs: Vec<OutputFormat>,
    pub window_segments: u32,
    pub grid_repeat: Option<Ticks>,
    pub on_air: bool,
}

/// The columns [`channel_from_row`] reads, as a literal for `concat!`.
macro_rules! channel_columns {
    () => {
        "id, slug, name, time_zone, ladder_id, outputs, window_segments, grid_repeat_ticks, on_air"
    };
}

impl Store {
    /// Creates a channel with schedule version 0. A taken slug is a [`StoreError::Conflict`];
    /// a ladder that does not exist is [`StoreError::NotFound`].
    pub async fn insert_channel(&self, channel: &NewChannel) -> Result<Channel, StoreError> {
        if channel.window_segments == 0 {
            return Err(StoreError::Invalid(format!(
                "channel {}: window_segments must be at least 1",
                channel.slug
            )));
        }
        if let Some(repeat) = channel.grid_repeat.filter(|repeat| repeat.0 <= 0) {
            return Err(StoreError::Invalid(format!(
                "channel {}: grid_repeat must be positive, not {repeat}",
                channel.slug
            )));
        }
        let outputs =
            serde_json::to_string(&channel.outputs).expect("output formats serialise to JSON");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO channels (slug, name, time_zone, ladder_id, outputs, window_segments, grid_repeat_ticks, on_air) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(channel.slug.as_str())
        .bind(&channel.name)
        .bind(channel.time_zone.name())
        .bind(channel.ladder_id.0)
        .bind(outputs)
        .bind(i64::from(channel.window_segments))
        .bind(channel.grid_repeat.map(|repeat| repeat.0))
        .bind(channel.on_air)
        .fetch_one(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::UniqueViolation) => {
                StoreError::Conflict(format!("a channel with slug {:?} already exists", channel.slug.as_str()))
            }
            Some(ErrorKind::ForeignKeyViolation) => StoreError::NotFound(format!("ladder {}", channel.ladder_id.0)),
            _ => StoreError::Database(error),
        })?;
        Ok(Channel {
            id: ChannelId(id),
            slug: channel.slug.clone(),
            name: channel.name.clone(),
            time_zone: channel.time_zone,
            ladder_id: channel.ladder_id,
            outputs: channel.outputs.clone(),
            window_segments: channel.window_segments,
            grid_repeat: channel.grid_repeat,
            on_air: channel.on_air,
        })
    }

    pub async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        let sql = concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE id = $1"
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    pub async fn channel_by_slug(&self, slug: &ChannelSlug) -> Result<Option<Channel>, StoreError> {
        let sql = concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels WHERE slug = $1"
        );
        let row = sqlx::query(sql)
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    /// Every channel, by id.
    pub async fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        let sql = concat!("SELECT ", channel_columns!(), " FROM channels ORDER BY id");
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(channel_from_row).collect()
    }

    /// Starts (`true`) or stops (`false`) a channel.
    pub async fn set_channel_on_air(&self, id: ChannelId, on_air: bool) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE channels SET on_air = $2 WHERE id = $1")
            .bind(id.0)
            .bind(on_air)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("channel {}", id.0)));
        }
        Ok(())
    }

    /// Sets the formats the channel is published in.
    pub async fn set_channel_outputs(
        &self,
        id: ChannelId,
        outputs: &[OutputFormat],
    ) -> Result<(), StoreError> {
        let outputs = serde_json::to_string(outputs).expect("output formats serialise to JSON");
        let result = sqlx::query("UPDATE channels SET outputs = $2 WHERE id = $1")
            .bind(id.0)
            .bind(outputs)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("channel {}", id.0)));
        }
        Ok(())
    }

    /// Each channel's schedule version, by channel id: a cheap poll that tells playout which
    /// channels' schedules changed since it last looked.
    pub async fn schedule_versions(&self) -> Result<Vec<(ChannelId, i64)>, StoreError> {
        let rows = sqlx::query("SELECT id, schedule_version FROM channels ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((ChannelId(int(row, "id")?), int(row, "schedule_version")?)))
            .collect()
    }
}

fn channel_from_row(row: &AnyRow) -> Result<Channel, StoreError> {
    let id = int(row, "id")?;
    let slug_text = text(row, "slug")?;
    let slug = ChannelSlug::parse(&slug_text).map_err(|error| {
        StoreError::Invalid(format!(
            "channel {id} has a stored slug that is not valid: {error}"
        ))
    })?;
    let zone_name = text(row, "time_zone")?;
    let time_zone = zone_name.parse::<chrono_tz::Tz>().map_err(|_| {
        StoreError::Invalid(format!(
            "channel {slug} has an unknown time zone {zone_name:?}"
        ))
    })?;
    let outputs_json = text(row, "outputs")?;
    let outputs = serde_json::from_str(&outputs_json).map_err(|error| {
        StoreError::Invalid(format!(
            "channel {slug} has unreadable outputs {outputs_json:?}: {error}"
        ))
    })?;
    Ok(Channel {
        id: ChannelId(id),
        slug,
        name: text(row, "name")?,
        time_zone,
        ladder_id: LadderId(int(row, "ladder_id")?),
        outputs,
        window_segments: uint(row, "window_segments")?,
        grid_repeat: optional_int(row, "grid_repeat_ticks")?.map(Ticks),
        on_air: flag(row, "on_air")?,
    })
}
