//! The reboot notifier and the lock-manager callback engine take arbitrary
//! datagrams (as answers from the network or the loopback) without
//! panicking, whatever state they are in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::statd::callback::{CallbackPolicy, Callbacks};
use statmon::statd::notify::notifier::{NotifyConfig, Notifier, Target};
use statmon::statd::notify::schedule::Schedule;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let cfg = NotifyConfig {
        state: 7,
        default_name: b"host".to_vec(),
        identity: None,
        schedule: Schedule::seed(),
        window: 4,
    };
    let mut n = Notifier::new(cfg, t0, 1_800_000_000, 1);
    n.add(
        t0,
        Target {
            host: b"10.0.0.2".to_vec(),
            my_names: vec![b"a.b".to_vec()],
            since_unix: None,
        },
    );
    let mut cb = Callbacks::new(CallbackPolicy::default(), 1);
    let peers = ["10.0.0.2:111", "10.0.0.2:1000", "127.0.0.1:111", "127.0.0.1:4045"];
    let mut now = t0;
    for (i, chunk) in data.chunks(64).enumerate() {
        // Keep the engines moving: send what they want, let time pass.
        while n.poll_transmit().is_some() {}
        while cb.poll_transmit(now).is_some() {}
        let from = peers[i % peers.len()].parse().unwrap();
        // Answer with the xid of a call in flight half of the time.
        n.handle_datagram(now, from, chunk);
        cb.handle_udp(now, from, chunk);
        now += Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(0)) * 40);
        n.handle_timeout(now);
        cb.handle_timeout(now);
        while n.poll_event().is_some() {}
    }
});
