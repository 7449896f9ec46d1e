//! An NSM client from the system's own RPC toolchain: `compat/c/smclient.c`
//! linked with the `rpcgen -C` client stubs and XDR routines of
//! `/usr/include/rpcsvc/sm_inter.x` and with libtirpc, so statd is driven by
//! the code classic C clients run.
//!
//! [`SmClient::build`] compiles it at most once per test process (and reuses
//! a build of the same sources from an earlier run: the binary lives in
//! `target/tmp/smclient-<hash of the inputs>/`). Nothing generated is kept in
//! the source tree. Its tools (rpcgen, cc, cpp, the libtirpc headers, the
//! system `.x` file) are prerequisites decided by `prereq::require`: without
//! them `build` returns `None` and the test is skipped and counted (or fails
//! under CI); a build that fails with the tools present fails the test.
//!
//! The C program takes `[-r] [-b SRCADDR] [-t SECONDS] HOST PORT udp|tcp
//! PROC ARGS...` (see the head of `smclient.c`) and prints one result line,
//! which [`Reply`] parses.

use super::cbuild::{needs, root, run_tool, TIRPC_INCLUDE};
use super::prereq;
use super::sandbox::Sandbox;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const SYSTEM_SM_INTER: &str = "/usr/include/rpcsvc/sm_inter.x";

/// `clnt_stat` values that tests look for in [`Reply::RpcErr`].
pub const RPC_CANTRECV: i32 = 4;
pub const RPC_TIMEDOUT: i32 = 5;
pub const RPC_AUTHERROR: i32 = 7;
pub const RPC_PROGUNAVAIL: i32 = 8;
pub const RPC_PROGVERSMISMATCH: i32 = 9;
pub const RPC_PROCUNAVAIL: i32 = 10;
pub const RPC_CANTDECODEARGS: i32 = 11;
pub const RPC_SYSTEMERROR: i32 = 12;

/// What one `smclient` run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `ok void`: NULL, SM_SIMU_CRASH or SM_NOTIFY answered.
    Void,
    /// `ok res_stat=N state=N`: the `sm_stat_res` of SM_STAT or SM_MON.
    StatRes { res_stat: i32, state: i32 },
    /// `ok state=N`: the `sm_stat` of SM_UNMON or SM_UNMON_ALL.
    State(i32),
    /// `rpcerr STAT TEXT`: libtirpc's `clnt_stat` and `clnt_sperror` text.
    RpcErr { stat: i32, text: String },
}

impl Reply {
    /// Parses the result line; `None` if it is none of the forms above.
    pub fn parse(line: &str) -> Option<Reply> {
        let line = line.trim_end();
        if line == "ok void" {
            return Some(Reply::Void);
        }
        if let Some(rest) = line.strip_prefix("rpcerr ") {
            let (stat, text) = rest.split_once(' ').unwrap_or((rest, ""));
            return Some(Reply::RpcErr {
                stat: stat.parse().ok()?,
                text: text.to_string(),
            });
        }
        let fields: Vec<&str> = line.strip_prefix("ok ")?.split(' ').collect();
        let value = |f: &str, key: &str| f.strip_prefix(key)?.parse::<i32>().ok();
        match fields.as_slice() {
            [r, s] => Some(Reply::StatRes {
                res_stat: value(r, "res_stat=")?,
                state: value(s, "state=")?,
            }),
            [s] => Some(Reply::State(value(s, "state=")?)),
            _ => None,
        }
    }

    /// Whether the call got no answer in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Reply::RpcErr { stat, .. } if *stat == RPC_TIMEDOUT)
    }
}

/// One run: the parsed reply and the client's local address after the call
/// (from its `src ADDR PORT` line on stderr; an unbound UDP client shows
/// `0.0.0.0` or `::` with the port the kernel chose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub reply: Reply,
    pub src: Option<SocketAddr>,
}

/// The built client.
#[derive(Debug)]
pub struct SmClient {
    exe: PathBuf,
}

