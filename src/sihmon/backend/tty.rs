//! The serial-line backend: the admin device is the line itself. Line
//! parameters are the ttydefs label's final flags ([`super::stty`]),
//! applied with termios as xbload sets a line (9600 cs8 cread unless
//! told otherwise); HDLC parameters have no meaning on a plain line and
//! are noted as such. Loading mode is an exclusive `flock` held on the
//! line, so that a second monitor or `sihadm -I` sees it taken. A line
//! counts as switched on.

use super::stty::{self, Flag, Setting};
use super::AdminDevice;
use crate::sihmon::tables::LinkParams;
use rustix::fs::{flock, FlockOperation};
use rustix::termios::{self, ControlModes, InputModes, OptionalActions, Termios};
use std::fs::File;
use std::io;
use std::path::Path;

/// An open serial line.
#[derive(Debug)]
pub struct TtyDevice {
    file: File,
}

impl TtyDevice {
    /// The line open as `file`.
    pub fn new(file: File) -> TtyDevice {
        TtyDevice { file }
    }
}

/// `settings` applied to `t`.
pub fn apply_settings(t: &mut Termios, settings: &[Setting]) -> io::Result<()> {
    for s in settings {
        match *s {
            Setting::Speed(bps) => t.set_speed(bps)?,
            Setting::Size(bits) => {
                t.control_modes.remove(ControlModes::CSIZE);
                t.control_modes.insert(match bits {
                    5 => ControlModes::CS5,
                    6 => ControlModes::CS6,
                    7 => ControlModes::CS7,
                    _ => ControlModes::CS8,
                });
            }
            Setting::Raw => t.make_raw(),
            Setting::Flag(flag, on) => match flag {
                Flag::Ixon => t.input_modes.set(InputModes::IXON, on),
                Flag::Ixoff => t.input_modes.set(InputModes::IXOFF, on),
                f => {
                    let c = match f {
                        Flag::Cstopb => ControlModes::CSTOPB,
                        Flag::Parenb => ControlModes::PARENB,
                        Flag::Parodd => ControlModes::PARODD,
                        Flag::Cread => ControlModes::CREAD,
                        Flag::Clocal => ControlModes::CLOCAL,
                        Flag::Hupcl => ControlModes::HUPCL,
                        _ => ControlModes::CRTSCTS,
                    };
                    t.control_modes.set(c, on);
                }
            },
        }
    }
    Ok(())
}

impl AdminDevice for TtyDevice {
    fn set_loading_mode(&mut self, on: bool) -> io::Result<()> {
        let op = if on {
            FlockOperation::NonBlockingLockExclusive
        } else {
            FlockOperation::Unlock
        };
        flock(&self.file, op).map_err(io::Error::from)
    }

    fn apply(&mut self, params: &LinkParams) -> io::Result<String> {
        let mut note = Vec::new();
        if let Some(tty) = &params.tty {
            let (settings, ignored) = stty::parse(&tty.fin);
            let mut t = termios::tcgetattr(&self.file)?;
            apply_settings(&mut t, &settings)?;
            termios::tcsetattr(&self.file, OptionalActions::Now, &t)?;
            note.push(format!("termios from ttydefs label {}", tty.label));
            if !ignored.is_empty() {
                note.push(format!("ignored: {}", ignored.join(" ")));
            }
        }
        if params.hdlc.is_some() {
            note.push("HDLC parameters do not apply to a serial line".into());
        }
        Ok(note.join("; "))
    }

    fn switched_on(&mut self) -> io::Result<bool> {
        Ok(true)
    }

    fn watch(&self) -> Option<&Path> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sihmon::tables::ttydefs::TtyDef;
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

    #[test]
    fn a_label_is_applied_to_a_pseudo_terminal() {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let path = std::path::PathBuf::from(name.to_str().unwrap());
        let mut dev = super::super::open(&path).unwrap();
        let params = LinkParams {
            tty: Some(TtyDef {
                label: "4800".into(),
                initial: String::new(),
                fin: "4800 cs8 cstopb clocal -hupcl erase ^h".into(),
            }),
            hdlc: None,
        };
        let note = dev.apply(&params).unwrap();
        assert!(note.contains("ignored: erase ^h"), "{note}");
        dev.set_loading_mode(true).unwrap();
        let slave = File::open(&path).unwrap();
        let t = termios::tcgetattr(&slave).unwrap();
        assert_eq!(t.output_speed(), 4800);
        assert!(t
            .control_modes
            .contains(ControlModes::CSTOPB | ControlModes::CLOCAL));
        assert!(!t.control_modes.contains(ControlModes::HUPCL));
        assert!(flock(&slave, FlockOperation::NonBlockingLockExclusive).is_err());
        dev.set_loading_mode(false).unwrap();
        assert!(dev.switched_on().unwrap());
    }
}
