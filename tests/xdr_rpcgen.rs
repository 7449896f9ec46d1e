//! The NSM encodings against libtirpc and rpcgen.
//!
//! - `golden_vectors_match_rust` needs nothing installed: it compares the Rust
//!   encoding of the sample values with `compat/vectors/xdr/*.hex`, which
//!   libtirpc produced, and decodes every vector back.
//! - The other tests need `rpcgen`, `cc` and the libtirpc headers. They run
//!   `rpcgen` on `/usr/include/rpcsvc/sm_inter.x` and on our `xdr/*.x` in a
//!   temporary directory, build `compat/c/xdr_encode.c` against the output,
//!   and compare encodings and decoder verdicts with the Rust codec. The
//!   tools are prerequisites decided by `common::prereq` (skipped and
//!   counted without them; under CI, a failure).
//!
//! `STATMON_UPDATE_VECTORS=1 cargo test --test xdr_rpcgen` rewrites the golden
//! vectors from the libtirpc encoder.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::cbuild::TIRPC_INCLUDE;
use common::prereq::{self, Need};

use statmon::proto::nlm::{NLM4_VERS, NLMPROC_NSM_NOTIFY, NLM_PROG, NLM_SM, NLM_SM_NOTIFY};
use statmon::proto::sm_inter::{
    Mon, MonId, MyId, Res, SmName, SmPriv, SmStat, SmStatRes, SmString, StatChge, Status,
};
use statmon::xdr::{FixedOpaque, Reader, Xdr};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The XDR type names, in the order the vector files are listed.
const TYPES: [&str; 8] = [
    "sm_name",
    "my_id",
    "mon_id",
    "mon",
    "stat_chge",
    "sm_stat",
    "sm_stat_res",
    "status",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------
// Sample values: the same list as `samples()` in compat/c/xdr_encode.c.

type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

struct Sample {
    ty: &'static str,
    name: String,
    bytes: Vec<u8>,
    /// Decodes bytes as this sample's type and compares with its value.
    decodes_to_value: Check,
}

fn sample<T>(ty: &'static str, name: impl Into<String>, value: T) -> Sample
where
    T: for<'a> Xdr<'a> + PartialEq + Debug + 'static,
{
    Sample {
        ty,
        name: name.into(),
        bytes: value.to_xdr(),
        decodes_to_value: Box::new(move |b| match T::from_xdr(b) {
            Ok(got) if got == value => Ok(()),
            other => Err(format!("decoded {other:?}, want {value:?}")),
        }),
    }
}

fn s(bytes: &[u8]) -> SmString {
    SmString::new(bytes.to_vec()).unwrap()
}

/// `n` non-zero bytes: byte i is `(i * 37 + seed) % 255 + 1`.
fn filled(n: usize, seed: usize) -> SmString {
    SmString::new(
        (0..n)
            .map(|i| u8::try_from((i * 37 + seed) % 255 + 1).unwrap())
            .collect::<Vec<u8>>(),
    )
    .unwrap()
}

const NONASCII: &[u8] = &[
    0x68, 0xc3, 0xa9, 0x74, 0x65, 0xff, 0x01, 0x7f, 0x20, 0x09, 0x7e,
];

fn id(name: SmString, prog: i32, vers: i32, proc: i32) -> MyId {
    MyId {
        my_name: name,
        my_prog: prog,
        my_vers: vers,
        my_proc: proc,
    }
}

fn nlm(v: u32) -> i32 {
    i32::try_from(v).unwrap()
}

fn samples() -> Vec<Sample> {
    let linux = || {
        id(
            s(b"client.example"),
            nlm(NLM_PROG),
            3,
            nlm(NLMPROC_NSM_NOTIFY),
        )
    };
    let bsd = |name: &[u8]| id(s(name), nlm(NLM_PROG), nlm(NLM_SM), nlm(NLM_SM_NOTIFY));
    let mut out = Vec::new();

    for (name, v) in [
        ("empty", s(b"")),
        ("localhost", s(b"localhost")),
        ("pad1", s(b"a")),
        ("pad2", s(b"ab")),
        ("pad3", s(b"abc")),
        ("pad4", s(b"abcd")),
        ("nonascii", s(NONASCII)),
        ("max", filled(1024, 1)),
    ] {
        out.push(sample("sm_name", name, SmName { mon_name: v }));
    }

    out.push(sample("my_id", "linux", linux()));
    out.push(sample("my_id", "bsd", bsd(b"localhost")));
    out.push(sample(
        "my_id",
        "negative",
        id(s(b""), -1, i32::MIN, i32::MAX),
    ));
    out.push(sample("my_id", "max", id(filled(1024, 2), 0, 0, 0)));

    let mon_id = |mon_name, my_id| MonId { mon_name, my_id };
    out.push(sample("mon_id", "linux", mon_id(s(b"server"), linux())));
    out.push(sample("mon_id", "nonascii", mon_id(s(NONASCII), bsd(b""))));
    let max_id = || mon_id(filled(1024, 3), id(filled(1024, 4), -2, -3, -4));
    out.push(sample("mon_id", "max", max_id()));

    for k in 0..16u8 {
        let m = Mon {
            mon_id: mon_id(
                s(b"host"),
                id(
                    s(b"me"),
                    nlm(NLM_PROG),
                    nlm(NLM4_VERS),
                    nlm(NLMPROC_NSM_NOTIFY),
                ),
            ),
            cookie: FixedOpaque(std::array::from_fn(|i| 16 * k + u8::try_from(i).unwrap())),
        };
        out.push(sample("mon", format!("priv{k:02}"), m));
    }
    let max_mon = Mon {
        mon_id: mon_id(filled(1024, 3), id(filled(1024, 4), i32::MIN, i32::MAX, -1)),
        cookie: SmPriv::default(),
    };
    out.push(sample("mon", "max", max_mon));

    for (name, mon_name, state) in [
        ("up", s(b"peer"), 3),
        ("down", s(b"peer"), 2),
        ("negative", s(NONASCII), i32::MIN),
        ("max", filled(1024, 5), i32::MAX),
    ] {
        out.push(sample("stat_chge", name, StatChge { mon_name, state }));
    }

    for (name, state) in [
        ("zero", 0),
        ("one", 1),
        ("minus_one", -1),
        ("int_min", i32::MIN),
        ("int_max", i32::MAX),
    ] {
        out.push(sample("sm_stat", name, SmStat { state }));
    }

    for (name, res_stat, state) in [
        ("succ", Res::STAT_SUCC, 3),
        ("fail", Res::STAT_FAIL, -1),
        ("unknown", Res(2), 0),
        ("negative", Res(-7), i32::MAX),
    ] {
        out.push(sample("sm_stat_res", name, SmStatRes { res_stat, state }));
    }

    let cookie = |f: fn(u8) -> u8| FixedOpaque(std::array::from_fn(|i| f(i as u8)));
    for (name, mon_name, state, cookie) in [
        ("linux", s(b"server"), 5, cookie(|i| i)),
        ("bsd", s(b"localhost"), 2, cookie(|i| 255 - i)),
        ("max", filled(1024, 6), i32::MIN, SmPriv::default()),
    ] {
        out.push(sample(
            "status",
            name,
            Status {
                mon_name,
                state,
                cookie,
            },
        ));
    }
    out
}

// ---------------------------------------------------------------------------
// Hex and the vector files.

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn vector_path(ty: &str) -> PathBuf {
    root().join("compat/vectors/xdr").join(format!("{ty}.hex"))
}

/// `name: hex` lines; `#` lines and blank lines are comments.
fn read_vectors(ty: &str) -> Vec<(String, Vec<u8>)> {
    let path = vector_path(ty);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, hex) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("{path:?}: bad line {l:?}"));
            (name.to_string(), from_hex(hex.trim()))
        })
        .collect()
}

