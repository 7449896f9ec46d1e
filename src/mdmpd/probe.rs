//! The path probe: is a failed member's device readable again? It reads
//! the first [`PROBE_BYTES`] of the device with `O_DIRECT`, so that the
//! answer comes from the path and never from the page cache.
//!
//! Blocking (a dead path can hang a read for the SCSI layer's timeouts):
//! run it on a [`crate::daemon::jobs::Jobs`] pool, never on the reactor.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// How much a probe reads, from offset 0: one page, the unit of direct I/O.
pub const PROBE_BYTES: usize = 4096;

/// Reads the first [`PROBE_BYTES`] of `device`. `Err` says what failed
/// (open or read, with the error), or that the device read as empty.
///
/// A regular file (the test fixtures' stand-in devices, on file systems
/// without direct I/O) is read through the cache when `O_DIRECT` is
/// refused; a block device never is.
pub fn probe(device: &Path) -> Result<(), String> {
    let direct = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(device);
    let mut file = match direct {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) && is_regular(device) => {
            OpenOptions::new()
                .read(true)
                .open(device)
                .map_err(|e| format!("open {}: {e}", device.display()))?
        }
        Err(e) => return Err(format!("open {}: {e}", device.display())),
    };
    // Direct I/O wants a buffer aligned to the block size: take an aligned
    // page inside a buffer of two.
    let mut buf = vec![0u8; 2 * PROBE_BYTES];
    let at = buf.as_ptr().align_offset(PROBE_BYTES).min(PROBE_BYTES);
    let page = &mut buf[at..at + PROBE_BYTES];
    loop {
        match file.read(page) {
            Ok(0) => return Err(format!("read {}: nothing to read", device.display())),
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read {}: {e}", device.display())),
        }
    }
}

fn is_regular(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_readable_device_passes_and_a_missing_or_empty_one_fails() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("sdb");
        std::fs::write(&dev, vec![7u8; 3 * PROBE_BYTES]).unwrap();
        assert_eq!(probe(&dev), Ok(()));
        let short = dir.path().join("short");
        std::fs::write(&short, b"x").unwrap();
        assert_eq!(probe(&short), Ok(()), "a short read is a live path");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(probe(&empty).unwrap_err().contains("nothing to read"));
        let err = probe(&dir.path().join("gone")).unwrap_err();
        assert!(err.starts_with("open ") && err.contains("gone"), "{err}");
    }

    #[test]
    fn an_unreadable_device_fails_naming_it() {
        if rustix::process::geteuid().is_root() {
            // Root reads a mode-000 file; a directory cannot be read by anyone.
            let dir = tempfile::tempdir().unwrap();
            let err = probe(dir.path()).unwrap_err();
            assert!(err.contains(&dir.path().display().to_string()), "{err}");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("sdc");
        std::fs::write(&dev, b"data").unwrap();
        std::fs::set_permissions(&dev, std::fs::Permissions::from_mode(0o000)).unwrap();
        assert!(probe(&dev).unwrap_err().contains("sdc"));
    }
}
