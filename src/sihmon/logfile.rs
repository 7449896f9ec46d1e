//! sihmon's own files in `/var/saf/<pmtag>/`: `log`, `trace` and `state`,
//! each line `type dd.mm HH:MM:SS pid text` ([`format_line`]; `type` is
//! `INFO`, `WARN` or `FATAL`), each file kept under its cap by
//! [`RotatingFile`] (moved to `<name>.alt`, replacing the last one, and
//! started again empty).
//!
//! [`Logs`] routes the messages as the manual says: a log message goes to
//! the log (unless `-s 0`), to syslog at priority 6, 4 or 3, and, at
//! trace level 1 or more, to the trace as well; a detail goes to the trace
//! at level 2 only; link state changes go to `state`.

use crate::sys;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The cap of `trace` and `state`.
pub const TRACE_MAX: u64 = 2 * 1024 * 1024;
/// The default cap of `log` (`-s`).
pub const LOG_MAX: u64 = 1024 * 1024;
/// The smallest cap of `log` other than 0.
pub const LOG_MIN: u64 = 1024;

/// The kind of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// Important information; no error.
    Info,
    /// An error that may leave links unmonitored.
    Warn,
    /// The monitor ends.
    Fatal,
}

impl Type {
    /// The word that starts the line.
    pub fn word(self) -> &'static str {
        match self {
            Type::Info => "INFO",
            Type::Warn => "WARN",
            Type::Fatal => "FATAL",
        }
    }

    /// The syslog priority (6, 4, 3).
    pub fn priority(self) -> i32 {
        match self {
            Type::Info => libc::LOG_INFO,
            Type::Warn => libc::LOG_WARNING,
            Type::Fatal => libc::LOG_ERR,
        }
    }
}

/// One line, newline included; control characters in `text` become
/// blanks so that one message is one line.
pub fn format_line(kind: Type, t: &sys::LocalTime, pid: u32, text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "{} {:02}.{:02} {:02}:{:02}:{:02} {pid} {text}\n",
        kind.word(),
        t.day,
        t.month,
        t.hour,
        t.minute,
        t.second
    )
}

/// The local time now.
fn now() -> sys::LocalTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    sys::local_time(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// `path` with `.alt` appended.
pub fn alt_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".alt");
    PathBuf::from(s)
}

/// An append-only file that never grows past `max` bytes: a line that
/// would take it past the cap first moves the file to `<path>.alt` and
/// starts it again empty (a single line longer than the cap is written
/// alone to a fresh file).
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max: u64,
    file: File,
    len: u64,
}

