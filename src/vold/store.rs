//! Where database copies live: the [`Store`] trait (positioned reads and
//! writes, syncs, whole-file replaces), the real one over files and block
//! devices ([`FileStore`]), and reading and writing one copy
//! ([`read_copy`], [`write_copy`]) in the layout of [`super::dbformat`].
//!
//! Tests put faults behind the trait (failed writes, torn sectors,
//! flipped bits, ENOSPC) and crash points ([`Point`]) are reported to it
//! as a commit passes them.

use super::dbformat::{self, crc32c, Header, SECTOR};
use super::spec::DbSpec;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The largest payload read back (16 MiB): a header claiming more is a
/// format error, whatever the region's size.
pub const MAX_PAYLOAD: u64 = 16 << 20;

/// A place in a commit where vold may be killed (tests stop there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// The payload of copy `k` (0-based, voldesc order) is written and
    /// synced; its header is not.
    Payload(usize),
    /// Copy `k`'s header is written and synced.
    Header(usize),
    /// Every copy is committed; the kernel's copy is not updated yet.
    Kernel,
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Point::Payload(k) => write!(f, "payload:{k}"),
            Point::Header(k) => write!(f, "header:{k}"),
            Point::Kernel => f.write_str("kernel"),
        }
    }
}

/// The disks and files vold keeps its databases in.
pub trait Store {
    /// Reads exactly `buf.len()` bytes of `path` at byte `at` (short
    /// files read as zeros past their end).
    fn read_at(&mut self, path: &Path, at: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes `data` to `path` at byte `at`, creating a missing file.
    fn write_at(&mut self, path: &Path, at: u64, data: &[u8]) -> io::Result<()>;
    /// Makes what was written to `path` durable.
    fn sync(&mut self, path: &Path) -> io::Result<()>;
    /// The whole of a small file; `None` if it does not exist.
    fn read_file(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Replaces a small file durably (write a temporary, sync, rename).
    fn replace_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Removes a file (no error if it is not there).
    fn remove_file(&mut self, path: &Path) -> io::Result<()>;
    /// Whether a file exists at `path`.
    fn exists(&mut self, path: &Path) -> io::Result<bool>;
    /// A commit passed `point`.
    fn reached(&mut self, point: Point) {
        let _ = point;
    }
}

/// The store over real files and devices. With a crash point set (the
/// test hook `STATMON_VOLD_CRASH_AT`, see vold(1M)) the process kills
/// itself with SIGKILL on reaching it.
#[derive(Debug, Default)]
pub struct FileStore {
    /// The point to die at.
    pub crash_at: Option<String>,
}

impl Store for FileStore {
    fn read_at(&mut self, path: &Path, at: u64, buf: &mut [u8]) -> io::Result<()> {
        let f = std::fs::File::open(path)?;
        let mut done = 0;
        while done < buf.len() {
            match f.read_at(&mut buf[done..], at + done as u64) {
                Ok(0) => {
                    buf[done..].fill(0);
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn write_at(&mut self, path: &Path, at: u64, data: &[u8]) -> io::Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        f.write_all_at(data, at)
    }

    fn sync(&mut self, path: &Path) -> io::Result<()> {
        OpenOptions::new().write(true).open(path)?.sync_all()
    }

    fn read_file(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        crate::daemon::durable::read_optional(path, 1 << 20)
    }

    fn replace_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path.file_name().unwrap_or_default();
        crate::daemon::durable::ensure_dir(dir)?;
        crate::daemon::durable::write_synced(dir, name, data, 0o644)
    }

    fn remove_file(&mut self, path: &Path) -> io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn exists(&mut self, path: &Path) -> io::Result<bool> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn reached(&mut self, point: Point) {
        if self.crash_at.as_deref() == Some(point.to_string().as_str()) {
            log::warn!("crash point {point} reached: killing myself (test hook)");
            let _ = crate::daemon::lock::signal(
                std::process::id() as i32,
                rustix::process::Signal::KILL,
            );
        }
    }
}

/// What one copy holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyRead {
    /// A whole copy: its newest valid header and that generation's payload.
    Good { header: Header, payload: Vec<u8> },
    /// No valid generation; why.
    Bad { io: bool, why: String },
}

/// Reads the copy in `spec`: the newer of its two headers whose payload
/// checks out.
pub fn read_copy(store: &mut dyn Store, spec: &DbSpec) -> CopyRead {
    let base = spec.offset * SECTOR as u64;
    let mut sectors = [0u8; 2 * SECTOR];
    if let Err(e) = store.read_at(&spec.path, base, &mut sectors) {
        return CopyRead::Bad {
            io: true,
            why: format!("I/O error: {e}"),
        };
    }
    let mut why = String::new();
    let mut best: Option<(Header, Vec<u8>)> = None;
    for half in sectors.chunks(SECTOR) {
        let header = match Header::decode(half) {
            Ok(h) => h,
            Err(e) => {
                why = e.to_string();
                continue;
            }
        };
        if best.as_ref().is_some_and(|(b, _)| b.gen >= header.gen) {
            continue;
        }
        if header.payload_len > dbformat::slot_bytes(spec.size).min(MAX_PAYLOAD) {
            why = format!("generation {}: payload larger than its slot", header.gen);
            continue;
        }
        let mut payload = vec![0u8; header.payload_len as usize];
        let at = base + dbformat::slot_at(spec.size, header.gen);
        if let Err(e) = store.read_at(&spec.path, at, &mut payload) {
            return CopyRead::Bad {
                io: true,
                why: format!("I/O error: {e}"),
            };
        }
        if crc32c(&payload) != header.payload_crc {
            why = format!("generation {}: payload checksum mismatch", header.gen);
            continue;
        }
        best = Some((header, payload));
    }
    match best {
        Some((header, payload)) => CopyRead::Good { header, payload },
        None => CopyRead::Bad { io: false, why },
    }
}

/// Writes generation `header.gen` into the copy in `spec`: payload,
/// sync, header, sync. The copy's index `k` (voldesc order) names the
/// crash points passed; `None` (the kernel's copy) passes none.
pub fn write_copy(
    store: &mut dyn Store,
    spec: &DbSpec,
    k: Option<usize>,
    header: &Header,
    payload: &[u8],
) -> io::Result<()> {
    if payload.len() as u64 > dbformat::slot_bytes(spec.size).min(MAX_PAYLOAD) {
        return Err(io::Error::new(
            io::ErrorKind::StorageFull,
            format!(
                "{} bytes of configuration do not fit in {spec}",
                payload.len()
            ),
        ));
    }
    let base = spec.offset * SECTOR as u64;
    store.write_at(
        &spec.path,
        base + dbformat::slot_at(spec.size, header.gen),
        payload,
    )?;
    store.sync(&spec.path)?;
    if let Some(k) = k {
        store.reached(Point::Payload(k));
    }
    store.write_at(
        &spec.path,
        base + dbformat::header_at(header.gen),
        &header.encode(),
    )?;
    store.sync(&spec.path)?;
    if let Some(k) = k {
        store.reached(Point::Header(k));
    }
    Ok(())
}

/// A store in memory with injected faults, for the engine's tests.
#[cfg(test)]
pub(crate) mod mem {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// What goes wrong with one path.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Fault {
        /// Every read and write fails with EIO.
        Io,
        /// Writes fail with ENOSPC.
        NoSpace,
        /// The next header write lands only half (then the fault clears).
        TornHeader,
    }

    /// Files as byte vectors; a crash point stops every later write.
    #[derive(Debug, Default, Clone)]
    pub(crate) struct MemStore {
        pub(crate) files: HashMap<PathBuf, Vec<u8>>,
        pub(crate) faults: HashMap<PathBuf, Fault>,
        pub(crate) crash_at: Option<Point>,
        pub(crate) crashed: bool,
    }

    impl MemStore {
        /// Flips one bit of `path` at byte `at`.
        pub(crate) fn flip(&mut self, path: &str, at: usize) {
            if let Some(f) = self.files.get_mut(Path::new(path)) {
                f[at] ^= 0x10;
            }
        }
    }

    impl Store for MemStore {
        fn read_at(&mut self, path: &Path, at: u64, buf: &mut [u8]) -> io::Result<()> {
            if self.faults.get(path) == Some(&Fault::Io) {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            let f = self.files.get(path).ok_or(io::ErrorKind::NotFound)?;
            for (i, b) in buf.iter_mut().enumerate() {
                *b = f.get(at as usize + i).copied().unwrap_or(0);
            }
            Ok(())
        }
        fn write_at(&mut self, path: &Path, at: u64, data: &[u8]) -> io::Result<()> {
            if self.crashed {
                return Ok(());
            }
            let mut data = data;
            match self.faults.get(path) {
                Some(Fault::Io) => return Err(io::Error::from_raw_os_error(libc::EIO)),
                Some(Fault::NoSpace) => return Err(io::Error::from_raw_os_error(libc::ENOSPC)),
                Some(Fault::TornHeader) if data.len() == SECTOR => {
                    data = &data[..SECTOR / 2];
                    self.faults.remove(path);
                }
                _ => {}
            }
            let f = self.files.entry(path.to_path_buf()).or_default();
            let end = at as usize + data.len();
            if f.len() < end {
                f.resize(end, 0);
            }
            f[at as usize..end].copy_from_slice(data);
            Ok(())
        }
        fn sync(&mut self, _: &Path) -> io::Result<()> {
            Ok(())
        }
        fn read_file(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
            Ok(self.files.get(path).cloned())
        }
        fn replace_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()> {
            if !self.crashed {
                self.files.insert(path.to_path_buf(), data.to_vec());
            }
            Ok(())
        }
        fn remove_file(&mut self, path: &Path) -> io::Result<()> {
            self.files.remove(path);
            Ok(())
        }
        fn exists(&mut self, path: &Path) -> io::Result<bool> {
            Ok(self.files.contains_key(path))
        }
        fn reached(&mut self, point: Point) {
            if self.crash_at == Some(point) {
                self.crashed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mem::MemStore;
    use super::*;

    fn spec() -> DbSpec {
        DbSpec::parse("/db,4,10", None).unwrap()
    }

    fn header(gen: u64, payload: &[u8]) -> Header {
        Header {
            configid: [1; 16],
            flags: 0,
            gen,
            payload_len: payload.len() as u64,
            payload_crc: crc32c(payload),
            txids: Vec::new(),
        }
    }

    #[test]
    fn the_newest_whole_generation_is_read() {
        let mut s = MemStore::default();
        write_copy(&mut s, &spec(), Some(0), &header(1, b"one"), b"one").unwrap();
        write_copy(&mut s, &spec(), Some(0), &header(2, b"two"), b"two").unwrap();
        match read_copy(&mut s, &spec()) {
            CopyRead::Good { header, payload } => {
                assert_eq!((header.gen, &payload[..]), (2, &b"two"[..]))
            }
            bad => panic!("{bad:?}"),
        }
        // Flipped bits in generation 2's payload: generation 1 still reads.
        s.flip("/db", 4 * 512 + 1024);
        let got = read_copy(&mut s, &spec());
        assert!(
            matches!(got, CopyRead::Good { ref header, .. } if header.gen == 1),
            "{got:?}"
        );
    }

    #[test]
    fn a_copy_too_small_or_never_written_is_bad() {
        let mut s = MemStore::default();
        let err =
            write_copy(&mut s, &spec(), Some(0), &header(1, &[0; 5000]), &[0; 5000]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        s.files.insert("/db".into(), vec![0; 8192]);
        assert!(matches!(
            read_copy(&mut s, &spec()),
            CopyRead::Bad { io: false, .. }
        ));
        assert!(matches!(
            read_copy(&mut s, &DbSpec::parse("/none,0,8", None).unwrap()),
            CopyRead::Bad { io: true, .. }
        ));
    }
}
