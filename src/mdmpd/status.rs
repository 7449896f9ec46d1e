//! `mdmpd status`: connects to the running daemon's seqpacket socket and
//! reads the one packet it answers with (the engine's status table).

use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

/// Most bytes of an answer.
const MAX_ANSWER: usize = 1 << 20;

/// How long the daemon may take to answer.
const WAIT: Duration = Duration::from_secs(5);

/// The status text of the daemon listening on `socket`.
pub fn ask(socket: &Path) -> io::Result<String> {
    let s = Socket::new(Domain::UNIX, Type::SEQPACKET, None)?;
    s.set_read_timeout(Some(WAIT))?;
    s.connect(&SockAddr::unix(socket)?)?;
    let mut buf = vec![0u8; MAX_ANSWER];
    let n = (&s).read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_one_packet_a_listener_sends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mdmpd.sock");
        let l = Socket::new(Domain::UNIX, Type::SEQPACKET, None).unwrap();
        l.bind(&SockAddr::unix(&path).unwrap()).unwrap();
        l.listen(1).unwrap();
        let server = std::thread::spawn(move || {
            let (c, _) = l.accept().unwrap();
            c.send(b"md0 multipath\n").unwrap();
        });
        assert_eq!(ask(&path).unwrap(), "md0 multipath\n");
        server.join().unwrap();
        let err = ask(&dir.path().join("absent")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
