//! The ltid protocol, version 1: the frames media servers exchange over
//! TCP (ltid to vmd, ltid to rdevmi) and the local programs exchange with
//! ltid on its attach socket (rdevmi, vmoprcmd). The original's
//! inter-host protocol is not public; this one is ours, documented in
//! ltid(8).
//!
//! A frame is a 4-byte big-endian length `N` (at most [`MAX_FRAME`]), then
//! `N` bytes: the protocol version (`u8`, [`VERSION`]), the command
//! ([`Command`], `u8`) and the command's fields. Integers are big-endian;
//! a string is a `u16` length and that many bytes of UTF-8 (at most
//! [`MAX_STR`]); a list is a `u16` count and its elements; a flag is one
//! byte, 0 or 1.
//!
//! Panic contract: nothing here panics on any input. [`Deframer`] never
//! allocates from a length on the wire: it refuses a length above
//! [`MAX_FRAME`] as soon as the 4 bytes are in and buffers only bytes
//! that arrived. Every decode error is a [`WireError`] value.

use std::fmt;

mod deframer;
mod reader;

pub use deframer::Deframer;
use reader::Reader;

/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// The most bytes of one frame after its length.
pub const MAX_FRAME: usize = 64 * 1024;
/// The most bytes of one string.
pub const MAX_STR: usize = 1024;

/// A command number. Unknown numbers survive decoding of the frame
/// header, so they can be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command(pub u8);

impl Command {
    /// Start an rdevmi on this connection (the seed's command 52).
    pub const START_OPRD: Command = Command(52);
    /// Ask a host who it is and how it sees its drives.
    pub const QUERY_HOST: Command = Command(53);
    /// A host's own view ([`HostInfo`]).
    pub const HOST_INFO: Command = Command(54);
    /// To the drive's arbiter: grant (or renew) the sender's reservation.
    pub const RESERVE_DRIVE: Command = Command(55);
    /// To the drive's arbiter: the sender releases its reservation.
    pub const RELEASE_DRIVE: Command = Command(56);
    /// The arbiter's answer to [`Command::RESERVE_DRIVE`] or
    /// [`Command::RELEASE_DRIVE`].
    pub const VERDICT: Command = Command(57);
    /// rdevmi is up (its pid).
    pub const INITIATING: Command = Command(60);
    /// The peer is ready for drive status.
    pub const CONTINUE: Command = Command(61);
    /// Every row of the scan host's drive table.
    pub const SNAPSHOT: Command = Command(62);
    /// One changed row.
    pub const STATUS: Command = Command(63);
    /// Still here.
    pub const HEARTBEAT: Command = Command(64);
    /// The sender is going away (the reason).
    pub const TERM: Command = Command(65);
    /// Local: a process attaches to the drive table.
    pub const ATTACH: Command = Command(70);
    /// Local: ltid is stopping; `nattch` processes are attached.
    pub const LTID_STOP: Command = Command(71);
    /// Local: asks for the status text.
    pub const SHOW: Command = Command(72);
    /// Local: the status text.
    pub const SHOW_TEXT: Command = Command(73);
    /// Local: an operator request on a drive.
    pub const OPERATE: Command = Command(74);
    /// Local: the answer to [`Command::OPERATE`].
    pub const OPERATED: Command = Command(75);
}

/// An operator request ([`Message::Operate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op(pub u8);

impl Op {
    /// Set the drive UP on this host.
    pub const UP: Op = Op(1);
    /// Set the drive DOWN on this host.
    pub const DOWN: Op = Op(2);
    /// Mount: reserve the drive for this host (it becomes the scan host).
    pub const RESERVE: Op = Op(3);
    /// Unmount: release this host's reservation.
    pub const RELEASE: Op = Op(4);
}

