//! The high-availability callout (`-H prog`, nfs.conf `[statd] ha-callout`).
//!
//! nfs-utils (`support/include/ha-callout.h`, called from
//! `utils/statd/monitor.c` and `callback.c`) runs the program with `execl`,
//! so without a shell, with `argv[0]` exactly as configured:
//!
//! | event | argv |
//! |---|---|
//! | SM_MON recorded | `prog add-client <mon_name> <my_name>` |
//! | SM_UNMON / each SM_UNMON_ALL match | `prog del-client <mon_name> <my_name>` |
//! | SM_NOTIFY received | `prog sm-notify <mon_name> <sender address> <state>` |
//!
//! The state is printed as C's `%d` of the signed 32-bit value, and a
//! negative state is left out altogether (nfs-utils passes `NULL` there);
//! the sender address is `getnameinfo(NI_NUMERICHOST)` of the caller's
//! address (see [`present_address`]). Names reach the program as raw bytes,
//! cut at the first NUL as a C string would be: `mon_name` in `sm-notify` comes
//! from the network, so scripts must quote their arguments.
//!
//! nfs-utils calls `execl`, which does not search `PATH`: a relative program
//! name is relative to its working directory, which `nsm_drop_privileges`
//! set to the state directory. [`HaCallout`] resolves a relative name against
//! the state directory and runs the program there.
//!
//! nfs-utils forks the program and waits for it before going on (SM_MON's
//! reply, SM_NOTIFY's callbacks come after the callout has finished); the
//! commands built here run through a [`crate::daemon::children::ChildQueue`].

use crate::portmap::is_link_scoped;
use std::ffi::{OsStr, OsString};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The configured HA callout program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaCallout {
    /// `argv[0]`: the program exactly as configured.
    name: OsString,
    /// What is executed: `name`, made absolute against `state_dir`.
    program: PathBuf,
    /// The program's working directory.
    state_dir: PathBuf,
}

impl HaCallout {
    /// The callout `prog` (as given with `-H`), for a daemon whose state
    /// directory is `state_dir`.
    pub fn new(prog: &OsStr, state_dir: &Path) -> HaCallout {
        HaCallout {
            name: prog.to_os_string(),
            program: state_dir.join(prog),
            state_dir: state_dir.to_path_buf(),
        }
    }

    /// `prog add-client <mon_name> <my_name>`, after an SM_MON is recorded.
    pub fn add_client(&self, mon_name: &[u8], my_name: &[u8]) -> Command {
        self.command("add-client", mon_name, my_name, None)
    }

    /// `prog del-client <mon_name> <my_name>`, for each monitor an SM_UNMON
    /// or SM_UNMON_ALL removes.
    pub fn del_client(&self, mon_name: &[u8], my_name: &[u8]) -> Command {
        self.command("del-client", mon_name, my_name, None)
    }

    /// `prog sm-notify <mon_name> <sender> <state>`, for every SM_NOTIFY
    /// received (before looking for matching monitors). A negative `state`
    /// is left out, as nfs-utils does.
    pub fn sm_notify(&self, mon_name: &[u8], sender: SocketAddr, state: i32) -> Command {
        let sender = present_address(sender);
        self.command("sm-notify", mon_name, sender.as_bytes(), Some(state))
    }

    fn command(&self, event: &str, arg1: &[u8], arg2: &[u8], state: Option<i32>) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.arg0(&self.name)
            .arg(event)
            .arg(c_string(arg1))
            .arg(c_string(arg2))
            .current_dir(&self.state_dir);
        if let Some(state) = state.filter(|s| *s >= 0) {
            cmd.arg(state.to_string());
        }
        cmd
    }
}

/// `bytes` as a C program would see them: up to the first NUL.
fn c_string(bytes: &[u8]) -> &OsStr {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    OsStr::from_bytes(&bytes[..end])
}

