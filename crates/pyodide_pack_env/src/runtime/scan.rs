//! What the runtime's own files say about the modules it provides: the main module's exports
//! and data, and the Python modules the bootstrap JavaScript imports.

use std::collections::BTreeSet;

/// The main module's exports, and the Pyodide module names its data holds as C strings (what the
/// C core imports with `PyImport_ImportModule("_pyodide.docstring")` and the like).
pub(super) fn scan_main_module(wasm: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
    use wasmparser::{Chunk, Parser, Payload};
    let mut names = Vec::new();
    let mut data_modules = BTreeSet::new();
    let mut parser = Parser::new(0);
    let mut offset = 0;
    loop {
        let (payload, consumed) = match parser
            .parse(&wasm[offset..], true)
            .map_err(|e| e.to_string())?
        {
            Chunk::NeedMoreData(_) => return Err("truncated module".into()),
            Chunk::Parsed { consumed, payload } => (payload, consumed),
        };
        offset += consumed;
        match payload {
            Payload::ExportSection(reader) => {
                for export in reader {
                    names.push(export.map_err(|e| e.to_string())?.name.to_string());
                }
            }
            // The code is most of the file and says nothing we need.
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                offset += size as usize;
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    let segment = segment.map_err(|e| e.to_string())?;
                    for piece in segment.data.split(|b| *b == 0) {
                        if let Ok(text) = std::str::from_utf8(piece) {
                            if is_pyodide_module_name(text) {
                                data_modules.insert(text.to_string());
                            }
                        }
                    }
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    if names.is_empty() {
        return Err("it has no exports: not a Pyodide main module".into());
    }
    Ok((names, data_modules.into_iter().collect()))
}

/// `_pyodide`, `pyodide.ffi`, `_pyodide._importhook`: Pyodide's own packages.
fn is_pyodide_module_name(text: &str) -> bool {
    let head = text.split('.').next().unwrap_or("");
    (head == "_pyodide" || head == "pyodide")
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Scans the bootstrap JavaScript for the Python modules it imports while `loadPyodide()` runs.
pub(super) fn bootstrap_module_names(js: &str) -> Vec<String> {
    let mut found = BTreeSet::new();
    let bytes = js.as_bytes();
    let is_name = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
    };
    // `f("a.b")`: a call with one string argument.
    let mut i = 0;
    while let Some(pos) = js[i..].find("(\"") {
        let start = i + pos + 2;
        if let Some(len) = js[start..].find('"') {
            let arg = &js[start..start + len];
            let after = bytes.get(start + len + 1);
            let before = if i + pos > 0 {
                bytes[i + pos - 1]
            } else {
                b' '
            };
            if after == Some(&b')')
                && (before.is_ascii_alphanumeric() || before == b'_')
                && is_name(arg)
            {
                found.insert(arg.to_string());
            }
            i = start + len;
        } else {
            break;
        }
    }
    // `"import a, b"` inside a string of Python code.
    for (pos, _) in js.match_indices("\"import ") {
        let rest = &js[pos + 8..];
        let end = rest.find('"').unwrap_or(0);
        for part in rest[..end].split(';').next().unwrap_or("").split(',') {
            let name = part.trim();
            if is_name(name) {
                found.insert(name.to_string());
            }
        }
    }
    found.into_iter().collect()
}

/// The names of the bootstrap's `wasmImports={name:impl,...}` table (314 writes `name,` for
/// `name:name`): what the JavaScript side implements for wasm modules to import.
pub(super) fn bootstrap_symbols(js: &str) -> BTreeSet<String> {
    let Some(start) = js.find("wasmImports={").map(|i| i + "wasmImports={".len()) else {
        return BTreeSet::new();
    };
    let Some(len) = js[start..].find('}') else {
        return BTreeSet::new();
    };
    js[start..start + len]
        .split(',')
        .filter_map(|item| item.split(':').next())
        .map(str::trim)
        .filter(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        })
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_symbols_the_bootstrap_implements() {
        let js = "var x=1;var wasmImports={__cxa_throw:___cxa_throw,JsArray_count_js,emscripten_sleep:_emscripten_sleep};function f(){}";
        let names: Vec<String> = bootstrap_symbols(js).into_iter().collect();
        assert_eq!(
            names,
            vec!["JsArray_count_js", "__cxa_throw", "emscripten_sleep"]
        );
        assert!(bootstrap_symbols("no table").is_empty());
    }

    #[test]
    fn finds_module_names_in_bootstrap_code() {
        let js = r#"API.x=o("pyodide.code"),let[r]=API.rawRun("import _pyodide_core");e("not a name!");f( "x" );"a.b"'"#;
        assert_eq!(
            bootstrap_module_names(js),
            vec!["_pyodide_core".to_string(), "pyodide.code".to_string()]
        );
    }
}
