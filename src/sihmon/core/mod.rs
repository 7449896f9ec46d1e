//! The sans-IO engine of sihmon: the port monitor's SAF state, one
//! [`link::Link`] per pmtab entry, the retry and hang deadlines. It never
//! touches a file, a process or the clock: the glue hands it the time and
//! what happened (`handle_*`), carries out the [`Action`]s it asks for
//! ([`Engine::poll_action`]), and wakes it at [`Engine::poll_timeout`].
//!
//! A link's life (the manual's rules):
//! - every entry's admin device is opened and put in loading mode
//!   ([`Action::Open`]), disabled entries (`x`) included; nothing more
//!   happens to a link while its entry or the monitor is disabled;
//! - an enabled link on an enabled monitor gets its line parameters
//!   ([`Action::Params`], when its `adjust` says so) and its loader runs
//!   ([`Action::Spawn`]); exit 0 means loaded;
//! - a failure (open, parameters, loader exit > 0, a signal, a loader that
//!   cannot start) is repeated after the retry interval (`max(10, -t)`
//!   seconds); after `-r` failures in a row (0: never) the link is
//!   internally DISABLED until `SC_READDB`;
//! - a loader still running after the hang limit is killed (and that is a
//!   failure); a device switched on again is loaded again;
//! - an entry removed from pmtab, or the monitor stopping, resets loading
//!   mode ([`Action::Reset`]).
//!
//! At most [`MAX_LINKS`] enabled entries are monitored; the rest are
//! warned about and ignored.

pub mod action;
pub mod link;

pub use self::action::{Action, LinkStatus};

use self::link::{Link, LinkState, LoaderEnd, Op};
use super::logfile::Type;
use super::tables::pmtab::Adjust;
use super::tables::Tables;
use super::wire::{PmMsg, PmState, PmType, ScType};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Most enabled links one monitor serves.
pub const MAX_LINKS: usize = 200;
/// The shortest retry interval.
pub const MIN_RETRY: Duration = Duration::from_secs(10);

/// The engine's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The retry interval (`-t`, at least [`MIN_RETRY`]).
    pub retry: Duration,
    /// Failures in a row before a link is disabled (`-r`; 0: never).
    pub retries: u32,
    /// How long a loader may run before it is killed.
    pub hang: Duration,
}

impl Config {
    /// The settings for `-t timeout -r retry`: the retry interval at
    /// least 10 s, the hang limit twice the interval.
    pub fn new(timeout_secs: u64, retries: u32) -> Config {
        let retry = Duration::from_secs(timeout_secs).max(MIN_RETRY);
        Config {
            retry,
            retries,
            hang: retry * 2,
        }
    }
}

/// The engine.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    tag: String,
    pm: PmState,
    links: Vec<Link>,
    tables: Tables,
    actions: VecDeque<Action>,
}

impl Engine {
    /// A monitor tagged `tag`, starting in `state` (from `ISTATE`), with
    /// no links until [`Engine::handle_tables`].
    pub fn new(config: Config, tag: &str, state: PmState) -> Engine {
        Engine {
            config,
            tag: tag.to_string(),
            pm: state,
            links: Vec::new(),
            tables: Tables::default(),
            actions: VecDeque::new(),
        }
    }

    /// The monitor's SAF state.
    pub fn state(&self) -> PmState {
        self.pm
    }

