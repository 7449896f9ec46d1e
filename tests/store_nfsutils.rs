//! The nfs-utils store in temporary directories: batches, reloads, identity
//! rules, reboot transition, state rules, damaged files, crash leftovers,
//! and (as root, if Debian's rpc.statd is installed) interoperability.

#![allow(clippy::unwrap_used)]

mod common;

use common::layout;
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::start_rpcbind;

use statmon::statd::record::{CallerKey, Change, Effect, Registration, UnmonitorKey};
use statmon::statd::store::nfsutils::format::format_line;
use statmon::statd::store::{BootInfo, NfsUtilsStore, RecordError, StateNote, Store, StoreError};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
        my_proc: 16,
        cookie: [cookie; 16],
    }
}

fn unmon(mon: &str, my: &str, vers: u32) -> UnmonitorKey {
    UnmonitorKey {
        mon_name: mon.into(),
        my_name: my.into(),
        my_prog: 100_021,
        my_vers: Some(vers),
        my_proc: 16,
    }
}

fn lines(regs: &[Registration]) -> Vec<u8> {
    regs.iter().flat_map(format_line).collect()
}

fn write_state(dir: &Path, state: i32) {
    fs::write(dir.join("state"), state.to_ne_bytes()).unwrap();
}

fn read_state(dir: &Path) -> i32 {
    i32::from_ne_bytes(fs::read(dir.join("state")).unwrap().try_into().unwrap())
}

/// A loaded store over a fresh directory whose state is 3 and boot id "b1".
fn fresh() -> (tempfile::TempDir, NfsUtilsStore) {
    let dir = tempfile::tempdir().unwrap();
    write_state(dir.path(), 3);
    fs::create_dir(dir.path().join("sm")).unwrap();
    fs::write(dir.path().join(layout::BOOT_ID), "b1\n").unwrap();
    let mut store = NfsUtilsStore::open(dir.path());
    let loaded = store.load(&boot("b1")).unwrap();
    assert!(!loaded.new_boot);
    assert_eq!(loaded.state, 3);
    (dir, store)
}

/// The file names in `dir` that are (`spares`) or are not spare files
/// (removed records kept for reuse, which nobody reads as records), sorted;
/// statmon's boot id (in `sm/`) left out.
fn files_in(dir: &Path, spares: bool) -> Vec<String> {
    let boot_id = layout::BOOT_ID.trim_start_matches("sm/");
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != boot_id && n.starts_with(SPARE) == spares)
        .collect();
    v.sort();
    v
}

fn names_in(dir: &Path) -> Vec<String> {
    files_in(dir, false)
}

fn spares_in(dir: &Path) -> Vec<String> {
    files_in(dir, true)
}

const SPARE: &str = ".statmon-spare-";

