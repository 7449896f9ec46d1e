//! What the planners ask the glue to send, and how a call can fail.

/// One call to a portmapper (program 100000) that the glue must make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCall {
    /// Always 100000.
    pub prog: u32,
    /// 4 or 3 (rpcbind) or 2 (portmapper).
    pub vers: u32,
    /// Procedure number.
    pub proc: u32,
    /// Encoded arguments.
    pub args: Vec<u8>,
}

/// Why a planned call produced no results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Accepted reply PROG_UNAVAIL: the peer does not serve program 100000.
    ProgUnavail,
    /// Accepted reply PROG_MISMATCH: the peer lacks this version.
    ProgMismatch,
    /// No reply after the glue's retransmissions.
    TimedOut,
    /// Any other failure (rejected reply, PROC_UNAVAIL, GARBAGE_ARGS,
    /// SYSTEM_ERR, connection refused, ...).
    Other,
}
