//! What a channel's ads did, per break and in all: decisions, fill rate, ads aired, slate
//! seconds, VAST errors by code, beacons sent and failed. From the stored decisions and
//! beacons, so every replica's work counts. Also the session's tracking JSON (client-side and
//! server-guided modes), like MediaTailor's.

use std::collections::BTreeMap;
use std::sync::PoisonError;

use serde::Serialize;

use onair_domain::{Ticks, Timestamp};

use crate::Control;
use crate::ads::decision::{Decision, Outcome};
use crate::ads::session::{Session, ad_events};
use crate::refusal::Refusal;
use crate::schedule::channel;

/// One break occurrence, over every session that reached it, or all breaks summed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BreakReport {
    /// RFC 3339; empty for the totals.
    pub break_start: String,
    pub break_seconds: f64,
    pub decisions: u64,
    /// Decisions that aired at least one ad.
    pub filled: u64,
    /// `filled / decisions`, 0 without decisions.
    pub fill_rate: f64,
    /// Decided too late to air.
    pub late: u64,
    pub ads_returned: u64,
    pub ads_aired: u64,
    pub slate_seconds: f64,
    /// VAST error codes and how often each fired.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub errors_by_code: BTreeMap<u16, u64>,
    pub beacons_sent: u64,
    pub beacons_failed: u64,
}

impl BreakReport {
    fn add(&mut self, decision: &Decision) {
        self.decisions += 1;
        self.ads_returned += u64::from(decision.returned);
        match decision.outcome {
            Outcome::Filled => {
                self.filled += 1;
                self.ads_aired += decision.ads.len() as u64;
                self.slate_seconds += decision.slate_ms as f64 / 1000.0;
            }
            Outcome::Late => {
                self.late += 1;
                self.slate_seconds += decision.break_duration_ms as f64 / 1000.0;
            }
            Outcome::Unfilled => self.slate_seconds += decision.break_duration_ms as f64 / 1000.0,
        }
        for error in &decision.errors {
            *self.errors_by_code.entry(error.code).or_insert(0) += 1;
        }
    }

    fn merge(&mut self, other: &BreakReport) {
        self.decisions += other.decisions;
        self.filled += other.filled;
        self.late += other.late;
        self.ads_returned += other.ads_returned;
        self.ads_aired += other.ads_aired;
        self.slate_seconds += other.slate_seconds;
        self.beacons_sent += other.beacons_sent;
        self.beacons_failed += other.beacons_failed;
        self.break_seconds += other.break_seconds;
        for (code, count) in &other.errors_by_code {
            *self.errors_by_code.entry(*code).or_insert(0) += count;
        }
    }

    fn finish(&mut self) {
        self.fill_rate = if self.decisions == 0 {
            0.0
        } else {
            self.filled as f64 / self.decisions as f64
        };
    }
}

/// A channel's ads between two instants.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdReport {
    pub channel: String,
    pub from: String,
    pub to: String,
    pub totals: BreakReport,
    pub breaks: Vec<BreakReport>,
}

impl AdReport {
    /// One line per break, then the totals (`break_start` "total"); errors as `code:count`
    /// separated by spaces.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "break_start,break_seconds,decisions,filled,fill_rate,late,ads_returned,ads_aired,slate_seconds,errors_by_code,beacons_sent,beacons_failed\n",
        );
        let total = BreakReport {
            break_start: "total".into(),
            ..self.totals.clone()
        };
        for row in self.breaks.iter().chain(std::iter::once(&total)) {
            let errors: Vec<String> = row
                .errors_by_code
                .iter()
                .map(|(code, count)| format!("{code}:{count}"))
                .collect();
            out.push_str(&format!(
                "{},{:.3},{},{},{:.4},{},{},{},{:.3},{},{},{}\n",
                row.break_start,
                row.break_seconds,
                row.decisions,
                row.filled,
                row.fill_rate,
                row.late,
                row.ads_returned,
                row.ads_aired,
                row.slate_seconds,
                errors.join(" "),
                row.beacons_sent,
                row.beacons_failed,
            ));
        }
        out
    }
}

