//! The configuration records (volumes, plexes, subdisks) and the rules a
//! configuration must keep at every commit ([`Config::check`]).
//!
//! Lengths and offsets are in 512-byte sectors. Associations are kept on
//! both sides (`Plex::vol` and `Volume::plex`, `Subdisk::plex` and
//! `Plex::sd`); [`Config::check`] insists that they agree.

use std::collections::BTreeMap;
use std::fmt;

/// Bytes per sector.
pub const SECTOR: u64 = 512;
/// The last sector a region may reach: its byte offset still fits the
/// signed 64-bit file offsets of the system calls (`off_t`), so no byte
/// count computed from a record or a database-spec overflows.
pub const MAX_SECTORS: u64 = i64::MAX as u64 / SECTOR;
/// Longest record name.
pub const MAX_NAME: usize = 31;
/// Most plexes of one volume.
pub const MAX_PLEXES: usize = 32;

/// The three record types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `sd`: a region of a disk or file.
    Subdisk,
    /// `plex`: subdisks laid end to end.
    Plex,
    /// `vol`: one or more plexes holding the same data.
    Volume,
}

impl Kind {
    /// The keyword of the description format.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Subdisk => "sd",
            Kind::Plex => "plex",
            Kind::Volume => "vol",
        }
    }

    /// The kind named by a keyword (`sd`, `plex`, `vol`; `subdisk` and
    /// `volume` too).
    pub fn from_keyword(word: &str) -> Option<Kind> {
        match word {
            "sd" | "subdisk" => Some(Kind::Subdisk),
            "plex" => Some(Kind::Plex),
            "vol" | "volume" => Some(Kind::Volume),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Whether `name` is a valid record name: 1 to 31 bytes of
/// `[A-Za-z0-9._-]`, not starting with `-` or `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with(['-', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A subdisk: `len` sectors of `path` from sector `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subdisk {
    /// The disk or file.
    pub path: String,
    /// Where the subdisk starts on `path`, in sectors.
    pub offset: u64,
    /// Its length, in sectors.
    pub len: u64,
    /// The plex it belongs to.
    pub plex: Option<String>,
    /// Where it starts inside its plex, in sectors.
    pub plex_offset: u64,
    /// Free text.
    pub comment: String,
}

/// A plex: subdisks concatenated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plex {
    /// The volume it belongs to.
    pub vol: Option<String>,
    /// Its subdisks, in plex order.
    pub sd: Vec<String>,
    /// `EMPTY`, `CLEAN`, `ACTIVE`, `STALE`, `OFFLINE` or `IOFAIL`.
    pub state: String,
    /// Free text.
    pub comment: String,
}

/// A volume: what `/dev/vol/NAME` gives access to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The usage type (`gen`, `fsgen`).
    pub usetype: String,
    /// Its length, in sectors.
    pub len: u64,
    /// Its plexes.
    pub plex: Vec<String>,
    /// `EMPTY`, `CLEAN`, `ACTIVE`, `SYNC` or `NEEDSYNC`.
    pub state: String,
    /// Owner of its device nodes (a user name or uid).
    pub user: String,
    /// Group of its device nodes (a group name or gid).
    pub group: String,
    /// Permission bits of its device nodes.
    pub mode: u32,
    /// Free text.
    pub comment: String,
}

impl Default for Volume {
    fn default() -> Volume {
        Volume {
            usetype: "gen".into(),
            len: 0,
            plex: Vec::new(),
            state: "EMPTY".into(),
            user: "root".into(),
            group: "root".into(),
            mode: 0o600,
            comment: String::new(),
        }
    }
}

/// A whole configuration: every record, by type and name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Subdisks by name.
    pub sd: BTreeMap<String, Subdisk>,
    /// Plexes by name.
    pub plex: BTreeMap<String, Plex>,
    /// Volumes by name.
    pub vol: BTreeMap<String, Volume>,
}

