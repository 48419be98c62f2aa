//! Channels: their settings, the assets they air between programmes, whether they are on air,
//! their retirement, and their schedule versions.
//!
//! A change to what a channel plans (its time zone, ladder, grid repeat, slate or filler) bumps
//! its schedule version, which playout polls, so every replica plans the channel again; so does
//! retiring it. A rename, its outputs, its playlist window or going on or off air do not change
//! the plan: playout picks them up from the channel itself.

use onair_domain::{
    AssetId, AssetState, Channel, ChannelId, ChannelSlug, LadderId, OutputFormat, Ticks, Timestamp,
};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;
use sqlx::{Any, AnyConnection, Transaction};

use crate::Store;
use crate::connect::Backend;
use crate::error::{StoreError, counted, in_words, violated_constraint};
use crate::rows::{flag, int, optional_int, text, uint};

/// A channel to create: every [`Channel`] setting but the id, which the store assigns, and the
/// assets it airs between programmes ([`ChannelPlayoutAssets`], given beside it).
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

/// What a channel airs where its grid leaves a gap: each asset ready and encoded to the
/// channel's ladder. The default is no filler and the generated slate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelPlayoutAssets {
    /// An explicit slate; `None`: the slate generated for the channel, found by its source key.
    pub slate: Option<AssetId>,
    /// Short assets that fill gaps before the slate does, in order.
    pub filler: Vec<AssetId>,
}

/// An edit of a channel's settings: each field given replaces the stored one, the others stay.
/// The slug is the channel's name in URLs and does not change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelChanges {
    pub name: Option<String>,
    pub time_zone: Option<chrono_tz::Tz>,
    pub ladder_id: Option<LadderId>,
    pub outputs: Option<Vec<OutputFormat>>,
    pub window_segments: Option<u32>,
    /// `Some(None)`: the grid no longer repeats.
    pub grid_repeat: Option<Option<Ticks>>,
    /// `Some(None)`: back to the generated slate.
    pub slate: Option<Option<AssetId>>,
    pub filler: Option<Vec<AssetId>>,
    pub on_air: Option<bool>,
}

impl ChannelChanges {
    /// `channel` with these changes made.
    fn applied_to(&self, channel: &Channel) -> Channel {
        let channel = channel.clone();
        Channel {
            name: self.name.clone().unwrap_or(channel.name),
            time_zone: self.time_zone.unwrap_or(channel.time_zone),
            ladder_id: self.ladder_id.unwrap_or(channel.ladder_id),
            outputs: self.outputs.clone().unwrap_or(channel.outputs),
            window_segments: self.window_segments.unwrap_or(channel.window_segments),
            grid_repeat: self.grid_repeat.unwrap_or(channel.grid_repeat),
            slate: self.slate.unwrap_or(channel.slate),
            filler: self.filler.clone().unwrap_or(channel.filler),
            on_air: self.on_air.unwrap_or(channel.on_air),
            ..channel
        }
    }
}

/// Whether going from `before` to `after` changes what the channel's plan airs, so that
/// playout must plan it again.
fn changes_the_plan(before: &Channel, after: &Channel) -> bool {
    before.time_zone != after.time_zone
        || before.ladder_id != after.ladder_id
        || before.grid_repeat != after.grid_repeat
        || before.slate != after.slate
        || before.filler != after.filler
}

/// The columns [`channel_from_row`] reads, as a literal for `concat!`.
macro_rules! channel_columns {
    () => {
        "id, slug, name, time_zone, ladder_id, outputs, window_segments, grid_repeat_ticks, on_air, \
         slate_asset_id, filler_asset_ids, retired_at"
    };
}

impl Store {
    /// Creates a channel with the generated slate and no filler: [`Store::create_channel`] with
    /// [`ChannelPlayoutAssets::default`].
    pub async fn insert_channel(&self, channel: &NewChannel) -> Result<Channel, StoreError> {
        self.create_channel(channel, &ChannelPlayoutAssets::default())
            .await
    }

