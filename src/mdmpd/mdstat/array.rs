//! One array: its head line (`md0 : active raid1 sdb1[1] sda1[0]`) and its
//! continuation lines (status, sync, bitmap).
//!
//! Head line words, in order: the name and ` : `; `active` or `inactive`;
//! any `(read-only)` / `(auto-read-only)`; then a level if the next word
//! has no `[` and does not start the status; then members up to the status
//! or the end of the line. The status starts at `N blocks` or at `super`
//! (2.2 kernels print it on the head line, later ones on the next line).
//!
//! Status words: `N blocks`, then an optional `super X`, then the
//! personality's words, of which the first `[n/m]` and the first `[U_…]`
//! count and the others (`64k chunks`, `algorithm 2`) are skipped. Any other
//! bracketed word is an error.
//!
//! Errors are [`ProblemKind`] values; nothing here panics, and the work is
//! linear in the line.

use super::member::parse_member;
use super::sync::{is_sync_line, parse_sync};
use super::{Array, ProblemKind, ReadOnly, Superblock, MAX_MEMBERS};

/// The name of the array a head line is about, when it has one: the text
/// before ` : `, if that is one word.
pub(super) fn head_name(line: &str) -> Option<&str> {
    let (name, _) = line.split_once(" : ")?;
    let name = name.trim_end();
    let clean = !name.is_empty() && !name.contains(|c: char| c.is_ascii_whitespace());
    clean.then_some(name)
}

/// Reads a head line (one with ` : `, on input line `line`).
pub(super) fn parse_head(text: &str, line: usize) -> Result<Array, ProblemKind> {
    let name = head_name(text).ok_or(ProblemKind::BadArrayName)?;
    let (_, rest) = text.split_once(" : ").ok_or(ProblemKind::BadArrayName)?;
    let words: Vec<&str> = rest.split_ascii_whitespace().collect();
    let mut at = 0;
    let active = match words.first() {
        Some(&"active") => true,
        Some(&"inactive") => false,
        _ => return Err(ProblemKind::BadState),
    };
    at += 1;
    let mut array = Array {
        name: name.to_owned(),
        active,
        read_only: None,
        level: None,
        members: Vec::new(),
        blocks: None,
        superblock: None,
        raid_disks: None,
        working_disks: None,
        pattern: None,
        sync: None,
        bitmap: None,
        line,
    };
    while let Some(word) = words.get(at).filter(|w| w.starts_with('(')) {
        let mode = match *word {
            "(read-only)" => ReadOnly::ReadOnly,
            "(auto-read-only)" => ReadOnly::AutoReadOnly,
            _ => return Err(ProblemKind::BadMode),
        };
        if array.read_only.replace(mode).is_some() {
            return Err(ProblemKind::BadMode);
        }
        at += 1;
    }
    if let Some(word) = words.get(at) {
        if !word.contains('[') && !starts_status(&words[at..]) {
            if !word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(ProblemKind::BadLevel);
            }
            array.level = Some((*word).to_owned());
            at += 1;
        }
    }
    while at < words.len() && !starts_status(&words[at..]) {
        if array.members.len() == MAX_MEMBERS {
            return Err(ProblemKind::TooManyMembers);
        }
        array.members.push(parse_member(words[at])?);
        at += 1;
    }
    if at < words.len() {
        read_status(&words[at..], &mut array)?;
    }
    Ok(array)
}

/// Reads a continuation line of `array`. Unknown lines are skipped.
pub(super) fn parse_continuation(text: &str, array: &mut Array) -> Result<(), ProblemKind> {
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    let Some(first) = words.first() else {
        return Ok(());
    };
    if starts_status(&words) {
        read_status(&words, array)
    } else if *first == "bitmap:" {
        let (_, after) = text.split_once("bitmap:").ok_or(ProblemKind::BadStatus)?;
        if array.bitmap.replace(after.trim().to_owned()).is_some() {
            return Err(ProblemKind::Repeated);
        }
        Ok(())
    } else if is_sync_line(first) {
        if array.sync.replace(parse_sync(text)?).is_some() {
            return Err(ProblemKind::Repeated);
        }
        Ok(())
    } else {
        Ok(())
    }
}

