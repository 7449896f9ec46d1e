//! Opening the store at start: load it, report damage, decide the state,
//! and do the reboot step when the host booted since the last run; and
//! the check made before anything opens, that no other statd serves
//! ([`refuse_second_statd`]).

use crate::daemon::{clock, privs, root};
use crate::proto::sm_inter::{SM_PROG, SM_VERS};
use crate::service::probe;
use crate::statd::config::Config;
use crate::statd::record::{Change, HostEntry};
use crate::statd::store::{BootInfo, Store, StoreFormat, NFS_UTILS_STATE_FILE};
use std::io;
use std::path::{Path, PathBuf};

/// nfs-utils' once-per-boot marker of sm-notify (on a tmpfs /run).
pub const SM_NOTIFY_MARKER: &str = "/run/sm-notify.pid";

/// The role rpc.statd writes in the state directory's lock
/// ([`crate::daemon::lock`]).
pub const ROLE_DAEMON: &str = "rpc.statd";

/// The role a standalone notifier writes there; rpc.statd takes over from
/// it.
pub const ROLE_NOTIFIER: &str = "notifier";

/// Linux's per-boot random id.
pub const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

/// The loaded store and what the daemon starts with.
pub struct Opened {
    /// The store, ready for commits.
    pub store: Box<dyn Store + Send>,
    /// The running state (odd, on disk).
    pub state: i32,
    /// Hosts as stored after the reboot step.
    pub hosts: Vec<HostEntry>,
    /// The reboot step was taken now (a new round of notification starts).
    pub rebooted: bool,
    /// The host booted since the store last recorded a boot, but the step
    /// was not taken ([`RebootStep::Never`]): this boot's id, owed to a
    /// later reboot step.
    pub step_owed: Option<Vec<u8>>,
}

/// This boot, as far as the platform tells.
pub fn boot_info() -> BootInfo {
    let boot_id = std::fs::read(root::path(BOOT_ID_PATH))
        .ok()
        .map(|b| b.trim_ascii().to_vec())
        .filter(|b| !b.is_empty());
    BootInfo {
        boot_id,
        now_unix_secs: clock::unix_now(),
    }
}

/// When to take the reboot step (every monitored host moves to the notify
/// list, the state advances).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootStep {
    /// When the host booted since the store last recorded a boot.
    OnNewBoot,
    /// Never (nfs-utils' `-L`: a separate notifier does it).
    Never,
    /// Whenever some host is monitored or owed a notice (sm-notify, run
    /// once per boot by the boot scripts).
    Always,
}

/// How the reboot step's file moves are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moves {
    /// Before [`open`] returns.
    Now,
    /// By the store thread ([`StoreWorker`](super::store_worker::StoreWorker)
    /// settles the store first), while the daemon already answers: `open`
    /// returns once the new state is durable.
    OnStoreThread,
}

/// Loads `store` and takes the reboot step as `step` says.
pub fn open(
    mut store: Box<dyn Store + Send>,
    step: RebootStep,
    moves: Moves,
    where_: &Path,
) -> io::Result<Opened> {
    let boot = boot_info();
    let loaded = store
        .load(&boot)
        .map_err(|e| io::Error::other(format!("cannot load the monitor list: {e}")))?;
    if let Some(note) = loaded.state_note {
        log::warn!("{}: {note}", where_.display());
    }
    for d in &loaded.damage {
        log::warn!(
            "damaged store file {}: {}; kept {} record(s){}",
            d.path.display(),
            d.what,
            d.kept,
            d.moved_to
                .as_ref()
                .map(|p| format!(", original kept as {}", p.display()))
                .unwrap_or_default()
        );
    }
    let mut state = loaded.state;
    let anyone = loaded.hosts.iter().any(|h| h.monitored || h.needs_notify);
    let mut new_boot = loaded.new_boot;
    if new_boot && !loaded.boot_on_record && step != RebootStep::Always {
        if let (Some(id), true) = (
            boot.boot_id.as_deref(),
            root::path(SM_NOTIFY_MARKER).exists(),
        ) {
            // Taking over from nfs-utils within a boot: its sm-notify
            // already ran this boot (its marker lives on a tmpfs /run), so
            // this start is not a reboot.
            log::info!(
                "no boot id on record, but {SM_NOTIFY_MARKER} says this boot's \
                 notification already ran: not a reboot"
            );
            store
                .commit(&[Change::SetBootId(id.to_vec())])
                .map_err(|e| io::Error::other(format!("cannot record this boot: {e}")))?;
            new_boot = false;
        }
    }
    let take = match step {
        RebootStep::OnNewBoot => new_boot,
        RebootStep::Never => false,
        RebootStep::Always => anyone,
    };
    if take {
        let before = state;
        if moves == Moves::OnStoreThread {
            store.defer_reboot_moves();
        }
        state = store
            .begin_reboot(boot.boot_id.as_deref())
            .map_err(|e| io::Error::other(format!("cannot record this boot: {e}")))?;
        log::info!("reboot step: state {before} -> {state}");
    } else if new_boot && step == RebootStep::Never {
        log::info!("first start since boot; leaving the reboot step to sm-notify (no-notify)");
    }
    let hosts = store.hosts();
    let to_notify = hosts.iter().filter(|h| h.needs_notify).count();
    let monitored = hosts.iter().filter(|h| h.monitored).count();
    log::info!(
        "state {state}; {monitored} monitored host(s), {to_notify} waiting for reboot notification"
    );
    Ok(Opened {
        store,
        state,
        hosts,
        rebooted: take,
        step_owed: (new_boot && !take).then(|| boot.boot_id.clone().unwrap_or_default()),
    })
}

