//! Recurring rules in a channel's time zone (daily, weekly, cron), expanded over a window into
//! dated occurrences, with the daylight-saving cases defined.
//!
//! A rule names a *local wall-clock time* in the channel's zone. Expanding it over `[from, to)`
//! turns every local date and time it names into one instant ([`Occurrence`]).
//!
//! # Daylight saving time
//!
//! Every local time becomes an instant through [`resolve_local`], which decides the two cases a
//! zone with DST has:
//!
//! - **Spring forward (a local time that does not exist).** The rule still airs once, at the
//!   first valid instant after the gap: the transition itself. In America/New_York on
//!   2026-03-08 a 02:30 rule airs at 03:00 EDT (07:00Z); in Europe/Berlin on 2026-03-29 at
//!   03:00 CEST (01:00Z). The occurrence is marked [`DstAdjustment::MovedOutOfGap`].
//! - **Fall back (a local time that exists twice).** The rule airs once, at the *first*
//!   occurrence, the earlier instant (still on summer time): 01:30 in New York on 2026-11-01
//!   airs at 01:30 EDT (05:30Z) and not again at 01:30 EST. The occurrence is marked
//!   [`DstAdjustment::FirstOfTwo`].
//! - Several local times that land on one instant air once: a cron firing every 15 minutes
//!   through the gap (02:00, 02:15, 02:30, 02:45, then 03:00) gives a single 03:00.
//! - A consequence worth knowing: a rule firing more often than hourly has nothing in the
//!   second pass of the doubled hour (01:00 to 02:00 EST in New York), since those local times
//!   were already used by the first pass.
//!
//! Cron expressions (the `cron` crate, six or seven fields, seconds first) are matched against
//! local wall-clock time and resolved the same way. The crate's own zone handling is not used:
//! it fires a doubled-hour rule twice and never fires a missing-hour one.
//!
//! # Errors
//!
//! A zone that does not exist, a malformed time, day list or cron expression, and a rule that
//! can never fire (no weekdays, 30 February, a cron with no match before 2100) are refused when
//! the rule is built, each with a [`RuleError`] that says what is wrong. A rule that is valid but
//! does not fire within a horizon from a given instant is found by [`Rule::check_fires_within`].

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use onair_domain::{Ticks, Timestamp};
use serde::{Deserialize, Serialize};

/// At most this many occurrences come out of one expansion (a cron firing every second over two
/// weeks would otherwise make a million); the earliest are kept.
pub const MAX_OCCURRENCES: usize = 100_000;

/// Why a rule, zone or time cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("time zone {name:?} does not exist: use an IANA name such as \"America/New_York\"")]
    UnknownTimeZone { name: String },
    #[error("malformed time {text:?}: use HH:MM or HH:MM:SS, 24-hour")]
    MalformedTime { text: String },
    #[error(
        "malformed day list {text:?}: use day names (Mon, Tuesday), ranges (Mon-Fri), \"daily\", \"weekdays\" or \"weekends\", separated by commas"
    )]
    MalformedDays { text: String },
    #[error("malformed cron expression {expression:?}: {reason}")]
    MalformedCron { expression: String, reason: String },
    #[error(
        "malformed rule {text:?}: use \"daily HH:MM\", \"<days> HH:MM\" (e.g. \"weekdays 20:00\") or \"cron <6 or 7 fields>\""
    )]
    MalformedRule { text: String },
    #[error("rule {rule:?} never fires: {why}")]
    NeverFires { rule: String, why: String },
}

/// Parses an IANA zone name.
pub fn parse_zone(name: &str) -> Result<Tz, RuleError> {
    Tz::from_str(name.trim()).map_err(|_| RuleError::UnknownTimeZone {
        name: name.to_owned(),
    })
}

/// How a local time was moved to become an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DstAdjustment {
    /// The local time fell in the spring-forward gap; it airs at the first instant after it.
    MovedOutOfGap,
    /// The local time exists twice (fall back); it airs at the first of the two.
    FirstOfTwo,
}

