//! Scan-host election for one shared drive, as HOWTO32788 describes it:
//! the first host to come online with a non-zero scan ability and the
//! drive UP (and its path working) on it is the drive's scan host; while
//! a host holds a reservation (a mount) the scan host is that host.
//!
//! Every media server runs this same pure function over the hosts it
//! knows to be online, so all of them agree once their views agree.
//! "First to come online" is the smallest `online_since_ms`; equal times
//! go to the smaller host name.

use super::wire::HostInfo;

/// The outcome for one drive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Election {
    /// The scan host without reservations: where the other hosts hold
    /// their rdevmi connection.
    pub home: Option<String>,
    /// The host holding a reservation, if any (the first to come online
    /// among several claims).
    pub reserved_by: Option<String>,
    /// The scan host now: `reserved_by`, else `home`; `None` leaves the
    /// drive in `SCAN` mode.
    pub scan: Option<String>,
}

/// Elects the scan host of `drive` among `online` hosts (this host
/// included).
pub fn elect(drive: &str, online: &[&HostInfo]) -> Election {
    let order = |h: &&&HostInfo| (h.online_since_ms, h.name.clone());
    let with_drive = |want_reserved: bool| {
        online
            .iter()
            .filter(move |h| {
                h.drives
                    .iter()
                    .any(|d| d.name == drive && d.up && d.path_ok && (!want_reserved || d.reserved))
            })
            .min_by_key(order)
            .map(|h| h.name.clone())
    };
    let home = online
        .iter()
        .filter(|h| h.scan_ability > 0)
        .filter(|h| {
            h.drives
                .iter()
                .any(|d| d.name == drive && d.up && d.path_ok)
        })
        .min_by_key(order)
        .map(|h| h.name.clone());
    let reserved_by = with_drive(true);
    Election {
        scan: reserved_by.clone().or_else(|| home.clone()),
        home,
        reserved_by,
    }
}

/// The arbiter of `drive`'s reservations among `online` hosts: its home
/// scan host, else (no host may scan it) the first host to come online
/// with the drive UP and its path working. Every host computes the same
/// from the same view, so there is one decision point per drive; the
/// holder of a reservation does not move it (reservations are not
/// looked at).
pub fn arbiter(drive: &str, online: &[&HostInfo]) -> Option<String> {
    let usable = |h: &&&HostInfo| {
        h.drives
            .iter()
            .any(|d| d.name == drive && d.up && d.path_ok)
    };
    let order = |h: &&&HostInfo| (h.scan_ability == 0, h.online_since_ms, h.name.clone());
    online
        .iter()
        .filter(usable)
        .min_by_key(order)
        .map(|h| h.name.clone())
}

