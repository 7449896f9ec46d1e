//! A userspace NFSv3 lock client from the system's own RPC toolchain:
//! `compat/c/nlmclient.c` linked with the `rpcgen -C` XDR routines of
//! `compat/c/nfs3_nlm4.x` (MOUNT3, NFS3 CREATE and NLM4, from RFC 1813) and
//! of `/usr/include/rpcsvc/mount.x`, and with libtirpc.
//!
//! [`NlmClient::build`] compiles it at most once per test process (and reuses
//! a build of the same sources from an earlier run: the binary lives in
//! `target/tmp/nlmclient-<hash of the inputs>/`). Nothing generated is kept in
//! the source tree. Its tools (rpcgen, cc, cpp, the libtirpc headers, the
//! system `mount.x`) are prerequisites decided by `prereq::require`: without
//! them `build` returns `None` and the test is skipped and counted (or fails
//! under CI); a build that fails with the tools present fails the test.
//!
//! One run mounts an export, creates (or reuses) a file in its root and makes
//! one NLM4 call on it (see the head of `nlmclient.c`); [`Outcome`] is what
//! it printed.

use super::cbuild::{needs, root, run_tool, TIRPC_INCLUDE};
use super::prereq;
use super::sandbox::Sandbox;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SYSTEM_MOUNT_X: &str = "/usr/include/rpcsvc/mount.x";

/// NLM4 status values ([`Outcome::Nlm4`]).
pub const NLM4_GRANTED: i32 = 0;
pub const NLM4_DENIED: i32 = 1;
pub const NLM4_DENIED_NOLOCKS: i32 = 2;

/// The NLM4 call to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// NLM4_LOCK, exclusive, not blocking, whole file.
    Lock,
    /// NLM4_TEST, exclusive, whole file.
    Test,
    /// NLM4_UNLOCK, whole file.
    Unlock,
}

impl Op {
    fn arg(self) -> &'static str {
        match self {
            Op::Lock => "lock",
            Op::Test => "test",
            Op::Unlock => "unlock",
        }
    }
}

/// Who asks: the lock's caller_name, svid and the NSM state it reports.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub caller: &'a str,
    pub svid: i32,
    pub state: i32,
}

/// What one run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The NLM4 call was answered: status number and name, and for a denied
    /// test the holder's `(svid, oh)`.
    Nlm4 {
        stat: i32,
        name: String,
        holder: Option<(i32, String)>,
    },
    /// A step (`mnt`, `create`, `nlm4`) failed.
    Error { step: String, text: String },
}

impl Outcome {
    /// The NLM4 status, if the call was answered.
    pub fn stat(&self) -> Option<i32> {
        match self {
            Outcome::Nlm4 { stat, .. } => Some(*stat),
            Outcome::Error { .. } => None,
        }
    }
}

/// One run: the file handle it locked (hex) and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub fh: Option<String>,
    pub outcome: Outcome,
}

/// The built client.
#[derive(Debug)]
pub struct NlmClient {
    exe: PathBuf,
}

