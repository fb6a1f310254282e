//! The Pyodide runtime: where it is, what it is, and what it provides without any file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{CacheRoot, EnvError, LockPackage, PyodideLock};

mod release;
mod scan;

pub use release::{supported_lines, PythonMinor, RELEASE_LINES};

/// Bumped when [`RuntimeFacts`] gains or changes a field, so cached facts are read anew.
const RUNTIME_FACTS_VERSION: &str = "v2";

/// The Pyodide version the tool installs when the user names none.
pub const PINNED_PYODIDE_VERSION: &str = "314.0.8";

/// `pyodide.asm.mjs` (314) or `pyodide.asm.js` (0.27-0.29): the Emscripten bootstrap that
/// `pyodide.mjs` loads. Whichever the folder holds is the runtime's.
const BOOTSTRAP_NAMES: &[&str] = &["pyodide.asm.mjs", "pyodide.asm.js"];

/// Modules the interpreter creates itself, with no `PyInit_*` function of their own.
const CORE_MODULES: &[&str] = &["builtins", "sys", "marshal", "_warnings"];

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
    /// 0.27's lock has it; 314's has not, and 0.28.3's says `0.28.0.dev0`: `package.json` wins.
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Runtime {
    pub dir: PathBuf,
    /// The Pyodide version: `package.json`'s (the npm package and a release folder have one),
    /// else the lock's `info.version`.
    pub version: String,
    /// The full CPython version, `3.14.2`.
    pub python: String,
    pub abi: String,
    /// The Emscripten platform of the lock's `info`, `emscripten_3_1_58`.
    pub platform: String,
    /// The Emscripten bootstrap JavaScript (see [`BOOTSTRAP_NAMES`]).
    pub bootstrap_js: PathBuf,
    /// The wheel platform tags of the lock's binary wheels, most used first:
    /// `pyodide_2024_0_wasm32` (0.27, 0.28), `pyemscripten_2025_0_wasm32` (0.29, which also has a
    /// few `pyodide_2025_0_wasm32`), `pyemscripten_2026_0_wasm32` (314).
    pub wheel_platforms: Vec<String>,
    python_version: PythonMinor,
    /// The packages of `pyodide-lock.json`, read once here.
    lock: PyodideLock,
}

impl Runtime {
    /// `--runtime DIR`, else `--pyodide VERSION` (installed from npm into the cache on first
    /// use), else `$PYODIDE_PACK_RUNTIME`, else the pinned version in the cache.
    pub fn locate(
        explicit: Option<&Path>,
        version: Option<&str>,
        cache: &CacheRoot,
    ) -> Result<Runtime, EnvError> {
        if let Some(dir) = explicit {
            return Runtime::open(dir);
        }
        if let Some(version) = version {
            return Runtime::from_npm(version, cache);
        }
        if let Some(dir) = std::env::var_os("PYODIDE_PACK_RUNTIME").filter(|v| !v.is_empty()) {
            return Runtime::open(Path::new(&dir));
        }
        Runtime::from_npm(PINNED_PYODIDE_VERSION, cache)
    }

    /// The npm core `pyodide@VERSION` from the cache, installed on first use. Only a release of a
    /// supported line is asked of npm.
    pub fn from_npm(version: &str, cache: &CacheRoot) -> Result<Runtime, EnvError> {
        if !release::is_release_version(version) || release::release_line(version).is_none() {
            return Err(EnvError::UnsupportedPyodide {
                version: version.to_string(),
                supported: release::supported_lines(),
            });
        }
        let dir = cached_runtime_dir(cache, version);
        if !dir.join("pyodide-lock.json").is_file() {
            install_runtime(cache, version)?;
        }
        Runtime::open(&dir)
    }

