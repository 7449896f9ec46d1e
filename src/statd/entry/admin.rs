//! The seed's administration commands, which never start a daemon:
//!
//! - `rpc.statd -l`: list each host of the store with its status;
//! - `rpc.statd -L`: the same, then report every change until killed;
//! - `rpc.statd -N host`: clear the host's needs-notification status, so
//!   that the notifier stops trying it.
//!
//! Listing reads the store without writing anything ([`peek`]) plus the
//! notifier's progress sidecar ([`progress`]), so it is safe next to a
//! running daemon. Clearing changes the store only when no daemon holds
//! the state directory (its lock, [`lock::LOCK_FILE`]); otherwise the
//! request goes to the daemon: the host's name is appended to the spool
//! [`FORGET_FILE`] and the daemon, sent `SIGUSR2`, takes it with
//! [`take_forget_requests`].
//!
//! Output: the listing on stdout, problems on stderr.
//!
//! (Longer than 600 lines only with its tests: the three commands are
//! about 500 lines.)

use crate::daemon::{clock, durable, lock, spool};
use crate::statd::config::{Admin, AdminOp, Config};
use crate::statd::glue::forget_spool::{append_forget_request, FORGET_FILE};
use crate::statd::glue::startup;
use crate::statd::notify::progress::{self, HostProgress};
use crate::statd::record::{host_eq, Change, Effect, HostEntry};
use crate::statd::store::peek::{peek, Peeked};
use crate::statd::store::StoreFormat;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// How often `-L` looks again.
const WATCH_PERIOD: Duration = Duration::from_secs(1);

const PROG: &str = "rpc.statd";

/// Runs an administration command; returns the exit status.
pub fn run(admin: &Admin) -> i32 {
    match &admin.op {
        AdminOp::List => list(admin),
        AdminOp::Watch => watch(admin),
        AdminOp::Clear(host) => clear(admin, host),
    }
}

/// One host as listed: what `-L` compares between two looks.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostView {
    name: Vec<u8>,
    monitored: bool,
    needs_notify: bool,
    /// The registrations, as (my_name, prog, vers, proc).
    registrations: Vec<(Vec<u8>, u32, u32, u32)>,
    /// nfs-utils: the identities (my_name) to notify the host as.
    notify_as: Vec<Vec<u8>>,
    /// The notifier's progress, for a host that needs notification.
    progress: Option<HostProgress>,
}

/// What one look at the state directory found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Snapshot {
    state: Option<i32>,
    hosts: Vec<HostView>,
    problems: Vec<String>,
}

/// Combines the store with the sidecar's entries (matched by name,
/// case-insensitively; a later entry wins).
fn views(hosts: &[HostEntry], progress: &[HostProgress]) -> Vec<HostView> {
    hosts
        .iter()
        .map(|h| HostView {
            name: h.name.clone(),
            monitored: h.monitored,
            needs_notify: h.needs_notify,
            registrations: h
                .registrations
                .iter()
                .map(|r| (r.my_name.clone(), r.my_prog, r.my_vers, r.my_proc))
                .collect(),
            notify_as: distinct(h.notify.iter().map(|r| r.my_name.clone())),
            progress: h
                .needs_notify
                .then(|| progress.iter().rev().find(|p| host_eq(&p.host, &h.name)))
                .flatten()
                .cloned(),
        })
        .collect()
}

/// The names in order of first appearance, case-insensitively distinct.
fn distinct(names: impl Iterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for n in names {
        if !out.iter().any(|o| host_eq(o, &n)) {
            out.push(n);
        }
    }
    out
}

fn show(name: &[u8]) -> String {
    progress::escape_host(name)
}

fn join(names: &[Vec<u8>]) -> String {
    names.iter().map(|n| show(n)).collect::<Vec<_>>().join(", ")
}

