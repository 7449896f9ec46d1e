//! The line syntax the SAF tables share (`_pmtab`, `/etc/ttydefs`, and our
//! `hdlcdefs` and `hdlclabs`): one entry a line, fields separated by `:`,
//! a `#` outside an escape starting a comment, a backslash making the
//! next character literal (`\:`, `\#`, `\\`). Lines that are empty or
//! start with `#` carry no entry. Blanks around a field are trimmed.

/// A table line split into fields, with its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: usize,
    /// The fields, unescaped and trimmed.
    pub fields: Vec<String>,
    /// The text after an unescaped `#`, if any.
    pub comment: Option<String>,
}

/// The entry lines of `text`, split.
pub fn lines(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#')
        })
        .map(|(i, l)| split(i + 1, l))
        .collect()
}

/// One line split.
fn split(number: usize, line: &str) -> Line {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut comment = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.push(chars.next().unwrap_or('\\')),
            ':' => fields.push(std::mem::take(&mut field).trim().to_string()),
            '#' => {
                comment = Some(chars.as_str().to_string());
                break;
            }
            c => field.push(c),
        }
    }
    fields.push(field.trim().to_string());
    Line {
        number,
        fields,
        comment,
    }
}

/// `field` escaped for a table: `:`, `#` and `\` get a backslash.
pub fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        if matches!(c, ':' | '#' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What the `# VERSION=` line of a table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The version number given.
    Is(u32),
    /// No `# VERSION=` line, or one whose value is not a number.
    Corrupt,
}

/// The version of the table `text` (libadm's `check_version`: the first
/// line starting `# VERSION=`).
pub fn version(text: &str) -> Version {
    text.lines()
        .find_map(|l| l.strip_prefix("# VERSION="))
        .and_then(|v| v.trim().parse().ok())
        .map_or(Version::Corrupt, Version::Is)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_escapes_and_comments() {
        let got = lines("# VERSION=1\n\n  # note\na: b :c\\:d\\#e#the rest: x\nlast\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].number, 4);
        assert_eq!(got[0].fields, ["a", "b", "c:d#e"]);
        assert_eq!(got[0].comment.as_deref(), Some("the rest: x"));
        assert_eq!(got[1].fields, ["last"]);
        assert_eq!(got[1].comment, None);
        assert_eq!(lines("x\\")[0].fields, ["x\\"]);
    }

    #[test]
    fn escape_round_trips() {
        let field = "a:b#c\\d";
        let line = format!("{}:z", escape(field));
        assert_eq!(lines(&line)[0].fields, [field, "z"]);
    }

    #[test]
    fn version_lines() {
        assert_eq!(version("# VERSION=1\nx"), Version::Is(1));
        assert_eq!(version("#c\n# VERSION= 2 \n"), Version::Is(2));
        assert_eq!(version("x\n"), Version::Corrupt);
        assert_eq!(version("# VERSION=\n"), Version::Corrupt);
        assert_eq!(version("# VERSION=one\n"), Version::Corrupt);
    }
}
