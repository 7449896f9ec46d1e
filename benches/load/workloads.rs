//! The workloads: each starts the daemons it needs on fresh state
//! directories, measures, stops them by pid and prints its table; the
//! figures the targets name are kept for [`targets`].

use crate::client::{self, Load, Outcome, Script, Transport};
use crate::daemons::{self, Daemon, Start, DEBIAN_DEFAULT_DIR};
use crate::records::{self, Boot};
use crate::report::{bytes, dur_ns, q, rate, table, thousands};
use crate::sandbox::Sandbox;
use crate::{calls, scripts, Settings};
use statmon::proto::sm_inter::SmProc;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// UDP retransmission timeout of the throughput runs.
const RTO: Duration = Duration::from_secs(2);

/// The figures the targets are judged on ([`crate::targets`]).
#[derive(Default)]
pub(crate) struct Results {
    /// Throughput medians: (workload, load label, daemon, median outcome,
    /// every run's ops/s).
    pub(crate) tput: Vec<(String, String, Daemon, Outcome, Vec<f64>)>,
    /// SM_MON median latency (ns) by list size and daemon.
    pub(crate) mon_p50: Vec<(usize, Daemon, Option<u64>)>,
    /// Start to first answer by records to notify and daemon.
    pub(crate) startup: Vec<(usize, Daemon, Option<Duration>)>,
    /// Median of one `pwrite` + `fdatasync` of a small file in the
    /// sandbox's state directories (ns), timed in the `list` workload.
    pub(crate) fdatasync_p50: Option<u64>,
}

/// A fresh, empty directory for one daemon start.
fn fresh_dir(sb: &Sandbox, name: &str) -> PathBuf {
    let dir = sb.dir.path().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["sm", "sm.bak"] {
        let _ = std::fs::create_dir_all(dir.join(sub));
    }
    dir
}

/// Starts `daemon` on `dir` and waits for its first answer (up to the cap).
/// Returns its pid and the time to that answer; `None` (daemon stopped,
/// the reason printed) if none came.
fn start(
    sb: &mut Sandbox,
    s: &Settings,
    daemon: Daemon,
    dir: &Path,
    notify: bool,
    log: &str,
) -> (u32, Option<Duration>) {
    let start = Start {
        daemon,
        dir,
        notify,
        statmon_args: &s.statmon_args,
        log,
    };
    let (pid, t0) = daemons::spawn(sb, &start);
    let first = daemons::first_answer(sb, pid, daemon, t0, s.cap);
    if first.is_none() {
        let text = sb.log(log);
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        println!(
            "{}: no answer within {} s; log ends: {:?}",
            daemon.label(),
            s.cap.as_secs(),
            tail
        );
    }
    (pid, first)
}

fn script_for(workload: &str, in_flight: usize) -> Box<dyn Script> {
    let pairs = scripts::MonUnmon {
        slots: in_flight,
        block: 2,
    };
    match workload {
        "stat" => Box::new(scripts::Stat),
        "mix" => Box::new(scripts::Mix { pairs }),
        _ => Box::new(pairs),
    }
}

/// The label of a load in tables and [`Results`].
pub(crate) fn load_label(t: Transport, n: usize) -> String {
    match t {
        Transport::Udp => format!("UDP, {n} in flight"),
        Transport::Tcp(c) => format!("TCP ({c} conns), {n} in flight"),
    }
}

