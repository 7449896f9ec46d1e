//! The ltid message queue: the datagrams local programs (rdevmi) send to
//! ltid. The queue is a Unix datagram socket, `misc/ltid.mq` under the
//! volmgr directory (a System V queue needs IPC keys shared by every
//! program; a socket file under `STATMON_ROOT` does not).
//!
//! A message is 28 bytes, little-endian: `Pid` (i32), `Data.Pid` (i32),
//! `Type` (i32), `Param1` (i32), `Param2` (i32), `LongParam` (i64).
//!
//! Panic contract: [`LtidMsg::decode`] takes any bytes and returns a value
//! or `None`.

/// Bytes of one message.
pub const LEN: usize = 28;

/// The kind of a message (`Type`). Unknown numbers are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgType(pub i32);

impl MsgType {
    /// An oprd/rdevmi started.
    pub const OPRD_START: MsgType = MsgType(100);
    /// An oprd/rdevmi terminates.
    pub const OPRD_TERMINATE: MsgType = MsgType(101);
}

/// `Param1` of [`MsgType::OPRD_TERMINATE`]: why it ends.
pub mod reason {
    /// ltid was stopped.
    pub const LTID_STOPPED: i32 = 1;
    /// The remote media server went away or broke the protocol.
    pub const PEER_GONE: i32 = 2;
    /// ltid's attach socket closed without a stop.
    pub const LTID_LOST: i32 = 3;
}

/// `LongParam` of [`MsgType::OPRD_START`]: the time rdevmi waits for a
/// silent peer, in seconds, as in the seed.
pub const START_TIMEOUT: i64 = 300;

/// One queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LtidMsg {
    /// The sender's pid.
    pub pid: i32,
    /// The pid the message is about.
    pub data_pid: i32,
    pub kind: MsgType,
    pub param1: i32,
    pub param2: i32,
    pub long_param: i64,
}

impl LtidMsg {
    /// The 28 bytes.
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0; LEN];
        b[0..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.data_pid.to_le_bytes());
        b[8..12].copy_from_slice(&self.kind.0.to_le_bytes());
        b[12..16].copy_from_slice(&self.param1.to_le_bytes());
        b[16..20].copy_from_slice(&self.param2.to_le_bytes());
        b[20..28].copy_from_slice(&self.long_param.to_le_bytes());
        b
    }

    /// The message in `bytes`; `None` unless they are exactly [`LEN`].
    pub fn decode(bytes: &[u8]) -> Option<LtidMsg> {
        let b: &[u8; LEN] = bytes.try_into().ok()?;
        let i = |at: usize| i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let mut long = [0; 8];
        long.copy_from_slice(&b[20..28]);
        Some(LtidMsg {
            pid: i(0),
            data_pid: i(4),
            kind: MsgType(i(8)),
            param1: i(12),
            param2: i(16),
            long_param: i64::from_le_bytes(long),
        })
    }

    /// The text ltid logs for it when `VM_MQ_DEBUG` exists (function
    /// `LtidProcCmd`).
    pub fn log_text(&self) -> String {
        format!(
            "Pid={}, Data.Pid={}, Type={}, Param1={}, Param2={}, LongParam={}",
            self.pid, self.data_pid, self.kind.0, self.param1, self.param2, self.long_param
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_messages_round_trip_and_log_as_the_seed() {
        let start = LtidMsg {
            pid: 6031,
            data_pid: 6031,
            kind: MsgType::OPRD_START,
            param1: 0,
            param2: 7,
            long_param: START_TIMEOUT,
        };
        assert_eq!(LtidMsg::decode(&start.encode()), Some(start));
        assert_eq!(
            start.log_text(),
            "Pid=6031, Data.Pid=6031, Type=100, Param1=0, Param2=7, LongParam=300"
        );
        let stop = LtidMsg {
            pid: 14833,
            data_pid: 14833,
            kind: MsgType::OPRD_TERMINATE,
            param1: 1,
            param2: 3,
            long_param: 1_229_870_405,
        };
        assert_eq!(LtidMsg::decode(&stop.encode()), Some(stop));
        assert_eq!(
            stop.log_text(),
            "Pid=14833, Data.Pid=14833, Type=101, Param1=1, Param2=3, LongParam=1229870405"
        );
    }

    #[test]
    fn other_lengths_are_not_messages() {
        assert_eq!(LtidMsg::decode(&[0; 27]), None);
        assert_eq!(LtidMsg::decode(&[0; 29]), None);
        assert_eq!(LtidMsg::decode(&[]), None);
    }
}
