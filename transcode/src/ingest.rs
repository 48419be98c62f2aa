//! Ingest one local file: record the asset, encode its ladder off the async runtime, publish it
//! atomically, or fail it with the reason and remove what was written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use onair_domain::{Asset, AssetId, Ladder};
use onair_media::{EncodeOptions, EncodedAsset, MediaError};
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
    let source_name = source_path.display().to_string();
    let progress = Arc::new(AtomicU8::new(0));
    let logger = {
        let progress = progress.clone();
        let title = title.to_owned();
        tokio::spawn(async move {
            let mut last_logged = 0u8;
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                let percent = progress.load(Ordering::Relaxed);
                if percent >= last_logged.saturating_add(25) {
                    last_logged = percent;
                    tracing::info!(%title, percent, "transcoding");
                }
            }
        })
    };
    let encoded = encode_blocking(
        source_path.to_owned(),
        ladder.clone(),
        media_root.to_owned(),
        asset_dir.clone(),
        EncodeOptions::default(),
        progress,
    )
    .await;
    logger.abort();
    let outcome = match encoded {
        Ok(encoded) => publish(store, asset_id, &encoded).await,
        Err(EncodeFailure::Media(error)) => Err(TranscodeError::Media {
            source_name,
            reason: error.to_string(),
        }),
        Err(EncodeFailure::Interrupted) => Err(TranscodeError::Interrupted(source_name)),
    };
    if let Err(error) = outcome {
        let _ = std::fs::remove_dir_all(media_root.join(&asset_dir));
        store.fail_asset(asset_id, &error.to_string()).await?;
        return Err(error);
    }
    fetch(store, asset_id).await
}

/// Why [`encode_blocking`] produced nothing.
#[derive(Debug)]
pub(crate) enum EncodeFailure {
    Media(MediaError),
    /// The encoding thread panicked or was torn down.
    Interrupted,
}

/// Runs [`onair_media::encode_ladder`] on a blocking thread, storing its progress in `progress`.
pub(crate) async fn encode_blocking(
    source_path: PathBuf,
    ladder: Ladder,
    media_root: PathBuf,
    asset_dir: String,
    options: EncodeOptions,
    progress: Arc<AtomicU8>,
) -> Result<EncodedAsset, EncodeFailure> {
    let task = tokio::task::spawn_blocking(move || {
        let mut report = |percent: u8| progress.store(percent.min(100), Ordering::Relaxed);
        onair_media::encode_ladder(
            &source_path,
            &ladder,
            &media_root,
            &asset_dir,
            &options,
            &mut report,
        )
    });
    match task.await {
        Ok(Ok(encoded)) => Ok(encoded),
        Ok(Err(error)) => Err(EncodeFailure::Media(error)),
        Err(_) => Err(EncodeFailure::Interrupted),
    }
}

/// Publishes every rendition of `encoded` in one step: the MPEG-TS and CMAF video renditions of
/// every rung and the CMAF audio tracks (one per distinct audio bitrate), with the asset's flip
/// to ready, in one transaction, so no asset is ever ready without its audio tracks.
pub(crate) async fn publish(
    store: &Store,
    asset_id: AssetId,
    encoded: &EncodedAsset,
) -> Result<(), TranscodeError> {
    store
        .publish_asset_with_poster(
            asset_id,
            encoded.duration,
            &encoded.renditions,
            encoded.poster_path.as_deref(),
        )
        .await?;
    Ok(())
}

async fn fetch(store: &Store, asset_id: AssetId) -> Result<Asset, TranscodeError> {
    Ok(store
        .asset(asset_id)
        .await?
        .ok_or(StoreError::NotFound(format!("asset {asset_id}")))?)
}
