//! The byte stream of `_pmpipe` cut into `sacmsg`s. A FIFO delivers
//! whatever was written, in pieces of any size; [`SacStream`] keeps the
//! bytes of an incomplete message until the rest arrives, skips the
//! class-specific data a message announces (at most [`MAX_DATA`] bytes),
//! and throws everything buffered away when a message announces more (or
//! a negative size) or the buffer would pass [`MAX_BUFFER`]: the stream is
//! lost then, and the next write starts afresh. Never panics; never
//! allocates more than [`MAX_BUFFER`] whatever a size field says.

use super::wire::{SacMsg, SACMSG_SIZE};

/// The most class-specific data after a `sacmsg` that is skipped.
pub const MAX_DATA: i32 = 4096;

/// Most bytes kept waiting.
pub const MAX_BUFFER: usize = 64 * 1024;

/// What came out of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed {
    /// A whole message.
    Msg(SacMsg),
    /// A message announced `size` bytes of data, beyond [`MAX_DATA`] or
    /// negative: the buffered bytes were discarded.
    BadSize(i32),
    /// More than [`MAX_BUFFER`] bytes waited: they were discarded.
    Overflow,
}

/// The `_pmpipe` reader's buffer.
#[derive(Debug, Default)]
pub struct SacStream {
    buf: Vec<u8>,
}

impl SacStream {
    /// An empty stream.
    pub fn new() -> SacStream {
        SacStream::default()
    }

    /// Bytes waiting for the rest of their message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Adds `data` and returns what it completes, in order.
    pub fn push(&mut self, data: &[u8]) -> Vec<Framed> {
        let mut out = Vec::new();
        if self.buf.len() + data.len() > MAX_BUFFER {
            self.buf.clear();
            out.push(Framed::Overflow);
            return out;
        }
        self.buf.extend_from_slice(data);
        let mut at = 0;
        while let Ok(msg) = SacMsg::decode(&self.buf[at..]) {
            if !(0..=MAX_DATA).contains(&msg.size) {
                out.push(Framed::BadSize(msg.size));
                at = self.buf.len();
                break;
            }
            let whole = SACMSG_SIZE + msg.size as usize;
            if self.buf.len() - at < whole {
                break;
            }
            at += whole;
            out.push(Framed::Msg(msg));
        }
        self.buf.drain(..at);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sihmon::wire::ScType;

    fn msg(kind: ScType, size: i32) -> Vec<u8> {
        SacMsg { size, kind }.encode().to_vec()
    }

    #[test]
    fn pieces_and_several_messages() {
        let mut s = SacStream::new();
        let m = msg(ScType::STATUS, 0);
        assert!(s.push(&m[..5]).is_empty());
        assert_eq!(s.pending(), 5);
        assert_eq!(s.push(&m[5..]), [Framed::Msg(SacMsg::new(ScType::STATUS))]);
        let two = [msg(ScType::ENABLE, 0), msg(ScType::DISABLE, 0)].concat();
        assert_eq!(s.push(&two).len(), 2);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn data_is_skipped_and_bad_sizes_discard() {
        let mut s = SacStream::new();
        let mut with_data = msg(ScType::READDB, 3);
        with_data.extend_from_slice(b"ab");
        assert!(s.push(&with_data).is_empty(), "one data byte missing");
        let got = s.push(b"c");
        assert_eq!(
            got,
            [Framed::Msg(SacMsg {
                size: 3,
                kind: ScType::READDB
            })]
        );
        let bad = [msg(ScType::STATUS, -1), msg(ScType::STATUS, 0)].concat();
        assert_eq!(s.push(&bad), [Framed::BadSize(-1)]);
        assert_eq!(s.pending(), 0);
        assert_eq!(
            s.push(&msg(ScType::STATUS, MAX_DATA + 1)),
            [Framed::BadSize(MAX_DATA + 1)]
        );
        assert_eq!(s.push(&vec![0; MAX_BUFFER + 1]), [Framed::Overflow]);
        assert_eq!(s.push(&msg(ScType::STATUS, 0)).len(), 1);
    }
}
