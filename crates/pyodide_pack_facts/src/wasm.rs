//! Facts of one WebAssembly side module: `dylink.0` needed libraries, imported and exported
//! symbols, and the dotted Python module names its data holds (what its C code imports by name).

use serde::{Deserialize, Serialize};
use wasmparser::{Dylink0Subsection, KnownCustom, Parser, Payload, Validator, WasmFeatures};

use crate::FactsError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmImport {
    /// `env`, `GOT.mem`, `GOT.func`.
    pub module: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmFacts {
    /// Set when the module has a `dylink.0` section (a side module Pyodide can load).
    pub is_side_module: bool,
    /// Shared libraries the dynamic linker must load first (`libfoo.so`).
    pub needed: Vec<String>,
    pub imports: Vec<WasmImport>,
    pub exports: Vec<String>,
    /// Dotted names in the data section's C strings (`"sqlite3.dump"`): candidates for modules
    /// the C code imports with `PyImport_ImportModule`, which no Python source names. The graph
    /// keeps those that name a module of the environment.
    #[serde(default)]
    pub module_names: Vec<String>,
}

/// At most this many names are kept per module: a real extension names a few dozen.
const MAX_MODULE_NAMES: usize = 2_000;

impl WasmFacts {
    /// The symbols this module needs from somewhere else (functions, globals and GOT entries).
    pub fn imported_symbols(&self) -> impl Iterator<Item = &str> {
        self.imports
            .iter()
            .filter(|i| i.module == "env" || i.module.starts_with("GOT."))
            .map(|i| i.name.as_str())
    }
}

/// Reads the facts of a side module, after checking that it is a complete, valid WebAssembly
/// module: a truncated or corrupt `.so` is refused here, by name, instead of failing later in the
/// dynamic loader ("Could not load dynamic lib") after a trace and a validation have run.
pub fn wasm_facts(bytes: &[u8]) -> Result<WasmFacts, FactsError> {
    check_module(bytes)?;
    use wasmparser::Chunk;
    let bad = |e: wasmparser::BinaryReaderError| FactsError::BadWasm(e.to_string());
    let mut facts = WasmFacts::default();
    let mut names = std::collections::BTreeSet::new();
    let mut parser = Parser::new(0);
    let mut offset = 0;
    loop {
        let (payload, consumed) = match parser.parse(&bytes[offset..], true).map_err(bad)? {
            Chunk::NeedMoreData(_) => break,
            Chunk::Parsed { consumed, payload } => (payload, consumed),
        };
        offset += consumed;
        match payload {
            Payload::CustomSection(section) => {
                if let KnownCustom::Dylink0(reader) = section.as_known() {
                    facts.is_side_module = true;
                    for subsection in reader {
                        if let Dylink0Subsection::Needed(libs) = subsection.map_err(bad)? {
                            facts.needed.extend(libs.iter().map(|s| s.to_string()));
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(bad)?;
                    facts.imports.push(WasmImport {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    facts.exports.push(export.map_err(bad)?.name.to_string());
                }
            }
            // The code says nothing here, and is most of the file.
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                offset += size as usize;
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    for piece in segment.map_err(bad)?.data.split(|b| *b == 0) {
                        if names.len() < MAX_MODULE_NAMES && is_dotted_module_name(piece) {
                            // Checked as ASCII just above.
                            names.insert(String::from_utf8_lossy(piece).into_owned());
                        }
                    }
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    facts.module_names = names.into_iter().collect();
    Ok(facts)
}

/// `sqlite3.dump`, `numpy._core._methods`: two or more identifiers joined by dots.
fn is_dotted_module_name(bytes: &[u8]) -> bool {
    if bytes.len() < 3 || bytes.len() > 100 || !bytes.contains(&b'.') {
        return false;
    }
    bytes.split(|b| *b == b'.').all(|part| {
        part.first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && part.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    })
}

/// What is wrong with bytes that are not a complete, valid module, in the words a user needs:
/// where it ends when it is cut short, the magic when it is not wasm at all, else the validator's
/// own message with its offset. Every feature the validator knows is on: the check is for damage,
/// not for which proposals the module uses (Pyodide's engine decides those).
fn check_module(bytes: &[u8]) -> Result<(), FactsError> {
    const MAGIC: &[u8; 4] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(FactsError::BadWasm(if bytes.len() < 4 {
            format!(
                "only {} bytes long, too short for a WebAssembly header",
                bytes.len()
            )
        } else if &bytes[..4] == MAGIC {
            format!(
                "truncated at byte {} inside the WebAssembly header",
                bytes.len()
            )
        } else {
            format!(
                "bad magic {} (a WebAssembly module starts with 00 61 73 6d)",
                head.join(" ")
            )
        }));
    }
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    match validator.validate_all(bytes) {
        Ok(_) => Ok(()),
        Err(e) if is_truncation(&e, bytes.len()) => Err(FactsError::BadWasm(format!(
            "truncated at byte {}: {} at offset {}",
            bytes.len(),
            e.message(),
            e.offset()
        ))),
        Err(e) => Err(FactsError::BadWasm(format!(
            "invalid at offset {}: {}",
            e.offset(),
            e.message()
        ))),
    }
}

/// A section or body that claims more bytes than the file has left.
fn is_truncation(e: &wasmparser::BinaryReaderError, len: usize) -> bool {
    let message = e.message();
    message.contains("unexpected end")
        || (message.contains("out of bounds") && e.offset() >= len as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, CustomSection, ExportKind, ExportSection, Function, FunctionSection,
        Instruction, Module, TypeSection,
    };

    /// A side module exporting one function `f` with the given body.
    fn module(body: &[Instruction<'_>]) -> Vec<u8> {
        let mut module = Module::new();
        module.section(&CustomSection {
            name: "dylink.0".into(),
            data: vec![1, 4, 0, 0, 0, 0].into(),
        });
        let mut types = TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let mut exports = ExportSection::new();
        exports.export("f", ExportKind::Func, 0);
        module.section(&exports);
        let mut code = CodeSection::new();
        let mut f = Function::new([]);
        for instruction in body {
            f.instruction(instruction);
        }
        code.function(&f);
        module.section(&code);
        module.finish()
    }

    fn reason(bytes: &[u8]) -> String {
        match wasm_facts(bytes) {
            Err(FactsError::BadWasm(reason)) => reason,
            Ok(facts) => panic!("accepted: {facts:?}"),
        }
    }

    #[test]
    fn a_valid_side_module_gives_its_facts() {
        let facts = wasm_facts(&module(&[Instruction::End])).unwrap();
        assert!(facts.is_side_module);
        assert_eq!(facts.exports, ["f"]);
    }

    #[test]
    fn a_module_cut_short_names_the_byte_it_ends_at() {
        let bytes = module(&[Instruction::Nop, Instruction::Nop, Instruction::End]);
        // Cut inside the code section, the part a header-only reader would never look at.
        let cut = &bytes[..bytes.len() - 2];
        let reason = reason(cut);
        assert!(
            reason.starts_with(&format!("truncated at byte {}", cut.len())),
            "{reason}"
        );
        let header_only = reason_for_len(&bytes, 6);
        assert!(header_only.contains("truncated at byte 6 inside the WebAssembly header"));
    }

    fn reason_for_len(bytes: &[u8], len: usize) -> String {
        reason(&bytes[..len])
    }

    #[test]
    fn bytes_that_are_not_wasm_name_their_magic() {
        assert_eq!(
            reason(b"\x7fELF\x02\x01\x01\0rest"),
            "bad magic 7f 45 4c 46 (a WebAssembly module starts with 00 61 73 6d)"
        );
        assert_eq!(
            reason(b"\0a"),
            "only 2 bytes long, too short for a WebAssembly header"
        );
    }

    #[test]
    fn a_complete_module_with_an_invalid_body_is_refused() {
        // `i32.add` with an empty stack: every byte is there, the code is wrong.
        let reason = reason(&module(&[Instruction::I32Add, Instruction::End]));
        assert!(reason.starts_with("invalid at offset"), "{reason}");
    }
}
