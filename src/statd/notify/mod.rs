//! Reboot notification: telling the hosts this host monitored that it
//! restarted (outbound SM_NOTIFY), as the seed's statd.notify service and
//! nfs-utils' sm-notify do.
//!
//! - [`schedule`]: when to try a host again, and when to give up.

pub mod notifier;
pub mod peer;
pub mod schedule;
