//! The nfs-utils on-disk formats (`support/nsm/file.c`), as pure functions:
//! record lines of `sm/<host>` and `sm.bak/<host>`, the `state` file, and the
//! rule that turns a mon_name into a file name.
//!
//! A record line is
//! `AAAAAAAA PPPPPPPP VVVVVVVV RRRRRRRR <32 hex priv> <mon_name> <my_name>\n`
//! where `AAAAAAAA` is `%08x` of `sin_addr.s_addr` of 127.0.0.1 read as a
//! native integer (`0100007f` on little-endian hosts). The address is ignored
//! by every reader; we always write 127.0.0.1, as rpc.statd does.
//!
//! File names: nfs-utils names the file after the canonical DNS name of
//! mon_name (the literal when an address has no PTR). We do no DNS, so a new
//! host's file is the mon_name ASCII-lower-cased ([`file_name_for`]): an IP
//! literal stays the literal (what Debian writes for addresses without a
//! reverse map), a name becomes a name the resolver still finds, and two
//! spellings that differ only in case share one file, as the identity rules
//! require. Files written by Debian under another name (e.g. the FQDN of a
//! short mon_name) are read and kept under their own name by the store.
//!
//! # Panic contract
//!
//! Nothing here panics, whatever the bytes.

use crate::statd::record::Registration;
use crate::statd::store::state::Stored;

/// `%08x` of 127.0.0.1's `s_addr` as nfs-utils stores it on this host.
pub const LOOPBACK_FIELD: u32 = u32::from_ne_bytes([127, 0, 0, 1]);

/// Length of the fixed prefix: four `%08x ` fields.
const RPCARGSLEN: usize = 4 * 9;
/// The fixed prefix plus the 32 hex digits of priv and one separator.
const LINELEN: usize = RPCARGSLEN + 32 + 1;
/// nfs-utils' line buffer (`LINELEN + 1 + SM_MAXSTRLEN + 2`): `fgets` reads
/// at most one byte less, the newline included.
pub const LINE_BUFFER: usize = LINELEN + 1 + 1024 + 2;
/// Longest mon_name + my_name a line may carry so that nfs-utils writes and
/// reads it whole.
pub const MAX_NAMES_LEN: usize = LINE_BUFFER - LINELEN - 3;
/// Longest file name (`NAME_MAX`).
pub const MAX_FILE_NAME: usize = 255;

/// Why a registration cannot be stored in this format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// mon_name is empty.
    EmptyMonName,
    /// my_name is empty.
    EmptyMyName,
    /// mon_name holds `/`, whitespace, NUL or another control byte, or
    /// starts with `.`.
    BadMonName,
    /// my_name holds whitespace, NUL or another control byte.
    BadMyName,
    /// mon_name + my_name exceed [`MAX_NAMES_LEN`]: nfs-utils could not read
    /// the line back ("record too long").
    TooLong,
    /// mon_name is longer than a file name may be.
    NameTooLongForFile,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordError::EmptyMonName => "empty mon_name",
            RecordError::EmptyMyName => "empty my_name",
            RecordError::BadMonName => {
                "mon_name contains '/', whitespace or control bytes, or starts with '.'"
            }
            RecordError::BadMyName => "my_name contains whitespace or control bytes",
            RecordError::TooLong => {
                "mon_name and my_name together exceed 1024 bytes (record too long)"
            }
            RecordError::NameTooLongForFile => {
                "mon_name is longer than 255 bytes (no file can be named after it)"
            }
        })
    }
}

impl std::error::Error for RecordError {}

/// A line of a record file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line_no: usize,
    /// The raw line, newline removed.
    pub text: Vec<u8>,
    /// What is wrong with it.
    pub why: &'static str,
}

fn is_space(b: u8) -> bool {
    // C isspace() in the "C" locale.
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether `name` may be used as a file name in `sm/` or `sm.bak/`: not
/// empty, at most 255 bytes, no `/`, no whitespace, no NUL or control byte,
/// not starting with `.` (those are temporary or hidden files).
pub fn is_valid_file_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FILE_NAME
        && name.first() != Some(&b'.')
        && name
            .iter()
            .all(|&b| b != b'/' && !is_space(b) && !b.is_ascii_control() && b != 0x7f)
}

