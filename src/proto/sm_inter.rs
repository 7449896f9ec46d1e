//! NSM, the Network Status Monitor protocol: ONC RPC program 100024 version 1.
//!
//! Mirrors `xdr/sm_inter.x` (X/Open XNFS C218 chapter 11, plus SM_NOTIFY);
//! `tests/xdr_spec.rs` checks the numbers here against that file and the
//! system copy, and `tests/xdr_rpcgen.rs` checks the encodings against
//! libtirpc.
//!
//! # Panic contract
//!
//! Decoding never panics. Every string is a [`SmString`] of at most
//! [`SM_MAXSTRLEN`] bytes, kept as raw bytes (no UTF-8 or NUL checks, as in
//! libtirpc). Enum values outside the declared range survive a decode.

use crate::xdr::{xdr_struct, Bounded, FixedOpaque, Reader, Writer, Xdr, XdrError};
use std::fmt;

/// The NSM program number.
pub const SM_PROG: u32 = 100_024;
/// The only NSM version.
pub const SM_VERS: u32 = 1;
/// Longest host or caller name, in bytes.
pub const SM_MAXSTRLEN: u32 = 1024;
/// Size of the caller data (`priv`) carried by [`Mon`] and [`Status`].
pub const SM_PRIV_SIZE: usize = 16;

/// `string<SM_MAXSTRLEN>`: a host or caller name as raw bytes.
pub type SmString = Bounded<SM_MAXSTRLEN>;
/// `opaque priv[SM_PRIV_SIZE]`: caller data stored by SM_MON and echoed,
/// byte for byte, in the [`Status`] callback.
pub type SmPriv = FixedOpaque<SM_PRIV_SIZE>;

/// An NSM procedure number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SmProc(pub u32);

impl SmProc {
    /// `void SM_NULL(void)`: a ping.
    pub const NULL: SmProc = SmProc(0);
    /// `sm_stat_res SM_STAT(sm_name)`: would the monitor watch this host?
    pub const STAT: SmProc = SmProc(1);
    /// `sm_stat_res SM_MON(mon)`: start monitoring a host.
    pub const MON: SmProc = SmProc(2);
    /// `sm_stat SM_UNMON(mon_id)`: stop one registration.
    pub const UNMON: SmProc = SmProc(3);
    /// `sm_stat SM_UNMON_ALL(my_id)`: drop every registration of a caller.
    pub const UNMON_ALL: SmProc = SmProc(4);
    /// `void SM_SIMU_CRASH(void)`: act as if the local host rebooted.
    pub const SIMU_CRASH: SmProc = SmProc(5);
    /// `void SM_NOTIFY(stat_chge)`: a remote host reports a new state.
    pub const NOTIFY: SmProc = SmProc(6);

    /// The procedure name from the spec, or `None` for an unknown number.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            SmProc::NULL => "SM_NULL",
            SmProc::STAT => "SM_STAT",
            SmProc::MON => "SM_MON",
            SmProc::UNMON => "SM_UNMON",
            SmProc::UNMON_ALL => "SM_UNMON_ALL",
            SmProc::SIMU_CRASH => "SM_SIMU_CRASH",
            SmProc::NOTIFY => "SM_NOTIFY",
            _ => return None,
        })
    }
}

impl fmt::Debug for SmProc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "SmProc({})", self.0),
        }
    }
}

/// `struct sm_name`: the SM_STAT argument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SmName {
    /// The host asked about.
    pub mon_name: SmString,
}
xdr_struct!(SmName { mon_name });

/// `struct my_id`: who is monitoring, and the RPC procedure to call back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MyId {
    /// The caller's host name (Linux sends its node name, BSDs `localhost`).
    pub my_name: SmString,
    /// Callback program, normally 100021 (NLM); see [`crate::proto::nlm`].
    pub my_prog: i32,
    /// Callback version.
    pub my_vers: i32,
    /// Callback procedure.
    pub my_proc: i32,
}
xdr_struct!(MyId {
    my_name,
    my_prog,
    my_vers,
    my_proc
});

/// `struct mon_id`: one registration, the SM_UNMON argument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MonId {
    /// The host to watch.
    pub mon_name: SmString,
    /// On whose behalf.
    pub my_id: MyId,
}
xdr_struct!(MonId { mon_name, my_id });

