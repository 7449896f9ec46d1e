//! Every portmapper and rpcbind type decodes arbitrary bytes without
//! panicking, and whatever decodes re-encodes to the bytes it consumed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::proto::pmap::{CallArgs, CallResult, Mapping, PmapList};
use statmon::proto::rpcb::{
    Netbuf, RmtcallArgs, RmtcallRes, Rpcb, RpcbEntry, RpcbEntryList, RpcbList, RpcbStat,
    RpcbStatByVers, RpcbsAddr, RpcbsRmtcall,
};
use statmon::xdr::{Reader, Xdr};

fn check<'a, T: Xdr<'a>>(data: &'a [u8]) {
    let mut r = Reader::new(data);
    if let Ok(v) = T::decode(&mut r) {
        assert_eq!(v.to_xdr().len(), r.position());
    }
}

fuzz_target!(|data: &[u8]| {
    check::<Mapping>(data);
    check::<PmapList>(data);
    check::<CallArgs>(data);
    check::<CallResult>(data);
    check::<Rpcb>(data);
    check::<RpcbList>(data);
    check::<RmtcallArgs>(data);
    check::<RmtcallRes>(data);
    check::<RpcbEntry>(data);
    check::<RpcbEntryList>(data);
    check::<Netbuf>(data);
    check::<RpcbsAddr>(data);
    check::<RpcbsRmtcall>(data);
    check::<RpcbStat>(data);
    check::<RpcbStatByVers>(data);
});
