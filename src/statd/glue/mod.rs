//! The reactor room: rpc.statd's sans-IO engines on the event loop.
//!
//! - [`statd_module`]: the rpc.statd module (listeners, registration,
//!   the NSM core, callbacks, callouts, shutdown);
//! - [`notify_module`]: the notifier on its own (sm-notify, `-n`);
//! - [`callback_io`] and [`notify_io`]: the callback engine and the
//!   notifier with their sockets and timers;
//! - [`startup`]: opening the store and the reboot step before the
//!   privilege drop; [`store_worker`]: the store's thread, and
//!   [`linger`]: how long its turns wait to commit more changes at once;
//! - [`kernel`]: the lockd files in `/proc`; [`ha_callout`]: the HA
//!   callout's commands; [`forget_spool`]: `--forget` requests for a
//!   running daemon.

pub mod callback_io;
pub mod forget_spool;
pub mod ha_callout;
pub mod kernel;
pub mod linger;
pub mod notify_io;
pub mod notify_module;
pub mod startup;
pub mod statd_module;
pub mod store_worker;
