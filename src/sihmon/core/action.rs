//! What the engine asks of its glue ([`Action`]) and what it tells of a
//! link ([`LinkStatus`]).

use super::link::{LinkState, LoaderEnd};
use crate::sihmon::logfile::Type;
use crate::sihmon::tables::LinkParams;
use std::time::Instant;

/// What the glue is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open the link's admin device and set loading mode; answer with
    /// [`Engine::handle_opened`](super::Engine::handle_opened).
    Open { link: String, admdev: String },
    /// Reset loading mode and close the admin device (nothing to answer).
    Reset { link: String },
    /// Apply line parameters; answer with [`Engine::handle_params`](super::Engine::handle_params).
    Params { link: String, params: LinkParams },
    /// Run the loader (`argv` is never empty); its end comes back as
    /// [`Engine::handle_loader`](super::Engine::handle_loader).
    Spawn { link: String, argv: Vec<String> },
    /// Kill the link's loader.
    Kill { link: String },
    /// A log message.
    Log(Type, String),
    /// A detailed operating message (trace level 2).
    Detail(String),
    /// A state change, for the state file.
    State(String),
}

/// One link as `sihadm -S` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    /// The service tag.
    pub svctag: String,
    /// Its state.
    pub state: LinkState,
    /// Whether its entry is enabled.
    pub enabled: bool,
    /// Failures in a row.
    pub failures: u32,
    /// The last loader's end.
    pub last: Option<LoaderEnd>,
    /// When its state last changed.
    pub changed: Instant,
}
