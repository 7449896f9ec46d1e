//! rpc.statd's option tables: the helpers that build an [`Opt`], the
//! options both dialects share (and the ones sm-notify shares with them),
//! each dialect's full table ([`Dialect::options`]) and the help text
//! ([`usage`]). The letters of each dialect are in `seed.rs` and
//! `nfs_utils.rs`.

use super::dialect::{Dialect, DIALECT_ENV};
use super::{nfs_utils, seed};
use crate::daemon::args::{self as cli, Arg, Opt};

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
const SHARED: &[Opt] = &[
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
const SHARED_SYNOPSIS: &str = "[--store-format nfs-utils|apple] [--config file]\n       \
    [--no-embedded-portmap] [--notify-schedule spec]\n       \
    [--notify-give-up time|never] [--notify-window n]\n       \
    [--max-connections n] [--max-record-size bytes] [--idle-timeout time]";

impl Dialect {
    /// The letters only this dialect has, or that mean something else in
    /// the other.
    fn letters(self) -> &'static [Opt] {
        match self {
            Dialect::NfsUtils => nfs_utils::LETTERS,
            Dialect::Seed => seed::LETTERS,
        }
    }

    /// The long options of the other dialect's letters that this one
    /// takes in long form only.
    fn long_only(self) -> &'static [Opt] {
        match self {
            Dialect::NfsUtils => nfs_utils::LONG,
            Dialect::Seed => seed::LONG,
        }
    }

    /// Every option of this dialect: the usage text follows this order.
    pub fn options(self) -> Vec<Opt> {
        let mut all = self.letters().to_vec();
        all.extend_from_slice(SHARED);
        all.extend_from_slice(self.long_only());
        all
    }

    fn synopsis(self) -> &'static str {
        match self {
            Dialect::NfsUtils => nfs_utils::SYNOPSIS,
            Dialect::Seed => seed::SYNOPSIS,
        }
    }
}

/// The help text of `dialect`: its synopsis and options, then which
/// dialect this is, how to choose the other, and what the other's letters
/// mean.
pub fn usage(prog: &str, dialect: Dialect) -> String {
    let synopsis = dialect.synopsis().replace("SHARED", SHARED_SYNOPSIS);
    let mut out = cli::usage(prog, &synopsis, &dialect.options());
    let platform = Dialect::platform();
    let other = dialect.other();
    out.push_str(&format!(
        "\nDialect: {} ({}).\n\
         Choose with --dialect=seed|nfs-utils as the first argument,\n\
         or {DIALECT_ENV}=seed|nfs-utils in the environment.\n\
         In the {} dialect, these letters mean (the long forms, but\n\
         --no-syslog and --notify-mode, work in both):\n",
        dialect.name(),
        if dialect == platform {
            "the default here".to_string()
        } else {
            format!("the default here is {}", platform.name())
        },
        other.name(),
    ));
    out.push_str(&cli::options_text(other.letters()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::config::testutil::{NFS, SEED};

    #[test]
    fn usage_names_every_option() {
        let u = usage("rpc.statd", SEED);
        for o in SEED.options() {
            assert!(u.contains(o.help), "{}", o.help);
        }
        assert!(u.contains("-o, --outgoing-port PORT"));
        assert!(u.contains("--store-format nfs-utils|apple"));
        assert!(u.contains("-N, --forget HOST"));
        assert!(u.contains("-l | -L | -N hostname"));
        let u = usage("rpc.statd", NFS);
        for o in NFS.options() {
            assert!(u.contains(o.help), "{}", o.help);
        }
        assert!(u.contains("-T, --nlm-port PORT"));
        assert!(u.contains("--list | --watch | --forget hostname"));
    }

    #[test]
    fn usage_shows_both_dialects_and_how_to_switch() {
        for d in [SEED, NFS] {
            let u = usage("rpc.statd", d);
            assert!(u.contains(&format!("Dialect: {}", d.name())), "{u}");
            assert!(u.contains("--dialect=seed|nfs-utils"), "{u}");
            assert!(u.contains("STATMON_DIALECT=seed|nfs-utils"), "{u}");
            assert!(u.contains(&format!("In the {} dialect", d.other().name())));
            // The other dialect's letters are listed too.
            for o in d.other().letters() {
                assert!(u.contains(o.help), "{d:?}: {}", o.help);
            }
        }
        assert!(usage("rpc.statd", Dialect::platform()).contains("(the default here)"));
        let other = Dialect::platform().other();
        assert!(usage("rpc.statd", other).contains("the default here is"));
    }
}
