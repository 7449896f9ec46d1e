//! sihmon's files and limits as a process: SIGTERM resets loading mode and
//! releases `_pid`; `-t`, `-s` clamping; the log rotated to `log.alt` at
//! its cap; `-s 0` writes no log but still traces; every line in the
//! manual's format; 201 enabled entries, the last one warned about.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/sihmon_sac.rs"]
mod sac;

use common::prereq::{require, Need};
use sac::Sac;
use statmon::sihmon::wire::{PmState, ScType};

/// `type dd.mm HH:MM:SS pid text`.
fn well_formed(line: &str) -> bool {
    let f: Vec<&str> = line.splitn(5, ' ').collect();
    let two = |s: &str| s.len() == 2 && s.chars().all(|c| c.is_ascii_digit());
    f.len() == 5
        && ["INFO", "WARN", "FATAL"].contains(&f[0])
        && f[1].split('.').count() == 2
        && f[1].split('.').all(two)
        && f[2].split(':').count() == 3
        && f[2].split(':').all(two)
        && !f[3].is_empty()
        && f[3].chars().all(|c| c.is_ascii_digit())
        && !f[4].is_empty()
}

fn all_well_formed(text: &str) {
    assert!(!text.is_empty());
    for line in text.lines() {
        assert!(well_formed(line), "not in the manual's format: {line:?}");
    }
}

#[test]
fn sigterm_resets_loading_mode_and_releases_the_pid_file() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    let ok = sac.script("ok", "exit 0");
    let hang = sac.script("hang", "exec sleep 1000");
    for n in ["l1", "l2", "l3"] {
        sac.device(n);
    }
    sac.pmtab(&format!(
        "{}{}{}",
        Sac::link("l1", "", ok.to_str().unwrap()),
        Sac::link("l2", "x", ok.to_str().unwrap()),
        Sac::link("l3", "", hang.to_str().unwrap()),
    ));
    sac.start(&[], "enabled");
    let dev = |s: &Sac, n: &str| s.read(&s.path("dev").join(n));
    assert!(sac.wait(|s| ["l1", "l2", "l3"]
        .iter()
        .all(|n| dev(s, n).contains("loadmode 1"))));
    let pid_text = sac.read(&sac.pm("_pid"));
    assert_eq!(pid_text, sac.child.as_ref().unwrap().id().to_string());
    assert_eq!(sac.terminate().code(), Some(0));
    for n in ["l1", "l2", "l3"] {
        assert!(dev(&sac, n).contains("loadmode 0"), "{n}: {}", dev(&sac, n));
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(sac.pm("_pid"))
        .unwrap();
    rustix::fs::fcntl_lock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .expect("_pid is released");
    assert!(sac.log().contains("terminated by SIGTERM"));
    all_well_formed(&sac.log());
    all_well_formed(&sac.read(&sac.var("state")));
}

#[test]
fn timeout_below_ten_is_ten_and_a_small_log_rotates_at_1024() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    sac.start(&["-t", "3", "-s", "5"], "enabled");
    assert!(sac.log().contains("retry every 10 s"), "{}", sac.log());
    // Each switch logs a line of about 40 bytes.
    for _ in 0..30 {
        sac.send(ScType::DISABLE);
        sac.reply();
        sac.send(ScType::ENABLE);
        assert_eq!(sac.reply().state, PmState::ENABLED);
    }
    let alt = sac.var("log.alt");
    assert!(sac.wait(|s| s.read(&alt).len() > 900), "no log.alt");
    let alt_len = sac.read(&alt).len();
    assert!(alt_len <= 1024, "log.alt has {alt_len} bytes");
    assert!(sac.log().len() <= 1024);
    all_well_formed(&sac.read(&alt));
    all_well_formed(&sac.log());
    assert_eq!(sac.terminate().code(), Some(0));
}

#[test]
fn s0_writes_no_log_but_still_traces() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    sac.start(&["-s", "0", "-d", "1"], "enabled");
    sac.send(ScType(42));
    sac.reply();
    assert!(sac.wait(|s| s
        .read(&s.var("trace"))
        .contains("unknown SAC message type 42")));
    assert!(!sac.var("log").exists());
    assert_eq!(sac.terminate().code(), Some(0));
    all_well_formed(&sac.read(&sac.var("trace")));
}

#[test]
fn f_names_the_trace_file() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    let trace = sac.path("elsewhere.trace");
    sac.start(&["-d", "2", "-f", trace.to_str().unwrap()], "enabled");
    sac.send(ScType::STATUS);
    sac.reply();
    assert!(sac.wait(|s| s.read(&trace).contains("got SC_STATUS message")));
    assert!(!sac.var("trace").exists());
    assert_eq!(sac.terminate().code(), Some(0));
}

#[test]
fn two_hundred_and_one_enabled_entries() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    let mut lines = String::new();
    for i in 0..201 {
        sac.device(&format!("l{i}"));
        lines.push_str(&Sac::link(&format!("l{i}"), "", ""));
    }
    sac.pmtab(&lines);
    sac.start(&[], "enabled");
    assert!(
        sac.log().contains("WARN")
            && sac
                .log()
                .contains("link l200 not monitored: limit 200 reached")
    );
    let (code, out, err) = sac.sihadm(&["-S", "sih1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 201, "a header and 200 links");
    assert!(!sac.read(&sac.path("dev/l200")).contains("loadmode"));
    assert!(sac.read(&sac.path("dev/l199")).contains("loadmode 1"));
    assert_eq!(sac.terminate().code(), Some(0));
}

#[test]
fn readdb_adds_and_removes_links() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    sac.device("l1");
    sac.device("l2");
    sac.pmtab(&Sac::link("l1", "", ""));
    sac.start(&[], "enabled");
    let dev = |s: &Sac, n: &str| s.read(&s.path("dev").join(n));
    assert!(sac.wait(|s| dev(s, "l1").contains("loadmode 1")));
    sac.pmtab(&format!("{}bad line\n", Sac::link("l2", "", "")));
    sac.send(ScType::READDB);
    sac.reply();
    assert!(
        sac.wait(|s| dev(s, "l2").contains("loadmode 1") && dev(s, "l1").contains("loadmode 0"))
    );
    assert!(
        sac.log().contains("pmtab line 3: 1 fields, 11 expected"),
        "{}",
        sac.log()
    );
    // A table that cannot be read keeps the tables in use.
    std::fs::remove_file(sac.path("etc/ttydefs")).unwrap();
    sac.send(ScType::READDB);
    sac.reply();
    assert!(sac.wait(|s| s.log().contains("the tables in use are kept")));
    assert_eq!(sac.terminate().code(), Some(0));
}
