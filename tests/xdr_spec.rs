//! Our RPC-language specs (`xdr/*.x`), the system copies in
//! `/usr/include/rpcsvc/` (when present) and the Rust constants must agree on
//! every number they share: program, versions, procedures, string bounds and
//! the `priv` size, and on the field layout of every struct both define.
//!
//! The `.x` reader below is deliberately small: it understands `const`,
//! `struct`, `enum` and `program` definitions and skips everything else
//! (`typedef`, `union`, `%` pass-through and `#` preprocessor lines).

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::prereq::{self, Need};

use statmon::proto::nlm::{
    callback_allowed, NLM4_VERS, NLMPROC_NSM_NOTIFY, NLMPROC_NSM_NOTIFY_OLD, NLM_PROG, NLM_SM,
    NLM_SM_NOTIFY, NLM_VERS, NLM_VERSX,
};
use statmon::proto::sm_inter::{Res, SmProc, SM_MAXSTRLEN, SM_PRIV_SIZE, SM_PROG, SM_VERS};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

// ---------------------------------------------------------------------------
// A minimal RPC-language reader.

/// An array size or bound.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Size {
    /// A number, or a constant defined in the file.
    Num(i64),
    /// A name defined elsewhere (e.g. by a `%#define` pass-through line).
    Sym(String),
    /// `<>`.
    Unbounded,
}

/// One struct member: its type words, name and `[n]` or `<n>` size if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    ty: Vec<String>,
    name: String,
    /// `opaque name[n]` and other fixed arrays.
    fixed: Option<Size>,
    /// `string name<n>` and other counted items.
    bound: Option<Size>,
}

#[derive(Debug, Default)]
struct Version {
    number: i64,
    /// Procedure name to number.
    procs: BTreeMap<String, i64>,
}

#[derive(Debug, Default)]
struct Program {
    number: i64,
    /// Version name to definition.
    versions: BTreeMap<String, Version>,
}

#[derive(Debug, Default)]
struct Spec {
    consts: BTreeMap<String, i64>,
    enums: BTreeMap<String, BTreeMap<String, i64>>,
    structs: BTreeMap<String, Vec<Field>>,
    programs: BTreeMap<String, Program>,
}

/// Drops `%` and `#` lines, then `/* */` comments, then splits into words
/// and single punctuation characters.
fn tokenize(text: &str) -> Vec<String> {
    let lines: String = text
        .lines()
        .filter(|l| !matches!(l.trim_start().chars().next(), Some('%' | '#')))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut code = String::new();
    let mut rest = lines.as_str();
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        code.push(' ');
        rest = match rest[start + 2..].find("*/") {
            Some(end) => &rest[start + 2 + end + 2..],
            None => panic!("unterminated comment"),
        };
    }
    code.push_str(rest);

    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in code.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
    spec: Spec,
}

