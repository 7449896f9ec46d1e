//! systemd's readiness protocol (`Type=notify`): a daemon started with
//! `NOTIFY_SOCKET` in its environment stays in the foreground and, once it
//! serves, sends `READY=1` as one datagram to that socket (a path, or an
//! abstract name written with a leading `@`). See sd_notify(3).

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;

/// The variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Whether the service manager waits for [`ready`] (`NOTIFY_SOCKET` set
/// and not empty).
pub fn expected() -> bool {
    std::env::var_os(NOTIFY_SOCKET).is_some_and(|v| !v.is_empty())
}

/// Tells the service manager the daemon serves, with a one-line status.
/// `Ok(false)` when no manager asked ([`expected`] is false).
pub fn ready(status: &str) -> io::Result<bool> {
    let Some(socket) = std::env::var_os(NOTIFY_SOCKET).filter(|v| !v.is_empty()) else {
        return Ok(false);
    };
    let status = status.replace('\n', " ");
    send(&socket, format!("READY=1\nSTATUS={status}\n").as_bytes())?;
    Ok(true)
}

/// Sends `message` to the notification socket `socket`.
fn send(socket: &OsStr, message: &[u8]) -> io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    let bytes = socket.as_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(message, &addr)?;
    } else {
        sock.send_to(message, std::path::Path::new(socket))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), b"READY=1\n").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\n");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("statmon-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let abstract_listener = UnixDatagram::bind_addr(&addr).unwrap();
        send(OsStr::new(&format!("@{name}")), b"READY=1\nSTATUS=x\n").unwrap();
        let n = abstract_listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=x\n");
    }

    #[test]
    fn a_missing_socket_is_an_error_naming_nothing_sent() {
        let dir = tempfile::tempdir().unwrap();
        let err = send(dir.path().join("absent").as_os_str(), b"READY=1\n").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
