//! The targets, each a ratio taken inside this run, with its floor
//! or baseline, the ratio and a verdict. A ratio to a floor is refused when
//! statmon beats the floor by more than the runs' own spread: a floor that
//! can be beaten is not measuring the machine's limit, and the row says so
//! instead of printing a number.

use crate::client::Transport;
use crate::daemons::Daemon;
use crate::report::{dur_ns, table, thousands};
use crate::workloads::{load_label, Results};
use std::time::Duration;

/// The least spread assumed between runs, as a fraction of the median.
const MIN_NOISE: f64 = 0.02;

/// The relative spread of the runs' ops/s: (max - min) / median.
fn spread(runs: &[f64]) -> f64 {
    let mut v = runs.to_vec();
    v.sort_by(f64::total_cmp);
    match (v.first(), v.last(), v.get(v.len() / 2)) {
        (Some(lo), Some(hi), Some(mid)) if *mid > 0.0 => (hi - lo) / mid,
        _ => 0.0,
    }
}

/// One row of the table: what, wanted, measured, verdict.
type Row = [String; 4];

/// statmon's median against its floor's, both from this run.
fn of_floor(
    r: &Results,
    what: String,
    workload: &str,
    label: &str,
    floor: Daemon,
    wanted: f64,
) -> Option<Row> {
    let find = |d: Daemon| {
        r.tput
            .iter()
            .find(|(w, l, dd, _, _)| w == workload && l == label && *dd == d)
    };
    let (_, _, _, s, s_runs) = find(Daemon::Statmon)?;
    let (_, _, _, f, f_runs) = find(floor)?;
    let (a, b) = (s.rate(), f.rate());
    let noise = spread(s_runs).max(spread(f_runs)).max(MIN_NOISE);
    let wanted_text = format!("≥ {:.0} % of the {}", wanted * 100.0, floor.label());
    let figures = format!("{} vs {} ops/s", thousands(a as u64), thousands(b as u64));
    if b <= 0.0 {
        return Some([what, wanted_text, figures, "no floor figure".into()]);
    }
    let p = a / b;
    if p > 1.0 + noise {
        return Some([
            what,
            wanted_text,
            figures,
            format!(
                "no ratio: statmon beat its floor by {:.0} %, beyond the runs' spread of {:.0} %",
                100.0 * (p - 1.0),
                100.0 * noise
            ),
        ]);
    }
    Some([
        what,
        wanted_text,
        format!("{:.1} % ({figures})", 100.0 * p),
        verdict(p >= wanted),
    ])
}

fn verdict(ok: bool) -> String {
    if ok { "met" } else { "missed" }.into()
}

/// Prints the table of targets from what ran.
pub(crate) fn print(r: &Results) {
    let mut rows: Vec<Row> = Vec::new();
    let udp16 = load_label(Transport::Udp, 16);
    let udp128 = load_label(Transport::Udp, 128);
    let tcp16 = load_label(Transport::Tcp(4), 16);
    rows.extend(of_floor(
        r,
        format!("SM_STAT, {udp16}"),
        "stat",
        &udp16,
        Daemon::Floor,
        0.9,
    ));
    rows.extend(of_floor(
        r,
        format!("SM_STAT, {tcp16}"),
        "stat",
        &tcp16,
        Daemon::Floor,
        0.8,
    ));
    for label in [&udp16, &udp128] {
        rows.extend(of_floor(
            r,
            format!("SM_MON+SM_UNMON, {label}"),
            "monunmon",
            label,
            Daemon::DurableFloor,
            0.9,
        ));
    }
    let mon = |n: usize| {
        r.mon_p50
            .iter()
            .find(|(nn, d, _)| *nn == n && *d == Daemon::Statmon)
            .and_then(|x| x.2)
    };
    if let (Some(one), Some(sync)) = (mon(0), r.fdatasync_p50) {
        let x = one as f64 / sync.max(1) as f64;
        rows.push([
            "SM_MON, UDP, 1 in flight, p50".into(),
            "≤ 1.2 × one fdatasync (p50, this run)".into(),
            format!("{x:.2} × ({} vs {})", dur_ns(one), dur_ns(sync)),
            verdict(x <= 1.2),
        ]);
    }
    if let (Some(empty), Some(full)) = (mon(0), mon(100_000)) {
        let x = full as f64 / empty.max(1) as f64;
        rows.push([
            "SM_MON p50, 100,000 hosts, right after the start".into(),
            "≤ 1.3 × with none".into(),
            format!("{x:.2} × ({} vs {})", dur_ns(full), dur_ns(empty)),
            verdict(x <= 1.3),
        ]);
    }
    if let Some((_, _, first)) = r
        .startup
        .iter()
        .find(|(n, d, _)| *n == 1000 && *d == Daemon::Statmon)
    {
        rows.push([
            "start to first answer, 1,000 hosts to notify".into(),
            "≤ 50 ms".into(),
            first.map_or("none".into(), |t| {
                format!("{:.1} ms", t.as_secs_f64() * 1e3)
            }),
            verdict(first.is_some_and(|t| t <= Duration::from_millis(50))),
        ]);
    }
    println!("## targets (each a ratio inside this run; the reboot notification row is the notify bench's)");
    let cells: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
    table(&["workload", "target", "statmon", "verdict"], &cells);
}
