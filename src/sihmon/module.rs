//! sihmon on the reactor: the [`Engine`] wired to sac's pipes, the admin
//! devices ([`super::backend`]), the loader processes, the log files and
//! the control socket.
//!
//! - `_pmpipe` is read as a FIFO; every whole `sacmsg` in it is answered
//!   on `../_sacpipe` with one `pmmsg` ([`super::framing`] cuts the
//!   stream). The FIFO failing ends the monitor with exit 20.
//! - `SC_READDB` reads the tables again; tables that cannot be read are
//!   a warning, and the old ones stay.
//! - Loaders run without a shell, stdin `/dev/null`, stdout and stderr to
//!   the trace (at trace level 1 or more) or `/dev/null`, without `PMTAG`
//!   and `ISTATE`.
//! - A file admin device is watched with inotify: a change of its `power`
//!   line is the device switching on or off.
//! - SIGTERM: loaders are killed, loading mode reset on every link, the
//!   monitor logs that it ends and exits 0.

use super::backend::{self, AdminDevice};
use super::core::link::LoaderEnd;
use super::core::{Action, Engine, LinkStatus};
use super::ctl::Request;
use super::exit::Exit;
use super::fault::Fault;
use super::framing::{Framed, SacStream};
use super::logfile::{Logs, Type};
use super::tables::{TableFiles, Tables, Warning};
use crate::reactor::{
    ChildId, Context, Deadline, Event as Ev, Module, SourceId, UnixKind, WatchId, WatchMask,
};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Instant, SystemTime};

/// Where the monitor finds its world.
#[derive(Debug)]
pub struct Setup {
    /// The port monitor tag.
    pub tag: String,
    /// `_pmpipe` (in the working directory `/etc/saf/<pmtag>`).
    pub pmpipe: PathBuf,
    /// `../_sacpipe`, open for writing.
    pub sacpipe: File,
    /// The tables' files, read again on `SC_READDB`.
    pub tables: TableFiles,
    /// `/dev`, for relative admin devices.
    pub dev: PathBuf,
    /// The control socket (`None`: none).
    pub socket: Option<PathBuf>,
    /// The fault the test hook injects, if any.
    pub fault: Option<Fault>,
}

/// The module.
pub struct SihmonModule {
    setup: Setup,
    engine: Engine,
    logs: Logs,
    /// The tables read at start, handed to the engine in `start`.
    first: Option<(Tables, Vec<Warning>)>,
    deadline: Deadline,
    pmpipe: Option<SourceId>,
    stream: SacStream,
    devices: HashMap<String, Box<dyn AdminDevice>>,
    watches: HashMap<WatchId, String>,
    children: HashMap<ChildId, String>,
    loaders: HashMap<String, ChildId>,
    listener: Option<SourceId>,
}

impl SihmonModule {
    /// The monitor: `engine` fed `tables` once it starts.
    pub fn new(
        setup: Setup,
        engine: Engine,
        logs: Logs,
        tables: (Tables, Vec<Warning>),
    ) -> SihmonModule {
        SihmonModule {
            setup,
            engine,
            logs,
            first: Some(tables),
            deadline: Deadline::default(),
            pmpipe: None,
            stream: SacStream::new(),
            devices: HashMap::new(),
            watches: HashMap::new(),
            children: HashMap::new(),
            loaders: HashMap::new(),
            listener: None,
        }
    }

    /// The engine, for tests.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The fault the test hook injects, if any.
    pub fn fault(&self) -> Option<Fault> {
        self.setup.fault
    }

    /// A FATAL line in the log (and syslog), for a failure before the
    /// module runs.
    pub fn log_fatal(&mut self, text: &str) {
        self.logs.log(Type::Fatal, text);
    }

    fn fatal(&mut self, cx: &mut Context<'_>, exit: Exit, text: &str) {
        self.logs.log(Type::Fatal, text);
        let _ = writeln!(io::stderr(), "sihmon: {text}");
        cx.exit(exit.0);
    }

    fn tables(&mut self, cx: &mut Context<'_>, tables: Tables, warnings: Vec<Warning>) {
        for w in warnings {
            self.logs.log(
                Type::Warn,
                &format!(
                    "{} line {}: {}",
                    w.kind.name(),
                    w.rejected.line,
                    w.rejected.why
                ),
            );
        }
        self.engine.handle_tables(cx.now(), tables);
        self.pump(cx);
    }