/// `4m10s`, `2h5m`, `1d3h`, `12s`.
fn human(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h{}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// One host's line (and, with `verbosity` > 0, one line per registration).
fn render(v: &HostView, now_unix: u64, verbosity: u32) -> String {
    let status = match (v.monitored, v.needs_notify) {
        (true, true) => "monitored, needs notification",
        (true, false) => "monitored",
        (false, true) => "needs notification",
        (false, false) => "not monitored",
    };
    let mut line = format!("{}: {status}", show(&v.name));
    if !v.registrations.is_empty() {
        let by = distinct(v.registrations.iter().map(|r| r.0.clone()));
        line.push_str(&format!(
            "; {} registration(s) by {}",
            v.registrations.len(),
            join(&by)
        ));
    }
    if v.needs_notify && !v.notify_as.is_empty() {
        line.push_str(&format!("; notify as {}", join(&v.notify_as)));
    }
    if let Some(s) = v.progress.as_ref().and_then(|p| p.last_state) {
        line.push_str(&format!("; last state {s}"));
    }
    match &v.progress {
        Some(p) if v.needs_notify => {
            line.push_str(&format!("; {} round(s) tried", p.rounds));
            match p.next_unix {
                None => line.push_str(", given up"),
                Some(n) if n > now_unix => {
                    line.push_str(&format!(", next try in {}", human(n - now_unix)))
                }
                Some(_) => line.push_str(", next try due now"),
            }
        }
        None if v.needs_notify => line.push_str("; not tried yet"),
        _ => {}
    }
    if verbosity > 0 {
        for (my_name, prog, vers, proc_) in &v.registrations {
            line.push_str(&format!(
                "\n    registered by {}: program {prog} version {vers} procedure {proc_}",
                show(my_name)
            ));
        }
    }
    line
}

fn summary(s: &Snapshot) -> String {
    let state = s
        .state
        .map_or_else(|| "unknown".to_string(), |v| v.to_string());
    let monitored = s.hosts.iter().filter(|h| h.monitored).count();
    let to_notify = s.hosts.iter().filter(|h| h.needs_notify).count();
    format!("state {state}: {monitored} monitored, {to_notify} to notify")
}

/// The full listing: one line per host, then the summary.
fn listing(s: &Snapshot, now_unix: u64, verbosity: u32) -> String {
    let mut out = String::new();
    for h in &s.hosts {
        out.push_str(&render(h, now_unix, verbosity));
        out.push('\n');
    }
    out.push_str(&summary(s));
    out.push('\n');
    out
}

/// One line per change from `old` to `new`: `+ host...` added, `- host`
/// removed, `~ host...` changed, and a state change.
fn changes(old: &Snapshot, new: &Snapshot, now_unix: u64, verbosity: u32) -> Vec<String> {
    let mut out = Vec::new();
    if old.state != new.state {
        let show_state = |s: Option<i32>| s.map_or_else(|| "unknown".into(), |v| v.to_string());
        out.push(format!(
            "state {} -> {}",
            show_state(old.state),
            show_state(new.state)
        ));
    }
    for h in &old.hosts {
        if !new.hosts.iter().any(|n| n.name == h.name) {
            out.push(format!("- {}", show(&h.name)));
        }
    }
    for h in &new.hosts {
        match old.hosts.iter().find(|o| o.name == h.name) {
            None => out.push(format!("+ {}", render(h, now_unix, verbosity))),
            Some(o) if o != h => out.push(format!("~ {}", render(h, now_unix, verbosity))),
            Some(_) => {}
        }
    }
    out
}

/// Reads the progress sidecar (missing: no entries).
fn read_progress(dir: &Path, problems: &mut Vec<String>) -> Vec<HostProgress> {
    let path = dir.join(progress::FILE_NAME);
    match durable::read_optional(&path, spool::MAX_SPOOL) {
        Ok(None) => Vec::new(),
        Ok(Some(bytes)) => {
            let d = progress::decode(&bytes);
            for n in d.bad_lines {
                problems.push(format!("{}: line {n} cannot be read", path.display()));
            }
            d.entries
        }
        Err(e) => {
            problems.push(format!("{}: {e}", path.display()));
            Vec::new()
        }
    }
}

fn snapshot(admin: &Admin) -> io::Result<Snapshot> {
    let marks: &[&str] = match admin.store {
        StoreFormat::NfsUtils => &["sm", "sm.bak", "state"],
        StoreFormat::Apple => &[crate::statd::store::APPLE_STATUS_FILE],
    };
    if !marks.iter().any(|m| admin.state_dir.join(m).exists()) {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no monitor store here (no {})", marks.join(", no ")),
        ));
    }
    let Peeked {
        state,
        hosts,
        mut problems,
    } = peek(admin.store, &admin.state_dir)?;
    let progress = read_progress(
        &startup::private_dir(admin.store, &admin.state_dir),
        &mut problems,
    );
    Ok(Snapshot {
        state,
        hosts: views(&hosts, &progress),
        problems,
    })
}

fn list(admin: &Admin) -> i32 {
    match snapshot(admin) {
        Ok(s) => {
            for p in &s.problems {
                eprintln!("{PROG}: {p}");
            }
            print!("{}", listing(&s, clock::unix_now(), admin.verbosity));
            0
        }
        Err(e) => {
            eprintln!(
                "{PROG}: cannot read the store in {}: {e}",
                admin.state_dir.display()
            );
            1
        }
    }
}

