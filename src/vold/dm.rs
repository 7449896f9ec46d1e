//! The device-mapper backend: each volume with a plex becomes a dm
//! device `vold-NAME` whose **linear** table lays its plex's subdisks end
//! to end (`start len linear MAJOR:MINOR offset`, in sectors), through
//! `dmsetup`. Subdisks must be on block devices (a file can be given a
//! loop device first); a volume has one plex (no mirrors). The nodes are
//! symbolic links to `/dev/mapper/vold-NAME`.
//!
//! [`sync`] diffs the wanted devices against `dmsetup ls`: extra `vold-`
//! devices are removed, missing ones created, changed tables reloaded.

use super::record::{Config, Volume};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The prefix of vold's dm devices.
pub const PREFIX: &str = "vold-";

/// What the backend cannot build: a volume with more than one plex, or
/// a plex without subdisks.
pub fn rules(c: &Config) -> Vec<String> {
    let mut errs = Vec::new();
    for (n, v) in c.vol.iter().filter(|(_, v)| !v.plex.is_empty()) {
        match v.plex.as_slice() {
            [p] if c.plex.get(p).is_some_and(|p| !p.sd.is_empty()) => {}
            [p] => errs.push(format!(
                "vol {n}: the dm backend needs plex {p} to have subdisks"
            )),
            ps => errs.push(format!(
                "vol {n}: the dm backend maps one plex (linear), not {}",
                ps.len()
            )),
        }
    }
    errs
}

/// The device node of volume `name`.
pub fn device(name: &str) -> PathBuf {
    Path::new("/dev/mapper").join(format!("{PREFIX}{name}"))
}

/// `MAJOR:MINOR` of the block device at `path`.
fn dev_numbers(path: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    if !meta.file_type().is_block_device() {
        return Err(format!(
            "{path} is not a block device (the dm backend maps block devices; give a file a loop device)"
        ));
    }
    let rdev = meta.rdev();
    Ok(format!(
        "{}:{}",
        rustix::fs::major(rdev),
        rustix::fs::minor(rdev)
    ))
}

/// The linear table of volume `v` (its one plex, cut at its length), one
/// line a subdisk, as `dmsetup table` prints it.
pub fn table(c: &Config, v: &Volume) -> Result<String, String> {
    let [p] = v.plex.as_slice() else {
        return Err("the dm backend maps one plex".into());
    };
    let plex = c.plex.get(p).ok_or(format!("plex {p} does not exist"))?;
    let mut out = String::new();
    for s in &plex.sd {
        let sd = c.sd.get(s).ok_or(format!("sd {s} does not exist"))?;
        if sd.plex_offset >= v.len {
            break;
        }
        let len = sd.len.min(v.len - sd.plex_offset);
        let numbers = dev_numbers(&sd.path)?;
        out.push_str(&format!(
            "{} {len} linear {numbers} {}\n",
            sd.plex_offset, sd.offset
        ));
    }
    if out.is_empty() {
        return Err("a dm device cannot be empty".into());
    }
    Ok(out)
}

fn dmsetup(args: &[&str], input: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new("dmsetup");
    cmd.args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("dmsetup: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("dmsetup {}: {e}", args.join(" ")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("dmsetup: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "dmsetup {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// vold's dm devices now, by volume name.
fn present() -> Result<Vec<String>, String> {
    let out = dmsetup(&["ls"], None)?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|n| n.strip_prefix(PREFIX))
        .map(str::to_string)
        .collect())
}

/// Brings vold's dm devices in line with `c`; returns the problems.
pub fn sync(c: &Config) -> Vec<String> {
    let mut errs = Vec::new();
    let mut wanted = BTreeMap::new();
    for (n, v) in c.vol.iter().filter(|(_, v)| !v.plex.is_empty()) {
        match table(c, v) {
            Ok(t) => {
                wanted.insert(n.clone(), t);
            }
            Err(e) => errs.push(format!("vol {n}: {e}")),
        }
    }
    let present = match present() {
        Ok(p) => p,
        Err(e) => {
            errs.push(e);
            return errs;
        }
    };
    for gone in present.iter().filter(|n| !wanted.contains_key(*n)) {
        let name = format!("{PREFIX}{gone}");
        log::info!("dm: removing {name}");
        errs.extend(dmsetup(&["remove", &name], None).err());
    }
    for (n, t) in &wanted {
        let name = format!("{PREFIX}{n}");
        let result = if present.contains(n) {
            match dmsetup(&["table", &name], None) {
                Ok(now) if now == *t => Ok(()),
                _ => {
                    log::info!("dm: reloading {name}");
                    dmsetup(&["reload", &name], Some(t))
                        .and_then(|_| dmsetup(&["resume", &name], None))
                        .map(|_| ())
                }
            }
        } else {
            log::info!("dm: creating {name}");
            dmsetup(&["create", &name], Some(t))
                .and_then(|_| dmsetup(&["mknodes", &name], None))
                .map(|_| ())
        };
        errs.extend(result.err().map(|e| format!("vol {n}: {e}")));
    }
    errs
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
    fn tables_lay_subdisks_end_to_end_and_stop_at_the_volume_length() {
        // /dev/null is a character device: the table names the problem.
        let c = config("sd a path=/dev/null len=8\nplex p sd=a\nvol v len=8 plex=p\n");
        let err = table(&c, &c.vol["v"]).unwrap_err();
        assert!(err.contains("/dev/null is not a block device"), "{err}");
        assert!(rules(&c).is_empty());
        let two = config("vol v len=8\nplex p1 vol=v\nplex p2 vol=v\n");
        let errs = rules(&two).join("\n");
        assert!(errs.contains("maps one plex (linear), not 2"), "{errs}");
    }
}
