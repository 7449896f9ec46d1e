//! The sync line of an array: a resync, recovery, reshape, check or repair
//! that runs or waits, as the kernel's `status_resync` prints it:
//!
//! ```text
//!       [=>...................]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec
//!       [====================>]  resync =100.0% (1/1) finish=0.0min speed=1K/sec
//!       resync=DELAYED
//! ```
//!
//! The progress bar is optional (2.4 had none for short lines), the
//! percentage has at most one decimal, and `(a/b)`, `finish=` and `speed=`
//! may each be missing; words after them that this parser does not know
//! are skipped. A word it knows but cannot read is an error.

use super::ProblemKind;

/// A sync that runs or waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStatus {
    /// What kind of sync.
    pub action: SyncAction,
    /// How far it got, or why it waits.
    pub progress: SyncProgress,
}

/// The sync word of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAction {
    /// `resync`: making the copies or parity agree.
    Resync,
    /// `recovery`: rebuilding onto a spare.
    Recovery,
    /// `reshape`: changing the layout or the number of disks.
    Reshape,
    /// `check`: reading and comparing without fixing.
    Check,
    /// `repair`: checking and fixing.
    Repair,
}

/// How far a sync got, or why it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncProgress {
    /// `=DELAYED`: waits for another array on the same disks.
    Delayed,
    /// `=PENDING`: waits to start (e.g. an auto-read-only array).
    Pending,
    /// `=REMOTE`: another node of a cluster runs it.
    Remote,
    /// It runs.
    Running(Progress),
}

/// The numbers of a running sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Done, in tenths of a percent (`8.5%` is 85).
    pub per_mille: u32,
    /// `a` of `(a/b)`: 1 KiB blocks done.
    pub blocks_done: Option<u64>,
    /// `b` of `(a/b)`: 1 KiB blocks to do in all.
    pub blocks_total: Option<u64>,
    /// `finish=17.0min`, in tenths of a minute (170).
    pub finish_tenths_of_minute: Option<u64>,
    /// `speed=259783K/sec`, in KiB per second.
    pub speed_kib_per_sec: Option<u64>,
}

/// Whether a continuation line (its first word given) is a sync line: it
/// starts with a progress bar or with a sync word.
pub(super) fn is_sync_line(first_word: &str) -> bool {
    first_word.starts_with('[') || action_prefix(first_word).is_some()
}

/// Reads a sync line (leading white space allowed). Never panics.
pub(super) fn parse_sync(line: &str) -> Result<SyncStatus, ProblemKind> {
    let mut rest = line.trim_start();
    if let Some(bar) = rest.strip_prefix('[') {
        let (inside, after) = bar.split_once(']').ok_or(ProblemKind::BadSync)?;
        if !inside.bytes().all(|b| matches!(b, b'=' | b'>' | b'.')) {
            return Err(ProblemKind::BadSync);
        }
        rest = after.trim_start();
    }
    let (action, after) = action_prefix(rest).ok_or(ProblemKind::BadSync)?;
    let value = after
        .trim_start()
        .strip_prefix('=')
        .ok_or(ProblemKind::BadSync)?
        .trim_start();
    let mut words = value.split_ascii_whitespace();
    let first = words.next().ok_or(ProblemKind::BadSync)?;
    let progress = match first {
        "DELAYED" => SyncProgress::Delayed,
        "PENDING" => SyncProgress::Pending,
        "REMOTE" => SyncProgress::Remote,
        _ => {
            let percent = first.strip_suffix('%').ok_or(ProblemKind::BadSync)?;
            let mut progress = Progress {
                per_mille: tenths(percent)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(ProblemKind::BadSync)?,
                blocks_done: None,
                blocks_total: None,
                finish_tenths_of_minute: None,
                speed_kib_per_sec: None,
            };
            for word in words {
                read_detail(word, &mut progress)?;
            }
            SyncProgress::Running(progress)
        }
    };
    Ok(SyncStatus { action, progress })
}

/// The sync word `text` starts with (followed by its end, `=` or white
/// space) and the text after it.
fn action_prefix(text: &str) -> Option<(SyncAction, &str)> {
    const WORDS: [(&str, SyncAction); 5] = [
        ("resync", SyncAction::Resync),
        ("recovery", SyncAction::Recovery),
        ("reshape", SyncAction::Reshape),
        ("check", SyncAction::Check),
        ("repair", SyncAction::Repair),
    ];
    WORDS.iter().find_map(|&(word, action)| {
        let after = text.strip_prefix(word)?;
        let ends = after.is_empty() || after.starts_with('=') || after.starts_with([' ', '\t']);
        ends.then_some((action, after))
    })
}

