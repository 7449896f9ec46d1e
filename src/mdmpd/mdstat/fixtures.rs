//! The fixtures of `compat/fixtures/mdstat` read end to end: the real
//! captures (LKML 2.6.0-test5 multipath, prometheus/procfs' fixture, with
//! what procfs' own tests expect of it), the constructed F2 to F5 cases,
//! procfs' invalid inputs, and the parse invariants on spliced fixture lines.

use super::parser::tests::{check_invariants, clean, one_array};
use super::{
    Array, Mdstat, Member, ProblemKind, ReadAhead, ReadOnly, Superblock, SyncAction, SyncProgress,
};
use proptest::prelude::*;

const LKML: &[u8] =
    include_bytes!("../../../compat/fixtures/mdstat/lkml-2.6.0-test5-multipath.mdstat");
const PROCFS: &[u8] = include_bytes!("../../../compat/fixtures/mdstat/procfs-fixtures.mdstat");
const F2: &[u8] = include_bytes!("../../../compat/fixtures/mdstat/f2-multipath-path-failed.mdstat");
const F3: &[u8] =
    include_bytes!("../../../compat/fixtures/mdstat/f3-multipath-path-removed.mdstat");
const F4: &[u8] =
    include_bytes!("../../../compat/fixtures/mdstat/f4-multipath-path-readded.mdstat");
const F5: &[u8] = include_bytes!("../../../compat/fixtures/mdstat/f5-2.4-multipath-spares.mdstat");

/// The members as the kernel prints them: `sdb2[2](F) sdc[1](S)`.
fn words(members: &[Member]) -> String {
    let word = |m: &Member| {
        let flags = [
            (m.write_mostly, "(W)"),
            (m.journal, "(J)"),
            (m.faulty, "(F)"),
            (m.spare, "(S)"),
            (m.replacement, "(R)"),
        ];
        let flags: String = flags.iter().filter(|f| f.0).map(|f| f.1).collect();
        format!("{}[{}]{flags}", m.name, m.desc_nr)
    };
    members.iter().map(word).collect::<Vec<_>>().join(" ")
}

/// An array's level, members, `[n/m]` and pattern.
type Shape<'a> = (Option<&'a str>, String, Option<(u32, u32)>, Option<&'a str>);

fn shape(a: &Array) -> Shape<'_> {
    let disks = a.raid_disks.zip(a.working_disks);
    (
        a.level.as_deref(),
        words(&a.members),
        disks,
        a.pattern.as_deref(),
    )
}

#[test]
fn lkml_2_6_multipath_capture() {
    let mdstat = clean(LKML);
    assert_eq!(
        mdstat.personalities,
        ["linear", "raid0", "raid1", "raid5", "multipath"]
    );
    assert_eq!((mdstat.read_ahead, mdstat.unused.len()), (None, 0));
    let names: Vec<_> = mdstat.arrays.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["md254", "md255"]);
    let md254 = mdstat.array("md254").unwrap();
    let want = (
        Some("multipath"),
        "sdb[1] sdd[0]".into(),
        Some((2, 2)),
        Some("UU"),
    );
    assert_eq!(shape(md254), want);
    assert_eq!(
        (md254.active, md254.blocks, md254.line),
        (true, Some(1000000), 2)
    );
    assert_eq!(
        (&md254.superblock, &md254.sync, md254.read_only),
        (&None, &None, None)
    );
    assert_eq!(
        words(&mdstat.array("md255").unwrap().members),
        "sda[1] sdc[0]"
    );
    assert_eq!(mdstat.array("md0"), None);
}

#[test]
fn constructed_multipath_fail_remove_readd() {
    let failed = one_array(F2);
    let want = (
        Some("multipath"),
        "sdc[1] sdb[0](F)".into(),
        Some((2, 1)),
        Some("_U"),
    );
    assert_eq!(shape(&failed), want);
    assert!(failed.member("sdb").unwrap().faulty);
    let removed = one_array(F3);
    let want = (Some("multipath"), "sdc[1]".into(), Some((2, 1)), Some("_U"));
    assert_eq!(shape(&removed), want);
    let readded = one_array(F4);
    let want = (
        Some("multipath"),
        "sdb[2] sdc[1]".into(),
        Some((2, 2)),
        Some("UU"),
    );
    assert_eq!(shape(&readded), want);
    assert_eq!(readded.blocks, Some(1048512));
}

#[test]
fn constructed_2_4_multipath_with_spare_paths() {
    let mdstat = clean(F5);
    assert_eq!(mdstat.read_ahead, Some(ReadAhead::Sectors(1024)));
    let md0 = mdstat.array("md0").unwrap();
    let want = (
        Some("multipath"),
        "sda1[3] sdc1[2] sdb1[1] sdd1[0]".into(),
        Some((1, 4)),
        Some("U"),
    );
    assert_eq!(shape(md0), want);
    assert_eq!(md0.blocks, Some(3905408));
}

