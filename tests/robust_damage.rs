//! Damaged state: statmon's rpc.statd started on truncated, zeroed,
//! wrong-version and partly garbage store files (nfs-utils record files and
//! `state`, Apple `statd.status`), an even state, a missing, an unwritable
//! and a full state directory (a 64 KiB tmpfs mounted in the sandbox's
//! mount namespace, filled up).
//!
//! Each case must log a line naming the damaged file, keep the good records
//! that shared a file with bad ones, keep the bad file aside as
//! `.<name>.corrupt-<n>` with its original bytes, and go on serving; SM_MON
//! that cannot be stored answers stat_fail with state -1 and nothing
//! crashes.
//!
//! The nfs-utils cases start from the distribution's layout
//! (`common::layout::stock`); prerequisites are decided by `common::prereq`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::daemon;
use common::layout::{self, StateFile};
use common::nsmraw::{self, Answer, MON, NLM, STAT, UNMON};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use statmon::statd::store::peek::peek;
use statmon::statd::store::StoreFormat;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

const PORT: u16 = 20071;
const COOKIE: [u8; 16] = *b"damage-cookie-01";

fn setup() -> Option<Sandbox> {
    if !prereq::require(&[Need::Sandbox, Need::StatdUser]) {
        return None;
    }
    // Every name the tests monitor resolves (SM_MON of one that does not
    // fails before the store is reached).
    let full: Vec<String> = (0..50).map(|i| format!("full{i}.lab")).collect();
    let names = "after.lab before.lab m.lab n.lab new.lab new2.lab a1.lab a2.lab a3.lab";
    let sb = Sandbox::with_hosts(&[("127.0.0.40", names), ("127.0.0.41", &full.join(" "))]);
    sb.enter_net();
    Some(sb)
}

fn mon(name: &str, xid: u32) -> Option<Answer> {
    nsmraw::local_call(
        nsmraw::local(PORT),
        xid,
        MON,
        &nsmraw::mon_args(name.as_bytes(), b"dmg", NLM, COOKIE),
    )
}

fn ok_mon(name: &str, xid: u32, log: &str) -> i32 {
    match mon(name, xid) {
        Some(Answer::StatRes { res: 0, state }) => state,
        other => panic!("SM_MON {name}: {other:?}\n{log}"),
    }
}

