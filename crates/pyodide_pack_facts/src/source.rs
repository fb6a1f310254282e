//! Reading a Python file's bytes as text the way CPython does (PEP 263): a UTF-8 byte-order mark,
//! else a coding declaration in the first two lines, else UTF-8.

use std::borrow::Cow;

/// Why a file's bytes are not text CPython would read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeProblem {
    /// 1-based line of the first byte that does not decode (or of the declaration).
    pub line: u32,
    pub message: String,
}

/// The declared encoding of the first two lines (`# -*- coding: latin-1 -*-`), if any.
fn declared_encoding(bytes: &[u8]) -> Option<(u32, String)> {
    for (index, raw) in bytes.split(|b| *b == b'\n').take(2).enumerate() {
        let line = String::from_utf8_lossy(raw);
        let trimmed = line.trim_start_matches([' ', '\t', '\x0c']);
        if !trimmed.starts_with('#') {
            // A first line that is not a comment ends the search (CPython's rule) unless blank.
            if trimmed.trim().is_empty() {
                continue;
            }
            return None;
        }
        let Some(at) = trimmed.find("coding") else {
            continue;
        };
        let rest = &trimmed[at + "coding".len()..];
        let Some(rest) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        let name: String = rest
            .trim_start_matches([' ', '\t'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if !name.is_empty() {
            return Some((index as u32 + 1, name));
        }
    }
    None
}

fn line_of(bytes: &[u8], offset: usize) -> u32 {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

/// The text of a Python source, decoded as CPython would decode it.
pub fn decode_source(bytes: &[u8]) -> Result<Cow<'_, str>, DecodeProblem> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return std::str::from_utf8(rest)
            .map(Cow::Borrowed)
            .map_err(|e| DecodeProblem {
                line: line_of(rest, e.valid_up_to()),
                message: "not valid UTF-8 after a UTF-8 byte-order mark".into(),
            });
    }
    if let Some((line, name)) = declared_encoding(bytes) {
        let normalized = name.to_ascii_lowercase().replace('_', "-");
        if !matches!(normalized.as_str(), "utf-8" | "utf8") {
            // CPython's `latin-1` is ISO-8859-1 byte for byte; WHATWG labels map it to
            // windows-1252, which differs only in 0x80-0x9F.
            if matches!(
                normalized.as_str(),
                "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1"
            ) {
                return Ok(Cow::Owned(bytes.iter().map(|b| *b as char).collect()));
            }
            let Some(encoding) = encoding_rs::Encoding::for_label(normalized.as_bytes()) else {
                return Err(DecodeProblem {
                    line,
                    message: format!("unknown encoding {name:?} in the coding declaration"),
                });
            };
            let (text, _, had_errors) = encoding.decode(bytes);
            if had_errors {
                return Err(DecodeProblem {
                    line,
                    message: format!("not valid {name} (its coding declaration)"),
                });
            }
            return Ok(text);
        }
    }
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|e| DecodeProblem {
            line: line_of(bytes, e.valid_up_to()),
            message: format!(
                "not valid UTF-8 (byte {} of the file) and no coding declaration",
                e.valid_up_to()
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_and_declarations() {
        assert_eq!(decode_source(b"import os\n").unwrap(), "import os\n");
        assert_eq!(
            decode_source(b"\xef\xbb\xbfimport os\n").unwrap(),
            "import os\n"
        );
        assert_eq!(
            decode_source(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n").unwrap(),
            "# -*- coding: latin-1 -*-\ns = '\u{e9}'\n"
        );
        assert_eq!(
            decode_source(b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\ns = '\x80'\n")
                .unwrap(),
            "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\ns = '\u{20ac}'\n"
        );
    }

    #[test]
    fn undeclared_non_utf8_and_unknown_encodings_are_problems_with_a_line() {
        let problem = decode_source(b"import os\ns = '\xe9'\n").unwrap_err();
        assert_eq!(problem.line, 2);
        assert!(problem.message.starts_with("not valid UTF-8"));
        let problem = decode_source(b"# coding: klingon\n").unwrap_err();
        assert_eq!(problem.line, 1);
        assert!(problem.message.contains("klingon"));
        // A declaration after code does not count.
        assert!(decode_source(b"import os\nx = 1\n# coding: latin-1\n\xe9").is_err());
    }
}