/// A local time made an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub at: Timestamp,
    pub dst: Option<DstAdjustment>,
}

/// The instant a local wall-clock time names in `zone`, by the module's DST rules: a time in a
/// gap moves to the first valid instant after it, a doubled time takes the earlier instant.
pub fn resolve_local(zone: Tz, local: NaiveDateTime) -> Resolved {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => Resolved {
            at: timestamp(at),
            dst: None,
        },
        LocalResult::Ambiguous(earlier, _) => Resolved {
            at: timestamp(earlier),
            dst: Some(DstAdjustment::FirstOfTwo),
        },
        LocalResult::None => {
            // The first whole local minute after the gap is the transition instant. Gaps last
            // an hour in practice; two days covers even a zone skipping a whole date.
            let minute = local
                .with_second(0)
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(local);
            let after_gap = (1..=2 * 24 * 60).find_map(|step| {
                zone.from_local_datetime(&(minute + Duration::minutes(step)))
                    .earliest()
            });
            let at = after_gap.map(timestamp).unwrap_or_else(|| {
                // Unreachable with real zone data; read the time as UTC rather than panic.
                Timestamp::from_datetime(Utc.from_utc_datetime(&local))
            });
            Resolved {
                at,
                dst: Some(DstAdjustment::MovedOutOfGap),
            }
        }
    }
}

fn timestamp(at: DateTime<Tz>) -> Timestamp {
    Timestamp::from_datetime(at.with_timezone(&Utc))
}

/// The instants the local day `date` starts and ends at in `zone`, by [`resolve_local`]: 23,
/// 24 or 25 hours apart, and a day whose midnight a DST change skips starts at its first
/// instant.
pub fn local_day(zone: Tz, date: NaiveDate) -> (Timestamp, Timestamp) {
    let next = date.succ_opt().unwrap_or(date);
    (
        resolve_local(zone, date.and_time(NaiveTime::MIN)).at,
        resolve_local(zone, next.and_time(NaiveTime::MIN)).at,
    )
}

/// The local wall-clock time of an instant in `zone`.
pub fn local_time(zone: Tz, at: Timestamp) -> NaiveDateTime {
    at.to_datetime().with_timezone(&zone).naive_local()
}

/// Parses `HH:MM` or `HH:MM:SS` (24-hour).
pub fn parse_time(text: &str) -> Result<NaiveTime, RuleError> {
    let text = text.trim();
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| RuleError::MalformedTime {
            text: text.to_owned(),
        })
}

