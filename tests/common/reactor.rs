//! Shared helpers for the `reactor_*` tests: a module that records every
//! event it gets (owned copies) and can react to them, and a loop driver.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::ffi::OsString;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use statmon::reactor::{
    ChildId, Context, Event, EventMask, Module, ModuleId, Reactor, SourceId, SystemClock, TimerId,
    WakeId, WatchId,
};

/// An owned copy of an [`Event`].
#[derive(Debug)]
pub enum Rec {
    Datagram {
        sock: SourceId,
        from: SocketAddr,
        data: Vec<u8>,
    },
    Accepted {
        listener: SourceId,
        conn: SourceId,
        peer: Option<SocketAddr>,
    },
    Connected {
        conn: SourceId,
    },
    Stream {
        conn: SourceId,
        data: Vec<u8>,
    },
    Packet {
        conn: SourceId,
        data: Vec<u8>,
    },
    Closed {
        conn: SourceId,
        error: Option<io::ErrorKind>,
    },
    UnixDatagram {
        sock: SourceId,
        from: Option<PathBuf>,
        data: Vec<u8>,
    },
    FifoData {
        source: SourceId,
        data: Vec<u8>,
    },
    Timer(TimerId),
    Signal(i32),
    ChildExited {
        child: ChildId,
        pid: u32,
        status: ExitStatus,
    },
    FileChanged {
        watch: WatchId,
        name: Option<OsString>,
        mask: EventMask,
    },
    Woken(WakeId),
    Priority {
        source: SourceId,
    },
}

impl From<&Event<'_>> for Rec {
    fn from(ev: &Event<'_>) -> Rec {
        match ev {
            Event::Datagram { sock, from, data } => Rec::Datagram {
                sock: *sock,
                from: *from,
                data: data.to_vec(),
            },
            Event::Accepted {
                listener,
                conn,
                peer,
            } => Rec::Accepted {
                listener: *listener,
                conn: *conn,
                peer: *peer,
            },
            Event::Connected { conn } => Rec::Connected { conn: *conn },
            Event::Stream { conn, data } => Rec::Stream {
                conn: *conn,
                data: data.to_vec(),
            },
            Event::Packet { conn, data } => Rec::Packet {
                conn: *conn,
                data: data.to_vec(),
            },
            Event::Closed { conn, error } => Rec::Closed {
                conn: *conn,
                error: error.as_ref().map(io::Error::kind),
            },
            Event::UnixDatagram { sock, from, data } => Rec::UnixDatagram {
                sock: *sock,
                from: from.clone(),
                data: data.to_vec(),
            },
            Event::FifoData { source, data } => Rec::FifoData {
                source: *source,
                data: data.to_vec(),
            },
            Event::Timer(t) => Rec::Timer(*t),
            Event::Signal(s) => Rec::Signal(*s),
            Event::ChildExited { child, pid, status } => Rec::ChildExited {
                child: *child,
                pid: *pid,
                status: *status,
            },
            Event::FileChanged { watch, name, mask } => Rec::FileChanged {
                watch: *watch,
                name: name.clone(),
                mask: *mask,
            },
            Event::Priority { source } => Rec::Priority { source: *source },
            Event::Woken(id) => Rec::Woken(*id),
        }
    }
}

type Start = Box<dyn FnOnce(&mut Context<'_>, &mut Recorder) -> io::Result<()>>;
type React = Box<dyn FnMut(&mut Context<'_>, &mut Recorder, &Event<'_>)>;

/// Records events; `start` opens sources, `react` answers events.
pub struct Recorder {
    pub events: Vec<Rec>,
    /// Sources opened by `start` (or `react`), in order.
    pub ids: Vec<SourceId>,
    /// Addresses bound by `start`, in order.
    pub addrs: Vec<SocketAddr>,
    pub timers: Vec<TimerId>,
    start: Option<Start>,
    react: Option<React>,
}

impl Recorder {
    pub fn new(
        start: impl FnOnce(&mut Context<'_>, &mut Recorder) -> io::Result<()> + 'static,
    ) -> Box<Recorder> {
        Box::new(Recorder {
            events: Vec::new(),
            ids: Vec::new(),
            addrs: Vec::new(),
            timers: Vec::new(),
            start: Some(Box::new(start)),
            react: None,
        })
    }

    pub fn reacting(
        mut self: Box<Self>,
        react: impl FnMut(&mut Context<'_>, &mut Recorder, &Event<'_>) + 'static,
    ) -> Box<Self> {
        self.react = Some(Box::new(react));
        self
    }

    /// Bytes of all `Stream` events on `conn`, concatenated.
    pub fn stream_bytes(&self, conn: SourceId) -> Vec<u8> {
        let mut all = Vec::new();
        for e in &self.events {
            if let Rec::Stream { conn: c, data } = e {
                if *c == conn {
                    all.extend_from_slice(data);
                }
            }
        }
        all
    }

    /// The first connection accepted.
    pub fn accepted(&self) -> Option<SourceId> {
        self.events.iter().find_map(|e| match e {
            Rec::Accepted { conn, .. } => Some(*conn),
            _ => None,
        })
    }

    pub fn count(&self, pred: impl Fn(&Rec) -> bool) -> usize {
        self.events.iter().filter(|e| pred(e)).count()
    }
}

impl Module for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.start.take() {
            Some(start) => start(cx, self),
            None => Ok(()),
        }
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        self.events.push(Rec::from(&ev));
        if let Some(mut react) = self.react.take() {
            react(cx, self, &ev);
            self.react = Some(react);
        }
    }
}

/// A reactor on the system clock.
pub fn reactor() -> Reactor {
    Reactor::new(Box::new(SystemClock)).expect("reactor")
}

/// Adds a recorder and returns its id.
pub fn add(r: &mut Reactor, m: Box<Recorder>) -> ModuleId {
    r.add_module(m).expect("start")
}

pub fn rec(r: &mut Reactor, id: ModuleId) -> &mut Recorder {
    r.module::<Recorder>(id).expect("recorder")
}

/// Turns the reactor until `pred` holds; panics after 2 s.
pub fn run_until(r: &mut Reactor, id: ModuleId, pred: impl Fn(&Recorder) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if pred(rec(r, id)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; events: {:#?}",
            rec(r, id).events
        );
        r.turn(Some(Duration::from_millis(10))).expect("turn");
    }
}

/// Turns the reactor for `d` (to show that something does not happen).
pub fn run_for(r: &mut Reactor, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        r.turn(Some(Duration::from_millis(5))).expect("turn");
    }
}
