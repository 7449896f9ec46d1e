//! Bytes in, reply bytes out: the RPC server with the embedded portmapper
//! program never panics, over any transport kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statmon::portmap::Portmapper;
use statmon::rpc::server::{RpcServer, ServerConfig};
use statmon::rpc::{Caller, Program, Transport};
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let mut server = RpcServer::new(ServerConfig::default());
    let mut pm = Portmapper::new(|| 0);
    let now = Instant::now();
    for transport in [Transport::Udp, Transport::Tcp] {
        let caller = Caller { addr: "127.0.0.1:800".parse().unwrap(), transport };
        let programs: &mut [&mut dyn Program] = &mut [&mut pm];
        let _ = server.handle(now, caller, data, programs);
    }
});
