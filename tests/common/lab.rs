//! A lab of hosts on one private link, for tests where statd talks to
//! another host's statd (reboot notification).
//!
//! Every host is a [`Sandbox`] (own network and mount namespaces, tmpfs on
//! /run, private resolver) running its own `rpcbind -f`. A further sandbox,
//! the switch, holds a bridge `br0`; each host is plugged into it by a veth
//! pair that is created inside the switch (`portN` there, `lab0` in the
//! host), so nothing is ever added to the machine's own namespace. Host N
//! (1-based, in the order given) has 10.77.0.N/24 and fd77::N/64 (nodad) on
//! `lab0`; every host's /etc/hosts maps each lab host name (and `NAME.lab`,
//! an alias) to its 10.77.0.N address. No other address is configured.
//!
//! Each host can run one statd at a time, Debian's `rpc.statd` or statmon's,
//! on port [`STATD_PORT`] with the state directory [`Host::state_dir`];
//! every program started in a host logs to a numbered file in its scratch
//! directory, and [`Host::logs`] / [`Lab::logs`] print them all for failure
//! messages. Everything is stopped by pid; dropping the lab deletes the
//! links and kills every process and holder, which ends the namespaces.

use super::fake_lockd::{FakeLockd, Options, Style};
use super::layout::{self, StateFile, Stock};
use super::prereq::{self, Need};
use super::sandbox::Sandbox;
use super::{daemon, rpcinfo, start_rpcbind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// Debian's rpc.statd.
pub const DEBIAN_STATD: &str = "/usr/sbin/rpc.statd";
/// Debian's sm-notify.
pub const DEBIAN_SM_NOTIFY: &str = "/usr/sbin/sm-notify";
/// The NSM port every lab statd listens on (`-p`).
pub const STATD_PORT: &str = "20024";
/// The lab interface in every host.
pub const LAB_IF: &str = "lab0";

/// Which statd a host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Debian's rpc.statd, started `-F -d -L -P DIR -p PORT` (no sm-notify
    /// at start: the test runs [`Host::sm_notify`] itself).
    Debian,
    /// statmon's `rpc.statd -F -d -P DIR -p PORT --config /dev/null`.
    Statmon,
}

impl Flavour {
    /// Short name used in log file names.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Debian => "debian-statd",
            Flavour::Statmon => "statmon",
        }
    }
}

/// The statd a host is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    pub flavour: Flavour,
    pub pid: u32,
}

/// One lab host.
pub struct Host {
    /// The name every host's /etc/hosts maps to [`Host::v4`].
    pub name: String,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    pub sb: Sandbox,
    rpcbind: u32,
    statd: Option<Running>,
    /// Programs started so far (numbers the log files).
    started: usize,
}

/// The hosts and the switch between them.
pub struct Lab {
    /// In the order given to [`Lab::new`]; host `i` has address `.i+1`.
    pub hosts: Vec<Host>,
    switch: Sandbox,
}

impl Lab {
    /// What building a lab needs (see [`prereq::require`]); a test that
    /// runs [`Flavour::Debian`] needs [`Need::DebianDaemons`] too.
    pub const NEEDS: [Need; 4] = [
        Need::Sandbox,
        Need::Tool("rpcbind"),
        Need::Tool("rpcinfo"),
        Need::StatdUser,
    ];

