//! Logging: one `log::Log` that writes to stderr (foreground), to syslog(3)
//! with facility LOG_DAEMON (daemon), or both.
//!
//! Verbosity follows the rpc.statd man page: by default messages up to
//! LOG_WARNING; level 1 adds LOG_NOTICE, 2 adds LOG_INFO, 3 or more LOG_DEBUG.
//! The `log` crate has one level fewer than syslog, so the mapping is:
//!
//! | `log` macro | syslog priority | shown from verbosity |
//! |---|---|---|
//! | `error!` | LOG_ERR | 0 |
//! | `warn!` | LOG_WARNING | 0 |
//! | `info!` | LOG_NOTICE | 1 |
//! | `debug!` | LOG_INFO | 2 |
//! | `trace!` | LOG_DEBUG | 3 |
//!
//! Text that came from a peer must go through [`escape`] before it is logged;
//! syslog always receives it through a constant `"%s"` format.
//! `STATMON_LOG` (env_logger filter syntax) overrides the stderr filter.
//!
//! Several daemons in one process (`statmon run`) share the logger: each
//! logs under its own program name and verbosity while a [`Program`] scope
//! is entered on the thread (the host enters it around every call into a
//! daemon; a daemon's worker threads enter the one they were started
//! under, see [`current_program`]). Outside any scope, lines carry the
//! `ident` given to [`init`] and its verbosity.

use crate::sys;
use log::{Level, LevelFilter, Log, Metadata, Record};
use std::cell::Cell;
use std::io::Write;

/// A daemon's name and log filter, for the lines its thread writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// The name the lines carry (`rpc.statd`).
    pub name: &'static str,
    /// The daemon's own verbosity, as a filter.
    pub max: LevelFilter,
}

thread_local! {
    static PROGRAM: Cell<Option<Program>> = const { Cell::new(None) };
}

impl Program {
    /// `name` at man-page `verbosity`.
    pub fn new(name: &'static str, verbosity: u32) -> Program {
        Program {
            name,
            max: level_for_verbosity(verbosity),
        }
    }

    /// Logs as this program on this thread until the guard is dropped
    /// (the scope before it is restored then).
    pub fn enter(self) -> ProgramScope {
        ProgramScope(PROGRAM.with(|p| p.replace(Some(self))))
    }
}

/// The scope [`Program::enter`] opened; dropping it closes the scope.
#[derive(Debug)]
#[must_use = "the scope ends when this is dropped"]
pub struct ProgramScope(Option<Program>);

impl Drop for ProgramScope {
    fn drop(&mut self) {
        PROGRAM.with(|p| p.set(self.0));
    }
}

/// The program scope this thread is in, for a thread it starts to enter.
pub fn current_program() -> Option<Program> {
    PROGRAM.with(Cell::get)
}

/// `f`, made to run in this thread's program scope wherever it runs: wrap
/// a new thread's body with it so the thread logs as its daemon.
pub fn in_current_program<T>(f: impl FnOnce() -> T + Send) -> impl FnOnce() -> T + Send {
    let program = current_program();
    move || {
        let _scope = program.map(Program::enter);
        f()
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Standard error only (foreground, or before daemonizing).
    Stderr,
    /// syslog(3) only.
    Syslog,
    /// syslog(3), and errors on standard error too: a daemon in the
    /// foreground that logs to syslog still says why it could not start.
    Both,
}

/// Maps a man-page verbosity (0..) to the `log` filter.
pub fn level_for_verbosity(verbosity: u32) -> LevelFilter {
    match verbosity {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

fn syslog_priority(level: Level) -> i32 {
    match level {
        Level::Error => libc::LOG_ERR,
        Level::Warn => libc::LOG_WARNING,
        Level::Info => libc::LOG_NOTICE,
        Level::Debug => libc::LOG_INFO,
        Level::Trace => libc::LOG_DEBUG,
    }
}

fn level_word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "notice",
        Level::Debug => "info",
        Level::Trace => "debug",
    }
}

struct Logger {
    ident: &'static str,
    max: LevelFilter,
    stderr: Option<env_logger::Logger>,
    syslog: bool,
}

impl Logger {
    /// Our own modules log at the chosen verbosity; dependencies (mio, ...)
    /// only warnings and errors.
    fn threshold(&self, target: &str) -> LevelFilter {
        let max = current_program().map_or(self.max, |p| p.max.min(self.max));
        if target == "statmon" || target.starts_with("statmon::") {
            max
        } else {
            max.min(LevelFilter::Warn)
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.threshold(metadata.target())
            || self.stderr.as_ref().is_some_and(|l| l.enabled(metadata))
    }

    fn log(&self, record: &Record<'_>) {
        let program = current_program();
        if program.is_some_and(|p| record.level() > p.max) {
            return;
        }
        if let Some(stderr) = &self.stderr {
            if stderr.matches(record) {
                stderr.log(record);
            }
        }
        if self.syslog && record.level() <= self.threshold(record.target()) {
            let text = match program {
                Some(p) => format!(
                    "{}: {}: {}",
                    p.name,
                    level_word(record.level()),
                    record.args()
                ),
                None => format!("{}: {}", level_word(record.level()), record.args()),
            };
            sys::syslog(syslog_priority(record.level()), &text);
        }
    }

    fn flush(&self) {
        if let Some(stderr) = &self.stderr {
            stderr.flush();
        }
    }
}

/// Installs the process-wide logger. `ident` is the program name shown in
/// every line outside a [`Program`] scope (e.g. `rpc.statd`); `verbosity`
/// is the most any scope may show. Calling it twice keeps the first
/// logger.
pub fn init(ident: &'static str, verbosity: u32, sink: Sink) {
    let max = level_for_verbosity(verbosity);
    let stderr = matches!(sink, Sink::Stderr | Sink::Both).then(|| {
        let mut b = env_logger::Builder::new();
        let (deps, ours) = match sink {
            Sink::Both => (LevelFilter::Error, LevelFilter::Error),
            _ => (max.min(LevelFilter::Warn), max),
        };
        b.filter_level(deps)
            .filter_module("statmon", ours)
            .target(env_logger::Target::Stderr)
            .format(move |buf, r| {
                let now = crate::daemon::clock::since_epoch();
                let t = sys::local_time(now.as_secs() as i64);
                writeln!(
                    buf,
                    "{:02}:{:02}:{:02}.{:03} {}[{}] <{}> {}",
                    t.hour,
                    t.minute,
                    t.second,
                    now.subsec_millis(),
                    current_program().map_or(ident, |p| p.name),
                    std::process::id(),
                    level_word(r.level()),
                    r.args()
                )
            });
        b.parse_env(env_logger::Env::new().filter("STATMON_LOG"));
        b.build()
    });
    let syslog = matches!(sink, Sink::Syslog | Sink::Both);
    if syslog {
        sys::open_syslog(ident);
    }
    let stderr_max = stderr.as_ref().map_or(LevelFilter::Off, |l| l.filter());
    let logger = Logger {
        ident,
        max,
        stderr,
        syslog,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max.max(stderr_max));
    }
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("ident", &self.ident)
            .field("max", &self.max)
            .finish()
    }
}

