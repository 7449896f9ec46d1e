//! Reboot notification benchmark: statmon's rpc.statd (reboot step on a
//! state directory from an earlier boot) side by side with Debian's
//! `sm-notify -f` on identical fresh state directories, against a farm of
//! peers on 127.1.X.Y:111 inside a sandbox (private network and mount
//! namespaces; nothing leaves 127.0.0.0/8).
//!
//! `cargo bench --bench notify` (as root; otherwise it says why and ends).
//! Environment:
//! - `NOTIFY_BENCH`: workloads, comma-separated (default `1000,10000,silent`):
//!   a number is that many answering peers, `silent` is 1,000 silent peers;
//! - `NOTIFY_BENCH_CAP`: seconds after which an answering run is given up
//!   (default 120);
//! - `NOTIFY_BENCH_SILENT_SECS`: how long statmon runs against silent peers
//!   (default 60); sm-notify runs with `-m 1` until it exits (cap 150 s);
//! - `NOTIFY_BENCH_STATMON_ARGS`: extra statmon arguments, space-separated
//!   (e.g. `--notify-window 1024`);
//! - `NOTIFY_BENCH_RUNS`: statmon runs per answering workload (default 3;
//!   the median is shown; the reference runs once);
//! - `NOTIFY_BENCH_NO_REFERENCE`: if set, statmon only;
//! - `NOTIFY_BENCH_TRACE`: if set, lookups and SM_NOTIFYs per 100 ms and the
//!   end of each daemon's log after each run (`all`: the whole log), and the
//!   daemons run with `-d`
//!   (otherwise statmon runs at its production log level, warnings only;
//!   sm-notify always has `-d`, the only way to keep it in the foreground).
//!
//! Beside them in the same run, every answering workload is also notified
//! by the minimal notifier (`notify/floor.rs`, a process of its own:
//! GETPORT and SM_NOTIFY per peer, nothing else), the floor of the
//! `targets` table: statmon's time to the last SM_NOTIFY over the floor's,
//! medians of the same number of runs.

#[path = "shared/mod.rs"]
mod common;
#[path = "notify/farm.rs"]
mod farm;
#[path = "notify/floor.rs"]
mod floor;
#[path = "notify/measure.rs"]
mod measure;
#[path = "notify/records.rs"]
mod records;
use common::{machine, table, thousands as thousands_u64};
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/common/sandbox.rs"]
mod sandbox;

use measure::{Measured, Stop};
use sandbox::Sandbox;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// statmon, built by `cargo bench` in the bench (release) profile.
const STATMON: &str = env!("CARGO_BIN_EXE_statmon");
/// Debian's reference (nfs-utils 2.6.2).
const SM_NOTIFY: &str = "/usr/sbin/sm-notify";
/// statmon's NSM port in the sandbox.
const STATD_PORT: &str = "20044";
/// The reference's give-up cap with silent peers.
const SILENT_REFERENCE_CAP: Duration = Duration::from_secs(150);

/// One workload of the benchmark.
#[derive(Debug, Clone, Copy)]
enum Workload {
    /// This many answering peers.
    Answering(usize),
    /// This many silent peers.
    Silent(usize),
}

impl Workload {
    fn peers(self) -> usize {
        match self {
            Workload::Answering(n) | Workload::Silent(n) => n,
        }
    }

    fn label(self) -> String {
        match self {
            Workload::Answering(n) => format!("{} answering", thousands_usize(n)),
            Workload::Silent(n) => format!("{} silent", thousands_usize(n)),
        }
    }
}

/// The settings read from the environment.
struct Settings {
    workloads: Vec<Workload>,
    cap: Duration,
    silent_secs: Duration,
    statmon_args: Vec<String>,
    runs: usize,
}

