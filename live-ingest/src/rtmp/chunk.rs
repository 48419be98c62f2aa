//! RTMP chunk streams, without IO: [`ChunkReader`] turns the bytes a client sends into whole
//! messages (chunks of several messages may interleave, as the spec allows), within limits on
//! chunk size, message size and the bytes held for unfinished messages; [`write_message`]
//! chunks one message of the server's.

use std::collections::HashMap;
use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

/// One RTMP message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub type_id: u8,
    pub stream_id: u32,
    /// Milliseconds.
    pub timestamp: u32,
    pub payload: Bytes,
}

pub const SET_CHUNK_SIZE: u8 = 1;
pub const ABORT: u8 = 2;
pub const ACKNOWLEDGEMENT: u8 = 3;
pub const USER_CONTROL: u8 = 4;
pub const WINDOW_ACK_SIZE: u8 = 5;
pub const SET_PEER_BANDWIDTH: u8 = 6;
pub const AUDIO: u8 = 8;
pub const VIDEO: u8 = 9;
pub const DATA_AMF3: u8 = 15;
pub const COMMAND_AMF3: u8 = 17;
pub const DATA_AMF0: u8 = 18;
pub const COMMAND_AMF0: u8 = 20;
pub const AGGREGATE: u8 = 22;

/// The limits a [`ChunkReader`] holds a client to.
#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    /// The largest chunk size a client may announce.
    pub max_chunk_size: u32,
    /// The most bytes held for messages not yet complete, over every chunk stream.
    pub max_pending_bytes: usize,
    /// The most chunk streams a client may use.
    pub max_chunk_streams: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_chunk_size: 1 << 20,
            max_pending_bytes: 16 << 20,
            max_chunk_streams: 64,
        }
    }
}

/// Why the bytes a client sent cannot be RTMP chunks this server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// A chunk continues a message on a chunk stream that never had a full header.
    NoPreviousHeader {
        chunk_stream_id: u32,
    },
    ChunkSizeTooLarge {
        size: u32,
        limit: u32,
    },
    ChunkSizeZero,
    PendingTooLarge {
        limit: usize,
    },
    TooManyChunkStreams {
        limit: usize,
    },
}

impl fmt::Display for ChunkError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::NoPreviousHeader { chunk_stream_id } => write!(
                formatter,
                "a chunk on chunk stream {chunk_stream_id} has no previous header to continue (not RTMP?)"
            ),
            ChunkError::ChunkSizeTooLarge { size, limit } => write!(
                formatter,
                "the client's chunk size {size} exceeds the limit of {limit} bytes"
            ),
            ChunkError::ChunkSizeZero => write!(formatter, "the client set a chunk size of 0"),
            ChunkError::PendingTooLarge { limit } => write!(
                formatter,
                "unfinished messages exceed the limit of {limit} bytes"
            ),
            ChunkError::TooManyChunkStreams { limit } => {
                write!(formatter, "more than {limit} chunk streams")
            }
        }
    }
}

#[derive(Debug, Default)]
struct ChunkStream {
    timestamp: u32,
    timestamp_delta: u32,
    message_length: u32,
    type_id: u8,
    stream_id: u32,
    /// Whether the last header carried an extended timestamp (so type-3 chunks do too).
    extended_timestamp: bool,
    /// The message being assembled; its target length is `message_length`.
    partial: BytesMut,
}

/// Reassembles a client's chunks into messages.
#[derive(Debug)]
pub struct ChunkReader {
    limits: ChunkLimits,
    chunk_size: u32,
    streams: HashMap<u32, ChunkStream>,
    pending_bytes: usize,
}

impl ChunkReader {
    pub fn new(limits: ChunkLimits) -> Self {
        ChunkReader {
            limits,
            chunk_size: 128,
            streams: HashMap::new(),
            pending_bytes: 0,
        }
    }

