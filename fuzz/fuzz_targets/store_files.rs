//! Both store formats' parsers: arbitrary file bytes never panic; nfs-utils
//! record files that parse are written back to files that parse the same;
//! the state file always gives a usable state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::statd::store::apple::format as apple;
use statmon::statd::store::nfsutils::format as nfsutils;

fuzz_target!(|data: &[u8]| {
    let (regs, _bad) = nfsutils::parse_file(data);
    let again = nfsutils::format_file(&regs);
    let (reparsed, bad) = nfsutils::parse_file(&again);
    assert!(bad.is_empty());
    assert_eq!(reparsed, regs);
    let _ = nfsutils::parse_state(Some(data));
    let _ = apple::parse(data);
});
