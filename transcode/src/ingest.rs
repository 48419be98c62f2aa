//! Ingest one local file: record the asset, encode its ladder off the async runtime, publish it
//! atomically, or fail it with the reason and remove what was written.

use std::path::{Path, PathBuf};

use onair_domain::{Asset, AssetId, Ladder};
use onair_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot transcode {source_name}: {reason}")]
    Media { source_name: String, reason: String },
    #[error("the transcode of {0} was interrupted")]
    Interrupted(String),
}

/// Encodes `source_path` to `ladder` under `media_root/assets/<id>/` and publishes the asset.
/// `source_key` identifies the source (a path, URL or generator name) for reuse.
pub async fn ingest_file(
    store: &Store,
    media_root: &Path,
    source_path: &Path,
    title: &str,
    source_key: &str,
    ladder: &Ladder,
) -> Result<Asset, TranscodeError> {
    let asset_id = store.insert_asset(title, source_key, ladder.id).await?;
    let asset_dir = format!("assets/{asset_id}");
    let encoded = encode_blocking(
        source_path.to_owned(),
        ladder.clone(),
        media_root.to_owned(),
        asset_dir.clone(),
        title,
    )
    .await;
    let encoded = match encoded {
        Ok(encoded) => encoded,
        Err(error) => {
            let _ = std::fs::remove_dir_all(media_root.join(&asset_dir));
            store.fail_asset(asset_id, &error.to_string()).await?;
            return Err(error);
        }
    };
    store
        .publish_asset(asset_id, encoded.duration, &encoded.renditions)
        .await?;
    fetch(store, asset_id).await
}

async fn encode_blocking(
    source_path: PathBuf,
    ladder: Ladder,
    media_root: PathBuf,
    asset_dir: String,
    title: &str,
) -> Result<onair_media::EncodedAsset, TranscodeError> {
    let source_name = source_path.display().to_string();
    let name_for_log = title.to_owned();
    let task = tokio::task::spawn_blocking(move || {
        let mut last_logged = 0u8;
        let mut progress = |percent: u8| {
            if percent >= last_logged.saturating_add(25) {
                last_logged = percent;
                tracing::info!(title = %name_for_log, percent, "transcoding");
            }
        };
        onair_media::encode_ladder(
            &source_path,
            &ladder,
            &media_root,
            &asset_dir,
            &mut progress,
        )
    });
    match task.await {
        Ok(Ok(encoded)) => Ok(encoded),
        Ok(Err(error)) => Err(TranscodeError::Media {
            source_name,
            reason: error.to_string(),
        }),
        Err(_) => Err(TranscodeError::Interrupted(source_name)),
    }
}

async fn fetch(store: &Store, asset_id: AssetId) -> Result<Asset, TranscodeError> {
    Ok(store
        .asset(asset_id)
        .await?
        .ok_or(StoreError::NotFound(format!("asset {asset_id}")))?)
}
