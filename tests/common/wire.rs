//! Wire checks for the integration tests: capture a run with `dumpcap`
//! inside a sandbox, then decode the file with `tshark` and look for
//! malformed or undecodable RPC.
//!
//! A [`Capture`] is started inside the sandbox before the daemons and
//! returns once dumpcap has written its file header (so the interfaces are
//! open and nothing sent afterwards is missed); [`Capture::stop`] stops it by
//! pid with SIGINT. [`analyse`] reads the file (outside the sandbox, names
//! never resolved) with decode-as rules making every given non-standard port
//! RPC, and reports:
//! - every frame matching [`BAD_FILTER`] (a malformed packet or an expert
//!   item of severity error),
//! - every UDP datagram to or from a given port that tshark does not decode
//!   as RPC, and every TCP segment with payload on such a port that is
//!   neither RPC nor part of a reassembled RPC record,
//! - counts of RPC messages per program, version, procedure and message
//!   type (replies carry the program of the call tshark matched them to).
//!
//! Callers check [`NEEDS`] with `prereq::require` before capturing.

use super::prereq::Need;
use super::sandbox::Sandbox;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The display filter for broken frames. tshark 4.0 (Debian 12) accepts the
/// value-string name `error` for `_ws.expert.severity`.
pub const BAD_FILTER: &str = "_ws.malformed || _ws.expert.severity >= error";

/// What captures need (see [`super::prereq::require`]).
pub const NEEDS: [Need; 3] = [Need::Root, Need::Tool("dumpcap"), Need::Tool("tshark")];

/// A running dumpcap inside a sandbox.
#[derive(Debug)]
pub struct Capture {
    pid: u32,
    file: PathBuf,
    log: String,
}

impl Capture {
    /// Starts `dumpcap` on `ifaces` (UDP and TCP only) inside `sb`, writing
    /// `<sb dir>/<name>.pcapng`, and waits (up to 10 s) until the file has
    /// its header. Panics, with dumpcap's log, if it does not.
    pub fn start(sb: &mut Sandbox, name: &str, ifaces: &[&str]) -> Capture {
        let file = sb.dir.path().join(format!("{name}.pcapng"));
        let log = format!("{name}-dumpcap.log");
        let mut cmd = sb.command("dumpcap");
        // A filter given before the interfaces applies to all of them.
        cmd.args(["-q", "-f", "udp or tcp"]);
        for i in ifaces {
            cmd.args(["-i", i]);
        }
        cmd.arg("-w").arg(&file);
        let pid = sb.spawn(cmd, &log);
        let started = sb.wait_until(10, || std::fs::metadata(&file).is_ok_and(|m| m.len() > 0));
        assert!(started, "dumpcap did not start: {}", sb.log(&log));
        Capture { pid, file, log }
    }

    /// The capture file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Lets the last packets in (200 ms), stops dumpcap with SIGINT and
    /// returns the file. Panics if dumpcap does not exit.
    pub fn stop(self, sb: &mut Sandbox) -> PathBuf {
        std::thread::sleep(Duration::from_millis(200));
        let status = sb.stop(self.pid, libc::SIGINT);
        assert!(
            status.is_some(),
            "dumpcap did not stop: {}",
            sb.log(&self.log)
        );
        self.file
    }
}

/// Ports whose traffic tshark is told to decode as RPC (`-d
/// udp.port==N,rpc`, `-d tcp.port==N,rpc`), and which must carry only RPC.
#[derive(Debug, Clone, Default)]
pub struct RpcPorts {
    pub udp: Vec<u16>,
    pub tcp: Vec<u16>,
}

impl RpcPorts {
    /// The same ports on UDP and TCP.
    pub fn both(ports: &[u16]) -> RpcPorts {
        RpcPorts {
            udp: ports.to_vec(),
            tcp: ports.to_vec(),
        }
    }

    fn decode_as(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (proto, ports) in [("udp", &self.udp), ("tcp", &self.tcp)] {
            for p in ports {
                v.push("-d".into());
                v.push(format!("{proto}.port=={p},rpc"));
            }
        }
        v
    }
}

/// What [`analyse`] found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Frames in the file.
    pub frames: usize,
    /// Frames holding at least one RPC message.
    pub rpc_frames: usize,
    /// One-line summaries of frames matching [`BAD_FILTER`].
    pub bad: Vec<String>,
    /// One-line summaries of datagrams/segments on the RPC ports that did
    /// not decode as RPC.
    pub undecoded: Vec<String>,
    /// RPC messages by `"PROGRAM vN PROCEDURE call|reply"`.
    pub counts: BTreeMap<String, usize>,
}

