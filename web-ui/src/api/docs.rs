//! `GET /api/docs`: the API's reference as one server-rendered page, made from the same
//! [`openapi::OpenApi`] value `/api/openapi.json` serves, so the page and the document never
//! disagree. Public like the document; no script: operations grouped by tag (method, path,
//! who may call it, parameters, request body, responses), the security schemes, and every
//! component schema as an outline of its fields, each `$ref` a link to the schema's anchor.
//!
//! The page walks the document's JSON form (what clients see), not utoipa's builder types:
//! OpenAPI 3.1's `type` lists, `oneOf` with `null` and `allOf` wrappers read the same there.

use askama::Template;
use serde_json::{Map, Value};
use utoipa::openapi;

use super::openapi::WHO_MAY_CALL_IT;

/// The methods an operation may have, in the order the page lists them under a path.
const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// How deep a schema's inline fields are outlined (`$ref`s stop it earlier).
const MAX_DEPTH: usize = 12;

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    title: String,
    version: String,
    description: Vec<Paragraph>,
    schemes: Vec<Scheme>,
    tags: Vec<Tag>,
    schemas: Vec<NamedSchema>,
}

/// A paragraph of a description: text, with its backticked parts as code.
struct Paragraph {
    spans: Vec<Span>,
}

struct Span {
    text: String,
    code: bool,
}

/// A piece of a type or a credential: text, code, or a link to an anchor on the page.
struct Token {
    text: String,
    code: bool,
    anchor: Option<String>,
}

struct Scheme {
    name: String,
    anchor: String,
    kind: Vec<Span>,
    description: Vec<Paragraph>,
}

struct Tag {
    name: String,
    anchor: String,
    description: Vec<Paragraph>,
    operations: Vec<Operation>,
}

struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: Option<String>,
    description: Vec<Paragraph>,
    who: Vec<Span>,
    credentials: Vec<Token>,
    deprecated: bool,
    parameters: Vec<Parameter>,
    body: Option<Body>,
    responses: Vec<Answer>,
}

struct Parameter {
    name: String,
    location: String,
    required: bool,
    kind: Vec<Token>,
    description: Vec<Paragraph>,
}

struct Body {
    required: bool,
    description: Vec<Paragraph>,
    contents: Vec<Content>,
}

struct Answer {
    status: String,
    description: Vec<Paragraph>,
    contents: Vec<Content>,
}

/// One media type of a body: its schema's type, and the fields an inline schema outlines.
struct Content {
    media_type: String,
    kind: Vec<Token>,
    fields: Vec<Field>,
}

struct NamedSchema {
    name: String,
    anchor: String,
    kind: Vec<Token>,
    description: Vec<Paragraph>,
    fields: Vec<Field>,
}

/// A field of a schema's outline: its path from the schema (`items[].title`), its type,
/// whether the object it is in requires it, and what it means.
struct Field {
    /// For a field of one of the objects a `oneOf` allows: which (`type = "block"`).
    variant: Option<String>,
    path: String,
    kind: Vec<Token>,
    required: bool,
    description: Vec<Paragraph>,
}

/// The page, as HTML.
pub fn page(document: &openapi::OpenApi) -> String {
    let json = serde_json::to_value(document).expect("an OpenAPI document is serialisable");
    DocsPage::from_json(&json)
        .render()
        .expect("the API docs page renders")
}

impl DocsPage {
    fn from_json(document: &Value) -> Self {
        let info = &document["info"];
        let components = &document["components"];
        let schemes = entries(&components["securitySchemes"])
            .map(|(name, scheme)| Scheme {
                name: name.clone(),
                anchor: anchor("auth", name),
                kind: scheme_kind(scheme),
                description: paragraphs(text(&scheme["description"])),
            })
            .collect();
        let schemas = entries(&components["schemas"])
            .map(|(name, schema)| NamedSchema {
                name: name.clone(),
                anchor: anchor("schema", name),
                kind: kind(schema),
                description: paragraphs(text(&schema["description"])),
                fields: fields(schema),
            })
            .collect();
        DocsPage {
            title: text(&info["title"]).to_owned(),
            version: text(&info["version"]).to_owned(),
            description: paragraphs(text(&info["description"])),
            schemes,
            tags: tags(document),
            schemas,
        }
    }
}