fn write_vectors(by_type: &BTreeMap<String, Vec<(String, String)>>, source: &str) {
    for ty in TYPES {
        let mut text = format!(
            "# XDR encoding of `{ty}` by libtirpc's xdr_{ty}, generated by rpcgen from\n\
             # {source}; values: samples() in compat/c/xdr_encode.c.\n\
             # Regenerate: STATMON_UPDATE_VECTORS=1 cargo test --test xdr_rpcgen\n"
        );
        for (name, hex) in &by_type[ty] {
            text.push_str(&format!("{name}: {hex}\n"));
        }
        std::fs::write(vector_path(ty), text).unwrap();
    }
}

#[test]
fn golden_vectors_match_rust() {
    let samples = samples();
    let mut checked = 0;
    for ty in TYPES {
        let vectors = read_vectors(ty);
        let ours: Vec<&Sample> = samples.iter().filter(|s| s.ty == ty).collect();
        let names = |v: Vec<&str>| v.join(",");
        assert_eq!(
            names(vectors.iter().map(|(n, _)| n.as_str()).collect()),
            names(ours.iter().map(|s| s.name.as_str()).collect()),
            "{ty}: vector names differ from the Rust sample list"
        );
        for ((name, bytes), sample) in vectors.iter().zip(&ours) {
            assert_eq!(
                to_hex(&sample.bytes),
                to_hex(bytes),
                "{ty} {name}: Rust encoding differs from libtirpc's"
            );
            (sample.decodes_to_value)(bytes).unwrap_or_else(|e| panic!("{ty} {name}: {e}"));
            checked += 1;
        }
    }
    assert_eq!(checked, samples.len());
}

