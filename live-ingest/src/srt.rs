//! The SRT listener (`srt-tokio`, listener mode, several callers on one port): the stream id
//! names the key (`publish:{key}` or the access-control syntax `#!::r={key},m=publish`), a
//! refused caller gets an SRT rejection (ffmpeg exits with an error), and an accepted one's
//! payload, MPEG-TS, goes to the sink as it comes.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use srt_tokio::SrtListener;
use srt_tokio::access::{RejectReason, ServerRejectReason};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::publishes::{ActivePublish, Claim, Refusal, admit};
use crate::{Container, Context, Ended, Protocol};

/// A stream id that names no key to publish, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadStreamId(pub String);

/// The stream key an SRT caller's stream id publishes to.
pub fn publish_key(stream_id: Option<&str>) -> Result<String, BadStreamId> {
    const EXPECTED: &str = "the stream id must be publish:KEY or #!::r=KEY,m=publish";
    let Some(stream_id) = stream_id else {
        return Err(BadStreamId(format!("no stream id: {EXPECTED}")));
    };
    let key = if let Some(key) = stream_id.strip_prefix("publish:") {
        key.to_owned()
    } else if let Some(fields) = stream_id.strip_prefix("#!::") {
        let mut resource = None;
        for field in fields.split(',') {
            match field.split_once('=') {
                Some(("r", value)) => resource = Some(value),
                Some(("m", "publish")) => {}
                Some(("m", mode)) => {
                    return Err(BadStreamId(format!(
                        "mode '{mode}' is not accepted: only m=publish"
                    )));
                }
                _ => {}
            }
        }
        resource.unwrap_or_default().to_owned()
    } else {
        return Err(BadStreamId(format!("stream id '{stream_id}': {EXPECTED}")));
    };
    if key.is_empty() {
        return Err(BadStreamId(format!("no stream key: {EXPECTED}")));
    }
    Ok(key)
}

/// Binds the listener; its task accepts callers until shutdown, then waits for them to end.
pub(crate) async fn listen(
    address: SocketAddr,
    context: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let socket = tokio::net::UdpSocket::bind(address).await?;
    let local = socket.local_addr()?;
    // The peer idle timeout outlasts the stall timeout, so a publisher gone silent is lost
    // by our stall timer (with its reason) rather than ended quietly by the library.
    let idle_timeout = context.stall_timeout + Duration::from_secs(2);
    let (listener, incoming) = SrtListener::builder()
        .set(|options| options.session.peer_idle_timeout = idle_timeout)
        .socket(socket)
        .bind(local)
        .await?;
    let task = tokio::spawn(serve(listener, incoming, context, shutdown));
    Ok((local, task))
}

async fn serve(
    mut listener: SrtListener,
    mut incoming: srt_tokio::SrtIncoming,
    context: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut callers = JoinSet::new();
    loop {
        tokio::select! {
            request = incoming.incoming().next() => match request {
                Some(request) => {
                    let peer = request.remote();
                    let stream_id = request.stream_id().map(|id| id.as_str());
                    match admit_caller(&context, stream_id, peer) {
                        Ok(claim) => {
                            callers.spawn(run(request, claim, peer, Arc::clone(&context), shutdown.clone()));
                        }
                        Err(reason) => {
                            callers.spawn(async move {
                                if let Err(error) = request.reject(reason).await {
                                    tracing::debug!(%peer, %error, "SRT rejection not sent");
                                }
                            });
                        }
                    }
                }
                None => break,
            },
            Some(_) = callers.join_next(), if !callers.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    while callers.join_next().await.is_some() {}
    listener.close().await;
}

fn admit_caller(
    context: &Context,
    stream_id: Option<&str>,
    peer: SocketAddr,
) -> Result<Claim, RejectReason> {
    let key = publish_key(stream_id).map_err(|BadStreamId(reason)| {
        tracing::warn!(protocol = %Protocol::Srt, %peer, %reason, "publish refused");
        RejectReason::Server(ServerRejectReason::BadRequest)
    })?;
    admit(
        context.handler.as_ref(),
        &context.publishes,
        &key,
        Protocol::Srt,
        peer,
    )
    .map_err(|refusal| {
        RejectReason::Server(match refusal {
            Refusal::Busy(_) => ServerRejectReason::Conflict,
            Refusal::Denied(_) => ServerRejectReason::Forbidden,
        })
    })
}

async fn run(
    request: srt_tokio::ConnectionRequest,
    claim: Claim,
    peer: SocketAddr,
    context: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
) {
    let stall = context.stall_timeout;
    let mut socket = match tokio::time::timeout(stall, request.accept(None)).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => {
            tracing::warn!(%peer, %error, key = claim.key(), "SRT caller not accepted");
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, key = claim.key(), "SRT caller did not complete its handshake");
            return;
        }
    };
    let mut publish = ActivePublish::start(
        context.handler.as_ref(),
        claim,
        Protocol::Srt,
        peer,
        Container::MpegTs,
    );
    let mut checked_first_payload = false;
    let mut deadline = Instant::now() + stall;
    let how = loop {
        tokio::select! {
            received = socket.next() => match received {
                Some(Ok((_, payload))) => {
                    if !checked_first_payload {
                        checked_first_payload = true;
                        if payload.first() != Some(&0x47) {
                            break Ended::Refused("the SRT payload is not MPEG-TS (no sync byte)".to_owned());
                        }
                    }
                    deadline = Instant::now() + stall;
                    publish.media(payload);
                }
                Some(Err(error)) => break Ended::Lost(format!("SRT error: {error}")),
                None => break Ended::Closed,
            },
            _ = tokio::time::sleep_until(deadline) => break Ended::Lost(format!("no data for {stall:?}")),
            _ = shutdown.changed() => break Ended::Lost("the ingest server is shutting down".to_owned()),
        }
    };
    publish.end(how);
    // Closing tells the caller at once, or gives up after a moment if it is gone.
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close_and_finish()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_name_the_key_to_publish() {
        let cases: &[(Option<&str>, Result<&str, &str>)] = &[
            (Some("publish:abc"), Ok("abc")),
            (Some("#!::r=abc,m=publish"), Ok("abc")),
            (Some("#!::m=publish,u=me,r=abc"), Ok("abc")),
            (Some("#!::r=abc"), Ok("abc")),
            (
                Some("#!::r=abc,m=request"),
                Err("mode 'request' is not accepted: only m=publish"),
            ),
            (
                Some("abc"),
                Err("stream id 'abc': the stream id must be publish:KEY or #!::r=KEY,m=publish"),
            ),
            (
                Some("publish:"),
                Err("no stream key: the stream id must be publish:KEY or #!::r=KEY,m=publish"),
            ),
            (
                None,
                Err("no stream id: the stream id must be publish:KEY or #!::r=KEY,m=publish"),
            ),
        ];
        for (stream_id, expected) in cases {
            assert_eq!(
                publish_key(*stream_id),
                expected
                    .map(str::to_owned)
                    .map_err(|reason| BadStreamId(reason.to_owned())),
                "{stream_id:?}"
            );
        }
    }
}