    /// The client announced a new chunk size.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        let size = size & 0x7FFF_FFFF;
        if size == 0 {
            return Err(ChunkError::ChunkSizeZero);
        }
        if size > self.limits.max_chunk_size {
            return Err(ChunkError::ChunkSizeTooLarge {
                size,
                limit: self.limits.max_chunk_size,
            });
        }
        self.chunk_size = size;
        Ok(())
    }

    /// The client abandoned the message on `chunk_stream_id`.
    pub fn abort(&mut self, chunk_stream_id: u32) {
        if let Some(stream) = self.streams.get_mut(&chunk_stream_id) {
            self.pending_bytes -= stream.partial.len();
            stream.partial = BytesMut::new();
        }
    }

    /// Whether part of a chunk or of a message is held.
    pub fn is_mid_message(&self, buffered: &BytesMut) -> bool {
        !buffered.is_empty() || self.pending_bytes > 0
    }

    /// Reads whole chunks from the front of `input` until one completes a message or too few
    /// bytes are left for a chunk (they stay in `input`).
    pub fn read(&mut self, input: &mut BytesMut) -> Result<Option<Message>, ChunkError> {
        loop {
            let Some(header) = self.peek_header(input)? else {
                return Ok(None);
            };
            let stream = self.streams.get(&header.chunk_stream_id);
            let message_length = header
                .message_length
                .or(stream.map(|stream| stream.message_length))
                .unwrap_or(0) as usize;
            // Formats 0 to 2 start a message; format 3 continues one, if any is unfinished.
            let already = if header.format < 3 {
                0
            } else {
                stream.map_or(0, |stream| stream.partial.len())
            };
            let payload_len = message_length
                .saturating_sub(already)
                .min(self.chunk_size as usize);
            if input.len() < header.len + payload_len {
                return Ok(None);
            }
            input.advance(header.len);
            let payload = input.split_to(payload_len);
            if let Some(message) = self.apply(header, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// Parses the chunk header at the front of `input`, without consuming it.
    fn peek_header(&self, input: &[u8]) -> Result<Option<ChunkHeader>, ChunkError> {
        let Some(&first) = input.first() else {
            return Ok(None);
        };
        let format = first >> 6;
        let (chunk_stream_id, mut len) = match first & 0x3F {
            0 => match input.get(1) {
                Some(&byte) => (64 + u32::from(byte), 2),
                None => return Ok(None),
            },
            1 => match (input.get(1), input.get(2)) {
                (Some(&low), Some(&high)) => (64 + u32::from(low) + 256 * u32::from(high), 3),
                _ => return Ok(None),
            },
            id => (u32::from(id), 1),
        };
        let previous = self.streams.get(&chunk_stream_id);
        if format != 0 && previous.is_none() {
            return Err(ChunkError::NoPreviousHeader { chunk_stream_id });
        }
        if previous.is_none() && self.streams.len() >= self.limits.max_chunk_streams {
            return Err(ChunkError::TooManyChunkStreams {
                limit: self.limits.max_chunk_streams,
            });
        }
        let header_len = [11, 7, 3, 0][format as usize];
        let Some(fields) = input.get(len..len + header_len) else {
            return Ok(None);
        };
        len += header_len;
        let u24 = |bytes: &[u8]| u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        let timestamp_field = (format < 3).then(|| u24(&fields[0..3]));
        let message_length = (format < 2).then(|| u24(&fields[3..6]));
        let type_id = (format < 2).then(|| fields[6]);
        let stream_id = (format == 0)
            .then(|| u32::from_le_bytes([fields[7], fields[8], fields[9], fields[10]]));
        let extended = match timestamp_field {
            Some(field) => field == 0xFF_FFFF,
            None => previous.is_some_and(|stream| stream.extended_timestamp),
        };
        let extended_timestamp = if extended {
            let Some(bytes) = input.get(len..len + 4) else {
                return Ok(None);
            };
            len += 4;
            Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        } else {
            None
        };
        Ok(Some(ChunkHeader {
            format,
            chunk_stream_id,
            len,
            timestamp_field: extended_timestamp.or(timestamp_field),
            extended,
            message_length,
            type_id,
            stream_id,
        }))
    }

    fn apply(
        &mut self,
        header: ChunkHeader,
        payload: BytesMut,
    ) -> Result<Option<Message>, ChunkError> {
        let stream = self.streams.entry(header.chunk_stream_id).or_default();
        let starts_message = header.format < 3 || stream.partial.is_empty();
        if starts_message {
            // A new header abandons whatever was left unfinished on this chunk stream.
            self.pending_bytes -= stream.partial.len();
            stream.partial = BytesMut::new();
            match (header.format, header.timestamp_field) {
                (0, Some(timestamp)) => {
                    // As ffmpeg and librtmp read it: a format-3 message after a format-0
                    // header adds that header's timestamp field.
                    stream.timestamp = timestamp;
                    stream.timestamp_delta = timestamp;
                }
                (_, Some(delta)) => {
                    stream.timestamp_delta = delta;
                    stream.timestamp = stream.timestamp.wrapping_add(delta);
                }
                (_, None) => {
                    stream.timestamp = stream.timestamp.wrapping_add(stream.timestamp_delta)
                }
            }
        }
        if header.format < 3 {
            stream.extended_timestamp = header.extended;
        }
        if let Some(length) = header.message_length {
            stream.message_length = length;
        }
        if let Some(type_id) = header.type_id {
            stream.type_id = type_id;
        }
        if let Some(stream_id) = header.stream_id {
            stream.stream_id = stream_id;
        }
        if payload.len() == stream.message_length as usize && stream.partial.is_empty() {
            return Ok(Some(stream.message(payload.freeze())));
        }
        if self.pending_bytes + payload.len() > self.limits.max_pending_bytes {
            return Err(ChunkError::PendingTooLarge {
                limit: self.limits.max_pending_bytes,
            });
        }
        self.pending_bytes += payload.len();
        stream.partial.extend_from_slice(&payload);
        if stream.partial.len() < stream.message_length as usize {
            return Ok(None);
        }
        self.pending_bytes -= stream.partial.len();
        let whole = std::mem::take(&mut stream.partial).freeze();
        Ok(Some(stream.message(whole)))
    }
}

impl ChunkStream {
    fn message(&self, payload: Bytes) -> Message {
        Message {
            type_id: self.type_id,
            stream_id: self.stream_id,
            timestamp: self.timestamp,
            payload,
        }
    }
}

#[derive(Debug)]
struct ChunkHeader {
    format: u8,
    chunk_stream_id: u32,
    /// Bytes the header takes.
    len: usize,
    /// The timestamp (format 0) or its delta (formats 1 and 2), extended where it was.
    timestamp_field: Option<u32>,
    extended: bool,
    message_length: Option<u32>,
    type_id: Option<u8>,
    stream_id: Option<u32>,
}

/// Appends `message` to `out` as chunks of at most `chunk_size` bytes on `chunk_stream_id`:
/// a full header, then continuation headers.
pub fn write_message(out: &mut Vec<u8>, chunk_stream_id: u8, chunk_size: usize, message: &Message) {
    debug_assert!((2..64).contains(&chunk_stream_id));
    let extended = message.timestamp >= 0xFF_FFFF;
    let timestamp_field = if extended {
        0xFF_FFFF
    } else {
        message.timestamp
    };
    out.push(chunk_stream_id);
    out.extend_from_slice(&timestamp_field.to_be_bytes()[1..]);
    out.extend_from_slice(&(message.payload.len() as u32).to_be_bytes()[1..]);
    out.push(message.type_id);
    out.extend_from_slice(&message.stream_id.to_le_bytes());
    for (index, piece) in message.payload.chunks(chunk_size.max(1)).enumerate() {
        if index > 0 {
            out.push(0xC0 | chunk_stream_id);
        }
        if extended {
            out.extend_from_slice(&message.timestamp.to_be_bytes());
        }
        out.extend_from_slice(piece);
    }
    if message.payload.is_empty() && extended {
        out.extend_from_slice(&message.timestamp.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(type_id: u8, timestamp: u32, len: usize, fill: u8) -> Message {
        Message {
            type_id,
            stream_id: 1,
            timestamp,
            payload: Bytes::from(vec![fill; len]),
        }
    }

    fn read_all(reader: &mut ChunkReader, bytes: &[u8]) -> Result<Vec<Message>, ChunkError> {
        let mut input = BytesMut::from(bytes);
        let mut messages = Vec::new();
        while let Some(message) = reader.read(&mut input)? {
            messages.push(message);
        }
        Ok(messages)
    }

    #[test]
    fn messages_written_in_chunks_read_back_whole_even_byte_by_byte() {
        let sent = vec![
            message(VIDEO, 0, 1000, 1),
            message(AUDIO, 23, 10, 2),
            message(VIDEO, 0x0100_0000, 300, 3),
        ];
        let mut bytes = Vec::new();
        for (index, message) in sent.iter().enumerate() {
            write_message(&mut bytes, 4 + index as u8, 128, message);
        }
        assert_eq!(
            read_all(&mut ChunkReader::new(ChunkLimits::default()), &bytes),
            Ok(sent.clone())
        );

        let mut reader = ChunkReader::new(ChunkLimits::default());
        let mut input = BytesMut::new();
        let mut received = Vec::new();
        for byte in bytes {
            input.extend_from_slice(&[byte]);
            while let Some(message) = reader.read(&mut input).unwrap() {
                received.push(message);
            }
        }
        assert_eq!(received, sent);
        assert!(!reader.is_mid_message(&input));
    }

    #[test]
    fn interleaved_chunks_of_two_messages_and_delta_headers_are_reassembled() {
        let mut bytes = Vec::new();
        // Video on chunk stream 6: 200 bytes at t=40, first 128-byte chunk.
        bytes.extend_from_slice(&[0x06, 0, 0, 40, 0, 0, 200, VIDEO, 1, 0, 0, 0]);
        bytes.extend_from_slice(&[9; 128]);
        // Audio on chunk stream 4, whole, at t=30.
        bytes.extend_from_slice(&[0x04, 0, 0, 30, 0, 0, 4, AUDIO, 1, 0, 0, 0, 8, 8, 8, 8]);
        // The video's second chunk (format 3).
        bytes.push(0xC6);
        bytes.extend_from_slice(&[9; 72]);
        // Audio again as format 2 (delta 23), then format 3 (same delta and length).
        bytes.extend_from_slice(&[0x84, 0, 0, 23, 7, 7, 7, 7, 0xC4, 6, 6, 6, 6]);
        let messages = read_all(&mut ChunkReader::new(ChunkLimits::default()), &bytes).unwrap();
        let summary: Vec<_> = messages
            .iter()
            .map(|message| (message.type_id, message.timestamp, message.payload.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (AUDIO, 30, 4),
                (VIDEO, 40, 200),
                (AUDIO, 53, 4),
                (AUDIO, 76, 4)
            ]
        );
    }

    #[test]
    fn a_continuation_without_a_header_and_oversized_chunks_are_refused() {
        let mut reader = ChunkReader::new(ChunkLimits::default());
        assert_eq!(
            read_all(&mut reader, &[0xC5, 1, 2, 3]),
            Err(ChunkError::NoPreviousHeader { chunk_stream_id: 5 })
        );
        assert_eq!(
            reader.set_chunk_size(0x7FFF_FFFF),
            Err(ChunkError::ChunkSizeTooLarge {
                size: 0x7FFF_FFFF,
                limit: 1 << 20
            })
        );
        assert_eq!(reader.set_chunk_size(0), Err(ChunkError::ChunkSizeZero));
    }

    #[test]
    fn unfinished_messages_are_bounded() {
        let limits = ChunkLimits {
            max_pending_bytes: 1000,
            ..ChunkLimits::default()
        };
        let mut reader = ChunkReader::new(limits);
        let mut bytes = Vec::new();
        for chunk_stream_id in 3..20u8 {
            // Each starts a 16 MB message and sends one 128-byte chunk of it.
            bytes.extend_from_slice(&[
                chunk_stream_id,
                0,
                0,
                0,
                0xFF,
                0xFF,
                0xFF,
                VIDEO,
                1,
                0,
                0,
                0,
            ]);
            bytes.extend_from_slice(&[0; 128]);
        }
        assert_eq!(
            read_all(&mut reader, &bytes),
            Err(ChunkError::PendingTooLarge { limit: 1000 })
        );
    }

    #[test]
    fn too_many_chunk_streams_are_refused() {
        let mut reader = ChunkReader::new(ChunkLimits::default());
        let mut bytes = Vec::new();
        for low in 0..=255u8 {
            bytes.extend_from_slice(&[0x00, low, 0, 0, 0, 0, 0, 1, AUDIO, 1, 0, 0, 0, 0xAF]);
        }
        assert_eq!(
            read_all(&mut reader, &bytes),
            Err(ChunkError::TooManyChunkStreams { limit: 64 })
        );
    }
}