fn settings() -> Result<Settings, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let spec = env("NOTIFY_BENCH").unwrap_or_else(|| "1000,10000,silent".into());
    let mut workloads = Vec::new();
    for w in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        workloads.push(match w {
            "silent" => Workload::Silent(1000),
            n => Workload::Answering(
                n.parse()
                    .map_err(|_| format!("NOTIFY_BENCH: {n:?} is not a number or `silent`"))?,
            ),
        });
    }
    let secs = |k: &str, default: u64| -> Result<Duration, String> {
        env(k).map_or(Ok(Duration::from_secs(default)), |v| {
            v.parse()
                .map(Duration::from_secs)
                .map_err(|_| format!("{k}: {v:?} is not a number of seconds"))
        })
    };
    Ok(Settings {
        workloads,
        cap: secs("NOTIFY_BENCH_CAP", 120)?,
        silent_secs: secs("NOTIFY_BENCH_SILENT_SECS", 60)?,
        runs: env("NOTIFY_BENCH_RUNS").map_or(Ok(3), |v| {
            v.parse::<usize>()
                .ok()
                .filter(|&r| r > 0)
                .ok_or(format!("NOTIFY_BENCH_RUNS: {v:?} is not a positive number"))
        })?,
        statmon_args: env("NOTIFY_BENCH_STATMON_ARGS")
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
    })
}

/// `--floor DIR`: this process is the minimal notifier of `DIR`.
fn floor_role() -> Option<i32> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--floor")?;
    let Some(dir) = args.get(at + 1) else {
        eprintln!("notify bench: usage: --floor DIR");
        return Some(2);
    };
    match floor::notify_all(Path::new(dir)) {
        Ok(_) => Some(0),
        Err(e) => {
            eprintln!("minimal notifier: {dir}: {e}");
            Some(1)
        }
    }
}

fn main() {
    if let Some(code) = floor_role() {
        std::process::exit(code);
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, and a benchmark is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("notify bench: run it with `cargo bench --bench notify`");
        return;
    }
    let s = match settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("notify bench: {e}");
            std::process::exit(2);
        }
    };
    if let Some(why) = sandbox::unavailable() {
        println!("notify bench: skipped, {why}");
        return;
    }
    let most = s.workloads.iter().map(|w| w.peers()).max().unwrap_or(0);
    if let Err(e) = raise_nofile(most as u64 + 256) {
        println!("notify bench: skipped, {e}");
        return;
    }
    let present = Path::new(SM_NOTIFY).is_file();
    let reference = present && std::env::var_os("NOTIFY_BENCH_NO_REFERENCE").is_none();
    println!("{}", machine());
    println!("statmon: {STATMON}");
    if !present {
        println!("{SM_NOTIFY} missing: statmon only");
    }
    let mut sb = Sandbox::new();
    // The farm threads are spawned from here and inherit the namespace.
    sb.enter_net();
    let mut answering_rows = Vec::new();
    let mut silent_rows = Vec::new();
    for (i, w) in s.workloads.iter().enumerate() {
        println!();
        match *w {
            Workload::Answering(n) => {
                let rows = answering(&mut sb, &s, i, n, reference);
                print_answering(&rows);
                answering_rows.extend(rows);
            }
            Workload::Silent(n) => {
                let rows = silent(&mut sb, &s, i, n, reference);
                print_silent(&rows);
                silent_rows.extend(rows);
            }
        }
    }
    println!();
    print_targets(&answering_rows);
    if s.workloads.len() > 1 {
        println!("\nAll runs");
        if !answering_rows.is_empty() {
            print_answering(&answering_rows);
        }
        if !silent_rows.is_empty() {
            print_silent(&silent_rows);
        }
    }
    drop(sb);
}

/// Soft RLIMIT_NOFILE at least `need` (up to the hard limit).
fn raise_nofile(need: u64) -> Result<(), String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(u64::MAX);
    if hard < need {
        return Err(format!("RLIMIT_NOFILE hard limit {hard} < {need}"));
    }
    if lim.current.is_some_and(|c| c >= need) {
        return Ok(());
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(need.max(lim.current.unwrap_or(0))),
            maximum: lim.maximum,
        },
    )
    .map_err(|e| format!("setrlimit NOFILE: {e}"))
}

/// `statmon rpc.statd` in the foreground on `dir`.
fn statmon_command(sb: &Sandbox, s: &Settings, dir: &Path) -> Command {
    let mut c = sb.command(STATMON);
    c.args(["rpc.statd", "-F", "--config", "/dev/null"]);
    if tracing() {
        c.arg("-d");
    }
    c.arg("--no-embedded-portmap")
        .args(["-p", STATD_PORT, "-P"])
        .arg(dir)
        .args(&s.statmon_args);
    c
}

