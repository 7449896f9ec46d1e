//! mdmpd: the md multipath path monitor (mdmpd(8)). It watches the md
//! arrays of the levels it is told to (multipath, as the seed, and the
//! redundant levels when configured), probes each failed member's path
//! every 15 seconds, and puts the path back into its array once it reads
//! again.
//!
//! - [`mdstat`]: the `/proc/mdstat` parser; [`member_state`]: the sysfs
//!   values (`md/dev-*/state`, `array_state`, `degraded`, `slot`);
//!   [`conf`]: `/etc/mdmpd.conf`;
//! - [`core`]: the sans-IO engine: the saved state, the per-member state
//!   machine, the probe schedule, the events;
//! - [`scan`]: one scan made into the engine's snapshot; [`module`]: the
//!   daemon on the reactor; [`entry`]: the `mdmpd` program; [`status`]:
//!   `mdmpd status`, the client of the daemon's status socket;
//! - `probe.rs`: the path probe (a direct read of the device's first page);
//! - `actuator.rs`: the ways a recovered path is put back (sysfs, the md
//!   ioctls, mdadm, a dry run).

pub mod actuator;
pub mod conf;
pub mod core;
pub mod entry;
pub mod mdstat;
pub mod member_state;
pub mod module;
pub mod probe;
pub mod scan;
pub mod status;