    /// Carries out the engine's actions until there are none.
    fn pump(&mut self, cx: &mut Context<'_>) {
        while let Some(action) = self.engine.poll_action() {
            let now = cx.now();
            match action {
                Action::Open { link, admdev } => {
                    let result = self.open_device(cx, &link, &admdev);
                    self.engine.handle_opened(now, &link, result);
                }
                Action::Reset { link } => self.reset(cx, &link),
                Action::Params { link, params } => {
                    let result = match self.devices.get_mut(&link) {
                        Some(d) => d.apply(&params).map_err(|e| e.to_string()),
                        None => Err("the admin device is not open".into()),
                    };
                    if let Ok(note) = &result {
                        if !note.is_empty() {
                            self.logs.detail(&format!("link {link}: {note}"));
                        }
                    }
                    self.engine.handle_params(now, &link, result.map(|_| ()));
                }
                Action::Spawn { link, argv } => self.spawn(cx, &link, &argv),
                Action::Kill { link } => {
                    if let Some(child) = self.loaders.get(&link) {
                        let _ = cx.kill_child(*child);
                    }
                }
                Action::Log(kind, text) => self.logs.log(kind, &text),
                Action::Detail(text) => self.logs.detail(&text),
                Action::State(text) => self.logs.state(&text),
            }
        }
        self.deadline.follow(cx, self.engine.poll_timeout());
    }

    /// Opens `admdev` in loading mode; `Ok(switched on)`.
    fn open_device(
        &mut self,
        cx: &mut Context<'_>,
        link: &str,
        admdev: &str,
    ) -> Result<bool, String> {
        let path = backend::resolve(admdev, &self.setup.dev);
        let mut dev = backend::open(&path).map_err(|e| e.to_string())?;
        dev.set_loading_mode(true)
            .map_err(|e| format!("{}: cannot set loading mode: {e}", path.display()))?;
        let on = dev.switched_on().map_err(|e| e.to_string())?;
        if let Some(watched) = dev.watch() {
            match cx.watch_path(watched, WatchMask::MODIFY | WatchMask::CLOSE_WRITE) {
                Ok(w) => {
                    self.watches.insert(w, link.to_string());
                }
                Err(e) => self.logs.log(
                    Type::Warn,
                    &format!("link {link}: cannot watch {}: {e}", path.display()),
                ),
            }
        }
        self.devices.insert(link.to_string(), dev);
        Ok(on)
    }

    /// Resets loading mode and closes the link's device; a loader still
    /// running is forgotten (it was killed).
    fn reset(&mut self, cx: &mut Context<'_>, link: &str) {
        if let Some(child) = self.loaders.remove(link) {
            self.children.remove(&child);
        }
        let ours: Vec<WatchId> = self
            .watches
            .iter()
            .filter(|(_, l)| *l == link)
            .map(|(w, _)| *w)
            .collect();
        for w in ours {
            self.watches.remove(&w);
            let _ = cx.unwatch_path(w);
        }
        if let Some(mut dev) = self.devices.remove(link) {
            if let Err(e) = dev.set_loading_mode(false) {
                self.logs.log(
                    Type::Warn,
                    &format!("link {link}: cannot reset loading mode: {e}"),
                );
            }
        }
    }

    fn spawn(&mut self, cx: &mut Context<'_>, link: &str, argv: &[String]) {
        let Some((program, args)) = argv.split_first() else {
            // The engine never asks for an empty command line.
            return self
                .engine
                .handle_loader(cx.now(), link, LoaderEnd::NotStarted);
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_remove("PMTAG")
            .env_remove("ISTATE")
            .stdin(Stdio::null());
        let out = if self.logs.level() > 0 {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.logs.trace_path())
                .ok()
        } else {
            None
        };
        match out
            .as_ref()
            .and_then(|f| Some((f.try_clone().ok()?, f.try_clone().ok()?)))
        {
            Some((a, b)) => cmd.stdout(a).stderr(b),
            None => cmd.stdout(Stdio::null()).stderr(Stdio::null()),
        };
        match cx.spawn(cmd) {
            Ok((child, pid)) => {
                self.logs
                    .detail(&format!("link {link}: loader started, pid {pid}"));
                self.children.insert(child, link.to_string());
                self.loaders.insert(link.to_string(), child);
            }
            Err(e) => {
                self.logs.log(
                    Type::Warn,
                    &format!("link {link}: cannot execute {program}: {e}"),
                );
                self.engine
                    .handle_loader(cx.now(), link, LoaderEnd::NotStarted);
            }
        }
    }

