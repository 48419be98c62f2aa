//! Live ingest: the RTMP and SRT listeners a live source publishes to, without GStreamer.
//!
//! [`IngestServer::start`] binds the listeners on the caller's tokio runtime. A publish names
//! a stream key (`rtmp://HOST/live/{key}`; SRT stream id `publish:{key}` or
//! `#!::r={key},m=publish`); the [`IngestHandler`] says whether the key may publish and gives
//! the [`PublishSink`] its bytes go to: an FLV byte stream for RTMP (re-wrapped from the RTMP
//! messages, H.264 and AAC only), the MPEG-TS payload for SRT. One publish per key at a time.
//! A publish ends [`Ended::Closed`] by the publisher, [`Ended::Lost`] (gone, stalled, broken)
//! or [`Ended::Refused`] (a codec or a limit this server does not take), and its key is free
//! again before the sink hears it.
//!
//! - [`rtmp`]: the RTMP listener (handshake, chunk streams, commands), on [`flv`] tags.
//! - [`srt`]: the SRT listener (`srt-tokio`) and its stream ids.
//! - [`publishes`]: the publishes in progress and their status.

pub mod flv;
pub mod publishes;
pub mod rtmp;
pub mod srt;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use publishes::PublishStatus;

/// The protocol a publish came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Rtmp,
    Srt,
}

impl fmt::Display for Protocol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Protocol::Rtmp => "RTMP",
            Protocol::Srt => "SRT",
        })
    }
}

/// What a [`PublishSink`]'s bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// An FLV stream: the header, then tags each followed by its previous-tag-size.
    Flv,
    /// MPEG-TS packets, 188 bytes each.
    MpegTs,
}

/// How a publish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The publisher ended it (RTMP `deleteStream`/`FCUnpublish`, SRT shutdown).
    Closed,
    /// It ended without the publisher saying so: the connection was lost or broke, no data
    /// came for the stall timeout, or the server shut down.
    Lost(String),
    /// The server refused what was published (a codec, a limit), after the publish began.
    Refused(String),
}

/// What the binary decides about publishes; the listeners call it from their tasks, so its
/// methods must not block.
pub trait IngestHandler: Send + Sync + 'static {
    /// May `key` publish? `Err(reason)` refuses it (logged with the peer address and told
    /// to the publisher).
    fn authorize(&self, key: &str, protocol: Protocol, peer: SocketAddr) -> Result<(), String>;

    /// A publish of `key` began: where its bytes go.
    fn publish(
        &self,
        key: &str,
        protocol: Protocol,
        peer: SocketAddr,
        container: Container,
    ) -> Box<dyn PublishSink>;
}

/// Where one publish's bytes go, in order; `ended` is called once, last.
pub trait PublishSink: Send {
    fn data(&mut self, bytes: Bytes);
    fn ended(self: Box<Self>, how: Ended);
}

/// Where to listen and how long to wait.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The RTMP listener's address (`None`: no RTMP).
    pub rtmp: Option<SocketAddr>,
    /// The SRT listener's address (`None`: no SRT).
    pub srt: Option<SocketAddr>,
    /// A publish that sends no media for this long ends as lost and frees its key; a
    /// connection that has not begun publishing within it is closed.
    pub stall_timeout: Duration,
    /// Limits on what one RTMP connection may make the server hold.
    pub rtmp_limits: rtmp::ChunkLimits,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            rtmp: Some(SocketAddr::from(([0, 0, 0, 0], 1935))),
            srt: Some(SocketAddr::from(([0, 0, 0, 0], 9000))),
            stall_timeout: Duration::from_secs(10),
            rtmp_limits: rtmp::ChunkLimits::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot listen for {protocol} on {address}: {source}")]
    Bind {
        protocol: Protocol,
        address: SocketAddr,
        source: io::Error,
    },
}

/// What the listeners share.
pub(crate) struct Context {
    pub handler: Arc<dyn IngestHandler>,
    pub publishes: publishes::Publishes,
    pub stall_timeout: Duration,
    pub rtmp_limits: rtmp::ChunkLimits,
}

/// The running listeners.
pub struct IngestServer {
    rtmp_address: Option<SocketAddr>,
    srt_address: Option<SocketAddr>,
    publishes: publishes::Publishes,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl IngestServer {
    /// Binds the configured listeners and serves them on the current tokio runtime.
    pub async fn start(
        config: IngestConfig,
        handler: impl IngestHandler,
    ) -> Result<IngestServer, IngestError> {
        let context = Arc::new(Context {
            handler: Arc::new(handler),
            publishes: publishes::Publishes::default(),
            stall_timeout: config.stall_timeout,
            rtmp_limits: config.rtmp_limits,
        });
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let mut server = IngestServer {
            rtmp_address: None,
            srt_address: None,
            publishes: context.publishes.clone(),
            shutdown,
            tasks: Vec::new(),
        };
        if let Some(address) = config.rtmp {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .and_then(|listener| Ok((listener.local_addr()?, listener)))
                .map_err(|source| IngestError::Bind {
                    protocol: Protocol::Rtmp,
                    address,
                    source,
                })?;
            server.rtmp_address = Some(listener.0);
            tracing::info!(address = %listener.0, "RTMP ingest listening");
            server.tasks.push(tokio::spawn(rtmp::serve(
                listener.1,
                Arc::clone(&context),
                shutdown_receiver.clone(),
            )));
        }
        if let Some(address) = config.srt {
            let (local, task) = srt::listen(address, Arc::clone(&context), shutdown_receiver)
                .await
                .map_err(|source| IngestError::Bind {
                    protocol: Protocol::Srt,
                    address,
                    source,
                })?;
            server.srt_address = Some(local);
            tracing::info!(address = %local, "SRT ingest listening");
            server.tasks.push(task);
        }
        Ok(server)
    }

    /// The RTMP listener's bound address.
    pub fn rtmp_address(&self) -> Option<SocketAddr> {
        self.rtmp_address
    }

    /// The SRT listener's bound address.
    pub fn srt_address(&self) -> Option<SocketAddr> {
        self.srt_address
    }

    /// The publishes in progress, by key.
    pub fn publishes(&self) -> Vec<PublishStatus> {
        self.publishes.status()
    }

    /// Stops listening and ends every publish in progress as lost.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            if let Err(error) = task.await {
                tracing::error!(%error, "an ingest listener failed");
            }
        }
    }
}

impl Drop for IngestServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
