//! A captured session (registration with the embedded portmapper, rpcinfo
//! over every transport, shutdown) decodes in tshark with no malformed
//! packets. Runs when tshark is installed (the test command installs it).

mod common;

use common::sandbox::{unavailable, which, Sandbox};
use common::{nsm_registered_everywhere, rpcinfo, statd_command};

fn tshark_count(sb: &Sandbox, file: &str, filter: &str) -> usize {
    let out = sb.run("tshark", &["-n", "-r", file, "-Y", filter]);
    assert!(
        out.status.success(),
        "tshark -Y {filter}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn captured_session_has_no_malformed_packets() {
    if let Some(why) = unavailable() {
        println!("wire check: skipped, {why}");
        return;
    }
    if which("tshark").is_none() || which("rpcinfo").is_none() {
        println!("wire check: skipped, tshark or rpcinfo missing");
        return;
    }
    let mut sb = Sandbox::new();
    let pcap = sb.dir.path().join("session.pcapng");
    let pcap_s = pcap.to_str().unwrap().to_string();
    let mut cap = sb.command("tshark");
    cap.args(["-n", "-i", "lo", "-w", &pcap_s, "-f", "udp or tcp"]);
    let tshark = sb.spawn(cap, "tshark.log");
    assert!(
        sb.wait_until(20, || sb.log("tshark.log").contains("Capturing on")),
        "{}",
        sb.log("tshark.log")
    );

    let state = sb.dir.path().join("state");
    let statd = sb.spawn(
        statd_command(&sb, &["-F", "-p", "20024", "-P", state.to_str().unwrap()]),
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
    std::thread::sleep(std::time::Duration::from_millis(500));
    sb.stop(tshark, libc::SIGINT).expect("tshark did not stop");

    let rpc = tshark_count(&sb, &pcap_s, "rpc");
    let portmap = tshark_count(&sb, &pcap_s, "portmap");
    let nsm = tshark_count(&sb, &pcap_s, "stat");
    let malformed = tshark_count(
        &sb,
        &pcap_s,
        "_ws.malformed || _ws.expert.severity == error",
    );
    println!(
        "wire check: {rpc} RPC packets ({portmap} portmapper, {nsm} NSM), {malformed} malformed"
    );
    assert!(
        portmap >= 10,
        "too few portmapper packets decoded: {portmap}"
    );
    assert!(nsm >= 4, "too few NSM packets decoded: {nsm}");
    assert_eq!(malformed, 0, "malformed packets in the capture");
}