    /// Bytes from `_pmpipe`: every whole message answered.
    fn on_pmpipe(&mut self, cx: &mut Context<'_>, data: &[u8]) {
        for framed in self.stream.push(data) {
            let msg = match framed {
                Framed::Msg(msg) => msg,
                Framed::BadSize(size) => {
                    self.logs.log(
                        Type::Warn,
                        &format!("SAC message with data size {size}; input discarded"),
                    );
                    continue;
                }
                Framed::Overflow => {
                    self.logs
                        .log(Type::Warn, "too much unread data on _pmpipe; discarded");
                    continue;
                }
            };
            let (reply, reread) = self.engine.handle_sac(cx.now(), msg.kind);
            if let Err(e) = self.setup.sacpipe.write_all(&reply.encode()) {
                self.logs
                    .log(Type::Warn, &format!("cannot answer on _sacpipe: {e}"));
            }
            if reread {
                match self.setup.tables.read() {
                    Ok((tables, warnings)) => {
                        self.logs.log(Type::Info, "tables read again");
                        self.tables(cx, tables, warnings);
                    }
                    Err(e) => self.logs.log(
                        Type::Warn,
                        &format!("{}; the tables in use are kept", e.text),
                    ),
                }
            }
            self.pump(cx);
        }
    }

    fn control(&mut self, cx: &mut Context<'_>, conn: SourceId, packet: &[u8]) {
        let euid = rustix::process::geteuid().as_raw();
        let answer = match cx.peer_uid(conn) {
            Some(uid) if uid == 0 || uid == euid => match Request::parse(packet) {
                Ok(Request::Status(svc)) => self.render_status(cx.now(), svc.as_deref()),
                Ok(Request::Trace(level)) => {
                    self.logs.set_level(level);
                    self.logs
                        .log(Type::Info, &format!("trace level set to {level}"));
                    format!("trace level {level}\n")
                }
                Err(e) => format!("ERROR {e}\n"),
            },
            _ => "ERROR permission denied\n".to_string(),
        };
        let _ = cx.send(conn, answer.as_bytes());
    }

    fn render_status(&self, now: Instant, svc: Option<&str>) -> String {
        let links = self.engine.status(svc);
        if let (Some(s), true) = (svc, links.is_empty()) {
            return format!("ERROR no link {s}\n");
        }
        let mut out = format!(
            "{} {} trace={}\n",
            self.setup.tag,
            self.engine.state().name(),
            self.logs.level()
        );
        let retries = self.engine.config().retries;
        for l in links {
            out.push_str(&status_line(&l, retries, now));
        }
        out
    }
}

/// One `sihadm -S` line.
fn status_line(l: &LinkStatus, retries: u32, now: Instant) -> String {
    let wall = SystemTime::now() - now.saturating_duration_since(l.changed);
    let secs = wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t = crate::sys::local_time(i64::try_from(secs).unwrap_or(0));
    format!(
        "{} {} {} {}/{} {} {:02}.{:02} {:02}:{:02}:{:02}\n",
        l.svctag,
        l.state.name(),
        if l.enabled { "enabled" } else { "disabled" },
        l.failures,
        retries,
        l.last.map_or_else(|| "-".to_string(), |e| e.render()),
        t.day,
        t.month,
        t.hour,
        t.minute,
        t.second
    )
}

fn loader_end(status: ExitStatus) -> LoaderEnd {
    match (status.code(), status.signal()) {
        (Some(c), _) => LoaderEnd::Code(c),
        (None, Some(s)) => LoaderEnd::Signal(s),
        (None, None) => LoaderEnd::NotStarted,
    }
}