/// `stat`, `monunmon` or `mix`: ops/s and latency for each transport, on
/// the floor, statmon and the reference.
pub(crate) fn throughput(sb: &mut Sandbox, s: &Settings, w: &str, r: &mut Results) {
    let loads: Vec<(Transport, usize)> = match w {
        "mix" => vec![(Transport::Udp, 16)],
        _ => vec![
            (Transport::Udp, 16),
            (Transport::Udp, 128),
            (Transport::Tcp(4), 16),
        ],
    };
    let what = match w {
        "stat" => "SM_STAT; one operation = one call",
        "monunmon" => "SM_MON then SM_UNMON of distinct names; one operation = one pair",
        _ => "half SM_STAT, half SM_MON/SM_UNMON; one operation = one call",
    };
    println!(
        "## {w}: {what}; {} s per run, median of {} runs",
        s.secs.as_secs(),
        s.runs
    );
    let mut rows: Vec<(String, Daemon, Outcome, Vec<f64>)> = Vec::new();
    // The durable floor only where files change, and only on UDP.
    let durable = (w == "monunmon").then_some(Daemon::DurableFloor);
    let daemons: Vec<Daemon> = std::iter::once(Daemon::Floor)
        .chain(durable)
        .chain(s.daemons.iter().copied())
        .collect();
    for daemon in daemons {
        let pid = if matches!(daemon, Daemon::Floor | Daemon::DurableFloor) {
            None
        } else {
            let dir = fresh_dir(sb, &format!("{w}-{}", daemon.label()));
            let log = format!("{w}-{}.log", daemon.label());
            match start(sb, s, daemon, &dir, false, &log) {
                (pid, Some(_)) => Some(pid),
                (pid, None) => {
                    daemons::stop(sb, pid);
                    continue;
                }
            }
        };
        for &(t, n) in &loads {
            if daemon == Daemon::DurableFloor && t != Transport::Udp {
                continue;
            }
            let load = Load {
                transport: t,
                in_flight: n,
                ops: None,
                time: s.secs,
                rto: RTO,
            };
            let mut outs = Vec::new();
            for _ in 0..s.runs {
                let mut script = script_for(w, n);
                match client::run(daemon.addr(), load, script.as_mut()) {
                    Ok(o) => outs.push(o),
                    Err(e) => println!("{} {}: {e}", daemon.label(), load_label(t, n)),
                }
            }
            outs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            let all: Vec<f64> = outs.iter().map(Outcome::rate).collect();
            if let Some(o) = outs.get(outs.len() / 2) {
                rows.push((load_label(t, n), daemon, o.clone(), all));
            }
        }
        if let Some(pid) = pid {
            daemons::stop(sb, pid);
        }
    }
    let find = |label: &str, d: Daemon| {
        rows.iter()
            .find(|(l, dd, _, _)| l == label && *dd == d)
            .map(|(_, _, o, _)| o.rate())
    };
    let mut cells = Vec::new();
    let mut of_durable = Vec::new();
    for &(t, n) in &loads {
        let label = load_label(t, n);
        let floor = find(&label, Daemon::Floor);
        let reference = find(&label, Daemon::Debian);
        if let (Some(a), Some(d)) = (
            find(&label, Daemon::Statmon),
            find(&label, Daemon::DurableFloor),
        ) {
            of_durable.push(format!(
                "  {label}: statmon {:.0} % of the durable floor ({} vs {} ops/s)",
                100.0 * a / d.max(1e-9),
                thousands(a as u64),
                thousands(d as u64)
            ));
        }
        for (l, d, o, all) in rows.iter().filter(|(l, _, _, _)| *l == label) {
            let lat = o.all_latencies();
            let vs_ref = match (d, reference) {
                (Daemon::Statmon, Some(rr)) if rr > 0.0 => format!("{:.1}", o.rate() / rr),
                _ => String::new(),
            };
            let of_floor = match (d, floor) {
                (Daemon::Floor, _) => String::new(),
                (_, Some(f)) if f > 0.0 => format!("{:.0} %", 100.0 * o.rate() / f),
                _ => "-".into(),
            };
            cells.push(vec![
                l.clone(),
                d.label().into(),
                rate(o),
                q(&lat, 0.5),
                q(&lat, 0.99),
                q(&lat, 0.999),
                thousands(o.failed),
                thousands(o.retrans),
                vs_ref,
                of_floor,
            ]);
            r.tput
                .push((w.into(), l.clone(), *d, o.clone(), all.clone()));
        }
    }
    table(
        &[
            "load",
            "daemon",
            "ops/s",
            "p50",
            "p99",
            "p999",
            "failed",
            "retrans",
            "statmon/ref",
            "% of floor",
        ],
        &cells,
    );
    for (l, d, _, all) in &rows {
        let v: Vec<String> = all.iter().map(|x| thousands(x.round() as u64)).collect();
        println!("  {l}, {}: runs {}", d.label(), v.join(", "));
    }
    for line in of_durable {
        println!("{line}");
    }
}

/// The first `n` hosts of a prefilled monitor list.
fn list_hosts(n: usize) -> Vec<std::net::Ipv4Addr> {
    (0..n).map(|i| calls::wide_host(8, i)).collect()
}

