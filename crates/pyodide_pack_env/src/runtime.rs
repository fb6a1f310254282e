//! The Pyodide runtime: where it is, what it is, and what it provides without any file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{CacheRoot, EnvError};

/// The Pyodide version the tool installs when the user names none.
pub const PINNED_PYODIDE_VERSION: &str = "314.0.7";

/// Modules the interpreter creates itself, with no `PyInit_*` function of their own.
const CORE_MODULES: &[&str] = &["builtins", "sys", "marshal", "_warnings"];

/// CPython 3.14's frozen modules (`Python/frozen.c`): imported from the interpreter's own data,
/// never from the stdlib zip. Checked against `__spec__.origin == "frozen"` by the corpus tests.
const FROZEN_MODULES: &[&str] = &[
    "_frozen_importlib",
    "_frozen_importlib_external",
    "importlib._bootstrap",
    "importlib._bootstrap_external",
    "zipimport",
    "abc",
    "codecs",
    "io",
    "_collections_abc",
    "_sitebuiltins",
    "genericpath",
    "ntpath",
    "posixpath",
    "os",
    "os.path",
    "site",
    "stat",
    "importlib.util",
    "importlib.machinery",
    "runpy",
    "__hello__",
    "__phello__",
];

/// Modules CPython imports while it initialises, before any Pyodide code runs: the codec
/// machinery for the file-system and stdio encodings (`Python/codecs.c`, `Python/pylifecycle.c`).
const INTERPRETER_BOOT_MODULES: &[&str] = &["encodings", "encodings.utf_8"];

/// `pyodide.unpackArchive` and `loadPackage` extract wheels with `zipfile`, which decodes entry
/// names without the UTF-8 flag as cp437: a codec looked up by a computed name.
const INSTALLER_MODULES: &[&str] = &["encodings.cp437"];

/// Modules that exist at run time without a file of their own: aliases a package installs into
/// `sys.modules` (`collections` installs `collections.abc`), the JavaScript modules Pyodide
/// registers, and the running script.
const RUNTIME_PROVIDED_MODULES: &[&str] = &["collections.abc", "js", "pyodide_js", "__main__"];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LockInfo {
    python: String,
    abi_version: String,
    platform: String,
}

#[derive(Debug, Clone)]
pub struct Runtime {
    pub dir: PathBuf,
    /// From the runtime's `package.json`, when it has one (the npm package does).
    pub version: Option<String>,
    /// The full CPython version, `3.14.2`.
    pub python: String,
    pub abi: String,
    pub platform: String,
}

impl Runtime {
    /// `--runtime DIR`, else `$PYODIDE_PACK_RUNTIME`, else the pinned version in the cache (installed
    /// with npm on first use).
    pub fn locate(explicit: Option<&Path>, cache: &CacheRoot) -> Result<Runtime, EnvError> {
        if let Some(dir) = explicit {
            return Runtime::open(dir);
        }
        if let Some(dir) = std::env::var_os("PYODIDE_PACK_RUNTIME").filter(|v| !v.is_empty()) {
            return Runtime::open(Path::new(&dir));
        }
        let dir = cached_runtime_dir(cache, PINNED_PYODIDE_VERSION);
        if !dir.join("pyodide-lock.json").is_file() {
            install_runtime(cache, PINNED_PYODIDE_VERSION)?;
        }
        Runtime::open(&dir)
    }

