//! Fresh nfs-utils state directories: `sm/<ADDR>` (one record each, as
//! rpc.statd writes it), an empty `sm.bak/`, and `state` = 1. No
//! `sm/.statmon-boot-id`, so statmon takes the reboot step on start; sm-notify
//! is run with `-f`.

use std::io;
use std::net::Ipv4Addr;
use std::path::Path;

/// The name the rebooted host announces (no dot, so sm-notify sends one
/// SM_NOTIFY per host, not two).
const MY_NAME: &str = "benchhost";
/// The lock manager callback every record names: NLM 100021 v4 proc 16.
const CALLBACK: &str = "000186b5 00000004 00000010";
/// The private cookie of every record.
const PRIV: &str = "00112233445566778899aabbccddeeff";

/// The `n` peer addresses: 127.1.X.Y with X, Y in 1..=250.
pub(crate) fn peer_addresses(n: usize) -> Vec<Ipv4Addr> {
    (0..n)
        .map(|i| {
            let x = u8::try_from(1 + i / 250).unwrap_or(u8::MAX);
            let y = u8::try_from(1 + i % 250).unwrap_or(u8::MAX);
            Ipv4Addr::new(127, 1, x, y)
        })
        .collect()
}

/// One record line for `peer`: the address field is `%08x` of its `s_addr`
/// read as a native integer, as nfs-utils writes it.
fn record_line(peer: Ipv4Addr) -> String {
    let addr = u32::from_ne_bytes(peer.octets());
    format!("{addr:08x} {CALLBACK} {PRIV} {peer} {MY_NAME}\n")
}

/// Creates `dir` with one `sm/` record per peer.
pub(crate) fn create(dir: &Path, peers: &[Ipv4Addr]) -> io::Result<()> {
    let sm = dir.join("sm");
    std::fs::create_dir_all(&sm)?;
    std::fs::create_dir_all(dir.join("sm.bak"))?;
    std::fs::write(dir.join("state"), 1i32.to_ne_bytes())?;
    for p in peers {
        std::fs::write(sm.join(p.to_string()), record_line(*p))?;
    }
    // On disk before the notifier starts, as after a real reboot: its
    // reboot step's syncs must not write the bench's files out.
    rustix::fs::syncfs(std::fs::File::open(dir)?)?;
    Ok(())
}

/// Records still in `sm/` and `sm.bak/` (dot files are temporaries and do
/// not count); `None` if a directory cannot be read.
pub(crate) fn remaining(dir: &Path) -> Option<usize> {
    let mut n = 0;
    for sub in ["sm", "sm.bak"] {
        for e in std::fs::read_dir(dir.join(sub)).ok()? {
            let e = e.ok()?;
            if !e.file_name().as_encoded_bytes().starts_with(b".") {
                n += 1;
            }
        }
    }
    Some(n)
}
