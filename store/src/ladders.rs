//! Ladders and their rungs.

use onair_domain::{Ladder, LadderId, LoudnessTarget, Rung, Ticks};
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, conflict_if_duplicate};
use crate::rows::{int, text, to_db, uint};

/// The columns [`Store::ladder_with_rungs`] reads, as a literal for `concat!`.
macro_rules! ladder_columns {
    () => {
        "id, name, frame_rate_num, frame_rate_den, segment_duration_ticks, audio_sample_rate, audio_channels, loudness"
    };
}

impl Store {
    /// The ladder called `name`, stored first when it is a built-in one not stored yet
    /// ([`Ladder::builtin`]); a name neither stored nor built in is [`StoreError::NotFound`].
    pub async fn resolve_ladder(&self, name: &str) -> Result<Ladder, StoreError> {
        if let Some(ladder) = self.ladder_by_name(name).await? {
            return Ok(ladder);
        }
        let Some(builtin) = Ladder::builtin(name) else {
            return Err(StoreError::NotFound(format!("ladder {name:?}")));
        };
        match self.insert_ladder(&builtin).await {
            Ok(id) => Ok(Ladder { id, ..builtin }),
            // Another process created it in between.
            Err(StoreError::Conflict(_)) => self
                .ladder_by_name(name)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("ladder {name:?}"))),
            Err(error) => Err(error),
        }
    }

    /// Stores `ladder` and its rungs under a new id (`ladder.id` is ignored). A ladder that does
    /// not validate ([`Ladder::validate`]) is [`StoreError::Invalid`]; ladder names are unique: a
    /// taken name is a [`StoreError::Conflict`].
    pub async fn insert_ladder(&self, ladder: &Ladder) -> Result<LadderId, StoreError> {
        ladder
            .validate()
            .map_err(|error| StoreError::Invalid(error.to_string()))?;
        let mut transaction = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ladders (name, frame_rate_num, frame_rate_den, segment_duration_ticks, \
             audio_sample_rate, audio_channels, loudness) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&ladder.name)
        .bind(i64::from(ladder.frame_rate_num))
        .bind(i64::from(ladder.frame_rate_den))
        .bind(ladder.segment_duration.0)
        .bind(i64::from(ladder.audio_sample_rate))
        .bind(i64::from(ladder.audio_channels))
        .bind(ladder.loudness.as_str())
        .fetch_one(&mut *transaction)
        .await
        .map_err(|error| {
            conflict_if_duplicate(error, || {
                format!("a ladder named {:?} already exists", ladder.name)
            })
        })?;
        for (position, rung) in ladder.rungs.iter().enumerate() {
            sqlx::query(
                "INSERT INTO ladder_rungs (ladder_id, position, name, width, height, video_bitrate, \
                 h264_profile_idc, h264_level_idc, audio_bitrate) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(to_db(position as u64, "rung position")?)
            .bind(&rung.name)
            .bind(i64::from(rung.width))
            .bind(i64::from(rung.height))
            .bind(i64::from(rung.video_bitrate))
            .bind(i64::from(rung.h264_profile_idc))
            .bind(i64::from(rung.h264_level_idc))
            .bind(i64::from(rung.audio_bitrate))
            .execute(&mut *transaction)
            .await
            .map_err(|error| {
                conflict_if_duplicate(error, || format!("ladder {:?} lists rung {:?} twice", ladder.name, rung.name))
            })?;
        }
        transaction.commit().await?;
        Ok(LadderId(id))
    }

    pub async fn ladder(&self, id: LadderId) -> Result<Option<Ladder>, StoreError> {
        let sql = concat!("SELECT ", ladder_columns!(), " FROM ladders WHERE id = $1");
        let row = sqlx::query(sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.ladder_with_rungs(&row).await?)),
            None => Ok(None),
        }
    }

    pub async fn ladder_by_name(&self, name: &str) -> Result<Option<Ladder>, StoreError> {
        let sql = concat!(
            "SELECT ",
            ladder_columns!(),
            " FROM ladders WHERE name = $1"
        );
        let row = sqlx::query(sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.ladder_with_rungs(&row).await?)),
            None => Ok(None),
        }
    }

    /// Every ladder, by id.
    pub async fn ladders(&self) -> Result<Vec<Ladder>, StoreError> {
        let sql = concat!("SELECT ", ladder_columns!(), " FROM ladders ORDER BY id");
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        let mut ladders = Vec::with_capacity(rows.len());
        for row in &rows {
            ladders.push(self.ladder_with_rungs(row).await?);
        }
        Ok(ladders)
    }

    /// Every ladder's name, by id: what a channel list shows, without the rungs.
    pub async fn ladder_names(&self) -> Result<Vec<(LadderId, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, name FROM ladders ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((LadderId(int(row, "id")?), text(row, "name")?)))
            .collect()
    }

    async fn ladder_with_rungs(&self, row: &AnyRow) -> Result<Ladder, StoreError> {
        let id = int(row, "id")?;
        let rung_rows = sqlx::query(
            "SELECT name, width, height, video_bitrate, h264_profile_idc, h264_level_idc, audio_bitrate \
             FROM ladder_rungs WHERE ladder_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let rungs = rung_rows
            .iter()
            .map(rung_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Ladder {
            id: LadderId(id),
            name: text(row, "name")?,
            frame_rate_num: uint(row, "frame_rate_num")?,
            frame_rate_den: uint(row, "frame_rate_den")?,
            segment_duration: Ticks(int(row, "segment_duration_ticks")?),
            audio_sample_rate: uint(row, "audio_sample_rate")?,
            audio_channels: uint(row, "audio_channels")?,
            loudness: {
                let loudness = text(row, "loudness")?;
                LoudnessTarget::parse(&loudness).ok_or_else(|| {
                    StoreError::Invalid(format!("unknown loudness target {loudness:?}"))
                })?
            },
            rungs,
        })
    }
}

fn rung_from_row(row: &AnyRow) -> Result<Rung, StoreError> {
    let byte = |column: &str| -> Result<u8, StoreError> {
        let value = int(row, column)?;
        u8::try_from(value).map_err(|_| {
            StoreError::Invalid(format!("column {column} holds {value}, outside 0..=255"))
        })
    };
    Ok(Rung {
        name: text(row, "name")?,
        width: uint(row, "width")?,
        height: uint(row, "height")?,
        video_bitrate: uint(row, "video_bitrate")?,
        h264_profile_idc: byte("h264_profile_idc")?,
        h264_level_idc: byte("h264_level_idc")?,
        audio_bitrate: uint(row, "audio_bitrate")?,
    })
}

#[cfg(test)]
mod tests {
    use onair_domain::{Ladder, LoudnessTarget};

    use crate::{Store, StoreError};

    #[tokio::test]
    async fn the_loudness_target_round_trips_and_an_invalid_ladder_is_refused() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let mut atsc = Ladder::fast_default();
        atsc.loudness = LoudnessTarget::AtscA85;
        let id = store.insert_ladder(&atsc).await.unwrap();
        let stored = store.ladder(id).await.unwrap().unwrap();
        assert_eq!(stored, Ladder { id, ..atsc });

        let mut odd = Ladder::fast_default();
        odd.name = "odd".into();
        odd.rungs[1].height = 721;
        let error = store.insert_ladder(&odd).await.unwrap_err();
        assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
        assert!(
            error.to_string().contains("1280x721 must be even"),
            "{error}"
        );
    }
}
