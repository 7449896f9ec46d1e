//! rpc.statd, the NSM host-status monitor (ONC RPC program 100024).

pub mod store;
