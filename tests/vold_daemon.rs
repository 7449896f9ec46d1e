//! vold as a process: the exit codes of its background start, `-k`,
//! `-r reset`, the modes and the copies, crash points inside a commit,
//! and malformed messages. Everything in a private `STATMON_ROOT`.

#![allow(clippy::unwrap_used)]

#[path = "common/vold.rs"]
mod support;

use statmon::vold::dbformat::{crc32c, Header};
use statmon::vold::spec::DbSpec;
use statmon::vold::store::{read_copy, write_copy, CopyRead, FileStore};
use statmon::vold::wire::{Message, Opcode};
use std::process::Stdio;
use support::{one_volume, signal, wait_until, Tree};

#[test]
fn the_background_start_exits_with_the_seeds_codes() {
    let t = Tree::new();
    assert_eq!(t.vold(&["-q"]), 1, "a bad option");
    assert_eq!(t.vold(&["-r", "now"]), 1, "-r without the word reset");
    assert_eq!(t.vold(&["-x", "5"]), 1);
    assert_eq!(t.vold(&[]), 2, "no voldesc: forced into disabled mode");
    assert_eq!(t.vold(&[]), 3, "one is running");
    t.init_enabled(2);
    t.ok("voladm", &["halt"]);
    assert!(wait_until(10, || t.pid().is_none()));
    assert_eq!(t.vold(&[]), 0, "enabled");
    t.ok("voladm", &["halt"]);
    assert!(wait_until(10, || t.pid().is_none()));
    assert_eq!(t.vold(&["-d"]), 0, "disabled as requested");
    let mode = t.ok("voladm", &["mode"]);
    assert!(
        mode.contains("mode=disabled (started disabled (-d))"),
        "{mode}"
    );
    t.kill();
    let crash = [("STATMON_VOLD_CRASH_AT", "start")];
    assert_eq!(
        t.vold_env(&[], &crash),
        5,
        "killed by a signal before a mode"
    );
    // A request point that cannot be made: an IPC failure.
    std::fs::write(t.path("file"), "").unwrap();
    let bad = t.path("file/request");
    assert_eq!(t.vold(&["-R", bad.to_str().unwrap()]), 8);
    assert!(wait_until(10, || t.pid().is_none()));
}

