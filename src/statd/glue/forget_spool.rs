//! The spool of `--forget`/`-N` requests for a running daemon: `rpc.statd
//! -N host` appends the host and sends `SIGUSR2`; the daemon (or a running
//! notifier) takes the requests and clears each host's needs-notification
//! status. It lives in the store's private directory
//! ([`super::startup::private_dir`], which the daemon can still write
//! after dropping root), one host per line, escaped as in
//! [`progress::escape_host`].

use crate::daemon::spool;
use crate::statd::notify::progress;
use std::io;
use std::path::Path;

/// The spool's file name.
pub const FORGET_FILE: &str = ".statmon-forget";

/// Appends a request to forget `name` (durable when this returns).
pub fn append_forget_request(dir: &Path, name: &[u8]) -> io::Result<()> {
    spool::append(dir, FORGET_FILE, progress::escape_host(name).as_bytes())
}

/// Takes the requests waiting in `dir`: the hosts, oldest first. Lines
/// that are not escaped host names are skipped (logged).
pub fn take_forget_requests(dir: &Path) -> io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for (number, line) in spool::take(dir, FORGET_FILE)? {
        match progress::unescape_host(&line) {
            Some(host) => out.push(host),
            None => log::warn!(
                "{}: line {number} is not a host name",
                dir.join(FORGET_FILE).display()
            ),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn forget_spool_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        assert!(take_forget_requests(d).unwrap().is_empty());
        append_forget_request(d, b"hostb").unwrap();
        append_forget_request(d, b"odd name\\").unwrap();
        // A reader that died after the rename left this.
        fs::write(d.join(".statmon-forget.taking"), b"older\nbad\\q\n\n").unwrap();
        assert_eq!(
            take_forget_requests(d).unwrap(),
            vec![b"older".to_vec(), b"hostb".to_vec(), b"odd name\\".to_vec()]
        );
        assert!(!d.join(FORGET_FILE).exists());
        assert!(take_forget_requests(d).unwrap().is_empty());
    }
}