/// A set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Weekdays(u8);

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl Weekdays {
    pub const NONE: Weekdays = Weekdays(0);
    pub const ALL: Weekdays = Weekdays(0b111_1111);
    /// Monday to Friday.
    pub const WEEKDAYS: Weekdays = Weekdays(0b001_1111);
    /// Saturday and Sunday.
    pub const WEEKENDS: Weekdays = Weekdays(0b110_0000);

    pub fn of(days: &[Weekday]) -> Weekdays {
        days.iter().fold(Weekdays::NONE, |set, day| set.with(*day))
    }

    pub fn with(self, day: Weekday) -> Weekdays {
        Weekdays(self.0 | 1 << day.num_days_from_monday())
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses a comma-separated list of day names (`Mon`, `tuesday`), ranges (`Mon-Fri`, which
    /// may wrap: `Fri-Mon`), `daily`, `weekdays` and `weekends`.
    pub fn parse(text: &str) -> Result<Weekdays, RuleError> {
        let malformed = || RuleError::MalformedDays {
            text: text.to_owned(),
        };
        let mut set = Weekdays::NONE;
        for token in text.split(',').map(str::trim) {
            let token_set = match token.to_ascii_lowercase().as_str() {
                "daily" | "everyday" | "every day" | "all" => Weekdays::ALL,
                "weekdays" | "weekday" => Weekdays::WEEKDAYS,
                "weekends" | "weekend" => Weekdays::WEEKENDS,
                lower => match lower.split_once('-') {
                    Some((first, last)) => {
                        let first = day_from_name(first).ok_or_else(malformed)?;
                        let last = day_from_name(last).ok_or_else(malformed)?;
                        let mut range = Weekdays::NONE.with(first);
                        let mut day = first;
                        while day != last {
                            day = day.succ();
                            range = range.with(day);
                        }
                        range
                    }
                    None => Weekdays::NONE.with(day_from_name(lower).ok_or_else(malformed)?),
                },
            };
            set = Weekdays(set.0 | token_set.0);
        }
        Ok(set)
    }
}

fn day_from_name(name: &str) -> Option<Weekday> {
    let name = name.trim().to_ascii_lowercase();
    let days = [
        (Weekday::Mon, "monday"),
        (Weekday::Tue, "tuesday"),
        (Weekday::Wed, "wednesday"),
        (Weekday::Thu, "thursday"),
        (Weekday::Fri, "friday"),
        (Weekday::Sat, "saturday"),
        (Weekday::Sun, "sunday"),
    ];
    days.into_iter()
        .find(|(_, full)| name.len() >= 3 && full.starts_with(&name))
        .map(|(day, _)| day)
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Weekdays::ALL => f.write_str("daily"),
            Weekdays::WEEKDAYS => f.write_str("weekdays"),
            Weekdays::WEEKENDS => f.write_str("weekends"),
            set => {
                let names: Vec<&str> = (0..7)
                    .filter(|bit| set.0 & (1 << bit) != 0)
                    .map(|bit| DAY_NAMES[bit])
                    .collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// When a rule fires, in local wall-clock time.
#[derive(Debug, Clone)]
pub enum Recurrence {
    /// Every day at this local time.
    Daily { at: NaiveTime },
    /// On these weekdays at this local time.
    Weekly { days: Weekdays, at: NaiveTime },
    /// A cron expression (six or seven fields, seconds first) matched against local time.
    Cron(Box<cron::Schedule>),
}

impl PartialEq for Recurrence {
    fn eq(&self, other: &Recurrence) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Recurrence {}

impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recurrence::Daily { at } => write!(f, "daily {}", at.format("%H:%M:%S")),
            Recurrence::Weekly { days, at } => write!(f, "{days} {}", at.format("%H:%M:%S")),
            Recurrence::Cron(schedule) => write!(f, "cron {}", schedule.source()),
        }
    }
}

/// A recurring rule in a time zone. Serialised as `{"zone": "...", "rule": "weekdays 20:00"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleSpec", into = "RuleSpec")]
pub struct Rule {
    zone: Tz,
    recurrence: Recurrence,
}

/// A rule as text: what the API and the store hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    pub zone: String,
    pub rule: String,
}

impl TryFrom<RuleSpec> for Rule {
    type Error = RuleError;
    fn try_from(spec: RuleSpec) -> Result<Rule, RuleError> {
        Rule::parse(&spec.zone, &spec.rule)
    }
}

impl From<Rule> for RuleSpec {
    fn from(rule: Rule) -> RuleSpec {
        RuleSpec {
            zone: rule.zone.name().to_owned(),
            rule: rule.recurrence.to_string(),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.recurrence, self.zone.name())
    }
}

/// One firing of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The local date the rule named.
    pub date: NaiveDate,
    /// The local time the rule named (before any DST adjustment).
    pub local: NaiveDateTime,
    /// When it airs.
    pub at: Timestamp,
    /// Set when DST moved it (see the module doc).
    pub dst: Option<DstAdjustment>,
}

impl Rule {
    /// Every day at `at`, local time. Always fires.
    pub fn daily(zone: Tz, at: NaiveTime) -> Rule {
        Rule {
            zone,
            recurrence: Recurrence::Daily { at },
        }
    }

    /// On `days` at `at`, local time. Refused when `days` is empty: it would never fire.
    pub fn weekly(zone: Tz, days: Weekdays, at: NaiveTime) -> Result<Rule, RuleError> {
        let rule = Rule {
            zone,
            recurrence: Recurrence::Weekly { days, at },
        };
        if days.is_empty() {
            return Err(RuleError::NeverFires {
                rule: rule.to_string(),
                why: "it names no weekday".into(),
            });
        }
        Ok(rule)
    }

