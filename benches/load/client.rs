//! The load generator: a closed loop of `in_flight` call slots against one
//! NSM server, over UDP (one socket, retransmission after `rto`) or TCP
//! (record marking on a few connections, slots spread over them), until a
//! number of operations completes or the time runs out.
//!
//! Each slot runs a [`Script`]: as soon as its call is answered, it sends
//! its next one. Replies are matched by xid: the low 10 bits name the slot,
//! the rest count calls, so a late answer to a retransmitted call is
//! recognised and ignored.

use crate::calls::{self, Verdict};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use statmon::proto::sm_inter::SmProc;
use statmon::rpc::{frame, RecordReader};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Most slots a run can have (the xid keeps 10 bits for the slot).
pub(crate) const MAX_IN_FLIGHT: usize = 1024;
const SLOT_BITS: u32 = 10;

/// One call a script wants sent.
pub(crate) struct Step {
    pub(crate) proc: SmProc,
    pub(crate) args: Vec<u8>,
    /// Whether its answer completes one operation of the workload (an
    /// SM_MON+SM_UNMON pair is one operation, ended by the SM_UNMON).
    pub(crate) ends_op: bool,
}

/// What a slot sends: its `n`-th call (n counts from 0).
pub(crate) trait Script {
    fn step(&mut self, slot: usize, n: u64) -> Step;
}

/// How to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    /// TCP on this many connections.
    Tcp(usize),
}

/// One run's bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) transport: Transport,
    pub(crate) in_flight: usize,
    /// Stop once this many operations completed.
    pub(crate) ops: Option<u64>,
    /// Stop after this long in any case.
    pub(crate) time: Duration,
    /// UDP: resend a call unanswered for this long (same xid).
    pub(crate) rto: Duration,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// Operations completed.
    pub(crate) ops: u64,
    /// Calls answered.
    pub(crate) calls: u64,
    /// From the first call to the end of the run.
    pub(crate) elapsed: Duration,
    /// Latencies (ns, first send to answer) per procedure number, sorted.
    pub(crate) lat: Vec<Vec<u64>>,
    /// Answers that were not a success (or `stat_fail`).
    pub(crate) failed: u64,
    /// UDP retransmissions.
    pub(crate) retrans: u64,
    /// Calls still unanswered when the run ended.
    pub(crate) unanswered: usize,
}

impl Outcome {
    /// Operations per second.
    pub(crate) fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Every latency, sorted.
    pub(crate) fn all_latencies(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.lat.iter().flatten().copied().collect();
        all.sort_unstable();
        all
    }

    /// The latencies of `proc`.
    pub(crate) fn latencies(&self, proc: SmProc) -> &[u64] {
        self.lat.get(proc.0 as usize).map_or(&[], Vec::as_slice)
    }
}

/// The `q` quantile (0..1) of sorted `v`, nearest rank.
pub(crate) fn quantile(v: &[u64], q: f64) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v.get(rank - 1).copied()
}

struct Slot {
    xid: u32,
    proc: SmProc,
    ends_op: bool,
    msg: Vec<u8>,
    first: Instant,
    sent: Instant,
    step: u64,
    waiting: bool,
}

/// The transport-free part: slots, script, counters.
struct Engine<'a> {
    script: &'a mut dyn Script,
    slots: Vec<Slot>,
    seq: u32,
    out: Outcome,
    limit: Option<u64>,
}

impl<'a> Engine<'a> {
    fn new(script: &'a mut dyn Script, n: usize, limit: Option<u64>) -> Self {
        let now = Instant::now();
        let slots = (0..n)
            .map(|_| Slot {
                xid: 0,
                proc: SmProc::NULL,
                ends_op: false,
                msg: Vec::new(),
                first: now,
                sent: now,
                step: 0,
                waiting: false,
            })
            .collect();
        Engine {
            script,
            slots,
            seq: 0,
            out: Outcome {
                lat: vec![Vec::new(); 8],
                ..Outcome::default()
            },
            limit,
        }
    }

    /// Prepares slot `s`'s next call; returns the message to send.
    fn issue(&mut self, s: usize, now: Instant) -> &[u8] {
        self.seq = self.seq.wrapping_add(1);
        let xid = (self.seq << SLOT_BITS) | s as u32;
        let Some(slot) = self.slots.get_mut(s) else {
            return &[];
        };
        let step = self.script.step(s, slot.step);
        slot.xid = xid;
        slot.proc = step.proc;
        slot.ends_op = step.ends_op;
        slot.msg = calls::call(xid, step.proc, &step.args);
        slot.first = now;
        slot.sent = now;
        slot.waiting = true;
        &slot.msg
    }