/// `list`: for each list size, start with that many records loaded, then
/// probe SM_MON/SM_UNMON and SM_NOTIFY one call at a time.
pub(crate) fn list(sb: &mut Sandbox, s: &Settings, r: &mut Results) {
    println!(
        "## list: monitor list of N hosts loaded at start (nfs-utils records, this boot); \
         {} SM_MON+SM_UNMON pairs of new names, then {} SM_NOTIFY from an unmonitored \
         host, one call at a time; each probe given up after {} s",
        s.samples,
        s.samples,
        s.cap.as_secs()
    );
    match crate::disk::fdatasync_p50(sb.dir.path(), 101) {
        Ok(ns) => {
            println!(
                "one pwrite + fdatasync of a 100-byte file in the state directories' file system: p50 {} (101 samples)",
                dur_ns(ns)
            );
            r.fdatasync_p50 = Some(ns);
        }
        Err(e) => println!("fdatasync probe: {e}"),
    }
    let mut cells = Vec::new();
    let mut rss: Vec<(usize, Daemon, u64)> = Vec::new();
    for &n in &s.sizes {
        let hosts = list_hosts(n);
        for &daemon in &s.daemons {
            let dir = sb.dir.path().join(format!("list-{n}-{}", daemon.label()));
            let _ = std::fs::remove_dir_all(&dir);
            let t = Instant::now();
            if let Err(e) = records::create(&dir, &hosts, Boot::This) {
                println!("list {n}: prefill: {e}");
                continue;
            }
            let prefill = t.elapsed();
            let log = format!("list-{n}-{}.log", daemon.label());
            let (pid, first) = start(sb, s, daemon, &dir, false, &log);
            let mut row = vec![
                thousands(n as u64),
                daemon.label().into(),
                format!("{:.1}", prefill.as_secs_f64()),
                first.map_or(format!("none in {} s", s.cap.as_secs()), |d| {
                    format!("{:.3}", d.as_secs_f64())
                }),
            ];
            let mut mon_p50 = None;
            if first.is_some() {
                let m = daemons::rss(pid).unwrap_or(0);
                rss.push((n, daemon, m));
                row.push(bytes(m as f64));
                let probe = Load {
                    transport: Transport::Udp,
                    in_flight: 1,
                    ops: Some(s.samples),
                    time: s.cap,
                    rto: s.cap,
                };
                let mut pairs = scripts::MonUnmon { slots: 1, block: 5 };
                let o = client::run(daemon.addr(), probe, &mut pairs).unwrap_or_default();
                let mon = o.latencies(SmProc::MON);
                mon_p50 = client::quantile(mon, 0.5);
                row.push(format!("{} ({})", q(mon, 0.5), mon.len()));
                row.push(q(mon, 1.0));
                row.push(q(o.latencies(SmProc::UNMON), 0.5));
                let o =
                    client::run(daemon.addr(), probe, &mut scripts::NotifyMiss).unwrap_or_default();
                let nt = o.latencies(SmProc::NOTIFY);
                row.push(format!("{} ({})", q(nt, 0.5), nt.len()));
                row.push(q(nt, 1.0));
            }
            daemons::stop(sb, pid);
            let _ = std::fs::remove_dir_all(&dir);
            r.mon_p50.push((n, daemon, mon_p50));
            row.resize(10, "-".into());
            cells.push(row);
        }
    }
    table(
        &[
            "hosts",
            "daemon",
            "prefill (s)",
            "first answer (s)",
            "RSS",
            "SM_MON p50 (n)",
            "SM_MON max",
            "SM_UNMON p50",
            "SM_NOTIFY p50 (n)",
            "SM_NOTIFY max",
        ],
        &cells,
    );
    println!("(n) = calls answered within the cap; `-` = none");
    for &daemon in &s.daemons {
        let base = rss
            .iter()
            .find(|(n, d, _)| *n == 0 && *d == daemon)
            .map(|x| x.2);
        for (n, _, m) in rss.iter().filter(|(n, d, _)| *n > 0 && *d == daemon) {
            if let Some(b) = base {
                println!(
                    "  {}: resident memory per loaded host at {}: {:.0} bytes",
                    daemon.label(),
                    thousands(*n as u64),
                    (*m as f64 - b as f64) / *n as f64
                );
            }
        }
    }
}

/// Runs `rm -f` and `mount`/`umount` inside the sandbox's mount namespace.
fn sandbox_sh(sb: &Sandbox, script: &str) -> bool {
    sb.run("sh", &["-c", script]).status.success()
}

