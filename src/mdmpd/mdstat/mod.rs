//! `/proc/mdstat`, the md driver's status text, as a value ([`Mdstat`]).
//!
//! One job a file:
//! - this file: the value model ([`Mdstat`], [`Array`], [`Member`],
//!   [`Problem`]) and the bounds;
//! - `parser.rs`: [`Mdstat::parse`], the line structure (header lines,
//!   array lines, continuation lines, blank lines) and the problem list;
//! - `array.rs`: one array's head line and continuation lines;
//! - `member.rs`: one member word, `sdb1[1](W)(F)`;
//! - `sync.rs`: the resync / recovery / reshape / check line ([`SyncStatus`]);
//! - `fixtures.rs` (tests only): `compat/fixtures/mdstat` read end to end.
//!
//! The grammar, as `md_seq_show` in the kernel's `drivers/md/md.c` (2.4 to
//! 6.x) writes it and mdadm's `mdstat.c` reads it:
//!
//! ```text
//! Personalities : [p1] [p2] ...
//! read_ahead {not set | N sectors}                    (2.4 and earlier)
//! mdN : {active|inactive} [(read-only)|(auto-read-only)] [level] dev[n]{(W)}{(J)}{(F)|(S)}{(R)} ...
//!       N blocks [super X.Y | super external:S | super non-persistent] <personality status>
//!       [progress bar]  {resync|recovery|reshape|check|repair} = P.D% (a/b) finish=T.Tmin speed=SK/sec
//!       | resync=DELAYED | resync=PENDING | resync=REMOTE
//!       bitmap: a/b pages [nKB], cKB chunk
//! <blank line>
//! unused devices: {<none> | dev dev ...}
//! ```
//!
//! A line that starts with white space continues the array above it; a
//! blank (or all-white-space) line ends an array, and so does the next line
//! that starts in column one. 2.2 kernels put the `N blocks` part on the
//! array line itself; that is read too.
//!
//! Invariants of a parsed [`Mdstat`], whatever the input:
//! - parsing never panics, its work is linear in the input, and nothing is
//!   allocated from a count read in the input;
//! - an array with any problem is not in [`Mdstat::arrays`]; the problem
//!   names it ([`Problem::array`]) when its name could be read, so that a
//!   monitor can tell "unreadable this time" from "gone";
//! - at most [`MAX_ARRAYS`] arrays, [`MAX_MEMBERS`] members per array and
//!   [`MAX_PROBLEMS`] problems are kept; going over is itself a problem;
//! - every member name and array name is non-empty and free of white space;
//!   every [`Problem::line`] is a line of the input (1-based).
//!
//! Unknown continuation lines (a future kernel's) and unknown words of the
//! personality status (`64k chunks`, `algorithm 2`, `near-copies`) are
//! skipped, as mdadm skips them.

use std::fmt;

mod array;
#[cfg(test)]
mod fixtures;
mod member;
mod parser;
mod sync;

pub use sync::{Progress, SyncAction, SyncProgress, SyncStatus};

/// Most arrays kept; more is a [`ProblemKind::TooManyArrays`] problem.
pub const MAX_ARRAYS: usize = 4096;
/// Most members kept per array; more is a [`ProblemKind::TooManyMembers`]
/// problem (and the array is left out).
pub const MAX_MEMBERS: usize = 4096;
/// Most problems kept; the last one kept is then
/// [`ProblemKind::TooManyProblems`].
pub const MAX_PROBLEMS: usize = 64;
/// Most bytes of a line quoted in [`Problem::text`] (before escaping).
pub const MAX_QUOTED: usize = 160;

/// One read of `/proc/mdstat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mdstat {
    /// The personalities (md levels) the kernel has loaded, without the
    /// brackets: `["linear", "multipath", "raid1"]`.
    pub personalities: Vec<String>,
    /// The 2.4 kernels' `read_ahead` line; `None` on 2.6 and later.
    pub read_ahead: Option<ReadAhead>,
    /// The arrays that parsed cleanly, in the kernel's order.
    pub arrays: Vec<Array>,
    /// The `unused devices:` names (empty for `<none>` or no such line).
    pub unused: Vec<String>,
    /// What could not be read, in input order.
    pub problems: Vec<Problem>,
}

impl Mdstat {
    /// The array called `name` (`"md0"`), if it parsed cleanly.
    pub fn array(&self, name: &str) -> Option<&Array> {
        self.arrays.iter().find(|a| a.name == name)
    }
}

/// The 2.4 `read_ahead` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAhead {
    /// `read_ahead not set`.
    NotSet,
    /// `read_ahead N sectors`.
    Sectors(u32),
}