/// The (mon_name, my_name) pairs the store holds as registrations.
fn registered(format: StoreFormat, dir: &Path) -> Vec<(String, String)> {
    let p = peek(format, dir).expect("readable store");
    let mut v: Vec<(String, String)> = p
        .hosts
        .iter()
        .flat_map(|h| h.registrations.iter())
        .map(|r| {
            (
                String::from_utf8_lossy(&r.mon_name).into_owned(),
                String::from_utf8_lossy(&r.my_name).into_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Asserts that exactly one `.NAME.corrupt-*` copy is in `dir` and holds
/// `bytes`.
fn assert_kept_aside(dir: &Path, name: &str, bytes: &[u8], log: &str) {
    let copies = nsmraw::corrupt_copies(dir, name);
    assert_eq!(copies.len(), 1, "{name}: copies {copies:?}\n{log}");
    assert_eq!(
        std::fs::read(&copies[0]).unwrap(),
        bytes,
        "{}: not the original bytes",
        copies[0].display()
    );
}

/// Asserts a log line names `file` and says something about it.
fn assert_logged(log: &str, file: &str) {
    assert!(
        log.lines()
            .any(|l| l.contains(file) && (l.contains("<warning>") || l.contains("<error>"))),
        "no warning naming {file}:\n{log}"
    );
}

#[test]
fn damaged_nfs_utils_files_keep_good_records_and_the_originals() {
    let Some(mut sb) = setup() else {
        return;
    };
    let dir = sb.dir.path().join("nfs");
    let stock = layout::stock(&dir, StateFile::Empty);
    let (sm, bak) = (stock.sm(), stock.bak());
    let line = |h: &str, me: &str| nsmraw::record_line(h, me, COOKIE);
    let good = line("good.lab", "dmg");
    stock.put_record("sm", "good.lab", &good);
    // A crash mid-write of an old-style (non-atomic) writer: a line cut off.
    let cut = format!(
        "{}{}",
        line("trunc.lab", "dmg"),
        &line("trunc.lab", "other")[..40]
    );
    stock.put_record("sm", "trunc.lab", &cut);
    let zeroed = vec![0u8; 150];
    stock.put_record("sm", "zeroed.lab", &zeroed);
    let garbage = format!(
        "{}\u{1}\u{2}garbage line\u{7f}\n{}",
        line("mixed.lab", "dmg"),
        line("mixed.lab", "other")
    );
    stock.put_record("sm", "mixed.lab", &garbage);
    let bak_garbage = format!("{}not a record\n", line("bakhost.lab", "dmg"));
    stock.put_record("sm.bak", "bakhost.lab", &bak_garbage);
    // A 2-byte state file.
    stock.put("state", &[7u8, 0]);
    // Boot id on record: no reboot step, so sm/ stays sm/.
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    stock.put(layout::BOOT_ID, boot.trim());

    let pid = daemon::start_statd(&mut sb, &dir, PORT, &[], "nfs.log").expect("started");
    let log = sb.log("nfs.log");
    println!("{log}");
    for f in [
        "trunc.lab",
        "zeroed.lab",
        "mixed.lab",
        "bakhost.lab",
        "state",
    ] {
        assert_logged(&log, f);
    }
    assert_kept_aside(&sm, "trunc.lab", cut.as_bytes(), &log);
    assert_kept_aside(&sm, "zeroed.lab", &zeroed, &log);
    assert_kept_aside(&sm, "mixed.lab", garbage.as_bytes(), &log);
    assert_kept_aside(&bak, "bakhost.lab", bak_garbage.as_bytes(), &log);
    assert_kept_aside(&dir, "state", &[7, 0], &log);
    assert_eq!(std::fs::read(sm.join("good.lab")).unwrap(), good.as_bytes());
    assert_eq!(
        registered(StoreFormat::NfsUtils, &dir),
        [
            ("good.lab".into(), "dmg".into()),
            ("mixed.lab".into(), "dmg".into()),
            ("mixed.lab".into(), "other".into()),
            ("trunc.lab".into(), "dmg".into()),
        ]
    );
    assert!(!sm.join("zeroed.lab").exists(), "nothing good in it");
    assert_eq!(
        std::fs::read_to_string(bak.join("bakhost.lab")).unwrap(),
        line("bakhost.lab", "dmg"),
        "the notify entry survives"
    );
    let state = nsmraw::nfs_state(&dir).expect("state rewritten");
    assert!(state > 3 && state % 2 == 1, "derived state {state}");
    assert_eq!(std::fs::read(dir.join("state")).unwrap().len(), 4);
    // Still serving.
    assert_eq!(ok_mon("new.lab", 1, &log), state);
    assert!(sm.join("new.lab").exists());
    assert!(sb.stop(pid, libc::SIGTERM).is_some_and(|s| s.success()));

    // An even state is raised to the next odd one, and said so.
    stock.put("state", &1000i32.to_ne_bytes());
    let pid = daemon::start_statd(&mut sb, &dir, PORT, &[], "even.log").expect("started");
    let log = sb.log("even.log");
    assert!(log.contains("even"), "{log}");
    assert_eq!(nsmraw::nfs_state(&dir), Some(1001));
    assert_eq!(ok_mon("new2.lab", 2, &log), 1001);
    assert_eq!(registered(StoreFormat::NfsUtils, &dir).len(), 6);
    assert!(sb.stop(pid, libc::SIGTERM).is_some_and(|s| s.success()));
}

#[test]
fn damaged_apple_status_files_are_kept_aside() {
    let Some(mut sb) = setup() else {
        return;
    };
    let apple = ["--store-format", "apple"];
    let dir = layout::apple_stock(&sb.dir.path().join("apple"));
    let pid = daemon::start_statd(&mut sb, &dir, PORT, &apple, "apple0.log").expect("started");
    for (i, h) in ["a1.lab", "a2.lab", "a3.lab"].iter().enumerate() {
        ok_mon(h, 10 + i as u32, &sb.log("apple0.log"));
    }
    assert!(sb.stop(pid, libc::SIGTERM).is_some());
    let status = dir.join("statd.status");
    let whole = std::fs::read(&status).unwrap();
    assert!(whole.len() > 256 + 3 * 64, "{} bytes", whole.len());
    let full = registered(StoreFormat::Apple, &dir);
    assert_eq!(full.len(), 3);
    let mut wrong_version = whole.clone();
    wrong_version[8..12].copy_from_slice(b"NSM9");
    let mut garbage = whole.clone();
    // The last record's length field: garbage.
    let last = whole.len() - 72;
    garbage[last..last + 2].copy_from_slice(&[0xff, 0xff]);
    let cases: [(&str, Vec<u8>); 4] = [
        ("short header", whole[..100].to_vec()),
        ("zeroed", vec![0u8; whole.len()]),
        ("wrong version", wrong_version),
        ("garbage record", garbage),
    ];
    for (n, (what, bytes)) in cases.iter().enumerate() {
        std::fs::write(&status, bytes).unwrap();
        let log = format!("apple{}.log", n + 1);
        let pid = daemon::start_statd(&mut sb, &dir, PORT, &apple, &log)
            .unwrap_or_else(|| panic!("{what}: no answer\n{}", sb.log(&log)));
        let text = sb.log(&log);
        println!("--- {what}\n{text}");
        assert_logged(&text, "statd.status");
        assert_kept_aside(&dir, "statd.status", bytes, &text);
        // The registrations (sidecar) survive whatever happened to the
        // host list, and the host list is whole again.
        assert_eq!(registered(StoreFormat::Apple, &dir), full, "{what}");
        let p = peek(StoreFormat::Apple, &dir).unwrap();
        assert!(p.problems.is_empty(), "{what}: {:?}", p.problems);
        assert!(
            p.hosts.iter().filter(|h| h.monitored).count() == 3,
            "{what}: {:?}",
            p.hosts
        );
        let state = nsmraw::apple_state(&dir).unwrap();
        assert!(state > 0 && state % 2 == 1, "{what}: state {state}");
        assert_eq!(ok_mon("after.lab", 20 + n as u32, &text), state);
        let unmon = nsmraw::local_call(
            nsmraw::local(PORT),
            30 + n as u32,
            UNMON,
            &nsmraw::unmon_args(b"after.lab", b"dmg", NLM),
        );
        assert_eq!(unmon, Some(Answer::State(state)));
        assert!(sb.stop(pid, libc::SIGTERM).is_some_and(|s| s.success()));
        for c in nsmraw::corrupt_copies(&dir, "statd.status") {
            std::fs::remove_file(c).unwrap();
        }
    }
}

#[test]
fn missing_and_unwritable_state_directories() {
    let Some(mut sb) = setup() else {
        return;
    };
    // Not the stock layout, on purpose: this test is about a state
    // directory that is missing (the daemon, still root, creates it and
    // runs as root there) and then one owned by another user.
    // Missing (two levels): created, and served.
    let dir = sb.dir.path().join("not/there");
    let pid = daemon::start_statd(&mut sb, &dir, PORT, &[], "missing.log").expect("started");
    let log = sb.log("missing.log");
    let state = ok_mon("m.lab", 1, &log);
    assert!(dir.join("sm/m.lab").exists());
    assert_eq!(nsmraw::nfs_state(&dir), Some(state));
    assert!(sb.stop(pid, libc::SIGTERM).is_some());

    // The records directory cannot be written by the daemon (it runs as
    // the owner of sm/, 65534, and sm/ is read-only): SM_MON fails
    // cleanly, the daemon keeps serving, the old record stays.
    let nobody = 65_534;
    for p in [
        dir.clone(),
        dir.join("sm"),
        dir.join("sm.bak"),
        dir.join("state"),
    ] {
        std::os::unix::fs::chown(&p, Some(nobody), Some(nobody)).unwrap();
    }
    for p in [dir.join("sm/m.lab"), dir.join(layout::BOOT_ID)] {
        std::os::unix::fs::chown(&p, Some(nobody), Some(nobody)).unwrap();
    }
    std::fs::set_permissions(dir.join("sm"), std::fs::Permissions::from_mode(0o500)).unwrap();
    let pid = daemon::start_statd(&mut sb, &dir, PORT, &[], "ro-sm.log")
        .unwrap_or_else(|| panic!("{}", sb.log("ro-sm.log")));
    assert_eq!(
        nsmraw::proc_status(pid, "Uid")
            .unwrap()
            .split_whitespace()
            .next(),
        Some("65534")
    );
    let r = mon("n.lab", 2);
    let log = sb.log("ro-sm.log");
    println!("{log}");
    assert_eq!(r, Some(Answer::StatRes { res: 1, state: -1 }), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("Permission denied") && l.contains("sm")),
        "{log}"
    );
    let stat = nsmraw::local_call(
        nsmraw::local(PORT),
        3,
        STAT,
        &nsmraw::stat_args(b"127.0.0.9"),
    );
    assert_eq!(stat, Some(Answer::StatRes { res: 0, state }));
    assert!(dir.join("sm/m.lab").exists());
    assert!(sb.stop(pid, libc::SIGTERM).is_some());

    // The state directory itself is read-only for the daemon and a reboot
    // step is due: as sm-notify does, the step (records moved one by one,
    // the state raised) runs while still root, before the drop, so the
    // daemon starts and serves as the records' owner.
    std::fs::set_permissions(dir.join("sm"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::write(dir.join(layout::BOOT_ID), "another-boot\n").unwrap();
    let cmd = daemon::statd(&sb, &dir, 20072, &[]);
    let pid = sb.spawn(cmd, "ro-dir.log");
    let up = nsmraw::wait_answer(nsmraw::local(20072), Duration::from_secs(10));
    let log = sb.log("ro-dir.log");
    println!("read-only state dir:\n{log}");
    assert!(up, "no answer on a read-only state directory:\n{log}");
    assert_eq!(
        nsmraw::proc_status(pid, "Uid")
            .unwrap()
            .split_whitespace()
            .next(),
        Some("65534"),
        "{log}"
    );
    let raised = nsmraw::nfs_state(&dir).expect("state");
    assert!(
        raised > state && raised % 2 == 1,
        "state {state} -> {raised}\n{log}"
    );
    assert!(
        dir.join("sm.bak/m.lab").exists() && !dir.join("sm/m.lab").exists(),
        "the record moves to the notify list\n{log}"
    );
    assert!(sb.stop(pid, libc::SIGTERM).is_some());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn full_disk_answers_stat_fail_and_keeps_serving() {
    let Some(mut sb) = setup() else {
        return;
    };
    let dir = sb.dir.path().join("tiny");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap().to_string();
    let out = sb.run(
        "mount",
        &["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", &d],
    );
    assert!(out.status.success(), "mount: {out:?}");
    // The tmpfs exists only in the sandbox's mount namespace; the stock
    // layout is made on it.
    let inside =
        Path::new(&format!("/proc/{}/root", sb.holder_pid())).join(dir.strip_prefix("/").unwrap());
    layout::stock(&inside, StateFile::Empty);
    let pid = daemon::start_statd(&mut sb, &dir, PORT, &[], "full.log").expect("started");
    let log = sb.log("full.log");
    let state = ok_mon("before.lab", 1, &log);
    assert!(inside.join("sm/before.lab").exists(), "not on the tmpfs");
    let fill = sb.run("dd", &["if=/dev/zero", &format!("of={d}/fill"), "bs=4096"]);
    println!("dd: {}", String::from_utf8_lossy(&fill.stderr).trim());
    let df = sb.run("df", &["-k", &d]);
    println!("{}", String::from_utf8_lossy(&df.stdout));
    let rss_before = nsmraw::rss_kib(pid).unwrap();
    let mut fails = 0;
    for i in 0..50u32 {
        match mon(&format!("full{i}.lab"), 100 + i) {
            Some(Answer::StatRes { res: 1, state: -1 }) => fails += 1,
            other => panic!("SM_MON on a full disk: {other:?}\n{}", sb.log("full.log")),
        }
    }
    let log = sb.log("full.log");
    println!(
        "{}",
        log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(fails, 50);
    assert!(log.contains("No space left"), "{log}");
    // Still serving, state unchanged, the earlier record intact, no
    // half-written file left in sm/.
    assert!(nsmraw::wait_answer(
        nsmraw::local(PORT),
        Duration::from_secs(2)
    ));
    let stat = nsmraw::local_call(
        nsmraw::local(PORT),
        300,
        STAT,
        &nsmraw::stat_args(b"127.0.0.9"),
    );
    assert_eq!(stat, Some(Answer::StatRes { res: 0, state }));
    // (Dot files included: no temporary file; statmon's boot id lives here.)
    assert_eq!(
        nsmraw::file_names(&inside.join("sm"), true),
        [".statmon-boot-id", "before.lab"]
    );
    assert_eq!(nsmraw::nfs_state(&inside), Some(state));
    let rss_after = nsmraw::rss_kib(pid).unwrap();
    println!("VmRSS {rss_before} KiB -> {rss_after} KiB over 50 failed SM_MONs");
    // Space again: SM_MON works again.
    sb.run("rm", &[&format!("{d}/fill")]);
    assert_eq!(ok_mon("after.lab", 400, &sb.log("full.log")), state);
    assert!(inside.join("sm/after.lab").exists());
    let meta = std::fs::metadata(inside.join("sm/after.lab")).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert!(sb.stop(pid, libc::SIGTERM).is_some_and(|s| s.success()));
}
