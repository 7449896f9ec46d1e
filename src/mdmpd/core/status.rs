//! What `mdmpd status` shows: every watched array, its members, and where
//! each failed member stands.
//!
//! [`MdmpdCore::status`] gives the data, [`render`] a text table with one
//! line per member (an array without members gets one line with `-`):
//!
//! ```text
//! ARRAY  LEVEL      MEMBER  STATE    KERNEL   PROBE-FAILS  READD-FAILS  SINCE  NEXT-PROBE  LAST-ERROR
//! md0    multipath  sdb     probing  faulty   3            0            1m2s   13s         Input/output error
//! md0    multipath  sdc     active   in_sync  0            0            -      -           -
//! ```
//!
//! `KERNEL` is the member's state in the last scan (`absent` when that
//! scan did not list it); `SINCE` the time since the current outage
//! began; `NEXT-PROBE` the wait until the next probe, or `running` while
//! one is out. Columns are padded to their widest cell; lines carry no
//! trailing blanks; control characters in names and errors are escaped.
//!
//! # Panic contract
//! Nothing here panics.

use super::event::clean;
use super::member::{Member, Phase};
use super::{MdmpdCore, MemberState};
use std::time::{Duration, Instant};

/// Where a member stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathState {
    /// In the array, not faulty.
    Active,
    /// Failed; probed every interval.
    Probing,
    /// The path works again; the re-add is running.
    Readding,
    /// Re-added; waiting for a scan to show it back.
    Confirming,
}

impl PathState {
    /// Lower-case name: `active`, `probing`, `re-adding`, `confirming`.
    pub fn as_str(self) -> &'static str {
        match self {
            PathState::Active => "active",
            PathState::Probing => "probing",
            PathState::Readding => "re-adding",
            PathState::Confirming => "confirming",
        }
    }
}

/// One member's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// Kernel name, e.g. `sdb1`.
    pub name: String,
    /// Where it stands.
    pub state: PathState,
    /// Its state in the last scan; `None` when that scan did not list it.
    pub kernel: Option<MemberState>,
    /// Whether a probe is out.
    pub probing_now: bool,
    /// Probes failed in this outage.
    pub probe_failures: u32,
    /// Re-adds failed in this outage.
    pub readd_failures: u32,
    /// The last probe or re-add error of this outage.
    pub last_error: Option<String>,
    /// Time since the outage began.
    pub since_failure: Option<Duration>,
    /// Wait until the next probe (zero if overdue).
    pub next_probe_in: Option<Duration>,
}

/// One array's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayStatus {
    /// Kernel name, e.g. `md0`.
    pub name: String,
    /// Its level.
    pub level: String,
    /// Its members, by name.
    pub members: Vec<MemberStatus>,
}

impl MdmpdCore {
    /// Every watched array at `now`, by name.
    pub fn status(&self, now: Instant) -> Vec<ArrayStatus> {
        self.arrays
            .iter()
            .map(|(name, a)| ArrayStatus {
                name: name.clone(),
                level: a.level.clone(),
                members: a
                    .members
                    .iter()
                    .map(|(n, m)| member_status(n, m, now))
                    .collect(),
            })
            .collect()
    }

    /// [`MdmpdCore::status`] as a text table (module doc).
    pub fn render_status(&self, now: Instant) -> String {
        render(&self.status(now))
    }
}

fn member_status(name: &str, m: &Member, now: Instant) -> MemberStatus {
    let (state, probing_now, next) = match m.phase {
        Phase::Active => (PathState::Active, false, None),
        Phase::Probing { next, probe } => (PathState::Probing, probe.is_some(), Some(next)),
        Phase::Readding { .. } => (PathState::Readding, false, None),
        Phase::Confirming { .. } => (PathState::Confirming, false, None),
    };
    MemberStatus {
        name: name.to_string(),
        state,
        kernel: m.seen,
        probing_now,
        probe_failures: m.probe_failures,
        readd_failures: m.readd_failures,
        last_error: m.last_error.clone(),
        since_failure: m.failed_at.map(|t| now.saturating_duration_since(t)),
        next_probe_in: next
            .filter(|_| !probing_now)
            .map(|t| t.saturating_duration_since(now)),
    }
}

/// `12s`, `4m10s`, `2h5m`, `1d3h` (whole seconds, rounded down).
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h{}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

const HEADER: [&str; 10] = [
    "ARRAY",
    "LEVEL",
    "MEMBER",
    "STATE",
    "KERNEL",
    "PROBE-FAILS",
    "READD-FAILS",
    "SINCE",
    "NEXT-PROBE",
    "LAST-ERROR",
];