    /// Builds the lab: one host per name (2 to 200 of them), linked, each
    /// running rpcbind, and checks that every host reaches every other's
    /// rpcbind over IPv4 and IPv6. Panics if any step fails.
    pub fn new(names: &[&str]) -> Lab {
        assert!((2..=200).contains(&names.len()), "a lab has 2 to 200 hosts");
        let hosts_lines: Vec<(String, String)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("10.77.0.{}", i + 1), format!("{n} {n}.lab")))
            .collect();
        let hosts_ref: Vec<(&str, &str)> = hosts_lines
            .iter()
            .map(|(a, n)| (a.as_str(), n.as_str()))
            .collect();
        let switch = Sandbox::new();
        ip(
            &switch,
            &["link", "add", "br0", "type", "bridge", "forward_delay", "0"],
        );
        ip(&switch, &["link", "set", "br0", "up"]);
        let mut hosts = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let n = i + 1;
            let mut sb = Sandbox::with_hosts(&hosts_ref);
            let port = format!("port{n}");
            let holder = sb.holder_pid().to_string();
            ip(
                &switch,
                &[
                    "link", "add", &port, "type", "veth", "peer", "name", LAB_IF, "netns", &holder,
                ],
            );
            ip(&switch, &["link", "set", &port, "master", "br0"]);
            ip(&switch, &["link", "set", &port, "up"]);
            let v4 = Ipv4Addr::new(10, 77, 0, n as u8);
            let v6 = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, n as u16);
            ip(&sb, &["addr", "add", &format!("{v4}/24"), "dev", LAB_IF]);
            ip(
                &sb,
                &[
                    "-6",
                    "addr",
                    "add",
                    &format!("{v6}/64"),
                    "dev",
                    LAB_IF,
                    "nodad",
                ],
            );
            ip(&sb, &["link", "set", LAB_IF, "up"]);
            layout::stock(&sb.dir.path().join("state"), StateFile::Empty);
            let rpcbind = start_rpcbind(&mut sb);
            hosts.push(Host {
                name: (*name).to_string(),
                v4,
                v6,
                sb,
                rpcbind,
                statd: None,
                started: 0,
            });
        }
        let lab = Lab { hosts, switch };
        lab.check_links();
        lab
    }

    /// Every host connects to every other host's rpcbind (TCP 111) over
    /// IPv4 and IPv6, and resolves every lab name to its address.
    fn check_links(&self) {
        for from in &self.hosts {
            let targets: Vec<SocketAddr> = self
                .hosts
                .iter()
                .filter(|h| h.name != from.name)
                .flat_map(|h| [IpAddr::V4(h.v4), IpAddr::V6(h.v6)])
                .map(|ip| SocketAddr::new(ip, 111))
                .collect();
            let failed = std::thread::scope(|s| {
                s.spawn(|| {
                    from.sb.enter_net();
                    targets
                        .iter()
                        .filter(|to| !reaches(**to, Duration::from_secs(10)))
                        .copied()
                        .collect::<Vec<_>>()
                })
                .join()
                .expect("link check thread")
            });
            assert!(
                failed.is_empty(),
                "{} cannot reach {failed:?}\n{}",
                from.name,
                self.links()
            );
            for to in &self.hosts {
                let out = from.sb.run("getent", &["hosts", &to.name]);
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(
                    text.starts_with(&format!("{} ", to.v4)),
                    "{} resolves {} as {text:?}",
                    from.name,
                    to.name
                );
            }
        }
    }

    /// `ip addr` of every host and `bridge link` of the switch.
    pub fn links(&self) -> String {
        let mut text = String::new();
        for h in &self.hosts {
            let out = h.sb.run("ip", &["addr"]);
            text.push_str(&format!(
                "--- {} ip addr\n{}",
                h.name,
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let out = self.switch.run("bridge", &["link"]);
        text.push_str(&format!(
            "--- switch bridge link\n{}",
            String::from_utf8_lossy(&out.stdout)
        ));
        text
    }

    /// The host called `name`; panics if there is none.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no lab host {name}"))
    }

    /// The host called `name`, mutably; panics if there is none.
    pub fn host_mut(&mut self, name: &str) -> &mut Host {
        self.hosts
            .iter_mut()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no lab host {name}"))
    }

    /// Every log of every host.
    pub fn logs(&self) -> String {
        self.hosts.iter().map(Host::logs).collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both; the hosts' and the
        // switch's holders go with their sandboxes.
        for n in 1..=self.hosts.len() {
            let _ = self.switch.run("ip", &["link", "del", &format!("port{n}")]);
        }
        for h in &mut self.hosts {
            if let Some(r) = h.statd.take() {
                h.sb.stop(r.pid, libc::SIGKILL);
            }
            h.sb.stop(h.rpcbind, libc::SIGTERM);
        }
    }
}

impl Host {
    /// The state directory every statd of this host uses: the stock
    /// layout (see [`layout::stock`]), `state` empty at first.
    pub fn state_dir(&self) -> PathBuf {
        self.sb.dir.path().join("state")
    }

    /// The stock layout at [`Host::state_dir`].
    pub fn stock(&self) -> Stock {
        Stock::of(&self.state_dir())
    }

    /// The NSM state on disk (`DIR/state`, 4 bytes native endian), if the
    /// file is there.
    pub fn state(&self) -> Option<i32> {
        let bytes = std::fs::read(self.state_dir().join("state")).ok()?;
        let four: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        Some(i32::from_ne_bytes(four))
    }

    /// `(file, text)` of every record file in `DIR/sm` or `DIR/sm.bak`
    /// (dot files, which are not records, left out), sorted.
    pub fn records(&self, sub: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = std::fs::read_dir(self.state_dir().join(sub))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read_to_string(e.path()).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.retain(|(name, _)| !name.starts_with('.'));
        v.sort();
        v
    }

    /// The statd running here, if any.
    pub fn statd(&self) -> Option<Running> {
        self.statd
    }

    /// Starts `flavour`'s statd and waits (up to 10 s) until it answers
    /// SM_NULL on 127.0.0.1; panics (with the logs) if it does not.
    pub fn start_statd(&mut self, flavour: Flavour) -> u32 {
        assert!(self.statd.is_none(), "{}: a statd is running", self.name);
        let dir = self.state_dir().to_string_lossy().into_owned();
        let cmd = match flavour {
            Flavour::Debian => {
                let mut c = self.sb.command(DEBIAN_STATD);
                c.args(["-F", "-d", "-L", "-P", &dir, "-p", STATD_PORT]);
                c
            }
            Flavour::Statmon => daemon::statd_may_embed(&self.sb, &dir, STATD_PORT, &[]),
        };
        let log = self.next_log(flavour.name());
        let pid = self.sb.spawn(cmd, &log);
        self.statd = Some(Running { flavour, pid });
        let ready = self.sb.wait_until(10, || {
            rpcinfo(
                &self.sb,
                &["-n", STATD_PORT, "-u", "127.0.0.1", "100024", "1"],
            )
            .contains("ready and waiting")
        });
        assert!(
            ready,
            "{}: statd did not answer\n{}",
            self.name,
            self.logs()
        );
        pid
    }

    /// Stops the running statd with SIGTERM; panics if there is none or it
    /// does not exit within 10 s.
    pub fn stop_statd(&mut self) -> ExitStatus {
        let r = self
            .statd
            .take()
            .unwrap_or_else(|| panic!("{}: no statd running", self.name));
        self.sb
            .stop(r.pid, libc::SIGTERM)
            .unwrap_or_else(|| panic!("{}: statd did not stop\n{}", self.name, self.logs()))
    }

    /// A reboot as statmon sees it: stops the running statmon, writes
    /// another boot id into the state directory, starts statmon again.
    pub fn reboot_statmon(&mut self) -> u32 {
        assert_eq!(
            self.statd.map(|r| r.flavour),
            Some(Flavour::Statmon),
            "{}: statmon is not running",
            self.name
        );
        let status = self.stop_statd();
        assert!(status.success(), "{}: statmon exited {status}", self.name);
        self.stock().put(
            layout::BOOT_ID,
            &format!("lab-reboot-of-{}-{:?}\n", self.name, Instant::now()),
        );
        self.start_statd(Flavour::Statmon)
    }

    /// Starts Debian's `sm-notify -f -d -P DIR` (the reboot notifier, in
    /// the foreground); returns its pid (see [`Sandbox::wait_exit`]).
    pub fn sm_notify(&mut self) -> u32 {
        let dir = self.state_dir();
        let mut cmd = self.sb.command(DEBIAN_SM_NOTIFY);
        cmd.args(["-f", "-d", "-P"]).arg(&dir);
        let log = self.next_log("sm-notify");
        self.sb.spawn(cmd, &log)
    }

    /// A Linux-style fake lock manager in this host, registered with its
    /// rpcbind. The calling thread stays in its own namespace.
    pub fn start_fake_lockd(&self, style: Style) -> FakeLockd {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.sb.enter_net();
                FakeLockd::start(style, Options::default())
            })
            .join()
            .expect("fake lockd start")
        })
    }

    /// Every log file of this host (oldest program first), with headers.
    pub fn logs(&self) -> String {
        self.sb
            .log_names(".log")
            .iter()
            .map(|n| format!("--- {} {n}\n{}", self.name, self.sb.log(n)))
            .collect()
    }

    /// `NN-what.log`, numbered in start order.
    fn next_log(&mut self, what: &str) -> String {
        self.started += 1;
        format!("{:02}-{what}.log", self.started)
    }
}

/// Runs `ip ARGS` inside `sb`; panics with its stderr if it fails.
fn ip(sb: &Sandbox, args: &[&str]) {
    let out = sb.run("ip", args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether a TCP connection to `to` succeeds within `within` (retrying).
fn reaches(to: SocketAddr, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if TcpStream::connect_timeout(&to, Duration::from_secs(1)).is_ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
