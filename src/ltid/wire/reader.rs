//! [`Reader`]: a cursor over a frame's fields. Every read checks that the
//! bytes are there (`split_at_checked`) and returns [`WireError::Short`]
//! otherwise; nothing here panics.

use super::{WireError, MAX_STR};

/// A cursor over a frame's fields.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(WireError::Short)?;
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(super) fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&mut self) -> Result<u64, WireError> {
        let hi = u64::from(self.u32()?);
        let lo = u64::from(self.u32()?);
        Ok(hi << 32 | lo)
    }

    pub(super) fn flag(&mut self) -> Result<bool, WireError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(WireError::BadFlag(b)),
        }
    }

    pub(super) fn string(&mut self) -> Result<String, WireError> {
        let n = usize::from(self.u16()?);
        if n > MAX_STR {
            return Err(WireError::BadString);
        }
        utf8(self.take(n)?)
    }

    pub(super) fn long_string(&mut self) -> Result<String, WireError> {
        let n = usize::try_from(self.u32()?).map_err(|_| WireError::Short)?;
        utf8(self.take(n)?)
    }

    pub(super) fn finish(&self) -> Result<(), WireError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, WireError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| WireError::BadString)
}
