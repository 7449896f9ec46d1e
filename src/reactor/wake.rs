//! Wake-ups from other threads: a worker (a commit thread, a resolver)
//! finishes a job, calls [`Waker::wake`], and the module that made the
//! waker gets [`Event::Woken`](super::Event::Woken) on the reactor thread.
//!
//! mio allows one `mio::Waker` per poll, so every [`Waker`] shares one hub:
//! the hub records which (module, id) pairs woke and pokes mio once. Several
//! wakes of one waker before the reactor runs are delivered as one event;
//! the module then drains whatever channel its worker filled.

use std::sync::{Arc, Mutex, PoisonError};

use mio::{Registry, Token};

use super::ModuleId;

/// Identifies one [`Waker`]; never reused within a reactor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WakeId(pub(crate) u64);

/// The shared mio waker and the list of wakers that fired.
#[derive(Debug)]
pub(crate) struct WakeHub {
    waker: mio::Waker,
    pending: Mutex<Vec<(ModuleId, WakeId)>>,
}

impl WakeHub {
    pub(crate) fn new(registry: &Registry, token: Token) -> std::io::Result<WakeHub> {
        Ok(WakeHub {
            waker: mio::Waker::new(registry, token)?,
            pending: Mutex::new(Vec::new()),
        })
    }

    /// The wakers that fired since the last call, each once, in firing order.
    pub(crate) fn take(&self) -> Vec<(ModuleId, WakeId)> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *pending)
    }
}

/// A handle another thread uses to wake one module. Cheap to clone; stays
/// valid (and harmless) after the module or reactor is gone.
#[derive(Debug, Clone)]
pub struct Waker {
    hub: Arc<WakeHub>,
    module: ModuleId,
    id: WakeId,
}

impl Waker {
    pub(crate) fn new(hub: Arc<WakeHub>, module: ModuleId, id: WakeId) -> Waker {
        Waker { hub, module, id }
    }

    /// Which waker this is, as `Event::Woken` will name it.
    pub fn id(&self) -> WakeId {
        self.id
    }

    /// Schedules `Event::Woken(self.id())` for the owning module. Never
    /// blocks for long (one mutex, one eventfd write); errors of the
    /// eventfd write are logged.
    pub fn wake(&self) {
        let first = {
            let mut pending = self
                .hub
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if pending.contains(&(self.module, self.id)) {
                false
            } else {
                pending.push((self.module, self.id));
                pending.len() == 1
            }
        };
        if first {
            if let Err(e) = self.hub.waker.wake() {
                log::error!("cannot wake the event loop: {e}");
            }
        }
    }
}
