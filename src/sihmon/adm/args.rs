//! sihadm's command line (sihadm(1M)):
//!
//! ```text
//! sihadm -d admdev -a adjust [-l ttylab] [-k linklab] [-p cmd]
//! sihadm -I [svctag] pmtag       sihadm -R [svctag] pmtag
//! sihadm -S [svctag] pmtag       sihadm -T level pmtag
//! sihadm -v type                 sihadm -V
//! sihadm -h|-?
//! ```

use std::ffi::OsString;

/// The syntax, as `-h` and every refusal print it.
pub const USAGE: &str =
    "usage: sihadm -d admdev -a adjust [-l ttylab] [-k linklab] [-p 'cmd']\n       \
    sihadm -I [svctag] pmtag\n       sihadm -R [svctag] pmtag\n       \
    sihadm -S [svctag] pmtag\n       sihadm -T level pmtag\n       \
    sihadm -v type\n       sihadm -V\n       sihadm -h|-?";

/// What sihadm is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Format the pmtab fields.
    Format {
        admdev: String,
        adjust: String,
        ttylab: String,
        linklab: String,
        cmd: String,
    },
    /// Set (`true`) or reset loading mode.
    LoadMode {
        on: bool,
        svctag: Option<String>,
        pmtag: String,
    },
    /// A running monitor's links.
    Status {
        svctag: Option<String>,
        pmtag: String,
    },
    /// A running monitor's trace level.
    Trace { level: u8, pmtag: String },
    /// One expected version.
    Version(String),
    /// All expected versions.
    Versions,
    /// The syntax.
    Help,
}

/// Parses the arguments after the program name; `Err` says what is wrong.
pub fn parse(args: &[OsString]) -> Result<Request, String> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(first) = args.first() else {
        return Err("no option given".into());
    };
    let rest = &args[1..];
    let tags = |rest: &[String]| -> Result<(Option<String>, String), String> {
        match rest {
            [pmtag] => Ok((None, pmtag.clone())),
            [svctag, pmtag] => Ok((Some(svctag.clone()), pmtag.clone())),
            _ => Err(format!("{first} takes [svctag] pmtag")),
        }
    };
    match first.as_str() {
        "-h" | "-?" if rest.is_empty() => Ok(Request::Help),
        "-V" if rest.is_empty() => Ok(Request::Versions),
        "-v" => match rest {
            [kind] => Ok(Request::Version(kind.clone())),
            _ => Err("-v takes one type".into()),
        },
        "-I" | "-R" => {
            let (svctag, pmtag) = tags(rest)?;
            Ok(Request::LoadMode {
                on: first == "-I",
                svctag,
                pmtag,
            })
        }
        "-S" => {
            let (svctag, pmtag) = tags(rest)?;
            Ok(Request::Status { svctag, pmtag })
        }
        "-T" => match rest {
            [level, pmtag] => match level.parse::<u8>() {
                Ok(l) if l <= 2 => Ok(Request::Trace {
                    level: l,
                    pmtag: pmtag.clone(),
                }),
                _ => Err(format!("trace level \"{level}\" is not 0, 1 or 2")),
            },
            _ => Err("-T takes level pmtag".into()),
        },
        "-d" | "-a" | "-l" | "-k" | "-p" => format(&args),
        other => Err(format!("illegal option {other}")),
    }
}

fn format(args: &[String]) -> Result<Request, String> {
    let (mut admdev, mut adjust) = (None, None);
    let (mut ttylab, mut linklab, mut cmd) = (String::new(), String::new(), String::new());
    let mut it = args.iter();
    while let Some(opt) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("option {opt} requires an argument"))?
            .clone();
        match opt.as_str() {
            "-d" => admdev = Some(value),
            "-a" => adjust = Some(value),
            "-l" => ttylab = value,
            "-k" => linklab = value,
            "-p" => cmd = value,
            other => return Err(format!("illegal option {other} with -d")),
        }
    }
    Ok(Request::Format {
        admdev: admdev.ok_or("-d admdev is required")?,
        adjust: adjust.ok_or("-a adjust is required")?,
        ttylab,
        linklab,
        cmd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Request, String> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn requests() {
        assert_eq!(
            p(&["-d", "/dev/a", "-a", "o", "-p", "load x"]),
            Ok(Request::Format {
                admdev: "/dev/a".into(),
                adjust: "o".into(),
                ttylab: String::new(),
                linklab: String::new(),
                cmd: "load x".into()
            })
        );
        assert_eq!(
            p(&["-R", "l1", "sih1"]),
            Ok(Request::LoadMode {
                on: false,
                svctag: Some("l1".into()),
                pmtag: "sih1".into()
            })
        );
        assert_eq!(
            p(&["-S", "sih1"]),
            Ok(Request::Status {
                svctag: None,
                pmtag: "sih1".into()
            })
        );
        assert_eq!(
            p(&["-T", "2", "sih1"]),
            Ok(Request::Trace {
                level: 2,
                pmtag: "sih1".into()
            })
        );
        assert_eq!(p(&["-V"]), Ok(Request::Versions));
        assert_eq!(p(&["-?"]), Ok(Request::Help));
        for bad in [
            &[][..],
            &["-T", "3", "s"],
            &["-S"],
            &["-d", "x"],
            &["-a", "o"],
            &["-x"],
            &["-d", "a", "-a", "o", "-q", "z"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
