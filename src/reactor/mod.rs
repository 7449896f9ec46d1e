//! The event loop: the only code that uses mio.
//!
//! Several daemons run in one process as [`Module`]s on one [`Reactor`].
//! A module opens sources (sockets, FIFOs, timers, signals, children, file
//! watches) through its [`Context`]; everything it opens is owned by it and
//! its [`Event`]s go to it alone.
//!
//! The loop (mio idiom): `poll` with the timeout of the nearest timer;
//! `Interrupted` (a signal landed) just ends the round; every readiness is
//! drained until `WouldBlock` (edge-triggered), retrying `EINTR`. An error
//! on one source is logged and closes that source (reported as
//! [`Event::Closed`]); it never stops the loop. Tokens carry a slot
//! generation, so an event for a closed source never reaches a new one.
//!
//! Time comes from a [`Clock`]. With a [`ManualClock`] the reactor never
//! sleeps toward a timer: each turn fires every timer due at `clock.now()`
//! and polls I/O with at most a short wait, so modules run in virtual time.

mod child;
mod clock;
mod context;
mod core;
mod deadline;
mod dispatch;
mod fifo;
mod hosting;
mod net;
mod signal;
mod slab;
mod stream;
mod timer;
mod unix;
mod wake;
mod watch;

use std::any::Any;
use std::ffi::OsString;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use mio::{Events, Poll, Token};

pub use self::clock::{Clock, ManualClock, SystemClock};
pub use self::context::Context;
pub use self::deadline::Deadline;
pub use self::stream::{TcpOpts, DEFAULT_SEND_LIMIT};
pub use self::unix::UnixKind;
pub use self::wake::{WakeId, Waker};
pub use inotify::{EventMask, WatchMask};

use self::core::Core;
use self::dispatch::Ready;
use self::slab::Key;

/// Size of the receive buffer: one maximal UDP datagram.
const RECV_BUF: usize = 64 * 1024;

/// A daemon running on the reactor.
pub trait Module: Any {
    /// Short name for logs.
    fn name(&self) -> &str;
    /// Opens the module's sources. Called once, when the module is added.
    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()>;
    /// One event for a source this module owns (or a signal it watches).
    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>);
}

/// Index of a module in its reactor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(usize);

/// A socket, FIFO or POLLPRI file opened through a [`Context`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(Key);

/// A timer set with [`Context::set_timer`]; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

/// A child started with [`Context::spawn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(Key);

/// A file watch added with [`Context::watch_path`]; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchId(u64);

