//! Channel schedules: items, their ad breaks, and the version that changes with them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use onair_domain::{
    AdBreak, AssetId, AssetState, ChannelId, ScheduleItem, ScheduleItemId, Ticks, Timestamp,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::Store;
use crate::error::StoreError;
use crate::rows::{flag, int, optional_int, text};

/// A schedule item to store: every [`ScheduleItem`] field but the ids the store assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScheduleItem {
    pub asset_id: AssetId,
    pub start: Timestamp,
    /// True for a fixed wall-clock start; false when it follows the previous item.
    pub hard_start: bool,
    pub title: String,
    /// How much of the asset it airs, from the asset's start; `None`: all of it.
    pub length: Option<Ticks>,
}

/// An ad break to store: at `offset` into its item (zero: before it), lasting `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAdBreak {
    pub offset: Ticks,
    pub duration: Ticks,
}

/// Refuses items (with their ad breaks) that play an asset that is missing or not ready, that
/// last no time, or whose ad breaks start before their item or last no time.
pub(crate) async fn check_items(
    transaction: &mut Transaction<'static, Any>,
    items: &[(NewScheduleItem, Vec<NewAdBreak>)],
) -> Result<(), StoreError> {
    check_lengths_and_breaks(items)?;
    check_assets_ready(transaction, items).await
}

/// Refuses items whose length is not positive, or whose ad breaks start before their item or
/// last no time.
fn check_lengths_and_breaks(
    items: &[(NewScheduleItem, Vec<NewAdBreak>)],
) -> Result<(), StoreError> {
    for (item, ad_breaks) in items {
        if let Some(length) = item.length
            && length.0 <= 0
        {
            return Err(StoreError::Invalid(format!(
                "schedule item {:?} lasts {length}: its length must be positive",
                item.title
            )));
        }
        for ad_break in ad_breaks {
            check_ad_break(
                &format!("schedule item {:?}", item.title),
                ad_break.offset,
                ad_break.duration,
            )?;
        }
    }
    Ok(())
}

async fn check_assets_ready(
    transaction: &mut Transaction<'static, Any>,
    items: &[(NewScheduleItem, Vec<NewAdBreak>)],
) -> Result<(), StoreError> {
    let mut asset_states: HashMap<AssetId, Option<String>> = HashMap::new();
    for (item, _) in items {
        if let Entry::Vacant(slot) = asset_states.entry(item.asset_id) {
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM assets WHERE id = $1")
                    .bind(item.asset_id.0)
                    .fetch_optional(&mut **transaction)
                    .await?;
            slot.insert(state);
        }
        match asset_states[&item.asset_id].as_deref() {
            Some(state) if state == AssetState::Ready.as_str() => {}
            Some(state) => {
                return Err(StoreError::Invalid(format!(
                    "schedule item {:?} plays asset {}, which is {state}: only ready assets can be scheduled",
                    item.title, item.asset_id
                )));
            }
            None => {
                return Err(StoreError::Invalid(format!(
                    "schedule item {:?} plays asset {}, which does not exist",
                    item.title, item.asset_id
                )));
            }
        }
    }
    Ok(())
}

