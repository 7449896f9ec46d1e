//! [`Mdstat::parse`]: bytes of one `/proc/mdstat` read in, a value out.
//!
//! Lines are `\n`-separated and each must be UTF-8. A line in column one is
//! a header (`Personalities :`, `read_ahead`, `unused devices:`) or an array
//! line (`mdN : …`); a line starting with white space continues the array
//! above; a blank line ends it. A problem with an array line or any of its
//! continuation lines drops that array (its remaining continuation lines
//! are skipped without further problems) and parsing goes on with the next
//! line in column one. An active array needs its `N blocks` status.
//!
//! Pure and bounded: no I/O, one pass over the input, never a panic.

use super::array::{head_name, parse_continuation, parse_head};
use super::{Array, Mdstat, Problem, ProblemKind, ReadAhead, MAX_ARRAYS, MAX_PROBLEMS, MAX_QUOTED};
use crate::log::escape;

/// What the lines in column one have left open.
enum Open<'a> {
    /// No array: a continuation line here is a problem.
    Nothing,
    /// An array whose continuation lines follow, and its head line.
    Array(Box<Array>, &'a [u8]),
    /// A line that had a problem: its continuation lines are skipped.
    Skipping,
}

/// The parse in progress.
struct Parse<'a> {
    mdstat: Mdstat,
    open: Open<'a>,
    too_many_arrays: bool,
}

impl Mdstat {
    /// Parses the text of one `/proc/mdstat` read. Never fails: what cannot
    /// be read is in [`Mdstat::problems`], the rest is kept.
    pub fn parse(input: &[u8]) -> Mdstat {
        let mut parse = Parse {
            mdstat: Mdstat::default(),
            open: Open::Nothing,
            too_many_arrays: false,
        };
        for (index, bytes) in input.split(|&b| b == b'\n').enumerate() {
            parse.line(index + 1, bytes);
        }
        parse.close();
        parse.mdstat
    }
}

