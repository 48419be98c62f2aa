//! The REST API's OpenAPI 3.1 document, generated from the code: each handler's
//! `#[utoipa::path]` and each wire type's `ToSchema`, merged with the parts other crates
//! describe (the transcode farm's `/api/assets`, `/api/jobs` and `/api/uploads`), then given
//! each operation's security and who may call it from the access table
//! ([`crate::access::routes`]), so the document and the guard never disagree. Served, public,
//! at `GET /api/openapi.json`, and as a page at `GET /api/docs` ([`super::docs`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{self, ContentBuilder, Ref, RefOr, ResponseBuilder};

use crate::access::csrf::TOKEN_HEADER;
use crate::access::routes::{Access, policy};
use crate::access::{SESSION_COOKIE, routes::RoutePolicy};
use crate::pages::PAGE_HEADERS;

/// The security schemes operations name.
const BEARER: &str = "bearer";
const SESSION: &str = "session";
const CSRF: &str = "csrf";

/// What starts the part of an operation's description that says who may call it.
pub const WHO_MAY_CALL_IT: &str = "Who may call it: ";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onair",
        description = "FAST channel playout and server-side ad insertion: channels, assets, \
            ladders, schedules, grids, the as-run log, ads, live sources and partners. Every \
            refusal is `{\"error\"}` (with `errors` by item, line or field for 422, and \
            `lock_horizon` for an edit inside it); who may call each operation is in its \
            description.",
    ),
    paths(
        openapi_json,
        api_docs,
        crate::pages::account::me,
        super::schedule::list_channels,
        super::manage::create_channel,
        super::manage::get_channel,
        super::manage::edit_channel,
        super::manage::retire_channel,
        super::manage::list_assets,
        super::manage::delete_asset,
        super::manage::list_ladders,
        super::manage::create_ladder,
        super::manage::get_ladder,
        super::schedule::get_schedule,
        super::schedule::put_schedule,
        super::schedule::list_versions,
        super::schedule::get_version,
        super::schedule::restore_version,
        super::transfer::export,
        super::transfer::import,
        super::transfer::copy,
        super::grid::get_grid,
        super::grid::put_grid,
        super::grid::list_versions,
        super::grid::get_version,
        super::grid::restore_version,
        super::grid::get_part,
        super::grid::put_part,
        super::grid::preview_plan,
        super::as_run::entries,
        super::as_run::reconciliation,
        super::ads::current,
        super::ads::put,
        super::ads::versions,
        super::ads::restore,
        super::ads::report,
        super::ads::resolve,
        super::partners::list,
        super::partners::create,
        super::partners::show,
        super::partners::update,
        super::partners::delete,
        super::partners::rotate,
        super::partners::sign,
        super::live::list,
        super::live::create,
        super::live::show,
        super::live::delete,
        super::live::rotate,
        super::live::events,
        super::live::take,
        super::live::slate_now,
        super::live::return_to_schedule,
        super::live::takes,
        super::conformance::check_channel,
        super::conformance::check_partner,
    ),
    components(schemas(super::error::ErrorBody))
)]
struct WebApi;

/// The whole document: this crate's operations and `parts` (other crates' documents), each
/// operation given its security and its access policy.
pub fn document(parts: impl IntoIterator<Item = openapi::OpenApi>) -> openapi::OpenApi {
    let mut document = WebApi::openapi();
    for part in parts {
        document.merge(part);
    }
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A user's API token (`onair user token`), or the server's bootstrap token \
                     (`http.api_token`)",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION_COOKIE,
            "The session cookie a login at /login sets",
        ))),
    );
    components.add_security_scheme(
        CSRF,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-CSRF-Token",
            "With the session cookie, every request that changes something sends the \
             session's CSRF token (the pages' `<meta name=\"csrf-token\">`)",
        ))),
    );
    debug_assert_eq!(TOKEN_HEADER, "x-csrf-token");
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                secure(operation, policy(method, path), method);
            }
        }
    }
    document
}

