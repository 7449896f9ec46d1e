//! `vm.conf`, the media manager configuration (`/usr/openv/volmgr/vm.conf`):
//! one `KEY = VALUE` per line, `#` starts a comment.
//!
//! | key | value |
//! |---|---|
//! | `SERVER` | a registered media server (one line each; this host too) |
//! | `SSO_HOST_NAME` | this host's name among them (default: the host name) |
//! | `SSO_SCAN_ABILITY` | 0 (never the scan host) to 9999; default 1 |
//! | `SHARED_DRIVE` | `NAME path=PATH [robot=ROBOT] [down]` |
//! | `VMD_PORT` | vmd's TCP port, default 13701 |
//! | `SSO_HEARTBEAT` | seconds between heartbeats, default 100 (a peer silent for three is dropped) |
//! | `SSO_POLL_INTERVAL` | seconds between queries of the other hosts and drive probes, default 5 |
//! | `NOTIFY_TIMEOUT` | seconds `shared_drive_notify` may run, default 30 |
//! | `VERBOSE` | no value: more lines in the daemon log |
//!
//! A key this build does not know is a warning (vm.conf holds many
//! NetBackup settings); a bad value is an error naming the line.

use std::path::PathBuf;
use std::time::Duration;

/// vmd's port when `VMD_PORT` is not given.
pub const DEFAULT_VMD_PORT: u16 = 13701;

/// One shared drive of this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedDrive {
    pub name: String,
    /// This host's path to it (`/dev/nst0`).
    pub path: PathBuf,
    /// Its robot (`TLD0`); `None` for a standalone drive.
    pub robot: Option<String>,
    /// Configured DOWN.
    pub down: bool,
}

/// The settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmConf {
    pub servers: Vec<String>,
    pub host_name: Option<String>,
    pub scan_ability: u32,
    pub drives: Vec<SharedDrive>,
    pub vmd_port: u16,
    pub heartbeat: Duration,
    pub poll: Duration,
    pub notify_timeout: Duration,
    pub verbose: bool,
}

impl Default for VmConf {
    fn default() -> Self {
        VmConf {
            servers: Vec::new(),
            host_name: None,
            scan_ability: 1,
            drives: Vec::new(),
            vmd_port: DEFAULT_VMD_PORT,
            heartbeat: Duration::from_secs(100),
            poll: Duration::from_secs(5),
            notify_timeout: Duration::from_secs(30),
            verbose: false,
        }
    }
}

/// A line that cannot be used: its number (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub text: String,
}

impl VmConf {
    /// The settings in `text`, with warnings; `Err` at the first bad value.
    pub fn parse(text: &str) -> Result<(VmConf, Vec<Problem>), Problem> {
        let mut conf = VmConf::default();
        let mut warnings = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let bad = |text: String| Problem { line, text };
            let body = raw.split('#').next().unwrap_or("").trim();
            if body.is_empty() {
                continue;
            }
            let (key, value) = match body.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (body, ""),
            };
            match key {
                "SERVER" => {
                    let name =
                        one_word(value).ok_or_else(|| bad("SERVER needs one host name".into()))?;
                    if !conf.servers.iter().any(|s| s == name) {
                        conf.servers.push(name.to_string());
                    }
                }
                "SSO_HOST_NAME" => {
                    let name = one_word(value)
                        .ok_or_else(|| bad("SSO_HOST_NAME needs one host name".into()))?;
                    conf.host_name = Some(name.to_string());
                }
                "SSO_SCAN_ABILITY" => {
                    conf.scan_ability = number(value, 0, 9999).ok_or_else(|| {
                        bad(format!(
                            "SSO_SCAN_ABILITY '{value}' is not a number from 0 to 9999"
                        ))
                    })?
                }
                "VMD_PORT" => {
                    conf.vmd_port = number(value, 1, 65535)
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(|| bad(format!("VMD_PORT '{value}' is not a port")))?;
                }
                "SSO_HEARTBEAT" => {
                    conf.heartbeat = seconds(value).ok_or_else(|| bad(secs_error(key, value)))?
                }
                "SSO_POLL_INTERVAL" => {
                    conf.poll = seconds(value).ok_or_else(|| bad(secs_error(key, value)))?
                }
                "NOTIFY_TIMEOUT" => {
                    conf.notify_timeout =
                        seconds(value).ok_or_else(|| bad(secs_error(key, value)))?
                }
                "VERBOSE" => conf.verbose = true,
                "SHARED_DRIVE" => {
                    let drive = shared_drive(value).map_err(bad)?;
                    if conf.drives.iter().any(|d| d.name == drive.name) {
                        return Err(bad(format!("drive {} given twice", drive.name)));
                    }
                    conf.drives.push(drive);
                }
                other => warnings.push(Problem {
                    line,
                    text: format!("{other} is not used by this ltid"),
                }),
            }
        }
        Ok((conf, warnings))
    }
}

