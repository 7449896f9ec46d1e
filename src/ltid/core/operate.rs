//! Operator requests on a drive of this host: UP, DOWN, reserve (a
//! mount: this host becomes the scan host) and release.

use super::{Action, LtidCore, NotifyOp};
use crate::ltid::wire::Op;
use std::time::Instant;

impl LtidCore {
    /// An operator request; `Ok` or `Err` is the text for the operator.
    pub fn operate(&mut self, now: Instant, op: Op, drive: &str) -> Result<String, String> {
        let election = self.elections.get(drive).cloned().unwrap_or_default();
        let Some(d) = self.drives.iter_mut().find(|d| d.name == drive) else {
            return Err(format!("{drive} is not a shared drive of {}", self.me));
        };
        let text = match op {
            Op::UP => {
                d.up = true;
                format!("{drive} set UP on {}", self.me)
            }
            Op::DOWN => {
                d.up = false;
                d.reserved = false;
                format!("{drive} set DOWN on {}", self.me)
            }
            Op::RESERVE => {
                if !d.up || !d.path_ok {
                    return Err(format!("{drive} is DOWN on {}", self.me));
                }
                match election.reserved_by {
                    Some(h) if h != self.me => {
                        return Err(format!("{drive} is reserved by {h}"));
                    }
                    Some(_) => return Err(format!("{drive} is already reserved by {}", self.me)),
                    None => {}
                }
                d.reserved = true;
                format!("{drive} reserved by {}", self.me)
            }
            Op::RELEASE => {
                if !d.reserved {
                    return Err(format!("{drive} is not reserved by {}", self.me));
                }
                d.reserved = false;
                format!("{drive} released by {}", self.me)
            }
            Op(other) => return Err(format!("operation {other} is not known")),
        };
        self.actions
            .push_back(Action::Log(4, "operate", text.clone()));
        self.recompute(now);
        if op == Op::RESERVE || op == Op::RELEASE {
            let scan_host = self
                .elections
                .get(drive)
                .and_then(|e| e.scan.clone())
                .unwrap_or_default();
            let ops: &[NotifyOp] = if op == Op::RESERVE {
                &[NotifyOp::Reserved, NotifyOp::Assigned]
            } else {
                &[NotifyOp::Released]
            };
            for op in ops {
                self.actions.push_back(Action::Notify {
                    drive: drive.to_string(),
                    scan_host: scan_host.clone(),
                    op: *op,
                });
            }
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{conf, drain, info, notifies};
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_mount_moves_the_scan_host_here_and_back() {
        let t = Instant::now();
        let mut c = LtidCore::new(&conf(0), "hostc", 30, t);
        c.handle_peer_info(t, info("hosta", 10, 5, true, false));
        c.discovered(t);
        drain(&mut c);
        c.operate(t, Op::RESERVE, "drv0").unwrap();
        assert_eq!(c.rows()[0].scan_host, "hostc");
        let acts = drain(&mut c);
        assert!(acts.contains(&Action::InfoChanged), "{acts:?}");
        assert_eq!(
            notifies(&acts),
            [
                ("hostc".to_string(), "RESERVED"),
                ("hostc".to_string(), "ASSIGNED")
            ]
        );
        assert_eq!(c.upstreams(), BTreeSet::from(["hosta".to_string()]));
        assert!(c.operate(t, Op::RESERVE, "drv0").is_err());
        c.operate(t, Op::RELEASE, "drv0").unwrap();
        assert_eq!(
            notifies(&drain(&mut c)),
            [("hosta".to_string(), "RELEASED")]
        );
        assert_eq!(c.rows()[0].scan_host, "hosta");
    }

    #[test]
    fn another_hosts_reservation_is_refused_and_strangers_ignored() {
        let t = Instant::now();
        let mut c = LtidCore::new(&conf(1), "hostc", 30, t);
        c.handle_peer_info(t, info("hostb", 20, 0, true, true));
        assert_eq!(
            c.operate(t, Op::RESERVE, "drv0"),
            Err("drv0 is reserved by hostb".into())
        );
        assert!(!c.handle_peer_info(t, info("mallory", 1, 9, true, true)));
        assert!(c.operate(t, Op::UP, "nosuch").is_err());
    }
}
