//! The tables sihmon reads at start and on every `SC_READDB`: its
//! `_pmtab` ([`pmtab`]), `/etc/ttydefs` ([`ttydefs`]), and the HDLC tables
//! `/etc/hdlcdefs` and `/var/sadm/terms/hdlclabs` ([`hdlc`], formats of our
//! own). Each must begin with `# VERSION=` [`VERSION`]; one that cannot be
//! opened or has another version is a [`TableError`] carrying sihmon's
//! exit code (12–15, 16–19). Malformed lines are not errors: they are
//! rejected one by one, and the rejections logged.
//!
//! Parsing is pure ([`Tables::parse`]); [`TableFiles::read`] reads the
//! files (at most [`MAX_TABLE`] bytes each).

pub mod fields;
pub mod hdlc;
pub mod pmtab;
pub mod ttydefs;

use self::hdlc::{HdlcDef, HdlcLab};
use self::pmtab::{PmtabEntry, Rejected, Specific};
use self::ttydefs::TtyDef;
use crate::sihmon::exit::Exit;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// The version every table must carry.
pub const VERSION: u32 = 1;

/// Most bytes of a table read.
pub const MAX_TABLE: u64 = 4 << 20;

/// The four tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The port monitor table.
    Pmtab,
    /// `/var/sadm/terms/hdlclabs`.
    Hdlclabs,
    /// `/etc/hdlcdefs`.
    Hdlcdefs,
    /// `/etc/ttydefs`.
    Ttydefs,
}

impl Kind {
    /// All of them, in the order they are read.
    pub const ALL: [Kind; 4] = [Kind::Pmtab, Kind::Hdlclabs, Kind::Hdlcdefs, Kind::Ttydefs];

    /// The name `sihadm -v` takes.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pmtab => "pmtab",
            Kind::Hdlclabs => "hdlclabs",
            Kind::Hdlcdefs => "hdlcdefs",
            Kind::Ttydefs => "ttydefs",
        }
    }

    /// The table named `name`.
    pub fn by_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn missing(self) -> Exit {
        match self {
            Kind::Pmtab => Exit::NOPMTAB,
            Kind::Hdlclabs => Exit::NOHDLCLABS,
            Kind::Hdlcdefs => Exit::NOHDLCDEFS,
            Kind::Ttydefs => Exit::NOTTYDEFS,
        }
    }

    fn wrong(self) -> Exit {
        match self {
            Kind::Pmtab => Exit::WRPMTAB,
            Kind::Hdlclabs => Exit::WRHDLCLABS,
            Kind::Hdlcdefs => Exit::WRHDLCDEFS,
            Kind::Ttydefs => Exit::WRTTYDEFS,
        }
    }
}

/// A table that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    /// The exit code it means at start.
    pub exit: Exit,
    /// What is wrong, naming the file.
    pub text: String,
}

/// A rejected line of one table, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The table.
    pub kind: Kind,
    /// Line and reason.
    pub rejected: Rejected,
}

/// The parameters a link's line gets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkParams {
    /// The ttydefs label applied, if any.
    pub tty: Option<TtyDef>,
    /// The HDLC parameters, if any.
    pub hdlc: Option<HdlcDef>,
}

/// The tables, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tables {
    /// The links, in pmtab order.
    pub pmtab: Vec<PmtabEntry>,
    /// ttydefs labels.
    pub ttydefs: BTreeMap<String, TtyDef>,
    /// hdlcdefs labels.
    pub hdlcdefs: BTreeMap<String, HdlcDef>,
    /// hdlclabs labels.
    pub hdlclabs: BTreeMap<String, HdlcLab>,
}

