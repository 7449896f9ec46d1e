//! Credentials on the wire: flavour numbers, AUTH_SYS bodies, and the
//! `auth_stat` a server answers when it refuses one.
//!
//! [`check_credential`] applies libtirpc 1.3.3's `_authenticate` rules to a
//! credential whose framing (flavour, length ≤ 400, body) already decoded:
//!
//! | flavour | libtirpc | here |
//! |---|---|---|
//! | AUTH_NONE (0) | accepted, body ignored | [`Credential::None`] |
//! | AUTH_SYS (1) | `_svcauth_unix`: name ≤ 255, ≤ 16 gids, body long enough, trailing body bytes ignored; else BADCRED | same |
//! | RPCSEC_GSS (6) | junk gets BADCRED | always BADCRED: no GSS here |
//! | AUTH_SHORT (2), anything else | REJECTEDCRED | REJECTEDCRED |
//!
//! # Panic contract
//! Nothing here panics on any input.

use super::program::Credential;
use crate::xdr::{Reader, Writer, XdrError};

/// AUTH_NONE (RFC 5531 §8.1).
pub const AUTH_NONE: u32 = 0;
/// AUTH_SYS, also called AUTH_UNIX (RFC 5531 appendix A).
pub const AUTH_SYS: u32 = 1;
/// RPCSEC_GSS (RFC 2203).
pub const RPCSEC_GSS: u32 = 6;

/// Largest `opaque_auth` body (RFC 5531 `MAX_AUTH_BYTES`).
pub const MAX_AUTH_BYTES: u32 = 400;
/// Largest AUTH_SYS machine name.
pub const MAX_MACHINE_NAME: u32 = 255;
/// Most supplementary gids an AUTH_SYS credential may carry.
pub const MAX_GIDS: u32 = 16;

/// Why a credential or verifier was refused (RFC 5531 `auth_stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthStat {
    /// AUTH_OK (0).
    Ok,
    /// AUTH_BADCRED (1): bad credential (seal broken).
    BadCred,
    /// AUTH_REJECTEDCRED (2): the client must begin a new session.
    RejectedCred,
    /// AUTH_BADVERF (3): bad verifier.
    BadVerf,
    /// AUTH_REJECTEDVERF (4): verifier expired or replayed.
    RejectedVerf,
    /// AUTH_TOOWEAK (5): rejected for security reasons.
    TooWeak,
    /// AUTH_INVALIDRESP (6): bogus response verifier.
    InvalidResp,
    /// AUTH_FAILED (7): reason unknown.
    Failed,
}

/// Checks a decoded `opaque_auth` credential the way libtirpc's server does
/// (see the module table) and returns what a [`super::Program`] sees.
pub fn check_credential(flavor: u32, body: &[u8]) -> Result<Credential, AuthStat> {
    match flavor {
        AUTH_NONE => Ok(Credential::None),
        AUTH_SYS => decode_sys(&mut Reader::new(body)).map_err(|_| AuthStat::BadCred),
        RPCSEC_GSS => Err(AuthStat::BadCred),
        _ => Err(AuthStat::RejectedCred),
    }
}

/// `authsys_parms`; bytes after the gids are ignored, as `_svcauth_unix` does.
fn decode_sys(r: &mut Reader<'_>) -> Result<Credential, XdrError> {
    let stamp = r.u32()?;
    let machine = r.opaque_var(MAX_MACHINE_NAME)?.to_vec();
    let uid = r.u32()?;
    let gid = r.u32()?;
    let gids = r.array_var(MAX_GIDS, |r| r.u32())?;
    Ok(Credential::Sys {
        stamp,
        machine,
        uid,
        gid,
        gids,
    })
}

