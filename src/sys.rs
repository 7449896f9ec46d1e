//! The few operating-system calls the safe crates do not cover.
//!
//! This is the only module allowed to use `unsafe`. Each function wraps one
//! libc call, documents why it is sound, and exposes a safe signature.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;

/// Broken-down local time, as `localtime_r(3)` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Converts seconds since the epoch to local time (honours `TZ`).
pub fn local_time(secs: i64) -> LocalTime {
    let t: libc::time_t = secs;
    // SAFETY: `tm` is plain old data, so all-zero is a valid value; `localtime_r`
    // only writes into the `tm` we pass and reads `t`, both live for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return LocalTime {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        };
    }
    LocalTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
    }
}

/// Opens the syslog connection with `LOG_PID` and facility `LOG_DAEMON`.
///
/// The ident string is leaked on purpose: syslog(3) keeps the pointer for the
/// life of the process.
pub fn open_syslog(ident: &str) {
    let ident = CString::new(ident.replace('\0', "")).unwrap_or_default();
    let ident: &'static CString = Box::leak(Box::new(ident));
    // SAFETY: `ident` lives for the rest of the process, as openlog requires.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY,
            libc::LOG_DAEMON,
        )
    };
}

/// Sends one message to syslog at `priority` (a `LOG_*` level).
///
/// The message is always passed through a constant `"%s"` format, so text that
/// came from a peer can never act as a format string (CVE-2000-0666).
pub fn syslog(priority: i32, msg: &str) {
    let msg = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: both pointers are valid NUL-terminated strings for the call and
    // the format takes exactly one string argument.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr()) };
}

/// Outcome of [`fork`] as seen by the calling process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// In the parent; the child has this pid.
    Parent(u32),
    /// In the child.
    Child,
}

/// `fork(2)`.
///
/// Call it only while the process has a single thread (before the reactor,
/// the logger or any helper thread starts): the child gets a copy of just the
/// calling thread.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the caller guarantees a single-threaded process, so the child
    // cannot inherit a lock held by another thread.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as u32)),
    }
}

