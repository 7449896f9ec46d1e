//! Portmapper: registration with rpcbind and an embedded portmapper.
//!
//! Everything here is sans-IO. The glue owns the sockets and the clock:
//! - [`Portmapper`] is the embedded portmapper, a [`crate::rpc::Program`]
//!   for program 100000 versions 2 (PMAP), 3 and 4 (RPCB), over a [`Table`]
//!   kept the way rpcbind keeps it;
//! - [`Registration`] plans the calls that register (or unregister) our own
//!   services with the system rpcbind, falling back from RPCB v4 to v3 to
//!   PMAP v2;
//! - [`Lookup`] plans the calls that find a service's address through a
//!   local or remote portmapper.
//!
//! The planners emit [`PlannedCall`]s (program, version, procedure, encoded
//! arguments) and take back the encoded results or a [`FailureKind`].

mod call;
mod lookup;
mod register;
mod server;
mod stats;
mod table;
mod taddr;

pub use call::{FailureKind, PlannedCall};
pub use lookup::{
    getaddr_args, getport_args, parse_getaddr, parse_getport, BadAnswer, Lookup, LookupOutcome,
    GETADDR_OWNER,
};
pub use register::{Outcome, Registration, Report};
pub use server::{owner_of, Portmapper};
pub use table::{Entry, Table, OWNER_SUPERUSER, OWNER_UNKNOWN, TABLE_MAX};
pub use taddr::{is_link_scoped, socket_from_taddr, taddr_from_socket};
