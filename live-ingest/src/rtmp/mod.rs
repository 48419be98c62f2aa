//! The RTMP listener: one task per connection runs the handshake, reads chunk streams into
//! messages, answers `connect`/`createStream`/`publish` on app `live` (the publish name is the
//! stream key), and hands the audio, video and metadata on as FLV tags.
//!
//! A refused publish is told with `onStatus` at level `error` (`NetStream.Publish.BadName`
//! before it starts, `NetStream.Publish.Rejected` for a codec after), whose description
//! ffmpeg and OBS show, then the connection is closed.

pub mod amf0;
pub mod chunk;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};

pub use chunk::{ChunkError, ChunkLimits};

use crate::publishes::{ActivePublish, admit};
use crate::{Container, Context, Ended, Protocol, flv};
use amf0::Value;
use chunk::{ChunkReader, Message};

/// The application publishers connect to: `rtmp://HOST/live/{key}`.
pub const APP: &str = "live";

const HANDSHAKE_SIZE: usize = 1536;
/// The chunk size the server sends with.
const OUT_CHUNK_SIZE: u32 = 4096;
const WINDOW_ACK_SIZE: u32 = 2_500_000;
/// Bytes read from the socket at a time.
const READ_SIZE: usize = 64 * 1024;

/// Accepts connections until shutdown, then waits for them to end.
pub(crate) async fn serve(
    listener: TcpListener,
    context: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = Connection::new(peer, Arc::clone(&context));
                    connections.spawn(connection.run(stream, shutdown.clone()));
                }
                Err(error) => {
                    // Out of descriptors, most likely: wait rather than spin.
                    tracing::warn!(%error, "RTMP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

/// How a connection stops.
enum Stop {
    /// The publisher ended it, or closed a connection that never published.
    Closed,
    /// Broken, gone, stalled: lost if it was publishing.
    Lost(String),
    /// The server refuses to go on (told to the client where it can be).
    Refused(String),
}

struct Publishing {
    publish: ActivePublish,
    stream_id: u32,
}

struct Connection {
    peer: SocketAddr,
    context: Arc<Context>,
    reader: ChunkReader,
    input: BytesMut,
    /// What to send the client next.
    output: Vec<u8>,
    connected: bool,
    next_stream_id: u32,
    publishing: Option<Publishing>,
    /// The client's acknowledgement window, once it names one, and the bytes counted.
    client_ack_window: Option<u32>,
    received: u64,
    received_at_last_ack: u64,
}

impl Connection {
    fn new(peer: SocketAddr, context: Arc<Context>) -> Self {
        let reader = ChunkReader::new(context.rtmp_limits);
        Connection {
            peer,
            context,
            reader,
            input: BytesMut::new(),
            output: Vec::new(),
            connected: false,
            next_stream_id: 1,
            publishing: None,
            client_ack_window: None,
            received: 0,
            received_at_last_ack: 0,
        }
    }

    async fn run(mut self, mut stream: TcpStream, shutdown: watch::Receiver<bool>) {
        let stop = match self.serve(&mut stream, shutdown).await {
            Ok(()) => Stop::Closed,
            Err(stop) => stop,
        };
        if !self.output.is_empty() {
            // The refusal's onStatus, if any: best effort, briefly.
            let _ = timeout(
                std::time::Duration::from_secs(1),
                stream.write_all(&self.output),
            )
            .await;
            let _ = timeout(std::time::Duration::from_secs(1), stream.shutdown()).await;
        }
        let peer = self.peer;
        match (self.publishing.take(), stop) {
            (Some(publishing), Stop::Closed) => publishing.publish.end(Ended::Closed),
            (Some(publishing), Stop::Lost(reason)) => publishing.publish.end(Ended::Lost(reason)),
            (Some(publishing), Stop::Refused(reason)) => {
                publishing.publish.end(Ended::Refused(reason))
            }
            (None, Stop::Closed) => tracing::debug!(%peer, "RTMP connection closed"),
            (None, Stop::Lost(reason) | Stop::Refused(reason)) => {
                tracing::warn!(%peer, %reason, "RTMP connection dropped")
            }
        }
    }

    async fn serve(
        &mut self,
        stream: &mut TcpStream,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let stall = self.context.stall_timeout;
        timeout(stall, handshake(stream))
            .await
            .map_err(|_| Stop::Lost(format!("no RTMP handshake within {stall:?}")))??;
        let mut deadline = Instant::now() + stall;
        loop {
            self.input.reserve(READ_SIZE);
            let read = tokio::select! {
                read = stream.read_buf(&mut self.input) => read,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Stop::Lost(if self.publishing.is_some() {
                        format!("no data for {stall:?}")
                    } else {
                        format!("nothing published within {stall:?}")
                    }));
                }
                _ = shutdown.changed() => {
                    return Err(Stop::Lost("the ingest server is shutting down".to_owned()));
                }
            };
            let n_read = read.map_err(|error| Stop::Lost(format!("connection error: {error}")))?;
            if n_read == 0 {
                return Err(self.end_of_stream());
            }
            self.received += n_read as u64;
            let had_media = self.handle_input()?;
            if had_media || self.publishing.is_none() {
                deadline = Instant::now() + stall;
            }
            self.acknowledge();
            if !self.output.is_empty() {
                timeout_at(deadline, stream.write_all(&self.output))
                    .await
                    .map_err(|_| Stop::Lost("the client does not read".to_owned()))?
                    .map_err(|error| Stop::Lost(format!("connection error: {error}")))?;
                self.output.clear();
            }
        }
    }

    fn end_of_stream(&self) -> Stop {
        if self.reader.is_mid_message(&self.input) {
            Stop::Lost("the connection closed in the middle of a message".to_owned())
        } else if self.publishing.is_some() {
            Stop::Lost("the publisher disconnected without unpublishing".to_owned())
        } else {
            Stop::Closed
        }
    }

    /// Handles every whole message read; whether any was media.
    fn handle_input(&mut self) -> Result<bool, Stop> {
        let mut had_media = false;
        loop {
            let message = match self.reader.read(&mut self.input) {
                Ok(Some(message)) => message,
                Ok(None) => return Ok(had_media),
                Err(error) => return Err(chunk_stop(&error)),
            };
            had_media |= matches!(
                message.type_id,
                chunk::AUDIO | chunk::VIDEO | chunk::DATA_AMF0
            );
            self.handle_message(message)?;
        }
    }

    fn handle_message(&mut self, message: Message) -> Result<(), Stop> {
        match message.type_id {
            chunk::SET_CHUNK_SIZE => {
                let size = read_u32(&message.payload)?;
                self.reader.set_chunk_size(size).map_err(|e| chunk_stop(&e))
            }
            chunk::ABORT => {
                self.reader.abort(read_u32(&message.payload)?);
                Ok(())
            }
            chunk::WINDOW_ACK_SIZE => {
                self.client_ack_window = Some(read_u32(&message.payload)?.max(1));
                Ok(())
            }
            chunk::USER_CONTROL => {
                // A ping request (6) is answered with a ping response (7) of its timestamp.
                if message.payload.len() >= 6 && message.payload[..2] == [0, 6] {
                    let mut payload = vec![0, 7];
                    payload.extend_from_slice(&message.payload[2..6]);
                    self.send_control(chunk::USER_CONTROL, payload);
                }
                Ok(())
            }
            chunk::COMMAND_AMF0 => self.handle_command(&message.payload, message.stream_id),
            chunk::COMMAND_AMF3 => {
                let payload = message.payload.get(1..).unwrap_or_default();
                self.handle_command(payload, message.stream_id)
            }
            chunk::AUDIO | chunk::VIDEO => self.handle_media(message),
            chunk::DATA_AMF0 => self.handle_data(&message.payload, message.timestamp),
            chunk::DATA_AMF3 => {
                let payload = message.payload.get(1..).unwrap_or_default();
                self.handle_data(payload, message.timestamp)
            }
            chunk::AGGREGATE if self.publishing.is_some() => Err(Stop::Refused(
                "RTMP aggregate messages are not supported".to_owned(),
            )),
            _ => Ok(()),
        }
    }

    fn handle_command(&mut self, payload: &[u8], stream_id: u32) -> Result<(), Stop> {
        let values = amf0::decode_all(payload)
            .map_err(|error| Stop::Lost(format!("corrupt RTMP command: {error}")))?;
        let name = values.first().and_then(Value::as_str).unwrap_or_default();
        let transaction = values.get(1).and_then(Value::as_number).unwrap_or(0.0);
        match name {
            "connect" => {
                let app = values
                    .get(2)
                    .and_then(|object| object.property("app"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.connect(app, transaction)
            }
            "createStream" => {
                let stream_id = self.next_stream_id;
                self.next_stream_id += 1;
                self.send_command(
                    0,
                    &[
                        Value::string("_result"),
                        Value::Number(transaction),
                        Value::Null,
                        Value::Number(f64::from(stream_id)),
                    ],
                );
                Ok(())
            }
            "publish" => {
                let name = values.get(3).and_then(Value::as_str).unwrap_or_default();
                self.publish(name, stream_id)
            }
            "FCUnpublish" | "deleteStream" | "closeStream" if self.publishing.is_some() => {
                Err(Stop::Closed)
            }
            _ => {
                if transaction != 0.0 {
                    // releaseStream, FCPublish and the like: a polite, empty answer.
                    self.send_command(
                        0,
                        &[
                            Value::string("_result"),
                            Value::Number(transaction),
                            Value::Null,
                            Value::Undefined,
                        ],
                    );
                }
                Ok(())
            }
        }
    }

    fn connect(&mut self, app: &str, transaction: f64) -> Result<(), Stop> {
        let app = app
            .split('?')
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        if app != APP {
            let reason = format!(
                "unknown RTMP application '{app}': publish to rtmp://HOST/{APP}/STREAM_KEY"
            );
            self.send_command(
                0,
                &[
                    Value::string("_error"),
                    Value::Number(transaction),
                    Value::Null,
                    status("error", "NetConnection.Connect.Rejected", &reason),
                ],
            );
            return Err(Stop::Refused(reason));
        }
        self.connected = true;
        self.send_control(
            chunk::WINDOW_ACK_SIZE,
            WINDOW_ACK_SIZE.to_be_bytes().to_vec(),
        );
        let mut bandwidth = WINDOW_ACK_SIZE.to_be_bytes().to_vec();
        bandwidth.push(2);
        self.send_control(chunk::SET_PEER_BANDWIDTH, bandwidth);
        self.send_control(chunk::SET_CHUNK_SIZE, OUT_CHUNK_SIZE.to_be_bytes().to_vec());
        let mut result = status(
            "status",
            "NetConnection.Connect.Success",
            "Connection succeeded.",
        );
        if let Value::Object(properties) = &mut result {
            properties.push(("objectEncoding".to_owned(), Value::Number(0.0)));
        }
        self.send_command(
            0,
            &[
                Value::string("_result"),
                Value::Number(transaction),
                Value::object([
                    ("fmsVer", Value::string("FMS/3,0,1,123")),
                    ("capabilities", Value::Number(31.0)),
                ]),
                result,
            ],
        );
        Ok(())
    }

    fn publish(&mut self, name: &str, stream_id: u32) -> Result<(), Stop> {
        let refuse = |connection: &mut Connection, reason: String| {
            connection.send_status(stream_id, "error", "NetStream.Publish.BadName", &reason);
            Err(Stop::Refused(reason))
        };
        if !self.connected {
            return refuse(self, "publish before connect".to_owned());
        }
        if self.publishing.is_some() {
            return refuse(self, "this connection is publishing already".to_owned());
        }
        let key = name.split('?').next().unwrap_or_default();
        if key.is_empty() {
            return refuse(
                self,
                format!("no stream key: publish to rtmp://HOST/{APP}/STREAM_KEY"),
            );
        }
        let context = Arc::clone(&self.context);
        let claim = match admit(
            context.handler.as_ref(),
            &context.publishes,
            key,
            Protocol::Rtmp,
            self.peer,
        ) {
            Ok(claim) => claim,
            Err(refusal) => return refuse(self, refusal.into_reason()),
        };
        // User control StreamBegin, then the status the publisher waits for.
        let mut stream_begin = vec![0, 0];
        stream_begin.extend_from_slice(&stream_id.to_be_bytes());
        self.send_control(chunk::USER_CONTROL, stream_begin);
        self.send_status(
            stream_id,
            "status",
            "NetStream.Publish.Start",
            &format!("{key} is now published."),
        );
        let mut publish = ActivePublish::start(
            context.handler.as_ref(),
            claim,
            Protocol::Rtmp,
            self.peer,
            Container::Flv,
        );
        publish.data(flv::header());
        self.publishing = Some(Publishing { publish, stream_id });
        Ok(())
    }

    fn handle_media(&mut self, message: Message) -> Result<(), Stop> {
        let Some(publishing) = &mut self.publishing else {
            return Ok(());
        };
        let (checked, tag_type) = if message.type_id == chunk::VIDEO {
            (flv::check_video(&message.payload), flv::TAG_VIDEO)
        } else {
            (flv::check_audio(&message.payload), flv::TAG_AUDIO)
        };
        if let Err(reason) = checked {
            let stream_id = publishing.stream_id;
            self.send_status(stream_id, "error", "NetStream.Publish.Rejected", &reason);
            return Err(Stop::Refused(reason));
        }
        let tag = flv::tag(tag_type, message.timestamp, &message.payload);
        publishing.publish.media(tag);
        Ok(())
    }

    /// `@setDataFrame onMetaData {…}` (or any data message) becomes a script tag without
    /// its `@setDataFrame`.
    fn handle_data(&mut self, payload: &[u8], timestamp: u32) -> Result<(), Stop> {
        let Some(publishing) = &mut self.publishing else {
            return Ok(());
        };
        let body = match amf0::decode_all(payload) {
            Ok(values) if values.first().and_then(Value::as_str) == Some("@setDataFrame") => {
                let skip = amf0::first_value_len(payload).unwrap_or(0);
                &payload[skip..]
            }
            Ok(_) => payload,
            Err(error) => return Err(Stop::Lost(format!("corrupt RTMP metadata: {error}"))),
        };
        if !body.is_empty() {
            publishing
                .publish
                .media(flv::tag(flv::TAG_SCRIPT, timestamp, body));
        }
        Ok(())
    }

    /// Sends an acknowledgement when the client's window has been received.
    fn acknowledge(&mut self) {
        let Some(window) = self.client_ack_window else {
            return;
        };
        if self.received - self.received_at_last_ack >= u64::from(window) {
            self.received_at_last_ack = self.received;
            let sequence = (self.received as u32).to_be_bytes().to_vec();
            self.send_control(chunk::ACKNOWLEDGEMENT, sequence);
        }
    }

    fn send_control(&mut self, type_id: u8, payload: Vec<u8>) {
        let message = Message {
            type_id,
            stream_id: 0,
            timestamp: 0,
            payload: Bytes::from(payload),
        };
        chunk::write_message(&mut self.output, 2, OUT_CHUNK_SIZE as usize, &message);
    }

    fn send_command(&mut self, stream_id: u32, values: &[Value]) {
        let message = Message {
            type_id: chunk::COMMAND_AMF0,
            stream_id,
            timestamp: 0,
            payload: Bytes::from(amf0::encode_all(values)),
        };
        let chunk_stream_id = if stream_id == 0 { 3 } else { 5 };
        chunk::write_message(
            &mut self.output,
            chunk_stream_id,
            OUT_CHUNK_SIZE as usize,
            &message,
        );
    }

    fn send_status(&mut self, stream_id: u32, level: &str, code: &str, description: &str) {
        self.send_command(
            stream_id,
            &[
                Value::string("onStatus"),
                Value::Number(0.0),
                Value::Null,
                status(level, code, description),
            ],
        );
    }
}

fn status(level: &str, code: &str, description: &str) -> Value {
    Value::object([
        ("level", Value::string(level)),
        ("code", Value::string(code)),
        ("description", Value::string(description)),
    ])
}

fn read_u32(payload: &[u8]) -> Result<u32, Stop> {
    payload
        .get(..4)
        .map(|bytes| u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .ok_or_else(|| Stop::Lost("corrupt RTMP: a control message is too short".to_owned()))
}

/// A limit crossed is a refusal; anything else means the bytes were not RTMP.
fn chunk_stop(error: &ChunkError) -> Stop {
    match error {
        ChunkError::NoPreviousHeader { .. } => Stop::Lost(format!("corrupt RTMP: {error}")),
        _ => Stop::Refused(error.to_string()),
    }
}

/// The simple handshake: C0 C1 in, S0 S1 S2 out, C2 in. S1 carries zeros where a digest
/// handshake would put a version, so clients do not expect one.
async fn handshake(stream: &mut TcpStream) -> Result<(), Stop> {
    let lost = |error: std::io::Error| {
        if error.kind() == std::io::ErrorKind::UnexpectedEof {
            Stop::Lost("the connection closed during the RTMP handshake".to_owned())
        } else {
            Stop::Lost(format!("connection error in the RTMP handshake: {error}"))
        }
    };
    let mut version = [0u8; 1];
    stream.read_exact(&mut version).await.map_err(lost)?;
    if version[0] != 3 {
        return Err(Stop::Lost(format!(
            "not RTMP: handshake version byte {:#04x}",
            version[0]
        )));
    }
    let mut c1 = vec![0u8; HANDSHAKE_SIZE];
    stream.read_exact(&mut c1).await.map_err(lost)?;
    let mut reply = Vec::with_capacity(1 + 2 * HANDSHAKE_SIZE);
    reply.push(3);
    reply.extend_from_slice(&[0; 8]);
    let mut seed = u64::from(std::process::id()) ^ 0x9E37_79B9_7F4A_7C15;
    while reply.len() < 1 + HANDSHAKE_SIZE {
        // Filler the client echoes back; it need not be unpredictable.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        reply.push((seed >> 56) as u8);
    }
    reply.extend_from_slice(&c1);
    stream.write_all(&reply).await.map_err(lost)?;
    let mut c2 = vec![0u8; HANDSHAKE_SIZE];
    stream.read_exact(&mut c2).await.map_err(lost)?;
    Ok(())
}
