//! rpc.statd's durable monitor store: one [`Store`] trait, two
//! byte-compatible on-disk formats.
//!
//! - [`NfsUtilsStore`]: the nfs-utils layout (`sm/`, `sm.bak/`, `state`),
//!   the default on Linux at `/var/lib/nfs`. Debian's rpc.statd and
//!   sm-notify read what it writes, and it reads what they wrote.
//! - [`AppleStore`]: the seed's `/var/db/statd.status` (big-endian "NSM1"),
//!   plus sidecars for what that format does not hold.
//!
//! Group commit: the daemon collects the SM_MON/SM_UNMON/... requests that
//! arrive together, hands them to [`Store::commit`] as one batch, and
//! acknowledges each after it returns. A commit writes every changed file
//! through a temporary file and `fsync`, renames it into place, and `fsync`s
//! each touched directory once, whatever the batch size.
//!
//! Crash safety: every file is replaced atomically, so after a crash each
//! file holds either its old or its new content. If a commit fails, the
//! store's memory returns to the state before the batch; files already
//! renamed keep the new content (each on its own consistent), so a later
//! load may show part of a batch that was not acknowledged — never a torn
//! record.
//!
//! Damage: a bad record line or file is logged, the file is moved aside to
//! `.<name>.corrupt-<n>` in its directory, the records that could be read
//! are written back, and [`Loaded::damage`] lists what happened. The notify
//! list is never dropped silently.
//!
//! The record model both formats store is [`crate::statd::record`]. The
//! state number rules are in [`state`]; each format has a folder: its pure
//! byte layout (`format.rs`) and its store; nfs-utils' record files are
//! written in batches (`nfsutils/batch.rs`) that reuse removed record files
//! (`nfsutils/spares.rs`). All file access goes through
//! [`crate::daemon::durable`].

pub mod apple;
pub mod nfsutils;
pub mod peek;
pub mod state;

pub use apple::AppleStore;
pub use nfsutils::format::RecordError;
pub use nfsutils::{NfsUtilsStore, NFS_UTILS_STATE_FILE};
pub use state::StateNote;

use crate::statd::record::{Change, Effect, HostEntry, Registration};
use std::io;
use std::path::{Path, PathBuf};

/// The nfs-utils state directory when none is configured.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/nfs";

/// The seed's (Apple's) state directory when none is configured.
pub const APPLE_STATE_DIR: &str = "/var/db";

/// The seed's status file name in its state directory.
pub const APPLE_STATUS_FILE: &str = "statd.status";

/// The on-disk layout of the monitor store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFormat {
    /// nfs-utils' `sm/`, `sm.bak/` and `state` in the state directory.
    NfsUtils,
    /// The seed's [`APPLE_STATUS_FILE`] in the state directory.
    Apple,
}

impl StoreFormat {
    /// `nfs-utils` or `apple` (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<StoreFormat> {
        if name.eq_ignore_ascii_case("nfs-utils") {
            Some(StoreFormat::NfsUtils)
        } else if name.eq_ignore_ascii_case("apple") {
            Some(StoreFormat::Apple)
        } else {
            None
        }
    }

    /// The state directory when none is configured (under `STATMON_ROOT`
    /// when that is set: [`crate::daemon::root`]).
    pub fn default_state_dir(self) -> PathBuf {
        crate::daemon::root::path(match self {
            StoreFormat::NfsUtils => DEFAULT_STATE_DIR,
            StoreFormat::Apple => APPLE_STATE_DIR,
        })
    }

    /// A store of this format in `state_dir`, not yet loaded.
    pub fn open(self, state_dir: &Path) -> Box<dyn Store + Send> {
        match self {
            StoreFormat::NfsUtils => Box::new(NfsUtilsStore::open(state_dir)),
            StoreFormat::Apple => Box::new(AppleStore::open(state_dir.join(APPLE_STATUS_FILE))),
        }
    }
}

/// What the daemon knows about this boot when it loads the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootInfo {
    /// The kernel's boot id (Linux `/proc/sys/kernel/random/boot_id`, BSD
    /// `kern.boottime` as text...); `None` if the platform has none, which
    /// makes every start count as a boot.
    pub boot_id: Option<Vec<u8>>,
    /// Wall-clock seconds since the Unix epoch, used only to derive a safe
    /// state when the stored one is lost ([`state::derived`]).
    pub now_unix_secs: u64,
}

/// Everything [`Store::load`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The state to run with (odd). Already on disk when `load` returns.
    pub state: i32,
    /// Why `state` differs from what was stored, if it does.
    pub state_note: Option<StateNote>,
    /// The host booted since the store last recorded a boot id (or that is
    /// unknown): the daemon should call [`Store::begin_reboot`].
    pub new_boot: bool,
    /// Some boot id was on record (false on a store statmon never ran on).
    pub boot_on_record: bool,
    /// Monitored and to-be-notified hosts.
    pub hosts: Vec<HostEntry>,
    /// Damaged files and records, and what was done about them.
    pub damage: Vec<Damage>,
}

