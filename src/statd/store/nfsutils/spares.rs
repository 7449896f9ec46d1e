//! Spare record files: a record file removed from `sm/` is renamed to
//! `sm/.statmon-spare-<n>` instead of being unlinked, and the next record
//! written to `sm/` is written into a spare and renamed into place.
//!
//! Why: on ext4 (and most file systems) creating an inode and freeing one
//! cost far more than rewriting a small file in place. `perf` of the store
//! thread under SM_MON+SM_UNMON load showed 49 % of its time in `openat
//! (O_CREAT)` (`__ext4_new_inode` scanning for an inode that was not
//! recently deleted) and 20 % in `unlink` (freeing the block, with a
//! synchronous discard on a `discard` mount). A spare keeps its inode and
//! its data block; rewriting it is a `pwrite` of the same block.
//!
//! Invariants:
//! - A spare is a regular file in `sm/` whose name starts with
//!   [`SPARE_PREFIX`]. The leading `.` keeps it invisible to nfs-utils
//!   (`nsm_load_dir` and `nsm_retire_monitored_hosts` skip dot names) and
//!   to our own loader. Its content is meaningless.
//! - A spare is written, made durable (the batch's `syncfs` or `fsync`)
//!   and only then renamed over its record name, exactly as a fresh
//!   temporary file would be, so a record file never shows a spare's old
//!   content.
//! - A spare with more than one link (a hard link an administrator made,
//!   or a crash that left a rename half done on a file system without a
//!   journal) is never rewritten: it is unlinked instead.
//! - At most [`MAX_SPARES`] spares exist at once; past that, removed
//!   records are unlinked as before.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::daemon::durable;

/// The name prefix of spare files.
pub(super) const SPARE_PREFIX: &str = ".statmon-spare-";

/// Most spare files kept (at one 4 KiB block each, 1 MiB of disk).
pub(super) const MAX_SPARES: usize = 256;

/// Whether `name` is a spare's name.
pub(super) fn is_spare_name(name: &[u8]) -> bool {
    name.strip_prefix(SPARE_PREFIX.as_bytes())
        .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
}

/// A spare opened for rewriting.
#[derive(Debug)]
pub(super) struct Spare {
    /// Open for writing; the caller writes at offset 0.
    pub(super) file: File,
    /// Its path in the record directory.
    pub(super) path: PathBuf,
    /// Its length before rewriting (the caller truncates if the new
    /// content is shorter).
    pub(super) old_len: u64,
}

/// The pool of spare files of one record directory.
#[derive(Debug)]
pub(super) struct Spares {
    dir: PathBuf,
    /// Names of spares ready for reuse.
    free: Vec<OsString>,
    /// The number of the next spare name.
    next: u64,
}

impl Spares {
    /// An empty pool for record directory `dir`.
    pub(super) fn new(dir: PathBuf) -> Spares {
        Spares {
            dir,
            free: Vec::new(),
            next: 1,
        }
    }

    /// The record directory the spares live in.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes in the spare `name` found in the directory at load; past
    /// [`MAX_SPARES`] it is unlinked instead. The directory is not synced.
    pub(super) fn adopt(&mut self, name: &OsStr) -> io::Result<()> {
        if let Some(n) = name
            .as_bytes()
            .strip_prefix(SPARE_PREFIX.as_bytes())
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<u64>().ok())
        {
            self.next = self.next.max(n.saturating_add(1));
        }
        if self.free.len() < MAX_SPARES {
            self.free.push(name.to_os_string());
            Ok(())
        } else {
            durable::remove(&self.dir, name)
        }
    }

    /// A spare opened for rewriting with permissions `mode`, or `None` if
    /// the pool is empty (or no spare in it can be used; those are
    /// unlinked).
    pub(super) fn take(&mut self, mode: u32) -> Option<Spare> {
        while let Some(name) = self.free.pop() {
            let path = self.dir.join(&name);
            let why = match open_for_rewrite(&path, mode) {
                Ok(Some((file, old_len))) => {
                    return Some(Spare {
                        file,
                        path,
                        old_len,
                    })
                }
                Ok(None) => "not a regular file with one link".to_string(),
                Err(e) => e.to_string(),
            };
            log::debug!("{}: not reusable ({why}), removed", path.display());
            let _ = durable::remove(&self.dir, &name);
        }
        None
    }

    /// Returns a spare [`Spares::take`] gave out and that was not renamed
    /// into place (its content is meaningless again).
    pub(super) fn put_back(&mut self, path: &Path) {
        let Some(name) = path.file_name() else {
            return;
        };
        if self.free.len() < MAX_SPARES {
            self.free.push(name.to_os_string());
        } else {
            let _ = durable::remove(&self.dir, name);
        }
    }

    /// Removes the record file `name` from the directory: renamed to a new
    /// spare while the pool has room, else unlinked. A missing file is not
    /// an error. The directory is not synced.
    pub(super) fn retire(&mut self, name: &OsStr) -> io::Result<()> {
        let path = self.dir.join(name);
        if self.free.len() < MAX_SPARES {
            let spare = OsString::from(format!("{SPARE_PREFIX}{}", self.next));
            self.next += 1;
            match fs::rename(&path, self.dir.join(&spare)) {
                Ok(()) => {
                    self.free.push(spare);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => log::debug!("{}: cannot keep as a spare ({e})", path.display()),
            }
        }
        durable::remove(&self.dir, name)
    }
}

