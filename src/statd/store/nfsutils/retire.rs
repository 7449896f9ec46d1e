//! The reboot step's file work, file by file as sm-notify does: each `sm/`
//! record moves to `sm.bak/`, or merges into the file there when that host
//! still waits for an earlier notification. Spares and sidecars (dot names)
//! stay in `sm/`. Needs write access to `sm/` and `sm.bak/` only.
//!
//! The step is planned in memory first ([`NfsUtilsStore::plan_retire`]) and
//! written after ([`NfsUtilsStore::move_records`]), at once or, when the
//! daemon defers it, on the store thread while the daemon already serves.
//! Deferring is safe because the boot id is written only after every move:
//! a crash before that is seen at the next start as a boot whose step is
//! still to be taken, and the step is taken again (the state advances once
//! more; every host in `sm/` or `sm.bak/` is notified).

use super::{format as nfsutils, show, NfsUtilsStore, MODE_RECORD};
use crate::daemon::durable;
use crate::statd::store::StoreError;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;

/// What one record file of `sm/` becomes.
#[derive(Debug)]
pub(super) enum Move {
    /// The file itself moves to `sm.bak/` (keeping its mtime).
    Rename(Vec<u8>),
    /// `sm.bak/` has a file for that host already: it is rewritten with
    /// these contents (both lists merged) and the `sm/` file removed.
    Merge(Vec<u8>, Vec<u8>),
}

/// A reboot step whose files are still to be written.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) moves: Vec<Move>,
    /// Whether the new boot id is to be written after the moves.
    pub(super) boot: bool,
}

impl NfsUtilsStore {
    /// Moves every monitored host to the notify list in memory; returns the
    /// file work that makes the disk match.
    pub(super) fn plan_retire(&mut self) -> Vec<Move> {
        let mut moves = Vec::new();
        for (name, files) in self.files.iter_mut().filter(|(_, f)| !f.sm.is_empty()) {
            if files.bak.is_empty() {
                files.bak = std::mem::take(&mut files.sm);
                moves.push(Move::Rename(name.clone()));
            } else {
                // Still notifying from an earlier boot: merge, don't clobber.
                for reg in std::mem::take(&mut files.sm) {
                    if !files.bak.contains(&reg) {
                        files.bak.push(reg);
                    }
                }
                moves.push(Move::Merge(name.clone(), nfsutils::format_file(&files.bak)));
            }
        }
        moves
    }

    /// Writes `moves`, then syncs both directories. A move already made (a retry after an error) is skipped.
    pub(super) fn move_records(&self, moves: &[Move]) -> Result<(), StoreError> {
        let sm_dir = File::open(&self.sm).map_err(StoreError::io(&self.sm, "open"))?;
        let bak_dir = File::open(&self.bak).map_err(StoreError::io(&self.bak, "open"))?;
        for m in moves {
            match m {
                Move::Rename(name) => {
                    let os = OsStr::from_bytes(name);
                    match durable::rename_between(&sm_dir, os, &bak_dir) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(StoreError::io(self.sm.join(os), "retire")(e));
                        }
                        _ => {}
                    }
                    log::debug!("retired record for {}", show(name));
                }
                Move::Merge(name, bytes) => {
                    let os = OsStr::from_bytes(name);
                    durable::write_synced(&self.bak, os, bytes, MODE_RECORD)
                        .map_err(StoreError::io(self.bak.join(os), "write"))?;
                    durable::remove(&self.sm, os)
                        .map_err(StoreError::io(self.sm.join(os), "remove"))?;
                    log::debug!("merged record for {} into the notify list", show(name));
                }
            }
        }
        for dir in [&self.bak, &self.sm] {
            durable::sync_dir(dir).map_err(StoreError::io(dir, "sync"))?;
        }
        Ok(())
    }
}