/// `struct mon`: the SM_MON argument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Mon {
    /// The registration.
    pub mon_id: MonId,
    /// `priv` in the spec (a Rust keyword): opaque caller data, stored and
    /// returned unchanged in the [`Status`] callback. Linux lockd puts a
    /// unique cookie here, BSD lock managers a system id.
    pub cookie: SmPriv,
}
xdr_struct!(Mon { mon_id, cookie });

/// `struct stat_chge`: the SM_NOTIFY argument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct StatChge {
    /// The host that rebooted, as it names itself.
    pub mon_name: SmString,
    /// Its new state number.
    pub state: i32,
}
xdr_struct!(StatChge { mon_name, state });

/// `struct sm_stat`: a state number, the SM_UNMON and SM_UNMON_ALL result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SmStat {
    /// The local state number: odd while up, even while down.
    pub state: i32,
}
xdr_struct!(SmStat { state });

/// `enum res`: whether the monitor did what was asked.
///
/// A newtype over the wire value, so numbers other than the two declared
/// ones survive a decode (libtirpc's `xdr_enum` accepts them too).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Res(pub i32);

impl Res {
    /// `stat_succ`: the monitor accepts the request.
    pub const STAT_SUCC: Res = Res(0);
    /// `stat_fail`: the monitor cannot do it.
    pub const STAT_FAIL: Res = Res(1);
}

impl fmt::Debug for Res {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Res::STAT_SUCC => f.write_str("STAT_SUCC"),
            Res::STAT_FAIL => f.write_str("STAT_FAIL"),
            Res(other) => write!(f, "Res({other})"),
        }
    }
}

impl<'a> Xdr<'a> for Res {
    fn encode(&self, w: &mut Writer) {
        w.put_i32(self.0);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.i32().map(Res)
    }
}

/// `struct sm_stat_res`: the SM_STAT and SM_MON result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SmStatRes {
    /// The verdict.
    pub res_stat: Res,
    /// The local state number.
    pub state: i32,
}
xdr_struct!(SmStatRes { res_stat, state });

