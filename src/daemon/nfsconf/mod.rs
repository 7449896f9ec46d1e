//! nfs-utils' configuration file format (`/etc/nfs.conf`, nfs.conf(5)),
//! read the way nfs-utils' `support/nfs/conffile.c` reads it.
//!
//! One job a file:
//! - this file: the value model ([`NfsConf`], [`Assignment`],
//!   [`ConfWarning`], [`Included`]) and nfs-utils' booleans ([`parse_bool`]);
//! - `parser.rs`: the parser ([`NfsConf::parse`], [`NfsConf::parse_with`]).
//!   It is pure: it gets text and, for `include`, a caller-supplied reader;
//! - `version.rs`: the `strverscmp(3)` order of `nfs.conf.d` ([`version_cmp`]);
//! - `load.rs`: the file-system side ([`load_files`], [`load_system`]), the
//!   only file access.
//!
//! The format, as nfs-utils implements it:
//!
//! - A line is a `\n`-terminated run of bytes. A `\` right before the `\n`
//!   joins the next line (both characters become spaces). A last line without
//!   `\n` is ignored, with a warning. Text after a NUL byte is ignored.
//! - Leading white space is skipped; blank lines and lines starting with `#`
//!   or `;` are comments.
//! - `[name]` starts a section, `[name "sub"]` a subsection; blanks after `[`
//!   and before `]` are dropped, text after `]` is ignored. Without `]`, or
//!   with an unterminated `"`, the lines up to the next header are ignored
//!   (nfs-utils would keep the section but drop the subsection on a missing
//!   `"`; we follow its own warning text and ignore them).
//! - `key = value`: split at the first `=`, blanks around both trimmed. A
//!   value in `"…"` or `'…'` is taken verbatim up to the closing quote (the
//!   rest of the line is ignored); an unquoted value ends at the first `#`,
//!   then at the first `;` (trailing comments need no space before them).
//!   An empty value is ignored: it neither sets nor clears the key. A later
//!   assignment of the same key wins.
//! - `include = path` (the key in any case) reads `path`, relative to the
//!   including file's directory, as if it stood there: it starts in the
//!   current section, and its section changes do not leak back. `-path`
//!   makes a missing or unreadable file silent. Like nfs-utils, an `include`
//!   outside any section is ignored.
//! - Section, subsection and key names compare ASCII case-insensitively.
//! - A value `$NAME` stands for the environment variable `NAME` when that is
//!   set and non-empty, else for `NAME` in section `[environment]`
//!   ([`NfsConf::get_expanded`]).
//!
//! Bounds: parsing never panics; its work is linear in the input plus at
//! most [`MAX_INCLUDES`] included texts per parse, so include loops end.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

mod load;
mod parser;
mod version;

pub use load::{load_files, load_system, system_files, MAX_FILES, MAX_FILE_BYTES, SYSTEM_FILE};
pub use parser::MAX_INCLUDES;
pub use version::version_cmp;

/// Most `$NAME` indirections [`NfsConf::get_expanded`] follows.
pub const MAX_EXPANSIONS: usize = 8;

/// A line that was ignored, or a file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfWarning {
    /// The file (empty for text given to [`NfsConf::parse`]).
    pub file: PathBuf,
    /// The 1-based line (of the first physical line of a joined line);
    /// `None` for the file as a whole.
    pub line: Option<usize>,
    /// What was wrong and what was done about it.
    pub message: String,
}

impl fmt::Display for ConfWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match (self.file.as_os_str().is_empty(), self.line) {
            (true, Some(n)) => write!(f, "line {n}: {}", self.message),
            (true, None) => f.write_str(&self.message),
            (false, Some(n)) => write!(f, "{file}:{n}: {}", self.message),
            (false, None) => write!(f, "{file}: {}", self.message),
        }
    }
}

/// What an include reader found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Included {
    /// The file's text.
    Text(String),
    /// No such file.
    Missing,
    /// The file exists but cannot be used; the reason.
    Failed(String),
}

/// Where a value lives: lower-cased section, subsection and key.
type Slot = (String, Option<String>, String);

/// One assignment that is in effect: its value and where it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The key as written (the lookup ignores its case).
    pub key: String,
    /// The value, verbatim (never empty: empty values are not assignments).
    pub value: String,
    /// The file it was read from (empty for text given to
    /// [`NfsConf::parse`]).
    pub file: PathBuf,
    /// The 1-based line (of the first physical line of a joined line).
    pub line: usize,
}

