//! The Apple-layout store (`statd.status` + sidecars) in temporary
//! directories: batches, reloads, identity rules, reboot transition, state
//! rules, damaged files and crash leftovers.

#![allow(clippy::unwrap_used)]

use statmon::statd::record::{CallerKey, Change, Effect, Registration, UnmonitorKey};
use statmon::statd::store::apple::format::{encode, HostInfo};
use statmon::statd::store::nfsutils::format::format_line;
use statmon::statd::store::{AppleStore, BootInfo, StateNote, Store};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const NOW: u64 = 1_763_712_000;

fn boot(id: &str) -> BootInfo {
    BootInfo {
        boot_id: Some(id.as_bytes().to_vec()),
        now_unix_secs: NOW,
    }
}

fn reg(mon: &str, my: &str, vers: u32, cookie: u8) -> Registration {
    Registration {
        mon_name: mon.into(),
        my_name: my.into(),
        my_prog: 100_021,
        my_vers: vers,
        my_proc: 1,
        cookie: [cookie; 16],
    }
}

fn host(name: &str, monitored: bool, notify: bool) -> HostInfo {
    HostInfo {
        name: name.into(),
        monitored,
        notify,
    }
}

fn status_path(dir: &Path) -> PathBuf {
    dir.join("statd.status")
}

/// A loaded store whose status file holds state 3 and no hosts.
fn fresh() -> (tempfile::TempDir, AppleStore) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(status_path(dir.path()), encode(3, &[])).unwrap();
    fs::write(dir.path().join("statd.status.bootid"), "b1\n").unwrap();
    let mut store = AppleStore::open(status_path(dir.path()));
    let loaded = store.load(&boot("b1")).unwrap();
    assert_eq!((loaded.state, loaded.new_boot), (3, false));
    (dir, store)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn batch_commit_writes_the_apple_file_and_a_sidecar() {
    let (dir, mut store) = fresh();
    let a = reg("client1", "localhost", 0, 0);
    let b = reg("10.0.0.250", "localhost", 0, 0);
    assert_eq!(
        store
            .commit(&[Change::Monitor(a.clone()), Change::Monitor(b.clone())])
            .unwrap(),
        vec![Effect::Added, Effect::Added]
    );
    let bytes = fs::read(status_path(dir.path())).unwrap();
    assert_eq!(
        bytes,
        encode(
            3,
            &[
                host("client1", true, false),
                host("10.0.0.250", true, false)
            ]
        )
    );
    assert_eq!(
        &bytes[256..264],
        &[0x00, 0x48, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07]
    );
    let sidecar = dir.path().join("statd.status.callbacks");
    let mut expected = format_line(&a);
    expected.extend_from_slice(&format_line(&b));
    assert_eq!(fs::read(&sidecar).unwrap(), expected);
    assert_eq!(
        fs::metadata(&sidecar).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let mut again = AppleStore::open(status_path(dir.path()));
    let loaded = again.load(&boot("b1")).unwrap();
    assert!(loaded.damage.is_empty());
    assert_eq!(loaded.hosts, store.hosts());
    assert_eq!(loaded.hosts[1].name, b"client1");
    assert_eq!(loaded.hosts[1].registrations, vec![a]);
}

#[test]
fn identity_rules() {
    let (dir, mut store) = fresh();
    store
        .commit(&[Change::Monitor(reg("Peer", "localhost", 0, 1))])
        .unwrap();
    let effects = store
        .commit(&[
            Change::Monitor(reg("PEER", "localhost", 0, 1)),
            Change::Monitor(reg("peer", "localhost", 0, 2)),
            Change::Monitor(reg("peer", "localhost", 1, 2)),
            Change::Monitor(reg("peer", "ganesha", 4, 0)),
        ])
        .unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::Unchanged,
            Effect::Replaced,
            Effect::Replaced,
            Effect::Added
        ]
    );
    // One host record, spelled as first monitored.
    assert_eq!(
        fs::read(status_path(dir.path())).unwrap(),
        encode(3, &[host("Peer", true, false)])
    );
    assert_eq!(
        store.hosts()[0].registrations,
        vec![reg("peer", "localhost", 1, 2), reg("peer", "ganesha", 4, 0)]
    );
}