#[test]
fn a_failure_after_start_up_is_9() {
    let t = Tree::new();
    assert_eq!(t.vold(&[]), 2, "no voldesc yet");
    t.init_enabled(2);
    t.ok("voladm", &["halt"]);
    assert!(wait_until(10, || t.pid().is_none()));
    let hook = [("STATMON_VOLD_CRASH_AT", "loop")];
    let mut c = t.command("vold", &["-f"]);
    let out = c.envs(hook.iter().copied()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    assert!(
        stderr.contains("event loop failed: crash point loop reached"),
        "{stderr}"
    );
    assert_eq!(
        t.vold_env(&[], &hook),
        0,
        "in the background the mode is reported before the failure"
    );
    assert!(wait_until(10, || t.pid().is_none()));
}

#[test]
fn a_system_error_before_a_mode_and_a_revision_mismatch() {
    let t = Tree::new();
    std::fs::write(t.path("run"), "not a directory").unwrap();
    assert_eq!(t.vold(&[]), 4, "the run directory cannot be made");
    std::fs::remove_file(t.path("run")).unwrap();
    std::fs::create_dir_all(t.path("run/vold")).unwrap();
    let kernel = DbSpec {
        path: t.path("run/vold/kernel.db"),
        offset: 0,
        size: 2 + 2 * 4096,
    };
    let h = Header {
        configid: [1; 16],
        flags: 99,
        gen: 1,
        payload_len: 0,
        payload_crc: crc32c(b""),
        txids: vec![],
    };
    write_copy(&mut FileStore::default(), &kernel, None, &h, b"").unwrap();
    let (code, _, err) = t.status("vold", &[]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("revision 99"), "{err}");
}

#[test]
fn reset_is_refused_while_a_node_is_open() {
    let t = Tree::new();
    assert_eq!(t.vold(&[]), 2);
    t.init_enabled(2);
    let desc = one_volume(&t.path("disk"), 0, 16);
    let mut mk = t.command("volmake", &["-d", "-"]);
    mk.stdin(Stdio::piped());
    let mut child = mk.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(desc.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(t.path("dev/vol/v1").exists() && t.path("dev/plex/p1").exists());
    // An open node: -r reset refuses (after -k took over from the old vold).
    let held = std::fs::File::open(t.path("dev/rvol/v1")).unwrap();
    let (code, _, err) = t.status("vold", &["-k", "-r", "reset"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("nodes are open"), "{err}");
    drop(held);
    assert!(t.path("run/vold/kernel.db").exists());
    assert_eq!(t.vold(&["-r", "reset"]), 0, "reset, then a first enable");
    let listing = t.ok("volprint", &["-v"]);
    assert!(
        listing.contains("v1"),
        "the disks still hold the volume: {listing}"
    );
}

#[test]
fn kill_waits_for_the_old_vold_and_gives_up_on_one_that_stays() {
    let t = Tree::new();
    assert_eq!(t.vold(&[]), 2);
    let old = t.pid().unwrap();
    // A stopped vold cannot act on SIGTERM: -k gives up (a 1 s wait).
    signal(old, libc::SIGSTOP);
    let wait = [("STATMON_VOLD_KILL_WAIT", "1")];
    assert_eq!(t.vold_env(&["-k"], &wait), 3);
    signal(old, libc::SIGCONT);
    assert!(
        wait_until(10, || t.pid().is_none()),
        "the pending SIGTERM ends it"
    );
    assert_eq!(t.vold(&[]), 2);
    let old = t.pid().unwrap();
    assert_eq!(
        t.vold(&["-k"]),
        2,
        "a cooperative vold exits and the new one starts"
    );
    let new = t.pid().unwrap();
    assert_ne!(old, new);
}

#[test]
fn fewer_than_two_good_copies_disable_until_a_copy_is_added() {
    let t = Tree::new();
    assert_eq!(t.vold(&[]), 2);
    let (code, _, err) = t.status("volprint", &[]);
    assert_eq!(
        code, 3,
        "utilities fail at once while vold is disabled: {err}"
    );
    assert!(err.contains("not enabled"), "{err}");
    let specs = t.init_enabled(2);
    // The second copy's file becomes a directory: its next write fails.
    let db1 = t.path("db1");
    std::fs::remove_file(&db1).unwrap();
    std::fs::create_dir(&db1).unwrap();
    let (code, _, err) = t.status("volmake", &["vol", "v9", "len=0"]);
    assert_eq!(code, 0, "one copy holds it: committed: {err}");
    let list = t.ok("voladm", &["-l"]);
    assert!(list.contains(&format!("{} error", specs[1])), "{list}");
    assert!(t
        .ok("voladm", &["mode"])
        .contains("fewer than two error-free databases"));
    let (code, _, err) = t.status("volprint", &[]);
    assert_eq!((code, err.contains("not enabled")), (3, true), "{err}");
    let (code, _, _) = t.status("voladm", &["rm", &specs[0]]);
    assert_eq!(code, 0, "disabled: the set of copies may change freely");
    let (code, out, err) = t.status(
        "voladm",
        &["add", &format!("{}/db2,0,64", t.dir.path().display())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("still disabled"), "one copy is not two: {out}");
    let out = t.ok(
        "voladm",
        &["add", &format!("{}/db3,0,64", t.dir.path().display())],
    );
    assert!(out.contains("enabled"), "{out}");
    assert!(t.ok("volprint", &["-v"]).contains("v9"));
    let (code, _, err) = t.status(
        "voladm",
        &["rm", &format!("{}/db3,0,64", t.dir.path().display())],
    );
    assert_eq!(code, 2, "enabled: never fewer than two: {err}");
}

/// The configurations the copies hold, by generation.
fn generations(specs: &[String]) -> Vec<(u64, Vec<u8>)> {
    specs
        .iter()
        .map(
            |s| match read_copy(&mut FileStore::default(), &DbSpec::parse(s, None).unwrap()) {
                CopyRead::Good { header, payload } => (header.gen, payload),
                bad => panic!("{s}: {bad:?}"),
            },
        )
        .collect()
}

#[test]
fn killed_inside_a_commit_every_copy_holds_the_old_or_the_new_and_the_retry_applies_once() {
    for point in [
        "payload:0",
        "header:0",
        "payload:1",
        "header:1",
        "payload:2",
        "header:2",
        "kernel",
    ] {
        let t = Tree::new();
        assert_eq!(t.vold(&[]), 2);
        let specs = t.init_enabled(3);
        let old = generations(&specs)[0].clone();
        t.kill();
        assert_eq!(t.vold_env(&[], &[("STATMON_VOLD_CRASH_AT", point)]), 0);
        let mut mk = t.command("volmake", &["vol", "v1", "len=0", "comment=once"]);
        mk.env("STATMON_VOL_RETRY_LIMIT", "30")
            .env("STATMON_VOL_RETRY_MS", "100")
            .stderr(Stdio::piped());
        let mut volmake = mk.spawn().unwrap();
        assert!(
            wait_until(10, || t.pid().is_none()),
            "{point}: vold did not die"
        );
        let gens = generations(&specs);
        let new = gens.iter().find(|g| g.0 == 2).cloned();
        for g in &gens {
            assert!(
                g == &old || Some(g) == new.as_ref(),
                "{point}: a mix: {gens:?}"
            );
        }
        assert_eq!(t.vold(&[]), 0, "{point}: restarted and enabled");
        let status = volmake.wait().unwrap();
        assert!(status.success(), "{point}: volmake failed");
        let list = t.ok("voladm", &["-l"]);
        assert_eq!(
            list.matches(" ok 2").count(),
            3,
            "{point}: applied once, on every copy: {list}"
        );
        assert!(
            t.ok("volprint", &["-m", "v1"]).contains("comment=once"),
            "{point}"
        );
    }
}

#[test]
fn an_idle_transaction_is_aborted_and_frees_the_writers_place() {
    use statmon::vold::client::Client;
    let t = Tree::new();
    assert_eq!(t.vold_env(&[], &[("STATMON_VOLD_TX_IDLE", "1")]), 2);
    t.init_enabled(2);
    let request = t.path("usr/lib/VxVM/voldrequest");
    let (mut a, mut b) = (
        Client::connect(&request).unwrap(),
        Client::connect(&request).unwrap(),
    );
    let (ta, tb) = ("aa".repeat(16), "bb".repeat(16));
    assert_eq!(a.call(Opcode::BEGIN, &ta).unwrap().opcode, Opcode::OK);
    assert_eq!(b.call(Opcode::BEGIN, &tb).unwrap().opcode, Opcode::BUSY);
    assert!(
        wait_until(10, || b.call(Opcode::BEGIN, &tb).unwrap().opcode
            == Opcode::OK),
        "the idle transaction was never aborted"
    );
    let m = a.call(Opcode::COMMIT, &ta).unwrap();
    assert_eq!(m.opcode, Opcode::ERROR, "{m:?}");
}

#[test]
fn malformed_messages_get_errors_and_vold_keeps_serving() {
    use statmon::vold::client::Client;
    let t = Tree::new();
    assert_eq!(t.vold(&[]), 2);
    let mut c = Client::connect(&t.path("usr/lib/VxVM/volddiag")).unwrap();
    for junk in [
        &b"\x01"[..],
        b"\x02\x00\x01\x00\x00\x00\x00\x00",
        b"\x01\x00\x01\x00\x00\x00\x00\x00\xff\xfe",
    ] {
        c.send_raw(junk).unwrap();
        let m = c.recv().unwrap();
        assert_eq!(m.opcode, Opcode::ERROR, "{m:?}");
        assert!(m.body.starts_with("malformed message"), "{m:?}");
    }
    let m = c.call(Opcode(4242), "").unwrap();
    assert_eq!(m.opcode, Opcode::ERROR);
    let m = c.call(Opcode::BEGIN, "zz").unwrap();
    assert_eq!(m.opcode, Opcode::ERROR, "no transactions on the diag point");
    let m = c.call(Opcode::HELLO, "test").unwrap();
    assert_eq!(m.opcode, Opcode::OK);
    // The request point refuses while disabled and closes.
    let mut r = Client::connect(&t.path("usr/lib/VxVM/voldrequest")).unwrap();
    let m = r.call(Opcode::HELLO, "test").unwrap();
    assert_eq!(m.opcode, Opcode::REFUSED);
    assert!(r.recv().is_err());
    let _ = Message::decode;
}
