//! rpc.statd's two command-line dialects and sm-notify's command line, run
//! as the built binary: `--help` (both dialects, exit 0), a bad option (its
//! message and one hint line, exit 1), each nfs-utils option recognised,
//! and the seed's `-l` listing a store when `STATMON_DIALECT=seed` selects
//! it. Nothing here starts a daemon: every run ends at parsing or at a
//! listing of a private temporary store.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const HINT: &str = "Try 'rpc.statd --help' for more information.\n";

/// `statmon rpc.statd ARGS` with no dialect in the environment (unless the
/// caller sets one) and no system configuration file.
fn statd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_statmon"));
    c.arg("rpc.statd")
        .args(args)
        .env_remove("STATMON_DIALECT")
        .env_remove("RPC_STATD_NO_NOTIFY");
    c
}

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A tiny nfs-utils store: `hostx` monitored (as nfs-utils writes a record
/// line), state 3.
fn store(dir: &Path) {
    fs::create_dir_all(dir.join("sm")).unwrap();
    fs::create_dir_all(dir.join("sm.bak")).unwrap();
    fs::write(
        dir.join("sm/hostx"),
        "0100007f 000186b5 00000004 00000010 \
         00000000000000000000000000000000 hostx myhost\n",
    )
    .unwrap();
    fs::write(dir.join("state"), 3i32.to_le_bytes()).unwrap();
}

#[test]
fn help_shows_both_dialects_and_exits_0() {
    for (env, first, other) in [
        (None, "nfs-utils", "seed"),
        (Some("seed"), "seed", "nfs-utils"),
        (Some("nfs-utils"), "nfs-utils", "seed"),
    ] {
        let mut c = statd(&["--help"]);
        if let Some(e) = env {
            c.env("STATMON_DIALECT", e);
        }
        let out = run(c);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let help = text(&out.stdout);
        if env.is_some() || cfg!(target_os = "linux") {
            assert!(help.contains(&format!("Dialect: {first}")), "{help}");
        }
        assert!(help.contains(&format!("In the {other} dialect")), "{help}");
        assert!(help.contains("--dialect=seed|nfs-utils"), "{help}");
        assert!(help.contains("STATMON_DIALECT=seed|nfs-utils"), "{help}");
        for letter in [
            "-N, --forget HOST",
            "-T, --nlm-port PORT",
            "-L, --no-notify",
        ] {
            assert!(help.contains(letter), "{letter}: {help}");
        }
    }
    for (flag, want) in [("-h", "Usage: rpc.statd"), ("-?", "Usage: rpc.statd")] {
        let out = run(statd(&["--dialect=seed", flag]));
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(text(&out.stdout).contains(want));
        assert!(text(&out.stdout).contains("Dialect: seed"));
    }
}

#[test]
fn a_bad_option_prints_one_hint_line_and_exits_1() {
    for (args, message) in [
        (&["-z"][..], "rpc.statd: invalid option -- 'z'\n"),
        (&["--bogus"], "rpc.statd: unrecognized option '--bogus'\n"),
        (&["-p", "70000"], "rpc.statd: invalid port number '70000'\n"),
        (
            &["-T", "0"],
            "rpc.statd: --nlm-port: invalid port number '0'\n",
        ),
        (&["-P", ""], "rpc.statd: empty state directory path\n"),
        (
            &["--dialect=bsd"],
            "rpc.statd: --dialect: unknown dialect 'bsd' (seed or nfs-utils)\n",
        ),
        (
            &["-F", "--dialect=seed"],
            "rpc.statd: --dialect must be the first argument\n",
        ),
    ] {
        let out = run(statd(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_eq!(text(&out.stderr), format!("{message}{HINT}"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let mut c = statd(&["-F"]);
    c.env("STATMON_DIALECT", "nope");
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(HINT), "{out:?}");
    // The seed's -l is no nfs-utils letter (on Linux, the default).
    if cfg!(target_os = "linux") {
        let out = run(statd(&["-l"]));
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            text(&out.stderr),
            format!("rpc.statd: invalid option -- 'l'\n{HINT}")
        );
    }
}

/// Each nfs-utils option, followed by a value that is refused: the error is
/// about that value, so the option itself was recognised (an unknown one
/// would be reported first) and no daemon starts.
#[test]
fn every_nfs_utils_option_is_recognised() {
    let poison = "--notify-window=0";
    let refused = "rpc.statd: --notify-window: '0' is not a number from 1 to 65536\n";
    let options: &[&[&str]] = &[
        &["-F"],
        &["--foreground"],
        &["-d"],
        &["--no-syslog"],
        &["-F", "-d"],
        &["-H", "/bin/true"],
        &["--ha-callout", "/bin/true"],
        &["-L"],
        &["--no-notify"],
        &["-n", "me.example"],
        &["--name", "me.example"],
        &["-N"],
        &["--notify-mode"],
        &["-o", "2020"],
        &["--outgoing-port", "2020"],
        &["-p", "2021"],
        &["--port", "2021"],
        &["-P", "/nonexistent"],
        &["--state-directory-path", "/nonexistent"],
        &["-T", "4045"],
        &["--nlm-port", "4045"],
        &["-U", "4046"],
        &["--nlm-udp-port", "4046"],
        &["--list"],
        &["--watch"],
        &["--forget", "hostx"],
        &["--notify-only"],
        &["--debug"],
    ];
    for opt in options {
        let mut args = vec!["--dialect=nfs-utils"];
        args.extend_from_slice(opt);
        args.push(poison);
        let out = run(statd(&args));
        assert_eq!(out.status.code(), Some(1), "{opt:?}: {out:?}");
        assert_eq!(text(&out.stderr), format!("{refused}{HINT}"), "{opt:?}");
    }
    for (flag, code) in [("-h", 0), ("-?", 0), ("--help", 0)] {
        let out = run(statd(&["--dialect=nfs-utils", flag, poison]));
        assert_eq!(out.status.code(), Some(code), "{flag}");
        assert!(text(&out.stdout).starts_with("Usage: rpc.statd"), "{flag}");
    }
    for flag in ["-v", "-V", "--version"] {
        let out = run(statd(&["--dialect=nfs-utils", flag]));
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(text(&out.stdout).contains("version"), "{flag}");
    }
}

#[test]
fn every_seed_option_is_recognised() {
    let poison = "--notify-window=0";
    let refused = "rpc.statd: --notify-window: '0' is not a number from 1 to 65536\n";
    for opt in [
        &["-d"][..],
        &["-n"],
        &["-l"],
        &["-L"],
        &["-N", "hostx"],
        &["-F"],
        &["--name", "x"],
        &["--no-notify"],
        &["--nlm-port", "1"],
    ] {
        let mut c = statd(opt);
        c.arg(poison).env("STATMON_DIALECT", "seed");
        let out = run(c);
        assert_eq!(out.status.code(), Some(1), "{opt:?}: {out:?}");
        assert_eq!(text(&out.stderr), format!("{refused}{HINT}"), "{opt:?}");
    }
    let out = run(statd(&["--dialect", "seed", "-T", "1"]));
    assert_eq!(
        text(&out.stderr),
        format!("rpc.statd: invalid option -- 'T'\n{HINT}")
    );
}

#[test]
fn seed_dialect_lists_a_store_with_dash_l() {
    let tmp = tempfile::tempdir().unwrap();
    store(tmp.path());
    let dir = tmp.path().to_str().unwrap();
    let mut c = statd(&["-l", "-P", dir, "--config", "/dev/null"]);
    c.env("STATMON_DIALECT", "seed");
    let seed = run(c);
    assert_eq!(seed.status.code(), Some(0), "{seed:?}");
    let listing = text(&seed.stdout);
    assert!(listing.contains("hostx"), "{listing}");
    // The same listing by flag, and by the long name in nfs-utils' dialect.
    let by_flag = run(statd(&[
        "--dialect=seed",
        "-l",
        "-P",
        dir,
        "--config",
        "/dev/null",
    ]));
    assert_eq!(text(&by_flag.stdout), listing);
    let long = run(statd(&[
        "--dialect=nfs-utils",
        "--list",
        "-P",
        dir,
        "--config",
        "/dev/null",
    ]));
    assert_eq!(long.status.code(), Some(0), "{long:?}");
    assert_eq!(text(&long.stdout), listing);
}

#[test]
fn a_state_directory_that_is_a_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    for args in [
        &["--list", "-P", f, "--config", "/dev/null"][..],
        &["-F", "-P", f, "--config", "/dev/null"],
    ] {
        let out = run(statd(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            text(&out.stderr),
            format!("rpc.statd: state directory {f}: not a directory\n")
        );
    }
}

#[test]
fn sm_notify_help_and_bad_option() {
    let sm = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_statmon"))
            .arg("sm-notify")
            .args(args)
            .output()
            .unwrap()
    };
    for flag in ["-h", "--help"] {
        let out = sm(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        let help = text(&out.stdout);
        for o in [
            "-d",
            "-f",
            "-m MINUTES",
            "-n",
            "-p PORT",
            "-P, --state-directory-path DIR",
            "-v ADDR",
        ] {
            assert!(help.contains(o), "{o}: {help}");
        }
    }
    let out = sm(&["-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "sm-notify: invalid option -- 'q'\nTry 'sm-notify --help' for more information.\n"
    );
    let out = sm(&["-m", "soon"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("sm-notify: -m: 'soon' is not a number of minutes\n"));
}
