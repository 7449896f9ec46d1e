//! Slice cursor for decoding (rustls's `Reader`, XDR flavoured).

use super::{pad_len, XdrError};

/// A cursor over borrowed input. Every accessor checks the remaining length
/// before it touches a byte, so no method panics.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unconsumed tail of the input.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes exactly `n` bytes, or fails without consuming anything.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        let have = self.remaining();
        if n > have {
            return Err(XdrError::Truncated { need: n, have });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], XdrError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// `unsigned int`.
    pub fn u32(&mut self) -> Result<u32, XdrError> {
        self.array().map(u32::from_be_bytes)
    }

    /// `int`.
    pub fn i32(&mut self) -> Result<i32, XdrError> {
        self.array().map(i32::from_be_bytes)
    }

    /// `unsigned hyper`.
    pub fn u64(&mut self) -> Result<u64, XdrError> {
        self.array().map(u64::from_be_bytes)
    }

    /// `hyper`.
    pub fn i64(&mut self) -> Result<i64, XdrError> {
        self.array().map(i64::from_be_bytes)
    }

    /// `bool`: 0 or 1; anything else is a [`XdrError::BadDiscriminant`].
    pub fn bool(&mut self) -> Result<bool, XdrError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            d => Err(XdrError::BadDiscriminant(d)),
        }
    }

    /// `opaque[N]`: N bytes plus padding. Padding bytes are skipped unchecked.
    pub fn opaque_fixed(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        let body = self.take(n)?;
        self.take(pad_len(n))?;
        Ok(body)
    }

    /// `opaque<max>` or `string<max>`: a length, then that many bytes and padding.
    /// The bound is checked before the bytes are looked at.
    pub fn opaque_var(&mut self, max: u32) -> Result<&'a [u8], XdrError> {
        let len = self.u32()?;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        self.opaque_fixed(len as usize)
    }

    /// A counted array `T<max>`: reads the count, checks it against `max`, and
    /// calls `item` that many times. Nothing is reserved from the count; each
    /// item must consume at least one byte, so a huge count on a short input
    /// fails at the first missing item.
    pub fn array_var<T>(
        &mut self,
        max: u32,
        mut item: impl FnMut(&mut Self) -> Result<T, XdrError>,
    ) -> Result<Vec<T>, XdrError> {
        let count = self.u32()?;
        if count > max {
            return Err(XdrError::TooLong { len: count, max });
        }
        let mut out = Vec::new();
        for _ in 0..count {
            out.push(item(self)?);
        }
        Ok(out)
    }

    /// A linked list as rpcgen writes it (`*next` optional-data chains): a
    /// `bool` before each entry, `false` at the end. Decoded in a loop, never
    /// recursively; more than `max` entries is [`XdrError::TooLong`].
    pub fn list<T>(
        &mut self,
        max: u32,
        mut item: impl FnMut(&mut Self) -> Result<T, XdrError>,
    ) -> Result<Vec<T>, XdrError> {
        let mut out = Vec::new();
        while self.bool()? {
            if out.len() as u64 >= u64::from(max) {
                return Err(XdrError::TooLong {
                    len: max.saturating_add(1),
                    max,
                });
            }
            out.push(item(self)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_big_endian() {
        let mut r = Reader::new(&[0, 0, 0, 7, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1]);
        assert_eq!(r.u32(), Ok(7));
        assert_eq!(r.i32(), Ok(-2));
        assert_eq!(r.bool(), Ok(true));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn short_input_is_truncated_not_a_panic() {
        let mut r = Reader::new(&[0, 0, 1]);
        assert_eq!(r.u32(), Err(XdrError::Truncated { need: 4, have: 3 }));
        assert_eq!(r.position(), 0);
    }

    #[test]
    fn opaque_var_checks_bound_before_bytes() {
        // Declares 0xfffffff0 bytes and carries four.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4]);
        assert_eq!(
            r.opaque_var(1024),
            Err(XdrError::TooLong {
                len: 0xffff_fff0,
                max: 1024
            })
        );
    }

    #[test]
    fn truncated_string_is_rejected() {
        let mut r = Reader::new(&[0, 0, 0, 8, b'a', b'b', b'c', b'd']);
        assert_eq!(
            r.opaque_var(1024),
            Err(XdrError::Truncated { need: 8, have: 4 })
        );
    }

    #[test]
    fn padding_may_be_non_zero() {
        let mut r = Reader::new(&[0, 0, 0, 1, b'x', 9, 9, 9]);
        assert_eq!(r.opaque_var(4), Ok(&b"x"[..]));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn missing_padding_is_truncated() {
        let mut r = Reader::new(&[0, 0, 0, 1, b'x']);
        assert!(matches!(r.opaque_var(4), Err(XdrError::Truncated { .. })));
    }

    #[test]
    fn huge_array_count_on_short_input_fails_fast() {
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
        let got = r.array_var(u32::MAX, |r| r.u32());
        assert!(matches!(got, Err(XdrError::Truncated { .. })));
    }

    #[test]
    fn list_is_capped_and_iterative() {
        let mut bytes = Vec::new();
        for i in 0..200_000u32 {
            bytes.extend_from_slice(&1u32.to_be_bytes());
            bytes.extend_from_slice(&i.to_be_bytes());
        }
        bytes.extend_from_slice(&0u32.to_be_bytes());
        let all = Reader::new(&bytes).list(200_000, |r| r.u32()).unwrap();
        assert_eq!(all.len(), 200_000);
        let capped = Reader::new(&bytes).list(10, |r| r.u32());
        assert!(matches!(capped, Err(XdrError::TooLong { max: 10, .. })));
    }
}
