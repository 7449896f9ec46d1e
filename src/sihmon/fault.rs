//! The test hook `STATMON_SIHMON_FAULT` (sihmon(1M)): the three exits no
//! working system reaches on purpose, made reachable so that tests see
//! their log lines and codes.
//!
//! - `pmpipe`: the first read from `_pmpipe` is taken as a failed poll
//!   (exit 20, EPOLLSAC);
//! - `event-loop`: creating the event loop is taken as failed (exit 50,
//!   EINTERNAL1);
//! - `panic`: a start that passed every check panics (exit 99,
//!   EINTERNAL2).
//!
//! Any other value, or none, injects nothing.

/// The variable naming the fault.
pub const FAULT_ENV: &str = "STATMON_SIHMON_FAULT";

/// A fault the hook injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reading `_pmpipe` fails.
    Pmpipe,
    /// Creating the event loop fails.
    EventLoop,
    /// The start panics.
    Panic,
}

impl Fault {
    /// The fault `value` names, if any.
    pub fn parse(value: &str) -> Option<Fault> {
        match value {
            "pmpipe" => Some(Fault::Pmpipe),
            "event-loop" => Some(Fault::EventLoop),
            "panic" => Some(Fault::Panic),
            _ => None,
        }
    }

    /// The fault the environment names, if any.
    pub fn from_env() -> Option<Fault> {
        Fault::parse(std::env::var(FAULT_ENV).ok()?.as_str())
    }

    /// What the injected failure says, naming the hook.
    pub fn reason(self) -> String {
        let word = match self {
            Fault::Pmpipe => "pmpipe",
            Fault::EventLoop => "event-loop",
            Fault::Panic => "panic",
        };
        format!("injected by {FAULT_ENV}={word}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_words_and_nothing_else() {
        for f in [Fault::Pmpipe, Fault::EventLoop, Fault::Panic] {
            let word = f
                .reason()
                .rsplit('=')
                .next()
                .unwrap_or_default()
                .to_string();
            assert_eq!(Fault::parse(&word), Some(f));
        }
        assert_eq!(Fault::parse(""), None);
        assert_eq!(Fault::parse("PANIC"), None);
        assert_eq!(Fault::parse("eventloop"), None);
    }
}
