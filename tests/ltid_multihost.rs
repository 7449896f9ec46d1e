//! ltid, vmd and rdevmi between media servers: each media server is a lab
//! host (`tests/common/lab.rs`: its own network namespace, plugged into a
//! bridge, /etc/hosts naming every lab host), running statmon's `ltid -f`
//! with its own `STATMON_ROOT` (volmgr directory, `vm.conf`, a stand-in
//! drive file, a `shared_drive_notify` that appends its arguments to a
//! file). vmd listens on its default port, 13701, in each namespace.
//! Heartbeats and polls are 1 s (`SSO_HEARTBEAT`, `SSO_POLL_INTERVAL`),
//! so a silent peer is dropped after 3 s.
//!
//! The test reaches each ltid through `vmoprcmd` on its local socket (a
//! path under the host's root) and reads its daemon log,
//! `debug/daemon/log.MMDDYY`.
#![allow(clippy::unwrap_used)]

mod common;

use common::lab::Lab;
use common::prereq;
use common::STATMON;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long a convergence may take (liveness bound).
const WAIT: u64 = 20;

/// One media server of the lab.
struct Media {
    name: String,
    root: PathBuf,
    pid: Option<u32>,
}

impl Media {
    fn volmgr(&self) -> PathBuf {
        self.root.join("usr/openv/volmgr")
    }

    /// `vmoprcmd ARGS` against this host's ltid: (exit code, stdout).
    fn vmoprcmd(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(STATMON)
            .arg("vmoprcmd")
            .args(args)
            .env("STATMON_ROOT", &self.root)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn status(&self) -> String {
        self.vmoprcmd(&[]).1
    }

    /// The daemon log (every day's file, oldest first).
    fn log(&self) -> String {
        let dir = self.volmgr().join("debug/daemon");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect()
    }

    /// Lines `shared_drive_notify` was run with.
    fn notified(&self) -> Vec<String> {
        std::fs::read_to_string(self.root.join("notify.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn mq_debug(&self, on: bool) {
        let f = self.volmgr().join("VM_MQ_DEBUG");
        if on {
            std::fs::write(f, "").unwrap();
        } else {
            std::fs::remove_file(f).unwrap();
        }
    }
}

/// A lab of media servers `(name, scan ability)`, every one registered.
struct World {
    lab: Lab,
    media: Vec<Media>,
}

impl World {
    fn new(hosts: &[(&str, u32)], extra_servers: &[&str]) -> World {
        let names: Vec<&str> = hosts.iter().map(|(n, _)| *n).collect();
        let lab = Lab::new(&names);
        let mut media = Vec::new();
        for (name, ability) in hosts {
            let root = lab.host(name).sb.dir.path().join("root");
            let volmgr = root.join("usr/openv/volmgr");
            std::fs::create_dir_all(volmgr.join("debug/daemon")).unwrap();
            std::fs::create_dir_all(volmgr.join("bin")).unwrap();
            std::fs::create_dir_all(root.join("dev")).unwrap();
            std::fs::write(root.join("dev/nst0"), "ready A00001\n").unwrap();
            let mut conf = String::new();
            for s in names.iter().chain(extra_servers) {
                conf.push_str(&format!("SERVER = {s}\n"));
            }
            conf.push_str(&format!(
                "SSO_HOST_NAME = {name}\nSSO_SCAN_ABILITY = {ability}\n\
                 SHARED_DRIVE = drv0 path={} robot=TLD\n\
                 SSO_HEARTBEAT = 1\nSSO_POLL_INTERVAL = 1\nNOTIFY_TIMEOUT = 5\n",
                root.join("dev/nst0").display()
            ));
            std::fs::write(volmgr.join("vm.conf"), conf).unwrap();
            let script = volmgr.join("bin/shared_drive_notify");
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\necho \"$1 $2 $3\" >> {}\nexit 0\n",
                    root.join("notify.log").display()
                ),
            )
            .unwrap();
            let mut perms = std::fs::metadata(&script).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&script, perms).unwrap();
            media.push(Media {
                name: name.to_string(),
                root,
                pid: None,
            });
        }
        World { lab, media }
    }

    fn m(&self, name: &str) -> &Media {
        self.media.iter().find(|m| m.name == name).unwrap()
    }

