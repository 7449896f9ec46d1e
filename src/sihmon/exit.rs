//! sihmon's exit codes, as its manual page lists them. Every code from
//! [`Exit::RUNNING`] (4) on is preceded by a FATAL line in the log once the
//! log is open, and by a line on stderr (and the console) before.

/// An exit code of sihmon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exit(pub i32);

impl Exit {
    /// Stopped by SIGTERM, or `-v` / `-h`.
    pub const OK: Exit = Exit(0);
    /// EILLOPT: an unknown option.
    pub const ILLOPT: Exit = Exit(1);
    /// EWRARG: a bad option argument.
    pub const WRARG: Exit = Exit(2);
    /// ENOROOT: not started by root.
    pub const NOROOT: Exit = Exit(3);
    /// EPIDLOCK: `_pid` is locked: the incarnation runs already.
    pub const PIDLOCK: Exit = Exit(4);
    /// ECPID: `_pid` cannot be created or written.
    pub const CPID: Exit = Exit(5);
    /// EPMTAG: no `PMTAG` in the environment.
    pub const PMTAG: Exit = Exit(6);
    /// ENOLOG: the log cannot be opened.
    pub const NOLOG: Exit = Exit(7);
    /// EISTATE: `ISTATE` is neither `enabled` nor `disabled`.
    pub const ISTATE: Exit = Exit(8);
    /// EPMPIPE: `_pmpipe` cannot be opened.
    pub const PMPIPE: Exit = Exit(9);
    /// ESACPIPE: `../_sacpipe` cannot be opened.
    pub const SACPIPE: Exit = Exit(10);
    /// ETOOFEWFDS: fewer descriptors allowed than 15 and one per link.
    pub const TOOFEWFDS: Exit = Exit(11);
    /// ENOPMTAB.
    pub const NOPMTAB: Exit = Exit(12);
    /// ENOHDLCLABS.
    pub const NOHDLCLABS: Exit = Exit(13);
    /// ENOHDLCDEFS.
    pub const NOHDLCDEFS: Exit = Exit(14);
    /// ENOTTYDEFS.
    pub const NOTTYDEFS: Exit = Exit(15);
    /// EWRPMTAB: pmtab of another version.
    pub const WRPMTAB: Exit = Exit(16);
    /// EWRHDLCLABS.
    pub const WRHDLCLABS: Exit = Exit(17);
    /// EWRHDLCDEFS.
    pub const WRHDLCDEFS: Exit = Exit(18);
    /// EWRTTYDEFS.
    pub const WRTTYDEFS: Exit = Exit(19);
    /// EPOLLSAC: waiting on `_pmpipe` failed.
    pub const POLLSAC: Exit = Exit(20);
    /// ECLDEXEC: a loader program cannot be executed.
    pub const CLDEXEC: Exit = Exit(21);
    /// EINTERNAL1: the event loop failed.
    pub const INTERNAL1: Exit = Exit(50);
    /// EINTERNAL2: a program error (a panic).
    pub const INTERNAL2: Exit = Exit(99);

    /// The seed's symbolic name (`EPIDLOCK`), or `exit N`.
    pub fn name(self) -> String {
        const NAMES: [&str; 22] = [
            "OK",
            "EILLOPT",
            "EWRARG",
            "ENOROOT",
            "EPIDLOCK",
            "ECPID",
            "EPMTAG",
            "ENOLOG",
            "EISTATE",
            "EPMPIPE",
            "ESACPIPE",
            "ETOOFEWFDS",
            "ENOPMTAB",
            "ENOHDLCLABS",
            "ENOHDLCDEFS",
            "ENOTTYDEFS",
            "EWRPMTAB",
            "EWRHDLCLABS",
            "EWRHDLCDEFS",
            "EWRTTYDEFS",
            "EPOLLSAC",
            "ECLDEXEC",
        ];
        match self.0 {
            50 => "EINTERNAL1".into(),
            99 => "EINTERNAL2".into(),
            n => usize::try_from(n)
                .ok()
                .and_then(|i| NAMES.get(i))
                .map_or_else(|| format!("exit {n}"), |s| s.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_manual() {
        assert_eq!(Exit::PIDLOCK.name(), "EPIDLOCK");
        assert_eq!(Exit::CLDEXEC.name(), "ECLDEXEC");
        assert_eq!(Exit::WRTTYDEFS.0, 19);
        assert_eq!(Exit::INTERNAL2.name(), "EINTERNAL2");
        assert_eq!(Exit(42).name(), "exit 42");
    }
}
