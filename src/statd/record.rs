//! The record model: what the NSM core, the notifier and both on-disk
//! formats share. A [`Change`] is what the core asks the store to make
//! durable and an [`Effect`] what it did; one [`Registration`]
//! per SM_MON that is in force, and one [`HostEntry`] per monitored or
//! to-be-notified host.
//!
//! Identity rules (the same in every store):
//! - host names compare ASCII case-insensitively ([`host_eq`]), as every
//!   reference statd does (`strcasecmp`);
//! - a registration is identified by (mon_name, my_name, my_prog, my_proc),
//!   names case-insensitive. `my_vers` is *not* part of the identity: the
//!   reference replaces the line when only `my_vers` differs
//!   (reference-observed §12), and so do we.
//!
//! Program, version and procedure are kept as `u32`: the wire carries them as
//! XDR `int`, and this is the same 32 bits reinterpreted (`as u32`), which is
//! how nfs-utils prints them (`%08x` of `(unsigned int)`).

use crate::proto::sm_inter::{Mon, MonId, MyId};

/// ASCII case-insensitive host name equality.
pub fn host_eq(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// One monitor registration: "tell `my_name`'s program `(my_prog, my_vers,
/// my_proc)` when `mon_name` reboots, and hand back `cookie`".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registration {
    /// The monitored host, exactly as given in SM_MON.
    pub mon_name: Vec<u8>,
    /// The caller's name (also the identity sm-notify sends after a reboot).
    pub my_name: Vec<u8>,
    /// Callback program (wire `int` as `u32`).
    pub my_prog: u32,
    /// Callback version (wire `int` as `u32`); not part of the identity.
    pub my_vers: u32,
    /// Callback procedure (wire `int` as `u32`).
    pub my_proc: u32,
    /// The 16 opaque bytes (`priv`) echoed byte for byte in the callback.
    pub cookie: [u8; 16],
}

impl Registration {
    /// The registration an SM_MON argument asks for.
    pub fn from_mon(mon: &Mon) -> Registration {
        Registration {
            mon_name: mon.mon_id.mon_name.as_bytes().to_vec(),
            my_name: mon.mon_id.my_id.my_name.as_bytes().to_vec(),
            my_prog: mon.mon_id.my_id.my_prog as u32,
            my_vers: mon.mon_id.my_id.my_vers as u32,
            my_proc: mon.mon_id.my_id.my_proc as u32,
            cookie: mon.cookie.0,
        }
    }

    /// Whether `other` is the same registration (possibly with another
    /// `my_vers`, cookie or name case): a new SM_MON for it replaces it.
    pub fn same_identity(&self, other: &Registration) -> bool {
        host_eq(&self.mon_name, &other.mon_name)
            && host_eq(&self.my_name, &other.my_name)
            && self.my_prog == other.my_prog
            && self.my_proc == other.my_proc
    }

    /// Whether this registration was made by `my_id` for `(prog, vers, proc)`;
    /// `my_vers: None` matches any version.
    pub fn made_by(
        &self,
        my_name: &[u8],
        my_prog: u32,
        my_vers: Option<u32>,
        my_proc: u32,
    ) -> bool {
        host_eq(&self.my_name, my_name)
            && self.my_prog == my_prog
            && self.my_proc == my_proc
            && my_vers.is_none_or(|v| v == self.my_vers)
    }
}

/// Applies an SM_MON to a host's list of registrations: an identical one
/// (same identity, version and cookie) leaves the list alone; one with the
/// same identity is replaced in place (and any further duplicates of it
/// dropped); otherwise the registration is appended.
pub fn monitor_into(list: &mut Vec<Registration>, reg: &Registration) -> Effect {
    let same: Vec<usize> = list
        .iter()
        .enumerate()
        .filter(|(_, r)| r.same_identity(reg))
        .map(|(i, _)| i)
        .collect();
    match same.as_slice() {
        [] => {
            list.push(reg.clone());
            Effect::Added
        }
        [only]
            if list
                .get(*only)
                .is_some_and(|r| r.my_vers == reg.my_vers && r.cookie == reg.cookie) =>
        {
            Effect::Unchanged
        }
        [first, rest @ ..] => {
            if let Some(slot) = list.get_mut(*first) {
                *slot = reg.clone();
            }
            for &i in rest.iter().rev() {
                list.remove(i);
            }
            Effect::Replaced
        }
    }
}

