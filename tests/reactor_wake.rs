//! Wakers: worker threads wake a module, which then gets `Event::Woken` on
//! the reactor thread; wakes that pile up are merged, and each waker keeps
//! its own id.
#![allow(clippy::unwrap_used)]

use statmon::reactor::{Context, Event, Module, Reactor, SystemClock, WakeId, Waker};
use std::io;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Makes two wakers, hands them to the test through a channel, and counts
/// the `Woken` events per waker.
struct Sleeper {
    out: mpsc::Sender<(Waker, Waker)>,
    woken: Vec<WakeId>,
}

impl Module for Sleeper {
    fn name(&self) -> &str {
        "sleeper"
    }
    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let pair = (cx.waker()?, cx.waker()?);
        self.out.send(pair).unwrap();
        Ok(())
    }
    fn on_event(&mut self, _cx: &mut Context<'_>, ev: Event<'_>) {
        if let Event::Woken(id) = ev {
            self.woken.push(id);
        }
    }
}

fn turn_until(reactor: &mut Reactor, id: statmon::reactor::ModuleId, n: usize) -> Vec<WakeId> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        reactor.turn(Some(Duration::from_millis(50))).unwrap();
        let woken = &reactor.module::<Sleeper>(id).unwrap().woken;
        if woken.len() >= n {
            return woken.clone();
        }
    }
    reactor.module::<Sleeper>(id).unwrap().woken.clone()
}

#[test]
fn a_wake_from_another_thread_reaches_the_module() {
    let (tx, rx) = mpsc::channel();
    let mut reactor = Reactor::new(Box::new(SystemClock)).unwrap();
    let id = reactor
        .add_module(Box::new(Sleeper {
            out: tx,
            woken: Vec::new(),
        }))
        .unwrap();
    let (a, b) = rx.recv().unwrap();
    assert_ne!(a.id(), b.id());

    let b_id = b.id();
    let worker = std::thread::spawn(move || b.wake());
    worker.join().unwrap();
    assert_eq!(turn_until(&mut reactor, id, 1), vec![b_id]);

    // Three wakes before the reactor runs are one event.
    for _ in 0..3 {
        a.wake();
    }
    let woken = turn_until(&mut reactor, id, 2);
    reactor.turn(Some(Duration::from_millis(50))).unwrap();
    let woken_after = reactor.module::<Sleeper>(id).unwrap().woken.clone();
    assert_eq!(woken.len(), 2);
    assert_eq!(woken_after, vec![b_id, a.id()]);
}
