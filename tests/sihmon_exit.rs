//! Every exit code of sihmon(1M) that a start can meet, each with the
//! precondition the manual names, in a temporary SAF root; and `-v`, `-h`.
//! 20, 50 and 99 (a FIFO held open for reading and writing that fails
//! under poll, an event loop that cannot be made, a panic) are injected
//! with the test hook `STATMON_SIHMON_FAULT`.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/sihmon_sac.rs"]
mod sac;

use common::prereq::{require, Need};
use sac::Sac;
use statmon::sihmon::fault::FAULT_ENV;
use statmon::sihmon::wire::ScType;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

/// A root ready to start (one link with a working loader), pipes held.
fn ready() -> Sac {
    let mut sac = Sac::new();
    let load = sac.script("load", "exit 0");
    sac.device("l1");
    sac.pmtab(&Sac::link("l1", "", load.to_str().unwrap()));
    sac.open_pipes();
    sac
}

/// Runs sihmon on `sac` and checks its exit code; returns stderr.
fn expect(sac: &mut Sac, args: &[&str], istate: &str, code: i32) -> String {
    let (status, stderr) = sac.run_to_exit(args, istate);
    assert_eq!(
        status.code(),
        Some(code),
        "stderr: {stderr}\nlog: {}",
        sac.log()
    );
    stderr
}

/// The first FATAL line of `log` (empty if none).
fn fatal_line(log: &str) -> &str {
    log.lines()
        .find(|l| l.starts_with("FATAL "))
        .unwrap_or_default()
}

/// Exit `code` with a FATAL line in the log naming `what`.
fn fatal(sac: &mut Sac, code: i32, what: &str) {
    let stderr = expect(sac, &[], "enabled", code);
    let log = sac.log();
    let line = fatal_line(&log);
    assert!(
        line.contains(what),
        "FATAL line naming {what}: {log}\nstderr: {stderr}"
    );
}

fn root() -> bool {
    require(&[Need::Root])
}

#[test]
fn e01_an_unknown_option() {
    let stderr = expect(&mut ready(), &["-x"], "enabled", 1);
    assert!(stderr.contains("illegal option -- x") && stderr.contains("usage: sihmon"));
}

#[test]
fn e02_a_wrong_argument() {
    let stderr = expect(&mut ready(), &["-t", "abc"], "enabled", 2);
    assert!(stderr.contains("-t"), "{stderr}");
    expect(&mut ready(), &["-f", "relative"], "enabled", 2);
    expect(&mut ready(), &["-d", "3"], "enabled", 2);
}

#[test]
fn e03_not_root() {
    if !root() {
        return;
    }
    let sac = ready();
    std::fs::set_permissions(sac.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sac
        .command(&[], "enabled")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only root"));
}

#[test]
fn e04_pid_locked() {
    if !root() {
        return;
    }
    let mut sac = ready();
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(sac.pm("_pid"))
        .unwrap();
    rustix::fs::fcntl_lock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let stderr = expect(&mut sac, &[], "enabled", 4);
    assert!(stderr.contains("runs already"), "{stderr}");
}

#[test]
fn e05_pid_not_creatable() {
    if !root() {
        return;
    }
    let mut sac = ready();
    std::fs::create_dir(sac.pm("_pid")).unwrap();
    expect(&mut sac, &[], "enabled", 5);
}

#[test]
fn e06_no_pmtag() {
    if !root() {
        return;
    }
    let sac = ready();
    let out = sac
        .command(&[], "enabled")
        .env_remove("PMTAG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn e07_log_not_openable() {
    if !root() {
        return;
    }
    let mut sac = ready();
    std::fs::create_dir_all(sac.var("log")).unwrap();
    expect(&mut sac, &[], "enabled", 7);
}

#[test]
fn e08_istate_unknown() {
    if !root() {
        return;
    }
    let mut sac = ready();
    let stderr = expect(&mut sac, &[], "foo", 8);
    assert!(stderr.contains("ISTATE"));
    assert!(sac
        .log()
        .lines()
        .any(|l| l.starts_with("FATAL ") && l.contains("ISTATE \"foo\"")));
}

#[test]
fn e09_no_pmpipe() {
    if !root() {
        return;
    }
    let mut sac = ready();
    std::fs::remove_file(sac.pm("_pmpipe")).unwrap();
    fatal(&mut sac, 9, "_pmpipe");
}

#[test]
fn e10_no_sacpipe() {
    if !root() {
        return;
    }
    let mut sac = ready();
    std::fs::remove_file(sac.path("etc/saf/_sacpipe")).unwrap();
    fatal(&mut sac, 10, "_sacpipe");
}

#[test]
fn e11_too_few_descriptors() {
    if !root() || !require(&[Need::Tool("prlimit")]) {
        return;
    }
    let sac = ready();
    let load = sac.path("bin/load");
    let mut lines = String::new();
    for i in 0..5 {
        sac.device(&format!("l{i}"));
        lines.push_str(&Sac::link(&format!("l{i}"), "", load.to_str().unwrap()));
    }
    sac.pmtab(&lines);
    // 15 + 5 links = 20 descriptors needed; 16 allowed, hard.
    let c = sac.command(&[], "enabled");
    let prog = c.get_program().to_owned();
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let limited = |limit: &str| {
        let mut p = std::process::Command::new("prlimit");
        p.arg(format!("--nofile={limit}")).arg(&prog).args(&args);
        for (k, v) in c.get_envs() {
            if let Some(v) = v {
                p.env(k, v);
            }
        }
        p.current_dir(sac.pm(""));
        p
    };
    let out = limited("16:16").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(11),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sac.log().contains("too few file descriptors: 20 needed"),
        "{}",
        sac.log()
    );
    // With the soft limit below and the hard limit above, it is raised.
    std::fs::remove_file(sac.var("log")).unwrap();
    let mut child = limited("16:64")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(sac.wait(|s| s.log().contains("started")), "{}", sac.log());
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// Waits for `child` to exit (within 10 s) and returns its code.
fn exit_code(child: &mut std::process::Child) -> Option<i32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        if std::time::Instant::now() > deadline {
            let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
            rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
            let _ = child.wait();
            panic!("sihmon did not exit within 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn e20_polling_the_pmpipe_fails() {
    if !root() {
        return;
    }
    let mut sac = ready();
    let mut child = sac
        .command(&[], "enabled")
        .env(FAULT_ENV, "pmpipe")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(sac.wait(|s| s.log().contains("started")), "{}", sac.log());
    sac.send(ScType::STATUS);
    assert_eq!(exit_code(&mut child), Some(20), "{}", sac.log());
    let log = sac.log();
    let line = fatal_line(&log);
    assert!(
        line.contains("polling _pmpipe failed: injected by STATMON_SIHMON_FAULT=pmpipe"),
        "{log}"
    );
}

#[test]
fn e50_the_event_loop_fails() {
    if !root() {
        return;
    }
    let sac = ready();
    let out = sac
        .command(&[], "enabled")
        .env(FAULT_ENV, "event-loop")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(50), "{stderr}");
    assert!(
        stderr.contains("sihmon: cannot create the event loop: injected by"),
        "{stderr}"
    );
    let log = sac.log();
    let line = fatal_line(&log);
    assert!(line.contains("cannot create the event loop"), "{log}");
}

#[test]
fn e99_a_panic() {
    if !root() {
        return;
    }
    let sac = ready();
    let out = sac
        .command(&[], "enabled")
        .env(FAULT_ENV, "panic")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(99), "{stderr}");
    assert!(
        stderr.contains("sihmon: internal program error"),
        "{stderr}"
    );
    let log = sac.log();
    let line = fatal_line(&log);
    assert!(
        line.contains("internal program error")
            && line.contains("injected by STATMON_SIHMON_FAULT=panic"),
        "{log}"
    );
    // A stderr nobody reads any more changes nothing: still 99, no abort.
    let mut c = sac.command(&[], "enabled");
    c.env(FAULT_ENV, "panic");
    let mut child = c.spawn().unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(99));
}

