//! Our formats for `/etc/hdlcdefs` and `/var/sadm/terms/hdlclabs`. The
//! originals were never published; these are defined by statmon, in the
//! ttydefs style (`# VERSION=1` first, colon-separated fields, `#`
//! comments):
//!
//! ```text
//! hdlcdefs:  label:address:window:t1_ms:n2_retries:framesize
//! hdlclabs:  linklab:hdlcdefs-label:ttydefs-label
//! ```
//!
//! A `hdlclabs` entry names the HDLC parameters of a link class and the
//! ttydefs label of its line; a pmtab entry's `linklab` names one.

use super::fields;
use super::pmtab::Rejected;
use std::collections::BTreeMap;

/// One set of HDLC parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdlcDef {
    /// The label.
    pub label: String,
    /// Station address, 0–255.
    pub address: u8,
    /// Window size (frames outstanding), 1–127.
    pub window: u8,
    /// Retransmission timer T1 in milliseconds, 1–600000.
    pub t1_ms: u32,
    /// Retransmissions N2, 1–255.
    pub n2: u8,
    /// Largest frame in bytes, 16–65535.
    pub framesize: u16,
}

impl HdlcDef {
    /// The parameters as the admin device is given them.
    pub fn render(&self) -> String {
        format!(
            "address={} window={} t1={} n2={} framesize={}",
            self.address, self.window, self.t1_ms, self.n2, self.framesize
        )
    }
}

/// One link class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdlcLab {
    /// The link label.
    pub label: String,
    /// Its hdlcdefs label.
    pub hdlcdef: String,
    /// Its ttydefs label ("" for none).
    pub ttylab: String,
}

/// The entries of a hdlcdefs file and the lines rejected.
pub fn parse_defs(text: &str) -> (BTreeMap<String, HdlcDef>, Vec<Rejected>) {
    let mut defs = BTreeMap::new();
    let mut rejected = Vec::new();
    for line in fields::lines(text) {
        match def(&line.fields) {
            Ok(d) if defs.contains_key(&d.label) => rejected.push(Rejected {
                line: line.number,
                why: format!("duplicate entry <{}> ignored", d.label),
            }),
            Ok(d) => {
                defs.insert(d.label.clone(), d);
            }
            Err(why) => rejected.push(Rejected {
                line: line.number,
                why,
            }),
        }
    }
    (defs, rejected)
}

fn def(f: &[String]) -> Result<HdlcDef, String> {
    if f.len() != 6 {
        return Err(format!("{} fields, 6 expected", f.len()));
    }
    if f[0].is_empty() {
        return Err("empty label".into());
    }
    fn num<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
        what: &str,
        s: &str,
        lo: T,
        hi: T,
    ) -> Result<T, String> {
        match s.parse::<T>() {
            Ok(v) if v >= lo && v <= hi => Ok(v),
            _ => Err(format!("{what} \"{s}\" is not a number from {lo} to {hi}")),
        }
    }
    Ok(HdlcDef {
        label: f[0].clone(),
        address: num("address", &f[1], 0, 255)?,
        window: num("window", &f[2], 1, 127)?,
        t1_ms: num("t1_ms", &f[3], 1, 600_000)?,
        n2: num("n2_retries", &f[4], 1, 255)?,
        framesize: num("framesize", &f[5], 16, 65535)?,
    })
}

/// The entries of a hdlclabs file and the lines rejected.
pub fn parse_labs(text: &str) -> (BTreeMap<String, HdlcLab>, Vec<Rejected>) {
    let mut labs = BTreeMap::new();
    let mut rejected = Vec::new();
    for line in fields::lines(text) {
        let f = &line.fields;
        let why = if f.len() != 3 {
            format!("{} fields, 3 expected", f.len())
        } else if f[0].is_empty() || f[1].is_empty() {
            "empty linklab or hdlcdefs label".to_string()
        } else if labs.contains_key(&f[0]) {
            format!("duplicate entry <{}> ignored", f[0])
        } else {
            let lab = HdlcLab {
                label: f[0].clone(),
                hdlcdef: f[1].clone(),
                ttylab: f[2].clone(),
            };
            labs.insert(lab.label.clone(), lab);
            continue;
        };
        rejected.push(Rejected {
            line: line.number,
            why,
        });
    }
    (labs, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defs_with_ranges() {
        let (defs, rejected) = parse_defs(
            "# VERSION=1\nsw8:3:7:1000:10:2048#usual\nbig:256:7:1000:10:2048\n\
             w0:1:0:1:1:16\nshort:1\n",
        );
        assert_eq!(defs.len(), 1);
        assert_eq!(
            defs["sw8"].render(),
            "address=3 window=7 t1=1000 n2=10 framesize=2048"
        );
        assert_eq!(rejected.len(), 3);
        assert!(rejected[0].why.contains("address \"256\""));
        assert!(rejected[1].why.contains("window \"0\""));
    }

    #[test]
    fn labs() {
        let (labs, rejected) = parse_labs("# VERSION=1\nsw8:sw8:9600\nraw:sw8:\nx::y\n");
        assert_eq!(labs.len(), 2);
        assert_eq!(labs["sw8"].ttylab, "9600");
        assert_eq!(labs["raw"].ttylab, "");
        assert_eq!(rejected.len(), 1);
    }
}
