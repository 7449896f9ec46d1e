//! sihmon's never-panic guarantee in the ordinary `cargo test`: the inputs
//! of its fuzz targets (`fuzz/fuzz_targets/saf_msg.rs`, `sih_tables.rs`)
//! as property tests: random bytes as every SAF structure and as a
//! `_pmpipe` stream cut into random writes, random text as the four
//! tables, all fed on to the engine.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use statmon::sihmon::core::{Config, Engine, MAX_LINKS};
use statmon::sihmon::framing::{Framed, SacStream, MAX_BUFFER};
use statmon::sihmon::tables::{pmtab, Tables};
use statmon::sihmon::wire::{AdmAck, AdmCmd, PmMsg, PmState, PmType, SacMsg, PMMSG_SIZE};
use std::time::{Duration, Instant};

/// A stream of plausible messages: known and unknown types, some with
/// data, some with hostile sizes.
fn messages() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (any::<i8>(), prop_oneof![Just(0i32), 0..16i32, any::<i32>()]),
        0..40,
    )
    .prop_map(|ms| {
        let mut out = Vec::new();
        for (kind, size) in ms {
            out.extend_from_slice(
                &SacMsg {
                    size,
                    kind: statmon::sihmon::wire::ScType(kind % 6),
                }
                .encode(),
            );
            if (0..16).contains(&size) {
                out.extend(std::iter::repeat_n(0xa5, size as usize));
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_structure_decodes_and_reencodes(data in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(m) = SacMsg::decode(&data) {
            prop_assert_eq!(SacMsg::decode(&m.encode()), Ok(m));
        }
        if let Ok(m) = PmMsg::decode(&data) {
            prop_assert_eq!(PmMsg::decode(&m.encode()), Ok(m));
        }
        if let Ok(c) = AdmCmd::decode(&data) {
            prop_assert_eq!(AdmCmd::decode(&c.encode()), Ok(c));
        }
        if let Ok(a) = AdmAck::decode(&data) {
            prop_assert_eq!(AdmAck::decode(&a.encode()), Ok(a));
        }
    }

    #[test]
    fn a_stream_in_any_pieces_gets_one_answer_per_message(
        data in prop_oneof![messages(), prop::collection::vec(any::<u8>(), 0..512)],
        chunk in 1usize..40,
    ) {
        let now = Instant::now();
        let mut engine = Engine::new(Config::new(90, 0), "sih1", PmState::ENABLED);
        let mut stream = SacStream::new();
        let mut whole = SacStream::new();
        let expected: Vec<Framed> = whole.push(&data);
        let mut got = Vec::new();
        for piece in data.chunks(chunk) {
            for framed in stream.push(piece) {
                got.push(framed);
                if let Framed::Msg(msg) = framed {
                    let (reply, _) = engine.handle_sac(now + Duration::from_secs(1), msg.kind);
                    prop_assert_eq!(reply.kind == PmType::UNKNOWN, !(1..=4).contains(&msg.kind.0));
                    prop_assert_eq!(reply.encode().len(), PMMSG_SIZE);
                }
            }
            prop_assert!(stream.pending() <= MAX_BUFFER);
            while engine.poll_action().is_some() {}
        }
        // Cut or whole, the same messages come out (up to a bad size,
        // which discards what followed it in its write).
        if !expected.iter().any(|f| !matches!(f, Framed::Msg(_))) {
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn any_tables_parse_and_feed_the_engine(
        parts in prop::collection::vec("[ -~\n]{0,300}", 4),
        lines in prop::collection::vec(
            ("[a-z0-9]{1,16}", "[xuz]{0,2}", "[a-z/]{0,8}", "[olnq]", "[0-9a-z]{0,5}", "[a-z ]{0,12}"),
            0..8,
        ),
    ) {
        let mut pmtab_text = format!("# VERSION=1\n{}", parts[0]);
        for (svc, flags, dev, adj, lab, cmd) in &lines {
            pmtab_text.push_str(&format!("{svc}:{flags}:root::::{dev}:{adj}:{lab}:{lab}:{cmd}\n"));
        }
        let texts: Vec<String> = parts[1..].iter().map(|p| format!("# VERSION=1\n{p}")).collect();
        let (tables, _) = Tables::parse([
            ("pmtab", &pmtab_text),
            ("hdlclabs", &texts[0]),
            ("hdlcdefs", &texts[1]),
            ("ttydefs", &texts[2]),
        ])
        .unwrap();
        for e in &tables.pmtab {
            let line = format!("{}::root::::{}", e.svctag, e.specific.pmspecific());
            let (back, rejected) = pmtab::parse(&line);
            prop_assert!(rejected.is_empty());
            prop_assert_eq!(&back[0].specific, &e.specific);
            let _ = tables.params(&e.specific);
        }
        let now = Instant::now();
        let mut engine = Engine::new(Config::new(10, 2), "sih1", PmState::ENABLED);
        engine.handle_tables(now, tables);
        while engine.poll_action().is_some() {}
        engine.handle_timeout(now + Duration::from_secs(100));
        while engine.poll_action().is_some() {}
        prop_assert!(engine.status(None).iter().filter(|l| l.enabled).count() <= MAX_LINKS);
    }
}