impl Parser {
    fn next(&mut self) -> String {
        let t = self
            .tokens
            .get(self.pos)
            .unwrap_or_else(|| panic!("unexpected end of spec"))
            .clone();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn expect(&mut self, want: &str) {
        let got = self.next();
        assert_eq!(got, want, "at token {}", self.pos);
    }

    /// A number, a negated number, or a constant defined earlier.
    fn value(&mut self) -> i64 {
        match self.size() {
            Size::Num(n) => n,
            other => panic!("unknown value {other:?}"),
        }
    }

    /// Like [`Parser::value`], but a name not defined in the file is kept.
    fn size(&mut self) -> Size {
        let t = self.next();
        if t == "-" {
            return Size::Num(-self.value());
        }
        if let Some(hex) = t.strip_prefix("0x") {
            return Size::Num(i64::from_str_radix(hex, 16).expect("hex number"));
        }
        match t.parse().ok().or_else(|| self.spec.consts.get(&t).copied()) {
            Some(n) => Size::Num(n),
            None => Size::Sym(t),
        }
    }

    fn parse(mut self) -> Spec {
        while let Some(t) = self.peek() {
            match t {
                "const" => self.constant(),
                "struct" => self.structure(),
                "enum" => self.enumeration(),
                "program" => self.program(),
                _ => self.skip_definition(),
            }
        }
        self.spec
    }

    fn constant(&mut self) {
        self.expect("const");
        let name = self.next();
        self.expect("=");
        let v = self.value();
        self.expect(";");
        self.spec.consts.insert(name, v);
    }

    /// Anything else: up to the `;` outside all braces.
    fn skip_definition(&mut self) {
        let mut depth = 0;
        loop {
            match self.next().as_str() {
                "{" => depth += 1,
                "}" => depth -= 1,
                ";" if depth == 0 => return,
                _ => {}
            }
        }
    }

    fn structure(&mut self) {
        self.expect("struct");
        let name = self.next();
        self.expect("{");
        let mut fields = Vec::new();
        while self.peek() != Some("}") {
            let mut words = Vec::new();
            let (mut fixed, mut bound) = (None, None);
            loop {
                match self.next().as_str() {
                    ";" => break,
                    "[" => {
                        fixed = Some(self.size());
                        self.expect("]");
                    }
                    "<" => {
                        bound = Some(if self.peek() == Some(">") {
                            Size::Unbounded
                        } else {
                            self.size()
                        });
                        self.expect(">");
                    }
                    w => words.push(w.to_string()),
                }
            }
            let name = words.pop().expect("field name");
            fields.push(Field {
                ty: words,
                name,
                fixed,
                bound,
            });
        }
        self.expect("}");
        self.expect(";");
        self.spec.structs.insert(name, fields);
    }

    fn enumeration(&mut self) {
        self.expect("enum");
        let name = self.next();
        self.expect("{");
        let mut values = BTreeMap::new();
        loop {
            let member = self.next();
            self.expect("=");
            values.insert(member, self.value());
            if self.next() == "}" {
                break;
            }
        }
        self.expect(";");
        self.spec.enums.insert(name, values);
    }

    fn program(&mut self) {
        self.expect("program");
        let name = self.next();
        self.expect("{");
        let mut program = Program::default();
        while self.peek() == Some("version") {
            self.expect("version");
            let vname = self.next();
            self.expect("{");
            let mut version = Version::default();
            while self.peek() != Some("}") {
                // result PROC(args) = N;
                let mut words = Vec::new();
                loop {
                    let t = self.next();
                    if t == "(" {
                        break;
                    }
                    words.push(t);
                }
                let proc_name = words.pop().expect("procedure name");
                while self.next() != ")" {}
                self.expect("=");
                let n = self.value();
                self.expect(";");
                assert!(
                    version.procs.insert(proc_name.clone(), n).is_none(),
                    "{proc_name} defined twice"
                );
            }
            self.expect("}");
            self.expect("=");
            version.number = self.value();
            self.expect(";");
            program.versions.insert(vname, version);
        }
        self.expect("}");
        self.expect("=");
        program.number = self.value();
        self.expect(";");
        self.spec.programs.insert(name, program);
    }
}

fn parse_file(path: &Path) -> Spec {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    Parser {
        tokens: tokenize(&text),
        pos: 0,
        spec: Spec::default(),
    }
    .parse()
}

fn ours(name: &str) -> Spec {
    parse_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("xdr").join(name))
}

/// The system copy `/usr/include/rpcsvc/NAME`, or `None` if it is not
/// installed (the skip is recorded, see `common::prereq`).
fn system(path: &'static str) -> Option<Spec> {
    prereq::require(&[Need::File(path)]).then(|| parse_file(Path::new(path)))
}

fn i(v: impl Into<i64>) -> i64 {
    v.into()
}

fn usize_i64(v: usize) -> i64 {
    i64::try_from(v).unwrap()
}

// ---------------------------------------------------------------------------
// NSM.

/// The procedures as the Rust side names them.
fn rust_procs() -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for n in 0..32 {
        if let Some(name) = SmProc(n).name() {
            out.insert(name.to_string(), i(n));
        }
    }
    out
}

/// The `priv` size of struct `name`, checked to be a fixed opaque.
fn priv_size(spec: &Spec, name: &str) -> i64 {
    let field = spec.structs[name]
        .iter()
        .find(|f| f.name == "priv")
        .unwrap_or_else(|| panic!("{name} has no priv"));
    assert_eq!(field.ty, ["opaque"], "{name}.priv type");
    match field.fixed {
        Some(Size::Num(n)) => n,
        ref other => panic!("{name}.priv size {other:?}"),
    }
}

/// Every `string` member of every struct has bound `max`.
fn assert_string_bounds(spec: &Spec, max: i64, what: &str) {
    for (sname, fields) in &spec.structs {
        for f in fields.iter().filter(|f| f.ty == ["string"]) {
            assert_eq!(f.bound, Some(Size::Num(max)), "{what}: {sname}.{}", f.name);
        }
    }
}

