//! The module architecture, read from the source tree: tests/architecture.rs
//! fails the test command when the module graph under src/ has an import
//! cycle or code outside src/reactor uses mio.
//!
//! Every file under `src/` is a node (`src/lib.rs` is `crate`, `src/a/mod.rs`
//! and `src/a.rs` are `a`, `src/a/b.rs` is `a::b`). `src/main.rs`, the
//! binary, is its own node `main` whose `statmon::...` paths point into the
//! library; nothing points back at it, so it can never be on a cycle. A file
//! refers to a node when one of its paths (`use` trees, `crate::`, `super::`,
//! `self::` and names a `use` bound to a module, in any expression or type)
//! has that node as its longest module prefix. Comments, string and char
//! literals and `#[cfg(test)]` items are blanked first, so docs, strings and
//! test code don't count; files only a `#[cfg(test)] mod x;` declares are
//! left out. An edge from a module to its own ancestor is not a
//! cycle edge: children use what their parent declares, and a parent
//! declares and re-exports its children, so parent and child always refer
//! to each other. Macros used by bare name (textual scope) are invisible
//! here; their `use` is not.
//!
//! Also checked: the daemon toolkit (`daemon` and below) never refers to
//! `statd`, `service`, `portmap`, `proto`, `rpc` or `xdr` (it builds on
//! `reactor`, `sys` and `log`), and no file outside `src/reactor` names
//! `mio` (for this check `#[cfg(test)]` code counts too).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A module path below the crate root (empty for `src/lib.rs`).
type ModPath = Vec<String>;

/// Names a file's `use`s bound to modules (`use crate::sys::{self, X}`
/// binds `sys`), so that `sys::call()` later refers to `sys`.
type Bound = BTreeMap<String, ModPath>;

/// Modules the daemon toolkit must not refer to.
const DAEMON_FORBIDDEN: &[&str] = &["statd", "service", "portmap", "proto", "rpc", "xdr"];

/// A token of blanked source: an identifier, `::` or one punctuation char.
struct Token {
    text: String,
    line: usize,
}

/// A path as written in a file: its segments, the name it binds when it is
/// a `use` leaf, and the line of its last segment.
struct Reference {
    segments: Vec<String>,
    binds: Option<String>,
    line: usize,
}

/// A reference with `segments`, binding `binds`, on `line`.
fn reference(segments: Vec<String>, binds: Option<String>, line: usize) -> Reference {
    Reference {
        segments,
        binds,
        line,
    }
}

/// One source file as a node of the module graph.
struct Node {
    file: String,
    module: ModPath,
    /// What `crate` means in this file (`["main"]` for the binary).
    crate_root: ModPath,
    source: String,
}

/// A line that creates an edge.
struct Site {
    line: usize,
    text: String,
}

/// The module graph: nodes and every edge with the lines creating it.
struct Graph {
    nodes: Vec<Node>,
    edges: BTreeMap<(usize, usize), Vec<Site>>,
    /// How many nodes are test code only (`#[cfg(test)] mod x;` files).
    test_only: usize,
}

/// Whether `c` can be part of an identifier.
fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Blanks `chars[from..to]`, keeping newlines so line numbers stay right.
fn blank(chars: &mut [char], from: usize, to: usize) {
    let to = to.min(chars.len());
    for c in &mut chars[from..to] {
        if *c != '\n' {
            *c = ' ';
        }
    }
}

/// The end (exclusive) of the comment, string or char literal starting at
/// `i`, if one starts there. Lifetimes and labels are not literals.
fn literal_end(c: &[char], i: usize) -> Option<usize> {
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let boundary = |k: usize| k == 0 || !is_ident(c[k - 1]);
    match (at(i), at(i + 1)) {
        ('/', '/') => Some((i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len())),
        ('/', '*') => {
            let (mut depth, mut k) = (0usize, i);
            while k < c.len() {
                match (at(k), at(k + 1)) {
                    ('/', '*') => (depth, k) = (depth + 1, k + 2),
                    ('*', '/') => (depth, k) = (depth - 1, k + 2),
                    _ => k += 1,
                }
                if depth == 0 {
                    return Some(k);
                }
            }
            Some(c.len())
        }
        ('"', _) => {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            Some(k + 1)
        }
        ('r', _) if boundary(i) || (matches!(at(i - 1), 'b' | 'c') && boundary(i - 1)) => {
            let hashes = (i + 1..c.len()).take_while(|&k| c[k] == '#').count();
            if at(i + 1 + hashes) != '"' {
                return None;
            }
            let close: Vec<char> = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            let body = i + 2 + hashes;
            let end = (body..c.len()).find(|&k| c[k..].starts_with(&close));
            Some(end.map_or(c.len(), |k| k + close.len()))
        }
        ('\'', '\\') => Some(
            (i + 3..c.len())
                .find(|&k| c[k] == '\'')
                .map_or(c.len(), |k| k + 1),
        ),
        ('\'', _) if at(i + 2) == '\'' => Some(i + 3),
        _ => None,
    }
}

