//! Reboot notification: telling the hosts this host monitored that it
//! restarted (outbound SM_NOTIFY), as the seed's statd.notify service and
//! nfs-utils' sm-notify do. All of it is sans-IO.
//!
//! - [`notifier`]: the notifier's state machine and its inputs and outputs
//!   (kept in `api.rs`; what it keeps per host and per call in `jobs.rs`;
//!   one host's rounds in `rounds.rs`);
//! - [`peer`]: finding one address's statd and what to send it;
//! - [`schedule`]: when to try a host again, and when to give up;
//! - [`progress`]: the progress record (where each host stands), as bytes;
//! - [`ledger`]: what the progress record should say, and when it is owed
//!   a write ([`ledger::PersistProgress`]).

mod api;
mod jobs;
pub mod ledger;
pub mod notifier;
pub mod peer;
pub mod progress;
mod rounds;
pub mod schedule;
#[cfg(test)]
mod sim;
