//! Number formatting and Markdown tables.

use crate::client::{quantile, Outcome};

/// `12345` as `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

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

/// Prints rows as a Markdown table.
pub(crate) fn table(head: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let text: Vec<String> = cells
            .zip(&width)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count().min(*w))))
            .collect();
        println!("| {} |", text.join(" | "));
    };
    line(&mut head.iter().copied());
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
}