/// Who may call `operation`, in its security and description; the guard's 401 and 403 among
/// its answers unless it is public.
fn secure(operation: &mut openapi::path::Operation, route: Option<&RoutePolicy>, method: &str) {
    let access = route.map(|route| route.access);
    let who = match access {
        None => "Not in the access table: the guard refuses it.".to_owned(),
        Some(Access::Public) => "Public.".to_owned(),
        Some(Access::LoggedIn) => "Any logged-in user.".to_owned(),
        Some(Access::OnChannel { role }) => {
            format!(
                "A user with role `{}` on the channel `{{slug}}` names (or on every channel).",
                role.as_str()
            )
        }
        Some(Access::OnAnyChannel { role }) => {
            format!(
                "A user with role `{}` on at least one channel.",
                role.as_str()
            )
        }
        Some(Access::OnEveryChannel { role }) => {
            format!("A user with role `{}` on every channel.", role.as_str())
        }
    };
    operation.description = Some(match operation.description.take() {
        Some(description) => format!("{description}\n\n{WHO_MAY_CALL_IT}{who}"),
        None => format!("{WHO_MAY_CALL_IT}{who}"),
    });
    if access == Some(Access::Public) {
        operation.security = Some(vec![SecurityRequirement::default()]);
        return;
    }
    let session = if method == "GET" {
        SecurityRequirement::new(SESSION, Vec::<String>::new())
    } else {
        SecurityRequirement::new(SESSION, Vec::<String>::new()).add(CSRF, Vec::<String>::new())
    };
    operation.security = Some(vec![
        SecurityRequirement::new(BEARER, Vec::<String>::new()),
        session,
    ]);
    for (status, description) in [
        ("401", "Nobody logged in (`WWW-Authenticate: Bearer`)"),
        (
            "403",
            "The caller lacks the role, or a session's write lacks its CSRF token",
        ),
    ] {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
}

/// A response whose body is the API's error.
fn error_response(description: &str) -> openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// `GET /api/openapi.json`: `document`, as JSON; `GET /api/docs`: `document`, as a page.
pub fn router(document: &openapi::OpenApi) -> Router {
    let json: Arc<str> = document
        .to_json()
        .expect("an OpenAPI document is serialisable")
        .into();
    let page: Arc<str> = super::docs::page(document).into();
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .with_state(json)
        .merge(
            Router::new()
                .route("/api/docs", get(api_docs))
                .with_state(page),
        )
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object)),
)]
async fn openapi_json(State(json): State<Arc<str>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response()
}

/// This document as a page to read.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "meta",
    responses((status = 200, description = "The API reference: this document as an HTML page", content_type = "text/html", body = String)),
)]
async fn api_docs(State(page): State<Arc<str>>) -> Response {
    (PAGE_HEADERS, Html(page.to_string())).into_response()
}

/// Asserts that `value` has exactly the fields the schema `name` of this crate's document
/// declares, nested objects and arrays' items too: for the schemas written for a type of a
/// crate without schemas, so that the type and its schema cannot drift apart. Every optional
/// field of `value` must be set.
#[cfg(test)]
pub(crate) fn assert_fields_match(value: &serde_json::Value, name: &str) {
    let document = serde_json::to_value(document([])).unwrap();
    let schemas = &document["components"]["schemas"];
    let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
    if let Err(mismatch) = fields_match(value, &schema, schemas, name) {
        panic!("{mismatch}");
    }
}

