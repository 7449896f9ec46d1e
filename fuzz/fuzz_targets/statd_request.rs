//! The whole NSM request path: bytes in (a UDP datagram, or a TCP byte
//! stream reassembled into records), through the RPC server and the NSM
//! core, reply bytes out. Store jobs succeed at once, name lookups fail at
//! once, deferred replies are completed. Never panics, and every reply is a
//! well-formed RPC reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::rpc::message::decode_reply;
use statmon::rpc::record::RecordReader;
use statmon::rpc::server::{Outcome, RpcServer, ServerConfig};
use statmon::rpc::{Caller, Program, Transport};
use statmon::statd::core::{NsmCore, Output, StoreDone, StoreJob};
use statmon::statd::record::{Change, Effect};
use std::time::Instant;

fn effects(changes: &[Change]) -> Vec<Effect> {
    changes
        .iter()
        .map(|c| match c {
            Change::Monitor(_) => Effect::Added,
            Change::Unmonitor(_) | Change::UnmonitorAll(_) | Change::NotifyDone { .. } => {
                Effect::Removed(1)
            }
            Change::SetState(_) | Change::SetBootId(_) => Effect::Updated,
        })
        .collect()
}

fn check_reply(bytes: &[u8]) {
    assert!(decode_reply(bytes).is_ok(), "malformed reply");
}

/// Runs the core until it has nothing more to do.
fn settle(server: &mut RpcServer, core: &mut NsmCore, now: Instant) {
    for _ in 0..64 {
        let mut busy = false;
        while let Some(job) = core.poll_store_job() {
            busy = true;
            let done = match job {
                StoreJob::Commit(changes) => StoreDone::Committed(Ok(effects(&changes))),
                StoreJob::Reboot(_) => StoreDone::Rebooted(Ok((core.state() + 2, Vec::new()))),
            };
            core.store_done(done);
        }
        while let Some(out) = core.poll_output() {
            busy = true;
            match out {
                Output::Reply(to, d) => {
                    if let Some((_, reply)) = server.complete(now, to, d) {
                        check_reply(&reply);
                    }
                }
                Output::Resolve(id, _) => core.resolved(id, None),
                _ => {}
            }
        }
        if !busy {
            return;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut server = RpcServer::new(ServerConfig::default());
    let mut core = NsmCore::new(3, &[]);
    let (who, body) = data.split_first().map_or((0, data), |(b, rest)| (*b, rest));
    let addr = match who % 4 {
        0 => "127.0.0.1:1000",
        1 => "127.0.0.1:40000",
        2 => "[::1]:700",
        _ => "192.0.2.7:800",
    };
    let udp = Caller {
        addr: addr.parse().unwrap(),
        transport: Transport::Udp,
    };
    let tcp = Caller {
        addr: addr.parse().unwrap(),
        transport: Transport::Tcp,
    };
    // As one datagram.
    {
        let programs: &mut [&mut dyn Program] = &mut [&mut core];
        if let Outcome::Reply(r) = server.handle(now, udp, body, programs) {
            check_reply(&r);
        }
    }
    settle(&mut server, &mut core, now);
    // As a TCP stream, in pieces.
    let mut records = RecordReader::new(9000);
    let piece = usize::from(who / 4).max(1);
    for chunk in body.chunks(piece) {
        records.push(chunk);
        while let Some(Ok(record)) = records.poll_record() {
            {
                let programs: &mut [&mut dyn Program] = &mut [&mut core];
                if let Outcome::Reply(r) = server.handle(now, tcp, &record, programs) {
                    check_reply(&r);
                }
            }
            settle(&mut server, &mut core, now);
        }
    }
});
