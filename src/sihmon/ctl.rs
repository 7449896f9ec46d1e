//! The control socket between `sihadm` and a running sihmon:
//! `/var/saf/<pmtag>/_sihctl`, a Unix seqpacket socket that answers root
//! only. One request packet, one answer packet:
//!
//! | request | answer |
//! |---|---|
//! | `STATUS` or `STATUS svctag` | a header line `pmtag state trace=N`, then one line per link: `svctag state enabled\|disabled failures/retry last change` |
//! | `TRACE level` | `trace level N` |
//!
//! `last` is the last loader's end (`rc=N`, `signal=N`, `rc=exec`, or
//! `-`); `change` is `dd.mm HH:MM:SS`. A refused request is answered
//! `ERROR text`.

/// The socket's name in `/var/saf/<pmtag>`.
pub const SOCKET: &str = "_sihctl";

/// Most bytes of an answer `sihadm` reads.
pub const MAX_ANSWER: usize = 1 << 20;

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The links' states (one link, or all).
    Status(Option<String>),
    /// Set the trace level.
    Trace(u8),
}

impl Request {
    /// The request in `packet`; `Err` says what is wrong.
    pub fn parse(packet: &[u8]) -> Result<Request, String> {
        let text = std::str::from_utf8(packet).map_err(|_| "not UTF-8".to_string())?;
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["STATUS"] => Ok(Request::Status(None)),
            ["STATUS", svc] => Ok(Request::Status(Some(svc.to_string()))),
            ["TRACE", n] => match n.parse::<u8>() {
                Ok(level) if level <= 2 => Ok(Request::Trace(level)),
                _ => Err(format!("trace level \"{n}\" is not 0, 1 or 2")),
            },
            _ => Err("unknown request".into()),
        }
    }

    /// The request's packet.
    pub fn encode(&self) -> String {
        match self {
            Request::Status(None) => "STATUS".into(),
            Request::Status(Some(svc)) => format!("STATUS {svc}"),
            Request::Trace(level) => format!("TRACE {level}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::Status(None),
            Request::Status(Some("l1".into())),
            Request::Trace(2),
        ] {
            assert_eq!(Request::parse(r.encode().as_bytes()), Ok(r));
        }
        assert!(Request::parse(b"TRACE 3").is_err());
        assert!(Request::parse(b"KILL").is_err());
        assert!(Request::parse(&[0xff]).is_err());
    }
}
