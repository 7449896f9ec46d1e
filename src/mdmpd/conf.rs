//! `/etc/mdmpd.conf`, in the manner of mdadm.conf: one `KEYWORD value...`
//! per line ([`MdmpdConf::parse`]).
//!
//! - Words are separated by white space; a word starting with `#` starts a
//!   comment that runs to the end of the line; blank lines are skipped.
//! - Keywords compare ASCII case-insensitively: `LEVELS`, `PROBE-INTERVAL`,
//!   `PROBE-TIMEOUT`, `RESCAN-INTERVAL`, `ACTUATOR`, `MDADM`, `PROGRAM`.
//! - A later line for a keyword replaces what an earlier one set.
//! - A bad value, an unknown keyword or an unknown level is a
//!   [`ConfWarning`] naming the line; the setting keeps the value it had
//!   (the default, unless an earlier line set it). Parsing never fails.
//!
//! Pure: text in, value and warnings out; no file access. Never panics;
//! linear in the input.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// `PROBE-INTERVAL` default: the seed's "once every 15 seconds".
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(15);
/// `PROBE-TIMEOUT` default.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// `RESCAN-INTERVAL` default: mdadm's `MONITORDELAY`.
pub const DEFAULT_RESCAN_INTERVAL: Duration = Duration::from_secs(60);
/// `MDADM` default.
pub const DEFAULT_MDADM: &str = "/sbin/mdadm";

/// The settings of `/etc/mdmpd.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdmpdConf {
    /// `LEVELS`: the md levels whose failed members are probed and re-added,
    /// without repeats (default: just `multipath`).
    pub levels: Vec<Level>,
    /// `PROBE-INTERVAL`: time between probes of a failed path (1 s to 1 h).
    pub probe_interval: Duration,
    /// `PROBE-TIMEOUT`: how long one probe may take (1 s to 1 h).
    pub probe_timeout: Duration,
    /// `RESCAN-INTERVAL`: the safety rescan without an event (1 s to 1 day).
    pub rescan_interval: Duration,
    /// `ACTUATOR`: how a recovered path is put back.
    pub actuator: Actuator,
    /// `MDADM`: the mdadm program the `mdadm` actuator runs.
    pub mdadm: PathBuf,
    /// `PROGRAM`: run as `PROGRAM event md-device component` on events.
    pub program: Option<PathBuf>,
}

impl Default for MdmpdConf {
    fn default() -> Self {
        MdmpdConf {
            levels: vec![Level::Multipath],
            probe_interval: DEFAULT_PROBE_INTERVAL,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            rescan_interval: DEFAULT_RESCAN_INTERVAL,
            actuator: Actuator::Sysfs,
            mdadm: PathBuf::from(DEFAULT_MDADM),
            program: None,
        }
    }
}

/// An md level mdmpd can watch: multipath and the redundant levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `multipath` (removed from Linux in 6.8).
    Multipath,
    /// `raid1`.
    Raid1,
    /// `raid4`.
    Raid4,
    /// `raid5`.
    Raid5,
    /// `raid6`.
    Raid6,
    /// `raid10`.
    Raid10,
}

impl Level {
    /// Every level, in this order.
    pub const ALL: [Level; 6] = [
        Level::Multipath,
        Level::Raid1,
        Level::Raid4,
        Level::Raid5,
        Level::Raid6,
        Level::Raid10,
    ];

    /// The name as `/proc/mdstat` and `md/level` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Multipath => "multipath",
            Level::Raid1 => "raid1",
            Level::Raid4 => "raid4",
            Level::Raid5 => "raid5",
            Level::Raid6 => "raid6",
            Level::Raid10 => "raid10",
        }
    }

    /// The level called `name` (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(name))
    }
}

/// How a recovered path is put back into its array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actuator {
    /// `sysfs`: write `remove`, then `re-add`, to `md/dev-XXX/state`.
    Sysfs,
    /// `ioctl`: `HOT_REMOVE_DISK`, then `HOT_ADD_DISK`, on `/dev/mdN`
    /// (0.90 superblocks only).
    Ioctl,
    /// `mdadm`: run `mdadm --manage` to remove and add it.
    Mdadm,
    /// `dry-run`: only log what would be done.
    DryRun,
}

impl Actuator {
    /// The `ACTUATOR` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Actuator::Sysfs => "sysfs",
            Actuator::Ioctl => "ioctl",
            Actuator::Mdadm => "mdadm",
            Actuator::DryRun => "dry-run",
        }
    }

    fn from_name(name: &str) -> Option<Actuator> {
        [
            Actuator::Sysfs,
            Actuator::Ioctl,
            Actuator::Mdadm,
            Actuator::DryRun,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }
}

/// A line (or part of one) that was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfWarning {
    /// The 1-based line.
    pub line: usize,
    /// What was wrong and what was done about it.
    pub text: String,
}

impl fmt::Display for ConfWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.text)
    }
}

