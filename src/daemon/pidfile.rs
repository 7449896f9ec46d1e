//! Pid files: `"<pid>\n"` under the names init scripts and systemd look for.
//!
//! nfs-utils' rpc.statd writes [`NFS_UTILS_PATH`] (Debian's
//! `rpc-statd.service` has `PIDFile=/run/rpc.statd.pid`, and `start-statd`
//! reads it to see whether statd runs) and truncates it at exit; other seeds
//! use other names (Apple: `/var/run/statd.pid`), so the caller passes each
//! name.
//!
//! # When
//!
//! Write them in the daemon process after it has forked away from the
//! terminal (the pid must be the daemon's, not the parent's that exits) and
//! before it reports ready on the readiness pipe: with `Type=forking`,
//! systemd reads `PIDFile=` as soon as the parent exits. Write them before
//! dropping root (the directory is root's), and [`PidFiles::chown`] them to
//! the new owner first as nfs-utils does.
//!
//! # Removal
//!
//! [`PidFiles::remove`] (or dropping the value) deletes each file that still
//! is the file we wrote and still holds our pid, so a newer daemon's file is
//! never touched. Once the daemon has given up root it usually may not
//! delete entries in `/run`; it then empties the file through the descriptor
//! it kept open, as nfs-utils' `truncate_pidfile` does (an empty pid file
//! reads as "not running" to `start-statd`).

use super::privs::Owner;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The pid file of nfs-utils' rpc.statd.
pub const NFS_UTILS_PATH: &str = "/run/rpc.statd.pid";

/// Mode of a new pid file, whatever the umask.
const MODE: u32 = 0o644;

/// The pid files this process wrote, removed on [`PidFiles::remove`] or drop.
#[derive(Debug)]
pub struct PidFiles {
    /// The process that wrote the files; no other process removes them
    /// (a forked child that drops its copy must leave them alone).
    pid: u32,
    written: Vec<Written>,
}

#[derive(Debug)]
struct Written {
    path: PathBuf,
    /// Kept open (for writing) so the file can be emptied without
    /// permission on its directory.
    file: File,
}

impl Default for PidFiles {
    fn default() -> PidFiles {
        PidFiles::new()
    }
}

impl PidFiles {
    /// No pid files yet, for the calling process.
    pub fn new() -> PidFiles {
        PidFiles {
            pid: std::process::id(),
            written: Vec::new(),
        }
    }

    /// The exact contents of each file: the pid in decimal and a newline.
    fn contents(&self) -> String {
        format!("{}\n", self.pid)
    }

