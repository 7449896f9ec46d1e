//! Shared helpers for the daemon integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod sandbox;

use std::process::Command;

/// The statmon binary under test.
pub const STATMON: &str = env!("CARGO_BIN_EXE_statmon");

/// `statmon rpc.statd ARGS` as a command run inside `sb`.
pub fn statd_command(sb: &sandbox::Sandbox, args: &[&str]) -> Command {
    let mut c = sb.command(STATMON);
    c.arg("rpc.statd").args(args);
    c
}

/// Text of `rpcinfo ARGS` run inside `sb` (stdout and stderr).
pub fn rpcinfo(sb: &sandbox::Sandbox, args: &[&str]) -> String {
    let out = sb.run("rpcinfo", args);
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Whether `rpcinfo` (rpcbind v4 dump) lists 100024 v1 on all four netids.
pub fn nsm_registered_everywhere(dump: &str) -> bool {
    ["udp", "tcp", "udp6", "tcp6"].iter().all(|netid| {
        dump.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 3 && f[0] == "100024" && f[1] == "1" && f[2] == *netid
        })
    })
}
