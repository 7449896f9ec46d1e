//! The mdmpd parsers: arbitrary bytes as `/proc/mdstat`, as sysfs values
//! and (as lossy UTF-8) as `/etc/mdmpd.conf` never panic; mdstat problems
//! and conf warnings name lines of the input, kept arrays respect the caps
//! and have non-empty, blank-free array and member names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::mdmpd::conf::MdmpdConf;
use statmon::mdmpd::mdstat::{self, Mdstat};
use statmon::mdmpd::member_state;

fn clean_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_ascii_whitespace())
}

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let parsed = Mdstat::parse(data);
    assert!(parsed.arrays.len() <= mdstat::MAX_ARRAYS);
    assert!(parsed.problems.len() <= mdstat::MAX_PROBLEMS);
    assert!(parsed
        .problems
        .iter()
        .all(|p| (1..=lines).contains(&p.line)));
    for array in &parsed.arrays {
        assert!((1..=lines).contains(&array.line));
        assert!(clean_name(&array.name));
        assert!(array.members.len() <= mdstat::MAX_MEMBERS);
        assert!(array.members.iter().all(|m| clean_name(&m.name)));
        assert!(parsed.array(&array.name).is_some());
    }

    let _ = member_state::parse_member_state(data);
    let _ = member_state::parse_array_state(data);
    let _ = member_state::parse_degraded(data);
    let _ = member_state::parse_slot(data);

    let text = String::from_utf8_lossy(data);
    let (conf, warnings) = MdmpdConf::parse(&text);
    let text_lines = text.lines().count();
    assert!(warnings.iter().all(|w| (1..=text_lines).contains(&w.line)));
    assert!(!conf.levels.is_empty());
});