/// Whether `value`'s fields are `schema`'s properties, all the way down; a `oneOf` or `anyOf`
/// matches when one of its alternatives does.
#[cfg(test)]
fn fields_match(
    value: &serde_json::Value,
    schema: &serde_json::Value,
    schemas: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let resolved = &schemas[name];
        if resolved.is_null() {
            return Err(format!("{at}: no schema {name}"));
        }
        return fields_match(value, resolved, schemas, at);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alternatives) = schema[key].as_array() {
            let mut mismatches = Vec::new();
            for alternative in alternatives
                .iter()
                .filter(|alternative| alternative["type"] != "null" || value.is_null())
            {
                match fields_match(value, alternative, schemas, at) {
                    Ok(()) => return Ok(()),
                    Err(mismatch) => mismatches.push(mismatch),
                }
            }
            return Err(format!(
                "{at}: no alternative matches: {}",
                mismatches.join("; ")
            ));
        }
    }
    match value {
        serde_json::Value::Object(entries) if schema["additionalProperties"].is_object() => {
            for (key, entry) in entries {
                let values = &schema["additionalProperties"];
                fields_match(entry, values, schemas, &format!("{at}[{key}]"))?;
            }
        }
        serde_json::Value::Object(fields) => {
            let Some(properties) = schema["properties"].as_object() else {
                return Err(format!("{at}: an object, but the schema has no properties"));
            };
            let mut named: Vec<&String> = fields.keys().collect();
            let mut declared: Vec<&String> = properties.keys().collect();
            named.sort();
            declared.sort();
            if named != declared {
                return Err(format!(
                    "{at}: the fields {named:?}, but the schema's properties {declared:?}"
                ));
            }
            for (name, field) in fields {
                fields_match(field, &properties[name], schemas, &format!("{at}.{name}"))?;
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                fields_match(item, &schema["items"], schemas, &format!("{at}[]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_control::grid::{
        AdPolicyDoc, BlockDoc, CategoryDoc, EntryDoc, FillDoc, FillRuleDoc, GridDoc, InfoDoc,
        ItemBreakDoc, ItemDoc, LiveDoc, MetadataDoc, RatingDoc, RightsDoc, SlotDoc, TemplateDoc,
    };

    /// An item with every optional field set.
    fn item() -> ItemDoc {
        ItemDoc {
            asset_id: 1,
            info: InfoDoc {
                title: "News".to_owned(),
                episode_title: Some("Morning".to_owned()),
                season: Some(1),
                episode: Some(2),
                description: Some("The news".to_owned()),
                genres: vec!["News".to_owned()],
                rating: Some(RatingDoc {
                    system: Some("VCHIP".to_owned()),
                    value: "TV-G".to_owned(),
                }),
                artwork_url: Some("https://example.com/a.jpg".to_owned()),
            },
            in_ms: Some(0),
            out_ms: Some(60_000),
            live: Some(LiveDoc {
                source_key: "studio".to_owned(),
                duration_ms: 60_000,
            }),
            breaks: vec![ItemBreakDoc {
                offset_ms: Some(30_000),
                duration_ms: 15_000,
            }],
            cue_points_ms: vec![30_000],
        }
    }

    #[test]
    fn the_documented_grid_parts_have_the_fields_of_a_grid_with_every_kind_of_entry() {
        let grid = GridDoc {
            templates: vec![TemplateDoc {
                name: "week".to_owned(),
                zone: Some("Europe/Paris".to_owned()),
                // Exactly one of them is allowed; all are set to see each documented.
                slots: vec![SlotDoc {
                    rule: "cron 0 0 * * * *".to_owned(),
                    block: Some("news".to_owned()),
                    fill: Some("promos".to_owned()),
                    item: Some(item()),
                }],
            }],
            blocks: [(
                "news".to_owned(),
                BlockDoc {
                    entries: vec![
                        EntryDoc::Item(item()),
                        EntryDoc::Block {
                            name: "other".to_owned(),
                        },
                        EntryDoc::Break {
                            duration_ms: 30_000,
                        },
                        EntryDoc::Fill {
                            rule: "promos".to_owned(),
                        },
                    ],
                },
            )]
            .into(),
            fill: FillDoc {
                rules: [(
                    "promos".to_owned(),
                    FillRuleDoc {
                        playlist: Some(vec![1, 2]),
                        category: Some(CategoryDoc {
                            assets: vec![3],
                            no_repeat_hours: 2,
                            seed: 7,
                        }),
                        info: Some(item().info),
                    },
                )]
                .into(),
                default: Some("promos".to_owned()),
            },
            ad_policy: Some(AdPolicyDoc {
                every_minutes: Some(15),
                every_items: Some(2),
                break_ms: 60_000,
                max_per_hour_ms: Some(240_000),
                min_break_ms: Some(30_000),
            }),
            rights: vec![RightsDoc {
                asset_id: 1,
                valid_from: Some("2026-12-01T00:00:00Z".to_owned()),
                valid_until: Some("2026-12-31T00:00:00Z".to_owned()),
            }],
            metadata: vec![MetadataDoc {
                start: "2026-12-01T00:00:00Z".to_owned(),
                asset_id: 1,
                info: item().info,
            }],
        };
        assert_fields_match(&serde_json::to_value(&grid).unwrap(), "GridParts");
        // A field the schema does not name is caught, however deep.
        let mut wrong = serde_json::to_value(&grid).unwrap();
        wrong["blocks"]["news"]["entries"][1]["asset_id"] = 1.into();
        let document = serde_json::to_value(document([])).unwrap();
        let schema = serde_json::json!({"$ref": "#/components/schemas/GridParts"});
        assert!(fields_match(&wrong, &schema, &document["components"]["schemas"], "grid").is_err());
    }

    /// The operations of this crate's document, as `METHOD /path`.
    fn operations(document: &openapi::OpenApi) -> Vec<String> {
        let mut listed = Vec::new();
        for (path, item) in &document.paths.paths {
            for (method, operation) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ] {
                if operation.is_some() {
                    listed.push(format!("{method} {path}"));
                }
            }
        }
        listed
    }

    #[test]
    fn every_operation_is_in_the_access_table_with_its_security() {
        let document = document([]);
        for operation in operations(&document) {
            let (method, path) = operation.split_once(' ').unwrap();
            let route = policy(method, path)
                .unwrap_or_else(|| panic!("{operation} is not in the access table"));
            assert_ne!(route.path, "/api/{*rest}", "{operation}");
        }
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        assert_eq!(
            json["paths"]["/api/openapi.json"]["get"]["security"],
            serde_json::json!([{}])
        );
        assert_eq!(
            json["paths"]["/api/partners"]["post"]["security"],
            serde_json::json!([{"bearer": []}, {"csrf": [], "session": []}])
        );
        assert!(
            json["paths"]["/api/partners"]["post"]["description"]
                .as_str()
                .unwrap()
                .ends_with("A user with role `admin` on every channel.")
        );
    }

    #[test]
    fn the_schedule_items_sent_and_answered_show_their_length() {
        let json = serde_json::to_value(document([])).unwrap();
        let schemas = &json["components"]["schemas"];
        for schema in ["ItemDraft", "ItemOut", "PlacedOut"] {
            assert!(
                schemas[schema]["properties"]["length_ms"].is_object(),
                "{schema}: {}",
                schemas[schema]
            );
        }
        assert!(
            !schemas["ItemDraft"]["required"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!("length_ms")),
            "a length is optional"
        );
        assert!(schemas["PlacedOut"]["properties"]["end"].is_object());
    }
}
