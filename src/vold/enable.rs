//! The enable algorithm of vold(1M) and the administration of the copies
//! (what voladm asks on the diagnostic rendezvous).
//!
//! Enabling:
//! 1. read the voldesc (none: stay disabled);
//! 2. read every copy not already in error: an I/O, checksum or payload
//!    format error makes it `error` (and ignored until rewritten), another
//!    configuration id `foreign`;
//! 3. with G the newest generation, copies older than G−1 are `stale`
//!    (ignored, rewritten below); copies of the same generation (G, or
//!    G−1: an interrupted commit) must hold the same payload, or vold
//!    cannot enable ("Configuration records are inconsistent");
//! 4. when the kernel holds a copy of the same id (every enable but the
//!    first since boot), the copies of its generation must equal it, and
//!    its generation must be G or G−1 (G−1: the crash came between the
//!    disks and the kernel); anything else means a change bypassed vold;
//! 5. G−1 and stale copies are rewritten to G; fewer than two copies at
//!    G and vold stays disabled; the kernel gets G.

use super::dbformat::Header;
use super::engine::{After, Copy, CopyState, Engine, Mode};
use super::record::Config;
use super::spec::{hex, unhex16, ConfigId, DbSpec, Voldesc};
use super::store::{read_copy, write_copy, CopyRead, Store};
use super::text;
use super::wire::{Message, Opcode};
use std::fmt::Write;

/// A copy that read well: its index, header and payload.
#[derive(Debug, Clone)]
pub(super) struct Found {
    k: usize,
    header: Header,
    payload: Vec<u8>,
}

/// The verdict of steps 3 and 4 over the copies found: the generation to
/// enable with, or why vold cannot.
fn verdict(
    found: &[Found],
    specs: &[DbSpec],
    kernel: Option<&(Header, Vec<u8>)>,
    id: &ConfigId,
) -> Result<u64, String> {
    let Some(newest) = found.iter().map(|f| f.header.gen).max() else {
        return Err("no valid configuration copies".into());
    };
    for gen in [newest, newest.saturating_sub(1)] {
        let same: Vec<&Found> = found.iter().filter(|f| f.header.gen == gen).collect();
        if let Some(odd) = same.iter().find(|f| f.payload != same[0].payload) {
            return Err(format!(
                "Configuration records are inconsistent: copies {} and {} of generation {gen} differ",
                specs[same[0].k], specs[odd.k]
            ));
        }
    }
    if let Some((kh, kp)) = kernel.filter(|(h, _)| &h.configid == id) {
        let kg = kh.gen;
        if kg > newest || kg + 1 < newest {
            return Err(format!(
                "the kernel holds generation {kg} and the newest copy {newest}: a change bypassed vold"
            ));
        }
        if let Some(f) = found
            .iter()
            .find(|f| f.header.gen == kg && &f.payload != kp)
        {
            return Err(format!(
                "copy {} differs from the kernel's configuration of generation {kg}: a change bypassed vold",
                specs[f.k]
            ));
        }
    }
    Ok(newest)
}

