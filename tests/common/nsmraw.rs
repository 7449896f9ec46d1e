//! Raw NSM calls for the robustness tests: call bytes built with the
//! library's own encoder (`statmon::rpc::message::encode_call`) and the
//! `statmon::proto::sm_inter` types, replies decoded with `decode_reply`,
//! plus helpers to wait for statmon's rpc.statd to answer (it is started
//! by `common::daemon`) and look at its process (`/proc/PID/status`) and
//! store.
//!
//! Names longer than `SM_MAXSTRLEN` cannot be held by the typed
//! `SmString`; [`xdr_string`] encodes any bytes as an XDR string so tests
//! can send them anyway.
//!
//! Every socket here is opened by the calling thread, which must already be
//! in the sandbox's network namespace (`Sandbox::enter_net`).

use statmon::proto::sm_inter::{Mon, MonId, MyId, SmName, SmStat, SmStatRes, StatChge};
use statmon::rpc::message::{decode_reply, encode_call, ReplyKind};
use statmon::rpc::Credential;
use statmon::xdr::{Bounded, FixedOpaque, Xdr};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// NSM procedure numbers.
pub const NULL: u32 = 0;
pub const STAT: u32 = 1;
pub const MON: u32 = 2;
pub const UNMON: u32 = 3;
pub const UNMON_ALL: u32 = 4;
pub const SIMU_CRASH: u32 = 5;
pub const NOTIFY: u32 = 6;

/// A callback the daemon accepts: NLM v4 procedure 16 (Linux).
pub const NLM: (i32, i32, i32) = (100_021, 4, 16);

/// A whole NSM call message.
pub fn call(xid: u32, proc: u32, args: &[u8]) -> Vec<u8> {
    encode_call(xid, 100_024, 1, proc, &Credential::None, args)
}

/// `my_id` for `my_name` and the callback `cb`.
pub fn my_id(my_name: &[u8], cb: (i32, i32, i32)) -> MyId {
    MyId {
        my_name: Bounded::new(my_name.to_vec()).expect("my_name fits"),
        my_prog: cb.0,
        my_vers: cb.1,
        my_proc: cb.2,
    }
}

/// SM_MON arguments (names of at most 1024 bytes).
pub fn mon_args(mon_name: &[u8], my_name: &[u8], cb: (i32, i32, i32), cookie: [u8; 16]) -> Vec<u8> {
    Mon {
        mon_id: MonId {
            mon_name: Bounded::new(mon_name.to_vec()).expect("mon_name fits"),
            my_id: my_id(my_name, cb),
        },
        cookie: FixedOpaque(cookie),
    }
    .to_xdr()
}

/// SM_UNMON arguments.
pub fn unmon_args(mon_name: &[u8], my_name: &[u8], cb: (i32, i32, i32)) -> Vec<u8> {
    MonId {
        mon_name: Bounded::new(mon_name.to_vec()).expect("mon_name fits"),
        my_id: my_id(my_name, cb),
    }
    .to_xdr()
}

/// SM_UNMON_ALL arguments.
pub fn unmon_all_args(my_name: &[u8], cb: (i32, i32, i32)) -> Vec<u8> {
    my_id(my_name, cb).to_xdr()
}

/// SM_STAT arguments.
pub fn stat_args(name: &[u8]) -> Vec<u8> {
    SmName {
        mon_name: Bounded::new(name.to_vec()).expect("name fits"),
    }
    .to_xdr()
}

/// SM_NOTIFY arguments.
pub fn notify_args(name: &[u8], state: i32) -> Vec<u8> {
    StatChge {
        mon_name: Bounded::new(name.to_vec()).expect("name fits"),
        state,
    }
    .to_xdr()
}

/// Any bytes as an XDR `string` (length, bytes, zero padding), whatever
/// their length.
pub fn xdr_string(bytes: &[u8]) -> Vec<u8> {
    let mut v = (bytes.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(bytes);
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v
}

/// SM_MON arguments built by hand, for names the typed encoder refuses.
pub fn raw_mon_args(mon_name: &[u8], my_name: &[u8], cb: (i32, i32, i32)) -> Vec<u8> {
    let mut v = xdr_string(mon_name);
    v.extend(xdr_string(my_name));
    for n in [cb.0, cb.1, cb.2] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.extend_from_slice(&[0x5a; 16]);
    v
}

/// What a reply said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `sm_stat_res` (SM_STAT, SM_MON).
    StatRes { res: i32, state: i32 },
    /// `sm_stat` (SM_UNMON, SM_UNMON_ALL).
    State(i32),
    /// An empty success (SM_NULL, SM_SIMU_CRASH, SM_NOTIFY).
    Void,
    /// Anything else (an RPC error, undecodable results), described.
    Other(String),
}

/// Decodes the reply to a call of `proc`; `None` if it is not a reply.
pub fn decode(proc: u32, msg: &[u8]) -> Option<(u32, Answer)> {
    let (xid, kind) = decode_reply(msg).ok()?;
    let answer = match kind {
        ReplyKind::Success(body) => match proc {
            STAT | MON => match SmStatRes::from_xdr(body) {
                Ok(r) => Answer::StatRes {
                    res: r.res_stat.0,
                    state: r.state,
                },
                Err(e) => Answer::Other(format!("bad sm_stat_res: {e:?}")),
            },
            UNMON | UNMON_ALL => match SmStat::from_xdr(body) {
                Ok(s) => Answer::State(s.state),
                Err(e) => Answer::Other(format!("bad sm_stat: {e:?}")),
            },
            _ if body.is_empty() => Answer::Void,
            _ => Answer::Other(format!("{} result bytes", body.len())),
        },
        other => Answer::Other(format!("{other:?}")),
    };
    Some((xid, answer))
}

