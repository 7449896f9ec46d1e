//! The floor: a do-nothing NSM responder on UDP and TCP that answers every
//! call with a canned success reply of the right shape for its procedure
//! (`sm_stat_res{stat_succ, 1}` for SM_STAT and SM_MON, `sm_stat{1}` for
//! SM_UNMON and SM_UNMON_ALL, void otherwise). It parses nothing but the
//! xid and the procedure number, so a load against it measures the client,
//! the kernel's loopback and the scheduler: the machine's limit.
//!
//! It runs in a process of its own (the bench binary started again with
//! `--floor nsm ADDR`, [`crate::daemons::start_floor`]), like a daemon:
//! one thread on the UDP socket, one per TCP connection, nothing shared
//! with the load generator.

use statmon::proto::sm_inter::{Res, SmProc, SmStat, SmStatRes};
use statmon::rpc::message::{encode_reply, ReplyKind};
use statmon::rpc::{frame, RecordReader};
use statmon::xdr::Xdr;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};

/// Canned replies, xid 0, by procedure.
pub(crate) struct Canned {
    stat_res: Vec<u8>,
    stat: Vec<u8>,
    void: Vec<u8>,
}

impl Canned {
    pub(crate) fn new() -> Canned {
        let res = SmStatRes {
            res_stat: Res::STAT_SUCC,
            state: 1,
        }
        .to_xdr();
        let stat = SmStat { state: 1 }.to_xdr();
        Canned {
            stat_res: encode_reply(0, ReplyKind::Success(&res)),
            stat: encode_reply(0, ReplyKind::Success(&stat)),
            void: encode_reply(0, ReplyKind::Success(&[])),
        }
    }

    /// The reply to `call` in `out`; false if `call` is too short to answer.
    pub(crate) fn answer(&self, call: &[u8], out: &mut Vec<u8>) -> bool {
        let (Some(xid), Some(proc)) = (call.get(0..4), call.get(20..24)) else {
            return false;
        };
        let proc = u32::from_be_bytes([proc[0], proc[1], proc[2], proc[3]]);
        let canned = match SmProc(proc) {
            SmProc::STAT | SmProc::MON => &self.stat_res,
            SmProc::UNMON | SmProc::UNMON_ALL => &self.stat,
            _ => &self.void,
        };
        out.clear();
        out.extend_from_slice(canned);
        if let Some(head) = out.get_mut(0..4) {
            head.copy_from_slice(xid);
        }
        true
    }
}

/// Serves `addr` (UDP and TCP) for ever; returns only if a socket cannot
/// be opened.
pub(crate) fn serve(addr: SocketAddr) -> io::Error {
    let (udp, tcp) = match (UdpSocket::bind(addr), TcpListener::bind(addr)) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let acceptor = std::thread::Builder::new()
        .name("floor-tcp".into())
        .spawn(move || {
            for conn in tcp.incoming().flatten() {
                let _ = std::thread::Builder::new()
                    .name("floor-conn".into())
                    .spawn(move || serve_tcp(conn));
            }
        });
    if let Err(e) = acceptor {
        return e;
    }
    serve_udp(&udp);
    io::Error::other("UDP socket failed")
}

fn serve_udp(sock: &UdpSocket) {
    let canned = Canned::new();
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    loop {
        let (len, from) = match sock.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if canned.answer(buf.get(..len).unwrap_or(&[]), &mut out) {
            let _ = sock.send_to(&out, from);
        }
    }
}

fn serve_tcp(mut conn: TcpStream) {
    let canned = Canned::new();
    let _ = conn.set_nodelay(true);
    let mut reader = RecordReader::new(1 << 20);
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    let mut batch = Vec::new();
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        reader.push(buf.get(..n).unwrap_or(&[]));
        batch.clear();
        while let Some(Ok(rec)) = reader.poll_record() {
            if canned.answer(&rec, &mut out) {
                batch.extend_from_slice(&frame(&out));
            }
        }
        if conn.write_all(&batch).is_err() {
            return;
        }
    }
}
