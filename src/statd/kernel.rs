//! The two kernel lockd knobs an NSM daemon writes.
//!
//! - [`NSM_LOCAL_STATE`]: our NSM state number, which the kernel's lockd
//!   sends in its own NSM calls. nfs-utils' `nsm_update_kernel_state`
//!   writes it as `%d` (no newline) when statd starts and when the state
//!   changes.
//! - [`NLM_END_GRACE`]: writing `Y` ends lockd's grace period early.
//!   nfs-utils' `sm-notify` does it when there is nobody to notify (unless
//!   `lift-grace=n`).
//!
//! Both files exist only while the lockd module is loaded; their absence is
//! normal and reported as `Ok(false)`. Each write is one `write(2)` of the
//! whole text: these are procfs files, where a partial write followed by
//! another at a later offset would not mean the same thing, so a short
//! write is an error.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// The kernel's copy of the local NSM state.
pub const NSM_LOCAL_STATE: &str = "/proc/sys/fs/nfs/nsm_local_state";

/// Writing `Y` here lifts lockd's grace period.
pub const NLM_END_GRACE: &str = "/proc/fs/lockd/nlm_end_grace";

/// Writes `state` to [`NSM_LOCAL_STATE`]; `Ok(false)` when the file is absent.
pub fn write_nsm_local_state(state: i32) -> io::Result<bool> {
    write_nsm_local_state_to(Path::new(NSM_LOCAL_STATE), state)
}

/// Writes `state` in decimal (as C's `%d`, no newline) to `path`, which must
/// already exist; `Ok(false)` when it does not.
pub fn write_nsm_local_state_to(path: &Path, state: i32) -> io::Result<bool> {
    write_existing(path, state.to_string().as_bytes())
}

/// Writes `Y` to [`NLM_END_GRACE`]; `Ok(false)` when the file is absent.
pub fn lift_grace() -> io::Result<bool> {
    lift_grace_at(Path::new(NLM_END_GRACE))
}

/// Writes `Y` to `path`, which must already exist; `Ok(false)` when it does
/// not.
pub fn lift_grace_at(path: &Path) -> io::Result<bool> {
    write_existing(path, b"Y")
}

/// Opens `path` write-only (never creating or truncating it) and writes
/// `text` with a single `write`.
fn write_existing(path: &Path, text: &[u8]) -> io::Result<bool> {
    let mut file = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let n = file.write(text)?;
    if n != text.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!(
                "short write to {}: {n} of {} bytes",
                path.display(),
                text.len()
            ),
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_written_in_decimal_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nsm_local_state");
        std::fs::write(&path, "").unwrap();
        assert!(write_nsm_local_state_to(&path, 17).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"17");
    }

    #[test]
    fn negative_state_is_written_as_signed_decimal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nsm_local_state");
        std::fs::write(&path, "").unwrap();
        assert!(write_nsm_local_state_to(&path, i32::MIN).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"-2147483648");
    }

    #[test]
    fn absent_state_file_is_false_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nsm_local_state");
        assert!(!write_nsm_local_state_to(&path, 3).unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn lift_grace_writes_y() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nlm_end_grace");
        std::fs::write(&path, "").unwrap();
        assert!(lift_grace_at(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"Y");
    }

    #[test]
    fn absent_grace_file_is_false_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lockd").join("nlm_end_grace");
        assert!(!lift_grace_at(&path).unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory cannot be opened for writing (EISDIR).
        assert!(lift_grace_at(dir.path()).is_err());
        assert!(write_nsm_local_state_to(dir.path(), 1).is_err());
    }

    #[test]
    fn real_paths_are_the_kernel_ones() {
        assert_eq!(NSM_LOCAL_STATE, "/proc/sys/fs/nfs/nsm_local_state");
        assert_eq!(NLM_END_GRACE, "/proc/fs/lockd/nlm_end_grace");
    }
}
