//! Signals through signal-hook's self-pipe, registered with the reactor
//! once; each signal goes to the modules that subscribed to it.

use std::collections::BTreeMap;
use std::io;

use mio::{Interest, Registry, Token};
use signal_hook_mio::v1_0::Signals;

use super::ModuleId;

/// The highest signal number on Linux (SIGRTMAX; `_NSIG` is 65).
const MAX_SIGNAL: i32 = 64;

/// The reactor's signal pipe and who listens to which signal.
pub(crate) struct SignalHub {
    signals: Signals,
    subscribers: BTreeMap<i32, Vec<ModuleId>>,
}

impl std::fmt::Debug for SignalHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalHub")
            .field("subscribers", &self.subscribers)
            .finish_non_exhaustive()
    }
}

impl SignalHub {
    /// Creates the signal pipe and registers it under `token`.
    pub(crate) fn new(registry: &Registry, token: Token) -> io::Result<SignalHub> {
        let mut signals = Signals::new(std::iter::empty::<i32>())?;
        registry.register(&mut signals, token, Interest::READABLE)?;
        Ok(SignalHub {
            signals,
            subscribers: BTreeMap::new(),
        })
    }

    /// Subscribes `module` to `sig`, installing the handler on first use.
    /// Signals that may not be caught (SIGKILL, SIGSTOP, SIGSEGV…) fail.
    pub(crate) fn subscribe(&mut self, sig: i32, module: ModuleId) -> io::Result<()> {
        if !(1..=MAX_SIGNAL).contains(&sig) || signal_hook::consts::FORBIDDEN.contains(&sig) {
            // signal-hook panics on these instead of returning an error.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {sig} cannot be caught"),
            ));
        }
        if !self.subscribers.contains_key(&sig) {
            self.signals.add_signal(sig)?;
        }
        let subs = self.subscribers.entry(sig).or_default();
        if !subs.contains(&module) {
            subs.push(module);
        }
        Ok(())
    }

    /// Drops every subscription of `module`. The handlers stay installed
    /// (signal-hook cannot remove one signal), so such signals are ignored.
    pub(crate) fn unsubscribe(&mut self, module: ModuleId) {
        for subs in self.subscribers.values_mut() {
            subs.retain(|m| *m != module);
        }
    }

    /// Whether `module` subscribed to `sig`.
    pub(crate) fn subscribed(&self, sig: i32, module: ModuleId) -> bool {
        self.subscribers
            .get(&sig)
            .is_some_and(|subs| subs.contains(&module))
    }

    /// Signals that arrived, each with its subscribers.
    pub(crate) fn drain(&mut self) -> Vec<(i32, Vec<ModuleId>)> {
        let arrived: Vec<i32> = self.signals.pending().collect();
        arrived
            .into_iter()
            .map(|sig| (sig, self.subscribers.get(&sig).cloned().unwrap_or_default()))
            .collect()
    }
}
