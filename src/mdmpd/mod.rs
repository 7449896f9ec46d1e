//! mdmpd.

pub mod core;
