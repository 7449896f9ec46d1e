//! The one-daemon-per-directory lock, and handing a directory from one
//! role to another.
//!
//! The lock is a POSIX record lock on [`LOCK_FILE`] in the directory; it
//! holds `PID ROLE` so that others can tell who holds it
//! ([`lock_holder`]). It goes away with the process, however it ends.

use rustix::fs::FlockOperation;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An exclusive hold on a directory, released when dropped or when the
/// process dies.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Name of the lock file inside a state directory.
pub const LOCK_FILE: &str = ".statmon.lock";

/// Creates `dir` if needed and takes the lock file in it, writing our pid.
/// A second daemon on the same directory gets an error naming the holder.
pub fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    lock_dir_as(dir, "")
}

/// As [`lock_dir`], writing `PID ROLE` so others can tell who holds it
/// ([`lock_holder`]).
pub fn lock_dir_as(dir: &Path, role: &str) -> io::Result<DirLock> {
    let named = |e: io::Error, p: &Path| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
    std::fs::create_dir_all(dir).map_err(|e| named(e, dir))?;
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| named(e, &path))?;
    if let Err(e) = rustix::fs::fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        let who = if holder.is_empty() {
            "another daemon".to_string()
        } else {
            format!("pid {holder}")
        };
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is in use by {who} ({e})", dir.display()),
        ));
    }
    file.set_len(0)?;
    if role.is_empty() {
        writeln!(file, "{}", std::process::id())?;
    } else {
        writeln!(file, "{} {role}", std::process::id())?;
    }
    Ok(DirLock { _file: file, path })
}

/// The pid and role written by whoever holds `dir`'s lock. Never call it
/// from the process holding the lock: closing any descriptor of the lock
/// file drops a POSIX record lock.
pub fn lock_holder(dir: &Path) -> Option<(i32, String)> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    Some((pid, words.next().unwrap_or_default().to_string()))
}

/// How long [`lock_taking_over`] waits for the holder to go.
pub const TAKE_OVER_WAIT: Duration = Duration::from_secs(5);

/// Takes `dir`'s lock as `role`. When a process of role `yielding` holds
/// it, that process is asked to stop (SIGTERM; it saves its work first)
/// and the lock is taken once it has gone, within [`TAKE_OVER_WAIT`]:
/// `Ok((lock, true))`. Anyone else holding it is an error naming them.
pub fn lock_taking_over(dir: &Path, role: &str, yielding: &str) -> io::Result<(DirLock, bool)> {
    let err = match lock_dir_as(dir, role) {
        Ok(lock) => return Ok((lock, false)),
        Err(e) => e,
    };
    let Some((pid, holder)) = lock_holder(dir) else {
        return Err(err);
    };
    if holder != yielding {
        return Err(err);
    }
    log::info!(
        "a {yielding} (pid {pid}) holds {}; taking over",
        dir.display()
    );
    signal(pid, rustix::process::Signal::TERM)?;
    let deadline = Instant::now() + TAKE_OVER_WAIT;
    loop {
        match lock_dir_as(dir, role) {
            Ok(lock) => return Ok((lock, true)),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: i32, sig: rustix::process::Signal) -> io::Result<()> {
    let pid = rustix::process::Pid::from_raw(pid).ok_or_else(|| io::Error::other("bad pid"))?;
    rustix::process::kill_process(pid, sig).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_creates_the_directory_and_records_the_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let lock = lock_dir(&dir).unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
    }
}
