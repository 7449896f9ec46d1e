//! The durable floor: the least file-system work the SM_MON/SM_UNMON
//! durability contract needs, with no daemon around it. A UDP responder
//! (one thread) takes the calls that arrive together as one group commit
//! in the nfs-utils layout and answers them only after it:
//!
//! - SM_MON: the record line (`format_line`) written into a spare file (a
//!   file an earlier SM_UNMON left, else a new `.tmp-N`), one `syncfs` for
//!   all of them, each renamed to `sm/<mon_name>`;
//! - SM_UNMON: `sm/<mon_name>` renamed to a spare (at most 256 kept, past
//!   that unlinked);
//! - one `fsync` of `sm/` for the whole group.
//!
//! That is statmon's protocol (write temp, fsync, rename, fsync directory;
//! spare files reused) minus everything else: no RPC library, no monitor
//! list, no store thread. Every call gets the floor's canned reply
//! ([`Canned`]); other procedures touch no file. A load against it measures what this disk
//! allows for durable SM_MON+SM_UNMON at a given concurrency.
//!
//! It runs in a process of its own (the bench binary started again with
//! `--floor durable ADDR DIR`, [`crate::daemons::start_floor`]).

use crate::floor::Canned;
use statmon::proto::sm_inter::{Mon, MonId, SmProc};
use statmon::rpc::message::{decode_call, CallDecode};
use statmon::statd::record::Registration;
use statmon::statd::store::nfsutils::format::format_line;
use statmon::xdr::Xdr;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Most spare files kept, as statmon.
const MAX_SPARES: usize = 256;
/// Most calls taken into one group.
const MAX_GROUP: usize = 4096;

/// Serves UDP `addr` for ever, keeping its records under `dir/sm`;
/// returns only if the socket or the directory cannot be opened.
pub(crate) fn serve_forever(addr: SocketAddr, dir: &Path) -> io::Error {
    let sm = dir.join("sm");
    let opened = UdpSocket::bind(addr)
        .and_then(|sock| fs::create_dir_all(&sm).map(|()| sock))
        .and_then(|sock| Records::open(sm).map(|store| (sock, store)));
    match opened {
        Ok((sock, mut store)) => {
            serve(&sock, &mut store);
            io::Error::other("UDP socket failed")
        }
        Err(e) => e,
    }
}

fn serve(sock: &UdpSocket, store: &mut Records) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut group = Vec::new();
        if sock.set_nonblocking(false).is_err() {
            return;
        }
        if let Ok((len, from)) = sock.recv_from(&mut buf) {
            group.push((buf.get(..len).unwrap_or(&[]).to_vec(), from));
        }
        if sock.set_nonblocking(true).is_err() {
            return;
        }
        while group.len() < MAX_GROUP {
            match sock.recv_from(&mut buf) {
                Ok((len, from)) => group.push((buf.get(..len).unwrap_or(&[]).to_vec(), from)),
                Err(_) => break,
            }
        }
        let calls: Vec<&[u8]> = group.iter().map(|(c, _)| c.as_slice()).collect();
        let replies = match store.commit(&calls) {
            Ok(replies) => replies,
            Err(e) => {
                eprintln!("durable floor: {e}");
                continue;
            }
        };
        for ((_, from), reply) in group.iter().zip(replies) {
            if let Some(reply) = reply {
                let _ = sock.send_to(&reply, from);
            }
        }
    }
}

/// The record directory and its spare files.
struct Records {
    sm: PathBuf,
    dir: File,
    /// Spare files and their lengths.
    spares: Vec<(PathBuf, u64)>,
    /// The lengths of the record files in place.
    live: HashMap<PathBuf, u64>,
    next: u64,
    canned: Canned,
}

/// What one call asks of the directory.
enum Op {
    Write(String, Vec<u8>),
    Remove(String),
    Nothing,
}

impl Records {
    fn open(sm: PathBuf) -> io::Result<Records> {
        Ok(Records {
            dir: File::open(&sm)?,
            sm,
            spares: Vec::new(),
            live: HashMap::new(),
            next: 0,
            canned: Canned::new(),
        })
    }

    fn fresh_name(&mut self, what: &str) -> PathBuf {
        self.next += 1;
        self.sm.join(format!(".{what}-{}", self.next))
    }

    /// Makes every SM_MON and SM_UNMON of `calls` durable; returns the
    /// reply to each call (`None` for what cannot be answered).
    fn commit(&mut self, calls: &[&[u8]]) -> io::Result<Vec<Option<Vec<u8>>>> {
        let mut replies = Vec::with_capacity(calls.len());
        let mut writes: Vec<(File, PathBuf, PathBuf)> = Vec::new();
        let mut removes = Vec::new();
        for call in calls {
            let mut reply = Vec::new();
            let answered = self.canned.answer(call, &mut reply);
            replies.push(answered.then_some(reply));
            let CallDecode::Call(head) = decode_call(call) else {
                continue;
            };
            match classify(head.proc, head.args) {
                Op::Write(name, line) => {
                    let (file, temp, old_len) = self.spare()?;
                    file.write_all_at(&line, 0)?;
                    let len = line.len() as u64;
                    if old_len > len {
                        file.set_len(len)?;
                    }
                    let target = self.sm.join(name);
                    self.live.insert(target.clone(), len);
                    writes.push((file, temp, target));
                }
                Op::Remove(name) => removes.push(self.sm.join(name)),
                Op::Nothing => {}
            }
        }
        if let Some((first, _, _)) = writes.first() {
            rustix::fs::syncfs(first)?;
        }
        let changed = !writes.is_empty() || !removes.is_empty();
        for (file, temp, target) in writes {
            drop(file);
            fs::rename(temp, target)?;
        }
        for target in removes {
            let len = self.live.remove(&target).unwrap_or(u64::MAX);
            if self.spares.len() < MAX_SPARES {
                let spare = self.fresh_name("spare");
                match fs::rename(&target, &spare) {
                    Ok(()) => self.spares.push((spare, len)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            } else {
                match fs::remove_file(&target) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        if changed {
            self.dir.sync_all()?;
        }
        Ok(replies)
    }

    /// A spare (or new temporary) file open for writing, and its length.
    fn spare(&mut self) -> io::Result<(File, PathBuf, u64)> {
        let (path, len) = match self.spares.pop() {
            Some(spare) => spare,
            None => (self.fresh_name("tmp"), 0),
        };
        // A spare keeps its block: written over, cut only if shorter.
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        Ok((file, path, len))
    }
}

/// The directory operation of one call.
fn classify(proc: u32, args: &[u8]) -> Op {
    match SmProc(proc) {
        SmProc::MON => match Mon::from_xdr(args) {
            Ok(mon) => {
                let reg = Registration::from_mon(&mon);
                let name = String::from_utf8_lossy(&reg.mon_name).to_ascii_lowercase();
                Op::Write(name, format_line(&reg))
            }
            Err(_) => Op::Nothing,
        },
        SmProc::UNMON => match MonId::from_xdr(args) {
            Ok(id) => {
                Op::Remove(String::from_utf8_lossy(id.mon_name.as_bytes()).to_ascii_lowercase())
            }
            Err(_) => Op::Nothing,
        },
        _ => Op::Nothing,
    }
}
