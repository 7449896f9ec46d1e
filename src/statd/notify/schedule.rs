//! When to try a host again: the reboot-notification retry schedule.
//!
//! A schedule is a list of steps, each "this many waits of this long", the
//! last of which may repeat forever, and an optional give-up time. Round 0
//! (the first try) starts at offset 0 from the moment notification began;
//! round `k` starts at the sum of the first `k` waits. Offsets count from
//! that fixed start, not from the end of the previous round, so a notifier
//! that restarts can tell from the clock alone where it was
//! ([`Schedule::resume`]) and carry on, not start over.
//!
//! The seed man page's schedule ([`Schedule::seed`]): "retry at frequent
//! intervals for 10 minutes, then hourly, and finally gives up after 24
//! hours", as FreeBSD and Apple run it: 10 waits of 5 s, 10 of 60 s, then
//! hourly, no round starting 24 h or more after the start.
//!
//! Text form ([`Schedule::parse`], used by `--notify-schedule`): steps
//! separated by commas, each `COUNTxWAIT`, the last may be `*xWAIT`
//! (forever). A wait is a number with an optional unit `s`, `m`, `h`
//! (seconds if none). The seed's schedule is `10x5s,10x60s,*x1h`.
//!
//! # Panic contract
//! Nothing here panics, whatever the text or the durations; sums saturate.

use std::fmt;
use std::time::Duration;

/// Most steps a schedule may have.
const MAX_STEPS: usize = 32;

/// Longest single wait accepted (a week).
const MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// One step: `count` waits of `wait` (`None`: forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// How many waits; `None` repeats forever (last step only).
    pub count: Option<u32>,
    /// The wait between two rounds.
    pub wait: Duration,
}

/// A retry schedule. Invariants: at least one step, every wait above zero,
/// only the last step may repeat forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    steps: Vec<Step>,
    give_up: Option<Duration>,
}

/// Why a schedule or duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScheduleError {}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::seed()
    }
}

impl Schedule {
    /// The seed's schedule: `10x5s,10x60s,*x1h`, giving up after 24 h.
    pub fn seed() -> Schedule {
        Schedule {
            steps: vec![
                Step {
                    count: Some(10),
                    wait: Duration::from_secs(5),
                },
                Step {
                    count: Some(10),
                    wait: Duration::from_secs(60),
                },
                Step {
                    count: None,
                    wait: Duration::from_secs(3600),
                },
            ],
            give_up: Some(Duration::from_secs(24 * 3600)),
        }
    }

    /// sm-notify's: waits doubling from 2 s to 120 s, then every 120 s,
    /// giving up after `give_up` (`None`: never; nfs-utils' `-m 0`).
    pub fn backoff(give_up: Option<Duration>) -> Schedule {
        let mut steps: Vec<Step> = [2, 4, 8, 16, 32, 64]
            .iter()
            .map(|&s| Step {
                count: Some(1),
                wait: Duration::from_secs(s),
            })
            .collect();
        steps.push(Step {
            count: None,
            wait: Duration::from_secs(120),
        });
        Schedule { steps, give_up }
    }

    /// Parses the text form (module doc); `give_up` as given.
    pub fn parse(spec: &str, give_up: Option<Duration>) -> Result<Schedule, ScheduleError> {
        let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
        if parts.len() > MAX_STEPS {
            return Err(ScheduleError(format!("more than {MAX_STEPS} steps")));
        }
        let mut steps = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let Some((count, wait)) = part.split_once(['x', 'X']) else {
                return Err(ScheduleError(format!(
                    "\"{}\": a step is COUNTxWAIT",
                    part.escape_debug()
                )));
            };
            let count = match count.trim() {
                "*" if i + 1 == parts.len() => None,
                "*" => {
                    return Err(ScheduleError("only the last step may be *xWAIT".into()));
                }
                n => match n.parse::<u32>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => {
                        return Err(ScheduleError(format!(
                            "\"{}\": the count must be a number above 0 or *",
                            n.escape_debug()
                        )))
                    }
                },
            };
            let wait = parse_duration(wait)?;
            if wait.is_zero() {
                return Err(ScheduleError("a wait must be above 0".into()));
            }
            steps.push(Step { count, wait });
        }
        Ok(Schedule { steps, give_up })
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// No round starts this long after the start (`None`: never give up).
    pub fn give_up(&self) -> Option<Duration> {
        self.give_up
    }

    /// The same steps with another give-up time.
    pub fn with_give_up(mut self, give_up: Option<Duration>) -> Schedule {
        self.give_up = give_up;
        self
    }

    /// When round `round` starts, counted from the start; `None` if the
    /// schedule has no such round (steps used up, or past the give-up time).
    pub fn offset_of(&self, round: u32) -> Option<Duration> {
        let mut left = round;
        let mut at = Duration::ZERO;
        for step in &self.steps {
            if left == 0 {
                break;
            }
            let n = step.count.map_or(left, |c| c.min(left));
            at = at.saturating_add(step.wait.saturating_mul(n));
            left -= n;
        }
        if left > 0 {
            return None;
        }
        match self.give_up {
            Some(limit) if at >= limit && round > 0 => None,
            _ => Some(at),
        }
    }

    /// Where a notifier that has been at it for `elapsed` stands: the first
    /// round that starts at or after `elapsed`, with its offset; `None`
    /// once no round is left (given up).
    pub fn resume(&self, elapsed: Duration) -> Option<(u32, Duration)> {
        let mut round = 0u32;
        let mut at = Duration::ZERO;
        for step in &self.steps {
            if at >= elapsed {
                break;
            }
            let behind = elapsed - at;
            // Waits of this step needed to reach `elapsed`, rounded up.
            let need = u32::try_from(ceil_div(behind, step.wait)).unwrap_or(u32::MAX);
            let n = step.count.map_or(need, |c| c.min(need));
            at = at.saturating_add(step.wait.saturating_mul(n));
            round = round.saturating_add(n);
        }
        if at < elapsed {
            return None;
        }
        self.offset_of(round).map(|o| (round, o))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match step.count {
                Some(n) => write!(f, "{n}x{}", show_duration(step.wait))?,
                None => write!(f, "*x{}", show_duration(step.wait))?,
            }
        }
        match self.give_up {
            Some(g) => write!(f, " (give up after {})", show_duration(g)),
            None => f.write_str(" (never give up)"),
        }
    }
}

