//! Signals: delivered to every subscriber and only to subscribers, and
//! SIGTERM handled instead of killing the process. Each test uses its own
//! signal because all tests of this binary share the process.

#[path = "common/reactor.rs"]
mod util;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::low_level::raise;
use statmon::reactor::Event;
use util::{add, reactor, rec, run_until, Rec, Recorder};

fn subscriber(sig: i32) -> Box<Recorder> {
    Recorder::new(move |cx, _| cx.watch_signal(sig))
}

fn signals(m: &Recorder) -> Vec<i32> {
    m.events
        .iter()
        .filter_map(|e| match e {
            Rec::Signal(s) => Some(*s),
            _ => None,
        })
        .collect()
}

#[test]
fn sigusr1_reaches_every_subscriber_and_no_one_else() {
    let mut r = reactor();
    let a = add(&mut r, subscriber(SIGUSR1));
    let b = add(&mut r, subscriber(SIGUSR1));
    let other = add(&mut r, subscriber(SIGINT));
    raise(SIGUSR1).expect("raise");
    run_until(&mut r, a, |m| signals(m) == [SIGUSR1]);
    run_until(&mut r, b, |m| signals(m) == [SIGUSR1]);
    assert!(signals(rec(&mut r, other)).is_empty());
}

#[test]
fn sighup_is_delivered_each_time() {
    let mut r = reactor();
    let id = add(&mut r, subscriber(SIGHUP));
    raise(SIGHUP).expect("raise");
    run_until(&mut r, id, |m| signals(m).len() == 1);
    raise(SIGHUP).expect("raise");
    run_until(&mut r, id, |m| signals(m) == [SIGHUP, SIGHUP]);
}

#[test]
fn sigterm_is_handled_and_can_end_the_loop() {
    let mut r = reactor();
    add(
        &mut r,
        subscriber(SIGTERM).reacting(|cx, _, ev| {
            if let Event::Signal(SIGTERM) = ev {
                cx.exit(143);
            }
        }),
    );
    raise(SIGTERM).expect("raise");
    assert_eq!(r.run().expect("run"), 143);
}

#[test]
fn uncatchable_signals_are_refused() {
    let mut r = reactor();
    let err = r
        .add_module(subscriber(signal_hook::consts::SIGKILL))
        .expect_err("SIGKILL cannot be watched");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(r.add_module(subscriber(1000)).is_err(), "no such signal");
}
