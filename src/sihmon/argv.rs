//! A loader command line (a pmtab entry's `cmd`) split into words as sac
//! splits a port monitor's command (illumos `sac.c`, `mkargv`): blanks
//! (spaces, tabs) separate words; a `'` or `"` starts a quoted word that
//! ends at the same quote character, inside which a backslash before that
//! quote character stands for it (any other backslash is itself); a
//! quoted word is a word of its own, also when text touches it (sac drops
//! the text before the quote; it is kept here as a word). Outside quotes
//! a backslash is an ordinary character. Nothing is expanded: no shell
//! runs.

/// The words of `cmd`; `Err` names an unterminated quote.
pub fn split(cmd: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '"' | '\'' => {
                words.extend(word.take());
                let mut quoted = String::new();
                loop {
                    match chars.next() {
                        Some(q) if q == c => {
                            if quoted.ends_with('\\') {
                                quoted.pop();
                                quoted.push(q);
                            } else {
                                break;
                            }
                        }
                        Some(other) => quoted.push(other),
                        None => return Err(format!("unterminated {c} in \"{cmd}\"")),
                    }
                }
                words.push(quoted);
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_quotes_and_escapes() {
        assert_eq!(
            split("  /usr/lib/saf/xbload \t -p \"a file\" 'x \"y' a\\b \"q\\\"r\\n\"").unwrap(),
            [
                "/usr/lib/saf/xbload",
                "-p",
                "a file",
                "x \"y",
                "a\\b",
                "q\"r\\n"
            ]
        );
        assert_eq!(split("'it\\'s'").unwrap(), ["it's"]);
        assert_eq!(split("ab\"cd\"ef").unwrap(), ["ab", "cd", "ef"]);
        assert_eq!(split("\"\"").unwrap(), [""]);
        assert!(split("").unwrap().is_empty());
        assert!(split("a \"b").is_err());
        assert!(split("a 'b\\'").is_err());
    }
}
