//! Durable file primitives, shared by every daemon; they know nothing of
//! any store's layout.
//!
//! Durability protocol: a file is replaced by writing `.<name>.new` in the
//! same directory, `fsync`ing it, renaming it over `<name>`, and `fsync`ing
//! the directory. The directory `fsync` is separate ([`sync_dir`]) so that a
//! group commit pays it once per directory however many files it changed.
//! Temporary names start with `.` (so programs that skip dot names, as
//! nfs-utils does in `sm/`, never read them); leftovers from a crash are
//! removed at load ([`remove_stale_temps`]). A damaged file is never
//! deleted: [`move_aside`] keeps it under a numbered `.corrupt-N` name.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Files only their owner may read (records, spools).
pub const MODE_PRIVATE: u32 = 0o600;
/// Files anyone may read (state numbers, boot ids, pid files).
pub const MODE_PUBLIC: u32 = 0o644;
/// Directories we create, as distributions ship theirs.
const MODE_DIR: u32 = 0o755;

/// The temporary name `.<name>.new` under which `name` is written.
pub fn temp_name(name: &OsStr) -> OsString {
    let mut t = OsString::from(".");
    t.push(name);
    t.push(".new");
    t
}

/// Whether `name` is a temporary file of ours or of nfs-utils.
pub fn is_temp_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b.len() > ".new".len() + 1 && b.starts_with(b".") && b.ends_with(b".new")
}

/// Reads `path` whole; `Ok(None)` when it does not exist. Files larger than
/// `max` bytes are an `InvalidData` error (nothing of ours grows that big).
pub fn read_optional(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Room for a typical small file up front: one read and the one that
    // sees its end, not the growth steps from an empty buffer.
    let mut bytes = Vec::with_capacity(usize::try_from(max.min(4096)).unwrap_or(4096) + 1);
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(Some(bytes))
}

/// A directory entry: its name and whether it is a regular file (by
/// `lstat`, so a symlink is not).
pub struct Entry {
    pub name: OsString,
    pub regular: bool,
}