#[test]
fn batch_commit_writes_nfs_utils_files_and_reloads() {
    let (dir, mut store) = fresh();
    let a = reg("127.0.0.20", "labclient", 4, 0x11);
    let b = reg("127.0.0.20", "otherclient", 4, 0x22);
    let c = reg("PeerHost", "labclient", 3, 0x33);
    let effects = store
        .commit(&[
            Change::Monitor(a.clone()),
            Change::Monitor(b.clone()),
            Change::Monitor(c.clone()),
        ])
        .unwrap();
    assert_eq!(effects, vec![Effect::Added; 3]);

    let sm = dir.path().join("sm");
    assert_eq!(names_in(&sm), vec!["127.0.0.20", "peerhost"]);
    assert_eq!(
        fs::read(sm.join("127.0.0.20")).unwrap(),
        lines(&[a.clone(), b.clone()])
    );
    assert_eq!(
        fs::read(sm.join("peerhost")).unwrap(),
        lines(std::slice::from_ref(&c))
    );
    let mode = fs::metadata(sm.join("peerhost"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let mut again = NfsUtilsStore::open(dir.path());
    let loaded = again.load(&boot("b1")).unwrap();
    assert!(loaded.damage.is_empty());
    assert_eq!(loaded.hosts, store.hosts());
    assert_eq!(loaded.hosts[0].registrations, vec![a, b]);
    assert!(loaded.hosts.iter().all(|h| h.monitored && !h.needs_notify));
}

#[test]
fn identity_rules() {
    let (dir, mut store) = fresh();
    let first = reg("peer", "me", 3, 1);
    let file = dir.path().join("sm/peer");
    assert_eq!(
        store.commit(&[Change::Monitor(first.clone())]).unwrap(),
        vec![Effect::Added]
    );
    let mtime = fs::metadata(&file).unwrap().modified().unwrap();

    // Same registration, host in another case: nothing to write.
    let effects = store
        .commit(&[Change::Monitor(reg("PEER", "me", 3, 1))])
        .unwrap();
    assert_eq!(effects, vec![Effect::Unchanged]);
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), mtime);
    assert_eq!(names_in(&dir.path().join("sm")), vec!["peer"]);

    // New cookie replaces; another my_vers replaces; other my_name adds.
    let effects = store
        .commit(&[
            Change::Monitor(reg("peer", "me", 3, 2)),
            Change::Monitor(reg("Peer", "me", 0, 2)),
            Change::Monitor(reg("peer", "you", 3, 2)),
        ])
        .unwrap();
    assert_eq!(
        effects,
        vec![Effect::Replaced, Effect::Replaced, Effect::Added]
    );
    assert_eq!(
        fs::read(&file).unwrap(),
        lines(&[reg("Peer", "me", 0, 2), reg("peer", "you", 3, 2)])
    );
}

#[test]
fn unmonitor_and_unmonitor_all() {
    let (dir, mut store) = fresh();
    store
        .commit(&[
            Change::Monitor(reg("a", "me", 3, 1)),
            Change::Monitor(reg("a", "you", 3, 1)),
            Change::Monitor(reg("b", "me", 3, 1)),
            Change::Monitor(reg("c", "me", 4, 1)),
        ])
        .unwrap();
    let effects = store
        .commit(&[
            Change::Unmonitor(unmon("A", "me", 4)), // wrong version: no-op
            Change::Unmonitor(unmon("A", "me", 3)),
            Change::Unmonitor(unmon("nobody", "me", 3)),
        ])
        .unwrap();
    assert_eq!(
        effects,
        vec![Effect::Removed(0), Effect::Removed(1), Effect::Removed(0)]
    );
    assert_eq!(
        fs::read(dir.path().join("sm/a")).unwrap(),
        lines(&[reg("a", "you", 3, 1)])
    );

    let all = CallerKey {
        my_name: b"ME".to_vec(),
        my_prog: 100_021,
        my_vers: Some(3),
        my_proc: 16,
    };
    assert_eq!(
        store.commit(&[Change::UnmonitorAll(all)]).unwrap(),
        vec![Effect::Removed(1)]
    );
    assert_eq!(names_in(&dir.path().join("sm")), vec!["a", "c"]);
    let any = CallerKey {
        my_name: b"me".to_vec(),
        my_prog: 100_021,
        my_vers: None,
        my_proc: 16,
    };
    assert_eq!(
        store.commit(&[Change::UnmonitorAll(any)]).unwrap(),
        vec![Effect::Removed(1)]
    );
    assert_eq!(names_in(&dir.path().join("sm")), vec!["a"]);
}

#[test]
fn refused_batches_change_nothing() {
    let (dir, mut store) = fresh();
    let long = reg(&"m".repeat(255), &"y".repeat(770), 3, 0);
    let err = store
        .commit(&[
            Change::Monitor(reg("ok", "me", 3, 0)),
            Change::Monitor(long),
        ])
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            index: 1,
            why: RecordError::TooLong
        }
    ));
    let err = store
        .commit(&[Change::Monitor(reg("a/b", "me", 3, 0))])
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            index: 0,
            why: RecordError::BadMonName
        }
    ));
    let err = store.commit(&[Change::SetState(1)]).unwrap_err();
    assert!(matches!(
        err,
        StoreError::StateLowered {
            current: 3,
            requested: 1,
            ..
        }
    ));
    assert!(names_in(&dir.path().join("sm")).is_empty());
    assert!(store.hosts().is_empty());
    assert_eq!(
        store.commit(&[Change::SetState(7)]).unwrap(),
        vec![Effect::Updated]
    );
    assert_eq!(read_state(dir.path()), 7);
}

