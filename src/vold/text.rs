//! The description format of volmake(4): what `volmake -d` reads,
//! `volprint -m` prints, and each database copy holds.
//!
//! ```text
//! # comment (at the start of a line or after a blank)
//! sd disk01-01 path=/dev/sdb offset=0
//!     len=2048 plex=vol01-01
//! plex vol01-01 sd=disk01-01 vol=vol01
//! vol vol01 len=2048 plex=vol01-01 mode=0640 comment="home of the logs"
//! ```
//!
//! A record starts with its type keyword (`sd`, `plex`, `vol`) and name at
//! the start of a line; `field=value` pairs follow on that line and on
//! continuation lines (starting with a blank). A value with blanks is
//! double-quoted (`\"` and `\\` inside). Lists are comma-separated.
//! Numbers are sectors, or bytes with a suffix (`b` 512-byte blocks, `k`
//! KiB, `m` MiB, `s` sectors; a `0` prefix on `mode` means octal).
//!
//! Parsing never panics; every error names its line.

use super::record::{Config, Kind, Plex, Subdisk, Volume, SECTOR};
use std::fmt::Write;

/// One record as written: its type, name and fields in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The record type.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// `field=value` pairs, as written.
    pub fields: Vec<(String, String)>,
    /// The line it starts on (1-based).
    pub line: usize,
}

/// Splits a line into words, honouring double quotes; stops at a `#`
/// that starts a word.
fn words(line: &str, lineno: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(out),
            Some(_) => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c != '"' {
                word.push(c);
                continue;
            }
            loop {
                match chars.next() {
                    None => return Err(format!("line {lineno}: unterminated quote")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e) => word.push(e),
                        None => return Err(format!("line {lineno}: unterminated quote")),
                    },
                    Some(c) => word.push(c),
                }
            }
        }
        out.push(word);
    }
}

/// Parses a description into records, in order.
pub fn parse(text: &str) -> Result<Vec<Described>, String> {
    let mut out: Vec<Described> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let continued = line.starts_with([' ', '\t']);
        let mut ws = words(line, lineno)?.into_iter();
        let Some(first) = ws.next() else { continue };
        let fields_of = |ws: std::vec::IntoIter<String>| -> Result<Vec<(String, String)>, String> {
            ws.map(|w| match w.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                _ => Err(format!("line {lineno}: {w:?} is not field=value")),
            })
            .collect()
        };
        if continued {
            let Some(rec) = out.last_mut() else {
                return Err(format!(
                    "line {lineno}: a continuation line before any record"
                ));
            };
            let mut all = vec![first];
            all.extend(ws);
            rec.fields.extend(fields_of(all.into_iter())?);
            continue;
        }
        let kind = Kind::from_keyword(&first).ok_or_else(|| {
            format!("line {lineno}: unknown record type {first:?} (sd, plex or vol)")
        })?;
        let name = ws
            .next()
            .ok_or_else(|| format!("line {lineno}: {first} without a name"))?;
        out.push(Described {
            kind,
            name,
            fields: fields_of(ws)?,
            line: lineno,
        });
    }
    Ok(out)
}

/// One record as a description line (fields quoted as needed).
pub fn describe(d: &Described) -> String {
    let mut line = format!("{} {}", d.kind, quote(&d.name));
    for (k, v) in &d.fields {
        line.push_str(&format!(" {k}={}", quote(v)));
    }
    line.push('\n');
    line
}

/// A length or offset: sectors, or with a suffix `s`, `b` (512-byte
/// blocks), `k` (1024 bytes) or `m` (1 MiB); a byte count must be a
/// whole number of sectors.
pub fn parse_sectors(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_lowercase()),
        _ => (s, 's'),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    let bytes_per = match unit {
        's' | 'b' => return Ok(n),
        'k' => 1024,
        'm' => 1024 * 1024,
        _ => return Err(format!("{s:?}: unknown unit '{unit}' (s, b, k or m)")),
    };
    let bytes = n
        .checked_mul(bytes_per)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    Ok(bytes / SECTOR)
}

fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("mode {s:?} is not an octal permission"))
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn opt(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// The error for an unknown field of `kind`.
fn unknown(kind: Kind, field: &str) -> String {
    format!("{kind} has no field {field:?}")
}

/// Sets `field` of subdisk `sd`.
pub fn set_sd(sd: &mut Subdisk, field: &str, v: &str) -> Result<(), String> {
    match field {
        "path" => sd.path = v.to_string(),
        "offset" => sd.offset = parse_sectors(v)?,
        "len" => sd.len = parse_sectors(v)?,
        "plex" => sd.plex = opt(v),
        "plex_offset" => sd.plex_offset = parse_sectors(v)?,
        "comment" => sd.comment = v.to_string(),
        _ => return Err(unknown(Kind::Subdisk, field)),
    }
    Ok(())
}

/// Sets `field` of plex `p`.
pub fn set_plex(p: &mut Plex, field: &str, v: &str) -> Result<(), String> {
    match field {
        "vol" => p.vol = opt(v),
        "sd" => p.sd = list(v),
        "state" => p.state = v.to_ascii_uppercase(),
        "layout" if v == "concat" => {}
        "layout" => return Err(format!("layout {v:?}: only concat plexes are supported")),
        "comment" => p.comment = v.to_string(),
        _ => return Err(unknown(Kind::Plex, field)),
    }
    Ok(())
}

/// Sets `field` of volume `vol`.
pub fn set_vol(vol: &mut Volume, field: &str, v: &str) -> Result<(), String> {
    match field {
        "usetype" => vol.usetype = v.to_string(),
        "len" => vol.len = parse_sectors(v)?,
        "plex" => vol.plex = list(v),
        "state" => vol.state = v.to_ascii_uppercase(),
        "user" => vol.user = v.to_string(),
        "group" => vol.group = v.to_string(),
        "mode" => vol.mode = parse_mode(v)?,
        "comment" => vol.comment = v.to_string(),
        _ => return Err(unknown(Kind::Volume, field)),
    }
    Ok(())
}

/// Sets a field of the record `kind`/`name` in `config`.
pub fn set_field(
    config: &mut Config,
    kind: Kind,
    name: &str,
    field: &str,
    v: &str,
) -> Result<(), String> {
    let missing = || format!("{kind} {name} does not exist");
    match kind {
        Kind::Subdisk => set_sd(config.sd.get_mut(name).ok_or_else(missing)?, field, v),
        Kind::Plex => set_plex(config.plex.get_mut(name).ok_or_else(missing)?, field, v),
        Kind::Volume => set_vol(config.vol.get_mut(name).ok_or_else(missing)?, field, v),
    }
}

/// Parses a whole configuration (a database payload, or a description
/// of records to create): each record once, fields as written, no
/// linking or checking.
pub fn parse_config(text: &str) -> Result<Config, String> {
    let mut c = Config::default();
    for d in parse(text)? {
        insert(&mut c, &d).map_err(|e| format!("line {}: {e}", d.line))?;
    }
    Ok(c)
}

/// Adds the described record to `config` (an error if one of that type
/// and name exists).
pub fn insert(config: &mut Config, d: &Described) -> Result<(), String> {
    if config.has(d.kind, &d.name) {
        return Err(format!("{} {} already exists", d.kind, d.name));
    }
    match d.kind {
        Kind::Subdisk => {
            config.sd.insert(d.name.clone(), Subdisk::default());
        }
        Kind::Plex => {
            config.plex.insert(
                d.name.clone(),
                Plex {
                    state: "EMPTY".into(),
                    ..Plex::default()
                },
            );
        }
        Kind::Volume => {
            config.vol.insert(d.name.clone(), Volume::default());
        }
    }
    for (k, v) in &d.fields {
        set_field(config, d.kind, &d.name, k, v)?;
    }
    Ok(())
}

/// A value as written: quoted when it is empty or holds blanks, quotes,
/// `#` or backslashes.
pub fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || "\"\\#".contains(c)) {
        return v.to_string();
    }
    let mut q = String::from("\"");
    for c in v.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// One record in the description format (ends with a newline).
pub fn print_record(config: &Config, kind: Kind, name: &str) -> Option<String> {
    let mut f: Vec<(&str, String)> = Vec::new();
    match kind {
        Kind::Subdisk => {
            let sd = config.sd.get(name)?;
            f.push(("path", quote(&sd.path)));
            f.push(("offset", sd.offset.to_string()));
            f.push(("len", sd.len.to_string()));
            if let Some(p) = &sd.plex {
                f.push(("plex", p.clone()));
                f.push(("plex_offset", sd.plex_offset.to_string()));
            }
            if !sd.comment.is_empty() {
                f.push(("comment", quote(&sd.comment)));
            }
        }
        Kind::Plex => {
            let p = config.plex.get(name)?;
            f.push(("layout", "concat".into()));
            if let Some(v) = &p.vol {
                f.push(("vol", v.clone()));
            }
            if !p.sd.is_empty() {
                f.push(("sd", p.sd.join(",")));
            }
            f.push(("state", quote(&p.state)));
            if !p.comment.is_empty() {
                f.push(("comment", quote(&p.comment)));
            }
        }
        Kind::Volume => {
            let v = config.vol.get(name)?;
            f.push(("usetype", quote(&v.usetype)));
            f.push(("len", v.len.to_string()));
            if !v.plex.is_empty() {
                f.push(("plex", v.plex.join(",")));
            }
            f.push(("state", quote(&v.state)));
            f.push(("user", quote(&v.user)));
            f.push(("group", quote(&v.group)));
            f.push(("mode", format!("0{:o}", v.mode)));
            if !v.comment.is_empty() {
                f.push(("comment", quote(&v.comment)));
            }
        }
    }
    let mut out = format!("{kind} {name}\n");
    let fields: Vec<String> = f.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    for chunk in fields.chunks(4) {
        let _ = writeln!(out, "\t{}", chunk.join(" "));
    }
    Some(out)
}