    /// Takes an answer; returns the slot that is free for its next call.
    fn answer(&mut self, msg: &[u8], now: Instant) -> Option<usize> {
        let xid = calls::xid_of(msg)?;
        let s = (xid & ((1 << SLOT_BITS) - 1)) as usize;
        let slot = self.slots.get_mut(s)?;
        if !slot.waiting || slot.xid != xid {
            return None;
        }
        slot.waiting = false;
        slot.step += 1;
        let ns = u64::try_from(now.duration_since(slot.first).as_nanos()).unwrap_or(u64::MAX);
        if let Some(v) = self.out.lat.get_mut(slot.proc.0 as usize) {
            v.push(ns);
        }
        self.out.calls += 1;
        if calls::verdict(msg, slot.proc) == Verdict::Failed {
            self.out.failed += 1;
        }
        if slot.ends_op {
            self.out.ops += 1;
        }
        Some(s)
    }

    fn done(&self, start: Instant, time: Duration, now: Instant) -> bool {
        self.limit.is_some_and(|l| self.out.ops >= l) || now.duration_since(start) >= time
    }

    fn finish(mut self, start: Instant, now: Instant) -> Outcome {
        self.out.elapsed = now.duration_since(start);
        self.out.unanswered = self.slots.iter().filter(|s| s.waiting).count();
        for v in &mut self.out.lat {
            v.sort_unstable();
        }
        self.out
    }
}

/// Runs `script` against `to` under `load`.
pub(crate) fn run(to: SocketAddr, load: Load, script: &mut dyn Script) -> io::Result<Outcome> {
    let n = load.in_flight.clamp(1, MAX_IN_FLIGHT);
    let engine = Engine::new(script, n, load.ops);
    match load.transport {
        Transport::Udp => run_udp(to, load, engine),
        Transport::Tcp(conns) => run_tcp(to, load, conns.clamp(1, n), engine),
    }
}

fn run_udp(to: SocketAddr, load: Load, mut e: Engine<'_>) -> io::Result<Outcome> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.connect(to)?;
    sock.set_read_timeout(Some(Duration::from_millis(5)))?;
    let start = Instant::now();
    for s in 0..e.slots.len() {
        let msg = e.issue(s, start);
        let _ = sock.send(msg);
    }
    let mut buf = vec![0u8; 65_536];
    let mut next_check = start + Duration::from_millis(10);
    loop {
        let got = sock.recv(&mut buf);
        let now = Instant::now();
        if e.done(start, load.time, now) {
            return Ok(e.finish(start, now));
        }
        if let Ok(len) = got {
            if let Some(s) = buf.get(..len).and_then(|m| e.answer(m, now)) {
                let msg = e.issue(s, now);
                let _ = sock.send(msg);
            }
        }
        if now >= next_check {
            next_check = now + Duration::from_millis(10);
            for slot in e.slots.iter_mut().filter(|s| s.waiting) {
                if now.duration_since(slot.sent) >= load.rto {
                    slot.sent = now;
                    e.out.retrans += 1;
                    let _ = sock.send(&slot.msg);
                }
            }
        }
    }
}

/// One TCP connection: record reader and unsent bytes.
struct Conn {
    stream: TcpStream,
    reader: RecordReader,
    out: Vec<u8>,
}

impl Conn {
    /// Writes what it can of `out`.
    fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn run_tcp(to: SocketAddr, load: Load, conns: usize, mut e: Engine<'_>) -> io::Result<Outcome> {
    let mut poll = Poll::new()?;
    let mut cs = Vec::with_capacity(conns);
    for i in 0..conns {
        let std = std::net::TcpStream::connect_timeout(&to, Duration::from_secs(5))?;
        std.set_nodelay(true)?;
        std.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(std);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        cs.push(Conn {
            stream,
            reader: RecordReader::new(1 << 20),
            out: Vec::new(),
        });
    }
    let start = Instant::now();
    for s in 0..e.slots.len() {
        let msg = frame(e.issue(s, start));
        if let Some(c) = cs.get_mut(s % conns) {
            c.out.extend_from_slice(&msg);
        }
    }
    for c in &mut cs {
        c.flush()?;
    }
    let mut events = Events::with_capacity(64);
    let mut buf = vec![0u8; 65_536];
    loop {
        poll.poll(&mut events, Some(Duration::from_millis(5)))?;
        let now = Instant::now();
        if e.done(start, load.time, now) {
            return Ok(e.finish(start, now));
        }
        for ev in events.iter() {
            let i = ev.token().0;
            let Some(c) = cs.get_mut(i) else { continue };
            if ev.is_readable() {
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                        Ok(n) => c.reader.push(buf.get(..n).unwrap_or(&[])),
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(err) => return Err(err),
                    }
                }
                while let Some(rec) = c.reader.poll_record() {
                    let rec = rec.map_err(io::Error::other)?;
                    if let Some(s) = e.answer(&rec, now) {
                        let msg = frame(e.issue(s, now));
                        c.out.extend_from_slice(&msg);
                    }
                }
            }
            c.flush()?;
        }
    }
}
