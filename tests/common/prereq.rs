//! Whether a test's prerequisites are here, decided in one place.
//!
//! A test names what it needs before it starts: `if !require(&[...]) {
//! return; }`. When everything is present, [`require`] returns `true` and
//! the test runs. When something is missing:
//! - under CI (env `CI` set to anything but empty, `false` or `0`) or with
//!   `STATMON_TEST_STRICT=1`, a missing prerequisite that `.ci/test`
//!   installs (every [`Need`] but [`Need::Kernel`]) fails the test: it
//!   panics naming what is missing;
//! - otherwise, and under CI for kernel features a machine may lack, the
//!   test is skipped and counted: `SKIP <test>: <reason>` goes to stderr
//!   and one line `<test binary>::<test>\t<reason>` is appended to the skip
//!   log (`$STATMON_SKIP_LOG`, else `statmon-skips.log` in cargo's
//!   `CARGO_TARGET_TMPDIR`), which `.ci/test` sums up; `require` returns
//!   `false`.
//!
//! So no test passes silently when it could not run. The test's name is
//! its thread's name (libtest names each test's thread after the test), so
//! `require` must be called on the test's own thread.

use super::{layout, sandbox};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Something a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Running as root.
    Root,
    /// What a [`sandbox::Sandbox`] needs: root, `unshare`, `nsenter`, `ip`.
    Sandbox,
    /// A program on PATH or in the sbin directories.
    Tool(&'static str),
    /// A file a package installs (a system `.x` file, say).
    File(&'static str),
    /// Debian's `/sbin/rpc.statd` and `/sbin/sm-notify` (nfs-common).
    DebianDaemons,
    /// NFS-Ganesha (`/usr/bin/ganesha.nfsd`) with its FSAL MEM module.
    Ganesha,
    /// libtirpc's headers (`/usr/include/tirpc/rpc/rpc.h`).
    TirpcHeaders,
    /// The `statd` system user (see [`layout::statd_user`]).
    StatdUser,
    /// A kernel feature this machine may lack (md, device-mapper, a link
    /// type): what it is and whether the caller's probe found it. The only
    /// need a test may be skipped for under CI.
    Kernel {
        feature: &'static str,
        present: bool,
    },
}

impl Need {
    /// Why this need is not met here; `None` if it is.
    fn missing(self) -> Option<String> {
        let file = |p: &str| Path::new(p).is_file();
        match self {
            Need::Root => (!rustix::process::geteuid().is_root()).then(|| "not root".into()),
            Need::Sandbox => sandbox::unavailable(),
            Need::Tool(t) => sandbox::which(t).is_none().then(|| format!("{t} missing")),
            Need::File(p) => (!file(p)).then(|| format!("{p} missing")),
            Need::DebianDaemons => ["/sbin/rpc.statd", "/sbin/sm-notify"]
                .into_iter()
                .find(|p| !file(p))
                .map(|p| format!("{p} missing (nfs-common)")),
            Need::Ganesha => {
                if !file("/usr/bin/ganesha.nfsd") {
                    Some("/usr/bin/ganesha.nfsd missing (nfs-ganesha)".into())
                } else if !has_fsal_mem() {
                    Some("ganesha libfsalmem.so missing (nfs-ganesha-mem)".into())
                } else {
                    None
                }
            }
            Need::TirpcHeaders => (!file("/usr/include/tirpc/rpc/rpc.h"))
                .then(|| "libtirpc headers missing (libtirpc-dev)".into()),
            Need::StatdUser => layout::statd_user()
                .err()
                .map(|_| "statd user missing".into()),
            Need::Kernel { feature, present } => (!present).then(|| format!("{feature} missing")),
        }
    }

    /// Whether `.ci/test` provides this need (everything but the kernel).
    fn installable(self) -> bool {
        !matches!(self, Need::Kernel { .. })
    }
}

/// Whether FSAL MEM is installed: `/usr/lib/<triplet>/ganesha`,
/// `/usr/lib64/ganesha` or `/usr/lib/ganesha` holds `libfsalmem.so`.
fn has_fsal_mem() -> bool {
    let mut dirs = vec![PathBuf::from("/usr/lib"), PathBuf::from("/usr/lib64")];
    if let Ok(rd) = std::fs::read_dir("/usr/lib") {
        dirs.extend(rd.filter_map(Result::ok).map(|e| e.path()));
    }
    dirs.iter()
        .any(|d| d.join("ganesha/libfsalmem.so").is_file())
}

/// Whether missing installable prerequisites fail tests instead of
/// skipping them (`CI` set and not `false`/`0`, or `STATMON_TEST_STRICT=1`).
pub fn strict() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    ci || std::env::var("STATMON_TEST_STRICT").is_ok_and(|v| v == "1")
}

/// `true` if every need is met (run the test); otherwise the test is
/// skipped and recorded (see the module doc) and this returns `false`, or,
/// in strict mode with an installable need missing, it panics.
pub fn require(needs: &[Need]) -> bool {
    let missing: Vec<(Need, String)> = needs
        .iter()
        .filter_map(|n| n.missing().map(|why| (*n, why)))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = missing
        .iter()
        .map(|(_, why)| why.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if strict() && missing.iter().any(|(n, _)| n.installable()) {
        panic!(
            "prerequisite missing: {reason} (CI or STATMON_TEST_STRICT=1: .ci/test installs it, \
             so the test fails instead of skipping)"
        );
    }
    skip(&reason);
    false
}

/// Prints and logs the skip of the calling test.
fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed thread>")
        .to_string();
    // Straight to the process's stderr: libtest's capture (which hides
    // what passing tests print) only takes the print macros.
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {reason}");
    let line = format!("{}::{test}\t{reason}\n", env!("CARGO_CRATE_NAME"));
    let log = skip_log();
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!("skip log {}: {e}", log.display());
    }
}

/// `$STATMON_SKIP_LOG`, else `statmon-skips.log` in cargo's test tmpdir.
fn skip_log() -> PathBuf {
    std::env::var_os("STATMON_SKIP_LOG")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("statmon-skips.log"))
}