    /// Creates a channel with schedule version 0, airing `assets` between programmes. A taken
    /// slug is a [`StoreError::Conflict`]; a ladder that does not exist is
    /// [`StoreError::NotFound`]; a blank name, a window of no segments, a grid repeat that is not
    /// positive, or a slate or filler asset that is missing, not ready or encoded to another
    /// ladder is [`StoreError::Invalid`], naming the asset (and both ladders).
    pub async fn create_channel(
        &self,
        channel: &NewChannel,
        assets: &ChannelPlayoutAssets,
    ) -> Result<Channel, StoreError> {
        check_settings(
            &channel.slug,
            &channel.name,
            channel.window_segments,
            channel.grid_repeat,
        )?;
        let mut transaction = self.begin_write().await?;
        check_playout_assets(
            &mut transaction,
            self.backend(),
            &channel.slug,
            channel.ladder_id,
            assets,
        )
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO channels (slug, name, time_zone, ladder_id, outputs, window_segments, \
             grid_repeat_ticks, on_air, slate_asset_id, filler_asset_ids) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(channel.slug.as_str())
        .bind(&channel.name)
        .bind(channel.time_zone.name())
        .bind(channel.ladder_id.0)
        .bind(outputs_json(&channel.outputs))
        .bind(i64::from(channel.window_segments))
        .bind(channel.grid_repeat.map(|repeat| repeat.0))
        .bind(channel.on_air)
        .bind(assets.slate.map(|slate| slate.0))
        .bind(filler_json(&assets.filler))
        .fetch_one(&mut *transaction)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::UniqueViolation) => StoreError::Conflict(format!(
                "a channel with slug {:?} already exists",
                channel.slug.as_str()
            )),
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(format!("ladder {}", channel.ladder_id.0))
            }
            _ => StoreError::Database(error),
        })?;
        transaction.commit().await?;
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
            slate: assets.slate,
            filler: assets.filler.clone(),
            retired: false,
        })
    }

    /// Edits a channel's settings in one transaction and returns it as it now is. The same
    /// rules as [`Store::create_channel`] hold for the result: a ladder change needs the slate
    /// and filler (new or kept) encoded to the new ladder. Bumps the schedule version when the
    /// plan changes (time zone, ladder, grid repeat, slate, filler), not for a rename, outputs,
    /// the window or on air; changes nothing when nothing differs. A retired channel cannot go
    /// on air ([`StoreError::Conflict`]). Whether a channel on air may change ladder is the
    /// caller's policy: `on_air` is on the channel.
    pub async fn update_channel(
        &self,
        id: ChannelId,
        changes: &ChannelChanges,
    ) -> Result<Channel, StoreError> {
        let mut transaction = self.begin_write().await?;
        let lock = self.backend().row_lock(" FOR UPDATE");
        let sql = format!(
            concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE id = $1{}"
            ),
            lock
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("channel {}", id.0)))?;
        let before = channel_from_row(&row)?;
        let after = changes.applied_to(&before);
        check_settings(
            &after.slug,
            &after.name,
            after.window_segments,
            after.grid_repeat,
        )?;
        if after.retired && after.on_air {
            return Err(retired_cannot_go_on_air(&after.slug));
        }
        if after.ladder_id != before.ladder_id
            || after.slate != before.slate
            || after.filler != before.filler
        {
            let assets = ChannelPlayoutAssets {
                slate: after.slate,
                filler: after.filler.clone(),
            };
            check_playout_assets(
                &mut transaction,
                self.backend(),
                &after.slug,
                after.ladder_id,
                &assets,
            )
            .await?;
        }
        if after == before {
            return Ok(before);
        }
        sqlx::query(
            "UPDATE channels SET name = $2, time_zone = $3, ladder_id = $4, outputs = $5, \
             window_segments = $6, grid_repeat_ticks = $7, slate_asset_id = $8, \
             filler_asset_ids = $9, on_air = $10, schedule_version = schedule_version + $11 \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(&after.name)
        .bind(after.time_zone.name())
        .bind(after.ladder_id.0)
        .bind(outputs_json(&after.outputs))
        .bind(i64::from(after.window_segments))
        .bind(after.grid_repeat.map(|repeat| repeat.0))
        .bind(after.slate.map(|slate| slate.0))
        .bind(filler_json(&after.filler))
        .bind(after.on_air)
        .bind(i64::from(changes_the_plan(&before, &after)))
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(after)
    }

    /// Retires a channel as of `at`: off air for good, its schedule version bumped so playout
    /// lets it go; its schedule, grid and as-run log stay. Retiring a retired channel changes
    /// nothing. Returns the channel as it now is.
    pub async fn retire_channel(
        &self,
        id: ChannelId,
        at: Timestamp,
    ) -> Result<Channel, StoreError> {
        let sql = concat!(
            "UPDATE channels SET retired_at = $2, on_air = $3, schedule_version = schedule_version + 1 \
             WHERE id = $1 AND retired_at IS NULL RETURNING ",
            channel_columns!()
        );
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(at.0)
            .bind(false)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => channel_from_row(&row),
            None => self
                .channel(id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("channel {}", id.0))),
        }
    }

    /// Deletes a channel that never had anything: no schedule items, no grid documents and no
    /// as-run entries, in one transaction (its published schedule versions go with it).
    /// Otherwise a [`StoreError::Conflict`] names what it still has: retire it instead.
    pub async fn delete_channel(&self, id: ChannelId) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        // The row lock queues schedule, grid and as-run writers of the channel behind this.
        let sql = format!(
            "SELECT slug FROM channels WHERE id = $1{}",
            self.backend().row_lock(" FOR UPDATE")
        );
        let slug: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("channel {}", id.0)))?;
        let mut held = Vec::new();
        for (table, one, many) in [
            ("schedule_items", "schedule item", "schedule items"),
            ("grid_documents", "grid document", "grid documents"),
            ("as_run", "as-run entry", "as-run entries"),
        ] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE channel_id = $1");
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .fetch_one(&mut *transaction)
                .await?;
            if count > 0 {
                held.push(counted(count, one, many));
            }
        }
        if !held.is_empty() {
            return Err(StoreError::Conflict(format!(
                "channel {slug} still has {}: retire it instead of deleting it",
                in_words(&held)
            )));
        }
        sqlx::query("DELETE FROM channels WHERE id = $1")
            .bind(id.0)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
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

    /// The channel with this slug, retired or not ([`Channel::retired`] tells).
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

    /// Every channel, by id, retired ones included ([`Channel::retired`] tells).
    pub async fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        let sql = concat!("SELECT ", channel_columns!(), " FROM channels ORDER BY id");
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(channel_from_row).collect()
    }

    /// The channels that are not retired, name no slate of their own, and have no generated
    /// slate (an asset whose source is `slate_prefix` + their slug, not failed): one query
    /// however many channels there are, for a task that polls.
    pub async fn channels_lacking_a_slate(
        &self,
        slate_prefix: &str,
    ) -> Result<Vec<Channel>, StoreError> {
        let sql = concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels c WHERE c.retired_at IS NULL AND c.slate_asset_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.source = $1 || c.slug AND a.state <> 'failed') \
             ORDER BY c.id"
        );
        let rows = sqlx::query(sql)
            .bind(slate_prefix)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(channel_from_row).collect()
    }

    /// Starts (`true`) or stops (`false`) a channel. A retired channel cannot start
    /// ([`StoreError::Conflict`]).
    pub async fn set_channel_on_air(&self, id: ChannelId, on_air: bool) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE channels SET on_air = $2 WHERE id = $1 AND (retired_at IS NULL OR NOT $2)",
        )
        .bind(id.0)
        .bind(on_air)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(match self.channel(id).await? {
                None => StoreError::NotFound(format!("channel {}", id.0)),
                Some(channel) => retired_cannot_go_on_air(&channel.slug),
            });
        }
        Ok(())
    }

    /// Sets the formats the channel is published in.
    pub async fn set_channel_outputs(
        &self,
        id: ChannelId,
        outputs: &[OutputFormat],
    ) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE channels SET outputs = $2 WHERE id = $1")
            .bind(id.0)
            .bind(outputs_json(outputs))
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

