//! The file backend: the admin device is a text file of `key value`
//! lines. The monitor writes `loadmode 1|0`, `tty <stty words>` and
//! `hdlc <parameters>`; `power on|off` is read (missing: on), written by
//! whoever plays the hardware (a test). Other lines are kept.

use super::AdminDevice;
use crate::sihmon::tables::LinkParams;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Most bytes of the file read.
const MAX: u64 = 64 * 1024;

/// An open file admin device.
#[derive(Debug)]
pub struct FileDevice {
    file: File,
    path: PathBuf,
}

impl FileDevice {
    /// The device whose file `file` (opened read-write) is at `path`.
    pub fn new(file: File, path: PathBuf) -> FileDevice {
        FileDevice { file, path }
    }

    fn read(&mut self) -> io::Result<String> {
        self.file.rewind()?;
        let mut bytes = Vec::new();
        (&mut self.file).take(MAX).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sets `key` to `value` (replacing its line, or adding one).
    fn set(&mut self, key: &str, value: &str) -> io::Result<()> {
        let text = self.read()?;
        let out = with_key(&text, key, value);
        self.file.rewind()?;
        self.file.set_len(0)?;
        self.file.write_all(out.as_bytes())?;
        // Done means on disk: `sihadm -I` says so once this returns.
        self.file.sync_data()
    }
}

/// `text` with the line of `key` set to `value`.
pub fn with_key(text: &str, key: &str, value: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in text.lines() {
        if key_of(line) == Some(key) {
            if !done {
                out.push_str(&format!("{key} {value}\n"));
                done = true;
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !done {
        out.push_str(&format!("{key} {value}\n"));
    }
    out
}

/// The value of `key` in `text`.
pub fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| key_of(l) == Some(key))
        .map(|l| l.trim()[key.len()..].trim())
}

fn key_of(line: &str) -> Option<&str> {
    line.split_whitespace().next()
}

impl AdminDevice for FileDevice {
    fn set_loading_mode(&mut self, on: bool) -> io::Result<()> {
        self.set("loadmode", if on { "1" } else { "0" })
    }

    fn apply(&mut self, params: &LinkParams) -> io::Result<String> {
        let mut note = Vec::new();
        if let Some(tty) = &params.tty {
            self.set("tty", &tty.fin)?;
            note.push(format!("tty {}", tty.fin));
        }
        if let Some(hdlc) = &params.hdlc {
            self.set("hdlc", &hdlc.render())?;
            note.push(format!("hdlc {}", hdlc.render()));
        }
        Ok(note.join("; "))
    }

    fn switched_on(&mut self) -> io::Result<bool> {
        let text = self.read()?;
        Ok(value_of(&text, "power") != Some("off"))
    }

    fn watch(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sihmon::tables::hdlc::HdlcDef;

    #[test]
    fn keys_are_set_and_other_lines_kept() {
        assert_eq!(
            with_key("power off\nx 1\n", "loadmode", "1"),
            "power off\nx 1\nloadmode 1\n"
        );
        assert_eq!(
            with_key("loadmode 1\nloadmode 1\n", "loadmode", "0"),
            "loadmode 0\n"
        );
        assert_eq!(value_of("power  off \n", "power"), Some("off"));
        assert_eq!(value_of("powerx on\n", "power"), None);
    }

    #[test]
    fn the_device_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adm");
        std::fs::write(&path, "power off\n").unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut dev = FileDevice::new(file, path.clone());
        dev.set_loading_mode(true).unwrap();
        assert!(!dev.switched_on().unwrap());
        let params = LinkParams {
            tty: None,
            hdlc: Some(HdlcDef {
                label: "a".into(),
                address: 1,
                window: 2,
                t1_ms: 3,
                n2: 4,
                framesize: 16,
            }),
        };
        assert!(dev.apply(&params).unwrap().starts_with("hdlc address=1"));
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap().replace("off", "on"),
        )
        .unwrap();
        assert!(dev.switched_on().unwrap());
        dev.set_loading_mode(false).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(value_of(&text, "loadmode"), Some("0"));
        assert_eq!(
            value_of(&text, "hdlc"),
            Some("address=1 window=2 t1=3 n2=4 framesize=16")
        );
    }
}
