//! The reactor's state that modules reach through a `Context`: the source
//! slab, the timer heap, the signal hub and the inotify watcher. Opening a
//! source registers it with mio; closing one deregisters and drops it.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::child::ChildProc;
use super::clock::Clock;
use super::signal::SignalHub;
use super::slab::{Key, Slab, RESERVED_TOKENS};
use super::stream::{Conn, Listener};
use super::timer::TimerHeap;
use super::watch::Watcher;
use super::{ModuleId, SourceId};

/// Token of the signal pipe.
pub(crate) const SIGNAL_TOKEN: Token = Token(RESERVED_TOKENS);
/// Token of the inotify instance.
pub(crate) const WATCH_TOKEN: Token = Token(RESERVED_TOKENS + 1);
/// Token of the shared cross-thread waker.
pub(crate) const WAKE_TOKEN: Token = Token(RESERVED_TOKENS + 2);

/// One registered file descriptor and what it is.
#[derive(Debug)]
pub(crate) enum Source {
    Udp(mio::net::UdpSocket),
    UnixDgram(mio::net::UnixDatagram),
    Listener(Listener),
    Conn(Conn),
    Fifo(File),
    Priority(OwnedFd),
    Child(ChildProc),
}

impl Source {
    fn interest(&self) -> Interest {
        match self {
            Source::Conn(_) => Interest::READABLE | Interest::WRITABLE,
            Source::Priority(_) => Interest::PRIORITY,
            _ => Interest::READABLE,
        }
    }

    fn raw_fd(&self) -> RawFd {
        match self {
            Source::Udp(s) => s.as_raw_fd(),
            Source::UnixDgram(s) => s.as_raw_fd(),
            Source::Listener(l) => l.socket().as_raw_fd(),
            Source::Conn(c) => c.socket().as_raw_fd(),
            Source::Fifo(f) => f.as_raw_fd(),
            Source::Priority(fd) => fd.as_raw_fd(),
            Source::Child(c) => c.fd(),
        }
    }
}

/// A source and the module its events go to.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) owner: ModuleId,
    pub(crate) source: Source,
}

/// Who a timer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerOwner {
    Module(ModuleId),
    /// Idle check of a connection with an idle timeout.
    Idle(Key),
}

/// Everything a module may touch while it handles an event.
pub(crate) struct Core {
    pub(crate) registry: Registry,
    pub(crate) clock: Box<dyn Clock>,
    pub(crate) sources: Slab<Entry>,
    pub(crate) timers: TimerHeap<TimerOwner>,
    pub(crate) signals: Option<SignalHub>,
    pub(crate) watcher: Option<Watcher>,
    /// The cross-thread wake hub, made with the first waker.
    pub(crate) wake_hub: Option<std::sync::Arc<super::wake::WakeHub>>,
    /// The next waker id to hand out.
    pub(crate) next_wake: u64,
    /// Sources the reactor closed, to be reported as `Event::Closed`.
    pub(crate) closed: VecDeque<(ModuleId, SourceId, Option<io::Error>)>,
    pub(crate) exit: Option<i32>,
    /// Every [`super::Context::exit`] not yet taken, in order: who asked
    /// and the code (what [`super::Reactor::take_exit`] hands out).
    pub(crate) exits: VecDeque<(ModuleId, i32)>,
    /// The module that started each module through
    /// [`super::Context::add_module`] (indexed by module id; `None` for a
    /// module added to the reactor itself).
    pub(crate) parents: Vec<Option<ModuleId>>,
    /// The next module id to hand out.
    pub(crate) next_module: usize,
    /// Modules started through [`super::Context::add_module`], waiting to be
    /// moved into the reactor's module list.
    pub(crate) started: Vec<(ModuleId, Box<dyn super::Module>)>,
}

impl Core {
    pub(crate) fn new(registry: Registry, clock: Box<dyn Clock>) -> Core {
        Core {
            registry,
            clock,
            sources: Slab::new(),
            timers: TimerHeap::new(),
            signals: None,
            watcher: None,
            wake_hub: None,
            next_wake: 0,
            closed: VecDeque::new(),
            exit: None,
            exits: VecDeque::new(),
            parents: Vec::new(),
            next_module: 0,
            started: Vec::new(),
        }
    }

    /// Hands out a fresh module id.
    pub(crate) fn alloc_module(&mut self) -> ModuleId {
        let id = ModuleId(self.next_module);
        self.next_module += 1;
        id
    }