    /// A Pyodide distribution folder: it must hold the lock file, the stdlib zip and `pyodide.mjs`.
    pub fn open(dir: &Path) -> Result<Runtime, EnvError> {
        let broken = |reason: String| EnvError::Runtime {
            dir: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(broken("no such folder".into()));
        }
        for required in [
            "pyodide-lock.json",
            "python_stdlib.zip",
            "pyodide.mjs",
            "pyodide.asm.wasm",
        ] {
            if !dir.join(required).is_file() {
                return Err(broken(format!(
                    "it has no {required} (expected a Pyodide distribution folder)"
                )));
            }
        }
        let lock_path = dir.join("pyodide-lock.json");
        let lock_text =
            std::fs::read_to_string(&lock_path).map_err(|e| EnvError::io(&lock_path, e))?;
        #[derive(Deserialize)]
        struct Lock {
            info: LockInfo,
        }
        let lock: Lock = serde_json::from_str(&lock_text)
            .map_err(|e| broken(format!("pyodide-lock.json: {e}")))?;
        let version = std::fs::read_to_string(dir.join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(String::from));
        Ok(Runtime {
            dir: dir.to_path_buf(),
            version,
            python: lock.info.python,
            abi: lock.info.abi_version,
            platform: lock.info.platform,
        })
    }

    pub fn stdlib_zip(&self) -> PathBuf {
        self.dir.join("python_stdlib.zip")
    }

    pub fn main_module(&self) -> PathBuf {
        self.dir.join("pyodide.asm.wasm")
    }

    pub fn bootstrap_js(&self) -> PathBuf {
        self.dir.join("pyodide.asm.mjs")
    }

    /// `3.14`.
    pub fn python_minor(&self) -> String {
        let mut parts = self.python.split('.');
        format!(
            "{}.{}",
            parts.next().unwrap_or("3"),
            parts.next().unwrap_or("0")
        )
    }

    /// Where Pyodide mounts the stdlib zip: `/lib/python314.zip`.
    pub fn stdlib_mount(&self) -> String {
        format!("/lib/python{}.zip", self.python_minor().replace('.', ""))
    }

    /// `/lib/python3.14/site-packages`.
    pub fn site_packages(&self) -> String {
        format!("/lib/python{}/site-packages", self.python_minor())
    }

    /// The pip platform tag of wheels built for this runtime: `pyemscripten_2026_0_wasm32`.
    pub fn wheel_platform(&self) -> String {
        format!("pyemscripten_{}_wasm32", self.abi)
    }

    /// Facts about the runtime that no file in the environment carries.
    /// [`Runtime::facts`], kept in the cache per runtime: scanning the 9.6 MB main module is
    /// most of a warm analysis otherwise. The key is what identifies the files without reading
    /// them (path, length, modification time of `pyodide.asm.wasm` and `pyodide.asm.js`), as a
    /// build tool keys its outputs, plus this tool's version.
    pub fn facts_cached(&self, cache: &CacheRoot) -> Result<RuntimeFacts, EnvError> {
        let Some(key) = stat_key(&[self.main_module(), self.bootstrap_js()]) else {
            return self.facts();
        };
        let path = cache
            .root()
            .join("runtime-facts")
            .join(format!("{key}.json"));
        if let Some(facts) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<RuntimeFacts>(&bytes).ok())
        {
            return Ok(facts);
        }
        let facts = self.facts()?;
        if let Ok(bytes) = serde_json::to_vec(&facts) {
            // Not being able to cache only costs the next run the scan.
            let _ = crate::cache::write_atomically(&path, &bytes);
        }
        Ok(facts)
    }

    pub fn facts(&self) -> Result<RuntimeFacts, EnvError> {
        let wasm_path = self.main_module();
        let wasm = std::fs::read(&wasm_path).map_err(|e| EnvError::io(&wasm_path, e))?;
        let (exports, core_imports) =
            scan_main_module(&wasm).map_err(|reason| EnvError::Runtime {
                dir: self.dir.clone(),
                reason: format!("pyodide.asm.wasm: {reason}"),
            })?;
        let mut builtin_modules: BTreeSet<String> =
            CORE_MODULES.iter().map(|s| s.to_string()).collect();
        for name in &exports {
            if let Some(module) = name.strip_prefix("PyInit_") {
                builtin_modules.insert(module.to_string());
            }
        }
        let js_path = self.bootstrap_js();
        let js = std::fs::read_to_string(&js_path).map_err(|e| EnvError::io(&js_path, e))?;
        let frozen_modules = if self.python_minor() == "3.14" {
            FROZEN_MODULES.iter().map(|s| s.to_string()).collect()
        } else {
            BTreeSet::new()
        };
        builtin_modules.extend(RUNTIME_PROVIDED_MODULES.iter().map(|s| s.to_string()));
        Ok(RuntimeFacts {
            builtin_modules,
            frozen_modules,
            main_exports: exports.into_iter().collect(),
            interpreter_boot_modules: INTERPRETER_BOOT_MODULES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            bootstrap_module_candidates: bootstrap_module_names(&js),
            core_module_candidates: core_imports,
            installer_modules: INSTALLER_MODULES.iter().map(|s| s.to_string()).collect(),
        })
    }
}

