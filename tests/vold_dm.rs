//! The device-mapper backend as root, where the kernel has device-mapper:
//! a volume whose plex is two subdisks on two loop devices becomes one
//! linear dm device; what is written through `/dev/vol/NAME` lands in
//! both, each at its subdisk's offset; removing the volume removes the
//! device.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/vold.rs"]
mod support;

use common::prereq::{require, Need};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;
use support::Tree;

/// Whether dmsetup talks to a device-mapper driver here.
fn dm_present() -> bool {
    Command::new("dmsetup")
        .arg("version")
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Driver version")
        })
}

/// A loop device over `file`, detached when dropped.
struct Loop(String);

impl Loop {
    fn over(file: &Path) -> Loop {
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Loop(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

fn read_at(file: &Path, at: u64, len: usize) -> Vec<u8> {
    let mut f = std::fs::File::open(file).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn a_volume_is_a_linear_dm_device_over_its_subdisks() {
    if !require(&[
        Need::Root,
        Need::Tool("dmsetup"),
        Need::Tool("losetup"),
        Need::Kernel {
            feature: "device-mapper",
            present: dm_present(),
        },
    ]) {
        return;
    }
    let t = Tree::new();
    let (img1, img2) = (t.path("one.img"), t.path("two.img"));
    std::fs::write(&img1, vec![0u8; 1 << 20]).unwrap();
    std::fs::write(&img2, vec![0u8; 1 << 20]).unwrap();
    let (l1, l2) = (Loop::over(&img1), Loop::over(&img2));
    assert_eq!(t.vold(&["-b", "dm"]), 2);
    t.init_enabled(2);
    let desc = format!(
        "sd a path={} offset=8 len=16\nsd b path={} offset=0 len=16\nplex p sd=a,b\nvol dmvol len=32 plex=p\n",
        l1.0, l2.0
    );
    std::fs::write(t.path("desc"), desc).unwrap();
    t.ok("volmake", &["-d", t.path("desc").to_str().unwrap()]);
    let node = t.path("dev/vol/dmvol");
    assert_eq!(
        std::fs::read_link(&node).unwrap(),
        Path::new("/dev/mapper/vold-dmvol")
    );
    let data: Vec<u8> = (0..32 * 512u32).map(|i| (i % 253) as u8).collect();
    {
        let mut f = std::fs::OpenOptions::new().write(true).open(&node).unwrap();
        f.write_all(&data).unwrap();
        f.sync_all().unwrap();
    }
    assert_eq!(
        read_at(&img1, 8 * 512, 16 * 512),
        data[..16 * 512],
        "the first subdisk"
    );
    assert_eq!(
        read_at(&img2, 0, 16 * 512),
        data[16 * 512..],
        "the second subdisk"
    );
    t.ok("voledit", &["rm", "-r", "dmvol"]);
    assert!(std::fs::symlink_metadata(&node).is_err());
    let info = Command::new("dmsetup")
        .args(["info", "vold-dmvol"])
        .output()
        .unwrap();
    assert!(!info.status.success(), "the dm device is still there");
    t.ok("voladm", &["halt"]);
}
