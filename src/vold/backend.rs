//! The device nodes: `/dev/vol/NAME`, `/dev/rvol/NAME` (each volume) and
//! `/dev/plex/NAME` (each plex of a volume), kept matching the records by
//! a backend. Linux has no volume driver, so:
//!
//! - **nodes**: each node is a regular file holding a one-line descriptor
//!   of its record, with the owner, group and mode the volume's record
//!   names (a plex node takes its volume's);
//! - **loop**: a volume whose one plex is one subdisk becomes a loop
//!   device over the subdisk's path, at its offset and length, and the
//!   three nodes are symbolic links to it (whose owner, group and mode
//!   are set); data written through `/dev/vol/NAME` lands in the
//!   subdisk. Volumes of any other shape are refused at commit
//!   ([`Backend::rules`]);
//! - **dm**: device-mapper linear devices ([`super::dm`]): a volume's
//!   one plex, its subdisks end to end on block devices; the nodes link
//!   to `/dev/mapper/vold-NAME`.
//!
//! [`Backend::apply`] diffs the wanted nodes against the directories and
//! fixes the difference (removing extras, creating missing, fixing
//! permissions); it runs after every commit and on every enable.

use super::record::{Config, Volume, SECTOR};
use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directories, under the device root.
pub const DIRS: [&str; 3] = ["vol", "rvol", "plex"];

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Regular files standing for the nodes.
    Nodes,
    /// Loop devices.
    Loop,
    /// Device-mapper linear devices.
    Dm,
}

impl Backend {
    /// The backend named `name` (`nodes` or `loop`).
    pub fn from_name(name: &str) -> Option<Backend> {
        match name {
            "nodes" => Some(Backend::Nodes),
            "loop" => Some(Backend::Loop),
            "dm" => Some(Backend::Dm),
            _ => None,
        }
    }

    /// What the backend cannot build in `c`, one message each.
    pub fn rules(&self, c: &Config) -> Vec<String> {
        match self {
            Backend::Nodes => Vec::new(),
            Backend::Dm => super::dm::rules(c),
            Backend::Loop => c
                .vol
                .iter()
                .filter(|(_, v)| !v.plex.is_empty())
                .filter_map(|(n, v)| loop_region(c, v).err().map(|e| format!("vol {n}: {e}")))
                .collect(),
        }
    }

    /// Brings the directories under `dev` in line with `c`; returns the
    /// problems (each logged by the caller).
    pub fn apply(&self, dev: &Path, c: &Config) -> Vec<String> {
        let mut errs = Vec::new();
        for d in DIRS {
            if let Err(e) = std::fs::create_dir_all(dev.join(d)) {
                errs.push(format!("{}: {e}", dev.join(d).display()));
            }
        }
        if *self == Backend::Dm {
            errs.extend(super::dm::sync(c));
        }
        let wanted = wanted(c);
        for d in DIRS {
            let Ok(entries) = std::fs::read_dir(dev.join(d)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !wanted.contains_key(&(d, name.clone())) {
                    if let Err(e) = self.remove(&e.path(), d == "vol") {
                        errs.push(e);
                    }
                }
            }
        }
        for ((d, name), (vol, text)) in &wanted {
            let path = dev.join(d).join(name);
            let v = &c.vol[vol];
            if *self != Backend::Nodes && v.plex.is_empty() {
                // No data, no device: the volume has no nodes.
                continue;
            }
            let made = match self {
                Backend::Nodes => nodes_make(&path, text),
                Backend::Loop => self.loop_make(dev, &path, c, vol, v),
                Backend::Dm => dm_link(&path, vol),
            };
            if let Err(e) = made.and_then(|target| {
                set_owner(&target, v).map_err(|e| format!("{}: {e}", target.display()))
            }) {
                errs.push(e);
            }
        }
        errs
    }

