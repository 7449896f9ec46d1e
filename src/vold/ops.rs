//! The operations a transaction stages: create, modify, delete,
//! associate and dissociate records. Each applies to a working copy of
//! the configuration; the whole is checked ([`Config::check`]) at commit.
//!
//! Wire form (the body of an `OP` message), one operation per message:
//!
//! ```text
//! create\n<records in the description format>
//! modify TYPE NAME field=value ...
//! delete [-r] TYPE NAME        (-r: with the plexes and subdisks under it)
//! assoc plex PLEX VOL   |  assoc sd SD PLEX
//! dissoc plex PLEX      |  dissoc sd SD
//! ```

use super::record::{Config, Kind};
use super::text;

/// One staged operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// New records, linked to each other as their fields say.
    Create(String),
    /// Fields of one record.
    Modify {
        kind: Kind,
        name: String,
        fields: Vec<(String, String)>,
    },
    /// A record (and with `recursive`, what is under it).
    Delete {
        kind: Kind,
        name: String,
        recursive: bool,
    },
    /// A plex to a volume (`Kind::Plex`) or a subdisk to a plex.
    Assoc {
        kind: Kind,
        name: String,
        to: String,
    },
    /// A plex from its volume or a subdisk from its plex.
    Dissoc { kind: Kind, name: String },
}

fn kind(word: Option<&str>) -> Result<Kind, String> {
    let w = word.ok_or("a record type is missing")?;
    Kind::from_keyword(w).ok_or_else(|| format!("unknown record type {w:?}"))
}

fn name(word: Option<&str>) -> Result<String, String> {
    word.map(str::to_string)
        .ok_or_else(|| "a record name is missing".into())
}

