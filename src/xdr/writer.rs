//! Growable output buffer for encoding.

use super::pad_len;

/// Appends XDR items to an owned buffer. Writing never fails.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// Continues writing after the bytes already in `buf`.
    pub fn from_vec(buf: Vec<u8>) -> Self {
        Writer { buf }
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// `unsigned int`.
    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// `int`.
    pub fn put_i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// `unsigned hyper`.
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// `hyper`.
    pub fn put_i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// `bool`.
    pub fn put_bool(&mut self, v: bool) {
        self.put_u32(u32::from(v));
    }

    /// `opaque[N]`: the bytes, then zero padding.
    pub fn put_opaque_fixed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(self.buf.len() + pad_len(bytes.len()), 0);
    }

    /// `opaque<>` / `string<>`: length, bytes, zero padding.
    ///
    /// # Panics
    /// If `bytes` is longer than `u32::MAX`; bounded types never are.
    pub fn put_opaque_var(&mut self, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).expect("XDR opaque longer than 4 GiB");
        self.put_u32(len);
        self.put_opaque_fixed(bytes);
    }

    /// Raw bytes already in XDR form (a pre-encoded body).
    pub fn put_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_padded_with_zeroes() {
        let mut w = Writer::new();
        w.put_opaque_var(b"abcde");
        assert_eq!(
            w.as_slice(),
            &[0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]
        );
    }

    #[test]
    fn fixed_opaque_has_no_length() {
        let mut w = Writer::new();
        w.put_opaque_fixed(&[1, 2, 3, 4]);
        assert_eq!(w.as_slice(), &[1, 2, 3, 4]);
    }
}