fn one_word(value: &str) -> Option<&str> {
    let mut words = value.split_whitespace();
    let w = words.next()?;
    words.next().is_none().then_some(w)
}

fn number(value: &str, min: u32, max: u32) -> Option<u32> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
}

fn seconds(value: &str) -> Option<Duration> {
    number(value, 1, 86_400).map(|n| Duration::from_secs(u64::from(n)))
}

fn secs_error(key: &str, value: &str) -> String {
    format!("{key} '{value}' is not a number of seconds from 1 to 86400")
}

fn shared_drive(value: &str) -> Result<SharedDrive, String> {
    let mut words = value.split_whitespace();
    let name = words
        .next()
        .ok_or("SHARED_DRIVE needs a drive name")?
        .to_string();
    if name.contains('=') {
        return Err(format!(
            "SHARED_DRIVE '{value}' starts with an option, not a drive name"
        ));
    }
    let mut drive = SharedDrive {
        name,
        path: PathBuf::new(),
        robot: None,
        down: false,
    };
    for w in words {
        match w.split_once('=') {
            Some(("path", p)) if p.starts_with('/') => drive.path = PathBuf::from(p),
            Some(("robot", r)) if !r.is_empty() => drive.robot = Some(r.to_string()),
            None if w == "down" => drive.down = true,
            _ => {
                return Err(format!(
                    "SHARED_DRIVE {}: unknown option '{w}' (path=/DEV, robot=NAME, down)",
                    drive.name
                ))
            }
        }
    }
    if drive.path.as_os_str().is_empty() {
        return Err(format!("SHARED_DRIVE {}: path=/DEV is missing", drive.name));
    }
    Ok(drive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let text = "# media servers\nSERVER = hosta\nSERVER = hostb\nSERVER=hosta\n\
            SSO_HOST_NAME = hostb\nSSO_SCAN_ABILITY = 0\n\
            SHARED_DRIVE = drv0 path=/dev/nst0 robot=TLD0\nSHARED_DRIVE = drv1 path=/dev/nst1 down\n\
            VMD_PORT = 23701\nSSO_HEARTBEAT = 2\nSSO_POLL_INTERVAL = 1\nVERBOSE\nMM_SERVER_NAME = x\n";
        let (c, w) = VmConf::parse(text).unwrap();
        assert_eq!(c.servers, ["hosta", "hostb"]);
        assert_eq!(c.host_name.as_deref(), Some("hostb"));
        assert_eq!(c.scan_ability, 0);
        assert_eq!(c.drives.len(), 2);
        assert_eq!(c.drives[0].robot.as_deref(), Some("TLD0"));
        assert!(c.drives[1].down && c.drives[1].robot.is_none());
        assert_eq!(c.vmd_port, 23701);
        assert_eq!(c.heartbeat, Duration::from_secs(2));
        assert_eq!(c.poll, Duration::from_secs(1));
        assert!(c.verbose);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].line, 13);
    }

    #[test]
    fn bad_values_name_their_line() {
        let e = VmConf::parse("SERVER = a\nSSO_SCAN_ABILITY = lots\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.text.contains("SSO_SCAN_ABILITY"), "{}", e.text);
        let e = VmConf::parse("SHARED_DRIVE = drv0 robot=TLD0\n").unwrap_err();
        assert!(e.text.contains("path=/DEV is missing"), "{}", e.text);
        let e = VmConf::parse("SHARED_DRIVE = d path=/a\nSHARED_DRIVE = d path=/b\n").unwrap_err();
        assert!(e.text.contains("twice"), "{}", e.text);
        assert!(VmConf::parse("VMD_PORT = 70000\n").is_err());
        assert!(VmConf::parse("SERVER = a b\n").is_err());
    }
}
