//! Weekly templates: slots such as "weekdays 20:00: News block" or "Sat 09:00: Cartoons
//! block", expanded for given dates in the channel's zone into grid entries with hard starts.
//!
//! Each slot is a [`Rule`] (daily, weekly or cron) plus what it places: a block, an item or a
//! fill. Expansion uses the rules' DST semantics (see [`crate::rules`]): a slot in the missing
//! hour airs at the end of the gap, a slot in the doubled hour airs once, at the first pass.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use onair_domain::Timestamp;
use serde::{Deserialize, Serialize};

use crate::grid::{GridEntry, GridItem, Start};
use crate::rules::{Occurrence, Rule, RuleError, resolve_local};

/// What a template slot places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SlotContent {
    /// The named block (see [`crate::grid::BlockLibrary`]).
    Block { name: String },
    /// One item; its start is replaced by the slot's.
    Item { item: Box<GridItem> },
    /// The named fill rule, up to the next hard start (see [`crate::fill`]).
    Fill { rule: String },
}

impl SlotContent {
    fn describe(&self) -> String {
        match self {
            SlotContent::Block { name } => format!("block {name:?}"),
            SlotContent::Item { item } => format!("item {:?}", item.info.title),
            SlotContent::Fill { rule } => format!("fill {rule:?}"),
        }
    }
}

/// One slot of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSlot {
    pub rule: Rule,
    pub content: SlotContent,
}

/// A channel's weekly template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyTemplate {
    pub zone: Tz,
    pub slots: Vec<TemplateSlot>,
}

/// Something odd about an expansion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("{first} and {second} both start at {at}")]
    SameStart {
        at: Timestamp,
        first: String,
        second: String,
    },
}

impl WeeklyTemplate {
    pub fn new(zone: Tz) -> WeeklyTemplate {
        WeeklyTemplate {
            zone,
            slots: Vec::new(),
        }
    }

    /// Adds a slot from a rule in text (`"weekdays 20:00"`, see [`Rule::parse`]).
    pub fn with_slot(
        mut self,
        rule: &str,
        content: SlotContent,
    ) -> Result<WeeklyTemplate, RuleError> {
        self.slots.push(TemplateSlot {
            rule: Rule::parse_in(self.zone, rule)?,
            content,
        });
        Ok(self)
    }

    /// Adds a slot from a line such as `"weekdays 20:00: News block"`, `"Sat 09:00: block
    /// Cartoons"` or `"daily 06:00: fill morning"`.
    pub fn with_line(self, line: &str) -> Result<WeeklyTemplate, RuleError> {
        let malformed = || RuleError::MalformedRule {
            text: line.to_owned(),
        };
        let (rule, content) = line.split_once(": ").ok_or_else(malformed)?;
        let content = content.trim();
        let words: Vec<&str> = content.split_whitespace().collect();
        let content = match words.as_slice() {
            ["block", name @ ..] if !name.is_empty() => SlotContent::Block {
                name: name.join(" "),
            },
            [name @ .., "block"] if !name.is_empty() => SlotContent::Block {
                name: name.join(" "),
            },
            ["fill", rule @ ..] if !rule.is_empty() => SlotContent::Fill {
                rule: rule.join(" "),
            },
            _ => return Err(malformed()),
        };
        self.with_slot(rule.trim(), content)
    }

    /// The entries of every slot firing in `[from, to)`, in time order (slots firing at the same
    /// instant in slot order, and reported).
    pub fn expand(&self, from: Timestamp, to: Timestamp) -> (Vec<GridEntry>, Vec<TemplateProblem>) {
        let mut fired: Vec<(Occurrence, usize)> = Vec::new();
        for (slot_index, slot) in self.slots.iter().enumerate() {
            fired.extend(
                slot.rule
                    .occurrences(from, to)
                    .into_iter()
                    .map(|occurrence| (occurrence, slot_index)),
            );
        }
        self.entries(fired)
    }

    /// The fill a slot started before `at` is still placing at `at`, as an entry starting at
    /// `at`: a fill runs up to the next hard start, so a grid that takes effect (or is planned
    /// from) mid-fill joins it in progress, as broadcast does, rather than airing slate until
    /// the next slot. An item or a block that started before `at` does not join: `None`, as
    /// when a slot fires at `at` itself (then it is what airs). Slots are looked for in the
    /// eight days before `at`, which a weekly template always fires in.
    pub fn fill_in_progress(&self, at: Timestamp) -> Option<GridEntry> {
        let lookback = Timestamp(at.0 - 8 * 86_400 * onair_domain::TICKS_PER_SECOND);
        let (entries, _) = self.expand(lookback, at);
        match entries.last()? {
            GridEntry::Fill { rule, .. } => Some(GridEntry::Fill {
                rule: rule.clone(),
                start: Start::Hard(at),
            }),
            _ => None,
        }
    }

    /// The entries of every slot firing on `dates` (local dates in the template's zone).
    pub fn expand_dates(&self, dates: &[NaiveDate]) -> (Vec<GridEntry>, Vec<TemplateProblem>) {
        let wanted: BTreeSet<NaiveDate> = dates.iter().copied().collect();
        let (Some(first), Some(last)) = (wanted.first(), wanted.last()) else {
            return (Vec::new(), Vec::new());
        };
        let from = resolve_local(
            self.zone,
            (*first - Duration::days(1)).and_time(NaiveTime::MIN),
        )
        .at;
        let to = resolve_local(
            self.zone,
            (*last + Duration::days(2)).and_time(NaiveTime::MIN),
        )
        .at;
        let mut fired: Vec<(Occurrence, usize)> = Vec::new();
        for (slot_index, slot) in self.slots.iter().enumerate() {
            fired.extend(
                slot.rule
                    .occurrences(from, to)
                    .into_iter()
                    .filter(|occurrence| wanted.contains(&occurrence.date))
                    .map(|occurrence| (occurrence, slot_index)),
            );
        }
        self.entries(fired)
    }