/// Inserts items of `channel` with their ad breaks.
pub(crate) async fn insert_items(
    transaction: &mut Transaction<'static, Any>,
    channel: ChannelId,
    items: &[(NewScheduleItem, Vec<NewAdBreak>)],
) -> Result<(), StoreError> {
    for (item, ad_breaks) in items {
        let item_id: i64 = sqlx::query_scalar(
            "INSERT INTO schedule_items (channel_id, asset_id, start_at, hard_start, title, length_ticks) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(channel.0)
        .bind(item.asset_id.0)
        .bind(item.start.0)
        .bind(item.hard_start)
        .bind(&item.title)
        .bind(item.length.map(|length| length.0))
        .fetch_one(&mut **transaction)
        .await?;
        for ad_break in ad_breaks {
            sqlx::query("INSERT INTO ad_breaks (schedule_item_id, offset_ticks, duration_ticks) VALUES ($1, $2, $3)")
                .bind(item_id)
                .bind(ad_break.offset.0)
                .bind(ad_break.duration.0)
                .execute(&mut **transaction)
                .await?;
        }
    }
    Ok(())
}

/// The columns [`item_from_row`] reads, as a literal for `concat!`.
macro_rules! item_columns {
    () => {
        "id, channel_id, asset_id, start_at, hard_start, title, length_ticks"
    };
}

impl Store {
    /// Replaces the channel's whole schedule with `items` and bumps its schedule version, in
    /// one transaction; returns the new version. The old items' ad breaks go with them. Every
    /// item must play a ready asset. On any error the old schedule and version stay.
    pub async fn replace_schedule(
        &self,
        channel: ChannelId,
        items: &[NewScheduleItem],
    ) -> Result<i64, StoreError> {
        let items: Vec<(NewScheduleItem, Vec<NewAdBreak>)> = items
            .iter()
            .map(|item| (item.clone(), Vec::new()))
            .collect();
        self.replace_schedule_with_ad_breaks(channel, &items).await
    }

    /// [`Store::replace_schedule`], with each new item's ad breaks stored in the same
    /// transaction, so that playout never sees the new items without their breaks.
    pub async fn replace_schedule_with_ad_breaks(
        &self,
        channel: ChannelId,
        items: &[(NewScheduleItem, Vec<NewAdBreak>)],
    ) -> Result<i64, StoreError> {
        check_lengths_and_breaks(items)?;
        let mut transaction = self.begin_write().await?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE channels SET schedule_version = schedule_version + 1 WHERE id = $1 RETURNING schedule_version",
        )
        .bind(channel.0)
        .fetch_optional(&mut *transaction)
        .await?;
        let version =
            version.ok_or_else(|| StoreError::NotFound(format!("channel {}", channel.0)))?;

        check_assets_ready(&mut transaction, items).await?;

        sqlx::query(
            "DELETE FROM ad_breaks WHERE schedule_item_id IN (SELECT id FROM schedule_items WHERE channel_id = $1)",
        )
        .bind(channel.0)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM schedule_items WHERE channel_id = $1")
            .bind(channel.0)
            .execute(&mut *transaction)
            .await?;
        insert_items(&mut transaction, channel, items).await?;
        transaction.commit().await?;
        Ok(version)
    }

    /// The channel's schedule, by start (then by id).
    pub async fn schedule_items(
        &self,
        channel: ChannelId,
    ) -> Result<Vec<ScheduleItem>, StoreError> {
        let sql = concat!(
            "SELECT ",
            item_columns!(),
            " FROM schedule_items WHERE channel_id = $1 ORDER BY start_at, id"
        );
        let rows = sqlx::query(sql)
            .bind(channel.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// The channel's items that start in `[from, to)`, by start.
    pub async fn schedule_items_between(
        &self,
        channel: ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ScheduleItem>, StoreError> {
        let sql = concat!(
            "SELECT ",
            item_columns!(),
            " FROM schedule_items WHERE channel_id = $1 AND start_at >= $2 AND start_at < $3 ORDER BY start_at, id"
        );
        let rows = sqlx::query(sql)
            .bind(channel.0)
            .bind(from.0)
            .bind(to.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// Adds an ad break to a schedule item and bumps its channel's schedule version.
    pub async fn insert_ad_break(
        &self,
        item: ScheduleItemId,
        offset: Ticks,
        duration: Ticks,
    ) -> Result<AdBreak, StoreError> {
        check_ad_break(&format!("schedule item {}", item.0), offset, duration)?;
        let mut transaction = self.begin_write().await?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE channels SET schedule_version = schedule_version + 1 \
             WHERE id = (SELECT channel_id FROM schedule_items WHERE id = $1) RETURNING schedule_version",
        )
        .bind(item.0)
        .fetch_optional(&mut *transaction)
        .await?;
        if version.is_none() {
            return Err(StoreError::NotFound(format!("schedule item {}", item.0)));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ad_breaks (schedule_item_id, offset_ticks, duration_ticks) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(item.0)
        .bind(offset.0)
        .bind(duration.0)
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(AdBreak {
            id,
            schedule_item_id: item,
            offset,
            duration,
        })
    }

    /// The item's ad breaks, by offset.
    pub async fn ad_breaks(&self, item: ScheduleItemId) -> Result<Vec<AdBreak>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, schedule_item_id, offset_ticks, duration_ticks FROM ad_breaks \
             WHERE schedule_item_id = $1 ORDER BY offset_ticks, id",
        )
        .bind(item.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ad_break_from_row).collect()
    }

    /// Every ad break of the channel's schedule, by item then offset: one query for a whole grid.
    pub async fn ad_breaks_of_channel(
        &self,
        channel: ChannelId,
    ) -> Result<Vec<AdBreak>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.id, b.schedule_item_id, b.offset_ticks, b.duration_ticks FROM ad_breaks b \
             JOIN schedule_items i ON i.id = b.schedule_item_id \
             WHERE i.channel_id = $1 ORDER BY b.schedule_item_id, b.offset_ticks, b.id",
        )
        .bind(channel.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ad_break_from_row).collect()
    }

    /// The ad breaks of `channel`'s items that start in `[from, to)`, in the order of
    /// [`Store::ad_breaks_of_channel`]: what one window of the schedule needs, not the whole.
    pub async fn ad_breaks_between(
        &self,
        channel: ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<AdBreak>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.id, b.schedule_item_id, b.offset_ticks, b.duration_ticks FROM ad_breaks b \
             JOIN schedule_items i ON i.id = b.schedule_item_id \
             WHERE i.channel_id = $1 AND i.start_at >= $2 AND i.start_at < $3 \
             ORDER BY b.schedule_item_id, b.offset_ticks, b.id",
        )
        .bind(channel.0)
        .bind(from.0)
        .bind(to.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ad_break_from_row).collect()
    }
}

fn ad_break_from_row(row: &AnyRow) -> Result<AdBreak, StoreError> {
    Ok(AdBreak {
        id: int(row, "id")?,
        schedule_item_id: ScheduleItemId(int(row, "schedule_item_id")?),
        offset: Ticks(int(row, "offset_ticks")?),
        duration: Ticks(int(row, "duration_ticks")?),
    })
}

/// Refuses an ad break of `item` (described in words) that starts before its item or lasts
/// no time.
fn check_ad_break(item: &str, offset: Ticks, duration: Ticks) -> Result<(), StoreError> {
    if offset.0 < 0 {
        return Err(StoreError::Invalid(format!(
            "an ad break of {item} has a negative offset {offset}"
        )));
    }
    if duration.0 <= 0 {
        return Err(StoreError::Invalid(format!(
            "an ad break of {item} lasts {duration}: it must be positive"
        )));
    }
    Ok(())
}

fn item_from_row(row: &AnyRow) -> Result<ScheduleItem, StoreError> {
    Ok(ScheduleItem {
        id: ScheduleItemId(int(row, "id")?),
        channel_id: ChannelId(int(row, "channel_id")?),
        asset_id: AssetId(int(row, "asset_id")?),
        start: Timestamp(int(row, "start_at")?),
        hard_start: flag(row, "hard_start")?,
        title: text(row, "title")?,
        length: optional_int(row, "length_ticks")?.map(Ticks),
    })
}
