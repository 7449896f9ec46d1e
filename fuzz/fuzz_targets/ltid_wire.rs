//! The ltid protocol: arbitrary bytes, cut into chunks of the size the
//! first byte says, through the deframer never panic; every frame that
//! decodes encodes back to a frame that decodes to the same message (the
//! status text excepted when it was cut), and goes into an engine that
//! must not panic either (reservation requests and verdicts included).
//! The same bytes as a queue message, as the reservations file and (lossy
//! UTF-8) as vm.conf never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::ltid::conf::VmConf;
use statmon::ltid::core::LtidCore;
use statmon::ltid::held;
use statmon::ltid::mq::LtidMsg;
use statmon::ltid::wire::{Deframer, Message, MAX_FRAME};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let text = String::from_utf8_lossy(rest);
    let conf = match VmConf::parse(&text) {
        Ok((c, _)) => c,
        Err(p) => {
            assert!(p.line >= 1);
            VmConf::parse("SERVER = a\nSERVER = b\nSHARED_DRIVE = d path=/dev/nst0 robot=TLD\n")
                .map(|(c, _)| c)
                .unwrap_or_default()
        }
    };
    let t = Instant::now();
    let mut core = LtidCore::new(&conf, "a", 10, t);
    core.discovered(t);
    let mut de = Deframer::default();
    let mut now = t;
    for piece in rest.chunks(chunk) {
        de.push(piece);
        while let Some(frame) = de.next_frame() {
            let Ok(frame) = frame else {
                return;
            };
            let Ok(m) = frame.decode() else {
                continue;
            };
            let bytes = m.encode();
            assert!(bytes.len() - 4 <= MAX_FRAME);
            let mut again = Deframer::default();
            again.push(&bytes);
            let back = again.next_frame().expect("a whole frame").expect("a good frame");
            let back = back.decode().expect("decodes");
            if !matches!(m, Message::ShowText(_)) {
                assert_eq!(back, m);
            }
            now += Duration::from_millis(700);
            match m {
                Message::HostInfo(info) => {
                    core.handle_peer_info(now, info);
                }
                Message::Status(row) => core.handle_remote_row(now, row),
                Message::Snapshot(rows) => rows.into_iter().for_each(|r| core.handle_remote_row(now, r)),
                Message::Operate { op, drive } => {
                    let _ = core.operate(now, op, &drive);
                }
                Message::StartOprd { host } => core.link_up(&host),
                Message::ReserveDrive { info, drive } => {
                    let _ = core.arbitrate(now, info, &drive);
                }
                Message::ReleaseDrive { host, drive } => {
                    let _ = core.arbitrate_release(now, &host, &drive);
                }
                Message::Verdict { drive, holder, text } => {
                    core.handle_verdict(now, &holder, &drive, &holder, &text);
                    core.ask_failed(&drive, &text, "fuzz");
                    core.renew(now);
                }
                Message::Term { leaving, reason } => core.link_down(now, &reason, !leaving),
                _ => core.handle_timeout(now),
            }
            while core.poll_action().is_some() {}
            let _ = core.render_status(now);
        }
    }
    let _ = LtidMsg::decode(rest).map(|m| m.log_text());
    if let Ok(drives) = held::parse(rest) {
        assert_eq!(held::render(&drives).as_bytes(), rest);
        core.reassert(now, &drives);
        while core.poll_action().is_some() {}
    }
});
