//! The entry points: what `main` calls for each program name.
//!
//! - [`statd`]: `rpc.statd` (daemon, notify-only run, or a store command);
//! - [`notify`]: the standalone notifier, `sm-notify` and the seed's
//!   `rpc.statd -n`;
//! - [`admin`]: the store commands (`--list`, `--watch`, `--forget`).

pub mod admin;
pub mod notify;
pub mod statd;
