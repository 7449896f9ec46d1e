//! Unix-domain sockets bound to paths: stream and seqpacket listeners
//! (mio has no seqpacket type, so socket2 + `SourceFd` serve both) and
//! datagram sockets. A stale socket file at the path is removed first;
//! any other kind of file is left alone and the bind fails.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

/// The flavour of a Unix connection-oriented socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixKind {
    /// Byte stream: data arrives as [`Event::Stream`](super::Event::Stream).
    Stream,
    /// Packets with preserved boundaries:
    /// [`Event::Packet`](super::Event::Packet).
    Seqpacket,
}

/// Backlog of Unix listeners.
const BACKLOG: i32 = 128;

/// Removes a leftover socket file at `path` (from a previous run).
fn remove_stale(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A listening Unix socket of `kind` at `path`.
pub(crate) fn listen(path: &Path, kind: UnixKind) -> io::Result<Socket> {
    let ty = match kind {
        UnixKind::Stream => Type::STREAM,
        UnixKind::Seqpacket => Type::SEQPACKET,
    };
    remove_stale(path)?;
    let sock = Socket::new(Domain::UNIX, ty.nonblocking().cloexec(), None)?;
    sock.bind(&SockAddr::unix(path)?)?;
    sock.listen(BACKLOG)?;
    Ok(sock)
}

/// A Unix datagram socket bound at `path`.
pub(crate) fn dgram_bind(path: &Path) -> io::Result<mio::net::UnixDatagram> {
    remove_stale(path)?;
    mio::net::UnixDatagram::bind(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_socket_is_replaced_but_other_files_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sock");
        drop(listen(&path, UnixKind::Stream).expect("first bind"));
        listen(&path, UnixKind::Seqpacket).expect("rebind over a stale socket file");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"keep").expect("write");
        assert!(dgram_bind(&plain).is_err());
        assert_eq!(std::fs::read(&plain).expect("still there"), b"keep");
    }
}