/// `sm-notify -f -d -P dir ARGS`. `-d` is the only way to keep sm-notify
/// in the foreground, where its end can be seen (without it the parent
/// exits at once and the notifying child is out of the bench's reach); it
/// also logs each host to stderr, a few hundred bytes per host.
fn reference_command(sb: &Sandbox, dir: &Path, extra: &[&str]) -> Command {
    let mut c = sb.command(SM_NOTIFY);
    c.args(["-f", "-d", "-P"]).arg(dir).args(extra);
    c
}

/// The minimal notifier on `dir` ([`floor`]).
fn floor_command(sb: &Sandbox, dir: &Path) -> Option<Command> {
    let exe = std::env::current_exe().ok()?;
    let mut c = sb.command(exe);
    c.arg("--floor").arg(dir);
    Some(c)
}

/// Whether `NOTIFY_BENCH_TRACE` is set.
fn tracing() -> bool {
    std::env::var_os("NOTIFY_BENCH_TRACE").is_some()
}

/// How much faster than its floor statmon may seem from noise alone
/// before the ratio is refused (a fraction of the floor's time).
const NOISE: f64 = 0.05;

/// The floor's name in tables.
const FLOOR: &str = "minimal notifier";

/// One table row: a daemon's run of a workload.
struct Row {
    workload: Workload,
    daemon: &'static str,
    m: Measured,
}

fn answering(sb: &mut Sandbox, s: &Settings, i: usize, n: usize, reference: bool) -> Vec<Row> {
    let w = Workload::Answering(n);
    let peers = records::peer_addresses(n);
    let mut rows = Vec::new();
    let mut runs = Vec::new();
    for k in 0..s.runs {
        let dir = sb.dir.path().join(format!("w{i}-statmon-{k}"));
        let cmd = statmon_command(sb, s, &dir);
        let stop = Stop {
            when_clear: true,
            exits: false,
            cap: s.cap,
        };
        let log = format!("w{i}-statmon-{k}.log");
        let m = measure::run(sb, &peers, true, &dir, cmd, &log, stop);
        trace("statmon", &m);
        runs.push(m);
    }
    runs.sort_by_key(|m| m.clear_at.unwrap_or(Duration::MAX));
    let all: Vec<String> = runs.iter().map(done).collect();
    println!(
        "statmon, {} runs (all cleared, s): {}; the table shows the median run",
        runs.len(),
        all.join(", ")
    );
    if let Some(m) = runs.get(runs.len() / 2) {
        rows.push(Row {
            workload: w,
            daemon: "statmon",
            m: m.clone(),
        });
    }
    let mut floors = Vec::new();
    for k in 0..s.runs {
        let dir = sb.dir.path().join(format!("w{i}-floor-{k}"));
        let Some(cmd) = floor_command(sb, &dir) else {
            println!("minimal notifier: the bench binary cannot be found");
            break;
        };
        let stop = Stop {
            when_clear: false,
            exits: true,
            cap: s.cap,
        };
        let log = format!("w{i}-floor-{k}.log");
        let m = measure::run(sb, &peers, true, &dir, cmd, &log, stop);
        floors.push(m);
    }
    floors.sort_by_key(|m| m.last_notify().unwrap_or(Duration::MAX));
    let all: Vec<String> = floors
        .iter()
        .map(|m| m.last_notify().map_or("none".into(), secs))
        .collect();
    println!(
        "minimal notifier, {} runs (last SM_NOTIFY, s): {}; the table shows the median run",
        floors.len(),
        all.join(", ")
    );
    if let Some(m) = floors.get(floors.len() / 2) {
        rows.push(Row {
            workload: w,
            daemon: FLOOR,
            m: m.clone(),
        });
    }
    if reference {
        let dir = sb.dir.path().join(format!("w{i}-sm-notify"));
        let cmd = reference_command(sb, &dir, &[]);
        let stop = Stop {
            when_clear: true,
            exits: true,
            cap: s.cap,
        };
        let log = format!("w{i}-sm-notify.log");
        let m = measure::run(sb, &peers, true, &dir, cmd, &log, stop);
        trace("sm-notify", &m);
        rows.push(Row {
            workload: w,
            daemon: "sm-notify",
            m,
        });
    }
    rows
}