    /// Removes a node (with `detach`, the loop device it links to).
    fn remove(&self, path: &Path, detach: bool) -> Result<(), String> {
        if detach && *self == Backend::Loop {
            if let Ok(target) = std::fs::read_link(path) {
                detach_loop(&target)?;
            }
        }
        std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `-r reset`: every node and device gone.
    pub fn clear(&self, dev: &Path) -> Vec<String> {
        self.apply(dev, &Config::default())
    }

    fn loop_make(
        &self,
        dev: &Path,
        path: &Path,
        c: &Config,
        vol: &str,
        v: &Volume,
    ) -> Result<PathBuf, String> {
        let (file, offset, len) = loop_region(c, v).map_err(|e| format!("vol {vol}: {e}"))?;
        // The volume's node owns the loop device; the others link to it.
        let vol_node = dev.join("vol").join(vol);
        let current = std::fs::read_link(&vol_node).ok();
        let device = match current.filter(|d| loop_matches(d, &file, offset, len)) {
            Some(d) => d,
            None => {
                if let Ok(old) = std::fs::read_link(&vol_node) {
                    detach_loop(&old)?;
                }
                let d = attach_loop(&file, offset, len)?;
                replace_link(&vol_node, &d)?;
                d
            }
        };
        if path != vol_node && std::fs::read_link(path).ok().as_deref() != Some(device.as_path()) {
            replace_link(path, &device)?;
        }
        Ok(device)
    }
}

/// A node linking to the dm device of volume `vol` (made by
/// [`super::dm::sync`]).
fn dm_link(path: &Path, vol: &str) -> Result<PathBuf, String> {
    let device = super::dm::device(vol);
    if !device.exists() {
        return Err(format!("{} is missing", device.display()));
    }
    if std::fs::read_link(path).ok().as_deref() != Some(device.as_path()) {
        replace_link(path, &device)?;
    }
    Ok(device)
}

/// Every node wanted: (directory, name) → (its volume, its descriptor).
fn wanted(c: &Config) -> BTreeMap<(&'static str, String), (String, String)> {
    let mut w = BTreeMap::new();
    for (name, v) in &c.vol {
        let text = format!("vol {name} len={} plex={}\n", v.len, v.plex.join(","));
        w.insert(("vol", name.clone()), (name.clone(), text.clone()));
        w.insert(("rvol", name.clone()), (name.clone(), text));
        for p in &v.plex {
            if c.plex.contains_key(p) {
                let text = format!("plex {p} vol={name} len={}\n", c.plex_len(p));
                w.insert(("plex", p.clone()), (name.clone(), text));
            }
        }
    }
    w
}

/// A node file with `text`, rewritten only when it differs.
fn nodes_make(path: &Path, text: &str) -> Result<PathBuf, String> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        let _ = std::fs::remove_file(path);
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path.to_path_buf())
}

/// The file, byte offset and byte length of a one-plex, one-subdisk
/// volume.
fn loop_region(c: &Config, v: &Volume) -> Result<(PathBuf, u64, u64), String> {
    let [p] = v.plex.as_slice() else {
        return Err(format!(
            "the loop backend needs exactly one plex, not {}",
            v.plex.len()
        ));
    };
    let plex = c.plex.get(p).ok_or(format!("plex {p} does not exist"))?;
    let [s] = plex.sd.as_slice() else {
        return Err(format!(
            "the loop backend needs plex {p} to be one subdisk, not {}",
            plex.sd.len()
        ));
    };
    let sd = c.sd.get(s).ok_or(format!("sd {s} does not exist"))?;
    let len = v.len.min(sd.len);
    if len == 0 {
        return Err("a loop device cannot be empty".into());
    }
    Ok((PathBuf::from(&sd.path), sd.offset * SECTOR, len * SECTOR))
}

/// Whether loop device `dev` maps `file` at `offset` for `len` bytes.
fn loop_matches(dev: &Path, file: &Path, offset: u64, len: u64) -> bool {
    let Some(name) = dev.file_name() else {
        return false;
    };
    let sys = Path::new("/sys/block").join(name).join("loop");
    let read = |f: &str| {
        std::fs::read_to_string(sys.join(f))
            .map(|s| s.trim().to_string())
            .ok()
    };
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    read("backing_file").as_deref() == file.to_str()
        && read("offset") == Some(offset.to_string())
        && read("sizelimit") == Some(len.to_string())
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn attach_loop(file: &Path, offset: u64, len: u64) -> Result<PathBuf, String> {
    log::info!(
        "loop: attaching {} at byte {offset} for {len} bytes",
        file.display()
    );
    let dev = run(Command::new("losetup")
        .args([
            "--find",
            "--show",
            "--offset",
            &offset.to_string(),
            "--sizelimit",
            &len.to_string(),
        ])
        .arg(file))?;
    Ok(PathBuf::from(dev))
}

fn detach_loop(dev: &Path) -> Result<(), String> {
    log::info!("loop: detaching {}", dev.display());
    // The device goes back to the pool as udev makes it: root:disk 0660.
    let disk = lookup_id("/etc/group", "disk").unwrap_or(0);
    let _ = std::os::unix::fs::chown(dev, Some(0), Some(disk));
    let _ = std::fs::set_permissions(dev, std::fs::Permissions::from_mode(0o660));
    run(Command::new("losetup").arg("-d").arg(dev)).map(|_| ())
}

fn replace_link(link: &Path, target: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).map_err(|e| format!("{}: {e}", link.display()))
}

