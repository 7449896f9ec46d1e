//! ltid, vmd and rdevmi: NetBackup Shared Storage Option drive-status
//! sharing between media servers (the seed's rdevmi note). Every media
//! server runs ltid; each shared drive has a scan host, elected among the
//! registered media servers; the others hold an rdevmi connection to it
//! and receive the drive's status.
//!
//! - [`wire`]: the protocol between hosts and on the local socket;
//!   [`mq`]: the ltid message queue's messages; [`conf`]: `vm.conf`;
//! - [`elect`]: the scan-host election; [`core`]: the sans-IO engine;
//! - [`module`]: ltid on the reactor, with [`vmd`] its TCP listener and
//!   connections to the other hosts, `local.rs` its drive-table socket and
//!   queue, `held.rs` the reservations file, [`notify`] the `shared_drive_notify` runs; [`rdevmi`]: the
//!   rdevmi process;
//! - [`dlog`]: the legacy daemon log; [`probe`]: drive probing;
//!   [`entry`]: the `ltid`, `rdevmi` and `vmoprcmd` programs.

pub mod conf;
pub mod core;
pub mod dlog;
pub mod elect;
pub mod entry;
pub mod held;
mod local;
pub mod module;
pub mod mq;
pub mod notify;
pub mod probe;
pub mod rdevmi;
pub mod vmd;
pub mod wire;

use std::path::PathBuf;

/// The volmgr directory when `STATMON_ROOT` is unset.
pub const VOLMGR: &str = "/usr/openv/volmgr";

/// Where everything lives, under the volmgr directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub volmgr: PathBuf,
}

impl Paths {
    /// The built-in layout (under `STATMON_ROOT` when it is set).
    pub fn system() -> Paths {
        Paths {
            volmgr: crate::daemon::root::path(VOLMGR),
        }
    }

    /// `vm.conf`.
    pub fn conf(&self) -> PathBuf {
        self.volmgr.join("vm.conf")
    }
    /// `misc/`: the sockets, the lock and the pid file.
    pub fn misc(&self) -> PathBuf {
        self.volmgr.join("misc")
    }
    /// The drive table and local requests (`misc/ltid.sock`).
    pub fn socket(&self) -> PathBuf {
        self.misc().join("ltid.sock")
    }
    /// The reservations this host holds (`misc/ltid.reservations`).
    pub fn reservations(&self) -> PathBuf {
        self.misc().join(held::FILE)
    }
    /// The message queue (`misc/ltid.mq`).
    pub fn queue(&self) -> PathBuf {
        self.misc().join("ltid.mq")
    }
    /// Its existence turns on the queue's log (`VM_MQ_DEBUG`).
    pub fn mq_debug(&self) -> PathBuf {
        self.volmgr.join("VM_MQ_DEBUG")
    }
    /// The daemon log directory (`debug/daemon`).
    pub fn log_dir(&self) -> PathBuf {
        self.volmgr.join("debug").join("daemon")
    }
    /// `bin/shared_drive_notify`.
    pub fn notify_script(&self) -> PathBuf {
        self.volmgr.join("bin").join("shared_drive_notify")
    }
}