    /// A cron expression: six or seven fields, seconds first (`sec min hour day-of-month month
    /// day-of-week [year]`), matched against local time. Refused when malformed or when it
    /// matches no date at all (30 February; a year list entirely past 2100).
    pub fn cron(zone: Tz, expression: &str) -> Result<Rule, RuleError> {
        let expression = expression.trim();
        let fields = expression.split_whitespace().count();
        if !expression.starts_with('@') && !(6..=7).contains(&fields) {
            return Err(RuleError::MalformedCron {
                expression: expression.to_owned(),
                reason: format!(
                    "it has {fields} fields; use six or seven, seconds first: \"sec min hour day-of-month month day-of-week [year]\", e.g. \"0 0 20 * * Mon-Fri\""
                ),
            });
        }
        let schedule =
            cron::Schedule::from_str(expression).map_err(|error| RuleError::MalformedCron {
                expression: expression.to_owned(),
                reason: error.to_string(),
            })?;
        let rule = Rule {
            zone,
            recurrence: Recurrence::Cron(Box::new(schedule)),
        };
        let epoch = DateTime::<Utc>::from_timestamp(0, 0).expect("the epoch is a valid instant");
        if let Recurrence::Cron(schedule) = &rule.recurrence
            && schedule.after(&epoch).next().is_none()
        {
            return Err(RuleError::NeverFires {
                rule: rule.to_string(),
                why: "the expression matches no date between 1970 and 2100 (e.g. 30 February)"
                    .into(),
            });
        }
        Ok(rule)
    }

    /// Parses a rule: `daily HH:MM`, `<days> HH:MM` (see [`Weekdays::parse`]: `weekdays 20:00`,
    /// `Sat 09:00`, `Mon,Wed,Fri 18:30`) or `cron <expression>`, in the zone named `zone`.
    pub fn parse(zone: &str, text: &str) -> Result<Rule, RuleError> {
        let zone = parse_zone(zone)?;
        Rule::parse_in(zone, text)
    }

    /// [`Rule::parse`] in a zone already known.
    pub fn parse_in(zone: Tz, text: &str) -> Result<Rule, RuleError> {
        let text = text.trim();
        if let Some(expression) = text.strip_prefix("cron ") {
            return Rule::cron(zone, expression);
        }
        let Some((days, time)) = text.rsplit_once(char::is_whitespace) else {
            return Err(RuleError::MalformedRule {
                text: text.to_owned(),
            });
        };
        let at = parse_time(time)?;
        match Weekdays::parse(days.trim())? {
            Weekdays::ALL => Ok(Rule::daily(zone, at)),
            days => Rule::weekly(zone, days, at),
        }
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    pub fn recurrence(&self) -> &Recurrence {
        &self.recurrence
    }

    /// Every firing with `from <= at < to`, in order, one per instant (see the module doc for
    /// DST). At most [`MAX_OCCURRENCES`].
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<Occurrence> {
        if to <= from {
            return Vec::new();
        }
        // Local bounds, a day wider on each side: DST moves instants by an hour or so.
        let first_local = local_time(self.zone, from) - Duration::days(1);
        let last_local = local_time(self.zone, to) + Duration::days(1);
        let locals: Box<dyn Iterator<Item = NaiveDateTime> + '_> = match &self.recurrence {
            Recurrence::Daily { at } => Box::new(
                days_between(first_local.date(), last_local.date()).map(|date| date.and_time(*at)),
            ),
            Recurrence::Weekly { days, at } => Box::new(
                days_between(first_local.date(), last_local.date())
                    .filter(|date| days.contains(date.weekday()))
                    .map(|date| date.and_time(*at)),
            ),
            Recurrence::Cron(schedule) => {
                // Local wall-clock time carried in a `DateTime<Utc>`: the crate matches fields
                // without any zone rules getting in the way.
                let start = Utc.from_utc_datetime(&(first_local - Duration::seconds(1)));
                Box::new(
                    schedule
                        .after_owned(start)
                        .map(|at| at.naive_utc())
                        .take_while(move |local| *local <= last_local),
                )
            }
        };
        let mut seen = HashSet::new();
        let mut occurrences = Vec::new();
        for local in locals {
            let resolved = resolve_local(self.zone, local);
            if resolved.at < from || resolved.at >= to || !seen.insert(resolved.at) {
                continue;
            }
            occurrences.push(Occurrence {
                date: local.date(),
                local,
                at: resolved.at,
                dst: resolved.dst,
            });
            if occurrences.len() >= MAX_OCCURRENCES {
                break;
            }
        }
        occurrences.sort_by_key(|occurrence| occurrence.at);
        occurrences
    }

