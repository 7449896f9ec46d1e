//! Reading an [`NfsUtilsStore`] at start: the state number, the boot id
//! and both record directories, with damaged files repaired (good lines
//! kept, the file moved aside) and reported, and leftovers of interrupted
//! writes removed.

use super::format::{self as nfsutils, is_valid_file_name};
use super::spares::{self, Spares};
use super::{Dir, NfsUtilsStore, BOOT_ID, MAX_RECORD_FILE, STATE};
use crate::daemon::durable::{self, MODE_PRIVATE as MODE_RECORD};
use crate::statd::record::Registration;
use crate::statd::store::state::{self, Stored};
use crate::statd::store::{report, show, BootInfo, Damage, Loaded, Store, StoreError};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

impl NfsUtilsStore {
    /// [`Store::load`]: creates the directories if missing, removes what
    /// interrupted writes left, reads `state`, the boot id and both record
    /// directories (repairing and reporting damage).
    pub(super) fn load_all(&mut self, boot: &BootInfo) -> Result<Loaded, StoreError> {
        self.files.clear();
        self.spares = Spares::new(self.sm.clone());
        for dir in [&self.base, &self.sm, &self.bak] {
            durable::ensure_dir(dir).map_err(StoreError::io(dir, "create"))?;
        }
        for dir in [&self.sm, &self.bak] {
            for name in durable::remove_stale_temps(dir).map_err(StoreError::io(dir, "clean"))? {
                log::info!(
                    "{}: removed {} left by an interrupted write",
                    dir.display(),
                    show(name.as_bytes())
                );
            }
        }
        if durable::remove_temp_of(&self.base, OsStr::new(STATE))
            .map_err(StoreError::io(&self.base, "clean"))?
        {
            log::info!(
                "{}: removed .{STATE}.new left by an interrupted write",
                self.base.display()
            );
        }
        let mut damage = Vec::new();
        let state_note = self.load_state(boot, &mut damage)?;
        self.boot_id = self.read_boot_id()?;
        self.load_dir(Dir::Sm, &mut damage)?;
        self.load_dir(Dir::Bak, &mut damage)?;
        Ok(Loaded {
            state: self.state,
            state_note,
            new_boot: state::is_new_boot(self.boot_id.as_deref(), boot.boot_id.as_deref()),
            boot_on_record: self.boot_id.is_some(),
            hosts: self.hosts(),
            damage,
        })
    }