impl Report {
    /// Messages whose key starts with `prefix` (e.g. `"NSM v1 NOTIFY call"`
    /// or `"NLM "`).
    pub fn count(&self, prefix: &str) -> usize {
        self.counts
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Prints the totals and one line per key, each prefixed by `label`.
    pub fn print(&self, label: &str) {
        println!(
            "{label}: wire: {} frames, {} with RPC, {} malformed/error, {} undecoded",
            self.frames,
            self.rpc_frames,
            self.bad.len(),
            self.undecoded.len()
        );
        for (k, n) in &self.counts {
            println!("{label}: wire: {n:5} {k}");
        }
    }

    /// Panics (listing the offending frames) unless nothing was malformed,
    /// flagged as an error or undecoded.
    pub fn assert_clean(&self, label: &str) {
        assert!(
            self.bad.is_empty() && self.undecoded.is_empty(),
            "{label}: broken frames in the capture\nmalformed/error:\n{}\nnot RPC:\n{}",
            self.bad.join("\n"),
            self.undecoded.join("\n")
        );
    }
}

/// Runs `tshark -n -r FILE` with the decode-as rules of `ports` and ARGS;
/// returns stdout lines. Panics with tshark's stderr if it fails.
fn tshark(file: &Path, ports: &RpcPorts, args: &[&str]) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args(ports.decode_as())
        .args(args)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `{a b c}` set text for a display filter.
fn set(ports: &[u16]) -> String {
    let v: Vec<String> = ports.iter().map(u16::to_string).collect();
    format!("{{{}}}", v.join(", "))
}

/// Decodes `file` and checks it; see the module documentation.
pub fn analyse(file: &Path, ports: &RpcPorts) -> Report {
    let frames = tshark(file, ports, &["-T", "fields", "-e", "frame.number"]).len();
    let bad = tshark(file, ports, &["-Y", BAD_FILTER]);
    let mut not_rpc = Vec::new();
    if !ports.udp.is_empty() {
        not_rpc.push(format!("(udp.port in {} && !rpc)", set(&ports.udp)));
    }
    if !ports.tcp.is_empty() {
        not_rpc.push(format!(
            "(tcp.port in {} && tcp.len > 0 && !rpc && !tcp.reassembled_in)",
            set(&ports.tcp)
        ));
    }
    let undecoded = if not_rpc.is_empty() {
        Vec::new()
    } else {
        tshark(file, ports, &["-Y", &not_rpc.join(" || ")])
    };
    let rows = tshark(
        file,
        ports,
        &[
            "-Y",
            "rpc",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
            "-e",
            "rpc.msgtyp",
            "-e",
            "rpc.program",
            "-e",
            "rpc.programversion",
            "-e",
            "rpc.procedure",
        ],
    );
    let mut counts = BTreeMap::new();
    for row in &rows {
        let cols: Vec<Vec<&str>> = row
            .split('\t')
            .map(|c| c.split(',').filter(|s| !s.is_empty()).collect())
            .collect();
        let col = |i: usize, j: usize| cols.get(i).and_then(|c| c.get(j)).copied();
        let messages = cols.first().map_or(0, Vec::len);
        for j in 0..messages {
            let key = message_key(col(0, j), col(1, j), col(2, j), col(3, j));
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    Report {
        frames,
        rpc_frames: rows.len(),
        bad,
        undecoded,
        counts,
    }
}

/// `"NSM v1 NOTIFY call"` from the tshark field values (numbers).
fn message_key(
    msgtyp: Option<&str>,
    prog: Option<&str>,
    vers: Option<&str>,
    procedure: Option<&str>,
) -> String {
    let num = |s: Option<&str>| s.and_then(|s| s.parse::<u32>().ok());
    let kind = match num(msgtyp) {
        Some(0) => "call",
        Some(1) => "reply",
        _ => "msgtyp?",
    };
    let (prog, vers, procedure) = (num(prog), num(vers), num(procedure));
    let prog_name = match prog {
        Some(100_000) if vers == Some(2) => "PMAP".to_string(),
        Some(100_000) => "RPCB".to_string(),
        Some(100_024) => "NSM".to_string(),
        Some(100_021) => "NLM".to_string(),
        Some(p) => p.to_string(),
        None => "unmatched".to_string(),
    };
    let proc_name = procedure.map_or("?".to_string(), |p| {
        procedure_name(prog, vers, p).map_or(p.to_string(), str::to_string)
    });
    let vers = vers.map_or("?".to_string(), |v| v.to_string());
    format!("{prog_name} v{vers} {proc_name} {kind}")
}

/// Names of the procedures these tests exchange.
fn procedure_name(prog: Option<u32>, vers: Option<u32>, p: u32) -> Option<&'static str> {
    const NSM: [&str; 7] = [
        "NULL",
        "STAT",
        "MON",
        "UNMON",
        "UNMON_ALL",
        "SIMU_CRASH",
        "NOTIFY",
    ];
    const PMAP2: [&str; 6] = ["NULL", "SET", "UNSET", "GETPORT", "DUMP", "CALLIT"];
    const RPCB: [&str; 13] = [
        "NULL",
        "SET",
        "UNSET",
        "GETADDR",
        "DUMP",
        "CALLIT",
        "GETTIME",
        "UADDR2TADDR",
        "TADDR2UADDR",
        "GETVERSADDR",
        "INDIRECT",
        "GETADDRLIST",
        "GETSTAT",
    ];
    let i = p as usize;
    match (prog?, vers?) {
        (100_024, _) => NSM.get(i).copied(),
        (100_000, 2) => PMAP2.get(i).copied(),
        (100_000, _) => RPCB.get(i).copied(),
        (100_021, _) => match p {
            0 => Some("NULL"),
            16 => Some("NSM_NOTIFY"),
            _ => None,
        },
        _ => None,
    }
}
