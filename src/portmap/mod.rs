//! Portmapper: registration with rpcbind and an embedded portmapper.
