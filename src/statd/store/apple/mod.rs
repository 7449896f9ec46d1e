//! [`AppleStore`]: the seed's `/var/db/statd.status`, plus two sidecars.
//!
//! ```text
//! statd.status            Apple's layout (see `apple.rs`), mode 0644
//! statd.status.callbacks  the registrations, as nfs-utils record lines, mode 0600
//! statd.status.bootid     the boot id of the last start, mode 0644
//! ```
//!
//! Apple keeps only host names and flags on disk; the callback
//! registrations are in memory, because Apple treats every statd start as a
//! reboot and lockd registers again after it. We keep the state across a
//! plain daemon restart, so the registrations must survive it too: they go
//! to the `.callbacks` sidecar, in the nfs-utils line format (one parser for
//! both stores). Apple's statd never opens the sidecars. A registration
//! whose host is not marked monitored in `statd.status` (a crash between the
//! two renames) marks it monitored at load.
//!
//! Each commit rewrites the changed files whole (atomic replace) instead of
//! Apple's in-place `mmap` updates; records with both flags clear are
//! dropped then, where Apple would keep them as free slots.

pub mod format;

use super::nfsutils::format as nfsutils;
use super::state::{self, Stored};
use super::{precheck, report, show, BootInfo, Damage, Loaded, Store, StoreError};
use crate::daemon::durable::{self, MODE_PRIVATE as MODE_RECORD, MODE_PUBLIC};
use crate::statd::record::{
    host_eq, monitor_into, remove_where, Change, Effect, HostEntry, Registration,
};
use format::{self as apple, HostInfo};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Largest status or sidecar file read.
const MAX_FILE: u64 = 256 << 20;

/// Which files a change touched.
#[derive(Debug, Clone, Copy, Default)]
struct Dirty {
    status: bool,
    callbacks: bool,
    boot: bool,
}

/// The Apple-layout store. See the module docs.
#[derive(Debug)]
pub struct AppleStore {
    dir: PathBuf,
    status: OsString,
    callbacks: OsString,
    bootid: OsString,
    hosts: Vec<HostInfo>,
    regs: Vec<Registration>,
    state: i32,
    boot_id: Option<Vec<u8>>,
}

impl AppleStore {
    /// A store over the status file `path` (e.g. `/var/db/statd.status`).
    /// Nothing is read until [`Store::load`].
    pub fn open(path: impl AsRef<Path>) -> AppleStore {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let status = path
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_else(|| "statd.status".into());
        let mut callbacks = status.clone();
        callbacks.push(".callbacks");
        let mut bootid = status.clone();
        bootid.push(".bootid");
        AppleStore {
            dir,
            status,
            callbacks,
            bootid,
            hosts: Vec::new(),
            regs: Vec::new(),
            state: 0,
            boot_id: None,
        }
    }