    fn entries(
        &self,
        mut fired: Vec<(Occurrence, usize)>,
    ) -> (Vec<GridEntry>, Vec<TemplateProblem>) {
        fired.sort_by_key(|(occurrence, slot_index)| (occurrence.at, *slot_index));
        let mut problems = Vec::new();
        let mut first_at: HashMap<Timestamp, usize> = HashMap::new();
        let mut entries = Vec::with_capacity(fired.len());
        for (occurrence, slot_index) in fired {
            let content = &self.slots[slot_index].content;
            if let Some(first) = first_at.get(&occurrence.at) {
                problems.push(TemplateProblem::SameStart {
                    at: occurrence.at,
                    first: self.slots[*first].content.describe(),
                    second: content.describe(),
                });
            } else {
                first_at.insert(occurrence.at, slot_index);
            }
            let start = Start::Hard(occurrence.at);
            entries.push(match content {
                SlotContent::Block { name } => GridEntry::Block {
                    name: name.clone(),
                    start,
                },
                SlotContent::Item { item } => GridEntry::Item(GridItem {
                    start,
                    ..(**item).clone()
                }),
                SlotContent::Fill { rule } => GridEntry::Fill {
                    rule: rule.clone(),
                    start,
                },
            });
        }
        (entries, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_zone;
    use crate::test_support::at_utc;

    fn starts(entries: &[GridEntry]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|entry| match entry {
                GridEntry::Block {
                    name,
                    start: Start::Hard(at),
                } => (name.clone(), at.to_rfc3339_millis()),
                GridEntry::Fill {
                    rule,
                    start: Start::Hard(at),
                } => (format!("fill {rule}"), at.to_rfc3339_millis()),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    fn dates(list: &[&str]) -> Vec<NaiveDate> {
        list.iter().map(|d| d.parse().unwrap()).collect()
    }

    #[test]
    fn a_weekly_template_expands_its_slots_for_the_dates_asked() {
        let template = WeeklyTemplate::new(parse_zone("America/New_York").unwrap())
            .with_line("weekdays 20:00: News block")
            .unwrap()
            .with_line("Sat 09:00: block Cartoons")
            .unwrap()
            .with_line("daily 06:00: fill morning")
            .unwrap();
        let (entries, problems) = template.expand_dates(&dates(&["2026-11-20", "2026-11-21"]));
        assert_eq!(problems, vec![]);
        assert_eq!(
            starts(&entries),
            [
                ("fill morning".into(), "2026-11-20T11:00:00.000Z".into()),
                ("News".into(), "2026-11-21T01:00:00.000Z".into()),
                ("fill morning".into(), "2026-11-21T11:00:00.000Z".into()),
                ("Cartoons".into(), "2026-11-21T14:00:00.000Z".into()),
            ]
        );
    }

    /// A template slot in the missing hour airs at the end of the gap; in the doubled hour, once.
    #[test]
    fn template_slots_on_dst_days_follow_the_rules_semantics() {
        #[rustfmt::skip]
        let table: &[(&str, &str, &[&str], &[&str])] = &[
            ("America/New_York", "Sat,Sun 02:30: Night block", &["2026-03-07", "2026-03-08"],
             &["2026-03-07T07:30:00.000Z", "2026-03-08T07:00:00.000Z"]),
            ("America/New_York", "Sun 01:30: Night block", &["2026-11-01"], &["2026-11-01T05:30:00.000Z"]),
            ("Europe/Berlin", "weekends 02:30: Night block", &["2026-03-28", "2026-03-29"],
             &["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z"]),
            ("Europe/Berlin", "cron 0 30 2 * * Sat,Sun: Night block", &["2026-10-24", "2026-10-25"],
             &["2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z"]),
        ];
        for (zone, line, days, expected) in table {
            let template = WeeklyTemplate::new(parse_zone(zone).unwrap())
                .with_line(line)
                .unwrap();
            let (entries, _) = template.expand_dates(&dates(days));
            let got: Vec<String> = starts(&entries).into_iter().map(|(_, at)| at).collect();
            assert_eq!(got, *expected, "{line} in {zone}");
        }
    }

    #[test]
    fn two_slots_at_the_same_instant_are_reported() {
        let template = WeeklyTemplate::new(Tz::UTC)
            .with_line("daily 20:00: News block")
            .unwrap()
            .with_line("Sat 20:00: Movie block")
            .unwrap();
        let (entries, problems) = template.expand(
            at_utc("2026-11-21T00:00:00Z"),
            at_utc("2026-11-22T00:00:00Z"),
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(
            problems[0].to_string(),
            "block \"News\" and block \"Movie\" both start at 2026-11-21T20:00:00.000Z"
        );
    }

    #[test]
    fn a_malformed_template_line_is_refused() {
        let template = WeeklyTemplate::new(Tz::UTC);
        for line in [
            "weekdays 20:00 News block",
            "weekdays 20:00: News",
            "Moonday 20:00: block X",
        ] {
            assert!(template.clone().with_line(line).is_err(), "{line}");
        }
    }
}
