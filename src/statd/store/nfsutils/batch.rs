//! A [`Batch`]: the record files of one commit, made durable together,
//! written into spare record files ([`Spares`]) when one is free and into
//! `.<name>.new` otherwise. The protocol is [`crate::daemon::durable`]'s.

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
        if dir == self.spares.dir() {
            if let Some(spare) = self.spares.take(mode) {
                let written = spare.file.write_all_at(bytes, 0).and_then(|()| {
                    if spare.old_len > bytes.len() as u64 {
                        spare.file.set_len(bytes.len() as u64)
                    } else {
                        Ok(())
                    }
                });
                if let Err(e) = written {
                    self.spares.put_back(&spare.path);
                    return Err(e);
                }
                self.files.push(Pending {
                    file: spare.file,
                    temp: spare.path,
                    target,
                    spare: true,
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
                });
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
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