    fn read(&self, name: &OsStr) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.dir.join(name);
        durable::read_optional(&path, MAX_FILE).map_err(StoreError::io(path, "read"))
    }

    /// Reads `statd.status`: hosts, and the stored state. Repairs it later
    /// (the caller rewrites it) if it was damaged.
    fn load_status(&mut self, damage: &mut Vec<Damage>) -> Result<(Stored, bool), StoreError> {
        let path = self.dir.join(&self.status);
        let Some(bytes) = self.read(&self.status)? else {
            return Ok((Stored::Missing, true));
        };
        match apple::parse(&bytes) {
            Ok((file, problems)) => {
                self.hosts = file.hosts;
                let stored = match i32::try_from(file.state) {
                    Ok(v) => Stored::Value(v),
                    Err(_) => Stored::Damaged { len: bytes.len() },
                };
                if problems.is_empty() {
                    return Ok((stored, false));
                }
                let what = problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let moved = durable::move_aside(&self.dir, &self.status)
                    .map_err(StoreError::io(&path, "move aside"))?;
                damage.push(report(path, what, Some(moved), self.hosts.len()));
                Ok((stored, true))
            }
            Err(problem) if bytes.is_empty() => {
                damage.push(report(path, problem.to_string(), None, 0));
                Ok((Stored::Damaged { len: 0 }, true))
            }
            Err(problem) => {
                let moved = durable::move_aside(&self.dir, &self.status)
                    .map_err(StoreError::io(&path, "move aside"))?;
                damage.push(report(path, problem.to_string(), Some(moved), 0));
                Ok((Stored::Damaged { len: bytes.len() }, true))
            }
        }
    }

    /// Reads the callbacks sidecar; returns whether it must be rewritten.
    fn load_callbacks(&mut self, damage: &mut Vec<Damage>) -> Result<bool, StoreError> {
        let Some(bytes) = self.read(&self.callbacks)? else {
            return Ok(false);
        };
        let (good, bad) = nfsutils::parse_file(&bytes);
        self.regs = good;
        if bad.is_empty() {
            return Ok(false);
        }
        let path = self.dir.join(&self.callbacks);
        let what = bad
            .iter()
            .map(|b| format!("line {}: {} ({})", b.line_no, b.why, show(&b.text)))
            .collect::<Vec<_>>()
            .join("; ");
        let moved = durable::move_aside(&self.dir, &self.callbacks)
            .map_err(StoreError::io(&path, "move aside"))?;
        damage.push(report(path, what, Some(moved), self.regs.len()));
        Ok(true)
    }

    fn host_mut(&mut self, name: &[u8]) -> Option<&mut HostInfo> {
        self.hosts.iter_mut().find(|h| host_eq(&h.name, name))
    }

    /// Marks `mon_name` monitored, adding it if new; true if that changed
    /// the status file.
    fn mark_monitored(&mut self, mon_name: &[u8]) -> bool {
        match self.host_mut(mon_name) {
            Some(h) if h.monitored => false,
            Some(h) => {
                h.monitored = true;
                true
            }
            None => {
                self.hosts.push(HostInfo {
                    name: mon_name.to_vec(),
                    monitored: true,
                    notify: false,
                });
                true
            }
        }
    }

    /// After registrations were removed: hosts left without any stop being
    /// monitored (as Apple's statd does when the last client goes).
    fn unmark_orphans(&mut self, before: &[Registration]) -> bool {
        let mut changed = false;
        for gone in before.iter().filter(|r| !self.regs.contains(r)) {
            if self
                .regs
                .iter()
                .any(|r| host_eq(&r.mon_name, &gone.mon_name))
            {
                continue;
            }
            if let Some(h) = self
                .hosts
                .iter_mut()
                .find(|h| host_eq(&h.name, &gone.mon_name) && h.monitored)
            {
                h.monitored = false;
                changed = true;
            }
        }
        changed
    }

    fn apply(&mut self, change: &Change, dirty: &mut Dirty) -> Effect {
        match change {
            Change::Monitor(reg) => {
                dirty.status |= self.mark_monitored(&reg.mon_name);
                let effect = monitor_into(&mut self.regs, reg);
                dirty.callbacks |= effect != Effect::Unchanged;
                effect
            }
            Change::Unmonitor(key) => self.remove_regs(|r| key.matches(r), dirty),
            Change::UnmonitorAll(key) => self.remove_regs(|r| key.matches(r), dirty),
            Change::NotifyDone { host, .. } => match self.host_mut(host) {
                Some(h) if h.notify => {
                    h.notify = false;
                    dirty.status = true;
                    Effect::Removed(1)
                }
                _ => Effect::Removed(0),
            },
            Change::SetState(s) if *s == self.state => Effect::Unchanged,
            Change::SetState(s) => {
                self.state = *s;
                dirty.status = true;
                Effect::Updated
            }
            Change::SetBootId(id) if self.boot_id.as_ref() == Some(id) => Effect::Unchanged,
            Change::SetBootId(id) => {
                self.boot_id = Some(id.clone());
                dirty.boot = true;
                Effect::Updated
            }
        }
    }

    fn remove_regs(&mut self, pred: impl Fn(&Registration) -> bool, dirty: &mut Dirty) -> Effect {
        if !self.regs.iter().any(&pred) {
            return Effect::Removed(0);
        }
        let before = self.regs.clone();
        let n = remove_where(&mut self.regs, pred);
        dirty.callbacks = true;
        dirty.status |= self.unmark_orphans(&before);
        Effect::Removed(n)
    }

    /// Writes the dirty files, then syncs the directory once.
    fn flush(&mut self, dirty: Dirty) -> Result<(), StoreError> {
        if dirty.status {
            self.hosts.retain(|h| h.monitored || h.notify);
            let bytes = apple::encode(self.state as u32, &self.hosts);
            durable::write_synced(&self.dir, &self.status, &bytes, MODE_PUBLIC)
                .map_err(StoreError::io(self.dir.join(&self.status), "write"))?;
        }
        if dirty.callbacks {
            let bytes = nfsutils::format_file(&self.regs);
            durable::write_synced(&self.dir, &self.callbacks, &bytes, MODE_RECORD)
                .map_err(StoreError::io(self.dir.join(&self.callbacks), "write"))?;
        }
        if let (true, Some(id)) = (dirty.boot, &self.boot_id) {
            let mut text = id.clone();
            text.push(b'\n');
            durable::write_synced(&self.dir, &self.bootid, &text, MODE_PUBLIC)
                .map_err(StoreError::io(self.dir.join(&self.bootid), "write"))?;
        }
        if dirty.status || dirty.callbacks || dirty.boot {
            durable::sync_dir(&self.dir).map_err(StoreError::io(&self.dir, "sync"))?;
        }
        Ok(())
    }
}