impl Tables {
    /// The tables from their texts, in [`Kind::ALL`] order: `Err` for the
    /// first with a wrong or missing version line, else the tables and
    /// the lines rejected.
    pub fn parse(texts: [(&str, &str); 4]) -> Result<(Tables, Vec<Warning>), TableError> {
        for (kind, (name, text)) in Kind::ALL.into_iter().zip(texts) {
            match fields::version(text) {
                fields::Version::Is(VERSION) => {}
                fields::Version::Is(v) => {
                    return Err(TableError {
                        exit: kind.wrong(),
                        text: format!("{name}: version {v}, {VERSION} expected"),
                    })
                }
                fields::Version::Corrupt => {
                    return Err(TableError {
                        exit: kind.wrong(),
                        text: format!("{name}: no \"# VERSION={VERSION}\" line"),
                    })
                }
            }
        }
        let mut warnings = Vec::new();
        let mut note = |kind: Kind, rejected: Vec<Rejected>| {
            warnings.extend(
                rejected
                    .into_iter()
                    .map(|rejected| Warning { kind, rejected }),
            );
        };
        let (pmtab, r) = pmtab::parse(texts[0].1);
        note(Kind::Pmtab, r);
        let (hdlclabs, r) = hdlc::parse_labs(texts[1].1);
        note(Kind::Hdlclabs, r);
        let (hdlcdefs, r) = hdlc::parse_defs(texts[2].1);
        note(Kind::Hdlcdefs, r);
        let (ttydefs, r) = ttydefs::parse(texts[3].1);
        note(Kind::Ttydefs, r);
        Ok((
            Tables {
                pmtab,
                ttydefs,
                hdlcdefs,
                hdlclabs,
            },
            warnings,
        ))
    }

    /// The parameters of a link: its `ttylab`, or else the ttydefs label
    /// of its `linklab`; the HDLC parameters of its `linklab`. `Err` names
    /// a label that is not in its table.
    pub fn params(&self, spec: &Specific) -> Result<LinkParams, String> {
        let mut params = LinkParams::default();
        let mut ttylab = spec.ttylab.as_str();
        if !spec.linklab.is_empty() {
            let lab = self
                .hdlclabs
                .get(&spec.linklab)
                .ok_or_else(|| format!("linklab \"{}\" is not in hdlclabs", spec.linklab))?;
            let def = self.hdlcdefs.get(&lab.hdlcdef).ok_or_else(|| {
                format!(
                    "hdlcdefs label \"{}\" (of linklab \"{}\") is not in hdlcdefs",
                    lab.hdlcdef, lab.label
                )
            })?;
            params.hdlc = Some(def.clone());
            if ttylab.is_empty() {
                ttylab = &lab.ttylab;
            }
        }
        if !ttylab.is_empty() {
            let def = self
                .ttydefs
                .get(ttylab)
                .ok_or_else(|| format!("ttydefs label \"{ttylab}\" is not in ttydefs"))?;
            params.tty = Some(def.clone());
        }
        Ok(params)
    }
}

/// Where the tables are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFiles {
    /// The directory with `_pmtab` (or the seed's `pmtab`): the port
    /// monitor's `/etc/saf/<pmtag>` (its working directory).
    pub pm_dir: PathBuf,
    /// `/var/sadm/terms/hdlclabs`.
    pub hdlclabs: PathBuf,
    /// `/etc/hdlcdefs`.
    pub hdlcdefs: PathBuf,
    /// `/etc/ttydefs`.
    pub ttydefs: PathBuf,
}

impl TableFiles {
    /// The system's tables (under `STATMON_ROOT` when set), with the
    /// port monitor table in `pm_dir`.
    pub fn system(pm_dir: PathBuf) -> TableFiles {
        use crate::daemon::root;
        TableFiles {
            pm_dir,
            hdlclabs: root::path("/var/sadm/terms/hdlclabs"),
            hdlcdefs: root::path("/etc/hdlcdefs"),
            ttydefs: root::path("/etc/ttydefs"),
        }
    }

    /// The port monitor table: `_pmtab` (SVR4's name) if it exists, else
    /// `pmtab` (the seed's).
    pub fn pmtab(&self) -> PathBuf {
        let svr4 = self.pm_dir.join("_pmtab");
        if svr4.exists() {
            svr4
        } else {
            self.pm_dir.join("pmtab")
        }
    }