/// One damaged file, as reported by [`Store::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The file.
    pub path: PathBuf,
    /// What was wrong (escaped, printable).
    pub what: String,
    /// Where the original bytes were moved, if they were kept.
    pub moved_to: Option<PathBuf>,
    /// How many records were recovered from it.
    pub kept: usize,
}

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// A file-system operation failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        err: io::Error,
    },
    /// Change number `index` of the batch cannot be stored; nothing of the
    /// batch was applied.
    Invalid {
        /// Position in the batch.
        index: usize,
        /// Why.
        why: RecordError,
    },
    /// Change number `index` would lower the state; nothing was applied.
    StateLowered {
        /// Position in the batch.
        index: usize,
        /// The state in force.
        current: i32,
        /// The state asked for.
        requested: i32,
    },
}

impl StoreError {
    fn io(path: impl Into<PathBuf>, op: &'static str) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |err| StoreError::Io { path, op, err }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Io { path, op, err } => write!(f, "{op} {}: {err}", path.display()),
            StoreError::Invalid { index, why } => write!(f, "change #{index} refused: {why}"),
            StoreError::StateLowered {
                index,
                current,
                requested,
            } => {
                write!(
                    f,
                    "change #{index} refused: state {requested} is not above {current}"
                )
            }
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { err, .. } => Some(err),
            StoreError::Invalid { why, .. } => Some(why),
            StoreError::StateLowered { .. } => None,
        }
    }
}

/// The durable store the NSM core works against.
///
/// Call order: [`load`](Store::load) once at start; if it reports
/// `new_boot`, [`begin_reboot`](Store::begin_reboot) (or commit
/// [`Change::SetBootId`] when notifying is disabled); then any number of
/// [`commit`](Store::commit)s. After an `Err` from `load` or `begin_reboot`
/// call `load` again before anything else.
pub trait Store {
    /// Reads the store, repairs what it can (damaged files moved aside, good
    /// records rewritten, crash leftovers removed), creates missing
    /// directories, and decides the running state (written back if it
    /// differs from the stored one).
    fn load(&mut self, boot: &BootInfo) -> Result<Loaded, StoreError>;

    /// Whether `reg` can be stored (name rules and the nfs-utils line
    /// length limit, which both stores apply). Check each SM_MON with this
    /// before queuing it, so one bad request cannot fail a whole batch.
    fn validate(&self, reg: &Registration) -> Result<(), RecordError> {
        nfsutils::format::check(reg)
    }

    /// Applies a batch with one round of `fsync`s. On `Ok`, every change is
    /// durable and the effects are in batch order. On `Err`, the store's
    /// memory is as before the batch.
    fn commit(&mut self, batch: &[Change]) -> Result<Vec<Effect>, StoreError>;

    /// The host rebooted (or SM_SIMU_CRASH): every monitored host moves to
    /// the notify list (nfs-utils: `sm/X` → `sm.bak/X` as sm-notify does;
    /// Apple: `hi_monitored` → `hi_notify`), registrations are dropped (the
    /// lock manager registers again), the state advances (odd +2, even +1)
    /// and `boot_id` is recorded if given. Returns the new state.
    fn begin_reboot(&mut self, boot_id: Option<&[u8]>) -> Result<i32, StoreError>;

    /// Lets the next [`begin_reboot`](Store::begin_reboot) return once the
    /// new state is durable, leaving the moves of the records (and the boot
    /// id, written after them) to [`settle`](Store::settle): the daemon
    /// answers and notifies while its store thread moves the files. A store
    /// that cannot split the step ignores this.
    fn defer_reboot_moves(&mut self) {}

    /// Writes what a deferred reboot step left (see
    /// [`defer_reboot_moves`](Store::defer_reboot_moves)); nothing if there
    /// is none. Every commit and reboot step settles first, so nothing
    /// reaches the disk out of order; on `Err` the work stays pending.
    fn settle(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The state in force.
    fn state(&self) -> i32;

    /// A snapshot of all hosts, sorted by name.
    fn hosts(&self) -> Vec<HostEntry>;
}

/// Checks a batch before anything is applied: names storable, state never
/// lowered (against `state` and earlier `SetState`s in the batch).
fn precheck(store: &dyn Store, batch: &[Change]) -> Result<(), StoreError> {
    let mut state = store.state();
    for (index, change) in batch.iter().enumerate() {
        match change {
            Change::Monitor(reg) => store
                .validate(reg)
                .map_err(|why| StoreError::Invalid { index, why })?,
            Change::SetState(s) if *s < state => {
                return Err(StoreError::StateLowered {
                    index,
                    current: state,
                    requested: *s,
                })
            }
            Change::SetState(s) => state = *s,
            _ => {}
        }
    }
    Ok(())
}

/// Logs a damage report at warning level and returns it.
fn report(path: PathBuf, what: String, moved_to: Option<PathBuf>, kept: usize) -> Damage {
    match &moved_to {
        Some(to) => log::warn!(
            "{}: {what}; kept {kept} record(s), original moved to {}",
            path.display(),
            to.display()
        ),
        None => log::warn!("{}: {what}", path.display()),
    }
    Damage {
        path,
        what,
        moved_to,
        kept,
    }
}

/// Escaped text of a name for logs and reports.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
