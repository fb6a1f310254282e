//! What the loader checks before it uses a byte: the size and sha256 of every file it fetches,
//! written as Subresource Integrity writes digests (`sha256-<base64>`), carried in `loader.mjs`'s
//! manifest so that one file pins the rest; and the same check of an output folder after the
//! fact (`pyodide-pack validate`).

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::PackError;

/// A file's size and digest, as the manifest records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    pub size: u64,
    pub sha256: String,
}

impl Pinned {
    pub fn of(bytes: &[u8]) -> Pinned {
        Pinned {
            size: bytes.len() as u64,
            sha256: sri_sha256(bytes),
        }
    }
}

impl std::fmt::Display for Pinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes, {}", self.size, self.sha256)
    }
}

/// `sha256-<base64>`, the form of `integrity` attributes.
pub(crate) fn sri_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A file of an output folder that is not what its loader pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Relative to the folder (`immutable/bundle.<digest>.zip.zst`,
    /// `immutable/lazy/lib/python3.14/site-packages/x.<digest>.pyc`).
    pub file: String,
    pub expected: Pinned,
    /// `None`: the file is missing.
    pub received: Option<Pinned>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.received {
            Some(received) => write!(
                f,
                "{}: expected {}, found {}",
                self.file, self.expected, received
            ),
            None => write!(f, "{}: missing (expected {})", self.file, self.expected),
        }
    }
}

/// The part of `loader.mjs`'s manifest this reads.
#[derive(Deserialize)]
struct Manifest {
    files: std::collections::BTreeMap<String, Pinned>,
    lazy: LazyManifest,
    /// `pyodide` when the runtime was copied beside the loader.
    runtime_dir: Option<String>,
    runtime: RuntimeManifest,
}

#[derive(Deserialize)]
struct RuntimeManifest {
    files: std::collections::BTreeMap<String, Pinned>,
}

#[derive(Deserialize)]
struct LazyManifest {
    dir: String,
    /// `[install path, size, sha256]`
    files: Vec<(String, u64, String)>,
}

/// The loader of an output folder: the content-named one its `loader.mjs` re-exports (or
/// `loader.mjs` itself, as an older pyodide-pack wrote it).
pub fn deployed_loader(dir: &Path) -> Result<PathBuf, PackError> {
    let stub = dir.join(crate::LOADER);
    let text = std::fs::read_to_string(&stub).map_err(|e| PackError::io(&stub, e))?;
    Ok(match crate::content::stub_target(&text) {
        Some(target) => dir.join(target),
        None => stub,
    })
}

/// Where an output folder holds a file its loader pins by name (`bundle.zip.zst`,
/// `python_stdlib.zip.zst`, `zstd-decoder.mjs`): its content name beside the loader.
pub fn pinned_file(dir: &Path, name: &str) -> Result<Option<PathBuf>, PackError> {
    let (loader, manifest) = loader_manifest(dir)?;
    let folder = loader.parent().unwrap_or(dir);
    let named = by_content(dir, &loader);
    Ok(manifest
        .files
        .get(name)
        .map(|pinned| folder.join(named(name, &pinned.sha256))))
}

/// How an output names its files: by content when its `loader.mjs` is a stub (this version's
/// layout), else by their own names (an output of an older pyodide-pack, checked as it was).
fn by_content(dir: &Path, loader: &Path) -> fn(&str, &str) -> String {
    if loader == dir.join(crate::LOADER) {
        |name, _| name.to_string()
    } else {
        crate::content_name
    }
}

/// Whether an output folder holds the runtime's files (`--runtime-files copy`), as its loader
/// says.
pub fn copied_runtime(dir: &Path) -> Result<bool, PackError> {
    Ok(loader_manifest(dir)?.1.runtime_dir.is_some())
}

fn loader_manifest(dir: &Path) -> Result<(PathBuf, Manifest), PackError> {
    let loader = deployed_loader(dir)?;
    let text = std::fs::read_to_string(&loader).map_err(|e| PackError::io(&loader, e))?;
    let manifest = read_manifest(&text).ok_or_else(|| {
        PackError::io(
            &loader,
            std::io::Error::other(
                "no pyodide-pack manifest in it (written by another tool or an older pyodide-pack)",
            ),
        )
    })?;
    Ok((loader, manifest))
}

