//! A channel's grid sources beside its schedule items: weekly templates, blocks, fill rules, the
//! ad policy, asset rights windows and programme metadata, one JSON document per kind.
//!
//! The store keeps the documents as the caller gives them (the API validates them with the
//! scheduler's types first) and guards two things:
//!
//! - **Serialised edits.** A grid edit is check-and-set on the channel's schedule version, the
//!   same counter and the same statement as [`Store::publish_schedule_edit`]: an edit made
//!   against a version that moved on is a [`StoreError::Conflict`] naming the current one, and
//!   a grid edit and a schedule edit made against the same version cannot both land.
//! - **History.** Every version is kept with its author, instant and documents, so any can be
//!   read back and restored; a version's documents take effect from its `effective_from`,
//!   which is never earlier than the one of the version before.

use onair_domain::{ChannelId, Timestamp};
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::StoreError;
use crate::rows::{int, text};
use crate::versions::bump_schedule_version;

/// The kinds of grid document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GridKind {
    Templates,
    Blocks,
    /// Fill rules and the default fill.
    Fill,
    AdPolicy,
    /// Asset rights windows.
    Rights,
    /// Programme metadata of stored schedule items.
    Metadata,
}

impl GridKind {
    pub const ALL: [GridKind; 6] = [
        GridKind::Templates,
        GridKind::Blocks,
        GridKind::Fill,
        GridKind::AdPolicy,
        GridKind::Rights,
        GridKind::Metadata,
    ];

    /// The name stored and used by the API: `templates`, `blocks`, `fill`, `ad_policy`,
    /// `rights`, `metadata`.
    pub fn as_str(self) -> &'static str {
        match self {
            GridKind::Templates => "templates",
            GridKind::Blocks => "blocks",
            GridKind::Fill => "fill",
            GridKind::AdPolicy => "ad_policy",
            GridKind::Rights => "rights",
            GridKind::Metadata => "metadata",
        }
    }

    pub fn parse(name: &str) -> Option<GridKind> {
        GridKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for GridKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored document: a kind's whole content as of `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct GridDocument {
    pub kind: GridKind,
    /// The channel's schedule version the edit that wrote it produced.
    pub version: i64,
    pub author: String,
    pub published_at: Timestamp,
    /// When it starts to apply.
    pub effective_from: Timestamp,
    pub body: serde_json::Value,
}

/// An edit of a channel's grid: the documents replace those of their kinds (other kinds stay),
/// provided the channel's schedule is still at `expected_version`.
#[derive(Debug, Clone, Copy)]
pub struct GridEdit<'a> {
    pub channel: ChannelId,
    pub expected_version: i64,
    /// At most one per kind, at least one.
    pub documents: &'a [(GridKind, serde_json::Value)],
    /// When the documents start to apply: not before the previous version's.
    pub effective_from: Timestamp,
    /// Who publishes it, e.g. a user name from a header, or `api`.
    pub author: &'a str,
    pub now: Timestamp,
}

impl Store {
    /// Applies `edit` in one transaction and returns the channel's new schedule version. A
    /// schedule no longer at `edit.expected_version` is a [`StoreError::Conflict`] naming the
    /// current one, and changes nothing. No document, a kind given twice, or an
    /// `effective_from` earlier than the latest version's is [`StoreError::Invalid`].
    pub async fn publish_grid_edit(&self, edit: &GridEdit<'_>) -> Result<i64, StoreError> {
        check_kinds(edit.documents)?;
        let mut transaction = self.begin_write().await?;
        let version =
            bump_schedule_version(&mut transaction, edit.channel, edit.expected_version).await?;
        insert_documents(
            &mut transaction,
            edit.channel,
            version,
            &GridDocuments {
                documents: edit.documents,
                effective_from: edit.effective_from,
            },
            edit.author,
            edit.now,
        )
        .await?;
        transaction.commit().await?;
        Ok(version)
    }

