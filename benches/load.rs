//! Load benchmark: statmon's rpc.statd against Debian's (nfs-utils 2.6.2)
//! in the same run, on the same machine, and against a do-nothing responder
//! (the floor: the machine's limit for the same load). Everything runs in
//! one sandbox (private network and mount namespaces, its own `rpcbind -f`);
//! all traffic is on 127.0.0.0/8. statmon is the release build `cargo bench`
//! makes.
//!
//! `cargo bench --bench load` (as root; otherwise it says why and ends).
//! Environment:
//! - `LOAD_BENCH`: workloads, comma-separated (default all:
//!   `stat,monunmon,mix,list,startup,memory`):
//!   - `stat`: SM_STAT, UDP 16 and 128 in flight, TCP 16 on 4 connections;
//!   - `monunmon`: SM_MON then SM_UNMON of distinct names (durable store),
//!     same transports; one operation is one pair;
//!   - `mix`: half SM_STAT, half SM_MON/SM_UNMON, UDP 16 in flight;
//!   - `list`: with a monitor list of each `LOAD_BENCH_SIZES` hosts loaded
//!     at start: start to first answer, resident memory, SM_MON and
//!     SM_UNMON latency, SM_NOTIFY (unknown host) latency, one call at a
//!     time;
//!   - `startup`: start to first answer with each `LOAD_BENCH_STARTUP`
//!     records of hosts to notify (nothing listens at 127.3.X.Y);
//!   - `memory`: `LOAD_BENCH_MEMORY_HOSTS` SM_MONs over UDP (16 in
//!     flight), then resident memory and disk bytes per monitored host;
//! - `LOAD_BENCH_SECS`: seconds per throughput run (default 5);
//! - `LOAD_BENCH_RUNS`: throughput runs per daemon and transport (default 3;
//!   the median by ops/s is shown);
//! - `LOAD_BENCH_CAP`: seconds after which a slow phase (a daemon's start,
//!   a latency probe, a fill) is given up (default 60);
//! - `LOAD_BENCH_SIZES`: monitor list sizes for `list` (default
//!   `0,10000,100000`);
//! - `LOAD_BENCH_SAMPLES`: calls per latency probe (default 5);
//! - `LOAD_BENCH_STARTUP`: record counts for `startup` (default
//!   `1000,100000`);
//! - `LOAD_BENCH_MEMORY_HOSTS`: hosts for `memory` (default 1000);
//! - `LOAD_BENCH_STATMON_ARGS`: extra statmon arguments, space-separated;
//! - `LOAD_BENCH_NO_REFERENCE`: if set, no Debian rows.

#[path = "load/calls.rs"]
mod calls;
#[path = "load/client.rs"]
mod client;
#[path = "shared/mod.rs"]
mod common;
#[path = "load/daemons.rs"]
mod daemons;
#[path = "load/disk.rs"]
mod disk;
#[path = "load/durable_floor.rs"]
mod durable_floor;
#[path = "load/floor.rs"]
mod floor;
#[path = "load/records.rs"]
mod records;
#[path = "load/report.rs"]
mod report;
use common::machine;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/common/sandbox.rs"]
mod sandbox;
#[path = "load/scripts.rs"]
mod scripts;
#[path = "load/targets.rs"]
mod targets;
#[path = "load/workloads.rs"]
mod workloads;

use daemons::{Daemon, DEBIAN};
use sandbox::Sandbox;
use std::path::Path;
use std::time::Duration;

/// The settings read from the environment.
pub(crate) struct Settings {
    pub(crate) workloads: Vec<String>,
    pub(crate) secs: Duration,
    pub(crate) runs: usize,
    pub(crate) cap: Duration,
    pub(crate) sizes: Vec<usize>,
    pub(crate) samples: u64,
    pub(crate) startup: Vec<usize>,
    pub(crate) memory_hosts: u64,
    pub(crate) statmon_args: Vec<String>,
    /// Daemons to measure besides the floor.
    pub(crate) daemons: Vec<Daemon>,
}

const ALL: &[&str] = &["stat", "monunmon", "mix", "list", "startup", "memory"];

