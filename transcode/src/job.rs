//! What a transcode job carries, and queuing one: the asset is recorded (processing) at once,
//! so that whoever asked gets both ids before any work starts.

use std::path::PathBuf;

use onair_domain::{AssetId, JobId, JobKind, Ladder, LadderId};
use onair_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::FarmSettings;

/// Where a job's input comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A file uploaded through the API into the incoming folder; removed when the job ends.
    Upload {
        path: PathBuf,
        /// The name the uploader gave, for messages.
        name: Option<String>,
    },
    /// A file in the import folder (canonical path), checked again when the job runs.
    Import { path: PathBuf },
    /// A local file named on the command line, read in place and left alone.
    File { path: PathBuf },
    /// An HTTP(S) URL, downloaded by the worker.
    Url { url: String },
}

impl Source {
    /// What the asset records as its source, and what messages call the input.
    pub fn describe(&self) -> String {
        match self {
            Source::Upload {
                name: Some(name), ..
            } => format!("upload {name:?}"),
            Source::Upload { path, name: None } => format!(
                "upload {}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ),
            Source::Import { path } | Source::File { path } => path.display().to_string(),
            Source::Url { url } => url.clone(),
        }
    }

    /// A title for an input that was given none: the file name without its extension.
    pub fn default_title(&self) -> String {
        let name = match self {
            Source::Upload {
                name: Some(name), ..
            } => name.clone(),
            Source::Upload { name: None, .. } => "upload".to_owned(),
            Source::Import { path } | Source::File { path } => path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Source::Url { url } => url
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        let stem = match name.rsplit_once('.') {
            Some((stem, _extension)) if !stem.is_empty() => stem.to_owned(),
            _ => name,
        };
        if stem.trim().is_empty() {
            "untitled".to_owned()
        } else {
            stem
        }
    }
}

/// The payload of a [`JobKind::Transcode`] job, stored as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscodeJob {
    /// Recorded when the job was queued, processing until the job ends.
    pub asset_id: AssetId,
    pub ladder_id: LadderId,
    pub title: String,
    pub source: Source,
    /// Encode to a whole number of the ladder's segments, the last one as long as the others
    /// (the picture holds its last frame, the sound is silent): for media stitched into a break
    /// of whole segments, an ad creative. The asset's duration is then the padded one. Absent
    /// from jobs queued before it existed, which are not padded.
    #[serde(default)]
    pub pad_to_whole_segments: bool,
}

impl TranscodeJob {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a transcode job serialises")
    }

    pub fn from_json(json: &str) -> Result<TranscodeJob, String> {
        serde_json::from_str(json).map_err(|error| format!("unreadable job payload: {error}"))
    }
}

/// A request to transcode a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTranscode {
    /// `None`: the source's file name.
    pub title: Option<String>,
    pub source: Source,
    /// A ladder by name; `None`: the configured default.
    pub ladder: Option<String>,
}

/// The ids [`enqueue`] hands back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    pub asset_id: AssetId,
    pub job_id: JobId,
}

/// Records the asset (processing) and queues its transcode job. A ladder that does not exist is
/// [`StoreError::NotFound`], unless it is a built-in one, which is created on first use.
pub async fn enqueue(
    store: &Store,
    settings: &FarmSettings,
    request: NewTranscode,
) -> Result<Enqueued, StoreError> {
    enqueue_job(store, settings, request, false).await
}

/// [`enqueue`] for media stitched into a break of whole segments (an ad creative): its job pads
/// the encode to whole segments ([`TranscodeJob::pad_to_whole_segments`]).
pub async fn enqueue_padded_to_whole_segments(
    store: &Store,
    settings: &FarmSettings,
    request: NewTranscode,
) -> Result<Enqueued, StoreError> {
    enqueue_job(store, settings, request, true).await
}

async fn enqueue_job(
    store: &Store,
    settings: &FarmSettings,
    request: NewTranscode,
    pad_to_whole_segments: bool,
) -> Result<Enqueued, StoreError> {
    let ladder_name = request
        .ladder
        .as_deref()
        .unwrap_or(&settings.default_ladder);
    let ladder = resolve_ladder(store, ladder_name).await?;
    let title = match request.title.map(|title| title.trim().to_owned()) {
        Some(title) if !title.is_empty() => title,
        _ => request.source.default_title(),
    };
    let asset_id = store
        .insert_asset(&title, &request.source.describe(), ladder.id)
        .await?;
    let payload = TranscodeJob {
        asset_id,
        ladder_id: ladder.id,
        title,
        source: request.source,
        pad_to_whole_segments,
    };
    match store
        .enqueue_job(
            JobKind::Transcode,
            &payload.to_json(),
            settings.max_attempts,
            crate::now(),
        )
        .await
    {
        Ok(job_id) => Ok(Enqueued { asset_id, job_id }),
        Err(error) => {
            let _ = store
                .fail_asset(asset_id, "its transcode job could not be queued")
                .await;
            Err(error)
        }
    }
}

/// The ladder called `name`, creating it when it is a built-in one
/// ([`onair_domain::Ladder::builtin`]).
pub async fn resolve_ladder(store: &Store, name: &str) -> Result<Ladder, StoreError> {
    store.resolve_ladder(name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_round_trips_as_json() {
        let job = TranscodeJob {
            asset_id: AssetId(4),
            ladder_id: LadderId(1),
            title: "News".into(),
            source: Source::Url {
                url: "https://example.com/a.mp4".into(),
            },
            pad_to_whole_segments: true,
        };
        let json = job.to_json();
        assert!(json.contains("\"kind\":\"url\""), "{json}");
        assert!(json.contains("\"pad_to_whole_segments\":true"), "{json}");
        assert_eq!(TranscodeJob::from_json(&json).unwrap(), job);
        assert!(TranscodeJob::from_json("{}").is_err());
    }

    #[test]
    fn a_payload_queued_before_padding_existed_reads_as_not_padded() {
        let old = r#"{"asset_id":4,"ladder_id":1,"title":"News","source":{"kind":"file","path":"/a/news.mp4"}}"#;
        let job = TranscodeJob::from_json(old).unwrap();
        assert!(!job.pad_to_whole_segments);
        assert_eq!(
            job.source,
            Source::File {
                path: "/a/news.mp4".into()
            }
        );
    }

    #[test]
    fn default_titles_come_from_file_names() {
        let url = |url: &str| Source::Url { url: url.into() };
        assert_eq!(
            url("https://x.test/media/show.mp4?sig=1").default_title(),
            "show"
        );
        assert_eq!(url("https://x.test/").default_title(), "x");
        assert_eq!(
            Source::File {
                path: "/a/b/Evening News.mov".into()
            }
            .default_title(),
            "Evening News"
        );
        assert_eq!(
            Source::Upload {
                path: "/in/u1".into(),
                name: None
            }
            .default_title(),
            "upload"
        );
        assert_eq!(
            Source::Upload {
                path: "/in/u1".into(),
                name: Some(".hidden".into())
            }
            .default_title(),
            ".hidden"
        );
    }
}
