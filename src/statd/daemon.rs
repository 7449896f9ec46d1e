//! The rpc.statd module on the reactor: NSM listeners, rpcbind registration
//! (with the embedded portmapper as fallback), and orderly shutdown.

use super::cli::Config;
use super::program::NsmProgram;
use crate::daemonize::ReadyPipe;
use crate::portmap::{Outcome, Registration};
use crate::proto::sm_inter::{SM_PROG, SM_VERS};
use crate::reactor::{Context, Event, Module, TimerId};
use crate::service::endpoint::{EndpointConfig, RpcEndpoint};
use crate::service::portmapper::PortmapModule;
use crate::service::registrar::{Progress, Registrar};
use std::io;
use std::time::Duration;

/// How long shutdown waits for rpcbind to confirm the UNSETs.
const UNREGISTER_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Registering,
    Serving,
    Stopping,
}

/// rpc.statd as a reactor module.
pub struct StatdModule {
    cfg: Config,
    nsm: NsmProgram,
    endpoint: Option<RpcEndpoint>,
    registrar: Option<Registrar>,
    ready: Option<ReadyPipe>,
    phase: Phase,
    embedded: bool,
    stop_timer: Option<TimerId>,
}

impl StatdModule {
    /// A daemon for `cfg`; `ready` is told once it serves (daemon mode).
    pub fn new(cfg: Config, ready: Option<ReadyPipe>) -> StatdModule {
        StatdModule {
            cfg,
            nsm: NsmProgram::default(),
            endpoint: None,
            registrar: None,
            ready,
            phase: Phase::Registering,
            embedded: false,
            stop_timer: None,
        }
    }

    /// The NSM program state, for tests.
    pub fn nsm(&self) -> &NsmProgram {
        &self.nsm
    }

    fn open(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let cfg = EndpointConfig {
            port: self.cfg.port,
            ..EndpointConfig::default()
        };
        let endpoint = RpcEndpoint::bind(cx, &cfg)
            .map_err(|e| with_context(e, "cannot create the NSM listeners"))?;
        let netids: Vec<&str> = endpoint.bound().iter().map(|(n, _)| n.as_str()).collect();
        log::info!(
            "listening on port {} ({})",
            endpoint.port(),
            netids.join(", ")
        );
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            cx.watch_signal(sig)?;
        }
        let mut registrar = Registrar::open(cx)?;
        registrar.start(cx, self.register_plan(&endpoint));
        self.endpoint = Some(endpoint);
        self.registrar = Some(registrar);
        Ok(())
    }

    fn register_plan(&self, endpoint: &RpcEndpoint) -> Registration {
        Registration::register(SM_PROG, SM_VERS, endpoint.bound(), &owner())
    }

    fn registered(&mut self, cx: &mut Context<'_>, outcome: Outcome) {
        if self.phase == Phase::Stopping {
            log::debug!("unregistered from the portmapper");
            cx.exit(0);
            return;
        }
        match outcome {
            Outcome::NoRpcbind if self.cfg.embedded_portmap && !self.embedded => {
                log::warn!(
                    "no rpcbind answered on 127.0.0.1:111; serving an embedded portmapper \
                     (program 100000 versions 2-4) on port 111"
                );
                self.embedded = true;
                match cx.add_module(Box::new(PortmapModule::standard())) {
                    Ok(_) => {
                        if let (Some(r), Some(e)) =
                            (self.registrar.as_mut(), self.endpoint.as_ref())
                        {
                            let plan =
                                Registration::register(SM_PROG, SM_VERS, e.bound(), &owner());
                            r.start(cx, plan);
                        }
                        return;
                    }
                    Err(e) => {
                        log::error!("cannot serve an embedded portmapper: {e}; NSM is unregistered")
                    }
                }
            }
            Outcome::NoRpcbind => {
                log::warn!("no rpcbind answered on 127.0.0.1:111; NSM is served unregistered");
            }
            Outcome::Answered(report) => {
                let ok: Vec<&str> = report.registered.iter().map(|(n, _)| n.as_str()).collect();
                log::info!(
                    "registered program {SM_PROG} version {SM_VERS} with rpcbind v{} for {}",
                    report.vers.unwrap_or(0),
                    if ok.is_empty() {
                        "no netid".to_string()
                    } else {
                        ok.join(", ")
                    }
                );
                for (netid, addr) in report.failed.iter().chain(&report.skipped) {
                    log::warn!(
                        "could not register {} ({addr}) with rpcbind",
                        netid.as_str()
                    );
                }
            }
        }
        self.phase = Phase::Serving;
        if let Some(ready) = self.ready.take() {
            ready.ready();
        }
    }

    fn shutdown(&mut self, cx: &mut Context<'_>, sig: i32) {
        if self.phase == Phase::Stopping {
            return;
        }
        log::info!("caught signal {sig}, unregistering and exiting");
        self.phase = Phase::Stopping;
        let Some(registrar) = self.registrar.as_mut() else {
            cx.exit(0);
            return;
        };
        registrar.start(cx, Registration::unregister(SM_PROG, SM_VERS, &owner()));
        self.stop_timer = Some(cx.set_timer(cx.now() + UNREGISTER_GRACE));
    }
}

impl Module for StatdModule {
    fn name(&self) -> &str {
        "rpc.statd"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let opened = self.open(cx);
        if let Err(e) = &opened {
            if let Some(ready) = self.ready.take() {
                ready.failed(&e.to_string());
            }
        }
        opened
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        if let Some(endpoint) = self.endpoint.as_mut() {
            if endpoint.handle_event(cx, &ev, &mut [&mut self.nsm]) {
                return;
            }
        }
        if let Some(registrar) = self.registrar.as_mut() {
            match registrar.handle_event(cx, &ev) {
                Progress::NotMine => {}
                Progress::Working => return,
                Progress::Finished(outcome) => return self.registered(cx, outcome),
            }
        }
        match ev {
            Event::Signal(sig) => self.shutdown(cx, sig),
            Event::Timer(t) if Some(t) == self.stop_timer => {
                log::warn!("rpcbind did not confirm the unregistration; exiting anyway");
                cx.exit(0);
            }
            _ => {}
        }
    }
}

/// The owner string libtirpc sends: our effective uid in decimal.
fn owner() -> String {
    rustix::process::geteuid().as_raw().to_string()
}

fn with_context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}
