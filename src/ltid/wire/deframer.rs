//! [`Deframer`]: splits a byte stream into frames, never buffering more
//! than arrived and refusing a length over [`MAX_FRAME`] as soon as its
//! four bytes are in.

use super::{Command, Frame, WireError, MAX_FRAME};

/// Splits a byte stream into frames. Feed it what arrives
/// ([`Deframer::push`]) and take frames out ([`Deframer::next_frame`]).
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

impl Deframer {
    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Whether a partial frame is buffered.
    pub fn partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The next whole frame, `None` until one is in, or the error that
    /// ends the stream (a length over [`MAX_FRAME`], a frame too short for
    /// its header): after an error the connection must be dropped.
    pub fn next_frame(&mut self) -> Option<Result<Frame, WireError>> {
        let len = self.buf.get(..4)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len > MAX_FRAME {
            return Some(Err(WireError::TooLong(len)));
        }
        if len < 2 {
            return Some(Err(WireError::Short));
        }
        let body = self.buf.get(4..4 + len)?;
        let frame = Frame {
            version: body[0],
            command: Command(body[1]),
            fields: body[2..].to_vec(),
        };
        self.buf.drain(..4 + len);
        Some(Ok(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_length_is_refused_before_any_body_arrives() {
        let mut d = Deframer::default();
        d.push(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(d.next_frame(), Some(Err(WireError::TooLong(0xffff_ffff))));
    }

    #[test]
    fn a_frame_too_short_for_its_header_ends_the_stream() {
        let mut d = Deframer::default();
        d.push(&[0, 0, 0, 1, 1]);
        assert_eq!(d.next_frame(), Some(Err(WireError::Short)));
    }
}
