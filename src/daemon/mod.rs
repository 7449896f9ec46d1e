//! The daemon toolkit: everything any of statmon's daemons needs and
//! nothing protocol-specific. It depends only on [`crate::reactor`],
//! [`crate::sys`] and [`crate::log`]; the daemons depend on it, never the
//! other way round.
//!
//! - [`run`]: the run skeleton (detach and log, pid files, bootstrap the
//!   reactor, exit codes); [`detach`]: the fork with a ready pipe, and
//!   [`detach::start_as`], the first step of every daemon process;
//!   [`host`]: several daemons in one process (`statmon run`).
//! - [`lock`]: the one-daemon-per-directory lock and role hand-off;
//!   [`pidfile`]: pid files under the names init systems read.
//! - [`privs`]: giving up root for a directory's owner.
//! - [`children`]: child processes with bounded queues; [`resolver`]: a
//!   pool of `getaddrinfo` threads with an urgent lane; [`jobs`]: a pool of
//!   threads for other blocking work (probing a disk, writing sysfs).
//! - [`durable`]: durable file primitives (write-temp, fsync, rename,
//!   fsync the directory; in-place one-sector writes; moving damaged files
//!   aside; stale-temp cleanup), with no knowledge of any store.
//! - [`sd_notify`]: systemd's readiness notification (`Type=notify`).
//! - [`spool`]: the request spool administration commands leave for a
//!   running daemon.
//! - [`clock`]: the one wall clock; [`root`]: `STATMON_ROOT`, under which
//!   built-in absolute paths resolve.
//! - [`args`]: command-line helpers (getopts tables, usage, hints);
//!   [`nfsconf`]: the nfs.conf-style configuration reader.

pub mod args;
pub mod children;
pub mod clock;
pub mod detach;
pub mod durable;
pub mod host;
pub mod jobs;
pub mod lock;
pub mod nfsconf;
pub mod pidfile;
pub mod privs;
pub mod resolver;
pub mod root;
pub mod run;
pub mod sd_notify;
pub mod spool;