fn watch(admin: &Admin) -> i32 {
    let mut last = match snapshot(admin) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "{PROG}: cannot read the store in {}: {e}",
                admin.state_dir.display()
            );
            return 1;
        }
    };
    for p in &last.problems {
        eprintln!("{PROG}: {p}");
    }
    print!("{}", listing(&last, clock::unix_now(), admin.verbosity));
    let _ = io::stdout().flush();
    let mut last_error: Option<String> = None;
    loop {
        std::thread::sleep(WATCH_PERIOD);
        let next = match snapshot(admin) {
            Ok(s) => {
                last_error = None;
                s
            }
            Err(e) => {
                let msg = format!("cannot read the store: {e}");
                if last_error.as_ref() != Some(&msg) {
                    eprintln!("{PROG}: {msg}");
                    last_error = Some(msg);
                }
                continue;
            }
        };
        for p in next.problems.iter().filter(|p| !last.problems.contains(p)) {
            eprintln!("{PROG}: {p}");
        }
        let lines = changes(&last, &next, clock::unix_now(), admin.verbosity);
        if !lines.is_empty() {
            let mut out = io::stdout().lock();
            for l in &lines {
                let _ = writeln!(out, "{l}");
            }
            if out.flush().is_err() {
                // Nobody reads any more (a closed pipe): stop.
                return 0;
            }
        }
        last = next;
    }
}

/// Who holds the state directory.
enum Holder {
    /// Nobody did; we hold it until this is dropped.
    Us(lock::DirLock),
    /// A daemon, with the pid its lock file names (if readable).
    Daemon(Option<i32>),
}

fn holder(dir: &Path) -> io::Result<Holder> {
    match lock::lock_dir(dir) {
        Ok(lock) => Ok(Holder::Us(lock)),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let pid = std::fs::read_to_string(dir.join(lock::LOCK_FILE))
                .ok()
                .and_then(|t| t.split_whitespace().next()?.parse::<i32>().ok())
                .filter(|p| *p > 0);
            Ok(Holder::Daemon(pid))
        }
        Err(e) => Err(e),
    }
}

fn clear(admin: &Admin, host: &[u8]) -> i32 {
    let peeked = match peek(admin.store, &admin.state_dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "{PROG}: cannot read the store in {}: {e}",
                admin.state_dir.display()
            );
            return 1;
        }
    };
    let Some(entry) = peeked
        .hosts
        .iter()
        .find(|h| h.needs_notify && host_eq(&h.name, host))
    else {
        eprintln!(
            "{PROG}: {} does not need notification",
            progress::escape_host(host)
        );
        return 1;
    };
    match holder(&admin.state_dir) {
        Ok(Holder::Daemon(pid)) => ask_daemon(
            &startup::private_dir(admin.store, &admin.state_dir),
            &entry.name,
            pid,
        ),
        Ok(Holder::Us(lock)) => {
            let status = clear_in_store(admin, host);
            drop(lock);
            status
        }
        Err(e) => {
            eprintln!("{PROG}: cannot lock {}: {e}", admin.state_dir.display());
            1
        }
    }
}

/// Appends `name` to the spool and signals the daemon.
fn ask_daemon(dir: &Path, name: &[u8], pid: Option<i32>) -> i32 {
    if let Err(e) = append_forget_request(dir, name) {
        eprintln!(
            "{PROG}: cannot write {}: {e}",
            dir.join(FORGET_FILE).display()
        );
        return 1;
    }
    let sent = pid
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| io::Error::other("the lock file names no process"))
        .and_then(|p| {
            rustix::process::kill_process(p, rustix::process::Signal::USR2).map_err(io::Error::from)
        });
    match sent {
        Ok(()) => {
            println!(
                "asked the running daemon (pid {}) to stop notifying {}",
                pid.unwrap_or(0),
                show(name)
            );
            0
        }
        Err(e) => {
            eprintln!(
                "{PROG}: {} holds the state directory but cannot be signalled ({e}); \
                 the request waits in {}",
                pid.map_or_else(|| "a daemon".to_string(), |p| format!("pid {p}")),
                dir.join(FORGET_FILE).display()
            );
            1
        }
    }
}

