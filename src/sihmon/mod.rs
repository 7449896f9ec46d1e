//! sihmon: the SIH monitor of Reliant UNIX (sihmon(1M)), a Service Access
//! Facility port monitor that keeps HDLC links in loading mode, sets their
//! line parameters and runs a loader program when a link is switched on;
//! and sihadm, its administration command.
//!
//! - [`wire`]: the SAF message layouts (`sacmsg`, `pmmsg`, `admcmd`,
//!   `admack`), byte for byte; [`framing`]: `_pmpipe`'s bytes cut into
//!   messages;
//! - [`tables`]: `_pmtab`, `/etc/ttydefs` and our `hdlcdefs`/`hdlclabs`;
//! - [`core`]: the sans-IO engine (SAF state, per-link state machine,
//!   retry and hang deadlines); [`argv`]: the loader command's words;
//! - [`logfile`]: the `log`, `trace` and `state` files and their rotation;
//! - [`exit`]: the exit codes of the manual; [`opts`]: the command line;
//!   [`fault`]: the test hook that reaches exits 20, 50 and 99;
//! - [`backend`]: the admin devices (serial lines, files);
//! - [`module`]: the daemon on the reactor; [`entry`]: the `sihmon`
//!   program; [`ctl`]: its control socket; [`adm`]: `sihadm`.

pub mod adm;
pub mod argv;
pub mod backend;
pub mod core;
pub mod ctl;
pub mod entry;
pub mod exit;
pub mod fault;
pub mod framing;
pub mod logfile;
pub mod module;
pub mod opts;
pub mod tables;
pub mod wire;