/// The channels that loop `asset` as their slate and those that list it as filler, each by slug.
pub(crate) async fn channels_airing_between_programmes(
    connection: &mut AnyConnection,
    asset: AssetId,
) -> Result<(Vec<ChannelSlug>, Vec<ChannelSlug>), StoreError> {
    let slated =
        sqlx::query("SELECT id, slug FROM channels WHERE slate_asset_id = $1 ORDER BY slug")
            .bind(asset.0)
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(stored_slug)
            .collect::<Result<_, _>>()?;
    // Filler lists are JSON, out of an index's reach; channels are few.
    let rows = sqlx::query(
        "SELECT id, slug, filler_asset_ids FROM channels WHERE filler_asset_ids <> '[]' ORDER BY slug",
    )
    .fetch_all(&mut *connection)
    .await?;
    let mut filled = Vec::new();
    for row in &rows {
        let slug = stored_slug(row)?;
        if stored_filler(row, &slug)?.contains(&asset) {
            filled.push(slug);
        }
    }
    Ok((slated, filled))
}

fn retired_cannot_go_on_air(slug: &ChannelSlug) -> StoreError {
    StoreError::Conflict(format!(
        "channel {slug} is retired: it cannot go on air again"
    ))
}

/// Refuses settings no channel can have, before touching the database.
fn check_settings(
    slug: &ChannelSlug,
    name: &str,
    window_segments: u32,
    grid_repeat: Option<Ticks>,
) -> Result<(), StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid(format!(
            "channel {slug}: the name must not be blank"
        )));
    }
    if window_segments == 0 {
        return Err(StoreError::Invalid(format!(
            "channel {slug}: window_segments must be at least 1"
        )));
    }
    if let Some(repeat) = grid_repeat.filter(|repeat| repeat.0 <= 0) {
        return Err(StoreError::Invalid(format!(
            "channel {slug}: grid_repeat must be positive, not {repeat}"
        )));
    }
    Ok(())
}

