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
    /// Relative to the folder (`bundle.zip.zst`, `lazy/lib/python3.14/site-packages/x.pyc`).
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

/// Every file of `dir` that its `loader.mjs` pins and that is missing or differs, in the order
/// the manifest lists them (the eager files, the copied runtime, then the lazy tier).
pub fn check_output(dir: &Path) -> Result<Vec<Mismatch>, PackError> {
    let loader = dir.join(crate::LOADER);
    let text = std::fs::read_to_string(&loader).map_err(|e| PackError::io(&loader, e))?;
    let manifest = read_manifest(&text).ok_or_else(|| {
        PackError::io(
            &loader,
            std::io::Error::other(
                "no pyodide-pack manifest in it (written by another tool or an older pyodide-pack)",
            ),
        )
    })?;
    let mut expected: Vec<(String, PathBuf, Pinned)> = manifest
        .files
        .into_iter()
        .map(|(name, pinned)| (name.clone(), dir.join(&name), pinned))
        .collect();
    // The runtime's files are checked where the output holds them (`--runtime-files copy`); a
    // CDN's copy is checked by the loader as it fetches it.
    if let Some(runtime_dir) = &manifest.runtime_dir {
        for (name, pinned) in manifest.runtime.files {
            let rel = format!("{runtime_dir}/{name}");
            expected.push((rel.clone(), dir.join(&rel), pinned));
        }
    }
    for (install_path, size, sha256) in manifest.lazy.files {
        let rel = format!(
            "{}/{}",
            manifest.lazy.dir,
            install_path.trim_start_matches('/')
        );
        let path = dir.join(&rel);
        expected.push((rel, path, Pinned { size, sha256 }));
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
            "runtime_dir": "pyodide",
            "runtime": {"bootstrap": "pyodide.asm.js", "files": {
                "pyodide.asm.wasm": Pinned::of(b"wasm"),
                "pyodide.mjs": Pinned::of(b"mjs"),
            }},
        });
        std::fs::write(
            dir.path().join("loader.mjs"),
            format!("// x\nconst MANIFEST = {manifest};\nexport {{}};\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("bundle.zip.zst"), b"bundle").unwrap();
        std::fs::write(dir.path().join("python_stdlib.zip.zst"), b"stdlib, changed").unwrap();
        std::fs::create_dir_all(dir.path().join("lazy/lib")).unwrap();
        std::fs::write(dir.path().join("lazy/lib/a.py"), b"a").unwrap();
        std::fs::create_dir_all(dir.path().join("pyodide")).unwrap();
        std::fs::write(dir.path().join("pyodide/pyodide.mjs"), b"mjs").unwrap();
        std::fs::write(dir.path().join("pyodide/pyodide.asm.wasm"), b"wasm 0.1").unwrap();
        let found = check_output(dir.path()).unwrap();
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                format!(
                    "python_stdlib.zip.zst: expected 6 bytes, {}, found 15 bytes, {}",
                    sri_sha256(b"stdlib"),
                    sri_sha256(b"stdlib, changed")
                ),
                format!(
                    "pyodide/pyodide.asm.wasm: expected 4 bytes, {}, found 8 bytes, {}",
                    sri_sha256(b"wasm"),
                    sri_sha256(b"wasm 0.1")
                ),
                format!(
                    "lazy/lib/b.py: missing (expected 1 bytes, {})",
                    sri_sha256(b"b")
                ),
            ]
        );
    }
}
