//! Server-side beacons, fired when a player fetches an ad's segments.
//!
//! An ad's segments are listed in a session's playlists under the session's tracking URL
//! (`/channels/{slug}/sessions/{id}/ads/{break}/{position}/media/{path}`, or under a stitched
//! partner's prefix, `/p/{partner}/[t/{token}/]{slug}/sessions/…`). A fetch records
//! what it means (impression and start with the ad's first segment, each quartile with the
//! segment that contains it, complete with the last) and is redirected to the shared,
//! cacheable segment. Each event is claimed once per session, break, ad and event in the store
//! (so a re-fetch on a bitrate switch, or the same fetch on another replica, fires nothing
//! again), then fired in order by one task per session, retried with backoff; what was sent
//! and what failed is recorded for the report. A manifest build never fires anything.

use std::sync::{Arc, PoisonError};

use onair_ad_decision::{RequestContext, macros::expand};
use onair_domain::Timestamp;
use onair_store::BeaconKey;

use crate::ads::engine::AdEngine;
use crate::ads::session::{AiredAd, PendingBeacon, Session, events_through};
use crate::refusal::Refusal;

/// Where a tracked fetch is redirected: the shared segment.
pub fn shared_url(path: &str) -> String {
    format!("/media/{}", path.trim_start_matches('/'))
}

/// The index of a segment file: the number its name ends with (`…/00007.ts` is 7).
fn segment_index(path: &str) -> Option<u32> {
    let name = path.rsplit('/').next()?;
    let stem = name.split('.').next()?;
    let digits: String = stem
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

impl AdEngine {
    /// A session of `partner`'s viewers (`None`: the channel's own) fetched `path` of the ad at
    /// `position` of the break starting at segment `break_media_sequence`: claims the beacons
    /// it fires and queues them. Returns where to redirect. An init segment or a path of
    /// another asset fires nothing.
    pub async fn segment_fetched(
        self: &Arc<Self>,
        slug: &str,
        partner: Option<&str>,
        session_id: &str,
        break_media_sequence: u64,
        position: u32,
        path: &str,
    ) -> Result<String, Refusal> {
        if path.split('/').any(|part| part == "..") {
            return Err(Refusal::BadRequest("a segment path may not climb".into()));
        }
        let session = self.session_of(slug, partner, session_id).await?;
        let found = {
            let breaks = session
                .breaks
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            breaks.get(break_media_sequence).and_then(|filled| {
                let ad = filled.ads.get(position as usize)?.clone();
                let track = filled.catalogue.tracks.get(&ad.asset_id)?.clone();
                let asset = filled.catalogue.assets.get(&ad.asset_id)?;
                let belongs = asset.renditions.iter().any(|rendition| {
                    rendition.init_path.as_deref() == Some(path)
                        || rendition
                            .segments
                            .iter()
                            .any(|segment| segment.path == path)
                });
                Some((filled.start, ad, track, belongs))
            })
        };
        let Some((break_start, ad, track, belongs)) = found else {
            return Err(Refusal::NotFound(format!(
                "session {session_id} has no ad {position} in break {break_media_sequence}"
            )));
        };
        if !belongs {
            return Err(Refusal::NotFound(format!(
                "{path} is not a segment of ad {position}"
            )));
        }
        let Some(index) = segment_index(path).filter(|index| *index < track.len()) else {
            return Ok(shared_url(path));
        };
        if self
            .session_ads(slug, partner)
            .is_some_and(|config| config.client_side_beacons)
        {
            return Ok(shared_url(path));
        }
        let now = self.now();
        let _in_order = session.claiming.lock().await;
        for event in events_through(&track, index) {
            self.claim(&session, break_start, position, event, &ad, now)
                .await?;
        }
        Ok(shared_url(path))
    }

    /// Claims `event` (here, then in the store) and queues it when this call won.
    async fn claim(
        self: &Arc<Self>,
        session: &Arc<Session>,
        break_start: Timestamp,
        position: u32,
        event: &'static str,
        ad: &AiredAd,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let fresh = session
            .claimed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((break_start.0, position, event));
        if !fresh {
            return Ok(());
        }
        let templates = ad.beacons.urls(event);
        let key = BeaconKey {
            session_id: &session.id,
            break_start,
            ad_position: position,
            event,
        };
        let won = self
            .control
            .store
            .claim_beacon(&key, session.channel_id, templates.len() as u32, now)
            .await?;
        if !won {
            return Ok(());
        }
        let urls = templates
            .iter()
            .map(|template| expand(template, &self.beacon_values(session, ad)))
            .collect();
        let start_task = {
            let mut queue = session.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.0.push_back(PendingBeacon {
                break_start,
                position,
                event,
                urls,
            });
            !std::mem::replace(&mut queue.1, true)
        };
        if start_task {
            let engine = self.clone();
            let session = session.clone();
            tokio::spawn(async move { engine.fire_queue(&session).await });
        }
        Ok(())
    }

    /// Fires a session's queued beacons in order until the queue is empty.
    async fn fire_queue(&self, session: &Session) {
        let ctx = RequestContext {
            device_ip: session.client_ip.clone(),
            device_ua: session.user_agent.clone(),
            ..RequestContext::default()
        };
        let allow_private = self
            .session_ads(&session.slug, session.partner_name())
            .is_some_and(|config| config.allow_private);
        loop {
            let next = {
                let mut queue = session.queue.lock().unwrap_or_else(PoisonError::into_inner);
                match queue.0.pop_front() {
                    Some(next) => next,
                    None => {
                        queue.1 = false;
                        return;
                    }
                }
            };
            let Ok((_, sender)) = self.clients(allow_private) else {
                continue;
            };
            let mut attempts = 0;
            let mut failure = None;
            for url in &next.urls {
                let outcome = sender.fire(url, &ctx).await;
                attempts += outcome.attempts;
                if let Some(error) = outcome.error {
                    failure = Some(format!("{url}: {error}"));
                }
            }
            onair_metrics::metrics().beacon_fired(failure.is_none());
            let key = BeaconKey {
                session_id: &session.id,
                break_start: next.break_start,
                ad_position: next.position,
                event: next.event,
            };
            if let Err(error) = self
                .control
                .store
                .finish_beacon(
                    &key,
                    failure.is_none(),
                    attempts,
                    failure.as_deref(),
                    self.now(),
                )
                .await
            {
                tracing::warn!(%error, "cannot record a beacon");
            }
        }
    }

    /// The macro values a beacon of `ad` is expanded with.
    fn beacon_values(&self, session: &Session, ad: &AiredAd) -> onair_ad_decision::MacroValues {
        let mut values = onair_ad_decision::MacroValues {
            ad_serving_id: ad.ad_serving_id.as_deref().map(str::to_owned),
            universal_ad_id: ad.universal_ad_id.as_deref().map(str::to_owned),
            device_ip: session.client_ip.clone(),
            device_ua: session.user_agent.clone(),
            ..onair_ad_decision::MacroValues::default()
        };
        values
            .session
            .insert("session.id".into(), session.id.clone());
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_index_is_the_number_its_file_name_ends_with() {
        assert_eq!(segment_index("assets/7/360p/ts/00007.ts"), Some(7));
        assert_eq!(segment_index("assets/7/360p/cmaf/00012.m4s"), Some(12));
        assert_eq!(segment_index("assets/7/360p/cmaf/init.mp4"), None);
    }
}