impl Control {
    /// The report of `slug`'s breaks that started in `[from, to)`.
    pub async fn ad_report(
        &self,
        slug: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<AdReport, Refusal> {
        if to <= from {
            return Err(Refusal::BadRequest(
                "the report's end must follow its start".into(),
            ));
        }
        let channel = channel(&self.store, slug).await?;
        let decisions = self
            .store
            .ad_decisions_between(channel.id, from, to)
            .await?;
        let beacons = self
            .store
            .beacon_counts_between(channel.id, from, to)
            .await?;
        let mut breaks: BTreeMap<i64, BreakReport> = BTreeMap::new();
        for row in &decisions {
            let report = breaks
                .entry(row.break_start.0)
                .or_insert_with(|| BreakReport {
                    break_start: row.break_start.to_rfc3339_millis(),
                    break_seconds: row.break_duration.as_millis() as f64 / 1000.0,
                    ..BreakReport::default()
                });
            if let Ok(decision) = serde_json::from_str::<Decision>(&row.fill) {
                report.add(&decision);
            }
        }
        for count in &beacons {
            let report = breaks
                .entry(count.break_start.0)
                .or_insert_with(|| BreakReport {
                    break_start: count.break_start.to_rfc3339_millis(),
                    ..BreakReport::default()
                });
            match count.status.as_str() {
                "sent" => report.beacons_sent += count.count,
                "failed" => report.beacons_failed += count.count,
                _ => {}
            }
        }
        let mut totals = BreakReport::default();
        let mut rows = Vec::with_capacity(breaks.len());
        for (_, mut report) in breaks {
            report.finish();
            totals.merge(&report);
            rows.push(report);
        }
        totals.finish();
        Ok(AdReport {
            channel: slug.to_owned(),
            from: from.to_rfc3339_millis(),
            to: to.to_rfc3339_millis(),
            totals,
            breaks: rows,
        })
    }
}

/// A session's tracking document: its breaks ("avails") with their ads and each ad's beacons
/// with the instant they are due. Field names follow MediaTailor's client-side tracking.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tracking {
    pub session_id: String,
    pub avails: Vec<Avail>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Avail {
    pub avail_id: String,
    pub start_time: String,
    pub duration_in_seconds: f64,
    pub ads: Vec<TrackedAd>,
    pub slate_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackedAd {
    pub ad_id: Option<String>,
    pub creative_key: String,
    pub title: Option<String>,
    pub start_time: String,
    pub duration_in_seconds: f64,
    pub tracking_events: Vec<TrackingEvent>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingEvent {
    pub event_type: String,
    pub start_time: String,
    pub beacon_urls: Vec<String>,
}

/// The tracking document of `session`: the breaks it has decisions for that end after `since`.
pub fn tracking(session: &Session, since: Timestamp) -> Tracking {
    let breaks = session
        .breaks
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    let mut avails = Vec::new();
    for filled in breaks.iter() {
        let duration = Ticks::from_millis(filled.break_duration_ms);
        if filled.start + duration < since {
            continue;
        }
        let mut at = filled.start;
        let mut ads = Vec::new();
        for ad in &filled.ads {
            let length = Ticks::from_millis(ad.duration_ms);
            let tracking_events = ad_events(length)
                .into_iter()
                .map(|(event, offset)| TrackingEvent {
                    event_type: event.to_owned(),
                    start_time: (at + offset).to_rfc3339_millis(),
                    beacon_urls: ad.beacons.urls(event),
                })
                .collect();
            ads.push(TrackedAd {
                ad_id: ad.ad_id.as_deref().map(str::to_owned),
                creative_key: ad.creative_key.to_string(),
                title: ad.title.as_deref().map(str::to_owned),
                start_time: at.to_rfc3339_millis(),
                duration_in_seconds: ad.duration_ms as f64 / 1000.0,
                tracking_events,
            });
            at = at + length;
        }
        avails.push(Avail {
            avail_id: filled.first_media_sequence.to_string(),
            start_time: filled.start.to_rfc3339_millis(),
            duration_in_seconds: filled.break_duration_ms as f64 / 1000.0,
            ads,
            slate_seconds: filled.slate_ms as f64 / 1000.0,
        });
    }
    Tracking {
        session_id: session.id.clone(),
        avails,
    }
}