/// The operations grouped by their first tag (untagged ones under `other`), tags in name
/// order, each tag's operations by path and then method.
fn tags(document: &Value) -> Vec<Tag> {
    let mut tags: Vec<Tag> = Vec::new();
    for (path, item) in entries(&document["paths"]) {
        for method in METHODS {
            let Some(operation) = item.get(method).filter(|operation| operation.is_object()) else {
                continue;
            };
            let name = operation["tags"][0].as_str().unwrap_or("other");
            let position = match tags.iter().position(|tag| tag.name == name) {
                Some(position) => position,
                None => {
                    let description = document["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|tag| tag["name"] == name)
                        .map(|tag| paragraphs(text(&tag["description"])))
                        .unwrap_or_default();
                    tags.push(Tag {
                        name: name.to_owned(),
                        anchor: anchor("tag", name),
                        description,
                        operations: Vec::new(),
                    });
                    tags.len() - 1
                }
            };
            tags[position]
                .operations
                .push(self::operation(method, path, operation, item));
        }
    }
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    tags
}

fn operation(method: &str, path: &str, operation: &Value, item: &Value) -> Operation {
    let mut description = text(&operation["description"]).to_owned();
    let mut who = Vec::new();
    if let Some(at) = description.find(WHO_MAY_CALL_IT) {
        who = spans(description[at + WHO_MAY_CALL_IT.len()..].trim());
        description.truncate(at);
    }
    // Parameters declared on the path apply to each of its operations.
    let parameters = [&item["parameters"], &operation["parameters"]]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .map(|parameter| Parameter {
            name: text(&parameter["name"]).to_owned(),
            location: text(&parameter["in"]).to_owned(),
            required: parameter["required"] == true,
            kind: kind(&parameter["schema"]),
            description: paragraphs(text(&parameter["description"])),
        })
        .collect();
    let body = operation.get("requestBody").map(|body| Body {
        required: body["required"] == true,
        description: paragraphs(text(&body["description"])),
        contents: contents(&body["content"]),
    });
    let responses = entries(&operation["responses"])
        .map(|(status, response)| Answer {
            status: status.clone(),
            description: paragraphs(text(&response["description"])),
            contents: contents(&response["content"]),
        })
        .collect();
    Operation {
        anchor: anchor("op", &format!("{method}-{path}")),
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: operation["summary"].as_str().map(str::to_owned),
        description: paragraphs(&description),
        who,
        credentials: credentials(&operation["security"]),
        deprecated: operation["deprecated"] == true,
        parameters,
        body,
        responses,
    }
}

/// An operation's security requirements in words: any one of them will do, and within one,
/// every scheme it names. An empty requirement means no credentials at all.
fn credentials(security: &Value) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (index, requirement) in security.as_array().into_iter().flatten().enumerate() {
        if index > 0 {
            tokens.push(plain(", or "));
        }
        let schemes: Vec<&String> = requirement
            .as_object()
            .map(|schemes| schemes.keys().collect())
            .unwrap_or_default();
        if schemes.is_empty() {
            tokens.push(plain("none"));
        }
        for (index, scheme) in schemes.into_iter().enumerate() {
            if index > 0 {
                tokens.push(plain(" and "));
            }
            tokens.push(link(scheme, anchor("auth", scheme)));
        }
    }
    tokens
}