/// Removes every registration `pred` selects; returns how many.
pub fn remove_where(list: &mut Vec<Registration>, pred: impl Fn(&Registration) -> bool) -> usize {
    let before = list.len();
    list.retain(|r| !pred(r));
    before - list.len()
}

/// What SM_UNMON names: one host for one caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmonitorKey {
    /// The monitored host (case-insensitive).
    pub mon_name: Vec<u8>,
    /// The caller (case-insensitive).
    pub my_name: Vec<u8>,
    /// Callback program.
    pub my_prog: u32,
    /// Callback version; `None` matches any version.
    pub my_vers: Option<u32>,
    /// Callback procedure.
    pub my_proc: u32,
}

impl UnmonitorKey {
    /// The key of an SM_UNMON argument; the version must match, as in
    /// nfs-utils.
    pub fn from_mon_id(id: &MonId) -> UnmonitorKey {
        UnmonitorKey {
            mon_name: id.mon_name.as_bytes().to_vec(),
            my_name: id.my_id.my_name.as_bytes().to_vec(),
            my_prog: id.my_id.my_prog as u32,
            my_vers: Some(id.my_id.my_vers as u32),
            my_proc: id.my_id.my_proc as u32,
        }
    }

    /// Whether `reg` is what this key names.
    pub fn matches(&self, reg: &Registration) -> bool {
        host_eq(&reg.mon_name, &self.mon_name)
            && reg.made_by(&self.my_name, self.my_prog, self.my_vers, self.my_proc)
    }
}

/// What SM_UNMON_ALL names: every registration of one caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerKey {
    /// The caller (case-insensitive).
    pub my_name: Vec<u8>,
    /// Callback program.
    pub my_prog: u32,
    /// Callback version; `None` matches any version.
    pub my_vers: Option<u32>,
    /// Callback procedure.
    pub my_proc: u32,
}

impl CallerKey {
    /// The key of an SM_UNMON_ALL argument; the version must match.
    pub fn from_my_id(id: &MyId) -> CallerKey {
        CallerKey {
            my_name: id.my_name.as_bytes().to_vec(),
            my_prog: id.my_prog as u32,
            my_vers: Some(id.my_vers as u32),
            my_proc: id.my_proc as u32,
        }
    }

    /// Whether `reg` belongs to this caller.
    pub fn matches(&self, reg: &Registration) -> bool {
        reg.made_by(&self.my_name, self.my_prog, self.my_vers, self.my_proc)
    }
}

/// One host as a store knows it.
///
/// `name` is the store's key for the host: the `sm/`/`sm.bak/` file name in
/// the nfs-utils layout, `hi_name` in the Apple layout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostEntry {
    /// The host's key in the store (file name or `hi_name`).
    pub name: Vec<u8>,
    /// The host is currently monitored (an `sm/` file, `hi_monitored`).
    pub monitored: bool,
    /// The host must be sent SM_NOTIFY (an `sm.bak/` file, `hi_notify`).
    pub needs_notify: bool,
    /// The registrations in force for this host (`sm/` lines; the Apple
    /// store's sidecar lines).
    pub registrations: Vec<Registration>,
    /// nfs-utils only: the `sm.bak/` lines still to notify. Each names the
    /// identity (`my_name`) to send; Apple's layout has no such lines.
    pub notify: Vec<Registration>,
}