fn row(a: &ArrayStatus, m: &MemberStatus) -> [String; 10] {
    let next = if m.probing_now {
        "running".to_string()
    } else {
        m.next_probe_in.map_or_else(|| "-".into(), human)
    };
    [
        clean(&a.name),
        clean(&a.level),
        clean(&m.name),
        m.state.as_str().into(),
        m.kernel.map_or("absent", MemberState::as_str).into(),
        m.probe_failures.to_string(),
        m.readd_failures.to_string(),
        m.since_failure.map_or_else(|| "-".into(), human),
        next,
        m.last_error.as_deref().map_or_else(|| "-".into(), clean),
    ]
}

/// The status table (module doc); `no watched md arrays` when empty.
pub fn render(arrays: &[ArrayStatus]) -> String {
    if arrays.is_empty() {
        return "no watched md arrays\n".to_string();
    }
    let mut rows: Vec<[String; 10]> = vec![HEADER.map(String::from)];
    for a in arrays {
        if a.members.is_empty() {
            let mut r = HEADER.map(|_| "-".to_string());
            r[0] = clean(&a.name);
            r[1] = clean(&a.level);
            rows.push(r);
        }
        rows.extend(a.members.iter().map(|m| row(a, m)));
    }
    let mut widths = [0usize; 10];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(s(0)), "0s");
        assert_eq!(human(Duration::from_millis(59_999)), "59s");
        assert_eq!(human(s(250)), "4m10s");
        assert_eq!(human(s(7500)), "2h5m");
        assert_eq!(human(s(97_200)), "1d3h");
    }

    #[test]
    fn empty_status() {
        let r = Rig::new();
        assert_eq!(r.core.render_status(r.t0), "no watched md arrays\n");
    }

    #[test]
    fn status_of_a_probing_member() {
        let mut r = Rig::new();
        r.scan(
            0,
            vec![
                mp("md0", &[("sdb", Faulty), ("sdc", InSync)]),
                mp("md9", &[]),
            ],
        );
        let p = one_probe(&r.tick(15));
        r.core
            .handle_probe(r.at(16), p, Err("Input/output error".into()));
        r.drain();
        let st = r.core.status(r.at(62));
        assert_eq!(st.len(), 2);
        assert_eq!(
            (st[0].name.as_str(), st[0].level.as_str()),
            ("md0", "multipath")
        );
        assert_eq!(
            st[0].members[0],
            MemberStatus {
                name: "sdb".into(),
                state: PathState::Probing,
                kernel: Some(Faulty),
                probing_now: false,
                probe_failures: 1,
                readd_failures: 0,
                last_error: Some("Input/output error".into()),
                since_failure: Some(s(62)),
                next_probe_in: Some(Duration::ZERO),
            }
        );
        assert_eq!(st[0].members[1].state, PathState::Active);
        // At 20 s: the next probe is due at 30 s.
        assert_eq!(
            r.core.render_status(r.at(20)),
            "\
ARRAY  LEVEL      MEMBER  STATE    KERNEL   PROBE-FAILS  READD-FAILS  SINCE  NEXT-PROBE  LAST-ERROR
md0    multipath  sdb     probing  faulty   1            0            20s    10s         Input/output error
md0    multipath  sdc     active   in_sync  0            0            -      -           -
md9    multipath  -       -        -        -            -            -      -           -
"
        );
        r.tick(30);
        let text = r.core.render_status(r.at(31));
        assert!(
            text.contains("  31s    running     Input/output error\n"),
            "{text}"
        );
    }

    #[test]
    fn readding_and_absent_members() {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", Faulty)])]);
        let p = one_probe(&r.tick(15));
        r.core.handle_probe(r.at(15), p, Ok(()));
        let (id, _) = one_readd(&r.drain());
        r.scan(16, vec![mp("md0", &[])]);
        let m = &r.core.status(r.at(16))[0].members[0];
        assert_eq!(
            (m.state, m.kernel, m.next_probe_in),
            (PathState::Readding, None, None)
        );
        r.core.handle_readd(r.at(17), id, Ok(()));
        let m = &r.core.status(r.at(17))[0].members[0];
        assert_eq!(m.state, PathState::Confirming);
        assert!(r
            .core
            .render_status(r.at(17))
            .contains(" confirming  absent "));
    }

    #[test]
    fn names_are_escaped() {
        let a = ArrayStatus {
            name: "md\n0".into(),
            level: "multipath".into(),
            members: vec![],
        };
        assert!(render(&[a]).contains("md\\n0"));
    }
}