/// One md array: its head line and continuation lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Array {
    /// The device name, `md0`, `md_d0`, `md127`.
    pub name: String,
    /// `active` (it has a personality running) or `inactive`.
    pub active: bool,
    /// `(read-only)` or `(auto-read-only)`; `None` when writable.
    pub read_only: Option<ReadOnly>,
    /// The personality, `multipath`, `raid1`, ...; `None` for an inactive
    /// array, for which the kernel prints none.
    pub level: Option<String>,
    /// The member devices, in the kernel's order (not slot order).
    pub members: Vec<Member>,
    /// The `N blocks` size (1 KiB blocks); `None` when no member is listed.
    pub blocks: Option<u64>,
    /// The `super` word; `None` means none was printed, which for an
    /// active array means 0.90 metadata.
    pub superblock: Option<Superblock>,
    /// `n` of the `[n/m]` status: the disks the array is built of.
    pub raid_disks: Option<u32>,
    /// `m` of the `[n/m]` status: the working disks (2.4 multipath counted
    /// its spare paths in it, so it can exceed `raid_disks`).
    pub working_disks: Option<u32>,
    /// The `[UU_]` status, without brackets: `U` per working slot, `_` per
    /// missing one.
    pub pattern: Option<String>,
    /// A resync, recovery, reshape, check or repair, running or waiting.
    pub sync: Option<SyncStatus>,
    /// The text after `bitmap:`, e.g. `0/30 pages [0KB], 65536KB chunk`.
    pub bitmap: Option<String>,
    /// The 1-based line of the `mdN :` line.
    pub line: usize,
}

impl Array {
    /// The member called `name` (`"sdb1"`): the first, should the kernel
    /// list a name twice.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// The read-only mode word of an array line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnly {
    /// `(read-only)`.
    ReadOnly,
    /// `(auto-read-only)`: read-only until the first write.
    AutoReadOnly,
}

/// The metadata word of a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Superblock {
    /// `super X.Y`, e.g. `"1.2"`.
    Version(String),
    /// `super external:S`: metadata a user-space program keeps, e.g.
    /// `"imsm"` or `"/md127/0"` (a member array of a container).
    External(String),
    /// `super non-persistent`: no metadata at all.
    NonPersistent,
}

/// One member device word, `sdb1[1](W)(F)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The device name, `sdb1` (non-empty, no white space, no brackets).
    pub name: String,
    /// The number in brackets: the descriptor number (slot in the
    /// superblock), not the raid slot.
    pub desc_nr: u32,
    /// `(F)`: failed; the kernel keeps it listed until it is removed.
    pub faulty: bool,
    /// `(S)`: not in a raid slot (a spare). 2.4 kernels never print it.
    pub spare: bool,
    /// `(W)`: write-mostly.
    pub write_mostly: bool,
    /// `(J)`: a journal device.
    pub journal: bool,
    /// `(R)`: a replacement being rebuilt for another member.
    pub replacement: bool,
}

/// A line that could not be read. The parse went on with the next array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The 1-based input line.
    pub line: usize,
    /// The array the line belongs to, when its name could be read; that
    /// array is not in [`Mdstat::arrays`].
    pub array: Option<String>,
    /// The line (at most [`MAX_QUOTED`] bytes of it), escaped for a log:
    /// no control bytes, no non-ASCII.
    pub text: String,
    /// What was wrong.
    pub why: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.why, self.text)
    }
}

/// What was wrong with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The line is not UTF-8.
    NotUtf8,
    /// A line in column one that is no header and has no ` : `.
    NotAnArrayLine,
    /// A continuation line with no array above it (after a blank line).
    ContinuationOutsideArray,
    /// A malformed `Personalities`, `read_ahead` or `unused devices` line.
    BadHeader,
    /// The name before ` : ` is empty or has white space in it.
    BadArrayName,
    /// The word after ` : ` is neither `active` nor `inactive`.
    BadState,
    /// A `(…)` word after the state that is no read-only mode, or two.
    BadMode,
    /// A level word with characters no personality name has.
    BadLevel,
    /// A member word that is not `name[number]` followed by flags.
    BadMember,
    /// A member flag other than `(W)`, `(J)`, `(F)`, `(S)`, `(R)`.
    BadFlag,
    /// More than [`MAX_MEMBERS`] members.
    TooManyMembers,
    /// A malformed `N blocks`, `super` or `[n/m]` / `[U_]` status.
    BadStatus,
    /// An active array without its `N blocks` status.
    MissingStatus,
    /// A malformed resync / recovery / reshape / check line.
    BadSync,
    /// A second status, sync or bitmap line for one array.
    Repeated,
    /// More than [`MAX_ARRAYS`] arrays; this one and the rest are left out.
    TooManyArrays,
    /// More than [`MAX_PROBLEMS`] problems; the rest are not listed.
    TooManyProblems,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotUtf8 => "not UTF-8",
            Self::NotAnArrayLine => "not an array line (no ' : ')",
            Self::ContinuationOutsideArray => "continuation line outside an array",
            Self::BadHeader => "malformed header line",
            Self::BadArrayName => "malformed array name",
            Self::BadState => "array state is neither 'active' nor 'inactive'",
            Self::BadMode => "unknown array mode",
            Self::BadLevel => "malformed level",
            Self::BadMember => "malformed member (not name[number])",
            Self::BadFlag => "unknown member flag",
            Self::TooManyMembers => "too many members",
            Self::BadStatus => "malformed status",
            Self::MissingStatus => "active array without its status line",
            Self::BadSync => "malformed sync progress",
            Self::Repeated => "repeated status, sync or bitmap line",
            Self::TooManyArrays => "too many arrays; the rest are left out",
            Self::TooManyProblems => "too many problems; the rest are not listed",
        })
    }
}
