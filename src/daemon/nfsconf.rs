//! nfs-utils' configuration file format (`/etc/nfs.conf`, nfs.conf(5)),
//! read the way nfs-utils' `support/nfs/conffile.c` reads it.
//!
//! The parser ([`NfsConf::parse`], [`NfsConf::parse_with`]) is pure: it gets
//! text and, for `include`, a caller-supplied reader. The file-system side
//! ([`load_files`], [`load_system`]) is the last section of this file.
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

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Most `include`s one [`NfsConf::parse_with`] call follows, nested or not.
pub const MAX_INCLUDES: usize = 32;

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
    /// Parses `text`. `include` lines are not followed (each is a warning);
    /// use [`NfsConf::parse_with`] or [`load_files`] for that.
    pub fn parse(text: &str) -> (NfsConf, Vec<ConfWarning>) {
        NfsConf::parse_with(text, Path::new(""), &mut |_| {
            Included::Failed("includes are not read here".into())
        })
    }

    /// Parses `text`, the content of `file` (used to name warnings and to
    /// resolve relative includes), asking `read` for included files.
    pub fn parse_with(
        text: &str,
        file: &Path,
        read: &mut dyn FnMut(&Path) -> Included,
    ) -> (NfsConf, Vec<ConfWarning>) {
        let mut p = Parser {
            conf: NfsConf::default(),
            warnings: Vec::new(),
            read,
            includes_left: MAX_INCLUDES,
        };
        p.text(text, file, None);
        (p.conf, p.warnings)
    }

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

/// glibc `strverscmp(3)` order, which nfs-utils uses (via `versionsort`) to
/// order the files of `nfs.conf.d`: digit runs compare as numbers
/// (`9 < 10`), runs with leading zeros as fractions
/// (`000 < 00 < 01 < 010 < 09 < 0 < 1`). Where glibc would see two strings
/// as equal (only possible with NUL bytes), the shorter comes first, so this
/// is a total order.
pub fn version_cmp(a: &[u8], b: &[u8]) -> Ordering {
    /// What the common prefix ended in.
    #[derive(Clone, Copy)]
    enum State {
        Text,
        Integer,
        Fraction,
        Zeros,
    }
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Class {
        Other,
        Digit,
        Zero,
    }
    let class = |c: Option<&u8>| match c {
        Some(b'0') => Class::Zero,
        Some(c) if c.is_ascii_digit() => Class::Digit,
        _ => Class::Other,
    };
    let mut state = State::Text;
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i), b.get(i)) {
        if x != y {
            break;
        }
        state = match (state, class(Some(x))) {
            (_, Class::Other) => State::Text,
            (State::Text, Class::Digit) => State::Integer,
            (State::Text, Class::Zero) => State::Zeros,
            (State::Integer, _) => State::Integer,
            (State::Fraction, _) | (State::Zeros, Class::Digit) => State::Fraction,
            (State::Zeros, Class::Zero) => State::Zeros,
        };
        i += 1;
    }
    let (x, y) = (a.get(i), b.get(i));
    let plain = || x.cmp(&y);
    let digits = |s: &[u8]| {
        s.get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let longer_run = || digits(a).cmp(&digits(b)).then_with(plain);
    let (cx, cy) = (class(x), class(y));
    match state {
        State::Text if cx == Class::Digit && cy == Class::Digit => longer_run(),
        State::Text | State::Fraction => plain(),
        State::Integer => match (cx, cy) {
            (Class::Other, Class::Other) => plain(),
            (Class::Other, _) => Ordering::Less,
            (_, Class::Other) => Ordering::Greater,
            _ => longer_run(),
        },
        State::Zeros => match (cx, cy) {
            (Class::Other, Class::Other) => plain(),
            (Class::Other, _) => Ordering::Greater,
            (_, Class::Other) => Ordering::Less,
            _ => plain(),
        },
    }
}

fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// C `isspace` in the C locale.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// C `isblank`.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The current `[section "sub"]`; `None` while lines are being ignored.
type Place = Option<(String, Option<String>)>;