/// The source with comments and string/char literals blanked.
fn strip_literals(src: &str) -> Vec<char> {
    let mut chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match literal_end(&chars, i) {
            Some(end) => {
                blank(&mut chars, i, end);
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    chars
}

/// Blanks every `#[cfg(test)]` item: from the attribute to its `;` or to
/// the brace matching the first `{` after it.
fn strip_cfg_test(chars: &mut [char]) {
    let attr: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + attr.len() <= chars.len() {
        if chars[i..].starts_with(&attr) {
            let end = item_end(chars, i + attr.len());
            blank(chars, i, end);
            i = end;
        } else {
            i += 1;
        }
    }
}

/// The end (exclusive) of the item starting at `from`.
fn item_end(chars: &[char], from: usize) -> usize {
    let mut depth = 0usize;
    for (k, &c) in chars.iter().enumerate().skip(from) {
        match c {
            ';' if depth == 0 => return k + 1,
            '{' => depth += 1,
            '}' if depth <= 1 => return k + 1,
            '}' => depth -= 1,
            _ => {}
        }
    }
    chars.len()
}

/// Identifiers (raw ones without their `r#`), `::` and single punctuation.
fn tokenize(chars: &[char]) -> Vec<Token> {
    let (mut tokens, mut line, mut i) = (Vec::new(), 1, 0);
    while i < chars.len() {
        let c = chars[i];
        let len = if is_ident(c) {
            (i..chars.len()).take_while(|&k| is_ident(chars[k])).count()
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            2
        } else {
            1
        };
        let text: String = chars[i..i + len].iter().collect();
        if text == "r" && chars.get(i + 1) == Some(&'#') {
            i += 2;
            continue;
        }
        if c == '\n' {
            line += 1;
        } else if !c.is_whitespace() {
            tokens.push(Token { text, line });
        }
        i += len;
    }
    tokens
}

/// Parses the `use` tree at `*pos` below `prefix`, pushing one reference per
/// leaf (a glob leaf is its prefix).
fn use_tree(t: &[Token], pos: &mut usize, prefix: Vec<String>, out: &mut Vec<Reference>) {
    let mut path = prefix;
    while let Some(tok) = t.get(*pos) {
        let line = tok.line;
        match tok.text.as_str() {
            "::" => *pos += 1,
            "*" => {
                *pos += 1;
                out.push(reference(path, None, line));
                return;
            }
            "{" => {
                *pos += 1;
                while t.get(*pos).is_some_and(|tok| tok.text != "}") {
                    let before = *pos;
                    use_tree(t, pos, path.clone(), out);
                    if t.get(*pos).is_some_and(|tok| tok.text == ",") || *pos == before {
                        *pos += 1;
                    }
                }
                *pos += 1;
                return;
            }
            word if word.starts_with(is_ident) => {
                *pos += 1;
                if t.get(*pos).is_some_and(|tok| tok.text == "::") {
                    path.push(word.to_string());
                    continue;
                }
                if word != "self" {
                    path.push(word.to_string());
                }
                let mut binds = path.last().cloned();
                if t.get(*pos).is_some_and(|tok| tok.text == "as") {
                    binds = t.get(*pos + 1).map(|tok| tok.text.clone());
                    *pos += 2;
                }
                out.push(reference(path, binds, line));
                return;
            }
            _ => return,
        }
    }
}

/// Every path in `src` (after blanking comments, literals and test items):
/// each `use` leaf, and each `a::b::c` outside `use` not preceded by `::`
/// or `.`. Which of them name modules of this crate is the resolver's job.
fn scan(src: &str) -> Vec<Reference> {
    let mut chars = strip_literals(src);
    strip_cfg_test(&mut chars);
    let t = tokenize(&chars);
    let (mut out, mut i) = (Vec::new(), 0);
    while i < t.len() {
        let after_path = i > 0 && matches!(t[i - 1].text.as_str(), "::" | ".");
        if t[i].text == "use" {
            i += 1;
            use_tree(&t, &mut i, Vec::new(), &mut out);
        } else if !after_path
            && t[i].text.starts_with(is_ident)
            && t.get(i + 1).is_some_and(|n| n.text == "::")
        {
            let line = t[i].line;
            let mut segments = vec![t[i].text.clone()];
            i += 1;
            while t.get(i).is_some_and(|n| n.text == "::")
                && t.get(i + 1).is_some_and(|n| n.text.starts_with(is_ident))
            {
                segments.push(t[i + 1].text.clone());
                i += 2;
            }
            out.push(reference(segments, None, line));
        } else {
            i += 1;
        }
    }
    out
}

/// The absolute module path `segments` names from `node`, given the names
/// its `use`s bound to modules; `None` when it starts outside this crate.
fn absolute(node: &Node, segments: &[String], bound: &Bound) -> Option<ModPath> {
    let (first, rest) = segments.split_first()?;
    let mut base = match first.as_str() {
        "crate" => node.crate_root.clone(),
        "self" | "super" => node.module.clone(),
        "statmon" if !node.crate_root.is_empty() => Vec::new(),
        name => bound.get(name)?.clone(),
    };
    let mut rest = rest;
    if first == "super" {
        base.pop()?;
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The longest prefix of `path` that is a module of `modules`.
fn longest_module(path: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

/// The modules `node` refers to, each with the line referring to it.
fn targets(node: &Node, modules: &BTreeSet<ModPath>) -> Vec<(ModPath, usize)> {
    let refs = scan(&node.source);
    let mut bound = BTreeMap::new();
    for r in refs.iter().filter(|r| r.binds.is_some()) {
        let abs = absolute(node, &r.segments, &Bound::new());
        if let (Some(abs), Some(name)) = (abs, &r.binds) {
            if modules.contains(&abs) {
                bound.insert(name.clone(), abs);
            }
        }
    }
    refs.iter()
        .filter_map(|r| {
            Some((
                longest_module(&absolute(node, &r.segments, &bound)?, modules)?,
                r.line,
            ))
        })
        .collect()
}

/// Whether the edge `a -> b` is a cycle edge: `b` is not `a` nor one of
/// its ancestors. A parent's edges to its children do count: they alone
/// never close a cycle (the way back up is dropped), but a cycle through a
/// re-exporting `mod.rs` (`reactor -> reactor::context -> service ->
/// reactor`) is only seen with them.
fn counts(a: &[String], b: &[String]) -> bool {
    !a.starts_with(b)
}

/// The node for `file` (relative to `src/`) holding `source`.
fn node(file: &str, source: &str) -> Node {
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let mut module: ModPath = stem.split('/').map(str::to_string).collect();
    if file == "lib.rs" || module.last().is_some_and(|m| m == "mod") {
        module.pop();
    }
    let crate_root = if file == "main.rs" {
        module.clone()
    } else {
        Vec::new()
    };
    let (file, source) = (format!("src/{file}"), source.to_string());
    Node {
        file,
        module,
        crate_root,
        source,
    }
}

/// Every `.rs` file under `dir`, relative to `root`.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap().to_string_lossy();
            out.push(relative.replace('\\', "/"));
        }
    }
}

/// Line `line` (from 1) of `src`, trimmed.
fn line_text(src: &str, line: usize) -> String {
    src.lines().nth(line - 1).unwrap_or("").trim().to_string()
}

/// The module graph of the source tree under `src/`.
fn load_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    files.sort();
    let read = |file: &String| node(file, &fs::read_to_string(src.join(file)).unwrap());
    graph_of(files.iter().map(read).collect())
}

/// Child modules declared `#[cfg(test)] mod name;` in `src`.
fn test_only_children(src: &str) -> Vec<String> {
    let t = tokenize(&strip_literals(src));
    let words: Vec<&str> = t.iter().map(|t| t.text.as_str()).collect();
    let attr = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::new();
    for at in (0..words.len()).filter(|&i| words[i..].starts_with(&attr)) {
        let item = &words[at + attr.len()..];
        let mod_at = item
            .iter()
            .take_while(|w| matches!(**w, "pub" | "(" | ")" | "crate" | "super"))
            .count();
        if let ["mod", name, ";", ..] = item[mod_at..] {
            out.push(name.to_string());
        }
    }
    out
}

/// The graph of `nodes`; files only `#[cfg(test)]` declares are left out.
fn graph_of(nodes: Vec<Node>) -> Graph {
    let index: BTreeMap<ModPath, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.module.clone(), i))
        .collect();
    let modules: BTreeSet<ModPath> = index.keys().cloned().collect();
    let test_only: Vec<ModPath> = nodes
        .iter()
        .flat_map(|n| {
            test_only_children(&n.source)
                .into_iter()
                .map(|c| [&n.module[..], &[c]].concat())
        })
        .collect();
    let in_tests = |i: usize| test_only.iter().any(|t| nodes[i].module.starts_with(t));
    let mut edges: BTreeMap<(usize, usize), Vec<Site>> = BTreeMap::new();
    for (a, node) in nodes.iter().enumerate().filter(|&(a, _)| !in_tests(a)) {
        for (target, line) in targets(node, &modules) {
            let text = line_text(&node.source, line);
            let b = index[&target];
            let sites = edges.entry((a, b)).or_default();
            if a != b && !in_tests(b) && sites.last().is_none_or(|s| s.line != line) {
                sites.push(Site { line, text });
            }
        }
    }
    edges.retain(|_, sites| !sites.is_empty());
    let test_only = (0..nodes.len()).filter(|&i| in_tests(i)).count();
    Graph {
        nodes,
        edges,
        test_only,
    }
}

