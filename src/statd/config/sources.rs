//! Everything [`parse`] combines the arguments with, and
//! where it comes from: which configuration files ([`ConfSource`], from
//! `--config`: [`conf_source`]) and their reading with the environment
//! ([`Sources::load`], this module's only I/O). sm-notify reads the same.

use super::dialect::Dialect;
use crate::daemon::args::{self as cli, Opt};
use crate::daemon::nfsconf::{self, ConfWarning, NfsConf};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[cfg(doc)]
use super::{parse, Config, NO_NOTIFY_ENV};

/// Which configuration files to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfSource {
    /// nfs-utils' files: `/etc/nfs.conf` and `/etc/nfs.conf.d/*.conf`
    /// (see [`nfsconf::load_system`]); none needs to exist.
    System,
    /// `--config FILE`: only that file (it must exist), no `.d` directory.
    File(PathBuf),
}

/// Everything besides the arguments that [`parse`] combines them with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// The environment: [`NO_NOTIFY_ENV`] and the targets of `$NAME` values.
    pub env: BTreeMap<String, String>,
    /// The configuration files' assignments.
    pub conf: NfsConf,
    /// What was wrong in the files (unreadable includes, bad lines).
    pub conf_warnings: Vec<ConfWarning>,
}

impl Sources {
    /// Reads the process environment and the configuration `src` names.
    /// This is the module's only I/O. An error is a message to print.
    pub fn load(prog: &str, src: &ConfSource) -> Result<Sources, String> {
        let loaded = match src {
            ConfSource::System => nfsconf::load_system(Path::new(nfsconf::SYSTEM_FILE)),
            ConfSource::File(f) => nfsconf::load_files(f, None),
        };
        let (conf, conf_warnings) = loaded.map_err(|e| format!("{prog}: config file: {e}"))?;
        let env = std::env::vars_os()
            .map(|(k, v)| (lossy(k), lossy(v)))
            .collect();
        Ok(Sources {
            env,
            conf,
            conf_warnings,
        })
    }

    /// The warnings of [`Sources::load`], as text: the first of a
    /// configuration's [`conf_warnings`](Config::conf_warnings).
    pub(super) fn load_warnings(&self) -> Vec<String> {
        self.conf_warnings.iter().map(|w| w.to_string()).collect()
    }
}

fn lossy(s: OsString) -> String {
    s.to_string_lossy().into_owned()
}

/// The configuration the arguments ask for: [`ConfSource::File`] for the
/// last `--config FILE`, else [`ConfSource::System`] (also when the
/// arguments are bad: [`parse`] reports that).
pub fn conf_source(prog: &str, dialect: Dialect, args: &[OsString]) -> ConfSource {
    conf_source_in(prog, &dialect.options(), args)
}

/// [`conf_source`] for the options of `table` (which has
/// [`CONFIG`](super::options::CONFIG)): rpc.statd's and sm-notify's.
pub(super) fn conf_source_in(prog: &str, table: &[Opt], args: &[OsString]) -> ConfSource {
    match cli::parse(prog, table, args) {
        Ok(m) => match m.opt_strs("config").pop() {
            Some(f) if !f.is_empty() => ConfSource::File(PathBuf::from(f)),
            _ => ConfSource::System,
        },
        Err(_) => ConfSource::System,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::config::testutil::{args, SEED};

    #[test]
    fn conf_source_follows_config_flag() {
        let src = |v: &[&str]| conf_source("rpc.statd", SEED, &args(v));
        assert_eq!(src(&[]), ConfSource::System);
        assert_eq!(src(&["--config", "/a"]), ConfSource::File("/a".into()));
        assert_eq!(
            src(&["--config=/a", "--config=/b"]),
            ConfSource::File("/b".into())
        );
        assert_eq!(
            src(&["-P", "--config"]),
            ConfSource::System,
            "-P's argument"
        );
        assert_eq!(src(&["--config="]), ConfSource::System);
        assert_eq!(
            src(&["--config=/a", "-z"]),
            ConfSource::System,
            "bad arguments"
        );
    }

    #[test]
    fn sources_load_reads_the_named_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("statd.conf");
        std::fs::write(&file, "[statd]\nport = 662\nnope\n").unwrap();
        std::fs::create_dir(tmp.path().join("statd.conf.d")).unwrap();
        std::fs::write(tmp.path().join("statd.conf.d/a.conf"), "[statd]\nport=1\n").unwrap();
        let s = Sources::load("rpc.statd", &ConfSource::File(file.clone())).unwrap();
        assert_eq!(s.conf.get("statd", "port"), Some("662"), "no .d directory");
        assert_eq!(s.conf_warnings.len(), 1);
        let missing = ConfSource::File(tmp.path().join("absent"));
        let e = Sources::load("rpc.statd", &missing).unwrap_err();
        assert!(e.starts_with("rpc.statd: config file: "), "{e}");
    }
}