#[test]
fn unmonitoring_the_last_client_clears_the_host() {
    let (dir, mut store) = fresh();
    store
        .commit(&[
            Change::Monitor(reg("a", "localhost", 0, 0)),
            Change::Monitor(reg("a", "other", 0, 0)),
            Change::Monitor(reg("b", "localhost", 0, 0)),
        ])
        .unwrap();
    let key = UnmonitorKey {
        mon_name: b"A".to_vec(),
        my_name: b"localhost".to_vec(),
        my_prog: 100_021,
        my_vers: Some(0),
        my_proc: 1,
    };
    assert_eq!(
        store.commit(&[Change::Unmonitor(key)]).unwrap(),
        vec![Effect::Removed(1)]
    );
    assert!(store.hosts().iter().all(|h| h.monitored));
    let all = CallerKey {
        my_name: b"localhost".to_vec(),
        my_prog: 100_021,
        my_vers: None,
        my_proc: 1,
    };
    assert_eq!(
        store.commit(&[Change::UnmonitorAll(all)]).unwrap(),
        vec![Effect::Removed(1)]
    );
    assert_eq!(
        fs::read(status_path(dir.path())).unwrap(),
        encode(3, &[host("a", true, false)])
    );
}

#[test]
fn reboot_turns_monitored_into_notify() {
    let (dir, mut store) = fresh();
    store
        .commit(&[
            Change::Monitor(reg("a", "localhost", 0, 0)),
            Change::Monitor(reg("b", "localhost", 0, 0)),
        ])
        .unwrap();
    let mut store = AppleStore::open(status_path(dir.path()));
    assert!(store.load(&boot("b2")).unwrap().new_boot);
    assert_eq!(store.begin_reboot(Some(b"b2")).unwrap(), 5);
    assert_eq!(
        fs::read(status_path(dir.path())).unwrap(),
        encode(5, &[host("a", false, true), host("b", false, true)])
    );
    assert_eq!(
        fs::read(dir.path().join("statd.status.callbacks")).unwrap(),
        b""
    );
    assert!(store
        .hosts()
        .iter()
        .all(|h| h.needs_notify && !h.monitored && h.registrations.is_empty()));

    // "a" monitored again and notified; "b" notified: "b" disappears.
    store
        .commit(&[
            Change::Monitor(reg("a", "localhost", 0, 0)),
            Change::NotifyDone {
                host: b"A".to_vec(),
                my_name: None,
            },
            Change::NotifyDone {
                host: b"b".to_vec(),
                my_name: None,
            },
        ])
        .unwrap();
    assert_eq!(
        fs::read(status_path(dir.path())).unwrap(),
        encode(5, &[host("a", true, false)])
    );
    let loaded = AppleStore::open(status_path(dir.path()))
        .load(&boot("b2"))
        .unwrap();
    assert_eq!((loaded.state, loaded.new_boot), (5, false));
}

#[test]
fn state_rules() {
    let derived = ((NOW - 1_704_067_200) | 1) as i32;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db/statd.status");
    let load = || AppleStore::open(&path).load(&boot("x")).unwrap();

    // Missing: file created with a derived state.
    let loaded = load();
    assert_eq!(
        (loaded.state, loaded.state_note),
        (derived, Some(StateNote::Missing))
    );
    assert_eq!(fs::read(&path).unwrap(), encode(derived as u32, &[]));
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );

    // Zero-length.
    fs::write(&path, b"").unwrap();
    let loaded = load();
    assert_eq!(
        (loaded.state, loaded.state_note),
        (derived, Some(StateNote::Damaged { len: 0 }))
    );

    // Even (as Apple's statd leaves it at shutdown): next odd, written.
    fs::write(&path, encode(10, &[host("h", true, false)])).unwrap();
    let loaded = load();
    assert_eq!(
        (loaded.state, loaded.state_note),
        (11, Some(StateNote::Even(10)))
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        encode(11, &[host("h", true, false)])
    );

    // Odd: kept.
    let loaded = load();
    assert_eq!((loaded.state, loaded.state_note), (11, None));
}

