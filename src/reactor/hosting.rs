//! Several daemons on one reactor: which module asked to exit, the tree of
//! modules a daemon started, and stopping one daemon while the others run.
//!
//! A *daemon* is a module added with [`Reactor::add_module`] (a root) and
//! every module it started through [`super::Context::add_module`], and
//! theirs. [`super::Reactor::run`] ends at the first
//! [`super::Context::exit`], whoever calls it; a host of several daemons
//! instead turns the reactor itself and asks [`Reactor::take_exit`] after
//! each turn who exited, so that it can end that daemon alone
//! ([`Reactor::remove_tree`]) and tell the others to stop
//! ([`Reactor::raise`]).

use super::{deliver, Event, ModuleId, Reactor};

impl Reactor {
    /// The oldest exit request not yet taken: the module that called
    /// [`super::Context::exit`] and its code. Taking one also clears what
    /// [`Reactor::exit_code`] reports.
    pub fn take_exit(&mut self) -> Option<(ModuleId, i32)> {
        let next = self.core.exits.pop_front();
        if self.core.exits.is_empty() {
            self.core.exit = None;
        }
        next
    }

    /// The root `id` descends from: itself when it was added with
    /// [`Reactor::add_module`].
    pub fn root_of(&self, id: ModuleId) -> ModuleId {
        root_in(&self.core.parents, id)
    }

    /// Every running module whose root is `root` (`root` first if it runs).
    fn tree(&self, root: ModuleId) -> Vec<ModuleId> {
        (0..self.modules.len())
            .map(ModuleId)
            .filter(|&m| self.modules[m.0].is_some() && self.root_of(m) == root)
            .collect()
    }

    /// Delivers `Event::Signal(sig)` to every module of `root`'s daemon
    /// that watches `sig`, as if the signal had arrived for it alone.
    /// Returns how many modules got it.
    pub fn raise(&mut self, root: ModuleId, sig: i32) -> usize {
        let watching: Vec<ModuleId> = self
            .tree(root)
            .into_iter()
            .filter(|&m| {
                self.core
                    .signals
                    .as_ref()
                    .is_some_and(|hub| hub.subscribed(sig, m))
            })
            .collect();
        for &m in &watching {
            deliver(&mut self.modules, &mut self.core, m, Event::Signal(sig));
        }
        watching.len()
    }

    /// Ends `root`'s daemon: every module of it loses its sources, timers,
    /// signal subscriptions and file watches, and is dropped. Its pending
    /// exit requests are discarded. The other modules run on.
    pub fn remove_tree(&mut self, root: ModuleId) {
        for m in self.tree(root) {
            self.core.forget_module(m);
            self.modules[m.0] = None;
        }
        let parents = &self.core.parents;
        self.core
            .exits
            .retain(|(m, _)| root_in(parents, *m) != root);
        if self.core.exits.is_empty() {
            self.core.exit = None;
        }
    }

    /// Whether module `id` is on the reactor (started, not removed).
    pub fn is_running(&self, id: ModuleId) -> bool {
        self.modules.get(id.0).is_some_and(Option::is_some)
    }
}

/// The root of `id` in the parent table. Parents have smaller ids than
/// their children, so the walk ends.
fn root_in(parents: &[Option<ModuleId>], id: ModuleId) -> ModuleId {
    let mut at = id;
    while let Some(Some(parent)) = parents.get(at.0) {
        at = *parent;
    }
    at
}

#[cfg(test)]
mod tests {
    use crate::reactor::{Context, Event, ManualClock, Module, ModuleId, Reactor};
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Records its events; on SIGUSR1 exits with `code`; starts `children`
    /// child modules of its own kind from `start`.
    struct Probe {
        code: i32,
        children: usize,
        seen: Arc<Mutex<Vec<(usize, i32)>>>,
        tag: usize,
    }

    impl Module for Probe {
        fn name(&self) -> &str {
            "probe"
        }
        fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
            cx.watch_signal(libc::SIGUSR1)?;
            for i in 0..self.children {
                cx.add_module(Box::new(Probe {
                    code: self.code,
                    children: 0,
                    seen: self.seen.clone(),
                    tag: self.tag * 10 + i + 1,
                }))?;
            }
            Ok(())
        }
        fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
            if let Event::Signal(sig) = ev {
                self.seen.lock().unwrap().push((self.tag, sig));
                cx.exit(self.code);
            }
        }
    }

    fn reactor() -> Reactor {
        Reactor::new(Box::new(ManualClock::new(std::time::Instant::now()))).unwrap()
    }

    fn probe(seen: &Arc<Mutex<Vec<(usize, i32)>>>, tag: usize, code: i32, kids: usize) -> Probe {
        Probe {
            code,
            children: kids,
            seen: seen.clone(),
            tag,
        }
    }

    #[test]
    fn a_child_belongs_to_the_daemon_that_started_it() {
        let seen = Arc::default();
        let mut r = reactor();
        let a = r.add_module(Box::new(probe(&seen, 1, 0, 2))).unwrap();
        let b = r.add_module(Box::new(probe(&seen, 2, 0, 0))).unwrap();
        assert_eq!(r.root_of(a), a);
        assert_eq!(r.root_of(b), b);
        assert_eq!(r.root_of(ModuleId(1)), a);
        assert_eq!(r.root_of(ModuleId(2)), a);
        assert_eq!(r.tree(a), [a, ModuleId(1), ModuleId(2)]);
        assert_eq!(r.tree(b), [b]);
    }

    #[test]
    fn raise_reaches_one_daemon_and_take_exit_names_who_asked() {
        let seen = Arc::default();
        let mut r = reactor();
        let a = r.add_module(Box::new(probe(&seen, 1, 3, 1))).unwrap();
        let b = r.add_module(Box::new(probe(&seen, 2, 0, 0))).unwrap();
        assert_eq!(r.raise(a, libc::SIGUSR1), 2);
        assert_eq!(
            *seen.lock().unwrap(),
            [(1, libc::SIGUSR1), (11, libc::SIGUSR1)]
        );
        assert_eq!(r.exit_code(), Some(3));
        assert_eq!(r.take_exit(), Some((a, 3)));
        let (child, code) = r.take_exit().unwrap();
        assert_eq!((r.root_of(child), code), (a, 3));
        assert_eq!(r.take_exit(), None);
        assert_eq!(r.exit_code(), None);
        assert_eq!(r.raise(b, libc::SIGUSR2), 0, "b does not watch SIGUSR2");
    }

    #[test]
    fn remove_tree_ends_one_daemon_and_its_pending_exits() {
        let seen = Arc::default();
        let mut r = reactor();
        let a = r.add_module(Box::new(probe(&seen, 1, 1, 1))).unwrap();
        let b = r.add_module(Box::new(probe(&seen, 2, 0, 0))).unwrap();
        r.raise(a, libc::SIGUSR1);
        r.remove_tree(a);
        assert!(!r.is_running(a) && !r.is_running(ModuleId(1)));
        assert!(r.is_running(b));
        assert_eq!(r.take_exit(), None, "a's exits went with it");
        assert_eq!(r.raise(a, libc::SIGUSR1), 0);
        r.turn(Some(Duration::ZERO)).unwrap();
        assert_eq!(r.raise(b, libc::SIGUSR1), 1);
        assert_eq!(r.take_exit(), Some((b, 0)));
    }
}
