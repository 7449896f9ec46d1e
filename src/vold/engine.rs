//! The sans-IO heart of vold: the configuration, the database copies,
//! the mode, and the one open transaction. Disk access goes through a
//! [`Store`]; time is never read. The module feeds it messages
//! ([`Engine::handle`]) and acts on what it returns; the enable
//! algorithm and the copy administration are in [`super::enable`].
//!
//! Invariants:
//! - `config` and `gen` are what the newest committed generation holds,
//!   and (once loaded) every copy in state `Ok` holds exactly that;
//! - in enabled mode at least two copies are `Ok`;
//! - a commit reaches every `Ok` copy, one at a time (payload, sync,
//!   header, sync), and then the kernel's copy; it counts as committed
//!   once one copy holds it.

use super::backend::Backend;
use super::dbformat::{crc32c, Header, Txid};
use super::record::{Config, Kind};
use super::spec::{hex, ConfigId, DbSpec, Voldesc};
use super::store::{read_copy, write_copy, CopyRead, Store};
use super::text;
use super::wire::{Message, Opcode};
use std::path::PathBuf;

/// The last line of a listing cut short (a comment in the description
/// format).
pub const MORE: &str = "# more\n";
/// Most bytes of records in one GET answer.
const GET_LIMIT: usize = super::wire::MAX_MESSAGE - super::wire::HEADER - 1024;

/// The revision of the "kernel" interface (the kernel copy's flags).
pub const KERNEL_REV: u32 = 1;
/// Sectors of the kernel's copy (two 2 MiB slots).
pub const KERNEL_SIZE: u64 = 2 + 2 * 4096;

/// Where the engine's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The voldesc file.
    pub voldesc: PathBuf,
    /// The kernel's copy (kept on a tmpfs: it lasts until reboot).
    pub kernel: PathBuf,
}

/// The state of one database copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyState {
    /// Holds the current generation.
    Ok,
    /// An I/O or format error; ignored until rewritten.
    Error(String),
    /// More than one change behind; rewritten at the next enable.
    Stale,
    /// Another configuration id; ignored.
    Foreign,
    /// Not read yet.
    Unknown,
}

impl CopyState {
    /// The word `voladm -l` prints.
    pub fn word(&self) -> &'static str {
        match self {
            CopyState::Ok => "ok",
            CopyState::Error(_) => "error",
            CopyState::Stale => "stale",
            CopyState::Foreign => "foreign",
            CopyState::Unknown => "unknown",
        }
    }
}

/// One copy vold knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// Where it is.
    pub spec: DbSpec,
    /// What it holds.
    pub state: CopyState,
    /// Its generation, when it has a valid one.
    pub gen: Option<u64>,
}

/// The two modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Transactions are accepted.
    Enabled,
    /// Only voladm may connect; why.
    Disabled(String),
}

/// Which rendezvous point a connection came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Portal {
    /// The request point, for every utility (enabled mode only).
    Request,
    /// The diagnostic point, for voladm (both modes).
    Diag,
}

/// The open transaction.
#[derive(Debug, Clone)]
pub(super) struct Tx {
    pub(super) conn: u64,
    pub(super) txid: Txid,
    pub(super) work: Config,
}

/// What the module must do after a message, besides sending the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Nothing,
    /// The configuration changed (or vold was enabled): bring the device
    /// nodes in line.
    Nodes,
    /// Close the connection (a refused request).
    Close,
    /// Stop vold.
    Halt,
}

/// The engine.
#[derive(Debug)]
pub struct Engine<S: Store> {
    pub(super) store: S,
    pub(super) paths: Paths,
    pub(super) desc: Option<Voldesc>,
    pub(super) copies: Vec<Copy>,
    /// Whether `config` came from the copies (else nothing is known).
    pub(super) loaded: bool,
    pub(super) config: Config,
    pub(super) gen: u64,
    pub(super) txids: Vec<(Txid, u64)>,
    pub(super) mode: Mode,
    pub(super) tx: Option<Tx>,
    /// 0, 1 (trace requests, backend operations, commits), 2 (and records).
    pub debug: u8,
    /// The device-node backend, whose rules a commit must also keep.
    pub backend: Backend,
}