impl Store for AppleStore {
    fn load(&mut self, boot: &BootInfo) -> Result<Loaded, StoreError> {
        self.hosts.clear();
        self.regs.clear();
        durable::ensure_dir(&self.dir).map_err(StoreError::io(&self.dir, "create"))?;
        for name in [&self.status, &self.callbacks, &self.bootid] {
            if durable::remove_temp_of(&self.dir, name)
                .map_err(StoreError::io(&self.dir, "clean"))?
            {
                log::info!(
                    "{}: removed the temporary copy of {} left by an interrupted write",
                    self.dir.display(),
                    show(name.as_bytes())
                );
            }
        }
        let mut damage = Vec::new();
        let (stored, mut rewrite) = self.load_status(&mut damage)?;
        let (state, note) = state::on_start(stored, boot.now_unix_secs);
        if let Some(note) = note {
            log::warn!(
                "{}: {note}; state is now {state}",
                self.dir.join(&self.status).display()
            );
            rewrite = true;
        }
        self.state = state;
        let rewrite_callbacks = self.load_callbacks(&mut damage)?;
        let orphans: Vec<Vec<u8>> = self.regs.iter().map(|r| r.mon_name.clone()).collect();
        for mon_name in orphans {
            rewrite |= self.mark_monitored(&mon_name);
        }
        self.flush(Dirty {
            status: rewrite,
            callbacks: rewrite_callbacks,
            boot: false,
        })?;
        let bootid = self.read(&self.bootid)?.map(|mut id| {
            while id.last().is_some_and(u8::is_ascii_whitespace) {
                id.pop();
            }
            id
        });
        self.boot_id = bootid;
        Ok(Loaded {
            state: self.state,
            state_note: note,
            new_boot: state::is_new_boot(self.boot_id.as_deref(), boot.boot_id.as_deref()),
            boot_on_record: self.boot_id.is_some(),
            hosts: self.hosts(),
            damage,
        })
    }

    fn commit(&mut self, batch: &[Change]) -> Result<Vec<Effect>, StoreError> {
        precheck(self, batch)?;
        let saved = (
            self.hosts.clone(),
            self.regs.clone(),
            self.state,
            self.boot_id.clone(),
        );
        let mut dirty = Dirty::default();
        let effects: Vec<Effect> = batch.iter().map(|c| self.apply(c, &mut dirty)).collect();
        let result = self.flush(dirty);
        if result.is_err() {
            (self.hosts, self.regs, self.state, self.boot_id) = saved;
        }
        result.map(|()| effects)
    }

    fn begin_reboot(&mut self, boot_id: Option<&[u8]>) -> Result<i32, StoreError> {
        for h in &mut self.hosts {
            if h.monitored {
                h.monitored = false;
                h.notify = true;
            }
        }
        let had_regs = !self.regs.is_empty();
        self.regs.clear();
        state::take_boot_step(&mut self.state, &mut self.boot_id, boot_id);
        self.flush(Dirty {
            status: true,
            callbacks: had_regs,
            boot: boot_id.is_some(),
        })?;
        Ok(self.state)
    }

    fn state(&self) -> i32 {
        self.state
    }

    fn hosts(&self) -> Vec<HostEntry> {
        let mut out: Vec<HostEntry> = self
            .hosts
            .iter()
            .map(|h| HostEntry {
                name: h.name.clone(),
                monitored: h.monitored,
                needs_notify: h.notify,
                registrations: self
                    .regs
                    .iter()
                    .filter(|r| host_eq(&r.mon_name, &h.name))
                    .cloned()
                    .collect(),
                notify: Vec::new(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}
