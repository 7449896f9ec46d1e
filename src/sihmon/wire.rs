//! The Service Access Facility's message layouts, byte for byte as the
//! SVR4 C structures are laid out on LP64 Linux (native byte order):
//!
//! | struct | size | fields (offset) |
//! |---|---|---|
//! | `sacmsg` (sac → port monitor, on `_pmpipe`) | 8 | `int sc_size` (0), `char sc_type` (4), 3 pad |
//! | `pmmsg` (port monitor → sac, on `_sacpipe`) | 24 | `char pm_type` (0), `uchar pm_state` (1), `char pm_maxclass` (2), `char pm_tag[15]` (3), 2 pad, `int pm_size` (20) |
//! | `admcmd` (sacadm → sac) | 20 | `char ac_mtype` (0), `char ac_tag[15]` (1), `pid_t ac_pid` (16) |
//! | `admack` (sac → sacadm) | 16 | `char ak_resp` (0), 3 pad, `pid_t ak_pid` (4), `long ak_size` (8) |
//!
//! The type and state bytes are newtypes over the wire number, so an
//! unknown value survives decoding (a port monitor answers an unknown
//! `sc_type` with `PM_UNKNOWN`). Decoding never panics: a short buffer is
//! [`Short`]; padding is ignored on input and zero on output; a tag is at
//! most [`MAX_TAG`] bytes. Whatever decodes re-encodes to bytes that
//! decode to the same value.

/// Size of `struct sacmsg`.
pub const SACMSG_SIZE: usize = 8;
/// Size of `struct pmmsg`.
pub const PMMSG_SIZE: usize = 24;
/// Size of `struct admcmd`.
pub const ADMCMD_SIZE: usize = 20;
/// Size of `struct admack`.
pub const ADMACK_SIZE: usize = 16;
/// Size of the tag arrays (`PMTAGSIZE + 1`): 14 characters and a NUL.
pub const TAG_SIZE: usize = 15;
/// The longest port monitor tag.
pub const MAX_TAG: usize = TAG_SIZE - 1;

/// Fewer bytes than the structure needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short;

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("message too short")
    }
}

/// `sc_type`: what sac asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScType(pub i8);

impl ScType {
    /// Report your state.
    pub const STATUS: ScType = ScType(1);
    /// Enter the enabled state.
    pub const ENABLE: ScType = ScType(2);
    /// Enter the disabled state.
    pub const DISABLE: ScType = ScType(3);
    /// Read your administrative file again.
    pub const READDB: ScType = ScType(4);

    /// The SVR4 name, or `type N`.
    pub fn name(self) -> String {
        match self {
            ScType::STATUS => "SC_STATUS".into(),
            ScType::ENABLE => "SC_ENABLE".into(),
            ScType::DISABLE => "SC_DISABLE".into(),
            ScType::READDB => "SC_READDB".into(),
            ScType(n) => format!("type {n}"),
        }
    }
}

/// `pm_type`: what the port monitor answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PmType(pub i8);

impl PmType {
    /// A status report.
    pub const STATUS: PmType = PmType(1);
    /// The request was not understood (still carries the state).
    pub const UNKNOWN: PmType = PmType(2);
}

/// `pm_state`: the port monitor's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PmState(pub u8);

impl PmState {
    /// Starting up.
    pub const STARTING: PmState = PmState(1);
    /// Serving.
    pub const ENABLED: PmState = PmState(2);
    /// Running, not accepting new work.
    pub const DISABLED: PmState = PmState(3);
    /// Shutting down.
    pub const STOPPING: PmState = PmState(4);

    /// The word `ISTATE` and `sacadm -l` use, or `state N`.
    pub fn name(self) -> String {
        match self {
            PmState::STARTING => "STARTING".into(),
            PmState::ENABLED => "ENABLED".into(),
            PmState::DISABLED => "DISABLED".into(),
            PmState::STOPPING => "STOPPING".into(),
            PmState(n) => format!("state {n}"),
        }
    }
}

