//! Assets and their renditions and segments, published all at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use onair_domain::{
    Asset, AssetId, AssetState, LadderId, Packaging, Rendition, SegmentInfo, Ticks,
};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;
use sqlx::{Any, Transaction};

use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, optional_text, placeholders, text, to_db, uint};
use crate::segment_shelf::Owner;

/// Asset ids per `IN (…)` query, well under every backend's limit on parameters.
const IDS_PER_QUERY: usize = 500;
/// Renditions whose segments one query reads: a normalised half-hour title is ~900 segments a
/// rendition, and the rows of a query are all held at once (a few hundred bytes each) before
/// they become segments, so a channel's worth in one query would hold ~70 MB for a moment.
const RENDITIONS_PER_SEGMENT_QUERY: usize = 8;
/// Segment rows per multi-row `INSERT`, five parameters each.
const SEGMENTS_PER_INSERT: usize = 200;

/// The columns [`asset_from_row`] reads, as a literal for `concat!`.
macro_rules! asset_columns {
    () => {
        "id, title, source, ladder_id, state, duration_ticks"
    };
}

/// The columns [`asset_from_row`] reads, for queries put together at run time.
pub(crate) const ASSET_COLUMNS: &str = asset_columns!();

impl Store {
    /// Registers a source to be transcoded to `ladder_id`: a new asset, processing, with no
    /// renditions yet. A ladder that does not exist is [`StoreError::NotFound`].
    pub async fn insert_asset(
        &self,
        title: &str,
        source: &str,
        ladder_id: LadderId,
    ) -> Result<AssetId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO assets (title, source, ladder_id, state, duration_ticks) \
             VALUES ($1, $2, $3, 'processing', 0) RETURNING id",
        )
        .bind(title)
        .bind(source)
        .bind(ladder_id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(format!("ladder {}", ladder_id.0))
            }
            _ => StoreError::Database(error),
        })?;
        Ok(AssetId(id))
    }

    /// The asset with its renditions (in the order published) and their segments (by index).
    pub async fn asset(&self, id: AssetId) -> Result<Option<Asset>, StoreError> {
        let sql = concat!("SELECT ", asset_columns!(), " FROM assets WHERE id = $1");
        let row = sqlx::query(sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(self
            .assets_with_renditions(vec![asset_from_row(&row)?])
            .await?
            .pop())
    }

    /// The latest asset registered for `source`, whatever its state.
    pub async fn asset_by_source(&self, source: &str) -> Result<Option<Asset>, StoreError> {
        let sql = concat!(
            "SELECT ",
            asset_columns!(),
            " FROM assets WHERE source = $1 ORDER BY id DESC LIMIT 1"
        );
        let row = sqlx::query(sql)
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(self
            .assets_with_renditions(vec![asset_from_row(&row)?])
            .await?
            .pop())
    }

    /// The assets with these ids, with renditions and segments, in the order asked for. Ids
    /// that do not exist are left out; an id asked for twice comes back once.
    pub async fn assets_by_ids(&self, ids: &[AssetId]) -> Result<Vec<Asset>, StoreError> {
        let mut seen = HashSet::new();
        let unique: Vec<AssetId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let mut found = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(IDS_PER_QUERY) {
            let sql = format!(
                concat!("SELECT ", asset_columns!(), " FROM assets WHERE id IN ({})"),
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.0);
            }
            for row in query.fetch_all(&self.pool).await? {
                let asset = asset_from_row(&row)?;
                found.insert(asset.id, asset);
            }
        }
        let assets: Vec<Asset> = unique.iter().filter_map(|id| found.remove(id)).collect();
        self.assets_with_renditions(assets).await
    }

    /// Publishes a transcoded asset in one transaction: stores every rendition and segment,
    /// sets the duration and flips the asset to ready. On any error nothing is stored and the
    /// asset stays processing. Fails with [`StoreError::Conflict`] unless the asset is
    /// processing, and with [`StoreError::Invalid`] for renditions that do not add up to
    /// `duration` or that repeat a rendition or a segment index.
    /// The asset's poster JPEG, relative to the media root, once it is published with one.
    pub async fn asset_poster(&self, id: AssetId) -> Result<Option<String>, StoreError> {
        let poster: Option<Option<String>> =
            sqlx::query_scalar("SELECT poster_path FROM assets WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(poster.flatten())
    }

    pub async fn publish_asset(
        &self,
        id: AssetId,
        duration: Ticks,
        renditions: &[Rendition],
    ) -> Result<(), StoreError> {
        self.publish_asset_with_poster(id, duration, renditions, None)
            .await
    }

    /// [`Store::publish_asset`], recording the poster JPEG (relative to the media root) in the
    /// same transaction.
    pub async fn publish_asset_with_poster(
        &self,
        id: AssetId,
        duration: Ticks,
        renditions: &[Rendition],
        poster_path: Option<&str>,
    ) -> Result<(), StoreError> {
        check_publishable(id, duration, renditions)?;
        let mut transaction = self.begin_write().await?;
        let flipped = sqlx::query(
            "UPDATE assets SET state = 'ready', duration_ticks = $2, error = NULL, poster_path = $3 WHERE id = $1 AND state = 'processing'",
        )
        .bind(id.0)
        .bind(duration.0)
        .bind(poster_path)
        .execute(&mut *transaction)
        .await?;
        if flipped.rows_affected() == 0 {
            let state = asset_state(&mut transaction, id).await?;
            return Err(match state {
                None => StoreError::NotFound(format!("asset {id}")),
                Some(state) => StoreError::Conflict(format!(
                    "asset {id} is {}, not processing: only a processing asset can be published",
                    state.as_str()
                )),
            });
        }
        for rendition in renditions {
            insert_rendition(&mut transaction, id, rendition).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Marks a processing asset failed, with the reason.
    pub async fn fail_asset(&self, id: AssetId, reason: &str) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        let failed = sqlx::query(
            "UPDATE assets SET state = 'failed', error = $2 WHERE id = $1 AND state = 'processing'",
        )
        .bind(id.0)
        .bind(reason)
        .execute(&mut *transaction)
        .await?;
        if failed.rows_affected() == 0 {
            let state = asset_state(&mut transaction, id).await?;
            return Err(match state {
                None => StoreError::NotFound(format!("asset {id}")),
                Some(state) => StoreError::Conflict(format!(
                    "asset {id} is {}, not processing: only a processing asset can fail",
                    state.as_str()
                )),
            });
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Why the asset failed, if it did.
    pub async fn asset_error(&self, id: AssetId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT error FROM assets WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => optional_text(&row, "error"),
            None => Err(StoreError::NotFound(format!("asset {id}"))),
        }
    }

    /// Fills in the renditions and segments of `assets`, keeping their order.
    /// Fills in the renditions of `assets`: their rows, and the segments of those whose list no
    /// other asset read holds already ([`SegmentShelf`](crate::segment_shelf)).
    async fn assets_with_renditions(
        &self,
        mut assets: Vec<Asset>,
    ) -> Result<Vec<Asset>, StoreError> {
        let ids: Vec<i64> = assets.iter().map(|asset| asset.id.0).collect();
        let owners: HashMap<i64, Owner> = assets
            .iter()
            .map(|asset| (asset.id.0, Owner::of(asset)))
            .collect();
        let mut renditions_by_asset: HashMap<i64, Vec<(i64, Rendition)>> = HashMap::new();
        let mut unread: Vec<(i64, &Owner, Rendition)> = Vec::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let list = placeholders(1, chunk.len());
            let rendition_sql = format!(
                "SELECT id, asset_id, rung, packaging, codecs, width, height, peak_bandwidth, average_bandwidth, \
                 init_path FROM renditions WHERE asset_id IN ({list}) ORDER BY asset_id, id"
            );
            let mut rendition_query = sqlx::query(sqlx::AssertSqlSafe(rendition_sql));
            for id in chunk {
                rendition_query = rendition_query.bind(*id);
            }
            for row in rendition_query.fetch_all(&self.pool).await? {
                let (id, asset_id) = (int(&row, "id")?, int(&row, "asset_id")?);
                let mut rendition = rendition_from_row(&row)?;
                let Some(owner) = owners.get(&asset_id) else {
                    continue;
                };
                match self.segment_shelf.get(id, owner, &rendition) {
                    Some(segments) => rendition.segments = segments,
                    None => unread.push((id, owner, rendition.clone())),
                }
                renditions_by_asset
                    .entry(asset_id)
                    .or_default()
                    .push((id, rendition));
            }
        }
        let mut read = self.segments_of(&unread).await?;
        for (id, owner, header) in &unread {
            if let Some(segments) = read.get(id) {
                self.segment_shelf.put(*id, owner, header, segments);
            }
        }
        for asset in &mut assets {
            let renditions = renditions_by_asset.remove(&asset.id.0).unwrap_or_default();
            asset.renditions = renditions
                .into_iter()
                .map(|(id, mut rendition)| {
                    if let Some(segments) = read.remove(&id) {
                        rendition.segments = segments;
                    }
                    rendition
                })
                .collect();
        }
        Ok(assets)
    }

    /// The segments of the renditions `renditions` (row id first), by rendition row id; a
    /// rendition without segments is absent.
    async fn segments_of(
        &self,
        renditions: &[(i64, &Owner, Rendition)],
    ) -> Result<HashMap<i64, Arc<[SegmentInfo]>>, StoreError> {
        let mut segments_by_rendition: HashMap<i64, Vec<SegmentInfo>> = HashMap::new();
        for chunk in renditions.chunks(RENDITIONS_PER_SEGMENT_QUERY) {
            let segment_sql = format!(
                "SELECT rendition_id, idx, duration_ticks, size_bytes, path FROM segments \
                 WHERE rendition_id IN ({}) ORDER BY rendition_id, idx",
                placeholders(1, chunk.len())
            );
            let mut segment_query = sqlx::query(sqlx::AssertSqlSafe(segment_sql));
            for (id, _, _) in chunk {
                segment_query = segment_query.bind(*id);
            }
            for row in segment_query.fetch_all(&self.pool).await? {
                let rendition_id = int(&row, "rendition_id")?;
                segments_by_rendition
                    .entry(rendition_id)
                    .or_default()
                    .push(segment_from_row(&row)?);
            }
        }
        Ok(segments_by_rendition
            .into_iter()
            .map(|(id, segments)| (id, Arc::from(segments)))
            .collect())
    }
}

/// Refuses renditions that cannot be a published asset, before touching the database.
fn check_publishable(
    id: AssetId,
    duration: Ticks,
    renditions: &[Rendition],
) -> Result<(), StoreError> {
    let invalid = |message: String| {
        Err(StoreError::Invalid(format!(
            "cannot publish asset {id}: {message}"
        )))
    };
    if duration.0 <= 0 {
        return invalid(format!("its duration must be positive, not {duration}"));
    }
    let Some(first) = renditions.first() else {
        return invalid("it has no renditions".to_owned());
    };
    let first_durations: Vec<Ticks> = first
        .segments
        .iter()
        .map(|segment| segment.duration)
        .collect();
    for rendition in renditions {
        let name = format!("{}/{}", rendition.rung, rendition.packaging.as_str());
        if rendition.segments.is_empty() {
            return invalid(format!("rendition {name} has no segments"));
        }
        if let Some(segment) = rendition
            .segments
            .iter()
            .find(|segment| segment.duration.0 <= 0)
        {
            return invalid(format!(
                "segment {} of rendition {name} has no duration",
                segment.index
            ));
        }
        let total: Ticks = rendition
            .segments
            .iter()
            .map(|segment| segment.duration)
            .sum();
        if total != duration {
            return invalid(format!(
                "the segments of rendition {name} add up to {total}, not {duration}"
            ));
        }
        let durations = rendition.segments.iter().map(|segment| segment.duration);
        if !durations.eq(first_durations.iter().copied()) {
            return invalid(format!(
                "rendition {name} cuts its segments at other times than rendition {}/{}",
                first.rung,
                first.packaging.as_str()
            ));
        }
    }
    Ok(())
}

async fn asset_state(
    transaction: &mut Transaction<'static, Any>,
    id: AssetId,
) -> Result<Option<AssetState>, StoreError> {
    let row = sqlx::query("SELECT state FROM assets WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut **transaction)
        .await?;
    row.as_ref()
        .map(|row| parse_state(&text(row, "state")?))
        .transpose()
}

async fn insert_rendition(
    transaction: &mut Transaction<'static, Any>,
    asset_id: AssetId,
    rendition: &Rendition,
) -> Result<(), StoreError> {
    let name = format!("{}/{}", rendition.rung, rendition.packaging.as_str());
    let rendition_id: i64 = sqlx::query_scalar(
        "INSERT INTO renditions (asset_id, rung, packaging, codecs, width, height, peak_bandwidth, \
         average_bandwidth, init_path) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(asset_id.0)
    .bind(&rendition.rung)
    .bind(rendition.packaging.as_str())
    .bind(&rendition.codecs)
    .bind(i64::from(rendition.width))
    .bind(i64::from(rendition.height))
    .bind(i64::from(rendition.peak_bandwidth))
    .bind(i64::from(rendition.average_bandwidth))
    .bind(rendition.init_path.as_deref())
    .fetch_one(&mut **transaction)
    .await
    .map_err(|error| match violated_constraint(&error) {
        Some(ErrorKind::UniqueViolation) => StoreError::Invalid(format!(
            "cannot publish asset {asset_id}: it lists rendition {name} twice"
        )),
        _ => StoreError::Database(error),
    })?;
    for chunk in rendition.segments.chunks(SEGMENTS_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| format!("({})", placeholders(row * 5 + 1, 5)))
            .collect();
        let sql = format!(
            "INSERT INTO segments (rendition_id, idx, duration_ticks, size_bytes, path) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for segment in chunk {
            query = query
                .bind(rendition_id)
                .bind(i64::from(segment.index))
                .bind(segment.duration.0)
                .bind(to_db(segment.size_bytes, "segment size")?)
                .bind(segment.path.as_str());
        }
        query.execute(&mut **transaction).await.map_err(|error| {
            match violated_constraint(&error) {
                Some(ErrorKind::UniqueViolation) => StoreError::Invalid(format!(
                    "cannot publish asset {asset_id}: rendition {name} lists segment {} twice",
                    repeated_index(&rendition.segments)
                        .map_or_else(|| "?".to_owned(), |index| index.to_string())
                )),
                _ => StoreError::Database(error),
            }
        })?;
    }
    Ok(())
}

/// The first segment index that appears twice.
fn repeated_index(segments: &[SegmentInfo]) -> Option<u32> {
    let mut seen = HashSet::new();
    segments
        .iter()
        .map(|segment| segment.index)
        .find(|index| !seen.insert(*index))
}

fn parse_state(text: &str) -> Result<AssetState, StoreError> {
    AssetState::parse(text)
        .ok_or_else(|| StoreError::Invalid(format!("unknown asset state {text:?} in the database")))
}

pub(crate) fn asset_from_row(row: &AnyRow) -> Result<Asset, StoreError> {
    Ok(Asset {
        id: AssetId(int(row, "id")?),
        title: text(row, "title")?,
        source: text(row, "source")?,
        ladder_id: LadderId(int(row, "ladder_id")?),
        state: parse_state(&text(row, "state")?)?,
        duration: Ticks(int(row, "duration_ticks")?),
        renditions: Vec::new(),
    })
}

fn rendition_from_row(row: &AnyRow) -> Result<Rendition, StoreError> {
    let packaging_text = text(row, "packaging")?;
    let packaging = Packaging::parse(&packaging_text).ok_or_else(|| {
        StoreError::Invalid(format!(
            "unknown packaging {packaging_text:?} in the database"
        ))
    })?;
    Ok(Rendition {
        rung: text(row, "rung")?,
        packaging,
        codecs: text(row, "codecs")?,
        width: uint(row, "width")?,
        height: uint(row, "height")?,
        peak_bandwidth: uint(row, "peak_bandwidth")?,
        average_bandwidth: uint(row, "average_bandwidth")?,
        init_path: optional_text(row, "init_path")?,
        segments: Arc::from([]),
    })
}

fn segment_from_row(row: &AnyRow) -> Result<SegmentInfo, StoreError> {
    let size = int(row, "size_bytes")?;
    Ok(SegmentInfo {
        index: uint(row, "idx")?,
        duration: Ticks(int(row, "duration_ticks")?),
        size_bytes: u64::try_from(size).map_err(|_| {
            StoreError::Invalid(format!("negative segment size {size} in the database"))
        })?,
        path: text(row, "path")?,
    })
}

#[cfg(test)]
mod tests {
    use onair_domain::media::{AAC_LC_CODEC, AudioTrack};
    use onair_domain::{Ladder, Packaging, Rendition, SegmentInfo, Ticks};

    use crate::Store;

    fn rendition(name: &str, packaging: Packaging, width: u32, height: u32) -> Rendition {
        let dir = format!("assets/1/{name}/{}", packaging.as_str());
        Rendition {
            rung: name.to_owned(),
            packaging,
            codecs: match packaging {
                Packaging::Ts => "avc1.64001e,mp4a.40.2".to_owned(),
                Packaging::Cmaf => "avc1.64001e".to_owned(),
                Packaging::CmafAudio => AAC_LC_CODEC.to_owned(),
            },
            width,
            height,
            peak_bandwidth: 100_000,
            average_bandwidth: 90_000,
            init_path: packaging
                .has_init_segment()
                .then(|| format!("{dir}/init.mp4")),
            segments: (0..2)
                .map(|index| SegmentInfo {
                    index,
                    duration: Ticks::from_secs(2),
                    size_bytes: 1000,
                    path: format!("{dir}/{index:05}.{}", packaging.segment_extension()),
                })
                .collect(),
        }
    }

    async fn sqlite() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        (store, dir)
    }

    #[tokio::test]
    async fn cmaf_audio_tracks_are_published_and_read_back_beside_the_video_tracks() {
        let (store, _dir) = sqlite().await;
        let ladder = Ladder::demo();
        let ladder_id = store.insert_ladder(&ladder).await.unwrap();
        let id = store
            .insert_asset("clip", "clip.mp4", ladder_id)
            .await
            .unwrap();
        let audio = AudioTrack::of_rung(&ladder.rungs[0]);
        let renditions = vec![
            rendition("360p", Packaging::Ts, 640, 360),
            rendition("360p", Packaging::Cmaf, 640, 360),
            rendition(&audio.name, Packaging::CmafAudio, 0, 0),
        ];
        store
            .publish_asset(id, Ticks::from_secs(4), &renditions)
            .await
            .unwrap();
        let asset = store.asset(id).await.unwrap().unwrap();
        assert_eq!(asset.renditions, renditions);
        assert_eq!(
            asset
                .rendition("audio-96k", Packaging::CmafAudio)
                .map(|r| r.codecs.as_str()),
            Some("mp4a.40.2")
        );
        store.close().await;
    }

    /// A database whose assets were published before migration 0005 (muxed CMAF) keeps them,
    /// segments and all, through the rebuild of its tables.
    #[tokio::test]
    async fn renditions_published_before_migration_0005_survive_it() {
        let (store, _dir) = crate::connect::tests::sqlite_migrated_before("0005").await;
        let ladder_id = store.insert_ladder(&Ladder::demo()).await.unwrap();
        let id = store
            .insert_asset("old", "old.mp4", ladder_id)
            .await
            .unwrap();
        let mut muxed = rendition("360p", Packaging::Cmaf, 640, 360);
        muxed.codecs = "avc1.64001e,mp4a.40.2".to_owned();
        let old = vec![rendition("360p", Packaging::Ts, 640, 360), muxed];
        store
            .publish_asset(id, Ticks::from_secs(4), &old)
            .await
            .unwrap();

        store.migrate().await.unwrap();
        let asset = store.asset(id).await.unwrap().unwrap();
        assert_eq!(asset.renditions, old);
        assert_eq!(
            asset.missing_audio_tracks(&Ladder::demo()).len(),
            2,
            "an asset from before has no audio track"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn a_video_rendition_without_a_picture_or_an_audio_track_with_one_is_refused() {
        let (store, _dir) = sqlite().await;
        let ladder_id = store.insert_ladder(&Ladder::demo()).await.unwrap();
        for bad in [
            rendition("360p", Packaging::Cmaf, 0, 0),
            rendition("audio-96k", Packaging::CmafAudio, 640, 360),
        ] {
            let id = store
                .insert_asset("clip", "clip.mp4", ladder_id)
                .await
                .unwrap();
            let refused = store.publish_asset(id, Ticks::from_secs(4), &[bad]).await;
            assert!(refused.is_err(), "{refused:?}");
            assert!(
                store
                    .asset(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .renditions
                    .is_empty()
            );
        }
        store.close().await;
    }
}
