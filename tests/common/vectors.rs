//! What the NSM vector files (`compat/vectors/statd/*.txt`) say came back
//! for one exchange: written by `tests/compat_vectors_capture.rs` from the
//! reference rpc.statd, read back by `tests/golden_vectors.rs`.

/// What came back for one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// Reply bytes (record-marked stream bytes for TCP).
    Reply(Vec<u8>),
    /// UDP: no reply.
    Nothing,
    /// TCP: the server closed or reset the connection without a reply.
    Closed,
    /// TCP: no reply, the connection stays open.
    Open,
}

impl Got {
    /// What a TCP exchange got: the `stream` bytes if any, else whether
    /// the connection was `closed`.
    pub fn from_stream(stream: Vec<u8>, closed: bool) -> Got {
        match (stream.is_empty(), closed) {
            (false, _) => Got::Reply(stream),
            (true, true) => Got::Closed,
            (true, false) => Got::Open,
        }
    }

    /// The text after a vector's `reply:` key: ` none`, ` closed` or
    /// ` open`, or a new line and the bytes as a [`hex_block`].
    pub fn text(&self) -> String {
        match self {
            Got::Reply(r) => format!("\n{}", hex_block(r)),
            Got::Nothing => " none\n".into(),
            Got::Closed => " closed\n".into(),
            Got::Open => " open\n".into(),
        }
    }

    /// Reads [`Got::text`] back: `value` is the text on the key's line,
    /// `block` the indented lines after it.
    pub fn parse(value: &str, block: &str) -> Got {
        match value {
            "none" => Got::Nothing,
            "closed" => Got::Closed,
            "open" => Got::Open,
            "" => Got::Reply(hex(block)),
            other => panic!("unknown reply {other:?}"),
        }
    }
}

/// `bytes` as indented lines of 32 bytes, `    OFFS: xxxxxxxx ...`.
pub fn hex_block(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, line) in bytes.chunks(32).enumerate() {
        out.push_str(&format!("    {:04x}:", i * 32));
        for word in line.chunks(4) {
            out.push(' ');
            for b in word {
                out.push_str(&format!("{b:02x}"));
            }
        }
        out.push('\n');
    }
    out
}

/// The bytes of a [`hex_block`] (offsets and white space skipped).
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .lines()
        .map(|l| l.split_once(':').map_or(l, |(_, rest)| rest))
        .flat_map(|l| l.bytes().filter(|b| !b.is_ascii_whitespace()))
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
