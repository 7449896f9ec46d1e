//! `misc/ltid.reservations`: the drives this host holds, so that a
//! restarted ltid claims them again (`LtidCore::reassert`).
//!
//! The format (version 1), UTF-8 text, every line ending in a newline:
//! the line `statmon ltid reservations 1`, then one drive name per line
//! (no whitespace, at most [`MAX_STR`] bytes, no repeats). It is replaced
//! whole on every change (`write_synced`, then the directory is synced),
//! so a crash leaves the old file or the new one. A file that does not
//! parse is logged and moved aside (`.ltid.reservations.corrupt-N`), and
//! nothing is claimed again.

use super::dlog::Level;
use super::module::LtidModule;
use super::wire::MAX_STR;
use crate::daemon::durable;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::time::Instant;

/// The file's name in `misc/`.
pub const FILE: &str = "ltid.reservations";
/// Its first line.
pub const HEADER: &str = "statmon ltid reservations 1";
/// The most bytes it may have.
const MAX_BYTES: u64 = 64 * 1024;

/// The file's text for `drives`.
pub fn render(drives: &[String]) -> String {
    let mut text = format!("{HEADER}\n");
    for d in drives {
        text.push_str(d);
        text.push('\n');
    }
    text
}

/// The drives in the file's text; `Err` says what is wrong and where.
pub fn parse(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err("the last line has no newline (cut short)".into());
    };
    let mut lines = body.split('\n');
    if lines.next() != Some(HEADER) {
        return Err(format!("line 1 is not {HEADER:?}"));
    }
    let mut seen = BTreeSet::new();
    let mut drives = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        if line.is_empty() || line.len() > MAX_STR {
            return Err(format!("line {n}: a drive name of {} bytes", line.len()));
        }
        if line.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("line {n}: {line:?} is not a drive name"));
        }
        if !seen.insert(line) {
            return Err(format!("line {n}: {line} again"));
        }
        drives.push(line.to_string());
    }
    Ok(drives)
}

impl LtidModule {
    /// At start: reads the file and claims its drives again; a file that
    /// does not parse is logged and moved aside.
    pub(super) fn load_held(&mut self, now: Instant) {
        let path = self.paths.reservations();
        let shown = path.display().to_string();
        let parsed = match durable::read_optional(&path, MAX_BYTES) {
            Ok(None) => return,
            Ok(Some(bytes)) => parse(&bytes).map(|d| (d, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(e.to_string()),
            Err(e) => {
                let text = format!("cannot read {shown}: {e}; no reservation claimed again");
                return self.dlog.line(Level::ERROR, "reserve", &text);
            }
        };
        match parsed {
            Ok((drives, bytes)) => {
                self.held_written = Some(String::from_utf8_lossy(&bytes).into_owned());
                self.core.reassert(now, &drives);
            }
            Err(why) => {
                let aside = durable::move_aside(&self.paths.misc(), OsStr::new(FILE)).map_or_else(
                    |e| format!("not moved aside: {e}"),
                    |p| format!("moved aside to {}", p.display()),
                );
                let text =
                    format!("{shown} is corrupt ({why}); {aside}; no reservation claimed again");
                self.dlog.line(Level::ERROR, "reserve", &text);
            }
        }
    }

    /// Writes the drives held now, when they changed.
    pub(super) fn write_held(&mut self) {
        let text = render(&self.core.held());
        if self.held_written.as_ref() == Some(&text) {
            return;
        }
        let misc = self.paths.misc();
        let written = durable::write_synced(&misc, OsStr::new(FILE), text.as_bytes(), 0o644)
            .and_then(|()| durable::sync_dir(&misc));
        match written {
            Ok(()) => self.held_written = Some(text),
            Err(e) => {
                let shown = self.paths.reservations().display().to_string();
                let text = format!("cannot write {shown}: {e}");
                self.dlog.line(Level::ERROR, "reserve", &text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_an_empty_one_holds_nothing() {
        let drives = vec!["drv0".to_string(), "drv1".to_string()];
        let text = render(&drives);
        assert_eq!(text, "statmon ltid reservations 1\ndrv0\ndrv1\n");
        assert_eq!(parse(text.as_bytes()), Ok(drives));
        assert_eq!(parse(render(&[]).as_bytes()), Ok(Vec::new()));
    }

    #[test]
    fn damage_is_named_with_its_line() {
        let bad: [(&[u8], &str); 7] = [
            (b"", "no newline"),
            (b"statmon ltid reservations 1\ndrv0", "no newline"),
            (b"statmon ltid reservations 2\ndrv0\n", "line 1"),
            (b"statmon ltid reservations 1\n\n", "line 2"),
            (b"statmon ltid reservations 1\ndrv0\ndr v1\n", "line 3"),
            (
                b"statmon ltid reservations 1\ndrv0\ndrv0\n",
                "line 3: drv0 again",
            ),
            (b"statmon ltid reservations 1\n\xff\n", "not UTF-8"),
        ];
        for (bytes, want) in bad {
            let err = parse(bytes).unwrap_err();
            assert!(err.contains(want), "{bytes:?}: {err}");
        }
        let long = format!("{HEADER}\n{}\n", "d".repeat(MAX_STR + 1));
        assert!(parse(long.as_bytes()).unwrap_err().starts_with("line 2"));
    }

    proptest::proptest! {
        /// Any bytes parse or are refused, never panic; what parses
        /// renders back to the same bytes.
        #[test]
        fn any_bytes_parse_or_are_refused(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            if let Ok(drives) = parse(&bytes) {
                proptest::prop_assert_eq!(render(&drives).into_bytes(), bytes);
            }
        }
    }
}
