//! The state directory, as rpc.statd and sm-notify both take it: `-P DIR`
//! (`--state-directory-path`) on the command line ([`from_flag`]),
//! `[statd] state-directory-path` in nfs.conf ([`from_conf`]), and its one
//! check before anything starts ([`check_state_dir`]).

use super::conf_reader::{expanded, STATD_SECTION as CONF_SECTION};
use super::sources::Sources;
use super::values::nonempty;
use getopts::Matches;
use std::path::{Path, PathBuf};

/// `-P DIR`, the last one; an empty one is an error (without the program's
/// name).
pub(super) fn from_flag(m: &Matches) -> Result<Option<PathBuf>, String> {
    Ok(nonempty(m, "P", "state directory path")?.map(PathBuf::from))
}

/// `[statd] state-directory-path`, which sm-notify reads too.
pub(super) fn from_conf(src: &Sources) -> Option<PathBuf> {
    expanded(src, CONF_SECTION, "state-directory-path").map(PathBuf::from)
}

/// Refuses a state directory that exists but is not a directory, naming
/// it (a missing one is left for the daemon or the store to report, with
/// what it was doing). A message to print on error.
pub fn check_state_dir(prog: &str, dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(format!(
            "{prog}: state directory {}: not a directory",
            dir.display()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_directory_that_is_a_file_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("state");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(
            check_state_dir("rpc.statd", &file),
            Err(format!(
                "rpc.statd: state directory {}: not a directory",
                file.display()
            ))
        );
        assert_eq!(check_state_dir("rpc.statd", tmp.path()), Ok(()));
        assert_eq!(
            check_state_dir("rpc.statd", &tmp.path().join("absent")),
            Ok(())
        );
    }
}