impl<S: Store> Engine<S> {
    /// An engine over `store`, disabled, nothing read yet.
    pub fn new(store: S, paths: Paths) -> Engine<S> {
        Engine {
            store,
            paths,
            desc: None,
            copies: Vec::new(),
            loaded: false,
            config: Config::default(),
            gen: 0,
            txids: Vec::new(),
            mode: Mode::Disabled("not enabled yet".into()),
            tx: None,
            debug: 0,
            backend: Backend::Nodes,
        }
    }

    /// The mode.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The current configuration (empty until loaded).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current generation.
    pub fn gen(&self) -> u64 {
        self.gen
    }

    /// The copies, in voldesc order.
    pub fn copies(&self) -> &[Copy] {
        &self.copies
    }

    /// The store (for tests and the module's crash hook).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Enters disabled mode, giving up any open transaction.
    pub fn disable(&mut self, why: &str) {
        self.tx = None;
        self.mode = Mode::Disabled(why.to_string());
    }

    /// The connection holding the open transaction, if one is open.
    pub fn writer(&self) -> Option<u64> {
        self.tx.as_ref().map(|t| t.conn)
    }

    /// A connection went away: its transaction is dropped.
    pub fn closed(&mut self, conn: u64) {
        if self.tx.as_ref().is_some_and(|t| t.conn == conn) {
            self.trace(1, &format!("connection {conn} closed: transaction dropped"));
            self.tx = None;
        }
    }

    pub(super) fn trace(&self, level: u8, what: &str) {
        if self.debug >= level {
            log::info!("{what}");
        }
    }

    /// Answers one message from connection `conn` on `portal`.
    /// An answer too long for one message becomes an error saying so.
    pub fn handle(&mut self, conn: u64, portal: Portal, msg: &Message) -> (Message, After) {
        let (reply, after) = self.answer(conn, portal, msg);
        if reply.fits() {
            return (reply, after);
        }
        let why = format!(
            "the answer ({} bytes) does not fit in one message; ask for one type or one record",
            reply.body.len()
        );
        (Message::new(Opcode::ERROR, msg.seq, why), after)
    }

    fn answer(&mut self, conn: u64, portal: Portal, msg: &Message) -> (Message, After) {
        self.trace(
            1,
            &format!(
                "request {:?} seq {} on {portal:?} from {conn}",
                msg.opcode, msg.seq
            ),
        );
        let reply = |op, body: String| Message::new(op, msg.seq, body);
        if portal == Portal::Request {
            if let Mode::Disabled(why) = &self.mode {
                return (
                    reply(Opcode::REFUSED, format!("vold is not enabled: {why}")),
                    After::Close,
                );
            }
        }
        let ok = |body: String| (reply(Opcode::OK, body), After::Nothing);
        let err = |body: String| (reply(Opcode::ERROR, body), After::Nothing);
        let diag_only = || {
            (
                reply(
                    Opcode::ERROR,
                    format!(
                        "{:?} is for voladm, on the diagnostic rendezvous",
                        msg.opcode
                    ),
                ),
                After::Nothing,
            )
        };
        match msg.opcode {
            Opcode::HELLO => ok(self.hello()),
            Opcode::GET => match self.get(&msg.body) {
                Ok(t) => ok(t),
                Err(e) => err(e),
            },
            Opcode::BEGIN | Opcode::OP | Opcode::COMMIT | Opcode::ABORT
                if portal == Portal::Diag =>
            {
                err("transactions go through the request rendezvous".into())
            }
            Opcode::BEGIN => self.begin(conn, &msg.body, msg.seq),
            Opcode::OP => self.stage(conn, &msg.body, msg.seq),
            Opcode::COMMIT => self.commit(conn, &msg.body, msg.seq),
            Opcode::ABORT => {
                self.closed(conn);
                ok(String::new())
            }
            _ if portal == Portal::Request => diag_only(),
            _ => self.admin(msg),
        }
    }

    /// The greeting: mode, configuration id, generation.
    fn hello(&self) -> String {
        let mode = match &self.mode {
            Mode::Enabled => "enabled".to_string(),
            Mode::Disabled(why) => format!("disabled ({why})"),
        };
        let id = self
            .desc
            .as_ref()
            .map_or("none".into(), |d| hex(&d.configid));
        format!(
            "mode={mode}\nconfigid={id}\ngen={}\nkernel_rev={KERNEL_REV}\n",
            self.gen
        )
    }