impl<S: Store> Engine<S> {
    /// Reads the voldesc.
    fn load_desc(&mut self) -> Result<Voldesc, String> {
        let path = self.paths.voldesc.clone();
        let text = match self.store.read_file(&path) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(format!("no voldesc file {}", path.display())),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let text = String::from_utf8_lossy(&text);
        Voldesc::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Step 2: reads the copies of `desc` (copies in error stay so unless
    /// `fresh`), setting their states; returns the good ones.
    fn read_copies(&mut self, desc: &Voldesc, fresh: bool) -> Vec<Found> {
        let old = std::mem::take(&mut self.copies);
        let mut found = Vec::new();
        for (k, spec) in desc.copies.iter().enumerate() {
            let prior = old.iter().find(|c| &c.spec == spec);
            if let (
                false,
                Some(
                    c @ Copy {
                        state: CopyState::Error(_),
                        ..
                    },
                ),
            ) = (fresh, prior)
            {
                self.copies.push(c.clone());
                continue;
            }
            let (state, gen) = match read_copy(&mut self.store, spec) {
                CopyRead::Bad { why, .. } => (CopyState::Error(why), None),
                CopyRead::Good { header, .. } if header.configid != desc.configid => {
                    (CopyState::Foreign, Some(header.gen))
                }
                CopyRead::Good { header, payload } => match std::str::from_utf8(&payload)
                    .map_err(|e| e.to_string())
                    .and_then(text::parse_config)
                {
                    Err(e) => (
                        CopyState::Error(format!("Format error in configuration copy: {e}")),
                        None,
                    ),
                    Ok(_) => {
                        let gen = header.gen;
                        found.push(Found { k, header, payload });
                        (CopyState::Unknown, Some(gen))
                    }
                },
            };
            match &state {
                CopyState::Error(why) => log::warn!("database copy {spec}: {why}; ignored"),
                CopyState::Foreign => {
                    log::warn!("database copy {spec}: another configuration id; ignored")
                }
                _ => {}
            }
            self.copies.push(Copy {
                spec: spec.clone(),
                state,
                gen,
            });
        }
        found
    }

    /// Runs the enable algorithm; `Err` (also the disabled reason) when
    /// vold cannot be enabled.
    pub fn enable(&mut self) -> Result<(), String> {
        let result = self.try_enable();
        match &result {
            Ok(()) => {
                self.mode = Mode::Enabled;
                self.write_kernel();
                log::info!(
                    "enabled at generation {} with {} copies",
                    self.gen,
                    self.ok_copies()
                );
            }
            Err(why) => {
                log::warn!("cannot enable: {why}");
                self.disable(why);
            }
        }
        result
    }

    fn try_enable(&mut self) -> Result<(), String> {
        self.disable("enabling");
        let desc = self.load_desc()?;
        self.desc = Some(desc.clone());
        let kernel = self.read_kernel().map_err(|e| e.to_string())?;
        let found = self.read_copies(&desc, false);
        let gen = verdict(&found, &desc.copies, kernel.as_ref(), &desc.configid)?;
        let Some(best) = found.iter().find(|f| f.header.gen == gen) else {
            return Err("no valid configuration copies".into());
        };
        let text = String::from_utf8_lossy(&best.payload).into_owned();
        let config = text::parse_config(&text)
            .map_err(|e| format!("Format error in configuration copy: {e}"))?;
        let errs = config.check();
        if !errs.is_empty() {
            return Err(format!(
                "Configuration records are inconsistent: {}",
                errs.join("; ")
            ));
        }
        let (header, payload) = (best.header.clone(), best.payload.clone());
        self.config = config;
        self.gen = gen;
        self.txids = header.txids.clone();
        self.loaded = true;
        for f in &found {
            self.copies[f.k].state = if f.header.gen == gen {
                CopyState::Ok
            } else {
                CopyState::Stale
            };
        }
        for k in 0..self.copies.len() {
            let c = &self.copies[k];
            if c.state != CopyState::Stale {
                continue;
            }
            log::info!(
                "database copy {}: generation {:?} rewritten to {gen}",
                c.spec,
                c.gen
            );
            let spec = c.spec.clone();
            self.copies[k] = match self.write_whole(&spec, &header, &payload, false) {
                Ok(()) => Copy {
                    spec,
                    state: CopyState::Ok,
                    gen: Some(gen),
                },
                Err(e) => Copy {
                    spec,
                    state: CopyState::Error(e),
                    gen: None,
                },
            };
        }
        let ok = self.ok_copies();
        if ok < 2 {
            return Err(format!("fewer than two error-free databases ({ok})"));
        }
        Ok(())
    }

    /// Copies in state `Ok`.
    pub fn ok_copies(&self) -> usize {
        self.copies
            .iter()
            .filter(|c| c.state == CopyState::Ok)
            .count()
    }

    /// Writes generation `header.gen` into a copy. A `fresh` copy (being
    /// added, copied over or initialised) may hold anything: its other
    /// header sector is cleared first, so that no foreign generation can
    /// outlive the write. A copy being repaired keeps its older header
    /// until the new one is whole.
    fn write_whole(
        &mut self,
        spec: &DbSpec,
        header: &Header,
        payload: &[u8],
        fresh: bool,
    ) -> Result<(), String> {
        let named = |e: std::io::Error| format!("{spec}: {e}");
        if fresh {
            let other = super::dbformat::header_at(header.gen + 1) + spec.offset * 512;
            let zero = [0u8; super::dbformat::SECTOR];
            self.store
                .write_at(&spec.path, other, &zero)
                .map_err(named)?;
        }
        write_copy(&mut self.store, spec, None, header, payload).map_err(named)
    }

    /// The current generation's header and payload.
    fn current(&self) -> Option<(Header, Vec<u8>)> {
        let desc = self.desc.as_ref()?;
        let payload = text::print_config(&self.config).into_bytes();
        let h = super::engine::header(desc.configid, 0, self.gen, &payload, self.txids.clone());
        Some((h, payload))
    }

    /// A diagnostic-rendezvous request (voladm).
    pub(super) fn admin(&mut self, msg: &Message) -> (Message, After) {
        let body = msg.body.trim();
        let result = match msg.opcode {
            Opcode::DB_LIST => Ok((self.list(), After::Nothing)),
            Opcode::DB_ADD => self.db_add(body),
            Opcode::DB_RM => self.db_rm(body).map(|t| (t, After::Nothing)),
            Opcode::DB_CP => self.db_cp(body).map(|t| (t, After::Nothing)),
            Opcode::INIT => self.init(body).map(|t| (t, After::Nothing)),
            Opcode::ENABLE => self.enable().map(|()| {
                (
                    format!("enabled at generation {}\n", self.gen),
                    After::Nodes,
                )
            }),
            Opcode::DISABLE => {
                self.disable("disabled by voladm");
                Ok(("disabled\n".into(), After::Nothing))
            }
            Opcode::SYNC => self.sync().map(|t| (t, After::Nothing)),
            Opcode::CHECK => self.check(),
            Opcode::HALT => Ok(("halting\n".into(), After::Halt)),
            Opcode::DEBUG => match body.parse::<u8>() {
                Ok(level @ 0..=2) => {
                    self.debug = level;
                    Ok((format!("debug level {level}\n"), After::Nothing))
                }
                _ => Err(format!("debug level {body:?}: 0, 1 or 2")),
            },
            op => Err(format!("unknown request {op:?}")),
        };
        match result {
            Ok((text, after)) => (Message::new(Opcode::OK, msg.seq, text), after),
            Err(e) => (Message::new(Opcode::ERROR, msg.seq, e), After::Nothing),
        }
    }

    /// `voladm -l`: one line a copy: spec, state, generation, why.
    fn list(&self) -> String {
        let mut out = String::new();
        for c in &self.copies {
            let gen = c.gen.map_or("-".into(), |g| g.to_string());
            let _ = write!(out, "{} {} {gen}", c.spec, c.state.word());
            if let CopyState::Error(why) = &c.state {
                let _ = write!(out, " {why}");
            }
            out.push('\n');
        }
        out
    }

    fn spec_arg(body: &str) -> Result<DbSpec, String> {
        let spec = DbSpec::parse(body, None)?;
        if spec.path.is_relative() {
            return Err(format!("{body}: the path must be absolute"));
        }
        Ok(spec)
    }

    fn save_desc(&mut self, desc: Voldesc) -> Result<(), String> {
        let path = self.paths.voldesc.clone();
        self.store
            .replace_file(&path, desc.format().as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        self.desc = Some(desc);
        Ok(())
    }

    fn db_add(&mut self, body: &str) -> Result<(String, After), String> {
        let spec = Self::spec_arg(body)?;
        let (Some(mut desc), Some((header, payload))) = (self.desc.clone(), self.current()) else {
            return Err("no configuration is known: initialise one (voladm init) or enable".into());
        };
        if !self.loaded {
            return Err("no configuration is known: initialise one (voladm init) or enable".into());
        }
        if desc.copies.contains(&spec) {
            return Err(format!("{spec} is already a database copy"));
        }
        self.write_whole(&spec, &header, &payload, true)?;
        desc.copies.push(spec.clone());
        self.save_desc(desc)?;
        self.copies.push(Copy {
            spec: spec.clone(),
            state: CopyState::Ok,
            gen: Some(self.gen),
        });
        let mut text = format!("added {spec} at generation {}\n", self.gen);
        let mut after = After::Nothing;
        if self.mode != Mode::Enabled {
            match self.enable() {
                Ok(()) => {
                    text.push_str("enabled\n");
                    after = After::Nodes;
                }
                Err(e) => {
                    let _ = writeln!(text, "still disabled: {e}");
                }
            }
        }
        Ok((text, after))
    }

    fn db_rm(&mut self, body: &str) -> Result<String, String> {
        let spec = Self::spec_arg(body)?;
        let Some(mut desc) = self.desc.clone() else {
            return Err("there is no voldesc".into());
        };
        let Some(k) = desc.copies.iter().position(|c| c == &spec) else {
            return Err(format!("{spec} is not a database copy"));
        };
        let ok_after = self.ok_copies()
            - usize::from(self.copies.get(k).is_some_and(|c| c.state == CopyState::Ok));
        if self.mode == Mode::Enabled && ok_after < 2 {
            return Err(format!(
                "removing {spec} would leave {ok_after} error-free copies; vold needs two"
            ));
        }
        desc.copies.remove(k);
        self.save_desc(desc)?;
        self.copies.retain(|c| c.spec != spec);
        Ok(format!("removed {spec}\n"))
    }

    fn db_cp(&mut self, body: &str) -> Result<String, String> {
        let (from, to) = body
            .split_once('\n')
            .ok_or("cp needs a source and a destination")?;
        let to = Self::spec_arg(to.trim())?;
        let listed = self
            .desc
            .as_ref()
            .and_then(|d| d.copies.iter().position(|c| c == &to));
        if listed.is_some() && self.mode == Mode::Enabled {
            return Err(format!(
                "{to} is a database copy in use; disable vold first"
            ));
        }
        let (mut header, payload) = if from.trim() == "kernel" {
            self.read_kernel()
                .map_err(|e| e.to_string())?
                .ok_or("the kernel holds no configuration")?
        } else {
            let from = Self::spec_arg(from.trim())?;
            match read_copy(&mut self.store, &from) {
                CopyRead::Good { header, payload } => (header, payload),
                CopyRead::Bad { why, .. } => return Err(format!("{from}: {why}")),
            }
        };
        header.flags = 0;
        self.write_whole(&to, &header, &payload, true)?;
        if let Some(k) = listed {
            self.copies[k] = Copy {
                spec: to.clone(),
                state: CopyState::Unknown,
                gen: Some(header.gen),
            };
        }
        Ok(format!("copied generation {} to {to}\n", header.gen))
    }

    fn init(&mut self, body: &str) -> Result<String, String> {
        if self.mode == Mode::Enabled {
            return Err(
                "vold is enabled; disable it before initialising a new configuration".into(),
            );
        }
        let mut lines = body.lines();
        let id = lines
            .next()
            .and_then(|l| l.strip_prefix("configid="))
            .and_then(unhex16)
            .ok_or("init: the first line must be configid=<32 hex digits>")?;
        let specs = lines.map(Self::spec_arg).collect::<Result<Vec<_>, _>>()?;
        if specs.is_empty() {
            return Err("init needs at least one database-spec (two to enable)".into());
        }
        let config = Config::default();
        let payload = text::print_config(&config).into_bytes();
        let header = super::engine::header(id, 0, 1, &payload, Vec::new());
        for spec in &specs {
            self.write_whole(spec, &header, &payload, true)?;
        }
        self.save_desc(Voldesc {
            configid: id,
            copies: specs.clone(),
        })?;
        self.copies = specs
            .into_iter()
            .map(|spec| Copy {
                spec,
                state: CopyState::Ok,
                gen: Some(1),
            })
            .collect();
        self.config = config;
        self.gen = 1;
        self.txids.clear();
        self.loaded = true;
        Ok(format!(
            "initialised configuration {} with {} copies\n",
            hex(&id),
            self.copies.len()
        ))
    }

    fn sync(&mut self) -> Result<String, String> {
        if !self.loaded {
            return Err("no configuration is known to write".into());
        }
        let gen = self.commit_config(self.config.clone(), None, true)?;
        Ok(format!(
            "wrote generation {gen} to {} copies\n",
            self.ok_copies()
        ))
    }

    /// `voladm check`: reads every copy afresh and says whether vold could
    /// enable, changing nothing.
    fn check(&mut self) -> Result<(String, After), String> {
        let desc = self.load_desc()?;
        let kernel = self.read_kernel().map_err(|e| e.to_string())?;
        let saved = self.copies.clone();
        let found = self.read_copies(&desc, true);
        let mut out = self.list();
        self.copies = saved;
        match verdict(&found, &desc.copies, kernel.as_ref(), &desc.configid) {
            Ok(gen) => {
                let at_gen = found.iter().filter(|f| f.header.gen + 1 >= gen).count();
                let _ = writeln!(out, "consistent: generation {gen}, {at_gen} usable copies");
                if at_gen < 2 {
                    return Err(format!("{out}fewer than two error-free databases"));
                }
                Ok((out, After::Nothing))
            }
            Err(e) => Err(format!("{out}{e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::{After, Engine, Mode, Paths, Portal};
    use super::super::store::mem::{Fault, MemStore};
    use super::super::store::{Point, Store};
    use super::super::wire::{Message, Opcode};

    const A: &str = "/d/a,0,64";
    const B: &str = "/d/b,0,64";
    const C: &str = "/d/c,8,64";
    const DESC: &str = "sd s1 path=/d/disk len=16\nplex p1 sd=s1\nvol v1 len=16 plex=p1\n";

    fn paths() -> Paths {
        Paths {
            voldesc: "/etc/voldesc".into(),
            kernel: "/run/kernel.db".into(),
        }
    }

    fn ask(e: &mut Engine<MemStore>, portal: Portal, op: Opcode, body: &str) -> (Message, After) {
        e.handle(1, portal, &Message::new(op, 9, body))
    }

    fn admin(e: &mut Engine<MemStore>, op: Opcode, body: &str) -> Message {
        ask(e, Portal::Diag, op, body).0
    }

    /// An enabled engine over copies A, B and C.
    fn enabled() -> Engine<MemStore> {
        let mut e = Engine::new(MemStore::default(), paths());
        let init = format!("configid={}\n{A}\n{B}\n{C}", "ab".repeat(16));
        assert_eq!(admin(&mut e, Opcode::INIT, &init).opcode, Opcode::OK);
        assert_eq!(admin(&mut e, Opcode::ENABLE, "").opcode, Opcode::OK);
        e
    }

    /// Runs one transaction creating DESC with id `txid` on connection 1.
    fn make(e: &mut Engine<MemStore>, txid: &str) -> Message {
        let b = ask(e, Portal::Request, Opcode::BEGIN, txid).0;
        if b.opcode != Opcode::OK {
            return b;
        }
        assert_eq!(
            ask(e, Portal::Request, Opcode::OP, &format!("create\n{DESC}"))
                .0
                .opcode,
            Opcode::OK
        );
        ask(e, Portal::Request, Opcode::COMMIT, txid).0
    }

    /// A new engine (vold restarted) over what `e` left on disk.
    fn restart(e: &Engine<MemStore>) -> Engine<MemStore> {
        let mut store = e.store.clone();
        store.crashed = false;
        store.crash_at = None;
        let mut n = Engine::new(store, paths());
        let _ = n.enable();
        n
    }

    const T1: &str = "11111111111111111111111111111111";

    #[test]
    fn a_transaction_reaches_every_copy_and_survives_a_restart() {
        let mut e = enabled();
        assert_eq!(make(&mut e, T1).opcode, Opcode::COMMITTED);
        let n = restart(&e);
        assert_eq!(n.mode(), &Mode::Enabled);
        assert_eq!(n.gen(), 2);
        assert!(n.config().vol.contains_key("v1"));
        assert!(n.copies().iter().all(|c| c.gen == Some(2)));
    }

    #[test]
    fn a_retried_transaction_is_already_committed() {
        let mut e = enabled();
        make(&mut e, T1);
        let again = make(&mut e, T1);
        assert_eq!((again.opcode, again.body.as_str()), (Opcode::ALREADY, "2"));
    }

    #[test]
    fn a_failed_write_drops_the_copy_and_one_more_disables() {
        let mut e = enabled();
        e.store.faults.insert("/d/a".into(), Fault::Io);
        assert_eq!(make(&mut e, T1).opcode, Opcode::COMMITTED);
        assert_eq!(e.mode(), &Mode::Enabled);
        assert!(admin(&mut e, Opcode::DB_LIST, "")
            .body
            .contains("/d/a,0,64 error"));
        e.store.faults.insert("/d/b".into(), Fault::NoSpace);
        let m = ask(
            &mut e,
            Portal::Request,
            Opcode::BEGIN,
            "22222222222222222222222222222222",
        )
        .0;
        assert_eq!(m.opcode, Opcode::OK);
        ask(
            &mut e,
            Portal::Request,
            Opcode::OP,
            "modify vol v1 mode=0644",
        );
        let m = ask(
            &mut e,
            Portal::Request,
            Opcode::COMMIT,
            "22222222222222222222222222222222",
        )
        .0;
        assert_eq!(m.opcode, Opcode::COMMITTED, "one copy holds it: committed");
        assert!(matches!(e.mode(), Mode::Disabled(w) if w.contains("fewer than two")));
        // Disabled: the request rendezvous refuses, voladm still works.
        let (m, after) = ask(&mut e, Portal::Request, Opcode::HELLO, "");
        assert_eq!((m.opcode, after), (Opcode::REFUSED, After::Close));
        // Adding a copy re-enables.
        let (m, after) = ask(&mut e, Portal::Diag, Opcode::DB_ADD, "/d/new,0,64");
        assert_eq!((m.opcode, after), (Opcode::OK, After::Nodes), "{}", m.body);
        assert_eq!(e.mode(), &Mode::Enabled);
        assert_eq!(e.config().vol["v1"].mode, 0o644);
    }

    #[test]
    fn a_torn_header_or_flipped_bits_leave_the_old_generation() {
        let mut e = enabled();
        e.store.faults.insert("/d/a".into(), Fault::TornHeader);
        make(&mut e, T1);
        e.store.flip("/d/b", 2 * 512 + 3);
        let n = restart(&e);
        assert_eq!(
            n.mode(),
            &Mode::Enabled,
            "A at 1 (one behind), B at 1, C at 2"
        );
        assert_eq!(n.gen(), 2);
        assert!(
            n.copies().iter().all(|c| c.gen == Some(2)),
            "{:?}",
            n.copies()
        );
    }

    #[test]
    fn copies_of_one_generation_that_differ_prevent_enabling() {
        let mut e = enabled();
        make(&mut e, T1);
        // Copy C gets another generation-2 payload behind vold's back.
        let mut other = restart(&e);
        other.copies.retain(|c| c.spec.path.ends_with("c"));
        other.config.vol.clear();
        let payload = super::text::print_config(&other.config).into_bytes();
        let h = super::super::engine::header([0xab; 16], 0, 2, &payload, Vec::new());
        let spec = other.copies[0].spec.clone();
        super::write_copy(&mut e.store, &spec, None, &h, &payload).unwrap();
        let n = restart(&e);
        assert!(
            matches!(n.mode(), Mode::Disabled(w) if w.contains("inconsistent")),
            "{:?}",
            n.mode()
        );
        assert_eq!(
            admin(&mut restart(&e), Opcode::CHECK, "").opcode,
            Opcode::ERROR
        );
    }

    #[test]
    fn a_copy_two_generations_behind_is_stale_and_rewritten() {
        let mut e = enabled();
        let before = e.store.files[std::path::Path::new("/d/c")].clone();
        make(&mut e, T1);
        e.disable("test");
        ask(&mut e, Portal::Diag, Opcode::SYNC, "");
        e.store.files.insert("/d/c".into(), before);
        let mut n = Engine::new(e.store.clone(), paths());
        n.store
            .remove_file(std::path::Path::new("/run/kernel.db"))
            .unwrap();
        // Only two copies are written until the enable rewrites C.
        assert!(n.enable().is_ok());
        assert_eq!(n.copies()[2].gen, Some(3), "{:?}", n.copies());
    }

    #[test]
    fn a_kernel_copy_that_differs_means_a_bypass() {
        let mut e = enabled();
        make(&mut e, T1);
        // Every disk copy rolled back to generation 1 (the kernel holds 2).
        let mut n = restart(&e);
        let payload = b"".to_vec();
        let h = super::super::engine::header([0xab; 16], 0, 2, &payload, Vec::new());
        for c in n.copies.clone() {
            super::write_copy(&mut n.store, &c.spec, None, &h, &payload).unwrap();
        }
        assert!(n.enable().unwrap_err().contains("bypassed vold"));
    }

    #[test]
    fn crash_points_leave_the_old_or_the_new_configuration_never_a_mix() {
        let points = [
            Point::Payload(0),
            Point::Header(0),
            Point::Payload(1),
            Point::Header(1),
            Point::Payload(2),
            Point::Header(2),
            Point::Kernel,
        ];
        for point in points {
            let mut e = enabled();
            e.store.crash_at = Some(point);
            make(&mut e, T1);
            let mut n = restart(&e);
            assert_eq!(n.mode(), &Mode::Enabled, "{point}");
            let new = n.config().vol.contains_key("v1");
            assert_eq!(n.gen(), if new { 2 } else { 1 }, "{point}");
            assert!(
                n.copies().iter().all(|c| c.gen == Some(n.gen())),
                "{point}: {:?}",
                n.copies()
            );
            // The client retries its transaction id.
            let m = make(&mut n, T1);
            let expect = if new {
                Opcode::ALREADY
            } else {
                Opcode::COMMITTED
            };
            assert_eq!(m.opcode, expect, "{point}");
            assert_eq!(n.gen(), 2, "{point}: applied once");
            let committed_on_disk = !matches!(point, Point::Payload(0));
            assert_eq!(new, committed_on_disk, "{point}");
        }
    }

    #[test]
    fn one_writer_at_a_time_and_closing_drops_the_transaction() {
        let mut e = enabled();
        assert_eq!(
            ask(&mut e, Portal::Request, Opcode::BEGIN, T1).0.opcode,
            Opcode::OK
        );
        let other = e.handle(
            2,
            Portal::Request,
            &Message::new(Opcode::BEGIN, 1, "22222222222222222222222222222222"),
        );
        assert_eq!(other.0.opcode, Opcode::BUSY);
        e.closed(1);
        let other = e.handle(
            2,
            Portal::Request,
            &Message::new(Opcode::BEGIN, 1, "22222222222222222222222222222222"),
        );
        assert_eq!(other.0.opcode, Opcode::OK);
    }

    #[test]
    fn bad_configurations_are_aborted_with_reasons() {
        let mut e = enabled();
        ask(&mut e, Portal::Request, Opcode::BEGIN, T1);
        let m = ask(
            &mut e,
            Portal::Request,
            Opcode::OP,
            "create\nvol v1 plex=nope\n",
        )
        .0;
        assert_eq!(
            m.opcode,
            Opcode::ERROR,
            "a staged operation that fails changes nothing"
        );
        let m = ask(
            &mut e,
            Portal::Request,
            Opcode::OP,
            "create\nplex p9 vol=v1\n",
        )
        .0;
        assert_eq!(m.opcode, Opcode::OK);
        let m = ask(&mut e, Portal::Request, Opcode::COMMIT, T1).0;
        assert_eq!(m.opcode, Opcode::ABORTED, "{m:?}");
        assert!(m.body.contains("plex p9: vol v1 does not exist"), "{m:?}");
        let m = ask(&mut e, Portal::Request, Opcode::BEGIN, T1).0;
        assert_eq!(m.opcode, Opcode::OK);
        ask(
            &mut e,
            Portal::Request,
            Opcode::OP,
            "create\nsd s1 path=/x len=0\n",
        );
        let m = ask(&mut e, Portal::Request, Opcode::COMMIT, T1).0;
        assert_eq!(m.opcode, Opcode::ABORTED);
        assert!(m.body.contains("length is zero"));
    }

    #[test]
    fn removing_a_copy_never_leaves_fewer_than_two_while_enabled() {
        let mut e = enabled();
        assert_eq!(admin(&mut e, Opcode::DB_RM, C).opcode, Opcode::OK);
        let m = admin(&mut e, Opcode::DB_RM, B);
        assert!(m.body.contains("needs two"), "{m:?}");
        assert_eq!(admin(&mut e, Opcode::DB_LIST, "").body.lines().count(), 2);
    }

    #[test]
    fn missing_voldesc_disables_and_garbage_requests_get_errors() {
        let mut e = Engine::new(MemStore::default(), paths());
        assert!(e.enable().unwrap_err().contains("no voldesc"));
        assert_eq!(admin(&mut e, Opcode(777), "").opcode, Opcode::ERROR);
        assert_eq!(admin(&mut e, Opcode::DEBUG, "7").opcode, Opcode::ERROR);
        assert_eq!(
            admin(&mut e, Opcode::DB_ADD, "rel,0,8").opcode,
            Opcode::ERROR
        );
        assert_eq!(
            admin(&mut e, Opcode::INIT, "nonsense").opcode,
            Opcode::ERROR
        );
    }
}
