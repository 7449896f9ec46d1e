//! Checks of single values, each shared by a flag and an nfs.conf key
//! (durations, counts, sizes, `debug` facilities, C's `atoi`), and the
//! command-line checks rpc.statd and sm-notify share. An error is the reason,
//! for the caller to put after the flag's or the key's name.

use super::model::{MAX_CONNECTIONS, MAX_NOTIFY_WINDOW, MAX_RECORD_LIMIT};
use crate::statd::notify::schedule;
use getopts::Matches;
use std::time::Duration;

/// What both programs refuse once help and version are ruled out: a stray
/// argument, an empty `--config`. The message to print on error.
pub(super) fn check_rest(prog: &str, m: &Matches) -> Result<(), String> {
    if let Some(extra) = m.free.first() {
        return Err(format!("{prog}: unexpected argument '{extra}'"));
    }
    nonempty(m, "config", "config file path").map_err(|e| format!("{prog}: {e}"))?;
    Ok(())
}

/// `never`, or a duration ([`schedule::parse_duration`]) above zero.
pub(super) fn parse_give_up(text: &str) -> Result<Option<Duration>, String> {
    if text.trim().eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    match schedule::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be above 0 (or never)".into()),
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(e.to_string()),
    }
}

/// A number in `low..=high`, blanks around it allowed.
fn number_in(text: &str, low: usize, high: usize) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{}' is not a number from {low} to {high}",
            text.escape_debug()
        )),
    }
}

/// A number in 1..=[`MAX_CONNECTIONS`].
pub(super) fn parse_connections(text: &str) -> Result<usize, String> {
    number_in(text, 1, MAX_CONNECTIONS)
}

/// A number in 512..=[`MAX_RECORD_LIMIT`].
pub(super) fn parse_record(text: &str) -> Result<usize, String> {
    number_in(text, 512, MAX_RECORD_LIMIT)
}

/// A duration ([`schedule::parse_duration`]) above zero.
pub(super) fn parse_idle(text: &str) -> Result<Duration, String> {
    match schedule::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be above 0".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A number in 1..=[`MAX_NOTIFY_WINDOW`].
pub(super) fn parse_window(text: &str) -> Result<usize, String> {
    number_in(text, 1, MAX_NOTIFY_WINDOW)
}

/// The last value of `opt`; an empty one is an error about `what`.
pub(super) fn nonempty(m: &Matches, opt: &str, what: &str) -> Result<Option<String>, String> {
    match m.opt_strs(opt).pop() {
        Some(v) if v.is_empty() => Err(format!("empty {what}")),
        v => Ok(v),
    }
}

/// C `atoi(s) > 0`: blanks, an optional sign, then the digits up to the
/// first non-digit. A number too big for an `int` counts as positive (glibc
/// would truncate it).
pub(super) fn atoi_positive(s: &str) -> bool {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    !negative
        && digits
            .bytes()
            .take_while(u8::is_ascii_digit)
            .any(|d| d != b'0')
}

/// An nfs.conf `debug` value (comma-separated facilities): whether it turns
/// debugging on; each unknown facility is passed to `unknown`.
pub(super) fn debug_list(value: &str, unknown: &mut dyn FnMut(&str)) -> bool {
    let mut on = false;
    for kind in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        match debug_facility(kind) {
            Some(b) => on |= b,
            None => unknown(kind),
        }
    }
    on
}

/// nfs-utils' debug facilities: whether `kind` turns debugging on (all but
/// `0` do; we have one debug level), `None` if unknown.
fn debug_facility(kind: &str) -> Option<bool> {
    const ON: &[&str] = &["general", "call", "auth", "parse", "all", "1"];
    if kind == "0" {
        Some(false)
    } else if ON.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_list_reports_unknown_facilities() {
        let mut unknown = Vec::new();
        assert!(debug_list("call, loud,0", &mut |k| unknown.push(k.to_string())));
        assert_eq!(unknown, vec!["loud".to_string()]);
        assert!(!debug_list("0", &mut |_| {}));
    }

    #[test]
    fn atoi_like_nfs_utils() {
        for yes in ["1", " 2", "+3", "007", "12abc", "99999999999"] {
            assert!(atoi_positive(yes), "{yes}");
        }
        for no in ["", "0", "-1", "000", "abc", "+", " -5", "0x10"] {
            assert!(!atoi_positive(no), "{no}");
        }
    }
}