/// Clears `host` in the store itself (no daemon runs; we hold the lock).
fn clear_in_store(admin: &Admin, host: &[u8]) -> i32 {
    let cfg = Config {
        state_dir: admin.state_dir.clone(),
        store: admin.store,
        ..Config::default()
    };
    let owner_path = startup::records_owner(&cfg);
    let owner = std::fs::metadata(&owner_path)
        .ok()
        .map(|m| (m.uid(), m.gid()));
    let status_file = cfg.status_file();
    let mut store = cfg.store.open(&cfg.state_dir);
    let loaded = match store.load(&startup::boot_info()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{PROG}: cannot load the store: {e}");
            return 1;
        }
    };
    for d in &loaded.damage {
        eprintln!(
            "{PROG}: damaged store file {}: {}; kept {} record(s)",
            d.path.display(),
            d.what,
            d.kept
        );
    }
    let Some(name) = loaded
        .hosts
        .iter()
        .find(|h| h.needs_notify && host_eq(&h.name, host))
        .map(|h| h.name.clone())
    else {
        eprintln!("{PROG}: {} does not need notification", show(host));
        return 1;
    };
    let change = Change::NotifyDone {
        host: name.clone(),
        my_name: None,
    };
    match store.commit(&[change]) {
        Ok(effects)
            if effects
                .iter()
                .any(|e| matches!(e, Effect::Removed(n) if *n > 0)) =>
        {
            // The Apple status file is rewritten: keep it its owner's (the
            // daemon runs as that user).
            // (nfs-utils: clearing only removes `sm.bak/` files.)
            if let (StoreFormat::Apple, Some((uid, gid))) = (admin.store, owner) {
                let _ = std::os::unix::fs::chown(&status_file, Some(uid), Some(gid));
            }
            println!("cleared the needs-notification status of {}", show(&name));
            0
        }
        Ok(_) => {
            eprintln!("{PROG}: {} does not need notification", show(host));
            1
        }
        Err(e) => {
            eprintln!("{PROG}: cannot update the store: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::record::Registration;

    fn reg(mon: &str, my: &str) -> Registration {
        Registration {
            mon_name: mon.into(),
            my_name: my.into(),
            my_prog: 100_021,
            my_vers: 4,
            my_proc: 16,
            cookie: [0; 16],
        }
    }

    fn entry(name: &str, monitored: bool, notify: bool) -> HostEntry {
        HostEntry {
            name: name.into(),
            monitored,
            needs_notify: notify,
            registrations: if monitored {
                vec![reg(name, "client1"), reg(name, "CLIENT1"), reg(name, "c2")]
            } else {
                Vec::new()
            },
            notify: if notify {
                vec![reg(name, "me.example")]
            } else {
                Vec::new()
            },
        }
    }

    fn progress_of(host: &str, rounds: u32, next: Option<u64>, state: Option<i32>) -> HostProgress {
        HostProgress {
            host: host.into(),
            since_unix: 1000,
            rounds,
            next_unix: next,
            last_state: state,
        }
    }

    #[test]
    fn lines_say_status_registrations_and_progress() {
        let hosts = [
            entry("hosta", true, false),
            entry("hostb", true, true),
            entry("hostc", false, true),
            entry("hostd", false, true),
        ];
        let prog = [
            progress_of("HOSTB", 3, Some(1250), Some(7)),
            progress_of("hostc", 44, None, None),
            progress_of("hosta", 1, Some(1), None),
        ];
        let s = Snapshot {
            state: Some(9),
            hosts: views(&hosts, &prog),
            problems: Vec::new(),
        };
        assert_eq!(s.hosts[0].progress, None, "only for hosts to notify");
        let text = listing(&s, 1000, 0);
        assert_eq!(
            text,
            "hosta: monitored; 3 registration(s) by client1, c2\n\
             hostb: monitored, needs notification; 3 registration(s) by client1, c2; \
             notify as me.example; last state 7; 3 round(s) tried, next try in 4m10s\n\
             hostc: needs notification; notify as me.example; 44 round(s) tried, given up\n\
             hostd: needs notification; notify as me.example; not tried yet\n\
             state 9: 2 monitored, 3 to notify\n"
        );
        let verbose = render(&s.hosts[0], 1000, 3);
        assert!(verbose.contains("\n    registered by c2: program 100021 version 4 procedure 16"));
        let empty = Snapshot::default();
        assert_eq!(
            listing(&empty, 0, 0),
            "state unknown: 0 monitored, 0 to notify\n"
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(0), "0s");
        assert_eq!(human(59), "59s");
        assert_eq!(human(250), "4m10s");
        assert_eq!(human(7300), "2h1m");
        assert_eq!(human(90_000), "1d1h");
    }

    #[test]
    fn changes_are_one_line_each() {
        let a = Snapshot {
            state: Some(3),
            hosts: views(
                &[entry("hosta", true, false), entry("hostb", false, true)],
                &[progress_of("hostb", 1, Some(1005), None)],
            ),
            problems: Vec::new(),
        };
        assert!(changes(&a, &a, 1000, 0).is_empty());
        // The clock alone changes nothing.
        assert!(changes(&a, &a, 1003, 0).is_empty());
        let b = Snapshot {
            state: Some(5),
            hosts: views(
                &[entry("hostb", false, true), entry("hostc", true, false)],
                &[progress_of("hostb", 2, Some(1010), None)],
            ),
            problems: Vec::new(),
        };
        assert_eq!(
            changes(&a, &b, 1000, 0),
            vec![
                "state 3 -> 5".to_string(),
                "- hosta".into(),
                "~ hostb: needs notification; notify as me.example; 2 round(s) tried, \
                 next try in 10s"
                    .into(),
                "+ hostc: monitored; 3 registration(s) by client1, c2".into(),
            ]
        );
    }
}