impl<'a> Parse<'a> {
    fn line(&mut self, line: usize, bytes: &'a [u8]) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            self.close();
            return;
        }
        let continues = bytes.first().is_some_and(u8::is_ascii_whitespace);
        if !continues {
            self.close();
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            let array = match &self.open {
                Open::Array(array, _) if continues => Some(array.name.clone()),
                _ => None,
            };
            self.fail(line, bytes, array, ProblemKind::NotUtf8);
            return;
        };
        if continues {
            self.continuation(line, text);
        } else {
            self.column_one(line, text);
        }
    }

    fn continuation(&mut self, line: usize, text: &str) {
        match &mut self.open {
            Open::Nothing => {
                let why = ProblemKind::ContinuationOutsideArray;
                self.fail(line, text.as_bytes(), None, why);
            }
            Open::Array(array, _) => {
                if let Err(why) = parse_continuation(text, array) {
                    let name = array.name.clone();
                    self.fail(line, text.as_bytes(), Some(name), why);
                }
            }
            Open::Skipping => {}
        }
    }

    fn column_one(&mut self, line: usize, text: &'a str) {
        if let Some(rest) = text.strip_prefix("Personalities :") {
            self.personalities(line, text, rest);
        } else if let Some(rest) = text.strip_prefix("read_ahead ") {
            let mut words = rest.split_ascii_whitespace();
            self.mdstat.read_ahead = match (words.next(), words.next(), words.next()) {
                (Some("not"), Some("set"), None) => Some(ReadAhead::NotSet),
                (Some(n), Some("sectors"), None) if n.bytes().all(|b| b.is_ascii_digit()) => {
                    n.parse().ok().map(ReadAhead::Sectors)
                }
                _ => None,
            };
            if self.mdstat.read_ahead.is_none() {
                self.fail(line, text.as_bytes(), None, ProblemKind::BadHeader);
            }
        } else if let Some(rest) = text.strip_prefix("unused devices:") {
            let names = rest.split_ascii_whitespace().filter(|w| *w != "<none>");
            self.mdstat.unused.extend(names.map(str::to_owned));
        } else if !text.contains(" : ") {
            self.fail(line, text.as_bytes(), None, ProblemKind::NotAnArrayLine);
        } else if self.mdstat.arrays.len() == MAX_ARRAYS {
            if !std::mem::replace(&mut self.too_many_arrays, true) {
                let name = head_name(text).map(str::to_owned);
                self.fail(line, text.as_bytes(), name, ProblemKind::TooManyArrays);
            }
            self.open = Open::Skipping;
        } else {
            match parse_head(text, line) {
                Ok(array) => self.open = Open::Array(Box::new(array), text.as_bytes()),
                Err(why) => {
                    let name = head_name(text).map(str::to_owned);
                    self.fail(line, text.as_bytes(), name, why);
                }
            }
        }
    }

    fn personalities(&mut self, line: usize, text: &str, rest: &str) {
        let mut clean = true;
        for word in rest.split_ascii_whitespace() {
            match word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                Some(name) if !name.is_empty() && !name.contains(['[', ']']) => {
                    self.mdstat.personalities.push(name.to_owned());
                }
                _ => clean = false,
            }
        }
        if !clean {
            self.fail(line, text.as_bytes(), None, ProblemKind::BadHeader);
        }
    }

    /// Ends the open array: kept if it is complete.
    fn close(&mut self) {
        if let Open::Array(array, head) = std::mem::replace(&mut self.open, Open::Nothing) {
            if array.active && array.blocks.is_none() {
                let why = ProblemKind::MissingStatus;
                self.report(array.line, head, Some(array.name), why);
            } else {
                self.mdstat.arrays.push(*array);
            }
        }
    }

    /// Records a problem and skips the continuation lines that follow.
    fn fail(&mut self, line: usize, bytes: &[u8], array: Option<String>, why: ProblemKind) {
        self.report(line, bytes, array, why);
        self.open = Open::Skipping;
    }

    fn report(&mut self, line: usize, bytes: &[u8], array: Option<String>, why: ProblemKind) {
        let problems = &mut self.mdstat.problems;
        if problems.len() >= MAX_PROBLEMS {
            return;
        }
        let (why, array) = if problems.len() + 1 == MAX_PROBLEMS {
            (ProblemKind::TooManyProblems, None)
        } else {
            (why, array)
        };
        let quoted = &bytes[..bytes.len().min(MAX_QUOTED)];
        let mut text = escape(quoted);
        if quoted.len() < bytes.len() {
            text.push_str("...");
        }
        problems.push(Problem {
            line,
            array,
            text,
            why,
        });
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::MAX_MEMBERS;
    use super::*;
    use proptest::prelude::*;

    /// Parses input that must have no problem.
    pub(in crate::mdmpd::mdstat) fn clean(input: &[u8]) -> Mdstat {
        let mdstat = Mdstat::parse(input);
        assert_eq!(mdstat.problems, [], "{}", String::from_utf8_lossy(input));
        mdstat
    }

    /// The one array of input that must have no problem.
    pub(in crate::mdmpd::mdstat) fn one_array(input: &[u8]) -> Array {
        let mut mdstat = clean(input);
        assert_eq!(mdstat.arrays.len(), 1);
        mdstat.arrays.remove(0)
    }

    #[test]
    fn kernel_layout_with_white_space_lines() {
        // md_seq_show ends each array with a line of blanks, not an empty line.
        let text = "Personalities : [raid1] \nmd1 : active raid1 sdb1[1] sda1[0](W)\n      1048512 blocks super 1.2 [2/2] [UU]\n      \nmd0 : inactive sdc1[0](S)\n       1 blocks super 1.2\n       \nunused devices: sdx1 sdy1\n";
        let mdstat = clean(text.as_bytes());
        assert_eq!(mdstat.arrays.len(), 2);
        assert!(
            mdstat
                .array("md1")
                .unwrap()
                .member("sda1")
                .unwrap()
                .write_mostly
        );
        assert_eq!(mdstat.array("md0").unwrap().line, 5);
        assert_eq!(mdstat.unused, ["sdx1", "sdy1"]);
    }

    #[test]
    fn older_flavours() {
        // 2.4: inactive arrays have no blank line after them.
        let text = "Personalities : [raid1]\nread_ahead not set\nmd1 : inactive sda1[0]\n      1234 blocks\nmd0 : active raid1 sdb1[1] sda1[0](F)\n      1024 blocks [2/1] [U_]\n      resync=DELAYED\nunused devices: <none>\n";
        let mdstat = clean(text.as_bytes());
        assert_eq!(mdstat.read_ahead, Some(ReadAhead::NotSet));
        assert_eq!(mdstat.arrays.len(), 2);
        assert!(!mdstat.array("md1").unwrap().active);
        // 2.2: everything on the array line; an edge case pattern too.
        let text = "md0 : active raid1 sdb1[1](F) sda1[0](F) 4192896 blocks [2/0] [__]\n";
        let md0 = one_array(text.as_bytes());
        assert_eq!(
            (md0.working_disks, md0.pattern.as_deref()),
            (Some(0), Some("__"))
        );
    }

    #[test]
    fn a_bad_array_does_not_stop_the_next() {
        let text = b"md0 : active multipath sda[0](Q)\n      1 blocks [1/1] [U]\n      bitmap: x\n\xff\xfe : bad\n      more\nnonsense\nmd1 : active multipath sdb[0]\n      1 blocks [1/1] [U]\n      \xff\n      \nmd2 : active multipath sdc[0]\n      1 blocks [1/1] [U]\n";
        let mdstat = Mdstat::parse(text);
        let names: Vec<_> = mdstat.arrays.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["md2"]);
        let got: Vec<_> = mdstat
            .problems
            .iter()
            .map(|p| (p.line, p.array.as_deref(), p.why))
            .collect();
        let want = [
            (1, Some("md0"), ProblemKind::BadFlag),
            (4, None, ProblemKind::NotUtf8),
            (6, None, ProblemKind::NotAnArrayLine),
            (9, Some("md1"), ProblemKind::NotUtf8),
        ];
        assert_eq!(got, want);
        assert_eq!(mdstat.problems[1].text, "\\xff\\xfe : bad");
        assert!(mdstat.problems[1]
            .to_string()
            .starts_with("line 4: not UTF-8: "));
    }

    #[test]
    fn headers_that_do_not_parse() {
        for text in [
            "Personalities : raid1",
            "Personalities : [raid1] []",
            "read_ahead some",
        ] {
            let mdstat = Mdstat::parse(text.as_bytes());
            assert_eq!(mdstat.problems.len(), 1, "{text}");
            assert_eq!(mdstat.problems[0].why, ProblemKind::BadHeader);
        }
    }

    #[test]
    fn long_lines_are_quoted_in_part() {
        let text = format!("x{}\n", "\u{7}".repeat(1000));
        let problem = &Mdstat::parse(text.as_bytes()).problems[0];
        assert!(problem.text.ends_with("...") && problem.text.starts_with("x\\x07"));
        assert_eq!(problem.text.len(), 1 + (MAX_QUOTED - 1) * 4 + 3);
    }

    #[test]
    fn arrays_and_problems_are_capped() {
        let mut text = String::new();
        for n in 0..=MAX_ARRAYS + 1 {
            text.push_str(&format!("md{n} : inactive sda[{n}]\n"));
        }
        let mdstat = Mdstat::parse(text.as_bytes());
        assert_eq!(mdstat.arrays.len(), MAX_ARRAYS);
        let got: Vec<_> = mdstat.problems.iter().map(|p| (p.line, p.why)).collect();
        assert_eq!(got, [(MAX_ARRAYS + 1, ProblemKind::TooManyArrays)]);

        let mdstat = Mdstat::parse("junk\n".repeat(1000).as_bytes());
        assert_eq!(mdstat.problems.len(), MAX_PROBLEMS);
        let last = mdstat.problems.last().unwrap();
        assert_eq!(
            (last.line, last.why),
            (MAX_PROBLEMS, ProblemKind::TooManyProblems)
        );
    }

    /// The invariants every parse keeps.
    pub(in crate::mdmpd::mdstat) fn check_invariants(input: &[u8]) {
        let lines = input.iter().filter(|&&b| b == b'\n').count() + 1;
        let mdstat = Mdstat::parse(input);
        assert!(mdstat.arrays.len() <= MAX_ARRAYS);
        assert!(mdstat.problems.len() <= MAX_PROBLEMS);
        for p in &mdstat.problems {
            assert!((1..=lines).contains(&p.line));
            assert!(p.text.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
        }
        let clean_name = |n: &str| !n.is_empty() && !n.contains(|c: char| c.is_ascii_whitespace());
        for a in &mdstat.arrays {
            assert!((1..=lines).contains(&a.line) && clean_name(&a.name));
            assert!(a.members.len() <= MAX_MEMBERS);
            assert!(a.members.iter().all(|m| clean_name(&m.name)));
            assert!(!a.active || a.blocks.is_some());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_keep_the_invariants(input in prop::collection::vec(any::<u8>(), 0..512)) {
            check_invariants(&input);
        }

        #[test]
        fn mdstat_shaped_text_keeps_the_invariants(
            lines in prop::collection::vec(
                "[ \t]{0,2}(md[0-9]{1,2} : )?((in)?active )?[a-z0-9\\[\\]()/:=%._UFSWJR -]{0,40}",
                0..24,
            )
        ) {
            check_invariants(lines.join("\n").as_bytes());
        }
    }
}
