//! Building the C test clients at test time: rpcgen stubs from `.x` files,
//! compiled against libtirpc (see `smclient.rs`, `nlmclient.rs`).

use super::prereq::Need;
use std::path::Path;
use std::process::Command;

/// Where libtirpc's headers live on Debian.
pub const TIRPC_INCLUDE: &str = "/usr/include/tirpc";

/// The package's root directory.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What building a client from the system's `system_x` needs (see
/// [`super::prereq::require`]).
pub fn needs(system_x: &'static str) -> [Need; 5] {
    [
        Need::Tool("rpcgen"),
        Need::Tool("cc"),
        Need::Tool("cpp"),
        Need::TirpcHeaders,
        Need::File(system_x),
    ]
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
