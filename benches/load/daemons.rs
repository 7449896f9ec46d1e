//! The daemons under load, started inside the sandbox by pid and stopped by
//! that pid: rpcbind (once), statmon's rpc.statd and Debian's, plus what is
//! measured on them from outside (first answer, resident memory).

use crate::calls;
use crate::sandbox::Sandbox;
use statmon::proto::sm_inter::SmProc;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

/// statmon, built by `cargo bench` in the bench (release) profile.
pub(crate) const STATMON: &str = env!("CARGO_BIN_EXE_statmon");
/// Debian's rpc.statd (nfs-utils 2.6.2).
pub(crate) const DEBIAN: &str = "/usr/sbin/rpc.statd";
/// The state directory Debian's sm-notify always uses (`rpc.statd -P` is
/// not passed on to it); bind-mounted over inside the sandbox when needed.
pub(crate) const DEBIAN_DEFAULT_DIR: &str = "/var/lib/nfs";

/// Which server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Daemon {
    Floor,
    /// The do-nothing responder that still makes SM_MON/SM_UNMON durable
    /// (`durable_floor.rs`; UDP only).
    DurableFloor,
    Statmon,
    Debian,
}

impl Daemon {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Daemon::Floor => "floor",
            Daemon::DurableFloor => "durable floor",
            Daemon::Statmon => "statmon",
            Daemon::Debian => "reference",
        }
    }

    /// Its NSM port in the sandbox.
    pub(crate) fn port(self) -> u16 {
        match self {
            Daemon::Statmon => 20044,
            Daemon::Debian => 20045,
            Daemon::Floor => 20046,
            Daemon::DurableFloor => 20047,
        }
    }

    pub(crate) fn addr(self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port()))
    }
}

/// Starts `rpcbind -f -h 127.0.0.2` and waits (up to 10 s) for its TCP
/// port. The caller must be in the sandbox's network namespace. Its UDP
/// sockets are bound to 127.0.0.2 and the loopback addresses it always adds
/// (127.0.0.1, ::1), not to the wildcard, so a GETPORT to 127.3.X.Y (the
/// "peers" of the startup workload) finds nothing listening. (`-h 127.0.0.1`
/// alone makes Debian's rpcbind 1.2.6 abort with a double free.)
pub(crate) fn start_rpcbind(sb: &mut Sandbox) -> Result<u32, String> {
    let mut cmd = sb.command("rpcbind");
    cmd.args(["-f", "-h", "127.0.0.2"]);
    let pid = sb.spawn(cmd, "rpcbind.log");
    let to = SocketAddr::from(([127, 0, 0, 1], 111));
    let ok = sb.wait_until(10, || {
        TcpStream::connect_timeout(&to, Duration::from_millis(100)).is_ok()
    });
    if ok {
        Ok(pid)
    } else {
        Err(format!("rpcbind did not start: {}", sb.log("rpcbind.log")))
    }
}

/// Starts a floor ([`Daemon::Floor`] or [`Daemon::DurableFloor`]; the
/// latter keeps its records under `dir`) in a process of its own, the
/// bench binary again with `--floor`, inside the sandbox, and waits (up to
/// 10 s) for its first answer. Returns its pid.
pub(crate) fn start_floor(sb: &mut Sandbox, daemon: Daemon, dir: &Path) -> Result<u32, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the bench binary: {e}"))?;
    let mut cmd = sb.command(exe);
    cmd.arg("--floor");
    match daemon {
        Daemon::Floor => cmd.arg("nsm").arg(daemon.addr().to_string()),
        Daemon::DurableFloor => cmd.arg("durable").arg(daemon.addr().to_string()).arg(dir),
        Daemon::Statmon | Daemon::Debian => return Err(format!("{daemon:?} is not a floor")),
    };
    let log = format!("{}.log", daemon.label().replace(' ', "-"));
    let t0 = Instant::now();
    let pid = sb.spawn(cmd, &log);
    match first_answer(sb, pid, daemon, t0, Duration::from_secs(10)) {
        Some(_) => Ok(pid),
        None => {
            stop(sb, pid);
            Err(format!(
                "{} did not answer: {}",
                daemon.label(),
                sb.log(&log)
            ))
        }
    }
}

/// How a statd is started.
pub(crate) struct Start<'a> {
    pub(crate) daemon: Daemon,
    pub(crate) dir: &'a Path,
    /// Debian: run sm-notify first (no `-L`). statmon decides by itself from
    /// the directory's boot id.
    pub(crate) notify: bool,
    pub(crate) statmon_args: &'a [String],
    pub(crate) log: &'a str,
}

/// Spawns a statd; returns its pid and the spawn instant.
pub(crate) fn spawn(sb: &mut Sandbox, s: &Start<'_>) -> (u32, Instant) {
    let port = s.daemon.port().to_string();
    let cmd = match s.daemon {
        Daemon::Statmon => {
            let mut c = sb.command(STATMON);
            c.args(["rpc.statd", "--dialect=seed", "-F", "--config", "/dev/null"])
                .arg("--no-embedded-portmap")
                .arg("-P")
                .arg(s.dir)
                .args(["-p", &port])
                .args(s.statmon_args);
            c
        }
        Daemon::Debian | Daemon::Floor | Daemon::DurableFloor => {
            let mut c = sb.command(DEBIAN);
            c.arg("-F");
            if !s.notify {
                c.arg("-L");
            }
            c.arg("-P").arg(s.dir).args(["-p", &port]);
            c
        }
    };
    let t0 = Instant::now();
    let pid = sb.spawn(cmd, s.log);
    (pid, t0)
}

/// Sends SM_NULL to `daemon` every 2 ms from one socket until any answer
/// arrives; returns its time after `t0`, or `None` after `cap` or when the
/// daemon exits.
pub(crate) fn first_answer(
    sb: &mut Sandbox,
    pid: u32,
    daemon: Daemon,
    t0: Instant,
    cap: Duration,
) -> Option<Duration> {
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.connect(daemon.addr()).ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(2))).ok()?;
    let mut buf = [0u8; 512];
    let mut xid = 0u32;
    let mut next_exit_check = Instant::now();
    loop {
        xid = xid.wrapping_add(1);
        let _ = sock.send(&calls::call(xid, SmProc::NULL, &[]));
        let deadline = Instant::now() + Duration::from_millis(2);
        while Instant::now() < deadline {
            if let Ok(n) = sock.recv(&mut buf) {
                if n >= 8 {
                    return Some(t0.elapsed());
                }
            }
        }
        let now = Instant::now();
        if now.duration_since(t0) >= cap {
            return None;
        }
        if now >= next_exit_check {
            next_exit_check = now + Duration::from_millis(100);
            if sb.wait_exit(pid, 0).is_some() {
                return None;
            }
        }
    }
}

/// Pids of the processes whose parent is `pid` (Debian's sm-notify).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // The fields after the parenthesised command: state, ppid, ...
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Stops a daemon started by [`spawn`] (SIGTERM, by pid), and first any
/// child it started (Debian's sm-notify, SIGKILL by pid).
pub(crate) fn stop(sb: &mut Sandbox, pid: u32) {
    for child in children(pid) {
        if let Some(p) = rustix::process::Pid::from_raw(child as i32) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }
    if sb.stop(pid, libc::SIGTERM).is_none() {
        let _ = sb.stop(pid, libc::SIGKILL);
    }
}

/// `VmRSS` of a process, in bytes.
pub(crate) fn rss(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
