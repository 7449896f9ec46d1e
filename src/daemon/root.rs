//! The injectable root: when [`ROOT_ENV`] (`STATMON_ROOT`) is set, every
//! built-in absolute path a daemon uses (default state directories, pid
//! files, boot markers, `/etc/nfs.conf`, `/proc` knobs, the rpcbind
//! socket) is resolved under it, so that tests and trial runs can give a
//! daemon a whole private file system tree without a mount namespace.
//!
//! Paths a user names (on the command line or in a configuration file) are
//! taken as written. Two kinds of path are never moved: `/dev/null`, and
//! `/proc/<pid>` lookups of processes (they describe the running system,
//! not files the daemon keeps).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable naming the root.
pub const ROOT_ENV: &str = "STATMON_ROOT";

/// The root from the environment, read once (unset or empty: `/`).
fn root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        std::env::var_os(ROOT_ENV)
            .filter(|r| !r.is_empty())
            .map(PathBuf::from)
    })
    .as_deref()
}

/// The built-in path `path` as this process sees it: under the root when
/// one is set, else unchanged.
pub fn path(path: impl AsRef<Path>) -> PathBuf {
    under(root(), path.as_ref())
}

/// `path` under `root` (an absolute path loses its leading `/`; a relative
/// one is left alone).
pub fn under(root: Option<&Path>, path: &Path) -> PathBuf {
    match (root, path.strip_prefix("/")) {
        (Some(root), Ok(rest)) => root.join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_move_under_the_root_and_relative_ones_do_not() {
        let root = Path::new("/tmp/r");
        assert_eq!(
            under(Some(root), Path::new("/run/rpc.statd.pid")),
            Path::new("/tmp/r/run/rpc.statd.pid")
        );
        assert_eq!(under(Some(root), Path::new("sm")), Path::new("sm"));
        assert_eq!(
            under(None, Path::new("/var/lib/nfs")),
            Path::new("/var/lib/nfs")
        );
    }
}
