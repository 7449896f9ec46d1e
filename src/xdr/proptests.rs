//! Property tests of the codec over the NSM wire types: round trips, no
//! panics on arbitrary input, and truncation always reported as such.

use super::{Bounded, FixedOpaque, Reader, Xdr, XdrError};
use crate::proto::sm_inter::{
    Mon, MonId, MyId, Res, SmName, SmPriv, SmStat, SmStatRes, SmString, StatChge, Status,
    SM_MAXSTRLEN,
};
use proptest::prelude::*;
use std::fmt::Debug;

/// Names: mostly short, sometimes up to the bound, any byte values.
fn sm_string() -> impl Strategy<Value = SmString> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..16),
        1 => proptest::collection::vec(any::<u8>(), 0..=SM_MAXSTRLEN as usize),
    ]
    .prop_map(|v| SmString::new(v).expect("within bound"))
}

fn sm_priv() -> impl Strategy<Value = SmPriv> {
    any::<[u8; 16]>().prop_map(FixedOpaque)
}

fn my_id() -> impl Strategy<Value = MyId> {
    (sm_string(), any::<i32>(), any::<i32>(), any::<i32>()).prop_map(
        |(my_name, my_prog, my_vers, my_proc)| MyId {
            my_name,
            my_prog,
            my_vers,
            my_proc,
        },
    )
}

fn mon_id() -> impl Strategy<Value = MonId> {
    (sm_string(), my_id()).prop_map(|(mon_name, my_id)| MonId { mon_name, my_id })
}

fn mon() -> impl Strategy<Value = Mon> {
    (mon_id(), sm_priv()).prop_map(|(mon_id, cookie)| Mon { mon_id, cookie })
}

fn sm_name() -> impl Strategy<Value = SmName> {
    sm_string().prop_map(|mon_name| SmName { mon_name })
}

fn stat_chge() -> impl Strategy<Value = StatChge> {
    (sm_string(), any::<i32>()).prop_map(|(mon_name, state)| StatChge { mon_name, state })
}

fn sm_stat() -> impl Strategy<Value = SmStat> {
    any::<i32>().prop_map(|state| SmStat { state })
}

fn sm_stat_res() -> impl Strategy<Value = SmStatRes> {
    (any::<i32>(), any::<i32>()).prop_map(|(r, state)| SmStatRes {
        res_stat: Res(r),
        state,
    })
}

fn status() -> impl Strategy<Value = Status> {
    (sm_string(), any::<i32>(), sm_priv()).prop_map(|(mon_name, state, cookie)| Status {
        mon_name,
        state,
        cookie,
    })
}

/// Encoding is a multiple of four bytes, decodes to the same value, consumes
/// exactly what was written, and every proper prefix is `Truncated`.
fn check_value<T>(x: &T) -> Result<(), TestCaseError>
where
    T: for<'a> Xdr<'a> + PartialEq + Debug,
{
    let enc = x.to_xdr();
    prop_assert_eq!(enc.len() % 4, 0);
    let mut r = Reader::new(&enc);
    prop_assert_eq!(&T::decode(&mut r)?, x);
    prop_assert_eq!(r.remaining(), 0);
    for cut in 0..enc.len() {
        let got = T::from_xdr(&enc[..cut]);
        prop_assert!(
            matches!(got, Err(XdrError::Truncated { .. })),
            "prefix {} of {}: {:?}",
            cut,
            enc.len(),
            got
        );
    }
    Ok(())
}

/// Arbitrary bytes decode to a value or an error; a value re-encodes to as
/// many bytes as were consumed, equal to the input except for padding.
fn check_bytes<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: for<'a> Xdr<'a> + PartialEq + Debug,
{
    let mut r = Reader::new(bytes);
    if let Ok(x) = T::decode(&mut r) {
        let enc = x.to_xdr();
        prop_assert_eq!(enc.len(), r.position());
        prop_assert_eq!(T::from_xdr(&enc)?, x);
    }
    Ok(())
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Raw noise.
        proptest::collection::vec(any::<u8>(), 0..2048),
        // A plausible length word in front, so string bodies get exercised.
        (0u32..1100, proptest::collection::vec(any::<u8>(), 0..2048)).prop_map(|(len, rest)| {
            let mut v = len.to_be_bytes().to_vec();
            v.extend(rest);
            v
        }),
    ]
}

proptest! {
    #[test]
    fn round_trip_sm_name(x in sm_name()) { check_value(&x)?; }
    #[test]
    fn round_trip_my_id(x in my_id()) { check_value(&x)?; }
    #[test]
    fn round_trip_mon_id(x in mon_id()) { check_value(&x)?; }
    #[test]
    fn round_trip_mon(x in mon()) { check_value(&x)?; }
    #[test]
    fn round_trip_stat_chge(x in stat_chge()) { check_value(&x)?; }
    #[test]
    fn round_trip_sm_stat(x in sm_stat()) { check_value(&x)?; }
    #[test]
    fn round_trip_sm_stat_res(x in sm_stat_res()) { check_value(&x)?; }
    #[test]
    fn round_trip_status(x in status()) { check_value(&x)?; }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes()) {
        check_bytes::<SmName>(&bytes)?;
        check_bytes::<MyId>(&bytes)?;
        check_bytes::<MonId>(&bytes)?;
        check_bytes::<Mon>(&bytes)?;
        check_bytes::<StatChge>(&bytes)?;
        check_bytes::<SmStat>(&bytes)?;
        check_bytes::<SmStatRes>(&bytes)?;
        check_bytes::<Status>(&bytes)?;
    }

    #[test]
    fn bounded_respects_its_bound(v in proptest::collection::vec(any::<u8>(), 0..40)) {
        let fits = v.len() <= 20;
        match Bounded::<20>::new(v.clone()) {
            Ok(b) => {
                prop_assert!(fits);
                check_value(&b)?;
            }
            Err(e) => {
                prop_assert!(!fits);
                let len = u32::try_from(v.len()).expect("short");
                prop_assert_eq!(e, XdrError::TooLong { len, max: 20 });
                // The wider type's encoding is refused by the narrower one.
                let wide = Bounded::<40>::new(v).expect("fits 40").to_xdr();
                prop_assert_eq!(Bounded::<20>::from_xdr(&wide), Err(e));
            }
        }
    }

    #[test]
    fn fixed_opaque_odd_sizes_pad(a in any::<[u8; 5]>(), b in any::<[u8; 3]>()) {
        let x = FixedOpaque(a);
        prop_assert_eq!(x.to_xdr().len(), 8);
        check_value(&x)?;
        let y = FixedOpaque(b);
        prop_assert_eq!(y.to_xdr().len(), 4);
        check_value(&y)?;
    }

    #[test]
    fn scalars_round_trip(a in any::<u32>(), b in any::<i32>(), c in any::<u64>(), d in any::<i64>(), e in any::<bool>()) {
        check_value(&a)?;
        check_value(&b)?;
        check_value(&c)?;
        check_value(&d)?;
        check_value(&e)?;
    }
}
