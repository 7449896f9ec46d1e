//! Transactions: one writer at a time ([`Engine::begin`]), operations
//! staged on a working copy ([`Engine::stage`]), and the commit
//! ([`Engine::commit`], [`Engine::commit_config`]): the rules checked,
//! then the new generation written to every good copy in turn and to the
//! kernel's. A transaction id already among the recent ones is answered
//! `ALREADY` with its generation, whether at `BEGIN` or at `COMMIT`.

use super::dbformat::{Txid, TXIDS};
use super::engine::{header, After, CopyState, Engine, Mode, Tx};
use super::ops::Op;
use super::record::Config;
use super::spec::{hex, unhex16};
use super::store::{write_copy, Point, Store};
use super::text;
use super::wire::{Message, Opcode};

impl<S: Store> Engine<S> {
    pub(super) fn begin(&mut self, conn: u64, body: &str, seq: u32) -> (Message, After) {
        let reply = |op, body: String| (Message::new(op, seq, body), After::Nothing);
        let Some(txid) = unhex16(body.trim()) else {
            return reply(
                Opcode::ERROR,
                "BEGIN needs a transaction id of 32 hex digits".into(),
            );
        };
        if let Some(gen) = self.committed(&txid) {
            return reply(Opcode::ALREADY, gen.to_string());
        }
        match &self.tx {
            Some(t) if t.conn != conn => {
                return reply(Opcode::BUSY, "another transaction is open".into())
            }
            _ => {}
        }
        self.tx = Some(Tx {
            conn,
            txid,
            work: self.config.clone(),
        });
        self.trace(1, &format!("transaction {} begins", hex(&txid)));
        reply(Opcode::OK, String::new())
    }

    pub(super) fn committed(&self, txid: &Txid) -> Option<u64> {
        self.txids.iter().find(|(t, _)| t == txid).map(|(_, g)| *g)
    }

    pub(super) fn stage(&mut self, conn: u64, body: &str, seq: u32) -> (Message, After) {
        let reply = |op, body: String| (Message::new(op, seq, body), After::Nothing);
        let Some(tx) = self.tx.as_mut().filter(|t| t.conn == conn) else {
            return reply(
                Opcode::ERROR,
                "no transaction is open on this connection".into(),
            );
        };
        match Op::parse(body).and_then(|op| op.apply(&mut tx.work)) {
            Ok(()) => reply(Opcode::OK, String::new()),
            Err(e) => reply(Opcode::ERROR, e),
        }
    }

    pub(super) fn commit(&mut self, conn: u64, body: &str, seq: u32) -> (Message, After) {
        let reply = |op, body: String| (Message::new(op, seq, body), After::Nothing);
        let Some(txid) = unhex16(body.trim()) else {
            return reply(Opcode::ERROR, "COMMIT needs the transaction id".into());
        };
        if let Some(gen) = self.committed(&txid) {
            return reply(Opcode::ALREADY, gen.to_string());
        }
        let Some(tx) = self.tx.take_if(|t| t.conn == conn && t.txid == txid) else {
            return reply(
                Opcode::ERROR,
                "no such transaction is open on this connection".into(),
            );
        };
        let mut errs = tx.work.check();
        errs.extend(self.backend.rules(&tx.work));
        if !errs.is_empty() {
            return reply(Opcode::ABORTED, errs.join("\n"));
        }
        match self.commit_config(tx.work, Some(txid), false) {
            Ok(gen) => (
                Message::new(Opcode::COMMITTED, seq, gen.to_string()),
                After::Nodes,
            ),
            Err(e) => reply(Opcode::ERROR, e),
        }
    }

