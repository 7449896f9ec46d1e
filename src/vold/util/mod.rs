//! The utilities: [`voladm`] (vold and its databases, through the
//! diagnostic rendezvous), [`volmake`] (creates records), [`voledit`]
//! (changes and removes them) and [`volprint`] (prints them). They share the exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | a bad option or argument |
//! | 2 | vold refused or failed the operation |
//! | 3 | vold is not running, or not enabled (volmake, volprint) |

pub mod voladm;
pub mod voledit;
pub mod volmake;
pub mod volprint;

/// Whether `args` is just `-V` or `--version`; then the version is
/// printed (the caller exits 0).
pub fn version(prog: &str, args: &[std::ffi::OsString]) -> bool {
    let asked = matches!(args, [a] if a == "-V" || a == "--version");
    if asked {
        println!("{prog} (statmon) version {}", env!("CARGO_PKG_VERSION"));
    }
    asked
}

/// Success.
pub const EXIT_OK: i32 = 0;
/// Bad usage.
pub const EXIT_USAGE: i32 = 1;
/// vold said no.
pub const EXIT_FAILED: i32 = 2;
/// vold is not there (or not enabled).
pub const EXIT_NO_VOLD: i32 = 3;