/// Every file of `dir` that its loader pins and that is missing or differs, in the order the
/// manifest lists them (the eager files, the copied runtime, then the lazy tier); each named by
/// its path in `dir`.
pub fn check_output(dir: &Path) -> Result<Vec<Mismatch>, PackError> {
    let (loader, manifest) = loader_manifest(dir)?;
    let folder = loader.parent().unwrap_or(dir).to_path_buf();
    let named = by_content(dir, &loader);
    let relative = |path: &Path| {
        path.strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut expected: Vec<(String, PathBuf, Pinned)> = manifest
        .files
        .into_iter()
        .map(|(name, pinned)| {
            let path = folder.join(named(&name, &pinned.sha256));
            (relative(&path), path, pinned)
        })
        .collect();
    // The runtime's files are checked where the output holds them (`--runtime-files copy`); a
    // CDN's copy is checked by the loader as it fetches it.
    if let Some(runtime_dir) = &manifest.runtime_dir {
        for (name, pinned) in manifest.runtime.files {
            let path = folder.join(runtime_dir).join(&name);
            expected.push((relative(&path), path, pinned));
        }
    }
    for (install_path, size, sha256) in manifest.lazy.files {
        let name = named(install_path.trim_start_matches('/'), &sha256);
        let path = folder.join(&manifest.lazy.dir).join(name);
        expected.push((relative(&path), path, Pinned { size, sha256 }));
    }
    let mut mismatches = Vec::new();
    for (file, path, pinned) in expected {
        let received = match std::fs::read(&path) {
            Ok(bytes) => Some(Pinned::of(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(PackError::io(&path, e)),
        };
        if received.as_ref() != Some(&pinned) {
            mismatches.push(Mismatch {
                file,
                expected: pinned,
                received,
            });
        }
    }
    Ok(mismatches)
}

/// The manifest's JSON: the one line `const MANIFEST = {...};` of a generated loader.
fn read_manifest(loader: &str) -> Option<Manifest> {
    let line = loader
        .lines()
        .find_map(|l| l.strip_prefix("const MANIFEST = "))?;
    serde_json::from_str(line.strip_suffix(';')?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_written_as_integrity_attributes_write_them() {
        // The sha256 of "abc" (FIPS 180-2), base64.
        assert_eq!(
            sri_sha256(b"abc"),
            "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn an_output_of_an_older_version_is_checked_under_its_own_names() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = serde_json::json!({
            "files": {"bundle.zip.zst": Pinned::of(b"bundle")},
            "lazy": {"dir": "lazy", "files": [["/lib/a.py", 1, sri_sha256(b"a")]]},
            "runtime_dir": null,
            "runtime": {"bootstrap": "pyodide.asm.js", "files": {}},
        });
        let out = dir.path();
        std::fs::write(
            out.join("loader.mjs"),
            format!("const MANIFEST = {manifest};\nexport {{}};\n"),
        )
        .unwrap();
        std::fs::write(out.join("bundle.zip.zst"), b"bundle").unwrap();
        std::fs::create_dir_all(out.join("lazy/lib")).unwrap();
        std::fs::write(out.join("lazy/lib/a.py"), b"a").unwrap();
        assert_eq!(check_output(out).unwrap(), []);
        assert_eq!(
            pinned_file(out, "bundle.zip.zst").unwrap(),
            Some(out.join("bundle.zip.zst"))
        );
    }

    #[test]
    fn check_output_names_every_file_that_differs_or_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = serde_json::json!({
            "files": {
                "bundle.zip.zst": Pinned::of(b"bundle"),
                "python_stdlib.zip.zst": Pinned::of(b"stdlib"),
            },
            "lazy": {"dir": "lazy", "files": [
                ["/lib/a.py", 1, sri_sha256(b"a")],
                ["/lib/b.py", 1, sri_sha256(b"b")],
            ]},
            "runtime_dir": "pyodide-1",
            "runtime": {"bootstrap": "pyodide.asm.js", "files": {
                "pyodide.asm.wasm": Pinned::of(b"wasm"),
                "pyodide.mjs": Pinned::of(b"mjs"),
            }},
        });
        let out = dir.path();
        let immutable = out.join("immutable");
        std::fs::create_dir_all(immutable.join("lazy/lib")).unwrap();
        std::fs::create_dir_all(immutable.join("pyodide-1")).unwrap();
        std::fs::write(
            immutable.join("loader.0.mjs"),
            format!("// x\nconst MANIFEST = {manifest};\nexport {{}};\n"),
        )
        .unwrap();
        std::fs::write(
            out.join("loader.mjs"),
            crate::content::loader_stub("immutable/loader.0.mjs"),
        )
        .unwrap();
        let named = |name: &str, bytes: &[u8]| crate::content_name(name, &sri_sha256(bytes));
        std::fs::write(
            immutable.join(named("bundle.zip.zst", b"bundle")),
            b"bundle",
        )
        .unwrap();
        // (Under the name of the stdlib packed, other bytes.)
        let stdlib = named("python_stdlib.zip.zst", b"stdlib");
        std::fs::write(immutable.join(&stdlib), b"stdlib, changed").unwrap();
        std::fs::write(immutable.join("lazy").join(named("lib/a.py", b"a")), b"a").unwrap();
        std::fs::write(immutable.join("pyodide-1/pyodide.mjs"), b"mjs").unwrap();
        std::fs::write(immutable.join("pyodide-1/pyodide.asm.wasm"), b"wasm 0.1").unwrap();
        assert_eq!(
            pinned_file(out, "bundle.zip.zst").unwrap(),
            Some(immutable.join(named("bundle.zip.zst", b"bundle")))
        );
        let found = check_output(out).unwrap();
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                format!(
                    "immutable/{stdlib}: expected 6 bytes, {}, found 15 bytes, {}",
                    sri_sha256(b"stdlib"),
                    sri_sha256(b"stdlib, changed")
                ),
                format!(
                    "immutable/pyodide-1/pyodide.asm.wasm: expected 4 bytes, {}, found 8 bytes, {}",
                    sri_sha256(b"wasm"),
                    sri_sha256(b"wasm 0.1")
                ),
                format!(
                    "immutable/lazy/{}: missing (expected 1 bytes, {})",
                    named("lib/b.py", b"b"),
                    sri_sha256(b"b")
                ),
            ]
        );
    }
}
