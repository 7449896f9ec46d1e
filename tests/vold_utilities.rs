//! The utilities against a running vold: `volprint -m | volmake -d -`
//! round-trips, voledit changes follow into the nodes, the nodes are
//! rebuilt on enable, peers are checked with SO_PEERCRED, and vold runs in
//! the foreground (`-f`, tracing with `-x 2`) and inside `statmon run`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/vold.rs"]
mod support;

use common::prereq::{require, Need};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use support::{signal, wait_until, Tree, STATMON};

/// Runs `prog -d -` with `input` on stdin; returns (code, stderr).
fn with_stdin(t: &Tree, prog: &str, args: &[&str], input: &str) -> (i32, String) {
    let mut c = t.command(prog, args);
    c.stdin(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DESC: &str = "\
sd d1 path=/srv/disk offset=0 len=64
sd d2 path=/srv/disk offset=64 len=64 comment=\"second half\"
plex p1 sd=d1,d2 state=ACTIVE
vol v1 len=128 plex=p1 mode=0640 usetype=fsgen
vol empty len=0
";

#[test]
fn volprint_m_and_volmake_d_round_trip_and_voledit_changes_follow() {
    let t = Tree::new();
    assert_eq!(t.vold(&[]), 2);
    t.init_enabled(2);
    let (code, err) = with_stdin(&t, "volmake", &["-d", "-"], DESC);
    assert_eq!(code, 0, "{err}");
    let printed = t.ok("volprint", &["-m"]);
    assert!(printed.contains("comment=\"second half\""), "{printed}");
    let table = t.ok("volprint", &[]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("plex p1") && l.contains("128")),
        "{table}"
    );
    t.ok("voledit", &["rm", "-r", "v1", "empty"]);
    assert_eq!(t.ok("volprint", &["-m"]), "");
    let (code, err) = with_stdin(&t, "volmake", &["-d", "-"], &printed);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        t.ok("volprint", &["-m"]),
        printed,
        "the round trip changes nothing"
    );
    // voledit: modes follow into the nodes; rules are enforced.
    assert_eq!(
        std::fs::metadata(t.path("dev/vol/v1")).unwrap().mode() & 0o777,
        0o640
    );
    t.ok("voledit", &["set", "mode=0604", "comment=changed", "v1"]);
    assert_eq!(
        std::fs::metadata(t.path("dev/rvol/v1")).unwrap().mode() & 0o777,
        0o604
    );
    let (code, _, err) = t.status("voledit", &["rm", "p1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("dissociate"), "{err}");
    t.ok("voledit", &["dissoc", "plex", "p1"]);
    assert!(
        !t.path("dev/plex/p1").exists(),
        "a plex out of a volume has no node"
    );
    t.ok("voledit", &["assoc", "plex", "p1", "v1"]);
    assert!(t.path("dev/plex/p1").exists());
    let (code, _, err) = t.status(
        "volmake",
        &["sd", "d3", "path=/srv/disk", "offset=100", "len=8"],
    );
    assert_eq!(code, 2, "an overlap is refused: {err}");
    assert!(err.contains("overlap"), "{err}");
    let (code, _, err) = t.status("volprint", &["nosuch"]);
    assert_eq!(code, 2, "{err}");
    // The nodes are rebuilt on every enable.
    std::fs::remove_dir_all(t.path("dev")).unwrap();
    t.ok("voladm", &["enable"]);
    assert!(t.path("dev/vol/v1").exists() && t.path("dev/vol/empty").exists());
    let (code, _, err) = t.status("volmake", &["-d", "/nonexistent/desc"]);
    assert_eq!(code, 1, "{err}");
    let (code, err) = with_stdin(&t, "volmake", &["-d", "-"], "vol x\n\tbogus\n");
    assert_eq!(code, 1);
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn peers_must_be_root_or_of_the_rendezvous_group() {
    if !require(&[Need::Root, Need::Tool("setpriv")]) {
        return;
    }
    let t = Tree::new();
    std::fs::set_permissions(t.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let vxvm = t.path("usr/lib/VxVM");
    std::fs::create_dir_all(&vxvm).unwrap();
    std::os::unix::fs::chown(&vxvm, Some(0), Some(65534)).unwrap();
    assert_eq!(t.vold(&[]), 2);
    t.init_enabled(2);
    let as_user = |gid: &str, groups: &str| {
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                &format!("--regid={gid}"),
                groups,
                STATMON,
                "volprint",
            ])
            .env("STATMON_ROOT", t.dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = as_user("65534", "--clear-groups");
    assert_eq!(
        code,
        Some(0),
        "primary group of the rendezvous point: {err}"
    );
    let (code, err) = as_user("65533", "--groups=65534");
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("permission denied"),
        "SO_PEERCRED sees primary gid 65533: {err}"
    );
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            STATMON,
            "voladm",
            "mode",
        ])
        .env("STATMON_ROOT", t.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "the diag point is root's alone");
}

#[test]
fn in_the_foreground_it_traces_and_stays_and_runs_inside_statmon_run() {
    let t = Tree::new();
    let log = std::fs::File::create(t.path("vold.log")).unwrap();
    let mut fg = t
        .command("vold", &["-f", "-x", "2"])
        .stderr(log)
        .spawn()
        .unwrap();
    assert!(wait_until(10, || t.diag_up()), "vold -f did not serve");
    t.init_enabled(2);
    t.ok("volmake", &["vol", "traced", "len=0"]);
    t.ok("voladm", &["debug", "0"]);
    t.ok("voladm", &["halt"]);
    assert_eq!(fg.wait().unwrap().code(), Some(0));
    let text = std::fs::read_to_string(t.path("vold.log")).unwrap();
    assert!(
        text.contains("request BEGIN"),
        "-x 1 traces requests: {text}"
    );
    assert!(text.contains("database update: generation 2"), "{text}");
    assert!(
        text.contains("record: vol traced"),
        "-x 2 traces each record: {text}"
    );
    // The same daemon beside nothing else in `statmon run`.
    let mut run = Command::new(STATMON)
        .args(["run", "vold"])
        .env("STATMON_ROOT", t.dir.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(10, || t.pid().is_some() && t.diag_up()));
    assert!(
        t.ok("volprint", &["-v"]).contains("traced"),
        "enabled again from the copies"
    );
    signal(run.id() as i32, libc::SIGTERM);
    assert_eq!(run.wait().unwrap().code(), Some(0));
}

#[test]
fn a_large_configuration_goes_through_in_several_messages() {
    let t = Tree::new();
    assert_eq!(t.vold(&[]), 2);
    let db = |i: u32| format!("{}/big{i}", t.dir.path().display());
    t.ok("voladm", &["init", &db(0), &db(1)]);
    t.ok("voladm", &["enable"]);
    let desc: String = (0..1500)
        .map(|i| format!("vol volume{i:04} len=0 comment=\"number {i}\"\n"))
        .collect();
    assert!(desc.len() > 60 * 1024, "more than one message");
    let (code, err) = with_stdin(&t, "volmake", &["-d", "-"], &desc);
    assert_eq!(code, 0, "{err}");
    let table = t.ok("volprint", &["-v"]);
    assert_eq!(table.lines().count(), 1501, "a header and every volume");
    let printed = t.ok("volprint", &["-m"]);
    assert_eq!(
        printed.matches("\nvol ").count() + usize::from(printed.starts_with("vol ")),
        1500
    );
    // One transaction: a clash anywhere makes none of it.
    let clash = format!("{desc}vol volume0000 len=0\n").replacen("volume", "other", 1400);
    let (code, err) = with_stdin(&t, "volmake", &["-d", "-"], &clash);
    assert_eq!(code, 2, "{err}");
    assert!(
        !t.ok("volprint", &["-v"]).contains("other"),
        "all or nothing"
    );
}
