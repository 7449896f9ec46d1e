//! Database-specs (`path,offset,size`: a region of a disk or a file that
//! holds one database copy) and the voldesc file that lists them.
//!
//! ```text
//! # VERSION=1
//! configid=5f0c...(32 hex digits)
//! db=/var/vold/db0,0,2048
//! db=/dev/sdb5,16,2048
//! ```

use super::record::MAX_SECTORS;
use super::text::parse_sectors;
use std::fmt;
use std::path::{Path, PathBuf};

/// A region holding one database copy; offset and size in sectors.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbSpec {
    /// The disk or file.
    pub path: PathBuf,
    /// Where the region starts, in sectors.
    pub offset: u64,
    /// How long it is, in sectors.
    pub size: u64,
}

impl DbSpec {
    /// Parses `path,offset,size` (units as [`parse_sectors`]; a path
    /// without offset and size is a whole file of [`DEFAULT_SIZE`]
    /// sectors from 0). Relative paths are taken relative to `cwd`.
    pub fn parse(s: &str, cwd: Option<&Path>) -> Result<DbSpec, String> {
        let mut parts = s.rsplitn(3, ',');
        let (path, offset, size) = match (parts.next(), parts.next(), parts.next()) {
            (Some(size), Some(off), Some(path)) => (path, off, size),
            (Some(path), None, None) => (path, "0", ""),
            _ => return Err(format!("{s:?}: expected path,offset,size")),
        };
        if path.is_empty() {
            return Err(format!("{s:?}: no path"));
        }
        let offset = parse_sectors(offset).map_err(|e| format!("{s:?}: offset {e}"))?;
        let size = if size.is_empty() {
            DEFAULT_SIZE
        } else {
            parse_sectors(size).map_err(|e| format!("{s:?}: size {e}"))?
        };
        if size < MIN_SIZE {
            return Err(format!("{s:?}: a copy needs at least {MIN_SIZE} sectors"));
        }
        if offset.checked_add(size).is_none_or(|end| end > MAX_SECTORS) {
            return Err(format!(
                "{s:?}: offset + size is past the largest device ({MAX_SECTORS} sectors)"
            ));
        }
        let path = Path::new(path);
        let path = match cwd {
            Some(cwd) if path.is_relative() => cwd.join(path),
            _ => path.to_path_buf(),
        };
        Ok(DbSpec { path, offset, size })
    }
}

impl fmt::Display for DbSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.path.display(), self.offset, self.size)
    }
}

/// Sectors of a copy named by its path alone (1 MiB).
pub const DEFAULT_SIZE: u64 = 2048;
/// The smallest copy: two header sectors and two one-sector slots.
pub const MIN_SIZE: u64 = 4;

/// A configuration lineage id, chosen by `voladm init`.
pub type ConfigId = [u8; 16];

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 32 hex digits.
pub fn unhex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The voldesc file: the lineage id and the copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voldesc {
    /// The id every copy of this configuration carries.
    pub configid: ConfigId,
    /// The copies, in order.
    pub copies: Vec<DbSpec>,
}

impl Voldesc {
    /// Parses the file; errors name the line.
    pub fn parse(text: &str) -> Result<Voldesc, String> {
        let mut configid = None;
        let mut copies = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some(("configid", v)) => {
                    configid = Some(
                        unhex16(v)
                            .ok_or(format!("line {}: configid is not 32 hex digits", i + 1))?,
                    )
                }
                Some(("db", v)) => {
                    let spec =
                        DbSpec::parse(v, None).map_err(|e| format!("line {}: {e}", i + 1))?;
                    if spec.path.is_relative() {
                        return Err(format!("line {}: {v}: the path must be absolute", i + 1));
                    }
                    copies.push(spec)
                }
                _ => return Err(format!("line {}: expected configid= or db=", i + 1)),
            }
        }
        Ok(Voldesc {
            configid: configid.ok_or("no configid= line")?,
            copies,
        })
    }

    /// The file's text.
    pub fn format(&self) -> String {
        let mut s = format!("# VERSION=1\nconfigid={}\n", hex(&self.configid));
        for c in &self.copies {
            s.push_str(&format!("db={c}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_past_the_largest_device_is_refused() {
        // fuzz/vold_request found this one: 800000080000000000 sectors
        // overflowed the slot's byte count in the commit.
        let e = DbSpec::parse("/o08,000000,0000800000080000000000", None).unwrap_err();
        assert!(e.contains("past the largest device"), "{e}");
        let e = DbSpec::parse(&format!("/d,{MAX_SECTORS},4"), None).unwrap_err();
        assert!(e.contains("past the largest device"), "{e}");
        let edge = DbSpec::parse(&format!("/d,{},4", MAX_SECTORS - 4), None).unwrap();
        assert_eq!(edge.offset + edge.size, MAX_SECTORS);
        assert!(edge.size * 512 > 0 && (edge.offset + edge.size).checked_mul(512).is_some());
    }

    #[test]
    fn specs_parse_with_units_and_relative_paths() {
        let s = DbSpec::parse("db0,1k,1m", Some(Path::new("/var"))).unwrap();
        assert_eq!(s.to_string(), "/var/db0,2,2048");
        let s = DbSpec::parse("/a,b,c/x,8,16", None).unwrap();
        assert_eq!((s.path.to_str(), s.size), (Some("/a,b,c/x"), 16));
        assert_eq!(DbSpec::parse("/x", None).unwrap().size, DEFAULT_SIZE);
        assert!(DbSpec::parse("/x,0,2", None)
            .unwrap_err()
            .contains("at least"));
        assert!(DbSpec::parse(",0,8", None).is_err());
        assert!(DbSpec::parse("/x,q,8", None)
            .unwrap_err()
            .contains("offset"));
    }

    #[test]
    fn voldesc_round_trips_and_rejects_junk() {
        let v = Voldesc {
            configid: [7; 16],
            copies: vec![DbSpec::parse("/a,0,8", None).unwrap()],
        };
        assert_eq!(Voldesc::parse(&v.format()).unwrap(), v);
        assert!(Voldesc::parse("db=/a,0,8\n")
            .unwrap_err()
            .contains("configid"));
        assert!(Voldesc::parse("configid=zz\n")
            .unwrap_err()
            .starts_with("line 1"));
        assert!(Voldesc::parse("configid=07070707070707070707070707070707\ndb=rel,0,8\n").is_err());
    }
}
