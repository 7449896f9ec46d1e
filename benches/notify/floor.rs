//! The minimal notifier: the floor of a reboot notification. It reads the
//! peers' names from `DIR/sm` (each record is named by its peer's IPv4
//! address) and, with at most [`WINDOW`] peers in flight, sends each a PMAP
//! GETPORT for NSM v1 over UDP and then an SM_NOTIFY to the port it
//! answers; it exits 0 once every peer has answered its SM_NOTIFY. Nothing
//! else: no record is parsed or removed, nothing is written or synced, no
//! name is resolved. It runs in a process of its own (the bench binary
//! started again with `--floor DIR`), like the daemons it is set beside.

use statmon::rpc::message::{decode_reply, encode_call, ReplyKind};
use statmon::rpc::program::Credential;
use statmon::xdr::Xdr;
use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

/// Peers in flight at once: statmon's default `--notify-window`.
const WINDOW: usize = 1024;
/// The receive buffer asked for (bytes).
const RCVBUF: usize = 4 << 20;
/// A call unanswered this long is sent again.
const RESEND: Duration = Duration::from_millis(500);
/// The name and state the notifier announces (as the bench's records).
const MY_NAME: &[u8] = b"benchhost";
const MY_STATE: u32 = 3;

/// Where one peer is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Waiting,
    GetPort,
    Notify(u16),
    Done,
}

/// Notifies every peer named in `dir/sm`; returns when all have answered.
pub(crate) fn notify_all(dir: &Path) -> io::Result<usize> {
    let mut peers: Vec<Ipv4Addr> = Vec::new();
    for e in std::fs::read_dir(dir.join("sm"))? {
        if let Some(ip) = e?.file_name().to_str().and_then(|n| n.parse().ok()) {
            peers.push(ip);
        }
    }
    let sock = UdpSocket::bind("0.0.0.0:0")?;
    // Room for a window of replies, as statmon asks for its own socket.
    if rustix::net::sockopt::set_socket_recv_buffer_size_force(&sock, RCVBUF).is_err() {
        rustix::net::sockopt::set_socket_recv_buffer_size(&sock, RCVBUF)?;
    }
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut stage = vec![Stage::Waiting; peers.len()];
    let mut sent_at = vec![Instant::now(); peers.len()];
    let mut queue: VecDeque<usize> = (0..peers.len()).collect();
    let mut in_flight = 0usize;
    let mut done = 0usize;
    let mut buf = vec![0u8; 9000];
    let getport_args = [100_024u32, 1, 17, 0]
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .collect::<Vec<u8>>();
    let mut notify_args = (MY_NAME.len() as u32).to_be_bytes().to_vec();
    notify_args.extend_from_slice(MY_NAME);
    notify_args.resize(notify_args.len().div_ceil(4) * 4, 0);
    notify_args.extend_from_slice(&MY_STATE.to_be_bytes());
    let send = |i: usize, st: Stage| -> io::Result<()> {
        // The xid names the peer and the stage: 2i for GETPORT, 2i+1 for
        // SM_NOTIFY.
        let (xid, to, prog, vers, proc, args) = match st {
            Stage::Notify(port) => (
                2 * i as u32 + 1,
                SocketAddr::from((peers[i], port)),
                100_024,
                1,
                6,
                &notify_args,
            ),
            _ => (
                2 * i as u32,
                SocketAddr::from((peers[i], 111)),
                100_000,
                2,
                3,
                &getport_args,
            ),
        };
        let call = encode_call(xid, prog, vers, proc, &Credential::None, args);
        sock.send_to(&call, to).map(|_| ())
    };
    while done < peers.len() {
        while in_flight < WINDOW {
            let Some(i) = queue.pop_front() else { break };
            stage[i] = Stage::GetPort;
            sent_at[i] = Instant::now();
            send(i, Stage::GetPort)?;
            in_flight += 1;
        }
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let Some((xid, body)) = reply_of(buf.get(..n).unwrap_or(&[])) else {
                    continue;
                };
                let i = (xid / 2) as usize;
                match (stage.get(i).copied(), xid % 2) {
                    (Some(Stage::GetPort), 0) => {
                        let port = u32::from_xdr(body).ok().and_then(|p| u16::try_from(p).ok());
                        if let Some(port) = port.filter(|p| *p != 0) {
                            stage[i] = Stage::Notify(port);
                            sent_at[i] = Instant::now();
                            send(i, stage[i])?;
                        }
                    }
                    (Some(Stage::Notify(_)), 1) => {
                        stage[i] = Stage::Done;
                        in_flight -= 1;
                        done += 1;
                    }
                    _ => {}
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let now = Instant::now();
                for i in 0..peers.len() {
                    let st = stage[i];
                    if matches!(st, Stage::GetPort | Stage::Notify(_))
                        && now.duration_since(sent_at[i]) >= RESEND
                    {
                        sent_at[i] = now;
                        send(i, st)?;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The xid and result body of an accepted, successful reply.
fn reply_of(msg: &[u8]) -> Option<(u32, &[u8])> {
    match decode_reply(msg) {
        Ok((xid, ReplyKind::Success(body))) => Some((xid, body)),
        _ => None,
    }
}
