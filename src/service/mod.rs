//! Glue between the reactor and RPC programs, shared by every RPC daemon:
//! listeners ([`endpoint`]), rpcbind registration ([`registrar`]), the
//! embedded portmapper module ([`portmapper`]) and the `portmap` daemon
//! made of it ([`portmap_daemon`]), calls held until the
//! service is registered ([`hold`]) and blocking checks made before
//! serving ([`probe`]).

pub mod endpoint;
pub mod hold;
pub mod portmap_daemon;
pub mod portmapper;
pub mod probe;
pub mod registrar;
