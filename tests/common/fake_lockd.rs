//! A fake lock manager (NLM, program 100021) that takes statd's callbacks,
//! answers them the way a real lock manager would, and logs every call.
//!
//! Two styles:
//! - [`Style::Linux`], like the kernel's lockd: versions 1, 3 and 4, the
//!   callback is procedure 16 (`NLMPROC_NSM_NOTIFY`) in each, and a callback
//!   whose sender is not a loopback address with a source port below 1024
//!   gets SYSTEM_ERR (the kernel's `nlm_privileged_requester`).
//! - [`Style::Bsd`], like FreeBSD's and Apple's lock managers: version 0
//!   (`NLM_SM`), callback procedure 1 (`NLM_SM_NOTIFY`), no sender check.
//!
//! Procedure 0 answers void in every version. Another procedure gets
//! PROC_UNAVAIL, another version PROG_MISMATCH (with the style's range),
//! another program PROG_UNAVAIL, a callback whose `status` does not decode
//! GARBAGE_ARGS. Trailing bytes after the `status` are ignored, as XDR
//! decoders in kernels and libtirpc do.
//!
//! [`FakeLockd::start`] must run on a thread that is in the sandbox's network
//! namespace (after `Sandbox::enter_net`): it opens its sockets there, on
//! 127.0.0.1 with ephemeral UDP and TCP ports, and (unless told not to)
//! registers every version on both with the rpcbind at 127.0.0.1:111 by
//! PMAP v2 SET. Dropping it stops its threads and unsets the registrations.

use statmon::proto::nlm::{
    NLM4_VERS, NLMPROC_NSM_NOTIFY, NLM_PROG, NLM_SM, NLM_SM_NOTIFY, NLM_VERS, NLM_VERSX,
};
use statmon::proto::pmap::{
    Mapping, IPPROTO_TCP, IPPROTO_UDP, PMAPPROC_SET, PMAPPROC_UNSET, PMAP_PORT, PMAP_PROG,
    PMAP_VERS,
};
use statmon::proto::sm_inter::Status;
use statmon::rpc::message::{
    decode_call, decode_reply, encode_call, encode_reply, CallDecode, ReplyKind,
};
use statmon::rpc::{frame, Credential, RecordReader, Transport};
use statmon::xdr::{Reader, Xdr};
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the serving threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Largest TCP record taken; a longer one closes the connection.
const MAX_RECORD: usize = 1 << 16;

/// Which lock manager to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Linux kernel lockd: versions 1, 3, 4; callback procedure 16; callers
    /// must be loopback with a reserved source port.
    Linux,
    /// BSD/Apple rpc.lockd: version 0; callback procedure 1; any caller.
    Bsd,
}

impl Style {
    /// The NLM versions served (and registered), ascending.
    pub fn versions(self) -> &'static [u32] {
        match self {
            Style::Linux => &[NLM_VERS, NLM_VERSX, NLM4_VERS],
            Style::Bsd => &[NLM_SM],
        }
    }

    /// The callback procedure number.
    pub fn notify_proc(self) -> u32 {
        match self {
            Style::Linux => NLMPROC_NSM_NOTIFY,
            Style::Bsd => NLM_SM_NOTIFY,
        }
    }
}

/// Knobs for [`FakeLockd::start`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Leave this many calls (the first ones, any procedure) unanswered, so
    /// callers have to retransmit. They are still logged.
    pub ignore_first: usize,
    /// Register with rpcbind at start (panicking if that fails).
    pub register: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ignore_first: 0,
            register: true,
        }
    }
}

/// What a call was answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// SUCCESS with a void result.
    Void,
    /// Nothing ([`Options::ignore_first`]).
    Ignored,
    /// SYSTEM_ERR: a Linux-style callback from an unprivileged sender.
    SystemErr,
    /// GARBAGE_ARGS: the callback's `status` did not decode.
    GarbageArgs,
    /// PROC_UNAVAIL.
    ProcUnavail,
    /// PROG_UNAVAIL: not program 100021.
    ProgUnavail,
    /// PROG_MISMATCH with the style's version range.
    ProgMismatch { low: u32, high: u32 },
}

