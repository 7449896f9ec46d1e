//! The programs: `ltid` (the device daemon, with vmd), `rdevmi` (started
//! by vmd only) and `vmoprcmd` (the operator's status and requests).
//!
//! Every path is under the volmgr directory ([`Paths`]), itself under
//! `STATMON_ROOT` when that is set. Exit codes: 0 done, 1 failure (no
//! configuration, no ltid answering, a refused request), 2 usage.

use super::conf::VmConf;
use super::module::{LtidModule, Settings};
use super::probe::AutoProbe;
use super::rdevmi::RdevmiModule;
use super::wire::{Deframer, Message, Op};
use super::Paths;
use crate::daemon::detach::ReadyPipe;
use crate::daemon::host::{Hosting, Opened, Plan};
use crate::daemon::{lock, run};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// The variable that keeps ltid in the foreground, logging to stderr.
pub const FOREGROUND_ENV: &str = "LTID_FOREGROUND";
/// Most bytes of vm.conf read.
const MAX_CONF: u64 = 1 << 20;
/// How long `vmoprcmd` waits for ltid.
const CLIENT_WAIT: Duration = Duration::from_secs(10);

/// `-V` of every program here: its name and statmon's version.
fn version(prog: &str, args: &[OsString]) -> bool {
    let asked = matches!(args, [a] if a == "-V");
    if asked {
        println!("{prog} (statmon) version {}", env!("CARGO_PKG_VERSION"));
    }
    asked
}

const LTID_USAGE: &str = "usage: ltid [-f] [-v]\n       ltid -V";
const RDEVMI_USAGE: &str =
    "usage: rdevmi -r -p HOST   (started by vmd, the socket on standard input)\n       rdevmi -V";
const VMOPRCMD_USAGE: &str =
    "usage: vmoprcmd [-d]\n       vmoprcmd -up|-down|-reserve|-release DRIVE\n       vmoprcmd -V";

/// ltid's flags.
struct LtidArgs {
    foreground: bool,
    verbose: bool,
}

fn ltid_args(prog: &str, args: &[OsString]) -> Result<LtidArgs, i32> {
    let mut a = LtidArgs {
        foreground: std::env::var(FOREGROUND_ENV).is_ok_and(|v| v == "1"),
        verbose: false,
    };
    for arg in args {
        match arg.to_str() {
            Some("-f") => a.foreground = true,
            Some("-v") => a.verbose = true,
            _ => {
                eprintln!(
                    "{prog}: unknown argument '{}'\n{LTID_USAGE}",
                    arg.to_string_lossy()
                );
                return Err(2);
            }
        }
    }
    Ok(a)
}

/// vm.conf, read and parsed, and the host's name; errors said on stderr.
fn settings(prog: &str, paths: &Paths) -> Result<(Settings, Vec<String>), i32> {
    let file = paths.conf();
    let mut text = Vec::new();
    if let Err(e) = std::fs::File::open(&file).and_then(|f| f.take(MAX_CONF).read_to_end(&mut text))
    {
        eprintln!("{prog}: cannot read {}: {e}", file.display());
        return Err(1);
    }
    let (conf, problems) = match VmConf::parse(&String::from_utf8_lossy(&text)) {
        Ok(c) => c,
        Err(p) => {
            eprintln!("{prog}: {}:{}: {}", file.display(), p.line, p.text);
            return Err(1);
        }
    };
    let mut warnings: Vec<String> = problems
        .iter()
        .map(|p| format!("{}:{}: {}", file.display(), p.line, p.text))
        .collect();
    let me = conf.host_name.clone().unwrap_or_else(|| {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    });
    if !conf.servers.contains(&me) {
        warnings.push(format!(
            "{}: this host ({me}) is not among the SERVER lines; no peer will be served",
            file.display()
        ));
    }
    Ok((Settings::new(conf, me), warnings))
}

