//! TCP record marking (RFC 5531 §11): a record is one or more fragments, each
//! behind a 4-byte mark whose top bit says "last fragment" and whose low 31
//! bits give the fragment length.
//!
//! [`RecordReader`] reassembles records from stream bytes in any chunking.
//! libtirpc 1.3.3 resets a connection that sends a record in several
//! fragments; we reassemble them (compat/KNOWN-DIFFS.md).
//!
//! # Panic contract and memory bound
//! Nothing here panics on any input. The reader never holds more than
//! `max_record` body bytes plus 3 bytes of a partial mark for the record being
//! assembled: a fragment mark that would take the record past `max_record` is
//! refused before any of its body is stored, and nothing is reserved from a
//! wire length.

use std::collections::VecDeque;
use std::fmt;

/// Top bit of a record mark: this fragment ends the record.
const LAST_FRAGMENT: u32 = 0x8000_0000;
/// Largest fragment one mark can describe.
const MAX_FRAGMENT: usize = 0x7fff_ffff;

/// Why a stream can no longer be read. Either way the connection is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// A fragment mark would take the record to `len` bytes, over `max`.
    TooLarge {
        /// The record length the mark implies.
        len: u64,
        /// The configured limit.
        max: usize,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::TooLarge { len, max } => {
                write!(f, "record of {len} bytes over the limit of {max}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// Incremental reassembler for one TCP connection.
#[derive(Debug)]
pub struct RecordReader {
    max_record: usize,
    /// Bytes of the next fragment mark seen so far.
    mark: [u8; 4],
    mark_len: usize,
    /// Body bytes still due in the current fragment.
    body_left: usize,
    /// Whether the current fragment is the last one of its record.
    last: bool,
    /// The record being assembled.
    record: Vec<u8>,
    /// Complete records (and at most one trailing error) not yet polled.
    ready: VecDeque<Result<Vec<u8>, RecordError>>,
    /// Set once a [`RecordError`] happened; later input is ignored.
    failed: bool,
}

impl RecordReader {
    /// A reader that accepts records of at most `max_record` bytes (marks not
    /// counted).
    pub fn new(max_record: usize) -> Self {
        RecordReader {
            max_record,
            mark: [0; 4],
            mark_len: 0,
            body_left: 0,
            last: false,
            record: Vec::new(),
            ready: VecDeque::new(),
            failed: false,
        }
    }

    /// Feeds bytes read from the stream. Complete records become available
    /// through [`RecordReader::poll_record`]. After an error, input is ignored.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !self.failed && !bytes.is_empty() {
            if self.body_left == 0 && self.mark_len < 4 {
                let n = (4 - self.mark_len).min(bytes.len());
                self.mark[self.mark_len..self.mark_len + n].copy_from_slice(&bytes[..n]);
                self.mark_len += n;
                bytes = &bytes[n..];
                if self.mark_len == 4 {
                    self.start_fragment();
                }
            } else {
                let n = self.body_left.min(bytes.len());
                self.record.extend_from_slice(&bytes[..n]);
                self.body_left -= n;
                bytes = &bytes[n..];
                self.end_fragment_if_done();
            }
        }
    }

    /// The next complete record, or the error that ended the stream (after
    /// every record completed before it).
    pub fn poll_record(&mut self) -> Option<Result<Vec<u8>, RecordError>> {
        self.ready.pop_front()
    }

    /// Called with a complete mark in `self.mark`.
    fn start_fragment(&mut self) {
        let mark = u32::from_be_bytes(self.mark);
        let len = (mark & !LAST_FRAGMENT) as usize;
        let total = self.record.len() as u64 + len as u64;
        if total > self.max_record as u64 {
            self.failed = true;
            self.record = Vec::new();
            self.ready.push_back(Err(RecordError::TooLarge {
                len: total,
                max: self.max_record,
            }));
            return;
        }
        self.last = mark & LAST_FRAGMENT != 0;
        self.body_left = len;
        self.end_fragment_if_done();
    }

    /// Closes the fragment once its body is in; a last fragment ends the record.
    fn end_fragment_if_done(&mut self) {
        if self.body_left != 0 {
            return;
        }
        self.mark_len = 0;
        if self.last {
            self.last = false;
            self.ready.push_back(Ok(std::mem::take(&mut self.record)));
        }
    }
}

/// Puts one record behind record marks for sending on TCP: a single fragment
/// with the last-fragment bit, unless the record is over 2 GiB − 1 bytes.
pub fn frame(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 4);
    frame_into(record, &mut out);
    out
}

/// [`frame`] appended to `out` (several replies written with one call).
pub fn frame_into(record: &[u8], out: &mut Vec<u8>) {
    frame_in(record, MAX_FRAGMENT, out);
}

