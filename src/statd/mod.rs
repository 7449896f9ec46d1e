//! rpc.statd, the NSM host status monitor (program 100024 version 1), and
//! its notifier (sm-notify, the seed's statd.notify).
//!
//! Rooms, with dependencies pointing one way, down this list:
//!
//! - [`entry`]: the entry points (`rpc.statd`, `sm-notify`, the store
//!   commands `--list`/`--watch`/`--forget`) and [`config`]: the command
//!   line in two dialects and the nfs.conf sections they read.
//! - [`glue`]: the reactor room: the statd and notifier modules, callback
//!   and notify I/O, start-up, kernel files, the store worker, the HA
//!   callout and the forget spool.
//! - Sans-IO engines: [`core`] (the NSM service), [`notify`] (the reboot
//!   notifier), [`callback`] (calls to the local lock manager); and
//!   [`store`], the durable monitor store in two formats.
//! - [`record`]: the record model all of them share.
//!
//! Generic daemon machinery (detaching, locks, pid files, privileges,
//! children, resolvers, durable files) is [`crate::daemon`]'s.

pub mod callback;
pub mod config;
pub mod core;
pub mod entry;
pub mod glue;
pub mod notify;
pub mod record;
pub mod store;
