//! IAB VAST macros (`[CACHEBUSTING]`, `[ERRORCODE]`, …) and onair's session values
//! (`{session.id}`, `{channel}`, …) filled into URL templates.
//!
//! Every value is percent-encoded (RFC 3986: only unreserved characters are kept), so a value
//! can never break out of the query parameter it sits in. A macro we have no value for, and
//! one we do not know, is left as it is: the receiver can tell it was not filled.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) stay, everything else is encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where a break sits in the content, for `[BREAKPOSITION]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakPosition {
    Preroll = 1,
    /// A FAST channel's breaks are midrolls.
    Midroll = 2,
    Postroll = 3,
    Standalone = 4,
}

/// The values the macros are filled with. `None` leaves a macro as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct MacroValues {
    /// `[ERRORCODE]`: set per firing by the resolver and by [`crate::ResolvedAd::error_urls_with`].
    pub error_code: Option<u16>,
    /// `[BREAKMAXDURATION]`, in whole seconds.
    pub break_max_duration: Option<Duration>,
    /// `[BREAKPOSITION]`.
    pub break_position: Option<BreakPosition>,
    /// `[ADSERVINGID]`.
    pub ad_serving_id: Option<String>,
    /// `[UNIVERSALADID]` (`registry:value`).
    pub universal_ad_id: Option<String>,
    /// `[SERVERSIDE]`: 1 when the server makes the request on the device's behalf (onair's
    /// case, the default), 0 for a client, 2 for a server without the device's headers.
    pub server_side: Option<u8>,
    /// `[CLIENTUA]`: who makes the request (`onair/<version>` unless set).
    pub client_ua: Option<String>,
    /// `[DEVICEIP]`; the resolver falls back on [`crate::RequestContext::device_ip`].
    pub device_ip: Option<String>,
    /// `[DEVICEUA]`; the resolver falls back on [`crate::RequestContext::device_ua`].
    pub device_ua: Option<String>,
    /// `[PODSEQUENCE]`.
    pub pod_sequence: Option<u32>,
    /// `[IFA]`: the device's advertising id.
    pub ifa: Option<String>,
    /// `[LIMITADTRACKING]`: 1 when the viewer opted out.
    pub limit_ad_tracking: Option<bool>,
    /// `[GDPRCONSENT]`: the TCF consent string.
    pub gdpr_consent: Option<String>,
    /// `[TIMESTAMP]`; `None` is the time of expansion.
    pub timestamp: Option<DateTime<Utc>>,
    /// `[CACHEBUSTING]`; `None` draws 8 random digits at each expansion.
    pub cache_buster: Option<String>,
    /// `{name}` values: `{session.id}`, `{channel}`, `{break.duration}`, `{param.xyz}`, …
    pub session: BTreeMap<String, String>,
}

impl Default for MacroValues {
    fn default() -> MacroValues {
        MacroValues {
            error_code: None,
            break_max_duration: None,
            break_position: None,
            ad_serving_id: None,
            universal_ad_id: None,
            server_side: Some(1),
            client_ua: Some(concat!("onair/", env!("CARGO_PKG_VERSION")).to_owned()),
            device_ip: None,
            device_ua: None,
            pod_sequence: None,
            ifa: None,
            limit_ad_tracking: None,
            gdpr_consent: None,
            timestamp: None,
            cache_buster: None,
            session: BTreeMap::new(),
        }
    }
}

impl MacroValues {
    /// These values with `[ERRORCODE]` set to `code`.
    pub fn with_error_code(&self, code: u16) -> MacroValues {
        MacroValues {
            error_code: Some(code),
            ..self.clone()
        }
    }

