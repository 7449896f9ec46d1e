//! mdmpd against the kernel's md driver, where the machine has one: a
//! raid1 over two loop devices, one member failed with `mdadm --fail`,
//! and mdmpd (watching raid1, putting paths back with mdadm) re-adding it.
//! Needs root, md (`/proc/mdstat`), mdadm and losetup; a kernel without
//! md skips it (counted), as `common::prereq` allows for kernel features.
#![allow(clippy::unwrap_used)]

mod common;

use common::prereq::{self, Need};
use common::STATMON;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `program args`, asserting success; its stdout.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Loop devices and the array, taken apart when dropped.
struct Md {
    loops: Vec<String>,
    md: Option<String>,
    _files: tempfile::TempDir,
}

impl Drop for Md {
    fn drop(&mut self) {
        if let Some(md) = &self.md {
            let _ = Command::new("mdadm").args(["--stop", md]).output();
        }
        for l in &self.loops {
            let _ = Command::new("mdadm")
                .args(["--zero-superblock", l])
                .output();
            let _ = Command::new("losetup").args(["-d", l]).output();
        }
    }
}

fn mdstat() -> String {
    std::fs::read_to_string("/proc/mdstat").unwrap_or_default()
}

#[test]
fn a_failed_raid1_member_is_re_added() {
    // The kernel first: without md, nothing else matters (and .ci/test
    // installs mdadm only where md is).
    let md_here = Path::new("/proc/mdstat").exists();
    if !prereq::require(&[Need::Kernel {
        feature: "md (/proc/mdstat)",
        present: md_here,
    }]) {
        return;
    }
    if !prereq::require(&[Need::Root, Need::Tool("mdadm"), Need::Tool("losetup")]) {
        return;
    }
    let mut md = Md {
        loops: Vec::new(),
        md: None,
        _files: tempfile::tempdir().unwrap(),
    };
    for n in 0..2 {
        let f = md._files.path().join(format!("disk{n}"));
        std::fs::write(&f, vec![0u8; 32 << 20]).unwrap();
        md.loops
            .push(run("losetup", &["-f", "--show", f.to_str().unwrap()]));
    }
    let dev = "/dev/md/statmon-mdmpd-test";
    run(
        "mdadm",
        &[
            "--create",
            dev,
            "--run",
            "--level=1",
            "--raid-devices=2",
            "--metadata=1.2",
            &md.loops[0],
            &md.loops[1],
        ],
    );
    md.md = Some(dev.to_string());
    let name = std::fs::canonicalize(dev)
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let member = Path::new(&md.loops[1])
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();

    // The system's /proc, /sys and /dev; our own /etc and /run.
    let root = tempfile::tempdir().unwrap();
    for d in ["proc", "sys", "dev"] {
        std::os::unix::fs::symlink(format!("/{d}"), root.path().join(d)).unwrap();
    }
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::create_dir_all(root.path().join("run")).unwrap();
    let mdadm = common::sandbox::which("mdadm").unwrap();
    std::fs::write(
        root.path().join("etc/mdmpd.conf"),
        format!(
            "LEVELS raid1\nPROBE-INTERVAL 1\nRESCAN-INTERVAL 1\nACTUATOR mdadm\nMDADM {}\n",
            mdadm.display()
        ),
    )
    .unwrap();
    let log: PathBuf = root.path().join("mdmpd.log");
    let mut child: Child = Command::new(STATMON)
        .arg("mdmpd")
        .env("STATMON_ROOT", root.path())
        .env("MDMPD_FOREGROUND", "1")
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(
                Instant::now() < deadline,
                "{what}\nlog:\n{}\nmdstat:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default(),
                mdstat()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("mdmpd did not start", &|| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("watching 1 md array")
    });
    run("mdadm", &[dev, "--fail", &md.loops[1]]);
    let readded = format!(
        "SpareActive event detected on md device /dev/{name}, component device /dev/{member}"
    );
    wait("the failed member was not re-added", &|| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(&readded)
    });
    assert!(
        !mdstat().contains(&format!("{member}[1](F)")),
        "{}",
        mdstat()
    );
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    drop(md);
}