fn settings() -> Result<Settings, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let num = |k: &str, default: u64| -> Result<u64, String> {
        env(k).map_or(Ok(default), |v| {
            v.trim()
                .parse()
                .map_err(|_| format!("{k}: {v:?} is not a number"))
        })
    };
    let list = |k: &str, default: &str| -> Result<Vec<usize>, String> {
        env(k)
            .unwrap_or_else(|| default.into())
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().map_err(|_| format!("{k}: {w:?} is not a number")))
            .collect()
    };
    let workloads: Vec<String> = env("LOAD_BENCH")
        .unwrap_or_else(|| ALL.join(","))
        .split(',')
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(bad) = workloads.iter().find(|w| !ALL.contains(&w.as_str())) {
        return Err(format!(
            "LOAD_BENCH: unknown workload {bad:?} (known: {ALL:?})"
        ));
    }
    let mut daemons = vec![Daemon::Statmon];
    if env("LOAD_BENCH_NO_REFERENCE").is_none() && Path::new(DEBIAN).is_file() {
        daemons.push(Daemon::Debian);
    }
    Ok(Settings {
        workloads,
        secs: Duration::from_secs(num("LOAD_BENCH_SECS", 5)?),
        runs: usize::try_from(num("LOAD_BENCH_RUNS", 3)?.max(1)).unwrap_or(1),
        cap: Duration::from_secs(num("LOAD_BENCH_CAP", 60)?),
        sizes: list("LOAD_BENCH_SIZES", "0,10000,100000")?,
        samples: num("LOAD_BENCH_SAMPLES", 5)?.max(1),
        startup: list("LOAD_BENCH_STARTUP", "1000,100000")?,
        memory_hosts: num("LOAD_BENCH_MEMORY_HOSTS", 1000)?.max(1),
        statmon_args: env("LOAD_BENCH_STATMON_ARGS")
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
        daemons,
    })
}

/// `--floor nsm ADDR` or `--floor durable ADDR DIR`: this process is a
/// floor ([`daemons::start_floor`]); serves until killed.
fn floor_role(args: &[String]) -> Option<i32> {
    let at = args.iter().position(|a| a == "--floor")?;
    let rest = args.get(at + 1..).unwrap_or(&[]);
    let addr = rest.get(1).and_then(|a| a.parse().ok());
    let e = match (rest.first().map(String::as_str), addr, rest.get(2)) {
        (Some("nsm"), Some(addr), _) => floor::serve(addr),
        (Some("durable"), Some(addr), Some(dir)) => {
            durable_floor::serve_forever(addr, Path::new(dir))
        }
        _ => {
            eprintln!("load bench: usage: --floor nsm ADDR | --floor durable ADDR DIR");
            return Some(2);
        }
    };
    eprintln!("load bench floor: {e}");
    Some(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(code) = floor_role(&args) {
        std::process::exit(code);
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, and a benchmark is not a test.
    if !args.iter().any(|a| a == "--bench") {
        println!("load bench: run it with `cargo bench --bench load`");
        return;
    }
    let s = match settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("load bench: {e}");
            std::process::exit(2);
        }
    };
    if let Some(why) = sandbox::unavailable() {
        println!("load bench: skipped, {why}");
        return;
    }
    println!("{}", machine());
    println!("statmon: {}", daemons::STATMON);
    if !s.daemons.contains(&Daemon::Debian) {
        println!("reference: not measured ({DEBIAN} missing or LOAD_BENCH_NO_REFERENCE set)");
    }
    let mut sb = Sandbox::new();
    // The client threads are spawned from here and inherit the sandbox's
    // network namespace; the floors are processes of their own inside it.
    sb.enter_net();
    if let Err(e) = daemons::start_rpcbind(&mut sb) {
        println!("load bench: skipped, {e}");
        return;
    }
    let durable = sb.dir.path().join("durable-floor");
    let mut floors = Vec::new();
    for (floor, dir) in [(Daemon::Floor, &durable), (Daemon::DurableFloor, &durable)] {
        match daemons::start_floor(&mut sb, floor, dir) {
            Ok(pid) => floors.push(pid),
            Err(e) => {
                println!("load bench: skipped, {e}");
                return;
            }
        }
    }
    let mut results = workloads::Results::default();
    for w in &s.workloads {
        println!();
        match w.as_str() {
            "stat" | "monunmon" | "mix" => workloads::throughput(&mut sb, &s, w, &mut results),
            "list" => workloads::list(&mut sb, &s, &mut results),
            "startup" => workloads::startup(&mut sb, &s, &mut results),
            _ => workloads::memory(&mut sb, &s),
        }
    }
    println!();
    targets::print(&results);
    for pid in floors {
        daemons::stop(&mut sb, pid);
    }
    drop(sb);
}