    /// Writes our pid to `path`, replacing whatever was there.
    ///
    /// The file appears complete or not at all: the text goes to a hidden
    /// temporary file in the same directory (mode 0644), which is then
    /// renamed over `path`. A missing directory is an error (`NotFound`);
    /// the caller logs it and goes on, as the daemon runs without a pid file.
    pub fn write(&mut self, path: &Path) -> io::Result<()> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "pid file path has no file name",
            )
        })?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.tmp", self.pid));
        let tmp = path.with_file_name(tmp_name);
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = match self.write_new(&tmp).and_then(|f| {
            std::fs::rename(&tmp, path)?;
            Ok(f)
        }) {
            Ok(file) => file,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        self.written.retain(|w| w.path != path);
        self.written.push(Written {
            path: path.to_path_buf(),
            file,
        });
        Ok(())
    }

    fn write_new(&self, tmp: &Path) -> io::Result<File> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .open(tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(MODE))?;
        file.write_all(self.contents().as_bytes())?;
        Ok(file)
    }

    /// Gives every file written so far to `owner` (nfs-utils does this before
    /// dropping root, so a pid file on NFS stays reachable). Needs root.
    pub fn chown(&self, owner: Owner) -> io::Result<()> {
        for w in &self.written {
            std::os::unix::fs::fchown(&w.file, Some(owner.uid), Some(owner.gid))?;
        }
        Ok(())
    }

    /// Deletes (or, without the right to, empties) every file that is still
    /// ours; see the module docs. Tries all of them and returns the first
    /// error. Does nothing in a process other than the one that wrote them.
    pub fn remove(&mut self) -> io::Result<()> {
        let written = std::mem::take(&mut self.written);
        if std::process::id() != self.pid {
            return Ok(());
        }
        let mut result = Ok(());
        for w in written {
            if let Err(e) = self.retire(&w) {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }

    fn retire(&self, w: &Written) -> io::Result<()> {
        if !self.still_ours(w)? {
            return Ok(());
        }
        match std::fs::remove_file(&w.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => w.file.set_len(0),
            Err(e) => Err(e),
        }
    }

    /// Whether `w.path` still names the file we wrote and it still holds
    /// exactly our pid.
    fn still_ours(&self, w: &Written) -> io::Result<bool> {
        let on_disk = match std::fs::symlink_metadata(&w.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let held = w.file.metadata()?;
        if on_disk.dev() != held.dev() || on_disk.ino() != held.ino() {
            return Ok(false);
        }
        Ok(std::fs::read(&w.path)? == self.contents().as_bytes())
    }
}

impl Drop for PidFiles {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys;
    use std::process::Command;

    const HELPER_VAR: &str = "STATMON_PIDFILE_HELPER_DIR";
    const NOBODY: u32 = 65534;

    fn mine() -> String {
        format!("{}\n", std::process::id())
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_pid_and_newline_with_mode_0644_and_no_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpc.statd.pid");
        let mut pids = PidFiles::new();
        pids.write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), mine());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o644);
        assert_eq!(entries(dir.path()), ["rpc.statd.pid"]);
        drop(pids);
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn replaces_a_stale_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("statd.pid");
        std::fs::write(&path, "999999999\nextra\n").unwrap();
        let mut pids = PidFiles::new();
        pids.write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), mine());
        pids.remove().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn missing_directory_is_not_found_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("rpc.statd.pid");
        let mut pids = PidFiles::new();
        let err = pids.write(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(entries(dir.path()).is_empty());
        assert!(pids.written.is_empty());
    }

    #[test]
    fn path_without_file_name_is_invalid_input() {
        let err = PidFiles::new().write(Path::new("/")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn several_files_all_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("rpc.statd.pid");
        let b = dir.path().join("statd.pid");
        {
            let mut pids = PidFiles::new();
            pids.write(&a).unwrap();
            pids.write(&b).unwrap();
            pids.write(&a).unwrap();
            assert_eq!(pids.written.len(), 2);
            assert_eq!(std::fs::read_to_string(&b).unwrap(), mine());
        }
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn a_newer_daemons_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let replaced = dir.path().join("replaced.pid");
        let rewritten = dir.path().join("rewritten.pid");
        let mut pids = PidFiles::new();
        pids.write(&replaced).unwrap();
        pids.write(&rewritten).unwrap();
        // Another daemon put a new file in place (new inode, even with our pid).
        std::fs::remove_file(&replaced).unwrap();
        std::fs::write(&replaced, mine()).unwrap();
        // Or wrote its pid into the same file.
        std::fs::write(&rewritten, "1\n").unwrap();
        pids.remove().unwrap();
        assert_eq!(std::fs::read_to_string(&replaced).unwrap(), mine());
        assert_eq!(std::fs::read_to_string(&rewritten).unwrap(), "1\n");
    }

    #[test]
    fn already_deleted_file_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.pid");
        let mut pids = PidFiles::new();
        pids.write(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        pids.remove().unwrap();
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn another_process_does_not_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("statd.pid");
        let mut pids = PidFiles::new();
        pids.write(&path).unwrap();
        // As seen from a forked child: the writer's pid differs from ours.
        pids.pid = std::process::id().wrapping_add(1);
        pids.remove().unwrap();
        assert!(path.exists());
    }

    #[test]
    fn chown_gives_the_files_away() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpc.statd.pid");
        let mut pids = PidFiles::new();
        pids.write(&path).unwrap();
        let nobody = Owner {
            uid: NOBODY,
            gid: NOBODY,
        };
        pids.chown(nobody).unwrap();
        assert_eq!(crate::daemon::privs::owner_of(&path).unwrap(), nobody);
        pids.remove().unwrap();
        assert!(!path.exists());
    }

    /// Runs in a child process: writes a pid file as root in a root-owned
    /// directory, becomes nobody, removes it. Does nothing when run by hand.
    #[test]
    #[ignore = "run in a child process by unprivileged_removal_empties_the_file"]
    fn helper_in_child() {
        let Ok(dir) = std::env::var(HELPER_VAR) else {
            return;
        };
        let path = Path::new(&dir).join("rpc.statd.pid");
        let mut pids = PidFiles::new();
        pids.write(&path).unwrap();
        sys::set_all_gids(NOBODY).unwrap();
        sys::set_all_uids(NOBODY).unwrap();
        pids.remove().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        println!("pidfile-helper ok");
    }

    #[test]
    fn unprivileged_removal_empties_the_file() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "daemon::pidfile::tests::helper_in_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_VAR, dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("pidfile-helper ok"),
            "helper failed: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let path = dir.path().join("rpc.statd.pid");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }
}
