//! The legacy daemon log: `HH:MM:SS.mmm [pid] <level> function: text`,
//! appended to `debug/daemon/log.MMDDYY` under the volmgr directory when
//! that directory exists (created by the administrator, as NetBackup
//! wants; the file name follows the date, so the log rolls at midnight),
//! and every line also to the process logger (syslog, facility daemon, or
//! stderr in the foreground). ltid, vmd and rdevmi all write here; each
//! line is one `write` on a file opened for appending, so lines of
//! several processes do not mix.

use crate::sys;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A line's level, as the seed shows it (`<2>`, `<4>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level(pub u8);

impl Level {
    /// Progress of the protocol.
    pub const DEBUG: Level = Level(2);
    /// Requests and their outcome.
    pub const INFO: Level = Level(4);
    /// Something went wrong with one peer or drive.
    pub const WARN: Level = Level(8);
    /// Something went wrong with the daemon.
    pub const ERROR: Level = Level(16);
}

/// One line, formatted: `at` is seconds since the epoch and milliseconds,
/// broken down in local time.
pub fn format_line(at: (i64, u32), pid: u32, level: Level, func: &str, text: &str) -> String {
    let t = sys::local_time(at.0);
    format!(
        "{:02}:{:02}:{:02}.{:03} [{pid}] <{}> {func}: {text}",
        t.hour, t.minute, t.second, at.1, level.0
    )
}

/// The file for the day of `secs`: `DIR/log.MMDDYY`.
pub fn file_for(dir: &Path, secs: i64) -> PathBuf {
    let t = sys::local_time(secs);
    dir.join(format!(
        "log.{:02}{:02}{:02}",
        t.month,
        t.day,
        t.year.rem_euclid(100)
    ))
}

/// Where the lines of one process go.
#[derive(Debug, Clone)]
pub struct DaemonLog {
    /// `debug/daemon` under the volmgr directory.
    dir: PathBuf,
    pid: u32,
}

impl DaemonLog {
    /// The log of this process, in `dir` (`.../volmgr/debug/daemon`).
    pub fn new(dir: PathBuf) -> DaemonLog {
        DaemonLog {
            dir,
            pid: std::process::id(),
        }
    }

    /// Writes one line (the wall clock gives its time).
    pub fn line(&self, level: Level, func: &str, text: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs() as i64;
        let line = format_line((secs, now.subsec_millis()), self.pid, level, func, text);
        match level.0 {
            0..=4 => log::info!("{func}: {text}"),
            5..=8 => log::warn!("{func}: {text}"),
            _ => log::error!("{func}: {text}"),
        }
        if !self.dir.is_dir() {
            return;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file_for(&self.dir, secs));
        if let Ok(mut f) = file {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_seeds_shape() {
        let line = format_line(
            (1_229_870_405, 7),
            6031,
            Level::DEBUG,
            "rdevmi",
            "in ltidtermsig",
        );
        let (clock, rest) = line.split_once(' ').unwrap();
        assert_eq!(clock.len(), 12, "{line}");
        assert_eq!(&clock[8..], ".007");
        assert_eq!(rest, "[6031] <2> rdevmi: in ltidtermsig");
    }

    #[test]
    fn the_file_is_named_after_the_day() {
        let name = file_for(Path::new("/d"), 1_229_870_405);
        let name = name.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("log.12"), "{name}");
        assert!(name.ends_with("08"), "{name}");
    }

    #[test]
    fn lines_go_to_the_file_only_when_the_directory_exists() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = dir.path().join("daemon");
        DaemonLog::new(daemon.clone()).line(Level::INFO, "f", "lost");
        assert!(!daemon.exists());
        std::fs::create_dir(&daemon).unwrap();
        DaemonLog::new(daemon.clone()).line(Level::INFO, "f", "kept");
        let files: Vec<_> = std::fs::read_dir(&daemon).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.ends_with("<4> f: kept\n"), "{text}");
    }
}