/// Checks that `reg` can be written as a line that nfs-utils reads back
/// whole, and that its mon_name can name a file.
pub fn check(reg: &Registration) -> Result<(), RecordError> {
    if reg.mon_name.is_empty() {
        return Err(RecordError::EmptyMonName);
    }
    if reg.my_name.is_empty() {
        return Err(RecordError::EmptyMyName);
    }
    if reg.mon_name.len() > MAX_FILE_NAME {
        return Err(RecordError::NameTooLongForFile);
    }
    if !is_valid_file_name(&reg.mon_name) {
        return Err(RecordError::BadMonName);
    }
    if reg
        .my_name
        .iter()
        .any(|&b| is_space(b) || b.is_ascii_control() || b == 0x7f)
    {
        return Err(RecordError::BadMyName);
    }
    if reg.mon_name.len() + reg.my_name.len() > MAX_NAMES_LEN {
        return Err(RecordError::TooLong);
    }
    Ok(())
}

/// The file name for a host first monitored as `mon_name`: the name
/// ASCII-lower-cased. Fails where [`check`] would.
pub fn file_name_for(mon_name: &[u8]) -> Result<Vec<u8>, RecordError> {
    if mon_name.is_empty() {
        return Err(RecordError::EmptyMonName);
    }
    if mon_name.len() > MAX_FILE_NAME {
        return Err(RecordError::NameTooLongForFile);
    }
    if !is_valid_file_name(mon_name) {
        return Err(RecordError::BadMonName);
    }
    Ok(mon_name.to_ascii_lowercase())
}

fn push_hex8(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(format!("{v:08x} ").as_bytes());
}

/// One record line exactly as nfs-utils writes it, newline included.
/// The caller checks the registration first ([`check`]); this only formats.
pub fn format_line(reg: &Registration) -> Vec<u8> {
    let mut out = Vec::with_capacity(LINELEN + reg.mon_name.len() + reg.my_name.len() + 2);
    push_hex8(&mut out, LOOPBACK_FIELD);
    push_hex8(&mut out, reg.my_prog);
    push_hex8(&mut out, reg.my_vers);
    push_hex8(&mut out, reg.my_proc);
    for b in reg.cookie {
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out.push(b' ');
    out.extend_from_slice(&reg.mon_name);
    out.push(b' ');
    out.extend_from_slice(&reg.my_name);
    out.push(b'\n');
    out
}

/// The lines of a whole file.
pub fn format_file(regs: &[Registration]) -> Vec<u8> {
    regs.iter().flat_map(format_line).collect()
}

fn hex_u32(field: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(field).ok()?;
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

fn hex_u8(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(text, 16).ok()
}

/// Parses one line (newline already removed) the way `nsm_parse_line` does,
/// but strictly: four 8-digit hex fields each followed by one space, 32 hex
/// digits of priv at offset 36, one separator, mon_name up to the next space,
/// spaces, then my_name to the end. Upper-case hex is accepted (`%x`).
/// Returns the registration and the address field.
pub fn parse_line(line: &[u8]) -> Result<(Registration, u32), &'static str> {
    if line.len() < LINELEN {
        return Err("line shorter than the fixed fields");
    }
    if line.len() + 1 >= LINE_BUFFER {
        return Err("line longer than nfs-utils' 1096-byte line buffer");
    }
    if line.contains(&0) {
        return Err("NUL byte in line");
    }
    let mut fields = [0u32; 4];
    for (i, field) in fields.iter_mut().enumerate() {
        let at = i * 9;
        *field = line
            .get(at..at + 8)
            .and_then(hex_u32)
            .ok_or("bad hex field")?;
        if line.get(at + 8) != Some(&b' ') {
            return Err("fields not separated by single spaces");
        }
    }
    let mut cookie = [0u8; 16];
    for (i, b) in cookie.iter_mut().enumerate() {
        let at = RPCARGSLEN + 2 * i;
        *b = line
            .get(at..at + 2)
            .and_then(hex_u8)
            .ok_or("bad hex in priv")?;
    }
    // nfs-utils skips one byte after priv, whatever it is.
    let rest = line.get(LINELEN..).unwrap_or_default();
    let mon_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let (mon_name, after) = rest.split_at(mon_end);
    let my_start = after.iter().position(|&b| b != b' ').unwrap_or(after.len());
    let my_name = after.get(my_start..).unwrap_or_default();
    if mon_name.is_empty() {
        return Err("empty mon_name");
    }
    if my_name.is_empty() {
        return Err("empty my_name");
    }
    if mon_name
        .iter()
        .chain(my_name)
        .any(|&b| b.is_ascii_control() || b == 0x7f)
    {
        return Err("control byte in a name");
    }
    let reg = Registration {
        mon_name: mon_name.to_vec(),
        my_name: my_name.to_vec(),
        my_prog: fields[1],
        my_vers: fields[2],
        my_proc: fields[3],
        cookie,
    };
    Ok((reg, fields[0]))
}

/// Parses a whole record file: good lines in order, and every bad line with
/// its reason. Empty lines are skipped. A last line without a newline (a
/// torn write) is parsed like the others, as `fgets` would.
pub fn parse_file(bytes: &[u8]) -> (Vec<Registration>, Vec<BadLine>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return (good, bad);
    }
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok((reg, _addr)) => good.push(reg),
            Err(why) => bad.push(BadLine {
                line_no: i + 1,
                text: line.to_vec(),
                why,
            }),
        }
    }
    (good, bad)
}