/// How a security scheme is presented: a bearer token, a cookie, a header.
fn scheme_kind(scheme: &Value) -> Vec<Span> {
    let description = match text(&scheme["type"]) {
        "http" => format!(
            "HTTP `Authorization: {}`",
            capitalised(text(&scheme["scheme"]))
        ),
        "apiKey" => format!("{} `{}`", text(&scheme["in"]), text(&scheme["name"])),
        other => other.to_owned(),
    };
    spans(&description)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Each media type of a `content` map with its schema.
fn contents(content: &Value) -> Vec<Content> {
    entries(content)
        .map(|(media_type, content)| Content {
            media_type: media_type.clone(),
            kind: kind(&content["schema"]),
            fields: fields(&content["schema"]),
        })
        .collect()
}

/// A schema's type in words, its `$ref`s as links.
fn kind(schema: &Value) -> Vec<Token> {
    let mut tokens = Vec::new();
    describe(schema, &mut tokens, 0);
    if tokens.is_empty() {
        tokens.push(plain("any"));
    }
    tokens
}

fn describe(schema: &Value, tokens: &mut Vec<Token>, depth: usize) {
    if depth > MAX_DEPTH {
        tokens.push(plain("…"));
        return;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        tokens.push(link(name, anchor("schema", name)));
        return;
    }
    for (key, joiner) in [("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")] {
        if let Some(alternatives) = schema[key].as_array() {
            for (index, alternative) in alternatives.iter().enumerate() {
                if index > 0 {
                    tokens.push(plain(joiner));
                }
                describe(alternative, tokens, depth + 1);
            }
            return;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for (index, name) in types.iter().enumerate() {
        if index > 0 {
            tokens.push(plain(" or "));
        }
        match *name {
            "array" => {
                tokens.push(plain("array of "));
                describe_or_any(&schema["items"], tokens, depth);
            }
            "object" if schema["additionalProperties"].is_object() => {
                tokens.push(plain("map of string to "));
                describe_or_any(&schema["additionalProperties"], tokens, depth);
            }
            "object" => {
                tokens.push(plain("object"));
                if let Some(label) = variant(schema) {
                    tokens.push(plain(" where "));
                    tokens.push(code(&label));
                }
            }
            _ => {
                tokens.push(plain(name));
                if let Some(format) = schema["format"].as_str().filter(|_| *name != "null") {
                    tokens.push(plain(&format!(" ({format})")));
                }
            }
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        tokens.push(plain(if types.is_empty() {
            "one of "
        } else {
            ": one of "
        }));
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                tokens.push(plain(", "));
            }
            tokens.push(code(&value.to_string()));
        }
    }
    if let Some(value) = schema.get("const") {
        tokens.push(plain(if types.is_empty() {
            "always "
        } else {
            ": always "
        }));
        tokens.push(code(&value.to_string()));
    }
}

fn describe_or_any(schema: &Value, tokens: &mut Vec<Token>, depth: usize) {
    let before = tokens.len();
    describe(schema, tokens, depth + 1);
    if tokens.len() == before {
        tokens.push(plain("any"));
    }
}

/// What tells an object of a `oneOf` from the others: a property with a single value
/// (`type = "block"`).
fn variant(schema: &Value) -> Option<String> {
    entries(&schema["properties"]).find_map(|(name, property)| match property["enum"].as_array() {
        Some(values) if values.len() == 1 => Some(format!("{name} = {}", values[0])),
        _ => property
            .get("const")
            .map(|value| format!("{name} = {value}")),
    })
}

/// The fields an inline schema outlines, nested ones by their path.
fn fields(schema: &Value) -> Vec<Field> {
    let mut fields = Vec::new();
    outline(schema, "", &None, &mut fields, 0);
    fields
}

fn outline(
    schema: &Value,
    base: &str,
    variant: &Option<String>,
    fields: &mut Vec<Field>,
    depth: usize,
) {
    if depth > MAX_DEPTH || schema.get("$ref").is_some() {
        return;
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, property) in entries(&schema["properties"]) {
        let path = if base.is_empty() {
            name.clone()
        } else {
            format!("{base}.{name}")
        };
        fields.push(Field {
            variant: variant.clone(),
            path: path.clone(),
            kind: kind(property),
            required: required.contains(&name.as_str()),
            description: paragraphs(text(&property["description"])),
        });
        outline(property, &path, variant, fields, depth + 1);
    }
    if schema["items"].is_object() {
        let base = format!("{base}[]");
        outline(&schema["items"], &base, variant, fields, depth + 1);
    }
    if schema["additionalProperties"].is_object() {
        let base = format!("{base}[key]");
        outline(
            &schema["additionalProperties"],
            &base,
            variant,
            fields,
            depth + 1,
        );
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for alternative in schema[key].as_array().into_iter().flatten() {
            let variant = match key {
                "allOf" => variant.clone(),
                _ => self::variant(alternative).or_else(|| variant.clone()),
            };
            outline(alternative, base, &variant, fields, depth + 1);
        }
    }
}

/// The entries of a JSON object (none for anything else).
fn entries(value: &Value) -> impl Iterator<Item = (&String, &Value)> {
    value.as_object().into_iter().flat_map(Map::iter)
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// `text`'s paragraphs (split at blank lines).
fn paragraphs(text: &str) -> Vec<Paragraph> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| Paragraph {
            spans: spans(paragraph),
        })
        .collect()
}

/// `text` with its backticked parts as code (an unpaired backtick stays as it is).
fn spans(text: &str) -> Vec<Span> {
    let parts: Vec<&str> = text.split('`').collect();
    let mut spans = Vec::new();
    let paired = parts.len() % 2 == 1;
    for (index, part) in parts.iter().enumerate() {
        let code = paired && index % 2 == 1;
        if !paired && index > 0 {
            spans.push(Span {
                text: "`".to_owned(),
                code: false,
            });
        }
        if !part.is_empty() {
            spans.push(Span {
                text: (*part).to_owned(),
                code,
            });
        }
    }
    spans
}

fn plain(text: &str) -> Token {
    Token {
        text: text.to_owned(),
        code: false,
        anchor: None,
    }
}

fn code(text: &str) -> Token {
    Token {
        text: text.to_owned(),
        code: true,
        anchor: None,
    }
}

fn link(text: &str, anchor: String) -> Token {
    Token {
        text: text.to_owned(),
        code: false,
        anchor: Some(anchor),
    }
}

/// An element id: `prefix-` and `name` with every character but ASCII letters, digits, `-`
/// and `_` as `-`.
fn anchor(prefix: &str, name: &str) -> String {
    let mut id = format!("{prefix}-");
    id.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '-'
        }
    }));
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::{
        ComponentsBuilder, InfoBuilder, ObjectBuilder, OpenApiBuilder, PathsBuilder, Ref,
        ResponseBuilder, Type,
    };

    /// A document whose every text tries to inject markup.
    fn hostile_document() -> openapi::OpenApi {
        let operation = OperationBuilder::new()
            .tag("<b>tag</b>")
            .summary(Some("<script>alert('summary')</script>"))
            .description(Some(format!(
                "Does `<i>` things & more.\n\n{WHO_MAY_CALL_IT}Public."
            )))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("An <img src=x onerror=alert(1)>")
                    .content(
                        "application/json",
                        openapi::ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Thing\"<")))
                            .build(),
                    )
                    .build(),
            )
            .build();
        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("<h1>onair</h1>")
                    .version("1 & 2")
                    .build(),
            )
            .paths(PathsBuilder::new().path("/api/<x>", PathItem::new(HttpMethod::Get, operation)))
            .components(Some(
                ComponentsBuilder::new()
                    .schema(
                        "Thing\"<",
                        ObjectBuilder::new()
                            .property(
                                "name<",
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .description(Some("a \"name\" <u>here</u>")),
                            )
                            .required("name<"),
                    )
                    .build(),
            ))
            .build()
    }

    #[test]
    fn every_text_of_the_document_is_escaped() {
        let html = page(&hostile_document());
        for injected in [
            "<script>alert",
            "<b>tag",
            "<h1>onair",
            "<img src",
            "<i>",
            "<u>",
        ] {
            assert!(!html.contains(injected), "{injected} is not escaped");
        }
        // askama escapes as numeric references.
        assert!(html.contains("&#60;script&#62;alert("), "{html}");
        assert!(html.contains("1 &#38; 2"));
        assert!(html.contains("<code>&#60;i&#62;</code> things &#38; more."));
        assert!(html.contains("a &#34;name&#34; &#60;u&#62;here&#60;/u&#62;"));
        assert!(html.contains("href=\"#schema-Thing--\""));
        assert!(html.contains("id=\"schema-Thing--\""));
    }

    #[test]
    fn who_may_call_an_operation_is_shown_apart_from_its_description() {
        let json = serde_json::to_value(hostile_document()).unwrap();
        let page = DocsPage::from_json(&json);
        let operation = &page.tags[0].operations[0];
        assert_eq!(operation.method, "GET");
        assert_eq!(operation.path, "/api/<x>");
        assert_eq!(operation.who.len(), 1);
        assert_eq!(operation.who[0].text, "Public.");
        assert_eq!(operation.description.len(), 1);
        assert_eq!(operation.responses[0].status, "200");
    }

    #[test]
    fn a_schema_outlines_nested_fields_by_their_path_and_refs_by_name() {
        let schema = serde_json::json!({
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": {"type": "array", "items": {
                    "type": "object",
                    "required": ["at"],
                    "properties": {
                        "at": {"type": "string", "format": "date-time"},
                        "kind": {"type": ["string", "null"], "enum": ["clip", "break", null]},
                        "asset": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Asset"}]}
                    }
                }}
            }
        });
        let outline: Vec<(String, String, bool)> = fields(&schema)
            .into_iter()
            .map(|field| {
                let kind: String = field.kind.iter().map(|token| token.text.as_str()).collect();
                (field.path, kind, field.required)
            })
            .collect();
        assert_eq!(
            outline,
            [
                ("items".to_owned(), "array of object".to_owned(), true),
                (
                    "items[].asset".to_owned(),
                    "null or Asset".to_owned(),
                    false
                ),
                (
                    "items[].at".to_owned(),
                    "string (date-time)".to_owned(),
                    true
                ),
                (
                    "items[].kind".to_owned(),
                    "string or null: one of \"clip\", \"break\", null".to_owned(),
                    false
                ),
            ]
        );
        let asset = &fields(&schema)[1].kind[2];
        assert_eq!(asset.anchor.as_deref(), Some("schema-Asset"));
    }

    #[test]
    fn the_fields_of_each_object_a_one_of_allows_say_which_object_they_belong_to() {
        let schema = serde_json::json!({"oneOf": [
            {"type": "object", "required": ["type", "name"], "properties": {
                "type": {"type": "string", "enum": ["block"]},
                "name": {"type": "string"}
            }},
            {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["break"]},
                "duration_ms": {"type": "integer"}
            }}
        ]});
        let kind: String = kind(&schema)
            .iter()
            .map(|token| token.text.as_str())
            .collect();
        assert_eq!(
            kind,
            "object where type = \"block\" or object where type = \"break\""
        );
        let outline: Vec<(Option<String>, String)> = fields(&schema)
            .into_iter()
            .map(|field| (field.variant, field.path))
            .collect();
        let block = Some("type = \"block\"".to_owned());
        let pause = Some("type = \"break\"".to_owned());
        assert_eq!(
            outline,
            [
                (block.clone(), "name".to_owned()),
                (block, "type".to_owned()),
                (pause.clone(), "duration_ms".to_owned()),
                (pause, "type".to_owned()),
            ]
        );
    }

    #[test]
    fn backticks_make_code_and_an_unpaired_one_stays_text() {
        let rendered = |text: &str| -> Vec<(String, bool)> {
            spans(text)
                .into_iter()
                .map(|span| (span.text, span.code))
                .collect()
        };
        assert_eq!(
            rendered("a `b` c"),
            [
                ("a ".to_owned(), false),
                ("b".to_owned(), true),
                (" c".to_owned(), false)
            ]
        );
        assert_eq!(
            rendered("a ` b"),
            [
                ("a ".to_owned(), false),
                ("`".to_owned(), false),
                (" b".to_owned(), false)
            ]
        );
    }
}