/// `struct status`: the argument of the callback to [`MyId`]'s procedure
/// (NLM_SM_NOTIFY, see [`crate::proto::nlm`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Status {
    /// The monitored host whose state changed.
    pub mon_name: SmString,
    /// Its new state number.
    pub state: i32,
    /// `priv` in the spec: the [`Mon::cookie`] given at SM_MON, unchanged.
    pub cookie: SmPriv,
}
xdr_struct!(Status {
    mon_name,
    state,
    cookie
});

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &[u8]) -> SmString {
        SmString::new(s.to_vec()).unwrap()
    }

    /// SM_MON from a Linux kernel: mon_name "srv", my_id
    /// {"cli", 100021, 3, 16}, priv 0x00..0x0f.
    const MON_LINUX: [u8; 44] = [
        0, 0, 0, 3, b's', b'r', b'v', 0, // mon_name
        0, 0, 0, 3, b'c', b'l', b'i', 0, // my_name
        0, 1, 0x86, 0xb5, // my_prog 100021
        0, 0, 0, 3, // my_vers
        0, 0, 0, 16, // my_proc
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, // priv
    ];

    fn mon_linux() -> Mon {
        Mon {
            mon_id: MonId {
                mon_name: name(b"srv"),
                my_id: MyId {
                    my_name: name(b"cli"),
                    my_prog: 100_021,
                    my_vers: 3,
                    my_proc: 16,
                },
            },
            cookie: FixedOpaque(std::array::from_fn(|i| i as u8)),
        }
    }

    #[test]
    fn mon_matches_fixture() {
        assert_eq!(mon_linux().to_xdr(), MON_LINUX);
        assert_eq!(Mon::from_xdr(&MON_LINUX), Ok(mon_linux()));
    }

    #[test]
    fn mon_missing_priv_is_truncated() {
        assert_eq!(
            Mon::from_xdr(&MON_LINUX[..MON_LINUX.len() - 1]),
            Err(XdrError::Truncated { need: 16, have: 15 })
        );
    }

    #[test]
    fn status_is_name_state_priv() {
        let st = Status {
            mon_name: name(b"peer1"),
            state: -3,
            cookie: FixedOpaque([0xff; 16]),
        };
        let mut want = vec![0, 0, 0, 5, b'p', b'e', b'e', b'r', b'1', 0, 0, 0];
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xfd]);
        want.extend_from_slice(&[0xff; 16]);
        assert_eq!(st.to_xdr(), want);
        assert_eq!(Status::from_xdr(&want), Ok(st));
    }

    #[test]
    fn stat_chge_and_sm_name() {
        let sc = StatChge {
            mon_name: name(b"abcd"),
            state: 7,
        };
        let bytes = [0, 0, 0, 4, b'a', b'b', b'c', b'd', 0, 0, 0, 7];
        assert_eq!(sc.to_xdr(), bytes);
        assert_eq!(StatChge::from_xdr(&bytes), Ok(sc));
        let empty = SmName::default();
        assert_eq!(empty.to_xdr(), [0, 0, 0, 0]);
        assert_eq!(SmName::from_xdr(&[0, 0, 0, 0]), Ok(empty));
    }

    #[test]
    fn results_encode_as_two_ints() {
        let ok = SmStatRes {
            res_stat: Res::STAT_SUCC,
            state: 5,
        };
        assert_eq!(ok.to_xdr(), [0, 0, 0, 0, 0, 0, 0, 5]);
        let fail = SmStatRes {
            res_stat: Res::STAT_FAIL,
            state: -1,
        };
        assert_eq!(fail.to_xdr(), [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(SmStat { state: 9 }.to_xdr(), [0, 0, 0, 9]);
        assert_eq!(
            SmStat::from_xdr(&[0x80, 0, 0, 0]),
            Ok(SmStat { state: i32::MIN })
        );
    }

    #[test]
    fn unknown_res_survives() {
        let got = SmStatRes::from_xdr(&[0, 0, 0, 7, 0, 0, 0, 1]).unwrap();
        assert_eq!(got.res_stat, Res(7));
        assert_eq!(format!("{:?}", got.res_stat), "Res(7)");
        assert_eq!(format!("{:?}", Res::STAT_FAIL), "STAT_FAIL");
        assert_eq!(got.to_xdr(), [0, 0, 0, 7, 0, 0, 0, 1]);
    }

    #[test]
    fn name_over_bound_is_rejected_before_its_bytes() {
        // Declares 1025 bytes and carries none.
        assert_eq!(
            SmName::from_xdr(&[0, 0, 4, 1]),
            Err(XdrError::TooLong {
                len: 1025,
                max: SM_MAXSTRLEN
            })
        );
        let max = SmName {
            mon_name: name(&[b'x'; 1024]),
        };
        assert_eq!(SmName::from_xdr(&max.to_xdr()), Ok(max));
    }

    #[test]
    fn unmon_all_my_id_with_negative_numbers() {
        let id = MyId {
            my_name: SmString::default(),
            my_prog: -1,
            my_vers: i32::MIN,
            my_proc: i32::MAX,
        };
        let bytes = [
            0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff,
        ];
        assert_eq!(id.to_xdr(), bytes);
        assert_eq!(MyId::from_xdr(&bytes), Ok(id));
    }

    #[test]
    fn proc_numbers_and_names() {
        let all = [
            (SmProc::NULL, 0, "SM_NULL"),
            (SmProc::STAT, 1, "SM_STAT"),
            (SmProc::MON, 2, "SM_MON"),
            (SmProc::UNMON, 3, "SM_UNMON"),
            (SmProc::UNMON_ALL, 4, "SM_UNMON_ALL"),
            (SmProc::SIMU_CRASH, 5, "SM_SIMU_CRASH"),
            (SmProc::NOTIFY, 6, "SM_NOTIFY"),
        ];
        for (p, n, s) in all {
            assert_eq!(p.0, n);
            assert_eq!(p.name(), Some(s));
            assert_eq!(format!("{p:?}"), s);
        }
        assert_eq!(SmProc(7).name(), None);
        assert_eq!(format!("{:?}", SmProc(7)), "SmProc(7)");
    }
}