/// `struct sacmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SacMsg {
    /// Bytes of class-specific data after the header (0 in class 1).
    pub size: i32,
    /// The request.
    pub kind: ScType,
}

impl SacMsg {
    /// A class-1 message of `kind` (no data).
    pub fn new(kind: ScType) -> SacMsg {
        SacMsg { size: 0, kind }
    }

    /// The first [`SACMSG_SIZE`] bytes of `buf` as a message.
    pub fn decode(buf: &[u8]) -> Result<SacMsg, Short> {
        let b: &[u8; SACMSG_SIZE] = first(buf)?;
        Ok(SacMsg {
            size: i32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            kind: ScType(b[4] as i8),
        })
    }

    /// The message's bytes.
    pub fn encode(&self) -> [u8; SACMSG_SIZE] {
        let mut b = [0u8; SACMSG_SIZE];
        b[0..4].copy_from_slice(&self.size.to_ne_bytes());
        b[4] = self.kind.0 as u8;
        b
    }
}

/// `struct pmmsg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmMsg {
    /// Status, or unknown request.
    pub kind: PmType,
    /// The state after acting on the request.
    pub state: PmState,
    /// The highest message class understood (1).
    pub maxclass: i8,
    /// The port monitor's tag (at most [`MAX_TAG`] bytes are sent).
    pub tag: Vec<u8>,
    /// Bytes of data after the header (0 in class 1).
    pub size: i32,
}

impl PmMsg {
    /// A class-1 reply from `tag`.
    pub fn reply(kind: PmType, state: PmState, tag: &str) -> PmMsg {
        PmMsg {
            kind,
            state,
            maxclass: 1,
            tag: tag.as_bytes().iter().copied().take(MAX_TAG).collect(),
            size: 0,
        }
    }

    /// The first [`PMMSG_SIZE`] bytes of `buf` as a message; the tag ends
    /// at its first NUL.
    pub fn decode(buf: &[u8]) -> Result<PmMsg, Short> {
        let b: &[u8; PMMSG_SIZE] = first(buf)?;
        Ok(PmMsg {
            kind: PmType(b[0] as i8),
            state: PmState(b[1]),
            maxclass: b[2] as i8,
            tag: c_string(&b[3..3 + TAG_SIZE]),
            size: i32::from_ne_bytes([b[20], b[21], b[22], b[23]]),
        })
    }

    /// The message's bytes (the tag cut to [`MAX_TAG`], NUL-padded).
    pub fn encode(&self) -> [u8; PMMSG_SIZE] {
        let mut b = [0u8; PMMSG_SIZE];
        b[0] = self.kind.0 as u8;
        b[1] = self.state.0;
        b[2] = self.maxclass as u8;
        put_tag(&mut b[3..3 + TAG_SIZE], &self.tag);
        b[20..24].copy_from_slice(&self.size.to_ne_bytes());
        b
    }
}

/// `ac_mtype`: what sacadm asks sac.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AcType(pub i8);

impl AcType {
    /// Start a port monitor.
    pub const START: AcType = AcType(1);
    /// Stop a port monitor.
    pub const KILL: AcType = AcType(2);
    /// Enable a port monitor.
    pub const ENABLE: AcType = AcType(3);
    /// Disable a port monitor.
    pub const DISABLE: AcType = AcType(4);
    /// Report the port monitors' states.
    pub const STATUS: AcType = AcType(5);
    /// sac re-reads `_sactab`.
    pub const SACREAD: AcType = AcType(6);
    /// A port monitor re-reads its table (`SC_READDB`).
    pub const PMREAD: AcType = AcType(7);
}

/// `struct admcmd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmCmd {
    /// The request.
    pub kind: AcType,
    /// The port monitor it is about.
    pub tag: Vec<u8>,
    /// The requester's pid.
    pub pid: i32,
}

