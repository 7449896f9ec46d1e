//! The `mdmpd` program as a process, on a stand-in system under
//! `STATMON_ROOT`: `/proc/mdstat` a regular file (so rescans, not POLLPRI,
//! wake it), member "devices" that are files, a fake `mdadm` that records
//! its arguments and rewrites mdstat as the kernel would, and an event
//! program that records what it is told. One-second intervals from
//! mdmpd.conf keep it short.
#![allow(clippy::unwrap_used)]

mod common;

use common::STATMON;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FAILED: &str = "Personalities : [multipath]\n\
    md0 : active multipath sdc[1] sdb[0](F)\n      1048512 blocks [2/1] [_U]\n\n\
    unused devices: <none>\n";
const BACK: &str = "Personalities : [multipath]\n\
    md0 : active multipath sdb[2] sdc[1]\n      1048512 blocks [2/2] [UU]\n\n\
    unused devices: <none>\n";
const REMOVED: &str = "Personalities : [multipath]\n\
    md0 : active multipath sdc[1]\n      1048512 blocks [2/1] [_U]\n\n\
    unused devices: <none>\n";
const NONE: &str = "Personalities : [multipath]\nunused devices: <none>\n";

/// The stand-in system.
struct System {
    dir: tempfile::TempDir,
}

impl System {
    fn new() -> System {
        let dir = tempfile::tempdir().unwrap();
        let s = System { dir };
        for d in ["proc", "sys/block/md0/md", "dev", "etc", "run"] {
            std::fs::create_dir_all(s.path(d)).unwrap();
        }
        s.mdstat(FAILED);
        std::fs::write(s.path("dev/sdc"), vec![1u8; 8192]).unwrap();
        s.script(
            "mdadm",
            &format!(
                // mdstat replaced whole (a rescan may read it at any time,
                // and /proc/mdstat is never seen half written).
                "echo \"$*\" >> {log}\ncase \"$*\" in *--add*) cat {back} > {tmp} && mv {tmp} {mdstat};; esac\n",
                log = s.path("mdadm.log").display(),
                back = s.path("back.mdstat").display(),
                tmp = s.path("proc/.mdstat.mdadm").display(),
                mdstat = s.path("proc/mdstat").display()
            ),
        );
        std::fs::write(s.path("back.mdstat"), BACK).unwrap();
        s.script(
            "event",
            &format!("echo \"$*\" >> {}\n", s.path("events.log").display()),
        );
        std::fs::write(
            s.path("etc/mdmpd.conf"),
            format!(
                "# test settings\nPROBE-INTERVAL 1\nRESCAN-INTERVAL 1\nPROBE-TIMEOUT 5\n\
                 ACTUATOR mdadm\nMDADM {}\nPROGRAM {}\n",
                s.path("mdadm").display(),
                s.path("event").display()
            ),
        )
        .unwrap();
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn mdstat(&self, text: &str) {
        // Replaced whole, as a read of /proc/mdstat sees it.
        let tmp = self.path("proc/.mdstat");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, self.path("proc/mdstat")).unwrap();
    }

