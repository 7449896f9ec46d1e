//! sihadm: the pmtab fields for `pmadm -m`, loading mode without the
//! monitor, a running monitor's link states and trace level over its
//! control socket, the expected versions, and its exit codes.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/sihmon_sac.rs"]
mod sac;

use common::prereq::{require, Need};
use sac::Sac;
use statmon::sihmon::wire::ScType;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

#[test]
fn formats_checked_pmtab_fields_without_a_newline() {
    let sac = Sac::new();
    sac.device("adm01");
    let (code, out, err) = sac.sihadm(&[
        "-d",
        "adm01",
        "-a",
        "o",
        "-l",
        "9600",
        "-k",
        "sw8",
        "-p",
        "/usr/lib/saf/xbload /dev/sih/01",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "adm01:o:9600:sw8:/usr/lib/saf/xbload /dev/sih/01");
    let (code, out, _) = sac.sihadm(&["-d", "adm01", "-a", "n", "-p", "load a:b"]);
    assert_eq!((code, out.as_str()), (0, "adm01:n:::load a\\:b"));
    for (args, word) in [
        (&["-d", "adm01", "-a", "q"][..], "adjust"),
        (&["-d", "adm01", "-a", "o", "-l", "nolabel"], "nolabel"),
        (&["-d", "adm01", "-a", "o", "-k", "nolink"], "nolink"),
        (&["-d", "missing", "-a", "o"], "does not exist"),
        (&["-d", "adm01", "-a", "o", "-p", "a \"b"], "unterminated"),
        (&["-a", "o"], "-d admdev"),
    ] {
        let (code, out, err) = sac.sihadm(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.is_empty() && err.contains(word), "{args:?}: {err}");
    }
}

#[test]
fn prints_the_versions_it_expects() {
    let sac = Sac::new();
    assert_eq!(sac.sihadm(&["-v", "pmtab"]).1, "1\n");
    assert_eq!(sac.sihadm(&["-v", "hdlcdefs"]).1, "1\n");
    assert!(sac.sihadm(&["-v", "sihmon"]).1.starts_with("statmon-"));
    assert_eq!(sac.sihadm(&["-v", "nosuch"]).0, 1);
    let (code, all, _) = sac.sihadm(&["-V"]);
    assert_eq!(code, 0);
    for line in [
        "pmtab 1",
        "hdlclabs 1",
        "hdlcdefs 1",
        "ttydefs 1",
        "sihmon statmon-",
    ] {
        assert!(all.contains(line), "{all}");
    }
    let (code, out, err) = sac.sihadm(&["-h"]);
    assert_eq!(code, 0);
    assert!(out.is_empty() && err.contains("usage: sihadm"));
    assert_eq!(sac.sihadm(&["-x"]).0, 1);
}

#[test]
fn sets_and_resets_loading_mode_without_the_monitor() {
    if !require(&[Need::Root]) {
        return;
    }
    let sac = Sac::new();
    sac.device("l1");
    sac.device("l2");
    sac.pmtab(&format!(
        "{}{}",
        Sac::link("l1", "", ""),
        Sac::link("l2", "x", "")
    ));
    let (code, out, err) = sac.sihadm(&["-I", "sih1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "l1: loading mode set\nl2: loading mode set\n");
    let mode = |n: &str| sac.read(&sac.path("dev").join(n));
    assert!(mode("l1").contains("loadmode 1") && mode("l2").contains("loadmode 1"));
    assert_eq!(
        sac.sihadm(&["-R", "l2", "sih1"]).1,
        "l2: loading mode reset\n"
    );
    assert!(mode("l1").contains("loadmode 1") && mode("l2").contains("loadmode 0"));
    assert_eq!(sac.sihadm(&["-R", "nosuch", "sih1"]).0, 5);
    assert_eq!(sac.sihadm(&["-I", "nopm"]).0, 5);
    std::fs::remove_file(sac.path("dev/l1")).unwrap();
    let (code, _, err) = sac.sihadm(&["-I", "sih1"]);
    assert_eq!(code, 4, "{err}");
}

#[test]
fn queries_and_traces_a_running_monitor() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    let ok = sac.script("ok", "exit 0");
    let bad = sac.script("bad", "exit 3");
    sac.device("l1");
    sac.device("l2");
    sac.pmtab(&format!(
        "{}{}",
        Sac::link("l1", "", ok.to_str().unwrap()),
        Sac::link("l2", "", bad.to_str().unwrap())
    ));
    assert_eq!(sac.sihadm(&["-S", "sih1"]).0, 8, "no monitor yet");
    sac.start(&["-r", "5"], "enabled");
    let settled = sac.wait(|s| {
        let out = s.sihadm(&["-S", "sih1"]).1;
        out.contains("l1 LOADED") && out.contains("l2 RETRY")
    });
    let (code, out, err) = sac.sihadm(&["-S", "sih1"]);
    assert!(settled, "{out}{err}");
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "sih1 ENABLED trace=0");
    assert!(lines[1].starts_with("l1 LOADED enabled 0/5 rc=0 "), "{out}");
    assert!(lines[2].starts_with("l2 RETRY enabled 1/5 rc=3 "), "{out}");
    assert!(
        is_stamp(lines[1].rsplitn(3, ' ').collect::<Vec<_>>()),
        "{out}"
    );
    let mode = std::fs::metadata(sac.var("_sihctl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let (code, one, _) = sac.sihadm(&["-S", "l2", "sih1"]);
    assert_eq!((code, one.lines().count()), (0, 2));
    assert_eq!(sac.sihadm(&["-S", "nosuch", "sih1"]).0, 5);
    // The trace level changes at run time.
    assert!(!sac.var("trace").exists());
    let (code, out, _) = sac.sihadm(&["-T", "2", "sih1"]);
    assert_eq!((code, out.as_str()), (0, "trace level 2\n"));
    sac.send(ScType::STATUS);
    sac.reply();
    assert!(sac.wait(|s| s.read(&s.var("trace")).contains("got SC_STATUS message")));
    assert!(sac.log().contains("trace level set to 2"));
    assert_eq!(sac.sihadm(&["-T", "3", "sih1"]).0, 1);
    // Root only.
    let out = std::process::Command::new(sac::STATMON)
        .args(["sihadm", "-S", "sih1"])
        .env("STATMON_ROOT", sac.dir.path())
        .uid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(sac.terminate().code(), Some(0));
}

/// `[HH:MM:SS, dd.mm, ...]` as rsplitn gives a status line's end.
fn is_stamp(parts: Vec<&str>) -> bool {
    let digits = |s: &str, sep: char| {
        s.split(sep)
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
    };
    parts.len() == 3 && digits(parts[0], ':') && digits(parts[1], '.')
}