/// The caller's address as glibc's `getnameinfo(…, NI_NUMERICHOST)` prints
/// it, which is what nfs-utils passes to the callout.
///
/// IPv4 is dotted decimal. IPv6 follows glibc's `inet_ntop`: the longest
/// (first on a tie) run of two or more zero groups becomes `::`, and an
/// address whose first 80 bits are zero and next 16 are `ffff`, or whose
/// first 96 bits are zero (other than `::` and `::N` written as groups),
/// ends in dotted decimal. A non-zero scope id follows a `%`: the interface
/// name for a link-local unicast or multicast address when the interface
/// exists (and its name is UTF-8), else the number. A v4-mapped IPv6
/// address is printed as plain IPv4: nfs-utils' listeners are
/// `IPV6_V6ONLY`, so it only ever sees IPv4 callers as such.
pub fn present_address(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => {
            if let Some(v4) = a.ip().to_ipv4_mapped() {
                return IpAddr::V4(v4).to_string();
            }
            let host = ntop6(a.ip());
            match a.scope_id() {
                0 => host,
                scope => {
                    let name = is_link_scoped(a.ip()).then(|| interface_name(scope));
                    match name.flatten() {
                        Some(name) => format!("{host}%{name}"),
                        None => format!("{host}%{scope}"),
                    }
                }
            }
        }
    }
}

/// `if_indextoname(3)`: the name of interface `index`, if there is one.
fn interface_name(index: u32) -> Option<String> {
    use rustix::net::{netdevice, AddressFamily, SocketFlags, SocketType};
    let sock = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .ok()?;
    netdevice::index_to_name(&sock, index).ok()
}

