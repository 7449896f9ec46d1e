//! A private host for integration tests: new network and mount namespaces
//! with only `lo` up and a tmpfs on /run, so rpcbind, statd and friends never
//! touch the machine's own /run, ports or resolver, and no packet leaves.
//!
//! The resolver is private too: inside the mount namespace, /etc/hosts,
//! /etc/resolv.conf and /etc/nsswitch.conf are bind mounts of files in the
//! sandbox's scratch directory. `hosts: files` is the only host source
//! (`nameserver 127.0.0.1` stands behind it, unused), so no DNS query is made,
//! and /etc/hosts holds the localhost lines plus what the test asks for.
//!
//! A holder process keeps the namespaces alive; commands run inside through
//! `nsenter`. Daemons are started by pid and stopped by that pid. Dropping the
//! sandbox kills everything it started and the holder, which ends the
//! namespaces.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Why a sandbox could not be made (the test then says so and passes).
pub fn unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not root".into());
    }
    for tool in ["unshare", "nsenter", "ip"] {
        if which(tool).is_none() {
            return Some(format!("{tool} missing"));
        }
    }
    None
}

/// Full path of a program on PATH or in the sbin directories.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file());
    found
}

/// The /etc/hosts lines every sandbox has.
const LOCALHOST_LINES: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// /etc/nsswitch.conf inside: local files for every database.
const NSSWITCH: &str = "passwd: files\ngroup: files\nshadow: files\ngshadow: files\n\
                        hosts: files\nnetworks: files\nprotocols: files\nservices: files\n\
                        ethers: files\nrpc: files\nnetgroup: files\n";

/// /etc/resolv.conf inside (only reached if something bypasses nsswitch).
const RESOLV_CONF: &str = "nameserver 127.0.0.1\n";

/// The holder: mounts /run, bind-mounts `$1/etc/{hosts,resolv.conf,
/// nsswitch.conf}` over the files /etc names (following symlinks; a missing
/// target is created only inside the new /run), brings `lo` up and waits.
const HOLDER_SCRIPT: &str = r#"set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/rpcbind
for f in hosts resolv.conf nsswitch.conf; do
    t=$(readlink -m "/etc/$f")
    case "$t" in
    /run/*) mkdir -p "$(dirname "$t")"; [ -e "$t" ] || : > "$t" ;;
    esac
    mount --bind "$1/etc/$f" "$t"
done
ip link set lo up
echo ready
exec sleep infinity"#;

pub struct Sandbox {
    holder: Child,
    daemons: Vec<Child>,
    /// Scratch directory for state dirs, captures and logs.
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    /// A sandbox whose /etc/hosts knows only localhost.
    pub fn new() -> Sandbox {
        Sandbox::with_hosts(&[])
    }

    /// A sandbox whose /etc/hosts has the localhost lines plus one line per
    /// `(address, names)` entry; `names` may list several, space-separated.
    pub fn with_hosts(hosts: &[(&str, &str)]) -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let etc = dir.path().join("etc");
        std::fs::create_dir(&etc).expect("etc dir");
        std::fs::write(etc.join("hosts"), hosts_text(hosts)).expect("hosts");
        std::fs::write(etc.join("resolv.conf"), RESOLV_CONF).expect("resolv.conf");
        std::fs::write(etc.join("nsswitch.conf"), NSSWITCH).expect("nsswitch.conf");
        let mut holder = Command::new("unshare")
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                HOLDER_SCRIPT,
                "sandbox-holder",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("unshare");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("holder output");
        assert_eq!(line.trim(), "ready", "sandbox holder did not start");
        Sandbox {
            holder,
            daemons: Vec::new(),
            dir,
        }
    }

    /// Rewrites the sandbox's /etc/hosts in place (the bind mount keeps the
    /// inode, so programs inside see the new text at their next lookup).
    pub fn set_hosts(&self, hosts: &[(&str, &str)]) {
        std::fs::write(self.dir.path().join("etc/hosts"), hosts_text(hosts)).expect("hosts");
    }

    /// A command that runs `program` inside the sandbox.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.holder.id().to_string())
            .args(["-n", "-m", "--"]);
        c.arg(program);
        c
    }

    /// Runs a command inside and collects its output.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().expect(program)
    }

    /// Starts a daemon inside; its stderr goes to `<dir>/<log>`. Returns its pid
    /// (nsenter execs the program, so the pid is the daemon's own).
    pub fn spawn(&mut self, mut cmd: Command, log: &str) -> u32 {
        let err = File::create(self.dir.path().join(log)).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn");
        let pid = child.id();
        self.daemons.push(child);
        pid
    }

    /// The text a daemon logged so far.
    pub fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(log)).unwrap_or_default()
    }

    /// Names of the files in the scratch directory ending in `suffix`
    /// (`".log"`: every log so far), sorted.
    pub fn log_names(&self, suffix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Sends `sig` to a daemon started here and waits (up to 10 s) for its exit
    /// status; `None` if it did not exit.
    pub fn stop(&mut self, pid: u32, sig: i32) -> Option<std::process::ExitStatus> {
        let idx = self.daemons.iter().position(|c| c.id() == pid)?;
        let pid_t = rustix::process::Pid::from_raw(pid as i32)?;
        let _ = rustix::process::kill_process(pid_t, rustix::process::Signal::from_named_raw(sig)?);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.daemons[idx].try_wait() {
                let _reaped = self.daemons.remove(idx).wait();
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Pid of the holder process: `/proc/<pid>/ns/*` are the sandbox's
    /// namespaces (for `ip link set DEV netns <pid>` and the like).
    pub fn holder_pid(&self) -> u32 {
        self.holder.id()
    }

    /// Waits (up to `secs`) for a program started here with [`Sandbox::spawn`]
    /// to exit by itself, without signalling it; `None` if it is still
    /// running (it stays registered, so drop still kills it).
    pub fn wait_exit(&mut self, pid: u32, secs: u64) -> Option<std::process::ExitStatus> {
        let idx = self.daemons.iter().position(|c| c.id() == pid)?;
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(status)) = self.daemons[idx].try_wait() {
                let _reaped = self.daemons.remove(idx).wait();
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Moves the calling thread's network namespace into the sandbox, so
    /// sockets it opens from now on live there. Only this thread is affected.
    pub fn enter_net(&self) {
        let ns = File::open(format!("/proc/{}/ns/net", self.holder.id())).expect("netns");
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&ns),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns");
    }

    /// Polls `f` every 50 ms until it returns true or `secs` pass.
    pub fn wait_until(&self, secs: u64, mut f: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// /etc/hosts text: the localhost lines, then `address<TAB>names` lines.
fn hosts_text(hosts: &[(&str, &str)]) -> String {
    let mut text = String::from(LOCALHOST_LINES);
    for (addr, names) in hosts {
        text.push_str(&format!("{addr}\t{names}\n"));
    }
    text
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for c in &mut self.daemons {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
