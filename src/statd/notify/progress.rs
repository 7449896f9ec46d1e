//! The reboot notifier's progress sidecar, `.statmon-notify` in the store's
//! private directory (`sm/`, or the Apple layout's state directory; see
//! `startup::private_dir`):
//! where notification of each host stands, so that a restarted notifier
//! resumes instead of starting over, and `rpc.statd -l` can show it.
//!
//! Pure text format, no I/O. One line per host:
//!
//! ```text
//! hostb since=1763712000 rounds=3 next=1763712015 state=-
//! hostc since=1763712000 rounds=44 next=- state=7
//! ```
//!
//! - the host, as the store names it, escaped: every byte outside
//!   `0x21..=0x7e`, and `\`, is written `\xNN` (two lower-case hex digits);
//! - `since=`: Unix seconds when notification of this host began;
//! - `rounds=`: rounds tried so far;
//! - `next=`: Unix seconds of the next round, `-` once given up;
//! - `state=`: the last state the host announced to us (its SM_NOTIFY), `-`
//!   if none.
//!
//! Fields are separated by single spaces and may come in any order after
//! the host; unknown `key=value` fields are skipped (a newer writer), each
//! known key must appear exactly once. Empty lines are skipped. Anything
//! else is a bad line, reported by number and skipped.
//!
//! # Panic contract
//! Nothing here panics, whatever the bytes.

use std::fmt::Write as _;

/// The sidecar's file name in the store's private directory.
pub const FILE_NAME: &str = ".statmon-notify";

/// Where notification of one host stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostProgress {
    /// The store's name for the host ([`crate::statd::store::HostEntry::name`]).
    pub host: Vec<u8>,
    /// Unix seconds when notification of this host began.
    pub since_unix: u64,
    /// Rounds tried so far.
    pub rounds: u32,
    /// Unix seconds of the next round; `None` once given up.
    pub next_unix: Option<u64>,
    /// The last state this host announced to us via SM_NOTIFY.
    pub last_state: Option<i32>,
}

/// What [`decode`] read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// The good lines, in file order.
    pub entries: Vec<HostProgress>,
    /// 1-based numbers of the lines that could not be read.
    pub bad_lines: Vec<usize>,
}