/// What procfs' `TestFS_MDStat` expects of one array of its fixture.
struct Want {
    name: &'static str,
    /// procfs' `Type` ("unknown" is `None`).
    level: Option<&'static str>,
    /// procfs' `ActivityState`.
    state: &'static str,
    /// procfs' `Devices`, as the kernel prints them.
    members: &'static str,
    /// procfs' `BlocksTotal`.
    blocks: u64,
    /// procfs' (`DisksTotal`, `DisksActive`) where the text has
    /// `[n/m]`; procfs counts members for raid0 and linear (no
    /// `[n/m]`), and reports 0 for inactive arrays (md4).
    disks: Option<(u32, u32)>,
    /// procfs' `DisksDown`.
    down: usize,
    /// procfs' synced blocks, blocks to sync, percent, finish minutes,
    /// speed, in our units (tenths) for a running sync.
    running: Option<(u64, u64, u32, u64, u64)>,
}

const fn want(
    name: &'static str,
    level: Option<&'static str>,
    state: &'static str,
    members: &'static str,
    blocks: u64,
    disks: Option<(u32, u32)>,
) -> Want {
    Want {
        name,
        level,
        state,
        members,
        blocks,
        disks,
        down: 0,
        running: None,
    }
}

fn procfs_expectations() -> Vec<Want> {
    const RAID1: Option<&str> = Some("raid1");
    const RAID0: Option<&str> = Some("raid0");
    const SIX: Option<&str> = Some("raid6");
    const TWO: Option<(u32, u32)> = Some((2, 2));
    vec![
        want("md3", SIX, "active", "sda1[8] sdh1[7] sdg1[6] sdf1[5] sde1[11] sdd1[3] sdc1[10] sdb1[9] sdd1[10](S) sdd2[11](S)", 5853468288, Some((8, 8))),
        want("md127", RAID1, "active", "sdi2[0] sdj2[1]", 312319552, TWO),
        want("md0", RAID1, "active", "sdi1[0] sdj1[1]", 248896, TWO),
        want("md4", RAID1, "inactive", "sda3[0](F) sdb3[1](S)", 4883648, TWO),
        Want {
            down: 1,
            running: Some((16775552, 195310144, 85, 170, 259783)),
            ..want("md6", RAID1, "recovering", "sdb2[2](F) sdc[1](S) sda2[0]", 195310144, Some((2, 1)))
        },
        Want {
            running: Some((16775552, 195310144, 85, 170, 259783)),
            ..want("md8", RAID1, "resyncing", "sdb1[1] sda1[0] sdc[2](S) sde[3](S)", 195310144, TWO)
        },
        Want {
            running: Some((114176, 1993728, 57, 2, 114176)),
            ..want("md201", RAID1, "checking", "sda3[0] sdb3[1]", 1993728, TWO)
        },
        Want {
            down: 1,
            ..want("md7", SIX, "active", "sdb1[0] sde1[3] sdd1[2] sdc1[1](F)", 7813735424, Some((4, 3)))
        },
        want("md9", RAID1, "resyncing", "sdc2[2] sdd2[3] sdb2[1] sda2[0] sde[4](F) sdf[5](F) sdg[6](S)", 523968, Some((4, 4))),
        want("md10", RAID0, "active", "sda1[0] sdb1[1]", 314159265, None),
        want("md11", RAID1, "resyncing", "sdb2[0] sdc2[1] sdc3[2](F) hda[4](S) ssdc2[3](S)", 4190208, TWO),
        want("md12", RAID0, "active", "sdc2[0] sdd2[1]", 3886394368, None),
        want("md126", RAID0, "active", "sdb[1] sdc[0]", 1855870976, None),
        want("md219", None, "inactive", "sdb[2](S) sdc[1](S) sda[0](S)", 7932, None),
        want("md00", RAID0, "active", "xvdb[0]", 4186624, None),
        want("md120", Some("linear"), "active", "sda1[1] sdb1[0]", 2095104, None),
        want("md101", RAID0, "active", "sdb[2] sdd[1] sdc[0]", 322560, None),
        Want {
            down: 1,
            running: Some((1096879076, 1953381440, 561, 18681, 7640)),
            ..want("md42", Some("raid5"), "reshaping", "sda1[3](S) sdd1[0] sde1[1]", 1953381440, Some((3, 2)))
        },
    ]
}

/// procfs' `ActivityState` of an array.
fn activity(a: &Array) -> &'static str {
    match a.sync.map(|s| s.action) {
        Some(SyncAction::Recovery) => "recovering",
        Some(SyncAction::Reshape) => "reshaping",
        Some(SyncAction::Check) => "checking",
        Some(SyncAction::Resync | SyncAction::Repair) => "resyncing",
        None if a.active => "active",
        None => "inactive",
    }
}