impl Graph {
    /// Adjacency lists of the cycle edges.
    fn cycle_edges(&self) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); self.nodes.len()];
        for &(a, b) in self.edges.keys() {
            if counts(&self.nodes[a].module, &self.nodes[b].module) {
                adj[a].push(b);
            }
        }
        adj
    }

    /// The import cycles (components of more than one node) and a report
    /// naming each one's files and, per cycle edge, the lines creating it.
    fn cycles(&self) -> (Vec<Vec<usize>>, String) {
        let adj = self.cycle_edges();
        let found = cycles(&adj);
        let mut out = String::new();
        for scc in &found {
            out += "import cycle among:\n";
            scc.iter()
                .for_each(|&v| out += &format!("  {}\n", self.name(v)));
            for &a in scc {
                for &b in adj[a].iter().filter(|b| scc.contains(b)) {
                    out += &format!(
                        "  {} -> {}\n{}",
                        self.name(a),
                        self.name(b),
                        self.sites(a, b)
                    );
                }
            }
        }
        (found, out)
    }

    /// Every edge from `daemon` (or below) to a module of
    /// `DAEMON_FORBIDDEN` (or below), with the lines creating it.
    fn daemon_violations(&self) -> String {
        let top = |i: usize| self.nodes[i].module.first().map_or("", String::as_str);
        let mut bad = String::new();
        for &(a, b) in self.edges.keys() {
            if top(a) == "daemon" && DAEMON_FORBIDDEN.contains(&top(b)) {
                bad += &format!(
                    "  {} -> {}\n{}",
                    self.name(a),
                    self.name(b),
                    self.sites(a, b)
                );
            }
        }
        bad
    }

    /// `file:line: text` for every line naming mio outside `src/reactor`.
    fn mio_violations(&self) -> String {
        let outside = self
            .nodes
            .iter()
            .filter(|n| n.module.first().is_none_or(|m| m != "reactor"));
        let mut bad = String::new();
        for node in outside {
            for line in mio_lines(&node.source) {
                bad += &format!(
                    "  {}:{line}: {}\n",
                    node.file,
                    line_text(&node.source, line)
                );
            }
        }
        bad
    }

    /// `file (module)` for reports.
    fn name(&self, i: usize) -> String {
        let module: String = self.nodes[i]
            .module
            .iter()
            .map(|m| format!("::{m}"))
            .collect();
        format!("{} (crate{module})", self.nodes[i].file)
    }

    /// `file:line: text` for every line creating the edge `a -> b`.
    fn sites(&self, a: usize, b: usize) -> String {
        let file = &self.nodes[a].file;
        let sites = self.edges.get(&(a, b)).map(Vec::as_slice).unwrap_or(&[]);
        sites
            .iter()
            .map(|s| format!("      {file}:{}: {}\n", s.line, s.text))
            .collect()
    }
}

