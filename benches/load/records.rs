//! State directories written directly in the nfs-utils layout (both daemons
//! read them at start): `sm/<host>` with one record line each, `sm.bak/`,
//! `state`, and for statmon `sm/.statmon-boot-id`, which decides whether a
//! start is a reboot (a different id: the records are hosts to notify) or
//! a restart (this boot's id: the records are the monitor list).

use crate::calls::{CALLBACK, MY_NAME};
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The kernel's id of this boot.
pub(crate) const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

/// Whose boot the directory claims to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boot {
    /// This boot: statmon restarts and keeps `sm/` as its monitor list.
    This,
    /// An earlier one: statmon takes the reboot step and notifies `sm/`.
    Earlier,
}

/// One record line as rpc.statd writes it for an SM_MON from 127.0.0.1:
/// the caller's address (`%08x` of its in-memory `s_addr`), the callback
/// program, version and procedure in hex, the cookie, mon_name, my_name.
fn record_line(host: Ipv4Addr, i: usize) -> String {
    let caller = u32::from_ne_bytes([127, 0, 0, 1]);
    let (prog, vers, proc) = CALLBACK;
    format!("{caller:08x} {prog:08x} {vers:08x} {proc:08x} {i:032x} {host} {MY_NAME}\n")
}

/// Creates `dir` with one `sm/` record per host, `state` = 3 and the boot
/// id, all on disk before it returns (one `syncfs`): a list a daemon starts
/// on was written long before, and a journal commit of the daemon's must
/// not be the one that writes the bench's files out.
pub(crate) fn create(dir: &Path, hosts: &[Ipv4Addr], boot: Boot) -> io::Result<()> {
    let sm = dir.join("sm");
    std::fs::create_dir_all(&sm)?;
    std::fs::create_dir_all(dir.join("sm.bak"))?;
    std::fs::write(dir.join("state"), 3i32.to_ne_bytes())?;
    let id = match boot {
        Boot::This => std::fs::read_to_string(BOOT_ID_PATH)?,
        Boot::Earlier => "00000000-0000-0000-0000-000000000000\n".into(),
    };
    std::fs::write(sm.join(".statmon-boot-id"), id)?;
    for (i, h) in hosts.iter().enumerate() {
        std::fs::write(sm.join(h.to_string()), record_line(*h, i))?;
    }
    rustix::fs::syncfs(std::fs::File::open(dir)?)?;
    Ok(())
}

/// Disk space under `dir`, `du` style: the sum of `st_blocks` × 512 of every
/// file and directory (the top one included). Entries that vanish during
/// the walk (a daemon's temporary files) count as nothing.
pub(crate) fn disk_bytes(dir: &Path) -> io::Result<u64> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        for e in std::fs::read_dir(dir)? {
            total += disk_bytes(&e?.path())?;
        }
    }
    Ok(total)
}
