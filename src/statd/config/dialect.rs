//! Which meanings rpc.statd's letters have: the two dialects ([`Dialect`])
//! and how the command line or the environment picks one
//! ([`select_dialect`]).

use std::ffi::OsString;

/// `seed` or `nfs-utils`: the dialect, unless `--dialect` says otherwise.
pub const DIALECT_ENV: &str = "STATMON_DIALECT";

/// Which meanings the command line's letters have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// nfs-utils 2.6's rpc.statd(8): what Linux unit files and scripts pass.
    NfsUtils,
    /// The seed man page's rpc.statd(8) (macOS): `-d -n -l -L -N host`.
    Seed,
}

impl Dialect {
    /// The platform's dialect: the seed on macOS and the BSDs, nfs-utils
    /// elsewhere.
    pub fn platform() -> Dialect {
        if cfg!(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )) {
            Dialect::Seed
        } else {
            Dialect::NfsUtils
        }
    }

    /// `seed` or `nfs-utils` (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Dialect> {
        if name.eq_ignore_ascii_case("nfs-utils") {
            Some(Dialect::NfsUtils)
        } else if name.eq_ignore_ascii_case("seed") {
            Some(Dialect::Seed)
        } else {
            None
        }
    }

    /// The name [`Dialect::from_name`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::NfsUtils => "nfs-utils",
            Dialect::Seed => "seed",
        }
    }

    pub(super) fn other(self) -> Dialect {
        match self {
            Dialect::NfsUtils => Dialect::Seed,
            Dialect::Seed => Dialect::NfsUtils,
        }
    }
}

/// Takes the dialect off the front of `args`: `--dialect=NAME` or
/// `--dialect NAME` as the first argument, else `env` (the value of
/// [`DIALECT_ENV`]; empty counts as unset), else [`Dialect::platform`].
/// Returns it with the arguments that follow. `--dialect` anywhere else,
/// or an unknown name, is an error (a message to print).
pub fn select_dialect<'a>(
    prog: &str,
    args: &'a [OsString],
    env: Option<&str>,
) -> Result<(Dialect, &'a [OsString]), String> {
    let known = |name: &str, from: &str| {
        Dialect::from_name(name)
            .ok_or_else(|| format!("{prog}: {from}: unknown dialect '{name}' (seed or nfs-utils)"))
    };
    let first = args.first().map(|a| a.to_string_lossy());
    let (dialect, rest) = match first.as_deref() {
        Some("--dialect") => match args.get(1) {
            Some(name) => (known(&name.to_string_lossy(), "--dialect")?, &args[2..]),
            None => return Err(format!("{prog}: option '--dialect' requires an argument")),
        },
        Some(a) if a.starts_with("--dialect=") => {
            (known(&a["--dialect=".len()..], "--dialect")?, &args[1..])
        }
        _ => match env.filter(|v| !v.is_empty()) {
            Some(v) => (known(v, DIALECT_ENV)?, args),
            None => (Dialect::platform(), args),
        },
    };
    let later = rest.iter().take_while(|a| *a != "--").any(|a| {
        let a = a.to_string_lossy();
        a == "--dialect" || a.starts_with("--dialect=")
    });
    if later {
        return Err(format!("{prog}: --dialect must be the first argument"));
    }
    Ok((dialect, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::config::testutil::{args, NFS, SEED};

    fn pick(v: &[&str], env: Option<&str>) -> Result<(Dialect, Vec<String>), String> {
        let a = args(v);
        select_dialect("rpc.statd", &a, env).map(|(d, rest)| {
            (
                d,
                rest.iter()
                    .map(|s| s.to_string_lossy().into_owned())
                    .collect(),
            )
        })
    }

    #[test]
    fn dialect_by_flag_env_or_platform() {
        let plain = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            pick(&["--dialect=seed", "-l"], None),
            Ok((SEED, plain(&["-l"])))
        );
        assert_eq!(
            pick(&["--dialect", "nfs-utils", "-n", "x"], None),
            Ok((NFS, plain(&["-n", "x"])))
        );
        assert_eq!(pick(&["--dialect=Seed"], None), Ok((SEED, vec![])));
        assert_eq!(pick(&["-F"], Some("seed")), Ok((SEED, plain(&["-F"]))));
        assert_eq!(pick(&[], Some("nfs-utils")), Ok((NFS, vec![])));
        // The flag beats the environment; an empty variable is unset.
        assert_eq!(
            pick(&["--dialect=nfs-utils"], Some("seed")),
            Ok((NFS, vec![]))
        );
        assert_eq!(pick(&[], Some("")), Ok((Dialect::platform(), vec![])));
        assert_eq!(pick(&[], None), Ok((Dialect::platform(), vec![])));
        if cfg!(target_os = "linux") {
            assert_eq!(Dialect::platform(), NFS);
        }
        assert_eq!(
            pick(&["--dialect=bsd"], None),
            Err("rpc.statd: --dialect: unknown dialect 'bsd' (seed or nfs-utils)".into())
        );
        assert_eq!(
            pick(&[], Some("x")),
            Err("rpc.statd: STATMON_DIALECT: unknown dialect 'x' (seed or nfs-utils)".into())
        );
        assert_eq!(
            pick(&["--dialect"], None),
            Err("rpc.statd: option '--dialect' requires an argument".into())
        );
        assert_eq!(
            pick(&["-F", "--dialect=seed"], None),
            Err("rpc.statd: --dialect must be the first argument".into())
        );
        assert!(pick(&["--dialect=seed", "--dialect", "seed"], None).is_err());
        assert!(
            pick(&["-H", "--", "--dialect=seed"], None).is_ok(),
            "after --"
        );
    }
}
