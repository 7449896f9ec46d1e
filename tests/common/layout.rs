//! The distribution's on-disk layout, as every daemon test starts from it.
//!
//! Debian's `nfs-common` postinst leaves (reference-observed.md, "The
//! distribution's layout"):
//!
//! ```text
//! /var/lib/nfs          root:root    0755
//! /var/lib/nfs/sm       statd:nogroup 0755
//! /var/lib/nfs/sm.bak   statd:nogroup 0755
//! /var/lib/nfs/state    statd:root   0644   (empty; absent on other systems)
//! ```
//!
//! [`stock`] builds exactly that in a test's directory, so the daemon drops
//! to `statd` after binding its ports and must keep every later write
//! inside `sm/` and `sm.bak/`. The `statd` system user comes from
//! nfs-common (or the test command creates it, as the postinst does);
//! [`statd_user`] finds it.
//!
//! The directories above a test's state directory are temporary
//! directories (mode 0700); [`stock`] opens them for traversal so the
//! dropped user can reach its records, as it can reach `/var/lib/nfs`.

use std::fs;
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};

/// statmon's boot id in an nfs-utils state directory (relative to `-P`):
/// inside `sm/`, which the dropped user owns.
pub const BOOT_ID: &str = "sm/.statmon-boot-id";
/// statmon's reboot-notification progress (relative to `-P`).
pub const NOTIFY_PROGRESS: &str = "sm/.statmon-notify";
/// The `--forget HOST` (`-N`) spool (relative to `-P`).
pub const FORGET_SPOOL: &str = "sm/.statmon-forget";

/// The system user and group the records belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatdUser {
    pub uid: u32,
    pub gid: u32,
}

/// The `statd` user of `/etc/passwd`, or why there is none.
pub fn statd_user() -> Result<StatdUser, String> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && f[0] == "statd")
        .and_then(|f| {
            Some(StatdUser {
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
            })
        })
        .ok_or_else(|| "no 'statd' user in /etc/passwd (nfs-common creates it)".to_string())
}

/// What `state` holds in a fresh layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFile {
    /// As the package leaves it: an empty file owned by `statd`.
    Empty,
    /// No `state` file at all.
    Absent,
    /// A 4-byte native-endian state number, owned by `statd`.
    Value(i32),
}

/// A stock state directory.
#[derive(Debug, Clone)]
pub struct Stock {
    /// The state directory (`-P`), root-owned.
    pub dir: PathBuf,
    /// Who owns `sm/` and `sm.bak/`.
    pub user: StatdUser,
}

impl Stock {
    /// The stock layout [`stock`] built earlier at `dir`.
    pub fn of(dir: &Path) -> Stock {
        Stock {
            dir: dir.to_path_buf(),
            user: statd_user().expect("statd user"),
        }
    }

    /// `DIR/sm`.
    pub fn sm(&self) -> PathBuf {
        self.dir.join("sm")
    }

    /// `DIR/sm.bak`.
    pub fn bak(&self) -> PathBuf {
        self.dir.join("sm.bak")
    }

    /// Writes a record file `sub/NAME` (`sub` is `sm` or `sm.bak`) owned
    /// by `statd`, mode 0600, as rpc.statd would have written it.
    pub fn put_record(&self, sub: &str, name: &str, bytes: &(impl AsRef<[u8]> + ?Sized)) {
        let path = self.dir.join(sub).join(name);
        fs::write(&path, bytes.as_ref()).expect("write record");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod record");
        chown(&path, Some(self.user.uid), Some(self.user.gid)).expect("chown record");
    }

    /// Writes `DIR/rel` (a sidecar such as [`BOOT_ID`], or `state`) owned
    /// by `statd`, mode 0644, as the dropped daemon would have written it.
    pub fn put(&self, rel: &str, bytes: &(impl AsRef<[u8]> + ?Sized)) {
        let path = self.dir.join(rel);
        fs::write(&path, bytes.as_ref())
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        set(&path, 0o644, self.user.uid, self.user.gid);
    }
}

/// Builds the stock layout at `dir` (created if missing) with `state` as
/// asked. Panics if there is no `statd` user (see [`statd_user`]).
pub fn stock(dir: &Path, state: StateFile) -> Stock {
    let user = statd_user().expect("statd user");
    open_ancestors(dir);
    fs::create_dir_all(dir).expect("create state dir");
    set(dir, 0o755, 0, 0);
    for sub in ["sm", "sm.bak"] {
        let d = dir.join(sub);
        fs::create_dir_all(&d).expect("create records dir");
        set(&d, 0o755, user.uid, user.gid);
    }
    let state_path = dir.join("state");
    match state {
        StateFile::Absent => {
            let _ = fs::remove_file(&state_path);
        }
        StateFile::Empty => fs::write(&state_path, b"").expect("write state"),
        StateFile::Value(v) => fs::write(&state_path, v.to_ne_bytes()).expect("write state"),
    }
    if state != StateFile::Absent {
        set(&state_path, 0o644, user.uid, 0);
    }
    Stock {
        dir: dir.to_path_buf(),
        user,
    }
}

/// A root-owned `/var/db`-like directory for the Apple `statd.status`
/// store (the daemon of that layout runs as root, as Apple's does).
pub fn apple_stock(dir: &Path) -> PathBuf {
    open_ancestors(dir);
    fs::create_dir_all(dir).expect("create state dir");
    set(dir, 0o755, 0, 0);
    dir.to_path_buf()
}

fn set(path: &Path, mode: u32, uid: u32, gid: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    chown(path, Some(uid), Some(gid)).expect("chown");
}

/// Gives every existing ancestor of `dir` search permission for others
/// (temporary directories are 0700), so a dropped user can reach `dir`.
fn open_ancestors(dir: &Path) {
    for a in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(a) else { continue };
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            fs::set_permissions(a, fs::Permissions::from_mode((mode & 0o7777) | 0o011))
                .expect("open ancestor for traversal");
        }
    }
}