struct Parser<'r> {
    conf: NfsConf,
    warnings: Vec<ConfWarning>,
    read: &'r mut dyn FnMut(&Path) -> Included,
    includes_left: usize,
}

impl Parser<'_> {
    fn warn(&mut self, file: &Path, line: Option<usize>, message: impl Into<String>) {
        self.warnings.push(ConfWarning {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    /// Parses one file's text, starting in `place`.
    fn text(&mut self, text: &str, file: &Path, mut place: Place) {
        let text = text.split('\0').next().unwrap_or_default();
        let mut joined = String::new();
        let mut first_line = 1;
        let mut lineno = 0;
        let mut rest = text;
        while let Some((physical, after)) = rest.split_once('\n') {
            rest = after;
            lineno += 1;
            if let Some(head) = physical.strip_suffix('\\') {
                if joined.is_empty() {
                    first_line = lineno;
                }
                joined.push_str(head);
                joined.push_str("  ");
            } else if joined.is_empty() {
                self.line(physical, file, lineno, &mut place);
            } else {
                joined.push_str(physical);
                let line = std::mem::take(&mut joined);
                self.line(&line, file, first_line, &mut place);
            }
        }
        if !rest.is_empty() || !joined.is_empty() {
            let at = if joined.is_empty() {
                lineno + 1
            } else {
                first_line
            };
            self.warn(
                file,
                Some(at),
                "last line has no newline at the end, ignored",
            );
        }
    }

    fn line(&mut self, line: &str, file: &Path, n: usize, place: &mut Place) {
        let line = line.trim_start_matches(is_space);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            return;
        }
        if let Some(header) = line.strip_prefix('[') {
            *place = None;
            match section_header(header) {
                Ok(p) => *place = Some(p),
                Err(e) => self.warn(file, Some(n), format!("{e}, ignoring until next section")),
            }
            return;
        }
        let Some((key, value)) = line.split_once('=') else {
            self.warn(file, Some(n), "line not empty and not an assignment");
            return;
        };
        let Some((section, sub)) = place.clone() else {
            self.warn(file, Some(n), "ignoring line not in a section");
            return;
        };
        let key = key.trim_end_matches(is_blank);
        let Some(value) = assigned_value(value.trim_start_matches(is_blank)) else {
            self.warn(file, Some(n), "unmatched quotes");
            return;
        };
        if key.is_empty() {
            self.warn(file, Some(n), "missing tag in assignment");
        } else if key.eq_ignore_ascii_case("include") {
            self.include(value, file, n, place.clone());
        } else if !value.is_empty() {
            let assignment = Assignment {
                key: key.to_owned(),
                value: value.to_owned(),
                file: file.to_path_buf(),
                line: n,
            };
            self.conf.set(&section, sub.as_deref(), assignment);
        }
    }

    fn include(&mut self, value: &str, file: &Path, n: usize, place: Place) {
        let (optional, name) = match value.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, value),
        };
        if name.is_empty() {
            if !optional {
                self.warn(file, Some(n), "include without a file name");
            }
            return;
        }
        if self.includes_left == 0 {
            self.warn(
                file,
                Some(n),
                format!("more than {MAX_INCLUDES} includes, '{name}' not read"),
            );
            return;
        }
        self.includes_left -= 1;
        let path = match file.parent() {
            Some(dir) if !name.starts_with('/') => dir.join(name),
            _ => PathBuf::from(name),
        };
        match (self.read)(&path) {
            Included::Text(text) => self.text(&text, &path, place),
            Included::Missing if !optional => self.warn(
                file,
                Some(n),
                format!("included file {} does not exist", path.display()),
            ),
            Included::Failed(why) if !optional => self.warn(
                file,
                Some(n),
                format!("cannot read included file {}: {why}", path.display()),
            ),
            Included::Missing | Included::Failed(_) => {}
        }
    }
}

