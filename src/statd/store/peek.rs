//! A read-only look at a store, for the administration commands
//! (`rpc.statd -l`, `-L`, `-N`): what a [`Store::load`](super::Store::load)
//! would see, without writing, repairing, moving aside or creating
//! anything, so that it is safe while a daemon owns the files.
//!
//! Damage is reported in [`Peeked::problems`] and otherwise skipped, the
//! way `load` skips it: bad record lines, file names that are not host
//! names, unreadable status files. Temporary files (names starting with `.`)
//! are never read.

use super::apple::format::{self as apple, HostInfo};
use super::nfsutils::format::{self as nfsutils, is_valid_file_name};
use super::state::Stored;
use super::{show, StoreFormat, APPLE_STATUS_FILE};
use crate::daemon::durable;
use crate::statd::record::{host_eq, HostEntry, Registration};
use std::collections::BTreeMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Largest file read (the stores' own limits are lower).
const MAX_FILE: u64 = 256 << 20;

/// What a store holds, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Peeked {
    /// The stored state; `None` when missing or unreadable (a daemon would
    /// derive one at its next start).
    pub state: Option<i32>,
    /// The hosts, sorted by name.
    pub hosts: Vec<HostEntry>,
    /// What could not be read, one message each.
    pub problems: Vec<String>,
}

/// Reads the store of `format` in `state_dir`. A missing directory or file
/// is an empty store; `Err` only when a file or directory exists but
/// cannot be read (permissions, I/O).
pub fn peek(format: StoreFormat, state_dir: &Path) -> io::Result<Peeked> {
    match format {
        StoreFormat::NfsUtils => peek_nfsutils(state_dir),
        StoreFormat::Apple => peek_apple(state_dir),
    }
}

fn stored_value(stored: Stored, path: &Path, problems: &mut Vec<String>) -> Option<i32> {
    match stored {
        Stored::Value(v) => Some(v),
        Stored::Missing => None,
        Stored::Damaged { len } => {
            problems.push(format!(
                "{}: {len} bytes, not a state number",
                path.display()
            ));
            None
        }
    }
}

fn peek_nfsutils(dir: &Path) -> io::Result<Peeked> {
    let mut problems = Vec::new();
    let state_path = dir.join("state");
    let state_bytes = durable::read_optional(&state_path, MAX_FILE)?;
    let state = stored_value(
        nfsutils::parse_state(state_bytes.as_deref()),
        &state_path,
        &mut problems,
    );
    let mut files: BTreeMap<Vec<u8>, (Vec<Registration>, Vec<Registration>)> = BTreeMap::new();
    for (sub, bak) in [("sm", false), ("sm.bak", true)] {
        for (name, regs) in read_record_dir(&dir.join(sub), &mut problems)? {
            let slot = files.entry(name).or_default();
            if bak {
                slot.1 = regs;
            } else {
                slot.0 = regs;
            }
        }
    }
    let hosts = files
        .into_iter()
        .map(|(name, (sm, bak))| HostEntry {
            name,
            monitored: !sm.is_empty(),
            needs_notify: !bak.is_empty(),
            registrations: sm,
            notify: bak,
        })
        .collect();
    Ok(Peeked {
        state,
        hosts,
        problems,
    })
}

/// The non-empty record files of one directory (missing: none).
fn read_record_dir(
    dir: &Path,
    problems: &mut Vec<String>,
) -> io::Result<Vec<(Vec<u8>, Vec<Registration>)>> {
    let entries = match durable::list_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.name.as_bytes();
        let path = dir.join(&entry.name);
        if name.first() == Some(&b'.') || !entry.regular {
            continue;
        }
        if !is_valid_file_name(name) {
            problems.push(format!(
                "{}: file name is not a valid host name; ignored",
                path.display()
            ));
            continue;
        }
        let bytes = match durable::read_optional(&path, MAX_FILE) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
            Err(e) => return Err(e),
        };
        let (good, bad) = nfsutils::parse_file(&bytes);
        for b in &bad {
            problems.push(format!(
                "{}: line {}: {} ({})",
                path.display(),
                b.line_no,
                b.why,
                show(&b.text)
            ));
        }
        if !good.is_empty() {
            out.push((name.to_vec(), good));
        }
    }
    Ok(out)
}

