//! The publishes in progress, by stream key: one at a time per key, whatever the protocol.
//! A [`Claim`] holds a key until it is dropped; [`ActivePublish`] pairs it with the
//! handler's sink and ends both in the right order (the key is free before the sink hears the
//! end).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::{Container, Ended, IngestHandler, Protocol, PublishSink};

/// One publish in progress, as [`crate::IngestServer::publishes`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishStatus {
    pub key: String,
    pub protocol: Protocol,
    pub peer: SocketAddr,
    pub since: SystemTime,
    /// Media bytes received (RTMP audio, video and metadata payloads; SRT payloads).
    pub bytes_received: u64,
    /// When media last arrived, if it has.
    pub last_data: Option<SystemTime>,
}

#[derive(Debug)]
struct Entry {
    protocol: Protocol,
    peer: SocketAddr,
    since: SystemTime,
    bytes_received: AtomicU64,
    /// Milliseconds since the epoch; 0 before any media.
    last_data_millis: AtomicU64,
}

/// The publishes in progress, shared by the listeners and the server's status.
#[derive(Debug, Clone, Default)]
pub(crate) struct Publishes {
    by_key: Arc<Mutex<HashMap<String, Arc<Entry>>>>,
}

/// The key is publishing already.
#[derive(Debug)]
pub(crate) struct Busy {
    pub protocol: Protocol,
    pub peer: SocketAddr,
}

impl Publishes {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        // Nothing panics while holding the lock; a poisoned map is still consistent.
        self.by_key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `key` for a publish from `peer`, unless it is publishing already.
    pub fn claim(&self, key: &str, protocol: Protocol, peer: SocketAddr) -> Result<Claim, Busy> {
        let mut by_key = self.lock();
        if let Some(entry) = by_key.get(key) {
            return Err(Busy {
                protocol: entry.protocol,
                peer: entry.peer,
            });
        }
        let entry = Arc::new(Entry {
            protocol,
            peer,
            since: SystemTime::now(),
            bytes_received: AtomicU64::new(0),
            last_data_millis: AtomicU64::new(0),
        });
        by_key.insert(key.to_owned(), Arc::clone(&entry));
        Ok(Claim {
            publishes: self.clone(),
            key: key.to_owned(),
            entry,
        })
    }

    pub fn status(&self) -> Vec<PublishStatus> {
        let mut statuses: Vec<_> = self
            .lock()
            .iter()
            .map(|(key, entry)| {
                let millis = entry.last_data_millis.load(Ordering::Relaxed);
                PublishStatus {
                    key: key.clone(),
                    protocol: entry.protocol,
                    peer: entry.peer,
                    since: entry.since,
                    bytes_received: entry.bytes_received.load(Ordering::Relaxed),
                    last_data: (millis > 0).then(|| UNIX_EPOCH + Duration::from_millis(millis)),
                }
            })
            .collect();
        statuses.sort_by(|a, b| a.key.cmp(&b.key));
        statuses
    }
}

/// A key held for one publish; dropping it frees the key.
#[derive(Debug)]
pub(crate) struct Claim {
    publishes: Publishes,
    key: String,
    entry: Arc<Entry>,
}

impl Claim {
    pub fn key(&self) -> &str {
        &self.key
    }

    fn record(&self, n_bytes: usize) {
        self.entry
            .bytes_received
            .fetch_add(n_bytes as u64, Ordering::Relaxed);
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |since_epoch| since_epoch.as_millis().max(1) as u64);
        self.entry.last_data_millis.store(millis, Ordering::Relaxed);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut by_key = self.publishes.lock();
        if by_key
            .get(&self.key)
            .is_some_and(|entry| Arc::ptr_eq(entry, &self.entry))
        {
            by_key.remove(&self.key);
        }
    }
}

/// Why a publish was not admitted, with the reason to tell the publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The handler said no.
    Denied(String),
    /// The key is publishing already.
    Busy(String),
}

