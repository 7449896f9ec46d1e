//! A captured session (registration with the embedded portmapper, rpcinfo
//! over every transport, shutdown) decodes in tshark with no malformed
//! packets, on the distribution's layout. Needs dumpcap and tshark (the
//! test command installs them; see `common::prereq`); the helpers are in `tests/common/wire.rs`.

mod common;

use common::layout::{self, StateFile};
use common::prereq::{self, Need};
use common::sandbox::Sandbox;
use common::wire::{self, Capture, RpcPorts};
use common::{daemon, nsm_registered_everywhere, rpcinfo};

#[test]
fn captured_session_has_no_malformed_packets() {
    let mut needs = vec![Need::Sandbox, Need::StatdUser, Need::Tool("rpcinfo")];
    needs.extend(wire::NEEDS);
    if !prereq::require(&needs) {
        return;
    }
    let mut sb = Sandbox::new();
    let cap = Capture::start(&mut sb, "session", &["lo"]);

    let state = sb.dir.path().join("state");
    layout::stock(&state, StateFile::Empty);
    let statd = sb.spawn(
        daemon::statd_may_embed(&sb, &state, 20024, &[]),
        "statd.log",
    );
    assert!(
        sb.wait_until(15, || nsm_registered_everywhere(&rpcinfo(&sb, &[]))),
        "{}",
        sb.log("statd.log")
    );
    rpcinfo(&sb, &["-p", "127.0.0.1"]);
    for (flag, host) in [
        ("-u", "127.0.0.1"),
        ("-t", "127.0.0.1"),
        ("-u", "::1"),
        ("-t", "::1"),
    ] {
        assert!(rpcinfo(&sb, &[flag, host, "100024", "1"]).contains("ready and waiting"));
    }
    assert_eq!(
        sb.stop(statd, libc::SIGTERM).and_then(|s| s.code()),
        Some(0)
    );
    let pcap = cap.stop(&mut sb);

    let report = wire::analyse(&pcap, &RpcPorts::both(&[111, 20024]));
    report.print("wire check");
    let portmap = report.count("PMAP ") + report.count("RPCB ");
    let nsm = report.count("NSM ");
    assert!(
        portmap >= 10,
        "too few portmapper messages decoded: {portmap}"
    );
    assert!(nsm >= 4, "too few NSM messages decoded: {nsm}");
    report.assert_clean("wire check");
}