/// Exit `code` when the table at `rel` is missing.
fn missing(code: i32, rel: &str, word: &str) {
    if !root() {
        return;
    }
    let mut sac = ready();
    std::fs::remove_file(sac.path(rel)).unwrap();
    fatal(&mut sac, code, word);
}

/// Exit `code` when the table at `rel` has another version.
fn wrong_version(code: i32, rel: &str, word: &str) {
    if !root() {
        return;
    }
    let mut sac = ready();
    let text = sac
        .read(&sac.path(rel))
        .replace("# VERSION=1", "# VERSION=2");
    sac.write(rel, &text);
    fatal(&mut sac, code, word);
}

#[test]
fn e12_no_pmtab() {
    missing(12, "etc/saf/sih1/_pmtab", "pmtab");
}

#[test]
fn e13_no_hdlclabs() {
    missing(13, "var/sadm/terms/hdlclabs", "hdlclabs");
}

#[test]
fn e14_no_hdlcdefs() {
    missing(14, "etc/hdlcdefs", "hdlcdefs");
}

#[test]
fn e15_no_ttydefs() {
    missing(15, "etc/ttydefs", "ttydefs");
}

#[test]
fn e16_pmtab_of_another_version() {
    wrong_version(16, "etc/saf/sih1/_pmtab", "pmtab");
}

#[test]
fn e17_hdlclabs_of_another_version() {
    wrong_version(17, "var/sadm/terms/hdlclabs", "hdlclabs");
}

#[test]
fn e18_hdlcdefs_of_another_version() {
    wrong_version(18, "etc/hdlcdefs", "hdlcdefs");
}

#[test]
fn e19_ttydefs_of_another_version() {
    wrong_version(19, "etc/ttydefs", "ttydefs");
}

#[test]
fn e21_a_loader_that_cannot_be_executed() {
    if !root() {
        return;
    }
    let mut sac = ready();
    sac.pmtab(&Sac::link("l1", "", "/nonexistent/xbload /dev/sih/01"));
    fatal(&mut sac, 21, "/nonexistent/xbload");
    // A disabled entry's loader is not run, so not checked.
    let mut sac = ready();
    sac.pmtab(&Sac::link("l1", "x", "/nonexistent/xbload"));
    sac.start(&[], "enabled");
    assert_eq!(sac.terminate().code(), Some(0));
}

#[test]
fn version_and_help() {
    let out = std::process::Command::new(sac::STATMON)
        .args(["sihmon", "-v"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = String::from_utf8(out.stdout).unwrap();
    assert!(v.starts_with("statmon-") && !v.ends_with('\n'), "{v:?}");
    for flag in ["-h", "-?"] {
        let out = std::process::Command::new(sac::STATMON)
            .args(["sihmon", flag])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: sihmon [-d level]"));
    }
}
