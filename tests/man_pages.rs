//! The manual: a page in `man/` for every program of the multi-call binary,
//! each rendering with `man -l` without a groff warning, and `statmon.8`
//! naming every program.

#![allow(clippy::unwrap_used)]

mod common;

use common::prereq::{self, Need};
use std::path::{Path, PathBuf};
use std::process::Command;

fn page(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("man")
        .join(format!("{name}.8"))
}

fn programs() -> Vec<&'static str> {
    statmon::multicall::DAEMONS.iter().map(|d| d.name).collect()
}

#[test]
fn every_program_has_a_page_and_statmon_8_names_it() {
    let statmon = std::fs::read_to_string(page("statmon")).unwrap();
    for name in programs() {
        assert!(page(name).is_file(), "man/{name}.8 missing");
        let roff = name.replace('-', "\\-");
        assert!(
            statmon.contains(&format!(".B {roff}\n")),
            "statmon.8 does not list {name} among its programs"
        );
        assert!(
            statmon.contains(&format!(".BR {roff} (8)")),
            "statmon.8's SEE ALSO lacks {name}(8)"
        );
    }
}

#[test]
fn every_page_renders_without_warnings() {
    if !prereq::require(&[Need::Tool("man")]) {
        return;
    }
    for name in programs().into_iter().chain(["statmon"]) {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(page(name))
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man -l man/{name}.8: {warnings}");
        assert!(warnings.trim().is_empty(), "man/{name}.8: {warnings}");
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "man/{name}.8 rendered no NAME/SYNOPSIS:\n{text}"
        );
    }
}
