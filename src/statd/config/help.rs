//! Each dialect's whole option table ([`Dialect::options`]) and rpc.statd's
//! help text ([`usage`]), put together from the shared options
//! (`options.rs`) and the dialects' own letters (`seed.rs`,
//! `nfs_utils.rs`).

use super::dialect::{Dialect, DIALECT_ENV};
use super::options::{SHARED, SHARED_SYNOPSIS};
use super::{nfs_utils, seed};
use crate::daemon::args::{self as cli, Opt};

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