/// Tarjan's state: visit order (0 = not yet visited), lowlinks, the stack.
#[derive(Default)]
struct Tarjan {
    index: Vec<usize>,
    low: Vec<usize>,
    stack: Vec<usize>,
    next: usize,
    found: Vec<Vec<usize>>,
}

impl Tarjan {
    /// Visits `v` and, depth first, everything it reaches.
    fn visit(&mut self, adj: &[Vec<usize>], v: usize) {
        self.next += 1;
        (self.index[v], self.low[v]) = (self.next, self.next);
        self.stack.push(v);
        for &w in &adj[v] {
            if self.index[w] == 0 {
                self.visit(adj, w);
                self.low[v] = self.low[v].min(self.low[w]);
            } else if self.stack.contains(&w) {
                self.low[v] = self.low[v].min(self.index[w]);
            }
        }
        if self.low[v] == self.index[v] {
            let at = self.stack.iter().rposition(|&w| w == v).unwrap_or(0);
            let mut scc = self.stack.split_off(at);
            scc.sort_unstable();
            if scc.len() > 1 {
                self.found.push(scc);
            }
        }
    }
}

/// Tarjan's strongly connected components with more than one node.
fn cycles(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut t = Tarjan {
        index: vec![0; n],
        low: vec![0; n],
        ..Tarjan::default()
    };
    for v in 0..n {
        if t.index[v] == 0 {
            t.visit(adj, v);
        }
    }
    t.found
}

