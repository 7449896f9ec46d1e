//! sihmon's SAF side: arbitrary bytes as each SAF structure decode without
//! panicking and re-encode to what they decoded from; cut into arbitrary
//! writes they go through the `_pmpipe` framing (never more buffered than
//! its cap); every framed message gets exactly one 24-byte answer from the
//! engine, PM_UNKNOWN for an unknown type only, with the monitor's tag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::sihmon::core::{Config, Engine};
use statmon::sihmon::framing::{Framed, SacStream, MAX_BUFFER};
use statmon::sihmon::wire::{AdmAck, AdmCmd, PmMsg, PmState, PmType, SacMsg, PMMSG_SIZE};
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SacMsg::decode(data) {
        assert_eq!(SacMsg::decode(&m.encode()), Ok(m));
    }
    if let Ok(m) = PmMsg::decode(data) {
        assert_eq!(PmMsg::decode(&m.encode()).as_ref(), Ok(&m));
    }
    if let Ok(c) = AdmCmd::decode(data) {
        assert_eq!(AdmCmd::decode(&c.encode()).as_ref(), Ok(&c));
    }
    if let Ok(a) = AdmAck::decode(data) {
        assert_eq!(AdmAck::decode(&a.encode()), Ok(a));
    }

    // The first byte chooses the write size (1..=32).
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 32) + 1;
    let now = Instant::now();
    let mut engine = Engine::new(Config::new(90, 0), "sih1", PmState::ENABLED);
    let mut stream = SacStream::new();
    for piece in rest.chunks(chunk) {
        for framed in stream.push(piece) {
            let Framed::Msg(msg) = framed else {
                continue;
            };
            let (reply, _) = engine.handle_sac(now, msg.kind);
            let known = (1..=4).contains(&msg.kind.0);
            assert_eq!(reply.kind == PmType::UNKNOWN, !known);
            assert_eq!(reply.encode().len(), PMMSG_SIZE);
            assert_eq!(reply.tag, b"sih1");
            assert!(matches!(reply.state, PmState::ENABLED | PmState::DISABLED));
        }
        assert!(stream.pending() <= MAX_BUFFER);
        while engine.poll_action().is_some() {}
    }
});
