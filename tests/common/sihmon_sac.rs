//! A stand-in for sac, for the sihmon tests: a temporary root laid out as
//! SAF lays it out (`etc/saf/_sacpipe`, `etc/saf/<tag>/_pmpipe`, the
//! tables, `var/saf/<tag>/`), sihmon started in `etc/saf/<tag>` with
//! `PMTAG`, `ISTATE` and `STATMON_ROOT`, and the two pipes spoken as sac
//! speaks them. Include it with `#[path = "common/sihmon_sac.rs"] mod sac;`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use statmon::sihmon::wire::{PmMsg, SacMsg, ScType, PMMSG_SIZE};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The statmon binary.
pub const STATMON: &str = env!("CARGO_BIN_EXE_statmon");

/// The port monitor tag of the tests.
pub const TAG: &str = "sih1";

/// The support tables every test starts from.
pub const HDLCLABS: &str = "# VERSION=1\nsw8:sw8:9600\n";
pub const HDLCDEFS: &str = "# VERSION=1\nsw8:3:7:1000:10:2048\n";
pub const TTYDEFS: &str = "# VERSION=1\n9600:9600:9600 cs8 cread hupcl::9600\n";

/// How long a test waits for anything (a liveness bound, never a timing
/// assertion).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The stand-in system and, once started, the monitor.
pub struct Sac {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    sacpipe: Option<File>,
    pmpipe: Option<File>,
}

impl Sac {
    /// A root with the FIFOs, the support tables and an empty pmtab.
    pub fn new() -> Sac {
        let dir = tempfile::tempdir().unwrap();
        let s = Sac {
            dir,
            child: None,
            sacpipe: None,
            pmpipe: None,
        };
        for d in ["etc/saf/sih1", "var/saf", "var/sadm/terms", "dev", "bin"] {
            std::fs::create_dir_all(s.path(d)).unwrap();
        }
        mkfifo(&s.path("etc/saf/_sacpipe"));
        mkfifo(&s.pm("_pmpipe"));
        s.write("var/sadm/terms/hdlclabs", HDLCLABS);
        s.write("etc/hdlcdefs", HDLCDEFS);
        s.write("etc/ttydefs", TTYDEFS);
        s.pmtab("");
        s
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A file of the port monitor's directory `etc/saf/sih1`.
    pub fn pm(&self, name: &str) -> PathBuf {
        self.path("etc/saf/sih1").join(name)
    }

    /// A file of `var/saf/sih1`.
    pub fn var(&self, name: &str) -> PathBuf {
        self.path("var/saf/sih1").join(name)
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    /// `_pmtab` with `lines` after the version line.
    pub fn pmtab(&self, lines: &str) {
        std::fs::write(self.pm("_pmtab"), format!("# VERSION=1\n{lines}")).unwrap();
    }

    /// A loader script `bin/<name>` running `body` (sh).
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let p = self.path("bin").join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A file admin device `dev/<name>` (switched on).
    pub fn device(&self, name: &str) -> PathBuf {
        let p = self.path("dev").join(name);
        std::fs::write(&p, "power on\n").unwrap();
        p
    }

    /// A pmtab line for link `svc` on device `dev/<svc>` with loader `cmd`.
    pub fn link(svc: &str, flags: &str, cmd: &str) -> String {
        format!("{svc}:{flags}:root::::{svc}:o::sw8:{cmd}\n")
    }

    /// `statmon sihmon ARGS` as sac would start it (`ISTATE=istate`).
    pub fn command(&self, args: &[&str], istate: &str) -> Command {
        let mut c = Command::new(STATMON);
        c.arg("sihmon")
            .args(args)
            .current_dir(self.pm(""))
            .env("STATMON_ROOT", self.dir.path())
            .env("PMTAG", TAG)
            .env("ISTATE", istate)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Opens the pipes as sac holds them (so that the monitor can open
    /// `_sacpipe` for writing).
    pub fn open_pipes(&mut self) {
        let rw = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(p)
                .unwrap()
        };
        self.sacpipe = Some(rw(&self.path("etc/saf/_sacpipe")));
        self.pmpipe = Some(rw(&self.pm("_pmpipe")));
    }

    /// Starts the monitor with `args`, and waits for its "started" line.
    pub fn start(&mut self, args: &[&str], istate: &str) {
        self.open_pipes();
        let child = self.command(args, istate).spawn().unwrap();
        self.child = Some(child);
        let started = self
            .wait(|s| s.log().contains("started") || s.read(&s.var("trace")).contains("started"));
        assert!(started, "sihmon did not start:\n{}", self.output());
    }

    /// `statmon sihadm ARGS` on this root: (exit code, stdout, stderr).
    pub fn sihadm(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(STATMON)
            .arg("sihadm")
            .args(args)
            .env("STATMON_ROOT", self.dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs the monitor to its end (it is expected to fail at start).
    pub fn run_to_exit(&mut self, args: &[&str], istate: &str) -> (ExitStatus, String) {
        let out = self.command(args, istate).output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// sac goes away: its end of `_sacpipe` closes (the monitor's answers
    /// then find no reader).
    pub fn close_sacpipe(&mut self) {
        self.sacpipe = None;
    }

    /// sac is back: it opens `_sacpipe` again.
    pub fn reopen_sacpipe(&mut self) {
        self.sacpipe = Some(
            OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(self.path("etc/saf/_sacpipe"))
                .unwrap(),
        );
    }

    /// Sends one sacmsg.
    pub fn send(&mut self, kind: ScType) {
        self.send_raw(&SacMsg::new(kind).encode());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.pmpipe.as_mut().unwrap().write_all(bytes).unwrap();
    }

    /// The next pmmsg on `_sacpipe` (within [`PATIENCE`]).
    pub fn reply(&mut self) -> PmMsg {
        let mut buf = [0u8; PMMSG_SIZE];
        let mut got = 0;
        let deadline = Instant::now() + PATIENCE;
        let pipe = self.sacpipe.as_mut().unwrap();
        while got < PMMSG_SIZE {
            match pipe.read(&mut buf[got..]) {
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "no answer on _sacpipe");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("_sacpipe: {e}"),
            }
        }
        PmMsg::decode(&buf).unwrap()
    }

    /// Whether `cond` held within [`PATIENCE`].
    pub fn wait(&self, mut cond: impl FnMut(&Sac) -> bool) -> bool {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if cond(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        cond(self)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.var("log")).unwrap_or_default()
    }

    pub fn read(&self, path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// SIGTERM to the monitor; its exit status (within [`PATIENCE`]).
    pub fn terminate(&mut self) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "sihmon did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the monitor said on stderr so far (after it ended) and its log.
    pub fn output(&mut self) -> String {
        let mut text = self.log();
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(_)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                text.push_str(&err);
            }
        }
        text
    }
}

impl Drop for Sac {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn mkfifo(path: &Path) {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
}
