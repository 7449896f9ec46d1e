//! The never-panic guarantee of vold's request path in the ordinary
//! `cargo test`, as the fuzz target `vold_request` takes it: random bytes
//! and mutated valid messages, each handed to one enabled engine over
//! copies in a temporary directory. Every reply echoes the request's
//! sequence number and decodes again.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use statmon::vold::engine::{Engine, Mode, Paths, Portal};
use statmon::vold::store::FileStore;
use statmon::vold::wire::{Message, Opcode};

fn engine(dir: &std::path::Path) -> Engine<FileStore> {
    let paths = Paths {
        voldesc: dir.join("voldesc"),
        kernel: dir.join("kernel.db"),
    };
    let mut e = Engine::new(FileStore::default(), paths);
    let init = format!(
        "configid={}\n{d}/db0,0,256\n{d}/db1,0,256",
        "5a".repeat(16),
        d = dir.display()
    );
    let (m, _) = e.handle(0, Portal::Diag, &Message::new(Opcode::INIT, 1, init));
    assert_eq!(m.opcode, Opcode::OK, "{}", m.body);
    e.enable().unwrap();
    e
}

const VALID: &[(u16, &str)] = &[
    (1, "test"),
    (2, "vol"),
    (3, "0123456789abcdef0123456789abcdef"),
    (
        4,
        "create\nsd s path=/x len=8\nplex p sd=s\nvol v len=8 plex=p\n",
    ),
    (4, "modify vol v mode=0644"),
    (4, "delete -r vol v"),
    (5, "0123456789abcdef0123456789abcdef"),
    (6, ""),
    (20, ""),
    (26, ""),
    (25, ""),
    (27, ""),
    (28, ""),
    (30, "1"),
];

fn check(e: &mut Engine<FileStore>, conn: u64, portal: Portal, packet: &[u8]) {
    let Ok(msg) = Message::decode(packet) else {
        return;
    };
    if msg.opcode == Opcode::HALT || msg.opcode == Opcode::INIT {
        return;
    }
    let (reply, _) = e.handle(conn, portal, &msg);
    assert_eq!(reply.seq, msg.seq);
    assert_eq!(Message::decode(&reply.encode()).unwrap(), reply);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_and_mutated_packets_never_panic(
        packets in proptest::collection::vec(
            (0..VALID.len(), proptest::collection::vec((0usize..256, any::<u8>()), 0..4), any::<bool>(), 0u64..3),
            1..12,
        ),
        noise in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut e = engine(dir.path());
        check(&mut e, 0, Portal::Request, &noise);
        for (i, flips, diag, conn) in packets {
            let (op, body) = VALID[i];
            let mut packet = Message::new(Opcode(op), 7, body).encode();
            for (at, byte) in flips {
                let n = packet.len();
                packet[at % n] = byte;
            }
            let portal = if diag { Portal::Diag } else { Portal::Request };
            check(&mut e, conn, portal, &packet);
        }
        for conn in 0..3 {
            e.closed(conn);
        }
        prop_assert!(matches!(e.mode(), Mode::Enabled | Mode::Disabled(_)));
    }
}
