//! The administration commands (`rpc.statd -l`, `-L`, `-N host`) run as
//! the built binary on temporary state directories holding real record
//! files: nfs-utils lines on the distribution's layout
//! (`common::layout::stock`) and an Apple `statd.status` written by the
//! store.

#![allow(clippy::unwrap_used)]

mod common;

use common::layout::{self, StateFile};
use common::prereq::{self, Need};

use statmon::statd::glue::forget_spool::take_forget_requests;
use statmon::statd::notify::progress::{self, HostProgress};
use statmon::statd::record::{Change, Registration};
use statmon::statd::store::nfsutils::format::format_line;
use statmon::statd::store::{AppleStore, BootInfo, Store};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn statmon() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_statmon"));
    // These tests are about the seed's -l, -L and -N.
    c.arg("rpc.statd").env("STATMON_DIALECT", "seed");
    c
}

fn admin(dir: &Path, extra: &[&str]) -> Output {
    statmon()
        .args(extra)
        .arg("-P")
        .arg(dir)
        .args(["--config", "/dev/null"])
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn reg(mon: &str, my: &str) -> Registration {
    Registration {
        mon_name: mon.into(),
        my_name: my.into(),
        my_prog: 100_021,
        my_vers: 4,
        my_proc: 16,
        cookie: [5; 16],
    }
}

/// Replaces `path` atomically, as the stores do, so that a watcher never
/// sees it half written.
fn put(path: &Path, bytes: &[u8]) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let tmp = path.with_file_name(format!(".{name}.new"));
    fs::write(&tmp, bytes).unwrap();
    fs::rename(&tmp, path).unwrap();
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An nfs-utils directory on the distribution's layout (records and
/// sidecar owned by `statd`): state 7, hosta monitored (two callers),
/// hostb waiting for notification (as me.example, 3 rounds tried, next
/// try in about 4 minutes), hostc both. `None` when the layout cannot be
/// made here (see `common::prereq`).
fn nfsutils_dir() -> Option<tempfile::TempDir> {
    if !prereq::require(&[Need::Root, Need::StatdUser]) {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let stock = layout::stock(tmp.path(), StateFile::Value(7));
    let mut a = format_line(&reg("hosta", "client1"));
    a.extend(format_line(&reg("hosta", "client2")));
    stock.put_record("sm", "hosta", &a);
    stock.put_record("sm.bak", "hostb", &format_line(&reg("HostB", "me.example")));
    stock.put_record("sm", "hostc", &format_line(&reg("hostc", "client1")));
    stock.put_record("sm.bak", "hostc", &format_line(&reg("hostc", "me")));
    let sidecar = progress::encode(&[HostProgress {
        host: b"hostb".to_vec(),
        since_unix: now() - 100,
        rounds: 3,
        next_unix: Some(now() + 250),
        last_state: Some(5),
    }]);
    stock.put(layout::NOTIFY_PROGRESS, &sidecar);
    Some(tmp)
}

#[test]
fn list_nfsutils() {
    let Some(tmp) = nfsutils_dir() else {
        return;
    };
    let out = admin(tmp.path(), &["-l"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(
        lines[0],
        "hosta: monitored; 2 registration(s) by client1, client2"
    );
    assert!(
        lines[1].starts_with(
            "hostb: needs notification; notify as me.example; last state 5; \
             3 round(s) tried, next try in 4m"
        ),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "hostc: monitored, needs notification; 1 registration(s) by client1; \
         notify as me; not tried yet"
    );
    assert_eq!(lines[3], "state 7: 2 monitored, 2 to notify");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    // -d adds the registrations.
    let out = admin(tmp.path(), &["-d", "-l"]);
    assert!(text(&out.stdout).contains("    registered by client2: program 100021"));
}

#[test]
fn list_reports_damage_on_stderr_and_unreadable_stores_fail() {
    let Some(tmp) = nfsutils_dir() else {
        return;
    };
    fs::write(tmp.path().join("sm/hostd"), b"not a record\n").unwrap();
    let out = admin(tmp.path(), &["-l"]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("sm/hostd: line 1"), "{out:?}");
    assert!(!text(&out.stdout).contains("hostd"));
    // The listing did not repair anything.
    assert_eq!(
        fs::read(tmp.path().join("sm/hostd")).unwrap(),
        b"not a record\n"
    );
    let broken = tempfile::tempdir().unwrap();
    fs::write(broken.path().join("sm"), b"a file, not a directory").unwrap();
    let out = admin(broken.path(), &["-l"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("cannot read the store"));
}

#[test]
fn clear_without_a_daemon_then_list_again() {
    let Some(tmp) = nfsutils_dir() else {
        return;
    };
    let d = tmp.path();
    let out = admin(d, &["-N", "HOSTB"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        "cleared the needs-notification status of hostb\n"
    );
    assert!(!d.join("sm.bak/hostb").exists());
    assert!(
        !d.join(layout::FORGET_SPOOL).exists(),
        "no daemon, no spool"
    );
    // hostc: its monitor stays, only the notification goes.
    assert!(admin(d, &["-N", "hostc"]).status.success());
    assert!(d.join("sm/hostc").exists() && !d.join("sm.bak/hostc").exists());
    let out = admin(d, &["-l"]);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("hostb"), "{stdout}");
    assert!(
        stdout.contains("hostc: monitored; 1 registration(s)"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("state 7: 2 monitored, 0 to notify\n"),
        "{stdout}"
    );
    // Not pending (any more, or never): exit 1 with a message.
    for host in ["hostb", "hosta", "nosuch"] {
        let out = admin(d, &["-N", host]);
        assert_eq!(out.status.code(), Some(1), "{host}");
        assert!(text(&out.stderr).contains("does not need notification"));
    }
}

#[test]
fn apple_store_list_and_clear() {
    // A directory of the running user's, on purpose: the store library
    // writes the Apple store here itself and no daemon runs.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let boot = BootInfo {
        boot_id: Some(b"b1".to_vec()),
        now_unix_secs: now(),
    };
    let mut store = AppleStore::open(d.join("statd.status"));
    store.load(&boot).unwrap();
    store
        .commit(&[Change::Monitor(reg("peer1", "me"))])
        .unwrap();
    store.begin_reboot(Some(b"b2")).unwrap();
    store
        .commit(&[Change::Monitor(reg("peer2", "me"))])
        .unwrap();
    let state = store.state();
    drop(store);
    let apple = ["--store-format", "apple"];
    let out = admin(d, &[&apple[..], &["-l"]].concat());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        format!(
            "peer1: needs notification; not tried yet\n\
             peer2: monitored; 1 registration(s) by me\n\
             state {state}: 1 monitored, 1 to notify\n"
        )
    );
    let out = admin(d, &[&apple[..], &["-N", "Peer1"]].concat());
    assert!(out.status.success(), "{out:?}");
    let out = admin(d, &[&apple[..], &["-l"]].concat());
    assert_eq!(
        text(&out.stdout),
        format!(
            "peer2: monitored; 1 registration(s) by me\nstate {state}: 1 monitored, 0 to notify\n"
        )
    );
}

#[test]
fn clear_while_a_daemon_holds_the_directory_goes_to_the_daemon() {
    let Some(tmp) = nfsutils_dir() else {
        return;
    };
    let d = tmp.path();
    // The "daemon": this test holds the lock; the pid in the lock file is a
    // process of ours that SIGUSR2 ends (its default action). The lock is a
    // POSIX record lock, which closing any descriptor of the file would
    // release: the one used to write the pid stays open until the end.
    let lock = statmon::daemon::lock::lock_dir(d).unwrap();
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let mut pid_writer = fs::OpenOptions::new()
        .write(true)
        .open(lock.path())
        .unwrap();
    pid_writer.set_len(0).unwrap();
    writeln!(pid_writer, "{}", sleeper.id()).unwrap();
    let out = admin(d, &["-N", "hostB"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).contains(&format!("asked the running daemon (pid {})", sleeper.id())),
        "{out:?}"
    );
    let status = sleeper.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGUSR2), "{status:?}");
    // The store is untouched; the request waits in the spool.
    assert!(d.join("sm.bak/hostb").exists());
    assert_eq!(fs::read(d.join(layout::FORGET_SPOOL)).unwrap(), b"hostb\n");
    assert_eq!(
        take_forget_requests(&d.join("sm")).unwrap(),
        vec![b"hostb".to_vec()]
    );
    assert!(!d.join(layout::FORGET_SPOOL).exists());
    // A host that is not pending is refused before anything is spooled.
    let out = admin(d, &["-N", "hosta"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!d.join(layout::FORGET_SPOOL).exists());
    drop((pid_writer, lock));
}

#[test]
fn watch_reports_a_change_made_while_it_runs() {
    let Some(tmp) = nfsutils_dir() else {
        return;
    };
    let d = tmp.path();
    let mut child = statmon()
        .args(["-L", "--config", "/dev/null", "-P"])
        .arg(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |want: &dyn Fn(&str) -> bool| -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let done = want(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("not seen; got {seen:?}");
    };
    let first = wait_for(&|l| l.starts_with("state 7:"));
    assert_eq!(first.len(), 4, "{first:?}");
    put(&d.join("sm/hostd"), &format_line(&reg("hostd", "client9")));
    fs::remove_file(d.join("sm.bak/hostc")).unwrap();
    put(&d.join("state"), &9i32.to_ne_bytes());
    let mut changes = Vec::new();
    for _ in 0..3 {
        changes.extend(wait_for(&|_| true));
    }
    changes.sort();
    assert_eq!(
        changes,
        vec![
            "+ hostd: monitored; 1 registration(s) by client9".to_string(),
            "state 7 -> 9".into(),
            "~ hostc: monitored; 1 registration(s) by client1".into(),
        ]
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn bad_usage_exits_1_with_one_hint_line() {
    // An empty directory of the running user's: the refused commands must
    // create nothing in it.
    let tmp = tempfile::tempdir().unwrap();
    for bad in [
        &["-l", "-N", "x"][..],
        &["-l", "-L"],
        &["-n", "-l"],
        &["-N"],
    ] {
        let out = admin(tmp.path(), bad);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        let err = text(&out.stderr);
        assert!(
            err.ends_with("\nTry 'rpc.statd --help' for more information.\n"),
            "{bad:?}: {err}"
        );
        assert_eq!(err.lines().count(), 2, "{bad:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    // Nothing was created by the refused commands.
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}
