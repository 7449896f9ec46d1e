//! The links' admin devices. No SIH board exists any more, so a link's
//! admin device is served by one of two backends, chosen by what the
//! pmtab's `admdev` path is:
//!
//! - a terminal ([`tty::TtyDevice`]): a serial line; the ttydefs label's
//!   final flags are applied with termios, loading mode is an exclusive
//!   `flock` on the line;
//! - anything else ([`file::FileDevice`]): a text file of `key value`
//!   lines standing in for the driver (`loadmode`, `tty`, `hdlc`, and
//!   `power`, which whoever plays the hardware writes).
//!
//! Each open device holds one descriptor: the manual's "one file
//! descriptor for each link".

pub mod file;
pub mod stty;
pub mod tty;

use super::tables::LinkParams;
use std::io;
use std::path::{Path, PathBuf};

/// An open admin device.
pub trait AdminDevice {
    /// Switches loading mode on or off.
    fn set_loading_mode(&mut self, on: bool) -> io::Result<()>;
    /// Applies the line parameters; returns a note for the trace (what
    /// was set, what was ignored).
    fn apply(&mut self, params: &LinkParams) -> io::Result<String>;
    /// Whether the device is switched on.
    fn switched_on(&mut self) -> io::Result<bool>;
    /// The file to watch for switching on and off, if the backend has one.
    fn watch(&self) -> Option<&Path>;
}

/// `admdev` as a path: absolute as written, relative under `dev` (the
/// system's `/dev`).
pub fn resolve(admdev: &str, dev: &Path) -> PathBuf {
    let p = Path::new(admdev);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dev.join(p)
    }
}

/// Opens the admin device at `path` with the backend its kind calls for.
pub fn open(path: &Path) -> io::Result<Box<dyn AdminDevice>> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags_nonblock()
        .open(path)
        .map_err(named)?;
    if rustix::termios::isatty(&f) {
        Ok(Box::new(tty::TtyDevice::new(f)))
    } else if f.metadata().map_err(named)?.is_file() {
        Ok(Box::new(file::FileDevice::new(f, path.to_path_buf())))
    } else {
        Err(named(io::Error::new(
            io::ErrorKind::InvalidInput,
            "neither a terminal nor a regular file",
        )))
    }
}

/// Opening without blocking (a serial line waiting for carrier) and
/// without becoming the line's controlling terminal.
trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_admin_devices_are_under_dev() {
        let dev = Path::new("/r/dev");
        assert_eq!(resolve("sih/adm1", dev), Path::new("/r/dev/sih/adm1"));
        assert_eq!(resolve("/x/adm1", dev), Path::new("/x/adm1"));
    }

    #[test]
    fn a_directory_is_no_admin_device() {
        let dir = tempfile::tempdir().unwrap();
        assert!(open(dir.path()).is_err());
        assert!(open(&dir.path().join("missing")).is_err());
    }
}
