//! `/etc/ttydefs`, as ttymon reads it (version 1):
//!
//! ```text
//! ttylabel:initial-flags:final-flags:autobaud:nextlabel
//! ```
//!
//! sihmon applies a label's *final* flags (stty words such as
//! `9600 cs8 cread -parenb`) to a serial link.

use super::fields;
use super::pmtab::Rejected;
use std::collections::BTreeMap;

/// One label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtyDef {
    /// The label.
    pub label: String,
    /// The flags set before the line is used.
    pub initial: String,
    /// The flags the line is left with.
    pub fin: String,
}

/// The labels of a ttydefs file (the first of a duplicate wins) and the
/// lines rejected.
pub fn parse(text: &str) -> (BTreeMap<String, TtyDef>, Vec<Rejected>) {
    let mut defs = BTreeMap::new();
    let mut rejected = Vec::new();
    for line in fields::lines(text) {
        let f = &line.fields;
        let why = if f.len() != 5 {
            format!("{} fields, 5 expected", f.len())
        } else if f[0].is_empty() {
            "empty label".to_string()
        } else if defs.contains_key(&f[0]) {
            format!("duplicate entry <{}> ignored", f[0])
        } else {
            let def = TtyDef {
                label: f[0].clone(),
                initial: f[1].clone(),
                fin: f[2].clone(),
            };
            defs.insert(def.label.clone(), def);
            continue;
        };
        rejected.push(Rejected {
            line: line.number,
            why,
        });
    }
    (defs, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let (defs, rejected) = parse(
            "# VERSION=1\n9600:9600 hupcl:9600 cs8 cread hupcl::4800\n\
             4800:4800:4800 sane::9600\n9600:x:y::\nshort:a\n",
        );
        assert_eq!(defs.len(), 2);
        assert_eq!(defs["9600"].fin, "9600 cs8 cread hupcl");
        assert_eq!(defs["4800"].initial, "4800");
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].line, 4);
        assert!(rejected[1].why.contains("2 fields"));
    }
}
