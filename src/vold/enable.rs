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
use super::engine::{Copy, CopyState, Engine, Mode};
use super::spec::{ConfigId, DbSpec, Voldesc};
use super::store::{read_copy, write_copy, CopyRead, Store};
use super::text;

/// A copy that read well: its index, header and payload.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) k: usize,
    pub(super) header: Header,
    pub(super) payload: Vec<u8>,
}

/// The verdict of steps 3 and 4 over the copies found: the generation to
/// enable with, or why vold cannot.
pub(super) fn verdict(
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
    pub(super) fn load_desc(&mut self) -> Result<Voldesc, String> {
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
    pub(super) fn read_copies(&mut self, desc: &Voldesc, fresh: bool) -> Vec<Found> {
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

    /// `-d`: reads the copies and loads the newest configuration (steps
    /// 1 to 4, writing nothing) so that voladm sees them, and stays
    /// disabled for `why`.
    pub fn inspect(&mut self, why: &str) {
        if let Err(e) = self.load() {
            log::warn!("the databases could not be loaded: {e}");
        }
        self.disable(why);
    }

    /// Steps 1 to 4: the voldesc, the copies' states, and the newest
    /// generation loaded (its header and payload returned). Writes nothing.
    fn load(&mut self) -> Result<(Header, Vec<u8>), String> {
        let desc = self.load_desc()?;
        let kernel = self.read_kernel().map_err(|e| e.to_string())?;
        // The voldesc and the copies' states change together.
        let found = self.read_copies(&desc, false);
        self.desc = Some(desc.clone());
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
        Ok((header, payload))
    }

    fn try_enable(&mut self) -> Result<(), String> {
        self.disable("enabling");
        let (header, payload) = self.load()?;
        let gen = header.gen;
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
    pub(super) fn write_whole(
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
    pub(super) fn current(&self) -> Option<(Header, Vec<u8>)> {
        let desc = self.desc.as_ref()?;
        let payload = text::print_config(&self.config).into_bytes();
        let h = super::engine::header(desc.configid, 0, self.gen, &payload, self.txids.clone());
        Some((h, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::{Engine, Mode, Portal};
    use super::super::store::mem::Fault;
    use super::super::store::{Point, Store};
    use super::super::testkit::*;
    use super::super::wire::Opcode;

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
}