impl NlmClient {
    /// The client, built on first use in this process; `None` when the
    /// tools to build it are missing (the skip is recorded, see
    /// `prereq::require`). Panics if the build fails.
    pub fn build() -> Option<&'static NlmClient> {
        if !prereq::require(&needs(SYSTEM_MOUNT_X)) {
            return None;
        }
        static BUILT: OnceLock<Result<NlmClient, String>> = OnceLock::new();
        match BUILT.get_or_init(build_client) {
            Ok(client) => Some(client),
            Err(why) => panic!("nlmclient: {why}"),
        }
    }

    /// Runs `nlmclient SERVER EXPORT FILE OP CALLER SVID STATE` inside `sb`.
    /// Panics on a usage error or output it cannot parse (a broken test,
    /// not a result).
    pub fn run(
        &self,
        sb: &Sandbox,
        server: &str,
        export: &str,
        file: &str,
        op: Op,
        owner: Owner<'_>,
    ) -> Run {
        let args = [
            server.to_string(),
            export.to_string(),
            file.to_string(),
            op.arg().to_string(),
            owner.caller.to_string(),
            owner.svid.to_string(),
            owner.state.to_string(),
        ];
        let out = sb
            .command(&self.exe)
            .args(&args)
            .output()
            .expect("run nlmclient");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let fh = stdout
            .lines()
            .find_map(|l| l.strip_prefix("fh "))
            .map(str::to_string);
        let outcome = stdout.lines().find_map(parse_outcome);
        match outcome {
            Some(outcome) if out.status.code() != Some(2) => Run { fh, outcome },
            _ => panic!(
                "nlmclient {args:?}: status {:?}, stdout {stdout:?}, stderr {:?}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

/// `nlm4 NAME N [holder SVID OH]` or `error STEP TEXT`.
fn parse_outcome(line: &str) -> Option<Outcome> {
    if let Some(rest) = line.strip_prefix("error ") {
        let (step, text) = rest.split_once(' ').unwrap_or((rest, ""));
        return Some(Outcome::Error {
            step: step.to_string(),
            text: text.to_string(),
        });
    }
    let mut f = line.strip_prefix("nlm4 ")?.splitn(5, ' ');
    let name = f.next()?.to_string();
    let stat = f.next()?.parse().ok()?;
    let holder = match f.next() {
        Some("holder") => Some((f.next()?.parse().ok()?, f.next().unwrap_or("").to_string())),
        Some(_) => return None,
        None => None,
    };
    Some(Outcome::Nlm4 { stat, name, holder })
}

/// Builds (or finds the earlier build of) the client.
fn build_client() -> Result<NlmClient, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let source = read(&root().join("compat/c/nlmclient.c"))?;
    let nfs3_nlm4_x = read(&root().join("compat/c/nfs3_nlm4.x"))?;
    let mount_x = read(Path::new(SYSTEM_MOUNT_X))?;
    let mut h = DefaultHasher::new();
    (&source, &nfs3_nlm4_x, &mount_x).hash(&mut h);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let home = tmp.join(format!("nlmclient-{:016x}", h.finish()));
    let exe = home.join("nlmclient");
    if exe.is_file() {
        return Ok(NlmClient { exe });
    }

    let work = tempfile::Builder::new()
        .prefix("nlmclient-build-")
        .tempdir_in(tmp)
        .map_err(|e| format!("tempdir: {e}"))?;
    let dir = work.path();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).map_err(|e| format!("{name}: {e}"))
    };
    write("mount.x", &mount_x)?;
    write("nfs3_nlm4.x", &nfs3_nlm4_x)?;
    let rpcgen = |flag: &str, out: &str, x: &str| {
        run_tool(
            Command::new("rpcgen")
                .current_dir(dir)
                .args(["-C", flag, "-o", out, x]),
        )
    };
    rpcgen("-h", "mount.h", "mount.x")?;
    rpcgen("-c", "mount_xdr.c", "mount.x")?;
    rpcgen("-h", "nfs3_nlm4.h", "nfs3_nlm4.x")?;
    rpcgen("-c", "nfs3_nlm4_xdr.c", "nfs3_nlm4.x")?;
    run_tool(
        Command::new("cc")
            .current_dir(dir)
            .arg(format!("-I{TIRPC_INCLUDE}"))
            .arg("-I.")
            .arg("-o")
            .arg("nlmclient")
            .arg(root().join("compat/c/nlmclient.c"))
            .args(["nfs3_nlm4_xdr.c", "mount_xdr.c", "-ltirpc"]),
    )?;

    // Publish the finished directory in one step; if another process got
    // there first, use its copy.
    let built = work.keep();
    if std::fs::rename(&built, &home).is_err() {
        let _ = std::fs::remove_dir_all(&built);
    }
    if exe.is_file() {
        Ok(NlmClient { exe })
    } else {
        Err(format!("{} missing after the build", exe.display()))
    }
}