/// One host's control mode for a drive of robot `TLD`: `DOWN-TLD` when it
/// is DOWN there, `SCAN-TLD` when the drive has no scan host, else `TLD`
/// (a standalone drive: `DOWN`, `SCAN`, `AVR`). The robot is named as
/// configured.
pub fn control_mode(robot: Option<&str>, up: bool, scan: bool) -> String {
    let word = match (up, scan) {
        (false, _) => "DOWN",
        (true, false) => "SCAN",
        (true, true) => return robot.unwrap_or("AVR").to_string(),
    };
    match robot {
        Some(r) => format!("{word}-{r}"),
        None => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ltid::wire::LocalDrive;

    fn host(name: &str, since: u64, ability: u32, up: bool, reserved: bool) -> HostInfo {
        HostInfo {
            name: name.into(),
            online_since_ms: since,
            scan_ability: ability,
            drives: vec![LocalDrive {
                name: "drv0".into(),
                up,
                path_ok: true,
                reserved,
            }],
        }
    }

    #[test]
    fn the_first_online_with_ability_and_the_drive_up_wins() {
        let a = host("hosta", 30, 5, true, false);
        let b = host("hostb", 10, 0, true, false);
        let c = host("hostc", 20, 1, true, false);
        let e = elect("drv0", &[&a, &b, &c]);
        assert_eq!(e.scan.as_deref(), Some("hostc"));
        let c_down = host("hostc", 20, 1, false, false);
        assert_eq!(
            elect("drv0", &[&a, &b, &c_down]).scan.as_deref(),
            Some("hosta")
        );
        assert_eq!(elect("drv1", &[&a, &b, &c]).scan, None);
    }

    #[test]
    fn equal_times_go_to_the_smaller_name() {
        let a = host("hosta", 10, 1, true, false);
        let b = host("hostb", 10, 1, true, false);
        assert_eq!(elect("drv0", &[&b, &a]).scan.as_deref(), Some("hosta"));
    }

    #[test]
    fn a_reservation_moves_the_scan_host_but_not_the_home() {
        let a = host("hosta", 10, 1, true, false);
        let c = host("hostc", 20, 0, true, true);
        let e = elect("drv0", &[&a, &c]);
        assert_eq!(e.home.as_deref(), Some("hosta"));
        assert_eq!(e.reserved_by.as_deref(), Some("hostc"));
        assert_eq!(e.scan.as_deref(), Some("hostc"));
    }

    #[test]
    fn no_ability_anywhere_leaves_no_scan_host() {
        let a = host("hosta", 10, 0, true, false);
        let b = host("hostb", 20, 0, true, false);
        assert_eq!(elect("drv0", &[&a, &b]), Election::default());
    }

    #[test]
    fn the_arbiter_is_the_home_else_the_first_usable_host_and_ignores_reservations() {
        let a = host("hosta", 30, 5, true, false);
        let b = host("hostb", 10, 0, true, true);
        let c = host("hostc", 20, 1, true, false);
        assert_eq!(arbiter("drv0", &[&a, &b, &c]).as_deref(), Some("hostc"));
        assert_eq!(
            arbiter("drv0", &[&a, &b, &c]),
            elect("drv0", &[&a, &b, &c]).home
        );
        let a0 = host("hosta", 30, 0, true, false);
        let c_down = host("hostc", 20, 0, false, false);
        assert_eq!(
            arbiter("drv0", &[&a0, &b, &c_down]).as_deref(),
            Some("hostb")
        );
        assert_eq!(arbiter("drv1", &[&a, &b, &c]), None);
    }

    #[test]
    fn control_modes() {
        assert_eq!(control_mode(Some("TLD"), true, true), "TLD");
        assert_eq!(control_mode(Some("TLD"), true, false), "SCAN-TLD");
        assert_eq!(control_mode(Some("TL8"), false, true), "DOWN-TL8");
        assert_eq!(control_mode(None, true, false), "SCAN");
        assert_eq!(control_mode(None, false, false), "DOWN");
        assert_eq!(control_mode(None, true, true), "AVR");
    }

    fn arb_host() -> impl proptest::strategy::Strategy<Value = HostInfo> {
        use proptest::prelude::*;
        (0u8..6, 0u64..4, 0u32..3, any::<[bool; 3]>()).prop_map(|(n, since, ability, f)| HostInfo {
            name: format!("host{n}"),
            online_since_ms: since,
            scan_ability: ability,
            drives: vec![LocalDrive {
                name: "drv0".into(),
                up: f[0],
                path_ok: f[1],
                reserved: f[2],
            }],
        })
    }

    proptest::proptest! {
        /// Every host elects alike: the outcome does not depend on the
        /// order in which a host learnt of the others; the scan host is a
        /// candidate (or the reserving host) and no candidate came online
        /// before it.
        #[test]
        fn every_order_of_the_same_view_elects_alike(
            mut hosts in proptest::collection::vec(arb_host(), 0..6),
            seed in 0usize..720,
        ) {
            hosts.sort_by(|a, b| a.name.cmp(&b.name));
            hosts.dedup_by(|a, b| a.name == b.name);
            let refs: Vec<&HostInfo> = hosts.iter().collect();
            let first = elect("drv0", &refs);
            let mut shuffled = refs.clone();
            let n = shuffled.len().max(1);
            for i in 0..shuffled.len() {
                shuffled.swap(i, (seed / (i + 1)) % n);
            }
            proptest::prop_assert_eq!(&elect("drv0", &shuffled), &first);
            let usable = |h: &HostInfo| h.drives[0].up && h.drives[0].path_ok;
            if let Some(home) = &first.home {
                let h = hosts.iter().find(|h| &h.name == home).unwrap();
                proptest::prop_assert!(h.scan_ability > 0 && usable(h));
                for other in hosts.iter().filter(|o| o.scan_ability > 0 && usable(o)) {
                    proptest::prop_assert!(
                        (h.online_since_ms, &h.name) <= (other.online_since_ms, &other.name)
                    );
                }
            } else {
                proptest::prop_assert!(!hosts.iter().any(|h| h.scan_ability > 0 && usable(h)));
            }
            proptest::prop_assert_eq!(
                first.scan.clone(),
                first.reserved_by.clone().or(first.home.clone())
            );
            let arb = arbiter("drv0", &refs);
            proptest::prop_assert_eq!(&arbiter("drv0", &shuffled), &arb);
            if first.home.is_some() {
                proptest::prop_assert_eq!(&arb, &first.home);
            }
            proptest::prop_assert_eq!(arb.is_some(), hosts.iter().any(usable));
        }
    }
}