impl AdmCmd {
    /// The first [`ADMCMD_SIZE`] bytes of `buf` as a command.
    pub fn decode(buf: &[u8]) -> Result<AdmCmd, Short> {
        let b: &[u8; ADMCMD_SIZE] = first(buf)?;
        Ok(AdmCmd {
            kind: AcType(b[0] as i8),
            tag: c_string(&b[1..1 + TAG_SIZE]),
            pid: i32::from_ne_bytes([b[16], b[17], b[18], b[19]]),
        })
    }

    /// The command's bytes.
    pub fn encode(&self) -> [u8; ADMCMD_SIZE] {
        let mut b = [0u8; ADMCMD_SIZE];
        b[0] = self.kind.0 as u8;
        put_tag(&mut b[1..1 + TAG_SIZE], &self.tag);
        b[16..20].copy_from_slice(&self.pid.to_ne_bytes());
        b
    }
}

/// `ak_resp`: sac's answer to sacadm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AkResp(pub i8);

impl AkResp {
    /// Done.
    pub const ACK: AkResp = AkResp(0);
    /// The port monitor is running.
    pub const PMRUN: AkResp = AkResp(1);
    /// The port monitor is not running.
    pub const PMNOTRUN: AkResp = AkResp(2);
    /// No such port monitor.
    pub const NOPM: AkResp = AkResp(3);
    /// Unknown request.
    pub const UNKNOWN: AkResp = AkResp(4);
    /// The port monitor cannot be reached.
    pub const NOCONTACT: AkResp = AkResp(5);
    /// The port monitor's `_pid` is locked.
    pub const PMLOCK: AkResp = AkResp(6);
    /// sac is recovering.
    pub const RECOVER: AkResp = AkResp(7);
    /// The request failed.
    pub const REQFAIL: AkResp = AkResp(8);
}

/// `struct admack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmAck {
    /// The answer.
    pub resp: AkResp,
    /// The requester's pid, echoed.
    pub pid: i32,
    /// Bytes of data after the header.
    pub size: i64,
}

impl AdmAck {
    /// The first [`ADMACK_SIZE`] bytes of `buf` as an acknowledgement.
    pub fn decode(buf: &[u8]) -> Result<AdmAck, Short> {
        let b: &[u8; ADMACK_SIZE] = first(buf)?;
        let mut size = [0u8; 8];
        size.copy_from_slice(&b[8..16]);
        Ok(AdmAck {
            resp: AkResp(b[0] as i8),
            pid: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            size: i64::from_ne_bytes(size),
        })
    }

    /// The acknowledgement's bytes.
    pub fn encode(&self) -> [u8; ADMACK_SIZE] {
        let mut b = [0u8; ADMACK_SIZE];
        b[0] = self.resp.0 as u8;
        b[4..8].copy_from_slice(&self.pid.to_ne_bytes());
        b[8..16].copy_from_slice(&self.size.to_ne_bytes());
        b
    }
}

/// The first `N` bytes of `buf`.
fn first<const N: usize>(buf: &[u8]) -> Result<&[u8; N], Short> {
    buf.get(..N)
        .and_then(|b| <&[u8; N]>::try_from(b).ok())
        .ok_or(Short)
}

/// The bytes of a tag field up to its first NUL, at most [`MAX_TAG`] (a
/// field without a NUL is cut where its terminator belongs, so that a tag
/// re-encodes to what it decoded from).
fn c_string(field: &[u8]) -> Vec<u8> {
    let end = field
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(field.len())
        .min(MAX_TAG);
    field[..end].to_vec()
}

