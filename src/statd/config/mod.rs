//! rpc.statd's configuration: the command line in one of two dialects, the
//! `[statd]` and `[lockd]` sections of `/etc/nfs.conf`, and the
//! environment. A flag beats the file; the file beats the default.
//!
//! The two dialects ([`Dialect`]) give some letters different meanings:
//!
//! | letter | nfs-utils (default on Linux) | seed (default on macOS, BSD) |
//! |---|---|---|
//! | `-d` | `--no-syslog`: with `-F`, log to stderr at the debug level | `--debug`: log at the maximum level |
//! | `-F` | foreground, log to syslog (stderr with `-d`) | foreground, log to stderr |
//! | `-n name` / `-n` | `--name name` | `--notify-only`: notify, then exit |
//! | `-L` | `--no-notify` | `--watch`: list the store, then watch it |
//! | `-N` / `-N host` | `--notify-mode`: notify (as sm-notify), then exit | `--forget host`: clear its needs-notification status |
//! | `-l` | (none) | `--list` |
//! | `-T`, `-U`, `-v` | `--nlm-port`, `--nlm-udp-port`, `--version` | (none) |
//!
//! Every long option exists in both dialects with one meaning (`--list`,
//! `--watch`, `--forget HOST`, `--notify-only`, `--name`, `--no-notify`,
//! `--nlm-port`, ...), except `--no-syslog` and `--notify-mode`, which are
//! nfs-utils' only. The dialect is chosen by [`select_dialect`]:
//! `--dialect=seed|nfs-utils` as the first argument, else
//! [`DIALECT_ENV`], else the platform's ([`Dialect::platform`]). The store
//! commands (`--list`, `--watch`, `--forget`) never start a daemon
//! ([`Command::Admin`]).
//!
//! Reading is split so that [`parse`] stays pure:
//!
//! 1. [`select_dialect`] takes the dialect off the arguments;
//! 2. [`conf_source`] looks at the arguments for `--config FILE`;
//! 3. [`Sources::load`] reads that configuration and the environment (the
//!    only I/O here besides [`check_state_dir`]);
//! 4. [`parse`] combines the arguments with the [`Sources`].
//!
//! Bad values on the command line are errors (the caller prints the message
//! and one [`hint`](crate::daemon::args::hint) line, and exits 1). Bad
//! values in the file are warnings in [`Config::conf_warnings`] and the key
//! is ignored, as if unset (nfs-utils reads numbers with `atoi` and keeps
//! going; we do not guess); so are keys of `[statd]` and `[lockd]` that
//! neither nfs-utils nor we know. One exception, as in nfs-utils: equal
//! listening and outgoing ports are an error wherever they come from.
//!
//! The files, one job each:
//!
//! - `dialect.rs`: [`Dialect`] and [`select_dialect`];
//! - `options.rs`: the options both dialects share; `seed.rs` and
//!   `nfs_utils.rs`: each dialect's letters; `help.rs`: each dialect's
//!   whole table and the help text ([`usage`]);
//! - `model.rs`: what [`parse`] returns ([`Command`], [`Config`],
//!   [`Admin`]) and the defaults and limits;
//! - `cmdline.rs`: [`parse`], the command line combined with the [`Sources`];
//! - `values.rs`: the value checks the flags and the files share;
//! - `sources.rs`: [`ConfSource`], [`conf_source`] and [`Sources::load`];
//! - `conf_reader.rs`: reading one nfs.conf section (its values, the
//!   warnings for bad ones, its unknown keys), for rpc.statd and sm-notify
//!   alike;
//! - `statd_conf.rs`: the `[statd]` and `[lockd]` sections;
//! - `state_dir.rs`: the state directory's flag (`-P`), its key
//!   (`[statd] state-directory-path`) and its check ([`check_state_dir`]);
//! - [`sm_notify`]: sm-notify's command line and `[sm-notify]` section;
//! - `testutil.rs`: the unit tests' helpers.

mod cmdline;
mod conf_reader;
mod dialect;
mod help;
mod model;
mod nfs_utils;
mod options;
mod seed;
pub mod sm_notify;
mod sources;
mod statd_conf;
mod state_dir;
mod values;

#[cfg(test)]
mod testutil;

pub use cmdline::{parse, NO_NOTIFY_ENV};
pub use dialect::{select_dialect, Dialect, DIALECT_ENV};
pub use help::usage;
pub use model::{
    Admin, AdminOp, Command, Config, DEBUG_VERBOSITY, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_NOTIFY_WINDOW, MAX_CONNECTIONS, MAX_NOTIFY_WINDOW,
    MAX_RECORD_LIMIT,
};
pub use sources::{conf_source, ConfSource, Sources};
pub use statd_conf::{CONF_SECTION, LOCKD_KEYS, LOCKD_SECTION, STATD_KEYS};
pub use state_dir::check_state_dir;