impl Config {
    /// Whether a record of `kind` named `name` exists.
    pub fn has(&self, kind: Kind, name: &str) -> bool {
        match kind {
            Kind::Subdisk => self.sd.contains_key(name),
            Kind::Plex => self.plex.contains_key(name),
            Kind::Volume => self.vol.contains_key(name),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.sd.len() + self.plex.len() + self.vol.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every violated rule, one message each (empty: the configuration
    /// may be committed).
    pub fn check(&self) -> Vec<String> {
        let mut errs = Vec::new();
        for (kind, names) in [
            (Kind::Subdisk, self.sd.keys().collect::<Vec<_>>()),
            (Kind::Plex, self.plex.keys().collect()),
            (Kind::Volume, self.vol.keys().collect()),
        ] {
            for n in names.into_iter().filter(|n| !valid_name(n)) {
                errs.push(format!("{kind} {n:?}: invalid name"));
            }
        }
        self.check_subdisks(&mut errs);
        self.check_plexes(&mut errs);
        self.check_volumes(&mut errs);
        errs
    }

    fn check_subdisks(&self, errs: &mut Vec<String>) {
        let mut by_path: BTreeMap<&str, Vec<(u64, u64, &str)>> = BTreeMap::new();
        for (name, sd) in &self.sd {
            if sd.path.is_empty() {
                errs.push(format!("sd {name}: no path"));
            }
            if sd.len == 0 {
                errs.push(format!("sd {name}: length is zero"));
            }
            match sd.offset.checked_add(sd.len).filter(|e| *e <= MAX_SECTORS) {
                Some(end) => by_path
                    .entry(&sd.path)
                    .or_default()
                    .push((sd.offset, end, name)),
                None => errs.push(format!(
                    "sd {name}: offset + len is past the largest device ({MAX_SECTORS} sectors)"
                )),
            }
            if let Some(p) = &sd.plex {
                match self.plex.get(p) {
                    None => errs.push(format!("sd {name}: plex {p} does not exist")),
                    Some(plex) if !plex.sd.contains(name) => {
                        errs.push(format!("sd {name}: plex {p} does not list it"))
                    }
                    Some(_) => {}
                }
            }
        }
        for (path, mut spans) in by_path {
            spans.sort();
            for w in spans.windows(2) {
                if w[1].0 < w[0].1 {
                    errs.push(format!("sd {} and sd {} overlap on {path}", w[0].2, w[1].2));
                }
            }
        }
    }

    fn check_plexes(&self, errs: &mut Vec<String>) {
        for (name, plex) in &self.plex {
            let mut at = 0u64;
            for (i, s) in plex.sd.iter().enumerate() {
                if plex.sd[..i].contains(s) {
                    errs.push(format!("plex {name}: sd {s} listed twice"));
                    continue;
                }
                match self.sd.get(s) {
                    None => errs.push(format!("plex {name}: sd {s} does not exist")),
                    Some(sd) if sd.plex.as_deref() != Some(name.as_str()) => {
                        errs.push(format!("plex {name}: sd {s} belongs to another plex"))
                    }
                    Some(sd) => {
                        if sd.plex_offset != at {
                            errs.push(format!(
                                "plex {name}: sd {s} starts at {} but the plex is {at} long before it",
                                sd.plex_offset
                            ));
                        }
                        at = sd.plex_offset.saturating_add(sd.len);
                    }
                }
            }
            if let Some(v) = &plex.vol {
                match self.vol.get(v) {
                    None => errs.push(format!("plex {name}: vol {v} does not exist")),
                    Some(vol) if !vol.plex.contains(name) => {
                        errs.push(format!("plex {name}: vol {v} does not list it"))
                    }
                    Some(_) => {}
                }
            }
        }
    }

    fn check_volumes(&self, errs: &mut Vec<String>) {
        for (name, vol) in &self.vol {
            if vol.plex.len() > MAX_PLEXES {
                errs.push(format!("vol {name}: more than {MAX_PLEXES} plexes"));
            }
            if vol.mode > 0o7777 {
                errs.push(format!(
                    "vol {name}: mode {:o} is not a permission",
                    vol.mode
                ));
            }
            for (i, p) in vol.plex.iter().enumerate() {
                if vol.plex[..i].contains(p) {
                    errs.push(format!("vol {name}: plex {p} listed twice"));
                    continue;
                }
                match self.plex.get(p) {
                    None => errs.push(format!("vol {name}: plex {p} does not exist")),
                    Some(plex) if plex.vol.as_deref() != Some(name.as_str()) => {
                        errs.push(format!("vol {name}: plex {p} belongs to another volume"))
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// The length of plex `name` (the end of its last subdisk).
    pub fn plex_len(&self, name: &str) -> u64 {
        self.plex.get(name).map_or(0, |p| {
            p.sd.iter()
                .filter_map(|s| self.sd.get(s))
                .map(|sd| sd.plex_offset.saturating_add(sd.len))
                .max()
                .unwrap_or(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One volume over one plex over one subdisk.
    pub(crate) fn simple() -> Config {
        let mut c = Config::default();
        c.sd.insert(
            "d1-01".into(),
            Subdisk {
                path: "/tmp/disk".into(),
                offset: 8,
                len: 64,
                plex: Some("v1-01".into()),
                ..Subdisk::default()
            },
        );
        c.plex.insert(
            "v1-01".into(),
            Plex {
                vol: Some("v1".into()),
                sd: vec!["d1-01".into()],
                state: "ACTIVE".into(),
                ..Plex::default()
            },
        );
        c.vol.insert(
            "v1".into(),
            Volume {
                len: 64,
                plex: vec!["v1-01".into()],
                ..Volume::default()
            },
        );
        c
    }

    #[test]
    fn a_consistent_configuration_passes() {
        assert_eq!(simple().check(), Vec::<String>::new());
        assert_eq!(simple().plex_len("v1-01"), 64);
    }

    #[test]
    fn one_sided_associations_and_overlaps_are_named() {
        let mut c = simple();
        c.vol.get_mut("v1").unwrap().plex.clear();
        c.sd.insert(
            "d1-02".into(),
            Subdisk {
                path: "/tmp/disk".into(),
                offset: 70,
                len: 10,
                ..Subdisk::default()
            },
        );
        let errs = c.check().join("\n");
        assert!(
            errs.contains("plex v1-01: vol v1 does not list it"),
            "{errs}"
        );
        assert!(errs.contains("sd d1-01 and sd d1-02 overlap"), "{errs}");
    }

    #[test]
    fn a_subdisk_past_the_largest_device_is_named() {
        let mut c = simple();
        let sd = c.sd.get_mut("d1-01").unwrap();
        sd.offset = MAX_SECTORS - 64;
        assert_eq!(c.check(), Vec::<String>::new(), "ends on the last sector");
        c.sd.get_mut("d1-01").unwrap().offset = MAX_SECTORS - 63;
        let errs = c.check().join("\n");
        assert!(
            errs.contains("sd d1-01: offset + len is past the largest device"),
            "{errs}"
        );
        c.sd.get_mut("d1-01").unwrap().offset = u64::MAX;
        assert!(c.check().join("\n").contains("past the largest device"));
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("vol01-01"));
        assert!(!valid_name(""));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(&"x".repeat(32)));
    }
}
