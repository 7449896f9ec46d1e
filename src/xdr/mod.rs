//! RFC 4506 External Data Representation, bounded and allocation-safe.
//!
//! The codec is our own (see the README for why xdr-codec and xdrgen are not used).
//! Decoding works on a byte slice through [`Reader`]; encoding appends to a
//! [`Writer`]. Types that travel on the wire implement [`Xdr`].
//!
//! # Panic contract
//!
//! Nothing in this module panics on any input, and nothing is allocated from a
//! length read off the wire before that many bytes are known to be present:
//! [`Reader::take`] checks the remaining length first, and variable-length
//! items check their declared bound before taking their bytes. Lists are decoded
//! iteratively with a count cap ([`Reader::list`]), never recursively.
//!
//! Like libtirpc, the reader accepts non-zero padding bytes, strings that are not
//! UTF-8, and enum values outside the declared range (wire enums are newtypes
//! over the raw number, see [`crate::proto`]).

mod bounded;
mod reader;
mod writer;

#[cfg(test)]
mod proptests;

pub use bounded::{Bounded, FixedOpaque};
pub use reader::Reader;
pub use writer::Writer;

use std::fmt;

/// Why a value could not be decoded. Every variant is a property of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdrError {
    /// The input ended early: `need` more bytes were required, `have` were left.
    Truncated { need: usize, have: usize },
    /// A variable-length item declared `len` bytes or items, over its bound `max`.
    TooLong { len: u32, max: u32 },
    /// A boolean was neither 0 nor 1, or a discriminant had no arm.
    BadDiscriminant(u32),
}

impl fmt::Display for XdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XdrError::Truncated { need, have } => {
                write!(f, "truncated: need {need} bytes, {have} left")
            }
            XdrError::TooLong { len, max } => write!(f, "length {len} over the bound {max}"),
            XdrError::BadDiscriminant(d) => write!(f, "unexpected discriminant {d}"),
        }
    }
}

impl std::error::Error for XdrError {}

/// A value with an XDR representation.
///
/// `decode` must leave the reader positioned after the value on success; on
/// failure the reader's position is unspecified (callers discard it).
pub trait Xdr<'a>: Sized {
    /// Appends the XDR representation of `self`.
    fn encode(&self, w: &mut Writer);
    /// Reads one value.
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError>;

    /// Encodes `self` into a fresh buffer.
    fn to_xdr(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_inner()
    }

    /// Decodes one value from the start of `buf`; trailing bytes are ignored,
    /// as libtirpc servers ignore them.
    fn from_xdr(buf: &'a [u8]) -> Result<Self, XdrError> {
        Self::decode(&mut Reader::new(buf))
    }
}

/// Number of zero bytes that pad `len` bytes to a multiple of four.
pub const fn pad_len(len: usize) -> usize {
    (4 - (len % 4)) % 4
}

macro_rules! xdr_scalar {
    ($t:ty, $get:ident, $put:ident) => {
        impl<'a> Xdr<'a> for $t {
            fn encode(&self, w: &mut Writer) {
                w.$put(*self);
            }
            fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
                r.$get()
            }
        }
    };
}

xdr_scalar!(u32, u32, put_u32);
xdr_scalar!(i32, i32, put_i32);
xdr_scalar!(u64, u64, put_u64);
xdr_scalar!(i64, i64, put_i64);
xdr_scalar!(bool, bool, put_bool);

/// Implements [`Xdr`] for a struct whose fields all implement it, encoding and
/// decoding the listed fields in the order given, which must be the order of the
/// RPC-language definition (XDR structs have no tags, only order).
///
/// ```text
/// xdr_struct!(SmStatRes { res_stat, state });
/// ```
macro_rules! xdr_struct {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        impl<'a> $crate::xdr::Xdr<'a> for $name {
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                $( $crate::xdr::Xdr::encode(&self.$field, w); )+
            }
            fn decode(
                r: &mut $crate::xdr::Reader<'a>,
            ) -> Result<Self, $crate::xdr::XdrError> {
                // Struct expression fields are evaluated in the order written.
                Ok($name { $( $field: $crate::xdr::Xdr::decode(r)?, )+ })
            }
        }
    };
}
pub(crate) use xdr_struct;

/// `void`: nothing on the wire.
impl<'a> Xdr<'a> for () {
    fn encode(&self, _w: &mut Writer) {}
    fn decode(_r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(())
    }
}
