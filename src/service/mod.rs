//! Glue between the reactor and RPC programs, shared by every RPC daemon:
//! listeners ([`endpoint`]), rpcbind registration ([`registrar`]) and the
//! embedded portmapper module ([`portmapper`]).

pub mod endpoint;
pub mod portmapper;
pub mod registrar;