#[test]
fn no_import_cycle_between_modules_under_src() {
    let graph = load_graph();
    let counted: usize = graph.cycle_edges().iter().map(Vec::len).sum();
    let (found, report) = graph.cycles();
    let nodes = graph.nodes.len() - graph.test_only;
    println!(
        "architecture: {nodes} nodes ({} test-only files left out), {} edges, \
         {counted} cycle edges (not to an own ancestor), {} cycles",
        graph.test_only,
        graph.edges.len(),
        found.len()
    );
    assert!(
        nodes > 80,
        "only {nodes} files under src/: is the walk broken?"
    );
    assert!(
        counted > 100,
        "only {counted} cycle edges: is the scanner broken?"
    );
    assert!(
        found.is_empty(),
        "{} import cycle(s) under src/:\n{report}",
        found.len()
    );
}

#[test]
fn the_daemon_toolkit_refers_only_to_reactor_sys_and_log() {
    let bad = load_graph().daemon_violations();
    assert!(
        bad.is_empty(),
        "src/daemon refers to modules above the toolkit:\n{bad}"
    );
}

#[test]
fn mio_is_named_only_in_src_reactor() {
    let bad = load_graph().mio_violations();
    assert!(bad.is_empty(), "mio outside src/reactor:\n{bad}");
}

/// Lines naming the `mio` crate (`use mio`, `mio::`, `extern crate mio`)
/// outside comments and literals; `#[cfg(test)]` code counts.
fn mio_lines(src: &str) -> Vec<usize> {
    let t = tokenize(&strip_literals(src));
    (0..t.len())
        .filter(|&i| t[i].text == "mio" && (i == 0 || t[i - 1].text != "."))
        .map(|i| t[i].line)
        .collect()
}