// ---------------------------------------------------------------------------
// The C side.

const SYSTEM_SM_INTER: &str = "/usr/include/rpcsvc/sm_inter.x";

/// What the C side needs (see `common::prereq`); the tests against the
/// system's `sm_inter.x` need that file too.
const C_SIDE: [Need; 4] = [
    Need::Tool("rpcgen"),
    Need::Tool("cc"),
    Need::Tool("cpp"),
    Need::TirpcHeaders,
];

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs rpcgen in `dir` on the `.x` file `name` (already there), writing
/// `<stem>.h` and `<stem>_xdr.c`.
fn rpcgen(dir: &Path, name: &str) {
    let stem = name.trim_end_matches(".x");
    for (flag, out) in [("-h", format!("{stem}.h")), ("-c", format!("{stem}_xdr.c"))] {
        run(Command::new("rpcgen")
            .current_dir(dir)
            .args([flag, "-o", &out, name]));
    }
}

/// The driver built from `compat/c/xdr_encode.c` in a temporary directory.
struct Driver {
    _dir: tempfile::TempDir,
    exe: PathBuf,
}

impl Driver {
    /// Against the system `sm_inter.x` (plus `stat_chge`, which it lacks).
    fn system() -> Option<Driver> {
        if !prereq::require(&[Need::File(SYSTEM_SM_INTER)]) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(SYSTEM_SM_INTER, dir.path().join("sm_inter.x")).unwrap();
        std::fs::write(
            dir.path().join("stat_chge.x"),
            "struct stat_chge {\n\tstring mon_name<1024>;\n\tint state;\n};\n",
        )
        .unwrap();
        rpcgen(dir.path(), "sm_inter.x");
        rpcgen(dir.path(), "stat_chge.x");
        Some(Driver::build(
            dir,
            &["sm_inter_xdr.c", "stat_chge_xdr.c"],
            &["-DEXTRA_HEADER=\"stat_chge.h\""],
        ))
    }

    /// Against our `xdr/sm_inter.x`.
    fn ours() -> Driver {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(root().join("xdr/sm_inter.x"), dir.path().join("sm_inter.x")).unwrap();
        rpcgen(dir.path(), "sm_inter.x");
        Driver::build(dir, &["sm_inter_xdr.c"], &[])
    }

    fn build(dir: tempfile::TempDir, sources: &[&str], defines: &[&str]) -> Driver {
        let exe = dir.path().join("xdr_encode");
        let mut cc = Command::new("cc");
        cc.current_dir(dir.path())
            .arg(format!("-I{TIRPC_INCLUDE}"))
            .arg("-I.")
            .args(defines)
            .arg("-o")
            .arg(&exe)
            .arg(root().join("compat/c/xdr_encode.c"))
            .args(sources)
            .arg("-ltirpc");
        run(&mut cc);
        Driver { _dir: dir, exe }
    }

