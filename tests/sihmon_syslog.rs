//! Every line sihmon writes to its log also goes to syslog (LOG_DAEMON)
//! with the manual's priorities: INFO 6, WARN 4, FATAL 3. The monitor runs
//! in a mount namespace of its own whose `/dev` is a private tmpfs (the
//! host's `null`, `zero`, `urandom`, `random`, `tty`, `ptmx` and `pts`
//! bound in) with `/dev/log` bound to this test's datagram socket, so
//! nothing reaches the host's syslog and the host's `/dev` is untouched.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/sihmon_sac.rs"]
mod sac;

use common::prereq::{require, Need};
use sac::Sac;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Makes the private `/dev` (arguments: a directory for the host's
/// `/dev`, the socket, then the command) and runs the command there.
const PRIVATE_DEV: &str = r#"set -e
old=$1; sock=$2; shift 2
mkdir -p "$old"
mount --bind /dev "$old"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero urandom random tty ptmx; do
    [ -e "$old/$n" ] || continue
    : > "/dev/$n"
    mount --bind "$old/$n" "/dev/$n"
done
mkdir /dev/pts
mount --bind "$old/pts" /dev/pts
: > /dev/log
mount --bind "$sock" /dev/log
exec "$@""#;

/// `cmd` (as [`Sac::command`] makes it) inside the private `/dev`.
fn with_private_dev_log(sac: &Sac, cmd: &Command, sock: &Path) -> Command {
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(PRIVATE_DEV)
        .arg("sh")
        .arg(sac.dir.path().join("host-dev"))
        .arg(sock)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    if let Some(d) = cmd.get_current_dir() {
        c.current_dir(d);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Every datagram received within `wait` of the last one (or of the
/// start), as text.
fn drain(sock: &UnixDatagram, wait: Duration) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let mut last = Instant::now();
    while last.elapsed() < wait {
        if let Ok(n) = sock.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            last = Instant::now();
        }
    }
    out
}

/// The first datagram whose text contains `what`, with its `<PRI>`.
fn find<'a>(msgs: &'a [String], what: &str) -> Option<(u32, &'a str)> {
    msgs.iter().find(|m| m.contains(what)).and_then(|m| {
        let end = m.find('>')?;
        Some((m.get(1..end)?.parse().ok()?, m.as_str()))
    })
}

const LOG_DAEMON: u32 = 3 << 3;

#[test]
fn log_lines_reach_syslog_with_the_manuals_priorities() {
    if !require(&[Need::Root, Need::Tool("unshare"), Need::Tool("mount")]) {
        return;
    }
    let mut sac = Sac::new();
    let sock_path = sac.dir.path().join("syslog.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let load = sac.script("load", "exit 0");
    sac.device("l1");
    // One good link and one line the pmtab parser rejects (a WARN).
    sac.pmtab(&format!(
        "{}not a pmtab line\n",
        Sac::link("l1", "", load.to_str().unwrap())
    ));
    sac.open_pipes();
    let mut cmd = with_private_dev_log(&sac, &sac.command(&[], "enabled"), &sock_path);
    sac.child = Some(cmd.spawn().unwrap());
    assert!(
        sac.wait(|s| s.log().contains("started")),
        "sihmon did not start:\n{}",
        sac.output()
    );
    assert_eq!(sac.terminate().code(), Some(0));
    let msgs = drain(&sock, Duration::from_millis(300));
    let log = sac.log();
    let (pri, text) = find(&msgs, "started").unwrap_or_else(|| panic!("{msgs:?}\nlog:\n{log}"));
    assert_eq!(pri, LOG_DAEMON | 6, "INFO: {text}");
    assert!(text.contains("sihmon["), "ident and pid: {text}");
    let warn = log
        .lines()
        .find(|l| l.starts_with("WARN"))
        .unwrap_or_else(|| panic!("no WARN in the log:\n{log}"));
    let words: String = warn.splitn(5, ' ').nth(4).unwrap().to_string();
    let (pri, text) = find(&msgs, &words).unwrap_or_else(|| panic!("{words:?} not in {msgs:?}"));
    assert_eq!(pri, LOG_DAEMON | 4, "WARN: {text}");

    // A start that fails: its FATAL line at priority 3.
    std::fs::remove_file(sac.path("etc/saf/sih1/_pmtab")).unwrap();
    let out = with_private_dev_log(&sac, &sac.command(&[], "enabled"), &sock_path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(12),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = drain(&sock, Duration::from_millis(300));
    let fatal = msgs
        .iter()
        .find(|m| m.contains("pmtab"))
        .unwrap_or_else(|| panic!("no FATAL about the pmtab in {msgs:?}"));
    assert!(
        fatal.starts_with(&format!("<{}>", LOG_DAEMON | 3)),
        "FATAL: {fatal}"
    );
}