/// `setgroups(2)` for the whole process: replaces the supplementary group
/// list with `groups` (an empty slice clears it).
///
/// Goes through the C library, which applies the change to every thread of
/// the process (glibc and musl both broadcast set*id calls); the raw system
/// call would change only the calling thread.
pub fn set_groups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `groups` (`gid_t` is `u32`),
    // which lives for the call; setgroups only reads that many entries.
    let rc = unsafe { libc::setgroups(groups.len(), groups.as_ptr()) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `setresgid(gid, gid, gid)` for the whole process (real, effective and
/// saved group id), through the C library so every thread changes.
pub fn set_all_gids(gid: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments, no memory is passed.
    let rc = unsafe { libc::setresgid(gid, gid, gid) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `setresuid(uid, uid, uid)` for the whole process (real, effective and
/// saved user id), through the C library so every thread changes.
pub fn set_all_uids(uid: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments, no memory is passed.
    let rc = unsafe { libc::setresuid(uid, uid, uid) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Closes every descriptor numbered `first` or higher.
///
/// Uses `close_range(2)` (Linux 5.9); on an older kernel it closes each
/// number listed in `/proc/self/fd`. Call it only first thing in `main`,
/// while nothing in this process owns a descriptor at or above `first`
/// (the standard library opens none before `main`): an `OwnedFd` or `File`
/// still alive would be left naming a closed, reusable number.
pub fn close_fds_from(first: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments, no memory is passed; the caller
    // guarantees that no live object owns the descriptors closed.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if !matches!(err.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EINVAL)) {
        return Err(err);
    }
    // The directory's own descriptor is closed when the listing ends, before
    // the loop below runs, so it is never closed twice.
    let open: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd: &i32| fd >= 0 && fd as u32 >= first)
        .collect();
    for fd in open {
        // SAFETY: as above; a number that is no longer open (the listing's
        // own descriptor) only makes close fail with EBADF, which is ignored.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// md's `HOT_REMOVE_DISK` (`_IO(MD_MAJOR, 0x22)`) ioctl request number.
pub const MD_HOT_REMOVE_DISK: u64 = (9 << 8) | 0x22;
/// md's `HOT_ADD_DISK` (`_IO(MD_MAJOR, 0x28)`) ioctl request number (0.90
/// superblocks only; the kernel answers EINVAL for the others).
pub const MD_HOT_ADD_DISK: u64 = (9 << 8) | 0x28;

/// One of md's device-number ioctls ([`MD_HOT_REMOVE_DISK`],
/// [`MD_HOT_ADD_DISK`]) on the open md device `md`, for the member whose
/// device number is `dev`.
pub fn md_ioctl(md: &std::fs::File, request: u64, dev: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if request != MD_HOT_REMOVE_DISK && request != MD_HOT_ADD_DISK {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not an md device-number ioctl",
        ));
    }
    // SAFETY: both requests take the device number by value (an unsigned
    // long), not a pointer, so no memory is passed; the descriptor is
    // borrowed from a live `File` for the call.
    let rc = unsafe {
        libc::ioctl(
            md.as_raw_fd(),
            request as libc::c_ulong,
            dev as libc::c_ulong,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A tape drive's status word (`mt_gstat` of `MTIOCGET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapeStatus(pub u64);

impl TapeStatus {
    /// A tape is loaded and the drive is ready (`GMT_ONLINE`).
    pub fn online(self) -> bool {
        self.0 & 0x0100_0000 != 0
    }
    /// The tape is write protected (`GMT_WR_PROT`).
    pub fn write_protected(self) -> bool {
        self.0 & 0x0400_0000 != 0
    }
}

/// `struct mtget` of `<sys/mtio.h>`.
#[repr(C)]
#[derive(Default)]
struct MtGet {
    mt_type: libc::c_long,
    mt_resid: libc::c_long,
    mt_dsreg: libc::c_long,
    mt_gstat: libc::c_long,
    mt_erreg: libc::c_long,
    mt_fileno: libc::c_int,
    mt_blkno: libc::c_int,
}

/// `MTIOCGET`'s request number: `_IOR('m', 2, struct mtget)`.
fn mtiocget() -> u64 {
    let size = std::mem::size_of::<MtGet>() as u64;
    (2u64 << 30) | (size << 16) | (u64::from(b'm') << 8) | 2
}

/// `MTIOCGET` on the open tape device
/// `tape`: its general status word.
pub fn tape_status(tape: &std::fs::File) -> io::Result<TapeStatus> {
    use std::os::fd::AsRawFd;
    let request = mtiocget();
    let mut mt = MtGet::default();
    // SAFETY: MTIOCGET writes one `struct mtget` into the pointer, which
    // points at a live, properly laid out `MtGet`; the fd is open for the
    // call (borrowed from `tape`).
    let rc = unsafe {
        libc::ioctl(
            tape.as_raw_fd(),
            request as libc::c_ulong,
            &mut mt as *mut MtGet,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TapeStatus(mt.mt_gstat as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_a_plausible_date() {
        let t = local_time(0);
        assert!(t.year == 1970 || t.year == 1969);
        assert!(t.month >= 1 && t.month <= 12);
    }

    #[test]
    fn syslog_takes_percent_signs_literally() {
        // Would crash or print garbage if passed as a format.
        syslog(libc::LOG_DEBUG, "statmon test %s%s%n");
    }

    #[test]
    fn md_ioctls_on_a_non_md_file_fail_cleanly() {
        let f = tempfile::tempfile().unwrap();
        let err = md_ioctl(&f, MD_HOT_ADD_DISK, 0x0810).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
        let err = md_ioctl(&f, 0x1234, 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!((MD_HOT_REMOVE_DISK, MD_HOT_ADD_DISK), (0x922, 0x928));
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn mtiocget_is_the_kernels_number() {
        // <linux/mtio.h> on a 64-bit ABI: a 48-byte struct mtget.
        assert_eq!(mtiocget(), 0x8030_6d02);
    }
}
