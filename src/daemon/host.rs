//! Several daemons in one process, on one reactor (`statmon run`).
//!
//! Each daemon comes from its own command line, parsed by its own parser
//! into a [`Plan`] before anything runs, so a bad option in any of them
//! stops the whole start with that daemon's message and nothing opened.
//! Then [`run`]:
//! - starts logging once; each daemon's lines carry its own name and obey
//!   its own verbosity ([`crate::log::Program`]);
//! - opens the daemons ([`Plan::open`]: locks, pid files, modules) and
//!   starts their modules, the ones that serve the others first
//!   ([`Plan::serves_others`]: the portmapper that rpc.statd registers
//!   with);
//! - turns the reactor. A daemon that exits is ended alone
//!   ([`Reactor::remove_tree`]) and its status logged; when one exits with
//!   a failure the others are sent SIGTERM, and the process exits with the
//!   first failure's status (0 when every daemon stopped in order). A
//!   daemon that serves the others ends when the last of them has.
//!
//! Signals sent to the process reach every daemon that watches them, as
//! when each runs alone. The process never detaches: it is meant to be run
//! by a service manager (`Type=simple`) or a supervisor.

use crate::log::{self as logging, Program, Sink};
use crate::reactor::{Context, Event, Module, ModuleId, Reactor, SystemClock};
use std::any::Any;
use std::io;

/// What a daemon's parser hands the host.
pub trait Plan {
    /// The daemon's name, as its lines show it.
    fn name(&self) -> &'static str;
    /// Its man-page verbosity.
    fn verbosity(&self) -> u32;
    /// Whether it asked for its log on stderr (then every daemon's goes
    /// there; otherwise to syslog, with errors on stderr too).
    fn log_stderr(&self) -> bool;
    /// Whether it serves the other daemons (started before them, watching
    /// no stop signal, ended after the last of them).
    fn serves_others(&self) -> bool {
        false
    }
    /// Whether it needs root while it runs (not just to start): a daemon
    /// beside it that would give up root for the whole process keeps it.
    fn needs_root(&self) -> bool {
        false
    }
    /// Does what the daemon does before its event loop runs (locks, pid
    /// files, checks) and returns its modules. A failure is logged by the
    /// daemon; the `Err` is its exit status.
    fn open(self: Box<Self>, hosting: Hosting) -> Result<Opened, i32>;
}

/// What a daemon is told about the process it shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hosting {
    /// Other daemons share the process.
    pub shared: bool,
    /// One of them needs root while it runs: privileges are the
    /// process's, so nobody may give them up.
    pub others_need_root: bool,
}

pub use super::run::Opened;

/// Runs `plans` in this process until they have all ended; returns the
/// process exit status.
pub fn run(mut plans: Vec<Box<dyn Plan>>) -> i32 {
    let verbosity = plans.iter().map(|p| p.verbosity()).max().unwrap_or(0);
    let sink = if plans.iter().any(|p| p.log_stderr()) {
        Sink::Stderr
    } else {
        Sink::Both
    };
    logging::init("statmon", verbosity, sink);
    // Serving daemons first; otherwise in command-line order.
    plans.sort_by_key(|p| !p.serves_others());
    let names: Vec<&str> = plans.iter().map(|p| p.name()).collect();
    log::info!(
        "statmon {} starting {} in one process",
        env!("CARGO_PKG_VERSION"),
        names.join(", ")
    );
    let mut reactor = match Reactor::new(Box::new(SystemClock)) {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot create the event loop: {e}");
            return super::run::EXIT_FAILURE;
        }
    };
    let hosted = plans.len() > 1;
    let needing_root: Vec<bool> = plans.iter().map(|p| p.needs_root()).collect();
    // Every daemon opens before any module starts: the checks a daemon
    // makes while opening (is another statd registered?) then meet no
    // socket of ours that is bound but not yet served.
    let mut opened = Vec::new();
    for (i, plan) in plans.into_iter().enumerate() {
        let program = Program::new(plan.name(), plan.verbosity());
        let serves_others = plan.serves_others() && hosted;
        let hosting = Hosting {
            shared: hosted,
            others_need_root: needing_root
                .iter()
                .enumerate()
                .any(|(j, needs)| j != i && *needs),
        };
        let _scope = program.enter();
        match plan.open(hosting) {
            Ok(o) => opened.push((program, serves_others, o)),
            // Those opened already are dropped: their locks and pid files
            // go with them.
            Err(code) => return code,
        }
    }
    let mut running = Vec::new();
    for (program, serves_others, o) in opened {
        match start(&mut reactor, program, serves_others, o) {
            Ok(daemon) => running.push(daemon),
            Err(code) => return code,
        }
    }
    serve(reactor, running)
}