/// Whether `words` start a status: `N blocks` or `super`.
fn starts_status(words: &[&str]) -> bool {
    match words {
        ["super", ..] => true,
        [count, "blocks", ..] => !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// Reads status words (they start with `N blocks` or `super`) into `array`.
fn read_status(words: &[&str], array: &mut Array) -> Result<(), ProblemKind> {
    if array.blocks.is_some() || array.superblock.is_some() || array.raid_disks.is_some() {
        return Err(ProblemKind::Repeated);
    }
    let mut rest = words;
    if let [count, "blocks", after @ ..] = rest {
        array.blocks = Some(count.parse().map_err(|_| ProblemKind::BadStatus)?);
        rest = after;
    }
    if let ["super", after @ ..] = rest {
        let [kind, after @ ..] = after else {
            return Err(ProblemKind::BadStatus);
        };
        array.superblock = Some(match kind.strip_prefix("external:") {
            Some(metadata) => Superblock::External(metadata.to_owned()),
            None if *kind == "non-persistent" => Superblock::NonPersistent,
            None => Superblock::Version((*kind).to_owned()),
        });
        rest = after;
    }
    for word in rest {
        let Some(inner) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) else {
            if word.contains(['[', ']']) {
                return Err(ProblemKind::BadStatus);
            }
            continue;
        };
        if let Some((raid, working)) = inner.split_once('/') {
            if array.raid_disks.is_some() {
                return Err(ProblemKind::BadStatus);
            }
            array.raid_disks = Some(count(raid)?);
            array.working_disks = Some(count(working)?);
        } else if !inner.is_empty() && inner.bytes().all(|b| b == b'U' || b == b'_') {
            if array.pattern.replace(inner.to_owned()).is_some() {
                return Err(ProblemKind::BadStatus);
            }
        } else {
            return Err(ProblemKind::BadStatus);
        }
    }
    Ok(())
}

/// A disk count of `[n/m]`: ASCII digits that fit a `u32`.
fn count(text: &str) -> Result<u32, ProblemKind> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProblemKind::BadStatus);
    }
    text.parse().map_err(|_| ProblemKind::BadStatus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Array {
        parse_head(text, 1).unwrap()
    }

    #[test]
    fn active_head_line() {
        let a = head("md6 : active raid1 sdb2[2](F) sdc[1](S) sda2[0]");
        assert_eq!(
            (a.name.as_str(), a.active, a.read_only),
            ("md6", true, None)
        );
        assert_eq!(a.level.as_deref(), Some("raid1"));
        let names: Vec<_> = a.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["sdb2", "sdc", "sda2"]);
        assert!(a.members[0].faulty && a.members[1].spare);
        assert_eq!((a.blocks, a.raid_disks), (None, None));
    }

    #[test]
    fn modes_and_inactive_arrays() {
        let a = head("md11 : active (auto-read-only) raid1 sdb2[0]");
        assert_eq!(a.read_only, Some(ReadOnly::AutoReadOnly));
        let a = head("md101 : active (read-only) raid0 sdb[2]");
        assert_eq!(a.read_only, Some(ReadOnly::ReadOnly));
        let a = head("md219 : inactive sdb[2](S) sdc[1](S)");
        assert_eq!(
            (a.active, a.level.as_deref(), a.members.len()),
            (false, None, 2)
        );
        let a = head("md1 : inactive");
        assert!(!a.active && a.members.is_empty());
        // An inactive array with no member but metadata prints `super` at once.
        let a = head("md2 : inactive super non-persistent");
        assert_eq!(
            (a.level, a.superblock),
            (None, Some(Superblock::NonPersistent))
        );
    }

    #[test]
    fn status_on_the_head_line_as_2_2_printed_it() {
        let a = head("md0 : active raid1 sdb1[1] sda1[0] 4192896 blocks [2/2] [UU]");
        assert_eq!(a.members.len(), 2);
        assert_eq!(a.blocks, Some(4192896));
        assert_eq!((a.raid_disks, a.working_disks), (Some(2), Some(2)));
        assert_eq!(a.pattern.as_deref(), Some("UU"));
    }

    #[test]
    fn status_lines() {
        let mut a = head("md42 : active raid5 sda1[3](S) sdd1[0] sde1[1]");
        let status =
            "      1953381440 blocks super 1.2 level 5, 64k chunk, algorithm 2 [3/2] [UU_]";
        parse_continuation(status, &mut a).unwrap();
        assert_eq!(a.blocks, Some(1953381440));
        assert_eq!(a.superblock, Some(Superblock::Version("1.2".into())));
        assert_eq!((a.raid_disks, a.working_disks), (Some(3), Some(2)));
        assert_eq!(a.pattern.as_deref(), Some("UU_"));
        parse_continuation("      bitmap: 4/15 pages [16KB], 65536KB chunk", &mut a).unwrap();
        assert_eq!(
            a.bitmap.as_deref(),
            Some("4/15 pages [16KB], 65536KB chunk")
        );
        parse_continuation("      ", &mut a).unwrap();
        parse_continuation("      some future line", &mut a).unwrap();
        assert_eq!(
            parse_continuation(status, &mut a),
            Err(ProblemKind::Repeated)
        );
        let bitmap = "      bitmap: 0/1 pages [0KB], 1KB chunk";
        assert_eq!(
            parse_continuation(bitmap, &mut a),
            Err(ProblemKind::Repeated)
        );

        let mut a = head("md126 : active raid0 sdb[1] sdc[0]");
        let status = "      1855870976 blocks super external:/md127/0 128k chunks";
        parse_continuation(status, &mut a).unwrap();
        assert_eq!(a.superblock, Some(Superblock::External("/md127/0".into())));
        assert_eq!((a.raid_disks, a.pattern), (None, None));
    }

    #[test]
    fn sync_lines() {
        let mut a = head("md9 : active raid1 sdc2[2]");
        parse_continuation("      resync=DELAYED", &mut a).unwrap();
        assert!(a.sync.is_some());
        assert_eq!(
            parse_continuation("      resync=PENDING", &mut a),
            Err(ProblemKind::Repeated)
        );
    }

    #[test]
    fn malformed_head_lines() {
        for (text, why) in [
            ("md3 : invalid", ProblemKind::BadState),
            ("md3 : ", ProblemKind::BadState),
            (" : active raid1 sda[0]", ProblemKind::BadArrayName),
            ("md 3 : active raid1 sda[0]", ProblemKind::BadArrayName),
            ("md3 : active (rw) raid1", ProblemKind::BadMode),
            (
                "md3 : active (read-only) (auto-read-only) raid1",
                ProblemKind::BadMode,
            ),
            ("md3 : active ra/id1 sda[0]", ProblemKind::BadLevel),
            ("md3 : active raid1 sda[0] sdb", ProblemKind::BadMember),
            (
                "md127 : active raid1 sdi2[0] sdj2[1](Z)",
                ProblemKind::BadFlag,
            ),
            (
                "md127 : active raid1 sdi2[0] sdj2[X]",
                ProblemKind::BadMember,
            ),
            (
                "md0 : active raid1 sda[0] 99999999999999999999 blocks",
                ProblemKind::BadStatus,
            ),
            (
                "md0 : active raid1 sda[0] 1 blocks super",
                ProblemKind::BadStatus,
            ),
        ] {
            assert_eq!(parse_head(text, 1), Err(why), "{text}");
        }
    }

    #[test]
    fn malformed_status_words() {
        for status in [
            "1 blocks [2/x] [UU]",
            "1 blocks [2/2] [UX]",
            "1 blocks [2/2] []",
            "1 blocks [2/2] [UU] [1/1]",
            "1 blocks [2/2] [UU] [U]",
            "1 blocks [2/2 [UU]",
            "1 blocks [4294967296/1] [U]",
        ] {
            let mut a = head("md0 : active raid1 sda[0]");
            assert_eq!(
                parse_continuation(status, &mut a),
                Err(ProblemKind::BadStatus),
                "{status}"
            );
        }
    }

    #[test]
    fn member_cap() {
        let mut text = String::from("md0 : active raid1");
        for n in 0..=MAX_MEMBERS {
            text.push_str(&format!(" sd{n}[{n}]"));
        }
        assert_eq!(parse_head(&text, 1), Err(ProblemKind::TooManyMembers));
    }
}