#[test]
fn our_sm_inter_matches_rust() {
    let spec = ours("sm_inter.x");
    assert_eq!(spec.consts["SM_MAXSTRLEN"], i(SM_MAXSTRLEN));
    assert_eq!(spec.consts["SM_PRIV_SIZE"], usize_i64(SM_PRIV_SIZE));
    let prog = &spec.programs["SM_PROG"];
    assert_eq!(prog.number, i(SM_PROG));
    assert_eq!(prog.versions.len(), 1);
    let vers = &prog.versions["SM_VERS"];
    assert_eq!(vers.number, i(SM_VERS));
    assert_eq!(vers.procs, rust_procs());
    assert_eq!(vers.procs.len(), 7, "SM_NULL through SM_NOTIFY");
    assert_eq!(priv_size(&spec, "mon"), usize_i64(SM_PRIV_SIZE));
    assert_eq!(priv_size(&spec, "status"), usize_i64(SM_PRIV_SIZE));
    assert_string_bounds(&spec, i(SM_MAXSTRLEN), "xdr/sm_inter.x");
    let res = &spec.enums["res"];
    assert_eq!(res["stat_succ"], i(Res::STAT_SUCC.0));
    assert_eq!(res["stat_fail"], i(Res::STAT_FAIL.0));
    assert_eq!(res.len(), 2);
}

/// Field names per struct, in wire order, as the Rust types have them
/// (`priv` is `cookie` in Rust). Keep in step with src/proto/sm_inter.rs.
const RUST_LAYOUT: &[(&str, &[&str])] = &[
    ("sm_name", &["mon_name"]),
    ("my_id", &["my_name", "my_prog", "my_vers", "my_proc"]),
    ("mon_id", &["mon_name", "my_id"]),
    ("mon", &["mon_id", "cookie"]),
    ("stat_chge", &["mon_name", "state"]),
    ("sm_stat", &["state"]),
    ("sm_stat_res", &["res_stat", "state"]),
    ("status", &["mon_name", "state", "cookie"]),
];

#[test]
fn our_sm_inter_struct_layout_matches_rust() {
    let spec = ours("sm_inter.x");
    let x_names: BTreeSet<&str> = spec.structs.keys().map(String::as_str).collect();
    let rust_names: BTreeSet<&str> = RUST_LAYOUT.iter().map(|(n, _)| *n).collect();
    assert_eq!(x_names, rust_names);
    for (name, rust_fields) in RUST_LAYOUT {
        let x_fields: Vec<&str> = spec.structs[*name]
            .iter()
            .map(|f| if f.name == "priv" { "cookie" } else { &f.name })
            .collect();
        assert_eq!(&x_fields, rust_fields, "{name}");
    }
}

#[test]
fn our_sm_inter_agrees_with_system_copy() {
    let Some(sys) = system("/usr/include/rpcsvc/sm_inter.x") else {
        return;
    };
    let spec = ours("sm_inter.x");
    assert_eq!(sys.consts["SM_MAXSTRLEN"], spec.consts["SM_MAXSTRLEN"]);
    let (sp, op) = (&sys.programs["SM_PROG"], &spec.programs["SM_PROG"]);
    assert_eq!(sp.number, op.number);
    let (sv, ov) = (&sp.versions["SM_VERS"], &op.versions["SM_VERS"]);
    assert_eq!(sv.number, ov.number);
    let mut shared = 0;
    for (name, n) in &sv.procs {
        if let Some(ours) = ov.procs.get(name) {
            assert_eq!(n, ours, "{name}");
            shared += 1;
        }
        // No number means two different things in the two files.
        for (oname, on) in &ov.procs {
            assert!(on != n || oname == name, "{name} vs {oname} = {n}");
        }
    }
    assert!(shared >= 5, "SM_STAT..SM_SIMU_CRASH at least");
    assert_eq!(priv_size(&sys, "mon"), priv_size(&spec, "mon"));
    assert_eq!(priv_size(&sys, "status"), priv_size(&spec, "status"));
    assert_string_bounds(&sys, spec.consts["SM_MAXSTRLEN"], "system sm_inter.x");
    assert_eq!(sys.enums["res"], spec.enums["res"]);
    // Every struct both define has the same members in the same order.
    for (name, sys_fields) in &sys.structs {
        if let Some(our_fields) = spec.structs.get(name) {
            assert_eq!(sys_fields, our_fields, "struct {name}");
        }
    }
}

// ---------------------------------------------------------------------------
// The NLM callback.

fn nlm_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap()
}

