//! TCP record reassembly: arbitrary bytes, fed in arbitrary pieces, never
//! panic and never buffer past the record limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::rpc::record::RecordReader;

fuzz_target!(|data: &[u8]| {
    let mut r = RecordReader::new(9000);
    let split = data.first().map_or(1, |b| usize::from(*b).max(1));
    for piece in data.chunks(split) {
        r.push(piece);
        while let Some(rec) = r.poll_record() {
            if let Ok(rec) = rec {
                assert!(rec.len() <= 9000);
            }
        }
    }
});
