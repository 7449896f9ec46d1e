//! Fixtures for the engine's unit tests: an enabled engine over three
//! copies in a [`MemStore`], one transaction, a restart over what is on
//! "disk".

use super::engine::{After, Engine, Paths, Portal};
use super::store::mem::MemStore;
use super::wire::{Message, Opcode};

pub(super) const A: &str = "/d/a,0,64";
pub(super) const B: &str = "/d/b,0,64";
pub(super) const C: &str = "/d/c,8,64";
pub(super) const DESC: &str = "sd s1 path=/d/disk len=16\nplex p1 sd=s1\nvol v1 len=16 plex=p1\n";

pub(super) fn paths() -> Paths {
    Paths {
        voldesc: "/etc/voldesc".into(),
        kernel: "/run/kernel.db".into(),
    }
}

pub(super) fn ask(
    e: &mut Engine<MemStore>,
    portal: Portal,
    op: Opcode,
    body: &str,
) -> (Message, After) {
    e.handle(1, portal, &Message::new(op, 9, body))
}

pub(super) fn admin(e: &mut Engine<MemStore>, op: Opcode, body: &str) -> Message {
    ask(e, Portal::Diag, op, body).0
}

/// An enabled engine over copies A, B and C.
pub(super) fn enabled() -> Engine<MemStore> {
    let mut e = Engine::new(MemStore::default(), paths());
    let init = format!("configid={}\n{A}\n{B}\n{C}", "ab".repeat(16));
    assert_eq!(admin(&mut e, Opcode::INIT, &init).opcode, Opcode::OK);
    assert_eq!(admin(&mut e, Opcode::ENABLE, "").opcode, Opcode::OK);
    e
}

/// Runs one transaction creating DESC with id `txid` on connection 1.
pub(super) fn make(e: &mut Engine<MemStore>, txid: &str) -> Message {
    let b = ask(e, Portal::Request, Opcode::BEGIN, txid).0;
    if b.opcode != Opcode::OK {
        return b;
    }
    assert_eq!(
        ask(e, Portal::Request, Opcode::OP, &format!("create\n{DESC}"))
            .0
            .opcode,
        Opcode::OK
    );
    ask(e, Portal::Request, Opcode::COMMIT, txid).0
}

/// A new engine (vold restarted) over what `e` left on disk.
pub(super) fn restart(e: &Engine<MemStore>) -> Engine<MemStore> {
    let mut store = e.store.clone();
    store.crashed = false;
    store.crash_at = None;
    let mut n = Engine::new(store, paths());
    let _ = n.enable();
    n
}

pub(super) const T1: &str = "11111111111111111111111111111111";