/// Reads one word after the percentage into `progress`.
fn read_detail(word: &str, progress: &mut Progress) -> Result<(), ProblemKind> {
    if let Some(inner) = word.strip_prefix('(') {
        let (done, total) = inner
            .strip_suffix(')')
            .and_then(|s| s.split_once('/'))
            .ok_or(ProblemKind::BadSync)?;
        progress.blocks_done = Some(number(done).ok_or(ProblemKind::BadSync)?);
        progress.blocks_total = Some(number(total).ok_or(ProblemKind::BadSync)?);
    } else if let Some(finish) = word.strip_prefix("finish=") {
        let minutes = finish.strip_suffix("min").ok_or(ProblemKind::BadSync)?;
        progress.finish_tenths_of_minute = Some(tenths(minutes).ok_or(ProblemKind::BadSync)?);
    } else if let Some(speed) = word.strip_prefix("speed=") {
        let kib = speed.strip_suffix("K/sec").ok_or(ProblemKind::BadSync)?;
        progress.speed_kib_per_sec = Some(number(kib).ok_or(ProblemKind::BadSync)?);
    }
    Ok(())
}

/// A decimal of ASCII digits only (no sign), if it fits a `u64`.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `N` or `N.D` (one decimal) in tenths: `8.5` is 85, `17` is 170.
fn tenths(text: &str) -> Option<u64> {
    let (whole, tenth) = match text.split_once('.') {
        Some((whole, tenth)) if tenth.len() == 1 => (whole, number(tenth)?),
        Some(_) => return None,
        None => (text, 0),
    };
    number(whole)?.checked_mul(10)?.checked_add(tenth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(line: &str) -> (SyncAction, Progress) {
        match parse_sync(line) {
            Ok(SyncStatus {
                action,
                progress: SyncProgress::Running(p),
            }) => (action, p),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn recovery_with_every_detail() {
        let (action, p) = running(
            "      [=>...................]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec",
        );
        assert_eq!(action, SyncAction::Recovery);
        assert_eq!(
            p,
            Progress {
                per_mille: 85,
                blocks_done: Some(16775552),
                blocks_total: Some(195310144),
                finish_tenths_of_minute: Some(170),
                speed_kib_per_sec: Some(259783),
            }
        );
    }

    #[test]
    fn every_action_and_a_full_percentage() {
        for (word, action) in [
            ("resync", SyncAction::Resync),
            ("recovery", SyncAction::Recovery),
            ("reshape", SyncAction::Reshape),
            ("check", SyncAction::Check),
            ("repair", SyncAction::Repair),
        ] {
            let (got, p) = running(&format!("[====>]  {word} =100.0% (5/5) finish=0.0min"));
            assert_eq!(
                (got, p.per_mille, p.speed_kib_per_sec),
                (action, 1000, None)
            );
        }
        // No bar, no details, whole percent (2.4's shortest form).
        let (_, p) = running("\tresync = 12% future=word");
        assert_eq!((p.per_mille, p.blocks_done), (120, None));
    }

    #[test]
    fn waiting_syncs() {
        for (line, progress) in [
            ("      resync=DELAYED", SyncProgress::Delayed),
            ("\tresync=PENDING", SyncProgress::Pending),
            ("      recovery=REMOTE", SyncProgress::Remote),
        ] {
            assert_eq!(parse_sync(line).unwrap().progress, progress, "{line}");
        }
    }

    #[test]
    fn classification() {
        assert!(is_sync_line("[=>....]"));
        assert!(is_sync_line("resync=DELAYED"));
        assert!(is_sync_line("check"));
        assert!(!is_sync_line("checked"));
        assert!(!is_sync_line("bitmap:"));
        assert!(!is_sync_line("1024"));
    }

    #[test]
    fn malformed_lines() {
        for line in [
            "[=>..x]  resync = 1.0%",
            "[=>...  resync = 1.0%",
            "[=>...]  rebuild = 1.0%",
            "resync 1.0%",
            "resync =",
            "resync = 1.0",
            "resync = 1.25%",
            "resync = .5%",
            "resync = -1%",
            "resync = 99999999999999999999%",
            "resync = 1.0% (1/)",
            "resync = 1.0% (1-2)",
            "resync = 1.0% finish=1.0h",
            "resync = 1.0% speed=fastK/sec",
            "resync=LATER",
        ] {
            assert_eq!(parse_sync(line), Err(ProblemKind::BadSync), "{line}");
        }
    }
}