    /// The settings.
    pub fn config(&self) -> Config {
        self.config
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When the engine next needs [`Engine::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.links.iter().filter_map(|l| l.wake).min()
    }

    /// The links, in pmtab order (`svctag`: that one only).
    pub fn status(&self, svctag: Option<&str>) -> Vec<LinkStatus> {
        self.links
            .iter()
            .filter(|l| svctag.is_none_or(|s| s == l.svctag()))
            .map(|l| LinkStatus {
                svctag: l.svctag().to_string(),
                state: l.state,
                enabled: !l.entry.disabled,
                failures: l.failures,
                last: l.last,
                changed: l.changed,
            })
            .collect()
    }

    /// A message from sac: acts on it and returns the answer, and whether
    /// the tables are to be read again (`SC_READDB`: the glue reads them
    /// and calls [`Engine::handle_tables`]).
    pub fn handle_sac(&mut self, now: Instant, kind: ScType) -> (PmMsg, bool) {
        self.detail(format!("got {} message", kind.name()));
        let mut reread = false;
        let mut answer = PmType::STATUS;
        match kind {
            ScType::STATUS => {}
            ScType::ENABLE if self.pm == PmState::DISABLED => {
                self.pm = PmState::ENABLED;
                self.log(Type::Info, "enabled by SAC".into());
                for i in 0..self.links.len() {
                    self.step(now, i);
                }
            }
            ScType::DISABLE if self.pm == PmState::ENABLED => {
                self.pm = PmState::DISABLED;
                self.log(Type::Info, "disabled by SAC".into());
            }
            ScType::ENABLE | ScType::DISABLE => {}
            ScType::READDB => reread = true,
            other => {
                self.log(Type::Warn, format!("unknown SAC message {}", other.name()));
                answer = PmType::UNKNOWN;
            }
        }
        (PmMsg::reply(answer, self.pm, &self.tag), reread)
    }

    /// New tables (at start, or read again for `SC_READDB`): links gone
    /// are reset, new ones opened, changed ones reopened; internally
    /// disabled links are enabled again and every failure count cleared.
    pub fn handle_tables(&mut self, now: Instant, tables: Tables) {
        let mut wanted = Vec::new();
        let mut enabled = 0;
        for entry in &tables.pmtab {
            if !entry.disabled {
                if enabled == MAX_LINKS {
                    self.log(
                        Type::Warn,
                        format!(
                            "link {} not monitored: limit {MAX_LINKS} reached",
                            entry.svctag
                        ),
                    );
                    continue;
                }
                enabled += 1;
            }
            wanted.push(entry.clone());
        }
        let old = std::mem::take(&mut self.links);
        let mut kept: Vec<Link> = Vec::new();
        for l in old {
            match wanted.iter().find(|e| e.svctag == l.entry.svctag) {
                Some(e) if e.specific == l.entry.specific => kept.push(l),
                Some(_) => {
                    self.detail(format!("link {}: entry changed", l.svctag()));
                    self.drop_link(&l);
                }
                None => {
                    self.log(
                        Type::Info,
                        format!("link {} removed from pmtab", l.svctag()),
                    );
                    self.drop_link(&l);
                }
            }
        }
        self.tables = tables;
        for entry in wanted {
            let at = kept.iter().position(|l| l.entry.svctag == entry.svctag);
            let mut link = match at {
                Some(i) => kept.swap_remove(i),
                None => Link::new(entry.clone(), now),
            };
            if link.entry.disabled && !entry.disabled {
                // Enabled again: load it, as on its first enable.
                link.want_load = true;
                link.params_due = entry.specific.adjust != Adjust::Never;
            }
            link.entry = entry;
            link.failures = 0;
            if link.state == LinkState::Disabled {
                link.want_load = true;
                self.actions.push_back(Action::Log(
                    Type::Info,
                    format!("link {} enabled again", link.svctag()),
                ));
            }
            if link.state == LinkState::Retry {
                link.wake = None;
            }
            self.links.push(link);
        }
        for i in 0..self.links.len() {
            if matches!(self.links[i].state, LinkState::Disabled | LinkState::Retry) {
                self.set(now, i, LinkState::LoadMode);
            }
            self.step(now, i);
        }
    }

    /// The admin device of `link` was opened (`Ok(switched_on)`) or not.
    pub fn handle_opened(&mut self, now: Instant, link: &str, result: Result<bool, String>) {
        let Some(i) = self.find_busy(link, Op::Open) else {
            return;
        };
        match result {
            Ok(power) => {
                let l = &mut self.links[i];
                l.open = true;
                l.power = power;
                self.detail(format!("link {link}: admin device open, loading mode set"));
                self.step(now, i);
            }
            Err(why) => self.failed(now, i, format!("cannot open the admin device: {why}")),
        }
    }

    /// The line parameters of `link` were set, or not.
    pub fn handle_params(&mut self, now: Instant, link: &str, result: Result<(), String>) {
        let Some(i) = self.find_busy(link, Op::Params) else {
            return;
        };
        match result {
            Ok(()) => {
                self.links[i].params_due = false;
                self.detail(format!("link {link}: line parameters set"));
                self.step(now, i);
            }
            Err(why) => self.failed(now, i, format!("cannot set line parameters: {why}")),
        }
    }

    /// The loader of `link` ended (or could not start).
    pub fn handle_loader(&mut self, now: Instant, link: &str, end: LoaderEnd) {
        let Some(i) = self.find_busy(link, Op::Load) else {
            return;
        };
        let l = &mut self.links[i];
        l.last = Some(end);
        l.wake = None;
        l.killed = false;
        if end == LoaderEnd::Code(0) {
            l.failures = 0;
            l.want_load = false;
            self.set(now, i, LinkState::Loaded);
        } else {
            self.failed(now, i, format!("loader failed ({})", end.render()));
        }
    }

    /// The device of `link` was switched on or off.
    pub fn handle_power(&mut self, now: Instant, link: &str, on: bool) {
        let Some(i) = self.links.iter().position(|l| l.svctag() == link) else {
            return;
        };
        let l = &mut self.links[i];
        if l.power == on {
            return;
        }
        l.power = on;
        self.detail(format!(
            "link {link}: device switched {}",
            if on { "on" } else { "off" }
        ));
        let l = &mut self.links[i];
        if on {
            l.want_load = true;
            if l.entry.specific.adjust == Adjust::Load {
                l.params_due = true;
            }
            if l.state == LinkState::Retry {
                return;
            }
        } else if l.busy.is_none() && l.state != LinkState::Disabled {
            return self.set(now, i, LinkState::Off);
        }
        self.step(now, i);
    }

    /// The clock reached [`Engine::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.links.len() {
            let l = &mut self.links[i];
            if l.wake.is_none_or(|w| w > now) {
                continue;
            }
            l.wake = None;
            if l.busy == Some(Op::Load) {
                if !l.killed {
                    l.killed = true;
                    let link = l.svctag().to_string();
                    let secs = self.config.hang.as_secs();
                    self.log(
                        Type::Warn,
                        format!("link {link}: loader still running after {secs} s, killed"),
                    );
                    self.actions.push_back(Action::Kill { link });
                }
            } else {
                self.detail(format!("link {}: retrying", self.links[i].svctag()));
                self.step(now, i);
            }
        }
    }

    /// SIGTERM: the monitor stops; loaders are killed, loading mode reset
    /// on every link.
    pub fn handle_stop(&mut self) {
        self.pm = PmState::STOPPING;
        for l in std::mem::take(&mut self.links) {
            self.drop_link(&l);
        }
    }

    /// Carries link `i` as far as it can go now.
    fn step(&mut self, now: Instant, i: usize) {
        let pm = self.pm;
        let l = &mut self.links[i];
        if l.busy.is_some() || l.state == LinkState::Disabled {
            return;
        }
        if l.wake.is_some_and(|w| w > now) {
            return;
        }
        let link = l.svctag().to_string();
        if !l.open {
            l.busy = Some(Op::Open);
            let admdev = l.entry.specific.admdev.clone();
            self.actions.push_back(Action::Open { link, admdev });
            return self.set(now, i, LinkState::Closed);
        }
        if l.entry.disabled || pm != PmState::ENABLED {
            return self.set(now, i, LinkState::LoadMode);
        }
        if !l.power {
            return self.set(now, i, LinkState::Off);
        }
        if !l.want_load {
            return self.set(now, i, LinkState::Loaded);
        }
        if l.params_due {
            match self.tables.params(&l.entry.specific) {
                Ok(params) => {
                    l.busy = Some(Op::Params);
                    self.actions.push_back(Action::Params { link, params });
                }
                Err(why) => self.failed(now, i, why),
            }
            return;
        }
        let argv = match super::argv::split(&l.entry.specific.cmd) {
            Ok(argv) => argv,
            Err(why) => return self.failed(now, i, format!("loader command: {why}")),
        };
        if argv.is_empty() {
            l.want_load = false;
            return self.set(now, i, LinkState::Loaded);
        }
        if l.entry.specific.adjust == Adjust::Load {
            // Set again before the next run.
            l.params_due = true;
        }
        l.busy = Some(Op::Load);
        l.wake = Some(now + self.config.hang);
        self.detail(format!("link {link}: running {}", argv.join(" ")));
        self.actions.push_back(Action::Spawn { link, argv });
        self.set(now, i, LinkState::Loading);
    }

    /// An operation of link `i` failed: retry later, or disable it.
    fn failed(&mut self, now: Instant, i: usize, why: String) {
        let retries = self.config.retries;
        let l = &mut self.links[i];
        l.busy = None;
        l.failures = l.failures.saturating_add(1);
        let n = l.failures;
        let link = l.svctag().to_string();
        if retries > 0 && n >= retries {
            l.wake = None;
            self.log(Type::Warn, format!("link {link}: {why}"));
            self.log(
                Type::Warn,
                format!("link {link} internally DISABLED after {n} failures in a row"),
            );
            return self.set(now, i, LinkState::Disabled);
        }
        l.wake = Some(now + self.config.retry);
        let secs = self.config.retry.as_secs();
        self.log(
            Type::Warn,
            format!("link {link}: {why}; failure {n}, retrying in {secs} s"),
        );
        self.set(now, i, LinkState::Retry);
    }

    /// A link leaves: its loader is killed, loading mode reset.
    fn drop_link(&mut self, l: &Link) {
        let link = l.svctag().to_string();
        if l.busy == Some(Op::Load) {
            self.actions.push_back(Action::Kill { link: link.clone() });
        }
        if l.open || l.busy == Some(Op::Open) {
            self.actions.push_back(Action::Reset { link });
        }
    }

    /// The link `link` if it waits for `op`, which has now ended.
    fn find_busy(&mut self, link: &str, op: Op) -> Option<usize> {
        let i = self
            .links
            .iter()
            .position(|l| l.svctag() == link && l.busy == Some(op))?;
        self.links[i].busy = None;
        Some(i)
    }

    fn set(&mut self, now: Instant, i: usize, state: LinkState) {
        let l = &mut self.links[i];
        if l.state == state {
            return;
        }
        let from = l.state;
        l.state = state;
        l.changed = now;
        let rc = l
            .last
            .map(|e| format!(" {}", e.render()))
            .unwrap_or_default();
        let text = format!("{} {}->{}{rc}", l.svctag(), from.name(), state.name());
        self.actions.push_back(Action::State(text));
    }

    fn log(&mut self, kind: Type, text: String) {
        self.actions.push_back(Action::Log(kind, text));
    }

    fn detail(&mut self, text: String) {
        self.actions.push_back(Action::Detail(text));
    }
}

#[cfg(test)]
mod tests;
