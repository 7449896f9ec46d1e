//! Reading one section of nfs.conf the way rpc.statd (`[statd]`, `[lockd]`)
//! and sm-notify (`[sm-notify]`) both do ([`ConfSection`]): values with
//! `$NAME` expanded, each checked value that fails its check a warning
//! (`nfs.conf [SECTION] KEY = 'VALUE': WHY, ignored`) and left unset, ports
//! where 0 is unset, nfs-utils' booleans, the `debug` facilities, and one
//! warning for each key the section does not know.

use super::sources::Sources;
use super::values::debug_list;
use crate::daemon::nfsconf;
use std::fmt::Display;

/// rpc.statd's nfs.conf section (`[statd]`), which sm-notify reads too
/// (its state directory).
pub const STATD_SECTION: &str = "statd";

/// One section of the configuration in [`Sources`], and the warnings its
/// reading adds to.
pub(super) struct ConfSection<'a> {
    src: &'a Sources,
    name: &'a str,
    warnings: &'a mut Vec<String>,
}

impl<'a> ConfSection<'a> {
    /// `[name]` of `src`'s configuration; warnings go to `warnings`.
    pub(super) fn new(src: &'a Sources, name: &'a str, warnings: &'a mut Vec<String>) -> Self {
        ConfSection {
            src,
            name,
            warnings,
        }
    }

    /// `[name]` of the same configuration, with the same warnings.
    pub(super) fn other<'b>(&'b mut self, name: &'b str) -> ConfSection<'b> {
        ConfSection {
            src: self.src,
            name,
            warnings: self.warnings,
        }
    }

    /// The value of `key` ([`expanded`]).
    pub(super) fn get(&self, key: &str) -> Option<String> {
        expanded(self.src, self.name, key)
    }

    /// Warns that `value` of `key` is ignored, and `why`.
    fn bad(&mut self, key: &str, value: &str, why: &dyn Display) {
        self.warnings.push(format!(
            "nfs.conf [{}] {key} = '{value}': {why}, ignored",
            self.name
        ));
    }

    /// The value of `key` as `check` takes it; one it refuses is a warning
    /// (the error is the reason), and unset.
    pub(super) fn checked<T, E: Display>(
        &mut self,
        key: &str,
        check: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let value = self.get(key)?;
        match check(&value) {
            Ok(v) => Some(v),
            Err(why) => {
                self.bad(key, &value, &why);
                None
            }
        }
    }

    /// A port number; 0 is unset, as in nfs-utils.
    pub(super) fn port(&mut self, key: &str) -> Option<u16> {
        self.checked(key, port_value).flatten()
    }

    /// A boolean ([`nfsconf::parse_bool`]).
    pub(super) fn bool(&mut self, key: &str) -> Option<bool> {
        self.checked(key, |v| nfsconf::parse_bool(v).ok_or("not a boolean"))
    }

    /// `debug`: whether its facilities turn debugging on (false if unset);
    /// each unknown facility is a warning.
    pub(super) fn debug(&mut self) -> bool {
        let Some(value) = self.get("debug") else {
            return false;
        };
        debug_list(&value, &mut |kind| {
            self.bad("debug", kind, &"unknown debug facility")
        })
    }

    /// Warns about each key of the section that is not in `known`, once,
    /// naming the file and line that set it.
    pub(super) fn unknown_keys(&mut self, known: &[&str]) {
        let unknown = self.src.conf.unknown_keys(self.name, known);
        self.warnings.extend(unknown.iter().map(|w| w.to_string()));
    }
}

/// The value of `key` in `[section]`, `$NAME` resolved from the
/// environment, then from `[environment]`
/// ([`nfsconf::NfsConf::get_expanded`]).
pub(super) fn expanded(src: &Sources, section: &str, key: &str) -> Option<String> {
    let env = |name: &str| src.env.get(name).cloned();
    src.conf.get_expanded(section, key, &env)
}

/// A port number in nfs.conf: `None` for 0, which is unset.
pub(super) fn port_value(text: &str) -> Result<Option<u16>, &'static str> {
    match text.parse::<u16>() {
        Ok(0) => Ok(None),
        Ok(p) => Ok(Some(p)),
        Err(_) => Err("not a port number"),
    }
}
