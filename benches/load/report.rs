//! Number formatting and Markdown tables.

use crate::client::{quantile, Outcome};
pub(crate) use crate::common::{table, thousands};

/// A latency in ns as µs, ms or s.
pub(crate) fn dur_ns(ns: u64) -> String {
    let f = ns as f64;
    if f < 1e6 {
        format!("{:.1} µs", f / 1e3)
    } else if f < 1e9 {
        format!("{:.2} ms", f / 1e6)
    } else {
        format!("{:.3} s", f / 1e9)
    }
}

/// The `q` quantile of sorted latencies, formatted; `-` if there are none.
pub(crate) fn q(v: &[u64], qq: f64) -> String {
    quantile(v, qq).map_or("-".into(), dur_ns)
}

/// Operations per second, no decimals.
pub(crate) fn rate(o: &Outcome) -> String {
    thousands(o.rate().round() as u64)
}

/// Bytes as KiB or MiB.
pub(crate) fn bytes(b: f64) -> String {
    if b.abs() < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}
