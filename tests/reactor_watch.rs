//! File watches: inotify CREATE/MODIFY in a temp dir, duplicate and
//! removed watches, IGNORED on deletion; POLLPRI through TCP urgent data.

#[path = "common/reactor.rs"]
mod util;

use std::ffi::OsString;
use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::time::Duration;

use statmon::reactor::{EventMask, WatchMask};
use util::{add, reactor, rec, run_for, run_until, Rec, Recorder};

fn changes(m: &Recorder) -> Vec<(Option<OsString>, EventMask)> {
    m.events
        .iter()
        .filter_map(|e| match e {
            Rec::FileChanged { name, mask, .. } => Some((name.clone(), *mask)),
            _ => None,
        })
        .collect()
}

#[test]
fn create_and_modify_in_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(move |cx, _| {
            cx.watch_path(&d, WatchMask::CREATE | WatchMask::MODIFY)?;
            let err = cx
                .watch_path(&d, WatchMask::CREATE)
                .expect_err("watched twice");
            assert_eq!(err.kind(), ErrorKind::AlreadyExists);
            Ok(())
        }),
    );
    let mut f = std::fs::File::create(dir.path().join("state")).expect("create");
    f.write_all(b"3\n").expect("write");
    run_until(&mut r, id, |m| changes(m).len() == 2);
    let name = Some(OsString::from("state"));
    assert_eq!(
        changes(rec(&mut r, id)),
        [(name.clone(), EventMask::CREATE), (name, EventMask::MODIFY)]
    );
}

#[test]
fn unwatched_paths_are_silent_and_deleted_ones_report_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let quiet = dir.path().join("quiet");
    let doomed = dir.path().join("doomed");
    std::fs::write(&quiet, b"").expect("file");
    std::fs::write(&doomed, b"").expect("file");
    let (q, d) = (quiet.clone(), doomed.clone());
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(move |cx, _| {
            let w = cx.watch_path(&q, WatchMask::MODIFY)?;
            cx.unwatch_path(w)?;
            assert_eq!(
                cx.unwatch_path(w).expect_err("gone").kind(),
                ErrorKind::NotFound
            );
            cx.watch_path(&d, WatchMask::DELETE_SELF)?;
            Ok(())
        }),
    );
    std::fs::write(&quiet, b"change").expect("write");
    run_for(&mut r, Duration::from_millis(30));
    assert!(changes(rec(&mut r, id)).is_empty());
    std::fs::remove_file(&doomed).expect("remove");
    run_until(&mut r, id, |m| changes(m).len() == 2);
    assert_eq!(
        changes(rec(&mut r, id)),
        [(None, EventMask::DELETE_SELF), (None, EventMask::IGNORED)]
    );
}

#[test]
fn urgent_tcp_data_gives_a_priority_event() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let client = socket2::Socket::from(
        TcpStream::connect(listener.local_addr().expect("addr")).expect("connect"),
    );
    let (server, _) = listener.accept().expect("accept");
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(move |cx, me| {
            me.ids.push(cx.watch_priority(OwnedFd::from(server))?);
            Ok(())
        }),
    );
    run_for(&mut r, Duration::from_millis(20));
    assert!(
        rec(&mut r, id).events.is_empty(),
        "no POLLPRI before urgent data"
    );
    client.send_out_of_band(b"!").expect("oob");
    run_until(&mut r, id, |m| !m.events.is_empty());
    let source = rec(&mut r, id).ids[0];
    assert!(matches!(rec(&mut r, id).events[0], Rec::Priority { source: s } if s == source));
}

#[test]
fn regular_files_cannot_be_priority_sources() {
    let file = tempfile::tempfile().expect("file");
    let mut r = reactor();
    let err = r
        .add_module(Recorder::new(move |cx, _| {
            cx.watch_priority(file).map(|_| ())
        }))
        .expect_err("epoll refuses regular files");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_failed_start_releases_its_watches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    let mut r = reactor();
    let failed = r.add_module(Recorder::new(move |cx, _| {
        cx.watch_path(&d, WatchMask::CREATE)?;
        cx.set_timer(cx.now());
        Err(ErrorKind::Unsupported.into())
    }));
    assert!(failed.is_err());
    let d = dir.path().to_path_buf();
    let id = add(
        &mut r,
        Recorder::new(move |cx, _| cx.watch_path(&d, WatchMask::CREATE).map(|_| ())),
    );
    std::fs::write(dir.path().join("new"), b"").expect("create");
    run_until(&mut r, id, |m| changes(m).len() == 1);
    run_for(&mut r, Duration::from_millis(20));
    assert_eq!(
        rec(&mut r, id).events.len(),
        1,
        "only the live module hears anything"
    );
}
