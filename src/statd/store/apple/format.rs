//! Apple's `/var/db/statd.status` layout (`rpc.statd/statd.h`, `file.c`) as
//! pure functions. All integers are big-endian.
//!
//! ```text
//! header (256 bytes): u32 state, u32 record count, u32 version "NSM1", 244 zero bytes
//! record:             u16 hi_len = 8 + RNDUP(namelen), u16 monitored, u16 notify,
//!                     u16 namelen, name NUL-terminated and zero-padded,
//!                     RNDUP(n) = (n + 1 + 63) & !63
//! ```
//!
//! Apple persists host names and flags only; the callback registrations live
//! in the lock manager, which registers again when it restarts. The store
//! keeps them in a sidecar file (see `apple_store.rs`).
//!
//! Parsing verifies each record as Apple does (`hi_len <= 72 + 1024`,
//! `namelen <= 1024`, `namelen < hi_len - 8`, name NUL-terminated), but a bad
//! record does not wipe the list: a record whose length field is sound but
//! whose name is not is skipped and the scan goes on; a record whose length
//! cannot be trusted ends the scan, keeping everything before it. Each
//! problem is reported.
//!
//! # Panic contract
//!
//! Nothing here panics, whatever the bytes.

/// Size of the file header.
pub const HEADER_LEN: usize = 256;
/// `fh_version` of the current layout: "NSM1".
pub const VERSION_NSM1: u32 = 0x4E53_4D31;
/// Longest host name.
pub const MAX_NAME: usize = 1024;
/// Name space is allocated in multiples of this.
const NAMEINCR: usize = 64;
/// Fixed part of a record.
const RECORD_FIXED: usize = 8;
/// `sizeof(HostInfo)` in Apple's code: the fixed part plus 64 name bytes.
const SIZEOF_HOSTINFO: usize = RECORD_FIXED + NAMEINCR;

/// Bytes reserved for a name of `namelen` bytes (NUL included).
pub fn rndup(namelen: usize) -> usize {
    (namelen + 1 + NAMEINCR - 1) & !(NAMEINCR - 1)
}

/// One host record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// Host name (no NUL).
    pub name: Vec<u8>,
    /// `hi_monitored`.
    pub monitored: bool,
    /// `hi_notify`: SM_NOTIFY still to be sent.
    pub notify: bool,
}

/// A parsed status file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFile {
    /// `fh_state`.
    pub state: u32,
    /// The records, in file order.
    pub hosts: Vec<HostInfo>,
}

/// What was wrong with a status file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Shorter than the header: nothing usable.
    ShortHeader {
        /// The file's length.
        len: usize,
    },
    /// `fh_version` is not "NSM1" (a legacy v0 file, a "converted" marker or
    /// garbage): the header cannot be trusted.
    BadVersion(u32),
    /// Record `index` is bad but could be stepped over.
    BadRecord {
        /// 0-based record number.
        index: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// Record `index` and everything after it could not be read.
    Truncated {
        /// 0-based record number where reading stopped.
        index: usize,
        /// What is wrong.
        why: &'static str,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::ShortHeader { len } => {
                write!(f, "file is {len} bytes, shorter than its 256-byte header")
            }
            Problem::BadVersion(v) => write!(f, "version {v:#010x} is not NSM1"),
            Problem::BadRecord { index, why } => write!(f, "host record #{index}: {why} (skipped)"),
            Problem::Truncated { index, why } => {
                write!(
                    f,
                    "host record #{index}: {why} (it and any later records lost)"
                )
            }
        }
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Encodes a whole status file: header, then one record per host with the
/// smallest `hi_len` for its name. Names longer than [`MAX_NAME`] or holding
/// a NUL must be refused before they get here ([`check_name`]); such a name
/// is skipped rather than written as a record Apple would reject.
pub fn encode(state: u32, hosts: &[HostInfo]) -> Vec<u8> {
    let hosts: Vec<&HostInfo> = hosts
        .iter()
        .filter(|h| check_name(&h.name).is_ok())
        .collect();
    let mut out = Vec::with_capacity(HEADER_LEN + hosts.len() * SIZEOF_HOSTINFO);
    out.extend_from_slice(&state.to_be_bytes());
    out.extend_from_slice(&(hosts.len() as u32).to_be_bytes());
    out.extend_from_slice(&VERSION_NSM1.to_be_bytes());
    out.resize(HEADER_LEN, 0);
    for h in hosts {
        let room = rndup(h.name.len());
        out.extend_from_slice(&((RECORD_FIXED + room) as u16).to_be_bytes());
        out.extend_from_slice(&u16::from(h.monitored).to_be_bytes());
        out.extend_from_slice(&u16::from(h.notify).to_be_bytes());
        out.extend_from_slice(&(h.name.len() as u16).to_be_bytes());
        out.extend_from_slice(&h.name);
        out.resize(out.len() + room - h.name.len(), 0);
    }
    out
}