/// A UDP socket bound to `from` (port 0 for any).
pub fn udp_from(from: &str) -> UdpSocket {
    let s = UdpSocket::bind(from).unwrap_or_else(|e| panic!("bind {from}: {e}"));
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    s
}

/// One call over UDP from `sock`; waits up to `wait` for the reply with the
/// same xid (others are dropped). `None` if none came.
pub fn udp_call(
    sock: &UdpSocket,
    to: SocketAddr,
    xid: u32,
    proc: u32,
    args: &[u8],
    wait: Duration,
) -> Option<Answer> {
    sock.send_to(&call(xid, proc, args), to).ok()?;
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65536];
    while Instant::now() < deadline {
        let Ok((n, _)) = sock.recv_from(&mut buf) else {
            continue;
        };
        if let Some((x, a)) = decode(proc, &buf[..n]) {
            if x == xid {
                return Some(a);
            }
        }
    }
    None
}

/// One call over UDP from 127.0.0.1 (any port); see [`udp_call`].
pub fn local_call(to: SocketAddr, xid: u32, proc: u32, args: &[u8]) -> Option<Answer> {
    let s = udp_from("127.0.0.1:0");
    udp_call(&s, to, xid, proc, args, Duration::from_secs(3))
}

/// One record-marked call on a fresh TCP connection; `None` if no reply.
pub fn tcp_call(to: SocketAddr, xid: u32, proc: u32, args: &[u8]) -> Option<Answer> {
    let s = TcpStream::connect_timeout(&to, Duration::from_secs(3)).ok()?;
    tcp_exchange(s, xid, proc, args)
}

/// As [`tcp_call`], from a reserved port on 127.0.0.1, as the kernel's
/// lockd and Ganesha connect to statd (needs root).
pub fn tcp_call_reserved(to: SocketAddr, xid: u32, proc: u32, args: &[u8]) -> Option<Answer> {
    use socket2::{Domain, Socket, Type};
    let s = (600u16..1024).rev().find_map(|port| {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
        s.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())
            .ok()?;
        s.connect_timeout(&to.into(), Duration::from_secs(3)).ok()?;
        Some(s)
    })?;
    tcp_exchange(s.into(), xid, proc, args)
}

fn tcp_exchange(mut s: TcpStream, xid: u32, proc: u32, args: &[u8]) -> Option<Answer> {
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let body = call(xid, proc, args);
    let mut msg = ((body.len() as u32) | 0x8000_0000).to_be_bytes().to_vec();
    msg.extend(body);
    s.write_all(&msg).ok()?;
    let mut mark = [0u8; 4];
    s.read_exact(&mut mark).ok()?;
    let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
    let mut reply = vec![0u8; len.min(1 << 16)];
    s.read_exact(&mut reply).ok()?;
    decode(proc, &reply).map(|(_, a)| a)
}

/// 127.0.0.1:port.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Polls SM_NULL on `to` every 20 ms until it answers or `within` passes.
pub fn wait_answer(to: SocketAddr, within: Duration) -> bool {
    let s = udp_from("127.0.0.1:0");
    s.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let deadline = Instant::now() + within;
    let first = 0x4e55_0000u32;
    let mut xid = first;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        xid += 1;
        let _ = s.send_to(&call(xid, NULL, &[]), to);
        // Any of our calls answered will do: a daemon busy at start may
        // answer later than the 20 ms between two calls.
        while let Ok((n, _)) = s.recv_from(&mut buf) {
            let ours = |x: u32| (first + 1..=xid).contains(&x);
            if decode(NULL, &buf[..n]).is_some_and(|(x, a)| ours(x) && a == Answer::Void) {
                return true;
            }
        }
    }
    false
}

/// A field of `/proc/PID/status` (the text after the colon, trimmed).
pub fn proc_status(pid: u32, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// VmRSS of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    proc_status(pid, "VmRSS")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The nfs-utils `state` file's number (4 bytes, native endian).
pub fn nfs_state(dir: &Path) -> Option<i32> {
    let b = std::fs::read(dir.join("state")).ok()?;
    Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// The Apple `statd.status` header's state (big endian).
pub fn apple_state(dir: &Path) -> Option<i32> {
    let b = std::fs::read(dir.join("statd.status")).ok()?;
    Some(i32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// Names of the files in `dir` (sorted), dot files included if `dots`.
pub fn file_names(dir: &Path, dots: bool) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| dots || !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The files in `dir` whose name starts with `.NAME.corrupt-`.
pub fn corrupt_copies(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.corrupt-");
    file_names(dir, true)
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .map(|n| dir.join(n))
        .collect()
}

/// One nfs-utils record line as rpc.statd writes it (127.0.0.1, NLM v4/16).
pub fn record_line(mon_name: &str, my_name: &str, cookie: [u8; 16]) -> String {
    let hex: String = cookie.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{:08x} 000186b5 00000004 00000010 {hex} {mon_name} {my_name}\n",
        u32::from_ne_bytes([127, 0, 0, 1])
    )
}

/// A tiny deterministic generator (xorshift64*), seeded from the clock
/// unless `ROBUST_SEED` is set; tests print the seed so a run can be
/// repeated.
pub struct Rng(u64);

impl Rng {
    /// A generator and the seed it uses.
    pub fn new() -> (Rng, u64) {
        let seed = std::env::var("ROBUST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        (Rng(seed | 1), seed)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// Lines of `log` that report a damaged store.
pub fn damage_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("damaged") || l.contains("corrupt"))
        .collect()
}