    fn script(&self, name: &str, body: &str) {
        let p = self.path(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    fn mdmpd(&self) -> Command {
        let mut c = Command::new(STATMON);
        c.arg("mdmpd")
            .env("STATMON_ROOT", self.dir.path())
            .env("MDMPD_FOREGROUND", "1")
            .env_remove("NOTIFY_SOCKET");
        c
    }

    fn start(&self) -> Child {
        let log = std::fs::File::create(self.path("mdmpd.log")).unwrap();
        self.mdmpd()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn wait_for(&self, what: &str, secs: u64, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !f() {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {secs} s\nlog:\n{}\nevents:\n{}\nmdadm:\n{}",
                self.read("mdmpd.log"),
                self.read("events.log"),
                self.read("mdadm.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Stops `child` (ours) with SIGTERM and returns its exit code.
fn stop(child: &mut Child) -> Option<i32> {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

fn lines_with(text: &str, word: &str) -> usize {
    text.lines().filter(|l| l.contains(word)).count()
}

#[test]
fn a_failed_path_is_probed_re_added_when_it_reads_and_forgotten_when_removed() {
    let s = System::new();
    let mut child = s.start();
    let (md0, sdb) = (s.path("dev/md0"), s.path("dev/sdb"));
    s.wait_for("the Fail event", 10, || {
        s.read("events.log").contains("Fail /dev/md0 /dev/sdb")
    });
    let log = s.read("mdmpd.log");
    assert!(
        log.contains("Fail event detected on md device /dev/md0, component device /dev/sdb"),
        "{log}"
    );
    assert!(
        log.contains("cannot be polled"),
        "a regular file: rescans\n{log}"
    );
    assert_eq!(s.read("run/mdmpd/mdmpd.pid").trim(), child.id().to_string());

    // The status names the array, the member and its probing.
    let out = s.mdmpd().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(status.contains("md0") && status.contains("sdb"), "{status}");
    assert!(status.contains("probing"), "{status}");

    // A second mdmpd exits 1 naming the first.
    let second = s.mdmpd().output().unwrap();
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains(&child.id().to_string()), "{said}");

    // While /dev/sdb cannot be read, nothing is re-added.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(s.read("mdadm.log"), "", "re-added a dead path");
    // The path reads again: mdadm puts it back, mdstat shows it, and the
    // events say so.
    std::fs::write(&sdb, vec![2u8; 8192]).unwrap();
    s.wait_for("the SpareActive event", 10, || {
        s.read("events.log")
            .contains("SpareActive /dev/md0 /dev/sdb")
    });
    assert_eq!(
        s.read("mdadm.log"),
        format!(
            "--manage {m} --remove {d}\n--manage {m} --add {d}\n",
            m = md0.display(),
            d = sdb.display()
        )
    );
    assert!(s
        .read("events.log")
        .contains("PathRecovered /dev/md0 /dev/sdb"));

    // It fails again and the administrator removes it: no more probes.
    std::fs::remove_file(&sdb).unwrap();
    s.mdstat(FAILED);
    s.wait_for("the second Fail", 10, || {
        lines_with(&s.read("events.log"), "Fail /dev/md0 /dev/sdb") == 2
    });
    s.mdstat(REMOVED);
    s.wait_for("the PathRemoved event", 10, || {
        s.read("events.log")
            .contains("PathRemoved /dev/md0 /dev/sdb")
    });
    std::fs::write(&sdb, vec![3u8; 8192]).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        lines_with(&s.read("mdadm.log"), "--add"),
        1,
        "a removed member was put back"
    );

    // The array goes: said once.
    s.mdstat(NONE);
    s.wait_for("DeviceDisappeared", 10, || {
        s.read("events.log").contains("DeviceDisappeared /dev/md0")
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(lines_with(&s.read("events.log"), "DeviceDisappeared"), 1);

    assert_eq!(stop(&mut child), Some(0), "{}", s.read("mdmpd.log"));
    assert!(!s.path("run/mdmpd/mdmpd.sock").exists());
    let out = s.mdmpd().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no mdmpd answers"));
}

#[test]
fn any_option_prints_the_usage_and_exits_1() {
    let s = System::new();
    for args in [&["-d"][..], &["--help"], &["status", "extra"], &["start"]] {
        let out = s.mdmpd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("Usage: mdmpd\n"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn bad_settings_are_reported_with_file_and_line_and_no_mdstat_is_an_error() {
    let s = System::new();
    std::fs::write(
        s.path("etc/mdmpd.conf"),
        "PROBE-INTERVAL 0\nCOLOUR blue\nPROBE-INTERVAL 1\nRESCAN-INTERVAL 1\n",
    )
    .unwrap();
    std::fs::remove_file(s.path("proc/mdstat")).unwrap();
    let out = s.mdmpd().output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let conf = s.path("etc/mdmpd.conf");
    assert!(err.contains(&format!("{}:1:", conf.display())), "{err}");
    assert!(err.contains(&format!("{}:2:", conf.display())), "{err}");
    assert!(
        err.contains(&format!("{}", s.path("proc/mdstat").display())),
        "{err}"
    );
    assert!(!Path::new(&s.path("run/mdmpd/mdmpd.sock")).exists());
}

#[test]
fn detached_the_parent_exits_0_once_the_daemon_has_read_the_arrays() {
    let s = System::new();
    let out = s
        .mdmpd()
        .env_remove("MDMPD_FOREGROUND")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // By then the state is read and saved: the status already shows md0.
    let pid: i32 = s.read("run/mdmpd/mdmpd.pid").trim().parse().unwrap();
    let status = s.mdmpd().arg("status").output().unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("md0"),
        "{status:?}"
    );
    // Stopped by the pid it wrote (ours: it is the daemon this test started).
    let p = rustix::process::Pid::from_raw(pid).unwrap();
    rustix::process::kill_process(p, rustix::process::Signal::TERM).unwrap();
    s.wait_for("the detached daemon to exit", 10, || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|st| st.contains(") Z "))
    });
}

#[test]
fn under_systemd_it_stays_in_the_foreground_and_says_ready() {
    let s = System::new();
    let socket = s.path("notify.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let log = std::fs::File::create(s.path("mdmpd.log")).unwrap();
    let mut child = s
        .mdmpd()
        .env_remove("MDMPD_FOREGROUND")
        .env("NOTIFY_SOCKET", &socket)
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = listener.recv(&mut buf).unwrap();
    let said = String::from_utf8_lossy(&buf[..n]);
    assert!(said.starts_with("READY=1\n"), "{said}");
    assert!(said.contains("STATUS=watching 1 md array"), "{said}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "it did not stay in the foreground"
    );
    assert_eq!(s.read("run/mdmpd/mdmpd.pid").trim(), child.id().to_string());
    assert_eq!(stop(&mut child), Some(0), "{}", s.read("mdmpd.log"));
}