/// The whole configuration in the description format: subdisks, then
/// plexes, then volumes, each by name.
pub fn print_config(config: &Config) -> String {
    let mut out = String::new();
    for n in config.sd.keys() {
        out.extend(print_record(config, Kind::Subdisk, n));
    }
    for n in config.plex.keys() {
        out.extend(print_record(config, Kind::Plex, n));
    }
    for n in config.vol.keys() {
        out.extend(print_record(config, Kind::Volume, n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESC: &str = "\
# a volume over one subdisk
sd d1 path=/tmp/disk offset=1k
\tlen=64 # trailing comment
plex p1 sd=d1 vol=v1
vol v1 len=64 plex=p1 mode=0640 comment=\"logs \\\"here\\\"\"
";

    #[test]
    fn a_description_parses_with_continuations_quotes_and_units() {
        let c = parse_config(DESC).unwrap();
        assert_eq!(c.sd["d1"].offset, 2);
        assert_eq!(c.sd["d1"].len, 64);
        assert_eq!(c.plex["p1"].sd, ["d1"]);
        assert_eq!(c.vol["v1"].mode, 0o640);
        assert_eq!(c.vol["v1"].comment, "logs \"here\"");
    }

    #[test]
    fn printing_and_parsing_round_trip() {
        let mut c = parse_config(DESC).unwrap();
        c.sd.get_mut("d1").unwrap().plex = Some("p1".into());
        let text = print_config(&c);
        assert_eq!(parse_config(&text).unwrap(), c, "{text}");
    }

    #[test]
    fn errors_name_the_line() {
        assert!(parse("disk d1\n").unwrap_err().starts_with("line 1:"));
        assert!(parse("sd d1\n\tnovalue\n")
            .unwrap_err()
            .starts_with("line 2:"));
        assert!(parse("\tlen=1\n").unwrap_err().contains("continuation"));
        assert!(parse("vol v \"x\n").unwrap_err().contains("quote"));
        let e = parse_config("sd a\nsd a\n").unwrap_err();
        assert!(e.contains("line 2: sd a already exists"), "{e}");
        assert!(parse_config("vol v mode=999\n").is_err());
        assert!(parse_config("sd s len=1q\n").is_err());
    }

    #[test]
    fn sector_units() {
        assert_eq!(parse_sectors("16").unwrap(), 16);
        assert_eq!(parse_sectors("16S").unwrap(), 16);
        assert_eq!(parse_sectors("2k").unwrap(), 4);
        assert_eq!(parse_sectors("1m").unwrap(), 2048);
        assert!(parse_sectors("99999999999999999999m").is_err());
    }

    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ -~\t]{0,12}").expect("regex")
    }

    fn name() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-z0-9][a-z0-9._-]{0,8}").expect("regex")
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errs_without_panicking(text in "\\PC{0,200}") {
            let _ = parse(&text);
            let _ = parse_config(&text);
            let _ = crate::vold::ops::Op::parse(&text);
        }

        #[test]
        fn printed_records_read_back_the_same(
            names in proptest::collection::btree_set(name(), 1..6),
            comment in value(), user in value(), len in 0u64..1 << 40, mode in 0u32..0o7777,
        ) {
            let mut c = Config::default();
            for (i, n) in names.iter().enumerate() {
                match i % 3 {
                    0 => {
                        c.sd.insert(n.clone(), Subdisk { path: format!("/dev/{n}"), len, comment: comment.clone(), ..Subdisk::default() });
                    }
                    1 => {
                        c.plex.insert(n.clone(), Plex { state: "EMPTY".into(), comment: comment.clone(), ..Plex::default() });
                    }
                    _ => {
                        c.vol.insert(n.clone(), Volume { len, mode, user: user.clone(), comment: comment.clone(), ..Volume::default() });
                    }
                }
            }
            let text = print_config(&c);
            prop_assert_eq!(parse_config(&text).expect("reads back"), c);
        }
    }
}