/// One logged call.
#[derive(Debug, Clone)]
pub struct Callback {
    /// Source address and port.
    pub from: SocketAddr,
    /// UDP or TCP.
    pub transport: Transport,
    pub xid: u32,
    pub prog: u32,
    pub vers: u32,
    pub proc: u32,
    pub cred: Credential,
    /// Everything after the verifier.
    pub args: Vec<u8>,
    /// The decoded `status`, for the callback procedure of a served version
    /// whose arguments decode; otherwise `None` and see `args`.
    pub status: Option<Status>,
    pub answer: Answer,
    /// When it arrived.
    pub at: Instant,
}

impl Callback {
    /// Whether the sender is loopback with a source port below 1024.
    pub fn privileged(&self) -> bool {
        privileged(self.from)
    }
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} from {} xid {:#x} prog {} vers {} proc {} ",
            self.transport, self.from, self.xid, self.prog, self.vers, self.proc
        )?;
        match &self.status {
            Some(st) => write!(
                f,
                "status{{mon_name={:?}, state={}, priv={}}}",
                st.mon_name.to_string_lossy(),
                st.state,
                hex(&st.cookie.0)
            )?,
            None => write!(f, "args={}", hex(&self.args))?,
        }
        write!(f, " -> {:?}", self.answer)
    }
}

/// A message that was not a usable call.
#[derive(Debug, Clone)]
pub struct Junk {
    pub from: SocketAddr,
    pub transport: Transport,
    pub bytes: Vec<u8>,
    /// "dropped: ..." (no reply) or "denied: ..." (AUTH_ERROR sent).
    pub why: String,
}

/// The ports served on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub udp: u16,
    pub tcp: u16,
}

/// A running fake lock manager; see the module documentation.
pub struct FakeLockd {
    shared: Arc<Shared>,
    ports: Ports,
    threads: Vec<JoinHandle<()>>,
    /// Socket for PMAP SET/UNSET, opened in the sandbox namespace at start.
    pmap: UdpSocket,
    xid: AtomicU32,
    registered: bool,
}

struct Shared {
    style: Style,
    ignore_first: usize,
    stop: AtomicBool,
    log: Mutex<Log>,
    changed: Condvar,
}

#[derive(Default)]
struct Log {
    calls: Vec<Callback>,
    junk: Vec<Junk>,
}

