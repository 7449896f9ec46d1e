//! [`NfsUtilsStore`]: the nfs-utils layout under one state directory.
//! Reading it at start is in `load.rs`, one commit's writes in `batch.rs`,
//! the spare record files in `spares.rs`, the byte format in [`format`].
//!
//! ```text
//! DIR/state              4 bytes, native-endian int, mode 0644
//! DIR/sm/<host>          one record line per registration, mode 0600
//! DIR/sm.bak/<host>      same lines, hosts still to be sent SM_NOTIFY
//! DIR/sm/.statmon-spare-N removed record files kept for reuse (ours; see
//!                        [`spares`])
//! DIR/sm/.statmon-boot-id the boot id of the last start (ours; the leading
//!                        '.' keeps nfs-utils from ever looking at it; read
//!                        from DIR/.statmon-boot-id when only that exists)
//! ```
//!
//! # Who may write what
//! The distribution's layout is a root-owned `DIR` with `sm/` and `sm.bak/`
//! owned by the `statd` user, and `state` owned by `statd` (or absent). The
//! daemon loads the store and takes the reboot step as root, before it
//! drops privileges, as sm-notify does; after the drop every write stays in
//! `sm/` and `sm.bak/`, except `state`, which is then rewritten in place
//! ([`durable::overwrite_in_place`]). The reboot step moves record files
//! one by one, as sm-notify does, never the directories.
//!
//! `<host>` is the file name rule of [`nfsutils::file_name_for`] for new
//! hosts; files found on disk keep their names, and a new registration for
//! a mon_name already stored goes into the file that holds it.

mod batch;
pub mod format;
mod load;
mod retire;
mod spares;

use super::state;
use super::{precheck, show, BootInfo, Loaded, Store, StoreError};
use crate::daemon::durable::{self, MODE_PRIVATE as MODE_RECORD, MODE_PUBLIC};
use crate::statd::record::{
    host_eq, monitor_into, remove_where, Change, Effect, HostEntry, Registration,
};
use batch::Batch;
use format as nfsutils;
use spares::Spares;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The state number's file name in the state directory.
pub const NFS_UTILS_STATE_FILE: &str = "state";
const STATE: &str = NFS_UTILS_STATE_FILE;
/// The boot id's file name, in `sm/` (and, before statmon 0.1 kept it
/// there, in the state directory).
const BOOT_ID: &str = ".statmon-boot-id";
/// Largest record file read (a file holds a few lines of at most 1095 bytes).
const MAX_RECORD_FILE: u64 = 16 << 20;

/// Which of the two record directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    Sm,
    Bak,
}

/// The lines of one host, in `sm/` and in `sm.bak/`. An empty list means
/// "no file".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Files {
    sm: Vec<Registration>,
    bak: Vec<Registration>,
}

impl Files {
    fn list(&mut self, which: Dir) -> &mut Vec<Registration> {
        match which {
            Dir::Sm => &mut self.sm,
            Dir::Bak => &mut self.bak,
        }
    }
}

/// The nfs-utils store. See the module docs for the layout.
#[derive(Debug)]
pub struct NfsUtilsStore {
    base: PathBuf,
    sm: PathBuf,
    bak: PathBuf,
    files: BTreeMap<Vec<u8>, Files>,
    /// Lower-cased mon_names of loaded registrations filed under another
    /// name (nfs-utils files a name under its canonical or reverse-mapped
    /// name), to the file they are in. statmon files new hosts under the
    /// lower-cased mon_name, so lookups never scan every file.
    aliases: HashMap<Vec<u8>, Vec<u8>>,
    /// Record files removed from `sm/`, kept for the next ones written.
    spares: Spares,
    state: i32,
    boot_id: Option<Vec<u8>>,
    /// The next reboot step leaves its file moves for [`Store::settle`].
    defer_moves: bool,
    /// A reboot step whose moves (and boot id) are still to be written.
    pending: Option<retire::Pending>,
}

impl NfsUtilsStore {
    /// A store over the state directory `dir` (e.g. `/var/lib/nfs`).
    /// Nothing is read until [`Store::load`], which also creates `dir`,
    /// `sm/` and `sm.bak/` if they are missing.
    pub fn open(dir: impl Into<PathBuf>) -> NfsUtilsStore {
        let base = dir.into();
        NfsUtilsStore {
            sm: base.join("sm"),
            bak: base.join("sm.bak"),
            spares: Spares::new(base.join("sm")),
            base,
            files: BTreeMap::new(),
            aliases: HashMap::new(),
            state: 0,
            boot_id: None,
            defer_moves: false,
            pending: None,
        }
    }

    fn dir(&self, which: Dir) -> &Path {
        match which {
            Dir::Sm => &self.sm,
            Dir::Bak => &self.bak,
        }
    }

    /// The files that may hold registrations for `mon_name`: the one named
    /// after it and the one its alias names, if they exist.
    fn candidates(&self, mon_name: &[u8]) -> Vec<Vec<u8>> {
        let fresh = mon_name.to_ascii_lowercase();
        let mut found = Vec::new();
        if let Some(alias) = self.aliases.get(&fresh) {
            if alias != &fresh && self.files.contains_key(alias) {
                found.push(alias.clone());
            }
        }
        if self.files.contains_key(&fresh) {
            found.push(fresh);
        }
        found
    }