/// What is wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The length says more than [`MAX_FRAME`] bytes.
    TooLong(usize),
    /// The frame ends inside its header or a field.
    Short,
    /// Bytes are left after the last field.
    Trailing(usize),
    /// Another protocol version.
    Version(u8),
    /// A command this build does not know.
    Unknown(Command),
    /// A string that is not UTF-8 or is longer than [`MAX_STR`].
    BadString,
    /// A flag that is not 0 or 1.
    BadFlag(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::TooLong(n) => write!(f, "frame of {n} bytes (most {MAX_FRAME})"),
            WireError::Short => write!(f, "frame ends inside a field"),
            WireError::Trailing(n) => write!(f, "{n} bytes after the last field"),
            WireError::Version(v) => write!(f, "protocol version {v} (this is {VERSION})"),
            WireError::Unknown(c) => write!(f, "unknown command {}", c.0),
            WireError::BadString => write!(f, "a string that is not UTF-8 or too long"),
            WireError::BadFlag(b) => write!(f, "flag byte {b}"),
        }
    }
}

/// A media server's own view, sent on request and on every change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostInfo {
    /// The host's name (its `SERVER` name).
    pub name: String,
    /// When its ltid came online, in milliseconds since the epoch.
    pub online_since_ms: u64,
    /// `SSO_SCAN_ABILITY`: 0 never scans.
    pub scan_ability: u32,
    /// Its shared drives.
    pub drives: Vec<LocalDrive>,
}

/// One shared drive as its host sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalDrive {
    /// The drive name, the same on every host.
    pub name: String,
    /// UP (not set DOWN by an operator or the configuration).
    pub up: bool,
    /// The host's path to the drive works.
    pub path_ok: bool,
    /// The host holds a reservation (a mount).
    pub reserved: bool,
}

/// One row of a drive table (what `vmoprcmd` shows, what rdevmi sends).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DriveRow {
    /// The drive name.
    pub drive: String,
    /// The robot (`TLD0`), empty for a standalone drive.
    pub robot: String,
    /// A tape is loaded and the drive is online.
    pub ready: bool,
    /// The tape is write protected.
    pub write_protect: bool,
    /// The recorded volume serial number, if known.
    pub vsn: String,
    /// The scan host; empty when there is none.
    pub scan_host: String,
    /// The host holding a reservation; empty when none.
    pub reserved_by: String,
    /// The control mode (`TLD`, `DOWN-TLD`, `SCAN-TLD`, `MIX`, ...).
    pub control: String,
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    StartOprd {
        host: String,
    },
    QueryHost,
    HostInfo(HostInfo),
    /// `info` is the claimant's own view (its name says who claims).
    ReserveDrive {
        info: HostInfo,
        drive: String,
    },
    ReleaseDrive {
        host: String,
        drive: String,
    },
    /// `holder`: who holds the drive after the decision (empty: no one,
    /// or the arbiter could not decide); the claim was granted exactly
    /// when it names the claimant. `text` is for the operator.
    Verdict {
        drive: String,
        holder: String,
        text: String,
    },
    Initiating {
        pid: u32,
    },
    Continue,
    Snapshot(Vec<DriveRow>),
    Status(DriveRow),
    Heartbeat,
    /// `leaving`: the sender's host goes away (its ltid stops or is
    /// lost); otherwise only this connection ends (it is no longer
    /// needed) and the sender stays online.
    Term {
        leaving: bool,
        reason: String,
    },
    Attach {
        pid: u32,
        peer: String,
    },
    LtidStop {
        nattch: u32,
    },
    Show,
    ShowText(String),
    Operate {
        op: Op,
        drive: String,
    },
    Operated {
        ok: bool,
        text: String,
    },
}

/// A frame split off the stream: its header and its fields, not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub version: u8,
    pub command: Command,
    pub fields: Vec<u8>,
}