    /// Starts `name`'s ltid and waits until it answers.
    fn start(&mut self, name: &str) -> u32 {
        let i = self.media.iter().position(|m| m.name == name).unwrap();
        let host = self.lab.host_mut(name);
        let mut cmd = host.sb.command(STATMON);
        cmd.args(["ltid", "-f"])
            .env("STATMON_ROOT", &self.media[i].root);
        let pid = host.sb.spawn(cmd, &format!("ltid-{name}.log"));
        self.media[i].pid = Some(pid);
        let m = &self.media[i];
        assert!(
            wait(WAIT, || m.vmoprcmd(&[]).0 == 0),
            "{name}: ltid does not answer\n{}",
            self.report()
        );
        pid
    }

    /// Stops `name`'s ltid with SIGTERM; it must exit 0.
    fn stop(&mut self, name: &str) {
        let i = self.media.iter().position(|m| m.name == name).unwrap();
        let pid = self.media[i].pid.take().unwrap();
        let status = self.lab.host_mut(name).sb.stop(pid, libc::SIGTERM);
        assert!(
            status.is_some_and(|s| s.success()),
            "{name}: ltid exit {status:?}\n{}",
            self.report()
        );
    }

    /// Waits until every host in `who` shows `want` in its status.
    fn converge(&self, who: &[&str], want: &str) {
        let ok = wait(WAIT, || {
            who.iter().all(|n| self.m(n).status().contains(want))
        });
        assert!(ok, "{who:?} never showed {want:?}\n{}", self.report());
    }

    fn report(&self) -> String {
        let mut out = String::new();
        for m in &self.media {
            out.push_str(&format!(
                "=== {} status\n{}=== {} daemon log\n{}=== {} notified {:?}\n",
                m.name,
                m.status(),
                m.name,
                m.log(),
                m.name,
                m.notified()
            ));
        }
        out.push_str(&self.lab.logs());
        for m in &self.media {
            let h = self.lab.host(&m.name);
            out.push_str(&format!(
                "=== {} stderr\n{}",
                m.name,
                h.sb.log(&format!("ltid-{}.log", m.name))
            ));
        }
        out
    }
}

/// Polls `f` every 100 ms for up to `secs`.
fn wait(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// Pids of the live children of `ppid` whose command name is `comm`.
fn children_named(ppid: u32, comm: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let state = fields.first().copied().unwrap_or("");
        let parent: u32 = fields.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        if parent == ppid && name == comm && state != "Z" {
            out.push(pid);
        }
    }
    out.sort();
    out
}

/// Lines of this process's network namespace's TCP tables with port
/// 13701 (vmd's) at either end.
fn vmd_sockets_here() -> Vec<String> {
    let port = format!(":{:04X}", 13701);
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .flat_map(|t| {
            std::fs::read_to_string(t)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 2 && (f[1].ends_with(&port) || f[2].ends_with(&port))
        })
        .collect()
}

/// Whether `line` has the seed's shape: `HH:MM:SS.mmm [pid] <level> func: text`.
fn seed_shaped(line: &str) -> bool {
    let b = line.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let clock = b.len() > 13
        && digits(0..2)
        && b[2] == b':'
        && digits(3..5)
        && b[5] == b':'
        && digits(6..8)
        && b[8] == b'.'
        && digits(9..12)
        && b[12] == b' ';
    if !clock {
        return false;
    }
    let rest = &line[13..];
    let Some(rest) = rest.strip_prefix('[') else {
        return false;
    };
    let Some((pid, rest)) = rest.split_once("] <") else {
        return false;
    };
    let Some((level, rest)) = rest.split_once("> ") else {
        return false;
    };
    let Some((func, _)) = rest.split_once(": ") else {
        return false;
    };
    let num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    num(pid)
        && num(level)
        && !func.is_empty()
        && func.bytes().all(|c| c.is_ascii_alphabetic() || c == b'_')
}

/// The text after `[pid] ` of each log line, for exact comparisons.
fn bodies(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.get(13..).map(str::to_string))
        .collect()
}

/// Index of the first body equal to `want` at or after `from`.
fn find_from(bodies: &[String], from: usize, want: &str) -> Option<usize> {
    bodies
        .iter()
        .skip(from)
        .position(|b| b == want)
        .map(|i| i + from)
}

fn ltid_proc_cmd(log: &str, kind: u32) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("LtidProcCmd: ") && l.contains(&format!("Type={kind},")))
        .map(str::to_string)
        .collect()
}

