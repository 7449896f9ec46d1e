//! Giving up root once the daemon holds what needs root, as nfs-utils'
//! `nsm_drop_privileges` (support/nsm/file.c) does.
//!
//! The daemon then runs as the owner of its monitor records: `<state>/sm` in
//! the nfs-utils layout (nfs-utils fee2cc29 took the owner of `sm/` rather
//! than of the state directory, because a daemon-writable `/var/lib/nfs`
//! holds files other daemons trust); for the Apple layout the caller passes
//! the status file or its directory. It keeps exactly one capability,
//! `CAP_NET_BIND_SERVICE`, so it can still bind reserved source ports later
//! (the Linux kernel's lockd accepts an NSM callback only from a port below
//! 1024).
//!
//! # Threads
//!
//! Call [`drop_privileges`] while the process has a single thread (after
//! daemonizing, before the reactor, the logger or any helper thread
//! starts). The user, group and supplementary-group changes go through the
//! C library and reach every thread ([`crate::sys::set_all_uids`]), but the
//! capability sets, the keep-capabilities flag and the bounding set belong
//! to the calling thread only: any other thread would keep its full bounding
//! set and lose `CAP_NET_BIND_SERVICE` at the uid change.
//!
//! # After the drop
//!
//! Programs the daemon executes later (the HA callout, `sm-notify`) get no
//! capabilities: the bounding set is empty and nothing is inheritable. This
//! is what nfs-utils does too, also when it stays root.

use crate::sys;
use rustix::fs::Mode;
use rustix::thread::{self as rthread, CapabilitySet, CapabilitySets};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The capability the daemon keeps after switching users.
const KEPT: CapabilitySet = CapabilitySet::NET_BIND_SERVICE;

/// The file creation mask nfs-utils sets before dropping root (`S_IRWXO`):
/// nothing the daemon creates afterwards is readable by others.
const UMASK: u32 = 0o007;

/// A user and group to run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// What [`drop_privileges`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The process was not running as root (effective uid `euid`), so it had
    /// nothing to give up; ids and capabilities are unchanged.
    NotRoot { euid: u32 },
    /// The records belong to root, so the daemon stays root (with an empty
    /// capability bounding set). Log it as a warning; nfs-utils says
    /// `Running as root.  chown <state dir> to choose different user`.
    StayedRoot,
    /// The process now runs as this user and group, with no supplementary
    /// groups and only `CAP_NET_BIND_SERVICE` (effective and permitted).
    Switched(Owner),
}

