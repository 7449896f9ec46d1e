//! sihmon as sac runs it: started in `/etc/saf/<pmtag>` of a temporary
//! root with `PMTAG` and `ISTATE`, spoken to on `_pmpipe` and answering on
//! `../_sacpipe` in the SVR4 layouts, stopped with SIGTERM.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/sihmon_sac.rs"]
mod sac;

use common::prereq::{require, Need};
use sac::Sac;
use statmon::sihmon::wire::{PmState, PmType, ScType};

#[test]
fn answers_every_sac_message_with_its_state() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    sac.start(&[], "enabled");
    sac.send(ScType::STATUS);
    let m = sac.reply();
    assert_eq!(
        (m.kind, m.state, m.maxclass, m.size),
        (PmType::STATUS, PmState::ENABLED, 1, 0)
    );
    assert_eq!(m.tag, b"sih1");
    sac.send(ScType::DISABLE);
    assert_eq!(sac.reply().state, PmState::DISABLED);
    sac.send(ScType::STATUS);
    assert_eq!(sac.reply().state, PmState::DISABLED);
    sac.send(ScType::ENABLE);
    assert_eq!(sac.reply().state, PmState::ENABLED);
    sac.send(ScType::READDB);
    let m = sac.reply();
    assert_eq!((m.kind, m.state), (PmType::STATUS, PmState::ENABLED));
    sac.send(ScType(9));
    let m = sac.reply();
    assert_eq!((m.kind, m.state), (PmType::UNKNOWN, PmState::ENABLED));
    // Two messages in one write, and one split over two writes.
    let two = [
        statmon::sihmon::wire::SacMsg::new(ScType::STATUS).encode(),
        statmon::sihmon::wire::SacMsg::new(ScType::DISABLE).encode(),
    ]
    .concat();
    sac.send_raw(&two);
    assert_eq!(sac.reply().state, PmState::ENABLED);
    assert_eq!(sac.reply().state, PmState::DISABLED);
    let one = statmon::sihmon::wire::SacMsg::new(ScType::STATUS).encode();
    sac.send_raw(&one[..3]);
    sac.send_raw(&one[3..]);
    assert_eq!(sac.reply().state, PmState::DISABLED);
    let st = sac.terminate();
    assert_eq!(st.code(), Some(0), "{}", sac.output());
    let log = sac.log();
    for word in [
        "started",
        "disabled by SAC",
        "enabled by SAC",
        "unknown SAC message type 9",
        "terminated",
    ] {
        assert!(log.contains(word), "{word} not in:\n{log}");
    }
}

#[test]
fn a_disabled_start_reports_disabled() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    sac.start(&[], "disabled");
    sac.send(ScType::STATUS);
    assert_eq!(sac.reply().state, PmState::DISABLED);
    assert_eq!(sac.terminate().code(), Some(0));
}

#[test]
fn serves_sac_inside_statmon_run_too() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    sac.open_pipes();
    let cmd = sac.command(&[], "enabled");
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    assert_eq!(args, ["sihmon"]);
    let mut run = std::process::Command::new(sac::STATMON);
    run.args(["run", "sihmon -d 1"]);
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            run.env(k, v);
        }
    }
    run.current_dir(sac.pm(""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    sac.child = Some(run.spawn().unwrap());
    assert!(
        sac.wait(|s| s.log().contains("started")),
        "{}",
        sac.output()
    );
    sac.send(ScType::DISABLE);
    assert_eq!(sac.reply().state, PmState::DISABLED);
    assert_eq!(sac.terminate().code(), Some(0), "{}", sac.output());
    assert!(sac.read(&sac.var("trace")).contains("disabled by SAC"));
}

#[test]
fn survives_sac_going_away_and_answers_it_when_back() {
    if !require(&[Need::Root]) {
        return;
    }
    let mut sac = Sac::new();
    sac.start(&[], "enabled");
    sac.close_sacpipe();
    sac.send(ScType::DISABLE);
    assert!(
        sac.wait(|s| s.log().contains("cannot answer on _sacpipe")),
        "{}",
        sac.log()
    );
    // Back, in recovery: sac asks for the state and adopts it.
    sac.reopen_sacpipe();
    sac.send(ScType::STATUS);
    let m = sac.reply();
    assert_eq!((m.kind, m.state), (PmType::STATUS, PmState::DISABLED));
    assert_eq!(sac.terminate().code(), Some(0));
}
