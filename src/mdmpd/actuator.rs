//! Putting a recovered path back into its array: the ways mdmpd can do it
//! (`ACTUATOR` in mdmpd.conf). Each is blocking work for a
//! [`crate::daemon::jobs::Jobs`] thread and returns what it did, or why it
//! failed, as one line for the log.
//!
//! - **sysfs** (the default): `re-add` to `md/dev-X/state` (the kernel
//!   takes a faulty member back into its old slot); if it refuses, `remove`
//!   there and write the device's `major:minor` to `md/new_dev`, which adds
//!   it as a new member (a spare, for multipath: the seed's "new spare
//!   path").
//! - **ioctl**: md's `HOT_REMOVE_DISK` then `HOT_ADD_DISK` on `/dev/mdN`,
//!   what mdmpd did on 0.90-superblock multipath arrays (other superblocks
//!   refuse HOT_ADD with EINVAL).
//! - **mdadm**: `mdadm --manage /dev/mdN --remove /dev/X`, then `--add`
//!   (multipath) or `--re-add` (redundant levels).
//! - **dry-run**: logs what it would do and changes nothing.

use crate::sys;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How a path is put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actuator {
    /// Through `md/dev-X/state` and `md/new_dev`.
    Sysfs,
    /// md's hot-remove and hot-add ioctls.
    Ioctl,
    /// The `mdadm` program at this path.
    Mdadm(PathBuf),
    /// Nothing; log only.
    DryRun,
}

/// One re-add: which member of which array, and where the system's
/// trees are (`/sys` and `/dev`, or their stand-ins under `STATMON_ROOT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readd {
    /// The md device's name (`md0`).
    pub array: String,
    /// The member's device name (`sdb1`).
    pub member: String,
    /// The array's level (`multipath`, `raid1`, ...).
    pub level: String,
    /// Where `/sys` is.
    pub sys: PathBuf,
    /// Where `/dev` is.
    pub dev: PathBuf,
}

impl Actuator {
    /// The mdmpd.conf word for it.
    pub fn name(&self) -> &'static str {
        match self {
            Actuator::Sysfs => "sysfs",
            Actuator::Ioctl => "ioctl",
            Actuator::Mdadm(_) => "mdadm",
            Actuator::DryRun => "dry-run",
        }
    }

    /// Puts `r`'s member back; `Ok` says how, `Err` why not.
    pub fn readd(&self, r: &Readd) -> Result<String, String> {
        match self {
            Actuator::Sysfs => sysfs_readd(r),
            Actuator::Ioctl => ioctl_readd(r),
            Actuator::Mdadm(mdadm) => mdadm_readd(mdadm, r),
            Actuator::DryRun => Ok(format!(
                "dry run: would re-add {} to {}",
                r.dev.join(&r.member).display(),
                r.dev.join(&r.array).display()
            )),
        }
    }
}

/// `md/` of the array.
fn md_dir(r: &Readd) -> PathBuf {
    r.sys.join("block").join(&r.array).join("md")
}

/// Writes `value` to the sysfs attribute `path` in one write, as the
/// kernel wants it (opened as the shell's `echo value > path` opens it:
/// sysfs ignores the truncation, a stand-in file keeps just `value`).
fn write_attr(path: &Path, value: &str) -> Result<(), String> {
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| format!("write '{value}' to {}: {e}", path.display()))
}

/// The member's `major:minor`, from `class/block/X/dev`.
fn dev_numbers(r: &Readd) -> Result<(u32, u32), String> {
    let path = r.sys.join("class/block").join(&r.member).join("dev");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let parsed = text
        .trim()
        .split_once(':')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    parsed.ok_or_else(|| format!("{}: not major:minor: '{}'", path.display(), text.trim()))
}

fn sysfs_readd(r: &Readd) -> Result<String, String> {
    let md = md_dir(r);
    let state = md.join(format!("dev-{}", r.member)).join("state");
    let readd = if state.exists() {
        write_attr(&state, "re-add")
    } else {
        Err(format!(
            "{}: the member is no longer in the array",
            state.display()
        ))
    };
    let first = match readd {
        Ok(()) => return Ok(format!("wrote re-add to {}", state.display())),
        Err(e) => e,
    };
    if state.exists() {
        write_attr(&state, "remove").map_err(|e| format!("{first}; {e}"))?;
    }
    let (major, minor) = dev_numbers(r).map_err(|e| format!("{first}; {e}"))?;
    let new_dev = md.join("new_dev");
    write_attr(&new_dev, &format!("{major}:{minor}")).map_err(|e| format!("{first}; {e}"))?;
    Ok(format!(
        "added {major}:{minor} through {} ({first})",
        new_dev.display()
    ))
}

fn ioctl_readd(r: &Readd) -> Result<String, String> {
    let (major, minor) = dev_numbers(r)?;
    let dev = libc::makedev(major, minor);
    let md_path = r.dev.join(&r.array);
    let md = std::fs::File::open(&md_path).map_err(|e| format!("{}: {e}", md_path.display()))?;
    // A member md already removed answers ENXIO/EINVAL: go on to the add.
    let removed = sys::md_ioctl(&md, sys::MD_HOT_REMOVE_DISK, dev);
    sys::md_ioctl(&md, sys::MD_HOT_ADD_DISK, dev).map_err(|e| {
        let before = removed
            .err()
            .map(|re| format!(" (HOT_REMOVE_DISK: {re})"))
            .unwrap_or_default();
        format!(
            "HOT_ADD_DISK {major}:{minor} on {}: {e}{before}",
            md_path.display()
        )
    })?;
    Ok(format!(
        "HOT_REMOVE_DISK and HOT_ADD_DISK {major}:{minor} on {}",
        md_path.display()
    ))
}