/// The owner of `path` itself (a symbolic link is not followed, as
/// nfs-utils uses `lstat`).
pub fn owner_of(path: &Path) -> io::Result<Owner> {
    let meta = std::fs::symlink_metadata(path)?;
    Ok(Owner {
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

/// Switches the whole process to the owner of `owned_by`, keeping only
/// `CAP_NET_BIND_SERVICE`.
///
/// In order, as nfs-utils: set the umask to `007` (always, whatever follows);
/// if not root, stop ([`Dropped::NotRoot`]); read the owner of `owned_by`;
/// empty the capability bounding set; if the owner is root, stop
/// ([`Dropped::StayedRoot`]); otherwise keep capabilities across the uid
/// change (`PR_SET_KEEPCAPS`), clear the supplementary groups, set all three
/// group ids then all three user ids, and set effective = permitted =
/// {`CAP_NET_BIND_SERVICE`}, inheritable (and so ambient) = {}.
///
/// Must be called while the process has one thread (see the module docs).
/// nfs-utils also `fchown`s its pid file to the new owner first; see
/// [`super::pidfile::PidFiles::chown`]. An error part-way leaves the process
/// in between; the caller should exit, as nfs-utils does.
pub fn drop_privileges(owned_by: &Path) -> io::Result<Dropped> {
    rustix::process::umask(Mode::from_bits_truncate(UMASK));
    let euid = rustix::process::geteuid().as_raw();
    if euid != 0 {
        return Ok(Dropped::NotRoot { euid });
    }
    let owner = owner_of(owned_by)?;
    prune_bounding_set()?;
    if owner.uid == 0 {
        return Ok(Dropped::StayedRoot);
    }
    switch_to(owner)?;
    Ok(Dropped::Switched(owner))
}

/// Gives `path` to the owner of `owned_by` when we are root, `path` is
/// owned by root and `owned_by` is not: the daemon rewrites `state` in
/// place after it drops to the records' owner, as Debian's package leaves
/// `state` owned by `statd`. The group is kept. A missing `path` is not an
/// error.
pub fn hand_over(path: &Path, owned_by: &Path) -> io::Result<()> {
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let owner = owner_of(owned_by)?;
    let current = match owner_of(path) {
        Ok(o) => o,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if owner.uid == 0 || current.uid != 0 {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(owner.uid), None)
}

/// [`drop_privileges`], saying what it did in the log; an error names
/// what failed.
pub fn drop_and_log(owned_by: &Path) -> io::Result<()> {
    match drop_privileges(owned_by) {
        Ok(Dropped::Switched(o)) => {
            log::info!("running as uid {}, gid {}", o.uid, o.gid);
            Ok(())
        }
        Ok(Dropped::StayedRoot) => {
            log::warn!(
                "running as root; chown {} to choose another user",
                owned_by.display()
            );
            Ok(())
        }
        Ok(Dropped::NotRoot { .. }) => Ok(()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!(
                "cannot drop privileges to the owner of {}: {e}",
                owned_by.display()
            ),
        )),
    }
}

/// Drops every capability the kernel knows from the calling thread's
/// bounding set (the first unknown number ends the walk, as nfs-utils'
/// `PR_CAPBSET_READ` loop).
fn prune_bounding_set() -> io::Result<()> {
    for bit in 0..u64::BITS {
        let cap = CapabilitySet::from_bits_retain(1 << bit);
        match rthread::capability_is_in_bounding_set(cap) {
            Ok(true) => rthread::remove_capability_from_bounding_set(cap)?,
            Ok(false) => {}
            Err(rustix::io::Errno::INVAL) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn switch_to(owner: Owner) -> io::Result<()> {
    rthread::set_keep_capabilities(true)?;
    sys::set_groups(&[])?;
    // Group first: after the uid change there is no CAP_SETGID left.
    sys::set_all_gids(owner.gid)?;
    sys::set_all_uids(owner.uid)?;
    rthread::set_capabilities(
        None,
        CapabilitySets {
            effective: KEPT,
            permitted: KEPT,
            inheritable: CapabilitySet::empty(),
        },
    )?;
    rthread::set_keep_capabilities(false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::chown;
    use std::process::Command;

    const MODE_VAR: &str = "STATMON_PRIVS_HELPER";
    const DIR_VAR: &str = "STATMON_PRIVS_DIR";
    const NOBODY: u32 = 65534;
    const NET_BIND_SERVICE_BIT: u64 = 1 << 10;

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    /// Runs [`helper_in_child`] in a fresh process of this test binary, so
    /// the identity change cannot touch the other tests.
    fn run_helper(mode: &str, dir: &Path) {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([
                "--exact",
                "daemon::privs::tests::helper_in_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(MODE_VAR, mode)
            .env(DIR_VAR, dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(&format!("privs-helper ok {mode}")),
            "helper {mode} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
    }

    /// One field of a `/proc/.../status` file, e.g. `CapEff`.
    fn status_field(file: &str, name: &str) -> String {
        let text = std::fs::read_to_string(file).unwrap();
        let prefix = format!("{name}:");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in {file}"))
            .trim()
            .to_string()
    }

    fn caps(name: &str) -> u64 {
        u64::from_str_radix(&status_field("/proc/thread-self/status", name), 16).unwrap()
    }

    fn current_umask() -> u32 {
        let old = rustix::process::umask(Mode::from_bits_truncate(0o022));
        rustix::process::umask(old);
        old.bits()
    }

    /// Binds a reserved TCP port on loopback: proves CAP_NET_BIND_SERVICE
    /// (without it every port fails with EACCES).
    fn can_bind_reserved_port() -> bool {
        for port in (900..1024).rev() {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(_) => return true,
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(_) => return false,
            }
        }
        false
    }

    /// The body run inside the child process; does nothing when run by hand.
    #[test]
    #[ignore = "run in a child process by the privs tests"]
    fn helper_in_child() {
        let (Ok(mode), Ok(dir)) = (std::env::var(MODE_VAR), std::env::var(DIR_VAR)) else {
            return;
        };
        let dir = Path::new(&dir);
        match mode.as_str() {
            "switch" => {
                let got = drop_privileges(dir).unwrap();
                let nobody = Owner {
                    uid: NOBODY,
                    gid: NOBODY,
                };
                assert_eq!(got, Dropped::Switched(nobody));
                assert_eq!(rustix::process::getuid().as_raw(), NOBODY);
                assert_eq!(rustix::process::geteuid().as_raw(), NOBODY);
                assert_eq!(rustix::process::getgid().as_raw(), NOBODY);
                assert_eq!(rustix::process::getegid().as_raw(), NOBODY);
                let all_nobody = "65534\t65534\t65534\t65534";
                assert_eq!(status_field("/proc/thread-self/status", "Uid"), all_nobody);
                assert_eq!(status_field("/proc/thread-self/status", "Gid"), all_nobody);
                assert_eq!(status_field("/proc/thread-self/status", "Groups"), "");
                // The test harness's main thread changed too: process-wide.
                assert_eq!(status_field("/proc/self/status", "Uid"), all_nobody);
                assert_eq!(caps("CapEff"), NET_BIND_SERVICE_BIT);
                assert_eq!(caps("CapPrm"), NET_BIND_SERVICE_BIT);
                assert_eq!(caps("CapInh"), 0);
                assert_eq!(caps("CapAmb"), 0);
                assert_eq!(caps("CapBnd"), 0);
                assert!(!rthread::get_keep_capabilities().unwrap());
                assert_eq!(current_umask(), UMASK);
                assert!(sys::set_all_uids(0).is_err(), "root came back");
                assert!(can_bind_reserved_port());
                std::fs::write(dir.join("written-as-nobody"), b"x").unwrap();
            }
            "stay" => {
                assert_eq!(drop_privileges(dir).unwrap(), Dropped::StayedRoot);
                assert_eq!(rustix::process::geteuid().as_raw(), 0);
                assert_eq!(caps("CapBnd"), 0);
                assert_ne!(caps("CapEff") & NET_BIND_SERVICE_BIT, 0);
            }
            "notroot" => {
                sys::set_all_gids(NOBODY).unwrap();
                sys::set_all_uids(NOBODY).unwrap();
                let bounding = caps("CapBnd");
                assert_eq!(
                    drop_privileges(dir).unwrap(),
                    Dropped::NotRoot { euid: NOBODY }
                );
                assert_eq!(caps("CapBnd"), bounding);
            }
            "missing" => {
                let bounding = caps("CapBnd");
                let err = drop_privileges(&dir.join("absent")).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::NotFound);
                assert_eq!(caps("CapBnd"), bounding, "nothing pruned before the stat");
            }
            other => panic!("unknown helper mode {other}"),
        }
        println!("privs-helper ok {mode}");
    }

    #[test]
    fn switches_to_owner_keeping_only_net_bind_service() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        run_helper("switch", dir.path());
        let written = dir.path().join("written-as-nobody");
        assert_eq!(owner_of(&written).unwrap().uid, NOBODY);
    }

    #[test]
    fn root_owned_records_keep_root_but_empty_the_bounding_set() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        run_helper("stay", dir.path());
    }

    #[test]
    fn non_root_caller_changes_nothing() {
        if !is_root() {
            eprintln!("skipped: needs root to become someone else");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        run_helper("notroot", dir.path());
    }

    #[test]
    fn missing_records_path_is_an_error_before_any_change() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        run_helper("missing", dir.path());
    }

    #[test]
    fn owner_of_reads_uid_and_gid_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sm");
        std::fs::create_dir(&file).unwrap();
        let me = Owner {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
        };
        assert_eq!(owner_of(&file).unwrap(), me);
        if is_root() {
            chown(&file, Some(NOBODY), Some(NOBODY + 1)).unwrap();
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            let expect = Owner {
                uid: NOBODY,
                gid: NOBODY + 1,
            };
            assert_eq!(owner_of(&file).unwrap(), expect);
            assert_eq!(owner_of(&link).unwrap(), me);
        }
        assert_eq!(
            owner_of(&dir.path().join("absent")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