#[test]
fn three_media_servers_share_a_drive_through_the_scan_host() {
    if !prereq::require(&Lab::NEEDS) {
        return;
    }
    let mut w = World::new(&[("hosta", 5), ("hostb", 5), ("hostc", 1)], &[]);
    let all = ["hosta", "hostb", "hostc"];
    w.m("hosta").mq_debug(true);
    let a_pid = w.start("hosta");
    w.converge(&["hosta"], "scanhost=hosta");
    w.start("hostb");
    w.converge(&["hostb"], "scanhost=hosta");
    w.start("hostc");
    w.converge(&all, "scanhost=hosta");
    w.converge(&["hosta"], "DriveStatId shm_nattch = 3");

    // The machine's own network namespace (this test's) holds no socket
    // of the protocol: every byte went between the lab's namespaces.
    let ours = vmd_sockets_here();
    assert!(
        ours.is_empty(),
        "sockets on port 13701 outside the lab: {ours:?}"
    );

    // The scan host runs one rdevmi per other media server, none for
    // itself; the others run none.
    let rdevmi = children_named(a_pid, "rdevmi");
    println!("hosta's rdevmi processes: {rdevmi:?}");
    assert_eq!(rdevmi.len(), 2, "{}", w.report());
    for n in ["hostb", "hostc"] {
        let pid = w.media.iter().find(|m| m.name == n).unwrap().pid.unwrap();
        assert!(
            children_named(pid, "rdevmi").is_empty(),
            "{n} runs an rdevmi"
        );
    }

    // The log: the seed's shape throughout, the start sequence in order
    // for each rdevmi, Type 100 with the seed's fields.
    let log = w.m("hosta").log();
    let bad: Vec<&str> = log.lines().filter(|l| !seed_shaped(l)).collect();
    assert!(bad.is_empty(), "lines not in the seed's format: {bad:?}");
    let b = bodies(&log);
    let vmd = format!("[{a_pid}] ");
    let mut at = 0;
    for pid in &rdevmi {
        let seq = [
            format!("{vmd}<4> process_request: client requested command=52, version=1"),
            format!("{vmd}<4> process_request: START_OPRD requested"),
        ];
        at = find_from(&b, at, &seq[0]).unwrap_or_else(|| panic!("no {:?}\n{log}", seq[0]));
        find_from(&b, at, &seq[1]).unwrap_or_else(|| panic!("no {:?}\n{log}", seq[1]));
        let started = format!("{vmd}<4> start_oprd: rdevmi, pid={pid}");
        let p = find_from(&b, 0, &started).unwrap_or_else(|| panic!("no {started:?}\n{log}"));
        // The child's first line may come before its parent logs its pid.
        let s = b[..p]
            .iter()
            .rposition(|l| {
                l.starts_with(&format!("{vmd}<2> start_oprd: starting rdevmi, sockfd = "))
                    && l.ends_with(", nosig = yes")
            })
            .unwrap_or_else(|| panic!("no start_oprd before {started:?}\n{log}"));
        assert!(s > at, "START_OPRD requested after the start\n{log}");
        let init = find_from(&b, s, &format!("[{pid}] <4> rdevmi: INITIATING"));
        let cont = find_from(
            &b,
            s,
            &format!("[{pid}] <2> rdevmi: got CONTINUE, connecting to ltid"),
        );
        println!("rdevmi {pid}: started at line {s}, pid logged at {p}, INITIATING {init:?}, CONTINUE {cont:?}");
        assert!(init.is_some() && cont > init, "{log}");
        let start = ltid_proc_cmd(&log, 100);
        let want = format!("LtidProcCmd: Pid={pid}, Data.Pid={pid}, Type=100, Param1=0, Param2=");
        let line = start
            .iter()
            .find(|l| l.contains(&want))
            .unwrap_or_else(|| panic!("no {want:?}\n{log}"));
        assert!(line.ends_with(", LongParam=3"), "{line}");
        assert!(
            line.contains(&format!("[{a_pid}] <4> LtidProcCmd: ")),
            "{line}"
        );
        at += 1;
    }

    // VM_MQ_DEBUG off: the queue is quiet in the log from now on.
    w.m("hosta").mq_debug(false);
    let queue_lines = log.matches("LtidProcCmd: ").count();

    // A mount on hostc moves the scan host there and back.
    let (code, text) = w.m("hostc").vmoprcmd(&["-reserve", "drv0"]);
    assert_eq!(code, 0, "{text}");
    w.converge(&all, "scanhost=hostc reserved=hostc");
    let (code, text) = w.m("hostb").vmoprcmd(&["-reserve", "drv0"]);
    println!("hostb -reserve while hostc holds it: {code} {text}");
    assert_eq!(code, 1);
    assert!(text.contains("reserved by hostc"), "{text}");
    let (code, text) = w.m("hostc").vmoprcmd(&["-release", "drv0"]);
    assert_eq!(code, 0, "{text}");
    w.converge(&all, "scanhost=hosta reserved=-");
    let c_notes = w.m("hostc").notified();
    println!("hostc shared_drive_notify: {c_notes:?}");
    assert_eq!(
        c_notes,
        [
            "drv0 hostc RESERVED",
            "drv0 hostc ASSIGNED",
            "drv0 hosta RELEASED"
        ],
        "{}",
        w.report()
    );

    // DOWN on the scan host reaches both others and re-elects hostb.
    let b_scanhost = |w: &World| {
        w.m("hostb")
            .notified()
            .iter()
            .filter(|l| *l == "drv0 hostb SCANHOST")
            .count()
    };
    let before = b_scanhost(&w);
    let (code, text) = w.m("hosta").vmoprcmd(&["-down", "drv0"]);
    assert_eq!(code, 0, "{text}");
    w.converge(&["hostb", "hostc"], "  hosta DOWN path=ok");
    w.converge(&all, "scanhost=hostb");
    w.converge(&["hostb", "hostc"], "control=MIX");
    assert!(wait(WAIT, || b_scanhost(&w) > before), "{}", w.report());
    let (code, text) = w.m("hosta").vmoprcmd(&["-up", "drv0"]);
    assert_eq!(code, 0, "{text}");
    w.converge(&all, "scanhost=hosta");
    w.converge(&["hosta"], "DriveStatId shm_nattch = 3");
    let log = w.m("hosta").log();
    assert_eq!(
        log.matches("LtidProcCmd: ").count(),
        queue_lines,
        "queue lines logged without VM_MQ_DEBUG\n{log}"
    );

    // ltid stops on the scan host: each rdevmi ends as the seed shows, the
    // queue (logged again) gets Type 101, hostb is the next scan host.
    w.m("hosta").mq_debug(true);
    let rdevmi = children_named(a_pid, "rdevmi");
    assert_eq!(rdevmi.len(), 2, "{}", w.report());
    let before = b_scanhost(&w);
    w.stop("hosta");
    let log = w.m("hosta").log();
    println!("hosta's daemon log at its stop:\n{log}");
    let b = bodies(&log);
    for pid in &rdevmi {
        let seq = [
            "<2> rdevmi: in ltidtermsig",
            "<2> rdevmi: detach shared memory",
            "<2> rdevmi: DriveStatId shm_nattch = 3",
            "<2> rdevmi: rdevmi exiting since ltid has been stopped",
        ];
        let mut at = 0;
        for line in seq {
            let want = format!("[{pid}] {line}");
            at = find_from(&b, at, &want).unwrap_or_else(|| panic!("no {want:?}\n{log}"));
        }
        let want = format!("LtidProcCmd: Pid={pid}, Data.Pid={pid}, Type=101, Param1=1, Param2=");
        let stops = ltid_proc_cmd(&log, 101);
        let line = stops
            .iter()
            .find(|l| l.contains(&want))
            .unwrap_or_else(|| panic!("no {want:?}\n{log}"));
        // LongParam is the time of the stop.
        let when: u64 = line.rsplit("LongParam=").next().unwrap().parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(when) < 600, "{line}: not the time ({now})");
    }
    w.converge(&["hostb", "hostc"], "PEER hosta offline");
    w.converge(&["hostb", "hostc"], "scanhost=hostb");
    assert!(wait(WAIT, || b_scanhost(&w) > before), "{}", w.report());
    let b_pid = w
        .media
        .iter()
        .find(|m| m.name == "hostb")
        .unwrap()
        .pid
        .unwrap();
    assert!(
        wait(WAIT, || children_named(b_pid, "rdevmi").len() == 1),
        "hostb should serve hostc alone\n{}",
        w.report()
    );
    let b_notes = w.m("hostb").notified();
    println!("hostb notified: {b_notes:?}");
    assert_eq!(
        b_notes,
        ["drv0 hostb SCANHOST", "drv0 hostb SCANHOST"],
        "hostb became the scan host once per loss of hosta, no flapping\n{}",
        w.report()
    );

    // hosta comes back: it came online last now, so hostb stays the scan
    // host and serves both.
    w.start("hosta");
    w.converge(&all, "scanhost=hostb");
    assert!(
        wait(WAIT, || children_named(b_pid, "rdevmi").len() == 2),
        "{}",
        w.report()
    );
    // hostb's ltid dies without a word: its rdevmi processes see ltid
    // gone, tell their peers and exit; the next host to have come online
    // with a scan ability is hostc (before hosta's return).
    let orphans = children_named(b_pid, "rdevmi");
    let i = w.media.iter().position(|m| m.name == "hostb").unwrap();
    w.media[i].pid = None;
    let killed = w.lab.host_mut("hostb").sb.stop(b_pid, libc::SIGKILL);
    assert!(killed.is_some(), "hostb's ltid did not die");
    w.converge(&["hosta", "hostc"], "scanhost=hostc");
    assert!(
        wait(WAIT, || w
            .m("hostc")
            .notified()
            .contains(&"drv0 hostc SCANHOST".to_string())),
        "{}",
        w.report()
    );
    for pid in &orphans {
        assert!(
            wait(WAIT, || !Path::new(&format!("/proc/{pid}")).exists()),
            "rdevmi {pid} outlived its ltid"
        );
    }
    let log = w.m("hostb").log();
    assert!(
        log.contains("rdevmi: ltid went away without a stop; exiting"),
        "{log}"
    );
    w.stop("hosta");
    w.stop("hostc");
}

