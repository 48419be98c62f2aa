//! The grid's parts as the store keeps them (one JSON document per part) and as the API
//! takes and answers them: the file format of a grid.

use std::collections::BTreeMap;

use onair_store::grid::{GridDocument, GridKind};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};

/// Programme metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoDoc {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artwork_url: Option<String>,
}

impl InfoDoc {
    /// Just a title: what an item without metadata is listed as.
    pub fn titled(title: impl Into<String>) -> InfoDoc {
        InfoDoc {
            title: title.into(),
            ..InfoDoc::default()
        }
    }

    /// Whether it says anything but a title.
    pub fn is_bare(&self) -> bool {
        *self == InfoDoc::titled(self.title.clone())
    }

    /// The scheduler's programme metadata as the wire has it.
    pub fn of(info: &onair_scheduler::grid::ProgrammeInfo) -> InfoDoc {
        InfoDoc {
            title: info.title.clone(),
            episode_title: info.episode_title.clone(),
            season: info.season,
            episode: info.episode,
            description: info.description.clone(),
            genres: info.genres.clone(),
            rating: info.rating.as_ref().map(|rating| RatingDoc {
                system: rating.system.clone(),
                value: rating.value.clone(),
            }),
            artwork_url: info.artwork_url.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemDoc {
    pub asset_id: i64,
    pub info: InfoDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<ItemBreakDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cue_points_ms: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveDoc {
    pub source_key: String,
    pub duration_ms: i64,
}

/// A break of an item: at `offset_ms` into it (0: before it), after it when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBreakDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_ms: Option<i64>,
    pub duration_ms: i64,
}

#[allow(
    clippy::large_enum_variant,
    reason = "items are most entries; boxing them would only add allocations"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EntryDoc {
    Item(ItemDoc),
    Block { name: String },
    Break { duration_ms: i64 },
    Fill { rule: String },
}

/// The schema of an entry: an object tagged by `type`. Written out because the derived one
/// would be `allOf` an item and its tag, which `ItemDoc`'s closed fields
/// (`additionalProperties: false`) make impossible to meet; here the tag joins the item's own
/// fields.
impl utoipa::PartialSchema for EntryDoc {
    fn schema() -> RefOr<Schema> {
        let tag = |kind: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([kind]))
        };
        let mut item = match <ItemDoc as utoipa::PartialSchema>::schema() {
            RefOr::T(Schema::Object(item)) => item,
            _ => unreachable!("an ItemDoc is an object"),
        };
        item.properties
            .insert("type".to_owned(), tag("item").into());
        item.required.push("type".to_owned());
        let closed = |kind: &str, field: &str, schema_type: Type| {
            ObjectBuilder::new()
                .property("type", tag(kind))
                .property(field, ObjectBuilder::new().schema_type(schema_type))
                .required("type")
                .required(field)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        OneOfBuilder::new()
            .item(item)
            .item(closed("block", "name", Type::String))
            .item(closed("break", "duration_ms", Type::Integer))
            .item(closed("fill", "rule", Type::String))
            .into()
    }
}

impl utoipa::ToSchema for EntryDoc {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <ItemDoc as utoipa::ToSchema>::schemas(schemas);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateDoc {
    pub name: String,
    /// An IANA zone; the channel's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub slots: Vec<SlotDoc>,
}

/// A slot: a rule and exactly one of `block`, `fill`, `item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotDoc {
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockDoc {
    pub entries: Vec<EntryDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FillDoc {
    #[serde(default)]
    pub rules: BTreeMap<String, FillRuleDoc>,
    /// Fills every gap before a hard start.
    #[serde(default)]
    pub default: Option<String>,
}

/// Exactly one of `playlist` and `category`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FillRuleDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playlist: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<CategoryDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<InfoDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryDoc {
    pub assets: Vec<i64>,
    #[serde(default)]
    pub no_repeat_hours: u32,
    #[serde(default)]
    pub seed: u64,
}

/// Exactly one of `every_minutes` and `every_items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdPolicyDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_items: Option<u32>,
    pub break_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_hour_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_break_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsDoc {
    pub asset_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataDoc {
    pub start: String,
    pub asset_id: i64,
    pub info: InfoDoc,
}

/// A channel's whole grid, one field per part, as the API and the store hold it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GridDoc {
    pub templates: Vec<TemplateDoc>,
    pub blocks: BTreeMap<String, BlockDoc>,
    pub fill: FillDoc,
    pub ad_policy: Option<AdPolicyDoc>,
    pub rights: Vec<RightsDoc>,
    pub metadata: Vec<MetadataDoc>,
}

impl GridDoc {
    /// The part as a JSON document.
    pub fn part(&self, kind: GridKind) -> Value {
        let value = match kind {
            GridKind::Templates => serde_json::to_value(&self.templates),
            GridKind::Blocks => serde_json::to_value(&self.blocks),
            GridKind::Fill => serde_json::to_value(&self.fill),
            GridKind::AdPolicy => serde_json::to_value(&self.ad_policy),
            GridKind::Rights => serde_json::to_value(&self.rights),
            GridKind::Metadata => serde_json::to_value(&self.metadata),
        };
        value.expect("grid parts serialise to JSON")
    }

    /// Replaces a part with a JSON document.
    pub fn set_part(&mut self, kind: GridKind, body: &Value) -> Result<(), serde_json::Error> {
        match kind {
            GridKind::Templates => self.templates = Deserialize::deserialize(body)?,
            GridKind::Blocks => self.blocks = Deserialize::deserialize(body)?,
            GridKind::Fill => self.fill = Deserialize::deserialize(body)?,
            GridKind::AdPolicy => self.ad_policy = Deserialize::deserialize(body)?,
            GridKind::Rights => self.rights = Deserialize::deserialize(body)?,
            GridKind::Metadata => self.metadata = Deserialize::deserialize(body)?,
        }
        Ok(())
    }

    /// The grid as the documents stand up to and including `version` (all of them: `None`).
    pub fn as_of(documents: &[GridDocument], version: Option<i64>) -> (GridDoc, Vec<String>) {
        let mut grid = GridDoc::default();
        let mut notes = Vec::new();
        for document in documents
            .iter()
            .filter(|document| version.is_none_or(|version| document.version <= version))
        {
            if let Err(error) = grid.set_part(document.kind, &document.body) {
                notes.push(format!(
                    "the stored {} of grid version {} is unreadable and was left out: {error}",
                    document.kind, document.version
                ));
            }
        }
        (grid, notes)
    }
}

/// An edit of the grid, as the API and the CLI take it: the version it was made on, when it
/// should take effect (RFC 3339; by default as soon as it can), and the parts to replace.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridChange {
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub effective_from: Option<String>,
    #[serde(default)]
    pub templates: Option<Vec<TemplateDoc>>,
    #[serde(default)]
    pub blocks: Option<BTreeMap<String, BlockDoc>>,
    #[serde(default)]
    pub fill: Option<FillDoc>,
    /// `Some(None)`: the policy removed (`null`).
    #[serde(default, deserialize_with = "present")]
    pub ad_policy: Option<Option<AdPolicyDoc>>,
    #[serde(default)]
    pub rights: Option<Vec<RightsDoc>>,
    #[serde(default)]
    pub metadata: Option<Vec<MetadataDoc>>,
}

/// A field that is present, even as `null`: `Some(None)` (for `deserialize_with`, where
/// absent and `null` mean different things).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl GridChange {
    /// Applies the parts given to `grid`; returns their kinds.
    pub fn apply(self, grid: &mut GridDoc) -> Vec<GridKind> {
        let mut kinds = Vec::new();
        if let Some(templates) = self.templates {
            grid.templates = templates;
            kinds.push(GridKind::Templates);
        }
        if let Some(blocks) = self.blocks {
            grid.blocks = blocks;
            kinds.push(GridKind::Blocks);
        }
        if let Some(fill) = self.fill {
            grid.fill = fill;
            kinds.push(GridKind::Fill);
        }
        if let Some(ad_policy) = self.ad_policy {
            grid.ad_policy = ad_policy;
            kinds.push(GridKind::AdPolicy);
        }
        if let Some(rights) = self.rights {
            grid.rights = rights;
            kinds.push(GridKind::Rights);
        }
        if let Some(metadata) = self.metadata {
            grid.metadata = metadata;
            kinds.push(GridKind::Metadata);
        }
        kinds
    }
}
