//! Stage 2 of the pipeline: facts about single files, independent of the rest of the environment.
//!
//! A Python source gives its import statements (with line, text and flags), its literal and
//! computed dynamic imports, `__all__`, and lazy-loading markers. A wasm side module gives its
//! `dylink.0` needed libraries and its imported and exported symbols. Facts are plain data, cached
//! per archive by the archive's sha256 (see [`store`]), so a second run parses nothing.
#![warn(unreachable_pub)]

mod depth;
mod python;
mod source;
mod store;
mod wasm;

pub use depth::{parsing_pool, too_deep, INLINE_PARSE_BYTES, MAX_BRACKETS, MAX_CHAIN};
pub use python::{
    python_facts, DynamicImport, ImportStatement, LazyMarkers, ParseFailure, PythonFacts, Site,
};
/// The CPython version a source is parsed for (ruff's type).
pub use ruff_python_ast::PythonVersion;
pub use source::{decode_source, DecodeProblem};
pub use store::{FactsStore, FileFacts};
pub use wasm::{wasm_facts, WasmFacts, WasmImport};

#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error("not a complete, valid WebAssembly module: {0}")]
    BadWasm(String),
}