/// The pid of `name`'s ltid.
fn pid_of(w: &World, name: &str) -> u32 {
    w.media
        .iter()
        .find(|m| m.name == name)
        .unwrap()
        .pid
        .unwrap()
}

#[test]
fn the_arbiter_grants_a_drive_to_one_host_and_a_restarted_holder_keeps_it() {
    if !prereq::require(&Lab::NEEDS) {
        return;
    }
    let mut w = World::new(&[("hosta", 5), ("hostb", 1), ("hostc", 1)], &[]);
    let all = ["hosta", "hostb", "hostc"];
    w.start("hosta");
    w.converge(&["hosta"], "scanhost=hosta");
    w.start("hostb");
    w.start("hostc");
    w.converge(&all, "scanhost=hosta reserved=-");
    w.converge(&["hosta"], "DriveStatId shm_nattch = 3");

    // hostb and hostc reserve at once: hosta, the drive's arbiter (its
    // home scan host), grants exactly one and refuses the other, naming
    // the holder.
    let (mb, mc) = (w.m("hostb"), w.m("hostc"));
    let go = std::sync::Barrier::new(2);
    let (b, c) = std::thread::scope(|s| {
        let b = s.spawn(|| {
            go.wait();
            mb.vmoprcmd(&["-reserve", "drv0"])
        });
        let c = s.spawn(|| {
            go.wait();
            mc.vmoprcmd(&["-reserve", "drv0"])
        });
        (b.join().unwrap(), c.join().unwrap())
    });
    println!("at once: hostb {b:?}, hostc {c:?}");
    let (holder, other, refused) = match (b.0, c.0) {
        (0, 1) => ("hostb", "hostc", c.1),
        (1, 0) => ("hostc", "hostb", b.1),
        _ => panic!("not one OK and one refusal: {b:?} {c:?}\n{}", w.report()),
    };
    assert!(
        refused.contains(&format!("drv0 is reserved by {holder}")),
        "{refused}"
    );
    w.converge(&all, &format!("scanhost={holder} reserved={holder}"));
    let (code, text) = w.m(other).vmoprcmd(&["-reserve", "drv0"]);
    assert_eq!(
        (code, text.trim()),
        (1, &*format!("drv0 is reserved by {holder}"))
    );
    let log = w.m("hosta").log();
    assert_eq!(
        log.matches("arbiter: drv0: reserved for ").count(),
        1,
        "one grant\n{log}"
    );

    // The release lets the other reserve.
    let (code, text) = w.m(holder).vmoprcmd(&["-release", "drv0"]);
    assert_eq!(code, 0, "{text}");
    w.converge(&all, "scanhost=hosta reserved=-");
    let (code, text) = w.m(other).vmoprcmd(&["-reserve", "drv0"]);
    assert_eq!(
        (code, text.trim()),
        (0, &*format!("drv0 reserved by {other}"))
    );
    w.converge(&all, &format!("reserved={other}"));
    let file = w.m(other).volmgr().join("misc/ltid.reservations");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "statmon ltid reservations 1\ndrv0\n"
    );
    let released = w.m(holder).volmgr().join("misc/ltid.reservations");
    assert_eq!(
        std::fs::read_to_string(&released).unwrap(),
        "statmon ltid reservations 1\n"
    );

    // Its ltid restarts: it reads the reservation back, asks the arbiter
    // again and holds the drive; the former holder is still refused.
    w.stop(other);
    w.converge(&["hosta"], &format!("PEER {other} offline"));
    w.start(other);
    w.converge(&all, &format!("scanhost={other} reserved={other}"));
    w.converge(&[other], &format!("  {other} UP path=ok reserved"));
    let log = w.m(other).log();
    assert!(
        log.contains("reserve: drv0: held before the restart; asking its arbiter again"),
        "{log}"
    );
    let (code, text) = w.m(holder).vmoprcmd(&["-reserve", "drv0"]);
    assert_eq!(
        (code, text.trim()),
        (1, &*format!("drv0 is reserved by {other}"))
    );

    // The holder's ltid dies: the arbiter frees the drive at once, the
    // first holder takes it, and the dead one's reservation is lost when
    // it comes back (its file says so).
    let i = w.media.iter().position(|m| m.name == other).unwrap();
    let pid = w.media[i].pid.take().unwrap();
    assert!(w.lab.host_mut(other).sb.stop(pid, libc::SIGKILL).is_some());
    w.converge(&["hosta", holder], "scanhost=hosta reserved=-");
    let (code, text) = w.m(holder).vmoprcmd(&["-reserve", "drv0"]);
    assert_eq!(code, 0, "{text}\n{}", w.report());
    w.start(other);
    w.converge(&all, &format!("reserved={holder}"));
    assert!(
        wait(WAIT, || std::fs::read_to_string(&file)
            .is_ok_and(|t| t == "statmon ltid reservations 1\n")),
        "{}",
        w.report()
    );
    let log = w.m(other).log();
    assert!(
        log.contains(&format!(
            "reserve: drv0: held before the restart, now lost (hosta: drv0 is reserved by {holder})"
        )),
        "{log}"
    );
    let a_pid = pid_of(&w, "hosta");
    assert!(
        wait(WAIT, || children_named(a_pid, "rdevmi").len() == 2),
        "hosta serves both again\n{}",
        w.report()
    );
    w.stop("hosta");
    w.stop("hostb");
    w.stop("hostc");
}