/// glibc's `inet_ntop(AF_INET6, …)`.
fn ntop6(ip: &Ipv6Addr) -> String {
    let words = ip.segments();
    // Longest run of zero words; the first wins a tie; shorter than 2 is none.
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < words.len() {
        if words[i] != 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < words.len() && words[i] == 0 {
            i += 1;
        }
        let len = i - start;
        if len >= 2 && best.is_none_or(|(_, l)| len > l) {
            best = Some((start, len));
        }
    }
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if let Some((start, len)) = best {
            if (start..start + len).contains(&i) {
                if i == start {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        let embeds_v4 = i == 6
            && match best {
                Some((0, 6)) => true,
                Some((0, 5)) => words[5] == 0xffff,
                _ => false,
            };
        if embeds_v4 {
            let o = ip.octets();
            out.push_str(&format!("{}.{}.{}.{}", o[12], o[13], o[14], o[15]));
            return out;
        }
        out.push_str(&format!("{word:x}"));
    }
    if matches!(best, Some((start, len)) if start + len == words.len()) {
        out.push(':');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV6};

    fn argv(cmd: &Command) -> Vec<Vec<u8>> {
        let mut v = vec![cmd.get_program().as_bytes().to_vec()];
        v.extend(cmd.get_args().map(|a| a.as_bytes().to_vec()));
        v
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn callout() -> HaCallout {
        HaCallout::new(
            OsStr::new("/usr/lib/ha/statd-callout"),
            Path::new("/var/lib/nfs"),
        )
    }

    #[test]
    fn add_and_del_client_argv() {
        let c = callout();
        let add = c.add_client(b"client.example", b"server");
        assert_eq!(
            argv(&add),
            strs(&[
                "/usr/lib/ha/statd-callout",
                "add-client",
                "client.example",
                "server"
            ])
        );
        let del = c.del_client(b"client.example", b"server");
        assert_eq!(
            argv(&del),
            strs(&[
                "/usr/lib/ha/statd-callout",
                "del-client",
                "client.example",
                "server"
            ])
        );
        assert_eq!(add.get_current_dir(), Some(Path::new("/var/lib/nfs")));
    }

    #[test]
    fn sm_notify_argv_has_sender_and_state() {
        let c = callout();
        let from = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 1), 800));
        let cmd = c.sm_notify(b"peer", from, 7);
        assert_eq!(
            argv(&cmd),
            strs(&[
                "/usr/lib/ha/statd-callout",
                "sm-notify",
                "peer",
                "127.0.0.1",
                "7"
            ])
        );
        let big = c.sm_notify(b"peer", from, i32::MAX);
        assert_eq!(argv(&big)[4], b"2147483647");
    }

    #[test]
    fn negative_state_is_left_out() {
        let from = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 800));
        let cmd = callout().sm_notify(b"peer", from, -1);
        assert_eq!(
            argv(&cmd),
            strs(&[
                "/usr/lib/ha/statd-callout",
                "sm-notify",
                "peer",
                "127.0.0.2"
            ])
        );
    }

    #[test]
    fn names_pass_as_raw_bytes_cut_at_nul() {
        let cmd = callout().add_client(b"a b;$(x)\xff\n", b"my\0hidden");
        let args = argv(&cmd);
        assert_eq!(args[2], b"a b;$(x)\xff\n");
        assert_eq!(args[3], b"my");
    }

    #[test]
    fn relative_program_runs_from_the_state_directory() {
        let c = HaCallout::new(OsStr::new("callout"), Path::new("/var/lib/nfs"));
        let mut cmd = c.del_client(b"m", b"n");
        assert_eq!(cmd.get_program(), OsStr::new("/var/lib/nfs/callout"));
        assert_eq!(cmd.get_current_dir(), Some(Path::new("/var/lib/nfs")));
        // argv[0] stays as configured: run something that prints it.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("callout");
        std::fs::write(&script, "#!/bin/sh\nprintf '%s|' \"$0\" \"$@\"; pwd\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let c = HaCallout::new(OsStr::new("callout"), dir.path());
        cmd = c.add_client(b"mon", b"my");
        let out = cmd.output().unwrap();
        let pwd = dir.path().canonicalize().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{}|add-client|mon|my|{}\n", script.display(), pwd.display())
        );
    }

    #[test]
    fn ipv4_and_mapped_senders_print_as_dotted_quads() {
        let v4 = SocketAddr::from((Ipv4Addr::new(192, 0, 2, 10), 1));
        assert_eq!(present_address(v4), "192.0.2.10");
        let mapped = SocketAddr::from((Ipv4Addr::new(192, 0, 2, 10).to_ipv6_mapped(), 1));
        assert_eq!(present_address(mapped), "192.0.2.10");
    }

    #[test]
    fn ipv6_matches_glibc_inet_ntop() {
        // Expected strings are glibc's inet_ntop output.
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("::2", "::2"),
            ("::1:0", "::0.1.0.0"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:0:1:0:0:1:1", "1::1:0:0:1:1"),
            ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
            ("fe80::1", "fe80::1"),
            ("2001:db8::", "2001:db8::"),
            ("1::", "1::"),
            ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
            ("0:0:1::", "0:0:1::"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
            ("2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"),
        ];
        for (input, want) in cases {
            let ip: Ipv6Addr = input.parse().unwrap();
            assert_eq!(ntop6(&ip), want, "{input}");
            let sa = SocketAddr::V6(SocketAddrV6::new(ip, 111, 0, 0));
            if ip.to_ipv4_mapped().is_none() {
                assert_eq!(present_address(sa), want, "{input}");
            }
        }
    }

    #[test]
    fn ipv4_mapped_forms_inside_ntop6() {
        let ip: Ipv6Addr = "::ffff:1.2.3.4".parse().unwrap();
        assert_eq!(ntop6(&ip), "::ffff:1.2.3.4");
        let ip: Ipv6Addr = "::ffff:255.255.0.0".parse().unwrap();
        assert_eq!(ntop6(&ip), "::ffff:255.255.0.0");
    }

    fn scoped(ip: &str, scope: u32) -> String {
        let ip: Ipv6Addr = ip.parse().unwrap();
        present_address(SocketAddr::V6(SocketAddrV6::new(ip, 111, 0, scope)))
    }

    #[test]
    fn link_local_scope_prints_the_interface_name() {
        let lo: u32 = std::fs::read_to_string("/sys/class/net/lo/ifindex")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(scoped("fe80::1", lo), "fe80::1%lo");
        assert_eq!(scoped("febf::1", lo), "febf::1%lo");
        assert_eq!(scoped("ff02::1", lo), "ff02::1%lo");
        assert_eq!(scoped("ff12::1", lo), "ff12::1%lo");
    }

    #[test]
    fn other_scopes_print_the_number() {
        // No such interface.
        assert_eq!(scoped("fe80::1", 999_999), "fe80::1%999999");
        // Not link-local: never a name.
        let lo = 1;
        assert_eq!(scoped("2001:db8::1", lo), "2001:db8::1%1");
        assert_eq!(scoped("fec0::1", lo), "fec0::1%1");
        assert_eq!(scoped("ff05::1", lo), "ff05::1%1");
        assert_eq!(scoped("fe80::1", 0), "fe80::1");
    }
}