/// Gives `path` (following links) the owner, group and mode of `v`.
fn set_owner(path: &Path, v: &Volume) -> io::Result<()> {
    let uid = lookup_id("/etc/passwd", &v.user)?;
    let gid = lookup_id("/etc/group", &v.group)?;
    let meta = std::fs::metadata(path)?;
    if meta.uid() != uid || meta.gid() != gid {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    if meta.mode() & 0o7777 != v.mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(v.mode))?;
    }
    Ok(())
}

/// A user or group id: a number, or a name looked up in `db`.
fn lookup_id(db: &str, name: &str) -> io::Result<u32> {
    if let Ok(n) = name.parse() {
        return Ok(n);
    }
    let text = std::fs::read_to_string(db)?;
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            Some((f.next()?, f.nth(1)?))
        })
        .find(|(n, _)| *n == name)
        .and_then(|(_, id)| id.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no {name:?} in {db}")))
}

/// The processes holding a node under `dev` (or the device it links to)
/// open: `pid path` each. Read from `/proc/*/fd`.
pub fn open_nodes(dev: &Path) -> Vec<String> {
    let mut watched: Vec<PathBuf> = Vec::new();
    for d in DIRS {
        let Ok(entries) = std::fs::read_dir(dev.join(d)) else {
            continue;
        };
        for e in entries.flatten() {
            watched.push(e.path());
            if let Ok(t) = std::fs::canonicalize(e.path()) {
                watched.push(t);
            }
        }
    }
    let mut open = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return open;
    };
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == std::process::id().to_string() {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(t) = std::fs::read_link(fd.path()) {
                if watched.contains(&t) {
                    open.push(format!("{pid} {}", t.display()));
                }
            }
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vold::ops::Op;

    fn config(desc: &str) -> Config {
        let mut c = Config::default();
        Op::Create(desc.into()).apply(&mut c).unwrap();
        c
    }

    #[test]
    fn nodes_follow_the_records() {
        let dev = tempfile::tempdir().unwrap();
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        let c = config(&format!(
            "sd s1 path=/x len=8\nplex p1 sd=s1\nvol v1 len=8 plex=p1 mode=0640 user={uid} group={gid}\nvol v2 len=0\n"
        ));
        assert_eq!(Backend::Nodes.apply(dev.path(), &c), Vec::<String>::new());
        let node = dev.path().join("vol/v1");
        assert_eq!(std::fs::metadata(&node).unwrap().mode() & 0o7777, 0o640);
        assert!(dev.path().join("rvol/v2").exists());
        assert!(dev.path().join("plex/p1").exists());
        std::fs::write(dev.path().join("vol/stray"), "x").unwrap();
        let c = config("vol v2 len=0\n");
        assert_eq!(Backend::Nodes.apply(dev.path(), &c), Vec::<String>::new());
        assert!(!node.exists() && !dev.path().join("vol/stray").exists());
        assert!(!dev.path().join("plex/p1").exists());
        assert_eq!(Backend::Nodes.clear(dev.path()), Vec::<String>::new());
        assert!(!dev.path().join("vol/v2").exists());
    }

    #[test]
    fn the_loop_backend_refuses_what_it_cannot_build() {
        let c = config(
            "sd a path=/x len=8\nsd b path=/x offset=8 len=8\nplex p sd=a,b\nvol v len=16 plex=p\n",
        );
        let errs = Backend::Loop.rules(&c).join("\n");
        assert!(
            errs.contains("vol v: the loop backend needs plex p to be one subdisk, not 2"),
            "{errs}"
        );
        assert!(Backend::Nodes.rules(&c).is_empty());
        let c = config("sd a path=/x offset=4 len=8\nplex p sd=a\nvol v len=8 plex=p\n");
        assert!(Backend::Loop.rules(&c).is_empty());
        assert_eq!(
            loop_region(&c, &c.vol["v"]).unwrap(),
            (PathBuf::from("/x"), 2048, 4096)
        );
    }
}
