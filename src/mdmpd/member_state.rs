//! The small sysfs values of an md array (`/sys/block/mdX/md/`): a member's
//! `dev-XXX/state` ([`parse_member_state`]) and `dev-XXX/slot`
//! ([`parse_slot`]), the array's `array_state` ([`parse_array_state`]) and
//! `degraded` ([`parse_degraded`]).
//!
//! Pure: bytes as read in, values out; the trailing newline the kernel
//! writes and surrounding white space are ignored. Nothing panics, the work
//! is linear in the input, and words the kernel may add later are kept as
//! values, not errors (escaped for a log, at most [`MAX_UNKNOWN_WORDS`] of
//! them).

use crate::log::escape;
use std::fmt;

/// Most unknown `state` words kept; the rest are dropped.
pub const MAX_UNKNOWN_WORDS: usize = 16;

/// A member's `dev-XXX/state`: the comma-separated words of the kernel's
/// `state_show`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberState {
    /// `faulty`: failed (or has unacknowledged bad blocks).
    pub faulty: bool,
    /// `in_sync`: a working member of the array.
    pub in_sync: bool,
    /// `write_mostly` (`writemostly` in the documentation and in writes).
    pub write_mostly: bool,
    /// `blocked`: failed, waiting for user space to acknowledge it.
    pub blocked: bool,
    /// `spare`: neither faulty, journal nor in sync.
    pub spare: bool,
    /// `write_error`: a write error was seen.
    pub write_error: bool,
    /// `want_replacement`: to be replaced by a spare.
    pub want_replacement: bool,
    /// `replacement`: rebuilding as another member's replacement.
    pub replacement: bool,
    /// `external_bbl`: user space keeps the bad block list.
    pub external_bbl: bool,
    /// `journal`: a write journal device.
    pub journal: bool,
    /// `failfast`: I/O errors fail it at once.
    pub failfast: bool,
    /// Other words, escaped, in input order.
    pub unknown: Vec<String>,
}

/// Reads a `dev-XXX/state` value such as `faulty,write_error\n`. Empty
/// words (`in_sync,,spare`) are skipped.
pub fn parse_member_state(value: &[u8]) -> MemberState {
    let mut state = MemberState::default();
    for word in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
        let flag = match word {
            b"" => continue,
            b"faulty" => &mut state.faulty,
            b"in_sync" => &mut state.in_sync,
            b"write_mostly" | b"writemostly" => &mut state.write_mostly,
            b"blocked" => &mut state.blocked,
            b"spare" => &mut state.spare,
            b"write_error" => &mut state.write_error,
            b"want_replacement" => &mut state.want_replacement,
            b"replacement" => &mut state.replacement,
            b"external_bbl" => &mut state.external_bbl,
            b"journal" => &mut state.journal,
            b"failfast" => &mut state.failfast,
            _ => {
                if state.unknown.len() < MAX_UNKNOWN_WORDS {
                    state.unknown.push(escape(word));
                }
                continue;
            }
        };
        *flag = true;
    }
    state
}

/// An array's `md/array_state` (md.rst).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrayState {
    /// `clear`: no devices, no size, no level.
    Clear,
    /// `inactive`: has devices, not running.
    Inactive,
    /// `suspended`: running, all I/O blocked.
    Suspended,
    /// `readonly`: read-only, no resync.
    ReadOnly,
    /// `read-auto`: read-only until the first write.
    ReadAuto,
    /// `clean`: running, no pending writes.
    Clean,
    /// `active`: running, writes pending or in flight.
    Active,
    /// `write-pending`: a write waits for the metadata update.
    WritePending,
    /// `active-idle`: active, no writes for a while.
    ActiveIdle,
    /// `broken`: a raid0 or linear array lost a member.
    Broken,
    /// A word this parser does not know, escaped.
    Other(String),
}

impl ArrayState {
    /// Whether the array runs (has a personality and can do I/O).
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            Self::Suspended
                | Self::ReadOnly
                | Self::ReadAuto
                | Self::Clean
                | Self::Active
                | Self::WritePending
                | Self::ActiveIdle
                | Self::Broken
        )
    }
}

