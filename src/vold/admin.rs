//! The administration of the copies: what voladm asks on the diagnostic
//! rendezvous point (list, add, remove, copy, initialise, enable,
//! disable, sync, check, halt, debug).

use super::enable::verdict;
use super::engine::{After, Copy, CopyState, Engine, Mode};
use super::record::Config;
use super::spec::{hex, unhex16, DbSpec, Voldesc};
use super::store::{read_copy, CopyRead, Store};
use super::text;
use super::wire::{Message, Opcode};
use std::fmt::Write;

impl<S: Store> Engine<S> {
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
        let ok_after = self
            .copies
            .iter()
            .filter(|c| c.spec != spec && c.state == CopyState::Ok)
            .count();
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
        if let Some(c) = self.copies.iter_mut().find(|c| c.spec == to) {
            c.state = CopyState::Unknown;
            c.gen = Some(header.gen);
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
    use super::super::engine::{After, Engine, Mode, Portal};
    use super::super::store::mem::{Fault, MemStore};
    use super::super::testkit::*;
    use super::super::wire::Opcode;

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

    #[test]
    fn cp_copies_the_kernel_or_a_copy_but_not_onto_one_in_use() {
        let mut e = enabled();
        make(&mut e, T1);
        let m = admin(&mut e, Opcode::DB_CP, &format!("kernel\n{A}"));
        assert!(m.body.contains("in use"), "{m:?}");
        let m = admin(&mut e, Opcode::DB_CP, "kernel\n/d/backup,0,64");
        assert_eq!(
            (m.opcode, m.body.as_str()),
            (Opcode::OK, "copied generation 2 to /d/backup,0,64\n")
        );
        let m = admin(&mut e, Opcode::DB_CP, "/d/backup,0,64\n/d/again,0,64");
        assert_eq!(m.opcode, Opcode::OK, "{m:?}");
        let m = admin(&mut e, Opcode::DB_CP, "/d/none,0,64\n/d/x,0,64");
        assert_eq!(m.opcode, Opcode::ERROR);
        // A disabled vold may overwrite a listed copy; the next enable reads it.
        admin(&mut e, Opcode::DISABLE, "");
        assert_eq!(
            admin(&mut e, Opcode::DB_CP, &format!("/d/again,0,64\n{C}")).opcode,
            Opcode::OK
        );
        assert_eq!(admin(&mut e, Opcode::ENABLE, "").opcode, Opcode::OK);
        assert!(e.copies().iter().all(|c| c.gen == Some(2)));
        assert_eq!(admin(&mut e, Opcode::CHECK, "").opcode, Opcode::OK);
    }
}