/// `name]…` or `name "sub"]…` (after the `[`).
fn section_header(header: &str) -> Result<(String, Option<String>), &'static str> {
    let header = header.trim_start_matches(is_blank);
    let Some((inner, _)) = header.split_once(']') else {
        return Err("non-matched ']'");
    };
    let inner = inner.trim_end_matches(is_blank);
    match inner.split_once('"') {
        None => Ok((inner.to_owned(), None)),
        Some((name, quoted)) => match quoted.split_once('"') {
            Some((sub, _)) => Ok((
                name.trim_end_matches(is_blank).to_owned(),
                Some(sub.to_owned()),
            )),
            None => Err("non-matched '\"'"),
        },
    }
}

/// The value part of an assignment (leading blanks already gone); `None`
/// for an unterminated quote.
fn assigned_value(raw: &str) -> Option<&str> {
    for quote in ['"', '\''] {
        if let Some(inner) = raw.strip_prefix(quote) {
            return inner.split_once(quote).map(|(v, _)| v);
        }
    }
    let v = raw.split('#').next().unwrap_or_default();
    let v = v.split(';').next().unwrap_or_default();
    Some(v.trim_end_matches(is_space))
}

// ---------------------------------------------------------------------------
// Reading files. Everything above is pure; this is the only file access.

/// The largest configuration file read; bigger ones are refused.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Most files one load reads (main file, `.d` files and includes together).
pub const MAX_FILES: usize = 128;

/// nfs-utils' configuration file.
pub const SYSTEM_FILE: &str = "/etc/nfs.conf";

/// Reads `main` (which must exist), then the `*.conf` files of `dir` (if
/// given; it may be missing) in [`version_cmp`] order of their names; later
/// files win. Only an unreadable `main` is an error; every other problem is
/// a warning.
pub fn load_files(main: &Path, dir: Option<&Path>) -> std::io::Result<(NfsConf, Vec<ConfWarning>)> {
    let mut files_left = MAX_FILES;
    let mut warnings = Vec::new();
    let Some(mut conf) = load_one(main, &mut files_left, &mut warnings)? else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{}: no such file", main.display()),
        ));
    };
    if let Some(dir) = dir {
        conf.merge(load_dir(dir, &mut files_left, &mut warnings));
    }
    Ok((conf, warnings))
}

/// Reads the configuration the way nfs-utils' `conf_init_file(main)` does,
/// where nothing needs to exist: when `main` is under `/etc/`, first
/// `/usr/etc/…` and its `.d` directory (the vendor defaults); then `main`,
/// which if it exists **replaces** everything read so far; then `main.d`.
/// Only a `main` that exists but cannot be read is an error.
pub fn load_system(main: &Path) -> std::io::Result<(NfsConf, Vec<ConfWarning>)> {
    let mut files_left = MAX_FILES;
    let mut warnings = Vec::new();
    let mut conf = NfsConf::default();
    for file in system_files(main) {
        match load_one(&file, &mut files_left, &mut warnings) {
            Ok(Some(c)) => conf = c,
            Ok(None) => {}
            Err(e) if file == main => return Err(e),
            Err(e) => warnings.push(file_warning(&file, e.to_string())),
        }
        conf.merge(load_dir(&dot_d(&file), &mut files_left, &mut warnings));
    }
    Ok((conf, warnings))
}

/// The files [`load_system`] reads, in order (each followed by its `.d`).
pub fn system_files(main: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(rest) = main.strip_prefix("/etc") {
        files.push(Path::new("/usr/etc").join(rest));
    }
    files.push(main.to_path_buf());
    files
}

/// `<file>.d`.
fn dot_d(file: &Path) -> PathBuf {
    let mut d = file.as_os_str().to_owned();
    d.push(".d");
    PathBuf::from(d)
}

/// Reads and parses one file with its includes; `Ok(None)` if it is missing.
fn load_one(
    file: &Path,
    files_left: &mut usize,
    warnings: &mut Vec<ConfWarning>,
) -> std::io::Result<Option<NfsConf>> {
    let text = match read_text(file)? {
        Some(t) => t,
        None => return Ok(None),
    };
    *files_left = files_left.saturating_sub(1);
    let mut read = |path: &Path| {
        if *files_left == 0 {
            return Included::Failed(format!("more than {MAX_FILES} files"));
        }
        *files_left -= 1;
        match read_text(path) {
            Ok(Some(t)) => Included::Text(t),
            Ok(None) => Included::Missing,
            Err(e) => Included::Failed(e.to_string()),
        }
    };
    let (conf, w) = NfsConf::parse_with(&text, file, &mut read);
    warnings.extend(w);
    Ok(Some(conf))
}