const SNIPPET: &str = r##"//! Docs name crate::doc::Ignored and use crate::doc2;
use crate::{a::b, c::{d, e as f}};
use super::{x, y::*};
use self::child::{self as kid, Thing};
/* crate::block::Ignored /* crate::nested::Ignored */ crate::still::Ignored */
fn g<'a>(s: &'a str) -> crate::h::Item {
    let _ = ("crate::string::Ignored", r#"crate::raw::"Ignored"#, b'"', '{', br"crate::bytes::Ignored");
    crate::k::call(s.len()); // crate::line::Ignored
    kid::run();
}
#[cfg(test)]
mod tests {
    use crate::test_only::Ignored;
    fn t() { crate::test_only::call(); }
}
fn after() -> crate::z::Z { std::mem::zeroed::<crate::w::W>() }
"##;

#[test]
fn the_scanner_finds_paths_in_use_groups_and_ignores_comments_and_strings() {
    let refs = scan(SNIPPET);
    let got: Vec<String> = refs
        .iter()
        .map(|r| format!("{}@{}", r.segments.join("::"), r.line))
        .collect();
    let want = "crate::a::b@2 crate::c::d@2 crate::c::e@2 super::x@3 super::y@3 \
                self::child@4 self::child::Thing@4 crate::h::Item@6 crate::k::call@8 \
                kid::run@9 crate::z::Z@16 std::mem::zeroed@16 crate::w::W@16";
    assert_eq!(got.join(" "), want);
    assert_eq!(
        (refs[2].binds.as_deref(), refs[5].binds.as_deref()),
        (Some("f"), Some("kid"))
    );
    let mio = "// mio::Token\nlet s = \"use mio\";\nuse mio::Token;\nx.mio;\nextern crate mio;";
    assert_eq!(mio_lines(mio), vec![3, 5]);
    let tests = "#[cfg(test)]\nmod proptests;\n#[cfg(test)]\npub(crate) mod fixtures;\nmod real;";
    assert_eq!(test_only_children(tests), ["proptests", "fixtures"]);
}

#[test]
fn paths_resolve_to_the_longest_module_prefix_through_bound_names() {
    let files = [
        "lib.rs",
        "daemon/mod.rs",
        "daemon/run.rs",
        "statd/mod.rs",
        "statd/config/mod.rs",
    ];
    let modules: BTreeSet<ModPath> = files.iter().map(|f| node(f, "").module).collect();
    let src = "use crate::statd::config;\nfn f() {\n    config::Config::new();\n    \
               crate::daemon::run::bootstrap(super::super::statd::X)\n}";
    let got: Vec<String> = targets(&node("statd/glue/x.rs", src), &modules)
        .into_iter()
        .map(|(m, line)| format!("{}@{line}", m.join("::")))
        .collect();
    assert_eq!(
        got,
        [
            "statd::config@1",
            "statd::config@3",
            "daemon::run@4",
            "statd@4"
        ]
    );
    let (parent, child) = (
        node("statd/mod.rs", "").module,
        node("statd/glue/mod.rs", "").module,
    );
    assert!(counts(&parent, &child) && !counts(&child, &parent) && !counts(&child, &child));
    assert!(counts(&child, &node("statd/config.rs", "").module));
}

#[test]
fn a_three_node_cycle_is_found_and_a_chain_is_not() {
    // 0 -> 1 -> 2 -> 0 is a cycle; 3 -> 0 and 2 -> 4 only hang off it.
    assert_eq!(
        cycles(&[vec![1], vec![2], vec![0, 4], vec![0], vec![]]),
        [[0, 1, 2]]
    );
    assert!(cycles(&[vec![1], vec![2], vec![], vec![0]]).is_empty());
}

#[test]
fn cycles_through_files_and_re_exports_are_reported_with_their_lines() {
    let graph = graph_of(vec![
        node("lib.rs", "pub mod a;\npub mod b;\npub mod c;"),
        node("a.rs", "use crate::b::X;"),
        node("b.rs", "fn f() {\n    crate::c::g()\n}"),
        node(
            "c/mod.rs",
            "mod d;\nuse super::a;\npub use self::d::Y;\nfn h() { a::z() }",
        ),
        node(
            "c/d.rs",
            "use super::Z;\n#[cfg(test)]\nmod t { use crate::b::Q; }",
        ),
        node(
            "daemon/x.rs",
            "use crate::rpc::Call;\nfn f(p: &mio::Poll) {}",
        ),
        node("rpc.rs", "// use crate::daemon::x;\npub struct Call;"),
        node("r/mod.rs", "mod ctx;\npub use self::ctx::Context;"),
        node("r/ctx.rs", "use super::Other;\nfn f() { crate::s::g() }"),
        node("s.rs", "use crate::r::Context;"),
    ]);
    let (found, report) = graph.cycles();
    assert_eq!(found, [vec![1, 2, 3], vec![7, 8, 9]], "{report}");
    let want = [
        "src/a.rs:1: use crate::b::X;",
        "src/b.rs:2: crate::c::g()",
        "src/c/mod.rs:4: fn h() { a::z() }",
        "src/r/mod.rs:2: pub use self::ctx::Context;",
        "src/r/ctx.rs:2: fn f() { crate::s::g() }",
        "src/s.rs:1: use crate::r::Context;",
    ];
    for line in want {
        assert!(report.contains(line), "{line} missing from:\n{report}");
    }
    assert!(
        !report.contains("src/c/d.rs") && !report.contains("rpc.rs"),
        "{report}"
    );
    assert!(graph
        .daemon_violations()
        .contains("src/daemon/x.rs:1: use crate::rpc::Call;"));
    assert_eq!(
        graph.mio_violations(),
        "  src/daemon/x.rs:2: fn f(p: &mio::Poll) {}\n"
    );
}