    /// The raw (not yet encoded) value of the IAB macro `name`, when known.
    fn bracket_value(&self, name: &str) -> Option<String> {
        match name {
            "CACHEBUSTING" => Some(
                self.cache_buster
                    .clone()
                    .unwrap_or_else(|| format!("{:08}", fastrand::u32(0..100_000_000))),
            ),
            "TIMESTAMP" => Some(
                self.timestamp
                    .unwrap_or_else(Utc::now)
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string(),
            ),
            "ERRORCODE" => self.error_code.map(|code| code.to_string()),
            "BREAKMAXDURATION" => self
                .break_max_duration
                .map(|duration| duration.as_secs().to_string()),
            "BREAKPOSITION" => self
                .break_position
                .map(|position| (position as u8).to_string()),
            "ADSERVINGID" => self.ad_serving_id.clone(),
            "UNIVERSALADID" => self.universal_ad_id.clone(),
            "SERVERSIDE" => self.server_side.map(|value| value.to_string()),
            "CLIENTUA" => self.client_ua.clone(),
            "DEVICEIP" => self.device_ip.clone(),
            "DEVICEUA" => self.device_ua.clone(),
            "PODSEQUENCE" => self.pod_sequence.map(|sequence| sequence.to_string()),
            "IFA" => self.ifa.clone(),
            "LIMITADTRACKING" => self
                .limit_ad_tracking
                .map(|limited| if limited { "1" } else { "0" }.to_owned()),
            "GDPRCONSENT" => self.gdpr_consent.clone(),
            _ => None,
        }
    }
}