#[test]
fn reboot_moves_monitors_to_the_notify_list_and_bumps_state() {
    let (dir, mut store) = fresh();
    store
        .commit(&[
            Change::Monitor(reg("a", "me", 3, 1)),
            Change::Monitor(reg("b", "me", 3, 1)),
        ])
        .unwrap();
    let sm_a = dir.path().join("sm/a");
    let mtime = fs::metadata(&sm_a).unwrap().modified().unwrap();

    // A reboot is seen at the next load.
    let mut store = NfsUtilsStore::open(dir.path());
    let loaded = store.load(&boot("b2")).unwrap();
    assert!(loaded.new_boot);
    assert_eq!(store.begin_reboot(Some(b"b2")).unwrap(), 5);
    assert!(names_in(&dir.path().join("sm")).is_empty());
    assert_eq!(names_in(&dir.path().join("sm.bak")), vec!["a", "b"]);
    assert_eq!(
        fs::metadata(dir.path().join("sm.bak/a"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    assert_eq!(read_state(dir.path()), 5);
    let hosts = store.hosts();
    assert!(hosts
        .iter()
        .all(|h| !h.monitored && h.needs_notify && h.notify.len() == 1));

    // "a" is monitored again, then another reboot before "a" was notified:
    // the notify lines merge instead of being overwritten.
    store
        .commit(&[Change::Monitor(reg("a", "me", 3, 9))])
        .unwrap();
    store.begin_reboot(Some(b"b3")).unwrap();
    assert_eq!(
        fs::read(dir.path().join("sm.bak/a")).unwrap(),
        lines(&[reg("a", "me", 3, 1), reg("a", "me", 3, 9)])
    );
    assert_eq!(read_state(dir.path()), 7);

    // Notifications done: lines go, files go.
    let effects = store
        .commit(&[
            Change::NotifyDone {
                host: b"A".to_vec(),
                my_name: Some(b"me".to_vec()),
            },
            Change::NotifyDone {
                host: b"b".to_vec(),
                my_name: None,
            },
        ])
        .unwrap();
    assert_eq!(effects, vec![Effect::Removed(2), Effect::Removed(1)]);
    assert!(names_in(&dir.path().join("sm.bak")).is_empty());

    // A plain restart in the same boot keeps the state.
    let mut store = NfsUtilsStore::open(dir.path());
    let loaded = store.load(&boot("b3")).unwrap();
    assert!(!loaded.new_boot);
    assert_eq!(loaded.state, 7);
    assert_eq!(
        fs::read_to_string(dir.path().join(layout::BOOT_ID)).unwrap(),
        "b3\n"
    );
}

#[test]
fn set_boot_id_without_reboot_processing() {
    let (dir, mut store) = fresh();
    assert_eq!(
        store.commit(&[Change::SetBootId(b"b9".to_vec())]).unwrap(),
        vec![Effect::Updated]
    );
    assert_eq!(
        store.commit(&[Change::SetBootId(b"b9".to_vec())]).unwrap(),
        vec![Effect::Unchanged]
    );
    assert!(
        !NfsUtilsStore::open(dir.path())
            .load(&boot("b9"))
            .unwrap()
            .new_boot
    );
}

#[test]
fn state_rules() {
    let derived = ((NOW - 1_704_067_200) | 1) as i32;
    let load = |dir: &Path| NfsUtilsStore::open(dir).load(&boot("x")).unwrap();

    // Missing: derived from the clock, written, directories created.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nfs");
    let loaded = load(&root);
    assert_eq!(
        (loaded.state, loaded.state_note),
        (derived, Some(StateNote::Missing))
    );
    assert_eq!(read_state(&root), derived);
    assert_eq!(
        fs::metadata(root.join("state"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    assert!(root.join("sm").is_dir() && root.join("sm.bak").is_dir());
    assert!(loaded.new_boot);

    // Zero-length (as Debian ships it): no state yet, as a missing file;
    // derived, and no damage reported.
    fs::write(root.join("state"), b"").unwrap();
    let loaded = load(&root);
    assert_eq!(
        (loaded.state, loaded.state_note),
        (derived, Some(StateNote::Missing))
    );
    assert!(loaded.damage.is_empty(), "{:?}", loaded.damage);

    // Two bytes: derived, the file kept aside.
    fs::write(root.join("state"), b"\x07\x00").unwrap();
    let loaded = load(&root);
    assert_eq!(loaded.state, derived);
    assert_eq!(loaded.damage.len(), 1);
    assert_eq!(
        fs::read(loaded.damage[0].moved_to.as_ref().unwrap()).unwrap(),
        b"\x07\x00"
    );

    // Even: next odd, written back.
    write_state(&root, 10);
    let loaded = load(&root);
    assert_eq!(
        (loaded.state, loaded.state_note),
        (11, Some(StateNote::Even(10)))
    );
    assert_eq!(read_state(&root), 11);

    // Odd: kept, file untouched.
    write_state(&root, 9);
    let mtime = fs::metadata(root.join("state"))
        .unwrap()
        .modified()
        .unwrap();
    let loaded = load(&root);
    assert_eq!((loaded.state, loaded.state_note), (9, None));
    assert_eq!(
        fs::metadata(root.join("state"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );

    // A reboot from an even stored state: +1 then... the running state was
    // already made odd, so a reboot adds 2.
    write_state(&root, 4);
    let mut store = NfsUtilsStore::open(&root);
    store.load(&boot("y")).unwrap();
    assert_eq!(store.begin_reboot(Some(b"y")).unwrap(), 7);
}

#[test]
fn damaged_files_keep_good_records_and_are_moved_aside() {
    let (dir, _) = fresh();
    let sm = dir.path().join("sm");
    let good1 = reg("peer", "me", 3, 1);
    let good2 = reg("peer", "you", 3, 2);
    let mut mixed = format_line(&good1);
    mixed.extend_from_slice(b"garbage that is no record\n");
    mixed.extend_from_slice(&format_line(&good2));
    fs::write(sm.join("peer"), &mixed).unwrap();
    // Torn last line.
    let mut torn = format_line(&reg("torn", "me", 3, 3));
    let cut = format_line(&reg("torn", "you", 3, 3));
    torn.extend_from_slice(&cut[..50]);
    fs::write(sm.join("torn"), &torn).unwrap();
    // Zeroed file.
    fs::write(sm.join("zeroed"), [0u8; 4096]).unwrap();
    // Empty file.
    fs::write(sm.join("empty"), b"").unwrap();
    // Garbage in sm.bak too.
    fs::write(dir.path().join("sm.bak/junk"), b"\xff\xfe\n").unwrap();

    let mut store = NfsUtilsStore::open(dir.path());
    let loaded = store.load(&boot("b1")).unwrap();
    let mut damaged: Vec<(String, usize, bool)> = loaded
        .damage
        .iter()
        .map(|d| {
            (
                d.path.file_name().unwrap().to_string_lossy().into_owned(),
                d.kept,
                d.moved_to.is_some(),
            )
        })
        .collect();
    damaged.sort();
    assert_eq!(
        damaged,
        vec![
            ("empty".into(), 0, false),
            ("junk".into(), 0, true),
            ("peer".into(), 2, true),
            ("torn".into(), 1, true),
            ("zeroed".into(), 0, true),
        ]
    );
    assert!(loaded
        .damage
        .iter()
        .find(|d| d.path.ends_with("peer"))
        .unwrap()
        .what
        .contains("line 2"));
    assert_eq!(
        fs::read(sm.join("peer")).unwrap(),
        lines(&[good1.clone(), good2.clone()])
    );
    assert_eq!(fs::read(sm.join(".peer.corrupt-1")).unwrap(), mixed);
    assert_eq!(fs::read(sm.join(".zeroed.corrupt-1")).unwrap().len(), 4096);
    assert_eq!(
        names_in(&sm),
        vec![
            ".peer.corrupt-1",
            ".torn.corrupt-1",
            ".zeroed.corrupt-1",
            "peer",
            "torn"
        ]
    );
    let names: Vec<Vec<u8>> = loaded.hosts.iter().map(|h| h.name.clone()).collect();
    assert_eq!(names, vec![b"peer".to_vec(), b"torn".to_vec()]);

    // The repaired store loads cleanly; the moved-aside files are ignored.
    let loaded = NfsUtilsStore::open(dir.path()).load(&boot("b1")).unwrap();
    assert!(loaded.damage.is_empty());
    assert_eq!(loaded.hosts.len(), 2);
}

#[test]
fn crash_leftovers_are_ignored_and_cleaned() {
    let (dir, mut store) = fresh();
    store
        .commit(&[Change::Monitor(reg("peer", "me", 3, 1))])
        .unwrap();
    let sm = dir.path().join("sm");
    fs::write(
        sm.join(".peer.new"),
        format_line(&reg("peer", "ghost", 3, 1)),
    )
    .unwrap();
    fs::write(sm.join(".other.new"), b"half a line").unwrap();
    fs::write(dir.path().join(".state.new"), 99i32.to_ne_bytes()).unwrap();
    fs::write(dir.path().join("etab"), b"not ours").unwrap();
    let loaded = NfsUtilsStore::open(dir.path()).load(&boot("b1")).unwrap();
    assert!(loaded.damage.is_empty());
    assert_eq!(loaded.hosts.len(), 1);
    assert_eq!(loaded.hosts[0].registrations, vec![reg("peer", "me", 3, 1)]);
    assert_eq!(loaded.state, 3);
    assert_eq!(names_in(&sm), vec!["peer"]);
    assert!(!dir.path().join(".state.new").exists());
    assert!(dir.path().join("etab").exists());
}

#[test]
fn files_written_by_debian_under_canonical_names_are_reused() {
    let (dir, _) = fresh();
    // Debian named the file after the canonical name of mon_name "peer".
    let theirs = b"0100007f 000186a5 00000003 00000010 6c1d0000000000000000000000000001 peer client.example.com\n";
    fs::write(dir.path().join("sm/peer.example.com"), theirs).unwrap();
    let mut store = NfsUtilsStore::open(dir.path());
    let loaded = store.load(&boot("b1")).unwrap();
    assert!(loaded.damage.is_empty());
    assert_eq!(loaded.hosts[0].name, b"peer.example.com");
    store
        .commit(&[Change::Monitor(reg("PEER", "other", 3, 0))])
        .unwrap();
    assert_eq!(names_in(&dir.path().join("sm")), vec!["peer.example.com"]);
    let text = fs::read(dir.path().join("sm/peer.example.com")).unwrap();
    assert!(text.starts_with(theirs));
    assert_eq!(
        text.len(),
        theirs.len() + format_line(&reg("PEER", "other", 3, 0)).len()
    );
    // SM_UNMON of that name finds it there too, without a file named "peer".
    store
        .commit(&[Change::Unmonitor(unmon("peer", "other", 3))])
        .unwrap();
    let text = fs::read(dir.path().join("sm/peer.example.com")).unwrap();
    assert_eq!(text, theirs);
    let theirs_key = UnmonitorKey {
        my_prog: 100_005,
        ..unmon("Peer", "client.example.com", 3)
    };
    store.commit(&[Change::Unmonitor(theirs_key)]).unwrap();
    assert!(names_in(&dir.path().join("sm")).is_empty());
}

#[test]
fn removed_records_are_kept_as_spares_and_rewritten_in_place() {
    use std::os::unix::fs::MetadataExt;
    let (dir, mut store) = fresh();
    let sm = dir.path().join("sm");
    store
        .commit(&[
            Change::Monitor(reg("a-long-host-name", "me", 3, 1)),
            Change::Monitor(reg("b", "me", 3, 1)),
        ])
        .unwrap();
    let ino_a = fs::metadata(sm.join("a-long-host-name")).unwrap().ino();
    store
        .commit(&[Change::Unmonitor(unmon("a-long-host-name", "me", 3))])
        .unwrap();
    assert_eq!(names_in(&sm), vec!["b"]);
    assert_eq!(spares_in(&sm), vec![".statmon-spare-1"]);
    // The next record written reuses that file: same inode, only the new
    // record's bytes (the longer old content is cut off).
    store
        .commit(&[Change::Monitor(reg("c", "me", 3, 2))])
        .unwrap();
    assert!(spares_in(&sm).is_empty());
    assert_eq!(fs::metadata(sm.join("c")).unwrap().ino(), ino_a);
    assert_eq!(
        fs::read(sm.join("c")).unwrap(),
        lines(&[reg("c", "me", 3, 2)])
    );
    assert_eq!(
        fs::metadata(sm.join("c")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Spares are invisible to a reload and kept for reuse across restarts.
    store
        .commit(&[Change::Unmonitor(unmon("c", "me", 3))])
        .unwrap();
    let mut again = NfsUtilsStore::open(dir.path());
    let loaded = again.load(&boot("b1")).unwrap();
    assert!(loaded.damage.is_empty());
    let hosts: Vec<&[u8]> = loaded.hosts.iter().map(|h| h.name.as_slice()).collect();
    assert_eq!(hosts, [b"b"]);
    again
        .commit(&[Change::Monitor(reg("d", "me", 3, 3))])
        .unwrap();
    assert_eq!(fs::metadata(sm.join("d")).unwrap().ino(), ino_a);
    assert!(spares_in(&sm).is_empty());
}

#[test]
fn the_reboot_step_leaves_spares_in_sm_and_none_in_sm_bak() {
    let (dir, mut store) = fresh();
    let (sm, bak) = (dir.path().join("sm"), dir.path().join("sm.bak"));
    store
        .commit(&[
            Change::Monitor(reg("a", "me", 3, 1)),
            Change::Monitor(reg("b", "me", 3, 1)),
        ])
        .unwrap();
    store
        .commit(&[Change::Unmonitor(unmon("a", "me", 3))])
        .unwrap();
    assert_eq!(spares_in(&sm).len(), 1);
    // The whole of sm/ becomes sm.bak/; the spare comes back to sm/.
    store.begin_reboot(Some(b"b2")).unwrap();
    assert_eq!(names_in(&bak), vec!["b"]);
    assert!(spares_in(&bak).is_empty());
    assert_eq!(spares_in(&sm).len(), 1);
    store
        .commit(&[Change::Monitor(reg("c", "me", 3, 1))])
        .unwrap();
    assert!(spares_in(&sm).is_empty());
    // A spare a crash left in sm.bak/ is removed at the next load, and
    // nothing reads it as a host.
    fs::write(
        bak.join(".statmon-spare-40"),
        lines(&[reg("ghost", "me", 3, 1)]),
    )
    .unwrap();
    let loaded = NfsUtilsStore::open(dir.path()).load(&boot("b2")).unwrap();
    assert!(loaded.damage.is_empty());
    assert!(loaded.hosts.iter().all(|h| h.name != b"ghost"));
    assert!(spares_in(&bak).is_empty());
}

/// Debian's rpc.statd loads a store we wrote: its debug log names every
/// record, and it reports our state.
#[test]
fn debian_rpc_statd_reads_our_store() {
    // The store library's own test: it writes the store as the running
    // user (root) in a directory that user owns, and Debian's rpc.statd
    // reads it there; no statmon daemon runs.
    let statd = Path::new("/usr/sbin/rpc.statd");
    if !prereq::require(&[Need::Sandbox, Need::Tool("rpcbind"), Need::DebianDaemons]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_state(dir.path(), 41);
    let mut store = NfsUtilsStore::open(dir.path());
    store.load(&boot("b1")).unwrap();
    store
        .commit(&[
            Change::Monitor(reg("127.0.0.20", "labclient", 4, 0x11)),
            Change::Monitor(reg("127.0.0.20", "otherclient", 3, 0x22)),
            Change::Monitor(reg("127.0.0.21", "labclient", 4, 0x33)),
        ])
        .unwrap();
    // In a sandbox with its own rpcbind; the daemon runs until it has
    // loaded the records and reported the state (at most 10 s), then stops.
    let mut sb = Sandbox::new();
    start_rpcbind(&mut sb);
    let mut cmd = sb.command(statd);
    cmd.args(["-F", "-L", "-d", "-P"])
        .arg(dir.path())
        .args(["-p", "20024", "-o", "20025"]);
    let pid = sb.spawn(cmd, "debian-statd.log");
    sb.wait_until(10, || {
        let log = sb.log("debian-statd.log");
        log.contains("Loaded ") && log.contains("Local NSM state number")
    });
    sb.stop(pid, libc::SIGTERM);
    let log = sb.log("debian-statd.log");
    assert!(
        log.contains("Version") || log.contains("statd"),
        "rpc.statd did not start in the namespace: {log}"
    );
    assert_eq!(
        log.matches("Adding record for 127.0.0.20 to the monitor list")
            .count(),
        2,
        "{log}"
    );
    assert_eq!(
        log.matches("Adding record for 127.0.0.21 to the monitor list")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("Loaded 3 previously monitored hosts"), "{log}");
    assert!(!log.contains("Failed to read"), "{log}");
    assert!(log.contains("Local NSM state number: 41"), "{log}");
    // The files are still ours, unchanged.
    assert_eq!(
        fs::read(dir.path().join("sm/127.0.0.20")).unwrap(),
        lines(&[
            reg("127.0.0.20", "labclient", 4, 0x11),
            reg("127.0.0.20", "otherclient", 3, 0x22)
        ])
    );
}

/// A deferred reboot step: `begin_reboot` makes only the new state
/// durable; the records move and the boot id is written at `settle` (or
/// before the next commit), and a crash in between is a boot whose step
/// is taken again.
#[test]
fn a_deferred_reboot_step_moves_records_at_settle_and_records_the_boot_last() {
    let (dir, mut store) = fresh();
    store
        .commit(&[
            Change::Monitor(reg("a", "me", 3, 1)),
            Change::Monitor(reg("b", "me", 3, 1)),
        ])
        .unwrap();
    let boot_id = dir.path().join("sm/.statmon-boot-id");
    let mut store = NfsUtilsStore::open(dir.path());
    assert!(store.load(&boot("b2")).unwrap().new_boot);
    store.defer_reboot_moves();
    assert_eq!(store.begin_reboot(Some(b"b2")).unwrap(), 5);
    assert_eq!(
        read_state(dir.path()),
        5,
        "the new state is durable at once"
    );
    assert_eq!(names_in(&dir.path().join("sm")), vec!["a", "b"]);
    assert!(!boot_id.exists() || fs::read(&boot_id).unwrap() != b"b2\n");
    assert!(store.hosts().iter().all(|h| !h.monitored && h.needs_notify));

    // A crash here: the next start sees a boot whose step is to be taken.
    let mut again = NfsUtilsStore::open(dir.path());
    assert!(again.load(&boot("b2")).unwrap().new_boot);

    store.settle().unwrap();
    assert!(names_in(&dir.path().join("sm")).is_empty());
    assert_eq!(names_in(&dir.path().join("sm.bak")), vec!["a", "b"]);
    assert_eq!(fs::read(&boot_id).unwrap(), b"b2\n");
    store.settle().unwrap();

    // A commit before settling settles first: nothing lands out of order.
    store
        .commit(&[Change::Monitor(reg("a", "me", 3, 2))])
        .unwrap();
    let mut store = NfsUtilsStore::open(dir.path());
    assert!(store.load(&boot("b3")).unwrap().new_boot);
    store.defer_reboot_moves();
    store.begin_reboot(Some(b"b3")).unwrap();
    store
        .commit(&[Change::Monitor(reg("c", "me", 3, 1))])
        .unwrap();
    assert_eq!(names_in(&dir.path().join("sm")), vec!["c"]);
    assert_eq!(
        fs::read(dir.path().join("sm.bak/a")).unwrap(),
        lines(&[reg("a", "me", 3, 1), reg("a", "me", 3, 2)])
    );
    assert_eq!(fs::read(&boot_id).unwrap(), b"b3\n");
}