impl MdmpdConf {
    /// Parses the text of `/etc/mdmpd.conf`. Never fails.
    pub fn parse(text: &str) -> (MdmpdConf, Vec<ConfWarning>) {
        let mut conf = MdmpdConf::default();
        let mut warnings = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let mut warn = |text: String| {
                warnings.push(ConfWarning {
                    line: index + 1,
                    text,
                })
            };
            let mut words = raw.split_whitespace().take_while(|w| !w.starts_with('#'));
            let Some(keyword) = words.next() else {
                continue;
            };
            let values: Vec<&str> = words.collect();
            conf.apply(keyword, &values, &mut warn);
        }
        (conf, warnings)
    }

    fn apply(&mut self, keyword: &str, values: &[&str], warn: &mut impl FnMut(String)) {
        let name = keyword.to_ascii_uppercase();
        match name.as_str() {
            "LEVELS" => self.levels(values, warn),
            "PROBE-INTERVAL" => seconds(&name, values, 3600, &mut self.probe_interval, warn),
            "PROBE-TIMEOUT" => seconds(&name, values, 3600, &mut self.probe_timeout, warn),
            "RESCAN-INTERVAL" => seconds(&name, values, 86400, &mut self.rescan_interval, warn),
            "ACTUATOR" => {
                let Some(word) = one_value(&name, values, warn) else {
                    return;
                };
                match Actuator::from_name(word) {
                    Some(actuator) => self.actuator = actuator,
                    None => warn(format!(
                        "ACTUATOR: unknown actuator '{}' (sysfs, ioctl, mdadm or dry-run); keeping {}",
                        word.escape_debug(),
                        self.actuator.as_str()
                    )),
                }
            }
            "MDADM" => {
                if let Some(path) = absolute_path(&name, values, warn) {
                    self.mdadm = path;
                }
            }
            "PROGRAM" => {
                if let Some(path) = absolute_path(&name, values, warn) {
                    self.program = Some(path);
                }
            }
            _ => warn(format!(
                "unknown keyword '{}', line ignored",
                keyword.escape_debug()
            )),
        }
    }

    fn levels(&mut self, values: &[&str], warn: &mut impl FnMut(String)) {
        let mut levels = Vec::new();
        for word in values {
            match Level::from_name(word) {
                Some(level) if !levels.contains(&level) => levels.push(level),
                Some(_) => {}
                None => warn(format!(
                    "LEVELS: unknown level '{}', ignored",
                    word.escape_debug()
                )),
            }
        }
        if levels.is_empty() {
            warn("LEVELS: no level to watch; keeping the levels in effect".to_owned());
        } else {
            self.levels = levels;
        }
    }
}

/// The single value of `keyword`, or a warning.
fn one_value<'a>(
    keyword: &str,
    values: &[&'a str],
    warn: &mut impl FnMut(String),
) -> Option<&'a str> {
    match values {
        [value] => Some(value),
        _ => {
            warn(format!("{keyword} takes one value; line ignored"));
            None
        }
    }
}

/// Sets `slot` to the single value of `keyword` in seconds, `1..=max`.
fn seconds(
    keyword: &str,
    values: &[&str],
    max: u64,
    slot: &mut Duration,
    warn: &mut impl FnMut(String),
) {
    let Some(word) = one_value(keyword, values, warn) else {
        return;
    };
    let digits = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
    match word.parse::<u64>() {
        Ok(n) if digits && (1..=max).contains(&n) => *slot = Duration::from_secs(n),
        _ => warn(format!(
            "{keyword}: '{}' is not a number of seconds from 1 to {max}; keeping {}",
            word.escape_debug(),
            slot.as_secs()
        )),
    }
}