    /// `type -> [(name, hex)]` from `xdr_encode samples`.
    fn samples(&self) -> BTreeMap<String, Vec<(String, String)>> {
        let out = String::from_utf8(run(Command::new(&self.exe).arg("samples"))).unwrap();
        let mut by_type: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for line in out.lines() {
            let (head, hex) = line.split_once(": ").expect("sample line");
            let (ty, name) = head.split_once(' ').expect("type and name");
            by_type
                .entry(ty.to_string())
                .or_default()
                .push((name.to_string(), hex.to_string()));
        }
        by_type
    }

    /// libtirpc's verdict on each input: `Some((consumed, re-encoding))`
    /// or `None` if `xdr_<type>` failed.
    fn decode(&self, inputs: &[(&str, Vec<u8>)]) -> Vec<Option<(usize, Vec<u8>)>> {
        let mut child = Command::new(&self.exe)
            .arg("decode")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut text = String::new();
        for (ty, bytes) in inputs {
            text.push_str(&format!("{ty} {}\n", to_hex(bytes)));
        }
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        let lines: Vec<Option<(usize, Vec<u8>)>> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| match l.split(' ').collect::<Vec<_>>()[..] {
                ["err"] => None,
                ["ok", n, hex] => Some((n.parse().unwrap(), from_hex(hex))),
                _ => panic!("bad driver output {l:?}"),
            })
            .collect();
        assert_eq!(lines.len(), inputs.len());
        lines
    }
}

/// The C samples must be exactly the Rust samples, in the same order.
fn assert_same_as_rust(c: &BTreeMap<String, Vec<(String, String)>>, what: &str) {
    let samples = samples();
    for ty in TYPES {
        let theirs = c
            .get(ty)
            .unwrap_or_else(|| panic!("{what}: no {ty} samples"));
        let ours: Vec<(String, String)> = samples
            .iter()
            .filter(|s| s.ty == ty)
            .map(|s| (s.name.clone(), to_hex(&s.bytes)))
            .collect();
        assert_eq!(theirs, &ours, "{what}: {ty} encodings differ");
    }
    assert_eq!(c.len(), TYPES.len(), "{what}: unexpected types");
}

// ---------------------------------------------------------------------------
// Rust decoding by type name, for the differential decoder test.

fn rust_decode_as<T>(bytes: &[u8]) -> Option<(usize, Vec<u8>)>
where
    T: for<'a> Xdr<'a>,
{
    let mut r = Reader::new(bytes);
    T::decode(&mut r).ok().map(|v| (r.position(), v.to_xdr()))
}

fn rust_decode(ty: &str, bytes: &[u8]) -> Option<(usize, Vec<u8>)> {
    match ty {
        "sm_name" => rust_decode_as::<SmName>(bytes),
        "my_id" => rust_decode_as::<MyId>(bytes),
        "mon_id" => rust_decode_as::<MonId>(bytes),
        "mon" => rust_decode_as::<Mon>(bytes),
        "stat_chge" => rust_decode_as::<StatChge>(bytes),
        "sm_stat" => rust_decode_as::<SmStat>(bytes),
        "sm_stat_res" => rust_decode_as::<SmStatRes>(bytes),
        "status" => rust_decode_as::<Status>(bytes),
        _ => panic!("unknown type {ty}"),
    }
}

/// xorshift64: deterministic values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn i32(&mut self) -> i32 {
        self.next() as i32
    }
    /// A name without NUL bytes (C strings end at the first NUL), mostly
    /// short, sometimes up to the bound.
    fn name(&mut self) -> SmString {
        let len = if self.next().is_multiple_of(4) {
            self.next() % 1025
        } else {
            self.next() % 20
        };
        s(&(0..len)
            .map(|_| u8::try_from(self.next() % 255 + 1).unwrap())
            .collect::<Vec<u8>>())
    }
    fn cookie(&mut self) -> SmPriv {
        FixedOpaque(std::array::from_fn(|_| self.next() as u8))
    }
    fn my_id(&mut self) -> MyId {
        id(self.name(), self.i32(), self.i32(), self.i32())
    }
}