    /// The first firing at or after `from` and before `from + horizon`.
    pub fn next_within(&self, from: Timestamp, horizon: Ticks) -> Option<Occurrence> {
        // Day-sized steps keep a sparse rule cheap and a dense one bounded.
        let end = from + horizon;
        let mut window_start = from;
        let step = Ticks::from_secs(7 * 24 * 3600);
        while window_start < end {
            let window_end = (window_start + step).min(end);
            if let Some(first) = self.occurrences(window_start, window_end).first() {
                return Some(*first);
            }
            window_start = window_end;
        }
        None
    }

    /// Refuses a rule that does not fire within `horizon` of `from` (a cron for a date that does
    /// not come round, a year already past).
    pub fn check_fires_within(&self, from: Timestamp, horizon: Ticks) -> Result<(), RuleError> {
        if self.next_within(from, horizon).is_some() {
            return Ok(());
        }
        Err(RuleError::NeverFires {
            rule: self.to_string(),
            why: format!(
                "it has no occurrence in the {} days from {from}",
                horizon.0 / (Ticks::from_secs(86_400).0)
            ),
        })
    }
}

/// Every date from `first` to `last`, both included.
fn days_between(first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    first.iter_days().take_while(move |date| *date <= last)
}

#[cfg(test)]
#[allow(clippy::type_complexity, reason = "table tests spell out their rows")]
mod tests {
    use super::*;