/// Reads `md/array_state`, e.g. `clean\n`.
pub fn parse_array_state(value: &[u8]) -> ArrayState {
    match value.trim_ascii() {
        b"clear" => ArrayState::Clear,
        b"inactive" => ArrayState::Inactive,
        b"suspended" => ArrayState::Suspended,
        b"readonly" => ArrayState::ReadOnly,
        b"read-auto" => ArrayState::ReadAuto,
        b"clean" => ArrayState::Clean,
        b"active" => ArrayState::Active,
        b"write-pending" => ArrayState::WritePending,
        b"active-idle" => ArrayState::ActiveIdle,
        b"broken" => ArrayState::Broken,
        other => ArrayState::Other(escape(other)),
    }
}

/// A sysfs value that is not what the attribute holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// The value (at most 64 bytes of it), escaped.
    pub text: String,
}

impl BadValue {
    fn of(value: &[u8]) -> BadValue {
        BadValue {
            text: escape(&value[..value.len().min(64)]),
        }
    }
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected sysfs value '{}'", self.text)
    }
}

/// Reads `md/degraded`: how many raid slots have no working member.
pub fn parse_degraded(value: &[u8]) -> Result<u32, BadValue> {
    decimal(value.trim_ascii()).ok_or_else(|| BadValue::of(value))
}

/// Reads `dev-XXX/slot`: the raid slot, `None` for `none` (a spare or a
/// failed member).
pub fn parse_slot(value: &[u8]) -> Result<Option<u32>, BadValue> {
    match value.trim_ascii() {
        b"none" => Ok(None),
        word => decimal(word).map(Some).ok_or_else(|| BadValue::of(value)),
    }
}

/// ASCII digits only, no sign, fitting a `u32`.
fn decimal(word: &[u8]) -> Option<u32> {
    if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_states() {
        let s = parse_member_state(b"in_sync\n");
        assert_eq!(
            s,
            MemberState {
                in_sync: true,
                ..MemberState::default()
            }
        );
        let s = parse_member_state(b"faulty,write_error,want_replacement\n");
        assert!(s.faulty && s.write_error && s.want_replacement && !s.in_sync);
        let s = parse_member_state(b"in_sync,writemostly,blocked,replacement,external_bbl");
        assert!(s.in_sync && s.write_mostly && s.blocked && s.replacement && s.external_bbl);
        let s = parse_member_state(b"spare,write_mostly,journal,failfast\n");
        assert!(s.spare && s.write_mostly && s.journal && s.failfast);
        assert_eq!(parse_member_state(b"\n"), MemberState::default());
        assert_eq!(parse_member_state(b""), MemberState::default());
    }

    #[test]
    fn unknown_member_state_words_are_kept() {
        let s = parse_member_state(b"in_sync,, new_flag ,\xff\n");
        assert!(s.in_sync);
        assert_eq!(s.unknown, ["new_flag", "\\xff"]);
        let many = "x,".repeat(100);
        assert_eq!(
            parse_member_state(many.as_bytes()).unknown.len(),
            MAX_UNKNOWN_WORDS
        );
    }

    #[test]
    fn array_states() {
        for (word, state) in [
            ("clear", ArrayState::Clear),
            ("inactive", ArrayState::Inactive),
            ("suspended", ArrayState::Suspended),
            ("readonly", ArrayState::ReadOnly),
            ("read-auto", ArrayState::ReadAuto),
            ("clean", ArrayState::Clean),
            ("active", ArrayState::Active),
            ("write-pending", ArrayState::WritePending),
            ("active-idle", ArrayState::ActiveIdle),
            ("broken", ArrayState::Broken),
        ] {
            let got = parse_array_state(format!("{word}\n").as_bytes());
            assert_eq!(got, state);
            let stopped = matches!(state, ArrayState::Clear | ArrayState::Inactive);
            assert_eq!(got.is_running(), !stopped, "{word}");
        }
        let other = parse_array_state(b"frozen\x07\n");
        assert_eq!(other, ArrayState::Other("frozen\\x07".into()));
        assert!(!other.is_running());
    }

    #[test]
    fn degraded_and_slot() {
        assert_eq!(parse_degraded(b"0\n"), Ok(0));
        assert_eq!(parse_degraded(b" 2 "), Ok(2));
        for bad in [&b""[..], b"-1", b"+1", b"1 2", b"x", b"4294967296"] {
            assert!(parse_degraded(bad).is_err(), "{}", escape(bad));
        }
        let bad = parse_degraded(b"\x00nope").unwrap_err();
        assert_eq!(bad.to_string(), "unexpected sysfs value '\\x00nope'");
        assert_eq!(parse_slot(b"none\n"), Ok(None));
        assert_eq!(parse_slot(b"3\n"), Ok(Some(3)));
        assert!(parse_slot(b"-1\n").is_err());
    }
}