/// What the runtime provides by itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuntimeFacts {
    /// Compiled into `pyodide.asm.wasm` (the `PyInit_*` exports plus the interpreter's core
    /// modules), or otherwise present without a file (see `RUNTIME_PROVIDED_MODULES`).
    pub builtin_modules: BTreeSet<String>,
    pub frozen_modules: BTreeSet<String>,
    /// Every export of the main module: the symbols side modules may import from it.
    pub main_exports: BTreeSet<String>,
    /// What CPython imports while it starts.
    pub interpreter_boot_modules: Vec<String>,
    /// Module names the bootstrap JavaScript imports (`import X` in code it runs, or a call with one
    /// dotted-name string argument, as `o("pyodide.code")`). Candidates: the graph keeps those that
    /// name a module of the environment.
    pub bootstrap_module_candidates: Vec<String>,
    /// Pyodide module names found as C strings in the main module's data: what its C core imports.
    pub core_module_candidates: Vec<String>,
    /// What Pyodide's package installer imports to unpack a wheel (roots when there are wheels).
    pub installer_modules: Vec<String>,
}

impl RuntimeFacts {
    /// A module with no file: compiled in or frozen.
    pub fn is_fileless(&self, module: &str) -> bool {
        self.builtin_modules.contains(module) || self.frozen_modules.contains(module)
    }
}

/// The main module's exports, and the Pyodide module names its data holds as C strings (what the
/// C core imports with `PyImport_ImportModule("_pyodide.docstring")` and the like).
fn scan_main_module(wasm: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
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
fn bootstrap_module_names(js: &str) -> Vec<String> {
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

/// Where the runtime of `version` lives in the cache once installed (`corpus/fetch.sh` and the
/// tool share it).
pub fn cached_runtime_dir(cache: &CacheRoot, version: &str) -> PathBuf {
    crate::npm::npm_prefix(cache, "runtime", version)
        .join("node_modules")
        .join("pyodide")
}

/// Installs `pyodide@VERSION` from npm into the cache, atomically: a failed install leaves nothing.
pub fn install_runtime(cache: &CacheRoot, version: &str) -> Result<PathBuf, EnvError> {
    crate::npm::install_npm_package(cache, "runtime", "pyodide", version)?;
    Ok(cached_runtime_dir(cache, version))
}

/// A digest of each file's path, length and modification time (and this tool's version): what
/// says a file is unchanged without reading it. `None` if one cannot be stat'ed.
pub(crate) fn stat_key(files: &[PathBuf]) -> Option<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    for file in files {
        let meta = std::fs::metadata(file).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        hasher.update(file.as_os_str().as_encoded_bytes());
        hasher.update(meta.len().to_le_bytes());
        hasher.update(modified.as_nanos().to_le_bytes());
    }
    Some(crate::hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_module_names_in_bootstrap_code() {
        let js = r#"API.x=o("pyodide.code"),let[r]=API.rawRun("import _pyodide_core");e("not a name!");f( "x" );"a.b"'"#;
        assert_eq!(
            bootstrap_module_names(js),
            vec!["_pyodide_core".to_string(), "pyodide.code".to_string()]
        );
    }
}