    /// Reads and parses the four tables.
    pub fn read(&self) -> Result<(Tables, Vec<Warning>), TableError> {
        let paths = [
            self.pmtab(),
            self.hdlclabs.clone(),
            self.hdlcdefs.clone(),
            self.ttydefs.clone(),
        ];
        let mut texts = Vec::with_capacity(4);
        for (kind, path) in Kind::ALL.into_iter().zip(&paths) {
            let text = read_text(path).map_err(|e| TableError {
                exit: kind.missing(),
                text: format!("cannot open {}: {e}", path.display()),
            })?;
            texts.push(text);
        }
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        Tables::parse([
            (&names[0], &texts[0]),
            (&names[1], &texts[1]),
            (&names[2], &texts[2]),
            (&names[3], &texts[3]),
        ])
    }
}

/// A table's text (at most [`MAX_TABLE`] bytes, invalid UTF-8 replaced).
fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TABLE)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PMTAB: &str = "# VERSION=1\nl1::root::::adm1:o:::load\nl2::root::::adm2:o:4800:sw8:\n\
        l3::root::::adm3:o::nolab:\n";
    const LABS: &str = "# VERSION=1\nsw8:sw8:9600\n";
    const DEFS: &str = "# VERSION=1\nsw8:3:7:1000:10:2048\n";
    const TTY: &str = "# VERSION=1\n9600::9600 cs8 cread::\n4800::4800 cs7::\n";

    fn texts<'a>(p: &'a str, l: &'a str, d: &'a str, t: &'a str) -> [(&'a str, &'a str); 4] {
        [
            ("pmtab", p),
            ("hdlclabs", l),
            ("hdlcdefs", d),
            ("ttydefs", t),
        ]
    }

    #[test]
    fn params_resolve_through_the_labels() {
        let (t, warnings) = Tables::parse(texts(PMTAB, LABS, DEFS, TTY)).unwrap();
        assert!(warnings.is_empty());
        let p0 = t.params(&t.pmtab[0].specific).unwrap();
        assert_eq!(p0, LinkParams::default());
        let p1 = t.params(&t.pmtab[1].specific).unwrap();
        assert_eq!(
            p1.tty.unwrap().label,
            "4800",
            "ttylab wins over the linklab's"
        );
        assert_eq!(p1.hdlc.unwrap().address, 3);
        let e = t.params(&t.pmtab[2].specific).unwrap_err();
        assert!(e.contains("nolab"), "{e}");
    }

    #[test]
    fn each_version_error_has_its_exit_code() {
        let cases = [
            (texts("x", LABS, DEFS, TTY), Exit::WRPMTAB),
            (texts(PMTAB, "# VERSION=2\n", DEFS, TTY), Exit::WRHDLCLABS),
            (texts(PMTAB, LABS, "", TTY), Exit::WRHDLCDEFS),
            (texts(PMTAB, LABS, DEFS, "# VERSION=0\n"), Exit::WRTTYDEFS),
        ];
        for (t, exit) in cases {
            assert_eq!(Tables::parse(t).unwrap_err().exit, exit);
        }
    }

    #[test]
    fn files_missing_have_their_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let files = TableFiles {
            pm_dir: p("pm"),
            hdlclabs: p("labs"),
            hdlcdefs: p("defs"),
            ttydefs: p("tty"),
        };
        std::fs::create_dir(p("pm")).unwrap();
        assert_eq!(files.read().unwrap_err().exit, Exit::NOPMTAB);
        std::fs::write(p("pm/pmtab"), PMTAB).unwrap();
        assert_eq!(files.read().unwrap_err().exit, Exit::NOHDLCLABS);
        std::fs::write(p("labs"), LABS).unwrap();
        assert_eq!(files.read().unwrap_err().exit, Exit::NOHDLCDEFS);
        std::fs::write(p("defs"), DEFS).unwrap();
        assert_eq!(files.read().unwrap_err().exit, Exit::NOTTYDEFS);
        std::fs::write(p("tty"), TTY).unwrap();
        assert_eq!(files.read().unwrap().0.pmtab.len(), 3);
        std::fs::write(p("pm/_pmtab"), "# VERSION=1\n").unwrap();
        assert!(
            files.read().unwrap().0.pmtab.is_empty(),
            "_pmtab is preferred"
        );
        assert_eq!(Kind::by_name("hdlcdefs"), Some(Kind::Hdlcdefs));
    }
}
