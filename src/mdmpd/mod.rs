//! mdmpd: the md multipath path monitor (mdmpd(8)): re-adds failed paths
//! of md arrays once they work again.

pub mod conf;
pub mod mdstat;
pub mod member_state;