    /// The newest document of `kind` of the channel, if one was ever written.
    pub async fn latest_grid_document(
        &self,
        channel: ChannelId,
        kind: GridKind,
    ) -> Result<Option<GridDocument>, StoreError> {
        let row = sqlx::query(
            "SELECT version, kind, author, published_at, effective_from, body \
             FROM grid_documents WHERE channel_id = $1 AND kind = $2 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(channel.0)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(document_from_row).transpose()
    }

    /// When the channel's latest grid version takes effect (the earliest a new one may), if it
    /// has one.
    pub async fn latest_grid_effective_from(
        &self,
        channel: ChannelId,
    ) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT effective_from FROM grid_documents WHERE channel_id = $1 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(channel.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(at.map(Timestamp))
    }

    /// Every grid document of the channel, every version, oldest version first (kinds in
    /// [`GridKind::ALL`] order within a version).
    pub async fn grid_documents(
        &self,
        channel: ChannelId,
    ) -> Result<Vec<GridDocument>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, kind, author, published_at, effective_from, body \
             FROM grid_documents WHERE channel_id = $1 ORDER BY version",
        )
        .bind(channel.0)
        .fetch_all(&self.pool)
        .await?;
        let mut documents: Vec<GridDocument> = rows
            .iter()
            .map(document_from_row)
            .collect::<Result<_, _>>()?;
        documents.sort_by_key(|document| (document.version, document.kind));
        Ok(documents)
    }
}

/// Grid documents written in the version a schedule edit makes
/// ([`Store::publish_schedule_edit_with_grid`]): the programme metadata of the items it places.
#[derive(Debug, Clone, Copy)]
pub struct GridDocuments<'a> {
    /// At most one per kind, at least one.
    pub documents: &'a [(GridKind, serde_json::Value)],
    /// When they start to apply: not before the previous version's.
    pub effective_from: Timestamp,
}

/// No document, or a kind given twice, is [`StoreError::Invalid`].
fn check_kinds(documents: &[(GridKind, serde_json::Value)]) -> Result<(), StoreError> {
    if documents.is_empty() {
        return Err(StoreError::Invalid(
            "the grid edit names no document".to_owned(),
        ));
    }
    let mut kinds: Vec<GridKind> = documents.iter().map(|(kind, _)| *kind).collect();
    kinds.sort();
    if let Some(pair) = kinds.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(StoreError::Invalid(format!(
            "the grid edit gives the {} document twice",
            pair[0]
        )));
    }
    Ok(())
}

/// Writes `written` as the documents of `version`, inside a transaction that has bumped the
/// schedule version to it; refuses an `effective_from` earlier than the latest version's.
pub(crate) async fn insert_documents(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    channel: ChannelId,
    version: i64,
    written: &GridDocuments<'_>,
    author: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    check_kinds(written.documents)?;
    let latest = sqlx::query(
        "SELECT version, effective_from FROM grid_documents WHERE channel_id = $1 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(channel.0)
    .fetch_optional(&mut **transaction)
    .await?;
    if let Some(row) = latest
        && let (latest_version, latest_effective) =
            (int(&row, "version")?, int(&row, "effective_from")?)
        && written.effective_from.0 < latest_effective
    {
        return Err(StoreError::Invalid(format!(
            "the grid edit would take effect at {}, before grid version {latest_version}, which takes effect at {}: versions take effect in order",
            written.effective_from,
            Timestamp(latest_effective)
        )));
    }
    for (kind, body) in written.documents {
        sqlx::query(
            "INSERT INTO grid_documents \
             (channel_id, version, kind, author, published_at, effective_from, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(channel.0)
        .bind(version)
        .bind(kind.as_str())
        .bind(author)
        .bind(now.0)
        .bind(written.effective_from.0)
        .bind(body.to_string())
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

fn document_from_row(row: &AnyRow) -> Result<GridDocument, StoreError> {
    let version = int(row, "version")?;
    let kind_name = text(row, "kind")?;
    let kind = GridKind::parse(&kind_name).ok_or_else(|| {
        StoreError::Invalid(format!(
            "grid version {version} has a document of unknown kind {kind_name:?}"
        ))
    })?;
    let body = serde_json::from_str(&text(row, "body")?).map_err(|error| {
        StoreError::Invalid(format!(
            "the {kind} document of grid version {version} is not JSON: {error}"
        ))
    })?;
    Ok(GridDocument {
        kind,
        version,
        author: text(row, "author")?,
        published_at: Timestamp(int(row, "published_at")?),
        effective_from: Timestamp(int(row, "effective_from")?),
        body,
    })
}
