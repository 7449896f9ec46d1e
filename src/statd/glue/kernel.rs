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
//! - [`NLM_PORTS_DIR`]`/nlm_tcpport` and `nlm_udpport`: the ports lockd
//!   listens on. nfs-utils' rpc.statd writes them (`-T`, `-U`, nfs.conf
//!   `[lockd] port` and `udp-port`) at start, as root, before it drops
//!   privileges, so that firewalled servers can fix lockd's ports
//!   ([`set_nlm_ports`]).
//!
//! All these files exist only while the lockd module is loaded; their
//! absence is normal and reported as `Ok(false)`. Each write is one `write(2)` of the
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

/// The directory of lockd's port knobs `nlm_tcpport` and `nlm_udpport`.
pub const NLM_PORTS_DIR: &str = "/proc/sys/fs/nfs";

/// The ports to give lockd; `None` leaves that one as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NlmPorts {
    /// For `nlm_tcpport`.
    pub tcp: Option<u16>,
    /// For `nlm_udpport`.
    pub udp: Option<u16>,
}

/// Writes each port that is set to `dir/nlm_tcpport` and `dir/nlm_udpport`
/// (in decimal, no newline), as nfs-utils' `set_nlm_port` does: when a file
/// is absent, `load_lockd` is called once (nfs-utils runs `modprobe lockd`)
/// and the file tried again. Returns one message per port that could not
/// be set, naming the file; a missing lockd is one of them. Never creates
/// a file.
pub fn set_nlm_ports(dir: &Path, ports: NlmPorts, load_lockd: &mut dyn FnMut()) -> Vec<String> {
    let mut loaded = false;
    let mut failures = Vec::new();
    for (kind, port) in [("tcp", ports.tcp), ("udp", ports.udp)] {
        let Some(port) = port else { continue };
        let path = dir.join(format!("nlm_{kind}port"));
        let text = port.to_string();
        let mut written = write_existing(&path, text.as_bytes());
        if matches!(written, Ok(false)) && !loaded {
            loaded = true;
            load_lockd();
            written = write_existing(&path, text.as_bytes());
        }
        match written {
            Ok(true) => {}
            Ok(false) => failures.push(format!(
                "cannot set the NLM {kind} port to {port}: {} does not exist (is lockd loaded?)",
                path.display()
            )),
            Err(e) => failures.push(format!(
                "cannot set the NLM {kind} port to {port}: {}: {e}",
                path.display()
            )),
        }
    }
    failures
}

/// Loads the lockd module the way nfs-utils does (`modprobe lockd`); a
/// failure is left for the caller's retry to notice.
pub fn modprobe_lockd() {
    let status = std::process::Command::new("modprobe")
        .arg("lockd")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if let Err(e) = status {
        log::debug!("cannot run modprobe lockd: {e}");
    }
}

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
        assert_eq!(NLM_PORTS_DIR, "/proc/sys/fs/nfs");
    }

    fn knobs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in ["nlm_tcpport", "nlm_udpport"] {
            std::fs::write(dir.path().join(f), "0").unwrap();
        }
        dir
    }

    fn read(dir: &Path, f: &str) -> String {
        std::fs::read_to_string(dir.join(f)).unwrap()
    }

    #[test]
    fn nlm_ports_are_written_in_decimal() {
        let dir = knobs();
        let ports = NlmPorts {
            tcp: Some(4045),
            udp: Some(4046),
        };
        let mut loads = 0;
        assert!(set_nlm_ports(dir.path(), ports, &mut || loads += 1).is_empty());
        assert_eq!(read(dir.path(), "nlm_tcpport"), "4045");
        assert_eq!(read(dir.path(), "nlm_udpport"), "4046");
        assert_eq!(loads, 0);
    }

    #[test]
    fn unset_nlm_ports_are_left_alone() {
        let dir = knobs();
        let ports = NlmPorts {
            tcp: None,
            udp: Some(32768),
        };
        assert!(set_nlm_ports(dir.path(), ports, &mut || panic!("no load")).is_empty());
        assert_eq!(read(dir.path(), "nlm_tcpport"), "0");
        assert_eq!(read(dir.path(), "nlm_udpport"), "32768");
        let none = NlmPorts::default();
        assert!(set_nlm_ports(dir.path(), none, &mut || panic!("no load")).is_empty());
    }

    #[test]
    fn absent_knobs_load_lockd_once_then_retry() {
        let dir = tempfile::tempdir().unwrap();
        let ports = NlmPorts {
            tcp: Some(1),
            udp: Some(2),
        };
        let mut loads = 0;
        let failures = set_nlm_ports(dir.path(), ports, &mut || loads += 1);
        assert_eq!(loads, 1);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains(&format!("{}", dir.path().join("nlm_tcpport").display())));
        assert!(failures[1].contains("NLM udp port to 2"), "{failures:?}");
        assert!(!dir.path().join("nlm_tcpport").exists(), "never created");
        // A load that brings the knobs: both are written after it.
        let mut load = || {
            for f in ["nlm_tcpport", "nlm_udpport"] {
                std::fs::write(dir.path().join(f), "").unwrap();
            }
        };
        assert!(set_nlm_ports(dir.path(), ports, &mut load).is_empty());
        assert_eq!(read(dir.path(), "nlm_udpport"), "2");
    }

    #[test]
    fn unwritable_knob_is_a_failure_naming_it() {
        let dir = knobs();
        std::fs::remove_file(dir.path().join("nlm_tcpport")).unwrap();
        std::fs::create_dir(dir.path().join("nlm_tcpport")).unwrap();
        let ports = NlmPorts {
            tcp: Some(5),
            udp: Some(6),
        };
        let failures = set_nlm_ports(dir.path(), ports, &mut || {});
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("nlm_tcpport"), "{failures:?}");
        assert_eq!(read(dir.path(), "nlm_udpport"), "6");
    }
}
