//! The engine in virtual time: instants are made up, nothing runs.

use super::*;
use crate::sihmon::tables::Tables;

const SUPPORT: [&str; 3] = [
    "# VERSION=1\nsw8:sw8:9600\n",
    "# VERSION=1\nsw8:3:7:1000:10:2048\n",
    "# VERSION=1\n9600::9600 cs8 cread::\n",
];

fn tables(pmtab_lines: &str) -> Tables {
    let pmtab = format!("# VERSION=1\n{pmtab_lines}");
    let (t, w) = Tables::parse([
        ("pmtab", &pmtab),
        ("hdlclabs", SUPPORT[0]),
        ("hdlcdefs", SUPPORT[1]),
        ("ttydefs", SUPPORT[2]),
    ])
    .unwrap();
    assert!(w.is_empty(), "{w:?}");
    t
}

const ONE: &str = "l1::root::::/dev/adm1:o::sw8:/bin/load -x\n";

struct Rig {
    engine: Engine,
    t0: Instant,
    now: Instant,
}

impl Rig {
    fn new(pmtab: &str, timeout: u64, retries: u32, state: PmState) -> Rig {
        let t0 = Instant::now();
        let mut engine = Engine::new(Config::new(timeout, retries), "sih1", state);
        engine.handle_tables(t0, tables(pmtab));
        Rig {
            engine,
            t0,
            now: t0,
        }
    }

    /// Actions other than log, detail and state lines.
    fn work(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.engine.poll_action())
            .filter(|a| !matches!(a, Action::Log(..) | Action::Detail(_) | Action::State(_)))
            .collect()
    }

    fn all(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.engine.poll_action()).collect()
    }

    fn state(&self, link: &str) -> LinkState {
        self.engine.status(Some(link))[0].state
    }

    fn at(&mut self, secs: u64) {
        self.now = self.t0 + Duration::from_secs(secs);
        self.engine.handle_timeout(self.now);
    }

    /// Opens l1, sets its parameters: the loader is started.
    fn up(&mut self) {
        assert_eq!(
            self.work(),
            [Action::Open {
                link: "l1".into(),
                admdev: "/dev/adm1".into()
            }]
        );
        self.engine.handle_opened(self.now, "l1", Ok(true));
        let w = self.work();
        assert!(matches!(&w[..], [Action::Params { params, .. }]
            if params.hdlc.as_ref().is_some_and(|h| h.address == 3)
            && params.tty.as_ref().is_some_and(|t| t.label == "9600")));
        self.engine.handle_params(self.now, "l1", Ok(()));
        self.expect_spawn();
    }

    fn expect_spawn(&mut self) {
        assert_eq!(
            self.work(),
            [Action::Spawn {
                link: "l1".into(),
                argv: vec!["/bin/load".into(), "-x".into()]
            }]
        );
        assert_eq!(self.state("l1"), LinkState::Loading);
    }
}

#[test]
fn a_link_is_opened_set_and_loaded() {
    let mut r = Rig::new(ONE, 90, 0, PmState::ENABLED);
    r.up();
    r.engine.handle_loader(r.now, "l1", LoaderEnd::Code(0));
    assert_eq!(r.state("l1"), LinkState::Loaded);
    let states: Vec<Action> = r
        .all()
        .into_iter()
        .filter(|a| matches!(a, Action::State(_)))
        .collect();
    assert_eq!(states, [Action::State("l1 LOADING->LOADED rc=0".into())]);
    assert_eq!(r.engine.poll_timeout(), None);
}

#[test]
fn failures_are_retried_every_interval_and_at_least_ten_seconds() {
    assert_eq!(Config::new(3, 0).retry, Duration::from_secs(10));
    assert_eq!(Config::new(25, 0).retry, Duration::from_secs(25));
    let mut r = Rig::new(ONE, 3, 0, PmState::ENABLED);
    r.up();
    for n in 1..=50u64 {
        r.engine.handle_loader(r.now, "l1", LoaderEnd::Code(3));
        assert_eq!(r.state("l1"), LinkState::Retry);
        let due = r.t0 + Duration::from_secs(10 * n);
        assert_eq!(r.engine.poll_timeout(), Some(due), "failure {n}");
        r.at(10 * n - 1);
        assert!(r.work().is_empty());
        r.at(10 * n);
        r.expect_spawn();
    }
    assert_eq!(
        r.engine.status(None)[0].failures,
        50,
        "-r 0 retries for ever"
    );
}

