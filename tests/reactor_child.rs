//! Children: exit status and pid through the pidfd, kill, spawn errors.

#[path = "common/reactor.rs"]
mod util;

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use util::{add, reactor, rec, run_until, Rec, Recorder};

fn exits(m: &Recorder) -> Vec<(u32, std::process::ExitStatus)> {
    m.events
        .iter()
        .filter_map(|e| match e {
            Rec::ChildExited { pid, status, .. } => Some((*pid, *status)),
            _ => None,
        })
        .collect()
}

#[test]
fn exit_code_and_pid_are_reported() {
    let mut r = reactor();
    let pid = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = pid.clone();
    let id = add(
        &mut r,
        Recorder::new(move |cx, _| {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "exit 3"]);
            let (_, pid) = cx.spawn(cmd)?;
            seen.set(pid);
            Ok(())
        }),
    );
    run_until(&mut r, id, |m| exits(m).len() == 1);
    let (got_pid, status) = exits(rec(&mut r, id))[0];
    assert_eq!(got_pid, pid.get());
    assert_eq!(status.code(), Some(3));
}

#[test]
fn killed_child_reports_the_signal() {
    let mut r = reactor();
    let id = add(
        &mut r,
        Recorder::new(|cx, _| {
            let mut cmd = Command::new("sleep");
            cmd.arg("10");
            let (child, _) = cx.spawn(cmd)?;
            cx.kill_child(child)
        }),
    );
    run_until(&mut r, id, |m| exits(m).len() == 1);
    assert_eq!(exits(rec(&mut r, id))[0].1.signal(), Some(libc::SIGKILL));
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let mut r = reactor();
    let err = r
        .add_module(Recorder::new(|cx, _| {
            cx.spawn(Command::new("/nonexistent/loader")).map(|_| ())
        }))
        .expect_err("spawn fails");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
