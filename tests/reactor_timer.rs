//! Timers: deadline order, cancellation, virtual time with a ManualClock,
//! and `exit` ending `run`.

#[path = "common/reactor.rs"]
mod util;

use std::time::{Duration, Instant};

use statmon::reactor::{Event, ManualClock, Reactor, TimerId};
use util::{add, reactor, rec, run_for, run_until, Rec, Recorder};

fn fired(m: &Recorder) -> Vec<TimerId> {
    m.events
        .iter()
        .filter_map(|e| match e {
            Rec::Timer(t) => Some(*t),
            _ => None,
        })
        .collect()
}

#[test]
fn timers_fire_in_deadline_order_and_cancelled_ones_never() {
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(|cx, me| {
            let now = cx.now();
            let late = cx.set_timer(now + Duration::from_millis(60));
            let early = cx.set_timer(now + Duration::from_millis(20));
            let cancelled = cx.set_timer(now + Duration::from_millis(30));
            let middle = cx.set_timer(now + Duration::from_millis(40));
            assert!(cx.cancel_timer(cancelled));
            assert!(!cx.cancel_timer(cancelled));
            me.timers.extend([early, middle, late]);
            Ok(())
        }),
    );
    let t0 = Instant::now();
    run_until(&mut r, id, |m| fired(m).len() == 3);
    assert!(t0.elapsed() >= Duration::from_millis(50));
    let m = rec(&mut r, id);
    assert_eq!(fired(m), m.timers);
    run_for(&mut r, Duration::from_millis(30));
    assert_eq!(fired(rec(&mut r, id)).len(), 3);
}

#[test]
fn manual_clock_fires_without_sleeping() {
    let clock = ManualClock::new(Instant::now());
    let mut r = Reactor::new(Box::new(clock.clone())).expect("reactor");
    let id = add(
        &mut r,
        Recorder::new(|cx, me| {
            let now = cx.now();
            let day = cx.set_timer(now + Duration::from_secs(86_400));
            let poll = cx.set_timer(now + Duration::from_secs(15));
            me.timers.extend([poll, day]);
            Ok(())
        }),
    );
    let t0 = Instant::now();
    // A turn with no timeout does not block on a virtual deadline.
    r.turn(None).expect("turn");
    assert!(fired(rec(&mut r, id)).is_empty());
    clock.advance(Duration::from_secs(15));
    r.turn(Some(Duration::ZERO)).expect("turn");
    let expect = rec(&mut r, id).timers.clone();
    assert_eq!(fired(rec(&mut r, id)), expect[..1]);
    clock.advance(Duration::from_secs(86_400));
    r.turn(None).expect("turn");
    assert_eq!(fired(rec(&mut r, id)), expect);
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "slept for virtual time"
    );
}

#[test]
fn a_timer_rearmed_at_now_fires_on_the_next_turn_not_in_a_loop() {
    let clock = ManualClock::new(Instant::now());
    let mut r = Reactor::new(Box::new(clock.clone())).expect("reactor");
    let id = add(
        &mut r,
        Recorder::new(|cx, _| {
            cx.set_timer(cx.now());
            Ok(())
        })
        .reacting(|cx, _, ev| {
            if let Event::Timer(_) = ev {
                cx.set_timer(cx.now());
            }
        }),
    );
    r.turn(Some(Duration::ZERO)).expect("turn");
    assert_eq!(fired(rec(&mut r, id)).len(), 1);
    r.turn(Some(Duration::ZERO)).expect("turn");
    assert_eq!(fired(rec(&mut r, id)).len(), 2);
}

#[test]
fn a_module_cannot_cancel_another_modules_timer() {
    let mut r = reactor();
    let a = add(
        &mut r,
        Recorder::new(|cx, me| {
            me.timers
                .push(cx.set_timer(cx.now() + Duration::from_millis(10)));
            Ok(())
        }),
    );
    let theirs = rec(&mut r, a).timers[0];
    add(
        &mut r,
        Recorder::new(move |cx, _| {
            assert!(!cx.cancel_timer(theirs));
            Ok(())
        }),
    );
    run_until(&mut r, a, |m| fired(m) == [theirs]);
}

#[test]
fn exit_from_a_timer_ends_run_with_its_code() {
    let mut r = reactor();
    add(
        &mut r,
        Recorder::new(|cx, _| {
            cx.set_timer(cx.now() + Duration::from_millis(20));
            Ok(())
        })
        .reacting(|cx, _, ev| {
            if let Event::Timer(_) = ev {
                cx.exit(7);
            }
        }),
    );
    assert_eq!(r.exit_code(), None);
    assert_eq!(r.run().expect("run"), 7);
}