/// Interprets the `state` file's bytes (`None`: no file). An empty file is
/// no state yet, as a missing one: nfs-common's package ships `state` empty,
/// and nfs-utils initializes it on first start. Exactly four bytes are a
/// value; anything else is damage. (nfs-utils reads the first four
/// bytes of a longer file; a longer file is not something it writes, so we
/// call it damaged and let the state rules choose a safe value.)
pub fn parse_state(bytes: Option<&[u8]>) -> Stored {
    match bytes {
        None | Some([]) => Stored::Missing,
        Some(b) => match <[u8; 4]>::try_from(b) {
            Ok(word) => Stored::Value(i32::from_ne_bytes(word)),
            Err(_) => Stored::Damaged { len: b.len() },
        },
    }
}

/// The `state` file's bytes for `state`.
pub fn encode_state(state: i32) -> [u8; 4] {
    state.to_ne_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE_LINE: &[u8] =
        b"0100007f 000186b5 00000004 00000010 00112233445566778899aabbccddeeff 127.0.0.20 labclient\n";

    fn reference_reg() -> Registration {
        Registration {
            mon_name: b"127.0.0.20".to_vec(),
            my_name: b"labclient".to_vec(),
            my_prog: 0x186b5,
            my_vers: 4,
            my_proc: 16,
            cookie: [
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff,
            ],
        }
    }

    #[test]
    fn formats_the_reference_line_byte_for_byte() {
        let line = format_line(&reference_reg());
        if cfg!(target_endian = "little") {
            assert_eq!(line, REFERENCE_LINE);
        } else {
            assert_eq!(&line[..9], b"7f000001 ");
            assert_eq!(&line[9..], &REFERENCE_LINE[9..]);
        }
    }

    #[test]
    fn parses_the_reference_line() {
        let (regs, bad) = parse_file(REFERENCE_LINE);
        assert!(bad.is_empty());
        assert_eq!(regs, vec![reference_reg()]);
        let (_, addr) = parse_line(&REFERENCE_LINE[..REFERENCE_LINE.len() - 1]).unwrap();
        assert_eq!(addr.to_le_bytes(), [127, 0, 0, 1]);
    }

    #[test]
    fn parses_ctdb_lines() {
        let line = format!(
            "{:08x} {:08x} {:08x} {:08x} {} 10.0.0.5 192.168.1.1\n",
            u32::from_ne_bytes([127, 0, 0, 1]),
            100_021,
            4,
            16,
            "0".repeat(32)
        );
        let (regs, bad) = parse_file(line.as_bytes());
        assert!(bad.is_empty());
        assert_eq!(regs[0].mon_name, b"10.0.0.5");
        assert_eq!(regs[0].my_name, b"192.168.1.1");
        assert_eq!(
            (regs[0].my_prog, regs[0].my_vers, regs[0].my_proc),
            (100_021, 4, 16)
        );
        assert_eq!(regs[0].cookie, [0; 16]);
    }

    #[test]
    fn accepts_upper_case_hex_and_extra_spaces_before_my_name() {
        let line =
            b"0100007F 000186A5 00000003 00000010 AABBCCDDEEFF00112233445566778899 peer   me";
        let (reg, _) = parse_line(line).unwrap();
        assert_eq!(reg.cookie[0], 0xaa);
        assert_eq!(reg.my_name, b"me");
    }

    #[test]
    fn garbage_lines_are_reported_and_good_ones_kept() {
        let mut file = REFERENCE_LINE.to_vec();
        file.extend_from_slice(b"this is not a record\n");
        file.extend_from_slice(b"0100007f 000186b5 00000004 00000010 0011223344556677 short\n");
        file.extend_from_slice(
            b"0100007f 000186b5 00000004 00000010 zz112233445566778899aabbccddeeff a b\n",
        );
        file.extend_from_slice(
            b"0100007f 000186b5 00000004 00000010 00112233445566778899aabbccddeeff lonely\n",
        );
        file.extend_from_slice(&REFERENCE_LINE[..REFERENCE_LINE.len() - 1]); // torn: no newline
        let (regs, bad) = parse_file(&file);
        assert_eq!(regs.len(), 2);
        assert_eq!(
            bad.iter().map(|b| b.line_no).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
        assert_eq!(bad[3].why, "empty my_name");
    }

    #[test]
    fn line_length_limit_matches_the_c_buffer() {
        let mut reg = reference_reg();
        reg.mon_name = vec![b'm'; 255];
        reg.my_name = vec![b'y'; MAX_NAMES_LEN - 255];
        assert_eq!(check(&reg), Ok(()));
        let line = format_line(&reg);
        // fgets(buf, 1096) reads 1095 bytes: the whole line, newline included.
        assert_eq!(line.len(), LINE_BUFFER - 1);
        assert!(parse_line(&line[..line.len() - 1]).is_ok());
        reg.my_name.push(b'y');
        assert_eq!(check(&reg), Err(RecordError::TooLong));
        let long = format_line(&reg);
        assert!(parse_line(&long[..long.len() - 1]).is_err());
    }

    #[test]
    fn names_are_validated() {
        let mut reg = reference_reg();
        for bad in [
            &b"a/b"[..],
            b".hidden",
            b"..",
            b"",
            b"a b",
            b"a\0b",
            b"a\nb",
        ] {
            reg.mon_name = bad.to_vec();
            assert!(check(&reg).is_err(), "{bad:?}");
            assert!(file_name_for(bad).is_err());
        }
        reg.mon_name = b"PeerHost.Example".to_vec();
        reg.my_name = b"my client".to_vec();
        assert_eq!(check(&reg), Err(RecordError::BadMyName));
        assert_eq!(
            file_name_for(b"PeerHost.Example").unwrap(),
            b"peerhost.example"
        );
        assert_eq!(file_name_for(b"::1").unwrap(), b"::1");
        assert_eq!(
            file_name_for(&[b'a'; 256]),
            Err(RecordError::NameTooLongForFile)
        );
    }

    #[test]
    fn state_file_rules() {
        assert_eq!(parse_state(None), Stored::Missing);
        assert_eq!(
            parse_state(Some(b"")),
            Stored::Missing,
            "as nfs-common ships it"
        );
        assert_eq!(parse_state(Some(b"\x03\x00")), Stored::Damaged { len: 2 });
        assert_eq!(parse_state(Some(&encode_state(11))), Stored::Value(11));
        assert_eq!(encode_state(3), 3i32.to_ne_bytes());
    }
}