#[test]
fn no_scan_ability_anywhere_leaves_the_drive_in_scan_mode() {
    if !prereq::require(&Lab::NEEDS) {
        return;
    }
    let mut w = World::new(&[("hosta", 0), ("hostb", 0)], &[]);
    w.start("hosta");
    w.start("hostb");
    w.converge(&["hosta"], "PEER hostb online");
    w.converge(&["hostb"], "PEER hosta online");
    w.converge(&["hosta", "hostb"], "control=SCAN-TLD scanhost=-");
    for m in &w.media {
        assert!(children_named(m.pid.unwrap(), "rdevmi").is_empty());
        assert!(m.notified().is_empty(), "{:?}", m.notified());
    }
    w.stop("hosta");
    w.stop("hostb");
}

/// Connects from inside `host`'s namespace to `to` and runs `f` there.
fn from_host<T: Send>(w: &World, host: &str, f: impl FnOnce() -> T + Send) -> T {
    let sb = &w.lab.host(host).sb;
    std::thread::scope(|s| {
        s.spawn(|| {
            sb.enter_net();
            f()
        })
        .join()
        .unwrap()
    })
}

/// Reads until the peer closes or `limit` passes; whether it closed (a
/// reset counts). Interrupted reads are retried.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(e) => {
                println!("read: {e} ({:?}): counted as closed", e.kind());
                return true;
            }
        }
    }
}