/// Refuses a ladder that does not exist ([`StoreError::NotFound`]) and slate or filler assets
/// that are missing, not ready or encoded to another ladder ([`StoreError::Invalid`]). On
/// PostgreSQL the assets stay share-locked until the transaction ends, so that they cannot be
/// deleted under the channel that is being written.
async fn check_playout_assets(
    transaction: &mut Transaction<'static, Any>,
    backend: Backend,
    slug: &ChannelSlug,
    ladder_id: LadderId,
    assets: &ChannelPlayoutAssets,
) -> Result<(), StoreError> {
    let ladder_name: String = sqlx::query_scalar("SELECT name FROM ladders WHERE id = $1")
        .bind(ladder_id.0)
        .fetch_optional(&mut **transaction)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("ladder {}", ladder_id.0)))?;
    let roles = assets
        .slate
        .iter()
        .map(|asset| ("slate", *asset))
        .chain(assets.filler.iter().map(|asset| ("filler", *asset)));
    let sql = format!(
        "SELECT a.title, a.state, l.id AS ladder_id, l.name AS ladder_name \
         FROM assets a JOIN ladders l ON l.id = a.ladder_id WHERE a.id = $1{}",
        backend.row_lock(" FOR SHARE OF a")
    );
    for (role, asset) in roles {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(asset.0)
            .fetch_optional(&mut **transaction)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::Invalid(format!(
                "channel {slug}: its {role} asset {asset} does not exist"
            )));
        };
        let title = text(&row, "title")?;
        let state = text(&row, "state")?;
        if state != AssetState::Ready.as_str() {
            return Err(StoreError::Invalid(format!(
                "channel {slug}: its {role} asset {asset} ({title:?}) is {state}: only a ready asset can be slate or filler"
            )));
        }
        if int(&row, "ladder_id")? != ladder_id.0 {
            return Err(StoreError::Invalid(format!(
                "channel {slug}: its {role} asset {asset} ({title:?}) is encoded to ladder {:?}, not to the channel's ladder {ladder_name:?}",
                text(&row, "ladder_name")?
            )));
        }
    }
    Ok(())
}

