//! The never-panic guarantee in the ordinary `cargo test`: the same inputs
//! the fuzz targets take (`fuzz/fuzz_targets/`), as property tests with
//! random bytes and mutated valid messages. The fuzzers go much further;
//! this keeps a regression from slipping in between fuzz runs.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use statmon::proto::sm_inter::{Mon, MonId, MyId, SmName, SmProc};
use statmon::rpc::message::{decode_reply, encode_call};
use statmon::rpc::record::RecordReader;
use statmon::rpc::server::{Outcome, RpcServer, ServerConfig};
use statmon::rpc::{Caller, Credential, Program, Transport};
use statmon::statd::callback::{CallbackPolicy, Callbacks};
use statmon::statd::core::{NsmCore, Output, StoreDone, StoreJob};
use statmon::statd::notify::notifier::{Notifier, NotifyConfig, Target};
use statmon::statd::notify::schedule::Schedule;
use statmon::statd::record::{Change, Effect};
use statmon::statd::store::apple::format as apple;
use statmon::statd::store::nfsutils::format as nfsutils;
use statmon::xdr::{Bounded, FixedOpaque, Xdr};
use std::time::{Duration, Instant};

fn effects(changes: &[Change]) -> Vec<Effect> {
    changes
        .iter()
        .map(|c| match c {
            Change::Monitor(_) => Effect::Added,
            Change::SetState(_) | Change::SetBootId(_) => Effect::Updated,
            _ => Effect::Removed(1),
        })
        .collect()
}

/// Feeds `msg` to a fresh server + core as a datagram and as TCP records;
/// every reply must decode.
fn serve(msg: &[u8], from: &str) {
    let now = Instant::now();
    let mut server = RpcServer::new(ServerConfig::default());
    let mut core = NsmCore::new(3, &[]);
    for transport in [Transport::Udp, Transport::Tcp] {
        let caller = Caller {
            addr: from.parse().unwrap(),
            transport,
        };
        {
            let programs: &mut [&mut dyn Program] = &mut [&mut core];
            if let Outcome::Reply(r) = server.handle(now, caller, msg, programs) {
                assert!(decode_reply(&r).is_ok());
            }
        }
        for _ in 0..16 {
            let mut busy = false;
            while let Some(job) = core.poll_store_job() {
                busy = true;
                let done = match job {
                    StoreJob::Commit(c) => StoreDone::Committed(Ok(effects(&c))),
                    StoreJob::Reboot(_) => StoreDone::Rebooted(Ok((5, Vec::new()))),
                };
                core.store_done(done);
            }
            while let Some(out) = core.poll_output() {
                busy = true;
                match out {
                    Output::Reply(to, d) => {
                        if let Some((_, r)) = server.complete(now, to, d) {
                            assert!(decode_reply(&r).is_ok());
                        }
                    }
                    Output::Resolve(id, _) => core.resolved(id, None),
                    _ => {}
                }
            }
            if !busy {
                break;
            }
        }
    }
}

/// A valid SM_MON call, for mutation.
fn sm_mon(mon_name: &[u8]) -> Vec<u8> {
    let args = Mon {
        mon_id: MonId {
            mon_name: Bounded::new(mon_name.to_vec()).unwrap_or_default(),
            my_id: MyId {
                my_name: Bounded::new(b"client".to_vec()).unwrap(),
                my_prog: 100_021,
                my_vers: 4,
                my_proc: 16,
            },
        },
        cookie: FixedOpaque([7; 16]),
    };
    encode_call(
        9,
        100_024,
        1,
        SmProc::MON.0,
        &Credential::None,
        &args.to_xdr(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_through_the_request_path(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        serve(&bytes, "127.0.0.1:900");
        serve(&bytes, "192.0.2.1:900");
    }

    #[test]
    fn mutated_calls_through_the_request_path(
        proc in 0u32..8,
        name in proptest::collection::vec(any::<u8>(), 0..40),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
    ) {
        let mut msg = if proc == 2 {
            sm_mon(&name)
        } else {
            let args = SmName { mon_name: Bounded::new(name.clone()).unwrap_or_default() };
            encode_call(5, 100_024, 1, proc, &Credential::None, &args.to_xdr())
        };
        for (at, b) in flips {
            let len = msg.len();
            msg[at % len] ^= b;
        }
        let keep = cut % (msg.len() + 1);
        serve(&msg[..keep.max(msg.len() / 2)], "127.0.0.1:700");
    }

    #[test]
    fn tcp_records_in_any_pieces(bytes in proptest::collection::vec(any::<u8>(), 0..2000), piece in 1usize..64) {
        let mut r = RecordReader::new(9000);
        for chunk in bytes.chunks(piece) {
            r.push(chunk);
            while let Some(rec) = r.poll_record() {
                if let Ok(rec) = rec {
                    prop_assert!(rec.len() <= 9000);
                }
            }
        }
    }

    #[test]
    fn store_files_parse_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        let (regs, _) = nfsutils::parse_file(&bytes);
        let (again, bad) = nfsutils::parse_file(&nfsutils::format_file(&regs));
        prop_assert!(bad.is_empty());
        prop_assert_eq!(again, regs);
        let _ = nfsutils::parse_state(Some(&bytes));
        let _ = apple::parse(&bytes);
    }

    #[test]
    fn notifier_and_callbacks_take_any_datagram(
        datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..20),
    ) {
        let t0 = Instant::now();
        let cfg = NotifyConfig {
            state: 7,
            default_name: b"host".to_vec(),
            identity: None,
            schedule: Schedule::seed(),
            window: 4,
        };
        let mut n = Notifier::new(cfg, t0, 1_800_000_000, 1);
        n.add(t0, Target { host: b"10.0.0.2".to_vec(), my_names: vec![b"a.b".to_vec()], since_unix: None });
        let mut cb = Callbacks::new(CallbackPolicy::default(), 1);
        let mut now = t0;
        for (i, d) in datagrams.iter().enumerate() {
            while n.poll_transmit().is_some() {}
            while cb.poll_transmit(now).is_some() {}
            let from = if i % 2 == 0 { "10.0.0.2:111" } else { "127.0.0.1:111" };
            n.handle_datagram(now, from.parse().unwrap(), d);
            cb.handle_udp(now, from.parse().unwrap(), d);
            now += Duration::from_millis(700);
            n.handle_timeout(now);
            cb.handle_timeout(now);
            while n.poll_event().is_some() {}
        }
    }
}
