//! vold: the volume configuration daemon of vold(1M) (VERITAS Volume
//! Manager 1.x), with its utilities voladm, volmake, voledit and volprint.
//!
//! - [`record`]: volumes, plexes and subdisks, and the rules a
//!   configuration keeps; [`text`]: the volmake(4) description format;
//!   [`ops`]: the operations a transaction stages;
//! - [`spec`]: database-specs and the voldesc file; [`dbformat`]: the
//!   layout of a database copy (two headers, two slots, CRC-32C);
//!   [`store`]: reading and writing copies behind a fault-injectable
//!   trait;
//! - [`engine`]: the sans-IO daemon core (mode, connections, queries,
//!   the kernel's copy); [`txn`]: transactions and the commit;
//!   [`enable`]: the enable algorithm; [`admin`]: the copy
//!   administration (voladm's requests);
//! - [`wire`]: the request/diag protocol;
//! - [`backend`]: the device nodes (`/dev/vol`, `/dev/rvol`,
//!   `/dev/plex`) as plain nodes, loop devices or ([`dm`])
//!   device-mapper linear devices; [`module`]: vold on the
//!   reactor; [`entry`]: the `vold` program (options, exit codes 0–9);
//! - [`client`]: the utilities' connection to vold; [`util`]: voladm,
//!   volmake, voledit and volprint.

pub mod admin;
pub mod backend;
pub mod client;
pub mod dbformat;
pub mod dm;
pub mod enable;
pub mod engine;
pub mod entry;
pub mod module;
pub mod ops;
pub mod record;
pub mod spec;
pub mod store;
#[cfg(test)]
mod testkit;
pub mod text;
pub mod txn;
pub mod util;
pub mod wire;
