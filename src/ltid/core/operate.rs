//! Operator requests on a drive of this host: UP, DOWN, reserve (a
//! mount: this host becomes the scan host) and release.

use super::{Action, LtidCore, NotifyOp, Reply};
use crate::ltid::wire::Op;
use std::time::Instant;

impl LtidCore {
    /// An operator request: done (the text for the operator), pending
    /// (a reservation asked of the drive's arbiter: see `arbiter.rs`), or
    /// refused (the reason).
    pub fn operate(&mut self, now: Instant, op: Op, drive: &str) -> Result<Reply, String> {
        let election = self.elections.get(drive).cloned().unwrap_or_default();
        let Some(i) = self.drives.iter().position(|d| d.name == drive) else {
            return Err(format!("{drive} is not a shared drive of {}", self.me));
        };
        let me = self.me.clone();
        let d = &mut self.drives[i];
        let (text, released) = match op {
            Op::UP => {
                d.up = true;
                (format!("{drive} set UP on {me}"), false)
            }
            Op::DOWN => {
                d.up = false;
                self.let_go(i, "set DOWN");
                (format!("{drive} set DOWN on {me}"), false)
            }
            Op::RESERVE => {
                if !d.up || !d.path_ok {
                    return Err(format!("{drive} is DOWN on {me}"));
                }
                match election.reserved_by {
                    Some(h) if h != me => {
                        return Err(format!("{drive} is reserved by {h}"));
                    }
                    Some(_) => return Err(format!("{drive} is already reserved by {me}")),
                    None => {}
                }
                return self.claim(now, i);
            }
            Op::RELEASE => {
                if !d.reserved && d.claim.is_none() {
                    return Err(format!("{drive} is not reserved by {me}"));
                }
                let held = self.let_go(i, "released");
                (format!("{drive} released by {me}"), held)
            }
            Op(other) => return Err(format!("operation {other} is not known")),
        };
        self.actions
            .push_back(Action::Log(4, "operate", text.clone()));
        self.recompute(now);
        if released {
            self.notify_mount(drive, &[NotifyOp::Released]);
        }
        Ok(Reply::Done(text))
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
        // Granted only once the arbiter (hosta, the home) says so.
        assert_eq!(c.operate(t, Op::RESERVE, "drv0"), Ok(Reply::Pending));
        let ask = Action::Ask {
            arbiter: "hosta".into(),
            drive: "drv0".into(),
            reserve: true,
        };
        assert_eq!(drain(&mut c), [ask]);
        assert_eq!(c.rows()[0].scan_host, "hosta");
        c.handle_verdict(t, "hosta", "drv0", "hostc", "drv0 reserved by hostc");
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