#[test]
fn damaged_files_keep_good_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = status_path(dir.path());
    let load = || AppleStore::open(&path).load(&boot("x")).unwrap();
    let good = encode(
        7,
        &[
            host("one", true, false),
            host("two", false, true),
            host("three", true, true),
        ],
    );

    // A bad name in the middle: neighbours kept, original moved aside.
    let mut bad = good.clone();
    bad[256 + 72 + 8 + 3] = b'x'; // "two" loses its NUL
    fs::write(&path, &bad).unwrap();
    let loaded = load();
    assert_eq!(loaded.state, 7);
    assert_eq!(loaded.damage.len(), 1);
    assert_eq!(loaded.damage[0].kept, 2);
    assert_eq!(
        fs::read(loaded.damage[0].moved_to.as_ref().unwrap()).unwrap(),
        bad
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        encode(7, &[host("one", true, false), host("three", true, true)])
    );

    // Truncated in the last record.
    fs::write(&path, &good[..good.len() - 30]).unwrap();
    let loaded = load();
    assert_eq!(loaded.damage[0].kept, 2);
    assert_eq!(
        fs::read(&path).unwrap(),
        encode(7, &[host("one", true, false), host("two", false, true)])
    );

    // Zeroed (version 0) and wrong version: nothing trustworthy, moved aside.
    for junk in [vec![0u8; 4096], {
        let mut v = good.clone();
        v[11] = b'2';
        v
    }] {
        fs::write(&path, &junk).unwrap();
        let loaded = load();
        assert!(
            loaded.damage[0].what.contains("not NSM1"),
            "{}",
            loaded.damage[0].what
        );
        assert_eq!(
            fs::read(loaded.damage[0].moved_to.as_ref().unwrap()).unwrap(),
            junk
        );
        assert_eq!(
            loaded.state_note,
            Some(StateNote::Damaged { len: junk.len() })
        );
        assert!(loaded.hosts.is_empty());
    }
    assert_eq!(
        names_in(dir.path()),
        vec![
            ".statd.status.corrupt-1",
            ".statd.status.corrupt-2",
            ".statd.status.corrupt-3",
            ".statd.status.corrupt-4",
            "statd.status"
        ]
    );

    // A bad sidecar line: the other registrations kept.
    let sidecar = dir.path().join("statd.status.callbacks");
    let mut lines = format_line(&reg("peer", "localhost", 0, 0));
    lines.extend_from_slice(b"nonsense\n");
    fs::write(&sidecar, &lines).unwrap();
    let loaded = load();
    assert_eq!(loaded.damage.len(), 1);
    assert_eq!(loaded.damage[0].kept, 1);
    assert_eq!(
        fs::read(&sidecar).unwrap(),
        format_line(&reg("peer", "localhost", 0, 0))
    );
    // The registration's host was not in statd.status: it is now.
    assert!(loaded.hosts[0].monitored);
    assert_eq!(loaded.hosts[0].name, b"peer");
}

#[test]
fn crash_leftovers_are_ignored_and_cleaned() {
    let (dir, mut store) = fresh();
    store
        .commit(&[Change::Monitor(reg("peer", "localhost", 0, 0))])
        .unwrap();
    fs::write(
        dir.path().join(".statd.status.new"),
        encode(99, &[host("ghost", true, false)]),
    )
    .unwrap();
    fs::write(dir.path().join(".statd.status.callbacks.new"), b"half").unwrap();
    fs::write(dir.path().join(".someone-else.new"), b"not ours").unwrap();
    let loaded = AppleStore::open(status_path(dir.path()))
        .load(&boot("b1"))
        .unwrap();
    assert!(loaded.damage.is_empty());
    assert_eq!(loaded.state, 3);
    assert_eq!(loaded.hosts.len(), 1);
    assert_eq!(
        names_in(dir.path()),
        vec![
            ".someone-else.new",
            "statd.status",
            "statd.status.bootid",
            "statd.status.callbacks"
        ]
    );
}