    /// The file a registration for `mon_name` belongs in: the one already
    /// named after it, else one holding a registration for it, else a new
    /// one named by [`nfsutils::file_name_for`].
    fn file_for(&self, mon_name: &[u8]) -> Vec<u8> {
        let fresh = mon_name.to_ascii_lowercase();
        if self.files.contains_key(&fresh) {
            return fresh;
        }
        self.candidates(mon_name)
            .into_iter()
            .find(|name| {
                self.files.get(name).is_some_and(|f| {
                    f.sm.iter()
                        .chain(&f.bak)
                        .any(|r| host_eq(&r.mon_name, mon_name))
                })
            })
            .unwrap_or(fresh)
    }

    /// Applies one change to memory; records touched files and the undo copy.
    fn apply(
        &mut self,
        change: &Change,
        dirty: &mut BTreeSet<(Dir, Vec<u8>)>,
        undo: &mut BTreeMap<Vec<u8>, Option<Files>>,
    ) -> Effect {
        let mut touch = |files: &BTreeMap<Vec<u8>, Files>, name: &[u8]| {
            undo.entry(name.to_vec())
                .or_insert_with(|| files.get(name).cloned());
        };
        match change {
            Change::Monitor(reg) => {
                let name = self.file_for(&reg.mon_name);
                touch(&self.files, &name);
                let effect = monitor_into(&mut self.files.entry(name.clone()).or_default().sm, reg);
                if effect != Effect::Unchanged {
                    dirty.insert((Dir::Sm, name));
                }
                effect
            }
            Change::Unmonitor(key) => {
                let names = self.candidates(&key.mon_name);
                self.remove_sm(Some(names), |r| key.matches(r), dirty, &mut touch)
            }
            Change::UnmonitorAll(key) => {
                self.remove_sm(None, |r| key.matches(r), dirty, &mut touch)
            }
            Change::NotifyDone { host, my_name } => {
                // The notifier names hosts by their file name: look that up
                // first; scan (case-insensitively) only for other names.
                let names: Vec<Vec<u8>> = if self.files.contains_key(host.as_slice()) {
                    vec![host.clone()]
                } else {
                    self.files
                        .keys()
                        .filter(|n| host_eq(n, host))
                        .cloned()
                        .collect()
                };
                let mut removed = 0;
                for name in names {
                    touch(&self.files, &name);
                    if let Some(files) = self.files.get_mut(&name) {
                        let n = remove_where(&mut files.bak, |r| {
                            my_name.as_ref().is_none_or(|m| host_eq(&r.my_name, m))
                        });
                        if n > 0 {
                            dirty.insert((Dir::Bak, name));
                            removed += n;
                        }
                    }
                }
                Effect::Removed(removed)
            }
            Change::SetState(s) if *s == self.state => Effect::Unchanged,
            Change::SetState(s) => {
                self.state = *s;
                Effect::Updated
            }
            Change::SetBootId(id) if self.boot_id.as_ref() == Some(id) => Effect::Unchanged,
            Change::SetBootId(id) => {
                self.boot_id = Some(id.clone());
                Effect::Updated
            }
        }
    }

    /// Removes the `sm/` registrations `pred` picks, in the files `within`
    /// (every file if `None`).
    fn remove_sm(
        &mut self,
        within: Option<Vec<Vec<u8>>>,
        pred: impl Fn(&Registration) -> bool,
        dirty: &mut BTreeSet<(Dir, Vec<u8>)>,
        touch: &mut impl FnMut(&BTreeMap<Vec<u8>, Files>, &[u8]),
    ) -> Effect {
        let holds = |f: &Files| f.sm.iter().any(&pred);
        let hits: Vec<Vec<u8>> = match within {
            Some(names) => names
                .into_iter()
                .filter(|n| self.files.get(n).is_some_and(holds))
                .collect(),
            None => self
                .files
                .iter()
                .filter(|(_, f)| holds(f))
                .map(|(n, _)| n.clone())
                .collect(),
        };
        let mut removed = 0;
        for name in hits {
            touch(&self.files, &name);
            if let Some(files) = self.files.get_mut(&name) {
                removed += remove_where(&mut files.sm, &pred);
            }
            dirty.insert((Dir::Sm, name));
        }
        Effect::Removed(removed)
    }

