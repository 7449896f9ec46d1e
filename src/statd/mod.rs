//! rpc.statd, the NSM host status monitor (program 100024 version 1).
//!
//! - [`cli`]: the command line (seed man page flags first).
//! - [`program`]: the NSM program as the RPC server sees it.
//! - [`daemon`]: the reactor module (listeners, registration, shutdown).
//! - [`store`]: the durable monitor store (nfs-utils and Apple formats).

pub mod cli;
pub mod daemon;
pub mod program;
pub mod store;

use crate::daemonize;
use crate::log::{self as logging, Sink};
use crate::reactor::{Reactor, SystemClock};
use cli::Command;
use daemon::StatdModule;
use std::ffi::OsString;

/// Entry point for `rpc.statd`: returns the process exit status.
pub fn main(prog: &'static str, args: Vec<OsString>) -> i32 {
    let sources = match cli::Sources::load(prog, &cli::conf_source(prog, &args)) {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            return 1;
        }
    };
    match cli::parse(prog, &args, &sources) {
        Ok(Command::Help) => {
            print!("{}", cli::usage(prog));
            0
        }
        Ok(Command::Version) => {
            println!("{prog} (statmon) version {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(Command::Run(cfg)) => run(prog, cfg),
        Err(msg) => {
            eprintln!("{msg}");
            eprint!("{}", cli::usage(prog));
            1
        }
    }
}

fn run(prog: &'static str, cfg: cli::Config) -> i32 {
    let ready = if cfg.foreground {
        None
    } else {
        match daemonize::detach(prog) {
            Ok(pipe) => Some(pipe),
            Err(e) => {
                eprintln!("{prog}: cannot detach: {e}");
                return 1;
            }
        }
    };
    let sink = if cfg.foreground {
        Sink::Stderr
    } else {
        Sink::Syslog
    };
    logging::init(prog, cfg.verbosity, sink);
    log::info!("statmon {} starting as {prog}", env!("CARGO_PKG_VERSION"));

    let _lock = match daemonize::lock_dir(&cfg.state_dir) {
        Ok(lock) => lock,
        Err(e) => {
            log::error!("state directory: {e}");
            if let Some(r) = ready {
                r.failed(&format!("state directory: {e}"));
            } else {
                eprintln!("{prog}: state directory: {e}");
            }
            return 1;
        }
    };
    let mut reactor = match Reactor::new(Box::new(SystemClock)) {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot create the event loop: {e}");
            return 1;
        }
    };
    if reactor
        .add_module(Box::new(StatdModule::new(cfg, ready)))
        .is_err()
    {
        return 1;
    }
    match reactor.run() {
        Ok(code) => {
            log::info!("exiting");
            code
        }
        Err(e) => {
            log::error!("event loop failed: {e}");
            1
        }
    }
}
