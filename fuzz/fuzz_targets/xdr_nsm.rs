//! Every NSM type decodes arbitrary bytes without panicking, and whatever
//! decodes re-encodes to the bytes it consumed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::proto::sm_inter::{Mon, MonId, MyId, SmName, SmStat, SmStatRes, StatChge, Status};
use statmon::xdr::{Reader, Xdr};

fn check<'a, T: Xdr<'a>>(data: &'a [u8]) {
    let mut r = Reader::new(data);
    if let Ok(v) = T::decode(&mut r) {
        assert_eq!(v.to_xdr().len(), r.position());
    }
}

fuzz_target!(|data: &[u8]| {
    check::<SmName>(data);
    check::<MyId>(data);
    check::<MonId>(data);
    check::<Mon>(data);
    check::<StatChge>(data);
    check::<SmStat>(data);
    check::<SmStatRes>(data);
    check::<Status>(data);
});