/// The `*.conf` files of `dir` merged in order; a missing `dir` is empty.
fn load_dir(dir: &Path, files_left: &mut usize, warnings: &mut Vec<ConfWarning>) -> NfsConf {
    use std::os::unix::ffi::OsStrExt;
    let mut conf = NfsConf::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return conf,
        Err(e) => {
            warnings.push(file_warning(dir, e.to_string()));
            return conf;
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                warnings.push(file_warning(dir, e.to_string()));
                continue;
            }
        };
        let name = entry.file_name();
        let b = name.as_bytes();
        let usable = entry
            .file_type()
            .map(|t| t.is_file() || t.is_symlink())
            .unwrap_or(false);
        if usable && !b.starts_with(b".") && b.len() > ".conf".len() && b.ends_with(b".conf") {
            names.push(name);
        }
    }
    names.sort_by(|a, b| version_cmp(a.as_bytes(), b.as_bytes()));
    for name in names {
        let path = dir.join(name);
        if *files_left == 0 {
            let why = format!("more than {MAX_FILES} files, not read");
            warnings.push(file_warning(&path, why));
            continue;
        }
        match load_one(&path, files_left, warnings) {
            Ok(Some(c)) => conf.merge(c),
            Ok(None) => {}
            Err(e) => warnings.push(file_warning(&path, e.to_string())),
        }
    }
    conf
}

fn file_warning(file: &Path, message: String) -> ConfWarning {
    ConfWarning {
        file: file.to_path_buf(),
        line: None,
        message,
    }
}

