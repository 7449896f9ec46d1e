//! Shared helpers for the daemon integration tests.
#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

pub mod cbuild;
pub mod daemon;
pub mod fake_lockd;
pub mod fake_peer;
pub mod lab;
pub mod layout;
pub mod nlmclient;
pub mod nsmraw;
pub mod prereq;
pub mod sandbox;
pub mod smclient;
pub mod vectors;
pub mod wire;

use std::process::Command;

/// The statmon binary under test.
pub const STATMON: &str = env!("CARGO_BIN_EXE_statmon");

/// `statmon rpc.statd ARGS` as a command run inside `sb` (for a daemon
/// with the test defaults, see [`daemon::statd`]).
pub fn statd_command(sb: &sandbox::Sandbox, args: &[&str]) -> Command {
    let mut c = sb.command(STATMON);
    c.arg("rpc.statd").args(args);
    c
}

/// Text of `rpcinfo ARGS` run inside `sb` (stdout and stderr).
pub fn rpcinfo(sb: &sandbox::Sandbox, args: &[&str]) -> String {
    let out = sb.run("rpcinfo", args);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts `rpcbind -f` inside `sb` and waits (up to 10 s) until it answers;
/// returns its pid.
pub fn start_rpcbind(sb: &mut sandbox::Sandbox) -> u32 {
    let mut cmd = sb.command("rpcbind");
    cmd.arg("-f");
    let pid = sb.spawn(cmd, "rpcbind.log");
    assert!(
        sb.wait_until(10, || rpcinfo(sb, &["-p"]).contains("111  portmapper")),
        "rpcbind did not start: {}",
        sb.log("rpcbind.log")
    );
    pid
}

/// Whether `rpcinfo` (rpcbind v4 dump) lists 100024 v1 on all four netids.
pub fn nsm_registered_everywhere(dump: &str) -> bool {
    ["udp", "tcp", "udp6", "tcp6"].iter().all(|netid| {
        dump.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 3 && f[0] == "100024" && f[1] == "1" && f[2] == *netid
        })
    })
}

/// A raw NSM/RPC client for tests: call bytes built with the library's own
/// encoder, sent over UDP or TCP from the calling thread's namespace.
pub mod raw {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream, UdpSocket};
    use std::time::Duration;

    pub use statmon::rpc::message::{decode_reply, encode_call, ReplyKind};
    pub use statmon::rpc::Credential;

    /// One UDP exchange; `None` if no reply came within `wait`.
    pub fn udp(to: SocketAddr, msg: &[u8], wait: Duration) -> Option<Vec<u8>> {
        let bind: SocketAddr = if to.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        }
        .parse()
        .unwrap();
        let s = UdpSocket::bind(bind).unwrap();
        s.set_read_timeout(Some(wait)).unwrap();
        s.send_to(msg, to).unwrap();
        let mut buf = vec![0u8; 65536];
        let (n, _) = s.recv_from(&mut buf).ok()?;
        buf.truncate(n);
        Some(buf)
    }

    /// A null call (procedure 0) to 100024 v1.
    pub fn nsm_null(xid: u32) -> Vec<u8> {
        encode_call(xid, 100024, 1, 0, &Credential::None, &[])
    }

    /// Writes `bytes` on a fresh TCP connection, then reads one record-marked
    /// reply (`Ok(None)` if the server closed the connection first).
    pub fn tcp(to: SocketAddr, bytes: &[u8], wait: Duration) -> std::io::Result<Option<Vec<u8>>> {
        let mut s = TcpStream::connect_timeout(&to, wait)?;
        s.set_read_timeout(Some(wait))?;
        s.write_all(bytes)?;
        let mut mark = [0u8; 4];
        match s.read_exact(&mut mark) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        }
        let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
        let mut body = vec![0u8; len.min(1 << 20)];
        s.read_exact(&mut body)?;
        Ok(Some(body))
    }

    /// One record-marked fragment.
    pub fn fragment(body: &[u8], last: bool) -> Vec<u8> {
        let mut v = ((body.len() as u32) | if last { 0x8000_0000 } else { 0 })
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(body);
        v
    }
}