impl SmClient {
    /// The client, built on first use in this process; `None` when the
    /// tools to build it are missing (the skip is recorded, see
    /// `prereq::require`). Panics if the build fails.
    pub fn build() -> Option<&'static SmClient> {
        if !prereq::require(&needs(SYSTEM_SM_INTER)) {
            return None;
        }
        static BUILT: OnceLock<Result<SmClient, String>> = OnceLock::new();
        match BUILT.get_or_init(build_client) {
            Ok(client) => Some(client),
            Err(why) => panic!("smclient: {why}"),
        }
    }

    /// Path of the executable.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// `smclient ARGS` run inside `sb`.
    pub fn command(&self, sb: &Sandbox, args: &[&str]) -> Command {
        let mut c = sb.command(&self.exe);
        c.args(args);
        c
    }

    /// Runs `smclient ARGS` inside `sb` and parses its reply. Panics on a
    /// usage error or output it cannot parse (a broken test, not a result).
    pub fn run(&self, sb: &Sandbox, args: &[&str]) -> Reply {
        self.run_full(sb, args).reply
    }

    /// `smclient OPTS 127.0.0.1 PORT udp REST` inside `sb`, parsed as
    /// [`SmClient::run`] does.
    pub fn local_udp(&self, sb: &Sandbox, port: &str, opts: &[&str], rest: &[&str]) -> Reply {
        let mut args: Vec<&str> = opts.to_vec();
        args.extend(["127.0.0.1", port, "udp"]);
        args.extend_from_slice(rest);
        self.run(sb, &args)
    }

    /// Whether the statd on 127.0.0.1:`port` answers SM_NULL over UDP
    /// within a second.
    pub fn answers_null(&self, sb: &Sandbox, port: &str) -> bool {
        self.local_udp(sb, port, &["-t", "1"], &["null"]) == Reply::Void
    }

    /// As [`SmClient::run`], also reporting the local address used.
    pub fn run_full(&self, sb: &Sandbox, args: &[&str]) -> Run {
        let out = self.command(sb, args).output().expect("run smclient");
        parse_output(args, &out)
    }
}

/// The 32 lower-case hex digits smclient takes for a `priv`.
pub fn priv_hex(cookie: &[u8; 16]) -> String {
    cookie.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_output(args: &[&str], out: &Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reply = match stdout.lines().next().and_then(Reply::parse) {
        Some(reply) if out.status.code() != Some(2) => reply,
        _ => panic!(
            "smclient {args:?}: status {:?}, stdout {stdout:?}, stderr {stderr:?}",
            out.status
        ),
    };
    let src = stderr.lines().find_map(|l| {
        let mut f = l.strip_prefix("src ")?.split(' ');
        let ip: std::net::IpAddr = f.next()?.parse().ok()?;
        Some(SocketAddr::new(ip, f.next()?.parse().ok()?))
    });
    Run { reply, src }
}

/// Builds (or finds the earlier build of) the client.
fn build_client() -> Result<SmClient, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let source = read(&root().join("compat/c/smclient.c"))?;
    let stat_chge_x = read(&root().join("compat/c/stat_chge.x"))?;
    let sm_inter_x = read(Path::new(SYSTEM_SM_INTER))?;
    let mut h = DefaultHasher::new();
    (&source, &stat_chge_x, &sm_inter_x).hash(&mut h);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let home = tmp.join(format!("smclient-{:016x}", h.finish()));
    let exe = home.join("smclient");
    if exe.is_file() {
        return Ok(SmClient { exe });
    }

    let work = tempfile::Builder::new()
        .prefix("smclient-build-")
        .tempdir_in(tmp)
        .map_err(|e| format!("tempdir: {e}"))?;
    let dir = work.path();
    std::fs::write(dir.join("sm_inter.x"), &sm_inter_x).map_err(|e| e.to_string())?;
    let rpcgen = |flag: &str, out: &str, x: &str| {
        run_tool(
            Command::new("rpcgen")
                .current_dir(dir)
                .args(["-C", flag, "-o", out, x]),
        )
    };
    rpcgen("-h", "sm_inter.h", "sm_inter.x")?;
    rpcgen("-c", "sm_inter_xdr.c", "sm_inter.x")?;
    rpcgen("-l", "sm_inter_clnt.c", "sm_inter.x")?;
    let mut cc = Command::new("cc");
    cc.current_dir(dir)
        .arg(format!("-I{TIRPC_INCLUDE}"))
        .arg("-I.")
        .arg("-o")
        .arg("smclient")
        .arg(root().join("compat/c/smclient.c"))
        .args(["sm_inter_clnt.c", "sm_inter_xdr.c"]);
    // Newer sm_inter.x copies (nfs-utils') declare stat_chge themselves.
    if !String::from_utf8_lossy(&sm_inter_x).contains("stat_chge") {
        std::fs::write(dir.join("stat_chge.x"), &stat_chge_x).map_err(|e| e.to_string())?;
        rpcgen("-h", "stat_chge.h", "stat_chge.x")?;
        rpcgen("-c", "stat_chge_xdr.c", "stat_chge.x")?;
        cc.arg("-DEXTRA_HEADER=\"stat_chge.h\"")
            .arg("stat_chge_xdr.c");
    }
    cc.arg("-ltirpc");
    run_tool(&mut cc)?;

    // Publish the finished directory in one step; if another process got
    // there first, use its copy.
    let built = work.keep();
    if std::fs::rename(&built, &home).is_err() {
        let _ = std::fs::remove_dir_all(&built);
    }
    if exe.is_file() {
        Ok(SmClient { exe })
    } else {
        Err(format!("{} missing after the build", exe.display()))
    }
}
