//! Named pipes read by the reactor. The FIFO is opened O_RDWR: the reactor
//! is then a writer too, so the last outside writer closing does not turn
//! the pipe into an end-of-file that is readable for ever.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::{mkfifoat, Mode, CWD};

/// Opens the FIFO at `path` non-blocking, creating it with mode 0600 if
/// missing. Fails with `InvalidInput` if `path` is not a FIFO.
pub(crate) fn open(path: &Path) -> io::Result<File> {
    match mkfifoat(CWD, path, Mode::RUSR | Mode::WUSR) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::EXIST => {}
        Err(e) => return Err(e.into()),
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.file_type().is_fifo() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a FIFO", path.display()),
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_private_fifo_and_reads_would_block_when_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ctl");
        let mut fifo = open(&path).expect("open");
        let meta = std::fs::metadata(&path).expect("metadata");
        assert!(meta.file_type().is_fifo());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let err = fifo.read(&mut [0u8; 16]).expect_err("empty");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        open(&path).expect("an existing FIFO opens again");
    }

    #[test]
    fn refuses_a_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plain");
        std::fs::write(&path, b"x").expect("write");
        let err = open(&path).expect_err("not a fifo");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