/// One change in a commit batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// SM_MON: add or replace a registration (identity rules in this module's).
    Monitor(Registration),
    /// SM_UNMON: remove the registrations the key names.
    Unmonitor(UnmonitorKey),
    /// SM_UNMON_ALL: remove every registration of one caller.
    UnmonitorAll(CallerKey),
    /// A host was notified (or an administrator gave up on it): forget the
    /// `sm.bak/` lines of `my_name` (all lines if `None`) / clear Apple's
    /// `hi_notify`. `host` is the store's name for it ([`HostEntry::name`]),
    /// compared case-insensitively.
    NotifyDone {
        /// The host.
        host: Vec<u8>,
        /// Only the lines sent for this identity (nfs-utils); `None` = all.
        my_name: Option<Vec<u8>>,
    },
    /// Set the state number; it may not go down.
    SetState(i32),
    /// Record the current boot id without reboot processing (for a daemon
    /// told not to notify, e.g. `-L`).
    SetBootId(Vec<u8>),
}

/// What a [`Change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A new registration.
    Added,
    /// An existing registration was replaced (new cookie or version).
    Replaced,
    /// Nothing to do (duplicate SM_MON, same state...).
    Unchanged,
    /// This many registrations or notify entries were removed.
    Removed(usize),
    /// The state or boot id was written.
    Updated,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(mon: &str, my: &str, vers: u32, cookie: u8) -> Registration {
        Registration {
            mon_name: mon.into(),
            my_name: my.into(),
            my_prog: 100_021,
            my_vers: vers,
            my_proc: 16,
            cookie: [cookie; 16],
        }
    }

    #[test]
    fn identity_ignores_case_vers_and_cookie() {
        let a = reg("PeerHost", "Client", 3, 1);
        assert!(a.same_identity(&reg("peerhost", "client", 4, 2)));
        assert!(!a.same_identity(&reg("peerhost", "other", 3, 1)));
        let mut b = a.clone();
        b.my_proc = 24;
        assert!(!a.same_identity(&b));
    }

    #[test]
    fn unmonitor_keys_match_version_when_given() {
        let r = reg("peer", "me", 3, 0);
        let mut key = UnmonitorKey {
            mon_name: b"PEER".to_vec(),
            my_name: b"me".to_vec(),
            my_prog: 100_021,
            my_vers: Some(4),
            my_proc: 16,
        };
        assert!(!key.matches(&r));
        key.my_vers = None;
        assert!(key.matches(&r));
        let all = CallerKey {
            my_name: b"ME".to_vec(),
            my_prog: 100_021,
            my_vers: Some(3),
            my_proc: 16,
        };
        assert!(all.matches(&r));
    }

    #[test]
    fn monitor_rules() {
        let mut list = Vec::new();
        assert_eq!(
            monitor_into(&mut list, &reg("peer", "me", 3, 1)),
            Effect::Added
        );
        assert_eq!(
            monitor_into(&mut list, &reg("PEER", "me", 3, 1)),
            Effect::Unchanged
        );
        assert_eq!(
            monitor_into(&mut list, &reg("peer", "me", 3, 2)),
            Effect::Replaced
        );
        assert_eq!(
            monitor_into(&mut list, &reg("peer", "me", 4, 2)),
            Effect::Replaced
        );
        assert_eq!(
            monitor_into(&mut list, &reg("peer", "other", 4, 2)),
            Effect::Added
        );
        assert_eq!(
            list,
            vec![reg("peer", "me", 4, 2), reg("peer", "other", 4, 2)]
        );
        list.push(reg("peer", "me", 1, 9));
        assert_eq!(
            monitor_into(&mut list, &reg("peer", "me", 4, 2)),
            Effect::Replaced
        );
        assert_eq!(list.len(), 2);
        assert_eq!(remove_where(&mut list, |r| r.my_name == b"me"), 1);
    }

    #[test]
    fn from_wire_reinterprets_ints() {
        let mut mon = Mon::default();
        mon.mon_id.my_id.my_prog = -1;
        mon.cookie.0 = [7; 16];
        let r = Registration::from_mon(&mon);
        assert_eq!(r.my_prog, 0xffff_ffff);
        assert_eq!(r.cookie, [7; 16]);
    }
}
