//! Building the C test clients at test time: rpcgen stubs from `.x` files,
//! compiled against libtirpc (see `smclient.rs`, `nlmclient.rs`).

use std::path::Path;
use std::process::Command;

/// Where libtirpc's headers live on Debian.
pub const TIRPC_INCLUDE: &str = "/usr/include/tirpc";

/// The package's root directory.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn in_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// What is missing to build a client from the system's `system_x`, if
/// anything.
pub fn missing_tools(system_x: &str) -> Option<String> {
    let missing: Vec<&str> = [
        ("rpcgen", in_path("rpcgen")),
        ("cc", in_path("cc")),
        ("cpp", in_path("cpp")),
        (
            "libtirpc headers",
            Path::new(TIRPC_INCLUDE).join("rpc/rpc.h").is_file(),
        ),
        (system_x, Path::new(system_x).is_file()),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    (!missing.is_empty()).then(|| format!("missing {}", missing.join(", ")))
}

/// Runs a build step; its stderr on failure.
pub fn run_tool(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