/// The file as text (invalid UTF-8 replaced), under a shared `flock` as
/// nfs-utils reads it (its `nfsconf --set` rewrites under an exclusive one);
/// `Ok(None)` if it does not exist.
fn read_text(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(text: &str) -> (NfsConf, Vec<ConfWarning>) {
        NfsConf::parse(text)
    }

    fn lines_warned(w: &[ConfWarning]) -> Vec<usize> {
        w.iter().filter_map(|w| w.line).collect()
    }

    #[test]
    fn sections_keys_and_values() {
        let (c, w) = parse(
            "# comment\n; another\n\n[statd]\n  port = 662\nname=host.example\n\
             [Sm-Notify]\n\tretry-time\t=\t10\t\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.get("statd", "port"), Some("662"));
        assert_eq!(c.get("statd", "name"), Some("host.example"));
        assert_eq!(c.get("sm-notify", "retry-time"), Some("10"));
        assert_eq!(c.get("statd", "retry-time"), None);
    }

    #[test]
    fn names_are_case_insensitive_values_are_not() {
        let (c, _) = parse("[STATD]\nHA-Callout = /Bin/X\n");
        assert_eq!(c.get("statd", "ha-callout"), Some("/Bin/X"));
        assert_eq!(c.get("Statd", "HA-CALLOUT"), Some("/Bin/X"));
    }

    #[test]
    fn trailing_comments_and_quotes() {
        let (c, w) = parse(
            "[s]\na = 1 # one\nb = x;y\nc = \"q # not ; comment\" rest\nd = 'single' x\n\
             e=#only comment\nf = \"\"\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.get("s", "a"), Some("1"));
        assert_eq!(c.get("s", "b"), Some("x"));
        assert_eq!(c.get("s", "c"), Some("q # not ; comment"));
        assert_eq!(c.get("s", "d"), Some("single"));
        assert_eq!(c.get("s", "e"), None, "empty value is ignored");
        assert_eq!(c.get("s", "f"), None);
    }

    #[test]
    fn empty_value_does_not_clear_and_later_wins() {
        let (c, _) = parse("[s]\nk = 1\nk =\nk = 2\nk = \n");
        assert_eq!(c.get("s", "k"), Some("2"));
    }

    #[test]
    fn subsections_are_separate() {
        let (c, w) = parse("[exports]\nrootdir=/a\n[ exports \"Sub One\" ] junk\nrootdir = /b\n");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.get("exports", "rootdir"), Some("/a"));
        assert_eq!(c.get_sub("exports", "sub one", "rootdir"), Some("/b"));
        assert_eq!(c.get_sub("exports", "other", "rootdir"), None);
    }

    #[test]
    fn bad_lines_are_warnings_with_line_numbers() {
        let (c, w) = parse(
            "k = outside\n[s]\ngarbage\n= v\nq = \"open\n[broken\nx = 1\n\
             [t \"open]\ny = 2\n[u]\nz = 3\n",
        );
        assert_eq!(lines_warned(&w), vec![1, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(c.get("s", "x"), None);
        assert_eq!(c.get("t", "y"), None);
        assert_eq!(c.get("u", "z"), Some("3"));
        assert!(w[0].to_string().starts_with("line 1: "), "{}", w[0]);
    }

    #[test]
    fn continuation_lines_join() {
        let (c, w) = parse("[s]\nk = a\\\nb\nbad\n");
        assert_eq!(c.get("s", "k"), Some("a  b"));
        assert_eq!(lines_warned(&w), vec![4]);
        let (c, _) = parse("[s]\\\n\nk = 1\n");
        assert_eq!(c.get("s", "k"), Some("1"));
    }

    #[test]
    fn unterminated_last_line_is_ignored() {
        let (c, w) = parse("[s]\na = 1\nb = 2");
        assert_eq!(c.get("s", "a"), Some("1"));
        assert_eq!(c.get("s", "b"), None);
        assert_eq!(lines_warned(&w), vec![3]);
        let (c, w) = parse("[s]\na = 1\\\n");
        assert_eq!(c.get("s", "a"), None);
        assert_eq!(lines_warned(&w), vec![2]);
    }

    #[test]
    fn crlf_and_nul() {
        let (c, w) = parse("[s]\r\nk = v\r\n\r\nq = \"x\"\r\n");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.get("s", "k"), Some("v"));
        assert_eq!(c.get("s", "q"), Some("x"));
        let (c, _) = parse("[s]\na = 1\n\0b = 2\n");
        assert_eq!(c.get("s", "a"), Some("1"));
        assert_eq!(c.get("s", "b"), None);
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
    fn includes_inherit_the_section_and_do_not_leak_back() {
        let files: HashMap<PathBuf, &str> = [
            (PathBuf::from("/etc/inc.conf"), "k = inc\n[other]\no = 1\n"),
            (PathBuf::from("/abs/more.conf"), "[m]\nv = 2\n"),
        ]
        .into_iter()
        .collect();
        let mut read = |p: &Path| match files.get(p) {
            Some(t) => Included::Text(t.to_string()),
            None => Included::Missing,
        };
        let (c, w) = NfsConf::parse_with(
            "include = /nowhere\n[s]\nInclude = inc.conf\nafter = yes\n\
             include = -missing.conf\ninclude = /abs/more.conf\ninclude = gone.conf\n",
            Path::new("/etc/nfs.conf"),
            &mut read,
        );
        assert_eq!(c.get("s", "k"), Some("inc"));
        assert_eq!(c.get("other", "o"), Some("1"));
        assert_eq!(c.get("s", "after"), Some("yes"), "section restored");
        assert_eq!(c.get("m", "v"), Some("2"));
        assert_eq!(c.get("s", "include"), None);
        assert_eq!(lines_warned(&w), vec![1, 7]);
        assert!(w[1].to_string().contains("/etc/gone.conf"), "{}", w[1]);
    }

    #[test]
    fn include_loops_are_bounded() {
        let mut reads = 0;
        let mut read = |_: &Path| {
            reads += 1;
            Included::Text("[s]\ninclude = self\ninclude = self\n".into())
        };
        let (_, w) = NfsConf::parse_with(
            "[s]\ninclude = self\n",
            Path::new("/etc/nfs.conf"),
            &mut read,
        );
        assert_eq!(reads, MAX_INCLUDES);
        assert!(!w.is_empty());
        let (_, w) = parse("[s]\ninclude = x\n");
        assert_eq!(lines_warned(&w), vec![2]);
    }

    #[test]
    fn version_order_matches_strverscmp() {
        let sorted = ["000", "00", "01", "010", "09", "0", "1", "9", "10"];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(
                    version_cmp(a.as_bytes(), b.as_bytes()),
                    i.cmp(&j),
                    "{a} vs {b}"
                );
            }
        }
        let mut names = vec!["10-z.conf", "9-a.conf", "a.conf", "09.conf", "1.conf"];
        names.sort_by(|a, b| version_cmp(a.as_bytes(), b.as_bytes()));
        assert_eq!(
            names,
            ["09.conf", "1.conf", "9-a.conf", "10-z.conf", "a.conf"]
        );
        assert_eq!(version_cmp(b"a", b"a\0"), Ordering::Less);
        assert_eq!(version_cmp(b"item#99", b"item#100"), Ordering::Less);
    }

    #[test]
    fn load_files_reads_main_then_dir_in_version_order() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("nfs.conf");
        let dir = tmp.path().join("nfs.conf.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(&main, "[statd]\nport = 1\nname = main\ninclude = -inc\n").unwrap();
        std::fs::write(tmp.path().join("inc"), "debug = all\n").unwrap();
        std::fs::write(dir.join("10-late.conf"), "[statd]\nport = 10\n").unwrap();
        std::fs::write(dir.join("9-early.conf"), "[statd]\nport = 9\nname = nine\n").unwrap();
        std::fs::write(dir.join("zz.conf.bak"), "[statd]\nport = 99\n").unwrap();
        std::fs::write(dir.join(".hidden.conf"), "[statd]\nport = 98\n").unwrap();
        std::fs::write(dir.join(".conf"), "[statd]\nport = 97\n").unwrap();
        std::fs::create_dir(dir.join("sub.conf")).unwrap();
        std::fs::write(dir.join("bad.conf"), "junk\n").unwrap();
        let (c, w) = load_files(&main, Some(&dir)).unwrap();
        assert_eq!(c.get("statd", "port"), Some("10"));
        assert_eq!(c.get("statd", "name"), Some("nine"));
        assert_eq!(c.get("statd", "debug"), Some("all"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].file, dir.join("bad.conf"));

        let (c, _) = load_files(&main, None).unwrap();
        assert_eq!(c.get("statd", "port"), Some("1"));
        assert!(load_files(&tmp.path().join("absent"), Some(&dir)).is_err());
        assert!(load_files(tmp.path(), None).is_err(), "a directory");
        let (c, w) = load_files(&main, Some(&tmp.path().join("absent.d"))).unwrap();
        assert_eq!((c.get("statd", "port"), w.len()), (Some("1"), 0));
    }

    #[test]
    fn load_files_refuses_huge_files() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("nfs.conf");
        let big = vec![b'#'; usize::try_from(MAX_FILE_BYTES).unwrap() + 1];
        std::fs::write(&main, big).unwrap();
        assert!(load_files(&main, None).is_err());
    }

    #[test]
    fn load_system_replaces_vendor_files_with_the_main_one() {
        assert_eq!(
            system_files(Path::new("/etc/nfs.conf")),
            [
                PathBuf::from("/usr/etc/nfs.conf"),
                PathBuf::from("/etc/nfs.conf")
            ]
        );
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("nfs.conf");
        assert_eq!(system_files(&main), std::slice::from_ref(&main));
        let (c, w) = load_system(&main).unwrap();
        assert_eq!((c, w.len()), (NfsConf::default(), 0), "nothing exists");
        let dir = tmp.path().join("nfs.conf.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("a.conf"), "[statd]\nport = 5\n").unwrap();
        let (c, _) = load_system(&main).unwrap();
        assert_eq!(c.get("statd", "port"), Some("5"));
        std::fs::write(&main, "[statd]\nport = 4\nname = m\n").unwrap();
        let (c, _) = load_system(&main).unwrap();
        assert_eq!(c.get("statd", "port"), Some("5"));
        assert_eq!(c.get("statd", "name"), Some("m"));
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