/// [`frame_into`] with fragments of at most `max_fragment` bytes (≥ 1).
fn frame_in(record: &[u8], max_fragment: usize, out: &mut Vec<u8>) {
    out.reserve(record.len() + 4);
    let mut chunks = record.chunks(max_fragment.max(1)).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&LAST_FRAGMENT.to_be_bytes());
    }
    while let Some(chunk) = chunks.next() {
        let last = if chunks.peek().is_none() {
            LAST_FRAGMENT
        } else {
            0
        };
        // chunk.len() <= MAX_FRAGMENT, so it fits in the low 31 bits.
        out.extend_from_slice(&(chunk.len() as u32 | last).to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn fragment(last: bool, body: &[u8]) -> Vec<u8> {
        let mark = body.len() as u32 | if last { LAST_FRAGMENT } else { 0 };
        let mut v = mark.to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn drain(r: &mut RecordReader) -> Vec<Result<Vec<u8>, RecordError>> {
        std::iter::from_fn(|| r.poll_record()).collect()
    }

    #[test]
    fn single_fragment() {
        let mut r = RecordReader::new(1024);
        r.push(&[0x80, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(drain(&mut r), vec![Ok(vec![1, 2, 3, 4])]);
    }

    #[test]
    fn partial_record_waits() {
        let mut r = RecordReader::new(1024);
        r.push(&[0x80, 0, 0, 8, 1, 2, 3]);
        assert_eq!(r.poll_record(), None);
        r.push(&[4, 5, 6, 7, 8]);
        assert_eq!(drain(&mut r), vec![Ok(vec![1, 2, 3, 4, 5, 6, 7, 8])]);
    }

    #[test]
    fn two_and_three_fragments_reassemble() {
        let mut r = RecordReader::new(1024);
        let mut s = fragment(false, &[1, 2, 3, 4, 5]);
        s.extend(fragment(true, &[6, 7]));
        s.extend(fragment(false, b"ab"));
        s.extend(fragment(false, b"cd"));
        s.extend(fragment(true, b"e"));
        r.push(&s);
        assert_eq!(
            drain(&mut r),
            vec![Ok(vec![1, 2, 3, 4, 5, 6, 7]), Ok(b"abcde".to_vec())]
        );
    }

    #[test]
    fn byte_at_a_time_feeding() {
        let mut s = fragment(false, &[1, 2, 3]);
        s.extend(fragment(true, &[4]));
        s.extend(fragment(true, &[5, 6]));
        let mut r = RecordReader::new(1024);
        let mut got = Vec::new();
        for b in &s {
            r.push(std::slice::from_ref(b));
            got.extend(drain(&mut r));
        }
        assert_eq!(got, vec![Ok(vec![1, 2, 3, 4]), Ok(vec![5, 6])]);
    }

    #[test]
    fn zero_length_fragments_are_fine() {
        let mut s = fragment(false, &[]);
        s.extend(fragment(false, &[1]));
        s.extend(fragment(false, &[]));
        s.extend(fragment(true, &[]));
        s.extend(fragment(true, &[]));
        let mut r = RecordReader::new(16);
        r.push(&s);
        assert_eq!(drain(&mut r), vec![Ok(vec![1]), Ok(vec![])]);
    }

    #[test]
    fn many_records_in_one_push() {
        let mut s = Vec::new();
        for i in 0..100u8 {
            s.extend(fragment(true, &[i; 4]));
        }
        let mut r = RecordReader::new(4);
        r.push(&s);
        let got = drain(&mut r);
        assert_eq!(got.len(), 100);
        assert_eq!(got[99], Ok(vec![99; 4]));
    }

    #[test]
    fn huge_marks_are_refused_with_nothing_buffered() {
        for mark in [0x8000_0000u32 | 100_000_000, 0xffff_ffff, 0x7fff_ffff] {
            let mut r = RecordReader::new(9000);
            let mut s = mark.to_be_bytes().to_vec();
            s.extend_from_slice(&[7; 64]);
            r.push(&s);
            assert!(r.record.capacity() == 0 && r.record.is_empty());
            let got = drain(&mut r);
            assert_eq!(
                got,
                vec![Err(RecordError::TooLarge {
                    len: u64::from(mark & 0x7fff_ffff),
                    max: 9000
                })]
            );
            r.push(&fragment(true, &[1]));
            assert_eq!(r.poll_record(), None, "input after an error is ignored");
        }
    }

    #[test]
    fn running_total_is_checked_across_fragments() {
        let mut r = RecordReader::new(8);
        let mut s = fragment(true, &[1]);
        s.extend(fragment(false, &[0; 5]));
        s.extend(fragment(true, &[0; 4]));
        r.push(&s);
        assert_eq!(
            drain(&mut r),
            vec![Ok(vec![1]), Err(RecordError::TooLarge { len: 9, max: 8 })]
        );
    }

    #[test]
    fn frame_is_one_last_fragment() {
        assert_eq!(frame(&[1, 2, 3, 4]), vec![0x80, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(frame(&[]), vec![0x80, 0, 0, 0]);
    }

    #[test]
    fn frame_splits_when_over_the_fragment_limit() {
        let mut framed = vec![9];
        frame_in(&[1, 2, 3, 4, 5], 2, &mut framed);
        assert_eq!(framed.remove(0), 9, "frame_in appends");
        assert_eq!(
            framed,
            vec![0, 0, 0, 2, 1, 2, 0, 0, 0, 2, 3, 4, 0x80, 0, 0, 1, 5]
        );
        let mut r = RecordReader::new(5);
        r.push(&framed);
        assert_eq!(drain(&mut r), vec![Ok(vec![1, 2, 3, 4, 5])]);
    }

    proptest! {
        #[test]
        fn reader_never_panics_and_stays_bounded(
            bytes in prop::collection::vec(any::<u8>(), 0..2048),
            chunk in 1usize..64,
        ) {
            let mut r = RecordReader::new(256);
            for piece in bytes.chunks(chunk) {
                r.push(piece);
                prop_assert!(r.record.len() <= 256);
                while let Some(rec) = r.poll_record() {
                    if let Ok(rec) = rec {
                        prop_assert!(rec.len() <= 256);
                    }
                }
            }
        }
    }
}