impl Frame {
    /// The message, if the version is ours and the fields decode.
    pub fn decode(&self) -> Result<Message, WireError> {
        if self.version != VERSION {
            return Err(WireError::Version(self.version));
        }
        let mut r = Reader::new(&self.fields);
        let m = match self.command {
            Command::START_OPRD => Message::StartOprd { host: r.string()? },
            Command::QUERY_HOST => Message::QueryHost,
            Command::HOST_INFO => Message::HostInfo(host_info(&mut r)?),
            Command::RESERVE_DRIVE => Message::ReserveDrive {
                info: host_info(&mut r)?,
                drive: r.string()?,
            },
            Command::RELEASE_DRIVE => Message::ReleaseDrive {
                host: r.string()?,
                drive: r.string()?,
            },
            Command::VERDICT => Message::Verdict {
                drive: r.string()?,
                holder: r.string()?,
                text: r.string()?,
            },
            Command::INITIATING => Message::Initiating { pid: r.u32()? },
            Command::CONTINUE => Message::Continue,
            Command::SNAPSHOT => {
                let n = r.u16()?;
                let mut rows = Vec::new();
                for _ in 0..n {
                    rows.push(row(&mut r)?);
                }
                Message::Snapshot(rows)
            }
            Command::STATUS => Message::Status(row(&mut r)?),
            Command::HEARTBEAT => Message::Heartbeat,
            Command::TERM => Message::Term {
                leaving: r.flag()?,
                reason: r.string()?,
            },
            Command::ATTACH => Message::Attach {
                pid: r.u32()?,
                peer: r.string()?,
            },
            Command::LTID_STOP => Message::LtidStop { nattch: r.u32()? },
            Command::SHOW => Message::Show,
            Command::SHOW_TEXT => Message::ShowText(r.long_string()?),
            Command::OPERATE => Message::Operate {
                op: Op(r.u8()?),
                drive: r.string()?,
            },
            Command::OPERATED => Message::Operated {
                ok: r.flag()?,
                text: r.string()?,
            },
            other => return Err(WireError::Unknown(other)),
        };
        r.finish()?;
        Ok(m)
    }
}

fn host_info(r: &mut Reader<'_>) -> Result<HostInfo, WireError> {
    let name = r.string()?;
    let online_since_ms = r.u64()?;
    let scan_ability = r.u32()?;
    let n = r.u16()?;
    let mut drives = Vec::new();
    for _ in 0..n {
        drives.push(LocalDrive {
            name: r.string()?,
            up: r.flag()?,
            path_ok: r.flag()?,
            reserved: r.flag()?,
        });
    }
    Ok(HostInfo {
        name,
        online_since_ms,
        scan_ability,
        drives,
    })
}

fn row(r: &mut Reader<'_>) -> Result<DriveRow, WireError> {
    Ok(DriveRow {
        drive: r.string()?,
        robot: r.string()?,
        ready: r.flag()?,
        write_protect: r.flag()?,
        vsn: r.string()?,
        scan_host: r.string()?,
        reserved_by: r.string()?,
        control: r.string()?,
    })
}

impl Message {
    /// Its command number.
    pub fn command(&self) -> Command {
        match self {
            Message::StartOprd { .. } => Command::START_OPRD,
            Message::QueryHost => Command::QUERY_HOST,
            Message::HostInfo(_) => Command::HOST_INFO,
            Message::ReserveDrive { .. } => Command::RESERVE_DRIVE,
            Message::ReleaseDrive { .. } => Command::RELEASE_DRIVE,
            Message::Verdict { .. } => Command::VERDICT,
            Message::Initiating { .. } => Command::INITIATING,
            Message::Continue => Command::CONTINUE,
            Message::Snapshot(_) => Command::SNAPSHOT,
            Message::Status(_) => Command::STATUS,
            Message::Heartbeat => Command::HEARTBEAT,
            Message::Term { .. } => Command::TERM,
            Message::Attach { .. } => Command::ATTACH,
            Message::LtidStop { .. } => Command::LTID_STOP,
            Message::Show => Command::SHOW,
            Message::ShowText(_) => Command::SHOW_TEXT,
            Message::Operate { .. } => Command::OPERATE,
            Message::Operated { .. } => Command::OPERATED,
        }
    }

