//! vold's request path: arbitrary packets (each a u16 little-endian length
//! and that many bytes; the first input byte's bits choose the request or
//! the diagnostic rendezvous point for each packet) decoded and handed to
//! one engine over database copies in a temporary directory, enabled
//! once. Never panics; every reply encodes to a message that decodes
//! again, carries the request's sequence number, and a malformed packet
//! gets an ERROR reply.
//!
//! Every path the engine touches is kept inside the temporary directory
//! ([`Jail`]): a diagnostic request may name a database copy anywhere, and
//! a fuzzer left to write those would scatter files over the host (the
//! first campaign wrote some 850 into `/`).
//!
//! The engine is kept between inputs and started afresh (new copies, the
//! same INIT) once it holds more than [`MAX_RECORDS`] records or has
//! committed [`MAX_GENERATIONS`] times: every commit writes the whole
//! configuration, so an engine left to grow makes each input slower than
//! the last (the first campaign fell from 2,500 to a few hundred
//! executions a second).
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::vold::engine::{Engine, Paths, Portal};
use statmon::vold::store::{FileStore, Point, Store};
use statmon::vold::wire::{Message, Opcode};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Records an engine may hold before it is started afresh.
const MAX_RECORDS: usize = 64;
/// Commits an engine may make before it is started afresh.
const MAX_GENERATIONS: u64 = 4096;

/// The directory the copies live in: on a tmpfs when there is one, since
/// every commit syncs.
fn dir() -> PathBuf {
    let tmp = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    tmp.join(format!("vold-fuzz-{}", std::process::id()))
}

/// The real store, with every path outside `root` moved into
/// `root/jail/` under a name that spells the whole path (`/` as `%`).
struct Jail {
    root: PathBuf,
    files: FileStore,
}

impl Jail {
    fn place(&self, path: &Path) -> PathBuf {
        if path.starts_with(&self.root) && !path.components().any(|c| c.as_os_str() == "..") {
            return path.to_path_buf();
        }
        let name = path.to_string_lossy().replace('/', "%");
        self.root.join("jail").join(if name.is_empty() { "%".into() } else { name })
    }
}

impl Store for Jail {
    fn read_at(&mut self, path: &Path, at: u64, buf: &mut [u8]) -> io::Result<()> {
        let p = self.place(path);
        self.files.read_at(&p, at, buf)
    }
    fn write_at(&mut self, path: &Path, at: u64, data: &[u8]) -> io::Result<()> {
        let p = self.place(path);
        self.files.write_at(&p, at, data)
    }
    fn sync(&mut self, path: &Path) -> io::Result<()> {
        let p = self.place(path);
        self.files.sync(&p)
    }
    fn read_file(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let p = self.place(path);
        self.files.read_file(&p)
    }
    fn replace_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()> {
        let p = self.place(path);
        self.files.replace_file(&p, data)
    }
    fn remove_file(&mut self, path: &Path) -> io::Result<()> {
        let p = self.place(path);
        self.files.remove_file(&p)
    }
    fn exists(&mut self, path: &Path) -> io::Result<bool> {
        let p = self.place(path);
        self.files.exists(&p)
    }
    fn reached(&mut self, point: Point) {
        self.files.reached(point)
    }
}

/// An enabled engine over two fresh copies.
fn fresh() -> Engine<Jail> {
    let dir = dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("jail")).expect("temporary directory");
    let paths = Paths { voldesc: dir.join("voldesc"), kernel: dir.join("kernel.db") };
    let mut e = Engine::new(Jail { root: dir.clone(), files: FileStore::default() }, paths);
    let init = format!(
        "configid={}\n{d}/db0,0,256\n{d}/db1,0,256",
        "5a".repeat(16),
        d = dir.display()
    );
    let (m, _) = e.handle(0, Portal::Diag, &Message::new(Opcode::INIT, 1, init));
    assert_eq!(m.opcode, Opcode::OK, "{}", m.body);
    let _ = e.enable();
    e
}

static ENGINE: Mutex<Option<Engine<Jail>>> = Mutex::new(None);

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
    if e.config().len() > MAX_RECORDS || e.gen() > MAX_GENERATIONS {
        *slot = None;
    }
});
