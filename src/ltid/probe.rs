//! Drive probing: what the scan host learns of a drive each poll. A probe
//! that fails means the host's path to the drive is down (re-election).
//!
//! - [`TapeProbe`]: a tape device (character device): opened read-only
//!   and non-blocking, `MTIOCGET` gives ready (`GMT_ONLINE`) and write
//!   protection (`GMT_WR_PROT`); the volume serial is not read.
//! - [`FileProbe`]: a regular file standing in for a drive (tests, trial
//!   set-ups): its first line is `ready [VSN] [wp]` or `empty`; a missing
//!   file is a path that is down.
//!
//! [`AutoProbe`] picks one by the path's file type.

use super::core::Probed;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Most bytes of a stand-in file read.
const MAX_READ: u64 = 4096;

/// One way of probing a drive.
pub trait DriveProbe {
    /// The drive's state, or why its path does not work.
    fn probe(&self, path: &Path) -> Result<Probed, String>;
}

/// `MTIOCGET` on a tape device.
#[derive(Debug, Clone, Copy, Default)]
pub struct TapeProbe;

impl DriveProbe for TapeProbe {
    fn probe(&self, path: &Path) -> Result<Probed, String> {
        let tape = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let status = crate::sys::tape_status(&tape)
            .map_err(|e| format!("{}: MTIOCGET: {e}", path.display()))?;
        Ok(Probed {
            ready: status.online(),
            write_protect: status.write_protected(),
            vsn: String::new(),
        })
    }
}

/// A regular file standing in for a drive.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileProbe;

impl DriveProbe for FileProbe {
    fn probe(&self, path: &Path) -> Result<Probed, String> {
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_READ).read_to_string(&mut text))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        parse_stand_in(&text)
            .ok_or_else(|| format!("{}: not 'ready [VSN] [wp]' or 'empty'", path.display()))
    }
}

/// The state a stand-in file describes.
pub fn parse_stand_in(text: &str) -> Option<Probed> {
    let mut words = text.lines().next().unwrap_or("").split_whitespace();
    match words.next()? {
        "empty" => Some(Probed::default()),
        "ready" => {
            let mut p = Probed {
                ready: true,
                ..Probed::default()
            };
            for w in words {
                match w {
                    "wp" => p.write_protect = true,
                    vsn if p.vsn.is_empty() && vsn.len() <= 16 => p.vsn = vsn.to_string(),
                    _ => return None,
                }
            }
            Some(p)
        }
        _ => None,
    }
}

/// A tape device by [`TapeProbe`], anything else by [`FileProbe`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoProbe;

impl DriveProbe for AutoProbe {
    fn probe(&self, path: &Path) -> Result<Probed, String> {
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_char_device() => TapeProbe.probe(path),
            _ => FileProbe.probe(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_in_files() {
        assert_eq!(parse_stand_in("empty\n"), Some(Probed::default()));
        let p = parse_stand_in("ready A00001 wp\n").unwrap();
        assert!(p.ready && p.write_protect);
        assert_eq!(p.vsn, "A00001");
        assert_eq!(parse_stand_in("ready\n").map(|p| p.ready), Some(true));
        assert_eq!(parse_stand_in("broken"), None);
        assert_eq!(parse_stand_in("ready A B"), None);
        assert_eq!(parse_stand_in(""), None);
    }

    #[test]
    fn a_missing_file_is_a_path_down_and_dev_null_is_no_tape() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AutoProbe.probe(&dir.path().join("nst0")).is_err());
        std::fs::write(dir.path().join("nst0"), "ready V1\n").unwrap();
        assert_eq!(AutoProbe.probe(&dir.path().join("nst0")).unwrap().vsn, "V1");
        // A character device that is not a tape refuses MTIOCGET.
        assert!(AutoProbe.probe(Path::new("/dev/null")).is_err());
    }
}
