//! The drive table: each drive's row (control mode, scan host,
//! reservation, what the scan host probed) and the status text
//! `vmoprcmd` prints.

use super::LtidCore;
use crate::ltid::elect::{control_mode, Election};
use crate::ltid::wire::{DriveRow, HostInfo};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

impl LtidCore {
    pub(super) fn row(&self, i: usize, e: &Election, online: &[&HostInfo]) -> DriveRow {
        let d = &self.drives[i];
        let robot = d.robot.as_deref();
        let modes: BTreeSet<String> = online
            .iter()
            .filter_map(|h| h.drives.iter().find(|x| x.name == d.name))
            .map(|x| control_mode(robot, x.up, e.scan.is_some()))
            .collect();
        let control = match modes.len() {
            1 => modes.into_iter().next().unwrap_or_default(),
            _ => "MIX".to_string(),
        };
        let scanned_here = e.scan.as_deref() == Some(self.me.as_str());
        let (ready, write_protect, vsn) = match (&d.remote, scanned_here) {
            (Some(r), false) => (r.ready, r.write_protect, r.vsn.clone()),
            _ => (d.probed.ready, d.probed.write_protect, d.probed.vsn.clone()),
        };
        DriveRow {
            drive: d.name.clone(),
            robot: d.robot.clone().unwrap_or_default(),
            ready,
            write_protect,
            vsn,
            scan_host: e.scan.clone().unwrap_or_default(),
            reserved_by: e.reserved_by.clone().unwrap_or_default(),
            control,
        }
    }

    /// Every row of the drive table.
    pub fn rows(&self) -> Vec<DriveRow> {
        self.rows.values().cloned().collect()
    }

    /// The status text `vmoprcmd` prints.
    pub fn render_status(&self, now: Instant) -> String {
        let online = self.online(now);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "HOST {} scan_ability={} online_since_ms={}",
            self.me, self.scan_ability, self.online_since_ms
        );
        for name in self.peers.keys() {
            let state = match online.iter().find(|h| &h.name == name) {
                Some(h) => format!(
                    "online scan_ability={} online_since_ms={}",
                    h.scan_ability, h.online_since_ms
                ),
                None => "offline".to_string(),
            };
            let _ = writeln!(out, "PEER {name} {state}");
        }
        for r in self.rows.values() {
            let dash = |s: &str| {
                if s.is_empty() {
                    "-".to_string()
                } else {
                    s.to_string()
                }
            };
            let _ = writeln!(
                out,
                "DRIVE {} control={} scanhost={} reserved={} ready={} vsn={} robot={}",
                r.drive,
                r.control,
                dash(&r.scan_host),
                dash(&r.reserved_by),
                if r.ready { "yes" } else { "no" },
                dash(&r.vsn),
                dash(&r.robot)
            );
            for h in &online {
                if let Some(x) = h.drives.iter().find(|x| x.name == r.drive) {
                    let _ = writeln!(
                        out,
                        "  {} {} path={}{}",
                        h.name,
                        if x.up { "UP" } else { "DOWN" },
                        if x.path_ok { "ok" } else { "down" },
                        if x.reserved { " reserved" } else { "" }
                    );
                }
            }
        }
        out
    }
}
