//! The part of AMF0 an RTMP publisher's commands use: numbers, booleans, strings, objects,
//! ECMA and strict arrays, null and undefined, read with a depth and count limit so that a
//! hostile message cannot exhaust the stack or memory, and written for the server's answers.

use std::fmt;

/// One AMF0 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Boolean(bool),
    String(String),
    /// An object or an ECMA array: properties in order.
    Object(Vec<(String, Value)>),
    StrictArray(Vec<Value>),
    Null,
    Undefined,
    /// A date: milliseconds since the epoch (the time zone is ignored).
    Date(f64),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(number) => Some(*number),
            _ => None,
        }
    }

    /// The property `name` of an object.
    pub fn property(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(properties) => properties
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn object<const N: usize>(properties: [(&str, Value); N]) -> Value {
        Value::Object(
            properties
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        )
    }

    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }
}

/// Why bytes are not AMF0 this reader accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "bad AMF0: {}", self.0)
    }
}

/// Nesting deeper than this is refused (publishers nest two levels at most).
const MAX_DEPTH: usize = 16;
/// More values or properties than this in one message are refused.
const MAX_ITEMS: usize = 4096;

/// Reads every value in `bytes`.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Value>, DecodeError> {
    let mut reader = Reader {
        bytes,
        position: 0,
        items: 0,
    };
    let mut values = Vec::new();
    while reader.position < bytes.len() {
        values.push(reader.value(0)?);
    }
    Ok(values)
}

/// How many bytes the first value of `bytes` takes, if it is one.
pub fn first_value_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut reader = Reader {
        bytes,
        position: 0,
        items: 0,
    };
    reader.value(0)?;
    Ok(reader.position)
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    items: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .position
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError("truncated value"))?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        let bytes = self.take(8)?;
        let mut array = [0; 8];
        array.copy_from_slice(bytes);
        Ok(f64::from_be_bytes(array))
    }

    fn utf8(&mut self, len: usize) -> Result<String, DecodeError> {
        let bytes = self.take(len)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn count_item(&mut self) -> Result<(), DecodeError> {
        self.items += 1;
        if self.items > MAX_ITEMS {
            return Err(DecodeError("too many values"));
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("nested too deeply"));
        }
        self.count_item()?;
        match self.u8()? {
            0x00 => Ok(Value::Number(self.f64()?)),
            0x01 => Ok(Value::Boolean(self.u8()? != 0)),
            0x02 => {
                let len = self.u16()? as usize;
                Ok(Value::String(self.utf8(len)?))
            }
            0x03 => Ok(Value::Object(self.properties(depth)?)),
            0x05 => Ok(Value::Null),
            0x06 => Ok(Value::Undefined),
            0x08 => {
                // The count is a hint only; the properties end with the object end marker.
                self.u32()?;
                Ok(Value::Object(self.properties(depth)?))
            }
            0x0A => {
                let count = self.u32()? as usize;
                if count > MAX_ITEMS {
                    return Err(DecodeError("too many values"));
                }
                let mut items = Vec::new();
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Ok(Value::StrictArray(items))
            }
            0x0B => {
                let millis = self.f64()?;
                self.u16()?;
                Ok(Value::Date(millis))
            }
            0x0C => {
                let len = self.u32()? as usize;
                Ok(Value::String(self.utf8(len)?))
            }
            _ => Err(DecodeError("unsupported type marker")),
        }
    }

    fn properties(&mut self, depth: usize) -> Result<Vec<(String, Value)>, DecodeError> {
        let mut properties = Vec::new();
        loop {
            let len = self.u16()? as usize;
            if len == 0 {
                if self.u8()? == 0x09 {
                    return Ok(properties);
                }
                return Err(DecodeError("an empty property name without the end marker"));
            }
            let name = self.utf8(len)?;
            self.count_item()?;
            properties.push((name, self.value(depth + 1)?));
        }
    }
}

/// Writes `values` one after the other.
pub fn encode_all(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        encode(value, &mut out);
    }
    out
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Number(number) => {
            out.push(0x00);
            out.extend_from_slice(&number.to_be_bytes());
        }
        Value::Boolean(flag) => out.extend_from_slice(&[0x01, u8::from(*flag)]),
        Value::String(text) => match u16::try_from(text.len()) {
            Ok(len) => {
                out.push(0x02);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Err(_) => {
                out.push(0x0C);
                out.extend_from_slice(&(text.len() as u32).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        },
        Value::Object(properties) => {
            out.push(0x03);
            for (name, value) in properties {
                let name = &name.as_bytes()[..name.len().min(u16::MAX as usize)];
                out.extend_from_slice(&(name.len() as u16).to_be_bytes());
                out.extend_from_slice(name);
                encode(value, out);
            }
            out.extend_from_slice(&[0, 0, 0x09]);
        }
        Value::StrictArray(items) => {
            out.push(0x0A);
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            for item in items {
                encode(item, out);
            }
        }
        Value::Null => out.push(0x05),
        Value::Undefined => out.push(0x06),
        Value::Date(millis) => {
            out.push(0x0B);
            out.extend_from_slice(&millis.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_a_round_trip() {
        let values = vec![
            Value::string("connect"),
            Value::Number(1.0),
            Value::object([
                ("app", Value::string("live")),
                ("tcUrl", Value::string("rtmp://127.0.0.1/live")),
                ("fpad", Value::Boolean(false)),
                ("nested", Value::object([("x", Value::Null)])),
            ]),
            Value::Null,
            Value::Undefined,
            Value::StrictArray(vec![Value::Number(2.5)]),
        ];
        assert_eq!(decode_all(&encode_all(&values)), Ok(values));
    }

    #[test]
    fn an_ecma_array_reads_as_an_object() {
        let bytes = [
            0x08, 0, 0, 0, 1, 0, 1, b'w', 0x00, 0x40, 0x74, 0, 0, 0, 0, 0, 0, 0, 0, 0x09,
        ];
        assert_eq!(
            decode_all(&bytes),
            Ok(vec![Value::object([("w", Value::Number(320.0))])])
        );
    }

    #[test]
    fn hostile_input_is_refused_without_recursing_or_allocating() {
        assert_eq!(
            decode_all(&[0x03; 100_000]),
            Err(DecodeError("nested too deeply"))
        );
        assert_eq!(
            decode_all(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(DecodeError("too many values"))
        );
        assert_eq!(
            decode_all(&[0x02, 0xFF, 0xFF, b'a']),
            Err(DecodeError("truncated value"))
        );
        assert_eq!(
            decode_all(&[0x0D]),
            Err(DecodeError("unsupported type marker"))
        );
        assert_eq!(
            decode_all(&[0x05; 5000]),
            Err(DecodeError("too many values"))
        );
    }

    #[test]
    fn the_first_value_length_skips_the_set_data_frame_name() {
        let bytes = encode_all(&[Value::string("@setDataFrame"), Value::string("onMetaData")]);
        assert_eq!(first_value_len(&bytes), Ok(16));
    }
}
