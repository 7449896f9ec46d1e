//! What the engine asks of the glue: probes, re-adds and events to report.
//!
//! Events carry mdadm `--monitor`'s names where mdadm has one (`Fail`,
//! `SpareActive`, `DeviceDisappeared`, `NewArray`); the others are this
//! daemon's own, in the same style:
//!
//! | kind | when | priority |
//! |---|---|---|
//! | `Fail` | a watched member turned faulty (or was faulty at start) | crit |
//! | `DeviceDisappeared` | a watched array is gone | crit |
//! | `ReaddFailed` | a re-add failed or was not confirmed in time | warning |
//! | `PathRecovered` | a probe of a failed member succeeded | info |
//! | `SpareActive` | the member is back in the array ("re-added") | info |
//! | `NewArray` | a watched array appeared after the start | info |
//! | `PathRemoved` | a failed member left the array without our re-add (the admin removed it) | info |
//! | `ProbeFailed` | a probe failed; the member stays failed | debug |
//!
//! [`Priority::Debug`] events are for the log only (at debug level), not
//! for alert hooks: the glue may drop them.
//!
//! [`Event::log_line`] renders mdadm's message,
//! `"{Kind} event detected on md device /dev/{array}"` followed by
//! `", component device /dev/{member}"` when a member is known and
//! `": {detail}"` when a detail is present. Control characters in names and
//! details are escaped there (`\n`, `\u{1b}`), so the line is safe to log
//! as it is. [`Event::program_args`] gives mdadm's `PROGRAM` argv:
//! `event md-device [component]`.
//!
//! # Panic contract
//! Nothing here panics.

use std::fmt;

/// Names one probe. Never repeats within an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(pub(super) u64);

/// Names one re-add. Never repeats within an engine (nor equals a
/// [`ProbeId`]'s number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReaddId(pub(super) u64);

/// Something for the glue to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check whether the path to `member` works (e.g. read 4 KiB at offset
    /// 0 with `O_DIRECT`); report with [`super::MdmpdCore::handle_probe`].
    Probe {
        /// Names this probe.
        id: ProbeId,
        /// The array, e.g. `md0`.
        array: String,
        /// The member, e.g. `sdb1`.
        member: String,
    },
    /// Put `member` back into `array` (as a new spare path on multipath);
    /// report with [`super::MdmpdCore::handle_readd`].
    Readd {
        /// Names this re-add.
        id: ReaddId,
        /// The array.
        array: String,
        /// The member.
        member: String,
        /// The array's level, for choosing the method (hot-add, `re-add`).
        level: String,
    },
    /// Report this.
    Event(Event),
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A member turned faulty.
    Fail,
    /// A probe of a failed member succeeded; a re-add follows.
    PathRecovered,
    /// The member is back in the array.
    SpareActive,
    /// A re-add failed; probing goes on.
    ReaddFailed,
    /// A watched array is gone.
    DeviceDisappeared,
    /// A watched array appeared.
    NewArray,
    /// A failed member left the array by someone else's hand; no more
    /// probes.
    PathRemoved,
    /// A probe failed (debug only).
    ProbeFailed,
}

/// A syslog priority hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// LOG_CRIT.
    Crit,
    /// LOG_WARNING.
    Warning,
    /// LOG_INFO.
    Info,
    /// LOG_DEBUG: log only, no alert.
    Debug,
}

impl Priority {
    /// syslog's name: `crit`, `warning`, `info`, `debug`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Crit => "crit",
            Priority::Warning => "warning",
            Priority::Info => "info",
            Priority::Debug => "debug",
        }
    }
}

impl EventKind {
    /// Every kind, for tables and tests.
    pub const ALL: [EventKind; 8] = [
        EventKind::Fail,
        EventKind::PathRecovered,
        EventKind::SpareActive,
        EventKind::ReaddFailed,
        EventKind::DeviceDisappeared,
        EventKind::NewArray,
        EventKind::PathRemoved,
        EventKind::ProbeFailed,
    ];