#[test]
fn procfs_fixture_as_procfs_reads_it() {
    let mdstat = clean(PROCFS);
    let wants = procfs_expectations();
    assert_eq!(mdstat.arrays.len(), wants.len());
    for (a, w) in mdstat.arrays.iter().zip(&wants) {
        assert_eq!(a.name, w.name);
        assert_eq!(a.level.as_deref(), w.level, "{}", w.name);
        assert_eq!(activity(a), w.state, "{}", w.name);
        assert_eq!(words(&a.members), w.members, "{}", w.name);
        assert_eq!(a.blocks, Some(w.blocks), "{}", w.name);
        assert_eq!(a.raid_disks.zip(a.working_disks), w.disks, "{}", w.name);
        let down = a.pattern.as_deref().unwrap_or("").matches('_').count();
        assert_eq!(down, w.down, "{}", w.name);
        let running = match a.sync.map(|s| s.progress) {
            Some(SyncProgress::Running(p)) => Some((
                p.blocks_done.unwrap(),
                p.blocks_total.unwrap(),
                p.per_mille,
                p.finish_tenths_of_minute.unwrap(),
                p.speed_kib_per_sec.unwrap(),
            )),
            _ => None,
        };
        assert_eq!(running, w.running, "{}", w.name);
    }
}

#[test]
fn procfs_fixture_details() {
    let mdstat = clean(PROCFS);
    let array = |name| mdstat.array(name).unwrap();
    let pers = [
        "linear",
        "multipath",
        "raid0",
        "raid1",
        "raid6",
        "raid5",
        "raid4",
        "raid10",
    ];
    assert_eq!(mdstat.personalities, pers);
    assert_eq!(array("md127").superblock, None);
    assert_eq!(
        array("md3").superblock,
        Some(Superblock::Version("1.2".into()))
    );
    let external = |s: &str| Some(Superblock::External(s.into()));
    assert_eq!(array("md126").superblock, external("/md127/0"));
    assert_eq!(array("md219").superblock, external("imsm"));
    assert_eq!(array("md11").read_only, Some(ReadOnly::AutoReadOnly));
    assert_eq!(array("md101").read_only, Some(ReadOnly::ReadOnly));
    let progress = |name| array(name).sync.unwrap().progress;
    assert_eq!(progress("md9"), SyncProgress::Delayed);
    assert_eq!(progress("md11"), SyncProgress::Pending);
    let bitmap = |name| array(name).bitmap.clone();
    assert_eq!(
        bitmap("md7").as_deref(),
        Some("0/30 pages [0KB], 65536KB chunk")
    );
    assert_eq!(
        bitmap("md42").as_deref(),
        Some("4/15 pages [16KB], 65536KB chunk")
    );
    assert_eq!(array("md42").line, 60);
}

#[test]
fn procfs_invalid_inputs() {
    // prometheus/procfs mdstat_test.go, TestInvalidMdstat.
    let problems = |text: &str| {
        let mdstat = Mdstat::parse(text.as_bytes());
        assert_eq!(mdstat.arrays, []);
        let got: Vec<_> = mdstat
            .problems
            .iter()
            .map(|p| (p.line, p.array.clone(), p.why))
            .collect();
        got
    };
    let md = |name: &str| Some(name.to_owned());
    let text = "\nPersonalities : [invalid]\nmd3 : invalid\n      314159265 blocks 64k chunks\n\nunused devices: <none>\n";
    assert_eq!(problems(text), [(3, md("md3"), ProblemKind::BadState)]);
    let text =
        "\nmd12 : active raid0 sdc2[0] sdd2[1]\n\n      3886394368 blocks super 1.2 512k chunks\n";
    let want = [
        (2, md("md12"), ProblemKind::MissingStatus),
        (4, None, ProblemKind::ContinuationOutsideArray),
    ];
    assert_eq!(problems(text), want);
    let text = "\nmd127 : active raid1 sdi2[0] sdj2[1](Z)\n      312319552 blocks [2/2] [UU]\n";
    assert_eq!(problems(text), [(2, md("md127"), ProblemKind::BadFlag)]);
    let text = "\nmd127 : active raid1 sdi2[0] sdj2[X]\n      312319552 blocks [2/2] [UU]\n";
    assert_eq!(problems(text), [(2, md("md127"), ProblemKind::BadMember)]);
}

fn fixture_lines() -> Vec<&'static [u8]> {
    [LKML, PROCFS, F2, F3, F4, F5]
        .iter()
        .flat_map(|f| f.split(|&b| b == b'\n'))
        .collect()
}

proptest! {
    #[test]
    fn spliced_fixture_lines_keep_the_invariants(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..80)
    ) {
        let lines = fixture_lines();
        let input: Vec<u8> = picks
            .iter()
            .flat_map(|i| lines[i.index(lines.len())].iter().copied().chain([b'\n']))
            .collect();
        check_invariants(&input);
    }
}
