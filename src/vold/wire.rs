//! The request/diag protocol: one `SOCK_SEQPACKET` packet is one message.
//!
//! ```text
//! u16 version (1) | u16 opcode | u32 seq | UTF-8 body
//! ```
//!
//! (little-endian). A reply carries the request's `seq`. The opcode is a
//! newtype over the wire number, so an unknown one survives decoding and
//! is answered with an error. Decoding never panics and allocates only
//! for bytes already received (at most [`MAX_MESSAGE`]).

use std::fmt;

/// The protocol version.
pub const VERSION: u16 = 1;
/// The largest message, header included.
pub const MAX_MESSAGE: usize = 60 * 1024;
/// Bytes before the body.
pub const HEADER: usize = 8;

/// A message type, as on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Opcode(pub u16);

macro_rules! opcodes {
    ($($name:ident = $v:expr, $text:expr;)*) => {
        impl Opcode {
            $(#[doc = $text] pub const $name: Opcode = Opcode($v);)*
            /// The opcode's name, if it is known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($v => Some(stringify!($name)),)* _ => None }
            }
        }
    };
}

opcodes! {
    HELLO = 1, "Client greeting (body: the client's name); answered with the mode.";
    GET = 2, "Records in the description format (body: empty, `TYPE`, or `TYPE NAME`).";
    BEGIN = 3, "Starts a transaction (body: the transaction id, 32 hex digits).";
    OP = 4, "Stages one operation (body: see `ops`).";
    COMMIT = 5, "Commits the transaction (body: its id).";
    ABORT = 6, "Drops the transaction.";
    DB_LIST = 20, "Lists the database copies with their state and generation.";
    DB_ADD = 21, "Adds a copy (body: a database-spec).";
    DB_RM = 22, "Removes a copy (body: a database-spec).";
    DB_CP = 23, "Copies `kernel` or a spec to a spec (body: two lines).";
    INIT = 24, "Writes a new voldesc and empty copies (body: one spec a line).";
    ENABLE = 25, "Runs the enable algorithm.";
    DISABLE = 26, "Enters disabled mode.";
    SYNC = 27, "Rewrites every copy with the current configuration.";
    CHECK = 28, "Compares the copies without changing anything.";
    HALT = 29, "Stops vold.";
    DEBUG = 30, "Sets the debug level (body: 0, 1 or 2).";
    OK = 100, "Success (body: the answer's text).";
    ERROR = 101, "Failure (body: why).";
    REFUSED = 102, "vold is not enabled (body: why); the connection is closed.";
    BUSY = 103, "Another transaction is open; try again.";
    COMMITTED = 104, "Committed (body: the new generation).";
    ALREADY = 105, "That transaction id was committed before (body: its generation).";
    ABORTED = 106, "The configuration would break its rules (body: one error a line).";
}

impl fmt::Debug for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Opcode({})", self.0),
        }
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its type.
    pub opcode: Opcode,
    /// The request's sequence number (echoed in the reply).
    pub seq: u32,
    /// Its text.
    pub body: String,
}

/// Why a packet is not a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than [`HEADER`] bytes.
    Short(usize),
    /// More than [`MAX_MESSAGE`] bytes.
    Long(usize),
    /// Another protocol version.
    Version(u16),
    /// The body is not UTF-8.
    Utf8,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Short(n) => write!(f, "a {n}-byte message is shorter than its header"),
            DecodeError::Long(n) => write!(f, "a {n}-byte message is longer than {MAX_MESSAGE}"),
            DecodeError::Version(v) => {
                write!(f, "protocol version {v} (this vold speaks {VERSION})")
            }
            DecodeError::Utf8 => f.write_str("the message body is not UTF-8"),
        }
    }
}

impl Message {
    /// A message of `opcode` with `body`.
    pub fn new(opcode: Opcode, seq: u32, body: impl Into<String>) -> Message {
        Message {
            opcode,
            seq,
            body: body.into(),
        }
    }

    /// Decodes one packet.
    pub fn decode(b: &[u8]) -> Result<Message, DecodeError> {
        if b.len() < HEADER {
            return Err(DecodeError::Short(b.len()));
        }
        if b.len() > MAX_MESSAGE {
            return Err(DecodeError::Long(b.len()));
        }
        let version = u16::from_le_bytes([b[0], b[1]]);
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let body = std::str::from_utf8(&b[HEADER..]).map_err(|_| DecodeError::Utf8)?;
        Ok(Message {
            opcode: Opcode(u16::from_le_bytes([b[2], b[3]])),
            seq: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            body: body.to_string(),
        })
    }

    /// Whether the message fits in [`MAX_MESSAGE`] (callers check before
    /// sending: a longer packet is refused by the receiver).
    pub fn fits(&self) -> bool {
        HEADER + self.body.len() <= MAX_MESSAGE
    }

    /// The packet.
    pub fn encode(&self) -> Vec<u8> {
        let body = self.body.as_str();
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.opcode.0.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(body.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_unknown_opcodes_survive() {
        let m = Message::new(Opcode(999), 7, "héllo");
        assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        assert_eq!(format!("{:?}", Opcode::COMMIT), "COMMIT");
        assert_eq!(format!("{:?}", Opcode(999)), "Opcode(999)");
    }

    #[test]
    fn malformed_packets_are_errors() {
        assert_eq!(Message::decode(&[1, 0, 1]), Err(DecodeError::Short(3)));
        assert_eq!(
            Message::decode(&[2, 0, 1, 0, 0, 0, 0, 0]),
            Err(DecodeError::Version(2))
        );
        assert_eq!(
            Message::decode(&[1, 0, 1, 0, 0, 0, 0, 0, 0xff]),
            Err(DecodeError::Utf8)
        );
        let long = Message::new(Opcode::OK, 0, "é".repeat(MAX_MESSAGE));
        assert!(!long.fits());
        assert_eq!(
            Message::decode(&long.encode()),
            Err(DecodeError::Long(HEADER + 2 * MAX_MESSAGE))
        );
        assert!(Message::new(Opcode::OK, 0, "x".repeat(MAX_MESSAGE - HEADER)).fits());
    }
}
