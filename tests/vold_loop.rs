//! The loop backend as root: a one-subdisk volume over a backing file
//! becomes a loop device; what is written through `/dev/vol/NAME` lands in
//! the file at the subdisk's offset; removing the volume detaches it.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/vold.rs"]
mod support;

use common::prereq::{require, Need};
use std::io::{Read, Seek, SeekFrom, Write};
use support::{one_volume, Tree};

#[test]
fn a_volume_is_a_loop_device_over_its_subdisk() {
    let loop_control = std::path::Path::new("/dev/loop-control").exists();
    if !require(&[
        Need::Root,
        Need::Tool("losetup"),
        Need::Kernel {
            feature: "loop devices (/dev/loop-control)",
            present: loop_control,
        },
    ]) {
        return;
    }
    let t = Tree::new();
    let backing = t.path("disk.img");
    std::fs::write(&backing, vec![0u8; 1 << 20]).unwrap();
    assert_eq!(t.vold(&["-b", "loop"]), 2);
    t.init_enabled(2);
    // Two subdisks in one plex: refused with a clear error.
    let two = format!(
        "sd a path={p} len=8\nsd b path={p} offset=8 len=8\nplex px sd=a,b\nvol vx len=16 plex=px\n",
        p = backing.display()
    );
    std::fs::write(t.path("two.desc"), two).unwrap();
    let (code, _, err) = t.status("volmake", &["-d", t.path("two.desc").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("vol vx: the loop backend needs plex px to be one subdisk, not 2"),
        "{err}"
    );
    // One subdisk at sector 64, 128 sectors long.
    std::fs::write(t.path("one.desc"), one_volume(&backing, 64, 128)).unwrap();
    t.ok("volmake", &["-d", t.path("one.desc").to_str().unwrap()]);
    let node = t.path("dev/vol/v1");
    let device = std::fs::read_link(&node).unwrap();
    assert!(
        device.to_string_lossy().starts_with("/dev/loop"),
        "{}",
        device.display()
    );
    assert_eq!(std::fs::read_link(t.path("dev/rvol/v1")).unwrap(), device);
    assert_eq!(std::fs::read_link(t.path("dev/plex/p1")).unwrap(), device);
    let size = std::fs::read_to_string(format!(
        "/sys/block/{}/size",
        device.file_name().unwrap().to_string_lossy()
    ))
    .unwrap();
    assert_eq!(size.trim(), "128", "the device is the subdisk's length");
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    {
        let mut f = std::fs::OpenOptions::new().write(true).open(&node).unwrap();
        f.seek(SeekFrom::Start(512)).unwrap();
        f.write_all(&data).unwrap();
        f.sync_all().unwrap();
    }
    let mut back = vec![0u8; data.len()];
    let mut b = std::fs::File::open(&backing).unwrap();
    b.seek(SeekFrom::Start(64 * 512 + 512)).unwrap();
    b.read_exact(&mut back).unwrap();
    assert_eq!(back, data, "the bytes landed in the subdisk");
    // Killed and started again, vold finds the device it made and keeps it.
    t.kill();
    assert_eq!(t.vold(&["-b", "loop"]), 0);
    assert_eq!(
        std::fs::read_link(&node).unwrap(),
        device,
        "rebuilt on enable, same device"
    );
    t.ok("volmake", &["vol", "nodata", "len=0"]);
    assert!(
        !t.path("dev/vol/nodata").exists(),
        "no plex: no device, no node"
    );
    // Removing the volume detaches the device.
    t.ok("voledit", &["rm", "-r", "v1"]);
    assert!(!node.exists() && std::fs::symlink_metadata(&node).is_err());
    let sys = format!(
        "/sys/block/{}/loop",
        device.file_name().unwrap().to_string_lossy()
    );
    assert!(
        !std::path::Path::new(&sys).exists(),
        "{sys} is still attached"
    );
    t.ok("voladm", &["halt"]);
}

#[test]
fn database_copies_live_in_regions_of_a_block_device() {
    let loop_control = std::path::Path::new("/dev/loop-control").exists();
    if !require(&[
        Need::Root,
        Need::Tool("losetup"),
        Need::Kernel {
            feature: "loop devices (/dev/loop-control)",
            present: loop_control,
        },
    ]) {
        return;
    }
    let t = Tree::new();
    let image = t.path("copies.img");
    std::fs::write(&image, vec![0u8; 1 << 20]).unwrap();
    let out = std::process::Command::new("losetup")
        .args(["--find", "--show"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(t.vold(&[]), 2);
    let (a, b) = (format!("{dev},16,256"), format!("{dev},512k,256"));
    t.ok("voladm", &["init", &a, &b]);
    t.ok("voladm", &["enable"]);
    t.ok("volmake", &["vol", "onblock", "len=0"]);
    let list = t.ok("voladm", &["-l"]);
    assert_eq!(list.matches(" ok 2").count(), 2, "{list}");
    // The copies sit at their offsets on the device (and so in the image).
    let bytes = std::fs::read(&image).unwrap();
    assert_eq!(&bytes[16 * 512..16 * 512 + 8], b"VOLDDB01");
    assert_eq!(
        &bytes[512 * 1024 + 512..512 * 1024 + 520],
        b"VOLDDB01",
        "generation 2's header"
    );
    t.kill();
    assert_eq!(t.vold(&[]), 0, "enabled again from the device");
    assert!(t.ok("volprint", &["-v"]).contains("onblock"));
    t.ok("voladm", &["halt"]);
    assert!(support::wait_until(10, || t.pid().is_none()));
    let _ = std::process::Command::new("losetup")
        .args(["-d", &dev])
        .status();
}
