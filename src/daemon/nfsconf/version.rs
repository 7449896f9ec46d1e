//! glibc's `strverscmp(3)` order, in which nfs-utils reads the files of
//! `nfs.conf.d`.
//!
//! Pure and total: [`version_cmp`] never panics and orders every pair of
//! byte strings (ties glibc would leave are broken by length).

use std::cmp::Ordering;

/// glibc `strverscmp(3)` order, which nfs-utils uses (via `versionsort`) to
/// order the files of `nfs.conf.d`: digit runs compare as numbers
/// (`9 < 10`), runs with leading zeros as fractions
/// (`000 < 00 < 01 < 010 < 09 < 0 < 1`). Where glibc would see two strings
/// as equal (only possible with NUL bytes), the shorter comes first, so this
/// is a total order.
pub fn version_cmp(a: &[u8], b: &[u8]) -> Ordering {
    /// What the common prefix ended in.
    #[derive(Clone, Copy)]
    enum State {
        Text,
        Integer,
        Fraction,
        Zeros,
    }
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Class {
        Other,
        Digit,
        Zero,
    }
    let class = |c: Option<&u8>| match c {
        Some(b'0') => Class::Zero,
        Some(c) if c.is_ascii_digit() => Class::Digit,
        _ => Class::Other,
    };
    let mut state = State::Text;
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i), b.get(i)) {
        if x != y {
            break;
        }
        state = match (state, class(Some(x))) {
            (_, Class::Other) => State::Text,
            (State::Text, Class::Digit) => State::Integer,
            (State::Text, Class::Zero) => State::Zeros,
            (State::Integer, _) => State::Integer,
            (State::Fraction, _) | (State::Zeros, Class::Digit) => State::Fraction,
            (State::Zeros, Class::Zero) => State::Zeros,
        };
        i += 1;
    }
    let (x, y) = (a.get(i), b.get(i));
    let plain = || x.cmp(&y);
    let digits = |s: &[u8]| {
        s.get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let longer_run = || digits(a).cmp(&digits(b)).then_with(plain);
    let (cx, cy) = (class(x), class(y));
    match state {
        State::Text if cx == Class::Digit && cy == Class::Digit => longer_run(),
        State::Text | State::Fraction => plain(),
        State::Integer => match (cx, cy) {
            (Class::Other, Class::Other) => plain(),
            (Class::Other, _) => Ordering::Less,
            (_, Class::Other) => Ordering::Greater,
            _ => longer_run(),
        },
        State::Zeros => match (cx, cy) {
            (Class::Other, Class::Other) => plain(),
            (Class::Other, _) => Ordering::Greater,
            (_, Class::Other) => Ordering::Less,
            _ => plain(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order_matches_strverscmp() {
        let sorted = ["000", "00", "01", "010", "09", "0", "1", "9", "10"];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(
                    version_cmp(a.as_bytes(), b.as_bytes()),
                    i.cmp(&j),
                    "{a} vs {b}"
                );
            }
        }
        let mut names = vec!["10-z.conf", "9-a.conf", "a.conf", "09.conf", "1.conf"];
        names.sort_by(|a, b| version_cmp(a.as_bytes(), b.as_bytes()));
        assert_eq!(
            names,
            ["09.conf", "1.conf", "9-a.conf", "10-z.conf", "a.conf"]
        );
        assert_eq!(version_cmp(b"a", b"a\0"), Ordering::Less);
        assert_eq!(version_cmp(b"item#99", b"item#100"), Ordering::Less);
    }
}
