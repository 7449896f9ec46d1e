//! Replays the request/reply pairs captured from the reference rpc.statd
//! (`compat/vectors/statd/*.txt`, written by `tests/compat_vectors_capture.rs`)
//! against statmon's RPC server and NSM core in-process: no daemon, no
//! socket, no sandbox. Store jobs run on a real `NfsUtilsStore` in a
//! temporary directory; name lookups are answered from the capture
//! sandbox's /etc/hosts.
//!
//! The vectors run in file order against one server and core, as they were
//! sent to the reference. Each reply must equal the reference's byte for
//! byte, except the ranges a vector marks as the local state, which must
//! hold statmon's own state (KNOWN-DIFFS N16). A vector that names a
//! KNOWN-DIFFS row must instead get its `statmon-reply`. Anything else is an
//! unexplained divergence and fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::vectors::{hex, Got};
use statmon::rpc::{
    frame, Caller, Outcome, RecordReader, ReplyTo, RpcServer, ServerConfig, Transport,
};
use statmon::service::endpoint::MAX_RECORD;
use statmon::statd::core::{NsmCore, Output, StoreDone, StoreJob};
use statmon::statd::store::{BootInfo, NfsUtilsStore, Store};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One vector file.
#[derive(Debug)]
struct Vector {
    file: String,
    tcp: bool,
    caller: SocketAddr,
    request: Vec<u8>,
    reply: Got,
    state: Vec<(usize, usize)>,
    known: Option<String>,
    statmon_reply: Option<Got>,
    statmon_state: Vec<(usize, usize)>,
}

fn ranges(value: &str) -> Vec<(usize, usize)> {
    if value == "none" {
        return Vec::new();
    }
    value
        .split(',')
        .map(|r| {
            let (a, b) = r.trim().split_once("..").unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

/// Parses `key: value` lines; a key with an empty value owns the indented
/// hex lines after it. `#` lines are comments.
fn parse(path: &Path) -> Vector {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fields: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let last = fields.last_mut().expect("hex block without a key");
            last.2.push_str(line);
            last.2.push('\n');
            continue;
        }
        let (k, v) = line.split_once(':').expect("key: value");
        fields.push((k.to_string(), v.trim().to_string(), String::new()));
    }
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, b)| (v.as_str(), b.as_str()))
    };
    let need = |key: &str| field(key).unwrap_or_else(|| panic!("{}: no {key}", path.display()));
    let (reply_v, reply_b) = need("reply");
    Vector {
        file: path.file_name().unwrap().to_string_lossy().into_owned(),
        tcp: match need("transport").0 {
            "udp" => false,
            "tcp" => true,
            other => panic!("transport {other}"),
        },
        caller: need("caller").0.parse().unwrap(),
        request: hex(need("request").1),
        reply: Got::parse(reply_v, reply_b),
        state: ranges(need("state").0),
        known: field("known").map(|(v, _)| v.to_string()),
        statmon_reply: field("statmon-reply").map(|(v, b)| Got::parse(v, b)),
        statmon_state: field("statmon-state").map_or(Vec::new(), |(v, _)| ranges(v)),
    }
}

/// The capture sandbox's /etc/hosts.
fn lookup(name: &[u8]) -> Option<Vec<IpAddr>> {
    let addrs: &[&str] = match name {
        b"localhost" => &["127.0.0.1", "::1"],
        b"peerhost" => &["127.0.0.20"],
        b"otherhost" | b"otherhost.lab" => &["127.0.0.21"],
        other => {
            let literal = std::str::from_utf8(other).ok()?.parse::<IpAddr>().ok()?;
            return Some(vec![literal]);
        }
    };
    Some(addrs.iter().map(|a| a.parse().unwrap()).collect())
}

/// statmon's server, core and store, driven by hand.
struct Statmon {
    server: RpcServer,
    core: NsmCore,
    store: NfsUtilsStore,
    now: Instant,
    callbacks: usize,
    _dir: tempfile::TempDir,
}

impl Statmon {
    fn new() -> Statmon {
        let dir = tempfile::tempdir().unwrap();
        let mut store = NfsUtilsStore::open(dir.path());
        let boot = BootInfo {
            boot_id: Some(b"golden-vectors".to_vec()),
            now_unix_secs: 1_750_000_000,
        };
        let loaded = store.load(&boot).unwrap();
        Statmon {
            server: RpcServer::new(ServerConfig::default()),
            core: NsmCore::new(loaded.state, &loaded.hosts),
            store,
            now: Instant::now(),
            callbacks: 0,
            _dir: dir,
        }
    }

    /// Runs store jobs and lookups until the core is idle; returns the
    /// deferred replies completed meanwhile.
    fn drive(&mut self) -> Vec<(ReplyTo, Vec<u8>)> {
        let mut done = Vec::new();
        loop {
            let mut busy = false;
            while let Some(job) = self.core.poll_store_job() {
                busy = true;
                let result = match job {
                    StoreJob::Commit(changes) => {
                        StoreDone::Committed(self.store.commit(&changes).map_err(|e| e.to_string()))
                    }
                    StoreJob::Reboot(_) => StoreDone::Rebooted(
                        self.store
                            .begin_reboot(None)
                            .map(|state| {
                                let hosts = self
                                    .store
                                    .hosts()
                                    .into_iter()
                                    .filter(|h| h.needs_notify)
                                    .collect();
                                (state, hosts)
                            })
                            .map_err(|e| e.to_string()),
                    ),
                };
                self.core.store_done(result);
            }
            while let Some(out) = self.core.poll_output() {
                busy = true;
                match out {
                    Output::Reply(to, d) => {
                        if let Some((_, reply)) = self.server.complete(self.now, to, d) {
                            done.push((to, reply));
                        }
                    }
                    Output::Resolve(id, name) => self.core.resolved(id, lookup(&name)),
                    Output::Callback(_) => self.callbacks += 1,
                    Output::Callout(_) | Output::StateChanged(_) | Output::Rebooted(_) => {}
                }
            }
            if !busy {
                return done;
            }
        }
    }