/// Entry point for `ltid`.
pub fn ltid_main(prog: &'static str, args: Vec<OsString>) -> i32 {
    if version(prog, &args) {
        return 0;
    }
    let a = match ltid_args(prog, &args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let paths = Paths::system();
    let (mut settings, warnings) = match settings(prog, &paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    settings.conf.verbose |= a.verbose;
    let verbosity = verbosity(&settings, a.verbose);
    let Ok(ready) = run::detach_and_log(prog, a.foreground, a.foreground, verbosity) else {
        return 1;
    };
    for w in &warnings {
        log::warn!("{w}");
    }
    run::run_alone(open(paths, settings, ready))
}

fn verbosity(settings: &Settings, verbose: bool) -> u32 {
    if verbose || settings.conf.verbose {
        2
    } else {
        1
    }
}

/// The lock, the pid file and the module.
fn open(paths: Paths, settings: Settings, ready: Option<ReadyPipe>) -> Result<Opened, i32> {
    let misc = paths.misc();
    let fail = |ready: Option<ReadyPipe>, msg: String| {
        log::error!("{msg}");
        if let Some(r) = ready {
            r.failed(&msg);
        }
        1
    };
    let lock = match lock::lock_dir_as(&misc, "ltid") {
        Ok(l) => l,
        Err(e) => return Err(fail(ready, format!("not starting a second ltid: {e}"))),
    };
    let pid_file = misc.join("ltid.pid");
    let pid_files = run::write_pid_files(&[&pid_file], &misc);
    let module = LtidModule::new(paths, settings, Box::new(AutoProbe), Instant::now(), ready);
    Ok(Opened {
        modules: vec![Box::new(module)],
        keep: vec![Box::new(lock), Box::new(pid_files)],
    })
}

/// `ltid` for `statmon run`.
pub fn ltid_plan(prog: &'static str, args: Vec<OsString>) -> Result<Box<dyn Plan>, i32> {
    let a = ltid_args(prog, &args)?;
    let paths = Paths::system();
    let (mut settings, warnings) = settings(prog, &paths)?;
    settings.conf.verbose |= a.verbose;
    Ok(Box::new(LtidPlan {
        prog,
        verbosity: verbosity(&settings, a.verbose),
        foreground: a.foreground,
        paths,
        settings,
        warnings,
    }))
}

struct LtidPlan {
    prog: &'static str,
    verbosity: u32,
    foreground: bool,
    paths: Paths,
    settings: Settings,
    warnings: Vec<String>,
}

impl Plan for LtidPlan {
    fn name(&self) -> &'static str {
        self.prog
    }
    fn verbosity(&self) -> u32 {
        self.verbosity
    }
    fn log_stderr(&self) -> bool {
        self.foreground
    }
    fn open(self: Box<Self>, _hosting: Hosting) -> Result<Opened, i32> {
        for w in &self.warnings {
            log::warn!("{w}");
        }
        open(self.paths, self.settings, None)
    }
}

/// Entry point for `rdevmi -r -p HOST`, the socket on standard input.
pub fn rdevmi_main(prog: &'static str, args: Vec<OsString>) -> i32 {
    if version(prog, &args) {
        return 0;
    }
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let peer = match words.as_slice() {
        ["-r", "-p", host] if words.len() == args.len() => host.to_string(),
        _ => {
            eprintln!("{prog}: {RDEVMI_USAGE}");
            return 2;
        }
    };
    let sock = match take_stdin_socket() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{prog}: standard input is not the socket vmd hands over: {e}");
            return 2;
        }
    };
    let paths = Paths::system();
    let heartbeat = match settings(prog, &paths) {
        Ok((s, _)) => s.conf.heartbeat,
        Err(code) => return code,
    };
    if run::detach_and_log(prog, true, false, 1).is_err() {
        return 1;
    }
    let module = RdevmiModule::new(paths, peer, heartbeat, sock);
    run::run_alone(Ok(Opened {
        modules: vec![Box::new(module)],
        keep: Vec::new(),
    }))
}

/// Standard input, checked to be a stream socket, moved to a descriptor of
/// its own (close-on-exec); /dev/null takes its place.
fn take_stdin_socket() -> std::io::Result<OwnedFd> {
    let stdin = rustix::stdio::stdin();
    if rustix::net::sockopt::socket_type(stdin)? != rustix::net::SocketType::STREAM {
        return Err(std::io::Error::other("not a stream socket"));
    }
    let sock = rustix::io::fcntl_dupfd_cloexec(stdin, 3)?;
    let null = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDWR,
        rustix::fs::Mode::empty(),
    )?;
    rustix::stdio::dup2_stdin(&null)?;
    Ok(sock)
}

/// Entry point for `vmoprcmd`.
pub fn vmoprcmd_main(prog: &'static str, args: Vec<OsString>) -> i32 {
    if version(prog, &args) {
        return 0;
    }
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let request = match (words.as_slice(), words.len() == args.len()) {
        ([] | ["-d"], true) => Message::Show,
        ([flag, drive], true) => {
            let op = match *flag {
                "-up" => Op::UP,
                "-down" => Op::DOWN,
                "-reserve" => Op::RESERVE,
                "-release" => Op::RELEASE,
                _ => return usage(prog),
            };
            Message::Operate {
                op,
                drive: drive.to_string(),
            }
        }
        _ => return usage(prog),
    };
    let socket = Paths::system().socket();
    match ask(&socket, &request) {
        Ok(Message::ShowText(text)) => {
            print!("{text}");
            0
        }
        Ok(Message::Operated { ok, text }) => {
            println!("{text}");
            if ok {
                0
            } else {
                1
            }
        }
        Ok(other) => {
            eprintln!("{prog}: ltid answered command {}", other.command().0);
            1
        }
        Err(e) => {
            eprintln!("{prog}: no ltid answers on {}: {e}", socket.display());
            1
        }
    }
}

fn usage(prog: &str) -> i32 {
    eprintln!("{prog}: {VMOPRCMD_USAGE}");
    2
}

/// One request to ltid on its local socket, and its answer.
fn ask(socket: &std::path::Path, request: &Message) -> std::io::Result<Message> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.set_read_timeout(Some(CLIENT_WAIT))?;
    s.write_all(&request.encode())?;
    let mut de = Deframer::default();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(frame) = de.next_frame() {
            return frame
                .and_then(|f| f.decode())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()));
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "ltid closed the connection without an answer",
            ));
        }
        de.push(&buf[..n]);
    }
}