    /// The whole frame, length first. Strings longer than [`MAX_STR`]
    /// (the status text: `u32`-counted, up to [`MAX_FRAME`]) are cut at a
    /// character boundary, lists at `u16::MAX` elements.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = vec![0, 0, 0, 0, VERSION, self.command().0];
        match self {
            Message::StartOprd { host } => put_str(&mut w, host),
            Message::QueryHost | Message::Continue | Message::Heartbeat | Message::Show => {}
            Message::HostInfo(h) => put_host_info(&mut w, h),
            Message::ReserveDrive { info, drive } => {
                put_host_info(&mut w, info);
                put_str(&mut w, drive);
            }
            Message::ReleaseDrive { host, drive } => {
                put_str(&mut w, host);
                put_str(&mut w, drive);
            }
            Message::Verdict {
                drive,
                holder,
                text,
            } => {
                put_str(&mut w, drive);
                put_str(&mut w, holder);
                put_str(&mut w, text);
            }
            Message::Initiating { pid } => w.extend_from_slice(&pid.to_be_bytes()),
            Message::Snapshot(rows) => {
                let n = rows.len().min(usize::from(u16::MAX));
                w.extend_from_slice(&(n as u16).to_be_bytes());
                for r in rows.iter().take(n) {
                    put_row(&mut w, r);
                }
            }
            Message::Status(r) => put_row(&mut w, r),
            Message::Term { leaving, reason } => {
                w.push(u8::from(*leaving));
                put_str(&mut w, reason);
            }
            Message::Attach { pid, peer } => {
                w.extend_from_slice(&pid.to_be_bytes());
                put_str(&mut w, peer);
            }
            Message::LtidStop { nattch } => w.extend_from_slice(&nattch.to_be_bytes()),
            Message::ShowText(text) => {
                let text = cut(text, MAX_FRAME - 16);
                w.extend_from_slice(&(text.len() as u32).to_be_bytes());
                w.extend_from_slice(text.as_bytes());
            }
            Message::Operate { op, drive } => {
                w.push(op.0);
                put_str(&mut w, drive);
            }
            Message::Operated { ok, text } => {
                w.push(u8::from(*ok));
                put_str(&mut w, text);
            }
        }
        let len = (w.len() - 4) as u32;
        w[..4].copy_from_slice(&len.to_be_bytes());
        w
    }
}

fn put_host_info(w: &mut Vec<u8>, h: &HostInfo) {
    put_str(w, &h.name);
    w.extend_from_slice(&h.online_since_ms.to_be_bytes());
    w.extend_from_slice(&h.scan_ability.to_be_bytes());
    let n = h.drives.len().min(usize::from(u16::MAX));
    w.extend_from_slice(&(n as u16).to_be_bytes());
    for d in h.drives.iter().take(n) {
        put_str(w, &d.name);
        w.extend_from_slice(&[u8::from(d.up), u8::from(d.path_ok), u8::from(d.reserved)]);
    }
}

fn put_row(w: &mut Vec<u8>, r: &DriveRow) {
    put_str(w, &r.drive);
    put_str(w, &r.robot);
    w.extend_from_slice(&[u8::from(r.ready), u8::from(r.write_protect)]);
    put_str(w, &r.vsn);
    put_str(w, &r.scan_host);
    put_str(w, &r.reserved_by);
    put_str(w, &r.control);
}