/// A host name as one token: bytes outside `0x21..=0x7e`, and `\`, as
/// `\xNN`. Never empty for a non-empty name; never holds a space.
pub fn escape_host(host: &[u8]) -> String {
    let mut out = String::with_capacity(host.len());
    for &b in host {
        if (0x21..=0x7e).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// The bytes of an [`escape_host`] token; `None` if it is empty, holds a
/// byte outside `0x21..=0x7e` or a `\` not followed by `x` and two hex
/// digits (either case).
pub fn unescape_host(token: &[u8]) -> Option<Vec<u8>> {
    if token.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(token.len());
    let mut rest = token;
    while let Some((&b, tail)) = rest.split_first() {
        if !(0x21..=0x7e).contains(&b) {
            return None;
        }
        if b != b'\\' {
            out.push(b);
            rest = tail;
            continue;
        }
        match tail {
            [b'x', hi, lo, more @ ..] => {
                out.push(hex(*hi)? << 4 | hex(*lo)?);
                rest = more;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn hex(d: u8) -> Option<u8> {
    char::from(d)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

/// The sidecar's bytes for `entries`, one line each, in the order given.
pub fn encode(entries: &[HostProgress]) -> Vec<u8> {
    let mut out = String::new();
    for e in entries {
        let _ = write!(
            out,
            "{} since={} rounds={} next=",
            escape_host(&e.host),
            e.since_unix,
            e.rounds
        );
        match e.next_unix {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push('-'),
        }
        out.push_str(" state=");
        match e.last_state {
            Some(s) => {
                let _ = write!(out, "{s}");
            }
            None => out.push('-'),
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Reads a sidecar; bad lines are skipped and listed (module doc).
pub fn decode(bytes: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match decode_line(line) {
            Some(e) => d.entries.push(e),
            None => d.bad_lines.push(i + 1),
        }
    }
    d
}

fn decode_line(line: &[u8]) -> Option<HostProgress> {
    let mut fields = line.split(|&b| b == b' ');
    let host = unescape_host(fields.next()?)?;
    let (mut since, mut rounds, mut next, mut state) = (None, None, None, None);
    for field in fields {
        let text = std::str::from_utf8(field).ok()?;
        let (key, value) = text.split_once('=')?;
        let slot_taken = match key {
            "since" => since.replace(value.parse::<u64>().ok()?).is_some(),
            "rounds" => rounds.replace(value.parse::<u32>().ok()?).is_some(),
            "next" => next.replace(dash_or(value)?).is_some(),
            "state" => state
                .replace(match value {
                    "-" => None,
                    v => Some(v.parse::<i32>().ok()?),
                })
                .is_some(),
            _ => false,
        };
        if slot_taken {
            return None;
        }
    }
    Some(HostProgress {
        host,
        since_unix: since?,
        rounds: rounds?,
        next_unix: next?,
        last_state: state?,
    })
}

/// `-` is `Some(None)`, a number `Some(Some(n))`, anything else `None`.
fn dash_or(value: &str) -> Option<Option<u64>> {
    match value {
        "-" => Some(None),
        v => v.parse::<u64>().ok().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(host: &[u8], next: Option<u64>, state: Option<i32>) -> HostProgress {
        HostProgress {
            host: host.to_vec(),
            since_unix: 1_763_712_000,
            rounds: 3,
            next_unix: next,
            last_state: state,
        }
    }

    #[test]
    fn the_documented_line() {
        let e = entry(b"hostb", Some(1_763_712_015), None);
        assert_eq!(
            encode(std::slice::from_ref(&e)),
            b"hostb since=1763712000 rounds=3 next=1763712015 state=-\n"
        );
        let d = decode(b"hostc since=5 rounds=44 next=- state=7\n");
        assert_eq!(
            d.entries,
            vec![HostProgress {
                host: b"hostc".to_vec(),
                since_unix: 5,
                rounds: 44,
                next_unix: None,
                last_state: Some(7),
            }]
        );
        assert!(d.bad_lines.is_empty());
    }

    #[test]
    fn round_trip_with_odd_bytes() {
        let entries = vec![
            entry(b"plain.example", Some(1), Some(-3)),
            entry(b"sp ace\\back\x00\xff\x7f", None, Some(i32::MIN)),
            entry(b"=#\t\n", Some(u64::MAX), None),
        ];
        let bytes = encode(&entries);
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 3);
        assert!(bytes.starts_with(b"plain.example "));
        assert!(String::from_utf8_lossy(&bytes).contains("sp\\x20ace\\x5cback\\x00\\xff\\x7f "));
        let d = decode(&bytes);
        assert_eq!(d.entries, entries);
        assert!(d.bad_lines.is_empty());
    }

    #[test]
    fn escaping_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let token = escape_host(&all);
        assert!(token.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_eq!(unescape_host(token.as_bytes()), Some(all));
        assert_eq!(unescape_host(b"a\\X41"), None);
        assert_eq!(unescape_host(b"a\\x4"), None);
        assert_eq!(unescape_host(b"a\\xZZ"), None);
        assert_eq!(unescape_host(b"A\\x41"), Some(b"AA".to_vec()));
        assert_eq!(unescape_host(b""), None);
        assert_eq!(unescape_host(b"a b"), None);
    }

    #[test]
    fn bad_lines_are_numbered_and_skipped() {
        let text = b"good since=1 rounds=0 next=2 state=-\n\
            \n\
            nofields\n\
            dup since=1 since=2 rounds=0 next=2 state=-\n\
            neg since=-1 rounds=0 next=2 state=-\n\
            newer since=1 rounds=1 next=- state=3 extra=9\n\
            missing since=1 rounds=0 next=2\n\
            bad\\q since=1 rounds=0 next=2 state=-\n\
            two  since=1 rounds=0 next=2 state=-\n\
            last since=9 rounds=9 next=9 state=9";
        let d = decode(text);
        let hosts: Vec<&[u8]> = d.entries.iter().map(|e| e.host.as_slice()).collect();
        assert_eq!(hosts, vec![&b"good"[..], b"newer", b"last"]);
        assert_eq!(d.bad_lines, vec![3, 4, 5, 7, 8, 9]);
    }

    #[test]
    fn garbage_never_panics() {
        const ALPHABET: &[u8] = b"ab\\x0f= -\nsince=rounds=next=state=1\xff";
        let mut seed: u32 = 0x1234_5678;
        for len in 0..400usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    // Bias towards the format's own characters.
                    ALPHABET[seed as usize % ALPHABET.len()]
                })
                .collect();
            let d = decode(&bytes);
            assert!(d.entries.len() + d.bad_lines.len() <= len + 1);
            let again = decode(&encode(&d.entries));
            assert_eq!(again.entries, d.entries);
        }
    }
}
