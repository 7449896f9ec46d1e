//! FIFO sources: data written from outside arrives; a writer going away
//! does not leave the FIFO readable for ever.

#[path = "common/reactor.rs"]
mod util;

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant};

use util::{add, reactor, rec, run_until, Rec, Recorder};

fn fifo_bytes(m: &Recorder) -> Vec<u8> {
    let mut all = Vec::new();
    for e in &m.events {
        if let Rec::FifoData { data, .. } = e {
            all.extend_from_slice(data);
        }
    }
    all
}

#[test]
fn outside_writes_arrive_and_writer_eof_does_not_spin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ctl");
    let mut r = reactor();
    let p = path.clone();
    let id = add(
        &mut r,
        Recorder::new(move |cx, me| {
            me.ids.push(cx.fifo_open(&p)?);
            Ok(())
        }),
    );
    let mut w = OpenOptions::new().write(true).open(&path).expect("writer");
    w.write_all(b"start\n").expect("write");
    drop(w); // the only outside writer goes away
    run_until(&mut r, id, |m| fifo_bytes(m) == b"start\n");
    let events = rec(&mut r, id).events.len();
    // Nothing is ready now: a turn waits out its whole timeout.
    let t0 = Instant::now();
    r.turn(Some(Duration::from_millis(100))).expect("turn");
    assert!(
        t0.elapsed() >= Duration::from_millis(90),
        "FIFO stayed readable after EOF"
    );
    assert_eq!(rec(&mut r, id).events.len(), events);
    // A new writer is heard again.
    let mut w = OpenOptions::new().write(true).open(&path).expect("writer");
    w.write_all(b"stop\n").expect("write");
    run_until(&mut r, id, |m| fifo_bytes(m) == b"start\nstop\n");
    let source = rec(&mut r, id).ids[0];
    assert!(rec(&mut r, id)
        .events
        .iter()
        .all(|e| matches!(e, Rec::FifoData { source: s, .. } if *s == source)));
}

#[test]
fn a_large_write_is_drained_in_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bulk");
    let mut r = reactor();
    let p = path.clone();
    let id = add(
        &mut r,
        Recorder::new(move |cx, _| {
            cx.fifo_open(&p)?;
            Ok(())
        }),
    );
    let mut w = OpenOptions::new().write(true).open(&path).expect("writer");
    let data: Vec<u8> = (0..60_000u32).map(|i| i as u8).collect();
    w.write_all(&data).expect("write fits the pipe buffer");
    run_until(&mut r, id, |m| fifo_bytes(m).len() == data.len());
    assert!(fifo_bytes(rec(&mut r, id)) == data);
}