/// `s`, cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    let s = cut(s, MAX_STR);
    w.extend_from_slice(&(s.len() as u16).to_be_bytes());
    w.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(drive: &str) -> DriveRow {
        DriveRow {
            drive: drive.into(),
            robot: "TLD0".into(),
            ready: true,
            write_protect: false,
            vsn: "A00001".into(),
            scan_host: "hosta".into(),
            reserved_by: String::new(),
            control: "TLD".into(),
        }
    }

    fn all() -> Vec<Message> {
        vec![
            Message::StartOprd {
                host: "hostb".into(),
            },
            Message::QueryHost,
            Message::HostInfo(HostInfo {
                name: "hosta".into(),
                online_since_ms: 1_229_870_405_123,
                scan_ability: 5,
                drives: vec![LocalDrive {
                    name: "drv0".into(),
                    up: true,
                    path_ok: false,
                    reserved: true,
                }],
            }),
            Message::ReserveDrive {
                info: HostInfo {
                    name: "hostc".into(),
                    online_since_ms: 7,
                    scan_ability: 1,
                    drives: Vec::new(),
                },
                drive: "drv0".into(),
            },
            Message::ReleaseDrive {
                host: "hostc".into(),
                drive: "drv0".into(),
            },
            Message::Verdict {
                drive: "drv0".into(),
                holder: "hostb".into(),
                text: "drv0 is reserved by hostb".into(),
            },
            Message::Initiating { pid: 6031 },
            Message::Continue,
            Message::Snapshot(vec![row("drv0"), row("drv1")]),
            Message::Status(row("drv0")),
            Message::Heartbeat,
            Message::Term {
                leaving: true,
                reason: "ltid stopped".into(),
            },
            Message::Attach {
                pid: 7,
                peer: "hostc".into(),
            },
            Message::LtidStop { nattch: 4 },
            Message::Show,
            Message::ShowText("drv0 TLD\n".into()),
            Message::Operate {
                op: Op::DOWN,
                drive: "drv0".into(),
            },
            Message::Operated {
                ok: false,
                text: "no such drive".into(),
            },
        ]
    }

    #[test]
    fn every_message_round_trips_through_the_deframer_byte_by_byte() {
        let mut d = Deframer::default();
        for m in all() {
            let bytes = m.encode();
            for (i, b) in bytes.iter().enumerate() {
                assert!(d.next_frame().is_none(), "{m:?} early at byte {i}");
                d.push(&[*b]);
            }
            let frame = d.next_frame().unwrap().unwrap();
            assert_eq!(frame.decode().unwrap(), m);
            assert!(!d.partial());
        }
    }

    #[test]
    fn start_oprd_is_command_52_version_1() {
        let bytes = Message::StartOprd { host: "b".into() }.encode();
        assert_eq!(bytes, [0, 0, 0, 5, 1, 52, 0, 1, b'b']);
    }

    #[test]
    fn errors_are_values() {
        let frame = |version, command, fields: &[u8]| Frame {
            version,
            command: Command(command),
            fields: fields.to_vec(),
        };
        assert_eq!(frame(2, 52, b"").decode(), Err(WireError::Version(2)));
        assert_eq!(
            frame(1, 99, b"").decode(),
            Err(WireError::Unknown(Command(99)))
        );
        assert_eq!(frame(1, 52, &[0, 5, b'a']).decode(), Err(WireError::Short));
        assert_eq!(
            frame(1, 52, &[0, 1, 0xff]).decode(),
            Err(WireError::BadString)
        );
        assert_eq!(frame(1, 61, &[0]).decode(), Err(WireError::Trailing(1)));
        assert_eq!(
            frame(1, 75, &[2, 0, 0]).decode(),
            Err(WireError::BadFlag(2))
        );
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_STR);
        let bytes = Message::Term {
            leaving: false,
            reason: long,
        }
        .encode();
        let mut d = Deframer::default();
        d.push(&bytes);
        let Message::Term { reason, .. } = d.next_frame().unwrap().unwrap().decode().unwrap()
        else {
            panic!("not a TERM");
        };
        assert_eq!(reason.len(), MAX_STR);
    }

    proptest::proptest! {
        /// Any host view and row, encoded, decodes to itself.
        #[test]
        fn host_info_and_rows_round_trip(
            name in ".{0,40}",
            since: u64,
            ability: u32,
            drives in proptest::collection::vec((".{0,20}", proptest::prelude::any::<[bool; 3]>()), 0..8),
            vsn in ".{0,16}",
            flags: [bool; 2],
        ) {
            let info = HostInfo {
                name: name.clone(),
                online_since_ms: since,
                scan_ability: ability,
                drives: drives
                    .iter()
                    .map(|(n, f)| LocalDrive { name: n.clone(), up: f[0], path_ok: f[1], reserved: f[2] })
                    .collect(),
            };
            let row = DriveRow {
                drive: name,
                robot: "TLD".into(),
                ready: flags[0],
                write_protect: flags[1],
                vsn,
                ..DriveRow::default()
            };
            for m in [Message::HostInfo(info), Message::Status(row.clone()), Message::Snapshot(vec![row; 3])] {
                let mut d = Deframer::default();
                d.push(&m.encode());
                let back = d.next_frame().unwrap().unwrap().decode().unwrap();
                proptest::prop_assert_eq!(back, m);
            }
        }
    }
}
