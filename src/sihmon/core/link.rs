//! One link's record in the engine: its pmtab entry, where it is in its
//! life ([`LinkState`]) and what it waits for.

use crate::sihmon::tables::pmtab::{Adjust, PmtabEntry};
use std::time::Instant;

/// Where a link is. The names are what `sihadm -S` and the state file
/// show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// The admin device is being opened (or will be again).
    Closed,
    /// The admin device is open in loading mode; the link waits to be
    /// enabled (its entry has the `x` flag, or the monitor is disabled).
    LoadMode,
    /// The device is switched off.
    Off,
    /// The loader runs.
    Loading,
    /// Loaded (or nothing to load).
    Loaded,
    /// An operation failed; it is repeated after the retry interval.
    Retry,
    /// Internally disabled after `-r` failures in a row, until `SC_READDB`.
    Disabled,
}

impl LinkState {
    /// The state's name.
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Closed => "CLOSED",
            LinkState::LoadMode => "LOADMODE",
            LinkState::Off => "OFF",
            LinkState::Loading => "LOADING",
            LinkState::Loaded => "LOADED",
            LinkState::Retry => "RETRY",
            LinkState::Disabled => "DISABLED",
        }
    }
}

/// How a loader ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoaderEnd {
    /// It exited with this status.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// It could not be started.
    NotStarted,
}

impl LoaderEnd {
    /// `rc=N`, `signal=N` or `rc=exec`.
    pub fn render(self) -> String {
        match self {
            LoaderEnd::Code(n) => format!("rc={n}"),
            LoaderEnd::Signal(n) => format!("signal={n}"),
            LoaderEnd::NotStarted => "rc=exec".into(),
        }
    }
}

/// An operation the engine waits for the glue to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Opening the admin device and setting loading mode.
    Open,
    /// Setting the line parameters.
    Params,
    /// Running the loader.
    Load,
}

/// The engine's record of one link.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) entry: PmtabEntry,
    pub(crate) state: LinkState,
    /// The admin device is open (in loading mode).
    pub(crate) open: bool,
    /// The device is switched on.
    pub(crate) power: bool,
    /// A load is wanted (first enable, switched on, after a failure).
    pub(crate) want_load: bool,
    /// The line parameters are to be set before the next load.
    pub(crate) params_due: bool,
    /// The operation under way.
    pub(crate) busy: Option<Op>,
    /// A hung loader was told to die.
    pub(crate) killed: bool,
    /// Failures in a row.
    pub(crate) failures: u32,
    /// The last loader's end.
    pub(crate) last: Option<LoaderEnd>,
    /// When the state last changed.
    pub(crate) changed: Instant,
    /// The retry instant (in `Retry`) or the loader's deadline (`Loading`).
    pub(crate) wake: Option<Instant>,
}

impl Link {
    pub(crate) fn new(entry: PmtabEntry, now: Instant) -> Link {
        let params_due = entry.specific.adjust != Adjust::Never;
        Link {
            entry,
            state: LinkState::Closed,
            open: false,
            power: true,
            want_load: true,
            params_due,
            busy: None,
            killed: false,
            failures: 0,
            last: None,
            changed: now,
            wake: None,
        }
    }

    pub(crate) fn svctag(&self) -> &str {
        &self.entry.svctag
    }
}