/// Whether `name` fits a record: 1..=1024 bytes, no NUL.
pub fn check_name(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("empty host name")
    } else if name.len() > MAX_NAME {
        Err("host name longer than 1024 bytes")
    } else if name.contains(&0) {
        Err("NUL in host name")
    } else {
        Ok(())
    }
}

/// Parses a status file. `Err` when the header is unusable (no record can
/// be trusted); otherwise the readable records and the problems met.
/// Bytes after the last counted record are ignored, as Apple truncates them.
pub fn parse(bytes: &[u8]) -> Result<(StatusFile, Vec<Problem>), Problem> {
    let (Some(state), Some(count), Some(version)) =
        (be32(bytes, 0), be32(bytes, 4), be32(bytes, 8))
    else {
        return Err(Problem::ShortHeader { len: bytes.len() });
    };
    if bytes.len() < HEADER_LEN {
        return Err(Problem::ShortHeader { len: bytes.len() });
    }
    if version != VERSION_NSM1 {
        return Err(Problem::BadVersion(version));
    }
    let mut hosts = Vec::new();
    let mut problems = Vec::new();
    let mut off = HEADER_LEN;
    for index in 0..count as usize {
        let (Some(len), Some(mon), Some(notify), Some(namelen)) = (
            be16(bytes, off),
            be16(bytes, off + 2),
            be16(bytes, off + 4),
            be16(bytes, off + 6),
        ) else {
            problems.push(Problem::Truncated {
                index,
                why: "file ends inside the record header",
            });
            break;
        };
        let (len, namelen) = (usize::from(len), usize::from(namelen));
        if len > SIZEOF_HOSTINFO + MAX_NAME || len <= RECORD_FIXED {
            problems.push(Problem::Truncated {
                index,
                why: "bogus record length",
            });
            break;
        }
        let Some(record) = bytes.get(off..off + len) else {
            problems.push(Problem::Truncated {
                index,
                why: "file ends inside the record",
            });
            break;
        };
        off += len;
        let name_area = record.get(RECORD_FIXED..).unwrap_or_default();
        let why = if namelen > MAX_NAME {
            Some("bogus name length")
        } else if namelen >= name_area.len() {
            Some("name length exceeds record length")
        } else if name_area.get(namelen) != Some(&0) {
            Some("name not terminated")
        } else if namelen == 0 {
            Some("empty name")
        } else {
            None
        };
        match why {
            Some(why) => problems.push(Problem::BadRecord { index, why }),
            None => hosts.push(HostInfo {
                name: name_area.get(..namelen).unwrap_or_default().to_vec(),
                monitored: mon != 0,
                notify: notify != 0,
            }),
        }
    }
    Ok((StatusFile { state, hosts }, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vec<u8> {
        // statd.md §5.2: state 5, 2 records, the first is "client1".
        let mut v = vec![0, 0, 0, 5, 0, 0, 0, 2, 0x4e, 0x53, 0x4d, 0x31];
        v.resize(256, 0);
        v.extend_from_slice(&[0x00, 0x48, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07]);
        v.extend_from_slice(b"client1\0");
        v.extend_from_slice(&[0; 56]);
        v.extend_from_slice(&[0x00, 0x48, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0a]);
        v.extend_from_slice(b"10.0.0.250\0");
        v.extend_from_slice(&[0; 53]);
        v
    }

    fn example_hosts() -> Vec<HostInfo> {
        vec![
            HostInfo {
                name: b"client1".to_vec(),
                monitored: true,
                notify: false,
            },
            HostInfo {
                name: b"10.0.0.250".to_vec(),
                monitored: false,
                notify: true,
            },
        ]
    }

    #[test]
    fn encodes_the_spec_example_byte_for_byte() {
        assert_eq!(rndup(7), 64);
        assert_eq!(rndup(63), 64);
        assert_eq!(rndup(64), 128);
        let bytes = encode(5, &example_hosts());
        assert_eq!(bytes, example());
        assert_eq!(
            &bytes[256..264],
            &[0x00, 0x48, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07]
        );
    }

    #[test]
    fn parses_the_spec_example() {
        let (file, problems) = parse(&example()).unwrap();
        assert!(problems.is_empty());
        assert_eq!(file.state, 5);
        assert_eq!(file.hosts, example_hosts());
    }

    #[test]
    fn long_names_round_trip() {
        let hosts = vec![HostInfo {
            name: vec![b'x'; 1024],
            monitored: true,
            notify: true,
        }];
        let bytes = encode(7, &hosts);
        assert_eq!(bytes.len(), 256 + 8 + 1088);
        assert_eq!(parse(&bytes).unwrap().0.hosts, hosts);
    }

    #[test]
    fn bad_header_is_fatal() {
        assert_eq!(parse(&[]), Err(Problem::ShortHeader { len: 0 }));
        assert_eq!(
            parse(&example()[..100]),
            Err(Problem::ShortHeader { len: 100 })
        );
        assert_eq!(parse(&[0; 512]), Err(Problem::BadVersion(0)));
    }

    #[test]
    fn bad_name_is_skipped_and_later_records_kept() {
        let mut bytes = example();
        bytes.extend_from_slice(
            &encode(
                0,
                &[HostInfo {
                    name: b"third".to_vec(),
                    monitored: true,
                    notify: false,
                }],
            )[256..],
        );
        bytes[7] = 3;
        bytes[256 + 8 + 7] = b'!'; // "client1" loses its NUL
        let (file, problems) = parse(&bytes).unwrap();
        assert_eq!(
            problems,
            vec![Problem::BadRecord {
                index: 0,
                why: "name not terminated"
            }]
        );
        let names: Vec<_> = file.hosts.iter().map(|h| h.name.clone()).collect();
        assert_eq!(names, vec![b"10.0.0.250".to_vec(), b"third".to_vec()]);
    }

    #[test]
    fn bogus_length_or_truncation_keeps_earlier_records() {
        let mut bytes = example();
        bytes[256 + 72] = 0xff; // second record's hi_len
        let (file, problems) = parse(&bytes).unwrap();
        assert_eq!(file.hosts.len(), 1);
        assert!(matches!(
            problems[..],
            [Problem::Truncated { index: 1, .. }]
        ));

        let bytes = example();
        let (file, problems) = parse(&bytes[..bytes.len() - 10]).unwrap();
        assert_eq!(file.hosts.len(), 1);
        assert!(matches!(
            problems[..],
            [Problem::Truncated { index: 1, .. }]
        ));
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut bytes = example();
        bytes.extend_from_slice(&[0xaa; 100]);
        let (file, problems) = parse(&bytes).unwrap();
        assert!(problems.is_empty());
        assert_eq!(file.hosts.len(), 2);
    }
}