/// Appends `cred` as an `opaque_auth` (flavour, length, body).
///
/// An AUTH_SYS machine name is cut to 255 bytes and the gid list to 16
/// entries, as libtirpc's `authunix_create_default` cuts its group list, so
/// the body always fits in [`MAX_AUTH_BYTES`]. [`Credential::Other`] is sent
/// with an empty body.
pub fn encode_credential(cred: &Credential, w: &mut Writer) {
    match cred {
        Credential::None => {
            w.put_u32(AUTH_NONE);
            w.put_u32(0);
        }
        Credential::Sys {
            stamp,
            machine,
            uid,
            gid,
            gids,
        } => {
            let mut body = Writer::new();
            body.put_u32(*stamp);
            body.put_opaque_var(&machine[..machine.len().min(MAX_MACHINE_NAME as usize)]);
            body.put_u32(*uid);
            body.put_u32(*gid);
            let gids = &gids[..gids.len().min(MAX_GIDS as usize)];
            body.put_u32(gids.len() as u32);
            for g in gids {
                body.put_u32(*g);
            }
            w.put_u32(AUTH_SYS);
            w.put_opaque_var(body.as_slice());
        }
        Credential::Other(flavor) => {
            w.put_u32(*flavor);
            w.put_u32(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// stamp 7, "ab", uid 0, gid 0, gids [5].
    const SYS_BODY: [u8; 28] = [
        0, 0, 0, 7, // stamp
        0, 0, 0, 2, b'a', b'b', 0, 0, // machine name
        0, 0, 0, 0, // uid
        0, 0, 0, 0, // gid
        0, 0, 0, 1, // one gid
        0, 0, 0, 5,
    ];

    fn sys_body(name_len: u32, ngids: u32) -> Vec<u8> {
        let mut w = Writer::new();
        w.put_u32(1);
        w.put_opaque_var(&vec![b'h'; name_len as usize]);
        w.put_u32(1000);
        w.put_u32(100);
        w.put_u32(ngids);
        for g in 0..ngids {
            w.put_u32(g);
        }
        w.into_inner()
    }

    #[test]
    fn auth_none_accepts_any_body() {
        assert_eq!(check_credential(AUTH_NONE, b"junk"), Ok(Credential::None));
    }

    #[test]
    fn auth_sys_decodes() {
        assert_eq!(
            check_credential(AUTH_SYS, &SYS_BODY),
            Ok(Credential::Sys {
                stamp: 7,
                machine: b"ab".to_vec(),
                uid: 0,
                gid: 0,
                gids: vec![5],
            })
        );
    }

    #[test]
    fn auth_sys_trailing_body_bytes_are_ignored() {
        let mut body = SYS_BODY.to_vec();
        body.extend_from_slice(&[9; 8]);
        assert!(matches!(
            check_credential(AUTH_SYS, &body),
            Ok(Credential::Sys { .. })
        ));
    }

    #[test]
    fn auth_sys_limits_are_badcred() {
        assert!(check_credential(AUTH_SYS, &sys_body(255, 16)).is_ok());
        assert_eq!(
            check_credential(AUTH_SYS, &sys_body(4, 17)),
            Err(AuthStat::BadCred)
        );
        assert_eq!(
            check_credential(AUTH_SYS, &sys_body(256, 0)),
            Err(AuthStat::BadCred)
        );
        assert_eq!(
            check_credential(AUTH_SYS, &SYS_BODY[..27]),
            Err(AuthStat::BadCred)
        );
        assert_eq!(check_credential(AUTH_SYS, &[]), Err(AuthStat::BadCred));
    }

    #[test]
    fn auth_sys_non_utf8_name_is_kept_as_bytes() {
        let mut body = SYS_BODY;
        body[8] = 0xff;
        let Ok(Credential::Sys { machine, .. }) = check_credential(AUTH_SYS, &body) else {
            panic!("rejected");
        };
        assert_eq!(machine, vec![0xff, b'b']);
    }

    #[test]
    fn gss_is_badcred_other_flavours_rejectedcred() {
        assert_eq!(check_credential(RPCSEC_GSS, &[]), Err(AuthStat::BadCred));
        assert_eq!(check_credential(2, &[]), Err(AuthStat::RejectedCred));
        assert_eq!(check_credential(99, &[]), Err(AuthStat::RejectedCred));
    }

    #[test]
    fn encode_sys_matches_fixture() {
        let mut w = Writer::new();
        encode_credential(
            &Credential::Sys {
                stamp: 7,
                machine: b"ab".to_vec(),
                uid: 0,
                gid: 0,
                gids: vec![5],
            },
            &mut w,
        );
        let mut want = vec![0, 0, 0, 1, 0, 0, 0, 28];
        want.extend_from_slice(&SYS_BODY);
        assert_eq!(w.as_slice(), &want[..]);
    }

    #[test]
    fn encode_sys_clamps_to_rfc_limits() {
        let mut w = Writer::new();
        encode_credential(
            &Credential::Sys {
                stamp: 1,
                machine: vec![b'm'; 300],
                uid: 2,
                gid: 3,
                gids: (0..40).collect(),
            },
            &mut w,
        );
        let mut r = Reader::new(w.as_slice());
        assert_eq!(r.u32(), Ok(AUTH_SYS));
        let body = r.opaque_var(MAX_AUTH_BYTES).unwrap();
        let Ok(Credential::Sys { machine, gids, .. }) = check_credential(AUTH_SYS, body) else {
            panic!("clamped credential did not decode");
        };
        assert_eq!(machine.len(), 255);
        assert_eq!(gids, (0..16).collect::<Vec<u32>>());
    }

    #[test]
    fn encode_none_and_other_have_empty_bodies() {
        let mut w = Writer::new();
        encode_credential(&Credential::None, &mut w);
        encode_credential(&Credential::Other(9), &mut w);
        assert_eq!(
            w.as_slice(),
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0]
        );
    }
}
