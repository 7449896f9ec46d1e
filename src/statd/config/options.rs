//! rpc.statd's option building blocks: the helpers that build an
//! [`Opt`] and the options both dialects share (and the ones sm-notify
//! shares with them). The letters of each dialect are in `seed.rs` and
//! `nfs_utils.rs`; `help.rs` puts each dialect's table together.

use crate::daemon::args::{Arg, Opt};

/// A flag: no argument.
pub(super) const fn flag(short: &'static str, long: &'static str, help: &'static str) -> Opt {
    Opt {
        short,
        long,
        arg: Arg::None,
        help,
    }
}

/// An option with an argument, written `hint` in the help.
pub(super) const fn with_arg(
    short: &'static str,
    long: &'static str,
    hint: &'static str,
    help: &'static str,
) -> Opt {
    Opt {
        short,
        long,
        arg: Arg::Required(hint),
        help,
    }
}

/// `-h`, `--help`, in both dialects and in sm-notify.
pub(super) const HELP: Opt = flag("h", "help", "print this help and exit");

/// `--config FILE`, in both dialects and in sm-notify (see
/// [`conf_source`](super::conf_source)).
pub(super) const CONFIG: Opt = with_arg(
    "",
    "config",
    "FILE",
    "read FILE, not /etc/nfs.conf and /etc/nfs.conf.d",
);

/// Options with one meaning in both dialects.
pub(super) const SHARED: &[Opt] = &[
    with_arg("p", "port", "PORT", "listen on PORT (udp, tcp, udp6, tcp6)"),
    with_arg(
        "o",
        "outgoing-port",
        "PORT",
        "send reboot notifications from source PORT",
    ),
    with_arg(
        "P",
        "state-directory-path",
        "DIR",
        "state directory (default /var/lib/nfs; apple: /var/db)",
    ),
    with_arg(
        "H",
        "ha-callout",
        "PROG",
        "run PROG on every monitor change and reboot notice",
    ),
    with_arg(
        "",
        "store-format",
        "FORMAT",
        "nfs-utils (default) or apple (DIR/statd.status)",
    ),
    CONFIG,
    flag(
        "",
        "no-embedded-portmap",
        "never serve a portmapper of our own",
    ),
    with_arg(
        "",
        "notify-schedule",
        "SPEC",
        "reboot notification retries (default 10x5s,10x60s,*x1h)",
    ),
    with_arg(
        "",
        "notify-give-up",
        "TIME",
        "stop notifying a host after TIME (default 24h; never)",
    ),
    with_arg(
        "",
        "notify-window",
        "N",
        "notify at most N hosts at once (default 1024)",
    ),
    with_arg(
        "",
        "max-connections",
        "N",
        "keep at most N TCP connections per listener (default 1024)",
    ),
    with_arg(
        "",
        "max-record-size",
        "BYTES",
        "refuse TCP records longer than BYTES (default 9000)",
    ),
    with_arg(
        "",
        "idle-timeout",
        "TIME",
        "close TCP connections idle for TIME (default 5m)",
    ),
];

/// The synopsis of [`SHARED`], put in for `SHARED` in each dialect's.
pub(super) const SHARED_SYNOPSIS: &str =
    "[--store-format nfs-utils|apple] [--config file]\n       \
    [--no-embedded-portmap] [--notify-schedule spec]\n       \
    [--notify-give-up time|never] [--notify-window n]\n       \
    [--max-connections n] [--max-record-size bytes] [--idle-timeout time]";
