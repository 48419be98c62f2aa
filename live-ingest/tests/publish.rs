//! The listeners against real publishers on 127.0.0.1: Debian's ffmpeg over RTMP and SRT
//! (libsrt), and a small hand-built RTMP client for what ffmpeg 5.1 cannot send (Enhanced
//! RTMP, oversized chunks, a publisher that stalls).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use onair_live_ingest::rtmp::amf0::{self, Value};
use onair_live_ingest::rtmp::chunk::{self, ChunkLimits, ChunkReader, Message};
use onair_live_ingest::{
    Container, Ended, IngestConfig, IngestHandler, IngestServer, Protocol, PublishSink,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::process::{Child, Command};

const STALL: Duration = Duration::from_secs(2);

/// What the handler saw.
#[derive(Default)]
struct Recorded {
    authorizations: Mutex<Vec<(String, Protocol, SocketAddr)>>,
    publishes: Mutex<Vec<Arc<Publish>>>,
}

struct Publish {
    key: String,
    protocol: Protocol,
    container: Container,
    bytes: Mutex<Vec<u8>>,
    ended: Mutex<Option<Ended>>,
}

struct Handler {
    keys: Vec<&'static str>,
    recorded: Arc<Recorded>,
}

impl IngestHandler for Handler {
    fn authorize(&self, key: &str, protocol: Protocol, peer: SocketAddr) -> Result<(), String> {
        self.recorded
            .authorizations
            .lock()
            .unwrap()
            .push((key.to_owned(), protocol, peer));
        if self.keys.contains(&key) {
            Ok(())
        } else {
            Err(format!("unknown stream key {key}"))
        }
    }

    fn publish(
        &self,
        key: &str,
        protocol: Protocol,
        _peer: SocketAddr,
        container: Container,
    ) -> Box<dyn PublishSink> {
        let publish = Arc::new(Publish {
            key: key.to_owned(),
            protocol,
            container,
            bytes: Mutex::new(Vec::new()),
            ended: Mutex::new(None),
        });
        self.recorded
            .publishes
            .lock()
            .unwrap()
            .push(Arc::clone(&publish));
        Box::new(Sink(publish))
    }
}

struct Sink(Arc<Publish>);

impl PublishSink for Sink {
    fn data(&mut self, bytes: Bytes) {
        self.0.bytes.lock().unwrap().extend_from_slice(&bytes);
    }

    fn ended(self: Box<Self>, how: Ended) {
        *self.0.ended.lock().unwrap() = Some(how);
    }
}

impl Recorded {
    fn publishes_of(&self, key: &str, protocol: Protocol) -> Vec<Arc<Publish>> {
        self.publishes
            .lock()
            .unwrap()
            .iter()
            .filter(|publish| publish.key == key && publish.protocol == protocol)
            .cloned()
            .collect()
    }

    fn authorized(&self, key: &str, protocol: Protocol) -> Vec<SocketAddr> {
        self.authorizations
            .lock()
            .unwrap()
            .iter()
            .filter(|(seen, seen_protocol, _)| seen == key && *seen_protocol == protocol)
            .map(|(_, _, peer)| *peer)
            .collect()
    }
}

impl Publish {
    fn ended(&self) -> Option<Ended> {
        self.ended.lock().unwrap().clone()
    }

    fn n_bytes(&self) -> usize {
        self.bytes.lock().unwrap().len()
    }
}

async fn start(keys: Vec<&'static str>) -> (IngestServer, Arc<Recorded>) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("onair_live_ingest=debug")
        .with_test_writer()
        .try_init();
    let recorded = Arc::new(Recorded::default());
    let config = IngestConfig {
        rtmp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        srt: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        stall_timeout: STALL,
        ..IngestConfig::default()
    };
    let handler = Handler {
        keys,
        recorded: Arc::clone(&recorded),
    };
    let server = IngestServer::start(config, handler).await.unwrap();
    (server, recorded)
}

/// Polls `check` until it gives a value, for at most 20 s.
async fn wait_for<T>(what: &str, check: impl Fn() -> Option<T>) -> T {
    for _ in 0..400 {
        if let Some(value) = check() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn rtmp_url(server: &IngestServer, key: &str) -> String {
    format!("rtmp://{}/live/{key}", server.rtmp_address().unwrap())
}

fn srt_url(server: &IngestServer, key: &str) -> String {
    format!(
        "srt://{}?streamid=publish:{key}",
        server.srt_address().unwrap()
    )
}

/// ffmpeg publishing `seconds` of test pattern and tone, H.264 and AAC, in real time.
fn ffmpeg(url: &str, seconds: u32) -> Child {
    let format = if url.starts_with("rtmp") {
        "flv"
    } else {
        "mpegts"
    };
    Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50"])
        .args(["-c:a", "aac", "-f", format, url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg runs")
}

/// Waits for ffmpeg to exit; whether it succeeded and what it said.
async fn finish(child: Child) -> (bool, String) {
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("ffmpeg exits in time")
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The codec names ffprobe reads from `bytes`.
fn probe_codecs(bytes: &[u8], extension: &str) -> Vec<String> {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join(format!("published.{extension}"));
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let mut codecs: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.trim().trim_end_matches(',').to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    // ffprobe lists a TS's streams once more under its program.
    codecs.sort();
    codecs.dedup();
    codecs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_publishes_rtmp_and_srt_at_once_and_ffprobe_reads_h264_and_aac_from_each_sink() {
    let (server, recorded) = start(vec!["studio-a", "studio-b"]).await;
    let rtmp = ffmpeg(&rtmp_url(&server, "studio-a"), 3);
    let srt = ffmpeg(&srt_url(&server, "studio-b"), 3);

    let status = wait_for("both publishes to report media", || {
        let status = server.publishes();
        (status.len() == 2 && status.iter().all(|publish| publish.bytes_received > 0))
            .then_some(status)
    })
    .await;
    assert_eq!(
        status
            .iter()
            .map(|publish| (publish.key.as_str(), publish.protocol))
            .collect::<Vec<_>>(),
        vec![("studio-a", Protocol::Rtmp), ("studio-b", Protocol::Srt)]
    );
    assert!(
        status
            .iter()
            .all(|publish| publish.last_data.is_some() && publish.peer.ip().is_loopback())
    );

    let (rtmp_ok, rtmp_said) = finish(rtmp).await;
    let (srt_ok, srt_said) = finish(srt).await;
    assert!(rtmp_ok, "ffmpeg over RTMP failed: {rtmp_said}");
    assert!(srt_ok, "ffmpeg over SRT failed: {srt_said}");

    let flv = recorded.publishes_of("studio-a", Protocol::Rtmp).remove(0);
    let ts = recorded.publishes_of("studio-b", Protocol::Srt).remove(0);
    wait_for("both publishes to end", || {
        (flv.ended().is_some() && ts.ended().is_some()).then_some(())
    })
    .await;
    assert_eq!(flv.ended(), Some(Ended::Closed));
    assert_eq!(ts.ended(), Some(Ended::Closed));
    assert_eq!(
        (flv.container, ts.container),
        (Container::Flv, Container::MpegTs)
    );
    assert!(server.publishes().is_empty());

    let flv_bytes = flv.bytes.lock().unwrap().clone();
    let ts_bytes = ts.bytes.lock().unwrap().clone();
    assert!(flv_bytes.starts_with(b"FLV\x01"));
    assert_eq!(ts_bytes[0], 0x47);
    assert_eq!(probe_codecs(&flv_bytes, "flv"), vec!["aac", "h264"]);
    assert_eq!(probe_codecs(&ts_bytes, "ts"), vec!["aac", "h264"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_refused_on_both_protocols_and_the_handler_sees_the_peer() {
    let (server, recorded) = start(vec!["studio-a"]).await;
    let (rtmp_ok, rtmp_said) = finish(ffmpeg(&rtmp_url(&server, "nobody"), 1)).await;
    let (srt_ok, _) = finish(ffmpeg(&srt_url(&server, "nobody"), 1)).await;
    assert!(!rtmp_ok && !srt_ok, "a refused publish makes ffmpeg fail");
    assert!(
        rtmp_said.contains("unknown stream key nobody"),
        "ffmpeg shows the reason: {rtmp_said}"
    );
    for protocol in [Protocol::Rtmp, Protocol::Srt] {
        let peers = recorded.authorized("nobody", protocol);
        assert_eq!(peers.len(), 1, "{protocol}");
        assert!(peers[0].ip().is_loopback());
        assert!(recorded.publishes_of("nobody", protocol).is_empty());
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_publisher_on_a_busy_key_is_refused_while_the_first_keeps_going() {
    let (server, recorded) = start(vec!["studio-a"]).await;
    let first = ffmpeg(&rtmp_url(&server, "studio-a"), 4);
    let publish = wait_for("the first publish", || {
        recorded
            .publishes_of("studio-a", Protocol::Rtmp)
            .pop()
            .filter(|publish| publish.n_bytes() > 1000)
    })
    .await;

    let (srt_ok, _) = finish(ffmpeg(&srt_url(&server, "studio-a"), 1)).await;
    let (rtmp_ok, rtmp_said) = finish(ffmpeg(&rtmp_url(&server, "studio-a"), 1)).await;
    assert!(!srt_ok && !rtmp_ok);
    assert!(
        rtmp_said.contains("stream key studio-a is already publishing"),
        "{rtmp_said}"
    );
    assert_eq!(recorded.publishes.lock().unwrap().len(), 1);
    let bytes_at_refusal = publish.n_bytes();
    assert_eq!(publish.ended(), None);

    let (first_ok, first_said) = finish(first).await;
    assert!(first_ok, "{first_said}");
    wait_for("the first publish to end", || publish.ended()).await;
    assert_eq!(publish.ended(), Some(Ended::Closed));
    assert!(publish.n_bytes() > bytes_at_refusal);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_ffmpeg_mid_stream_ends_the_publish_as_lost_and_frees_the_key() {
    let (server, recorded) = start(vec!["studio-a", "studio-b"]).await;
    let mut rtmp = ffmpeg(&rtmp_url(&server, "studio-a"), 30);
    let mut srt = ffmpeg(&srt_url(&server, "studio-b"), 30);
    wait_for("both publishes to report media", || {
        let status = server.publishes();
        (status.len() == 2 && status.iter().all(|publish| publish.bytes_received > 10_000))
            .then_some(())
    })
    .await;
    rtmp.kill().await.unwrap();
    srt.kill().await.unwrap();

    let flv = recorded.publishes_of("studio-a", Protocol::Rtmp).remove(0);
    let ts = recorded.publishes_of("studio-b", Protocol::Srt).remove(0);
    let rtmp_ended = wait_for("the RTMP publish to end", || flv.ended()).await;
    let srt_ended = wait_for("the SRT publish to end", || ts.ended()).await;
    assert!(matches!(rtmp_ended, Ended::Lost(_)), "{rtmp_ended:?}");
    assert_eq!(srt_ended, Ended::Lost(format!("no data for {STALL:?}")));
    assert!(server.publishes().is_empty());

    // The keys publish again at once.
    let (rtmp_ok, rtmp_said) = finish(ffmpeg(&rtmp_url(&server, "studio-a"), 1)).await;
    let (srt_ok, srt_said) = finish(ffmpeg(&srt_url(&server, "studio-b"), 1)).await;
    assert!(rtmp_ok && srt_ok, "{rtmp_said}{srt_said}");
    assert_eq!(recorded.publishes_of("studio-a", Protocol::Rtmp).len(), 2);
    assert_eq!(recorded.publishes_of("studio-b", Protocol::Srt).len(), 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_half_handshakes_leave_the_listeners_serving() {
    let (server, recorded) = start(vec!["studio-a"]).await;
    let rtmp_address = server.rtmp_address().unwrap();

    // Not RTMP at all, and RTMP's version byte followed by junk.
    for garbage in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        [vec![3], vec![0xA5; 4000]].concat(),
    ] {
        let mut client = TcpStream::connect(rtmp_address).await.unwrap();
        let _ = client.write_all(&garbage).await;
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(STALL * 3, client.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the server closes a garbage connection");
    }
    // Half a handshake, then gone.
    let mut client = TcpStream::connect(rtmp_address).await.unwrap();
    client.write_all(&[3; 700]).await.unwrap();
    drop(client);
    // Half a handshake, then silence: closed after the stall timeout.
    let mut silent = TcpStream::connect(rtmp_address).await.unwrap();
    silent.write_all(&[3; 700]).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(STALL * 3, silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a silent half handshake is closed");

    // Datagrams that are not SRT, and an SRT-looking handshake that never completes.
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let srt_address = server.srt_address().unwrap();
    for datagram in [vec![0xFF; 1500], vec![0x80, 0, 0, 0], vec![0; 64], vec![]] {
        udp.send_to(&datagram, srt_address).await.unwrap();
    }

    let (rtmp_ok, rtmp_said) = finish(ffmpeg(&rtmp_url(&server, "studio-a"), 1)).await;
    assert!(rtmp_ok, "{rtmp_said}");
    wait_for("the RTMP publish to end", || {
        recorded
            .publishes_of("studio-a", Protocol::Rtmp)
            .pop()?
            .ended()
    })
    .await;
    let (srt_ok, srt_said) = finish(ffmpeg(&srt_url(&server, "studio-a"), 1)).await;
    assert!(srt_ok, "{srt_said}");
    assert!(recorded.authorizations.lock().unwrap().len() == 2);
    server.shutdown().await;
}

/// A minimal RTMP publisher built from the crate's own chunk and AMF0 code.
struct RtmpClient {
    stream: TcpStream,
    reader: ChunkReader,
    input: BytesMut,
}

impl RtmpClient {
    async fn connect(address: SocketAddr) -> RtmpClient {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let mut c0_c1 = vec![3u8];
        c0_c1.extend_from_slice(&[7; 1536]);
        stream.write_all(&c0_c1).await.unwrap();
        let mut s0_s1_s2 = vec![0; 1 + 2 * 1536];
        stream.read_exact(&mut s0_s1_s2).await.unwrap();
        assert_eq!(&s0_s1_s2[1537..], &c0_c1[1..], "S2 echoes C1");
        stream.write_all(&s0_s1_s2[1..1537]).await.unwrap();
        RtmpClient {
            stream,
            reader: ChunkReader::new(ChunkLimits::default()),
            input: BytesMut::new(),
        }
    }

    async fn send(&mut self, chunk_stream_id: u8, message: Message) {
        let mut bytes = Vec::new();
        chunk::write_message(&mut bytes, chunk_stream_id, 128, &message);
        self.stream.write_all(&bytes).await.unwrap();
    }

    async fn command(&mut self, stream_id: u32, values: &[Value]) {
        let message = Message {
            type_id: chunk::COMMAND_AMF0,
            stream_id,
            timestamp: 0,
            payload: Bytes::from(amf0::encode_all(values)),
        };
        self.send(3, message).await;
    }

    /// The next command from the server, or `None` once it closes.
    async fn next_command(&mut self) -> Option<Vec<Value>> {
        loop {
            while let Some(message) = self.reader.read(&mut self.input).unwrap() {
                match message.type_id {
                    chunk::SET_CHUNK_SIZE => {
                        let size = u32::from_be_bytes(message.payload[..4].try_into().unwrap());
                        self.reader.set_chunk_size(size).unwrap();
                    }
                    chunk::COMMAND_AMF0 => {
                        return Some(amf0::decode_all(&message.payload).unwrap());
                    }
                    _ => {}
                }
            }
            let read = tokio::time::timeout(STALL * 3, self.stream.read_buf(&mut self.input))
                .await
                .expect("the server answers or closes");
            if read.unwrap_or(0) == 0 {
                return None;
            }
        }
    }

    /// The description of the next `onStatus`.
    async fn next_status(&mut self) -> Option<(String, String)> {
        loop {
            let values = self.next_command().await?;
            if values[0].as_str() == Some("onStatus") {
                let info = &values[3];
                let field = |name| {
                    info.property(name)
                        .and_then(Value::as_str)
                        .unwrap()
                        .to_owned()
                };
                return Some((field("code"), field("description")));
            }
        }
    }

    /// connect, createStream, publish `key`: the publish's status code and description.
    async fn publish(&mut self, key: &str) -> (String, String) {
        let connect = [
            Value::string("connect"),
            Value::Number(1.0),
            Value::object([
                ("app", Value::string("live")),
                ("type", Value::string("nonprivate")),
            ]),
        ];
        self.command(0, &connect).await;
        let create = [
            Value::string("createStream"),
            Value::Number(2.0),
            Value::Null,
        ];
        self.command(0, &create).await;
        let publish = [
            Value::string("publish"),
            Value::Number(0.0),
            Value::Null,
            Value::string(key),
            Value::string("live"),
        ];
        self.command(1, &publish).await;
        self.next_status().await.expect("a publish status")
    }

    async fn video(&mut self, timestamp: u32, payload: &[u8]) {
        let message = Message {
            type_id: chunk::VIDEO,
            stream_id: 1,
            timestamp,
            payload: Bytes::copy_from_slice(payload),
        };
        self.send(6, message).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enhanced_rtmp_hevc_is_refused_with_its_reason() {
    let (server, recorded) = start(vec!["studio-a"]).await;
    let mut client = RtmpClient::connect(server.rtmp_address().unwrap()).await;
    let (code, _) = client.publish("studio-a").await;
    assert_eq!(code, "NetStream.Publish.Start");
    // An ExVideoTagHeader: IsExHeader | key frame, PacketTypeSequenceStart, FourCC hvc1.
    client.video(0, b"\x90hvc1\x01\x02\x03").await;
    let reason = "HEVC over Enhanced RTMP is not supported: publish H.264 (classic FLV)";
    assert_eq!(
        client.next_status().await,
        Some(("NetStream.Publish.Rejected".to_owned(), reason.to_owned()))
    );
    assert_eq!(client.next_command().await, None, "the server closes");
    let publish = recorded.publishes_of("studio-a", Protocol::Rtmp).remove(0);
    let ended = wait_for("the publish to end", || publish.ended()).await;
    assert_eq!(ended, Ended::Refused(reason.to_owned()));
    assert!(server.publishes().is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_publisher_is_lost_and_an_oversized_chunk_size_refused() {
    let (server, recorded) = start(vec!["studio-a", "studio-b"]).await;
    let address = server.rtmp_address().unwrap();

    let mut stalled = RtmpClient::connect(address).await;
    assert_eq!(
        stalled.publish("studio-a").await.0,
        "NetStream.Publish.Start"
    );
    stalled.video(0, &[0x17, 0x00, 0, 0, 0]).await;

    let mut oversized = RtmpClient::connect(address).await;
    assert_eq!(
        oversized.publish("studio-b").await.0,
        "NetStream.Publish.Start"
    );
    let set_chunk_size = Message {
        type_id: chunk::SET_CHUNK_SIZE,
        stream_id: 0,
        timestamp: 0,
        payload: Bytes::copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes()),
    };
    oversized.send(2, set_chunk_size).await;
    assert_eq!(oversized.next_command().await, None, "the server closes");

    let stalled_publish = recorded.publishes_of("studio-a", Protocol::Rtmp).remove(0);
    let oversized_publish = recorded.publishes_of("studio-b", Protocol::Rtmp).remove(0);
    assert_eq!(
        wait_for("the oversized publish to end", || oversized_publish.ended()).await,
        Ended::Refused(
            "the client's chunk size 2147483647 exceeds the limit of 1048576 bytes".to_owned()
        )
    );
    assert_eq!(
        wait_for("the stalled publish to end", || stalled_publish.ended()).await,
        Ended::Lost(format!("no data for {STALL:?}"))
    );
    assert!(server.publishes().is_empty());
    // The stalled key is free again.
    let mut again = RtmpClient::connect(address).await;
    assert_eq!(again.publish("studio-a").await.0, "NetStream.Publish.Start");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_the_publishes_in_progress_as_lost() {
    let (server, recorded) = start(vec!["studio-a", "studio-b"]).await;
    let _rtmp = ffmpeg(&rtmp_url(&server, "studio-a"), 30);
    let _srt = ffmpeg(&srt_url(&server, "studio-b"), 30);
    wait_for("both publishes to report media", || {
        let status = server.publishes();
        (status.len() == 2 && status.iter().all(|publish| publish.bytes_received > 0)).then_some(())
    })
    .await;
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown finishes promptly");
    let publishes = recorded.publishes.lock().unwrap().clone();
    assert_eq!(publishes.len(), 2);
    for publish in publishes {
        assert_eq!(
            publish.ended(),
            Some(Ended::Lost("the ingest server is shutting down".to_owned())),
            "{}",
            publish.key
        );
    }
}