#[test]
fn hostile_peers_are_dropped_and_the_others_go_on() {
    if !prereq::require(&Lab::NEEDS) {
        return;
    }
    // hostb.lab (hostb's address, another name) is registered but runs no
    // ltid: the fake peer in hostb's namespace speaks for it.
    let mut w = World::new(&[("hosta", 5), ("hostb", 5)], &["hostb.lab"]);
    let a_pid = w.start("hosta");
    w.converge(&["hosta"], "scanhost=hosta");
    w.start("hostb");
    w.converge(&["hostb"], "scanhost=hosta");
    w.converge(&["hosta"], "DriveStatId shm_nattch = 2");
    let serving = children_named(a_pid, "rdevmi");
    assert_eq!(serving.len(), 1, "{}", w.report());
    let vmd = SocketAddr::new(w.lab.host("hosta").v4.into(), 13701);
    let frame = |cmd: u8, fields: &[u8]| {
        let mut f = ((fields.len() + 2) as u32).to_be_bytes().to_vec();
        f.extend_from_slice(&[1, cmd]);
        f.extend_from_slice(fields);
        f
    };
    let start_oprd = |host: &str| {
        let mut fields = (host.len() as u16).to_be_bytes().to_vec();
        fields.extend_from_slice(host.as_bytes());
        frame(52, &fields)
    };
    let limit = Duration::from_secs(10);
    let outcomes = from_host(&w, "hostb", || {
        let connect = || TcpStream::connect_timeout(&vmd, Duration::from_secs(5)).unwrap();
        let mut out = Vec::new();
        // Garbage.
        let mut s = connect();
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        out.push(("garbage", closed_within(&mut s, limit)));
        // A length beyond any frame.
        let mut s = connect();
        s.write_all(&[0x7f, 0xff, 0xff, 0xff, 1, 52]).unwrap();
        out.push(("huge length", closed_within(&mut s, limit)));
        // Stalling mid-message: dropped after three heartbeats.
        let mut s = connect();
        s.write_all(&start_oprd("hostc")[..5]).unwrap();
        out.push(("stall", closed_within(&mut s, limit)));
        // Disconnecting mid-message.
        let mut s = connect();
        s.write_all(&start_oprd("hostc")[..7]).unwrap();
        drop(s);
        // A stranger asking for an rdevmi.
        let mut s = connect();
        s.write_all(&start_oprd("mallory")).unwrap();
        out.push(("stranger", closed_within(&mut s, limit)));
        // Another protocol version.
        let mut s = connect();
        let mut v2 = start_oprd("hostc");
        v2[4] = 2;
        s.write_all(&v2).unwrap();
        out.push(("version 2", closed_within(&mut s, limit)));
        // A registered peer's rdevmi that gets garbage after INITIATING.
        let mut s = connect();
        s.write_all(&start_oprd("hostb.lab")).unwrap();
        s.set_read_timeout(Some(limit)).unwrap();
        let mut hello = [0u8; 10];
        s.read_exact(&mut hello).unwrap();
        out.push(("INITIATING", hello[4..6] == [1, 60]));
        s.write_all(&[0, 0, 0, 2, 9, 9]).unwrap();
        out.push(("rdevmi garbage", closed_within(&mut s, limit)));
        // One that never sends CONTINUE.
        let mut s = connect();
        s.write_all(&start_oprd("hostb.lab")).unwrap();
        out.push(("rdevmi stall", closed_within(&mut s, limit)));
        out
    });
    // hostb's name claimed from hosta's own address.
    let forged = from_host(&w, "hosta", || {
        let mut s = TcpStream::connect_timeout(&vmd, Duration::from_secs(5)).unwrap();
        s.write_all(&start_oprd("hostb")).unwrap();
        closed_within(&mut s, limit)
    });
    let mut outcomes = outcomes;
    outcomes.push(("forged claim", forged));
    println!("outcomes: {outcomes:?}");
    for (what, ok) in &outcomes {
        assert!(ok, "{what}\n{}", w.report());
    }
    // hostb's link was never disturbed (the same rdevmi serves it, through
    // seconds of quiet), and hosta still serves.
    assert!(
        wait(WAIT, || children_named(a_pid, "rdevmi") == serving),
        "{}",
        w.report()
    );
    w.converge(&["hostb"], "scanhost=hosta");
    w.converge(&["hosta"], "DriveStatId shm_nattch = 2");
    let (code, text) = w.m("hosta").vmoprcmd(&["-down", "drv0"]);
    assert_eq!(code, 0, "{text}");
    w.converge(&["hostb"], "  hosta DOWN");
    let log = w.m("hosta").log();
    for want in [
        "frame of 2147483647 bytes",
        "mallory is not a registered",
        "protocol version 2",
        "silent for 3 s",
        "START_OPRD from 10.77.0.1 claims hostb",
        "hostb.lab answers as hostb",
    ] {
        assert!(log.contains(want), "no {want:?} in\n{log}");
    }
    w.stop("hosta");
    w.stop("hostb");
}