impl Module for SihmonModule {
    fn name(&self) -> &str {
        "sihmon"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let pmpipe = self.setup.pmpipe.clone();
        match cx.fifo_open(&pmpipe) {
            Ok(id) => self.pmpipe = Some(id),
            Err(e) => {
                self.fatal(
                    cx,
                    Exit::PMPIPE,
                    &format!("cannot open {}: {e}", pmpipe.display()),
                );
                return Ok(());
            }
        }
        cx.watch_signal(libc::SIGTERM)?;
        if let Some(socket) = self.setup.socket.clone() {
            match cx.unix_listen(&socket, UnixKind::Seqpacket) {
                Ok(id) => {
                    // Root only (the peer's uid is checked as well).
                    use std::os::unix::fs::PermissionsExt;
                    let _ =
                        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600));
                    self.listener = Some(id);
                }
                Err(e) => self.logs.log(
                    Type::Warn,
                    &format!("no control socket {}: {e}", socket.display()),
                ),
            }
        }
        let config = self.engine.config();
        self.logs.log(
            Type::Info,
            &format!(
                "SIH monitor {} started ({}), pid {}, retry every {} s, {} failures allowed",
                self.setup.tag,
                self.engine.state().name(),
                std::process::id(),
                config.retry.as_secs(),
                if config.retries == 0 {
                    "unlimited".to_string()
                } else {
                    config.retries.to_string()
                }
            ),
        );
        if let Some((tables, warnings)) = self.first.take() {
            self.tables(cx, tables, warnings);
        }
        Ok(())
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Ev<'_>) {
        match ev {
            Ev::FifoData { source, .. }
                if Some(source) == self.pmpipe && self.setup.fault == Some(Fault::Pmpipe) =>
            {
                let why = Fault::Pmpipe.reason();
                self.fatal(cx, Exit::POLLSAC, &format!("polling _pmpipe failed: {why}"));
            }
            Ev::FifoData { source, data } if Some(source) == self.pmpipe => {
                self.on_pmpipe(cx, data)
            }
            Ev::Closed { conn, error } if Some(conn) == self.pmpipe => {
                let why = error.map_or_else(|| "end of file".to_string(), |e| e.to_string());
                self.fatal(cx, Exit::POLLSAC, &format!("polling _pmpipe failed: {why}"));
            }
            Ev::Timer(t) if self.deadline.fired(t) => {
                self.engine.handle_timeout(cx.now());
                self.pump(cx);
            }
            Ev::ChildExited { child, status, .. } => {
                if let Some(link) = self.children.remove(&child) {
                    self.loaders.remove(&link);
                    self.logs
                        .detail(&format!("link {link}: loader ended, {status}"));
                    self.engine
                        .handle_loader(cx.now(), &link, loader_end(status));
                    self.pump(cx);
                }
            }
            Ev::FileChanged { watch, .. } => {
                let Some(link) = self.watches.get(&watch).cloned() else {
                    return;
                };
                let on = self.devices.get_mut(&link).map(|d| d.switched_on());
                if let Some(Ok(on)) = on {
                    self.engine.handle_power(cx.now(), &link, on);
                    self.pump(cx);
                }
            }
            Ev::Packet { conn, data } => self.control(cx, conn, data),
            Ev::Signal(libc::SIGTERM) => {
                self.engine.handle_stop();
                self.pump(cx);
                self.logs
                    .log(Type::Info, "SIH monitor terminated by SIGTERM");
                if let Some(socket) = &self.setup.socket {
                    let _ = std::fs::remove_file(socket);
                }
                cx.exit(Exit::OK.0);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_and_loader_ends() {
        let now = Instant::now();
        let l = LinkStatus {
            svctag: "l1".into(),
            state: super::super::core::link::LinkState::Retry,
            enabled: true,
            failures: 2,
            last: Some(LoaderEnd::Code(3)),
            changed: now,
        };
        let line = status_line(&l, 5, now);
        assert!(line.starts_with("l1 RETRY enabled 2/5 rc=3 "), "{line}");
        assert_eq!(loader_end(ExitStatus::from_raw(3 << 8)), LoaderEnd::Code(3));
        assert_eq!(loader_end(ExitStatus::from_raw(9)), LoaderEnd::Signal(9));
    }
}
