//! A fake remote host for reboot-notification tests: one UDP socket on
//! `ADDR:111` that is both the host's portmapper and its statd.
//!
//! PMAP v2 GETPORT and RPCB v3/v4 GETADDR for (100024, 1, udp) answer port
//! 111 (this socket); SM_NOTIFY is logged with its sender and answered
//! void. A silent peer logs what arrives and answers nothing.
//!
//! [`FakePeer::start`] must run on a thread inside the sandbox's network
//! namespace (after `Sandbox::enter_net`).

use statmon::proto::sm_inter::StatChge;
use statmon::rpc::message::{decode_call, encode_reply, CallDecode, ReplyKind};
use statmon::xdr::{Bounded, Xdr};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One datagram the peer got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// A portmapper query (version).
    Lookup { from: SocketAddr, vers: u32 },
    /// SM_NOTIFY{mon_name, state}.
    Notify {
        from: SocketAddr,
        mon_name: String,
        state: i32,
    },
}

/// The fake host.
pub struct FakePeer {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    answer: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakePeer {
    /// Starts a peer on `ip:111`; it answers if `answer`.
    pub fn start(ip: &str, answer: bool) -> FakePeer {
        let addr: SocketAddr = format!("{ip}:111").parse().expect("address");
        let sock = UdpSocket::bind(addr).expect("bind peer");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let got = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicBool::new(answer));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, a, s) = (got.clone(), answer.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 9000];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let CallDecode::Call(h) = decode_call(&buf[..n]) else {
                    continue;
                };
                let reply = match (h.prog, h.vers, h.proc) {
                    (100_000, 2, 3) => {
                        g.lock().unwrap().push(Got::Lookup { from, vers: 2 });
                        encode_reply(h.xid, ReplyKind::Success(&111u32.to_xdr()))
                    }
                    (100_000, v @ (3 | 4), 3) => {
                        g.lock().unwrap().push(Got::Lookup { from, vers: v });
                        let uaddr = format!("{}.0.111", addr.ip());
                        let body = Bounded::<1024>::new(uaddr.into_bytes()).unwrap().to_xdr();
                        encode_reply(h.xid, ReplyKind::Success(&body))
                    }
                    (100_024, 1, 6) => {
                        let Ok(args) = StatChge::from_xdr(h.args) else {
                            continue;
                        };
                        g.lock().unwrap().push(Got::Notify {
                            from,
                            mon_name: String::from_utf8_lossy(args.mon_name.as_bytes())
                                .into_owned(),
                            state: args.state,
                        });
                        encode_reply(h.xid, ReplyKind::Success(&[]))
                    }
                    _ => encode_reply(h.xid, ReplyKind::ProcUnavail),
                };
                if a.load(Ordering::Relaxed) {
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        FakePeer {
            addr,
            got,
            answer,
            stop,
            thread: Some(thread),
        }
    }

    /// The peer's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts or stops answering.
    pub fn set_answer(&self, answer: bool) {
        self.answer.store(answer, Ordering::Relaxed);
    }

    /// Everything received so far.
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// The SM_NOTIFYs received so far: (sender, mon_name, state).
    pub fn notices(&self) -> Vec<(SocketAddr, String, i32)> {
        self.got()
            .into_iter()
            .filter_map(|g| match g {
                Got::Notify {
                    from,
                    mon_name,
                    state,
                } => Some((from, mon_name, state)),
                Got::Lookup { .. } => None,
            })
            .collect()
    }

    /// Waits up to `timeout` for at least `n` SM_NOTIFYs.
    pub fn wait_notices(&self, n: usize, timeout: Duration) -> Vec<(SocketAddr, String, i32)> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.notices();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FakePeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