    /// Loads every file of one record directory into `self.files`.
    pub(super) fn load_dir(
        &mut self,
        which: Dir,
        damage: &mut Vec<Damage>,
    ) -> Result<(), StoreError> {
        let dir = self.dir(which).to_path_buf();
        let entries = durable::list_dir(&dir).map_err(StoreError::io(&dir, "list"))?;
        for entry in entries {
            let name = entry.name.as_bytes();
            let path = dir.join(&entry.name);
            if name.first() == Some(&b'.') {
                if entry.regular && spares::is_spare_name(name) {
                    self.keep_spare(which, &entry.name)?;
                }
                continue;
            }
            if !entry.regular {
                log::debug!("{}: not a regular file, skipped", path.display());
                continue;
            }
            if !is_valid_file_name(name) {
                damage.push(report(
                    path,
                    "file name is not a valid host name; ignored".into(),
                    None,
                    0,
                ));
                continue;
            }
            let regs = match durable::read_optional(&path, MAX_RECORD_FILE) {
                Ok(Some(bytes)) => self.check_file(which, &entry.name, &bytes, damage)?,
                Ok(None) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    let moved = durable::move_aside(&dir, &entry.name)
                        .map_err(StoreError::io(&path, "move aside"))?;
                    damage.push(report(path, format!("unreadable: {e}"), Some(moved), 0));
                    continue;
                }
                Err(e) => {
                    return Err(StoreError::Io {
                        path,
                        op: "read",
                        err: e,
                    })
                }
            };
            if !regs.is_empty() {
                for reg in &regs {
                    let key = reg.mon_name.to_ascii_lowercase();
                    if key != name {
                        self.aliases.insert(key, name.to_vec());
                    }
                }
                *self.files.entry(name.to_vec()).or_default().list(which) = regs;
            }
        }
        Ok(())
    }

    /// A spare file found at load: kept for reuse if in `sm/`; in
    /// `sm.bak/` (where a reboot step interrupted by a crash left it)
    /// removed.
    pub(super) fn keep_spare(&mut self, which: Dir, name: &OsStr) -> Result<(), StoreError> {
        let path = self.dir(which).join(name);
        match which {
            Dir::Sm => self.spares.adopt(name),
            Dir::Bak => durable::remove(&self.bak, name),
        }
        .map_err(StoreError::io(&path, "remove"))
    }

    /// Parses one record file; repairs it on disk if it has bad lines or is
    /// empty. Returns its good registrations.
    pub(super) fn check_file(
        &self,
        which: Dir,
        name: &OsStr,
        bytes: &[u8],
        damage: &mut Vec<Damage>,
    ) -> Result<Vec<Registration>, StoreError> {
        let dir = self.dir(which);
        let path = dir.join(name);
        let (good, bad) = nfsutils::parse_file(bytes);
        if bad.is_empty() && !good.is_empty() {
            for reg in &good {
                log::trace!(
                    "loaded record {} for {}",
                    show(&reg.mon_name),
                    show(&reg.my_name)
                );
            }
            return Ok(good);
        }
        if bad.is_empty() {
            durable::remove(dir, name).map_err(StoreError::io(&path, "remove"))?;
            durable::sync_dir(dir).map_err(StoreError::io(dir, "sync"))?;
            damage.push(report(path, "empty record file removed".into(), None, 0));
            return Ok(good);
        }
        let what = bad
            .iter()
            .map(|b| format!("line {}: {} ({})", b.line_no, b.why, show(&b.text)))
            .collect::<Vec<_>>()
            .join("; ");
        let moved = durable::move_aside(dir, name).map_err(StoreError::io(&path, "move aside"))?;
        if !good.is_empty() {
            durable::write_synced(dir, name, &nfsutils::format_file(&good), MODE_RECORD)
                .map_err(StoreError::io(&path, "write"))?;
            durable::sync_dir(dir).map_err(StoreError::io(dir, "sync"))?;
        }
        damage.push(report(path, what, Some(moved), good.len()));
        Ok(good)
    }

    /// The boot id on record: `sm/.statmon-boot-id`, else the state
    /// directory's (where earlier versions kept it), trailing blanks cut.
    pub(super) fn read_boot_id(&self) -> Result<Option<Vec<u8>>, StoreError> {
        for dir in [&self.sm, &self.base] {
            let path = dir.join(BOOT_ID);
            let found =
                durable::read_optional(&path, 4096).map_err(StoreError::io(&path, "read"))?;
            if let Some(mut id) = found {
                while id.last().is_some_and(u8::is_ascii_whitespace) {
                    id.pop();
                }
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    pub(super) fn load_state(
        &mut self,
        boot: &BootInfo,
        damage: &mut Vec<Damage>,
    ) -> Result<Option<state::StateNote>, StoreError> {
        let path = self.base.join(STATE);
        let bytes = durable::read_optional(&path, 4096).map_err(StoreError::io(&path, "read"))?;
        let stored = nfsutils::parse_state(bytes.as_deref());
        if let Stored::Damaged { len } = stored {
            let moved = if len > 0 {
                Some(
                    durable::move_aside(&self.base, OsStr::new(STATE))
                        .map_err(StoreError::io(&path, "move aside"))?,
                )
            } else {
                None
            };
            damage.push(report(
                path.clone(),
                format!("state file is {len} bytes, not 4"),
                moved,
                0,
            ));
        }
        let (state, note) = state::on_start(stored, boot.now_unix_secs);
        self.state = state;
        if let Some(note) = note {
            log::warn!("{}: {note}; state is now {state}", path.display());
            self.flush_base(true, false)?;
        }
        Ok(note)
    }
}
