//! Pyodide's own packages: the runtime's `pyodide-lock.json` (numpy, scipy, shared libraries, ...),
//! which requirements they satisfy, and their files, fetched beside the lock or from an index URL
//! into the cache, each checked against the lock's sha256.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::archive::sha256_hex;
use crate::{CacheRoot, EnvError, Runtime};

/// One package of the lock.
#[derive(Debug, Clone, Deserialize)]
pub struct LockPackage {
    pub name: String,
    pub version: String,
    pub file_name: String,
    /// `site` (a wheel into site-packages) or `dynlib` (a zip of shared libraries).
    pub install_dir: String,
    pub sha256: String,
    /// `package` or `shared_library`.
    pub package_type: String,
    #[serde(default)]
    pub depends: Vec<String>,
    #[serde(default)]
    pub imports: Vec<String>,
}

impl LockPackage {
    pub fn is_shared_library(&self) -> bool {
        self.package_type == "shared_library"
    }
}

/// The packages of a runtime's lock, by normalised name.
#[derive(Debug, Clone, Default)]
pub struct PyodideLock {
    packages: BTreeMap<String, LockPackage>,
}

/// A project name as the lock keys it (PEP 503: lower case, runs of `-_.` as one `-`).
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

impl PyodideLock {
    /// The lock's packages, keyed as the lock keys them (normalised here): what
    /// [`Runtime::open`] parsed once from `pyodide-lock.json`.
    pub(crate) fn from_packages(packages: BTreeMap<String, LockPackage>) -> PyodideLock {
        let packages = packages
            .into_iter()
            .map(|(key, package)| (normalize(&key), package))
            .collect();
        PyodideLock { packages }
    }

    /// Top-level import name -> the lock package providing it (`sqlite3` -> the `sqlite3`
    /// cpython_module package on 0.27, `sklearn` -> `scikit-learn`).
    pub fn import_names(&self) -> std::collections::BTreeMap<String, LockPackage> {
        let mut names = std::collections::BTreeMap::new();
        for package in self.packages.values() {
            for import in &package.imports {
                names
                    .entry(import.clone())
                    .or_insert_with(|| package.clone());
            }
        }
        names
    }

    pub fn get(&self, name: &str) -> Option<&LockPackage> {
        self.packages.get(&normalize(name))
    }

    /// `names` and everything they depend on, in name order. Unvendored test packages are never
    /// pulled in: nothing depends on them.
    pub fn closure(&self, names: &[String]) -> Result<Vec<&LockPackage>, String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = names.iter().map(|n| normalize(n)).collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let package = self
                .packages
                .get(&name)
                .ok_or_else(|| format!("the lock names a dependency {name:?} it does not list"))?;
            stack.extend(package.depends.iter().map(|d| normalize(d)));
        }
        Ok(seen.iter().filter_map(|n| self.packages.get(n)).collect())
    }
}

/// Where lock packages are fetched from when the runtime folder does not hold them: the CDN folder
/// of the runtime's version, the same default `loader.mjs` uses.
pub(crate) fn default_index_url(runtime: &Runtime) -> String {
    format!(
        "https://cdn.jsdelivr.net/pyodide/v{}/full/",
        runtime.version
    )
}

/// The file of a lock package: beside the lock when the runtime folder is a full release, else in
/// the cache, fetched from `index_url` on first use. Either way its sha256 must be the lock's; a
/// download that does not match leaves nothing in the cache.
pub(crate) fn fetch_lock_package(
    package: &LockPackage,
    runtime: &Runtime,
    index_url: &str,
    cache: &CacheRoot,
) -> Result<PathBuf, EnvError> {
    if package.file_name.contains('/') || package.file_name.contains("..") {
        return Err(EnvError::Runtime {
            dir: runtime.dir.clone(),
            reason: format!(
                "pyodide-lock.json: file name {:?} of {} escapes the release folder",
                package.file_name, package.name
            ),
        });
    }
    let beside = runtime.dir.join(&package.file_name);
    if beside.is_file() {
        let bytes = std::fs::read(&beside).map_err(|e| EnvError::io(&beside, e))?;
        check_digest(&beside, &bytes, &package.sha256)?;
        return Ok(beside);
    }
    let dir = cache
        .dir("lock-packages")?
        .join(&package.sha256[..package.sha256.len().min(16)]);
    let cached = dir.join(&package.file_name);
    if let Ok(bytes) = std::fs::read(&cached) {
        if sha256_hex(&bytes) == package.sha256 {
            return Ok(cached);
        }
    }
    let url = format!(
        "{}{}",
        if index_url.ends_with('/') {
            index_url.to_string()
        } else {
            format!("{index_url}/")
        },
        package.file_name
    );
    let bytes = download(&url).map_err(|message| EnvError::Fetch {
        url: url.clone(),
        message,
    })?;
    check_digest(Path::new(&url), &bytes, &package.sha256)?;
    crate::cache::write_atomically(&cached, &bytes)?;
    Ok(cached)
}

fn check_digest(path: &Path, bytes: &[u8], expected: &str) -> Result<(), EnvError> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(EnvError::DigestMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// One GET with a bounded time and size: a lock package is at most a few hundred MB.
fn download(url: &str) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(1 << 30)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_as_the_lock_keys_them() {
        assert_eq!(normalize("Pydantic_Core"), "pydantic-core");
        assert_eq!(normalize("scikit-learn"), "scikit-learn");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(normalize("a__b"), "a-b");
    }
}
