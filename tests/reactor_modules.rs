//! Several modules on one reactor, and a module that starts another.
#![allow(clippy::unwrap_used)]

use statmon::reactor::{Context, Event, ManualClock, Module, Reactor, TimerId};
use std::io;
use std::time::{Duration, Instant};

struct Child {
    timer: Option<TimerId>,
}

impl Module for Child {
    fn name(&self) -> &str {
        "child"
    }
    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.timer = Some(cx.set_timer(cx.now() + Duration::from_secs(5)));
        Ok(())
    }
    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        if matches!(ev, Event::Timer(t) if Some(t) == self.timer) {
            cx.exit(7);
        }
    }
}

struct Parent {
    started_child: bool,
}

impl Module for Parent {
    fn name(&self) -> &str {
        "parent"
    }
    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        cx.set_timer(cx.now() + Duration::from_secs(1));
        Ok(())
    }
    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        if let Event::Timer(_) = ev {
            cx.add_module(Box::new(Child { timer: None })).unwrap();
            self.started_child = true;
        }
    }
}

#[test]
fn a_module_can_start_another_that_then_gets_its_events() {
    let clock = ManualClock::new(Instant::now());
    let mut reactor = Reactor::new(Box::new(clock.clone())).unwrap();
    let parent = reactor
        .add_module(Box::new(Parent {
            started_child: false,
        }))
        .unwrap();
    clock.advance(Duration::from_secs(1));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert!(reactor.module::<Parent>(parent).unwrap().started_child);
    assert_eq!(reactor.exit_code(), None);
    clock.advance(Duration::from_secs(5));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        reactor.exit_code(),
        Some(7),
        "the child's timer reached the child"
    );
}

struct Failing;

impl Module for Failing {
    fn name(&self) -> &str {
        "failing"
    }
    fn start(&mut self, _cx: &mut Context<'_>) -> io::Result<()> {
        Err(io::Error::other("no"))
    }
    fn on_event(&mut self, _cx: &mut Context<'_>, _ev: Event<'_>) {}
}

#[test]
fn a_module_whose_start_fails_is_not_added() {
    let mut reactor = Reactor::new(Box::new(ManualClock::new(Instant::now()))).unwrap();
    assert!(reactor.add_module(Box::new(Failing)).is_err());
    let ok = reactor
        .add_module(Box::new(Parent {
            started_child: false,
        }))
        .unwrap();
    assert!(reactor.module::<Parent>(ok).is_some());
}