/// A daemon on the reactor.
struct Running {
    program: Program,
    root: ModuleId,
    serves_others: bool,
    /// Dropped when the daemon ends.
    _keep: Vec<Box<dyn Any>>,
}

/// Adds an opened daemon's modules under one root (the first module; the
/// others are started from it, so that they end with it).
fn start(
    reactor: &mut Reactor,
    program: Program,
    serves_others: bool,
    opened: Opened,
) -> Result<Running, i32> {
    let _scope = program.enter();
    let root = reactor
        .add_module(Box::new(Tagged {
            program,
            modules: opened.modules,
            first: None,
        }))
        .map_err(|e| {
            log::error!("cannot start: {e}");
            super::run::EXIT_FAILURE
        })?;
    Ok(Running {
        program,
        root,
        serves_others,
        _keep: opened.keep,
    })
}

/// Turns the reactor until every daemon has ended.
fn serve(mut reactor: Reactor, mut running: Vec<Running>) -> i32 {
    let mut status = super::run::EXIT_OK;
    loop {
        while let Some((module, code)) = reactor.take_exit() {
            let root = reactor.root_of(module);
            let Some(at) = running.iter().position(|d| d.root == root) else {
                continue;
            };
            let ended = running.remove(at);
            reactor.remove_tree(root);
            {
                let _scope = ended.program.enter();
                log::info!("exited with status {code}");
            }
            if code != super::run::EXIT_OK && status == super::run::EXIT_OK {
                status = code;
                stop_all(&mut reactor, &running, ended.program.name);
            }
        }
        if running.iter().all(|d| d.serves_others) {
            for d in running.drain(..) {
                let _scope = d.program.enter();
                log::info!("stopping: the daemons it served have ended");
                reactor.remove_tree(d.root);
            }
            return status;
        }
        if let Err(e) = reactor.turn(None) {
            log::error!("event loop failed: {e}");
            return super::run::EXIT_FAILURE;
        }
    }
}

/// Sends SIGTERM to every daemon in `running` but those serving the
/// others (they end after the rest); one that watches no SIGTERM is ended
/// at once.
fn stop_all(reactor: &mut Reactor, running: &[Running], failed: &str) {
    for d in running.iter().filter(|d| !d.serves_others) {
        let _scope = d.program.enter();
        log::warn!("stopping: {failed} failed");
        if reactor.raise(d.root, libc::SIGTERM) == 0 {
            reactor.remove_tree(d.root);
        }
    }
}

/// A daemon's modules under one root that logs as the daemon: the first
/// module is started in its place, the others as its children.
struct Tagged {
    program: Program,
    /// Waiting to start; emptied by `start`.
    modules: Vec<Box<dyn Module>>,
    /// The started first module, which gets the events.
    first: Option<Box<dyn Module>>,
}

impl Module for Tagged {
    fn name(&self) -> &str {
        self.program.name
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let _scope = self.program.enter();
        let mut modules = std::mem::take(&mut self.modules).into_iter();
        let Some(mut first) = modules.next() else {
            return Err(io::Error::other("a daemon with no module"));
        };
        first.start(cx)?;
        self.first = Some(first);
        for m in modules {
            cx.add_module(m)?;
        }
        Ok(())
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        let _scope = self.program.enter();
        if let Some(m) = self.first.as_mut() {
            m.on_event(cx, ev);
        }
    }
}

/// Splits one daemon's command line into words as the shell does for a
/// plain command: blanks separate words; single quotes keep everything
/// literally; double quotes keep everything but `\"` and `\\`; a
/// backslash outside quotes keeps the next character. No expansion of any
/// kind. `Err` names an unterminated quote or a trailing backslash.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("unterminated ' in \"{line}\"")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(format!("unterminated \" in \"{line}\"")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(format!("unterminated \" in \"{line}\"")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(format!("trailing backslash in \"{line}\"")),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_plain_shell_command() {
        let w = |s: &str| split_words(s).unwrap();
        assert_eq!(w("rpc.statd -p 662"), ["rpc.statd", "-p", "662"]);
        assert_eq!(w("  portmap\t"), ["portmap"]);
        assert_eq!(
            w("a 'b c' \"d \\\" e\" f\\ g"),
            ["a", "b c", "d \" e", "f g"]
        );
        assert_eq!(w("-P '/var/lib/my nfs'"), ["-P", "/var/lib/my nfs"]);
        assert_eq!(w("x''y \"\""), ["xy", ""]);
        assert_eq!(w("\"a\\nb\""), ["a\\nb"]);
        assert_eq!(w(""), Vec::<String>::new());
    }

    #[test]
    fn unterminated_quotes_are_errors_that_show_the_line() {
        for bad in ["a 'b", "a \"b", "a \\"] {
            let e = split_words(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
