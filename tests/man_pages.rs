//! The manual: a page in `man/` for every program of the multi-call binary
//! (`man/<name>.<section>`: `8` for most, `1m` for the SVR4 daemons whose
//! seeds are 1M pages), every page rendering with `man -l` without a groff
//! warning, and `statmon.8` naming every program with its section.

#![allow(clippy::unwrap_used)]

mod common;

use common::prereq::{self, Need};
use std::path::{Path, PathBuf};
use std::process::Command;

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Every page in `man/` as (program name, section file extension).
fn pages() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(man_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            let (stem, ext) = name.rsplit_once('.')?;
            Some((stem.to_string(), ext.to_string()))
        })
        .collect();
    out.sort();
    out
}

fn page(name: &str, ext: &str) -> PathBuf {
    man_dir().join(format!("{name}.{ext}"))
}

fn programs() -> Vec<&'static str> {
    statmon::multicall::DAEMONS.iter().map(|d| d.name).collect()
}

#[test]
fn every_program_has_a_page_and_statmon_8_names_it() {
    let statmon = std::fs::read_to_string(page("statmon", "8")).unwrap();
    let pages = pages();
    for name in programs() {
        let Some((_, ext)) = pages.iter().find(|(stem, _)| stem == name) else {
            panic!("man/{name}.<section> missing");
        };
        let roff = name.replace('-', "\\-");
        assert!(
            statmon.contains(&format!(".B {roff}\n")),
            "statmon.8 does not list {name} among its programs"
        );
        let section = ext.to_uppercase();
        assert!(
            statmon.contains(&format!(".BR {roff} ({section})")),
            "statmon.8's SEE ALSO lacks {name}({section})"
        );
    }
}

#[test]
fn every_page_renders_without_warnings() {
    if !prereq::require(&[Need::Tool("man")]) {
        return;
    }
    for (name, ext) in pages() {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(page(&name, &ext))
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man -l man/{name}.{ext}: {warnings}");
        assert!(warnings.trim().is_empty(), "man/{name}.{ext}: {warnings}");
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "man/{name}.{ext} rendered no NAME/SYNOPSIS:\n{text}"
        );
    }
}