/// `template` with every macro we have a value for replaced by that value, percent-encoded.
pub fn expand(template: &str, values: &MacroValues) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find(['[', '{']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match macro_at(tail, values) {
            Some((value, length)) => {
                out.extend(utf8_percent_encode(&value, ENCODE));
                rest = &tail[length..];
            }
            None => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of the macro `text` starts with (`[NAME]` or `{name}`) and the macro's length.
fn macro_at(text: &str, values: &MacroValues) -> Option<(String, usize)> {
    let (close, is_name_char): (char, fn(char) -> bool) = if text.starts_with('[') {
        (']', |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
        })
    } else {
        ('}', |c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
        })
    };
    let end = text[1..].find(|c: char| !is_name_char(c))? + 1;
    if end == 1 || !text[end..].starts_with(close) {
        return None;
    }
    let name = &text[1..end];
    let value = if close == ']' {
        values.bracket_value(name)
    } else {
        values.session.get(name).cloned()
    }?;
    Some((value, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> MacroValues {
        MacroValues {
            timestamp: Some("2026-03-01T12:34:56.789Z".parse().unwrap()),
            cache_buster: Some("12345678".to_owned()),
            ..MacroValues::default()
        }
    }

    #[test]
    fn every_iab_macro_is_filled_and_percent_encoded() {
        let values = MacroValues {
            error_code: Some(303),
            break_max_duration: Some(Duration::from_millis(120_500)),
            break_position: Some(BreakPosition::Midroll),
            ad_serving_id: Some("a532d16d-4d7f".to_owned()),
            universal_ad_id: Some("ad-id.org:CNPA0484000H".to_owned()),
            device_ip: Some("203.0.113.7".to_owned()),
            device_ua: Some("Roku/DVP-9.10 (519.10E04111A)".to_owned()),
            pod_sequence: Some(2),
            ifa: Some("6D92078A-8246-4BA4-AE5B-76104861E7DC".to_owned()),
            limit_ad_tracking: Some(false),
            gdpr_consent: Some("CO/+x==".to_owned()),
            ..fixed()
        };
        for (template, expected) in [
            ("[CACHEBUSTING]", "12345678"),
            ("[TIMESTAMP]", "2026-03-01T12%3A34%3A56.789Z"),
            ("[ERRORCODE]", "303"),
            ("[BREAKMAXDURATION]", "120"),
            ("[BREAKPOSITION]", "2"),
            ("[ADSERVINGID]", "a532d16d-4d7f"),
            ("[UNIVERSALADID]", "ad-id.org%3ACNPA0484000H"),
            ("[SERVERSIDE]", "1"),
            ("[CLIENTUA]", "onair%2F0.1.0"),
            ("[DEVICEIP]", "203.0.113.7"),
            ("[DEVICEUA]", "Roku%2FDVP-9.10%20%28519.10E04111A%29"),
            ("[PODSEQUENCE]", "2"),
            ("[IFA]", "6D92078A-8246-4BA4-AE5B-76104861E7DC"),
            ("[LIMITADTRACKING]", "0"),
            ("[GDPRCONSENT]", "CO%2F%2Bx%3D%3D"),
        ] {
            assert_eq!(expand(template, &values), expected, "{template}");
        }
    }

    #[test]
    fn a_url_template_keeps_its_own_characters_and_fills_only_the_macros() {
        let expanded = expand(
            "http://example.com/error_[ERRORCODE]?cb=[CACHEBUSTING]&ts=[TIMESTAMP]&x=[ASSETURI]",
            &fixed().with_error_code(100),
        );
        assert_eq!(
            expanded,
            "http://example.com/error_100?cb=12345678&ts=2026-03-01T12%3A34%3A56.789Z&x=[ASSETURI]"
        );
    }

    #[test]
    fn unknown_macros_and_macros_without_a_value_are_left_as_they_are() {
        let values = fixed();
        for template in [
            "[random]",
            "[RANDOM]",
            "[ERRORCODE]",
            "[IFA]",
            "{unknown.key}",
            "[not closed",
            "{}",
            "[]",
            "a[b]c",
            "{ spaced }",
        ] {
            assert_eq!(expand(template, &values), template, "{template}");
        }
    }

    #[test]
    fn session_values_fill_brace_macros() {
        let mut values = fixed();
        values
            .session
            .insert("session.id".to_owned(), "s 1/2".to_owned());
        values
            .session
            .insert("channel".to_owned(), "news".to_owned());
        values
            .session
            .insert("break.duration".to_owned(), "90".to_owned());
        values
            .session
            .insert("param.xyz".to_owned(), "a&b=c".to_owned());
        assert_eq!(
            expand(
                "https://ads.example/tag?sid={session.id}&ch={channel}&d={break.duration}&x={param.xyz}&cb=[CACHEBUSTING]",
                &values
            ),
            "https://ads.example/tag?sid=s%201%2F2&ch=news&d=90&x=a%26b%3Dc&cb=12345678"
        );
    }

    #[test]
    fn cache_busting_draws_eight_digits_each_time() {
        let values = MacroValues::default();
        let first = expand("[CACHEBUSTING]", &values);
        assert_eq!(first.len(), 8, "{first}");
        assert!(first.chars().all(|c| c.is_ascii_digit()), "{first}");
        let draws: std::collections::BTreeSet<String> =
            (0..20).map(|_| expand("[CACHEBUSTING]", &values)).collect();
        assert!(draws.len() > 1, "{draws:?}");
    }

    #[test]
    fn the_timestamp_is_iso_8601_with_milliseconds_in_utc() {
        let stamp = expand("[TIMESTAMP]", &MacroValues::default());
        let decoded = stamp.replace("%3A", ":");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&decoded).is_ok(),
            "{stamp}"
        );
        assert_eq!(decoded.len(), "2026-03-01T12:34:56.789Z".len(), "{stamp}");
        assert!(decoded.ends_with('Z'), "{stamp}");
    }

    #[test]
    fn break_positions_are_numbered_as_the_iab_says() {
        for (position, expected) in [
            (BreakPosition::Preroll, "1"),
            (BreakPosition::Midroll, "2"),
            (BreakPosition::Postroll, "3"),
            (BreakPosition::Standalone, "4"),
        ] {
            let values = MacroValues {
                break_position: Some(position),
                ..MacroValues::default()
            };
            assert_eq!(expand("[BREAKPOSITION]", &values), expected);
        }
    }
}