/// What happened. Borrowed data is valid for the call only.
#[derive(Debug)]
pub enum Event<'a> {
    /// A UDP datagram on `sock`.
    Datagram {
        sock: SourceId,
        from: SocketAddr,
        data: &'a [u8],
    },
    /// A listener accepted `conn`; `peer` is `None` for Unix sockets.
    Accepted {
        listener: SourceId,
        conn: SourceId,
        peer: Option<SocketAddr>,
    },
    /// An outgoing [`Context::tcp_connect`] completed.
    Connected { conn: SourceId },
    /// Bytes on a stream connection (TCP or Unix stream).
    Stream { conn: SourceId, data: &'a [u8] },
    /// One packet on a Unix seqpacket connection.
    Packet { conn: SourceId, data: &'a [u8] },
    /// The reactor closed a source: end of file (`error: None`), a socket
    /// error, a failed connect, the idle timeout (`TimedOut`) or a peer that
    /// stopped reading (`OutOfMemory`). Not sent for [`Context::close`].
    Closed {
        conn: SourceId,
        error: Option<io::Error>,
    },
    /// A datagram on a Unix datagram socket; `from` is the sender's path if
    /// it bound one.
    UnixDatagram {
        sock: SourceId,
        from: Option<PathBuf>,
        data: &'a [u8],
    },
    /// Bytes written into a FIFO opened with [`Context::fifo_open`].
    FifoData { source: SourceId, data: &'a [u8] },
    /// A timer reached its deadline.
    Timer(TimerId),
    /// A watched signal arrived.
    Signal(i32),
    /// A child exited and was reaped.
    ChildExited {
        child: ChildId,
        pid: u32,
        status: ExitStatus,
    },
    /// inotify reported `mask` on a watched path (`name`: the entry inside
    /// a watched directory). `IGNORED` means the watch is gone.
    FileChanged {
        watch: WatchId,
        name: Option<OsString>,
        mask: EventMask,
    },
    /// POLLPRI on a [`Context::watch_priority`] source: re-read it.
    Priority { source: SourceId },
    /// A [`Waker`] made with [`Context::waker`] was woken (once for any
    /// number of wakes since the last delivery).
    Woken(WakeId),
}

/// The event loop and the modules on it.
pub struct Reactor {
    poll: Poll,
    events: Events,
    ready: Vec<(Token, Ready)>,
    core: Core,
    /// `None` for a module whose `start` failed.
    modules: Vec<Option<Box<dyn Module>>>,
    buf: Vec<u8>,
    /// Datagram sockets that used their budget this turn and still have
    /// datagrams waiting (see `dispatch.rs`).
    carry: Vec<Key>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("core", &self.core)
            .field("modules", &self.modules.len())
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// A reactor with no modules, reading time from `clock`.
    pub fn new(clock: Box<dyn Clock>) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        Ok(Reactor {
            poll,
            events: Events::with_capacity(256),
            ready: Vec::new(),
            core: Core::new(registry, clock),
            modules: Vec::new(),
            buf: vec![0; RECV_BUF],
            carry: Vec::new(),
        })
    }

    /// Adds a module and calls its `start`. If `start` fails, the sources
    /// it opened are closed, the module is dropped and the error returned.
    pub fn add_module(&mut self, module: Box<dyn Module>) -> io::Result<ModuleId> {
        let id = self.core.start_module(module, None)?;
        adopt(&mut self.modules, &mut self.core);
        self.deliver_closed();
        Ok(id)
    }

    /// The module `id` as its concrete type, for tests and the host binary.
    pub fn module<T: Module>(&mut self, id: ModuleId) -> Option<&mut T> {
        let module: &mut dyn Module = self.modules.get_mut(id.0)?.as_deref_mut()?;
        (module as &mut dyn Any).downcast_mut::<T>()
    }

    /// Runs until a module calls [`Context::exit`]; returns its code.
    pub fn run(&mut self) -> io::Result<i32> {
        loop {
            if let Some(code) = self.core.exit.take() {
                self.core.exits.clear();
                return Ok(code);
            }
            self.turn(None)?;
        }
    }

    /// The exit code asked for (and not yet consumed by `run`), if any.
    pub fn exit_code(&self) -> Option<i32> {
        self.core.exit
    }

    /// One round: wait for I/O (at most `timeout`, less if a timer is due
    /// sooner; not at all while a socket carries datagrams from the last
    /// round), handle every ready source, then fire due timers.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let wait = if self.carry.is_empty() {
            self.poll_timeout(timeout)
        } else {
            Some(Duration::ZERO)
        };
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.extend(self.events.iter().map(|e| (e.token(), Ready::from(e))));
        let carried = std::mem::take(&mut self.carry);
        for &(token, r) in &ready {
            self.dispatch(token, r);
        }
        self.ready = ready;
        self.dispatch_carried(carried);
        self.fire_timers();
        Ok(())
    }

    /// The poll timeout: the caller's, shortened by the next timer.
    fn poll_timeout(&mut self, timeout: Option<Duration>) -> Option<Duration> {
        let timer = self
            .core
            .timers
            .next_deadline()
            .map(|at| self.core.clock.wait_until(at));
        match (timeout, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Moves modules started from inside another module into the list.
fn adopt(modules: &mut Vec<Option<Box<dyn Module>>>, core: &mut Core) {
    for (id, module) in core.started.drain(..) {
        if modules.len() <= id.0 {
            modules.resize_with(id.0 + 1, || None);
        }
        modules[id.0] = Some(module);
    }
}

/// Calls `module`'s `on_event` (a module whose start failed gets nothing).
fn deliver(
    modules: &mut Vec<Option<Box<dyn Module>>>,
    core: &mut Core,
    module: ModuleId,
    ev: Event<'_>,
) {
    adopt(modules, core);
    if let Some(m) = modules.get_mut(module.0).and_then(Option::as_mut) {
        m.on_event(&mut Context::new(core, module), ev);
    }
}