impl FakeLockd {
    /// Opens the sockets (in the calling thread's network namespace), starts
    /// serving and, if `opts.register`, registers with rpcbind.
    pub fn start(style: Style, opts: Options) -> FakeLockd {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let udp = UdpSocket::bind(loopback).expect("fake lockd udp socket");
        udp.set_read_timeout(Some(POLL)).expect("udp timeout");
        let tcp = TcpListener::bind(loopback).expect("fake lockd tcp socket");
        tcp.set_nonblocking(true).expect("nonblocking listener");
        let pmap = UdpSocket::bind(loopback).expect("pmap socket");
        pmap.set_read_timeout(Some(Duration::from_secs(1)))
            .expect("pmap timeout");
        let ports = Ports {
            udp: udp.local_addr().expect("udp addr").port(),
            tcp: tcp.local_addr().expect("tcp addr").port(),
        };
        let shared = Arc::new(Shared {
            style,
            ignore_first: opts.ignore_first,
            stop: AtomicBool::new(false),
            log: Mutex::new(Log::default()),
            changed: Condvar::new(),
        });
        let threads = vec![
            {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve_udp(&shared, &udp))
            },
            {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve_tcp_listener(&shared, &tcp))
            },
        ];
        let mut lockd = FakeLockd {
            shared,
            ports,
            threads,
            pmap,
            xid: AtomicU32::new(0x4c4b_0000),
            registered: false,
        };
        if opts.register {
            if let Err(e) = lockd.register() {
                panic!("fake lockd: {e}");
            }
        }
        lockd
    }

    pub fn style(&self) -> Style {
        self.shared.style
    }

    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Callback> {
        self.shared.log.lock().expect("log").calls.clone()
    }

    /// Every message that was not a usable call.
    pub fn junk(&self) -> Vec<Junk> {
        self.shared.log.lock().expect("log").junk.clone()
    }

    /// Waits until at least `n` calls came or `timeout` passed, then returns
    /// all calls so far (check the length).
    pub fn wait_calls(&self, n: usize, timeout: Duration) -> Vec<Callback> {
        let deadline = Instant::now() + timeout;
        let mut log = self.shared.log.lock().expect("log");
        while log.calls.len() < n {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            log = self
                .shared
                .changed
                .wait_timeout(log, deadline - now)
                .expect("log")
                .0;
        }
        log.calls.clone()
    }

    /// PMAP v2 SET of every version on UDP and TCP.
    pub fn register(&mut self) -> Result<(), String> {
        self.register_on(&[IPPROTO_UDP, IPPROTO_TCP])
    }

    /// PMAP v2 SET of every version on the given protocols only
    /// (`IPPROTO_UDP`, `IPPROTO_TCP`): a lock manager reachable over one
    /// transport.
    pub fn register_on(&mut self, prots: &[u32]) -> Result<(), String> {
        for &vers in self.shared.style.versions() {
            for (prot, port) in [(IPPROTO_UDP, self.ports.udp), (IPPROTO_TCP, self.ports.tcp)] {
                if !prots.contains(&prot) {
                    continue;
                }
                let m = Mapping {
                    prog: NLM_PROG,
                    vers,
                    prot,
                    port: u32::from(port),
                };
                if !self.pmap_call(PMAPPROC_SET, m)? {
                    return Err(format!("rpcbind refused PMAP SET {m:?}"));
                }
            }
        }
        self.registered = true;
        Ok(())
    }

    /// PMAP v2 UNSET of every version (both transports go at once).
    pub fn unregister(&mut self) -> Result<(), String> {
        self.registered = false;
        for &vers in self.shared.style.versions() {
            let m = Mapping {
                prog: NLM_PROG,
                vers,
                prot: 0,
                port: 0,
            };
            if !self.pmap_call(PMAPPROC_UNSET, m)? {
                return Err(format!("rpcbind refused PMAP UNSET {m:?}"));
            }
        }
        Ok(())
    }

    /// One PMAP call to 127.0.0.1:111 with a boolean result (3 tries, 1 s
    /// each).
    fn pmap_call(&self, proc: u32, m: Mapping) -> Result<bool, String> {
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, PMAP_PORT));
        let xid = self.xid.fetch_add(1, Ordering::Relaxed);
        let msg = encode_call(
            xid,
            PMAP_PROG,
            PMAP_VERS,
            proc,
            &Credential::None,
            &m.to_xdr(),
        );
        let mut buf = [0u8; 512];
        for _ in 0..3 {
            self.pmap
                .send_to(&msg, to)
                .map_err(|e| format!("PMAP call to {to}: {e}"))?;
            let deadline = Instant::now() + Duration::from_secs(1);
            while Instant::now() < deadline {
                let Ok((n, _)) = self.pmap.recv_from(&mut buf) else {
                    break;
                };
                match decode_reply(&buf[..n]) {
                    Ok((x, ReplyKind::Success(res))) if x == xid => {
                        return Reader::new(res)
                            .bool()
                            .map_err(|e| format!("PMAP reply: {e:?}"));
                    }
                    Ok((x, other)) if x == xid => {
                        return Err(format!("PMAP call {proc} answered {other:?}"));
                    }
                    _ => {}
                }
            }
        }
        Err(format!("no rpcbind answered PMAP call {proc} on {to}"))
    }
}

impl Drop for FakeLockd {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if self.registered {
            let _ = self.unregister();
        }
    }
}

fn serve_udp(shared: &Shared, udp: &UdpSocket) {
    let mut buf = vec![0u8; 65536];
    while !shared.stop.load(Ordering::Relaxed) {
        // Errors (timeouts, ICMP-reported refusals) just mean: look again.
        if let Ok((n, from)) = udp.recv_from(&mut buf) {
            if let Some(reply) = shared.handle(from, Transport::Udp, &buf[..n]) {
                let _ = udp.send_to(&reply, from);
            }
        }
    }
}

