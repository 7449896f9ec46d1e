//! The serial-line backend against a pseudo-terminal pair: the pmtab's
//! admin device is the pty's slave; sihmon applies the ttydefs label's
//! final flags with termios, holds loading mode as a flock on the line,
//! and runs the loader, which talks on the line to the master (the test).
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/sihmon_sac.rs"]
mod sac;

use common::prereq::{require, Need};
use rustix::fs::{flock, FlockOperation};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcgetattr, ControlModes};
use sac::{Sac, PATIENCE};
use std::io::Read;
use std::time::Instant;

#[test]
fn line_parameters_and_the_loader_on_a_pseudo_terminal() {
    if !require(&[Need::Root]) {
        return;
    }
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let slave = ptsname(&master, Vec::new()).unwrap().into_string().unwrap();
    // Keep the slave open, so the master reads what the loader writes.
    let held = std::fs::File::open(&slave).unwrap();

    let mut sac = Sac::new();
    sac.write(
        "etc/ttydefs",
        "# VERSION=1\n4800:4800:4800 cs8 cstopb clocal -hupcl erase ^h::4800\n",
    );
    let load = sac.script("load", "printf 'LOADED\\n' > \"$1\"");
    sac.pmtab(&format!(
        "t1::root::::{slave}:o:4800::{} {slave}\n",
        load.display()
    ));
    sac.start(&["-d", "2"], "enabled");

    let mut got = Vec::new();
    let mut master = std::fs::File::from(master);
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 256];
    rustix::io::ioctl_fionbio(&master, true).unwrap();
    while !String::from_utf8_lossy(&got).contains("LOADED") {
        assert!(
            Instant::now() < deadline,
            "the loader wrote nothing: {}",
            sac.log()
        );
        match master.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    let t = tcgetattr(&held).unwrap();
    assert_eq!(t.output_speed(), 4800);
    assert!(t
        .control_modes
        .contains(ControlModes::CSTOPB | ControlModes::CLOCAL));
    assert!(!t.control_modes.contains(ControlModes::HUPCL));
    assert!(
        flock(&held, FlockOperation::NonBlockingLockExclusive).is_err(),
        "loading mode holds the line"
    );
    assert!(sac.wait(|s| s.sihadm(&["-S", "t1", "sih1"]).1.contains("t1 LOADED")));
    let trace = sac.read(&sac.var("trace"));
    assert!(
        trace.contains("termios from ttydefs label 4800; ignored: erase ^h"),
        "{trace}"
    );
    assert_eq!(sac.terminate().code(), Some(0));
    flock(&held, FlockOperation::NonBlockingLockExclusive).expect("released at the end");
}