impl Refusal {
    pub fn into_reason(self) -> String {
        match self {
            Refusal::Denied(reason) | Refusal::Busy(reason) => reason,
        }
    }
}

/// Whether `key` may publish from `peer`: the handler's word, then whether the key is free.
/// A refusal is logged with the peer.
pub(crate) fn admit(
    handler: &dyn IngestHandler,
    publishes: &Publishes,
    key: &str,
    protocol: Protocol,
    peer: SocketAddr,
) -> Result<Claim, Refusal> {
    if let Err(reason) = handler.authorize(key, protocol, peer) {
        tracing::warn!(%protocol, %peer, key, %reason, "publish refused");
        return Err(Refusal::Denied(reason));
    }
    publishes.claim(key, protocol, peer).map_err(|busy| {
        tracing::warn!(
            %protocol, %peer, key,
            publishing_from = %busy.peer, publishing_over = %busy.protocol,
            "publish refused: the key is already publishing"
        );
        Refusal::Busy(format!("stream key {key} is already publishing"))
    })
}

/// A publish under way: its key's claim and the handler's sink.
pub(crate) struct ActivePublish {
    claim: Option<Claim>,
    sink: Option<Box<dyn PublishSink>>,
    protocol: Protocol,
    peer: SocketAddr,
}

impl ActivePublish {
    pub fn start(
        handler: &dyn IngestHandler,
        claim: Claim,
        protocol: Protocol,
        peer: SocketAddr,
        container: Container,
    ) -> Self {
        tracing::info!(%protocol, %peer, key = claim.key(), "publish started");
        let sink = handler.publish(claim.key(), protocol, peer, container);
        ActivePublish {
            claim: Some(claim),
            sink: Some(sink),
            protocol,
            peer,
        }
    }

    /// Media from the publisher: counted, then handed to the sink.
    pub fn media(&mut self, bytes: Bytes) {
        if let Some(claim) = &self.claim {
            claim.record(bytes.len());
        }
        self.data(bytes);
    }

    /// Bytes for the sink that are not the publisher's media (the FLV header).
    pub fn data(&mut self, bytes: Bytes) {
        if let Some(sink) = &mut self.sink {
            sink.data(bytes);
        }
    }

    /// Logs the end, frees the key, then tells the sink.
    pub fn end(mut self, how: Ended) {
        self.finish(how);
    }

    fn finish(&mut self, how: Ended) {
        let Some(claim) = self.claim.take() else {
            return;
        };
        let (protocol, peer, key) = (self.protocol, self.peer, claim.key().to_owned());
        match &how {
            Ended::Closed => tracing::info!(%protocol, %peer, key, "publish closed"),
            Ended::Lost(reason) => tracing::warn!(%protocol, %peer, key, %reason, "publish lost"),
            Ended::Refused(reason) => {
                tracing::warn!(%protocol, %peer, key, %reason, "publish refused")
            }
        }
        drop(claim);
        if let Some(sink) = self.sink.take() {
            sink.ended(how);
        }
    }
}

impl Drop for ActivePublish {
    fn drop(&mut self) {
        self.finish(Ended::Lost("the connection's task ended".to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_held_until_its_claim_is_dropped() {
        let publishes = Publishes::default();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let claim = publishes.claim("a", Protocol::Rtmp, peer).unwrap();
        assert!(publishes.claim("a", Protocol::Srt, peer).is_err());
        assert!(publishes.claim("b", Protocol::Srt, peer).is_ok());
        claim.record(100);
        let status = publishes.status();
        assert_eq!(status.len(), 1);
        assert_eq!(
            (status[0].key.as_str(), status[0].bytes_received),
            ("a", 100)
        );
        assert!(status[0].last_data.is_some());
        drop(claim);
        assert!(publishes.status().is_empty());
        assert!(publishes.claim("a", Protocol::Srt, peer).is_ok());
    }
}