fn silent(sb: &mut Sandbox, s: &Settings, i: usize, n: usize, reference: bool) -> Vec<Row> {
    let w = Workload::Silent(n);
    let peers = records::peer_addresses(n);
    let mut rows = Vec::new();
    let dir = sb.dir.path().join(format!("w{i}-statmon"));
    let cmd = statmon_command(sb, s, &dir);
    let stop = Stop {
        when_clear: false,
        exits: false,
        cap: s.silent_secs,
    };
    let m = measure::run(
        sb,
        &peers,
        false,
        &dir,
        cmd,
        &format!("w{i}-statmon.log"),
        stop,
    );
    trace("statmon", &m);
    rows.push(Row {
        workload: w,
        daemon: "statmon",
        m,
    });
    if reference {
        let dir = sb.dir.path().join(format!("w{i}-sm-notify"));
        let cmd = reference_command(sb, &dir, &["-m", "1"]);
        let stop = Stop {
            when_clear: false,
            exits: true,
            cap: SILENT_REFERENCE_CAP,
        };
        let log = format!("w{i}-sm-notify.log");
        let m = measure::run(sb, &peers, false, &dir, cmd, &log, stop);
        trace("sm-notify", &m);
        rows.push(Row {
            workload: w,
            daemon: "sm-notify",
            m,
        });
    }
    rows
}

/// `12345` as `12,345`.
fn thousands_usize(n: usize) -> String {
    thousands_u64(n as u64)
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// GETPORT count, with the RPCB GETADDRs if there were any.
fn lookups(m: &Measured) -> String {
    if m.tally.getaddr == 0 {
        thousands_usize(m.tally.getport)
    } else {
        format!(
            "{} (+{} GETADDR)",
            thousands_usize(m.tally.getport),
            thousands_usize(m.tally.getaddr)
        )
    }
}

/// Time to the last record removed, or why there is none.
fn done(m: &Measured) -> String {
    match (m.clear_at, m.exited) {
        (Some(t), _) => secs(t),
        (None, Some((t, code))) => format!("exited {code:?} at {} s", secs(t)),
        (None, None) => format!("not done after {:.0} s", m.ran.as_secs_f64()),
    }
}

/// statmon's time over the reference's, for the statmon row of a workload.
fn ratio(rows: &[Row], row: &Row) -> String {
    if row.daemon != "statmon" {
        return String::new();
    }
    let reference = rows
        .iter()
        .find(|r| r.daemon == "sm-notify" && r.workload.label() == row.workload.label());
    let Some(reference) = reference else {
        return "n/a".into();
    };
    match (row.m.clear_at, reference.m.clear_at) {
        (Some(a), Some(b)) => format!("{:.4}", a.as_secs_f64() / b.as_secs_f64()),
        (Some(a), None) => format!("< {:.4}", a.as_secs_f64() / reference.m.ran.as_secs_f64()),
        (None, _) => "n/a".into(),
    }
}

fn print_answering(rows: &[Row]) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.workload.label(),
                r.daemon.to_string(),
                done(&r.m),
                r.m.last_notify().map_or("-".into(), secs),
                lookups(&r.m),
                thousands_usize(r.m.tally.notify),
                format!(
                    "{} ({} notified)",
                    thousands_usize(r.m.cleared),
                    thousands_usize(r.m.tally.notified_peers)
                ),
                r.m.rcvbuf_drops
                    .map_or("-".into(), |d| thousands_usize(d as usize)),
                ratio(rows, r),
            ]
        })
        .collect();
    table(
        &[
            "workload",
            "daemon",
            "all cleared (s)",
            "last SM_NOTIFY (s)",
            "GETPORT",
            "SM_NOTIFY",
            "delivered hosts",
            "UDP drops",
            "ratio statmon/ref",
        ],
        &cells,
    );
}

/// The target of every answering workload: statmon's time to its last
/// SM_NOTIFY at most 1.5 × the minimal notifier's, medians of this run.
fn print_targets(rows: &[Row]) {
    let mut cells = Vec::new();
    for r in rows.iter().filter(|r| r.daemon == "statmon") {
        let floor = rows
            .iter()
            .find(|f| f.daemon == FLOOR && f.workload.label() == r.workload.label());
        let Some(floor) = floor else { continue };
        let (measured, verdict) = match (r.m.last_notify(), floor.m.last_notify()) {
            (Some(a), Some(b)) if r.m.tally.notified_peers == r.workload.peers() => {
                let x = a.as_secs_f64() / b.as_secs_f64().max(1e-9);
                let verdict = if x < 1.0 - NOISE {
                    format!(
                        "no ratio: statmon beat its floor by {:.0} %",
                        100.0 * (1.0 - x)
                    )
                } else if x <= 1.5 {
                    "met".into()
                } else {
                    "missed".into()
                };
                (
                    format!("{x:.2} × ({} s vs {} s)", secs(a), secs(b)),
                    verdict,
                )
            }
            _ => ("not every peer notified".into(), "missed".into()),
        };
        cells.push(vec![
            format!("reboot notification, {}", r.workload.label()),
            "≤ 1.5 × the minimal notifier (last SM_NOTIFY)".into(),
            measured,
            verdict,
        ]);
    }
    println!("## targets (each a ratio inside this run)");
    table(&["workload", "target", "statmon", "verdict"], &cells);
}