/// Random values of every type, Rust-encoded.
fn random_encodings(per_type: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng(0x5eed_0000_0010_0024);
    let mut out = Vec::new();
    for _ in 0..per_type {
        let mon_id = MonId {
            mon_name: rng.name(),
            my_id: rng.my_id(),
        };
        out.push((
            "sm_name",
            SmName {
                mon_name: rng.name(),
            }
            .to_xdr(),
        ));
        out.push(("my_id", rng.my_id().to_xdr()));
        out.push(("mon_id", mon_id.to_xdr()));
        let mon = Mon {
            mon_id,
            cookie: rng.cookie(),
        };
        out.push(("mon", mon.to_xdr()));
        let sc = StatChge {
            mon_name: rng.name(),
            state: rng.i32(),
        };
        out.push(("stat_chge", sc.to_xdr()));
        out.push(("sm_stat", SmStat { state: rng.i32() }.to_xdr()));
        let res = SmStatRes {
            res_stat: Res(rng.i32()),
            state: rng.i32(),
        };
        out.push(("sm_stat_res", res.to_xdr()));
        let st = Status {
            mon_name: rng.name(),
            state: rng.i32(),
            cookie: rng.cookie(),
        };
        out.push(("status", st.to_xdr()));
    }
    out
}

/// Inputs both decoders must judge alike: every truncation of each sample,
/// lengths one over the bound and far over it, non-zero padding, trailing
/// bytes, and embedded NUL bytes. The flag marks a NUL inside a string.
fn malformed_inputs() -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut out = Vec::new();
    for sample in samples() {
        if sample.bytes.len() > 200 {
            // The 1024-byte samples: a few cuts are enough.
            for cut in [0, 3, 4, 5, 1027, 1028, sample.bytes.len() - 1] {
                out.push((sample.ty, sample.bytes[..cut].to_vec(), false));
            }
        } else {
            for cut in 0..sample.bytes.len() {
                out.push((sample.ty, sample.bytes[..cut].to_vec(), false));
            }
        }
        let mut trailing = sample.bytes.clone();
        trailing.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 1]);
        out.push((sample.ty, trailing, false));
    }
    let with_len = |len: u32, body: &[u8]| {
        let mut v = len.to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    };
    for ty in ["sm_name", "stat_chge", "status", "my_id", "mon_id", "mon"] {
        out.push((ty, with_len(1025, &[b'x'; 1100]), false));
        out.push((ty, with_len(u32::MAX, &[b'x'; 64]), false));
        out.push((ty, with_len(0x8000_0000, &[b'x'; 64]), false));
        // "a" with padding 0xff 0xff 0xff, then enough for any fields after.
        let pad = [&[b'a', 0xff, 0xff, 0xff][..], &[7; 60]].concat();
        out.push((ty, with_len(1, &pad), false));
        // "a\0b".
        let nul = [&[b'a', 0, b'b', 0][..], &[7; 60]].concat();
        out.push((ty, with_len(3, &nul), true));
    }
    out
}