fn outputs_json(outputs: &[OutputFormat]) -> String {
    serde_json::to_string(outputs).expect("output formats serialise to JSON")
}

fn filler_json(filler: &[AssetId]) -> String {
    serde_json::to_string(filler).expect("asset ids serialise to JSON")
}

/// The `slug` of a row that has the channel's `id` too.
pub(crate) fn stored_slug(row: &AnyRow) -> Result<ChannelSlug, StoreError> {
    let id = int(row, "id")?;
    ChannelSlug::parse(&text(row, "slug")?).map_err(|error| {
        StoreError::Invalid(format!(
            "channel {id} has a stored slug that is not valid: {error}"
        ))
    })
}

fn stored_filler(row: &AnyRow, slug: &ChannelSlug) -> Result<Vec<AssetId>, StoreError> {
    let json = text(row, "filler_asset_ids")?;
    serde_json::from_str(&json).map_err(|error| {
        StoreError::Invalid(format!(
            "channel {slug} has an unreadable filler list {json:?}: {error}"
        ))
    })
}

fn channel_from_row(row: &AnyRow) -> Result<Channel, StoreError> {
    let id = int(row, "id")?;
    let slug = stored_slug(row)?;
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
        name: text(row, "name")?,
        time_zone,
        ladder_id: LadderId(int(row, "ladder_id")?),
        outputs,
        window_segments: uint(row, "window_segments")?,
        grid_repeat: optional_int(row, "grid_repeat_ticks")?.map(Ticks),
        on_air: flag(row, "on_air")?,
        slate: optional_int(row, "slate_asset_id")?.map(AssetId),
        filler: stored_filler(row, &slug)?,
        retired: optional_int(row, "retired_at")?.is_some(),
        slug,
    })
}

#[cfg(test)]
mod tests {
    use onair_domain::{ChannelSlug, Ladder};

    use super::ChannelChanges;
    use crate::connect::tests::sqlite_migrated_before;

    /// Channels stored before migration 0008 read back with the generated slate, no filler, in
    /// service; on air ones stay on air, and can be edited and retired.
    #[tokio::test]
    async fn channels_stored_before_migration_0008_keep_their_settings_through_it() {
        let (store, _dir) = sqlite_migrated_before("0008").await;
        let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
        sqlx::query(
            "INSERT INTO channels (slug, name, time_zone, ladder_id, outputs, window_segments, on_air, schedule_version) \
             VALUES ('old', 'Old', 'Europe/Paris', $1, '[\"hls-ts\"]', 6, 1, 4)",
        )
        .bind(ladder.0)
        .execute(&store.pool)
        .await
        .unwrap();

        store.migrate().await.unwrap();
        let slug = ChannelSlug::parse("old").unwrap();
        let old = store.channel_by_slug(&slug).await.unwrap().unwrap();
        assert_eq!(
            (old.slate, old.filler.clone(), old.retired),
            (None, vec![], false)
        );
        assert!(old.on_air);
        assert_eq!(store.schedule_version(old.id).await.unwrap(), 4);
        let renamed = ChannelChanges {
            name: Some("Older".into()),
            ..ChannelChanges::default()
        };
        store.update_channel(old.id, &renamed).await.unwrap();
        let retired = store
            .retire_channel(old.id, onair_domain::Timestamp(1))
            .await
            .unwrap();
        assert_eq!(
            (retired.name.as_str(), retired.retired, retired.on_air),
            ("Older", true, false)
        );
        assert_eq!(store.schedule_version(old.id).await.unwrap(), 5);
        store.close().await;
    }
}