impl Assignment {
    /// `file:line` (or `line N` for text that came from no file), as
    /// [`ConfWarning`] names places.
    pub fn place(&self) -> String {
        if self.file.as_os_str().is_empty() {
            format!("line {}", self.line)
        } else {
            format!("{}:{}", self.file.display(), self.line)
        }
    }
}

/// The assignments of one or more configuration files: for each key, the
/// one in effect (the last made) and where it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NfsConf {
    values: BTreeMap<Slot, Assignment>,
}

impl NfsConf {
    /// The value of `key` in `[section]` (not in a subsection), verbatim.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.lookup(section, None, key)
    }

    /// The value of `key` in `[section "sub"]`, verbatim.
    pub fn get_sub(&self, section: &str, sub: &str, key: &str) -> Option<&str> {
        self.lookup(section, Some(sub), key)
    }

    /// The value of `key` in `[section]` with `$NAME` resolved as nfs-utils
    /// does: `env(NAME)` if that is non-empty, else `NAME` from
    /// `[environment]` (itself possibly `$OTHER`). `None` when the key, or
    /// the name it points to, is unset, or after [`MAX_EXPANSIONS`] hops.
    pub fn get_expanded(
        &self,
        section: &str,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        let mut value = self.get(section, key)?;
        for _ in 0..MAX_EXPANSIONS {
            let Some(name) = value.strip_prefix('$') else {
                return Some(value.to_owned());
            };
            if let Some(v) = env(name).filter(|v| !v.is_empty()) {
                return Some(v);
            }
            value = self.get("environment", name)?;
        }
        None
    }

    /// [`parse_bool`] of the verbatim value: `None` if unset,
    /// `Some(Err(value))` if it is not a boolean.
    pub fn get_bool(&self, section: &str, key: &str) -> Option<Result<bool, &str>> {
        self.get(section, key).map(|v| parse_bool(v).ok_or(v))
    }

    /// Adds `later`'s assignments; where both set a key, `later` wins.
    pub fn merge(&mut self, later: NfsConf) {
        self.values.extend(later.values);
    }

    /// The assignments in effect in `[section]` (not in its subsections),
    /// in key order: one per key, wherever it was last made.
    pub fn assignments(&self, section: &str) -> impl Iterator<Item = &Assignment> {
        let section = fold(section);
        self.values
            .iter()
            .filter(move |((s, sub, _), _)| *s == section && sub.is_none())
            .map(|(_, a)| a)
    }

    /// The warnings for the keys of `[section]` that are not in `known`
    /// (ASCII case-insensitive), one per key, naming where it was set:
    /// `FILE:LINE: unknown key 'KEY' in [SECTION], ignored`.
    pub fn unknown_keys(&self, section: &str, known: &[&str]) -> Vec<ConfWarning> {
        self.assignments(section)
            .filter(|a| !known.iter().any(|k| k.eq_ignore_ascii_case(&a.key)))
            .map(|a| ConfWarning {
                file: a.file.clone(),
                line: Some(a.line),
                message: format!("unknown key '{}' in [{section}], ignored", a.key),
            })
            .collect()
    }

    fn lookup(&self, section: &str, sub: Option<&str>, key: &str) -> Option<&str> {
        let slot = (fold(section), sub.map(fold), fold(key));
        self.values.get(&slot).map(|a| a.value.as_str())
    }

    fn set(&mut self, section: &str, sub: Option<&str>, assignment: Assignment) {
        let slot = (fold(section), sub.map(fold), fold(&assignment.key));
        self.values.insert(slot, assignment);
    }
}

/// nfs-utils' booleans, ASCII case-insensitive: `1 t true y yes on` and
/// `0 f false n no off`; anything else is `None`.
pub fn parse_bool(value: &str) -> Option<bool> {
    const TRUE: &[&str] = &["1", "t", "true", "y", "yes", "on"];
    const FALSE: &[&str] = &["0", "f", "false", "n", "no", "off"];
    let is = |set: &[&str]| set.iter().any(|w| w.eq_ignore_ascii_case(value));
    if is(TRUE) {
        Some(true)
    } else if is(FALSE) {
        Some(false)
    } else {
        None
    }
}

fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn parse(text: &str) -> (NfsConf, Vec<ConfWarning>) {
        NfsConf::parse(text)
    }

    #[test]
    fn names_are_case_insensitive_values_are_not() {
        let (c, _) = parse("[STATD]\nHA-Callout = /Bin/X\n");
        assert_eq!(c.get("statd", "ha-callout"), Some("/Bin/X"));
        assert_eq!(c.get("Statd", "HA-CALLOUT"), Some("/Bin/X"));
    }

    #[test]
    fn booleans() {
        for t in ["1", "t", "TRUE", "y", "Yes", "on"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "F", "false", "n", "NO", "off"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "2", "yess", "enable"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
        let (c, _) = parse("[s]\na = On\nb = maybe\n");
        assert_eq!(c.get_bool("s", "a"), Some(Ok(true)));
        assert_eq!(c.get_bool("s", "b"), Some(Err("maybe")));
        assert_eq!(c.get_bool("s", "c"), None);
    }

    #[test]
    fn dollar_expansion() {
        let (c, _) = parse(
            "[environment]\nHOSTNAME = from-section\nLOOP = $LOOP\nCHAIN = $HOSTNAME\n\
             [statd]\na = $HOSTNAME\nb = $MISSING\nc = $LOOP\nd = $CHAIN\ne = plain\n",
        );
        let none = |_: &str| None;
        let env = |n: &str| (n == "HOSTNAME").then(|| "from-env".to_string());
        let empty = |_: &str| Some(String::new());
        assert_eq!(
            c.get_expanded("statd", "a", &none).as_deref(),
            Some("from-section")
        );
        assert_eq!(
            c.get_expanded("statd", "a", &env).as_deref(),
            Some("from-env")
        );
        assert_eq!(
            c.get_expanded("statd", "a", &empty).as_deref(),
            Some("from-section")
        );
        assert_eq!(c.get_expanded("statd", "b", &none), None);
        assert_eq!(c.get_expanded("statd", "c", &none), None);
        assert_eq!(
            c.get_expanded("statd", "d", &env).as_deref(),
            Some("from-env")
        );
        assert_eq!(c.get_expanded("statd", "e", &env).as_deref(), Some("plain"));
        assert_eq!(c.get("statd", "a"), Some("$HOSTNAME"));
    }

    #[test]
    fn merge_later_wins() {
        let (mut a, _) = parse("[s]\nx = 1\ny = 1\n");
        let (b, _) = parse("[S]\nX = 2\nz = 2\n");
        a.merge(b);
        assert_eq!(a.get("s", "x"), Some("2"));
        assert_eq!(a.get("s", "y"), Some("1"));
        assert_eq!(a.get("s", "z"), Some("2"));
    }

    #[test]
    fn assignments_know_their_file_and_line() {
        let files: HashMap<PathBuf, &str> = [(PathBuf::from("/etc/inc.conf"), "\nPort = 7\n")]
            .into_iter()
            .collect();
        let mut read = |p: &Path| match files.get(p) {
            Some(t) => Included::Text(t.to_string()),
            None => Included::Missing,
        };
        let (c, w) = NfsConf::parse_with(
            "[statd]\nport = 1\nname = a\\\nb\ninclude = inc.conf\n[statd \"x\"]\nq = 1\n",
            Path::new("/etc/nfs.conf"),
            &mut read,
        );
        assert!(w.is_empty(), "{w:?}");
        let got: Vec<_> = c
            .assignments("STATD")
            .map(|a| (a.key.as_str(), a.place()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("name", "/etc/nfs.conf:3".into()),
                ("Port", "/etc/inc.conf:2".into())
            ]
        );
        let (c, _) = parse("[s]\nk = 1\n");
        assert_eq!(c.assignments("s").next().unwrap().place(), "line 2");
    }

    #[test]
    fn unknown_keys_are_named_once_with_their_place() {
        let (mut c, _) = parse("[statd]\nport = 1\nfoo = 2\nFOO = 3\n[lockd]\nbar = 1\n");
        let (later, _) = parse("[statd]\n\nfoo = 4\n");
        c.merge(later);
        let w = c.unknown_keys("statd", &["Port"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(
            w[0].to_string(),
            "line 3: unknown key 'foo' in [statd], ignored"
        );
        let mut w = NfsConf::parse_with(
            "[lockd]\nbar = 1\n",
            Path::new("/etc/nfs.conf"),
            &mut |_| Included::Missing,
        )
        .0
        .unknown_keys("lockd", &["port", "udp-port"]);
        assert_eq!(
            w.pop().unwrap().to_string(),
            "/etc/nfs.conf:2: unknown key 'bar' in [lockd], ignored"
        );
        assert!(c.unknown_keys("lockd", &["bar"]).is_empty());
    }
}
