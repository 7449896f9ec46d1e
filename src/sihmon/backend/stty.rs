//! The stty words of a ttydefs label that a serial link takes: a speed
//! (a number), `cs5`–`cs8`, and the control and input flags `cstopb`,
//! `parenb`, `parodd`, `cread`, `clocal`, `hupcl`, `crtscts`, `ixon`,
//! `ixoff`, each negated by a leading `-`; `raw` and `sane` as stty has
//! them in spirit (raw mode; cs8 cread). Other words (`erase ^h`, `tab3`)
//! concern terminals, not HDLC lines: they are returned as ignored.

/// A flag a word sets or clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// Two stop bits.
    Cstopb,
    /// Parity.
    Parenb,
    /// Odd parity.
    Parodd,
    /// Receiver on.
    Cread,
    /// Ignore modem lines.
    Clocal,
    /// Hang up on last close.
    Hupcl,
    /// RTS/CTS flow control.
    Crtscts,
    /// XON/XOFF output flow control.
    Ixon,
    /// XON/XOFF input flow control.
    Ixoff,
}

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// Line speed in bit/s.
    Speed(u32),
    /// Character size in bits (5–8).
    Size(u8),
    /// A flag on or off.
    Flag(Flag, bool),
    /// Raw mode.
    Raw,
}

/// The settings of `words` in order, and the words ignored.
pub fn parse(words: &str) -> (Vec<Setting>, Vec<String>) {
    let mut settings = Vec::new();
    let mut ignored = Vec::new();
    for word in words.split_whitespace() {
        let (on, name) = match word.strip_prefix('-') {
            Some(rest) => (false, rest),
            None => (true, word),
        };
        let flag = match name {
            "cstopb" => Some(Flag::Cstopb),
            "parenb" => Some(Flag::Parenb),
            "parodd" => Some(Flag::Parodd),
            "cread" => Some(Flag::Cread),
            "clocal" => Some(Flag::Clocal),
            "hupcl" => Some(Flag::Hupcl),
            "crtscts" => Some(Flag::Crtscts),
            "ixon" => Some(Flag::Ixon),
            "ixoff" => Some(Flag::Ixoff),
            _ => None,
        };
        match (flag, on, name) {
            (Some(f), _, _) => settings.push(Setting::Flag(f, on)),
            (None, true, "cs5") => settings.push(Setting::Size(5)),
            (None, true, "cs6") => settings.push(Setting::Size(6)),
            (None, true, "cs7") => settings.push(Setting::Size(7)),
            (None, true, "cs8") => settings.push(Setting::Size(8)),
            (None, true, "raw") => settings.push(Setting::Raw),
            (None, true, "sane") => {
                settings.push(Setting::Size(8));
                settings.push(Setting::Flag(Flag::Cread, true));
            }
            (None, true, n) if n.parse::<u32>().is_ok_and(|s| s > 0) => {
                settings.push(Setting::Speed(n.parse().unwrap_or(9600)));
            }
            _ => ignored.push(word.to_string()),
        }
    }
    (settings, ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let (s, ignored) = parse("9600 cs7 -parenb crtscts erase ^h tab3 -cs8 0");
        assert_eq!(
            s,
            [
                Setting::Speed(9600),
                Setting::Size(7),
                Setting::Flag(Flag::Parenb, false),
                Setting::Flag(Flag::Crtscts, true),
            ]
        );
        assert_eq!(ignored, ["erase", "^h", "tab3", "-cs8", "0"]);
        assert_eq!(parse("sane").0.len(), 2);
    }
}