/// Renders peer-supplied bytes safely for a log line: printable ASCII except
/// `\` stays, everything else (controls, NUL, newlines, non-ASCII) becomes an
/// escape such as `\n` or `\xff`. The result never contains a control byte.
pub fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// How often a rate-limited warning may be logged.
pub const WARN_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Keeps a warning that peers can trigger at will to one line per
/// [`WARN_EVERY`], counting the occurrences in between.
#[derive(Debug, Default, Clone)]
pub struct RateLimit {
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl RateLimit {
    /// Whether to log now; `Some(n)` means yes, with `n` occurrences
    /// suppressed since the last line.
    pub fn allow(&mut self, now: std::time::Instant) -> Option<u64> {
        let due = self
            .last
            .is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY);
        if due {
            self.last = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_controls_and_formats() {
        assert_eq!(escape(b"host\n%n%s\0\xff"), "host\\n%n%s\\x00\\xff");
        assert!(escape(b"\x1b[2J").chars().all(|c| !c.is_control()));
    }

    #[test]
    fn verbosity_levels_follow_the_man_page() {
        assert_eq!(level_for_verbosity(0), LevelFilter::Warn);
        assert_eq!(level_for_verbosity(1), LevelFilter::Info);
        assert_eq!(level_for_verbosity(2), LevelFilter::Debug);
        assert_eq!(level_for_verbosity(9), LevelFilter::Trace);
    }

    #[test]
    fn syslog_priorities_are_ordered() {
        assert_eq!(syslog_priority(Level::Warn), libc::LOG_WARNING);
        assert_eq!(syslog_priority(Level::Info), libc::LOG_NOTICE);
        assert_eq!(syslog_priority(Level::Trace), libc::LOG_DEBUG);
    }

    #[test]
    fn rate_limit_allows_one_line_a_minute_and_counts_the_rest() {
        let t0 = std::time::Instant::now();
        let mut r = RateLimit::default();
        assert_eq!(r.allow(t0), Some(0));
        for s in 1..10 {
            assert_eq!(r.allow(t0 + std::time::Duration::from_secs(s)), None);
        }
        assert_eq!(r.allow(t0 + WARN_EVERY), Some(9));
    }

    #[test]
    fn program_scopes_nest_and_restore_per_thread() {
        assert_eq!(current_program(), None);
        let outer = Program::new("rpc.statd", 3);
        let g1 = outer.enter();
        {
            let _g2 = Program::new("portmap", 0).enter();
            assert_eq!(current_program().map(|p| p.name), Some("portmap"));
            let other = std::thread::spawn(current_program).join().unwrap();
            assert_eq!(other, None, "a new thread starts outside any scope");
        }
        assert_eq!(current_program(), Some(outer));
        assert_eq!(outer.max, LevelFilter::Trace);
        drop(g1);
        assert_eq!(current_program(), None);
    }
}