#[test]
fn r_failures_in_a_row_disable_the_link_until_readdb() {
    let mut r = Rig::new(ONE, 10, 3, PmState::ENABLED);
    r.up();
    for n in 1..=3u64 {
        r.engine.handle_loader(r.now, "l1", LoaderEnd::Code(1));
        if n < 3 {
            r.at(10 * n);
            r.expect_spawn();
        }
    }
    assert_eq!(r.state("l1"), LinkState::Disabled);
    let logs = r.all();
    assert!(logs.iter().any(|a| matches!(a, Action::Log(Type::Warn, t)
        if t.contains("internally DISABLED after 3"))));
    assert_eq!(r.engine.poll_timeout(), None);
    r.at(1000);
    assert!(r.work().is_empty());
    // SC_READDB: the same tables; the link is open, so it loads at once.
    let (reply, reread) = r.engine.handle_sac(r.now, ScType::READDB);
    assert!(reread);
    assert_eq!(reply.kind, PmType::STATUS);
    r.engine.handle_tables(r.now, tables(ONE));
    r.expect_spawn();
    assert_eq!(r.engine.status(None)[0].failures, 0);
}

#[test]
fn a_hung_loader_is_killed_after_twice_the_interval() {
    let mut r = Rig::new(ONE, 10, 0, PmState::ENABLED);
    r.up();
    assert_eq!(
        r.engine.poll_timeout(),
        Some(r.t0 + Duration::from_secs(20))
    );
    r.at(20);
    assert_eq!(r.work(), [Action::Kill { link: "l1".into() }]);
    r.engine.handle_loader(r.now, "l1", LoaderEnd::Signal(9));
    assert_eq!(r.state("l1"), LinkState::Retry);
    assert_eq!(r.engine.status(None)[0].last, Some(LoaderEnd::Signal(9)));
    r.at(30);
    r.expect_spawn();
}

#[test]
fn disabled_entries_and_a_disabled_monitor_only_set_loading_mode() {
    let pmtab = format!("{ONE}l2:x:root::::/dev/adm2:n:::/bin/load\n");
    let mut r = Rig::new(&pmtab, 10, 0, PmState::DISABLED);
    let w = r.work();
    assert_eq!(w.len(), 2, "both admin devices opened: {w:?}");
    r.engine.handle_opened(r.now, "l1", Ok(true));
    r.engine.handle_opened(r.now, "l2", Ok(true));
    assert!(r.work().is_empty());
    assert_eq!(r.state("l1"), LinkState::LoadMode);
    assert_eq!(r.state("l2"), LinkState::LoadMode);
    let (reply, _) = r.engine.handle_sac(r.now, ScType::ENABLE);
    assert_eq!(reply.state, PmState::ENABLED);
    let w = r.work();
    assert!(matches!(&w[..], [Action::Params { link, .. }] if link == "l1"));
    assert_eq!(r.state("l2"), LinkState::LoadMode);
    // Disabling lets a running loader finish and keeps a loaded link.
    r.engine.handle_params(r.now, "l1", Ok(()));
    r.expect_spawn();
    let (reply, _) = r.engine.handle_sac(r.now, ScType::DISABLE);
    assert_eq!(reply.state, PmState::DISABLED);
    r.engine.handle_loader(r.now, "l1", LoaderEnd::Code(0));
    assert_eq!(r.state("l1"), LinkState::Loaded);
}

#[test]
fn sac_messages_are_answered_with_the_state() {
    let mut r = Rig::new(ONE, 10, 0, PmState::ENABLED);
    let (m, reread) = r.engine.handle_sac(r.now, ScType::STATUS);
    assert_eq!(
        (m.kind, m.state, m.maxclass, reread),
        (PmType::STATUS, PmState::ENABLED, 1, false)
    );
    assert_eq!(m.tag, b"sih1");
    let (m, _) = r.engine.handle_sac(r.now, ScType(9));
    assert_eq!((m.kind, m.state), (PmType::UNKNOWN, PmState::ENABLED));
    let (m, _) = r.engine.handle_sac(r.now, ScType::DISABLE);
    assert_eq!((m.kind, m.state), (PmType::STATUS, PmState::DISABLED));
    let (m, _) = r.engine.handle_sac(r.now, ScType::DISABLE);
    assert_eq!(m.state, PmState::DISABLED);
}