#[test]
fn a_bad_vm_conf_is_named_and_ltid_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let volmgr = dir.path().join("usr/openv/volmgr");
    std::fs::create_dir_all(&volmgr).unwrap();
    let run = |args: &[&str]| {
        Command::new(STATMON)
            .args(args)
            .env("STATMON_ROOT", dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["ltid", "-f"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vm.conf"));
    std::fs::write(volmgr.join("vm.conf"), "SERVER = a\nSSO_SCAN_ABILITY = x\n").unwrap();
    let out = run(&["ltid", "-f"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("vm.conf:2: SSO_SCAN_ABILITY 'x'"), "{err}");
    let out = run(&["ltid", "-x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: ltid"));
    let out = run(&["vmoprcmd", "-frobnicate", "drv0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["vmoprcmd"]);
    assert_eq!(out.status.code(), Some(1), "no ltid runs");
    let out = run(&["rdevmi", "-r", "-p", "a"]);
    assert_eq!(out.status.code(), Some(2), "stdin is not a socket");
    assert!(Path::new(STATMON).exists());
}

#[test]
fn ltid_detaches_alone_and_shares_a_process_in_statmon_run() {
    use common::prereq::Need;
    use common::sandbox::Sandbox;
    if !prereq::require(&[Need::Sandbox]) {
        return;
    }
    let mut sb = Sandbox::new();
    let root = sb.dir.path().join("root");
    let volmgr = root.join("usr/openv/volmgr");
    std::fs::create_dir_all(volmgr.join("debug/daemon")).unwrap();
    std::fs::write(root.join("nst0"), "empty\n").unwrap();
    std::fs::write(
        volmgr.join("vm.conf"),
        format!(
            "SERVER = solo\nSSO_HOST_NAME = solo\nSHARED_DRIVE = drv0 path={} robot=TLD\n",
            root.join("nst0").display()
        ),
    )
    .unwrap();
    let media = Media {
        name: "solo".into(),
        root: root.clone(),
        pid: None,
    };
    // Alone: the parent exits 0 once the daemon serves.
    let out = sb
        .command(STATMON)
        .arg("ltid")
        .env("STATMON_ROOT", &root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid: i32 = std::fs::read_to_string(volmgr.join("misc/ltid.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let status = media.status();
    println!("detached ltid {pid}:\n{status}");
    assert!(
        status.contains("DRIVE drv0 control=TLD scanhost=solo"),
        "{status}"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert!(
        wait(WAIT, || !Path::new(&format!("/proc/{pid}")).exists()),
        "ltid {pid} did not stop"
    );
    assert!(media.log().contains("ltid: exiting"), "{}", media.log());
    // In statmon run.
    let mut cmd = sb.command(STATMON);
    cmd.args(["run", "ltid -f"]).env("STATMON_ROOT", &root);
    let pid = sb.spawn(cmd, "run.log");
    assert!(
        wait(WAIT, || media.vmoprcmd(&[]).0 == 0),
        "statmon run: no ltid\n{}",
        sb.log("run.log")
    );
    // Another user may look but not touch.
    if prereq::require(&[Need::Tool("setpriv")]) {
        let mut perms = std::fs::metadata(sb.dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(sb.dir.path(), perms).unwrap();
        let as_nobody = |args: &[&str]| {
            Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    STATMON,
                    "vmoprcmd",
                ])
                .args(args)
                .env("STATMON_ROOT", &root)
                .output()
                .unwrap()
        };
        let look = as_nobody(&[]);
        assert!(
            look.status.success(),
            "{}",
            String::from_utf8_lossy(&look.stderr)
        );
        assert!(String::from_utf8_lossy(&look.stdout).contains("DRIVE drv0 control=TLD"));
        let touch = as_nobody(&["-down", "drv0"]);
        let said = String::from_utf8_lossy(&touch.stdout);
        println!(
            "nobody: vmoprcmd -down drv0: {:?} {said}",
            touch.status.code()
        );
        assert_eq!(touch.status.code(), Some(1), "{said}");
        assert!(said.contains("from uid 65534 refused"), "{said}");
        assert!(media.status().contains("control=TLD scanhost=solo"));
    }
    let (code, text) = media.vmoprcmd(&["-down", "drv0"]);
    assert_eq!(code, 0, "{text}");
    assert!(media.status().contains("control=DOWN-TLD scanhost=-"));
    let status = sb.stop(pid, libc::SIGTERM);
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        sb.log("run.log")
    );
}
