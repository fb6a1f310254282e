//! Facts of one WebAssembly side module: `dylink.0` needed libraries, imported and exported symbols.

use serde::{Deserialize, Serialize};
use wasmparser::{Dylink0Subsection, KnownCustom, Parser, Payload};

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
}

impl WasmFacts {
    /// The symbols this module needs from somewhere else (functions, globals and GOT entries).
    pub fn imported_symbols(&self) -> impl Iterator<Item = &str> {
        self.imports
            .iter()
            .filter(|i| i.module == "env" || i.module.starts_with("GOT."))
            .map(|i| i.name.as_str())
    }
}

/// Reads the facts of a side module. Only the header sections are read; the code is skipped.
pub fn wasm_facts(bytes: &[u8]) -> Result<WasmFacts, FactsError> {
    let bad = |e: wasmparser::BinaryReaderError| FactsError::BadWasm(e.to_string());
    let mut facts = WasmFacts::default();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(bad)? {
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
            Payload::CodeSectionStart { .. } => break,
            _ => {}
        }
    }
    Ok(facts)
}