#[test]
fn our_nlm_callback_matches_rust() {
    let spec = ours("nlm_callback.x");
    let prog = &spec.programs["NLM_PROG"];
    assert_eq!(prog.number, i(NLM_PROG));
    let by_name: BTreeMap<&str, i64> = prog
        .versions
        .iter()
        .map(|(n, v)| (n.as_str(), v.number))
        .collect();
    assert_eq!(
        by_name,
        BTreeMap::from([
            ("NLM_SM", i(NLM_SM)),
            ("NLM_VERS", i(NLM_VERS)),
            ("NLM_VERSX", i(NLM_VERSX)),
            ("NLM4_VERS", i(NLM4_VERS)),
        ])
    );
    // The (version, procedure) pairs in the file are exactly the allow-list.
    let mut in_file = BTreeSet::new();
    for v in prog.versions.values() {
        for (pname, p) in &v.procs {
            let expect = match pname.as_str() {
                "NLM_SM_NOTIFY" => i(NLM_SM_NOTIFY),
                "NLMPROC_NSM_NOTIFY" => i(NLMPROC_NSM_NOTIFY),
                "NLMPROC_NSM_NOTIFY_OLD" => i(NLMPROC_NSM_NOTIFY_OLD),
                other => panic!("unexpected procedure {other}"),
            };
            assert_eq!(*p, expect, "{pname}");
            in_file.insert((v.number, *p));
        }
    }
    let mut allowed = BTreeSet::new();
    for vers in -1..10 {
        for proc in -1..40 {
            if callback_allowed(nlm_i32(NLM_PROG), vers, proc) {
                allowed.insert((i(vers), i(proc)));
            }
        }
    }
    assert_eq!(in_file, allowed);
    // The callback argument is sm_inter.x's `status`.
    let sm = ours("sm_inter.x");
    assert_eq!(spec.structs["status"], sm.structs["status"]);
    assert_string_bounds(&spec, i(SM_MAXSTRLEN), "xdr/nlm_callback.x");
}

#[test]
fn our_nlm_callback_agrees_with_system_nlm_prot() {
    let Some(sys) = system("/usr/include/rpcsvc/nlm_prot.x") else {
        return;
    };
    let spec = ours("nlm_callback.x");
    let (sp, op) = (&sys.programs["NLM_PROG"], &spec.programs["NLM_PROG"]);
    assert_eq!(sp.number, op.number);
    assert_eq!(sp.number, i(NLM_PROG));
    for (vname, sv) in &sp.versions {
        // Versions named alike have the same number.
        if let Some(ov) = op.versions.get(vname) {
            assert_eq!(sv.number, ov.number, "{vname}");
        }
        // The callback procedures do not collide with real NLM procedures
        // of the same version number.
        for ov in op.versions.values().filter(|ov| ov.number == sv.number) {
            for (pname, p) in &ov.procs {
                assert!(
                    !sv.procs.values().any(|n| n == p),
                    "{pname} = {p} is an NLM procedure in version {}",
                    sv.number
                );
            }
        }
    }
    assert_eq!(sp.versions["NLM_VERS"].number, i(NLM_VERS));
    assert_eq!(sp.versions["NLM_VERSX"].number, i(NLM_VERSX));
}

// ---------------------------------------------------------------------------
// The reader itself.

#[test]
fn reader_handles_comments_passthrough_and_unions() {
    let text = "%#define X 1\n#ifdef RPC_HDR\n#endif\n/* a\n * b */ const A = 0x10;\n\
                union u switch (int d) { case 1: int x; default: void; };\n\
                typedef opaque t<A>;\n\
                struct s { opaque p[A]; string n<>; int v; string m<B>; };\n\
                enum e { one = 1, minus = -1 };\n\
                program P { version V { void F(s) = 2; } = 7; } = 99;\n";
    let spec = Parser {
        tokens: tokenize(text),
        pos: 0,
        spec: Spec::default(),
    }
    .parse();
    assert_eq!(spec.consts["A"], 16);
    let s = &spec.structs["s"];
    assert_eq!(s[0].fixed, Some(Size::Num(16)));
    assert_eq!(s[1].bound, Some(Size::Unbounded));
    assert_eq!(s[2].ty, ["int"]);
    assert_eq!(s[3].bound, Some(Size::Sym("B".into())));
    assert_eq!(spec.enums["e"]["minus"], -1);
    let p = &spec.programs["P"];
    assert_eq!((p.number, p.versions["V"].number), (99, 7));
    assert_eq!(p.versions["V"].procs["F"], 2);
}