/// Opens the store of `format` in `state_dir` as [`open`] does, then gives
/// up root for the records' owner ([`records_owner_at`]).
///
/// The order is sm-notify's: everything that needs the state directory
/// itself (creating `sm/`, moving damaged files aside, the reboot step,
/// creating `state`) happens while still root, so the daemon works on a
/// root-owned state directory (Debian's `/var/lib/nfs`); `state` is then
/// handed to the records' owner, who rewrites it in place later. Must be
/// called while the process has one thread (see [`privs`]).
pub fn open_then_drop(
    format: StoreFormat,
    state_dir: &Path,
    step: RebootStep,
    moves: Moves,
) -> io::Result<Opened> {
    let opened = open(format.open(state_dir), step, moves, state_dir)?;
    let owner = records_owner_at(format, state_dir);
    if format == StoreFormat::NfsUtils {
        let state = state_dir.join(NFS_UTILS_STATE_FILE);
        privs::hand_over(&state, &owner)
            .map_err(|e| io::Error::new(e.kind(), format!("chown {}: {e}", state.display())))?;
    }
    privs::drop_and_log(&owner)?;
    Ok(opened)
}

/// Where statmon keeps its own files next to a store (the boot id, the
/// notifier's progress, the `-N` spool): a directory the daemon can still
/// write after dropping privileges. nfs-utils: `sm/` (nfs-utils skips dot
/// names there); Apple: the state directory.
pub fn private_dir(format: StoreFormat, state_dir: &Path) -> PathBuf {
    match format {
        StoreFormat::NfsUtils => state_dir.join("sm"),
        StoreFormat::Apple => state_dir.to_path_buf(),
    }
}

/// The path whose owner the daemon runs as (nfs-utils: `sm/`, or the state
/// directory while that does not exist yet; the Apple layout: the state
/// directory, where its files are replaced by rename).
pub fn records_owner(cfg: &Config) -> PathBuf {
    records_owner_at(cfg.store, &cfg.state_dir)
}

/// [`records_owner`] for a store of `format` in `state_dir`.
pub fn records_owner_at(format: StoreFormat, state_dir: &Path) -> PathBuf {
    let records = match format {
        StoreFormat::NfsUtils => state_dir.join("sm"),
        StoreFormat::Apple => state_dir.to_path_buf(),
    };
    if records.exists() {
        records
    } else {
        state_dir.to_path_buf()
    }
}

/// The pid file of nfs-utils' rpc.statd (systemd's `PIDFile=` in Debian's
/// `rpc-statd.service`; `start-statd` reads it).
pub const NFS_UTILS_PID_FILE: &str = "/run/rpc.statd.pid";

/// Fails when another process's statd is registered for NSM with the local
/// portmapper and answers there, naming its port (and its pid, from the
/// nfs-utils pid file, when that names a live process).
pub fn refuse_second_statd() -> io::Result<()> {
    let Some(port) = probe::running_instance(SM_PROG, SM_VERS) else {
        return Ok(());
    };
    let pid_file = crate::daemon::root::path(NFS_UTILS_PID_FILE);
    let pid = crate::daemon::run::live_pid_in(&pid_file)
        .map(|pid| format!(" (pid {pid}, from {})", pid_file.display()))
        .unwrap_or_default();
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "Statd service already running! Program {SM_PROG} version {SM_VERS} is \
             registered with rpcbind on port {port} and answers{pid}; \
             not starting a second status monitor"
        ),
    ))
}