/// `tag` into a NUL-padded field, at most one byte short of it.
fn put_tag(field: &mut [u8], tag: &[u8]) {
    let n = tag.len().min(field.len() - 1);
    field[..n].copy_from_slice(&tag[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sacmsg_is_eight_bytes_with_the_type_at_four() {
        let m = SacMsg::new(ScType::READDB);
        let b = m.encode();
        assert_eq!(b.len(), SACMSG_SIZE);
        assert_eq!(&b[0..4], &0i32.to_ne_bytes());
        assert_eq!(b[4], 4);
        assert_eq!(&b[5..], &[0, 0, 0]);
        assert_eq!(SacMsg::decode(&b), Ok(m));
        let odd = SacMsg {
            size: -7,
            kind: ScType(-3),
        };
        assert_eq!(SacMsg::decode(&odd.encode()), Ok(odd));
        assert_eq!(SacMsg::decode(&b[..7]), Err(Short));
    }

    #[test]
    fn pmmsg_is_twenty_four_bytes_tag_at_three_size_at_twenty() {
        let m = PmMsg::reply(PmType::STATUS, PmState::ENABLED, "sih1");
        let b = m.encode();
        assert_eq!(b.len(), PMMSG_SIZE);
        assert_eq!(&b[..7], &[1, 2, 1, b's', b'i', b'h', b'1']);
        assert!(b[7..20].iter().all(|&x| x == 0));
        let sized = PmMsg {
            size: 0x0102_0304,
            ..m.clone()
        };
        assert_eq!(&sized.encode()[20..], &0x0102_0304i32.to_ne_bytes());
        assert_eq!(PmMsg::decode(&b), Ok(m));
        assert_eq!(PmMsg::decode(&sized.encode()), Ok(sized));
        assert_eq!(PmMsg::decode(&b[..23]), Err(Short));
    }

    #[test]
    fn a_long_tag_is_cut_to_fourteen_bytes_and_nul_terminated() {
        let m = PmMsg::reply(PmType::UNKNOWN, PmState(200), "abcdefghijklmnopq");
        assert_eq!(m.tag, b"abcdefghijklmn");
        let b = m.encode();
        assert_eq!(b[3 + MAX_TAG], 0);
        assert_eq!(PmMsg::decode(&b).unwrap().state, PmState(200));
        // A tag field with no NUL at all decodes to its first 14 bytes.
        let mut raw = b;
        raw[3..18].fill(b'x');
        let m = PmMsg::decode(&raw).unwrap();
        assert_eq!(m.tag.len(), MAX_TAG);
        assert_eq!(PmMsg::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn admcmd_is_twenty_bytes_pid_at_sixteen() {
        let c = AdmCmd {
            kind: AcType::PMREAD,
            tag: b"sih1".to_vec(),
            pid: 4711,
        };
        let b = c.encode();
        assert_eq!(b.len(), ADMCMD_SIZE);
        assert_eq!(b[0], 7);
        assert_eq!(&b[1..5], b"sih1");
        assert_eq!(&b[16..], &4711i32.to_ne_bytes());
        assert_eq!(AdmCmd::decode(&b), Ok(c));
        assert_eq!(AdmCmd::decode(&b[..19]), Err(Short));
    }

    #[test]
    fn admack_is_sixteen_bytes_pid_at_four_size_at_eight() {
        let a = AdmAck {
            resp: AkResp::NOCONTACT,
            pid: 99,
            size: 1 << 40,
        };
        let b = a.encode();
        assert_eq!(b.len(), ADMACK_SIZE);
        assert_eq!(b[0], 5);
        assert_eq!(&b[1..4], &[0, 0, 0]);
        assert_eq!(&b[4..8], &99i32.to_ne_bytes());
        assert_eq!(&b[8..], &(1i64 << 40).to_ne_bytes());
        assert_eq!(AdmAck::decode(&b), Ok(a));
        assert_eq!(AdmAck::decode(&b[..15]), Err(Short));
    }

    #[test]
    fn names_of_known_and_unknown_values() {
        assert_eq!(ScType::DISABLE.name(), "SC_DISABLE");
        assert_eq!(ScType(9).name(), "type 9");
        assert_eq!(PmState::STOPPING.name(), "STOPPING");
        assert_eq!(PmState(0).name(), "state 0");
        assert_eq!(
            [AkResp::ACK, AkResp::PMLOCK, AkResp::REQFAIL].map(|r| r.0),
            [0, 6, 8]
        );
        assert_eq!([AcType::START.0, AcType::PMREAD.0], [1, 7]);
    }
}
