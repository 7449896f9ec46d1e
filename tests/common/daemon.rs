//! The one way the integration tests start statmon's rpc.statd as a
//! daemon in a sandbox: the test defaults
//!
//! ```text
//! statmon rpc.statd -F -d --config /dev/null [--no-embedded-portmap] -P DIR -p PORT EXTRA...
//! ```
//!
//! (in the foreground, debug logging, no system configuration file). The
//! builders return the [`Command`], so a caller can add `.env(...)`
//! (`STATMON_DIALECT` and the like) before [`Sandbox::spawn`]; an `EXTRA`
//! option given twice wins over the default (`--config FILE`).

use super::nsmraw;
use super::sandbox::Sandbox;
use super::smclient::SmClient;
use super::statd_command;
use std::fmt::Display;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The test defaults with `--no-embedded-portmap`: the daemon registers
/// with the sandbox's rpcbind if one answers, else it serves NSM
/// unregistered on `PORT`.
pub fn statd(sb: &Sandbox, dir: impl AsRef<Path>, port: impl Display, extra: &[&str]) -> Command {
    command(sb, dir.as_ref(), &port.to_string(), true, extra)
}

/// The test defaults without `--no-embedded-portmap`: with no rpcbind
/// answering, the daemon serves its own portmapper on port 111 (with a
/// running rpcbind it registers there, as [`statd`] does).
pub fn statd_may_embed(
    sb: &Sandbox,
    dir: impl AsRef<Path>,
    port: impl Display,
    extra: &[&str],
) -> Command {
    command(sb, dir.as_ref(), &port.to_string(), false, extra)
}

fn command(sb: &Sandbox, dir: &Path, port: &str, no_embedded: bool, extra: &[&str]) -> Command {
    let dir = dir.to_str().expect("utf-8 path");
    let mut args = vec!["-F", "-d", "--config", "/dev/null"];
    if no_embedded {
        args.push("--no-embedded-portmap");
    }
    args.extend(["-P", dir, "-p", port]);
    args.extend_from_slice(extra);
    statd_command(sb, &args)
}

/// Spawns `cmd` (a daemon listening on `port`) inside `sb`, logging to
/// `<sb dir>/LOG`, and waits (up to 10 s) until it answers SM_NULL on
/// 127.0.0.1:`port`. Returns its pid, or `None` (after the wait) if it
/// never answered (it stays registered with the sandbox, which kills it).
pub fn spawn_answering(sb: &mut Sandbox, cmd: Command, port: u16, log: &str) -> Option<u32> {
    let pid = sb.spawn(cmd, log);
    let ready = nsmraw::wait_answer(nsmraw::local(port), Duration::from_secs(10));
    ready.then_some(pid)
}

/// As [`spawn_answering`], but the SM_NULL call is `smc`'s, made from
/// inside the sandbox (the calling thread need not be there), and a daemon
/// that does not answer within 10 s fails the test with its log.
pub fn spawn_answering_smclient(
    sb: &mut Sandbox,
    smc: &SmClient,
    cmd: Command,
    port: &str,
    log: &str,
) -> u32 {
    let pid = sb.spawn(cmd, log);
    let up = sb.wait_until(10, || smc.answers_null(sb, port));
    assert!(up, "statd did not answer:\n{}", sb.log(log));
    pid
}

/// Starts [`statd`] on `dir` and `port` with `extra` inside `sb` and waits
/// for its SM_NULL answer, as [`spawn_answering`]. `dir` is normally the
/// distribution's layout (`layout::stock`, or `layout::apple_stock` for the
/// Apple store), so the daemon drops to `statd` as it would in use.
pub fn start_statd(
    sb: &mut Sandbox,
    dir: &Path,
    port: u16,
    extra: &[&str],
    log: &str,
) -> Option<u32> {
    let cmd = statd(sb, dir, port, extra);
    spawn_answering(sb, cmd, port, log)
}

/// Stops the daemon `pid` started in `sb` with SIGTERM and asserts that it
/// exits, with status 0 (the log `LOG` in the message otherwise).
pub fn stop_cleanly(sb: &mut Sandbox, pid: u32, log: &str) {
    let status = sb.stop(pid, libc::SIGTERM).expect("statd did not stop");
    assert_eq!(status.code(), Some(0), "statd log:\n{}", sb.log(log));
}