fn peek_apple(dir: &Path) -> io::Result<Peeked> {
    let mut problems = Vec::new();
    let status_path = dir.join(APPLE_STATUS_FILE);
    let mut state = None;
    let mut hosts: Vec<HostInfo> = Vec::new();
    if let Some(bytes) = durable::read_optional(&status_path, MAX_FILE)? {
        match apple::parse(&bytes) {
            Ok((file, bad)) => {
                state = stored_value(
                    i32::try_from(file.state)
                        .map_or(Stored::Damaged { len: bytes.len() }, Stored::Value),
                    &status_path,
                    &mut problems,
                );
                hosts = file.hosts;
                for p in bad {
                    problems.push(format!("{}: {p}", status_path.display()));
                }
            }
            Err(p) => problems.push(format!("{}: {p}", status_path.display())),
        }
    }
    let callbacks_path = dir.join(format!("{APPLE_STATUS_FILE}.callbacks"));
    let mut regs = Vec::new();
    if let Some(bytes) = durable::read_optional(&callbacks_path, MAX_FILE)? {
        let (good, bad) = nfsutils::parse_file(&bytes);
        for b in &bad {
            problems.push(format!(
                "{}: line {}: {} ({})",
                callbacks_path.display(),
                b.line_no,
                b.why,
                show(&b.text)
            ));
        }
        regs = good;
    }
    // A registration whose host the status file lacks counts as monitored,
    // as the store's load decides.
    for r in &regs {
        match hosts.iter_mut().find(|h| host_eq(&h.name, &r.mon_name)) {
            Some(h) => h.monitored = true,
            None => hosts.push(HostInfo {
                name: r.mon_name.clone(),
                monitored: true,
                notify: false,
            }),
        }
    }
    let mut out: Vec<HostEntry> = hosts
        .into_iter()
        .filter(|h| h.monitored || h.notify)
        .map(|h| HostEntry {
            registrations: regs
                .iter()
                .filter(|r| host_eq(&r.mon_name, &h.name))
                .cloned()
                .collect(),
            name: h.name,
            monitored: h.monitored,
            needs_notify: h.notify,
            notify: Vec::new(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Peeked {
        state,
        hosts: out,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn reg(mon: &str, my: &str) -> Registration {
        Registration {
            mon_name: mon.into(),
            my_name: my.into(),
            my_prog: 100_021,
            my_vers: 4,
            my_proc: 16,
            cookie: [1; 16],
        }
    }

    /// Every file's bytes and name under `dir`, to prove nothing changed.
    fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn missing_directory_is_an_empty_store() {
        let tmp = tempfile::tempdir().unwrap();
        for f in [StoreFormat::NfsUtils, StoreFormat::Apple] {
            let p = peek(f, &tmp.path().join("absent")).unwrap();
            assert_eq!(p, Peeked::default());
        }
        assert!(!tmp.path().join("absent").exists());
    }

    #[test]
    fn nfsutils_hosts_lines_and_damage_without_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::create_dir_all(d.join("sm")).unwrap();
        fs::create_dir_all(d.join("sm.bak")).unwrap();
        fs::write(d.join("state"), 7i32.to_ne_bytes()).unwrap();
        let mut a = nfsutils::format_file(&[reg("hosta", "me"), reg("hosta", "me2")]);
        fs::write(d.join("sm/hosta"), &a).unwrap();
        fs::write(
            d.join("sm.bak/hosta"),
            nfsutils::format_line(&reg("hosta", "me")),
        )
        .unwrap();
        fs::write(
            d.join("sm.bak/hostb"),
            nfsutils::format_line(&reg("HostB", "me")),
        )
        .unwrap();
        a.extend_from_slice(b"garbage line\n");
        fs::write(d.join("sm/hostc"), &a).unwrap();
        fs::write(d.join("sm/.hostd.new"), b"temporary").unwrap();
        fs::write(d.join("sm/emptyhost"), b"").unwrap();
        let before = snapshot(d);
        let p = peek(StoreFormat::NfsUtils, d).unwrap();
        assert_eq!(snapshot(d), before, "peek wrote something");
        assert_eq!(p.state, Some(7));
        let names: Vec<&[u8]> = p.hosts.iter().map(|h| h.name.as_slice()).collect();
        assert_eq!(names, vec![&b"hosta"[..], b"hostb", b"hostc"]);
        let [ha, hb, hc] = &p.hosts[..] else {
            panic!("{:?}", p.hosts)
        };
        assert!(ha.monitored && ha.needs_notify);
        assert_eq!((ha.registrations.len(), ha.notify.len()), (2, 1));
        assert!(!hb.monitored && hb.needs_notify);
        assert!(hc.monitored && !hc.needs_notify);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert!(
            p.problems[0].contains("sm/hostc: line 3"),
            "{:?}",
            p.problems
        );
    }

    #[test]
    fn nfsutils_damaged_state_is_a_problem() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("state"), b"12345").unwrap();
        let p = peek(StoreFormat::NfsUtils, tmp.path()).unwrap();
        assert_eq!(p.state, None);
        assert!(p.problems[0].contains("5 bytes"), "{:?}", p.problems);
    }

    #[test]
    fn apple_status_and_callbacks() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let hosts = [
            HostInfo {
                name: b"hosta".to_vec(),
                monitored: true,
                notify: true,
            },
            HostInfo {
                name: b"hostb".to_vec(),
                monitored: false,
                notify: true,
            },
            HostInfo {
                name: b"free".to_vec(),
                monitored: false,
                notify: false,
            },
        ];
        fs::write(d.join("statd.status"), apple::encode(9, &hosts)).unwrap();
        let mut cb = nfsutils::format_file(&[reg("HOSTA", "me"), reg("orphan", "me")]);
        cb.extend_from_slice(b"junk\n");
        fs::write(d.join("statd.status.callbacks"), cb).unwrap();
        let before = snapshot(d);
        let p = peek(StoreFormat::Apple, d).unwrap();
        assert_eq!(snapshot(d), before);
        assert_eq!(p.state, Some(9));
        let names: Vec<&[u8]> = p.hosts.iter().map(|h| h.name.as_slice()).collect();
        assert_eq!(names, vec![&b"hosta"[..], b"hostb", b"orphan"]);
        assert_eq!(p.hosts[0].registrations.len(), 1);
        assert!(p.hosts[0].monitored && p.hosts[0].needs_notify);
        assert!(!p.hosts[1].monitored && p.hosts[1].needs_notify);
        assert!(p.hosts[2].monitored && !p.hosts[2].needs_notify);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    }

    #[test]
    fn apple_unusable_header_is_a_problem_not_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("statd.status"), b"short").unwrap();
        let p = peek(StoreFormat::Apple, tmp.path()).unwrap();
        assert_eq!((p.state, p.hosts.len(), p.problems.len()), (None, 0, 1));
    }
}
