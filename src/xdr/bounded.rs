//! Owned variable- and fixed-length byte items whose bound is part of the type.

use super::{Reader, Writer, Xdr, XdrError};
use std::fmt;

/// `string<MAX>` or `opaque<MAX>`: at most `MAX` bytes, any byte values.
///
/// Invariant: `self.0.len() <= MAX`. The constructor enforces it, so encoding
/// always produces something a bounded decoder accepts.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bounded<const MAX: u32>(Vec<u8>);

impl<const MAX: u32> Bounded<MAX> {
    /// Wraps `bytes` if they fit the bound.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, XdrError> {
        let bytes = bytes.into();
        match u32::try_from(bytes.len()) {
            Ok(len) if len <= MAX => Ok(Bounded(bytes)),
            _ => Err(XdrError::TooLong {
                len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                max: MAX,
            }),
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Gives the bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Lossy text for logs and messages; escaping is left to the logger (`crate::log`).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl<const MAX: u32> fmt::Debug for Bounded<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.escape_ascii().to_string())
    }
}

impl<'a, const MAX: u32> Xdr<'a> for Bounded<MAX> {
    fn encode(&self, w: &mut Writer) {
        w.put_opaque_var(&self.0);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.opaque_var(MAX).map(|b| Bounded(b.to_vec()))
    }
}

/// `opaque[N]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedOpaque<const N: usize>(pub [u8; N]);

impl<const N: usize> Default for FixedOpaque<N> {
    fn default() -> Self {
        FixedOpaque([0; N])
    }
}

impl<const N: usize> fmt::Debug for FixedOpaque<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl<'a, const N: usize> Xdr<'a> for FixedOpaque<N> {
    fn encode(&self, w: &mut Writer) {
        w.put_opaque_fixed(&self.0);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let mut out = [0u8; N];
        out.copy_from_slice(r.opaque_fixed(N)?);
        Ok(FixedOpaque(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_enforced_both_ways() {
        assert!(Bounded::<3>::new(b"abcd".to_vec()).is_err());
        let enc = Bounded::<8>::new(b"abcd".to_vec()).unwrap().to_xdr();
        assert_eq!(
            Bounded::<3>::from_xdr(&enc),
            Err(XdrError::TooLong { len: 4, max: 3 })
        );
    }

    #[test]
    fn truncated_fixed_opaque_fails_at_once() {
        // The xdr-codec 0.4 hang: only 8 of 16 bytes present.
        assert_eq!(
            FixedOpaque::<16>::from_xdr(&[0; 8]),
            Err(XdrError::Truncated { need: 16, have: 8 })
        );
    }

    #[test]
    fn non_utf8_bytes_survive() {
        let s = Bounded::<16>::new(vec![0xff, 0xfe, b'a']).unwrap();
        assert_eq!(Bounded::<16>::from_xdr(&s.to_xdr()).unwrap(), s);
    }
}
