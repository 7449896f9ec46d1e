//! A request spool: a file in a daemon's directory where administration
//! commands append requests, one line each, for the running daemon to take
//! when it is signalled. Appends are durable before the command signals;
//! the daemon takes everything at once.
//!
//! Taking renames the spool to `<name>.taking` before reading it, so a
//! request appended meanwhile lands in a new spool for the next signal;
//! a `.taking` file left by a reader that died is read first.

use super::durable;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Largest spool read; a longer one is an error (nothing legitimate writes
/// that much).
pub const MAX_SPOOL: u64 = 16 << 20;

/// Appends `line` and a newline to `dir/name` (created mode 0600, owned by
/// the directory's owner when we run as root: the daemon that takes it
/// runs as that user), then syncs the file and the directory.
pub fn append(dir: &Path, name: &str, line: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(durable::MODE_PRIVATE)
        .open(dir.join(name))?;
    if rustix::process::geteuid().is_root() {
        let owner = fs::metadata(dir)?;
        std::os::unix::fs::fchown(&file, Some(owner.uid()), Some(owner.gid()))?;
    }
    let mut bytes = line.to_vec();
    bytes.push(b'\n');
    file.write_all(&bytes)?;
    file.sync_all()?;
    File::open(dir)?.sync_all()
}

/// Takes every request in `dir/name`, oldest first, as `(line number,
/// line)` with empty lines skipped, and removes the spool. A missing spool
/// holds no request.
pub fn take(dir: &Path, name: &str) -> io::Result<Vec<(usize, Vec<u8>)>> {
    let spool = dir.join(name);
    let taking = dir.join(format!("{name}.taking"));
    let mut bytes = durable::read_optional(&taking, MAX_SPOOL)?.unwrap_or_default();
    match fs::rename(&spool, &taking) {
        Ok(()) => bytes.extend(durable::read_optional(&taking, MAX_SPOOL)?.unwrap_or_default()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    match fs::remove_file(&taking) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| (i + 1, line.to_vec()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_lines_are_taken_once_after_a_dead_readers_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(take(d, "spool").unwrap().is_empty());
        append(d, "spool", b"one").unwrap();
        append(d, "spool", b"two").unwrap();
        fs::write(d.join("spool.taking"), b"older\n\n").unwrap();
        let lines: Vec<Vec<u8>> = take(d, "spool").unwrap().into_iter().map(|l| l.1).collect();
        assert_eq!(lines, [b"older".to_vec(), b"one".to_vec(), b"two".to_vec()]);
        assert!(!d.join("spool").exists() && !d.join("spool.taking").exists());
        assert!(take(d, "spool").unwrap().is_empty());
    }
}