    /// Writes (or removes) the dirty files, then syncs each touched
    /// directory once. Files removed from `sm/` become spares.
    fn flush(
        &mut self,
        dirty: &BTreeSet<(Dir, Vec<u8>)>,
        state: bool,
        boot: bool,
    ) -> Result<(), StoreError> {
        let mut dirs = BTreeSet::new();
        let mut batch = Batch::new(&mut self.spares);
        let mut gone = Vec::new();
        for (which, name) in dirty {
            let dir = match which {
                Dir::Sm => &self.sm,
                Dir::Bak => &self.bak,
            };
            let os = OsStr::from_bytes(name);
            let regs = self.files.get(name).map(|f| match which {
                Dir::Sm => &f.sm,
                Dir::Bak => &f.bak,
            });
            match regs {
                Some(regs) if !regs.is_empty() => batch
                    .write(dir, os, &nfsutils::format_file(regs), MODE_RECORD)
                    .map_err(StoreError::io(dir.join(os), "write"))?,
                _ => gone.push((*which, os)),
            }
            dirs.insert(*which);
        }
        // Every new file is durable and in place before anything is removed.
        batch
            .finish()
            .map_err(StoreError::io(&self.sm, "sync records"))?;
        for (which, os) in gone {
            let removed = match which {
                Dir::Sm => self.spares.retire(os),
                Dir::Bak => durable::remove(&self.bak, os),
            };
            removed.map_err(StoreError::io(self.dir(which).join(os), "remove"))?;
        }
        for which in dirs {
            let dir = self.dir(which);
            durable::sync_dir(dir).map_err(StoreError::io(dir, "sync"))?;
        }
        self.flush_base(state, boot)
    }

    /// Writes `state` and/or the boot id durably. `state` is rewritten in
    /// place when it exists (the daemon may not write the state directory
    /// itself), else created through a temporary file and the directory
    /// synced; the boot id goes into `sm/`.
    fn flush_base(&self, state: bool, boot: bool) -> Result<(), StoreError> {
        if state {
            let path = self.base.join(STATE);
            let bytes = nfsutils::encode_state(self.state);
            let rewritten = durable::overwrite_in_place(&path, &bytes)
                .map_err(StoreError::io(&path, "write"))?;
            if !rewritten {
                durable::write_synced(&self.base, OsStr::new(STATE), &bytes, MODE_PUBLIC)
                    .map_err(StoreError::io(&path, "write"))?;
                durable::sync_dir(&self.base).map_err(StoreError::io(&self.base, "sync"))?;
            }
        }
        if let (true, Some(id)) = (boot, &self.boot_id) {
            let mut text = id.clone();
            text.push(b'\n');
            durable::write_synced(&self.sm, OsStr::new(BOOT_ID), &text, MODE_PUBLIC)
                .map_err(StoreError::io(self.sm.join(BOOT_ID), "write"))?;
            durable::sync_dir(&self.sm).map_err(StoreError::io(&self.sm, "sync"))?;
        }
        Ok(())
    }
}

impl Store for NfsUtilsStore {
    fn load(&mut self, boot: &BootInfo) -> Result<Loaded, StoreError> {
        self.load_all(boot)
    }

    fn commit(&mut self, batch: &[Change]) -> Result<Vec<Effect>, StoreError> {
        self.settle()?;
        precheck(self, batch)?;
        let (old_state, old_boot) = (self.state, self.boot_id.clone());
        let mut dirty = BTreeSet::new();
        let mut undo = BTreeMap::new();
        let effects: Vec<Effect> = batch
            .iter()
            .map(|c| self.apply(c, &mut dirty, &mut undo))
            .collect();
        for name in undo.keys() {
            if self
                .files
                .get(name)
                .is_some_and(|f| f.sm.is_empty() && f.bak.is_empty())
            {
                self.files.remove(name);
            }
        }
        let result = self.flush(&dirty, self.state != old_state, self.boot_id != old_boot);
        if result.is_err() {
            for (name, files) in undo {
                match files {
                    Some(f) => self.files.insert(name, f),
                    None => self.files.remove(&name),
                };
            }
            self.state = old_state;
            self.boot_id = old_boot;
        }
        result.map(|()| effects)
    }

    fn begin_reboot(&mut self, boot_id: Option<&[u8]>) -> Result<i32, StoreError> {
        self.settle()?;
        let moves = self.plan_retire();
        state::take_boot_step(&mut self.state, &mut self.boot_id, boot_id);
        if std::mem::take(&mut self.defer_moves) {
            // The new state is durable before anyone is told of it; the
            // boot id only once every record has moved (retire.rs).
            self.flush_base(true, false)?;
            self.pending = Some(retire::Pending {
                moves,
                boot: boot_id.is_some(),
            });
        } else {
            self.move_records(&moves)?;
            self.flush_base(true, boot_id.is_some())?;
        }
        Ok(self.state)
    }

    fn defer_reboot_moves(&mut self) {
        self.defer_moves = true;
    }

    fn settle(&mut self) -> Result<(), StoreError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let done = self
            .move_records(&pending.moves)
            .and_then(|()| self.flush_base(false, pending.boot));
        if done.is_err() {
            self.pending = Some(pending);
        }
        done
    }

    fn state(&self) -> i32 {
        self.state
    }

    fn hosts(&self) -> Vec<HostEntry> {
        self.files
            .iter()
            .map(|(name, f)| HostEntry {
                name: name.clone(),
                monitored: !f.sm.is_empty(),
                needs_notify: !f.bak.is_empty(),
                registrations: f.sm.clone(),
                notify: f.bak.clone(),
            })
            .collect()
    }
}
