//! sihmon's tables: arbitrary text (lossy UTF-8, cut into the four tables
//! at NUL bytes) as pmtab, hdlclabs, hdlcdefs and ttydefs never panics;
//! every rejected line names a line of its table; every entry kept is
//! valid (a pmtab entry re-formatted by `pmspecific` parses back to
//! itself); the engine takes the tables and resolves each link's
//! parameters without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::sihmon::core::{Config, Engine, MAX_LINKS};
use statmon::sihmon::tables::{pmtab, Kind, Tables};
use statmon::sihmon::wire::PmState;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let texts: Vec<String> = (0..4)
        .map(|_| format!("# VERSION=1\n{}", parts.next().unwrap_or("")))
        .collect();
    let named: [(&str, &str); 4] = [
        ("pmtab", &texts[0]),
        ("hdlclabs", &texts[1]),
        ("hdlcdefs", &texts[2]),
        ("ttydefs", &texts[3]),
    ];
    let (tables, warnings) = match Tables::parse(named) {
        Ok(t) => t,
        Err(e) => panic!("a versioned table refused: {}", e.text),
    };
    for w in &warnings {
        let i = Kind::ALL.iter().position(|k| *k == w.kind).unwrap_or(0);
        let lines = texts[i].lines().count();
        assert!((1..=lines).contains(&w.rejected.line));
    }
    for e in &tables.pmtab {
        let line = format!(
            "{}::{}::::{}",
            e.svctag,
            e.identity.replace([':', '#', '\\'], ""),
            e.specific.pmspecific()
        );
        let (back, rejected) = pmtab::parse(&line);
        assert!(rejected.is_empty(), "{line:?}: {rejected:?}");
        assert_eq!(back[0].specific, e.specific);
        let _ = tables.params(&e.specific);
    }
    let mut engine = Engine::new(Config::new(10, 3), "sih1", PmState::ENABLED);
    engine.handle_tables(Instant::now(), tables);
    while engine.poll_action().is_some() {}
    assert!(engine.status(None).iter().filter(|l| l.enabled).count() <= MAX_LINKS);
});