/// `startup`: start to first SM_NULL answer with N records of hosts to
/// notify (statmon: records from an earlier boot; Debian: `rpc.statd -F`
/// without `-L`, which runs sm-notify first, on /var/lib/nfs bind-mounted
/// from the prepared directory).
pub(crate) fn startup(sb: &mut Sandbox, s: &Settings, r: &mut Results) {
    println!(
        "## startup: spawn to first SM_NULL answer, N records of hosts to notify \
         (127.3.X.Y, nothing listens); given up after {} s",
        s.cap.as_secs()
    );
    let mut cells = Vec::new();
    for &n in &s.startup {
        let hosts: Vec<_> = (0..n).map(|i| calls::wide_host(3, i)).collect();
        let mut got: Vec<(Daemon, Option<Duration>)> = Vec::new();
        for &daemon in &s.daemons {
            let dir = sb
                .dir
                .path()
                .join(format!("startup-{n}-{}", daemon.label()));
            let _ = std::fs::remove_dir_all(&dir);
            if let Err(e) = records::create(&dir, &hosts, Boot::Earlier) {
                println!("startup {n}: prefill: {e}");
                continue;
            }
            let log = format!("startup-{n}-{}.log", daemon.label());
            let first = if daemon == Daemon::Debian {
                let mount = format!(
                    "rm -f /run/sm-notify.pid && mount --bind '{}' {DEBIAN_DEFAULT_DIR}",
                    dir.display()
                );
                if !sandbox_sh(sb, &mount) {
                    println!("startup {n}: cannot bind-mount {DEBIAN_DEFAULT_DIR}");
                    continue;
                }
                let (pid, first) = start(sb, s, daemon, Path::new(DEBIAN_DEFAULT_DIR), true, &log);
                daemons::stop(sb, pid);
                sandbox_sh(sb, &format!("umount {DEBIAN_DEFAULT_DIR}"));
                first
            } else {
                let (pid, first) = start(sb, s, daemon, &dir, true, &log);
                daemons::stop(sb, pid);
                first
            };
            let _ = std::fs::remove_dir_all(&dir);
            got.push((daemon, first));
            r.startup.push((n, daemon, first));
        }
        let reference = got.iter().find(|g| g.0 == Daemon::Debian).map(|g| g.1);
        for (d, first) in &got {
            let ratio = match (d, first, reference) {
                (Daemon::Statmon, Some(a), Some(Some(b))) => {
                    format!("{:.4}", a.as_secs_f64() / b.as_secs_f64())
                }
                (Daemon::Statmon, Some(a), Some(None)) => {
                    format!("< {:.4}", a.as_secs_f64() / s.cap.as_secs_f64())
                }
                _ => String::new(),
            };
            cells.push(vec![
                thousands(n as u64),
                d.label().into(),
                first.map_or(format!("none in {} s", s.cap.as_secs()), |t| {
                    format!("{:.3}", t.as_secs_f64())
                }),
                ratio,
            ]);
        }
    }
    table(
        &["records", "daemon", "first answer (s)", "statmon/ref"],
        &cells,
    );
}

/// `memory`: SM_MON of N distinct hosts over the wire, then resident memory
/// and disk bytes per host.
pub(crate) fn memory(sb: &mut Sandbox, s: &Settings) {
    let n = s.memory_hosts;
    println!(
        "## memory: {} SM_MONs of distinct hosts (UDP, 16 in flight), given up after {} s",
        thousands(n),
        s.cap.as_secs()
    );
    let mut cells = Vec::new();
    for &daemon in &s.daemons {
        let dir = fresh_dir(sb, &format!("memory-{}", daemon.label()));
        let log = format!("memory-{}.log", daemon.label());
        let (pid, first) = start(sb, s, daemon, &dir, false, &log);
        if first.is_none() {
            daemons::stop(sb, pid);
            continue;
        }
        let rss0 = daemons::rss(pid).unwrap_or(0);
        let disk0 = records::disk_bytes(&dir).unwrap_or(0);
        let load = Load {
            transport: Transport::Udp,
            in_flight: 16,
            ops: Some(n),
            time: s.cap,
            rto: RTO,
        };
        let mut fill = scripts::Fill {
            slots: 16,
            block: 2,
        };
        let o = client::run(daemon.addr(), load, &mut fill).unwrap_or_default();
        let rss1 = daemons::rss(pid).unwrap_or(0);
        let disk1 = records::disk_bytes(&dir).unwrap_or(0);
        daemons::stop(sb, pid);
        let done = (o.ops - o.failed).max(1);
        cells.push(vec![
            daemon.label().into(),
            format!(
                "{} in {:.2} s",
                thousands(o.ops - o.failed),
                o.elapsed.as_secs_f64()
            ),
            bytes(rss0 as f64),
            bytes(rss1 as f64),
            format!("{:.0}", (rss1 as f64 - rss0 as f64) / done as f64),
            bytes(disk1 as f64),
            format!("{:.0}", (disk1 as f64 - disk0 as f64) / done as f64),
        ]);
        let _ = std::fs::remove_dir_all(&dir);
    }
    table(
        &[
            "daemon",
            "hosts monitored",
            "RSS before",
            "RSS after",
            "RSS bytes/host",
            "state dir",
            "disk bytes/host",
        ],
        &cells,
    );
}