    /// Writes `new` as the next generation to every `Ok` copy (with
    /// `all`, to every copy of this configuration), then the kernel's.
    /// Fewer than two copies written: disabled. None: an error, nothing
    /// changed.
    pub(super) fn commit_config(
        &mut self,
        new: Config,
        txid: Option<Txid>,
        all: bool,
    ) -> Result<u64, String> {
        let Some(desc) = self.desc.clone() else {
            return Err("there is no voldesc".into());
        };
        let gen = self.gen + 1;
        let payload = text::print_config(&new);
        let mut txids = self.txids.clone();
        if let Some(t) = txid {
            txids.push((t, gen));
        }
        let keep = txids.len().saturating_sub(TXIDS);
        txids.drain(..keep);
        let header = header(desc.configid, 0, gen, payload.as_bytes(), txids.clone());
        self.trace(
            1,
            &format!("database update: generation {gen}, {} records", new.len()),
        );
        if self.debug >= 2 {
            for line in payload.lines() {
                log::info!("record: {line}");
            }
        }
        let mut written = 0;
        let mut failures = Vec::new();
        for (k, copy) in self.copies.iter_mut().enumerate() {
            let wanted = copy.state == CopyState::Ok || (all && copy.state != CopyState::Foreign);
            if !wanted {
                continue;
            }
            match write_copy(
                &mut self.store,
                &copy.spec,
                Some(k),
                &header,
                payload.as_bytes(),
            ) {
                Ok(()) => {
                    copy.state = CopyState::Ok;
                    copy.gen = Some(gen);
                    written += 1;
                }
                Err(e) => {
                    log::error!("database copy {}: {e}; no longer used", copy.spec);
                    failures.push(format!("{}: {e}", copy.spec));
                    copy.state = CopyState::Error(e.to_string());
                }
            }
        }
        if written == 0 {
            self.disable("no error-free database copies");
            return Err(format!(
                "no database copy could be written ({})",
                failures.join("; ")
            ));
        }
        self.store.reached(Point::Kernel);
        self.config = new;
        self.gen = gen;
        self.txids = txids;
        self.loaded = true;
        if self.mode == Mode::Enabled {
            self.write_kernel();
        }
        if written < 2 {
            let why = format!("fewer than two error-free databases ({written})");
            log::error!("{why}; disabled until there are two again");
            self.disable(&why);
        }
        Ok(gen)
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::{Mode, Portal};
    use super::super::testkit::*;
    use super::super::wire::{Message, Opcode};

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
    fn an_aborted_transaction_changes_nothing_and_frees_the_writer() {
        let mut e = enabled();
        make(&mut e, T1);
        let t2 = "22222222222222222222222222222222";
        assert_eq!(
            ask(&mut e, Portal::Request, Opcode::BEGIN, t2).0.opcode,
            Opcode::OK
        );
        let m = ask(
            &mut e,
            Portal::Request,
            Opcode::OP,
            "modify vol v1 mode=0644 comment=\"a b\"",
        )
        .0;
        assert_eq!(m.opcode, Opcode::OK, "{m:?}");
        assert_eq!(
            ask(&mut e, Portal::Request, Opcode::ABORT, "").0.opcode,
            Opcode::OK
        );
        assert_eq!(
            ask(&mut e, Portal::Request, Opcode::COMMIT, t2).0.opcode,
            Opcode::ERROR
        );
        assert_eq!(e.config().vol["v1"].mode, 0o600);
        assert_eq!(e.gen(), 2);
        let other = e.handle(2, Portal::Request, &Message::new(Opcode::BEGIN, 1, t2));
        assert_eq!(other.0.opcode, Opcode::OK, "the writer's place is free");
        let m = e.handle(
            2,
            Portal::Request,
            &Message::new(Opcode::OP, 2, "modify vol v1 comment=\"a b\""),
        );
        assert_eq!(m.0.opcode, Opcode::OK);
        let m = e.handle(2, Portal::Request, &Message::new(Opcode::COMMIT, 3, t2));
        assert_eq!((m.0.opcode, m.0.body.as_str()), (Opcode::COMMITTED, "3"));
        assert_eq!(e.config().vol["v1"].comment, "a b");
    }
}