    fn zone(name: &str) -> Tz {
        parse_zone(name).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        Timestamp::from_datetime(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn day_window(zone_name: &str, date: &str) -> (Timestamp, Timestamp) {
        let tz = zone(zone_name);
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        let start = resolve_local(tz, date.and_hms_opt(0, 0, 0).unwrap()).at;
        let end = resolve_local(tz, date.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap()).at;
        (start, end)
    }

    fn fire_times(
        rule: &Rule,
        zone_name: &str,
        date: &str,
    ) -> Vec<(String, Option<DstAdjustment>)> {
        let (from, to) = day_window(zone_name, date);
        rule.occurrences(from, to)
            .into_iter()
            .map(|occurrence| (occurrence.at.to_rfc3339_millis(), occurrence.dst))
            .collect()
    }

    use DstAdjustment::{FirstOfTwo, MovedOutOfGap};

    /// Daily, weekly and cron rules on the four 2026 DST days of America/New_York and
    /// Europe/Berlin, and on an ordinary day for contrast.
    #[test]
    fn rules_air_once_on_dst_days_at_the_documented_instant() {
        let gap = Some(MovedOutOfGap);
        let doubled = Some(FirstOfTwo);
        #[rustfmt::skip]
        let table: &[(&str, &str, &str, &[(&str, Option<DstAdjustment>)])] = &[
            // zone, date (a Sunday), rule, expected instants (UTC)
            ("America/New_York", "2026-03-08", "daily 02:30", &[("2026-03-08T07:00:00.000Z", gap)]),
            ("America/New_York", "2026-03-08", "Sun 02:30", &[("2026-03-08T07:00:00.000Z", gap)]),
            ("America/New_York", "2026-03-08", "cron 0 30 2 * * *", &[("2026-03-08T07:00:00.000Z", gap)]),
            ("America/New_York", "2026-03-08", "daily 03:00", &[("2026-03-08T07:00:00.000Z", None)]),
            ("America/New_York", "2026-03-08", "daily 01:59", &[("2026-03-08T06:59:00.000Z", None)]),
            ("America/New_York", "2026-11-01", "daily 01:30", &[("2026-11-01T05:30:00.000Z", doubled)]),
            ("America/New_York", "2026-11-01", "weekends 01:30", &[("2026-11-01T05:30:00.000Z", doubled)]),
            ("America/New_York", "2026-11-01", "cron 0 30 1 * * Sun", &[("2026-11-01T05:30:00.000Z", doubled)]),
            ("America/New_York", "2026-11-01", "daily 02:00", &[("2026-11-01T07:00:00.000Z", None)]),
            ("America/New_York", "2026-11-08", "daily 01:30", &[("2026-11-08T06:30:00.000Z", None)]),
            ("Europe/Berlin", "2026-03-29", "daily 02:30", &[("2026-03-29T01:00:00.000Z", gap)]),
            ("Europe/Berlin", "2026-03-29", "Sat,Sun 02:00", &[("2026-03-29T01:00:00.000Z", gap)]),
            ("Europe/Berlin", "2026-03-29", "cron 0 15 2 * * *", &[("2026-03-29T01:00:00.000Z", gap)]),
            ("Europe/Berlin", "2026-10-25", "daily 02:30", &[("2026-10-25T00:30:00.000Z", doubled)]),
            ("Europe/Berlin", "2026-10-25", "Sun 02:30", &[("2026-10-25T00:30:00.000Z", doubled)]),
            ("Europe/Berlin", "2026-10-25", "cron 0 30 2 25 10 *", &[("2026-10-25T00:30:00.000Z", doubled)]),
            ("Europe/Berlin", "2026-10-25", "weekdays 02:30", &[]),
            ("Europe/Berlin", "2026-07-05", "daily 02:30", &[("2026-07-05T00:30:00.000Z", None)]),
        ];
        for (zone_name, date, spec, expected) in table {
            let rule = Rule::parse(zone_name, spec).unwrap();
            let expected: Vec<(String, Option<DstAdjustment>)> = expected
                .iter()
                .map(|(at, dst)| (at.to_string(), *dst))
                .collect();
            assert_eq!(
                fire_times(&rule, zone_name, date),
                expected,
                "{spec} in {zone_name} on {date}"
            );
        }
    }

    #[test]
    fn a_cron_every_fifteen_minutes_collapses_the_gap_into_one_firing() {
        let rule = Rule::parse("America/New_York", "cron 0 */15 1-3 8 3 *").unwrap();
        let (from, to) = day_window("America/New_York", "2026-03-08");
        let locals: Vec<String> = rule
            .occurrences(from, to)
            .iter()
            .map(|o| local_time(rule.zone(), o.at).format("%H:%M").to_string())
            .collect();
        assert_eq!(
            locals,
            [
                "01:00", "01:15", "01:30", "01:45", "03:00", "03:15", "03:30", "03:45"
            ]
        );
    }

    #[test]
    fn an_hourly_cron_on_the_fall_back_day_fires_once_per_local_hour() {
        let rule = Rule::parse("America/New_York", "cron 0 0 * * * *").unwrap();
        let (from, to) = day_window("America/New_York", "2026-11-01");
        assert_eq!(
            to - from,
            Ticks::from_secs(25 * 3600),
            "the day lasts 25 hours"
        );
        let occurrences = rule.occurrences(from, to);
        assert_eq!(occurrences.len(), 24);
        let one = &occurrences[1];
        assert_eq!(one.at, utc("2026-11-01T05:00:00Z"));
        assert_eq!(occurrences[2].at, utc("2026-11-01T07:00:00Z"), "02:00 EST");
    }

    #[test]
    fn a_weekly_rule_fires_only_on_its_days_over_a_window() {
        let rule = Rule::parse("Europe/Berlin", "Mon-Fri 20:00").unwrap();
        let occurrences =
            rule.occurrences(utc("2026-03-23T00:00:00Z"), utc("2026-03-30T23:00:00Z"));
        let dates: Vec<String> = occurrences.iter().map(|o| o.date.to_string()).collect();
        assert_eq!(
            dates,
            [
                "2026-03-23",
                "2026-03-24",
                "2026-03-25",
                "2026-03-26",
                "2026-03-27",
                "2026-03-30"
            ]
        );
        assert_eq!(occurrences[0].at, utc("2026-03-23T19:00:00Z"), "CET");
        assert_eq!(occurrences[5].at, utc("2026-03-30T18:00:00Z"), "CEST");
    }

    #[test]
    fn weekday_lists_parse_names_ranges_and_words() {
        let table = [
            ("weekdays", Weekdays::WEEKDAYS),
            ("Mon-Fri", Weekdays::WEEKDAYS),
            ("sat,SUNDAY", Weekdays::WEEKENDS),
            (
                "Fri-Mon",
                Weekdays::of(&[Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon]),
            ),
            ("daily", Weekdays::ALL),
            ("tue , thu", Weekdays::of(&[Weekday::Tue, Weekday::Thu])),
        ];
        for (text, expected) in table {
            assert_eq!(Weekdays::parse(text), Ok(expected), "{text}");
        }
        assert!(Weekdays::parse("Funday").is_err());
        assert_eq!(
            Weekdays::of(&[Weekday::Mon, Weekday::Wed]).to_string(),
            "Mon,Wed"
        );
    }

    #[test]
    fn bad_rules_and_zones_are_refused_with_a_clear_error() {
        let table: &[(&str, &str, &str)] = &[
            (
                "Mars/Olympus_Mons",
                "daily 20:00",
                "time zone \"Mars/Olympus_Mons\" does not exist",
            ),
            (
                "UTC",
                "cron 0 0 12 30 2 *",
                "never fires: the expression matches no date",
            ),
            ("UTC", "cron 0 0 12 31 4,6,9,11 *", "never fires"),
            (
                "UTC",
                "cron 0 20 * * *",
                "it has 5 fields; use six or seven",
            ),
            ("UTC", "cron 0 0 25 * * *", "malformed cron expression"),
            ("UTC", "daily 25:00", "malformed time \"25:00\""),
            ("UTC", "Someday 20:00", "malformed day list \"Someday\""),
            ("UTC", "tonight", "malformed rule \"tonight\""),
        ];
        for (zone_name, spec, message) in table {
            let error = Rule::parse(zone_name, spec).unwrap_err().to_string();
            assert!(error.contains(message), "{spec}: {error}");
        }
        let empty = Rule::weekly(Tz::UTC, Weekdays::NONE, NaiveTime::MIN).unwrap_err();
        assert!(error_says(&empty, "never fires: it names no weekday"));
    }

    fn error_says(error: &RuleError, text: &str) -> bool {
        error.to_string().contains(text)
    }

    #[test]
    fn a_rule_that_does_not_fire_within_the_horizon_is_refused() {
        let leap_day = Rule::parse("UTC", "cron 0 0 12 29 2 *").unwrap();
        let from = utc("2026-03-01T00:00:00Z");
        let year = Ticks::from_secs(365 * 86_400);
        let error = leap_day.check_fires_within(from, year).unwrap_err();
        assert!(
            error_says(&error, "no occurrence in the 365 days"),
            "{error}"
        );
        assert!(leap_day.check_fires_within(from, Ticks(year.0 * 3)).is_ok());
        let past = Rule::parse("UTC", "cron 0 0 12 1 1 * 2020").unwrap();
        assert!(past.check_fires_within(from, year).is_err());
    }

    #[test]
    fn rules_round_trip_through_their_text_form() {
        let rule = Rule::parse("America/New_York", "weekdays 20:00").unwrap();
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(
            json,
            r#"{"zone":"America/New_York","rule":"weekdays 20:00:00"}"#
        );
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
        let bad = serde_json::from_str::<Rule>(r#"{"zone":"Nowhere/Town","rule":"daily 20:00"}"#);
        assert!(bad.unwrap_err().to_string().contains("does not exist"));
    }
}
