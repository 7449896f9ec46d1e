//! The embedded portmapper: program 100000 versions 2, 3 and 4 on port 111,
//! served as a module of its own when the machine has no rpcbind.

use super::endpoint::{EndpointConfig, RpcEndpoint};
use crate::portmap::Portmapper;
use crate::proto::pmap::PMAP_PORT;
use crate::proto::rpcb::{uaddr_from_socket, Netid};
use crate::reactor::{Context, Event, Module};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// rpcbind's local socket, which libtirpc clients (rpcinfo) try first.
pub const LOCAL_SOCKET: &str = "/run/rpcbind.sock";
use crate::daemon::clock::unix_now as wall_clock;

/// What the portmapper does on SIGTERM, SIGINT and SIGHUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSignal {
    /// Stops serving; the daemon that started it exits (embedded in
    /// rpc.statd, which ends with it).
    Stop,
    /// Stops serving and exits 0: the `portmap` daemon running alone.
    StopAndExit,
    /// Watches no signal: a `portmap` hosted beside the daemons it serves,
    /// which the host ends after them so that they can unregister first.
    Ignore,
}

/// The module: a [`Portmapper`] table behind an endpoint on port 111.
/// Dropping it removes the local socket it bound.
pub struct PortmapModule {
    port: u16,
    local: Option<PathBuf>,
    endpoint: Option<RpcEndpoint>,
    program: Portmapper,
    on_signal: OnSignal,
    /// Whether `local` is a socket this module bound (and so removes).
    bound_local: bool,
}

impl PortmapModule {
    /// A portmapper that will listen on `port` (111 in production) and, if
    /// given, on the local socket `local`.
    pub fn new(port: u16, local: Option<PathBuf>) -> PortmapModule {
        PortmapModule {
            port,
            local,
            endpoint: None,
            program: Portmapper::new(wall_clock),
            on_signal: OnSignal::Stop,
            bound_local: false,
        }
    }

    /// The same portmapper, doing `on_signal` on a stop signal.
    pub fn on_signal(mut self, on_signal: OnSignal) -> PortmapModule {
        self.on_signal = on_signal;
        self
    }

    /// A portmapper where rpcbind would be: port 111 and [`LOCAL_SOCKET`]
    /// (the local socket only if its directory exists and no file is there).
    pub fn standard() -> PortmapModule {
        let path = PathBuf::from(LOCAL_SOCKET);
        let usable = path.parent().is_some_and(|d| d.is_dir()) && !path.exists();
        PortmapModule::new(PMAP_PORT, usable.then_some(path))
    }

    /// Registers `prog` version `vers` on `listeners` before the portmapper
    /// serves (owner `owner`), so that it is registered from the first
    /// answer on.
    pub fn with_registered(
        mut self,
        prog: u32,
        vers: u32,
        listeners: &[(Netid, SocketAddr)],
        owner: &str,
    ) -> PortmapModule {
        let table = self.program.table_mut();
        for &(netid, addr) in listeners {
            table.set(
                prog,
                vers,
                netid.as_str().as_bytes(),
                uaddr_from_socket(addr).as_bytes(),
                owner,
            );
        }
        self
    }

    /// The registration table, for tests.
    pub fn program(&self) -> &Portmapper {
        &self.program
    }
}

impl PortmapModule {
    fn stop(&mut self, cx: &mut Context<'_>) {
        if let Some(mut endpoint) = self.endpoint.take() {
            endpoint.close(cx);
        }
        self.remove_local();
    }

    fn remove_local(&mut self) {
        if let (Some(path), true) = (&self.local, self.bound_local) {
            let _ = std::fs::remove_file(path);
            self.bound_local = false;
        }
    }
}

impl Drop for PortmapModule {
    fn drop(&mut self) {
        self.remove_local();
    }
}

impl Module for PortmapModule {
    fn name(&self) -> &str {
        "portmapper"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let cfg = EndpointConfig {
            port: Some(self.port),
            local: self.local.clone(),
            ..EndpointConfig::default()
        };
        let endpoint = RpcEndpoint::bind(cx, &cfg)?;
        self.bound_local = self.local.is_some();
        for &(netid, addr) in endpoint.bound() {
            self.program.register_self(netid, addr);
        }
        log::info!(
            "embedded portmapper serving program 100000 versions 2-4 on port {}",
            self.port
        );
        self.endpoint = Some(endpoint);
        if self.on_signal != OnSignal::Ignore {
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                cx.watch_signal(sig)?;
            }
        }
        Ok(())
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        if let Event::Signal(sig) = ev {
            self.stop(cx);
            if self.on_signal == OnSignal::StopAndExit {
                log::info!("caught signal {sig}, exiting");
                cx.exit(0);
            }
            return;
        }
        if let Some(endpoint) = self.endpoint.as_mut() {
            endpoint.handle_event(cx, &ev, &mut [&mut self.program]);
        }
    }
}