    /// Records: all, all of a type, or one (`TYPE NAME`). A listing
    /// stops before it would outgrow a message, ending with the line
    /// [`MORE`]; the client asks again with `TYPE after=NAME` (the last
    /// name it got).
    fn get(&self, body: &str) -> Result<String, String> {
        let mut w = body.split_whitespace();
        let kinds = match w.next() {
            None => vec![Kind::Subdisk, Kind::Plex, Kind::Volume],
            Some(k) => vec![Kind::from_keyword(k).ok_or(format!("unknown record type {k:?}"))?],
        };
        let after = match w.next() {
            Some(a) if a.starts_with("after=") => a.trim_start_matches("after=").to_string(),
            Some(name) => {
                return text::print_record(&self.config, kinds[0], name)
                    .ok_or(format!("{} {name} does not exist", kinds[0]))
            }
            None => String::new(),
        };
        let mut out = String::new();
        for k in kinds {
            let names: Vec<&String> = match k {
                Kind::Subdisk => self.config.sd.keys().collect(),
                Kind::Plex => self.config.plex.keys().collect(),
                Kind::Volume => self.config.vol.keys().collect(),
            };
            for n in names.into_iter().filter(|n| n.as_str() > after.as_str()) {
                let rec = text::print_record(&self.config, k, n).unwrap_or_default();
                if out.len() + rec.len() + MORE.len() > GET_LIMIT {
                    out.push_str(MORE);
                    return Ok(out);
                }
                out.push_str(&rec);
            }
        }
        Ok(out)
    }

    /// Writes the current configuration as the kernel's copy.
    pub(super) fn write_kernel(&mut self) {
        let Some(desc) = &self.desc else { return };
        let payload = text::print_config(&self.config);
        let h = header(
            desc.configid,
            KERNEL_REV,
            self.gen,
            payload.as_bytes(),
            self.txids.clone(),
        );
        self.trace(1, &format!("kernel: load generation {}", self.gen));
        let spec = self.kernel_spec();
        if let Err(e) = write_copy(&mut self.store, &spec, None, &h, payload.as_bytes()) {
            log::error!(
                "cannot update the kernel's copy {}: {e}",
                self.paths.kernel.display()
            );
        }
    }

    /// The kernel's copy, as a database-spec.
    pub(super) fn kernel_spec(&self) -> DbSpec {
        DbSpec {
            path: self.paths.kernel.clone(),
            offset: 0,
            size: KERNEL_SIZE,
        }
    }

    /// The kernel's copy: `Ok(None)` when there is none (the first enable
    /// since boot, or a copy that does not read: warned about).
    pub fn read_kernel(&mut self) -> Result<Option<(Header, Vec<u8>)>, KernelError> {
        match self.store.exists(&self.paths.kernel) {
            Ok(false) => return Ok(None),
            Err(e) => {
                return Err(KernelError::Io(format!(
                    "{}: {e}",
                    self.paths.kernel.display()
                )))
            }
            Ok(true) => {}
        }
        let spec = self.kernel_spec();
        match read_copy(&mut self.store, &spec) {
            CopyRead::Good { header, .. } if header.flags != KERNEL_REV => {
                Err(KernelError::Revision(header.flags))
            }
            CopyRead::Good { header, payload } => Ok(Some((header, payload))),
            CopyRead::Bad { why, .. } => {
                log::warn!(
                    "the kernel's copy {} is unreadable ({why}); ignoring it",
                    self.paths.kernel.display()
                );
                Ok(None)
            }
        }
    }

    /// `-r reset`: forgets the kernel's copy.
    pub fn reset_kernel(&mut self) -> Result<(), String> {
        self.store
            .remove_file(&self.paths.kernel)
            .map_err(|e| format!("{}: {e}", self.paths.kernel.display()))
    }
}

/// Why the kernel's copy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// It was written by another kernel revision (vold exit 6).
    Revision(u32),
    /// It cannot be read.
    Io(String),
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelError::Revision(r) => write!(
                f,
                "the kernel's configuration has revision {r} and this vold {KERNEL_REV}"
            ),
            KernelError::Io(e) => f.write_str(e),
        }
    }
}