#[test]
fn rpcgen_accepts_our_specs() {
    if !prereq::require(&C_SIDE) {
        return;
    }
    for spec in ["sm_inter.x", "nlm_callback.x"] {
        // As the brief for these files says: `rpcgen -h xdr/<file>` succeeds.
        let header = run(Command::new("rpcgen")
            .current_dir(root())
            .args(["-h", &format!("xdr/{spec}")]));
        assert!(!header.is_empty(), "{spec}: empty header");
        // And the generated XDR routines compile against libtirpc.
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(root().join("xdr").join(spec), dir.path().join(spec)).unwrap();
        rpcgen(dir.path(), spec);
        let stem = spec.trim_end_matches(".x");
        run(Command::new("cc")
            .current_dir(dir.path())
            .arg(format!("-I{TIRPC_INCLUDE}"))
            .args(["-I.", "-c", &format!("{stem}_xdr.c")]));
    }
    let header = String::from_utf8(run(Command::new("rpcgen")
        .current_dir(root())
        .args(["-h", "xdr/nlm_callback.x"])))
    .unwrap();
    for define in [
        "#define NLM_PROG 100021",
        "#define NLM_SM 0",
        "#define NLM_SM_NOTIFY 1",
        "#define NLMPROC_NSM_NOTIFY 16",
        "#define NLMPROC_NSM_NOTIFY_OLD 24",
        "#define NLM4_VERS 4",
    ] {
        assert!(header.contains(define), "nlm_callback.h lacks {define}");
    }
}

#[test]
fn system_libtirpc_encodes_like_rust() {
    if !prereq::require(&C_SIDE) {
        return;
    }
    let Some(driver) = Driver::system() else {
        return;
    };
    let c = driver.samples();
    if std::env::var_os("STATMON_UPDATE_VECTORS").is_some() {
        write_vectors(&c, SYSTEM_SM_INTER);
    }
    assert_same_as_rust(&c, "system sm_inter.x");
    // And the committed vectors are what this libtirpc produces.
    for ty in TYPES {
        let committed: Vec<(String, String)> = read_vectors(ty)
            .into_iter()
            .map(|(n, b)| (n, to_hex(&b)))
            .collect();
        assert_eq!(committed, c[ty], "{ty}: committed vectors are stale");
    }
}

#[test]
fn our_spec_under_rpcgen_encodes_like_rust() {
    if !prereq::require(&C_SIDE) {
        return;
    }
    assert_same_as_rust(&Driver::ours().samples(), "xdr/sm_inter.x");
}

#[test]
fn libtirpc_decodes_rust_encodings() {
    if !prereq::require(&C_SIDE) {
        return;
    }
    let Some(driver) = Driver::system() else {
        return;
    };
    let mut inputs = random_encodings(60);
    inputs.extend(samples().into_iter().map(|s| (s.ty, s.bytes)));
    let verdicts = driver.decode(&inputs);
    for ((ty, bytes), verdict) in inputs.iter().zip(verdicts) {
        assert_eq!(
            verdict,
            Some((bytes.len(), bytes.clone())),
            "{ty} {}: libtirpc did not accept and re-encode it unchanged",
            to_hex(bytes)
        );
    }
}

#[test]
fn malformed_input_is_judged_as_libtirpc_does() {
    if !prereq::require(&C_SIDE) {
        return;
    }
    let Some(driver) = Driver::system() else {
        return;
    };
    let inputs = malformed_inputs();
    let verdicts = driver.decode(
        &inputs
            .iter()
            .map(|(ty, bytes, _)| (*ty, bytes.clone()))
            .collect::<Vec<_>>(),
    );
    let mut accepted = 0;
    for ((ty, bytes, nul), c) in inputs.iter().zip(verdicts) {
        let rust = rust_decode(ty, bytes);
        let ctx = || format!("{ty} {}", to_hex(bytes));
        match (&rust, &c) {
            (None, None) => {}
            (Some((rn, renc)), Some((cn, cenc))) => {
                accepted += 1;
                assert_eq!(rn, cn, "{}: consumed lengths differ", ctx());
                if *nul {
                    // The one known difference: C strings stop at the first
                    // NUL, so libtirpc re-encodes such a name shorter, while
                    // the Rust value keeps every byte.
                    assert!(
                        cenc != renc && cenc.len() <= renc.len(),
                        "{}: NUL kept by C?",
                        ctx()
                    );
                } else {
                    assert_eq!(to_hex(renc), to_hex(cenc), "{}: re-encodings differ", ctx());
                }
            }
            _ => panic!("{}: rust {rust:?}, libtirpc {c:?}", ctx()),
        }
    }
    assert!(
        accepted > 0,
        "no malformed-but-acceptable inputs were tried"
    );
}
