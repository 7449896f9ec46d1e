//! Reading nfs.conf files: the main file, its `.d` directory and the
//! includes, the way nfs-utils' `conf_init_file` finds them. Everything
//! else in this module is pure; this file is its only file access.
//!
//! Bounds: a file over [`MAX_FILE_BYTES`] is refused, and one load reads at
//! most [`MAX_FILES`] files (main file, `.d` files and includes together).
//! Only an unreadable main file is an error; every other problem is a
//! [`ConfWarning`].

use super::{version_cmp, ConfWarning, Included, NfsConf};
use std::path::{Path, PathBuf};

/// The largest configuration file read; bigger ones are refused.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Most files one load reads (main file, `.d` files and includes together).
pub const MAX_FILES: usize = 128;

/// nfs-utils' configuration file.
pub const SYSTEM_FILE: &str = "/etc/nfs.conf";

/// Reads `main` (which must exist), then the `*.conf` files of `dir` (if
/// given; it may be missing) in [`version_cmp`] order of their names; later
/// files win. Only an unreadable `main` is an error; every other problem is
/// a warning.
pub fn load_files(main: &Path, dir: Option<&Path>) -> std::io::Result<(NfsConf, Vec<ConfWarning>)> {
    let mut files_left = MAX_FILES;
    let mut warnings = Vec::new();
    let Some(mut conf) = load_one(main, &mut files_left, &mut warnings)? else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{}: no such file", main.display()),
        ));
    };
    if let Some(dir) = dir {
        conf.merge(load_dir(dir, &mut files_left, &mut warnings));
    }
    Ok((conf, warnings))
}

/// Reads the configuration the way nfs-utils' `conf_init_file(main)` does,
/// where nothing needs to exist: when `main` is under `/etc/`, first
/// `/usr/etc/…` and its `.d` directory (the vendor defaults); then `main`,
/// which if it exists **replaces** everything read so far; then `main.d`.
/// Only a `main` that exists but cannot be read is an error.
pub fn load_system(main: &Path) -> std::io::Result<(NfsConf, Vec<ConfWarning>)> {
    let mut files_left = MAX_FILES;
    let mut warnings = Vec::new();
    let mut conf = NfsConf::default();
    for file in system_files(main) {
        match load_one(&file, &mut files_left, &mut warnings) {
            Ok(Some(c)) => conf = c,
            Ok(None) => {}
            Err(e) if file == main => return Err(e),
            Err(e) => warnings.push(file_warning(&file, e.to_string())),
        }
        conf.merge(load_dir(&dot_d(&file), &mut files_left, &mut warnings));
    }
    Ok((conf, warnings))
}

/// The files [`load_system`] reads, in order (each followed by its `.d`).
pub fn system_files(main: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(rest) = main.strip_prefix("/etc") {
        files.push(Path::new("/usr/etc").join(rest));
    }
    files.push(main.to_path_buf());
    files
}

/// `<file>.d`.
fn dot_d(file: &Path) -> PathBuf {
    let mut d = file.as_os_str().to_owned();
    d.push(".d");
    PathBuf::from(d)
}

/// Reads and parses one file with its includes; `Ok(None)` if it is missing.
fn load_one(
    file: &Path,
    files_left: &mut usize,
    warnings: &mut Vec<ConfWarning>,
) -> std::io::Result<Option<NfsConf>> {
    let text = match read_text(file)? {
        Some(t) => t,
        None => return Ok(None),
    };
    *files_left = files_left.saturating_sub(1);
    let mut read = |path: &Path| {
        if *files_left == 0 {
            return Included::Failed(format!("more than {MAX_FILES} files"));
        }
        *files_left -= 1;
        match read_text(path) {
            Ok(Some(t)) => Included::Text(t),
            Ok(None) => Included::Missing,
            Err(e) => Included::Failed(e.to_string()),
        }
    };
    let (conf, w) = NfsConf::parse_with(&text, file, &mut read);
    warnings.extend(w);
    Ok(Some(conf))
}