/// A header for generation `gen` of `payload`.
pub(super) fn header(
    configid: ConfigId,
    flags: u32,
    gen: u64,
    payload: &[u8],
    txids: Vec<(Txid, u64)>,
) -> Header {
    Header {
        configid,
        flags,
        gen,
        payload_len: payload.len() as u64,
        payload_crc: crc32c(payload),
        txids,
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::mem::MemStore;
    use super::super::testkit::*;
    use super::super::wire::{Message, Opcode};
    use super::{Portal, MORE};

    /// The finding of the 2026-12-04 fuzz campaign (ROBUSTNESS.md), read
    /// as `fuzz/fuzz_targets/vold_request.rs` reads its input (a byte of
    /// rendezvous-point bits, then u16 little-endian lengths and packets):
    /// a database copy of 800000080000000000 sectors overflowed the slot's
    /// byte count in the commit that added it. Now the spec is refused.
    #[test]
    fn a_copy_past_the_largest_device_found_by_fuzzing_is_refused() {
        let input: &[u8] = b"\xff/\x00/\x00\x00\x00\x00\x00/\x17\x00\x00\x00A\x01\x00\x00cl8\x00\
            \x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
            t|tttttt/\x00\x01\x00\x15\x00\x02\x00f\x07/o08\x000,000000,0000800000080000000000";
        let mut e = super::Engine::new(MemStore::default(), paths());
        let init = format!("configid={}\n/d/db0,0,256\n/d/db1,0,256", "5a".repeat(16));
        assert_eq!(admin(&mut e, Opcode::INIT, &init).opcode, Opcode::OK);
        assert!(e.enable().is_ok());
        let (&portals, mut rest) = input.split_first().unwrap_or((&0, &[]));
        let mut i = 0u32;
        let mut replies = 0;
        while rest.len() >= 2 {
            let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
            let (packet, tail) = rest[2..].split_at(len);
            rest = tail;
            let portal = if portals >> (i % 8) & 1 == 1 {
                Portal::Diag
            } else {
                Portal::Request
            };
            i += 1;
            if let Ok(msg) = Message::decode(packet) {
                let (reply, _) = e.handle(u64::from(i % 3), portal, &msg);
                assert_eq!(reply.seq, msg.seq);
                replies += 1;
            }
        }
        assert!(replies > 0, "the input holds requests");
        assert_eq!(e.copies().len(), 2, "the copy was not added");
    }

    #[test]
    fn a_long_listing_comes_in_pages_and_each_fits_in_a_message() {
        let mut e = super::Engine::new(MemStore::default(), paths());
        let init = format!("configid={}\n/d/x,0,4096\n/d/y,0,4096", "cd".repeat(16));
        assert_eq!(admin(&mut e, Opcode::INIT, &init).opcode, Opcode::OK);
        assert_eq!(admin(&mut e, Opcode::ENABLE, "").opcode, Opcode::OK);
        let desc: String = (0..2000).map(|i| format!("vol v{i:04} len=0\n")).collect();
        ask(&mut e, Portal::Request, Opcode::BEGIN, T1);
        let m = ask(
            &mut e,
            Portal::Request,
            Opcode::OP,
            &format!("create\n{desc}"),
        )
        .0;
        assert_eq!(m.opcode, Opcode::OK);
        assert_eq!(
            ask(&mut e, Portal::Request, Opcode::COMMIT, T1).0.opcode,
            Opcode::COMMITTED
        );
        let (mut seen, mut ask_for, mut pages) = (0, "vol".to_string(), 0);
        loop {
            let m = ask(&mut e, Portal::Request, Opcode::GET, &ask_for).0;
            assert!(m.fits());
            pages += 1;
            seen += m.body.matches("vol v").count();
            let Some(part) = m.body.strip_suffix(MORE) else {
                break;
            };
            let last = part.lines().rfind(|l| l.starts_with("vol ")).unwrap();
            ask_for = format!("vol after={}", &last[4..]);
        }
        assert_eq!(seen, 2000);
        assert!(pages > 1);
        let m = e.handle(
            1,
            Portal::Request,
            &Message::new(Opcode::GET, 3, "vol v0001"),
        );
        assert!(m.0.body.starts_with("vol v0001\n"));
    }
}
