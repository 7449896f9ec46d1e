//! The nfs.conf parser: text in, [`NfsConf`] and [`ConfWarning`]s out, in
//! the format the module doc describes (lines, continuations, sections,
//! assignments, quotes, trailing comments, `include`).
//!
//! Pure: the only input besides the text is the caller's include reader.
//! Invariants: parsing never panics; an empty value never becomes an
//! assignment; one parse follows at most [`MAX_INCLUDES`] includes, so
//! include loops end and the work stays linear in the input plus the
//! included texts.

use super::{Assignment, ConfWarning, Included, NfsConf};
use std::path::{Path, PathBuf};

/// Most `include`s one [`NfsConf::parse_with`] call follows, nested or not.
pub const MAX_INCLUDES: usize = 32;

impl NfsConf {
    /// Parses `text`. `include` lines are not followed (each is a warning);
    /// use [`NfsConf::parse_with`] or [`load_files`](super::load_files) for that.
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

    /// The fuzz campaign's first finding (fuzz/artifacts/nfsconf/crash-579c…,
    /// 2026-12-03): the target compared `parse` (no file) with `parse_with`
    /// of a file; they differ only in the file each assignment names.
    #[test]
    fn parse_names_no_file_and_parse_with_names_its_own() {
        let text = "\u{82}\u{b8}\u{1e}\n[\\\n\u{2}\n[]\n\u{2}\u{1}\u{1f}9999=99[\n";
        let (plain, _) = NfsConf::parse(text);
        let mut refuse = |_: &Path| Included::Failed("not read".into());
        let (named, _) = NfsConf::parse_with(text, Path::new("/etc/nfs.conf"), &mut refuse);
        let plain: Vec<_> = plain.assignments("").cloned().collect();
        let named: Vec<_> = named.assignments("").cloned().collect();
        assert_eq!(plain.len(), 1, "{plain:?}");
        assert_eq!(plain.len(), named.len());
        for (p, n) in plain.iter().zip(&named) {
            assert_eq!((&p.key, &p.value, p.line), (&n.key, &n.value, n.line));
            assert_eq!(
                (p.file.as_os_str(), n.file.as_path()),
                ("".as_ref(), Path::new("/etc/nfs.conf"))
            );
        }
    }
}
