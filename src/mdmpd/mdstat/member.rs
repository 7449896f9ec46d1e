//! One member word of an array line: `name[desc_nr]` and then flags, each
//! `(X)` with `X` one of `W` (write-mostly), `J` (journal), `F` (faulty),
//! `S` (spare), `R` (replacement).
//!
//! The kernel prints the flags in the order W, J, F, S, R and nothing after
//! `F`; the order is not checked here, repeats are harmless. The name is
//! everything before the first `[`: non-empty, with no `]`, `(` or `)`
//! (a `/`, as in 2.4's `ide/host0/bus0/target0/lun0/part1`, is kept).

use super::{Member, ProblemKind};

/// Reads one white-space-free member word. Never panics.
pub(super) fn parse_member(word: &str) -> Result<Member, ProblemKind> {
    let (name, rest) = word.split_once('[').ok_or(ProblemKind::BadMember)?;
    let (number, mut flags) = rest.split_once(']').ok_or(ProblemKind::BadMember)?;
    if name.is_empty() || name.contains([']', '(', ')']) {
        return Err(ProblemKind::BadMember);
    }
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProblemKind::BadMember);
    }
    let desc_nr = number.parse().map_err(|_| ProblemKind::BadMember)?;
    let mut member = Member {
        name: name.to_owned(),
        desc_nr,
        faulty: false,
        spare: false,
        write_mostly: false,
        journal: false,
        replacement: false,
    };
    while !flags.is_empty() {
        let inner = flags.strip_prefix('(').ok_or(ProblemKind::BadMember)?;
        let (flag, rest) = inner.split_once(')').ok_or(ProblemKind::BadMember)?;
        match flag {
            "W" => member.write_mostly = true,
            "J" => member.journal = true,
            "F" => member.faulty = true,
            "S" => member.spare = true,
            "R" => member.replacement = true,
            _ => return Err(ProblemKind::BadFlag),
        }
        flags = rest;
    }
    Ok(member)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(name: &str, desc_nr: u32) -> Member {
        Member {
            name: name.to_owned(),
            desc_nr,
            faulty: false,
            spare: false,
            write_mostly: false,
            journal: false,
            replacement: false,
        }
    }

    #[test]
    fn plain_member() {
        assert_eq!(parse_member("sdb1[1]"), Ok(plain("sdb1", 1)));
        assert_eq!(parse_member("xvdb[0]"), Ok(plain("xvdb", 0)));
        assert_eq!(
            parse_member("ide/host0/bus0/target0/lun0/part1[12]"),
            Ok(plain("ide/host0/bus0/target0/lun0/part1", 12))
        );
    }

    #[test]
    fn every_flag() {
        let m = parse_member("sdb[0](F)").unwrap();
        assert!(m.faulty && !m.spare);
        let m = parse_member("sdc[2](S)").unwrap();
        assert!(m.spare && !m.faulty);
        let m = parse_member("nvme0n1p2[3](W)(J)(S)(R)").unwrap();
        assert!(m.write_mostly && m.journal && m.spare && m.replacement && !m.faulty);
        assert_eq!(m.desc_nr, 3);
    }

    #[test]
    fn malformed_members() {
        // From prometheus/procfs TestInvalidMdstat.
        assert_eq!(parse_member("sdj2[1](Z)"), Err(ProblemKind::BadFlag));
        assert_eq!(parse_member("sdj2[X]"), Err(ProblemKind::BadMember));
        for word in [
            "sdj2",
            "[1]",
            "sdj2[]",
            "sdj2[1",
            "sdj2[-1]",
            "sdj2[+1]",
            "sdj2[1]F",
            "sdj2[1](F",
            "sdj2[1](F)x",
            "sd(j)[1]",
            "sdj2[4294967296]",
            "sdj2[1]()",
            "sdj2[1](FS)",
        ] {
            assert!(parse_member(word).is_err(), "{word}");
        }
        assert_eq!(parse_member("sdj2[4294967295]").unwrap().desc_nr, u32::MAX);
    }
}