/// The `field=value` pairs of a `modify` line (after its first three
/// words), quotes honoured.
fn modify_fields(line: &str) -> Result<Vec<(String, String)>, String> {
    let mut rest = line.trim_start();
    for _ in 0..3 {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    let fields = text::parse(&format!("sd x {rest}"))?
        .pop()
        .map(|d| d.fields)
        .unwrap_or_default();
    if fields.is_empty() {
        return Err("modify: no field=value given".into());
    }
    Ok(fields)
}

impl Op {
    /// Parses the wire form.
    pub fn parse(body: &str) -> Result<Op, String> {
        let (first, rest) = body.split_once('\n').unwrap_or((body, ""));
        let mut w = first.split_whitespace();
        let verb = w.next().unwrap_or_default();
        let op = match verb {
            "create" => return Ok(Op::Create(rest.to_string())),
            "modify" => {
                let kind = kind(w.next())?;
                let name = name(w.next())?;
                return Ok(Op::Modify {
                    kind,
                    name,
                    fields: modify_fields(first)?,
                });
            }
            "delete" => {
                let mut first = w.next();
                let recursive = first == Some("-r");
                if recursive {
                    first = w.next();
                }
                Op::Delete {
                    kind: kind(first)?,
                    name: name(w.next())?,
                    recursive,
                }
            }
            "assoc" => Op::Assoc {
                kind: kind(w.next())?,
                name: name(w.next())?,
                to: name(w.next())?,
            },
            "dissoc" => Op::Dissoc {
                kind: kind(w.next())?,
                name: name(w.next())?,
            },
            _ => return Err(format!("unknown operation {verb:?}")),
        };
        match w.next() {
            Some(extra) => Err(format!("{verb}: unexpected {extra:?}")),
            None => Ok(op),
        }
    }

    /// The wire form.
    pub fn encode(&self) -> String {
        match self {
            Op::Create(t) => format!("create\n{t}"),
            Op::Modify { kind, name, fields } => {
                let f: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", text::quote(v)))
                    .collect();
                format!("modify {kind} {name} {}", f.join(" "))
            }
            Op::Delete {
                kind,
                name,
                recursive,
            } => format!(
                "delete {}{kind} {name}",
                if *recursive { "-r " } else { "" }
            ),
            Op::Assoc { kind, name, to } => format!("assoc {kind} {name} {to}"),
            Op::Dissoc { kind, name } => format!("dissoc {kind} {name}"),
        }
    }

    /// Applies the operation to `c` (left unchanged on error).
    pub fn apply(&self, c: &mut Config) -> Result<(), String> {
        let mut work = c.clone();
        match self {
            Op::Create(t) => create(&mut work, t)?,
            Op::Modify { kind, name, fields } => {
                for (k, v) in fields {
                    if matches!(
                        (kind, k.as_str()),
                        (Kind::Subdisk, "plex")
                            | (Kind::Plex, "vol" | "sd")
                            | (Kind::Volume, "plex")
                    ) {
                        return Err(format!("{kind} {name}: change {k} with assoc or dissoc"));
                    }
                    text::set_field(&mut work, *kind, name, k, v)?;
                }
            }
            Op::Delete {
                kind,
                name,
                recursive,
            } => delete(&mut work, *kind, name, *recursive)?,
            Op::Assoc { kind, name, to } => assoc(&mut work, *kind, name, to)?,
            Op::Dissoc { kind, name } => dissoc(&mut work, *kind, name)?,
        }
        *c = work;
        Ok(())
    }
}

/// Adds the described records, then makes every association they name
/// two-sided and lays each touched plex's subdisks end to end.
fn create(c: &mut Config, desc: &str) -> Result<(), String> {
    let records = text::parse(desc)?;
    if records.is_empty() {
        return Err("create: no records".into());
    }
    for d in &records {
        text::insert(c, d).map_err(|e| format!("line {}: {e}", d.line))?;
    }
    for d in &records {
        match d.kind {
            Kind::Volume => {
                for p in c.vol[&d.name].plex.clone() {
                    let plex = c
                        .plex
                        .get_mut(&p)
                        .ok_or(format!("vol {}: no plex {p}", d.name))?;
                    plex.vol.get_or_insert_with(|| d.name.clone());
                }
            }
            Kind::Plex => {
                for s in c.plex[&d.name].sd.clone() {
                    let sd =
                        c.sd.get_mut(&s)
                            .ok_or(format!("plex {}: no sd {s}", d.name))?;
                    sd.plex.get_or_insert_with(|| d.name.clone());
                }
                if let Some(v) = c.plex[&d.name].vol.clone() {
                    if let Some(vol) = c.vol.get_mut(&v) {
                        if !vol.plex.contains(&d.name) {
                            vol.plex.push(d.name.clone());
                        }
                    }
                }
            }
            Kind::Subdisk => {
                if let Some(p) = c.sd[&d.name].plex.clone() {
                    if let Some(plex) = c.plex.get_mut(&p) {
                        if !plex.sd.contains(&d.name) {
                            plex.sd.push(d.name.clone());
                        }
                    }
                }
            }
        }
    }
    let plexes: Vec<String> = c.plex.keys().cloned().collect();
    for p in plexes {
        lay_out(c, &p);
    }
    Ok(())
}

/// Sets the plex offsets of plex `p`'s subdisks: end to end, in order.
fn lay_out(c: &mut Config, p: &str) {
    let Some(plex) = c.plex.get(p) else { return };
    let mut at = 0u64;
    for s in plex.sd.clone() {
        if let Some(sd) = c.sd.get_mut(&s) {
            sd.plex_offset = at;
            at = at.saturating_add(sd.len);
        }
    }
}

fn delete(c: &mut Config, kind: Kind, name: &str, recursive: bool) -> Result<(), String> {
    if !c.has(kind, name) {
        return Err(format!("{kind} {name} does not exist"));
    }
    match kind {
        Kind::Volume => {
            let plexes = c.vol[name].plex.clone();
            if !plexes.is_empty() && !recursive {
                return Err(format!(
                    "vol {name} has plexes ({}); dissociate them or delete with -r",
                    plexes.join(",")
                ));
            }
            for p in plexes {
                delete(c, Kind::Plex, &p, true)?;
            }
            c.vol.remove(name);
        }
        Kind::Plex => {
            let sds = c.plex[name].sd.clone();
            if !sds.is_empty() && !recursive {
                return Err(format!(
                    "plex {name} has subdisks ({}); dissociate them or delete with -r",
                    sds.join(",")
                ));
            }
            if c.plex[name].vol.is_some() && !recursive {
                return Err(format!(
                    "plex {name} belongs to a volume; dissociate it first"
                ));
            }
            dissoc(c, Kind::Plex, name)?;
            for s in sds {
                c.sd.remove(&s);
            }
            c.plex.remove(name);
        }
        Kind::Subdisk => {
            if c.sd[name].plex.is_some() && !recursive {
                return Err(format!("sd {name} belongs to a plex; dissociate it first"));
            }
            dissoc(c, Kind::Subdisk, name)?;
            c.sd.remove(name);
        }
    }
    Ok(())
}

fn assoc(c: &mut Config, kind: Kind, name: &str, to: &str) -> Result<(), String> {
    match kind {
        Kind::Plex => {
            let plex = c
                .plex
                .get_mut(name)
                .ok_or(format!("plex {name} does not exist"))?;
            if let Some(v) = &plex.vol {
                return Err(format!("plex {name} already belongs to vol {v}"));
            }
            let vol = c
                .vol
                .get_mut(to)
                .ok_or(format!("vol {to} does not exist"))?;
            vol.plex.push(name.to_string());
            if let Some(p) = c.plex.get_mut(name) {
                p.vol = Some(to.to_string());
            }
        }
        Kind::Subdisk => {
            let sd =
                c.sd.get_mut(name)
                    .ok_or(format!("sd {name} does not exist"))?;
            if let Some(p) = &sd.plex {
                return Err(format!("sd {name} already belongs to plex {p}"));
            }
            let plex = c
                .plex
                .get_mut(to)
                .ok_or(format!("plex {to} does not exist"))?;
            plex.sd.push(name.to_string());
            if let Some(s) = c.sd.get_mut(name) {
                s.plex = Some(to.to_string());
            }
            lay_out(c, to);
        }
        Kind::Volume => return Err("a volume is not associated with anything".into()),
    }
    Ok(())
}

fn dissoc(c: &mut Config, kind: Kind, name: &str) -> Result<(), String> {
    match kind {
        Kind::Plex => {
            let plex = c
                .plex
                .get_mut(name)
                .ok_or(format!("plex {name} does not exist"))?;
            if let Some(v) = plex.vol.take() {
                if let Some(vol) = c.vol.get_mut(&v) {
                    vol.plex.retain(|p| p != name);
                }
            }
        }
        Kind::Subdisk => {
            let sd =
                c.sd.get_mut(name)
                    .ok_or(format!("sd {name} does not exist"))?;
            sd.plex_offset = 0;
            if let Some(p) = sd.plex.take() {
                if let Some(plex) = c.plex.get_mut(&p) {
                    plex.sd.retain(|s| s != name);
                }
                lay_out(c, &p);
            }
        }
        Kind::Volume => return Err("a volume is not associated with anything".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESC: &str = "sd d1 path=/tmp/disk len=8\nsd d2 path=/tmp/disk offset=8 len=8\n\
        plex p1 sd=d1,d2\nvol v1 len=16 plex=p1\n";

    fn made() -> Config {
        let mut c = Config::default();
        Op::Create(DESC.into()).apply(&mut c).unwrap();
        c
    }

    #[test]
    fn create_links_both_sides_and_lays_out_subdisks() {
        let c = made();
        assert_eq!(c.check(), Vec::<String>::new());
        assert_eq!(c.sd["d2"].plex_offset, 8);
        assert_eq!(c.plex["p1"].vol.as_deref(), Some("v1"));
    }

    #[test]
    fn wire_forms_round_trip() {
        for op in [
            Op::Create(DESC.into()),
            Op::Modify {
                kind: Kind::Volume,
                name: "v1".into(),
                fields: vec![
                    ("mode".into(), "0644".into()),
                    ("comment".into(), "a \"b\"".into()),
                ],
            },
            Op::Delete {
                kind: Kind::Volume,
                name: "v1".into(),
                recursive: true,
            },
            Op::Assoc {
                kind: Kind::Subdisk,
                name: "d1".into(),
                to: "p1".into(),
            },
            Op::Dissoc {
                kind: Kind::Plex,
                name: "p1".into(),
            },
        ] {
            assert_eq!(Op::parse(&op.encode()).unwrap(), op);
        }
        assert!(Op::parse("frobnicate").is_err());
        assert!(Op::parse("delete vol").is_err());
        assert!(Op::parse("dissoc sd a b").is_err());
    }

    #[test]
    fn delete_needs_dissociation_or_recursion() {
        let mut c = made();
        let del = |r| Op::Delete {
            kind: Kind::Volume,
            name: "v1".into(),
            recursive: r,
        };
        assert!(del(false).apply(&mut c).unwrap_err().contains("has plexes"));
        assert_eq!(c, made(), "a failed operation changes nothing");
        del(true).apply(&mut c).unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn dissoc_and_assoc_keep_both_sides() {
        let mut c = made();
        Op::Dissoc {
            kind: Kind::Subdisk,
            name: "d1".into(),
        }
        .apply(&mut c)
        .unwrap();
        assert_eq!(c.sd["d2"].plex_offset, 0);
        Op::Assoc {
            kind: Kind::Subdisk,
            name: "d1".into(),
            to: "p1".into(),
        }
        .apply(&mut c)
        .unwrap();
        assert_eq!(c.plex["p1"].sd, ["d2", "d1"]);
        assert_eq!(c.check(), Vec::<String>::new());
        let m = Op::parse("modify vol v1 plex=x").unwrap();
        assert!(m.apply(&mut c).is_err());
    }
}