/// Opens `path` for rewriting: `None` if it is not a regular file with a
/// single link.
fn open_for_rewrite(path: &Path, mode: u32) -> io::Result<Option<(File, u64)>> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.nlink() != 1 {
        return Ok(None);
    }
    if meta.mode() & 0o7777 != mode {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(Some((file, meta.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_names() {
        assert!(is_spare_name(b".statmon-spare-1"));
        assert!(is_spare_name(b".statmon-spare-300"));
        assert!(!is_spare_name(b".statmon-spare-"));
        assert!(!is_spare_name(b".statmon-spare-1.new"));
        assert!(!is_spare_name(b"statmon-spare-1"));
    }

    #[test]
    fn retired_files_are_reused_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut spares = Spares::new(dir.path().to_path_buf());
        fs::write(dir.path().join("host"), b"a longer record\n").unwrap();
        let ino = fs::metadata(dir.path().join("host")).unwrap().ino();
        spares.retire(OsStr::new("host")).unwrap();
        spares.retire(OsStr::new("missing")).unwrap();
        assert!(!dir.path().join("host").exists());
        assert_eq!(spares.free.len(), 1);
        let spare = spares.take(0o600).unwrap();
        assert_eq!(spare.old_len, 16);
        assert_eq!(spare.file.metadata().unwrap().ino(), ino);
        assert_eq!(spare.path, dir.path().join(".statmon-spare-1"));
        assert!(spares.take(0o600).is_none());
        spares.put_back(&spare.path);
        assert_eq!(spares.free.len(), 1);
    }

    #[test]
    fn linked_or_odd_spares_are_removed_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut spares = Spares::new(dir.path().to_path_buf());
        fs::write(dir.path().join(".statmon-spare-7"), b"x").unwrap();
        fs::hard_link(
            dir.path().join(".statmon-spare-7"),
            dir.path().join("backup"),
        )
        .unwrap();
        fs::create_dir(dir.path().join(".statmon-spare-8")).unwrap();
        spares.adopt(OsStr::new(".statmon-spare-7")).unwrap();
        spares.adopt(OsStr::new(".statmon-spare-8")).unwrap();
        assert!(spares.take(0o600).is_none());
        assert!(!dir.path().join(".statmon-spare-7").exists());
        assert_eq!(fs::read(dir.path().join("backup")).unwrap(), b"x");
        // New spares are numbered past the adopted ones.
        fs::write(dir.path().join("host"), b"r").unwrap();
        spares.retire(OsStr::new("host")).unwrap();
        assert!(dir.path().join(".statmon-spare-9").exists());
    }

    #[test]
    fn the_pool_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut spares = Spares::new(dir.path().to_path_buf());
        for i in 0..MAX_SPARES + 3 {
            let name = format!("h{i}");
            fs::write(dir.path().join(&name), b"r").unwrap();
            spares.retire(OsStr::new(&name)).unwrap();
        }
        assert_eq!(spares.free.len(), MAX_SPARES);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), MAX_SPARES);
    }
}
