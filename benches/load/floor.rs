//! The floor: a do-nothing NSM responder on UDP and TCP that answers every
//! call with a canned success reply of the right shape for its procedure
//! (`sm_stat_res{stat_succ, 1}` for SM_STAT and SM_MON, `sm_stat{1}` for
//! SM_UNMON and SM_UNMON_ALL, void otherwise). It parses nothing but the
//! xid and the procedure number, so a load against it measures the client,
//! the kernel's loopback and the scheduler: the machine's limit.
//!
//! It runs on threads of the bench process (spawned after the caller moved
//! into the sandbox's network namespace) for the whole process lifetime.

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

/// Starts the responder on `addr` (UDP and TCP).
pub(crate) fn start(addr: SocketAddr) -> io::Result<()> {
    let udp = UdpSocket::bind(addr)?;
    let tcp = TcpListener::bind(addr)?;
    std::thread::Builder::new()
        .name("floor-udp".into())
        .spawn(move || serve_udp(&udp))?;
    std::thread::Builder::new()
        .name("floor-tcp".into())
        .spawn(move || {
            for conn in tcp.incoming().flatten() {
                let _ = std::thread::Builder::new()
                    .name("floor-conn".into())
                    .spawn(move || serve_tcp(conn));
            }
        })?;
    Ok(())
}

fn serve_udp(sock: &UdpSocket) {
    let canned = Canned::new();
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    loop {
        let Ok((len, from)) = sock.recv_from(&mut buf) else {
            continue;
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