fn ceil_div(a: Duration, b: Duration) -> u128 {
    let (a, b) = (a.as_nanos(), b.as_nanos().max(1));
    a.div_ceil(b)
}

/// Parses `N`, `Ns`, `Nm` or `Nh` (whole numbers) into a duration of at
/// most a week.
pub fn parse_duration(text: &str) -> Result<Duration, ScheduleError> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(ScheduleError(format!(
                "\"{}\": a duration is a number with s, m or h",
                text.escape_debug()
            )))
        }
    };
    let secs = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .map(Duration::from_secs)
        .filter(|d| *d <= MAX_WAIT)
        .ok_or_else(|| {
            ScheduleError(format!(
                "\"{}\": not a duration of at most a week",
                text.escape_debug()
            ))
        })?;
    Ok(secs)
}

/// `90s` → `90s`, `3600s` → `1h`, `120s` → `2m`.
fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn seed_schedule_is_ten_minutes_frequent_then_hourly_for_a_day() {
        let s = Schedule::seed();
        assert_eq!(s.offset_of(0), Some(secs(0)));
        assert_eq!(s.offset_of(1), Some(secs(5)));
        assert_eq!(s.offset_of(10), Some(secs(50)));
        assert_eq!(s.offset_of(11), Some(secs(110)));
        assert_eq!(s.offset_of(20), Some(secs(650)));
        assert_eq!(s.offset_of(21), Some(secs(4250)));
        // Hourly rounds at 650 + 3600k below 24 h: k = 1..=23.
        assert_eq!(s.offset_of(43), Some(secs(650 + 23 * 3600)));
        assert_eq!(s.offset_of(44), None);
        assert_eq!(s.to_string(), "10x5s,10x1m,*x1h (give up after 24h)");
    }

    #[test]
    fn resume_picks_the_next_round_from_elapsed_time() {
        let s = Schedule::seed();
        assert_eq!(s.resume(secs(0)), Some((0, secs(0))));
        assert_eq!(s.resume(secs(1)), Some((1, secs(5))));
        assert_eq!(s.resume(secs(5)), Some((1, secs(5))));
        assert_eq!(s.resume(secs(51)), Some((11, secs(110))));
        assert_eq!(s.resume(secs(3 * 3600)), Some((23, secs(650 + 3 * 3600))));
        assert_eq!(s.resume(secs(24 * 3600 - 1)), None);
        assert_eq!(s.resume(secs(30 * 3600)), None);
    }

    #[test]
    fn backoff_doubles_to_two_minutes() {
        let s = Schedule::backoff(Some(secs(15 * 60)));
        let offsets: Vec<u64> = (0..9).map(|r| s.offset_of(r).unwrap().as_secs()).collect();
        assert_eq!(offsets, [0, 2, 6, 14, 30, 62, 126, 246, 366]);
        assert_eq!(s.offset_of(12), Some(secs(846)));
        assert_eq!(s.offset_of(13), None);
        let forever = Schedule::backoff(None);
        assert_eq!(forever.offset_of(10_000), Some(secs(126 + 9_994 * 120)));
    }

    #[test]
    fn text_form_round_trips_and_bad_text_is_refused() {
        let s = Schedule::parse("10x5s, 10x60, *x1h", Some(secs(86_400))).unwrap();
        assert_eq!(s, Schedule::seed());
        let finite = Schedule::parse("3x2s", None).unwrap();
        assert_eq!(finite.offset_of(3), Some(secs(6)));
        assert_eq!(finite.offset_of(4), None);
        assert_eq!(finite.resume(secs(7)), None);
        for bad in [
            "",
            "5s",
            "0x5s",
            "*x5s,1x5s",
            "3x0s",
            "3x5d",
            "ax5s",
            "3x",
            "3x-5s",
            "3x999999999999999999h",
        ] {
            assert!(Schedule::parse(bad, None).is_err(), "{bad:?} accepted");
        }
        let many = vec!["1x1s"; MAX_STEPS + 1].join(",");
        assert!(Schedule::parse(&many, None).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(secs(90)));
        assert_eq!(parse_duration("15m"), Ok(secs(900)));
        assert_eq!(parse_duration("24h"), Ok(secs(86_400)));
        assert!(parse_duration("8d").is_err());
        assert!(parse_duration("169h").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn huge_round_numbers_saturate_without_panic() {
        let s = Schedule::parse("*x1h", None).unwrap();
        assert!(s.offset_of(u32::MAX).is_some());
        assert_eq!(s.resume(Duration::MAX), None);
    }
}