fn mdadm_readd(mdadm: &Path, r: &Readd) -> Result<String, String> {
    let md = r.dev.join(&r.array);
    let member = r.dev.join(&r.member);
    let add = if r.level == "multipath" {
        "--add"
    } else {
        "--re-add"
    };
    // The remove fails when md dropped the member already; the add says.
    let _ = run(mdadm, &md, "--remove", &member);
    run(mdadm, &md, add, &member)?;
    Ok(format!(
        "{} --manage {} {add} {}",
        mdadm.display(),
        md.display(),
        member.display()
    ))
}

/// `mdadm --manage MD OP MEMBER`, waited for; `Err` with its stderr.
fn run(mdadm: &Path, md: &Path, op: &str, member: &Path) -> Result<(), String> {
    let out = Command::new(mdadm)
        .arg("--manage")
        .arg(md)
        .arg(op)
        .arg(member)
        .output()
        .map_err(|e| format!("{}: {e}", mdadm.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{} --manage {} {op} {}: {} ({})",
        mdadm.display(),
        md.display(),
        member.display(),
        out.status,
        crate::log::escape(said.trim().as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake `/sys` and `/dev` with md0 holding sdb.
    fn tree() -> (tempfile::TempDir, Readd) {
        let t = tempfile::tempdir().unwrap();
        let r = Readd {
            array: "md0".into(),
            member: "sdb".into(),
            level: "multipath".into(),
            sys: t.path().join("sys"),
            dev: t.path().join("dev"),
        };
        std::fs::create_dir_all(md_dir(&r).join("dev-sdb")).unwrap();
        std::fs::write(md_dir(&r).join("dev-sdb/state"), "faulty\n").unwrap();
        std::fs::write(md_dir(&r).join("new_dev"), "").unwrap();
        std::fs::create_dir_all(r.sys.join("class/block/sdb")).unwrap();
        std::fs::write(r.sys.join("class/block/sdb/dev"), "8:16\n").unwrap();
        std::fs::create_dir_all(&r.dev).unwrap();
        (t, r)
    }

    #[test]
    fn sysfs_writes_re_add_to_the_members_state() {
        let (_t, r) = tree();
        let said = Actuator::Sysfs.readd(&r).unwrap();
        assert!(said.contains("wrote re-add"), "{said}");
        assert_eq!(
            std::fs::read_to_string(md_dir(&r).join("dev-sdb/state")).unwrap(),
            "re-add"
        );
    }

    #[test]
    fn sysfs_adds_through_new_dev_when_the_member_is_gone() {
        let (_t, r) = tree();
        std::fs::remove_dir_all(md_dir(&r).join("dev-sdb")).unwrap();
        let said = Actuator::Sysfs.readd(&r).unwrap();
        assert!(said.contains("added 8:16"), "{said}");
        assert_eq!(
            std::fs::read_to_string(md_dir(&r).join("new_dev")).unwrap(),
            "8:16"
        );
        std::fs::write(r.sys.join("class/block/sdb/dev"), "junk\n").unwrap();
        let err = Actuator::Sysfs.readd(&r).unwrap_err();
        assert!(err.contains("not major:minor: 'junk'"), "{err}");
    }

    #[test]
    fn ioctl_on_a_non_md_device_says_which_call_failed() {
        let (_t, r) = tree();
        std::fs::write(r.dev.join("md0"), "").unwrap();
        let err = Actuator::Ioctl.readd(&r).unwrap_err();
        assert!(err.starts_with("HOT_ADD_DISK 8:16 on "), "{err}");
        assert!(err.contains("HOT_REMOVE_DISK"), "{err}");
    }

    #[test]
    fn mdadm_is_run_with_add_for_multipath_and_re_add_otherwise() {
        let (t, mut r) = tree();
        let log = t.path().join("argv");
        let fake = t.path().join("mdadm");
        std::fs::write(
            &fake,
            format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mdadm = Actuator::Mdadm(fake.clone());
        mdadm.readd(&r).unwrap();
        r.level = "raid1".into();
        mdadm.readd(&r).unwrap();
        let (md, sdb) = (r.dev.join("md0"), r.dev.join("sdb"));
        let (md, sdb) = (md.display(), sdb.display());
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            format!(
                "--manage {md} --remove {sdb}\n--manage {md} --add {sdb}\n\
                 --manage {md} --remove {sdb}\n--manage {md} --re-add {sdb}\n"
            )
        );
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'mdadm: no such\tdevice' >&2\nexit 1\n",
        )
        .unwrap();
        let err = mdadm.readd(&r).unwrap_err();
        assert!(err.contains("--re-add"), "{err}");
        assert!(err.contains("mdadm: no such\\tdevice"), "escaped: {err}");
    }

    #[test]
    fn dry_run_changes_nothing() {
        let (_t, r) = tree();
        assert!(Actuator::DryRun.readd(&r).unwrap().starts_with("dry run"));
        assert_eq!(
            std::fs::read_to_string(md_dir(&r).join("dev-sdb/state")).unwrap(),
            "faulty\n"
        );
        assert_eq!(Actuator::DryRun.name(), "dry-run");
    }
}