/// The single value of `keyword` as an absolute path, or a warning.
fn absolute_path(keyword: &str, values: &[&str], warn: &mut impl FnMut(String)) -> Option<PathBuf> {
    let word = one_value(keyword, values, warn)?;
    if word.starts_with('/') {
        Some(PathBuf::from(word))
    } else {
        warn(format!(
            "{keyword}: '{}' is not an absolute path; line ignored",
            word.escape_debug()
        ));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (MdmpdConf, Vec<(usize, String)>) {
        let (conf, warnings) = MdmpdConf::parse(text);
        (
            conf,
            warnings.into_iter().map(|w| (w.line, w.text)).collect(),
        )
    }

    fn clean(text: &str) -> MdmpdConf {
        let (conf, warnings) = parse(text);
        assert_eq!(warnings, [], "{text}");
        conf
    }

    #[test]
    fn defaults() {
        let conf = clean("");
        assert_eq!(conf, MdmpdConf::default());
        assert_eq!(conf.levels, [Level::Multipath]);
        assert_eq!(conf.probe_interval, Duration::from_secs(15));
        assert_eq!(conf.probe_timeout, Duration::from_secs(10));
        assert_eq!(conf.rescan_interval, Duration::from_secs(60));
        assert_eq!(conf.actuator, Actuator::Sysfs);
        assert_eq!(conf.mdadm, PathBuf::from("/sbin/mdadm"));
        assert_eq!(conf.program, None);
        assert_eq!(
            clean("# only a comment\n\n   \n\t# indented\n"),
            MdmpdConf::default()
        );
    }

    #[test]
    fn levels() {
        let conf = clean("LEVELS multipath raid1 raid4 raid5 raid6 raid10 raid1\n");
        assert_eq!(conf.levels, Level::ALL);
        assert_eq!(clean("levels RAID1 # multipath\n").levels, [Level::Raid1]);
        let (conf, warnings) = parse("LEVELS raid0 raid5 linear\n");
        assert_eq!(conf.levels, [Level::Raid5]);
        let want = |w: &str| (1, format!("LEVELS: unknown level '{w}', ignored"));
        assert_eq!(warnings, [want("raid0"), want("linear")]);
        let (conf, warnings) = parse("LEVELS raid1\nLEVELS faulty\nLEVELS\n");
        assert_eq!(conf.levels, [Level::Raid1]);
        assert_eq!(warnings.len(), 3);
        assert_eq!(warnings[1].0, 2);
        assert_eq!(warnings[2].0, 3);
        assert_eq!(Level::from_name("MultiPath"), Some(Level::Multipath));
        assert!(Level::ALL
            .iter()
            .all(|l| Level::from_name(l.as_str()) == Some(*l)));
    }

    #[test]
    fn intervals() {
        let conf = clean("PROBE-INTERVAL 30\nprobe-timeout 5\nRescan-Interval 86400\n");
        assert_eq!(conf.probe_interval, Duration::from_secs(30));
        assert_eq!(conf.probe_timeout, Duration::from_secs(5));
        assert_eq!(conf.rescan_interval, Duration::from_secs(86400));
        let conf = clean("PROBE-INTERVAL 1\nPROBE-INTERVAL 3600\n");
        assert_eq!(conf.probe_interval, Duration::from_secs(3600));
        let text = "PROBE-INTERVAL 0\nPROBE-INTERVAL 3601\nPROBE-TIMEOUT +5\nRESCAN-INTERVAL 86401\nRESCAN-INTERVAL 1 2\nPROBE-INTERVAL\nPROBE-TIMEOUT 99999999999999999999999\n";
        let (conf, warnings) = parse(text);
        assert_eq!(conf, MdmpdConf::default());
        let lines: Vec<_> = warnings.iter().map(|w| w.0).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(
            warnings[0].1,
            "PROBE-INTERVAL: '0' is not a number of seconds from 1 to 3600; keeping 15"
        );
        assert_eq!(
            warnings[4].1,
            "RESCAN-INTERVAL takes one value; line ignored"
        );
        // A bad value keeps what an earlier line set.
        let (conf, warnings) = parse("PROBE-INTERVAL 20\nPROBE-INTERVAL x\n");
        assert_eq!(conf.probe_interval, Duration::from_secs(20));
        assert!(warnings[0].1.ends_with("keeping 20"));
    }

    #[test]
    fn actuator() {
        for (word, actuator) in [
            ("sysfs", Actuator::Sysfs),
            ("IOCTL", Actuator::Ioctl),
            ("mdadm", Actuator::Mdadm),
            ("dry-run", Actuator::DryRun),
        ] {
            assert_eq!(clean(&format!("ACTUATOR {word}")).actuator, actuator);
        }
        let (conf, warnings) = parse("ACTUATOR mdadm\nACTUATOR udev\n");
        assert_eq!(conf.actuator, Actuator::Mdadm);
        let want =
            "ACTUATOR: unknown actuator 'udev' (sysfs, ioctl, mdadm or dry-run); keeping mdadm";
        assert_eq!(warnings, [(2, want.to_owned())]);
    }

    #[test]
    fn paths() {
        let conf = clean("MDADM /usr/sbin/mdadm\nPROGRAM /usr/local/bin/md-event\n");
        assert_eq!(conf.mdadm, PathBuf::from("/usr/sbin/mdadm"));
        assert_eq!(conf.program, Some(PathBuf::from("/usr/local/bin/md-event")));
        let (conf, warnings) = parse("MDADM mdadm\nPROGRAM\nPROGRAM /a /b\n");
        assert_eq!(
            (conf.mdadm.to_str(), conf.program),
            (Some(DEFAULT_MDADM), None)
        );
        let want = [
            (
                1,
                "MDADM: 'mdadm' is not an absolute path; line ignored".to_owned(),
            ),
            (2, "PROGRAM takes one value; line ignored".to_owned()),
            (3, "PROGRAM takes one value; line ignored".to_owned()),
        ];
        assert_eq!(warnings, want);
    }

    #[test]
    fn unknown_keywords() {
        let (conf, warnings) = parse("MAILADDR root\n\nfoo\u{7} bar\n");
        assert_eq!(conf, MdmpdConf::default());
        let want = [
            (1, "unknown keyword 'MAILADDR', line ignored".to_owned()),
            (3, "unknown keyword 'foo\\u{7}', line ignored".to_owned()),
        ];
        assert_eq!(warnings, want);
        let w = ConfWarning {
            line: 3,
            text: "x".into(),
        };
        assert_eq!(w.to_string(), "line 3: x");
    }
}