#[test]
fn at_most_two_hundred_enabled_links() {
    let mut pmtab = String::new();
    for i in 0..201 {
        pmtab.push_str(&format!("l{i}::root::::/dev/a{i}:n:::\n"));
    }
    pmtab.push_str("off:x:root::::/dev/off:n:::\n");
    let mut r = Rig::new(&pmtab, 10, 0, PmState::ENABLED);
    let all = r.all();
    let opens = all
        .iter()
        .filter(|a| matches!(a, Action::Open { .. }))
        .count();
    assert_eq!(opens, 201, "200 enabled and the disabled one");
    assert!(all.iter().any(|a| matches!(a, Action::Log(Type::Warn, t)
        if t == "link l200 not monitored: limit 200 reached")));
    assert_eq!(r.engine.status(Some("l200")), []);
}

#[test]
fn removed_links_and_stopping_reset_loading_mode() {
    let pmtab = format!("{ONE}l2::root::::/dev/adm2:n:::\n");
    let mut r = Rig::new(&pmtab, 10, 0, PmState::ENABLED);
    r.work();
    r.engine.handle_opened(r.now, "l2", Ok(true));
    assert_eq!(r.state("l2"), LinkState::Loaded, "nothing to load");
    r.engine.handle_tables(r.now, tables(ONE));
    assert_eq!(r.work(), [Action::Reset { link: "l2".into() }]);
    r.engine.handle_opened(r.now, "l1", Ok(true));
    r.work();
    r.engine.handle_params(r.now, "l1", Ok(()));
    r.expect_spawn();
    r.engine.handle_stop();
    assert_eq!(
        r.work(),
        [
            Action::Kill { link: "l1".into() },
            Action::Reset { link: "l1".into() }
        ]
    );
    assert_eq!(r.engine.state(), PmState::STOPPING);
}

#[test]
fn a_device_switched_on_again_is_loaded_again() {
    let mut r = Rig::new(ONE, 10, 0, PmState::ENABLED);
    r.up();
    r.engine.handle_loader(r.now, "l1", LoaderEnd::Code(0));
    r.engine.handle_power(r.now, "l1", false);
    assert_eq!(r.state("l1"), LinkState::Off);
    r.engine.handle_power(r.now, "l1", true);
    r.expect_spawn(); // adjust "o": parameters were set once
}

#[test]
fn failed_opens_and_unknown_labels_are_retried() {
    let pmtab = "l1::root::::/dev/adm1:o::nolab:/bin/load\n";
    let mut r = Rig::new(pmtab, 10, 0, PmState::ENABLED);
    r.work();
    r.engine
        .handle_opened(r.now, "l1", Err("no such device".into()));
    assert_eq!(r.state("l1"), LinkState::Retry);
    r.at(10);
    assert!(matches!(&r.work()[..], [Action::Open { .. }]));
    r.engine.handle_opened(r.now, "l1", Ok(true));
    assert_eq!(r.state("l1"), LinkState::Retry, "linklab nolab is unknown");
    let logs = r.all();
    assert!(logs
        .iter()
        .any(|a| matches!(a, Action::Log(Type::Warn, t) if t.contains("nolab"))));
}

#[test]
fn an_entry_enabled_again_is_loaded_again() {
    let mut r = Rig::new(ONE, 10, 0, PmState::ENABLED);
    r.up();
    r.engine.handle_loader(r.now, "l1", LoaderEnd::Code(0));
    let off = ONE.replacen("l1::", "l1:x:", 1);
    r.engine.handle_tables(r.now, tables(&off));
    assert!(r.work().is_empty(), "the device stays open in loading mode");
    assert_eq!(r.state("l1"), LinkState::LoadMode);
    r.engine.handle_tables(r.now, tables(ONE));
    let w = r.work();
    assert!(matches!(&w[..], [Action::Params { .. }]), "{w:?}");
    r.engine.handle_params(r.now, "l1", Ok(()));
    r.expect_spawn();
}
