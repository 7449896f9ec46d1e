//! A private tree for vold and its utilities (`STATMON_ROOT`), the
//! programs run in it, and clean-up by pid. Included by the `vold_*`
//! tests with `#[path]`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The statmon binary under test.
pub const STATMON: &str = env!("CARGO_BIN_EXE_statmon");

/// A root directory with its own /usr/lib/VxVM, /run/vold and /dev.
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `statmon PROG ARGS` with the root set.
    pub fn command(&self, prog: &str, args: &[&str]) -> Command {
        let mut c = Command::new(STATMON);
        c.arg(prog).args(args).env("STATMON_ROOT", self.dir.path());
        c
    }

    pub fn run(&self, prog: &str, args: &[&str]) -> Output {
        self.command(prog, args).output().unwrap()
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn status(&self, prog: &str, args: &[&str]) -> (i32, String, String) {
        let o = self.run(prog, args);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, prog: &str, args: &[&str]) -> String {
        let (code, out, err) = self.status(prog, args);
        assert_eq!(code, 0, "{prog} {args:?}: {out}{err}");
        out
    }

    /// Starts a background vold (the parent returns once it reached a
    /// mode); returns the parent's exit code.
    pub fn vold(&self, args: &[&str]) -> i32 {
        self.vold_env(args, &[])
    }

    pub fn vold_env(&self, args: &[&str], env: &[(&str, &str)]) -> i32 {
        let mut c = self.command("vold", args);
        c.envs(env.iter().copied());
        c.status().unwrap().code().unwrap_or(-1)
    }

    /// The running vold's pid (from its lock file, which the holder of
    /// the lock wrote), if it is alive.
    pub fn pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.path("run/vold/.statmon.lock")).ok()?;
        let pid: i32 = text.split_whitespace().next()?.parse().ok()?;
        Path::new(&format!("/proc/{pid}"))
            .exists()
            .then_some(pid)
            .filter(|p| !is_zombie(*p))
    }

    /// Initialises `n` copies over files in the tree and enables.
    pub fn init_enabled(&self, n: usize) -> Vec<String> {
        let specs: Vec<String> = (0..n)
            .map(|i| format!("{}/db{i},8,128", self.dir.path().display()))
            .collect();
        let mut args = vec!["init"];
        args.extend(specs.iter().map(String::as_str));
        self.ok("voladm", &args);
        self.ok("voladm", &["enable"]);
        specs
    }

    /// Kills the running vold (SIGKILL by pid) and waits until it is gone.
    pub fn kill(&self) {
        if let Some(pid) = self.pid() {
            signal(pid, libc::SIGKILL);
            wait_until(10, || self.pid().is_none());
        }
    }

    /// Whether the diagnostic socket is there.
    pub fn diag_up(&self) -> bool {
        std::fs::symlink_metadata(self.path("usr/lib/VxVM/volddiag"))
            .is_ok_and(|m| m.file_type().is_socket())
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.kill();
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Sends `sig` to `pid`.
pub fn signal(pid: i32, sig: i32) {
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    let sig = rustix::process::Signal::from_named_raw(sig).unwrap();
    let _ = rustix::process::kill_process(pid, sig);
}

/// Polls `f` every 50 ms for up to `secs` seconds.
pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// The description of one volume `v1` over plex `p1` over subdisk `d1`
/// of `path` at sector `offset` for `len` sectors.
pub fn one_volume(path: &Path, offset: u64, len: u64) -> String {
    format!(
        "sd d1 path={} offset={offset} len={len}\nplex p1 sd=d1\nvol v1 len={len} plex=p1 mode=0640\n",
        path.display()
    )
}