    /// One message through the server; its reply, if any, once the core
    /// has finished with it.
    fn message(&mut self, caller: Caller, msg: &[u8]) -> Option<Vec<u8>> {
        let outcome = self
            .server
            .handle(self.now, caller, msg, &mut [&mut self.core]);
        let done = self.drive();
        match outcome {
            Outcome::Reply(r) => Some(r),
            Outcome::Drop => None,
            Outcome::Deferred(token) => {
                let reply = done.into_iter().find(|(t, _)| *t == token).map(|(_, r)| r);
                assert!(reply.is_some(), "deferred call {token:?} never completed");
                reply
            }
        }
    }

    fn exchange(&mut self, v: &Vector) -> Got {
        self.now += Duration::from_secs(1);
        let caller = Caller {
            addr: v.caller,
            transport: if v.tcp {
                Transport::Tcp
            } else {
                Transport::Udp
            },
        };
        if !v.tcp {
            return self
                .message(caller, &v.request)
                .map_or(Got::Nothing, Got::Reply);
        }
        // A connection's bytes, as the endpoint handles them.
        let mut records = RecordReader::new(MAX_RECORD);
        records.push(&v.request);
        let mut stream = Vec::new();
        let mut closed = false;
        while let Some(record) = records.poll_record() {
            match record {
                Ok(msg) => {
                    if let Some(r) = self.message(caller, &msg) {
                        stream.extend(frame(&r));
                    }
                }
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        Got::from_stream(stream, closed)
    }
}

/// `expected` with its state ranges set to `state`.
fn masked(expected: &Got, ranges: &[(usize, usize)], state: i32) -> Got {
    match expected {
        Got::Reply(bytes) => {
            let mut b = bytes.clone();
            for &(from, to) in ranges {
                assert_eq!(to - from, 4, "a state range is one XDR int");
                b[from..to].copy_from_slice(&state.to_be_bytes());
            }
            Got::Reply(b)
        }
        other => other.clone(),
    }
}

fn show(g: &Got) -> String {
    match g {
        Got::Reply(b) => b
            .chunks(4)
            .map(|w| w.iter().map(|x| format!("{x:02x}")).collect::<String>())
            .collect::<Vec<_>>()
            .join(" "),
        other => format!("{other:?}"),
    }
}

fn vector_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/vectors/statd");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
}

/// The row ids (`R1`, `N16`...) of `compat/KNOWN-DIFFS.md`.
fn known_diff_rows() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/KNOWN-DIFFS.md");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.strip_prefix("| ")?
                .split_once(' ')
                .map(|(id, _)| id.to_string())
        })
        .filter(|id| {
            id.len() > 1
                && id.starts_with(['R', 'N'])
                && id[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .collect()
}

#[test]
fn statmon_answers_the_reference_vectors() {
    let files = vector_files();
    assert!(!files.is_empty(), "no vectors in compat/vectors/statd");
    let rows = known_diff_rows();
    let mut statmon = Statmon::new();
    let (mut identical, mut known, mut unexplained) = (0, 0, Vec::new());
    let mut ids = BTreeSet::new();
    for path in &files {
        let v = parse(path);
        let got = statmon.exchange(&v);
        let state = statmon.core.state();
        let reference = masked(&v.reply, &v.state, state);
        match (&v.known, &v.statmon_reply) {
            (None, None) if got == reference => identical += 1,
            (Some(id), Some(expected)) => {
                let expected = masked(expected, &v.statmon_state, state);
                if !rows.contains(id) {
                    unexplained.push(format!(
                        "{}: {id} is no row of compat/KNOWN-DIFFS.md",
                        v.file
                    ));
                } else if got != expected {
                    unexplained.push(format!(
                        "{}: {id} says statmon answers\n    {}\n  but it answered\n    {}",
                        v.file,
                        show(&expected),
                        show(&got)
                    ));
                } else if got == reference {
                    identical += 1;
                } else {
                    known += 1;
                    ids.insert(id.clone());
                    println!("{}: known difference {id}", v.file);
                }
            }
            (None, None) => unexplained.push(format!(
                "{}: the reference answered\n    {}\n  statmon answered\n    {}",
                v.file,
                show(&reference),
                show(&got)
            )),
            _ => panic!("{}: `known` and `statmon-reply` go together", v.file),
        }
    }
    for u in &unexplained {
        println!("UNEXPLAINED {u}");
    }
    println!(
        "golden vectors: lock manager callbacks issued along the way: {}",
        statmon.callbacks
    );
    println!(
        "golden vectors: {} replayed, {identical} identical, {known} known differences ({}), {} unexplained",
        files.len(),
        ids.into_iter().collect::<Vec<_>>().join(", "),
        unexplained.len()
    );
    assert!(
        unexplained.is_empty(),
        "unexplained divergences from the reference, see above"
    );
}
