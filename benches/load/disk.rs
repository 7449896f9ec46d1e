//! What the disk under the state directories costs, timed in the same run
//! as the daemons so that a ratio to it means something on any day.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

/// The median of `samples` rounds of one 100-byte `pwrite` that extends a
/// file in `dir` (created, then removed) and one `fdatasync`, in ns. The
/// size changes every round, so each `fdatasync` is one journal commit of
/// this file system (an overwrite in place would need none).
pub(crate) fn fdatasync_p50(dir: &Path, samples: usize) -> io::Result<u64> {
    let path = dir.join(".fdatasync-probe");
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    let line = [b'x'; 100];
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples.max(1) {
        let mut record = line;
        record[0] = b'a' + (i % 26) as u8;
        let t = Instant::now();
        file.write_all_at(&record, 100 * i as u64)?;
        file.sync_data()?;
        times.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    drop(file);
    std::fs::remove_file(&path)?;
    times.sort_unstable();
    Ok(times[times.len() / 2])
}
