//! sihmon's `_pmtab`: the SAF port monitor table, one link a line.
//!
//! ```text
//! svctag:flags:identity:reserved:reserved:reserved:admdev:adjust:ttylab:linklab:cmd#comment
//! ```
//!
//! The first six fields are SAF's (pmadm writes them); the rest is the
//! port-monitor-specific part `sihadm -d … -a … [-l … -k …] [-p …]`
//! formats ([`PmtabEntry::pmspecific`]). `flags` may hold `x` (the link is
//! disabled: its admin device is opened and put in loading mode, nothing
//! more) and `u` (accepted, meaningless here). `adjust` is one of
//! [`Adjust`]'s letters. `cmd` is the loader, split by
//! [`super::super::argv::split`] when it runs; it may be empty (nothing to
//! load).

use super::fields::{self, Line};

/// The longest service tag (as sac's port monitor tags).
pub const MAX_SVCTAG: usize = 14;

/// When the link's line parameters are set (the `adjust` field). The
/// letters are ours: the original list is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Adjust {
    /// `o`: once, when the link is enabled.
    Open,
    /// `l`: before every run of the loader.
    Load,
    /// `n`: never.
    Never,
}

impl Adjust {
    /// The letters `adjust` may be.
    pub const LETTERS: &'static str = "oln";

    /// The field's letter as an `Adjust`.
    pub fn parse(field: &str) -> Option<Adjust> {
        match field {
            "o" => Some(Adjust::Open),
            "l" => Some(Adjust::Load),
            "n" => Some(Adjust::Never),
            _ => None,
        }
    }

    /// The letter.
    pub fn letter(self) -> char {
        match self {
            Adjust::Open => 'o',
            Adjust::Load => 'l',
            Adjust::Never => 'n',
        }
    }
}

/// The port-monitor-specific fields of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Specific {
    /// The link's admin device (absolute, or relative to `/dev`).
    pub admdev: String,
    /// When line parameters are set.
    pub adjust: Adjust,
    /// A `/etc/ttydefs` label ("" for the one `linklab` names, if any).
    pub ttylab: String,
    /// A `hdlclabs` label ("" for none).
    pub linklab: String,
    /// The loader command line ("" for none).
    pub cmd: String,
}

impl Specific {
    /// Checks the fields (`admdev:adjust:ttylab:linklab:cmd`); `Err`
    /// says which is wrong.
    pub fn new(
        admdev: &str,
        adjust: &str,
        ttylab: &str,
        linklab: &str,
        cmd: &str,
    ) -> Result<Specific, String> {
        if admdev.is_empty() {
            return Err("the admin device (admdev) is empty".into());
        }
        let Some(adj) = Adjust::parse(adjust) else {
            return Err(format!(
                "adjust \"{adjust}\" is not one of the letters {}",
                Adjust::LETTERS
            ));
        };
        for (what, label) in [("ttylab", ttylab), ("linklab", linklab)] {
            if label.contains(char::is_whitespace) {
                return Err(format!("{what} \"{label}\" contains a blank"));
            }
        }
        Ok(Specific {
            admdev: admdev.to_string(),
            adjust: adj,
            ttylab: ttylab.to_string(),
            linklab: linklab.to_string(),
            cmd: cmd.to_string(),
        })
    }

    /// The fields as `pmadm -m` takes them, escaped, no newline.
    pub fn pmspecific(&self) -> String {
        [
            fields::escape(&self.admdev),
            self.adjust.letter().to_string(),
            fields::escape(&self.ttylab),
            fields::escape(&self.linklab),
            fields::escape(&self.cmd),
        ]
        .join(":")
    }
}

/// One link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PmtabEntry {
    /// The service tag naming the link.
    pub svctag: String,
    /// Whether the `x` flag is set.
    pub disabled: bool,
    /// The SAF identity field (kept, unused).
    pub identity: String,
    /// The link's own fields.
    pub specific: Specific,
}

/// A table line that was not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub why: String,
}

/// The entries of a `_pmtab`, in file order, and the lines rejected
/// (malformed, or a duplicate svctag: the first one wins).
pub fn parse(text: &str) -> (Vec<PmtabEntry>, Vec<Rejected>) {
    let mut entries: Vec<PmtabEntry> = Vec::new();
    let mut rejected = Vec::new();
    for line in fields::lines(text) {
        match entry(&line) {
            Ok(e) if entries.iter().any(|o| o.svctag == e.svctag) => rejected.push(Rejected {
                line: line.number,
                why: format!("duplicate entry for <{}> ignored", e.svctag),
            }),
            Ok(e) => entries.push(e),
            Err(why) => rejected.push(Rejected {
                line: line.number,
                why,
            }),
        }
    }
    (entries, rejected)
}

fn entry(line: &Line) -> Result<PmtabEntry, String> {
    let f = &line.fields;
    if f.len() != 11 {
        return Err(format!("{} fields, 11 expected", f.len()));
    }
    let svctag = &f[0];
    if svctag.is_empty()
        || svctag.len() > MAX_SVCTAG
        || !svctag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "svctag \"{svctag}\" is not 1 to {MAX_SVCTAG} letters, digits, _ or -"
        ));
    }
    if let Some(bad) = f[1].chars().find(|c| !matches!(c, 'x' | 'u')) {
        return Err(format!("unknown flag '{bad}' (x and u are known)"));
    }
    let specific = Specific::new(&f[6], &f[7], &f[8], &f[9], &f[10])?;
    Ok(PmtabEntry {
        svctag: svctag.clone(),
        disabled: f[1].contains('x'),
        identity: f[2].clone(),
        specific,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAB: &str = "# VERSION=1\n\
        link01::root::::/dev/sih/adm01:o:9600:sw8:/usr/lib/saf/xbload /dev/sih/01#first\n\
        link02:x:root::::adm02:n:::\n\
        link01::root::::/dev/other:o:::\n\
        bad line\n\
        link03:z:root::::adm03:o:::\n\
        link04::root::::adm04:q:::\n\
        this-tag-is-too-long::root::::adm:o:::\n";

    #[test]
    fn entries_and_rejections() {
        let (entries, rejected) = parse(TAB);
        assert_eq!(entries.len(), 2);
        let e = &entries[0];
        assert_eq!(e.svctag, "link01");
        assert!(!e.disabled);
        assert_eq!(e.specific.admdev, "/dev/sih/adm01");
        assert_eq!(e.specific.adjust, Adjust::Open);
        assert_eq!(e.specific.ttylab, "9600");
        assert_eq!(e.specific.linklab, "sw8");
        assert_eq!(e.specific.cmd, "/usr/lib/saf/xbload /dev/sih/01");
        assert!(entries[1].disabled);
        assert_eq!(entries[1].specific.cmd, "");
        let lines: Vec<usize> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8]);
        assert!(rejected[0].why.contains("duplicate"));
        assert!(rejected[1].why.contains("1 fields"));
        assert!(rejected[2].why.contains("flag 'z'"));
        assert!(rejected[3].why.contains("adjust \"q\""));
        assert!(rejected[4].why.contains("svctag"));
    }

    #[test]
    fn pmspecific_round_trips_through_a_line() {
        let s = Specific::new("/dev/a:b", "l", "9600", "", "load -x \"a#b\"").unwrap();
        let line = format!("t1::root::::{}", s.pmspecific());
        let (entries, rejected) = parse(&line);
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(entries[0].specific, s);
        assert!(Specific::new("", "o", "", "", "").is_err());
        assert!(Specific::new("a", "o", "9 6", "", "").is_err());
    }
}
