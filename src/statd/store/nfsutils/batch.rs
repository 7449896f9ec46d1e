//! A [`Batch`]: the record files of one commit, made durable together,
//! written into spare record files ([`Spares`]) when one is free and into
//! `.<name>.new` otherwise.
//!
//! Two protocols, chosen per commit:
//! - [`Batch::finish`]: [`crate::daemon::durable`]'s (each file synced,
//!   then renamed; the caller syncs the directories): two journal commits.
//!   Needed when a file goes over a record file already in place, whose
//!   acknowledged content must survive any crash before the new content is
//!   durable.
//! - [`Batch::place_for_syncfs`], when no file replaces one in place: the
//!   files are renamed at once and the caller makes the whole commit
//!   durable with one `syncfs` (writeback of the data, then one journal
//!   commit with the renames and removals). A reply waits for that
//!   `syncfs`, so every acknowledged change is as durable as before; a
//!   crash before it can only leave, under a *new* name, nothing, an empty
//!   file or the new record, never older content: a reused spare is cut to
//!   length 0 before it is written, and the cut is journalled no later
//!   than the rename. The loader reports an empty record file and removes
//!   it.

use super::spares::Spares;
use crate::daemon::durable::temp_name;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// From this many files on, a commit syncs the file system once
/// (`syncfs`) instead of each file (`fsync`).
const SYNCFS_FROM: usize = 4;

/// One file of a [`Batch`], written but not yet in place.
#[derive(Debug)]
struct Pending {
    file: File,
    /// Where it is now: `.name.new`, or a spare.
    temp: PathBuf,
    /// Where it goes.
    target: PathBuf,
    /// `temp` is a spare, returned to the pool if not renamed.
    spare: bool,
    /// `target` existed when the file was written.
    replaces: bool,
}

/// The files of one commit, made durable together: each is written to a
/// temporary file at once (a spare from the pool when it goes into the
/// pool's directory, else `.name.new`), [`Batch::finish`] makes all of
/// them durable with one `syncfs` (or one `fsync` each for a few) and then
/// renames them into place. Directories are *not* synced; call
/// [`crate::daemon::durable::sync_dir`] after. A batch dropped unfinished removes its temporary
/// files and returns its spares to the pool.
#[derive(Debug)]
pub(super) struct Batch<'a> {
    spares: &'a mut Spares,
    files: Vec<Pending>,
}

impl<'a> Batch<'a> {
    /// An empty batch that takes spares from (and returns them to) `spares`.
    pub(super) fn new(spares: &'a mut Spares) -> Batch<'a> {
        Batch {
            spares,
            files: Vec::new(),
        }
    }

    /// Writes `bytes` for `dir/name` with `mode` (not yet durable, not yet
    /// in place).
    pub(super) fn write(
        &mut self,
        dir: &Path,
        name: &OsStr,
        bytes: &[u8],
        mode: u32,
    ) -> io::Result<()> {
        let target = dir.join(name);
        let replaces = fs::symlink_metadata(&target).is_ok();
        if dir == self.spares.dir() {
            if let Some(spare) = self.spares.take(mode) {
                // Over a file in place, the spare is synced before its
                // rename and may keep its block; otherwise it is cut to 0
                // first, so that it never shows its old content.
                let cut = if replaces { bytes.len() as u64 } else { 0 };
                let cut = if spare.old_len > cut {
                    spare.file.set_len(cut)
                } else {
                    Ok(())
                };
                let written = cut.and_then(|()| spare.file.write_all_at(bytes, 0));
                if let Err(e) = written {
                    self.spares.put_back(&spare.path);
                    return Err(e);
                }
                self.files.push(Pending {
                    file: spare.file,
                    temp: spare.path,
                    target,
                    spare: true,
                    replaces,
                });
                return Ok(());
            }
        }
        let temp = dir.join(temp_name(name));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(mode)
                .custom_flags(libc::O_CLOEXEC)
                .open(&temp)?;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            file.write_all(bytes)?;
            Ok::<File, io::Error>(file)
        })();
        match written {
            Ok(file) => {
                self.files.push(Pending {
                    file,
                    temp,
                    target,
                    spare: false,
                    replaces,
                });
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
    }

    /// Whether some file goes over a file that was in place when it was
    /// written (then only [`Batch::finish`] is safe).
    pub(super) fn replaces(&self) -> bool {
        self.files.iter().any(|p| p.replaces)
    }

    /// Renames every file into place without syncing it first; the caller
    /// must `syncfs` before anything depends on the commit. Only for a
    /// batch that [replaces](Batch::replaces) nothing (see the module doc).
    pub(super) fn place_for_syncfs(mut self) -> io::Result<()> {
        debug_assert!(!self.replaces(), "a replacing batch needs finish()");
        self.rename_all()
    }

    /// Makes every file durable, then renames each into place.
    pub(super) fn finish(mut self) -> io::Result<()> {
        if self.files.len() >= SYNCFS_FROM {
            if let Some(first) = self.files.first() {
                rustix::fs::syncfs(&first.file)?;
            }
        } else {
            for pending in &self.files {
                pending.file.sync_all()?;
            }
        }
        self.rename_all()
    }

    fn rename_all(&mut self) -> io::Result<()> {
        while let Some(pending) = self.files.pop() {
            if let Err(e) = fs::rename(&pending.temp, &pending.target) {
                self.abandon(pending);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Gets rid of a file that will not be renamed into place.
    fn abandon(&mut self, pending: Pending) {
        if pending.spare {
            self.spares.put_back(&pending.temp);
        } else {
            let _ = fs::remove_file(&pending.temp);
        }
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        while let Some(pending) = self.files.pop() {
            self.abandon(pending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn new_names_take_one_commit_and_replacements_two() {
        let dir = tempfile::tempdir().unwrap();
        let mut spares = Spares::new(dir.path().to_path_buf());
        let mut batch = Batch::new(&mut spares);
        batch
            .write(dir.path(), OsStr::new("a"), b"first\n", 0o600)
            .unwrap();
        assert!(!batch.replaces());
        batch.place_for_syncfs().unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"first\n");

        let mut batch = Batch::new(&mut spares);
        batch
            .write(dir.path(), OsStr::new("a"), b"second\n", 0o600)
            .unwrap();
        batch
            .write(dir.path(), OsStr::new("b"), b"other\n", 0o600)
            .unwrap();
        assert!(
            batch.replaces(),
            "a is in place: this batch must sync first"
        );
        batch.finish().unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"second\n");
        assert_eq!(fs::read(dir.path().join("b")).unwrap(), b"other\n");
    }

    #[test]
    fn a_spare_for_a_new_name_is_cut_before_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut spares = Spares::new(dir.path().to_path_buf());
        fs::write(dir.path().join("old"), b"a much longer old record\n").unwrap();
        let ino = fs::metadata(dir.path().join("old")).unwrap().ino();
        spares.retire(OsStr::new("old")).unwrap();
        let mut batch = Batch::new(&mut spares);
        batch
            .write(dir.path(), OsStr::new("new"), b"short\n", 0o600)
            .unwrap();
        assert!(!batch.replaces());
        batch.place_for_syncfs().unwrap();
        let placed = dir.path().join("new");
        assert_eq!(
            fs::metadata(&placed).unwrap().ino(),
            ino,
            "the spare was reused"
        );
        assert_eq!(fs::read(&placed).unwrap(), b"short\n");
    }
}
