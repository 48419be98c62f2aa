//! Small helpers over quick-xml's event reader, for what serde cannot say: which element is the
//! root, and the raw text of an element (VMAP carries whole VAST documents inside).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The first element of a document, with its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Root {
    /// Without its namespace prefix: `VMAP` for `<vmap:VMAP>`.
    pub local_name: String,
    pub attributes: Vec<(String, String)>,
}

impl Root {
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// The root element, or why there is none: text before it, nothing at all, broken markup.
pub(crate) fn root_element(xml: &str) -> Result<Root, String> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) | Ok(Event::Empty(start)) => {
                return Ok(Root {
                    local_name: local_name(&start),
                    attributes: attributes(&start),
                });
            }
            Ok(Event::Text(text)) if !text.xml10_content().trim().is_empty() => {
                return Err("not XML: text where the root element should be".to_owned());
            }
            Ok(Event::Eof) => return Err("not XML: no root element".to_owned()),
            Ok(_) => {}
            Err(error) => return Err(format!("not XML: {error}")),
        }
    }
}

/// An element's name without its namespace prefix.
pub(crate) fn local_name(start: &BytesStart<'_>) -> String {
    let name = start.local_name();
    let name: &str = name.as_ref();
    name.to_owned()
}

/// Attributes by local name, values unescaped; malformed ones are skipped.
pub(crate) fn attributes(start: &BytesStart<'_>) -> Vec<(String, String)> {
    start
        .attributes()
        .filter_map(Result::ok)
        .filter_map(|attribute| {
            let key = attribute.key.local_name();
            let key: &str = key.as_ref();
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?;
            Some((key.to_owned(), value.into_owned()))
        })
        .collect()
}

/// The text of raw element content: CDATA sections verbatim, the rest unescaped, markup
/// dropped, trimmed.
pub(crate) fn inner_text(raw: &str) -> String {
    let mut text = String::new();
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").unwrap_or(after.len());
            text.push_str(&after[..end]);
            rest = after.get(end + 3..).unwrap_or("");
        } else if rest.starts_with('<') {
            let end = rest.find('>').map(|at| at + 1).unwrap_or(rest.len());
            rest = &rest[end..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let chunk = &rest[..end];
            match quick_xml::escape::unescape(chunk) {
                Ok(unescaped) => text.push_str(&unescaped),
                Err(_) => text.push_str(chunk),
            }
            rest = &rest[end..];
        }
    }
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_text_keeps_cdata_and_unescapes_the_rest() {
        assert_eq!(
            inner_text("\n  <![CDATA[http://a/b?x=1&y=<2>]]>\n "),
            "http://a/b?x=1&y=<2>"
        );
        assert_eq!(inner_text(" http://a/b?x=1&amp;y=2 "), "http://a/b?x=1&y=2");
        assert_eq!(inner_text("<!-- note -->http://a"), "http://a");
    }

    #[test]
    fn the_root_is_named_without_its_prefix() {
        let root =
            root_element("<?xml version=\"1.0\"?>\n<vmap:VMAP xmlns:vmap=\"x\" version=\"1.0\"/>")
                .unwrap();
        assert_eq!(root.local_name, "VMAP");
        assert_eq!(root.attribute("version").as_deref(), Some("1.0"));
        assert!(root_element("{ vast: null }").is_err());
        assert!(root_element("  ").is_err());
    }
}