    /// A Pyodide distribution folder: an npm core, or a full release with its packages beside
    /// the lock. It must hold the lock file, the stdlib zip, `pyodide.mjs`, the bootstrap and
    /// `pyodide.asm.wasm`, and be a release of a supported line.
    pub fn open(dir: &Path) -> Result<Runtime, EnvError> {
        let broken = |reason: String| EnvError::Runtime {
            dir: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(broken("no such folder".into()));
        }
        let missing: Vec<&str> = [
            "pyodide-lock.json",
            "python_stdlib.zip",
            "pyodide.mjs",
            "pyodide.asm.wasm",
        ]
        .into_iter()
        .filter(|name| !dir.join(name).is_file())
        .collect();
        let bootstrap_js = BOOTSTRAP_NAMES
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file());
        if !missing.is_empty() || bootstrap_js.is_none() {
            let mut names: Vec<String> = missing.iter().map(|s| s.to_string()).collect();
            if bootstrap_js.is_none() {
                names.push(BOOTSTRAP_NAMES.join(" or "));
            }
            return Err(broken(format!(
                "it has no {} (expected a Pyodide distribution folder of {})",
                names.join(", "),
                release::supported_lines()
            )));
        }
        let lock_path = dir.join("pyodide-lock.json");
        let lock_text =
            std::fs::read_to_string(&lock_path).map_err(|e| EnvError::io(&lock_path, e))?;
        #[derive(Deserialize)]
        struct Lock {
            info: LockInfo,
            #[serde(default)]
            packages: std::collections::BTreeMap<String, LockPackage>,
        }
        let lock: Lock = serde_json::from_str(&lock_text)
            .map_err(|e| broken(format!("pyodide-lock.json: {e}")))?;
        let version = std::fs::read_to_string(dir.join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(String::from))
            .or(lock.info.version.clone())
            .ok_or_else(|| {
                broken(
                    "it says no version (no package.json, no version in pyodide-lock.json's info)"
                        .into(),
                )
            })?;
        let line = release::release_line(&version).ok_or_else(|| EnvError::UnsupportedPyodide {
            version: version.clone(),
            supported: release::supported_lines(),
        })?;
        let python_version = PythonMinor::parse(&lock.info.python).ok_or_else(|| {
            broken(format!(
                "pyodide-lock.json: info.python {:?} is not a Python version",
                lock.info.python
            ))
        })?;
        if python_version != line.python {
            return Err(broken(format!(
                "Pyodide {version} should be built on Python {}, but its lock says Python {}",
                line.python, lock.info.python
            )));
        }
        let wheel_platforms = wheel_platforms_of(
            lock.packages.values().map(|p| p.file_name.as_str()),
            &lock.info.abi_version,
        );
        let packages = PyodideLock::from_packages(lock.packages);
        Ok(Runtime {
            dir: dir.to_path_buf(),
            version,
            python: lock.info.python,
            abi: lock.info.abi_version,
            platform: lock.info.platform,
            bootstrap_js: bootstrap_js.expect("checked above"),
            wheel_platforms,
            python_version,
            lock: packages,
        })
    }

    /// A Pyodide 314 runtime (CPython 3.14) in `dir` with an empty lock, for the later stages'
    /// unit tests (`testing::TestEnv`): nothing is read from `dir`.
    #[cfg(feature = "testing")]
    pub(crate) fn synthetic(dir: &Path) -> Runtime {
        Runtime {
            dir: dir.to_path_buf(),
            version: "314.0.8".into(),
            python: "3.14.2".into(),
            abi: "2026_0".into(),
            platform: "emscripten_5_0_3".into(),
            bootstrap_js: dir.join("pyodide.asm.mjs"),
            wheel_platforms: vec!["pyemscripten_2026_0_wasm32".into()],
            python_version: PythonMinor {
                major: 3,
                minor: 14,
            },
            lock: PyodideLock::default(),
        }
    }

    /// The CPython `major.minor` the runtime is built on: what the parser targets and what
    /// byte-code, paths and frozen modules depend on.
    pub fn python_version(&self) -> PythonMinor {
        self.python_version
    }

    /// The runtime's `pyodide-lock.json` packages.
    pub fn lock(&self) -> &PyodideLock {
        &self.lock
    }

    pub fn stdlib_zip(&self) -> PathBuf {
        self.dir.join("python_stdlib.zip")
    }

    pub fn main_module(&self) -> PathBuf {
        self.dir.join("pyodide.asm.wasm")
    }

    /// `3.14`.
    pub fn python_minor(&self) -> String {
        self.python_version.to_string()
    }

    /// Where Pyodide mounts the stdlib zip: `/lib/python314.zip`.
    pub fn stdlib_mount(&self) -> String {
        format!("/lib/python{}.zip", self.python_minor().replace('.', ""))
    }

    /// `/lib/python3.14/site-packages`.
    pub fn site_packages(&self) -> String {
        format!("/lib/python{}/site-packages", self.python_minor())
    }

    /// The pip platform tag of wheels built for this runtime, the one its lock uses most:
    /// `pyemscripten_2026_0_wasm32`.
    pub fn wheel_platform(&self) -> &str {
        &self.wheel_platforms[0]
    }

    /// Facts about the runtime that no file in the environment carries.
    /// [`Runtime::facts`], kept in the cache per runtime: scanning the 9.6 MB main module is
    /// most of a warm analysis otherwise. The key is what identifies the files without reading
    /// them (path, length, modification time of `pyodide.asm.wasm` and `pyodide.asm.js`), as a
    /// build tool keys its outputs, plus this tool's version.
    pub fn facts_cached(&self, cache: &CacheRoot) -> Result<RuntimeFacts, EnvError> {
        let Some(key) = stat_key(&[self.main_module(), self.bootstrap_js.clone()]) else {
            return self.facts();
        };
        let path = cache
            .root()
            .join("runtime-facts")
            .join(format!("{RUNTIME_FACTS_VERSION}-{key}.json"));
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
            scan::scan_main_module(&wasm).map_err(|reason| EnvError::Runtime {
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
        let js_path = &self.bootstrap_js;
        let js = std::fs::read_to_string(js_path).map_err(|e| EnvError::io(js_path, e))?;
        let row = release::python_row(self.python_version).ok_or_else(|| EnvError::Runtime {
            dir: self.dir.clone(),
            reason: format!("Python {} is not one the tool knows", self.python_version),
        })?;
        builtin_modules.extend(RUNTIME_PROVIDED_MODULES.iter().map(|s| s.to_string()));
        Ok(RuntimeFacts {
            builtin_modules,
            frozen_modules: row.frozen.iter().map(|s| s.to_string()).collect(),
            main_exports: exports.into_iter().collect(),
            interpreter_boot_modules: row.interpreter_boot.iter().map(|s| s.to_string()).collect(),
            bootstrap_module_candidates: scan::bootstrap_module_names(&js),
            js_symbols: scan::bootstrap_symbols(&js),
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
    /// Symbols the bootstrap JavaScript implements (its `wasmImports` table: `__cxa_throw` on
    /// 0.27, where C++ exceptions are JavaScript's): side modules may import these too.
    #[serde(default)]
    pub js_symbols: BTreeSet<String>,
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
    /// A symbol a side module can import from the runtime itself (wasm or JavaScript).
    pub fn provides_symbol(&self, symbol: &str) -> bool {
        self.main_exports.contains(symbol) || self.js_symbols.contains(symbol)
    }

    /// A module with no file: compiled in or frozen.
    pub fn is_fileless(&self, module: &str) -> bool {
        self.builtin_modules.contains(module) || self.frozen_modules.contains(module)
    }
}

/// Where the runtime of `version` lives in the cache once installed (`corpus/fetch.sh` and the
/// tool share it).
pub fn cached_runtime_dir(cache: &CacheRoot, version: &str) -> PathBuf {
    crate::npm::npm_prefix(cache, "runtime", version)
        .join("node_modules")
        .join("pyodide")
}

/// Installs `pyodide@VERSION` from npm into the cache, atomically: a failed install leaves nothing.
pub(crate) fn install_runtime(cache: &CacheRoot, version: &str) -> Result<PathBuf, EnvError> {
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

/// The distinct `*_wasm32` platform tags of the lock's wheels, most used first. A lock with no
/// binary wheel (none seen) gets the tag its ABI would have in the current naming.
fn wheel_platforms_of<'a>(file_names: impl Iterator<Item = &'a str>, abi: &str) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for name in file_names {
        let Some(stem) = name.strip_suffix(".whl") else {
            continue;
        };
        if let Some(tag) = stem.rsplit('-').next().filter(|t| t.ends_with("_wasm32")) {
            for one in tag.split('.') {
                *counts.entry(one.to_string()).or_default() += 1;
            }
        }
    }
    let mut tags: Vec<(String, usize)> = counts.into_iter().collect();
    tags.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut tags: Vec<String> = tags.into_iter().map(|(t, _)| t).collect();
    if tags.is_empty() {
        tags.push(format!("pyemscripten_{abi}_wasm32"));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_platforms_come_from_the_lock_most_used_first() {
        let names = [
            "a-1-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
            "b-1-py3-none-any.whl",
            "c-1-cp313-cp313-pyodide_2025_0_wasm32.whl",
            "d-1-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
            "openblas-0.3.26.zip",
        ];
        assert_eq!(
            wheel_platforms_of(names.into_iter(), "2025_0"),
            vec!["pyemscripten_2025_0_wasm32", "pyodide_2025_0_wasm32"]
        );
        assert_eq!(
            wheel_platforms_of(["x-1-py3-none-any.whl"].into_iter(), "2026_0"),
            vec!["pyemscripten_2026_0_wasm32"]
        );
    }
}
