//! vold's request path: arbitrary packets (each a u16 little-endian length
//! and that many bytes; the first input byte's bits choose the request or
//! the diagnostic rendezvous point for each packet) decoded and handed to
//! one engine over database copies in memory, enabled once. Never
//! panics; every reply encodes to a message that decodes again and
//! carries the request's sequence number.
//!
//! The copies live in memory ([`Files`]): the engine is I/O-free and
//! reaches its disks only through the `Store` trait, and a diagnostic
//! request may name a copy anywhere, so a fuzzer given real files would
//! scatter them over the host (the first campaign, over `FileStore`,
//! wrote some 850 into `/`). `FileStore` itself is tested in `cargo test`.
//!
//! The engine is kept between inputs and started afresh (new copies, the
//! same INIT) once it holds more than [`MAX_RECORDS`] records, has
//! committed [`MAX_GENERATIONS`] times or its copies hold more than
//! [`MAX_BYTES`]: every commit writes the whole
//! configuration, so an engine left to grow would make each input slower
//! than the last.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::vold::engine::{Engine, Paths, Portal};
use statmon::vold::store::Store;
use statmon::vold::wire::{Message, Opcode};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Records an engine may hold before it is started afresh.
const MAX_RECORDS: usize = 64;
/// Commits an engine may make before it is started afresh.
const MAX_GENERATIONS: u64 = 4096;
/// Bytes the copies may hold before the engine is started afresh.
const MAX_BYTES: usize = 32 << 20;
/// The largest file (a write past it fails as a full disk would).
const MAX_FILE: usize = 8 << 20;

/// Files as byte vectors: what a disk would hold, without one.
#[derive(Default)]
struct Files(HashMap<PathBuf, Vec<u8>>);

impl Files {
    fn bytes(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }
}

impl Store for Files {
    fn read_at(&mut self, path: &Path, at: u64, buf: &mut [u8]) -> io::Result<()> {
        let f = self.0.get(path).ok_or(io::ErrorKind::NotFound)?;
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = f.get(at.saturating_add(i)).copied().unwrap_or(0);
        }
        Ok(())
    }
    fn write_at(&mut self, path: &Path, at: u64, data: &[u8]) -> io::Result<()> {
        let at = usize::try_from(at).map_err(|_| io::ErrorKind::InvalidInput)?;
        let end = at.checked_add(data.len()).ok_or(io::ErrorKind::InvalidInput)?;
        if end > MAX_FILE {
            // A disk is not endless either.
            return Err(io::ErrorKind::StorageFull.into());
        }
        let f = self.0.entry(path.to_path_buf()).or_default();
        if f.len() < end {
            f.resize(end, 0);
        }
        f[at..end].copy_from_slice(data);
        Ok(())
    }
    fn sync(&mut self, _: &Path) -> io::Result<()> {
        Ok(())
    }
    fn read_file(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        Ok(self.0.get(path).cloned())
    }
    fn replace_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.0.insert(path.to_path_buf(), data.to_vec());
        Ok(())
    }
    fn remove_file(&mut self, path: &Path) -> io::Result<()> {
        self.0.remove(path);
        Ok(())
    }
    fn exists(&mut self, path: &Path) -> io::Result<bool> {
        Ok(self.0.contains_key(path))
    }
}

/// An enabled engine over two fresh copies.
fn fresh() -> Engine<Files> {
    let paths = Paths { voldesc: "/etc/voldesc".into(), kernel: "/run/kernel.db".into() };
    let mut e = Engine::new(Files::default(), paths);
    let init = format!(
        "configid={}\n/d/db0,0,256\n/d/db1,0,256",
        "5a".repeat(16)
    );
    let (m, _) = e.handle(0, Portal::Diag, &Message::new(Opcode::INIT, 1, init));
    assert_eq!(m.opcode, Opcode::OK, "{}", m.body);
    let _ = e.enable();
    e
}

static ENGINE: Mutex<Option<Engine<Files>>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let Some((&portals, mut rest)) = data.split_first() else { return };
    let mut slot = ENGINE.lock().unwrap_or_else(|p| p.into_inner());
    let e = slot.get_or_insert_with(fresh);
    let mut i = 0u32;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (packet, tail) = rest[2..].split_at(len);
        rest = tail;
        let portal = if portals >> (i % 8) & 1 == 1 { Portal::Diag } else { Portal::Request };
        i += 1;
        let reply = match Message::decode(packet) {
            Ok(msg) => {
                if msg.opcode == Opcode::HALT || msg.opcode == Opcode::INIT {
                    continue;
                }
                let (reply, _) = e.handle(u64::from(i % 3), portal, &msg);
                assert_eq!(reply.seq, msg.seq);
                reply
            }
            Err(_) => continue,
        };
        let back = Message::decode(&reply.encode()).expect("a reply decodes");
        assert_eq!(back.opcode, reply.opcode);
    }
    e.closed(0);
    e.closed(1);
    e.closed(2);
    if e.config().len() > MAX_RECORDS
        || e.gen() > MAX_GENERATIONS
        || e.store_mut().bytes() > MAX_BYTES
    {
        *slot = None;
    }
});