    /// Starts `module` under a fresh id, as a child of `parent` if given.
    /// On failure its sources are closed and the error returned; on
    /// success it waits in `started`.
    pub(crate) fn start_module(
        &mut self,
        mut module: Box<dyn super::Module>,
        parent: Option<ModuleId>,
    ) -> io::Result<ModuleId> {
        let id = self.alloc_module();
        if self.parents.len() <= id.0 {
            self.parents.resize(id.0 + 1, None);
        }
        self.parents[id.0] = parent;
        let started = module.start(&mut super::Context::new(self, id));
        if let Err(e) = started {
            log::error!("{}: start failed: {e}", module.name());
            self.forget_module(id);
            return Err(e);
        }
        self.started.push((id, module));
        Ok(id)
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Stores `source` for `owner` and registers it with mio; on failure
    /// nothing is kept.
    pub(crate) fn insert(&mut self, owner: ModuleId, source: Source) -> io::Result<Key> {
        let interest = source.interest();
        let key = self.sources.insert(Entry { owner, source });
        let token = key.token();
        let result = match self.sources.get_mut(key).map(|e| &mut e.source) {
            Some(Source::Udp(s)) => self.registry.register(s, token, interest),
            Some(Source::UnixDgram(s)) => self.registry.register(s, token, interest),
            Some(other) => self
                .registry
                .register(&mut SourceFd(&other.raw_fd()), token, interest),
            None => Ok(()),
        };
        match result {
            Ok(()) => Ok(key),
            Err(e) => {
                self.sources.remove(key);
                Err(e)
            }
        }
    }

    /// Stores a connection, counting it on its listener and starting its
    /// idle timer.
    pub(crate) fn insert_conn(&mut self, owner: ModuleId, conn: Conn) -> io::Result<Key> {
        let idle = conn.idle_timeout.map(|d| conn.last_active + d);
        let listener = conn.listener;
        let key = self.insert(owner, Source::Conn(conn))?;
        if let Some(Source::Listener(l)) = listener.and_then(|k| self.source_mut(k)) {
            l.live += 1;
        }
        if let Some(at) = idle {
            self.timers.insert(at, TimerOwner::Idle(key));
        }
        Ok(key)
    }

    pub(crate) fn source_mut(&mut self, key: Key) -> Option<&mut Source> {
        self.sources.get_mut(key).map(|e| &mut e.source)
    }

    /// The source `id` if `module` owns it.
    pub(crate) fn owned(&mut self, module: ModuleId, id: SourceId) -> io::Result<&mut Source> {
        match self.sources.get_mut(id.0) {
            Some(e) if e.owner == module => Ok(&mut e.source),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such source")),
        }
    }

    /// Deregisters and drops a source; false if it was already gone.
    pub(crate) fn close(&mut self, key: Key) -> bool {
        let Some(mut entry) = self.sources.remove(key) else {
            return false;
        };
        let result = match &mut entry.source {
            Source::Udp(s) => self.registry.deregister(s),
            Source::UnixDgram(s) => self.registry.deregister(s),
            other => self.registry.deregister(&mut SourceFd(&other.raw_fd())),
        };
        if let Err(e) = result {
            log::debug!("deregister {key:?}: {e}");
        }
        if let Source::Conn(conn) = &entry.source {
            if let Some(Source::Listener(l)) = conn.listener.and_then(|k| self.source_mut(k)) {
                l.live = l.live.saturating_sub(1);
            }
        }
        true
    }

    /// Drops everything a module owns (after its `start` failed): sources,
    /// timers, signal subscriptions and file watches.
    pub(crate) fn forget_module(&mut self, module: ModuleId) {
        for key in self.sources.keys_where(|e| e.owner == module) {
            self.close(key);
        }
        self.timers
            .cancel_where(|owner| *owner == TimerOwner::Module(module));
        if let Some(hub) = self.signals.as_mut() {
            hub.unsubscribe(module);
        }
        if let Some(watcher) = self.watcher.as_mut() {
            watcher.remove_module(module);
        }
        self.closed.retain(|(owner, _, _)| *owner != module);
    }

    /// Closes a source on the reactor's initiative and queues the
    /// `Event::Closed` its owner will get.
    pub(crate) fn close_reporting(&mut self, key: Key, error: Option<io::Error>) {
        let Some(owner) = self.sources.get(key).map(|e| e.owner) else {
            return;
        };
        if let Some(e) = &error {
            log::debug!("closing {key:?} after error: {e}");
        }
        self.close(key);
        self.closed.push_back((owner, SourceId(key), error));
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("sources", &self.sources)
            .field("signals", &self.signals)
            .field("watcher", &self.watcher)
            .field("exit", &self.exit)
            .finish_non_exhaustive()
    }
}
