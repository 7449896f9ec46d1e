//! File watches: one inotify instance per reactor, created on first use.
//! (POLLPRI sources, the other kind of "file changed", are plain sources
//! registered with `Interest::PRIORITY`; see `Context::watch_priority`.)

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::{ModuleId, WatchId};

/// Size of the inotify read buffer (many events per read).
const BUF_LEN: usize = 16 * 1024;

/// A change reported by inotify, with the watch's owner.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) module: ModuleId,
    pub(crate) watch: WatchId,
    pub(crate) name: Option<OsString>,
    pub(crate) mask: EventMask,
}

/// The inotify instance and the owner of every watch descriptor.
pub(crate) struct Watcher {
    inotify: Inotify,
    by_wd: HashMap<WatchDescriptor, (WatchId, ModuleId)>,
    by_id: HashMap<WatchId, WatchDescriptor>,
    next_id: u64,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("watches", &self.by_wd.len())
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Creates the (non-blocking) inotify instance, registered under `token`.
    pub(crate) fn new(registry: &Registry, token: Token) -> io::Result<Watcher> {
        let inotify = Inotify::init()?;
        registry.register(
            &mut SourceFd(&inotify.as_raw_fd()),
            token,
            Interest::READABLE,
        )?;
        Ok(Watcher {
            inotify,
            by_wd: HashMap::new(),
            by_id: HashMap::new(),
            next_id: 0,
            buf: vec![0; BUF_LEN],
        })
    }

    /// Watches `path` for `mask`. A path (inode) already watched fails with
    /// `AlreadyExists` rather than silently changing the other watch.
    pub(crate) fn add(
        &mut self,
        path: &Path,
        mask: WatchMask,
        module: ModuleId,
    ) -> io::Result<WatchId> {
        let wd = self
            .inotify
            .watches()
            .add(path, mask | WatchMask::MASK_CREATE)?;
        let id = WatchId(self.next_id);
        self.next_id += 1;
        self.by_wd.insert(wd.clone(), (id, module));
        self.by_id.insert(id, wd);
        Ok(id)
    }

    /// The module owning a watch.
    pub(crate) fn owner(&self, id: WatchId) -> Option<ModuleId> {
        let wd = self.by_id.get(&id)?;
        self.by_wd.get(wd).map(|&(_, m)| m)
    }

    /// Removes a watch. Events already queued for it are dropped.
    pub(crate) fn remove(&mut self, id: WatchId) -> io::Result<()> {
        let wd = self
            .by_id
            .remove(&id)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such watch"))?;
        self.by_wd.remove(&wd);
        self.inotify.watches().remove(wd)
    }

    /// Removes every watch of `module`.
    pub(crate) fn remove_module(&mut self, module: ModuleId) {
        let ids: Vec<WatchId> = self
            .by_wd
            .values()
            .filter(|(_, m)| *m == module)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Err(e) = self.remove(id) {
                log::debug!("remove watch {id:?}: {e}");
            }
        }
    }

    /// Reads every queued inotify event. A watch the kernel dropped
    /// (IGNORED: path deleted or unmounted) is reported once, then forgotten.
    pub(crate) fn drain(&mut self) -> io::Result<Vec<Change>> {
        let mut changes = Vec::new();
        loop {
            let events = match self.inotify.read_events(&mut self.buf) {
                Ok(events) => events,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(changes),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut gone = Vec::new();
            for ev in events {
                let Some(&(watch, module)) = self.by_wd.get(&ev.wd) else {
                    continue;
                };
                if ev.mask.contains(EventMask::IGNORED) {
                    gone.push(ev.wd.clone());
                }
                changes.push(Change {
                    module,
                    watch,
                    name: ev.name.map(|n| n.to_os_string()),
                    mask: ev.mask,
                });
            }
            for wd in gone {
                if let Some((id, _)) = self.by_wd.remove(&wd) {
                    self.by_id.remove(&id);
                }
            }
        }
    }
}