/// The `*.conf` files of `dir` merged in order; a missing `dir` is empty.
fn load_dir(dir: &Path, files_left: &mut usize, warnings: &mut Vec<ConfWarning>) -> NfsConf {
    use std::os::unix::ffi::OsStrExt;
    let mut conf = NfsConf::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return conf,
        Err(e) => {
            warnings.push(file_warning(dir, e.to_string()));
            return conf;
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                warnings.push(file_warning(dir, e.to_string()));
                continue;
            }
        };
        let name = entry.file_name();
        let b = name.as_bytes();
        let usable = entry
            .file_type()
            .map(|t| t.is_file() || t.is_symlink())
            .unwrap_or(false);
        if usable && !b.starts_with(b".") && b.len() > ".conf".len() && b.ends_with(b".conf") {
            names.push(name);
        }
    }
    names.sort_by(|a, b| version_cmp(a.as_bytes(), b.as_bytes()));
    for name in names {
        let path = dir.join(name);
        if *files_left == 0 {
            let why = format!("more than {MAX_FILES} files, not read");
            warnings.push(file_warning(&path, why));
            continue;
        }
        match load_one(&path, files_left, warnings) {
            Ok(Some(c)) => conf.merge(c),
            Ok(None) => {}
            Err(e) => warnings.push(file_warning(&path, e.to_string())),
        }
    }
    conf
}

fn file_warning(file: &Path, message: String) -> ConfWarning {
    ConfWarning {
        file: file.to_path_buf(),
        line: None,
        message,
    }
}

/// The file as text (invalid UTF-8 replaced), under a shared `flock` as
/// nfs-utils reads it (its `nfsconf --set` rewrites under an exclusive one);
/// `Ok(None)` if it does not exist.
fn read_text(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_system_replaces_vendor_files_with_the_main_one() {
        assert_eq!(
            system_files(Path::new("/etc/nfs.conf")),
            [
                PathBuf::from("/usr/etc/nfs.conf"),
                PathBuf::from("/etc/nfs.conf")
            ]
        );
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("nfs.conf");
        assert_eq!(system_files(&main), std::slice::from_ref(&main));
        let (c, w) = load_system(&main).unwrap();
        assert_eq!((c, w.len()), (NfsConf::default(), 0), "nothing exists");
        let dir = tmp.path().join("nfs.conf.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("a.conf"), "[statd]\nport = 5\n").unwrap();
        let (c, _) = load_system(&main).unwrap();
        assert_eq!(c.get("statd", "port"), Some("5"));
        std::fs::write(&main, "[statd]\nport = 4\nname = m\n").unwrap();
        let (c, _) = load_system(&main).unwrap();
        assert_eq!(c.get("statd", "port"), Some("5"));
        assert_eq!(c.get("statd", "name"), Some("m"));
    }

    #[test]
    fn load_files_reads_main_then_dir_in_version_order() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("nfs.conf");
        let dir = tmp.path().join("nfs.conf.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(&main, "[statd]\nport = 1\nname = main\ninclude = -inc\n").unwrap();
        std::fs::write(tmp.path().join("inc"), "debug = all\n").unwrap();
        std::fs::write(dir.join("10-late.conf"), "[statd]\nport = 10\n").unwrap();
        std::fs::write(dir.join("9-early.conf"), "[statd]\nport = 9\nname = nine\n").unwrap();
        std::fs::write(dir.join("zz.conf.bak"), "[statd]\nport = 99\n").unwrap();
        std::fs::write(dir.join(".hidden.conf"), "[statd]\nport = 98\n").unwrap();
        std::fs::write(dir.join(".conf"), "[statd]\nport = 97\n").unwrap();
        std::fs::create_dir(dir.join("sub.conf")).unwrap();
        std::fs::write(dir.join("bad.conf"), "junk\n").unwrap();
        let (c, w) = load_files(&main, Some(&dir)).unwrap();
        assert_eq!(c.get("statd", "port"), Some("10"));
        assert_eq!(c.get("statd", "name"), Some("nine"));
        assert_eq!(c.get("statd", "debug"), Some("all"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].file, dir.join("bad.conf"));

        let (c, _) = load_files(&main, None).unwrap();
        assert_eq!(c.get("statd", "port"), Some("1"));
        assert!(load_files(&tmp.path().join("absent"), Some(&dir)).is_err());
        assert!(load_files(tmp.path(), None).is_err(), "a directory");
        let (c, w) = load_files(&main, Some(&tmp.path().join("absent.d"))).unwrap();
        assert_eq!((c.get("statd", "port"), w.len()), (Some("1"), 0));
    }

    #[test]
    fn load_files_refuses_huge_files() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("nfs.conf");
        let big = vec![b'#'; usize::try_from(MAX_FILE_BYTES).unwrap() + 1];
        std::fs::write(&main, big).unwrap();
        assert!(load_files(&main, None).is_err());
    }
}