/// Counts of `times` per `width` since `t0`.
fn buckets(times: &[Instant], t0: Instant, width: Duration) -> Vec<usize> {
    let mut per: Vec<usize> = Vec::new();
    for t in times {
        let b = (t.duration_since(t0).as_nanos() / width.as_nanos().max(1)) as usize;
        if per.len() <= b {
            per.resize(b + 1, 0);
        }
        if let Some(c) = per.get_mut(b) {
            *c += 1;
        }
    }
    per
}

/// Lookups per second since the start, runs of equal seconds merged:
/// `0s:256 1-4s:0/s 5s:256`.
fn schedule(m: &Measured) -> String {
    let per_sec = buckets(&m.tally.lookups_at, m.t0, Duration::from_secs(1));
    let mut parts = Vec::new();
    let mut start = 0;
    while start < per_sec.len() {
        let c = per_sec.get(start).copied().unwrap_or(0);
        let mut end = start;
        while per_sec.get(end + 1) == Some(&c) {
            end += 1;
        }
        parts.push(if end == start {
            format!("{start}s:{c}")
        } else {
            format!("{start}-{end}s:{c}/s")
        });
        start = end + 1;
    }
    parts.join(" ")
}

/// With `NOTIFY_BENCH_TRACE` set: lookups and SM_NOTIFYs per 100 ms, and
/// the daemon's log size and last lines.
fn trace(daemon: &str, m: &Measured) {
    if std::env::var_os("NOTIFY_BENCH_TRACE").is_none() {
        return;
    }
    let width = Duration::from_millis(100);
    let l = buckets(&m.tally.lookups_at, m.t0, width);
    let n = buckets(&m.tally.notifies_at, m.t0, width);
    println!("{daemon}: per 100 ms: [start ms] lookups/notifies");
    let cells: Vec<String> = (0..l.len().max(n.len()))
        .map(|i| {
            let a = l.get(i).copied().unwrap_or(0);
            let b = n.get(i).copied().unwrap_or(0);
            format!("[{}] {a}/{b}", i * 100)
        })
        .filter(|c| !c.ends_with(" 0/0"))
        .collect();
    println!("  {}", cells.join(" "));
    let lines: Vec<&str> = m.log.lines().collect();
    println!("{daemon}: {} log lines; first and last ones:", lines.len());
    let all = std::env::var("NOTIFY_BENCH_TRACE").is_ok_and(|v| v == "all");
    let head = if all || lines.len() <= 40 {
        lines.len()
    } else {
        6
    };
    for l in lines.iter().take(head) {
        println!("  {l}");
    }
    if head < lines.len() {
        println!("  ...");
        for l in lines.iter().skip(lines.len().saturating_sub(6).max(head)) {
            println!("  {l}");
        }
    }
}

fn print_silent(rows: &[Row]) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let end = match r.m.exited {
                Some((t, code)) => format!("exit {} at {} s", code.unwrap_or(-1), secs(t)),
                None => format!("running; stopped at {} s", secs(r.m.ran)),
            };
            vec![
                r.workload.label(),
                r.daemon.to_string(),
                end,
                thousands_usize(r.m.lookups_within(Duration::from_secs(60))),
                lookups(&r.m),
                thousands_usize(r.m.tally.notify),
                thousands_usize(r.m.remaining),
            ]
        })
        .collect();
    table(
        &[
            "workload",
            "daemon",
            "end",
            "GETPORT in 60 s",
            "GETPORT total",
            "SM_NOTIFY",
            "records left",
        ],
        &cells,
    );
    for r in rows {
        println!("{} lookups per second: {}", r.daemon, schedule(&r.m));
    }
}
