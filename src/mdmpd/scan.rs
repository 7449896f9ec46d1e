//! One scan: `/proc/mdstat` and each watched array's sysfs member states,
//! made into the engine's [`Snapshot`].
//!
//! - Only active arrays of a watched level are in the snapshot.
//! - A member is faulty when mdstat marks it `(F)` or its
//!   `md/dev-X/state` says `faulty`; otherwise sysfs says whether it is
//!   in sync or a spare, and mdstat's `(S)` stands in where sysfs has no
//!   directory for it (2.4 kernels, test trees).
//! - An array that mdstat shows but that this read could not parse is
//!   carried over from the previous snapshot, so that a garbled read is
//!   never taken for an array that disappeared.
//!
//! Reading sysfs is the only I/O here: small attribute files, which do
//! not block.

use super::core::{ArrayView, CoreConfig, MemberState, MemberView, Snapshot};
use super::mdstat::{Array, Mdstat};
use super::member_state::parse_member_state;
use std::path::{Path, PathBuf};

/// Most bytes read from one sysfs attribute.
const MAX_ATTRIBUTE: usize = 4096;

/// What one scan found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scanned {
    /// The watched arrays, for the engine.
    pub snapshot: Snapshot,
    /// What could not be parsed, one line each (for the log).
    pub problems: Vec<String>,
    /// The sysfs attributes that signal changes of the watched arrays.
    pub pollable: Vec<PathBuf>,
}

/// Scans `text` (the contents of `/proc/mdstat`) with the sysfs tree at
/// `sys`, keeping from `previous` the arrays this read could not parse.
pub fn snapshot(text: &[u8], sys: &Path, cfg: &CoreConfig, previous: &Snapshot) -> Scanned {
    let mdstat = Mdstat::parse(text);
    let mut scanned = Scanned {
        problems: mdstat.problems.iter().map(|p| p.to_string()).collect(),
        ..Scanned::default()
    };
    for array in &mdstat.arrays {
        let Some(level) = array.level.as_deref() else {
            continue;
        };
        if !array.active || !cfg.watches(level) {
            continue;
        }
        let md = sys.join("block").join(&array.name).join("md");
        scanned.pollable.push(md.join("degraded"));
        scanned.pollable.push(md.join("array_state"));
        let view = view_of(array, level, &md, &mut scanned.pollable);
        scanned.snapshot.arrays.push(view);
    }
    for name in mdstat.problems.iter().filter_map(|p| p.array.as_deref()) {
        let carried = previous.arrays.iter().find(|a| a.name == name);
        let present = scanned.snapshot.arrays.iter().any(|a| a.name == name);
        if let (Some(old), false) = (carried, present) {
            scanned.snapshot.arrays.push(old.clone());
        }
    }
    scanned
}

/// One array's view: each member's state from mdstat and sysfs.
fn view_of(array: &Array, level: &str, md: &Path, pollable: &mut Vec<PathBuf>) -> ArrayView {
    let members = array
        .members
        .iter()
        .map(|m| {
            let state_file = md.join(format!("dev-{}", m.name)).join("state");
            let sysfs = read_attribute(&state_file).map(|v| parse_member_state(&v));
            if sysfs.is_some() {
                pollable.push(state_file);
            }
            let state = match &sysfs {
                _ if m.faulty => MemberState::Faulty,
                Some(s) if s.faulty => MemberState::Faulty,
                Some(s) if s.in_sync => MemberState::InSync,
                Some(s) if s.spare => MemberState::Spare,
                Some(_) => MemberState::Other,
                None if m.spare => MemberState::Spare,
                None => MemberState::InSync,
            };
            MemberView {
                name: m.name.clone(),
                state,
            }
        })
        .collect();
    ArrayView {
        name: array.name.clone(),
        level: level.to_string(),
        members,
    }
}

/// A sysfs attribute's value, or `None` when it cannot be read.
fn read_attribute(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut value = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ATTRIBUTE as u64).read_to_end(&mut value))
        .ok()?;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PATHS: &[u8] = b"Personalities : [multipath] [raid1]\n\
        md0 : active multipath sdc[1] sdb[0](F)\n      1048512 blocks [2/1] [_U]\n\n\
        md1 : active raid1 sdd[1] sde[0]\n      1048512 blocks [2/2] [UU]\n\n\
        unused devices: <none>\n";

    fn multipath() -> CoreConfig {
        CoreConfig::default()
    }

    #[test]
    fn only_watched_active_arrays_with_mdstat_flags_when_sysfs_is_silent() {
        let sys = tempfile::tempdir().unwrap();
        let s = snapshot(TWO_PATHS, sys.path(), &multipath(), &Snapshot::default());
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(s.snapshot.arrays.len(), 1, "raid1 is not watched");
        let md0 = &s.snapshot.arrays[0];
        assert_eq!(
            (md0.name.as_str(), md0.level.as_str()),
            ("md0", "multipath")
        );
        let states: Vec<_> = md0
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.state))
            .collect();
        assert_eq!(
            states,
            [("sdc", MemberState::InSync), ("sdb", MemberState::Faulty)]
        );
        let md = sys.path().join("block/md0/md");
        assert_eq!(s.pollable, [md.join("degraded"), md.join("array_state")]);
    }

    #[test]
    fn sysfs_states_refine_mdstat_and_are_polled() {
        let sys = tempfile::tempdir().unwrap();
        for (dev, state) in [("sdd", "in_sync\n"), ("sde", "faulty,write_error\n")] {
            let d = sys.path().join(format!("block/md1/md/dev-{dev}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("state"), state).unwrap();
        }
        let cfg = CoreConfig {
            levels: vec!["multipath".into(), "raid1".into()],
            ..CoreConfig::default()
        };
        let s = snapshot(TWO_PATHS, sys.path(), &cfg, &Snapshot::default());
        let md1 = s.snapshot.arrays.iter().find(|a| a.name == "md1").unwrap();
        let states: Vec<_> = md1.members.iter().map(|m| m.state).collect();
        assert_eq!(states, [MemberState::InSync, MemberState::Faulty]);
        assert!(s
            .pollable
            .contains(&sys.path().join("block/md1/md/dev-sde/state")));
    }

    #[test]
    fn an_array_this_read_could_not_parse_is_carried_over() {
        let sys = tempfile::tempdir().unwrap();
        let good = snapshot(TWO_PATHS, sys.path(), &multipath(), &Snapshot::default());
        let garbled = b"Personalities : [multipath]\n\
            md0 : active multipath sdc[1] sdb[X]\n      1048512 blocks [2/1] [_U]\n\n";
        let s = snapshot(garbled, sys.path(), &multipath(), &good.snapshot);
        assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
        assert_eq!(s.snapshot, good.snapshot);
        let gone = snapshot(
            b"Personalities : [multipath]\n",
            sys.path(),
            &multipath(),
            &good.snapshot,
        );
        assert!(
            gone.snapshot.arrays.is_empty(),
            "a clean read without it: gone"
        );
    }
}