impl RotatingFile {
    /// Opens (creating, mode 0644) `path` for appending.
    pub fn open(path: &Path, max: u64) -> io::Result<RotatingFile> {
        let file = append(path)?;
        let len = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max,
            file,
            len,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `line`, rotating first if it would not fit.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let n = line.len() as u64;
        if self.len > 0 && self.len + n > self.max {
            std::fs::rename(&self.path, alt_of(&self.path))?;
            self.file = append(&self.path)?;
            self.file.set_len(0)?;
            self.len = 0;
        }
        self.file.write_all(line.as_bytes())?;
        self.len += n;
        Ok(())
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Where a monitor's messages go.
#[derive(Debug)]
pub struct Logs {
    pid: u32,
    /// `None` with `-s 0`.
    log: Option<RotatingFile>,
    trace_path: PathBuf,
    /// Opened when the trace level first goes above 0.
    trace: Option<RotatingFile>,
    state: Option<RotatingFile>,
    state_path: PathBuf,
    /// The cap of the trace and the state file.
    cap: u64,
    level: u8,
    syslog: bool,
}

impl Logs {
    /// The monitor's files: `log` (already opened by the caller, `None`
    /// for `-s 0`), the trace at `trace_path` from trace `level`, and the
    /// state file at `state_path` (both opened on first use, both kept
    /// under [`TRACE_MAX`]; see [`Logs::capped`]). `syslog`: log messages
    /// go to syslog too.
    pub fn new(
        log: Option<RotatingFile>,
        trace_path: PathBuf,
        state_path: PathBuf,
        level: u8,
        syslog: bool,
    ) -> Logs {
        Logs {
            pid: std::process::id(),
            log,
            trace_path,
            trace: None,
            state: None,
            state_path,
            cap: TRACE_MAX,
            level,
            syslog,
        }
    }

    /// The same, with the trace and the state file kept under `cap` bytes
    /// instead (for tests of their rotation).
    pub fn capped(self, cap: u64) -> Logs {
        Logs { cap, ..self }
    }

    /// The trace level.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Sets the trace level (`sihadm -T`).
    pub fn set_level(&mut self, level: u8) {
        self.level = level;
    }

    /// The trace file's path.
    pub fn trace_path(&self) -> &Path {
        &self.trace_path
    }

    /// A log message: the log, syslog and (level ≥ 1) the trace.
    pub fn log(&mut self, kind: Type, text: &str) {
        let line = format_line(kind, &now(), self.pid, text);
        if let Some(log) = self.log.as_mut() {
            if let Err(e) = log.write_line(&line) {
                let _ = writeln!(
                    io::stderr(),
                    "sihmon: cannot write {}: {e}",
                    log.path().display()
                );
            }
        }
        if self.syslog {
            sys::syslog(kind.priority(), &format!("{} {text}", self.pid));
        }
        if self.level >= 1 {
            self.trace_line(&line);
        }
    }

    /// A detailed operating message: the trace at level 2.
    pub fn detail(&mut self, text: &str) {
        if self.level >= 2 {
            let line = format_line(Type::Info, &now(), self.pid, text);
            self.trace_line(&line);
        }
    }

    /// A link state change: the state file.
    pub fn state(&mut self, text: &str) {
        let line = format_line(Type::Info, &now(), self.pid, text);
        if self.state.is_none() {
            match RotatingFile::open(&self.state_path, self.cap) {
                Ok(f) => self.state = Some(f),
                Err(e) => {
                    let shown = self.state_path.display();
                    let _ = writeln!(io::stderr(), "sihmon: cannot open {shown}: {e}");
                    return;
                }
            }
        }
        if let Some(f) = self.state.as_mut() {
            let _ = f.write_line(&line);
        }
    }

    fn trace_line(&mut self, line: &str) {
        if self.trace.is_none() {
            match RotatingFile::open(&self.trace_path, self.cap) {
                Ok(f) => self.trace = Some(f),
                Err(e) => {
                    let shown = self.trace_path.display();
                    let _ = writeln!(io::stderr(), "sihmon: cannot open {shown}: {e}");
                    return;
                }
            }
        }
        if let Some(f) = self.trace.as_mut() {
            let _ = f.write_line(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_format() {
        let t = sys::LocalTime {
            year: 2026,
            month: 3,
            day: 7,
            hour: 5,
            minute: 4,
            second: 9,
        };
        assert_eq!(
            format_line(Type::Warn, &t, 4711, "link l1\nfailed"),
            "WARN 07.03 05:04:09 4711 link l1 failed\n"
        );
        assert_eq!(Type::Fatal.priority(), 3);
        assert_eq!(Type::Info.priority(), 6);
        assert_eq!(Type::Warn.priority(), 4);
    }

    #[test]
    fn rotation_moves_the_file_to_alt_and_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace");
        let mut f = RotatingFile::open(&path, 100).unwrap();
        let line = format!("{}\n", "x".repeat(39));
        for _ in 0..2 {
            f.write_line(&line).unwrap();
        }
        assert!(!alt_of(&path).exists());
        f.write_line(&line).unwrap();
        assert_eq!(std::fs::read(alt_of(&path)).unwrap().len(), 80);
        assert_eq!(std::fs::read(&path).unwrap().len(), 40);
        f.write_line(&line).unwrap();
        for _ in 0..2 {
            f.write_line("y\n").unwrap();
        }
        f.write_line(&line).unwrap();
        let alt = std::fs::read_to_string(alt_of(&path)).unwrap();
        assert!(alt.ends_with("y\ny\n"), "the old .alt is replaced");
        // Reopened, the length is known.
        let mut again = RotatingFile::open(&path, 100).unwrap();
        again.write_line(&line).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 80);
        again.write_line(&line).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 40);
        // A line longer than the cap goes alone to a fresh file.
        again.write_line(&"z".repeat(150)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 150);
    }

    #[test]
    fn logs_route_by_trace_level() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let log = RotatingFile::open(&p("log"), LOG_MAX).unwrap();
        let mut logs = Logs::new(Some(log), p("trace"), p("state"), 0, false);
        logs.log(Type::Info, "one");
        logs.detail("hidden");
        assert!(!p("trace").exists());
        logs.set_level(1);
        logs.log(Type::Warn, "two");
        logs.detail("still hidden");
        logs.set_level(2);
        logs.detail("shown");
        logs.state("l1 LOADING->LOADED rc=0");
        let log = std::fs::read_to_string(p("log")).unwrap();
        let trace = std::fs::read_to_string(p("trace")).unwrap();
        assert_eq!(log.lines().count(), 2);
        assert_eq!(trace.lines().count(), 2);
        assert!(trace.contains(" two\n") && trace.contains(" shown\n"));
        assert!(std::fs::read_to_string(p("state"))
            .unwrap()
            .contains("LOADED rc=0"));
        // -s 0: no log, the trace still written.
        let mut quiet = Logs::new(None, p("trace0"), p("state0"), 1, false);
        quiet.log(Type::Info, "traced");
        assert!(std::fs::read_to_string(p("trace0"))
            .unwrap()
            .contains("traced"));
    }
}