    /// The capitalised name, as mdadm spells its events.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fail => "Fail",
            EventKind::PathRecovered => "PathRecovered",
            EventKind::SpareActive => "SpareActive",
            EventKind::ReaddFailed => "ReaddFailed",
            EventKind::DeviceDisappeared => "DeviceDisappeared",
            EventKind::NewArray => "NewArray",
            EventKind::PathRemoved => "PathRemoved",
            EventKind::ProbeFailed => "ProbeFailed",
        }
    }

    /// How loudly to log it (module doc table).
    pub fn priority(self) -> Priority {
        match self {
            EventKind::Fail | EventKind::DeviceDisappeared => Priority::Crit,
            EventKind::ReaddFailed => Priority::Warning,
            EventKind::ProbeFailed => Priority::Debug,
            EventKind::PathRecovered
            | EventKind::SpareActive
            | EventKind::NewArray
            | EventKind::PathRemoved => Priority::Info,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The array, e.g. `md0`.
    pub array: String,
    /// The member, when the event is about one.
    pub member: Option<String>,
    /// More words: an error text, a reason.
    pub detail: Option<String>,
}

impl Event {
    /// mdadm's log message (module doc).
    pub fn log_line(&self) -> String {
        self.to_string()
    }

    /// mdadm's `PROGRAM` argv after the program name: the event, the md
    /// device, and the component device when known.
    pub fn program_args(&self) -> Vec<String> {
        let mut args = vec![self.kind.as_str().to_string(), dev(&self.array)];
        if let Some(m) = &self.member {
            args.push(dev(m));
        }
        args
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} event detected on md device /dev/{}",
            self.kind,
            clean(&self.array)
        )?;
        if let Some(m) = &self.member {
            write!(f, ", component device /dev/{}", clean(m))?;
        }
        if let Some(d) = &self.detail {
            write!(f, ": {}", clean(d))?;
        }
        Ok(())
    }
}

fn dev(name: &str) -> String {
    format!("/dev/{name}")
}

/// `text` with control characters escaped, everything else as it is.
pub(super) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, member: Option<&str>, detail: Option<&str>) -> Event {
        Event {
            kind,
            array: "md0".into(),
            member: member.map(Into::into),
            detail: detail.map(Into::into),
        }
    }

    #[test]
    fn log_line_is_mdadms() {
        assert_eq!(
            ev(EventKind::Fail, Some("sdb1"), None).log_line(),
            "Fail event detected on md device /dev/md0, component device /dev/sdb1"
        );
        assert_eq!(
            ev(EventKind::DeviceDisappeared, None, None).log_line(),
            "DeviceDisappeared event detected on md device /dev/md0"
        );
        assert_eq!(
            ev(
                EventKind::ReaddFailed,
                Some("sdb1"),
                Some("Device or resource busy")
            )
            .log_line(),
            "ReaddFailed event detected on md device /dev/md0, component device /dev/sdb1: \
             Device or resource busy"
        );
        assert_eq!(
            ev(EventKind::NewArray, None, Some("level multipath")).to_string(),
            "NewArray event detected on md device /dev/md0: level multipath"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let e = ev(
            EventKind::ProbeFailed,
            Some("sd\nb"),
            Some("bad\u{1b}[31m it's"),
        );
        assert_eq!(
            e.log_line(),
            "ProbeFailed event detected on md device /dev/md0, component device /dev/sd\\nb: \
             bad\\u{1b}[31m it's"
        );
    }

    #[test]
    fn program_args_follow_mdadm() {
        assert_eq!(
            ev(EventKind::SpareActive, Some("sdb1"), Some("x")).program_args(),
            ["SpareActive", "/dev/md0", "/dev/sdb1"]
        );
        assert_eq!(
            ev(EventKind::NewArray, None, None).program_args(),
            ["NewArray", "/dev/md0"]
        );
    }

    #[test]
    fn names_and_priorities() {
        let table: Vec<(&str, &str)> = EventKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.priority().as_str()))
            .collect();
        assert_eq!(
            table,
            [
                ("Fail", "crit"),
                ("PathRecovered", "info"),
                ("SpareActive", "info"),
                ("ReaddFailed", "warning"),
                ("DeviceDisappeared", "crit"),
                ("NewArray", "info"),
                ("PathRemoved", "info"),
                ("ProbeFailed", "debug"),
            ]
        );
    }
}
