//! The unit tests' shared helpers: arguments, [`Sources`] from a text, and
//! [`parse`] run in either dialect.

use super::{parse, Admin, Command, Config, Dialect, Sources};
use crate::daemon::nfsconf::NfsConf;
use std::ffi::OsString;

pub(super) const SEED: Dialect = Dialect::Seed;
pub(super) const NFS: Dialect = Dialect::NfsUtils;

pub(super) fn args(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

pub(super) fn sources(conf: &str, env: &[(&str, &str)]) -> Sources {
    let (conf, conf_warnings) = NfsConf::parse(conf);
    Sources {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        conf,
        conf_warnings,
    }
}

pub(super) fn run_in(d: Dialect, v: &[&str]) -> Result<Command, String> {
    parse("rpc.statd", d, &args(v), &Sources::default())
}

/// The seed dialect, explicitly: most older tests use its letters.
pub(super) fn run(v: &[&str]) -> Result<Command, String> {
    run_in(SEED, v)
}

pub(super) fn config_in(d: Dialect, v: &[&str], conf: &str, env: &[(&str, &str)]) -> Config {
    match parse("rpc.statd", d, &args(v), &sources(conf, env)) {
        Ok(Command::Run(c)) => c,
        other => panic!("{d:?} {v:?}: {other:?}"),
    }
}

pub(super) fn config_with(v: &[&str], conf: &str, env: &[(&str, &str)]) -> Config {
    config_in(SEED, v, conf, env)
}

pub(super) fn config(v: &[&str]) -> Config {
    config_with(v, "", &[])
}

pub(super) fn nfs(v: &[&str]) -> Config {
    config_in(NFS, v, "", &[])
}

pub(super) fn admin(v: &[&str]) -> Admin {
    match run(v) {
        Ok(Command::Admin(a)) => a,
        other => panic!("{v:?}: {other:?}"),
    }
}