fn serve_tcp_listener(shared: &Arc<Shared>, listener: &TcpListener) {
    let mut conns = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, from)) => {
                let shared = Arc::clone(shared);
                conns.push(std::thread::spawn(move || {
                    serve_tcp(&shared, stream, from);
                }));
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
    for c in conns {
        let _ = c.join();
    }
}

fn serve_tcp(shared: &Shared, mut stream: TcpStream, from: SocketAddr) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut records = RecordReader::new(MAX_RECORD);
    let mut buf = [0u8; 8192];
    while !shared.stop.load(Ordering::Relaxed) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => records.push(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        while let Some(record) = records.poll_record() {
            let Ok(msg) = record else {
                return;
            };
            if let Some(reply) = shared.handle(from, Transport::Tcp, &msg) {
                if stream.write_all(&frame(&reply)).is_err() {
                    return;
                }
            }
        }
    }
}

impl Shared {
    /// Logs one message and returns the reply to send, if any.
    fn handle(&self, from: SocketAddr, transport: Transport, msg: &[u8]) -> Option<Vec<u8>> {
        let h = match decode_call(msg) {
            CallDecode::Call(h) => h,
            CallDecode::Denied { xid, why } => {
                self.log_junk(from, transport, msg, format!("denied: {why:?}"));
                return Some(encode_reply(xid, ReplyKind::AuthError(why)));
            }
            CallDecode::Drop(why) => {
                self.log_junk(from, transport, msg, format!("dropped: {why:?}"));
                return None;
            }
        };
        let style = self.style;
        let is_callback = h.prog == NLM_PROG
            && style.versions().contains(&h.vers)
            && h.proc == style.notify_proc();
        let status = if is_callback {
            Status::decode(&mut Reader::new(h.args)).ok()
        } else {
            None
        };
        let verdict = self.verdict(from, h.prog, h.vers, h.proc, is_callback, status.is_some());
        let mut log = self.log.lock().expect("log");
        let answer = if log.calls.len() < self.ignore_first {
            Answer::Ignored
        } else {
            verdict
        };
        log.calls.push(Callback {
            from,
            transport,
            xid: h.xid,
            prog: h.prog,
            vers: h.vers,
            proc: h.proc,
            cred: h.cred.clone(),
            args: h.args.to_vec(),
            status,
            answer,
            at: Instant::now(),
        });
        self.changed.notify_all();
        let kind = match answer {
            Answer::Void => ReplyKind::Success(&[]),
            Answer::Ignored => return None,
            Answer::SystemErr => ReplyKind::SystemErr,
            Answer::GarbageArgs => ReplyKind::GarbageArgs,
            Answer::ProcUnavail => ReplyKind::ProcUnavail,
            Answer::ProgUnavail => ReplyKind::ProgUnavail,
            Answer::ProgMismatch { low, high } => ReplyKind::ProgMismatch { low, high },
        };
        Some(encode_reply(h.xid, kind))
    }

    /// The answer the imitated lock manager gives. As in the kernel, the
    /// arguments are decoded before the sender is checked.
    fn verdict(
        &self,
        from: SocketAddr,
        prog: u32,
        vers: u32,
        proc: u32,
        is_callback: bool,
        decoded: bool,
    ) -> Answer {
        let versions = self.style.versions();
        if prog != NLM_PROG {
            Answer::ProgUnavail
        } else if !versions.contains(&vers) {
            Answer::ProgMismatch {
                low: versions[0],
                high: versions[versions.len() - 1],
            }
        } else if proc == 0 {
            Answer::Void
        } else if !is_callback {
            Answer::ProcUnavail
        } else if !decoded {
            Answer::GarbageArgs
        } else if self.style == Style::Linux && !privileged(from) {
            Answer::SystemErr
        } else {
            Answer::Void
        }
    }

    fn log_junk(&self, from: SocketAddr, transport: Transport, bytes: &[u8], why: String) {
        let mut log = self.log.lock().expect("log");
        log.junk.push(Junk {
            from,
            transport,
            bytes: bytes.to_vec(),
            why,
        });
        self.changed.notify_all();
    }
}

/// Loopback (127/8, ::1, or IPv4-mapped 127/8) and a source port below 1024.
fn privileged(addr: SocketAddr) -> bool {
    let loopback = match addr.ip() {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    loopback && addr.port() < 1024
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
