//! The layout of one database copy inside its region, and the header
//! codec. All integers little-endian; a sector is 512 bytes.
//!
//! ```text
//! sector 0, 1 : headers; the header of generation g lives in sector g % 2
//! then        : two equal slots; the payload of generation g in slot g % 2
//! ```
//!
//! A header (one sector, so a write of it is all or nothing on a disk and
//! a torn write is caught by its CRC):
//!
//! | bytes     | field                                               |
//! |-----------|-----------------------------------------------------|
//! | 0..8      | magic `VOLDDB01`                                    |
//! | 8..12     | format version (1)                                  |
//! | 12..28    | configuration id                                    |
//! | 28..32    | flags: the kernel revision in the kernel's copy     |
//! | 32..40    | generation                                          |
//! | 40..48    | payload length in bytes                             |
//! | 48..52    | CRC-32C of the payload                              |
//! | 52..56    | number of recent transaction ids (≤ 8)              |
//! | 56..248   | recent transactions: 16-byte id, 8-byte generation  |
//! | 508..512  | CRC-32C of bytes 0..508                             |
//!
//! Committing generation g+1 writes its payload into the slot g+1 % 2
//! (which the live header g does not use), syncs, then writes header
//! g+1 into its own sector and syncs. Until that header is whole the
//! copy reads as generation g; after, as g+1. Decoding never panics.

use super::spec::ConfigId;

/// Bytes per sector.
pub const SECTOR: usize = 512;
/// The magic number.
pub const MAGIC: &[u8; 8] = b"VOLDDB01";
/// The format version.
pub const VERSION: u32 = 1;
/// Recent transaction ids kept in each header.
pub const TXIDS: usize = 8;
/// Sectors before the slots.
pub const HEADER_SECTORS: u64 = 2;

/// A transaction id, chosen by the client.
pub type Txid = [u8; 16];

/// One header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The lineage id.
    pub configid: ConfigId,
    /// The kernel revision (in the kernel's copy), else 0.
    pub flags: u32,
    /// The generation: how many changes this configuration has seen.
    pub gen: u64,
    /// Length of the payload in bytes.
    pub payload_len: u64,
    /// CRC-32C of the payload.
    pub payload_crc: u32,
    /// The most recent transactions (oldest first), each with the
    /// generation it made.
    pub txids: Vec<(Txid, u64)>,
}

/// Why a header does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Not our magic number (never written, or another format).
    Magic,
    /// The CRC does not match (a torn write or flipped bits).
    Crc,
    /// A version or count this program does not know.
    Format,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderError::Magic => "Invalid magic number",
            HeaderError::Crc => "header checksum mismatch",
            HeaderError::Format => "Format error in configuration copy",
        })
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl Header {
    /// The header's sector.
    pub fn encode(&self) -> [u8; SECTOR] {
        let mut b = [0u8; SECTOR];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..28].copy_from_slice(&self.configid);
        b[28..32].copy_from_slice(&self.flags.to_le_bytes());
        b[32..40].copy_from_slice(&self.gen.to_le_bytes());
        b[40..48].copy_from_slice(&self.payload_len.to_le_bytes());
        b[48..52].copy_from_slice(&self.payload_crc.to_le_bytes());
        let recent = &self.txids[self.txids.len().saturating_sub(TXIDS)..];
        b[52..56].copy_from_slice(&(recent.len() as u32).to_le_bytes());
        for (i, (id, gen)) in recent.iter().enumerate() {
            let at = 56 + 24 * i;
            b[at..at + 16].copy_from_slice(id);
            b[at + 16..at + 24].copy_from_slice(&gen.to_le_bytes());
        }
        let crc = crc32c(&b[..508]);
        b[508..512].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a header sector (`b` shorter than a sector is a format
    /// error).
    pub fn decode(b: &[u8]) -> Result<Header, HeaderError> {
        if b.len() < SECTOR {
            return Err(HeaderError::Format);
        }
        if &b[0..8] != MAGIC {
            return Err(HeaderError::Magic);
        }
        if crc32c(&b[..508]) != u32_at(b, 508) {
            return Err(HeaderError::Crc);
        }
        let n = u32_at(b, 52) as usize;
        if u32_at(b, 8) != VERSION || n > TXIDS {
            return Err(HeaderError::Format);
        }
        let mut configid = [0u8; 16];
        configid.copy_from_slice(&b[12..28]);
        let txids = (0..n)
            .map(|i| {
                let at = 56 + 24 * i;
                let mut id = [0u8; 16];
                id.copy_from_slice(&b[at..at + 16]);
                (id, u64_at(b, at + 16))
            })
            .collect();
        Ok(Header {
            configid,
            flags: u32_at(b, 28),
            gen: u64_at(b, 32),
            payload_len: u64_at(b, 40),
            payload_crc: u32_at(b, 48),
            txids,
        })
    }

    /// The generation transaction `id` made, if it is among the recent.
    pub fn committed(&self, id: &Txid) -> Option<u64> {
        self.txids.iter().find(|(t, _)| t == id).map(|(_, g)| *g)
    }
}

/// Bytes of one slot in a region of `size` sectors.
pub fn slot_bytes(size: u64) -> u64 {
    (size.saturating_sub(HEADER_SECTORS) / 2) * SECTOR as u64
}

/// Byte offset (from the region's start) of the header of generation
/// `gen`.
pub fn header_at(gen: u64) -> u64 {
    (gen % 2) * SECTOR as u64
}

/// Byte offset (from the region's start) of the slot of generation
/// `gen`.
pub fn slot_at(size: u64, gen: u64) -> u64 {
    HEADER_SECTORS * SECTOR as u64 + (gen % 2) * slot_bytes(size)
}

/// CRC-32C (Castagnoli), bitwise over a 256-entry table built at
/// compile time.
pub fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            configid: [3; 16],
            flags: 0,
            gen: 9,
            payload_len: 100,
            payload_crc: 0xdead_beef,
            txids: (0..10u8).map(|i| ([i; 16], u64::from(i))).collect(),
        }
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn headers_round_trip_keeping_the_eight_newest_txids() {
        let h = header();
        let back = Header::decode(&h.encode()).unwrap();
        assert_eq!(back.txids.len(), TXIDS);
        assert_eq!(back.committed(&[9; 16]), Some(9));
        assert_eq!(back.committed(&[0; 16]), None);
        assert_eq!(back.gen, 9);
    }

    #[test]
    fn damage_is_told_apart() {
        let mut b = header().encode();
        b[40] ^= 1;
        assert_eq!(Header::decode(&b), Err(HeaderError::Crc));
        assert_eq!(Header::decode(&[0; SECTOR]), Err(HeaderError::Magic));
        assert_eq!(Header::decode(&b[..100]), Err(HeaderError::Format));
    }

    #[test]
    fn generations_alternate_headers_and_slots() {
        assert_eq!((header_at(4), header_at(5)), (0, 512));
        assert_eq!(slot_bytes(10), 4 * 512);
        assert_eq!((slot_at(10, 4), slot_at(10, 5)), (1024, 1024 + 2048));
    }
}