/// The entries of `dir`, sorted by name.
pub fn list_dir(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let regular = item.file_type()?.is_file();
        out.push(Entry {
            name: item.file_name(),
            regular,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Creates `dir` (mode 0755) if it is missing.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(MODE_DIR).create(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}

/// Replaces `dir/name` with `bytes` through `dir/.name.new`: write, `fsync`,
/// set `mode`, rename. The directory is *not* synced; call [`sync_dir`]
/// once all files of a commit are in place.
pub fn write_synced(dir: &Path, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
    let temp = dir.join(temp_name(name));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(&temp)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        give_to_dir_owner(&file, dir)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Rewrites the existing file `path` in place with `bytes` (at most 512
/// bytes: one disk sector) and `fdatasync`s it; `Ok(false)` when there is
/// no such file (nothing is created).
///
/// This is how `state` changes once the daemon runs as the records' owner
/// in a state directory it cannot write (Debian's `/var/lib/nfs` is
/// root-owned; `state` is owned by `statd`). It is as safe as
/// [`write_synced`] for a file this small: the name never changes, so no
/// directory entry is at stake, and a write of one sector at offset 0 lands
/// whole or not at all (the guarantee PostgreSQL relies on for its
/// 512-byte `pg_control`). A longer old file is cut to `bytes.len()` after
/// the data is durable, so a crash in between leaves the new bytes first.
///
/// # Panics
/// If `bytes` is longer than 512 bytes (a caller's bug).
pub fn overwrite_in_place(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    assert!(bytes.len() <= 512, "in-place writes are one sector at most");
    let file = match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    file.write_all_at(bytes, 0)?;
    file.sync_data()?;
    if file.metadata()?.len() > bytes.len() as u64 {
        file.set_len(bytes.len() as u64)?;
        file.sync_data()?;
    }
    Ok(true)
}

/// When we run as root (before the privilege drop, or a daemon that stays
/// root), gives a file we create to the owner of its directory: records
/// written in `sm/` before the drop must stay the dropped user's, as
/// nfs-utils' are.
pub fn give_to_dir_owner(file: &File, dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let owner = fs::metadata(dir)?;
    if owner.uid() == 0 {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(owner.uid()), Some(owner.gid()))
}

/// `fsync`s a directory, making renames and unlinks in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Unlinks `dir/name`; a missing file is not an error. The directory is
/// not synced.
pub fn remove(dir: &Path, name: &OsStr) -> io::Result<()> {
    match fs::remove_file(dir.join(name)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Renames `from/name` to `to/name` (same file system), the directories
/// given as open handles (no path walk per file, for moving many files).
/// Neither directory is synced.
pub fn rename_between(from: &File, name: &OsStr, to: &File) -> io::Result<()> {
    rustix::fs::renameat(from, name, to, name).map_err(io::Error::from)
}

/// Moves a damaged `dir/name` aside to `dir/.name.corrupt-N` (the first free
/// N), syncs the directory and returns the new path. The leading `.` keeps
/// nfs-utils and our loader from reading it as a host.
pub fn move_aside(dir: &Path, name: &OsStr) -> io::Result<PathBuf> {
    for n in 1..10_000u32 {
        let mut aside = OsString::from(".");
        aside.push(name);
        aside.push(format!(".corrupt-{n}"));
        let target = dir.join(&aside);
        if fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        fs::rename(dir.join(name), &target)?;
        sync_dir(dir)?;
        return Ok(target);
    }
    Err(io::Error::other("too many .corrupt files"))
}

/// Removes `dir/.name.new`, the temporary file a crash may have left while
/// replacing `dir/name`; returns whether there was one. Used in directories
/// shared with other programs, where only our own names may be touched.
pub fn remove_temp_of(dir: &Path, name: &OsStr) -> io::Result<bool> {
    match fs::remove_file(dir.join(temp_name(name))) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes temporary files (`.*.new`) that a crash left in `dir`; returns
/// their names. The directory is synced if anything was removed.
pub fn remove_stale_temps(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut removed = Vec::new();
    for entry in list_dir(dir)? {
        if entry.regular && is_temp_name(&entry.name) {
            remove(dir, &entry.name)?;
            removed.push(entry.name);
        }
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let name = OsStr::new("peer");
        write_synced(dir.path(), name, b"one", MODE_PRIVATE).unwrap();
        write_synced(dir.path(), name, b"two", MODE_PRIVATE).unwrap();
        sync_dir(dir.path()).unwrap();
        assert_eq!(fs::read(dir.path().join("peer")).unwrap(), b"two");
        let mode = fs::metadata(dir.path().join("peer"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = list_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, vec![OsString::from("peer")]);
    }

    #[test]
    fn temps_are_cleaned_and_corrupt_files_numbered() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".peer.new"), b"x").unwrap();
        fs::write(dir.path().join(".new"), b"x").unwrap();
        fs::write(dir.path().join("peer"), b"bad").unwrap();
        assert_eq!(
            remove_stale_temps(dir.path()).unwrap(),
            vec![OsString::from(".peer.new")]
        );
        fs::write(dir.path().join(".state.new"), b"x").unwrap();
        assert!(remove_temp_of(dir.path(), OsStr::new("state")).unwrap());
        assert!(!remove_temp_of(dir.path(), OsStr::new("state")).unwrap());
        let first = move_aside(dir.path(), OsStr::new("peer")).unwrap();
        fs::write(dir.path().join("peer"), b"bad again").unwrap();
        let second = move_aside(dir.path(), OsStr::new("peer")).unwrap();
        assert!(first.ends_with(".peer.corrupt-1"));
        assert!(second.ends_with(".peer.corrupt-2"));
        assert_eq!(fs::read(second).unwrap(), b"bad again");
    }

    #[test]
    fn read_optional_reports_missing_and_oversized() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(read_optional(&path, 10).unwrap(), None);
        fs::write(&path, [0u8; 11]).unwrap();
        assert_eq!(
            read_optional(&path, 10).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(read_optional(&path, 11).unwrap().unwrap().len(), 11);
    }

    #[test]
    fn in_place_overwrite_keeps_the_inode_and_creates_nothing() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        assert!(!overwrite_in_place(&path, b"\x03\0\0\0").unwrap());
        assert!(!path.exists(), "nothing is created");
        fs::write(&path, b"").unwrap();
        let ino = fs::metadata(&path).unwrap().ino();
        assert!(overwrite_in_place(&path, b"\x03\0\0\0").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"\x03\0\0\0");
        fs::write(&path, b"0123456789").unwrap();
        assert!(overwrite_in_place(&path, b"\x05\0\0\0").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"\x05\0\0\0");
        assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
        std::os::unix::fs::symlink(&path, dir.path().join("link")).unwrap();
        assert!(overwrite_in_place(&dir.path().join("link"), b"x").is_err());
    }
}
