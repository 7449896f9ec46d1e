//! A loader command line (a pmtab entry's `cmd`) split into words as sac
//! splits a port monitor's command: blanks separate words; a double-quoted
//! stretch keeps its blanks, `\"` and `\\` inside it standing for `"` and
//! `\`; outside quotes a backslash keeps the next character. Single quotes
//! are ordinary characters. Nothing is expanded: no shell runs.

/// The words of `cmd`; `Err` names an unterminated quote.
pub fn split(cmd: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => words.extend(word.take()),
            '\\' => word
                .get_or_insert_with(String::new)
                .push(chars.next().unwrap_or('\\')),
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(format!("unterminated \" in \"{cmd}\"")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(format!("unterminated \" in \"{cmd}\"")),
                    }
                }
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
            split("  /usr/lib/saf/xbload  -p \"a file\" 'x y' a\\ b \"q\\\"\\\\\\n\"").unwrap(),
            [
                "/usr/lib/saf/xbload",
                "-p",
                "a file",
                "'x",
                "y'",
                "a b",
                "q\"\\\\n"
            ]
        );
        assert_eq!(split("\"\"").unwrap(), [""]);
        assert!(split("").unwrap().is_empty());
        assert!(split("a \"b").is_err());
    }
}
